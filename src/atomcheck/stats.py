"""The statistics behind every verdict: pure numpy and scipy, nothing else.

Each test takes per-seed samples (one row per seed, paired across levels) and returns a
:class:`TestResult` carrying the one-sided p-value in the claimed direction, the one-sided
p-value in the opposite direction, and an effect size with a bootstrap confidence
interval. Turning p-values into a verdict is :mod:`atomcheck.verdict`'s job.

Conventions: ``values`` arrays are ``(n_seeds, n_levels)``; seeds are blocks; bootstrap
resampling draws whole seeds with a fixed generator, so equal inputs give equal CIs.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import numpy as np
from scipy import stats as _st

__all__ = [
    "ConfidenceInterval",
    "TestResult",
    "trend_test",
    "paired_test",
    "tost_paired",
    "one_sample_test",
    "tost_one_sample",
    "spread_test",
    "exact_test",
    "holm",
    "bootstrap_ci",
    "kendall_tau_rows",
    "seeds_needed",
    "detectable_effect",
]

_BOOTSTRAP_RESAMPLES = 2000
_BOOTSTRAP_SEED = 20261123


class ConfidenceInterval(NamedTuple):
    """A confidence interval, as in ``scipy.stats``."""

    low: float
    high: float


@dataclass(frozen=True)
class TestResult:
    """The outcome of one statistical test on per-seed samples.

    Attributes
    ----------
    test : str
        Name of the test (``"page_trend_test"``, ``"ttest_rel"``, ``"wilcoxon"``, ...).
    statistic : float
        The test statistic.
    pvalue : float
        One-sided p-value in the claimed direction (equivalence: the TOST p-value).
    pvalue_opposite : float
        One-sided p-value in the opposite direction (equivalence: the p-value that the
        difference lies beyond the margin).
    effect_name : str
        What ``effect`` measures.
    effect : float
        The effect estimate.
    ci : ConfidenceInterval
        Confidence interval of the effect (``ci_level``, bootstrap over seeds).
    n : int
        Number of seeds (blocks) used.
    sd : float
        Standard deviation of the per-seed effect, for power calculations.
    extra : dict
        Test-specific extras (standardised size, probability of improvement, margin...).
    """

    __test__ = False  # not a pytest test class

    test: str
    statistic: float
    pvalue: float
    pvalue_opposite: float
    effect_name: str
    effect: float
    ci: ConfidenceInterval
    n: int
    sd: float = math.nan
    ci_level: float = 0.95
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        out = asdict(self)
        out["ci"] = [self.ci.low, self.ci.high]
        return out

    def __repr__(self) -> str:
        return (
            f"TestResult(test={self.test!r}, statistic={self.statistic:.4g}, "
            f"pvalue={self.pvalue:.4g}, pvalue_opposite={self.pvalue_opposite:.4g}, "
            f"{self.effect_name}={self.effect:+.4g} "
            f"[{self.ci.low:+.4g}, {self.ci.high:+.4g}], n={self.n})"
        )


def _as_2d(values: Any, name: str = "values") -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"`{name}` must be 2-D (seeds x levels); got shape {arr.shape}.")
    return arr


def _as_1d(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size < 2:
        raise ValueError(f"`{name}` needs at least 2 values; got {arr.size}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` contains NaN or inf; drop or replace diverged runs first.")
    return arr


def _constant(d: np.ndarray) -> bool:
    """No spread beyond float round-off (0.90 - 0.80 vs 0.92 - 0.82): treat as zero variance.

    scipy's t-tests warn ("catastrophic cancellation") on such data, an error under
    ``filterwarnings = error``; the limit they approach is the zero-variance answer.
    """
    return bool(np.ptp(d) <= 1e-12 * np.max(np.abs(d)))


def bootstrap_ci(
    samples: np.ndarray,
    statistic: Callable[[np.ndarray], Any] = np.mean,
    *,
    confidence_level: float = 0.95,
    n_resamples: int = _BOOTSTRAP_RESAMPLES,
) -> ConfidenceInterval:
    """Percentile bootstrap CI of ``statistic`` over the first axis (seeds).

    Uses a fixed generator so the same samples always give the same interval.

    Examples
    --------
    >>> ci = bootstrap_ci(np.array([1.0, 2.0, 3.0, 4.0]))
    >>> ci.low <= 2.5 <= ci.high
    True
    """
    samples = np.asarray(samples, dtype=np.float64)
    if samples.shape[0] < 2 or np.all(samples == samples[0]):
        value = float(statistic(samples))
        return ConfidenceInterval(value, value)
    gen = np.random.default_rng(_BOOTSTRAP_SEED)
    idx = gen.integers(0, samples.shape[0], size=(n_resamples, samples.shape[0]))
    dist = np.array([statistic(samples[i]) for i in idx], dtype=np.float64)
    tail = (1.0 - confidence_level) / 2.0
    low, high = np.quantile(dist, [tail, 1.0 - tail])
    return ConfidenceInterval(float(low), float(high))


def kendall_tau_rows(values: np.ndarray) -> np.ndarray:
    """Kendall's tau-b between level index and value, one per row (seed).

    A constant row has no trend and gets tau 0.

    Examples
    --------
    >>> kendall_tau_rows(np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])).tolist()
    [1.0, -1.0]
    """
    values = _as_2d(values)
    i, j = np.triu_indices(values.shape[1], k=1)
    signs = np.sign(values[:, j] - values[:, i])  # the index never ties: x_j > x_i
    pairs = i.size
    untied = np.count_nonzero(signs, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        taus = signs.sum(axis=1) / np.sqrt(pairs * untied)
    return np.where(untied > 0, taus, 0.0)


def trend_test(values: Any, *, increasing: bool, ci: bool = True) -> TestResult:
    """Page's L test for a monotone trend across ordered levels, seeds as blocks.

    Parameters
    ----------
    values : array_like, shape (n_seeds, n_levels)
        Levels in their claimed order; at least 3 levels and 2 seeds.
    increasing : bool
        The claimed direction.
    ci : bool
        Whether to bootstrap the effect's CI (skip for fast simulations).

    Returns
    -------
    TestResult
        Effect: mean per-seed Kendall tau between level and value.

    Examples
    --------
    >>> v = np.array([[1, 2, 3], [1, 3, 4], [0, 2, 5], [1, 2, 2.5]], dtype=float)
    >>> r = trend_test(v, increasing=True)
    >>> r.pvalue < 0.05 < r.pvalue_opposite
    True
    """
    values = _as_2d(values)
    n, k = values.shape
    if k < 3:
        raise ValueError(f"Page's trend test needs >= 3 levels; got {k}. Use a paired test.")
    if n < 2:
        raise ValueError(f"Page's trend test needs >= 2 seeds; got {n}.")
    up = _st.page_trend_test(values)
    down = _st.page_trend_test(values[:, ::-1])
    claimed, opposite = (up, down) if increasing else (down, up)
    taus = kendall_tau_rows(values)
    interval = bootstrap_ci(taus) if ci else ConfidenceInterval(math.nan, math.nan)
    return TestResult(
        test="page_trend_test",
        statistic=float(up.statistic),
        pvalue=float(claimed.pvalue),
        pvalue_opposite=float(opposite.pvalue),
        effect_name="mean Kendall tau",
        effect=float(taus.mean()),
        ci=interval,
        n=n,
        sd=float(taus.std(ddof=1)),
        extra={"method": up.method},
    )


_SIGN_FLIP_MAX_N = 13  # scipy enumerates all 2**n sign flips up to here, too


def _sign_flip_pvalues(d: np.ndarray) -> tuple[float, float, float]:
    """Exact sign-flip distribution of W+ (zeros dropped from the ranks, as 'wilcox').

    scipy's ``wilcoxon`` runs the same exact permutation test when ties or zeros exist
    and n <= 13, but through ``permutation_test`` at ~0.2 s a call; enumerating the
    2**n flips with one matrix product gives identical p-values in microseconds.
    """
    nonzero = d != 0
    ranks = np.zeros(d.size)
    ranks[nonzero] = _st.rankdata(np.abs(d[nonzero]))
    observed = float(ranks[d > 0].sum())
    bits = (np.arange(2 ** d.size)[:, None] >> np.arange(d.size)) & 1
    positive = np.where(bits == 1, d > 0, d < 0)  # flipping a sign swaps its side
    null = positive @ ranks
    tol = abs(observed) * 1e-14 + 1e-12
    return observed, float(np.mean(null >= observed - tol)), float(np.mean(null <= observed + tol))


def _wilcoxon_pair(d: np.ndarray) -> tuple[float, float, float]:
    if np.all(d == 0):
        return 0.0, 1.0, 1.0
    absd = np.abs(d[d != 0])
    tied_or_zero = absd.size < d.size or np.unique(absd).size < absd.size
    if tied_or_zero and d.size <= _SIGN_FLIP_MAX_N:
        return _sign_flip_pvalues(d)
    greater = _st.wilcoxon(d, alternative="greater")
    less = _st.wilcoxon(d, alternative="less")
    return float(greater.statistic), float(greater.pvalue), float(less.pvalue)


def _t_both(d: np.ndarray, ttest: Callable[[str], Any]) -> tuple[float, float, float]:
    """Statistic and both one-sided p-values of a t-test on differences ``d``."""
    if _constant(d):  # zero variance: the sign is certain only if d != 0
        statistic = math.copysign(math.inf, d[0]) if d[0] else 0.0
        return statistic, float(d[0] <= 0), float(d[0] >= 0)
    up = ttest("greater")
    return float(up.statistic), float(up.pvalue), float(ttest("less").pvalue)


def paired_test(
    a: Any, b: Any, *, greater: bool = True, test: str = "wilcoxon", ci: bool = True
) -> TestResult:
    """One-sided paired comparison of A against B (same seeds in the same order).

    Parameters
    ----------
    a, b : array_like, shape (n_seeds,)
        Paired samples.
    greater : bool
        Claimed direction: ``A > B`` when True, ``A < B`` when False.
    test : {"wilcoxon", "t"}
        Wilcoxon signed-rank (default: no normality assumption, robust to the bounded,
        tied values accuracies take) or the paired t-test.

    Returns
    -------
    TestResult
        Effect: mean paired difference A − B, with its standardised size (``extra["dz"]``,
        mean/sd of the differences) and the probability of improvement
        (``extra["prob_improvement"]``, P(A > B) across seeds, ties counted half).

    Examples
    --------
    >>> r = paired_test([3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 5], test="t")
    >>> round(r.effect, 3), r.pvalue < 0.001
    (2.167, True)
    """
    a, b = _as_1d(a, "a"), _as_1d(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"`a` and `b` must pair up; got {a.size} and {b.size} seeds.")
    d = a - b
    if test == "t":
        statistic, p_up, p_down = _t_both(d, lambda alt: _st.ttest_rel(a, b, alternative=alt))
        name = "ttest_rel"
    elif test == "wilcoxon":
        statistic, p_up, p_down = _wilcoxon_pair(d)
        name = "wilcoxon"
    else:
        raise ValueError(f"`test` must be 'wilcoxon' or 't'; got {test!r}.")
    sd = float(d.std(ddof=1))
    dz = float(d.mean() / sd) if sd > 0 else math.copysign(math.inf, d.mean()) if d.mean() else 0.0
    prob = float(np.mean(d > 0) + 0.5 * np.mean(d == 0))
    return TestResult(
        test=name,
        statistic=statistic,
        pvalue=p_up if greater else p_down,
        pvalue_opposite=p_down if greater else p_up,
        effect_name="mean difference",
        effect=float(d.mean()),
        ci=bootstrap_ci(d) if ci else ConfidenceInterval(math.nan, math.nan),
        n=int(d.size),
        sd=sd,
        extra={"dz": dz, "prob_improvement": prob},
    )


def _tost_core(d: np.ndarray, low: float, high: float) -> tuple[float, float, float, float]:
    """p of ``mean > low``, p of ``mean < high``, p of ``mean < low``, p of ``mean > high``."""
    if _constant(d):
        v = d[0]
        return (float(v <= low), float(v >= high), float(v >= low), float(v <= high))
    p_above_low = _st.ttest_1samp(d, low, alternative="greater").pvalue
    p_below_high = _st.ttest_1samp(d, high, alternative="less").pvalue
    p_below_low = _st.ttest_1samp(d, low, alternative="less").pvalue
    p_above_high = _st.ttest_1samp(d, high, alternative="greater").pvalue
    return float(p_above_low), float(p_below_high), float(p_below_low), float(p_above_high)


def _equivalence(d: np.ndarray, center: float, margin: float, name: str, ci: bool,
                 effect_name: str) -> TestResult:
    if not margin > 0:
        raise ValueError(f"`margin` must be > 0; got {margin!r}.")
    p_lo, p_hi, p_below, p_above = _tost_core(d, center - margin, center + margin)
    return TestResult(
        test=name,
        statistic=float(d.mean() - center),
        pvalue=max(p_lo, p_hi),
        # Bonferroni over the two sides: either side beyond the margin refutes.
        pvalue_opposite=min(1.0, 2 * min(p_below, p_above)),
        effect_name=effect_name,
        effect=float(d.mean()),
        ci=bootstrap_ci(d) if ci else ConfidenceInterval(math.nan, math.nan),
        n=int(d.size),
        sd=float(d.std(ddof=1)),
        extra={"margin": margin, "center": center, "p_lower": p_lo, "p_upper": p_hi},
    )


def tost_paired(a: Any, b: Any, *, margin: float, ci: bool = True) -> TestResult:
    """Paired TOST: is the mean of A − B inside ``(-margin, margin)``?

    ``pvalue`` is the TOST p-value (max of the two one-sided t-tests);
    ``pvalue_opposite`` is the smaller one-sided p-value that the mean difference lies
    beyond the margin on either side.

    Examples
    --------
    >>> r = tost_paired([0.90, 0.91, 0.92, 0.90, 0.91], [0.91, 0.90, 0.91, 0.90, 0.92], margin=0.05)
    >>> r.pvalue < 0.05
    True
    """
    a, b = _as_1d(a, "a"), _as_1d(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"`a` and `b` must pair up; got {a.size} and {b.size} seeds.")
    return _equivalence(a - b, 0.0, margin, "tost_paired", ci, "mean difference")


def one_sample_test(
    x: Any, value: float, *, greater: bool = True, test: str = "t", ci: bool = True
) -> TestResult:
    """One-sided one-sample test of the mean (t) or median (Wilcoxon) against ``value``.

    Examples
    --------
    >>> one_sample_test([0.9, 0.92, 0.95, 0.91], 0.5).pvalue < 0.001
    True
    """
    x = _as_1d(x, "x")
    d = x - value
    if test == "t":
        statistic, p_up, p_down = _t_both(d, lambda alt: _st.ttest_1samp(x, value,
                                                                          alternative=alt))
        name = "ttest_1samp"
    elif test == "wilcoxon":
        statistic, p_up, p_down = _wilcoxon_pair(d)
        name = "wilcoxon"
    else:
        raise ValueError(f"`test` must be 't' or 'wilcoxon'; got {test!r}.")
    return TestResult(
        test=name,
        statistic=statistic,
        pvalue=p_up if greater else p_down,
        pvalue_opposite=p_down if greater else p_up,
        effect_name="mean",
        effect=float(x.mean()),
        ci=bootstrap_ci(x) if ci else ConfidenceInterval(math.nan, math.nan),
        n=int(x.size),
        sd=float(x.std(ddof=1)),
        extra={"value": value},
    )


def tost_one_sample(x: Any, value: float, *, margin: float, ci: bool = True) -> TestResult:
    """TOST: is the mean of ``x`` within ``value ± margin``?

    Examples
    --------
    >>> tost_one_sample([0.88, 0.87, 0.89, 0.88, 0.885], 0.88, margin=0.03).pvalue < 0.05
    True
    """
    x = _as_1d(x, "x")
    return _equivalence(x, value, margin, "tost_1samp", ci, "mean")


def spread_test(a: Any, b: Any, *, a_smaller: bool = True, ci: bool = True) -> TestResult:
    """Brown–Forsythe (median-centred Levene) test that A's spread differs from B's.

    Levene's test is two-sided; the one-sided p-value halves it when the observed
    ordering matches the claim and is ``1 - p/2`` otherwise. Effect: ratio of standard
    deviations sd(A)/sd(B), with a bootstrap CI over seeds.

    Examples
    --------
    >>> r = spread_test([1.0, 1.1, 0.9, 1.0, 1.05, 0.95], [0, 2, -1, 3, 1, 2.5])
    >>> r.pvalue < 0.05
    True
    """
    a, b = _as_1d(a, "a"), _as_1d(b, "b")
    sd_a, sd_b = float(a.std(ddof=1)), float(b.std(ddof=1))
    if sd_a == 0 and sd_b == 0:
        statistic, p_two = 0.0, 1.0
    else:
        res = _st.levene(a, b, center="median")
        statistic, p_two = float(res.statistic), float(res.pvalue)
    observed_smaller = sd_a < sd_b
    p_small = p_two / 2 if observed_smaller else 1 - p_two / 2
    p_large = p_two / 2 if sd_a > sd_b else 1 - p_two / 2
    ratio = sd_a / sd_b if sd_b > 0 else math.inf
    interval = ConfidenceInterval(math.nan, math.nan)
    if ci and a.size == b.size and sd_b > 0:
        pairs = np.column_stack([a, b])
        interval = bootstrap_ci(
            pairs, lambda p: p[:, 0].std(ddof=1) / max(p[:, 1].std(ddof=1), 1e-300)
        )
    return TestResult(
        test="levene",
        statistic=statistic,
        pvalue=p_small if a_smaller else p_large,
        pvalue_opposite=p_large if a_smaller else p_small,
        effect_name="sd ratio",
        effect=ratio,
        ci=interval,
        n=int(min(a.size, b.size)),
        extra={"sd_a": sd_a, "sd_b": sd_b, "center": "median"},
    )


def exact_test(holds: Sequence[bool], seeds: Sequence[int]) -> TestResult:
    """A property that must hold for every seed; the first failing seed is the counterexample.

    Examples
    --------
    >>> exact_test([True, False, True], [0, 1, 2]).extra["counterexample"]
    1
    """
    flags = np.asarray(holds, dtype=bool)
    failing = [int(s) for s, ok in zip(seeds, flags) if not ok]
    return TestResult(
        test="exact",
        statistic=float(flags.sum()),
        pvalue=math.nan,
        pvalue_opposite=math.nan,
        effect_name="share holding",
        effect=float(flags.mean()) if flags.size else math.nan,
        ci=ConfidenceInterval(math.nan, math.nan),
        n=int(flags.size),
        extra={"counterexample": failing[0] if failing else None, "failing_seeds": failing},
    )


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control).

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(2).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def _power_quantiles(alpha: float, power: float) -> float:
    return float(_st.norm.ppf(1 - alpha) + _st.norm.ppf(power))


def seeds_needed(effect: float, sd: float, *, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Roughly how many paired seeds a one-sided test needs to detect ``effect``.

    Normal approximation with a small-sample t correction; None when the effect is 0
    or the spread unknown.

    Examples
    --------
    >>> seeds_needed(0.5, 1.0)
    27
    """
    if not (math.isfinite(effect) and math.isfinite(sd)) or effect == 0 or sd <= 0:
        return None
    z = _power_quantiles(alpha, power)
    n = max(2, math.ceil((z * sd / abs(effect)) ** 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while n < 100_000:
            t = _st.t.ppf(1 - alpha, n - 1) + _st.t.ppf(power, n - 1)
            if t * sd / math.sqrt(n) <= abs(effect):
                return n
            n += 1
    return n


def detectable_effect(sd: float, n: int, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest mean effect a one-sided paired test detects with ``power`` at ``n`` seeds.

    Examples
    --------
    >>> round(detectable_effect(1.0, 10), 2)
    0.86
    """
    if n < 2 or not math.isfinite(sd):
        return math.nan
    t = _st.t.ppf(1 - alpha, n - 1) + _st.t.ppf(power, n - 1)
    return float(t * sd / math.sqrt(n))
