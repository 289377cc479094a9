"""False-positive rates of every test in :mod:`atomcheck.stats` on null data.

Each test draws thousands of null samples (A/A pairs sharing a per-seed effect, one-sample
data centred at the tested median or mean, trend-free levels, equal spreads, a difference
sitting exactly on an equivalence margin) and counts one-sided p-values below alpha, in
both directions. It fails when a one-sided binomial test of that count against alpha gives
p < 0.01 (the rate is clearly above alpha). Rates are printed (``pytest -s``).

scipy's per-call overhead would make thousands of calls slow, so the simulations run the
same vectorised cores the public functions call (``stats._t_core``, ``_skew_t_core``,
``_sign_core``, ``_spread_core``), checked equal to the public functions first. The
rank tests are exact functions of their statistic (W+ for untied Wilcoxon, L for Page), so
each distinct statistic value is sent once through the real public function. Every stream
is seeded: the outcome is deterministic.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np
import pytest
from scipy.stats import binomtest, rankdata

from atomcheck import stats

ALPHA = 0.05
REPS = 4000  # vectorised cores
RANK_REPS = 2000  # rank tests (one real call per distinct statistic value)
TIED_REPS = 600  # tied Wilcoxon: one real call per sample


def seed_of(*parts: object) -> int:
    """A stable seed per test case (``hash`` of a str changes between processes)."""
    return zlib.crc32(repr(parts).encode())


def assert_calibrated(p: np.ndarray, label: str) -> None:
    """Share of p < alpha is not clearly above alpha (one-sided binomial test, 1%)."""
    hits = int(np.count_nonzero(p < ALPHA))
    rate = hits / p.size
    print(f"{label}: false-positive rate {rate:.4f} ({hits}/{p.size})")
    test = binomtest(hits, p.size, ALPHA, alternative="greater")
    assert test.pvalue >= 0.01, f"{label}: false-positive rate {rate:.4f} > alpha={ALPHA}"


def marginal(kind: str, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Noise of a given shape with mean 0 (lognormal: right-skewed, 'mirror': left-skewed)."""
    if kind == "normal":
        return rng.normal(size=shape)
    if kind == "t3":
        return rng.standard_t(3, size=shape)
    sigma = {"lognormal": 1.0, "lognormal0.5": 0.5}[kind.removesuffix("-mirror")]
    x = rng.lognormal(0.0, sigma, size=shape) - np.exp(sigma**2 / 2)
    return -x if kind.endswith("-mirror") else x


def median_of(kind: str) -> float:
    """Median of ``marginal(kind)`` (0 for the symmetric ones)."""
    if kind in ("normal", "t3"):
        return 0.0
    sigma = {"lognormal": 1.0, "lognormal0.5": 0.5}[kind.removesuffix("-mirror")]
    m = 1.0 - np.exp(sigma**2 / 2)
    return -m if kind.endswith("-mirror") else m


def aa_pairs(kind: str, n: int, reps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A/A pairs: a shared per-seed effect plus independent noise from the same marginal."""
    rng = np.random.default_rng(seed)
    block = rng.normal(0.0, 2.0, size=(reps, n, 1))
    noise = marginal(kind, rng, (reps, n, 2))
    pairs = block + noise
    return pairs[..., 0], pairs[..., 1]


def by_statistic(statistic: np.ndarray, rows: np.ndarray,
                 call: Callable[[np.ndarray], stats.TestResult]) -> tuple[np.ndarray, np.ndarray]:
    """(pvalue, pvalue_opposite) per row, calling ``call`` once per distinct statistic."""
    values, first, inverse = np.unique(statistic, return_index=True, return_inverse=True)
    results = [call(rows[i]) for i in first]
    up = np.array([r.pvalue for r in results])
    down = np.array([r.pvalue_opposite for r in results])
    return up[inverse], down[inverse]


def wilcoxon_plus(d: np.ndarray) -> np.ndarray:
    """W+ per row (untied, no zeros)."""
    ranks = rankdata(np.abs(d), axis=-1)
    return np.where(d > 0, ranks, 0.0).sum(axis=-1)


def page_l(values: np.ndarray) -> np.ndarray:
    """Page's L per replication, values shaped (reps, seeds, levels)."""
    ranks = rankdata(values, axis=-1)
    return ranks.sum(axis=1) @ np.arange(1, values.shape[-1] + 1)


# --------------------------------------------------------------------------------------
# the vectorised cores are the public functions
# --------------------------------------------------------------------------------------


def test_cores_equal_the_public_functions() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(3, 25))
        a, b = rng.lognormal(size=n), rng.normal(size=n)
        d = a - b
        _, up, down = stats._t_core(d[None, :])
        r = stats.paired_test(a, b, test="t", ci=False)
        assert (r.pvalue, r.pvalue_opposite) == (up[0], down[0])
        value = float(rng.normal())
        _, up, down = stats._skew_t_core(a[None, :], value)
        r = stats.one_sample_test(a, value, ci=False)
        assert (r.pvalue, r.pvalue_opposite) == (up[0], down[0])
        _, up, down = stats._sign_core(a[None, :] - value)
        r = stats.one_sample_test(a, value, test="sign", ci=False)
        assert (r.pvalue, r.pvalue_opposite) == (up[0], down[0])
        small, large = stats._spread_core(a[None, :], b[None, :])
        r = stats.paired_spread_test(a, b, ci=False)
        assert (r.pvalue, r.pvalue_opposite) == (small[0], large[0])


def test_rank_statistics_decide_the_rank_pvalues() -> None:
    # Untied Wilcoxon and Page's L depend on the data only through W+ and L.
    rng = np.random.default_rng(1)
    d = rng.normal(size=(40, 10))
    w = wilcoxon_plus(d)
    for i in range(40):
        assert stats.paired_test(d[i], np.zeros(10), ci=False).statistic == w[i]
    v = rng.normal(size=(40, 10, 4))
    L = page_l(v)
    for i in range(40):
        assert stats.trend_test(v[i], increasing=True, ci=False).statistic == L[i]
    same_l = [i for i in range(40) if L[i] == L[0]]
    pvalues = {stats.trend_test(v[i], increasing=True, ci=False).pvalue for i in same_l}
    assert len(pvalues) == 1


# --------------------------------------------------------------------------------------
# paired tests on A/A pairs
# --------------------------------------------------------------------------------------

KINDS = ["normal", "lognormal", "t3"]


@pytest.mark.parametrize("n", [10, 20])
@pytest.mark.parametrize("kind", KINDS)
def test_paired_t_null(kind: str, n: int) -> None:
    a, b = aa_pairs(kind, n, REPS, seed=seed_of(kind, n))
    _, up, down = stats._t_core(a - b)
    assert_calibrated(up, f"paired t, A > B, {kind}, n={n}")
    assert_calibrated(down, f"paired t, A < B, {kind}, n={n}")


@pytest.mark.parametrize("n", [10, 20])
@pytest.mark.parametrize("kind", KINDS)
def test_paired_wilcoxon_null(kind: str, n: int) -> None:
    a, b = aa_pairs(kind, n, RANK_REPS, seed=seed_of('wilcoxon', kind, n))
    d = a - b
    up, down = by_statistic(wilcoxon_plus(d), d,
                            lambda row: stats.paired_test(row, np.zeros(n), ci=False))
    assert_calibrated(up, f"paired Wilcoxon, A > B, {kind}, n={n}")
    assert_calibrated(down, f"paired Wilcoxon, A < B, {kind}, n={n}")


def accuracy_pairs(n: int, reps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy-like A/A pairs: k/100 on 100 test items, a per-seed difficulty shared by both."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.8, 0.95, size=(reps, n, 1))
    k = rng.binomial(100, np.broadcast_to(p, (reps, n, 2)))
    return k[..., 0] / 100, k[..., 1] / 100


@pytest.mark.parametrize("n", [10, 20])
def test_paired_tests_null_on_tied_accuracies(n: int) -> None:
    a, b = accuracy_pairs(n, REPS, seed=n)
    assert np.mean([np.unique(np.abs(row)).size < n for row in a - b]) > 0.9  # ties abound
    _, up, down = stats._t_core(a - b)
    assert_calibrated(up, f"paired t, tied accuracies, A > B, n={n}")
    assert_calibrated(down, f"paired t, tied accuracies, A < B, n={n}")
    results = [stats.paired_test(x, y, ci=False) for x, y in zip(a[:TIED_REPS], b[:TIED_REPS])]
    assert_calibrated(np.array([r.pvalue for r in results]),
                      f"paired Wilcoxon, tied accuracies, A > B, n={n}")
    assert_calibrated(np.array([r.pvalue_opposite for r in results]),
                      f"paired Wilcoxon, tied accuracies, A < B, n={n}")


# --------------------------------------------------------------------------------------
# one-sample tests: the median (sign test) and the mean (skewness-aware t)
# --------------------------------------------------------------------------------------

ONE_SAMPLE_KINDS = ["normal", "lognormal0.5", "lognormal0.5-mirror", "lognormal",
                    "lognormal-mirror", "t3"]


@pytest.mark.parametrize("n", [10, 20])
@pytest.mark.parametrize("kind", ONE_SAMPLE_KINDS)
def test_sign_test_null_at_the_median(kind: str, n: int) -> None:
    rng = np.random.default_rng(seed_of("sign", kind, n))
    x = marginal(kind, rng, (REPS, n))
    _, up, down = stats._sign_core(x - median_of(kind))
    assert_calibrated(up, f"sign test, median above, {kind}, n={n}")
    assert_calibrated(down, f"sign test, median below, {kind}, n={n}")


@pytest.mark.parametrize("n", [10, 20])
@pytest.mark.parametrize("kind", ONE_SAMPLE_KINDS)
def test_mean_test_null_at_the_mean(kind: str, n: int) -> None:
    rng = np.random.default_rng(seed_of("mean", kind, n))
    x = marginal(kind, rng, (REPS, n))  # mean 0
    _, up, down = stats._skew_t_core(x, 0.0)
    assert_calibrated(up, f"mean test, mean above, {kind}, n={n}")
    assert_calibrated(down, f"mean test, mean below, {kind}, n={n}")


def test_plain_t_fails_where_the_mean_test_holds() -> None:
    # The reason for the skewness-aware test: on lognormal data a plain t-test is ~4x over.
    rng = np.random.default_rng(3)
    x = marginal("lognormal", rng, (REPS, 10))
    _, _, down = stats._t_core(x, 0.0)
    assert np.mean(down < ALPHA) > 3 * ALPHA
    _, _, down = stats._skew_t_core(x, 0.0)
    assert np.mean(down < ALPHA) <= ALPHA


# --------------------------------------------------------------------------------------
# Page's L on trend-free levels
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [3, 4, 5])
@pytest.mark.parametrize("kind", ["normal", "lognormal", "t3", "tied"])
def test_page_null(kind: str, levels: int) -> None:
    n = 10
    rng = np.random.default_rng(seed_of("page", kind, levels))
    block = rng.normal(0, 2, size=(RANK_REPS, n, 1))
    if kind == "tied":  # accuracy-like: few distinct values per seed
        values = rng.binomial(20, 0.8, size=(RANK_REPS, n, levels)) / 20.0
    else:
        values = block + marginal(kind, rng, (RANK_REPS, n, levels))
    up, down = by_statistic(page_l(values), values,
                            lambda v: stats.trend_test(v, increasing=True, ci=False))
    assert_calibrated(up, f"Page's L, increasing, {kind}, {levels} levels")
    assert_calibrated(down, f"Page's L, decreasing, {kind}, {levels} levels")


# --------------------------------------------------------------------------------------
# the paired spread test on equal spreads (more in test_spread_calibration.py)
# --------------------------------------------------------------------------------------

SPREAD_REPS = 2000  # 10,000 arm swaps a sample beyond 14 seeds


@pytest.mark.parametrize("n", [10, 20])
@pytest.mark.parametrize("rho", [0.0, 0.7])
def test_paired_spread_null_on_normal_pairs(n: int, rho: float) -> None:
    rng = np.random.default_rng(int(100 * rho) + n)
    z = rng.normal(size=(SPREAD_REPS, n, 2))
    a, b = z[..., 0], rho * z[..., 0] + np.sqrt(1 - rho**2) * z[..., 1]
    small, large = stats._spread_core(a, b)
    assert_calibrated(small, f"paired spread, A smaller, rho={rho}, n={n}")
    assert_calibrated(large, f"paired spread, A larger, rho={rho}, n={n}")


def test_paired_spread_null_on_lognormal_pairs() -> None:
    # Pitman–Morgan, which this test replaced, rejected ~25% of these at alpha = 0.05.
    rng = np.random.default_rng(7)
    a, b = rng.lognormal(size=(SPREAD_REPS, 10)), rng.lognormal(size=(SPREAD_REPS, 10))
    small, large = stats._spread_core(a, b)
    assert_calibrated(small, "paired spread, A smaller, lognormal, n=10")
    assert_calibrated(large, "paired spread, A larger, lognormal, n=10")


# --------------------------------------------------------------------------------------
# TOST with the true difference on the margin
# --------------------------------------------------------------------------------------


def tost_pvalues(x: np.ndarray, low: float, high: float, core=stats._t_core) -> np.ndarray:
    _, above_low, _ = core(x, low)
    _, _, below_high = core(x, high)
    return np.maximum(above_low, below_high)


# Margins of 1.5 sd put the far bound 3 sd away, so that the far one-sided test nearly
# always passes and the TOST rate is the near test's rate at its boundary.


@pytest.mark.parametrize("n", [10, 20])
@pytest.mark.parametrize("side", [-1.0, 1.0])
def test_tost_paired_null_on_the_margin(n: int, side: float) -> None:
    margin = 1.5 * np.sqrt(2.0)  # the sd of a difference of two unit-variance noises
    a, b = aa_pairs("normal", n, REPS, seed=n + int(side > 0))
    d = a - b + side * margin  # true mean difference = +-margin
    p = tost_pvalues(d, -margin, margin)
    r = stats.tost_paired(a[0] + side * margin, b[0], margin=margin, ci=False)
    assert r.pvalue == pytest.approx(p[0], rel=1e-12)
    assert_calibrated(p, f"paired TOST, difference at {side * margin:+.2f}, n={n}")


@pytest.mark.parametrize("n", [10, 20])
@pytest.mark.parametrize("kind", ["normal", "lognormal", "lognormal-mirror", "t3"])
@pytest.mark.parametrize("side", [-1.0, 1.0])
def test_tost_one_sample_null_on_the_margin(n: int, kind: str, side: float) -> None:
    sd = {"normal": 1.0, "t3": np.sqrt(3.0)}.get(kind, np.sqrt((np.e - 1) * np.e))
    margin = 1.5 * sd
    rng = np.random.default_rng(seed_of(kind, n, side))
    x = marginal(kind, rng, (REPS, n))  # mean 0: the tested value sits on one bound
    value = -side * margin
    p = tost_pvalues(x, value - margin, value + margin, stats._skew_t_core)
    r = stats.tost_one_sample(x[0], value, margin=margin, ci=False)
    assert r.pvalue == pytest.approx(p[0], rel=1e-12)
    bound = "upper" if side > 0 else "lower"
    assert_calibrated(p, f"one-sample TOST, {kind}, mean on the {bound} bound, n={n}")
