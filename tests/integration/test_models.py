"""The per-seed reference trainer, the spec's validation, Task routing and generic paths."""

from __future__ import annotations

import math

import numpy as np
import pytest

from atomcheck.data import Dataset, function_samples, gaussian_mixture
from atomcheck.errors import InvalidClaim
from atomcheck.models import MLPSpec, Task, module_task, sklearn_task, train

SMALL = {"n_train": 60, "n_test": 40, "dims": 4}


def _data(seed: int = 0) -> Dataset:
    return gaussian_mixture(seed=seed, **SMALL)


def test_same_seed_same_numbers() -> None:
    spec = MLPSpec(widths=(8, 8), epochs=3, dropout=0.2, history=True)
    a, b = train(spec, _data(), seed=3), train(spec, _data(), seed=3)
    assert a.metrics == b.metrics
    assert a.history == b.history
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_array_equal(wa, wb)


def test_different_seeds_differ() -> None:
    spec = MLPSpec(widths=(8,), epochs=2)
    a, b = train(spec, _data(), seed=0), train(spec, _data(), seed=1)
    assert not np.array_equal(a.weights[0], b.weights[0])


def test_easy_mixture_is_learned() -> None:
    data = gaussian_mixture(seed=0, n_train=200, n_test=200, dims=8, offset=1.0)
    result = train(MLPSpec(widths=(16,), epochs=10, optimizer="adam", lr=0.01), data, seed=0)
    assert result.metrics["test_accuracy"] > 0.8
    assert set(result.metrics) == {"train_loss", "train_accuracy", "test_loss", "test_accuracy",
                                   "test_balanced_accuracy"}
    assert [w.shape for w in result.weights] == [(8, 16), (16, 2)]
    assert all(w.dtype == np.float64 for w in result.weights)


def test_regression_metrics_and_records() -> None:
    data = function_samples("sin", seed=0, n=30)
    spec = MLPSpec(widths=(8,), loss="mse", epochs=4, history=True, snapshots=True,
                   grad_norms=True)
    result = train(spec, data, seed=0)
    assert set(result.metrics) == {"train_loss", "test_loss", "train_mse", "test_mse"}
    assert math.isclose(result.metrics["train_loss"], result.metrics["train_mse"], rel_tol=1e-6)
    assert len(result.snapshots) == 5 and len(result.history["train_loss"]) == 4
    assert len(result.history["grad_norm_1"]) == 4


def test_divergence_gives_nan_metrics() -> None:
    spec = MLPSpec(widths=(8,), lr=1e8, loss="fourth_power", epochs=3)
    result = train(spec, _data(), seed=0)
    assert result.diverged and all(math.isnan(v) for v in result.metrics.values())
    out = Task(gaussian_mixture, spec, data_args=SMALL)(0)
    assert out["diverged"] == 1.0 and math.isnan(out["test_accuracy"])


def test_every_feature_runs() -> None:
    spec = MLPSpec(widths=(8, 8, 8), norm="group", residual=True, shared_hidden=True,
                   dropout=0.3, clip_norm=1.0, l1=1e-3, l2=1e-3, weight_decay=1e-2,
                   lr_schedule="step", init="orthogonal", activation="tanh", epochs=3)
    result = train(spec, _data(), seed=0)
    assert not result.diverged and len(result.weights) == 3


def test_norm_helpers_match_torch() -> None:
    import torch
    import torch.nn.functional as F

    from atomcheck.models import norm_apply

    z = torch.randn(5, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    g, b = torch.rand(16, dtype=torch.float64), torch.rand(16, dtype=torch.float64)
    rm, rv = torch.zeros(16, dtype=torch.float64), torch.ones(16, dtype=torch.float64)
    rm2, rv2 = rm.clone(), rv.clone()
    ours = norm_apply("batch", z, g, b, (rm, rv), True)
    ref = F.batch_norm(z, rm2, rv2, g, b, training=True, momentum=0.1, eps=1e-5)
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close((rm, rv), (rm2, rv2))
    torch.testing.assert_close(norm_apply("layer", z, g, b, None, True),
                               F.layer_norm(z, (16,), g, b, eps=1e-5))
    torch.testing.assert_close(norm_apply("group", z, g, b, None, True),
                               F.group_norm(z, 8, g, b, eps=1e-5))


@pytest.mark.parametrize(("changes", "match"), [
    ({"activation": "gelu"}, r"activation='gelu' is not one of \['relu'"),
    ({"init": "kaiming"}, r"init='kaiming' is not one of .*xavier_uniform"),
    ({"loss": "nll"}, r"loss='nll' is not one of .*cross_entropy"),
    ({"optimizer": "lbfgs"}, r"optimizer='lbfgs' is not one of .*adam"),
    ({"lr": 0}, r"lr=0 must be > 0.0"),
    ({"widths": ()}, r"widths=\(\) must be a non-empty sequence"),
    ({"widths": (4, 0)}, r"widths=\(4, 0\) must be"),
    ({"dropout": 1.0}, r"dropout=1.0 must lie in \[0, 1\)"),
    ({"batch_size": 0}, r"batch_size=0 must be an integer >= 1"),
    ({"norm": "instance"}, r"norm='instance' is not one of"),
    ({"shared_hidden": True}, r"shared_hidden=True needs >= 2 equal hidden widths"),
    ({"clip_norm": -1.0}, r"clip_norm=-1.0 must be > 0.0"),
    ({"dtype": "float16"}, r"dtype='float16' is not one of"),
])
def test_bad_spec_raises(changes: dict, match: str) -> None:
    with pytest.raises(InvalidClaim, match=match):
        MLPSpec(**({"widths": (4,)} | changes))


def test_replace_validates() -> None:
    spec = MLPSpec(widths=[4, 4])
    assert spec.widths == (4, 4)
    with pytest.raises(InvalidClaim, match=r"no field 'width'.*Valid fields"):
        spec.replace(width=3)
    with pytest.raises(InvalidClaim, match="lr=-1"):
        spec.replace(lr=-1)


def test_regression_rejects_class_loss() -> None:
    with pytest.raises(InvalidClaim, match=r"loss='cross_entropy' needs class labels.*mse"):
        train(MLPSpec(widths=(4,)), function_samples("sin", seed=0, n=10), seed=0)


def test_task_routing() -> None:
    task = Task(gaussian_mixture, MLPSpec(widths=(4,), epochs=1), data_args=SMALL, name="gm")
    assert {"batch_size", "lr", "dims", "offset"} <= task.factor_names()
    data_kwargs, spec = task.split_config({"lr": 0.5, "offset": 2.0})
    assert data_kwargs == {"offset": 2.0} and spec.lr == 0.5
    assert task.dataset(0, {"dims": 3}).n_features == 3
    out = task(0, batch_size=7, dims=3)
    assert out["diverged"] == 0.0 and "test_accuracy" in out
    with pytest.raises(InvalidClaim, match=r"unknown factor 'widht'.*Valid names: \["):
        task(0, widht=3)
    with pytest.raises(InvalidClaim, match=r"data_args key 'n' is not a parameter"):
        Task(gaussian_mixture, MLPSpec(widths=(4,)), data_args={"n": 3})
    with pytest.raises(InvalidClaim, match="must be an MLPSpec"):
        Task(gaussian_mixture, {"widths": (4,)})  # type: ignore[arg-type]


def test_task_extra_metrics() -> None:
    task = Task(gaussian_mixture, MLPSpec(widths=(4,), epochs=1), data_args=SMALL,
                metrics=lambda r: {"w0_norm": float(np.linalg.norm(r.weights[0]))})
    assert task(1)["w0_norm"] > 0


def test_module_task() -> None:
    import torch

    def factory(n_features: int, n_classes: int, hidden: int = 8) -> torch.nn.Module:
        return torch.nn.Sequential(torch.nn.Linear(n_features, hidden), torch.nn.ReLU(),
                                   torch.nn.Linear(hidden, n_classes))

    fn = module_task(factory, gaussian_mixture, data_args=SMALL, epochs=3, optimizer="adam")
    state = torch.random.get_rng_state()
    a, b = fn(0, hidden=4, lr=0.05), fn(0, hidden=4, lr=0.05)
    assert torch.equal(state, torch.random.get_rng_state())  # global RNG untouched
    assert a == b and a["diverged"] == 0.0 and a["test_accuracy"] > 0.5
    assert {"hidden", "lr", "epochs", "dims"} <= fn.factor_names()  # type: ignore[attr-defined]
    with pytest.raises(InvalidClaim, match="unknown factor 'depth'"):
        fn(0, depth=3)


def test_sklearn_task() -> None:
    from sklearn.tree import DecisionTreeClassifier

    fn = sklearn_task(DecisionTreeClassifier, gaussian_mixture, data_args=SMALL)
    out = fn(0, max_depth=3)
    assert set(out) == {"train_accuracy", "test_accuracy", "test_balanced_accuracy"}
    assert out == fn(0, max_depth=3)
    assert fn(1, dims=2, max_depth=3) != out
