"""The native epoch kernel (``atomcheck/engine/_native/mlp_kernel.c``) against the per-seed trainer.

Tolerances as in ``test_engine.py``: float64 1e-9, float32 1e-4. Widths are chosen to hit
the kernel's vector blocks and their scalar tails (widths of 33-40 and 2-3 outputs), batch
sizes 1, 4, 7 and the full set (the blocked, dot-product and transposed paths).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest

from atomcheck.engine import native
from atomcheck.data import Dataset, gaussian_mixture
from atomcheck.engine import train_batched, train_batched_configs
from atomcheck.models import MLPSpec, TrainResult, train
from engine_checks import SEEDS, assert_isolated
from engine_checks import assert_same as _assert_same
from engine_checks import classes as _classes
from engine_checks import regression as _regression

BASE = MLPSpec(widths=(37,), epochs=2, batch_size=7, lr=0.05, dtype="float64")


def _three_classes(seed: int) -> Dataset:
    d = gaussian_mixture(seed=seed, n_train=23, n_test=10, dims=18)

    def label(x: np.ndarray) -> np.ndarray:
        return np.digitize(x[:, 0], [-0.3, 0.6]).astype(np.int64)

    return Dataset(d.x_train, label(d.x_train), d.x_test, label(d.x_test), 3)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts native epoch calls (so a test knows which path ran)."""
    seen: list[int] = []
    real = native._train_epoch

    def spy(lib: Any, run: Any, epoch: int) -> list[int]:
        seen.append(epoch)
        return real(lib, run, epoch)

    monkeypatch.setattr(native, "_train_epoch", spy)
    return seen


def _check(spec: MLPSpec, make: Any = _classes) -> list[TrainResult]:
    tol = 1e-9 if spec.dtype == "float64" else 1e-4
    data = [make(s) for s in SEEDS]
    got = train_batched(spec, data, SEEDS)
    for seed, d, result in zip(SEEDS, data, got):
        _assert_same(train(spec, d, seed=seed), result, tol)
    return got


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("widths", [(37,), (40, 33, 17)], ids=["depth1", "depth3"])
@pytest.mark.parametrize("batch_size", [1, 7, 1000], ids=["bs1", "bs7", "full"])
@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid", "identity"])
def test_native_equals_per_seed(activation: str, batch_size: int, widths: tuple[int, ...],
                                dtype: str, calls: list[int]) -> None:
    lr = 0.02 if activation == "identity" else 0.05
    _check(BASE.replace(activation=activation, batch_size=batch_size, widths=widths,
                        dtype=dtype, lr=lr, history=batch_size == 7))
    assert calls, "the native kernel did not run"


@pytest.mark.parametrize(("changes", "make"), [
    ({"loss": "mse", "batch_size": 4, "snapshots": True}, _classes),
    ({"optimizer": "momentum", "batch_size": 4, "widths": (33, 40)}, _three_classes),
    ({"optimizer": "nesterov", "batch_size": 1, "lr": 0.01}, _three_classes),
    ({"optimizer": "nesterov", "loss": "mse", "lr_schedule": "cosine", "history": True},
     _regression),
    ({"optimizer": "momentum", "loss": "mse", "batch_size": 16, "dtype": "float32"}, _regression),
], ids=["mse-classes-bs4", "momentum-3class", "nesterov-bs1", "nesterov-regression",
        "momentum-f32-bs16"])
def test_native_losses_and_optimisers(changes: dict, make: Any, calls: list[int]) -> None:
    _check(BASE.replace(**changes), make)
    assert calls


def test_mixed_configs_in_one_batch(calls: list[int]) -> None:
    specs = [BASE, BASE.replace(activation="tanh", optimizer="momentum"),
             BASE.replace(loss="mse", lr=0.1, lr_schedule="step", epochs=3),
             BASE.replace(activation="sigmoid", optimizer="nesterov", lr=0.2, epochs=3)]
    data = [_classes(s) for s in SEEDS]
    together = train_batched_configs(specs, data, SEEDS)
    assert calls
    for spec, results in zip(specs, together):
        for seed, d, got in zip(SEEDS, data, results):
            _assert_same(train(spec, d, seed=seed), got, 1e-9)


@pytest.mark.parametrize("changes", [{}, {"batch_size": 1, "history": True},
                                     {"optimizer": "momentum", "dtype": "float32"}],
                         ids=["bs7", "bs1-history", "momentum-f32"])
def test_diverged_row_is_isolated(changes: dict, calls: list[int]) -> None:
    spec = BASE.replace(**changes)
    assert_isolated(spec, 1e-9 if spec.dtype == "float64" else 1e-4)
    assert calls  # the native kernel trained these rows


def test_divergence_mid_training_in_config_batch(calls: list[int]) -> None:
    good, bad = BASE.replace(loss="mse"), BASE.replace(loss="mse", lr=1e4, history=True)
    data = [_classes(s) for s in SEEDS]
    both = train_batched_configs([good, bad], data, SEEDS)
    assert calls
    assert all(r.diverged for r in both[1]) and not any(r.diverged for r in both[0])
    for a, b in zip(train_batched(good, data, SEEDS), both[0]):
        assert a.metrics == b.metrics
    for seed, d, got in zip(SEEDS, data, both[1]):
        _assert_same(train(bad, d, seed=seed), got, 1e-9)


def test_disabled_by_environment_gives_same_numbers(monkeypatch: pytest.MonkeyPatch,
                                                    calls: list[int]) -> None:
    spec = BASE.replace(widths=(40, 33), batch_size=4, optimizer="momentum", history=True)
    data = [_classes(s) for s in SEEDS]
    fast = train_batched(spec, data, SEEDS)
    assert calls
    monkeypatch.setenv("ATOMCHECK_NATIVE", "0")
    del calls[:]
    slow = train_batched(spec, data, SEEDS)
    assert not calls
    for a, b in zip(slow, fast):
        _assert_same(a, b, 1e-12)
    assert native.native_reason([spec], "cpu") == "ATOMCHECK_NATIVE=0"


def test_unsupported_specs_and_devices() -> None:
    assert native.native_reason([BASE, BASE.replace(activation="tanh")], "cpu") is None
    for changes in ({"dropout": 0.1}, {"optimizer": "adam"}, {"loss": "hinge"},
                    {"norm": "layer"}, {"l2": 0.1}, {"clip_norm": 1.0}, {"grad_norms": True},
                    {"activation": "elu"}, {"weight_decay": 0.1}):
        reason = native.native_reason([BASE, BASE.replace(**changes)], "cpu")
        assert reason is not None and next(iter(changes)) in reason
    assert "not the CPU" in str(native.native_reason([BASE], "cuda:0"))


def test_compile_failure_falls_back(monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
                                    caplog: pytest.LogCaptureFixture, calls: list[int]) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("ATOMCHECK_CC", str(tmp_path / "no-such-compiler"))
    native.reset()
    try:
        with caplog.at_level(logging.DEBUG, logger="atomcheck.engine"):
            _check(BASE.replace(batch_size=4))
        assert "native kernel unavailable" in caplog.text and "no-such-compiler" in caplog.text
        assert not calls
        assert native.load() is None  # the failure is remembered: no second attempt
    finally:
        native.reset()


def test_compiled_kernel_is_cached(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    native.reset()
    try:
        before = native.compile_count
        assert native.load() is not None
        assert native.compile_count == before + 1
        built = list((tmp_path / "atomcheck").glob("mlp_kernel-*.so"))
        assert len(built) == 1 and not list((tmp_path / "atomcheck").glob(".*"))
        native.reset()  # a new process: finds the file, does not compile
        assert native.load() is not None
        assert native.compile_count == before + 1
    finally:
        native.reset()
