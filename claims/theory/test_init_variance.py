"""Initialisation and activation variance across layers (002 §4.2; 004, "初始化").

002 §4.2: with many inputs, large weights push tanh/sigmoid units into saturation; Glorot
(Xavier) uniform init, U(±√(6/(M+N))), keeps them in range. 004: the idea of init is that
each layer's activation variance stays the same; Xavier (variance 1/n, derived for linear
units) does this for tanh-like units, He (variance 2/n) for ReLU, which zeroes half its
inputs.

Protocol, both claims: MLPs 64 → width^depth (width 256, depth 10, zero biases) on a
batch of 512 standardised digits training images; at initialisation, the variance of each
hidden layer's outputs (post-activation, over samples and units). "Steady" (rule fixed
before looking): the last hidden layer's variance within a factor 2 of the first's,
|log2(var_last / var_first)| < 1, an equivalence (TOST of the mean). "Saturated": the
share of tanh outputs with |a| > 0.99 in the last hidden layer.

Open settings, one rule fixed before looking: the documents name no depth, width or
distribution; the alternatives are three times deeper (30), narrower (64), and the other
distribution of the same variance (normal for Glorot/Xavier and He, whose base here is
uniform for Glorot as 002 writes it and normal for He as its paper does).
"""

from __future__ import annotations

import functools
import math

import pytest
import torch

from atomcheck import Beats, Threshold
from atomcheck.data import digits
from atomcheck.seeding import derive_seed
from atomcheck.toolbox.probes import layer_outputs, saturated_share

SOURCE_GLOROT = "002_fe851f770cc63e0f.txt §4.2"
SOURCE_INIT_004 = "004_2177d7888ae32ed4.txt 初始化"
#: Open settings (module rule).
OPEN = [{"depth": 30}, {"width": 64}, {"law": "other"}]
#: "Steady": within a factor 2 (module rule).
STEADY_MARGIN = 1.0


@functools.lru_cache(maxsize=16)
def _batch(seed: int) -> torch.Tensor:
    x = torch.as_tensor(digits(seed=seed).x_train[:512], dtype=torch.float64)
    return (x - x.mean(0)) / x.std(0).clamp_min(1e-3)


def layer_variances(seed: int, *, init: str, activation: str, depth: int = 10,
                    width: int = 256, law: str = "base") -> dict[str, float]:
    """log2 of the last to the first hidden layer's output variance, and saturation."""
    x = _batch(seed)
    gen = torch.Generator().manual_seed(derive_seed(seed, "theory.init_variance"))
    act = torch.tanh if activation == "tanh" else torch.relu
    variance = {"glorot": lambda i, o: 2 / (i + o), "normal": lambda i, o: 1.0,
                "he": lambda i, o: 2 / i}[init]
    uniform = (law == "base") == (init == "glorot")  # Glorot's base is uniform, He's normal
    weights = []
    for n_in in [64] + [width] * (depth - 1):
        sd = math.sqrt(variance(n_in, width))
        if uniform and init != "normal":
            u = torch.rand(n_in, width, generator=gen, dtype=torch.float64) * 2 - 1
            weights.append(u * sd * 3 ** 0.5)
        else:
            weights.append(torch.randn(n_in, width, generator=gen, dtype=torch.float64) * sd)
    outputs = layer_outputs(x, weights, act)
    return {"log2_variance_ratio": math.log2(float(outputs[-1].var()) / float(outputs[0].var())),
            "saturated_share": saturated_share(outputs[-1], 0.99)}


@pytest.mark.claim(claim_id="init.glorot_variance", sources=[SOURCE_GLOROT, SOURCE_INIT_004],
                   seeds=10, robust_over=OPEN)
@pytest.mark.parametrize("part", [
    pytest.param("glorot_steady", marks=pytest.mark.claim(
        expected="refuted",
        reason="under Glorot the tanh outputs' variance is not steady but decays slowly "
               "with depth: the last hidden layer's variance is 2^-2.2 (a factor 4.6) of the "
               "first's at depth 10, 2^-3.7 at depth 30, 2^-2.9 at width 64 — beyond the "
               "factor-2 rule in every seed; tanh contracts, and Glorot's 1/n only makes "
               "the decay slow (a power law), not zero")),
    "normal_saturates",
])
def test_init_glorot_variance(claim, part):
    """Glorot init keeps activation variance steady across layers of a tanh net;
    N(0,1) saturates it.

    Protocol (module docstring), tanh nets. glorot_steady: Glorot-uniform weights; TOST
    that the mean log2 variance ratio (last/first hidden layer) lies within ±1.
    normal_saturates: N(0, 1) weights against Glorot on the same seeds; one-sided paired
    Wilcoxon that the saturated share (|a| > 0.99) is higher under N(0, 1).
    Open settings (module rule): depth 30, width 64, the normal law for Glorot.

    Finding (seeds 0-9): glorot_steady refuted under every setting (log2 ratio −2.2 at
    the base, every seed; −3.7 at depth 30, −2.9 at width 64, −2.2 normal law): the variance
    falls slowly but well past a factor 2. normal_saturates supported under every setting:
    86% of the last layer's N(0, 1) tanh outputs have |a| > 0.99 (width 256; 73% at width
    64) against none under Glorot. The document's contrast holds (N(0, 1) saturates,
    Glorot does not), its "steady" only loosely: Glorot keeps tanh out of saturation,
    not its variance constant. Fresh seeds (1000-1009): the same verdict under every setting.
    """
    if part == "glorot_steady":
        claim.sweep(functools.partial(layer_variances, init="glorot", activation="tanh"))
        claim.expect(Threshold("log2_variance_ratio", about=0.0, margin=STEADY_MARGIN))
    else:
        claim.sweep(functools.partial(layer_variances, activation="tanh"),
                    init=["normal", "glorot"])
        claim.expect(Beats("saturated_share", along="init", a="normal", b="glorot"))


@pytest.mark.claim(claim_id="init.he_for_relu", sources=[SOURCE_INIT_004], robust_over=OPEN)
@pytest.mark.parametrize("part", [
    pytest.param("he_steady", marks=pytest.mark.claim(seeds=30)),
    pytest.param("xavier_shrinks", marks=pytest.mark.claim(seeds=10)),
])
def test_init_he_for_relu(claim, part):
    """He init keeps activation variance through deep ReLU nets; Xavier lets it shrink.

    Protocol (module docstring), ReLU nets. he_steady: He-normal weights (variance
    2/fan_in); TOST that the mean log2 variance ratio (last/first hidden layer) lies
    within ±1. xavier_shrinks: Xavier weights (variance 2/(fan_in+fan_out) = 1/n for the
    square hidden layers, 004's 1/n); "shrinks" = the ratio below a factor 2 (log2 < −1),
    an exact sign test of the median.
    Open settings (module rule): depth 30, width 64, the other law (He uniform, Xavier
    normal).
    Seeds: 30 for he_steady, raised after 10 seeds left depth 30 and He-uniform
    inconclusive (disclosed): per net the log2 ratio wanders widely (−2.7 to +2.4 at depth
    30), so the mean needs more seeds; 10 for xavier_shrinks.

    Finding (seeds 0-9): both parts supported under every setting. He: mean log2 ratio
    −0.19 (base), −0.52 (depth 30), −0.25 (width 64), −0.09 (uniform), all inside ±1 —
    steady on average, though single nets drift by up to 2^±2.7 over 30 layers of width
    256 (finite-width fluctuation). Xavier: −9.1 at depth 10 (halving per layer, as the
    1/n variance predicts for ReLU: 2^−9 over 9 layers), −29 at depth 30. Fresh seeds
    (1000-1029 / 1000-1009): the same verdicts (He at depth 30: −0.10).
    """
    if part == "he_steady":
        claim.sweep(functools.partial(layer_variances, init="he", activation="relu"))
        claim.expect(Threshold("log2_variance_ratio", about=0.0, margin=STEADY_MARGIN))
    else:
        claim.sweep(functools.partial(layer_variances, init="glorot", activation="relu"))
        claim.expect(Threshold("log2_variance_ratio", below=-STEADY_MARGIN))
