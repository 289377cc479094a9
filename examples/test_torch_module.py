"""A claim about a PyTorch module, through :func:`atomcheck.models.module_task`.

``module_task(factory, data, ...)`` trains any ``nn.Module`` that ``factory`` builds; a
sweep trains every seed of a configuration at once (``torch.func``), with the same result
as training each seed alone. The factory receives ``n_features`` and ``n_classes`` when it
names them, and every sweep factor it accepts (here ``hidden``); the training arguments
(``lr``, ``optimizer``, ``epochs``, ...) can be swept or be open settings too.
"""

from __future__ import annotations

import pytest
from torch import nn

from atomcheck import Beats
from atomcheck.data import moons
from atomcheck.models import module_task


def make_net(n_features: int, n_classes: int, hidden: int) -> nn.Module:
    """A linear model (``hidden=0``) or a one-hidden-layer ReLU network."""
    if hidden == 0:
        return nn.Linear(n_features, n_classes)
    return nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))


TASK = module_task(make_net, moons, data_args={"n_train": 200, "n_test": 300},
                   optimizer="adam", lr=0.05, batch_size=50, epochs=15)


@pytest.mark.claim(claim_id="examples.torch.hidden_layer_helps", sources=["atomcheck user guide"],
                   seeds=10, robust_over={"optimizer": ["momentum"]})
def test_hidden_layer_helps(claim):
    """A hidden layer beats a linear model on the two moons.

    Open setting (rule: the statement names no optimiser, so also try the other common
    one): SGD with momentum.
    """
    claim.sweep(TASK, hidden=[32, 0])
    claim.expect(Beats("test_accuracy", along="hidden", a=32, b=0))
