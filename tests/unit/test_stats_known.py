"""Known answers for every function in :mod:`atomcheck.stats`.

Each expected value below is computed by hand (closed forms of small t distributions,
enumeration of rank permutations, textbook formulas), not by calling the code under test.
Useful closed forms:

- Student t with 2 degrees of freedom: ``P(T > t) = 1/2 - t / (2 sqrt(2 + t^2))``.
- Student t with 4 degrees of freedom: ``P(|T| > t) = 1 - x (3 - x^2) / 2`` with
  ``x = t / sqrt(4 + t^2)``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.stats import beta, binom, nct, norm
from scipy.stats import t as student

from atomcheck import stats


def t2_sf(t: float) -> float:
    """Upper tail of Student's t with 2 degrees of freedom (closed form)."""
    return 0.5 - t / (2.0 * math.sqrt(2.0 + t * t))


def t4_two_sided(t: float) -> float:
    """Two-sided p of Student's t with 4 degrees of freedom (closed form)."""
    x = abs(t) / math.sqrt(4.0 + t * t)
    return 1.0 - x * (3.0 - x * x) / 2.0


def page_exact_sf(values: np.ndarray, observed: float) -> float:
    """P(L >= observed) by enumerating every within-row permutation of ranks (no ties)."""
    n, k = values.shape
    weights = np.arange(1, k + 1)
    per_block = [int(np.dot(weights, perm)) for perm in itertools.permutations(range(1, k + 1))]
    hits = sum(1 for combo in itertools.product(per_block, repeat=n) if sum(combo) >= observed)
    return hits / len(per_block) ** n


# --------------------------------------------------------------------------------------
# trend_test and kendall_tau_rows
# --------------------------------------------------------------------------------------

PAGE_VALUES = np.array([[1.0, 2.0, 3.0], [1.0, 3.0, 2.0], [2.0, 1.0, 3.0]])


def test_page_L_statistic_by_hand() -> None:
    # Rank sums per column: 1+1+2 = 4, 2+3+1 = 6, 3+2+3 = 8; L = 1*4 + 2*6 + 3*8 = 40.
    r = stats.trend_test(PAGE_VALUES, increasing=True, ci=False)
    assert r.test == "page_trend_test"
    assert r.statistic == 40.0
    assert r.n == 3
    assert r.extra["method"] == "exact"


def test_page_exact_pvalues_by_enumeration() -> None:
    # Each block contributes sum(j * r_j) in {14: 1, 13: 2, 11: 2, 10: 1} of 6 permutations.
    # P(L >= 40): total deficit from 42 at most 2 -> 1 + 3*2 + 3*2*2 = 19 of 216.
    up = stats.trend_test(PAGE_VALUES, increasing=True, ci=False)
    assert up.pvalue == pytest.approx(19 / 216, abs=1e-12)
    assert page_exact_sf(PAGE_VALUES, 40) == pytest.approx(19 / 216)
    # Reversed columns: L' = 4 * 18 - 40 = 32; P(L >= 32) = 1 - P(L <= 31) = 1 - 7/216.
    assert up.pvalue_opposite == pytest.approx(209 / 216, abs=1e-12)


def test_trend_direction_swaps_the_two_pvalues() -> None:
    up = stats.trend_test(PAGE_VALUES, increasing=True, ci=False)
    down = stats.trend_test(PAGE_VALUES, increasing=False, ci=False)
    assert down.pvalue == pytest.approx(up.pvalue_opposite)
    assert down.pvalue_opposite == pytest.approx(up.pvalue)
    # The statistic stays Page's L for the increasing order; the effect keeps its sign.
    assert down.statistic == up.statistic == 40.0
    assert down.effect == up.effect == pytest.approx(5 / 9)


def test_trend_perfectly_decreasing_rows() -> None:
    v = np.array([[3.0, 2.0, 1.0]] * 4)
    r = stats.trend_test(v, increasing=False, ci=False)
    # All 4 blocks at their maximum for the reversed order: (1/6)^4.
    assert r.pvalue == pytest.approx(1 / 6**4)
    assert r.pvalue_opposite == pytest.approx(1.0)
    assert r.effect == -1.0
    assert r.sd == 0.0


def test_trend_effect_is_mean_tau_with_sd() -> None:
    # Row taus: 1, 1/3, 1/3 -> mean 5/9, sd (ddof=1) of [1, 1/3, 1/3] = sqrt(4/27).
    r = stats.trend_test(PAGE_VALUES, increasing=True, ci=False)
    assert r.effect_name == "mean Kendall tau"
    assert r.effect == pytest.approx(5 / 9)
    assert r.sd == pytest.approx(math.sqrt(4 / 27))
    assert math.isnan(r.ci.low) and math.isnan(r.ci.high)


def test_trend_ci_brackets_the_effect() -> None:
    r = stats.trend_test(PAGE_VALUES, increasing=True)
    assert r.ci.low <= r.effect <= r.ci.high
    assert -1.0 <= r.ci.low <= r.ci.high <= 1.0


def test_kendall_tau_rows_by_hand() -> None:
    v = np.array([
        [1.0, 2.0, 3.0],   # concordant everywhere
        [3.0, 2.0, 1.0],   # discordant everywhere
        [1.0, 3.0, 2.0],   # C=2, D=1 -> 1/3
        [2.0, 2.0, 2.0],   # constant: no trend, tau 0 by convention
        [1.0, 1.0, 2.0],   # tau-b: C=2, D=0, one tie in y -> 2 / sqrt(3 * 2)
    ])
    taus = stats.kendall_tau_rows(v)
    np.testing.assert_allclose(taus, [1.0, -1.0, 1 / 3, 0.0, 2 / math.sqrt(6)], atol=1e-12)


def test_trend_refuses_too_few_levels() -> None:
    with pytest.raises(ValueError, match=r"needs >= 3 levels; got 2\. Use a paired test"):
        stats.trend_test(np.ones((5, 2)), increasing=True)


def test_trend_refuses_too_few_seeds() -> None:
    with pytest.raises(ValueError, match=r"needs >= 2 seeds; got 1"):
        stats.trend_test(np.array([[1.0, 2.0, 3.0]]), increasing=True)


def test_trend_refuses_non_2d() -> None:
    with pytest.raises(ValueError, match=r"must be 2-D \(seeds x levels\); got shape \(3,\)"):
        stats.trend_test([1.0, 2.0, 3.0], increasing=True)
    with pytest.raises(ValueError, match=r"must be 2-D"):
        stats.kendall_tau_rows(np.ones((2, 3, 4)))


# --------------------------------------------------------------------------------------
# paired_test
# --------------------------------------------------------------------------------------

A3 = [2.0, 4.0, 6.0]
B3 = [1.0, 2.0, 3.0]  # differences 1, 2, 3: mean 2, sd 1, t = 2 * sqrt(3) with 2 df


def test_paired_t_by_hand_greater() -> None:
    r = stats.paired_test(A3, B3, test="t", ci=False)
    t = 2 * math.sqrt(3)
    assert r.test == "ttest_rel"
    assert r.statistic == pytest.approx(t)
    assert r.pvalue == pytest.approx(t2_sf(t), rel=1e-10)  # 0.5 - sqrt(3/14) = 0.037089
    assert r.pvalue == pytest.approx(0.5 - math.sqrt(3 / 14), rel=1e-10)
    assert r.pvalue_opposite == pytest.approx(1 - t2_sf(t), rel=1e-10)
    assert r.effect == pytest.approx(2.0)
    assert r.sd == pytest.approx(1.0)
    assert r.n == 3
    assert r.extra["dz"] == pytest.approx(2.0)
    assert r.extra["prob_improvement"] == 1.0


def test_paired_t_by_hand_less() -> None:
    r = stats.paired_test(A3, B3, greater=False, test="t", ci=False)
    assert r.pvalue == pytest.approx(0.5 + math.sqrt(3 / 14), rel=1e-10)
    assert r.pvalue_opposite == pytest.approx(0.5 - math.sqrt(3 / 14), rel=1e-10)
    # Swapping the arms mirrors everything.
    s = stats.paired_test(B3, A3, greater=False, test="t", ci=False)
    assert s.pvalue == pytest.approx(0.5 - math.sqrt(3 / 14), rel=1e-10)
    assert s.effect == pytest.approx(-2.0)
    assert s.extra["dz"] == pytest.approx(-2.0)
    assert s.extra["prob_improvement"] == 0.0


def test_paired_t_zero_variance_positive() -> None:
    # A constant difference over 3 seeds is as strong as 3 agreeing signs: 0.5**3, never 0.
    r = stats.paired_test([2.0, 3.0, 4.0], [1.0, 2.0, 3.0], test="t", ci=False)
    assert r.statistic == math.inf
    assert (r.pvalue, r.pvalue_opposite) == (0.125, 1.0)
    assert r.sd == 0.0
    assert r.extra["dz"] == math.inf


def test_paired_t_zero_variance_negative() -> None:
    r = stats.paired_test([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], test="t", ci=False)
    assert r.statistic == -math.inf
    assert (r.pvalue, r.pvalue_opposite) == (1.0, 0.125)
    assert r.extra["dz"] == -math.inf
    r = stats.paired_test([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], greater=False, test="t", ci=False)
    assert (r.pvalue, r.pvalue_opposite) == (0.125, 1.0)
    # The same bound as the exact Wilcoxon signed-rank test on the same data.
    w = stats.paired_test([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], greater=False, ci=False)
    assert w.pvalue == r.pvalue


ACC_A = [0.90, 0.92, 0.91, 0.93, 0.90]
ACC_B = [0.80, 0.82, 0.81, 0.83, 0.80]  # every seed exactly 10 points better, up to round-off


def test_round_off_constant_differences_are_zero_variance() -> None:
    # 0.90 - 0.80 and 0.92 - 0.82 differ in the last bits; scipy's t-tests warn about
    # catastrophic cancellation on such data (an error under filterwarnings=error).
    d = np.subtract(ACC_A, ACC_B)
    assert len(set(d.tolist())) > 1
    r = stats.paired_test(ACC_A, ACC_B, test="t", ci=False)
    assert (r.statistic, r.pvalue, r.pvalue_opposite) == (math.inf, 1 / 32, 1.0)
    r = stats.paired_test(ACC_B, ACC_A, test="t", ci=False)
    assert (r.statistic, r.pvalue, r.pvalue_opposite) == (-math.inf, 1.0, 1 / 32)
    # Beyond the margin: the upper side is an exact sign test (1/32), doubled (Bonferroni).
    beyond = stats.tost_paired(ACC_A, ACC_B, margin=0.05, ci=False)
    assert (beyond.pvalue, beyond.pvalue_opposite) == (1.0, 1 / 16)
    inside = stats.tost_paired(ACC_A, ACC_B, margin=0.2, ci=False)
    assert (inside.pvalue, inside.pvalue_opposite) == (1 / 32, 1.0)
    for test in ("t", "student"):
        one = stats.one_sample_test(d, 0.05, test=test, ci=False)
        assert (one.pvalue, one.pvalue_opposite) == (1 / 32, 1.0)
    # Zero variance up to round-off: the t interval is the point itself.
    with_ci = stats.paired_test(ACC_A, ACC_B, test="t")
    assert with_ci.ci == (pytest.approx(0.1), pytest.approx(0.1))
    # A small but real spread still goes through the t-test.
    real = stats.paired_test(np.add(ACC_B, [0.1, 0.1001, 0.0999, 0.1, 0.1002]), ACC_B,
                             test="t", ci=False)
    assert math.isfinite(real.statistic) and 0 < real.pvalue < 1e-6


@pytest.mark.parametrize("test", ["t", "wilcoxon"])
def test_paired_all_zero_differences(test: str) -> None:
    r = stats.paired_test([0.5, 0.7, 0.9, 0.6], [0.5, 0.7, 0.9, 0.6], test=test)
    assert r.statistic == 0.0
    assert (r.pvalue, r.pvalue_opposite) == (1.0, 1.0)
    assert r.effect == 0.0
    assert r.extra["dz"] == 0.0
    assert r.extra["prob_improvement"] == 0.5
    assert r.ci == (0.0, 0.0)


def test_paired_wilcoxon_exact_all_positive() -> None:
    # W+ = 15, the maximum of 2^5 equally likely sign patterns.
    r = stats.paired_test([1.0, 2.0, 3.0, 4.0, 5.0], [0.0] * 5, ci=False)
    assert r.test == "wilcoxon"
    assert r.statistic == 15.0
    assert r.pvalue == pytest.approx(1 / 32)
    assert r.pvalue_opposite == pytest.approx(1.0)


def test_paired_wilcoxon_exact_one_negative_both_directions() -> None:
    # d = 1, -2, 3, 4, 5: W+ = 13. Subsets of {1..5} with sum >= 13 are the complements of
    # {}, {1}, {2}: 3 of 32. P(W+ <= 13) = 1 - P(W+ >= 14) = 1 - 2/32.
    a = [1.0, -2.0, 3.0, 4.0, 5.0]
    r = stats.paired_test(a, [0.0] * 5, ci=False)
    assert r.statistic == 13.0
    assert r.pvalue == pytest.approx(3 / 32)
    assert r.pvalue_opposite == pytest.approx(30 / 32)
    s = stats.paired_test(a, [0.0] * 5, greater=False, ci=False)
    assert (s.pvalue, s.pvalue_opposite) == (pytest.approx(30 / 32), pytest.approx(3 / 32))
    assert r.extra["prob_improvement"] == pytest.approx(0.8)


def test_paired_wilcoxon_zeros_and_ties() -> None:
    # Zeros are dropped (Wilcoxon's convention); |d| = 1, 1, 2 rank 1.5, 1.5, 3 and all are
    # positive: the largest W+ of 2^3 sign patterns -> 1/8; the other direction is certain.
    r = stats.paired_test([0.0, 1.0, 1.0, 2.0], [0.0] * 4, ci=False)
    assert r.statistic == 6.0
    assert r.pvalue == pytest.approx(1 / 8)
    assert r.pvalue_opposite == pytest.approx(1.0)
    # One tie counted half: d > 0 for 3 of 4, d == 0 for 1 -> (3 + 0.5) / 4.
    assert r.extra["prob_improvement"] == pytest.approx(0.875)


def test_paired_prob_improvement_and_dz_with_ties() -> None:
    # d = 1, 0, -1, 2: P(d > 0) = 2/4, ties 1/4 counted half -> 0.625.
    # mean 0.5, sd sqrt(5/3) -> dz = 0.5 / sqrt(5/3).
    r = stats.paired_test([1.0, 0.0, -1.0, 2.0], [0.0] * 4, test="t", ci=False)
    assert r.extra["prob_improvement"] == pytest.approx(0.625)
    assert r.extra["dz"] == pytest.approx(0.5 / math.sqrt(5 / 3))
    assert r.effect == pytest.approx(0.5)


def test_paired_ci_contains_mean_difference() -> None:
    r = stats.paired_test([3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 5], test="t")
    assert r.ci.low <= r.effect <= r.ci.high
    assert r.effect == pytest.approx(13 / 6)


def test_paired_errors() -> None:
    with pytest.raises(ValueError, match=r"`a` and `b` must pair up; got 3 and 4 seeds"):
        stats.paired_test([1, 2, 3], [1, 2, 3, 4])
    with pytest.raises(ValueError, match=r"`test` must be 'wilcoxon' or 't'; got 'z'"):
        stats.paired_test([1, 2, 3], [1, 2, 4], test="z")
    with pytest.raises(ValueError, match=r"`a` needs at least 2 values; got 1"):
        stats.paired_test([1.0], [2.0])
    with pytest.raises(ValueError, match=r"`b` contains NaN or inf"):
        stats.paired_test([1.0, 2.0], [2.0, math.nan])
    with pytest.raises(ValueError, match=r"`a` contains NaN or inf; drop or replace"):
        stats.paired_test([1.0, math.inf], [2.0, 3.0])


# --------------------------------------------------------------------------------------
# tost_paired, one_sample_test, tost_one_sample
# --------------------------------------------------------------------------------------


def test_tost_paired_by_hand() -> None:
    # d = 1, 2, 3 (mean 2, se 1/sqrt(3)), margin 3:
    #   lower: t = (2 + 3) sqrt(3) = 5 sqrt(3), p = t2_sf(5 sqrt 3)
    #   upper: t = (2 - 3) sqrt(3) = -sqrt(3), p = P(T < -sqrt 3) = 0.5 - sqrt(3/20)
    r = stats.tost_paired(A3, B3, margin=3.0, ci=False)
    p_lower = t2_sf(5 * math.sqrt(3))
    p_upper = 0.5 - math.sqrt(3 / 20)
    assert r.test == "tost_paired"
    assert r.extra["p_lower"] == pytest.approx(p_lower, rel=1e-9)
    assert r.extra["p_upper"] == pytest.approx(p_upper, rel=1e-9)
    assert r.pvalue == pytest.approx(p_upper, rel=1e-9)  # max of the two: 0.1127
    # Beyond the margin: P(mean < -3) = 1 - p_lower, P(mean > 3) = 1 - p_upper; twice the
    # min (Bonferroni over the two sides), capped at 1.
    assert r.pvalue_opposite == pytest.approx(min(1.0, 2 * (1 - p_upper)), rel=1e-9)
    assert r.statistic == pytest.approx(2.0)
    assert r.effect == pytest.approx(2.0)
    assert r.extra["margin"] == 3.0 and r.extra["center"] == 0.0


def test_tost_paired_zero_variance() -> None:
    # Each one-sided side of a constant sample is an exact sign test: 0.5**3 when the
    # constant lies on that side of the bound, else 1.
    inside = stats.tost_paired([1.5, 2.5, 3.5], [1.0, 2.0, 3.0], margin=1.0)
    assert (inside.pvalue, inside.pvalue_opposite) == (0.125, 1.0)
    assert inside.extra["p_lower"] == inside.extra["p_upper"] == 0.125
    beyond = stats.tost_paired([3.0, 4.0, 5.0], [1.0, 2.0, 3.0], margin=1.0)
    assert (beyond.pvalue, beyond.pvalue_opposite) == (1.0, 0.25)
    below = stats.tost_paired([-1.0, 0.0, 1.0], [1.0, 2.0, 3.0], margin=1.0)
    assert (below.pvalue, below.pvalue_opposite) == (1.0, 0.25)
    # Exactly on the margin: neither inside nor beyond it.
    edge = stats.tost_paired([2.0, 3.0, 4.0], [1.0, 2.0, 3.0], margin=1.0)
    assert (edge.pvalue, edge.pvalue_opposite) == (1.0, 1.0)


def test_tost_errors() -> None:
    for bad in (0.0, -0.1, math.nan):
        with pytest.raises(ValueError, match=r"`margin` must be > 0"):
            stats.tost_paired([1, 2, 3], [1, 2, 4], margin=bad)
        with pytest.raises(ValueError, match=r"`margin` must be > 0"):
            stats.tost_one_sample([1, 2, 3], 2.0, margin=bad)
    with pytest.raises(ValueError, match=r"`a` and `b` must pair up; got 2 and 3 seeds"):
        stats.tost_paired([1, 2], [1, 2, 3], margin=1.0)
    with pytest.raises(ValueError, match=r"`x` needs at least 2 values"):
        stats.tost_one_sample([1.0], 1.0, margin=1.0)


@pytest.mark.parametrize(("test", "name"), [("student", "ttest_1samp"),
                                           ("t", "ttest_1samp_skew")])
def test_one_sample_t_by_hand(test: str, name: str) -> None:
    # [1, 2, 3] has no skewness, so the skewness-aware test is the plain t-test here.
    r = stats.one_sample_test([1.0, 2.0, 3.0], 0.0, test=test, ci=False)
    t = 2 * math.sqrt(3)
    assert r.test == name
    assert r.statistic == pytest.approx(t)
    assert r.pvalue == pytest.approx(t2_sf(t), rel=1e-10)
    assert r.pvalue_opposite == pytest.approx(1 - t2_sf(t), rel=1e-10)
    assert r.effect == pytest.approx(2.0) and r.extra["value"] == 0.0
    assert r.extra["alternative"] == "greater"
    below = stats.one_sample_test([1.0, 2.0, 3.0], 0.0, greater=False, test=test, ci=False)
    assert below.pvalue == pytest.approx(1 - t2_sf(t), rel=1e-10)
    assert below.pvalue_opposite == pytest.approx(t2_sf(t), rel=1e-10)
    assert below.extra["alternative"] == "less"
    # At the value itself: t = 0, both directions 1/2.
    mid = stats.one_sample_test([1.0, 2.0, 3.0], 2.0, test=test, ci=False)
    assert mid.statistic == pytest.approx(0.0)
    assert (mid.pvalue, mid.pvalue_opposite) == (pytest.approx(0.5), pytest.approx(0.5))


@pytest.mark.parametrize("test", ["t", "student", "sign", "wilcoxon"])
def test_one_sample_zero_variance(test: str) -> None:
    # Every test of a constant sample is as strong as an exact sign test: 0.5**3.
    r = stats.one_sample_test([3.0, 3.0, 3.0], 2.0, test=test)
    assert (r.pvalue, r.pvalue_opposite) == (0.125, 1.0)
    r = stats.one_sample_test([3.0, 3.0, 3.0], 4.0, test=test)
    assert (r.pvalue, r.pvalue_opposite) == (1.0, 0.125)
    r = stats.one_sample_test([2.0, 2.0], 2.0, test=test)
    assert (r.pvalue, r.pvalue_opposite) == (1.0, 1.0)
    assert r.ci == (2.0, 2.0)
    if test in ("t", "student"):
        assert stats.one_sample_test([3.0, 3.0, 3.0], 2.0, test=test).statistic == math.inf
        assert stats.one_sample_test([2.0, 2.0], 2.0, test=test).statistic == 0.0


def test_one_sample_wilcoxon_by_hand() -> None:
    x = [11.0, 12.0, 13.0, 14.0, 15.0]
    r = stats.one_sample_test(x, 10.0, test="wilcoxon", ci=False)
    assert r.test == "wilcoxon"
    assert r.pvalue == pytest.approx(1 / 32)
    r = stats.one_sample_test([11.0, 8.0, 13.0, 14.0, 15.0], 10.0, greater=False,
                              test="wilcoxon", ci=False)
    assert (r.pvalue, r.pvalue_opposite) == (pytest.approx(30 / 32), pytest.approx(3 / 32))
    r = stats.one_sample_test([10.0, 10.0, 10.0], 10.0, test="wilcoxon", ci=False)
    assert (r.pvalue, r.pvalue_opposite) == (1.0, 1.0)


def test_one_sample_errors() -> None:
    with pytest.raises(ValueError,
                       match=r"`test` must be 't', 'sign', 'student' or 'wilcoxon'; got 'z'"):
        stats.one_sample_test([1, 2, 3], 0.0, test="z")
    with pytest.raises(ValueError, match=r"`test` must be 't' or 'student'; got 'sign'"):
        stats.tost_one_sample([1, 2, 3], 0.0, margin=1.0, test="sign")
    with pytest.raises(ValueError, match=r"`x` contains NaN or inf"):
        stats.one_sample_test([1, math.nan, 3], 0.0)


def test_tost_one_sample_by_hand() -> None:
    # x = 1, 2, 3 against 2 +- 1: both one-sided t = sqrt(3) with 2 df -> 0.5 - sqrt(3/20).
    r = stats.tost_one_sample([1.0, 2.0, 3.0], 2.0, margin=1.0, ci=False)
    p = 0.5 - math.sqrt(3 / 20)
    assert r.test == "tost_1samp"
    assert r.extra["p_lower"] == pytest.approx(p, rel=1e-9)
    assert r.extra["p_upper"] == pytest.approx(p, rel=1e-9)
    assert r.pvalue == pytest.approx(p, rel=1e-9)
    assert r.pvalue_opposite == pytest.approx(min(1.0, 2 * (1 - p)), rel=1e-9)
    assert r.statistic == pytest.approx(0.0)  # mean - centre
    assert r.effect == pytest.approx(2.0)
    assert r.extra["center"] == 2.0


def test_tost_one_sample_clearly_inside_and_outside() -> None:
    inside = stats.tost_one_sample([0.88, 0.87, 0.89, 0.88, 0.885], 0.88, margin=0.03,
                                   test="student")
    assert inside.pvalue < 0.001 and inside.pvalue_opposite > 0.99
    outside = stats.tost_one_sample([0.98, 0.97, 0.99, 0.98, 0.985], 0.88, margin=0.03,
                                    test="student")
    assert outside.pvalue > 0.99 and outside.pvalue_opposite < 0.001
    # The default skewness-aware tests need a few more seeds for the same certainty.
    x = np.array([0.88, 0.87, 0.89, 0.88, 0.885, 0.875, 0.882, 0.878])
    inside = stats.tost_one_sample(x, 0.88, margin=0.03)
    assert inside.pvalue < 0.001 and inside.pvalue_opposite > 0.99
    assert inside.extra["mean_test"] == "ttest_1samp_skew"
    outside = stats.tost_one_sample(x + 0.1, 0.88, margin=0.03)
    assert outside.pvalue > 0.99 and outside.pvalue_opposite < 0.001


# --------------------------------------------------------------------------------------
# spread_test
# --------------------------------------------------------------------------------------


def test_spread_levene_by_hand() -> None:
    # Median-centred absolute deviations: A = 1, 2, 3 -> 1, 0, 1; B = 0, 4, 8 -> 4, 0, 4.
    # Means 2/3 and 8/3, variances 1/3 and 16/3, pooled 17/6, se^2 = 17/6 * 2/3 = 17/9,
    # t = -2 / sqrt(17/9), F = t^2 = 36/17 with (1, 4) df.
    a, b = [1.0, 2.0, 3.0], [0.0, 4.0, 8.0]
    p_two = t4_two_sided(math.sqrt(36 / 17))
    r = stats.spread_test(a, b, ci=False)
    assert r.test == "levene"
    assert r.statistic == pytest.approx(36 / 17)
    assert r.pvalue == pytest.approx(p_two / 2, rel=1e-9)
    assert r.pvalue_opposite == pytest.approx(1 - p_two / 2, rel=1e-9)
    assert r.effect == pytest.approx(1 / 4)  # sd ratio 1 / 4
    assert r.extra["sd_a"] == pytest.approx(1.0) and r.extra["sd_b"] == pytest.approx(4.0)
    larger = stats.spread_test(a, b, a_smaller=False, ci=False)
    assert larger.pvalue == pytest.approx(1 - p_two / 2, rel=1e-9)
    assert larger.pvalue_opposite == pytest.approx(p_two / 2, rel=1e-9)
    swapped = stats.spread_test(b, a, a_smaller=False, ci=False)
    assert swapped.pvalue == pytest.approx(p_two / 2, rel=1e-9)
    assert swapped.effect == pytest.approx(4.0)


def test_spread_degenerate_cases() -> None:
    both_constant = stats.spread_test([1.0, 1.0, 1.0], [2.0, 2.0, 2.0])
    assert both_constant.statistic == 0.0
    assert (both_constant.pvalue, both_constant.pvalue_opposite) == (0.5, 0.5)
    assert math.isnan(both_constant.effect)  # 0 / 0
    # Every absolute deviation equal within each group (Levene's F divides by zero): a
    # perfect separation, as strong as an exact permutation test of 4 + 4 labels, 1/70.
    separated = stats.spread_test([0.0, 0.0, 0.25, 0.25], [0.0, 0.0, 0.0, 0.0])
    assert separated.statistic == math.inf
    assert (separated.pvalue, separated.pvalue_opposite) == (1.0, 1 / 70)
    same = stats.spread_test([0.0, 0.0, 0.25, 0.25], [1.0, 1.25, 1.0, 1.25])
    assert (same.statistic, same.pvalue, same.pvalue_opposite) == (0.0, 0.5, 0.5)
    equal_spread = stats.spread_test([1.0, 2.0, 3.0], [4.0, 5.0, 6.0], ci=False)
    assert equal_spread.statistic == pytest.approx(0.0)
    assert equal_spread.pvalue == pytest.approx(0.5)
    assert equal_spread.effect == pytest.approx(1.0)
    b_constant = stats.spread_test([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
    assert b_constant.effect == math.inf
    assert math.isnan(b_constant.ci.low)
    # Independent groups need not have equal sizes: the F interval covers them.
    unequal_sizes = stats.spread_test([1.0, 2.0, 3.0, 4.0], [0.0, 4.0, 8.0])
    assert unequal_sizes.n == 3
    assert unequal_sizes.ci.low < unequal_sizes.effect < unequal_sizes.ci.high


def test_spread_ci_brackets_ratio() -> None:
    r = stats.spread_test([1.0, 1.1, 0.9, 1.0, 1.05, 0.95], [0, 2, -1, 3, 1, 2.5])
    assert r.pvalue < 0.05
    assert 0 < r.ci.low <= r.effect <= r.ci.high


def test_spread_errors() -> None:
    with pytest.raises(ValueError, match=r"`b` contains NaN or inf"):
        stats.spread_test([1.0, 2.0], [1.0, math.inf])
    with pytest.raises(ValueError, match=r"`a` needs at least 2 values; got 1"):
        stats.spread_test([1.0], [1.0, 2.0])


# --------------------------------------------------------------------------------------
# exact_test
# --------------------------------------------------------------------------------------


def test_exact_counterexample_seed() -> None:
    r = stats.exact_test([True, False, True, False], [10, 11, 12, 13])
    assert r.test == "exact"
    assert r.extra["counterexample"] == 11
    assert r.extra["failing_seeds"] == [11, 13]
    assert r.statistic == 2.0
    assert r.effect == 0.5
    assert r.n == 4
    assert math.isnan(r.pvalue) and math.isnan(r.pvalue_opposite)


def test_exact_all_hold_and_empty() -> None:
    r = stats.exact_test([True, True, True], [5, 6, 7])
    assert r.extra["counterexample"] is None and r.extra["failing_seeds"] == []
    assert r.effect == 1.0 and r.statistic == 3.0
    empty = stats.exact_test([], [])
    assert empty.n == 0 and math.isnan(empty.effect)


# --------------------------------------------------------------------------------------
# holm
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "adjusted"),
    [
        # sorted 0.01, 0.03, 0.04 -> 3 * 0.01, 2 * 0.03, 1 * 0.04 -> running max 0.03, 0.06, 0.06
        ([0.01, 0.04, 0.03], [0.03, 0.06, 0.06]),
        # monotonicity: 3 * 0.02 = 0.06 > 2 * 0.021 = 0.042, so the second inherits 0.06
        ([0.02, 0.021, 0.5], [0.06, 0.06, 0.5]),
        # capped at 1
        ([0.5, 0.6], [1.0, 1.0]),
        ([0.001, 0.2, 0.9, 0.04], [0.004, 0.4, 0.9, 0.12]),
        # ties keep their input order but get equal adjusted values
        ([0.01, 0.01, 0.2], [0.03, 0.03, 0.2]),
        ([0.3], [0.3]),
    ],
)
def test_holm_by_hand(raw: list[float], adjusted: list[float]) -> None:
    np.testing.assert_allclose(stats.holm(raw), adjusted, rtol=1e-12)


def test_holm_properties() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        p = rng.uniform(0, 1, size=rng.integers(1, 8)) ** 3
        adj = stats.holm(p)
        assert np.all(adj >= p - 1e-15) and np.all(adj <= 1.0)
        order = np.argsort(p)
        assert np.all(np.diff(adj[order]) >= -1e-15)  # same order as the raw p-values
        assert adj.min() == pytest.approx(min(1.0, p.min() * p.size))  # smallest: Bonferroni
    assert stats.holm([]).shape == (0,)


# --------------------------------------------------------------------------------------
# bootstrap_ci
# --------------------------------------------------------------------------------------


def test_bootstrap_deterministic_and_contains_mean() -> None:
    x = np.array([0.3, 1.2, -0.4, 2.2, 0.9, 1.7, 0.1])
    first, second = stats.bootstrap_ci(x), stats.bootstrap_ci(x.copy())
    assert first == second
    assert first.low < x.mean() < first.high
    assert x.min() <= first.low and first.high <= x.max()
    wide = stats.bootstrap_ci(x, confidence_level=0.99)
    assert wide.low <= first.low and first.high <= wide.high
    narrow = stats.bootstrap_ci(x, confidence_level=0.5)
    assert first.low <= narrow.low < narrow.high <= first.high


def test_bootstrap_degenerate_data() -> None:
    assert stats.bootstrap_ci(np.array([5.0, 5.0, 5.0])) == (5.0, 5.0)
    assert stats.bootstrap_ci(np.array([4.0])) == (4.0, 4.0)  # constant, trivially
    assert stats.bootstrap_ci(np.array([[1.0, 2.0], [1.0, 2.0]]),
                              lambda s: s[:, 1].mean()) == (2.0, 2.0)


def test_bootstrap_custom_statistic_over_rows() -> None:
    pairs = np.column_stack([np.arange(10.0), np.arange(10.0) * 2])
    ci = stats.bootstrap_ci(pairs, lambda p: p[:, 1].sum() / p[:, 0].sum())
    # Every resample with a non-zero denominator has ratio exactly 2.
    assert ci == (pytest.approx(2.0), pytest.approx(2.0))


def test_bootstrap_too_few_values() -> None:
    # Two values resample to 3 means: no bootstrap interval, NaNs rather than a warning.
    ci = stats.bootstrap_ci(np.array([0.0, 1.0]))
    assert math.isnan(ci.low) and math.isnan(ci.high)


# --------------------------------------------------------------------------------------
# seeds_needed and detectable_effect
# --------------------------------------------------------------------------------------


def test_seeds_needed_docstring_value_and_none_cases() -> None:
    assert stats.seeds_needed(0.5, 1.0) == 27
    assert stats.seeds_needed(-0.5, 1.0) == 27  # direction does not matter
    assert stats.seeds_needed(0.0, 1.0) is None
    assert stats.seeds_needed(0.5, 0.0) is None
    assert stats.seeds_needed(0.5, math.nan) is None
    assert stats.seeds_needed(math.inf, 1.0) is None
    assert stats.seeds_needed(math.nan, 1.0) is None


def test_seeds_needed_scales_with_effect_over_sd() -> None:
    assert stats.seeds_needed(1.0, 2.0) == stats.seeds_needed(0.5, 1.0)
    assert stats.seeds_needed(0.01, 0.02) == stats.seeds_needed(0.5, 1.0)
    assert stats.seeds_needed(0.3, 1.0) > stats.seeds_needed(0.5, 1.0)
    assert stats.seeds_needed(0.5, 1.0, alpha=0.01) > stats.seeds_needed(0.5, 1.0)
    assert stats.seeds_needed(0.5, 1.0, power=0.9) > stats.seeds_needed(0.5, 1.0)
    assert stats.seeds_needed(100.0, 1.0) == 2  # never below 2


def test_detectable_effect_values() -> None:
    # (t_{0.95, 9} + t_{0.80, 9}) / sqrt(10) = (1.833113 + 0.883404) / 3.162278
    assert stats.detectable_effect(1.0, 10) == pytest.approx((1.833113 + 0.883404) / math.sqrt(10),
                                                           rel=1e-5)
    assert stats.detectable_effect(2.0, 10) == pytest.approx(2 * stats.detectable_effect(1.0, 10))
    assert stats.detectable_effect(0.0, 10) == 0.0
    assert math.isnan(stats.detectable_effect(1.0, 1))
    assert math.isnan(stats.detectable_effect(math.nan, 10))
    assert stats.detectable_effect(1.0, 20) < stats.detectable_effect(1.0, 10)


@pytest.mark.parametrize("alpha", [0.05, 0.01])
@pytest.mark.parametrize("power", [0.8, 0.9])
def test_seeds_needed_and_detectable_effect_are_inverse(alpha: float, power: float) -> None:
    for effect in (0.05, 0.2, 0.35, 0.5, 0.8, 1.0, 1.7, 3.0):
        for sd in (0.5, 1.0, 3.0):
            n = stats.seeds_needed(effect, sd, alpha=alpha, power=power)
            assert n is not None
            assert stats.detectable_effect(sd, n, alpha=alpha, power=power) <= effect * (1 + 1e-12)
            if n > 2:  # and it is the smallest such n
                assert stats.detectable_effect(sd, n - 1, alpha=alpha, power=power) > effect


@pytest.mark.parametrize("alpha", [0.05, 0.01])
@pytest.mark.parametrize("power", [0.8, 0.9])
def test_seeds_needed_against_statsmodels(alpha: float, power: float) -> None:
    smp = pytest.importorskip("statsmodels.stats.power")
    exact = smp.TTestPower()
    for dz in (0.2, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0):
        n = stats.seeds_needed(dz, 1.0, alpha=alpha, power=power)
        reference = exact.solve_power(effect_size=dz, alpha=alpha, power=power,
                                      alternative="larger")
        assert n is not None
        assert abs(n - math.ceil(reference)) <= 1, (dz, n, reference)
        achieved = exact.power(effect_size=dz, nobs=n, alpha=alpha, alternative="larger")
        assert achieved >= power - 0.03, (dz, n, achieved)


def test_detectable_effect_against_statsmodels() -> None:
    smp = pytest.importorskip("statsmodels.stats.power")
    exact = smp.TTestPower()
    for n in (5, 8, 10, 20, 50, 200):
        reference = exact.solve_power(nobs=n, alpha=0.05, power=0.8, alternative="larger")
        assert stats.detectable_effect(1.0, n) == pytest.approx(reference, rel=0.02)


# --------------------------------------------------------------------------------------
# TestResult
# --------------------------------------------------------------------------------------


def test_testresult_to_dict_and_repr() -> None:
    r = stats.paired_test(A3, B3, test="t")
    d = r.to_dict()
    assert d["ci"] == [r.ci.low, r.ci.high]
    assert d["pvalue"] == r.pvalue and d["extra"]["dz"] == r.extra["dz"]
    assert "ttest_rel" in repr(r) and "n=3" in repr(r)


# --------------------------------------------------------------------------------------
# confidence intervals by hand
# --------------------------------------------------------------------------------------

# t quantile with 2 df: F(t) = 1/2 + t / (2 sqrt(2 + t^2)) = 0.975 -> t = 0.95 sqrt(2 / 0.0975)
T2_975 = 0.95 * math.sqrt(2 / (1 - 0.95**2))


def test_paired_and_one_sample_t_intervals_by_hand() -> None:
    # d = 1, 2, 3: mean 2, sd 1 -> 2 +- t_{0.975, 2} / sqrt(3).
    half = T2_975 / math.sqrt(3)
    r = stats.paired_test(A3, B3, test="t")
    assert r.ci == (pytest.approx(2 - half), pytest.approx(2 + half))
    assert stats.paired_test(A3, B3).ci == r.ci  # the Wilcoxon result reports the same effect
    one = stats.one_sample_test([1.0, 2.0, 3.0], 0.0)
    assert one.ci == (pytest.approx(2 - half), pytest.approx(2 + half))
    tost = stats.tost_paired(A3, B3, margin=5.0)
    assert tost.ci == r.ci


def test_tau_interval_at_the_bound_by_hand() -> None:
    # Ten perfectly increasing rows: every tau is 1 and the sd 0. The variance floor
    # 0.5 V0 (1 - mu^2), V0 = 2 (2k + 5) / (9 k (k - 1)) = 11/27 at k = 3, gives the lower
    # end (1 - f) / (1 + f) with f = t^2 * 0.5 * V0 / n.
    q = float(student.ppf(0.975, 9))
    f = q * q * 0.5 * (11 / 27) / 10
    r = stats.trend_test(np.tile([1.0, 2.0, 3.0], (10, 1)), increasing=True)
    assert r.effect == 1.0
    assert r.ci == (pytest.approx((1 - f) / (1 + f)), 1.0)
    assert r.ci.low == pytest.approx(0.8112, abs=1e-4)


def test_tau_interval_by_hand() -> None:
    # Row taus 1, 1/3, 1/3 (PAGE_VALUES): mean m = 5/9, sd sqrt(4/27). The interval is the
    # hull of the t interval m +- t s / sqrt(3) and the floor set (m - mu)^2 <= f (1 - mu^2),
    # f = t^2 * 0.5 * (11/27) / 3, clipped to [-1, 1].
    m = 5 / 9
    half = T2_975 * math.sqrt(4 / 27) / math.sqrt(3)
    f = T2_975**2 * 0.5 * (11 / 27) / 3
    root = math.sqrt(m * m - (1 + f) * (m * m - f))
    low = max(-1.0, min(m - half, (m - root) / (1 + f)))
    r = stats.trend_test(PAGE_VALUES, increasing=True)
    assert r.ci == (pytest.approx(low), 1.0)
    # With more seeds and no seed near the bounds the floor does not bind: the t interval.
    v = np.tile([[1.0, 2.0, 3.0], [1.0, 3.0, 2.0], [2.0, 1.0, 3.0], [3.0, 2.0, 1.0]], (5, 1))
    taus = stats.kendall_tau_rows(v)
    half = float(student.ppf(0.975, 19)) * taus.std(ddof=1) / math.sqrt(20)
    r = stats.trend_test(v, increasing=True)
    assert r.ci == (pytest.approx(taus.mean() - half), pytest.approx(taus.mean() + half))


def test_page_per_seed_statistic_by_hand() -> None:
    # Ranks per row: (1, 2, 3), (1, 3, 2), (2, 1, 3): l = 14, 13, 13 with weights 1, 2, 3.
    up = stats.trend_test(PAGE_VALUES, increasing=True, ci=False)
    assert up.extra["l_mean"] == pytest.approx(40 / 3)
    assert up.extra["l_sd"] == pytest.approx(math.sqrt(1 / 3))
    assert up.extra["levels"] == 3 and up.extra["alternative"] == "greater"
    # In the decreasing order the weights are 3, 2, 1: l = 24 - l.
    down = stats.trend_test(PAGE_VALUES, increasing=False, ci=False)
    assert down.extra["l_mean"] == pytest.approx(32 / 3)
    assert down.extra["alternative"] == "less"


@pytest.mark.parametrize(("n", "ranks", "coverage"), [
    # P(Bin(10, 1/2) <= 1) = 11/1024 <= 0.025 < P(<= 2) = 56/1024 -> [x_(2), x_(9)].
    (10, (2, 9), 1 - 22 / 1024),
    # P(Bin(8, 1/2) <= 0) = 1/256 <= 0.025 < P(<= 1) = 9/256 -> the range, 1 - 2/256.
    (8, (1, 8), 1 - 2 / 256),
    # Too few seeds for 95%: the range covers 1 - 2/32 only.
    (5, (1, 5), 1 - 2 / 32),
    # P(Bin(20, 1/2) <= 5) = 0.0207 <= 0.025 < P(<= 6) = 0.0577 -> [x_(6), x_(15)].
    (20, (6, 15), 1 - 2 * 21700 / 2**20),
])
def test_median_order_statistic_interval(n: int, ranks: tuple[int, int], coverage: float) -> None:
    x = np.random.default_rng(n).permutation(np.arange(1.0, n + 1))  # x_(i) = i
    r = stats.one_sample_test(x, 0.0, test="sign")
    assert r.ci == (float(ranks[0]), float(ranks[1]))
    assert r.extra["ci_coverage"] == pytest.approx(coverage)
    assert r.ci_level == pytest.approx(min(coverage, 0.95))


# --------------------------------------------------------------------------------------
# sign test and the skewness-aware mean test
# --------------------------------------------------------------------------------------

SIGN_X = [3.1, 2.0, 5.5, 4.2, 3.3, 2.8, 6.1, 3.9]


def test_sign_test_by_hand() -> None:
    # 7 of 8 above 2.5: P(X >= 7) = (8 + 1) / 256; P(X <= 7) = 255 / 256.
    r = stats.one_sample_test(SIGN_X, 2.5, test="sign")
    assert r.test == "sign_test"
    assert r.statistic == 7.0
    assert r.pvalue == pytest.approx(9 / 256, rel=1e-12)
    assert r.pvalue_opposite == pytest.approx(255 / 256, rel=1e-12)
    assert r.effect_name == "median" and r.effect == pytest.approx(3.6)
    assert (r.extra["n_above"], r.extra["n_below"], r.extra["n_zero"]) == (7, 1, 0)
    assert r.extra["share_above"] == pytest.approx(7 / 8) and r.extra["share_below"] == 1 / 8
    below = stats.one_sample_test(SIGN_X, 2.5, greater=False, test="sign")
    assert (below.pvalue, below.pvalue_opposite) == (r.pvalue_opposite, r.pvalue)
    # A seed exactly at the value counts against either claim (it is neither above nor
    # below): 7 of 9 above, P(X >= 7 | 9) = (36 + 9 + 1) / 512.
    tied = stats.one_sample_test([*SIGN_X, 2.5], 2.5, test="sign")
    assert tied.pvalue == pytest.approx(46 / 512) and tied.extra["n_zero"] == 1 and tied.n == 9
    assert tied.pvalue_opposite == pytest.approx(stats._st.binom.sf(0, 9, 0.5))


def test_sign_test_ignores_magnitudes() -> None:
    # Wilcoxon (a symmetry test) is moved by one huge value; the median test is not.
    base = stats.one_sample_test(SIGN_X, 2.5, test="sign")
    wild = stats.one_sample_test([*SIGN_X[:-1], 1e6], 2.5, test="sign")
    assert wild.pvalue == base.pvalue


RIGHT_SKEWED = np.array([0.2, 0.3, 0.3, 0.4, 0.5, 0.6, 0.8, 1.2, 2.5, 4.0])


def test_skew_mean_test_corrects_only_the_liberal_side() -> None:
    # Right skew: the lower-tail ("mean below") p-value grows, the upper one is the t-test's.
    for value in (0.5, 1.08, 1.5, 2.5):
        skew = stats.one_sample_test(RIGHT_SKEWED, value, greater=False)
        plain = stats.one_sample_test(RIGHT_SKEWED, value, greater=False, test="student")
        assert skew.test == "ttest_1samp_skew"
        assert skew.pvalue >= plain.pvalue
        assert skew.pvalue_opposite == pytest.approx(plain.pvalue_opposite, rel=1e-12)
        assert skew.statistic == pytest.approx(plain.statistic)
    # The mirror image swaps the roles exactly.
    up = stats.one_sample_test(-RIGHT_SKEWED, -2.5, greater=True)
    down = stats.one_sample_test(RIGHT_SKEWED, 2.5, greater=False)
    assert up.pvalue == pytest.approx(down.pvalue, rel=1e-12)
    assert up.pvalue_opposite == pytest.approx(down.pvalue_opposite, rel=1e-12)


def test_skew_mean_test_refuses_what_the_t_test_wrongly_supports() -> None:
    # Ten small values of a lognormal(0, 1) (true mean 1.65), none from the long tail: the
    # t-test finds the mean below 1.65 (p < 0.001); the skewness-aware test does not.
    x = np.array([0.35, 0.52, 0.61, 0.74, 0.83, 0.95, 1.08, 1.21, 1.47, 1.9])
    assert stats.one_sample_test(x, 1.65, greater=False, test="student").pvalue < 0.01
    assert stats.one_sample_test(x, 1.65, greater=False).pvalue > 0.05
    # Far enough below, the evidence still counts.
    assert stats.one_sample_test(x, 3.0, greater=False).pvalue < 0.05


# --------------------------------------------------------------------------------------
# paired_spread_test (permutation test of squared deviations from the medians)
# --------------------------------------------------------------------------------------


def test_paired_spread_by_hand() -> None:
    # a = -2, -1, 0, 1, 3 (median 0): u = 4, 1, 0, 1, 9; b = 0, 2, -1, 1, 0 (median 0):
    # v = 0, 4, 1, 1, 0; d = u - v = 4, -3, -1, 0, 9, T = 9. Swapping a seed's arms flips
    # its d, so T* = ±4 ± 3 ± 1 ± 9 (± 0): with +9, the 8 sign choices for 4, 3, 1 give
    # 17, 15, 11, 9, 9, 7, 3, 1; with -9 every sum is below 0. Each counts twice (the 0).
    # P(T* >= 9) = 2 * 5 / 32; P(T* <= 9) = 1 - 2 * 3 / 32 (17, 15 and 11 lie above).
    a, b = [-2.0, -1.0, 0.0, 1.0, 3.0], [0.0, 2.0, -1.0, 1.0, 0.0]
    r = stats.paired_spread_test(a, b, ci=False)
    assert r.test == "permutation_spread"
    assert (r.pvalue, r.pvalue_opposite) == (pytest.approx(26 / 32), pytest.approx(10 / 32))
    assert r.effect == pytest.approx(math.sqrt(15 / 6))  # sum u = 15, sum v = 6
    assert r.statistic == pytest.approx(math.log(15 / 6))
    assert (r.extra["d_mean"], r.extra["d_sd"]) == (pytest.approx(1.8),
                                                    pytest.approx(math.sqrt(22.7)))
    assert r.extra["alternative"] == "less" and r.extra["swaps"] == 32
    assert r.extra["sd_a"] == pytest.approx(np.std(a, ddof=1))
    larger = stats.paired_spread_test(a, b, a_smaller=False, ci=False)
    assert (larger.pvalue, larger.pvalue_opposite) == (r.pvalue_opposite, r.pvalue)
    # Five seeds are too few for a 95% interval: even the most extreme of the 32 swaps
    # is 1/32 > 2.5%.
    assert stats.paired_spread_test(a, b).ci == (0.0, math.inf)


def test_paired_spread_interval_by_hand() -> None:
    # u = 1, 4, 0 and v = 2, 1, 3: the swapped sets K give U_K / V_K = 0/0 (none), 1/2,
    # 4/1, 0/3, 5/3, 1/5, 4/4, 5/6. A 50% interval keeps theta while at least
    # floor(8 * 0.25) + 1 = 3 ratios lie on each side: the 3rd largest ratio counting the
    # empty set as +inf (5/3) and the 3rd smallest counting it and 0/3 as 0 (1/5).
    u, v = np.array([1.0, 4.0, 0.0]), np.array([2.0, 1.0, 3.0])
    ci = stats._swap_ratio_interval(u, v, level=0.5)
    assert ci == (pytest.approx(math.sqrt(1 / 5)), pytest.approx(math.sqrt(5 / 3)))
    # The interval is the set of ratios the test does not reject at 25% on either side.
    for theta in (0.19, 0.21, 1.0, 1.6, 1.7):
        below, above = stats._swap_pvalues((u - theta * v)[None, :])
        inside = ci.low**2 <= theta <= ci.high**2
        assert (below[0] > 0.25 and above[0] > 0.25) == inside, theta


def test_paired_spread_equal_spreads() -> None:
    # b is a within-seed shuffle of a's values: medians 2.5, u = 2.25, 0.25, 0.25, 2.25,
    # v = 0.25, 2.25, 2.25, 0.25, d = 2, -2, -2, 2, T = 0. Of the 16 sign choices of
    # ±2 ±2 ±2 ±2, 1 + 4 + 6 sum to <= 0 (and as many to >= 0).
    r = stats.paired_spread_test([1.0, 2.0, 3.0, 4.0], [2.0, 1.0, 4.0, 3.0])
    assert (r.pvalue, r.pvalue_opposite) == (pytest.approx(11 / 16), pytest.approx(11 / 16))
    assert r.effect == pytest.approx(1.0) and r.statistic == pytest.approx(0.0)
    assert r.ci.low < 1.0 < r.ci.high


def test_paired_spread_degenerate_cases() -> None:
    # A constant arm: every d < 0, only the observed arrangement is as extreme: 0.5**4.
    r = stats.paired_spread_test([1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 3.0, 2.0])
    assert (r.pvalue, r.pvalue_opposite) == (1 / 16, 1.0)
    assert r.effect == 0.0
    # b = a / 2: the spread ratio is exactly 2, every d > 0.
    r = stats.paired_spread_test([0.0, 2.0, 6.0, 4.0], [0.0, 1.0, 3.0, 2.0])
    assert (r.pvalue, r.pvalue_opposite) == (1.0, 1 / 16)
    assert r.effect == pytest.approx(2.0)
    # a = b + 1 or a = 5 - b: the same deviations, every d = 0, no evidence at all.
    for a, b in (([1.0, 2.0, 4.0, 3.0], [0.0, 1.0, 3.0, 2.0]),
                 ([5.0, 4.0, 2.0, 3.0], [0.0, 1.0, 3.0, 2.0])):
        r = stats.paired_spread_test(a, b)
        assert (r.pvalue, r.pvalue_opposite) == (1.0, 1.0)
        assert r.effect == pytest.approx(1.0)
    both = stats.paired_spread_test([1.0, 1.0, 1.0], [2.0, 2.0, 2.0])
    assert (both.pvalue, both.pvalue_opposite) == (1.0, 1.0)
    assert math.isnan(both.effect) and math.isnan(both.ci.low)


def test_paired_spread_errors() -> None:
    with pytest.raises(ValueError, match=r"paired spread test needs >= 3 seeds; got 2"):
        stats.paired_spread_test([1.0, 2.0], [3.0, 5.0])
    with pytest.raises(ValueError, match=r"`a` and `b` must pair up; got 3 and 4 seeds"):
        stats.paired_spread_test([1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match=r"`b` contains NaN or inf"):
        stats.paired_spread_test([1.0, 2.0, 3.0], [1.0, math.nan, 3.0])


def test_exact_share_has_clopper_pearson_interval() -> None:
    r = stats.exact_test([True, False, True], [0, 1, 2])
    # Clopper–Pearson for 2 of 3: Beta(2, 2) at 2.5% and Beta(3, 1) at 97.5% (= 0.975^(1/3)).
    assert r.ci == (pytest.approx(float(beta.ppf(0.025, 2, 2))), pytest.approx(0.975 ** (1 / 3)))


# --------------------------------------------------------------------------------------
# seeds_needed_for
# --------------------------------------------------------------------------------------

D8 = [0.3, -0.2, 0.5, 0.1, 0.4, -0.1, 0.2, 0.6]


def test_seeds_needed_for_paired_t_is_the_noncentral_t_count() -> None:
    r = stats.paired_test(D8, [0.0] * 8, test="t")
    advice = stats.seeds_needed_for(r)
    delta = r.effect / r.sd
    power = [float(nct.sf(student.ppf(0.95, n - 1), n - 1, delta * math.sqrt(n))) for n in (11, 12)]
    assert advice.n == 12 and power[0] < 0.8 <= power[1]
    assert "80% power" in advice.note and "t-test" in advice.note
    # Wilcoxon: the t count over its lowest efficiency, 0.864.
    w = stats.seeds_needed_for(stats.paired_test(D8, [0.0] * 8))
    assert w.n == math.ceil(12 / 0.864)


def test_seeds_needed_for_wrong_direction_and_no_model() -> None:
    wrong = stats.seeds_needed_for(stats.paired_test(D8, [0.0] * 8, greater=False, test="t"))
    assert wrong.n is None and "opposite side of the claim" in wrong.note
    x = np.array(D8) + 1.0
    for test in ("t", "student", "sign", "wilcoxon"):
        advice = stats.seeds_needed_for(stats.one_sample_test(x, 2.0, test=test))
        assert advice.n is None and "opposite side" in advice.note
    tost = stats.seeds_needed_for(stats.tost_paired(D8, [0.0] * 8, margin=0.1))
    assert tost.n is None and "outside the margin" in tost.note
    exact = stats.seeds_needed_for(stats.exact_test([True, False], [0, 1]))
    assert exact.n is None and "counterexample" in exact.note
    levene = stats.seeds_needed_for(stats.spread_test([1.0, 2.0, 4.0], [1.0, 5.0, 9.0]))
    assert levene.n is None and "no power model" in levene.note


def test_seeds_needed_for_family_asks_each_member_for_more_power() -> None:
    r = stats.paired_test(D8, [0.0] * 8, test="t")
    three = stats.seeds_needed_for(r, family=3)
    assert three.n == stats.seeds_needed_for(r, power=0.8 ** (1 / 3)).n
    assert three.n > stats.seeds_needed_for(r).n
    assert "each of 3 members at 93%" in three.note
    with pytest.raises(ValueError, match=r"`family` must be >= 1"):
        stats.seeds_needed_for(r, family=0)
    with pytest.raises(ValueError, match=r"`power` and `alpha` must lie in \(0, 1\)"):
        stats.seeds_needed_for(r, power=1.0)


def test_seeds_needed_for_page_and_spread_formulas() -> None:
    v = np.array([[1.0, 2.0, 3.0], [1.0, 3.0, 2.0], [2.0, 1.0, 3.0], [2.0, 3.0, 1.0]])
    page = stats.trend_test(v, increasing=True, ci=False)
    mu0, sigma0 = 3 * 16 / 4, math.sqrt(9 * 4 * 8 / 144)  # k(k+1)^2/4, k^2(k+1)(k^2-1)/144
    mu1, sigma1 = page.extra["l_mean"], page.extra["l_sd"]  # (14 + 13 + 13 + 11) / 4
    expected = math.ceil(((norm.ppf(0.95) * sigma0 + norm.ppf(0.8) * sigma1) / (mu1 - mu0)) ** 2)
    assert stats.seeds_needed_for(page).n == expected
    assert stats.seeds_needed_for(stats.trend_test(v, increasing=False, ci=False)).n is None
    # Spread: a = 0..3, b = 0, 3, 0, 3 (medians 1.5): d = 0, -2, -2, 0, mean -1, sd
    # sqrt(4/3): a one-sided t-test at delta = sqrt(3)/2 needs the smallest n with
    # noncentral-t power >= 0.8 (and at least 5 seeds, the permutation test's floor).
    spread = stats.paired_spread_test([0.0, 1.0, 2.0, 3.0], [0.0, 3.0, 0.0, 3.0], ci=False)
    delta = math.sqrt(3) / 2
    expected = next(m for m in range(2, 100)
                    if nct.sf(student.ppf(0.95, m - 1), m - 1, delta * math.sqrt(m)) >= 0.8)
    assert stats.seeds_needed_for(spread).n == max(expected, 5) == 10
    larger = stats.paired_spread_test([0.0, 1.0, 2.0, 3.0], [0.0, 3.0, 0.0, 3.0],
                                      a_smaller=False, ci=False)
    assert stats.seeds_needed_for(larger).n is None


def test_seeds_needed_for_sign_test_is_exact_binomial_power() -> None:
    def power(n: int, q: float) -> float:
        crit = next(c for c in range(n + 2) if binom.sf(c - 1, n, 0.5) < 0.05)
        return float(binom.sf(crit - 1, n, q))

    x = np.concatenate([np.full(15, 1.0), np.full(5, -1.0)])  # 75% above 0
    n = stats.seeds_needed_for(stats.one_sample_test(x, 0.0, test="sign")).n
    assert n is not None
    assert power(n, 0.75) >= 0.8 and power(n + 1, 0.75) >= 0.8
    assert any(power(m, 0.75) < 0.8 for m in range(n - 3, n))


def test_seeds_needed_for_tost_needs_both_sides() -> None:
    rng = np.random.default_rng(0)
    d = rng.normal(0, 1, 200)
    d = d - d.mean()  # observed difference exactly 0, sd ~1
    tost = stats.seeds_needed_for(stats.tost_paired(d, np.zeros(200), margin=0.5, ci=False))
    one_sided = stats.seeds_needed_for(stats.paired_test(d + 0.5, np.zeros(200), test="t"))
    assert tost.n is not None and one_sided.n is not None
    assert tost.n > one_sided.n
    # With d = 0 both sides matter equally, each needing power 1 - beta/2:
    # n ~ ((z_{1-alpha} + z_{1-beta/2}) sd / margin)^2 with beta = 0.2.
    sd = float(d.std(ddof=1))
    approx = ((norm.ppf(0.95) + norm.ppf(0.9)) * sd / 0.5) ** 2
    assert abs(tost.n - approx) <= 3
