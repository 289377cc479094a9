"""The batched engine against the per-seed reference trainer.

State tolerance: in float64 the batched engine and :func:`atomcheck.models.train` run the
same arithmetic in a different order (batched matmuls, foreach optimisers, hand-written
backward), so final weights, metrics, histories and snapshots agree to rounding error:
we require ``rtol=atol=1e-9`` (observed: ~1e-15). In float32 we require 1e-4.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pytest

from atomcheck.data import Dataset, gaussian_mixture
from atomcheck.engine import (resolve_device, run_task, supports, train_batched,
                              train_batched_configs)
from atomcheck.errors import InvalidClaim
from atomcheck.models import MLPSpec, Task, TrainResult, train
from engine_checks import SEEDS, assert_isolated
from engine_checks import assert_same as _assert_same
from engine_checks import classes as _classes
from engine_checks import regression as _regression

BASE = MLPSpec(widths=(5, 5), epochs=3, batch_size=5, lr=0.05, dtype="float64")


def _check_equal(spec: MLPSpec, make=_classes, tol: float = 1e-9) -> list[TrainResult]:
    data = [make(s) for s in SEEDS]
    batched = train_batched(spec, data, SEEDS)
    for seed, d, got in zip(SEEDS, data, batched):
        _assert_same(train(spec, d, seed=seed), got, tol)
    return batched


CASES = {
    **{f"act-{a}": {"activation": a} for a in
       ("relu", "leaky_relu", "elu", "tanh", "sigmoid", "identity", "sign", "sin")},
    "act-square": {"activation": "square", "lr": 0.01},
    **{f"loss-{loss}": {"loss": loss} for loss in
       ("cross_entropy", "mse", "abs", "hinge", "fourth_power", "constant")},
    **{f"opt-{o}": {"optimizer": o} for o in
       ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")},
    **{f"init-{i}": {"init": i} for i in
       ("xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "scaled_normal",
        "orthogonal", "torch_default")},
    "init-gaussian": {"init": "gaussian", "init_scale": 0.3},
    "init-constant": {"init": "constant", "init_scale": 0.1},
    **{f"norm-{n}": {"norm": n, "widths": (8, 8)} for n in ("batch", "layer", "group")},
    "norm-batch-bs1": {"norm": "batch", "batch_size": 1},
    "dropout": {"dropout": 0.3},
    "dropout-adam": {"dropout": 0.5, "optimizer": "adam"},
    "l1-l2-wd": {"l1": 0.01, "l2": 0.01, "weight_decay": 0.1},
    "wd-sgd": {"weight_decay": 0.5},
    "clip": {"clip_norm": 0.05},
    "clip-adam-l2": {"clip_norm": 0.05, "optimizer": "adam", "l2": 0.01},
    "residual": {"residual": True, "widths": (5, 5, 5)},
    "residual-dropout-bs1": {"residual": True, "widths": (5, 5, 5), "dropout": 0.2,
                             "batch_size": 1},
    "shared": {"shared_hidden": True, "widths": (5, 5, 5), "optimizer": "momentum"},
    "shared-residual-norm": {"shared_hidden": True, "residual": True, "widths": (5, 5, 5),
                             "norm": "layer"},
    "schedule-step": {"lr_schedule": "step", "epochs": 4},
    "schedule-cosine": {"lr_schedule": "cosine", "optimizer": "adam"},
    "bs-1": {"batch_size": 1},
    "bs-full": {"batch_size": 1000},
    "records": {"history": True, "snapshots": True, "grad_norms": True},
    "records-sgd-fused": {"history": True, "snapshots": True},
    "records-norm": {"history": True, "snapshots": True, "grad_norms": True, "norm": "batch"},
}


@pytest.mark.parametrize("changes", list(CASES.values()), ids=list(CASES))
def test_batched_equals_per_seed_float64(changes: dict) -> None:
    _check_equal(BASE.replace(**changes))


@pytest.mark.parametrize("loss", ["mse", "abs", "fourth_power", "constant"])
def test_regression_equals_per_seed(loss: str) -> None:
    _check_equal(BASE.replace(loss=loss, history=True, lr=0.02), make=_regression)


@pytest.mark.parametrize("changes", [{}, {"optimizer": "adam", "dropout": 0.2},
                                     {"norm": "batch"}, {"batch_size": 1}],
                         ids=["sgd", "adam-dropout", "batchnorm", "bs1"])
def test_batched_equals_per_seed_float32(changes: dict) -> None:
    _check_equal(BASE.replace(dtype="float32", **changes), tol=1e-4)


def test_configs_batch_equals_separate_runs() -> None:
    specs = [BASE.replace(loss="mse"), BASE.replace(loss="hinge", init="he_normal"),
             BASE.replace(activation="tanh", optimizer="adam"), BASE.replace(lr=0.01),
             BASE.replace(dropout=0.2, clip_norm=0.1), BASE.replace(widths=(4,))]
    data = [_classes(s) for s in SEEDS]
    together = train_batched_configs(specs, data, SEEDS)
    for spec, results in zip(specs, together):
        alone = train_batched(spec, data, SEEDS)
        for a, b in zip(alone, results):  # alone, plain SGD may take the fused update
            _assert_same(a, b, 1e-12)
        for seed, d, got in zip(SEEDS, data, results):
            _assert_same(train(spec, d, seed=seed), got, 1e-9)


def test_configs_per_config_datasets() -> None:
    specs = [BASE, BASE.replace(lr=0.1)]
    data = [[_classes(s) for s in SEEDS],
            [gaussian_mixture(seed=s, n_train=23, n_test=10, dims=4) for s in SEEDS]]
    results = train_batched_configs(specs, data, SEEDS)
    assert results[1][0].weights[0].shape == (4, 5)
    _assert_same(train(specs[1], data[1][2], seed=2), results[1][2], 1e-9)


@pytest.mark.parametrize("changes", [{}, {"optimizer": "adam", "dropout": 0.2},
                                     {"norm": "batch", "history": True}],
                         ids=["fused-sgd", "adam", "autograd"])
def test_diverged_seed_is_isolated(changes: dict) -> None:
    assert_isolated(BASE.replace(**changes), 1e-9)


def test_divergence_mid_training_in_config_batch() -> None:
    good, bad = BASE.replace(loss="fourth_power"), BASE.replace(loss="fourth_power", lr=1e4)
    data = [_classes(s) for s in SEEDS]
    both = train_batched_configs([good, bad], data, SEEDS)
    assert all(r.diverged for r in both[1]) and not any(r.diverged for r in both[0])
    alone = train_batched(good, data, SEEDS)  # alone, plain SGD takes the fused update
    for a, b in zip(alone, both[0]):
        _assert_same(a, b, 1e-12)
    ref = train(bad, data[0], seed=0)
    for a, b in zip(ref.weights, both[1][0].weights):
        np.testing.assert_allclose(b, a, rtol=1e-9)


def test_deterministic() -> None:
    spec = BASE.replace(dropout=0.3, optimizer="adam", dtype="float32")
    data = [_classes(s) for s in SEEDS]
    a, b = train_batched(spec, data, SEEDS), train_batched(spec, data, SEEDS)
    for ra, rb in zip(a, b):
        assert ra.metrics == rb.metrics
        for wa, wb in zip(ra.weights, rb.weights):
            np.testing.assert_array_equal(wa, wb)


@dataclass(frozen=True)
class _CustomSpec(MLPSpec):
    """A user subclass: the engine cannot know what it changes."""


def test_supports_and_routing(caplog: pytest.LogCaptureFixture) -> None:
    assert supports(BASE.replace(norm="group", widths=(8,))) is None
    custom = _CustomSpec(widths=(5,), epochs=2, dtype="float64")
    reason = supports(custom)
    assert reason is not None and "subclass" in reason
    assert "not an MLPSpec" in str(supports({"widths": (5,)}))
    task = Task(gaussian_mixture, custom, data_args={"n_train": 23, "n_test": 10, "dims": 3})
    with caplog.at_level(logging.INFO, logger="atomcheck.engine"):
        out = run_task(task, SEEDS, {"lr": 0.1})
    assert "per-seed path because model is a subclass" in caplog.text
    assert out == [task(s, lr=0.1) for s in SEEDS]
    with pytest.raises(InvalidClaim, match="cannot train"):
        train_batched(custom, [_classes(0)], [0])


def test_run_task_matches_task_call() -> None:
    task = Task(gaussian_mixture, BASE, data_args={"n_train": 23, "n_test": 10, "dims": 3},
                metrics=lambda r: {"w_norm": float(np.linalg.norm(r.weights[0]))})
    batched = run_task(task, SEEDS, {"batch_size": 4, "offset": 2.0})
    for seed, got in zip(SEEDS, batched):
        ref = task(seed, batch_size=4, offset=2.0)
        assert got.keys() == ref.keys() and got["diverged"] == 0.0
        for key in ref:
            assert math.isclose(got[key], ref[key], rel_tol=1e-9, abs_tol=1e-9), key


def test_run_task_unequal_shapes_goes_per_seed(caplog: pytest.LogCaptureFixture) -> None:
    def varying(*, seed: int) -> Dataset:
        return gaussian_mixture(seed=seed, n_train=20 + seed, n_test=10, dims=3)

    task = Task(varying, BASE)
    with caplog.at_level(logging.INFO, logger="atomcheck.engine"):
        out = run_task(task, [0, 1], {})
    assert "differ in shape" in caplog.text and len(out) == 2
    with pytest.raises(InvalidClaim, match="unknown factor 'depth'"):
        run_task(task, [0], {"depth": 2})


def test_regression_runs_mixed_losses_batched() -> None:
    specs = [BASE.replace(loss=loss, lr=0.02) for loss in ("mse", "abs", "fourth_power")]
    data = [_regression(s) for s in SEEDS]
    for spec, results in zip(specs, train_batched_configs(specs, data, SEEDS)):
        for seed, d, got in zip(SEEDS, data, results):
            _assert_same(train(spec, d, seed=seed), got, 1e-9)


def test_input_validation() -> None:
    data = [_classes(s) for s in SEEDS]
    with pytest.raises(InvalidClaim, match="got 2 datasets for 3 seeds"):
        train_batched(BASE, data[:2], SEEDS)
    with pytest.raises(InvalidClaim, match=r"specs=\[\] is empty"):
        train_batched_configs([], data, SEEDS)
    with pytest.raises(InvalidClaim, match="needs class labels"):
        train_batched(BASE, [_regression(0)], [0])
    with pytest.raises(InvalidClaim, match="device='tpu' is not one of"):
        resolve_device("tpu")
    assert resolve_device("auto") in ("cpu", "cuda")


def test_cuda_request_without_gpu_is_clear() -> None:
    import torch

    if torch.cuda.is_available():  # pragma: no cover - CI has no GPU
        pytest.skip("a GPU is present")
    with pytest.raises(InvalidClaim, match=r"device='cuda' was requested but torch.cuda"):
        train_batched(BASE, [_classes(0)], [0], device="cuda")
