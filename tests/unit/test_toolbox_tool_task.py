"""atomcheck.toolbox.tool_task: training tools as sweep factors on the module path."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from atomcheck import InvalidClaim  # noqa: E402
from atomcheck.data import gaussian_mixture  # noqa: E402
from atomcheck.robust import _base_value  # noqa: E402
from atomcheck.sweep import run_sweep  # noqa: E402
from atomcheck.toolbox.tool_task import tool_task  # noqa: E402


def linear(n_features: int, n_classes: int) -> torch.nn.Module:
    return torch.nn.Linear(n_features, n_classes)


def make(**tools):
    return tool_task(linear, gaussian_mixture, data_args={"n_train": 40},
                     tools=tools or {"lr_plateau": None, "clip_norm": None},
                     epochs=3, lr=0.5)


def test_tools_are_factors_with_their_defaults():
    fn = make()
    assert {"lr_plateau", "clip_norm", "lr", "epochs", "dims"} <= fn.factor_names()
    assert _base_value(fn, "lr_plateau") is None and _base_value(fn, "lr") == 0.5


def test_a_batched_sweep_passes_the_tools_and_equals_each_seed_alone():
    fn = make()
    table = run_sweep(fn, {"clip_norm": [None, 1e-3]}, [0, 1, 2])
    loss = table.matrix("train_loss")
    # a tiny clip norm slows training: the clipped arm ends higher in every seed
    assert (loss[:, 1] > loss[:, 0]).all()
    for i, seed in enumerate([0, 1, 2]):
        assert fn(seed, clip_norm=1e-3)["train_loss"] == loss[i, 1]


def test_lr_plateau_reports_its_factor():
    fn = make()
    row = fn(0, lr_plateau=1, loss="constant")
    assert row["lr_factor"] == 0.5 ** 2  # 3 epochs of a constant loss: two cuts


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"tools": {"warmup": 3}}, "not training tools"),
    ({"momentum": 0.5}, "unknown training argument"),
])
def test_invalid_arguments(kwargs, match):
    with pytest.raises(InvalidClaim, match=match):
        tool_task(linear, gaussian_mixture, **kwargs)
