"""atomcheck.toolbox.hessian: random symmetric matrices and the signs of their spectra."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from atomcheck.errors import InvalidClaim
from atomcheck.toolbox import hessian


def _all_pm1_symmetric(n: int) -> np.ndarray:
    """Every n×n symmetric matrix with ±1 entries (2^(n(n+1)/2) of them)."""
    iu = np.triu_indices(n)
    out = []
    for entries in itertools.product([-1.0, 1.0], repeat=len(iu[0])):
        m = np.zeros((n, n))
        m[iu] = entries
        out.append(m + np.triu(m, 1).T)
    return np.array(out)


def test_random_symmetric_is_symmetric_with_the_law_asked_for():
    gen = np.random.default_rng(1)
    h = hessian.random_symmetric(gen, n=5, count=50, law="rademacher")
    assert h.shape == (50, 5, 5)
    assert np.array_equal(h, np.swapaxes(h, 1, 2))
    assert set(np.unique(h)) == {-1.0, 1.0}
    g = hessian.random_symmetric(np.random.default_rng(1), n=5, count=2000)
    assert abs(g.mean()) < 0.03 and abs(g.std() - 1.0) < 0.03


def test_diagonal_mean_shifts_every_eigenvalue_by_itself():
    a = hessian.random_symmetric(np.random.default_rng(3), n=4, count=20)
    b = hessian.random_symmetric(np.random.default_rng(3), n=4, count=20, diagonal_mean=1.5)
    assert np.allclose(np.linalg.eigvalsh(b), np.linalg.eigvalsh(a) + 1.5)


def test_sign_counts_on_known_spectra():
    stack = np.array([np.diag([1.0, 2.0]), np.diag([-1.0, -3.0]), np.diag([-1.0, 3.0]),
                      np.diag([0.0, 1.0]), [[0.0, 1.0], [1.0, 0.0]]])  # the last: ±1
    counts = hessian.sign_counts(stack)
    assert counts == hessian.SignCounts(minima=1, maxima=1, saddles=2, degenerate=1)
    assert counts.total == 5
    assert hessian.mixed_sign_share(stack) == pytest.approx(0.4)


def test_two_by_two_pm1_matrices_are_half_saddles_half_singular():
    # [[a, b], [b, c]]: det = ac − 1, so ac = −1 (half of them) is a saddle and ac = +1 is
    # singular with trace ±2: never definite.
    counts = hessian.sign_counts(_all_pm1_symmetric(2))
    assert counts == hessian.SignCounts(minima=0, maxima=0, saddles=4, degenerate=4)


def test_tolerance_sends_rounded_zero_eigenvalues_to_degenerate():
    # The eight ±vvᵀ among the 64 3×3 ±1 matrices have eigenvalues (±3, 0, 0); eigvalsh
    # returns the zeros as ±1e-16, which read as saddles unless a tolerance says zero.
    stack = _all_pm1_symmetric(3)
    assert hessian.mixed_sign_share(stack) == 1.0
    assert hessian.sign_counts(stack, tol=1e-9) == hessian.SignCounts(0, 0, 56, 8)
    assert hessian.mixed_sign_share(stack, tol=1e-9) == pytest.approx(56 / 64)


def test_goe_saddle_share_rises_and_beats_the_independent_sign_model():
    gen = np.random.default_rng(0)
    shares = [hessian.mixed_sign_share(hessian.random_symmetric(gen, n=n, count=4000))
              for n in (1, 2, 4, 8)]
    assert shares[0] == 0.0  # a 1×1 matrix has one eigenvalue: never a saddle
    assert shares[1] < shares[2] < shares[3] <= 1.0
    # A GOE matrix is definite far less often than 2^(1−n) (independent signs) says.
    assert shares[2] > hessian.independent_sign_model(4) + 0.05


def test_independent_sign_model_known_values():
    assert hessian.independent_sign_model(1) == 0.0
    assert hessian.independent_sign_model(2) == 0.5
    assert hessian.independent_sign_model(3, p_up=0.5) == 0.75
    assert hessian.independent_sign_model(2, p_up=1.0) == 0.0


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 0, "count": 1}, "n=0"), ({"n": 2, "count": 0}, "count=0"),
    ({"n": 2, "count": 1, "law": "cauchy"}, "law='cauchy'"),
])
def test_random_symmetric_rejects_bad_arguments(kwargs, match):
    with pytest.raises(InvalidClaim, match=match):
        hessian.random_symmetric(np.random.default_rng(0), **kwargs)


def test_non_square_input_is_refused():
    with pytest.raises(InvalidClaim, match="square"):
        hessian.mixed_sign_share(np.zeros((3, 2, 4)))
    with pytest.raises(InvalidClaim, match="p_up"):
        hessian.independent_sign_model(3, p_up=1.5)
