"""Normalisation layers and the batch (001 §1, 002 §5.2).

Both claims compare a sample's output computed alone (or in one batch) with its output in
other batches of companions drawn from digits (001 and 002 use no data set; digits stands
in for "a data set", its 64 pixel features standardised by the training split's statistics).

Open settings, one rule fixed before looking, for both claims: the documents state no net,
batch size or precision, so each exact property is run at a base (companion batches of 32,
width 64, float64) and, one at a time, at the choices most likely to break it: the smallest
batch that a BatchNorm layer accepts in train mode (2 = the sample plus one companion), a
large batch (256), a wide layer (512) and single precision (float32).

"The same output" (the rule, before looking): logits equal up to a tolerance of
√eps of the dtype times (1 + max |logit|) — 1.5e-8 relative in float64, 3.5e-4 in
float32 — because a batched matrix product may round differently at different batch
sizes; "differs" means beyond that tolerance. Predicted class must be identical too.
"""

from __future__ import annotations

import functools

import pytest
import torch

from atomcheck import Exact
from atomcheck.data import digits
from atomcheck.seeding import derive_seed

SOURCE_BN = "001_4a10dabc6329af41.txt §1"
SOURCE_LN = "002_fe851f770cc63e0f.txt §5.2"

#: Open settings (module rule): smallest and a large companion batch, a wide layer, float32.
OPEN = [{"batch_size": 2}, {"batch_size": 256}, {"width": 512}, {"dtype": "float32"}]
#: Companion batches per seed.
N_BATCHES = 8
#: Warm-up SGD steps that give BatchNorm non-trivial running statistics and the net a state.
WARMUP_STEPS = 20


def _data(seed: int, dtype: torch.dtype) -> torch.Tensor:
    d = digits(seed=seed)
    x = torch.as_tensor(d.x_train, dtype=torch.float64)
    mu, sd = x.mean(0), x.std(0).clamp_min(1e-3)
    return ((x - mu) / sd).to(dtype), torch.as_tensor(d.y_train)


def _same(a: torch.Tensor, b: torch.Tensor, dtype: torch.dtype) -> bool:
    tol = torch.finfo(dtype).eps ** 0.5 * (1 + float(a.abs().max()))
    return bool((a - b).abs().max() <= tol) and bool((a.argmax(-1) == b.argmax(-1)).all())


def batch_outputs(seed: int, *, norm: str = "batch", batch_size: int = 32, width: int = 64,
                  dtype: str = "float64") -> dict[str, float]:
    """One net per seed (64-width-10, norm layer before ReLU, trained WARMUP_STEPS SGD
    steps); the probe sample's logits alone (batch of 1; BatchNorm in eval mode only) and
    inside N_BATCHES random batches of ``batch_size`` (the probe plus companions)."""
    dt = getattr(torch, dtype)
    x, y = _data(seed, dt)
    gen = torch.Generator().manual_seed(derive_seed(seed, "theory.norm.init"))
    layer = torch.nn.BatchNorm1d(width) if norm == "batch" else torch.nn.LayerNorm(width)
    net = torch.nn.Sequential(torch.nn.Linear(64, width), layer, torch.nn.ReLU(),
                              torch.nn.Linear(width, 10)).to(dt)
    with torch.no_grad():
        for p in net.parameters():
            if p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=gen, dtype=dt) / p.shape[1] ** 0.5)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    pick = torch.Generator().manual_seed(derive_seed(seed, "theory.norm.batches"))
    for _ in range(WARMUP_STEPS):
        idx = torch.randint(len(x), (64,), generator=pick)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
        opt.step()
    probe = x[:1]
    batches = [torch.cat([probe, x[1 + torch.randperm(len(x) - 1, generator=pick)
                                    [:batch_size - 1]]]) for _ in range(N_BATCHES)]
    with torch.no_grad():
        net.eval()
        alone = net(probe)[0]
        eval_same = all(_same(alone, net(b)[0], dt) for b in batches)
        net.train()
        train_outs = [net(b)[0] for b in batches]
        train_same = all(_same(train_outs[0], t, dt) for t in train_outs[1:])
        if norm == "layer":
            train_same = train_same and _same(alone, train_outs[0], dt)
    return {"eval_same": float(eval_same), "train_same": float(train_same),
            "train_differs": float(not train_same),
            "eval_same_train_differs": float(eval_same and not train_same)}


@pytest.mark.claim(claim_id="norm.eval_batch_independent", sources=[SOURCE_BN], seeds=10,
                   robust_over=OPEN)
def test_norm_eval_batch_independent(claim):
    """In eval mode, a BatchNorm net's prediction for a sample does not depend on its batch
    companions; in train mode it does.

    Protocol: Linear(64, width) → BatchNorm1d → ReLU → Linear(width, 10), N(0, 1/fan_in)
    weights, 20 SGD steps (lr 0.1, batches of 64) on standardised digits so the running
    statistics are those of training, not the (0, 1) defaults. The probe (first training
    image) is predicted alone in eval mode and inside 8 random batches of ``batch_size``
    companions in eval mode, then in train mode. Metric, per seed: 1 when the eval-mode
    logits equal the lone prediction in every batch AND the train-mode logits differ
    between batches (module tolerance rule). Test: exact, every seed.
    Open settings (module rule): batch 2 and 256, width 512, float32.

    Finding (seeds 0-9): supported under every setting: eval-mode logits equal the lone
    prediction in every batch (batch 2 to 256, width 512, float32), and train-mode logits
    move with the companions in every seed (beyond the tolerance). Fresh seeds
    (1000-1009): the same verdict under every setting.
    """
    claim.sweep(batch_outputs)
    claim.expect(Exact("eval_same_train_differs"))


@pytest.mark.claim(claim_id="norm.layernorm_per_sample", sources=[SOURCE_LN], seeds=10,
                   robust_over=OPEN)
def test_norm_layernorm_per_sample(claim):
    """LayerNorm output for a sample does not depend on the batch.

    Protocol: the net of norm.eval_batch_independent with LayerNorm(width) in place of
    BatchNorm; the probe's logits alone and in 8 random batches of ``batch_size``
    companions, in train mode (where BatchNorm does depend on the batch) and eval mode.
    Metric, per seed: 1 when every one of them equals the lone output (module tolerance
    rule). Test: exact, every seed. Open settings (module rule): batch 2 and 256, width
    512, float32.

    Finding (seeds 0-9): supported under every setting, train and eval mode alike (LayerNorm
    normalises each sample over its own features). Fresh seeds (1000-1009): the same verdict under
    every setting.
    """
    claim.sweep(functools.partial(batch_outputs, norm="layer"))
    claim.expect(Exact("train_same"))
