"""Symmetric units under gradient descent (002 §4.1).

⚔ Conflict: 002 §4.1 says two units of a layer with the same weights are redundant and
must be made different by random init ("break the symmetry"); 000 §10
(atoms.init.constant_zero_trains) says a constant-0 net trains "eventually" because
numerical noise breaks the symmetry. This claim tests the premise both sides need: does
gradient descent (and floating-point rounding in it) ever make two identical units differ?

Open settings, one rule fixed before looking: what could plausibly let rounding or the
optimiser tell the two units apart — the activation (tanh base; ReLU and sigmoid), the
optimiser (plain SGD base; SGD with momentum and Adam, whose per-coordinate state could in
principle differ), a wide layer whose copied units sit in different blocks of the matrix
product (width 512, units 0 and 511), single precision, and minibatches of 1.
"""

from __future__ import annotations

import pytest
import torch

from atomcheck import Exact
from atomcheck.data import digits
from atomcheck.seeding import derive_seed

SOURCE = "002_fe851f770cc63e0f.txt §4.1"
STEPS = 100
#: "Identical up to rounding" (the reading added after the first run, see the finding):
#: a spread of at most 1e-12, ~10⁴ float64 ulps of the O(0.1) weights and ~10⁻¹¹ of the
#: gap between two genuinely different units.
ROUNDING = 1e-12


def symmetric_units(seed: int, *, activation: str = "tanh", optimizer: str = "sgd",
                    width: int = 32, dtype: str = "float64", batch_size: int = 32
                    ) -> dict[str, float]:
    """64-width-10 net on digits, random init, then hidden unit ``width − 1`` made a copy of
    unit 0 (incoming weights, bias, outgoing weights); STEPS optimiser steps; 1 when the two
    units are still bit-identical (in, bias and out)."""
    dt = getattr(torch, dtype)
    d = digits(seed=seed)
    x, y = torch.as_tensor(d.x_train, dtype=dt), torch.as_tensor(d.y_train)
    with torch.random.fork_rng(devices=[]):  # default init from the seed; global state kept
        torch.manual_seed(derive_seed(seed, "theory.symmetry.init"))
        act = {"tanh": torch.nn.Tanh(), "relu": torch.nn.ReLU(), "sigmoid": torch.nn.Sigmoid()}
        net = torch.nn.Sequential(torch.nn.Linear(64, width), act[activation],
                                  torch.nn.Linear(width, 10)).to(dt)
    first, last = net[0], net[2]
    j = width - 1
    with torch.no_grad():
        first.weight[j] = first.weight[0]
        first.bias[j] = first.bias[0]
        last.weight[:, j] = last.weight[:, 0]
    opt = {"sgd": lambda p: torch.optim.SGD(p, lr=0.1),
           "momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
           "adam": lambda p: torch.optim.Adam(p, lr=1e-3)}[optimizer](net.parameters())
    gen = torch.Generator().manual_seed(derive_seed(seed, "theory.symmetry.batches"))
    for _ in range(STEPS):
        idx = torch.randint(len(x), (batch_size,), generator=gen)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
        opt.step()
    with torch.no_grad():
        spread = max(float((first.weight[j] - first.weight[0]).abs().max()),
                     float((first.bias[j] - first.bias[0]).abs()),
                     float((last.weight[:, j] - last.weight[:, 0]).abs().max()))
        moved = float((first.weight[0] - first.weight[1]).abs().max())
    return {"identical": float(spread == 0.0), "identical_to_rounding": float(spread <= ROUNDING),
            "max_spread": spread, "other_unit_gap": moved}


@pytest.mark.claim(claim_id="sym.identical_units", sources=[SOURCE], seeds=10,
                   robust_over=[{"activation": "relu"}, {"activation": "sigmoid"},
                                {"optimizer": "momentum"}, {"optimizer": "adam"},
                                {"width": 512}, {"dtype": "float32"}, {"batch_size": 1},
                                {"metric": "identical_to_rounding"}],
                   expected="conditional",
                   reason="bit-identical only in float32 or with minibatches of 1; in float64 "
                          "with batched products the copies drift apart by 1 ulp (~1e-16, "
                          "5e-16 after 1,000 steps against ~0.1 between distinct units): "
                          "rounding never grows into broken symmetry, and up to rounding "
                          "(spread <= 1e-12) the units stay identical")
def test_sym_identical_units(claim):
    """Units with identical initial weights stay identical under gradient descent
    (symmetry is never broken).

    Protocol: a 64-width-10 net (width 32, tanh) on digits, PyTorch's default random init,
    then the last hidden unit made an exact copy of unit 0 (incoming weights and bias, and
    outgoing weights: identical units need both); 100 steps (SGD lr 0.1, minibatches of
    32, cross-entropy). Metric, per seed: 1 when the two units are still bit-identical
    (max |difference| over in-weights, bias and out-weights == 0; no tolerance, since the
    conflict is about rounding noise). Test: exact, every seed.
    Open settings (module rule): ReLU, sigmoid; momentum 0.9, Adam; width 512 (units 0 and
    511); float32; minibatches of 1.

    Reading added after the first run (disclosed): ``metric=identical_to_rounding``, a
    spread of at most 1e-12, once the bit-level differences were seen to be single ulps.

    Finding (seeds 0-9): conditional, on the reading of "identical". Bit for bit, the
    copies stay identical in float32 and with minibatches of 1 (every seed), but in float64
    with minibatches of 32 they differ in 9-10 seeds of 10 by one or two ulps (max spread
    3e-17 to 1e-16 after 100 steps; ReLU, sigmoid, momentum, Adam, width 512 alike): the
    batched matrix product rounds the first and the last column differently. The drift does
    not grow (1.7e-16 to 5.6e-16 after 1,000 steps, looked at once on seeds 0-2), while two
    genuinely different units are ~0.1 apart. Up to rounding (1e-12) the units are
    identical (base setting, every seed; the ReLU and width-512 spreads seen are as
    small): symmetry is never broken in any way that matters, the
    document's 002 §4.1 premise; the "numerical noise" of 000 §10 exists but stays at
    1e-16 and cannot make the units learn different features.
    """
    claim.sweep(symmetric_units)
    claim.expect(Exact("identical"))
