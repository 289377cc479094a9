"""Shared checks for the engine tests (the torch path and the native kernel).

On ``sys.path`` through pytest's ``pythonpath`` setting: ``from engine_checks import ...``.
"""

from __future__ import annotations

import math

import numpy as np

from atomcheck.data import Dataset, function_samples, gaussian_mixture
from atomcheck.engine import train_batched
from atomcheck.models import MLPSpec, TrainResult, train

SEEDS = [0, 1, 2]


def classes(seed: int) -> Dataset:
    """A tiny 3-d two-class mixture."""
    return gaussian_mixture(seed=seed, n_train=23, n_test=10, dims=3)


def regression(seed: int) -> Dataset:
    """A tiny 1-d regression task."""
    return function_samples("sin", seed=seed, n=23)


def poisoned(seed: int) -> Dataset:
    """:func:`classes` with one NaN training point: reached in the first epoch."""
    d = classes(seed)
    x = d.x_train.copy()
    x[7] = np.nan
    return Dataset(x, d.y_train, d.x_test, d.y_test, d.n_classes)


def assert_same(ref: TrainResult, got: TrainResult, tol: float) -> None:
    """Metrics, histories, weights and snapshots agree within ``tol`` (NaN matches NaN)."""
    assert ref.diverged == got.diverged
    assert ref.metrics.keys() == got.metrics.keys()
    for key, value in ref.metrics.items():
        assert math.isclose(value, got.metrics[key], rel_tol=tol, abs_tol=tol) or (
            math.isnan(value) and math.isnan(got.metrics[key])), key
    assert ref.history.keys() == got.history.keys()
    for key, values in ref.history.items():
        np.testing.assert_allclose(got.history[key], values, rtol=tol, atol=tol, err_msg=key)
    for a, b in zip(ref.weights, got.weights, strict=True):
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol)
    assert len(ref.snapshots) == len(got.snapshots)
    for sa, sb in zip(ref.snapshots, got.snapshots):
        for a, b in zip(sa, sb, strict=True):
            np.testing.assert_allclose(b, a, rtol=tol, atol=tol)


def assert_isolated(spec: MLPSpec, tol: float) -> None:
    """A seed that diverges leaves the other seeds bit-identical to a run without it, and
    matches the per-seed trainer itself."""
    data = [classes(0), poisoned(1), classes(2)]
    results = train_batched(spec, data, SEEDS)
    without = train_batched(spec, [data[0], data[2]], [0, 2])
    assert results[1].diverged and math.isnan(results[1].metrics["test_accuracy"])
    assert not results[0].diverged and not results[2].diverged
    for got, ref in zip([results[0], results[2]], without, strict=True):
        assert got.metrics == ref.metrics and got.history == ref.history
        for a, b in zip(got.weights, ref.weights, strict=True):
            np.testing.assert_array_equal(a, b)
    ref1 = train(spec, data[1], seed=1)
    assert ref1.diverged
    assert_same(ref1, results[1], tol)  # weights frozen where per-seed stopped; NaN history
