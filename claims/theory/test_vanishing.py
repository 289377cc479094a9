"""Vanishing gradients with sigmoid (001 §17).

001 §17: the sigmoid's derivative is at most 1/4, so each sigmoid layer shrinks the
backpropagated gradient at least four-fold and the early layers of a deep sigmoid net
barely learn; ReLU passes the gradient unchanged where x ≥ 0. Catalog protocol: the ratio
of the first layer's to the last layer's weight-gradient norm against depth, sigmoid vs
ReLU.

Protocol: MLPs 64 → width^depth → 10 (depth = hidden layers, 2, 4, 8, 16), width 64,
zero biases, on one batch of 256 standardised digits training images; cross-entropy
gradient at initialisation. Per seed and activation: log10 of ‖∂L/∂W_1‖ / ‖∂L/∂W_last‖ at
each depth, and its least-squares slope against depth ("decades per layer").

Open settings, one rule fixed before looking: the document names no init or width; the
base is Glorot uniform (the 002 §4.2 recommendation, meant for sigmoid/tanh), the
alternatives PyTorch's nn.Linear default (U(±1/√fan_in)), He normal (the ReLU init), and
width 256.

"Far faster" (rule fixed before looking): sigmoid's ratio must fall by at least 0.1
decade per layer more than ReLU's (a factor 10 over 10 layers) — a floor, tested as such.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from atomcheck import Beats
from atomcheck.data import digits
from atomcheck.seeding import derive_seed
from atomcheck.toolbox.probes import layer_gradient_norms

SOURCE = "001_4a10dabc6329af41.txt §17"
DEPTHS = [2, 4, 8, 16]
#: "Far faster": decades per layer, sigmoid beyond ReLU (module rule).
FAR = 0.1


@functools.lru_cache(maxsize=16)
def _batch(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    d = digits(seed=seed)
    x = torch.as_tensor(d.x_train[:256], dtype=torch.float64)
    x = (x - x.mean(0)) / x.std(0).clamp_min(1e-3)
    return x, torch.as_tensor(d.y_train[:256])


def gradient_ratio(seed: int, *, activation: str, init: str = "glorot",
                   width: int = 64) -> dict[str, float]:
    """log10(‖grad W_1‖ / ‖grad W_last‖) per depth, and its slope per layer."""
    x, y = _batch(seed)
    gen = torch.Generator().manual_seed(derive_seed(seed, "theory.vanishing.init"))
    act = torch.sigmoid if activation == "sigmoid" else torch.relu
    logs = []
    for depth in DEPTHS:
        sizes = [64] + [width] * depth + [10]
        weights = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            u = torch.rand(n_out, n_in, generator=gen, dtype=torch.float64) * 2 - 1
            if init == "glorot":
                w = u * (6 / (n_in + n_out)) ** 0.5
            elif init == "default":
                w = u / n_in ** 0.5
            else:  # he normal
                w = torch.randn(n_out, n_in, generator=gen, dtype=torch.float64) * (2 / n_in) ** 0.5
            weights.append(w.requires_grad_(True))
        norms = layer_gradient_norms(x, y, weights, act, layout="out_in")
        # torch's log10 of the float64 ratio, as the claim computed it before the probe.
        logs.append(float(torch.log10(torch.tensor(norms[0] / norms[-1], dtype=torch.float64))))
    slope = float(np.polyfit(DEPTHS, logs, 1)[0])
    return {"decades_per_layer": slope, **{f"log10_ratio_depth_{d}": v
                                           for d, v in zip(DEPTHS, logs)}}


@pytest.mark.claim(claim_id="grad.vanishing_sigmoid", sources=[SOURCE], seeds=10,
                   robust_over=[{"init": "default"}, {"init": "he"}, {"width": 256}])
def test_grad_vanishing_sigmoid(claim):
    """The first layer's gradient shrinks with depth far faster with sigmoid than with ReLU.

    Protocol (module docstring): per seed, the slope of log10(first/last-layer gradient
    norm) over depths 2-16, for sigmoid and ReLU nets of the same init draws. Test:
    one-sided paired Wilcoxon, ReLU's slope above sigmoid's by more than the 0.1 decade
    per layer floor (module rule). Open settings (module rule): PyTorch's default init, He
    normal, width 256.

    Finding (seeds 0-9): supported under every setting. Sigmoid: −0.62 decade per layer
    (the ratio 10^−1 at depth 2, 10^−9.7 at depth 16; seeds 0-4 means), −0.85 under
    PyTorch's default init, −0.50 under He, −0.63 at width 256 — steeper than the 1/4
    derivative bound alone (−0.6) where the weights are small. ReLU: flat (0.00 to −0.01
    decade per layer; ratio within 10^±0.4 at every depth). Paired difference 0.49-0.85
    decade per layer, every seed, well beyond the 0.1 floor. Fresh seeds (1000-1009): the same
    verdict
    under every setting.
    """
    claim.sweep(gradient_ratio, activation=["sigmoid", "relu"])
    claim.expect(Beats("decades_per_layer", along="activation", a="relu", b="sigmoid",
                       min_effect=FAR))
