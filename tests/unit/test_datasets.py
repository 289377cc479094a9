"""Datasets: deterministic per seed, shaped as documented, validated with clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from atomcheck import InvalidClaim
from atomcheck.data import alternating_line, function_samples, gaussian_mixture


def test_mixture_is_deterministic_and_seeds_differ() -> None:
    a, b = gaussian_mixture(seed=3), gaussian_mixture(seed=3)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, gaussian_mixture(seed=4).x_train)
    assert a.x_train.dtype == np.float32 and a.y_train.dtype == np.int64


def test_mixture_means_and_balance() -> None:
    d = gaussian_mixture(seed=0, n_train=20000, n_test=10, dims=3, offset="1/i")
    gap = d.x_train[d.y_train == 1].mean(0) - d.x_train[d.y_train == 0].mean(0)
    np.testing.assert_allclose(gap, [1.0, 0.5, 1 / 3], atol=0.05)
    assert np.bincount(d.y_test).tolist() == [5, 5]


def test_imbalance_and_oversampling_pair_up() -> None:
    plain = gaussian_mixture(seed=1, n_train=1000, minority_share=0.01)
    over = gaussian_mixture(seed=1, n_train=1000, minority_share=0.01, oversample=True)
    assert np.bincount(plain.y_train).tolist() == [990, 10]
    assert np.bincount(over.y_train).tolist() == [990, 990]
    assert np.array_equal(plain.x_test, over.x_test)
    minority = {tuple(r) for r in plain.x_train[plain.y_train == 1]}
    assert {tuple(r) for r in over.x_train[over.y_train == 1]} == minority


def test_dummy_dims_and_rotation() -> None:
    d = gaussian_mixture(seed=2, dims=4, dummy_dims=6, rotate=True, n_train=50)
    assert d.x_train.shape == (50, 10)
    plain = gaussian_mixture(seed=2, dims=4, dummy_dims=6, n_train=50)
    # A rotation keeps each point's norm.
    np.testing.assert_allclose(np.linalg.norm(d.x_train, axis=1),
                               np.linalg.norm(plain.x_train, axis=1), rtol=1e-5)


def test_random_labels_are_coin_flips() -> None:
    d = gaussian_mixture(seed=5, n_train=4000, random_labels=True)
    assert abs(d.y_train.mean() - 0.5) < 0.03


def test_alternating_line_and_function_samples() -> None:
    line = alternating_line(n=16)
    assert line.y_train.tolist() == [0, 1] * 8
    assert np.all(np.diff(line.x_train[:, 0]) > 0)
    f = function_samples("square", seed=0, n=30)
    np.testing.assert_allclose(f.y_train, f.x_train**2, rtol=1e-6)
    assert f.n_classes == 0 and f.x_train.min() >= -1 and f.x_train.max() <= 1


@pytest.mark.parametrize(("call", "message"), [
    (lambda: gaussian_mixture(seed=0, n_train=0), r"n_train=0 must be an integer >= 1"),
    (lambda: gaussian_mixture(seed=0, dims=1.5), r"dims=1.5 must be an integer >= 1"),
    (lambda: gaussian_mixture(seed=0, minority_share=0.7), r"minority_share=0.7 must lie in"),
    (lambda: gaussian_mixture(seed=0, n_train=10, minority_share=0.01),
     r"leaves no minority sample in n_train=10"),
    (lambda: gaussian_mixture(seed=0, offset=-1), r"offset=-1 must be a positive number"),
    (lambda: gaussian_mixture(seed=0, dummy_dims=-1), r"dummy_dims=-1 must be >= 0"),
    (lambda: gaussian_mixture(seed=-1), r"seed=-1 must be a non-negative integer"),
    (lambda: alternating_line(n=1), r"n=1 must be an integer >= 2"),
    (lambda: function_samples("nope", seed=0), r"target='nope' is not one of"),
    (lambda: function_samples("sin", seed=0, low=1, high=-1), r"must satisfy low < high"),
])
def test_bad_arguments(call, message: str) -> None:
    with pytest.raises((InvalidClaim, ValueError), match=message):
        call()
