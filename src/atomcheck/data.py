"""Offline datasets, deterministic per seed and validated.

Every generator takes ``seed=`` and returns a :class:`Dataset` of numpy arrays
(features ``float32``, labels ``int64``). The same seed always gives the same arrays,
so seed *s* sees the same data at every level of a sweep. Nothing here downloads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from atomcheck.errors import InvalidClaim
from atomcheck.seeding import rng as _rng

__all__ = [
    "Dataset",
    "gaussian_mixture",
    "moons",
    "alternating_line",
    "function_samples",
    "digits",
    "FUNCTIONS",
]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split as numpy arrays.

    Attributes
    ----------
    x_train, y_train, x_test, y_test : numpy.ndarray
        Features ``(n, d)`` as float32; labels ``(n,)`` as int64 for classification,
        or targets ``(n, 1)`` as float32 for regression.
    n_classes : int
        Number of classes, or 0 for regression.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    @property
    def n_features(self) -> int:
        """Number of input features."""
        return int(self.x_train.shape[1])

    def __repr__(self) -> str:
        return (
            f"Dataset(train={self.x_train.shape[0]}, test={self.x_test.shape[0]}, "
            f"features={self.n_features}, n_classes={self.n_classes})"
        )


def _check(cond: bool, name: str, value: object, rule: str, fix: str) -> None:
    if not cond:
        raise InvalidClaim(f"{name}={value!r} {rule}. {fix}")


def _mean_offsets(dims: int, offset: str | float) -> np.ndarray:
    if offset == "1/i":
        return 1.0 / np.arange(1, dims + 1, dtype=np.float64)
    if isinstance(offset, (int, float)) and not isinstance(offset, bool) and offset > 0:
        return np.full(dims, float(offset))
    raise InvalidClaim(f"offset={offset!r} must be a positive number or '1/i'.")


def _mixture_draw(
    gen: np.random.Generator, counts: tuple[int, int], means: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    x0 = gen.standard_normal((counts[0], means.size))
    x1 = gen.standard_normal((counts[1], means.size)) + means
    x = np.concatenate([x0, x1])
    y = np.concatenate([np.zeros(counts[0], np.int64), np.ones(counts[1], np.int64)])
    order = gen.permutation(len(y))
    return x[order], y[order]


def gaussian_mixture(
    *,
    seed: int,
    n_train: int = 400,
    n_test: int = 100,
    dims: int = 12,
    offset: str | float = 1.0,
    minority_share: float = 0.5,
    dummy_dims: int = 0,
    dummy_scale: float = 1e-3,
    rotate: bool = False,
    random_labels: bool = False,
    oversample: bool = False,
    pca_components: int | None = None,
) -> Dataset:
    """Two Gaussian classes with identity covariance.

    Class 1's mean is offset from class 0's by ``offset`` in every dimension (a number),
    or by ``1/i`` in dimension *i* (``offset="1/i"``).

    Parameters
    ----------
    seed : int
        Seed of the draw.
    n_train, n_test : int
        Sizes of the splits. The test split is always balanced.
    dims : int
        Informative dimensions.
    offset : float or "1/i"
        Distance between the class means per dimension.
    minority_share : float
        Share of class 1 in the training split, in (0, 0.5]; ``1/100`` is a 1:99 ratio.
    dummy_dims : int
        Extra useless dimensions drawn from N(0, dummy_scale²) for both classes.
    dummy_scale : float
        Standard deviation of the dummy dimensions.
    rotate : bool
        Multiply all features by one random rotation (drawn per seed) to hide the dummies.
    random_labels : bool
        Replace the training labels by fair coin flips (memorisation experiments).
    oversample : bool
        Resample the minority class with replacement until both classes have as many
        training points as the majority. The base draw is the same with or without it,
        so a seed's oversampled and plain datasets pair up.
    pca_components : int, optional
        Project both splits onto the first ``pca_components`` principal components of
        the training features (scikit-learn ``PCA``, fitted on the training split only,
        after dummies, rotation and oversampling, with the exact SVD solver so it is
        deterministic). The draw is the same with or without it, so a seed's projected
        and raw datasets pair up. None (the default) keeps every feature.

    Returns
    -------
    Dataset

    Examples
    --------
    >>> d = gaussian_mixture(seed=0, n_train=40, n_test=10, dims=3)
    >>> d.x_train.shape, d.y_test.tolist().count(1)
    ((40, 3), 5)
    """
    for name, value in (("n_train", n_train), ("n_test", n_test), ("dims", dims)):
        _check(isinstance(value, int) and value >= 1, name, value, "must be an integer >= 1",
               "Pass a positive integer.")
    _check(0 < minority_share <= 0.5, "minority_share", minority_share,
           "must lie in (0, 0.5]", "Use e.g. 0.01 for a 1:99 class ratio.")
    _check(dummy_dims >= 0, "dummy_dims", dummy_dims, "must be >= 0", "Pass 0 for no dummies.")
    _check_pca(pca_components, n_train, dims + dummy_dims)
    n_minority = int(round(n_train * minority_share))
    _check(n_minority >= 1, "minority_share", minority_share,
           f"leaves no minority sample in n_train={n_train}", "Raise n_train or the share.")
    means = _mean_offsets(dims, offset)
    gen = _rng(seed, "gaussian_mixture")
    x_tr, y_tr = _mixture_draw(gen, (n_train - n_minority, n_minority), means)
    x_te, y_te = _mixture_draw(gen, (n_test - n_test // 2, n_test // 2), means)
    if dummy_dims:
        x_tr = np.hstack([x_tr, dummy_scale * gen.standard_normal((len(x_tr), dummy_dims))])
        x_te = np.hstack([x_te, dummy_scale * gen.standard_normal((len(x_te), dummy_dims))])
    if rotate:
        q, r = np.linalg.qr(gen.standard_normal((x_tr.shape[1], x_tr.shape[1])))
        q = q * np.sign(np.diag(r))  # Haar-distributed rotation
        x_tr, x_te = x_tr @ q, x_te @ q
    if random_labels:
        y_tr = gen.integers(0, 2, size=len(y_tr)).astype(np.int64)
    if oversample:
        x_tr, y_tr = _oversample(x_tr, y_tr, _rng(seed, "oversample"))
    if pca_components is not None:
        x_tr, x_te = _pca(x_tr, x_te, pca_components)
    return Dataset(x_tr.astype(np.float32), y_tr, x_te.astype(np.float32), y_te, 2)


def _check_pca(pca_components: int | None, n_train: int, n_features: int) -> None:
    if pca_components is None:
        return
    _check(isinstance(pca_components, (int, np.integer)) and not isinstance(pca_components, bool)
           and pca_components >= 1, "pca_components", pca_components,
           "must be None or an integer >= 1", "Pass e.g. pca_components=10, or None for no PCA.")
    limit = min(n_train, n_features)
    _check(pca_components <= limit, "pca_components", pca_components,
           f"exceeds min(n_train, features) = min({n_train}, {n_features}) = {limit}",
           f"Pass at most {limit}.")


def _pca(x_tr: np.ndarray, x_te: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Fit PCA on the training features only (no test leakage) and project both splits."""
    from sklearn.decomposition import PCA
    from threadpoolctl import threadpool_limits

    # svd_solver="full": "auto" picks a randomized solver on large inputs, which would
    # make the projection depend on an unseeded random state. One BLAS thread: on these
    # small matrices a threaded SVD on a busy 2-core machine is ~20x slower, not faster.
    with threadpool_limits(limits=1, user_api="blas"):
        pca = PCA(n_components=int(k), svd_solver="full").fit(x_tr)
        return pca.transform(x_tr), pca.transform(x_te)


def _oversample(x: np.ndarray, y: np.ndarray, gen: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(y, minlength=2)
    minority = int(np.argmin(counts))
    extra = gen.choice(np.flatnonzero(y == minority), size=counts.max() - counts.min())
    order = gen.permutation(len(y) + extra.size)
    return np.concatenate([x, x[extra]])[order], np.concatenate([y, y[extra]])[order]


def moons(*, seed: int, n_train: int = 300, n_test: int = 300, noise: float = 0.2) -> Dataset:
    """scikit-learn's two interleaving half circles, split into train and test.

    Examples
    --------
    >>> moons(seed=1, n_train=20, n_test=10).x_train.shape
    (20, 2)
    """
    _check(n_train >= 2 and n_test >= 2, "n_train/n_test", (n_train, n_test),
           "must both be >= 2", "Pass larger sizes.")
    _check(noise >= 0, "noise", noise, "must be >= 0", "Pass e.g. 0.2.")
    from sklearn.datasets import make_moons

    state = int(_rng(seed, "moons").integers(2**31 - 1))
    x, y = make_moons(n_samples=n_train + n_test, noise=noise, random_state=state)
    x = x.astype(np.float32)
    return Dataset(x[:n_train], y[:n_train].astype(np.int64), x[n_train:],
                   y[n_train:].astype(np.int64), 2)


def alternating_line(*, seed: int = 0, n: int = 16) -> Dataset:
    """``n`` equally spaced points on [-1, 1] whose neighbours belong to opposite classes.

    The data is deterministic (``seed`` is accepted for a uniform signature); the test
    split is the training split, as in the source document.

    Examples
    --------
    >>> alternating_line(n=4).y_train.tolist()
    [0, 1, 0, 1]
    """
    _check(isinstance(n, int) and n >= 2, "n", n, "must be an integer >= 2", "Use n=16.")
    x = np.linspace(-1.0, 1.0, n, dtype=np.float32)[:, None]
    y = (np.arange(n) % 2).astype(np.int64)
    return Dataset(x, y, x.copy(), y.copy(), 2)


FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "square": lambda x: x**2,
    "cube": lambda x: x**3,
    "abs": np.abs,
    "sin": lambda x: np.sin(np.pi * x),
    "step": lambda x: (x > 0).astype(x.dtype),
    "exp": np.exp,
}
"""Named 1-D target functions for :func:`function_samples`."""


def function_samples(
    target: str | Callable[[np.ndarray], np.ndarray],
    *,
    seed: int,
    n: int = 50,
    low: float = -1.0,
    high: float = 1.0,
) -> Dataset:
    """``n`` points ``x ~ U(low, high)`` with ``y = target(x)`` (regression; test = a fresh draw).

    Examples
    --------
    >>> function_samples("square", seed=0, n=5).y_train.shape
    (5, 1)
    """
    if isinstance(target, str):
        _check(target in FUNCTIONS, "target", target, f"is not one of {sorted(FUNCTIONS)}",
               "Pass a known name or a callable.")
        target = FUNCTIONS[target]
    _check(isinstance(n, int) and n >= 2, "n", n, "must be an integer >= 2", "Use n=50.")
    _check(low < high, "low/high", (low, high), "must satisfy low < high", "Swap them.")
    gen = _rng(seed, "function_samples")
    x = gen.uniform(low, high, size=(2 * n, 1))
    y = np.asarray(target(x), dtype=np.float64).reshape(2 * n, 1)
    x, y = x.astype(np.float32), y.astype(np.float32)
    return Dataset(x[:n], y[:n], x[n:], y[n:], 0)


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The bundled digits as (x in [0, 1] float32, y int64), read once per process
    (``load_digits`` parses its CSV on every call: ~50 ms, paid per seed and config).
    Callers must not write into them: ``train_test_split`` returns copies."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


def digits(*, seed: int, n_train: int | None = None, test_size: float = 0.25) -> Dataset:
    """scikit-learn's bundled handwritten digits (1,797 8x8 images), scaled to [0, 1].

    The split is stratified and drawn per seed; ``n_train`` keeps only that many
    training images (small-data experiments).

    Examples
    --------
    >>> d = digits(seed=0, n_train=100)
    >>> d.x_train.shape, d.n_classes
    ((100, 64), 10)
    """
    _check(0 < test_size < 1, "test_size", test_size, "must lie in (0, 1)", "Use 0.25.")
    from sklearn.model_selection import train_test_split

    x, y = _digits_arrays()
    state = int(_rng(seed, "digits").integers(2**31 - 1))
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_size, stratify=y,
                                              random_state=state)
    if n_train is not None:
        _check(1 <= n_train <= len(y_tr), "n_train", n_train,
               f"must lie in [1, {len(y_tr)}]", "Lower n_train or test_size.")
        x_tr, y_tr = x_tr[:n_train], y_tr[:n_train]
    return Dataset(x_tr, y_tr, x_te, y_te, 10)
