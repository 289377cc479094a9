"""Claims about a plain training function: ``fn(seed, **config) -> dict of metrics``.

Any Python function with this shape can be swept: atomcheck calls it once per
configuration and seed, and seed *s* must draw the same data at every level, so that the
design is paired. Here the "training code" is ordinary least squares in numpy.
"""

from __future__ import annotations

import numpy as np
import pytest

from atomcheck import Falls


def fit_least_squares(seed: int, *, n_train: int = 50, features: int = 5,
                      extra_features: int = 0, noise: float = 0.5) -> dict[str, float]:
    """Fit y = Xw by least squares; return the test mean squared error.

    ``features`` columns carry the signal; ``extra_features`` appends pure-noise columns
    the target does not depend on.
    Everything random comes from ``seed`` alone (not from the other arguments), so seed
    *s* sees the same true weights, inputs and noise at every level of a sweep.
    """
    rng = np.random.default_rng(seed)
    n_test, n_max = 500, 2000
    w = rng.normal(size=features)
    x = rng.normal(size=(n_max + n_test, features + 40))  # room for up to 40 extra columns
    y = x[:, :features] @ w + noise * rng.normal(size=n_max + n_test)
    cols = features + extra_features
    x_tr, y_tr = x[:n_train, :cols], y[:n_train]
    x_te, y_te = x[n_max:, :cols], y[n_max:]
    coef, *_ = np.linalg.lstsq(x_tr, y_tr, rcond=None)
    return {"test_mse": float(np.mean((x_te @ coef - y_te) ** 2))}


@pytest.mark.claim(claim_id="examples.function.more_data", sources=["atomcheck user guide"],
                   seeds=10, robust_over={"features": [20]})
def test_more_data_lowers_error(claim):
    """Test error falls as the training set grows.

    Open setting (rule: the statement fixes neither the noise nor the number of
    informative features; the noise only rescales least squares' test error, by noise²,
    so it cannot change a trend's ranks: try four times the features): ``features=20``,
    where the smallest training set has as many rows as features.
    """
    claim.sweep(fit_least_squares, n_train=[20, 50, 200])
    claim.expect(Falls("test_mse", along="n_train"))


@pytest.mark.claim(claim_id="examples.function.noise_features", sources=["atomcheck user guide"],
                   seeds=10, expected="refuted",
                   reason="least squares fits the noise columns too: the error rises")
def test_noise_features_help(claim):
    """Test error falls as pure-noise features are added (a wrong claim, kept refuted)."""
    claim.sweep(fit_least_squares, extra_features=[0, 10, 30])
    claim.expect(Falls("test_mse", along="extra_features"))
