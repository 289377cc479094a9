"""Hessian eigenvalue signs on random symmetric matrices (a model of critical points).

A critical point is a minimum when its Hessian is positive definite, a maximum when it
is negative definite and a saddle when its eigenvalues have both signs. Random symmetric
matrices stand in for Hessians in the argument that in high dimension almost every
critical point is a saddle (002 §3.2.1; 004). This module draws such matrices and reads
the signs of their spectra; it needs numpy only.

Examples
--------
>>> import numpy as np
>>> h = random_symmetric(np.random.default_rng(0), n=6, count=200)
>>> h.shape, bool(np.allclose(h, np.swapaxes(h, 1, 2)))
((200, 6, 6), True)
>>> 0.9 < mixed_sign_share(h) <= 1.0
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from atomcheck.errors import InvalidClaim

__all__ = ["LAWS", "SignCounts", "random_symmetric", "sign_counts", "mixed_sign_share",
           "independent_sign_model"]

#: Laws of the independent entries: standard normal (GOE up to scale) or ±1 (Rademacher).
LAWS = ("gaussian", "rademacher")


def random_symmetric(gen: np.random.Generator, *, n: int, count: int, law: str = "gaussian",
                     diagonal_mean: float = 0.0) -> np.ndarray:
    """``count`` random symmetric ``n × n`` matrices, shape ``(count, n, n)``.

    The upper triangle and the diagonal are i.i.d. draws of ``law`` (standard normal, or
    ±1 with equal chance), mirrored below the diagonal; ``diagonal_mean`` is then added
    to every diagonal entry (a bias towards curving up when positive). All entries come
    from one draw of shape ``(count, n, n)`` from ``gen``, so a seed's matrices do not
    depend on how they are used.

    Parameters
    ----------
    gen : numpy.random.Generator
    n : int
        Dimension (>= 1).
    count : int
        Number of matrices (>= 1).
    law : {"gaussian", "rademacher"}
    diagonal_mean : float
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise InvalidClaim(f"random_symmetric: n={n!r} must be an integer >= 1.")
    if not isinstance(count, (int, np.integer)) or count < 1:
        raise InvalidClaim(f"random_symmetric: count={count!r} must be an integer >= 1.")
    if law not in LAWS:
        raise InvalidClaim(f"random_symmetric: law={law!r} is not one of {list(LAWS)}.")
    if law == "gaussian":
        a = gen.standard_normal((count, n, n))
    else:
        a = gen.choice([-1.0, 1.0], size=(count, n, n))
    return np.triu(a) + np.swapaxes(np.triu(a, 1), 1, 2) + diagonal_mean * np.eye(n)


@dataclass(frozen=True)
class SignCounts:
    """How many matrices of a stack are minima, maxima, saddles or degenerate.

    Attributes
    ----------
    minima : int
        All eigenvalues > 0 (positive definite).
    maxima : int
        All eigenvalues < 0 (negative definite).
    saddles : int
        Eigenvalues of both signs.
    degenerate : int
        The rest: a zero eigenvalue and no eigenvalues of both signs (semi-definite).
    """

    minima: int
    maxima: int
    saddles: int
    degenerate: int

    @property
    def total(self) -> int:
        """Number of matrices counted."""
        return self.minima + self.maxima + self.saddles + self.degenerate


def _spectra(matrices: np.ndarray) -> np.ndarray:
    m = np.asarray(matrices, dtype=float)
    if m.ndim == 2:
        m = m[None]
    if m.ndim != 3 or m.shape[1] != m.shape[2]:
        raise InvalidClaim(f"expected square matrices shaped (count, n, n), got {m.shape}.")
    return np.linalg.eigvalsh(m)


def sign_counts(matrices: np.ndarray, *, tol: float = 0.0) -> SignCounts:
    """Classify each symmetric matrix by the signs of its eigenvalues.

    An eigenvalue within ``±tol`` counts as zero (neither sign). With the default
    ``tol=0`` the signs are those ``numpy.linalg.eigvalsh`` returns, and a singular
    matrix's zero eigenvalue usually comes back as ±1e-16: e.g. all eight 3×3 ±1
    matrices of the form ±vvᵀ (semi-definite, eigenvalues ±3, 0, 0) then read as
    saddles. Pass e.g. ``tol=1e-9`` to count them as degenerate.

    Examples
    --------
    >>> sign_counts(np.array([np.diag([1.0, 2.0]), np.diag([-1.0, 3.0]), np.diag([0.0, 1.0])]))
    SignCounts(minima=1, maxima=0, saddles=1, degenerate=1)
    """
    eig = _spectra(matrices)
    low, high = eig.min(axis=1), eig.max(axis=1)
    minima, maxima = int(np.sum(low > tol)), int(np.sum(high < -tol))
    saddles = int(np.sum((low < -tol) & (high > tol)))
    return SignCounts(minima, maxima, saddles, len(eig) - minima - maxima - saddles)


def mixed_sign_share(matrices: np.ndarray, *, tol: float = 0.0) -> float:
    """The share of symmetric matrices whose eigenvalues have both signs (saddles); an
    eigenvalue within ``±tol`` counts as zero (see :func:`sign_counts`).

    Examples
    --------
    >>> mixed_sign_share(np.array([np.diag([1.0, -1.0]), np.eye(2)]))
    0.5
    """
    eig = _spectra(matrices)
    return float(((eig.min(axis=1) < -tol) & (eig.max(axis=1) > tol)).mean())


def independent_sign_model(n: int, p_up: float = 0.5) -> float:
    """The documents' model: each of ``n`` directions curves up with probability ``p_up``
    independently, so a critical point is a saddle with probability 1 − pⁿ − (1 − p)ⁿ.

    Examples
    --------
    >>> independent_sign_model(2), independent_sign_model(3)
    (0.5, 0.75)
    """
    if not 0.0 <= p_up <= 1.0:
        raise InvalidClaim(f"independent_sign_model: p_up={p_up!r} must lie in [0, 1].")
    return float(1 - p_up ** n - (1 - p_up) ** n)
