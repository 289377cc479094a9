"""Dataset builders: determinism, pairing across options, and validation."""

from __future__ import annotations

import numpy as np
import pytest

from atomcheck.data import gaussian_mixture
from atomcheck.errors import InvalidClaim

#: More dimensions than training samples, hidden by a rotation (the §6 "PCA" setting).
WIDE = {"n_train": 40, "n_test": 30, "dims": 4, "dummy_dims": 60, "rotate": True}


def test_pca_projects_both_splits_to_k_features() -> None:
    d = gaussian_mixture(seed=0, pca_components=3, **WIDE)
    assert d.x_train.shape == (40, 3) and d.x_test.shape == (30, 3)
    assert d.x_train.dtype == np.float32 and d.x_test.dtype == np.float32
    assert d.n_features == 3


def test_pca_is_deterministic_per_seed() -> None:
    a = gaussian_mixture(seed=5, pca_components=4, **WIDE)
    b = gaussian_mixture(seed=5, pca_components=4, **WIDE)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.x_test, b.x_test)


def test_pca_is_fitted_on_the_training_split_only() -> None:
    from sklearn.decomposition import PCA

    raw = gaussian_mixture(seed=2, **WIDE)
    projected = gaussian_mixture(seed=2, pca_components=3, **WIDE)
    # Same draw with and without PCA (labels too), so a seed pairs up across the option.
    np.testing.assert_array_equal(raw.y_train, projected.y_train)
    np.testing.assert_array_equal(raw.y_test, projected.y_test)
    # Fitting on the float32 features gives the projection up to float32 rounding; fitting
    # on train + test would give a different basis, which this would catch.
    pca = PCA(n_components=3, svd_solver="full").fit(raw.x_train.astype(np.float64))
    np.testing.assert_allclose(np.abs(projected.x_train), np.abs(pca.transform(raw.x_train)),
                               atol=1e-4)
    np.testing.assert_allclose(np.abs(projected.x_test), np.abs(pca.transform(raw.x_test)),
                               atol=1e-4)
    leaky = PCA(n_components=3, svd_solver="full").fit(np.vstack([raw.x_train, raw.x_test]))
    assert not np.allclose(np.abs(projected.x_test), np.abs(leaky.transform(raw.x_test)),
                           atol=1e-4)


def test_pca_training_features_are_centred_and_ordered_by_variance() -> None:
    d = gaussian_mixture(seed=1, pca_components=4, **WIDE)
    np.testing.assert_allclose(d.x_train.mean(axis=0), 0.0, atol=1e-5)
    variances = d.x_train.var(axis=0)
    assert np.all(np.diff(variances) <= 1e-6)


def test_pca_none_leaves_the_features_alone() -> None:
    a = gaussian_mixture(seed=3, **WIDE)
    b = gaussian_mixture(seed=3, pca_components=None, **WIDE)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert a.n_features == 64


@pytest.mark.parametrize("value, match", [
    (0, "must be None or an integer >= 1"),
    (2.5, "must be None or an integer >= 1"),
    (True, "must be None or an integer >= 1"),
    (41, r"exceeds min\(n_train, features\) = min\(40, 64\) = 40"),
])
def test_pca_components_is_validated(value: object, match: str) -> None:
    with pytest.raises(InvalidClaim, match=match):
        gaussian_mixture(seed=0, pca_components=value, **WIDE)  # type: ignore[arg-type]


def test_pca_components_cannot_exceed_features() -> None:
    with pytest.raises(InvalidClaim, match=r"min\(100, 3\) = 3"):
        gaussian_mixture(seed=0, n_train=100, dims=3, pca_components=4)
