"""Dead ReLU layers and width (002 §2.2).

002 §2.2: if a layer has M ReLU units and P is the probability that the whole layer is
dead (every unit outputs 0 for every input), P falls as M grows ("P is inversely
proportional to M"), so a wide layer is almost never entirely dead. The catalog tests the
direction (the catalog's "falls with width"); the shape is reported, not tested.

Protocol: "dead" = the unit's pre-activation is ≤ 0 on every one of the data set's inputs
(a "truly dead" unit in the document's words); a layer is dead when all its units are.
Data: the digits training images (pixels in [0, 1], 1,347 inputs; float32: only signs
are read). Layers at PyTorch's default nn.Linear init (weights and bias
U(−1/√fan_in, 1/√fan_in)), 200 independent layers per seed and width.

Open settings, one rule fixed before looking: the document fixes neither the layer's
position nor its init, so the alternatives are the layer placed second (fed by a random
width-8 ReLU layer, whose outputs are not all positive combinations of pixels) and zero
biases (the other common init).
"""

from __future__ import annotations

import functools

import pytest
import torch

from atomcheck import Falls
from atomcheck.data import digits
from atomcheck.seeding import derive_seed
from atomcheck.toolbox.probes import dead_layer_mask

SOURCE = "002_fe851f770cc63e0f.txt §2.2"
WIDTHS = [1, 2, 4, 8, 16]
#: Random layers per seed and width.
N_LAYERS = 200


@functools.lru_cache(maxsize=16)
def _inputs(seed: int) -> torch.Tensor:
    return torch.as_tensor(digits(seed=seed).x_train, dtype=torch.float32)


def dead_layer_share(seed: int, *, width: int, position: str = "first",
                     bias: str = "default") -> dict[str, float]:
    """Share of N_LAYERS random ReLU layers of ``width`` units dead on every digits input."""
    x = _inputs(seed)
    gen = torch.Generator().manual_seed(derive_seed(seed, f"theory.dead_relu.{width}"))

    def uniform(*shape: int, fan_in: int) -> torch.Tensor:  # nn.Linear's default init
        return (torch.rand(*shape, generator=gen, dtype=torch.float32) * 2 - 1) / fan_in ** 0.5

    inputs = x.expand(N_LAYERS, *x.shape)
    if position == "second":
        w1, b1 = uniform(N_LAYERS, 64, 8, fan_in=64), uniform(N_LAYERS, 1, 8, fan_in=64)
        inputs = torch.relu(inputs @ w1 + b1)
    fan_in = inputs.shape[-1]
    w, b = uniform(N_LAYERS, fan_in, width, fan_in=fan_in), uniform(N_LAYERS, 1, width,
                                                                   fan_in=fan_in)
    if bias == "zero":
        b = torch.zeros_like(b)
    dead = int(dead_layer_mask(inputs @ w + b).sum())
    return {"dead_layer_share": dead / N_LAYERS}


@pytest.mark.claim(claim_id="act.dead_relu_width", sources=[SOURCE], seeds=10,
                   robust_over=[{"position": "second"}, {"bias": "zero"}])
def test_act_dead_relu_width(claim):
    """The chance that a whole ReLU layer is dead falls as the layer widens.

    Protocol (module docstring): per seed and width 1, 2, 4, 8, 16, the share of 200
    random layers dead on all digits training inputs. Test: Page's L, falling with width,
    seeds as blocks. Open settings (module rule): the layer second, zero biases.

    Finding (seeds 0-9): supported under every setting. Mean dead share over seeds 0-9 at
    widths 1, 2, 4, 8, 16: 0.032, 0.001, 0, 0, 0 (first layer); 0.28, 0.07, 0.006, 0, 0
    (second layer); 0.026, 0, 0, 0, 0 (zero biases). The fall is geometric, about p^M for
    a single unit's death probability p, far steeper than the document's "P ∝ 1/M" (which
    would leave 0.016 at width 2 and 0.002 at 16 in the first-layer setting): the shape
    the document gives is wrong, the direction right (not tested: the shares reach 0 at
    width 4-8, where a log-log slope is undefined). Fresh seeds (1000-1009): the same verdict
    under every setting.
    """
    claim.sweep(dead_layer_share, width=WIDTHS)
    claim.expect(Falls("dead_layer_share", along="width"))
