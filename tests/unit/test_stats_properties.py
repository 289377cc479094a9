"""Invariances of :mod:`atomcheck.stats`, checked by Hypothesis.

- Seeds are exchangeable: permuting them (rows) changes no p-value and no effect.
- Swapping the arms of a paired test swaps ``pvalue`` and ``pvalue_opposite`` and negates
  the effect (inverts it for a ratio); so does reversing a trend claim.
- Shifting both arms by c leaves a paired test unchanged; shifting a sample and its
  threshold by c leaves a one-sample test unchanged and moves the mean by c.
- NaN or inf raise ValueError with a message naming the problem.
- Constant and heavily tied samples give defined results: every p in (0, 1], no warning
  (``filterwarnings = error`` makes any warning fail the test).

Samples are multiples of 1/4 of modest size, so that the shifts are exact in floating
point and an invariance failure is a real one, not round-off.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atomcheck import stats

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)

quarters = st.integers(-400, 400).map(lambda k: k / 4)


@st.composite
def samples(draw: st.DrawFn, min_size: int = 3, max_size: int = 14,
            distinct: int | None = None) -> np.ndarray:
    """A 1-D sample; with ``distinct``, drawn from that many values (heavy ties)."""
    n = draw(st.integers(min_size, max_size))
    if distinct is None:
        return np.array(draw(st.lists(quarters, min_size=n, max_size=n)))
    pool = draw(st.lists(quarters, min_size=distinct, max_size=distinct))
    return np.array([pool[i] for i in draw(st.lists(st.integers(0, distinct - 1),
                                                     min_size=n, max_size=n))])


@st.composite
def pairs(draw: st.DrawFn, distinct: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    a = draw(samples(distinct=distinct))
    if distinct is None:
        b = np.array(draw(st.lists(quarters, min_size=a.size, max_size=a.size)))
    else:
        b = np.array(draw(st.lists(st.sampled_from(sorted(set(a.tolist()))),
                                   min_size=a.size, max_size=a.size)))
    return a, b


@st.composite
def level_matrices(draw: st.DrawFn) -> np.ndarray:
    k = draw(st.integers(3, 5))
    rows = draw(st.lists(st.lists(quarters, min_size=k, max_size=k), min_size=2, max_size=12))
    return np.array(rows)


PAIRED: dict[str, Callable[..., stats.TestResult]] = {
    "paired t": lambda a, b, **kw: stats.paired_test(a, b, test="t", ci=False, **kw),
    "paired Wilcoxon": lambda a, b, **kw: stats.paired_test(a, b, ci=False, **kw),
}
ONE_SAMPLE = {
    test: (lambda x, v, test=test, **kw: stats.one_sample_test(x, v, test=test, ci=False, **kw))
    for test in ("t", "student", "sign", "wilcoxon")
}


def same(first: stats.TestResult, second: stats.TestResult) -> None:
    assert first.pvalue == pytest.approx(second.pvalue, rel=1e-9, abs=1e-15)
    assert first.pvalue_opposite == pytest.approx(second.pvalue_opposite, rel=1e-9, abs=1e-15)
    if math.isnan(first.effect):
        assert math.isnan(second.effect)
    else:
        assert first.effect == pytest.approx(second.effect, rel=1e-9, abs=1e-12)


def valid_p(result: stats.TestResult) -> None:
    for p in (result.pvalue, result.pvalue_opposite):
        assert 0.0 < p <= 1.0, result


# --------------------------------------------------------------------------------------
# seeds are exchangeable
# --------------------------------------------------------------------------------------


@SETTINGS
@given(pairs(), st.randoms(use_true_random=False), st.booleans())
def test_permuting_seeds_changes_nothing_paired(ab: tuple[np.ndarray, np.ndarray], random: Any,
                                                greater: bool) -> None:
    a, b = ab
    order = list(range(a.size))
    random.shuffle(order)
    for test in PAIRED.values():
        same(test(a, b, greater=greater), test(a[order], b[order], greater=greater))
    same(stats.tost_paired(a, b, margin=3.0, ci=False),
         stats.tost_paired(a[order], b[order], margin=3.0, ci=False))
    same(stats.paired_spread_test(a, b, ci=False),
         stats.paired_spread_test(a[order], b[order], ci=False))


@SETTINGS
@given(samples(), quarters, st.randoms(use_true_random=False), st.booleans())
def test_permuting_seeds_changes_nothing_one_sample(x: np.ndarray, value: float, random: Any,
                                                    greater: bool) -> None:
    order = list(range(x.size))
    random.shuffle(order)
    for test in ONE_SAMPLE.values():
        same(test(x, value, greater=greater), test(x[order], value, greater=greater))
    same(stats.tost_one_sample(x, value, margin=5.0, ci=False),
         stats.tost_one_sample(x[order], value, margin=5.0, ci=False))


@SETTINGS
@given(level_matrices(), st.randoms(use_true_random=False), st.booleans())
def test_permuting_seeds_changes_nothing_trend(values: np.ndarray, random: Any,
                                               increasing: bool) -> None:
    order = list(range(values.shape[0]))
    random.shuffle(order)
    first = stats.trend_test(values, increasing=increasing, ci=False)
    second = stats.trend_test(values[order], increasing=increasing, ci=False)
    same(first, second)
    assert first.extra["l_mean"] == pytest.approx(second.extra["l_mean"])


# --------------------------------------------------------------------------------------
# swapping arms, reversing levels
# --------------------------------------------------------------------------------------


@SETTINGS
@given(pairs(), st.booleans())
def test_swapping_arms_swaps_the_pvalues(ab: tuple[np.ndarray, np.ndarray],
                                         greater: bool) -> None:
    a, b = ab
    for test in PAIRED.values():
        forward, back = test(a, b, greater=greater), test(b, a, greater=greater)
        assert back.pvalue == pytest.approx(forward.pvalue_opposite, rel=1e-12)
        assert back.pvalue_opposite == pytest.approx(forward.pvalue, rel=1e-12)
        assert back.effect == pytest.approx(-forward.effect, abs=1e-12)
    forward = stats.paired_spread_test(a, b, ci=False)
    back = stats.paired_spread_test(b, a, ci=False)
    assert back.pvalue == pytest.approx(forward.pvalue_opposite, rel=1e-9)
    assert back.pvalue_opposite == pytest.approx(forward.pvalue, rel=1e-9)
    if 0 < forward.effect < math.inf:
        assert back.effect == pytest.approx(1 / forward.effect, rel=1e-12)


@SETTINGS
@given(level_matrices())
def test_reversing_the_claim_swaps_the_trend_pvalues(values: np.ndarray) -> None:
    up = stats.trend_test(values, increasing=True, ci=False)
    down = stats.trend_test(values, increasing=False, ci=False)
    assert (down.pvalue, down.pvalue_opposite) == (up.pvalue_opposite, up.pvalue)
    assert down.effect == up.effect  # the effect keeps its sign: tau against the level order
    # Reversing the levels and the claim is the same claim, with the tau negated.
    mirrored = stats.trend_test(values[:, ::-1], increasing=False, ci=False)
    assert mirrored.pvalue == pytest.approx(up.pvalue, rel=1e-12)
    assert mirrored.pvalue_opposite == pytest.approx(up.pvalue_opposite, rel=1e-12)
    assert mirrored.effect == pytest.approx(-up.effect, abs=1e-12)


# --------------------------------------------------------------------------------------
# location shifts
# --------------------------------------------------------------------------------------


@SETTINGS
@given(pairs(), quarters)
def test_shifting_both_arms_changes_nothing(ab: tuple[np.ndarray, np.ndarray],
                                            c: float) -> None:
    a, b = ab
    for test in PAIRED.values():
        same(test(a, b), test(a + c, b + c))
    same(stats.tost_paired(a, b, margin=2.0, ci=False),
         stats.tost_paired(a + c, b + c, margin=2.0, ci=False))
    same(stats.paired_spread_test(a, b, ci=False),
         stats.paired_spread_test(a + c, b + c, ci=False))


@SETTINGS
@given(samples(), quarters, quarters)
def test_shifting_a_sample_and_its_threshold_shifts_the_effect(x: np.ndarray, value: float,
                                                               c: float) -> None:
    for name, test in ONE_SAMPLE.items():
        before, after = test(x, value), test(x + c, value + c)
        assert after.pvalue == pytest.approx(before.pvalue, rel=1e-9, abs=1e-15), name
        assert after.pvalue_opposite == pytest.approx(before.pvalue_opposite, rel=1e-9,
                                                      abs=1e-15), name
        assert after.effect == pytest.approx(before.effect + c, abs=1e-9), name
    with_ci = stats.one_sample_test(x, value), stats.one_sample_test(x + c, value + c)
    assert with_ci[1].ci.low == pytest.approx(with_ci[0].ci.low + c, abs=1e-9)
    assert with_ci[1].ci.high == pytest.approx(with_ci[0].ci.high + c, abs=1e-9)


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------

BAD = [math.nan, math.inf, -math.inf]


@SETTINGS
@given(samples(), st.sampled_from(BAD), st.data())
def test_nan_and_inf_raise_a_clear_error(x: np.ndarray, bad: float, data: st.DataObject) -> None:
    where = data.draw(st.integers(0, x.size - 1))
    broken = x.copy()
    broken[where] = bad
    message = r"contains NaN or inf; drop or replace diverged runs first"
    calls: list[Callable[[], Any]] = [
        lambda: stats.paired_test(broken, x),
        lambda: stats.paired_test(x, broken, test="t"),
        lambda: stats.tost_paired(broken, x, margin=1.0),
        lambda: stats.paired_spread_test(x, broken),
        lambda: stats.spread_test(broken, x),
        lambda: stats.tost_one_sample(broken, 0.0, margin=1.0),
        lambda: stats.trend_test(np.column_stack([x, broken, x]), increasing=True),
        *[lambda t=t: stats.one_sample_test(broken, 0.0, test=t)
          for t in ("t", "student", "sign", "wilcoxon")],
    ]
    for call in calls:
        with pytest.raises(ValueError, match=message):
            call()


# --------------------------------------------------------------------------------------
# constant and tied samples
# --------------------------------------------------------------------------------------


def every_test(a: np.ndarray, b: np.ndarray) -> list[stats.TestResult]:
    """Every test in the module on one pair of samples, CIs included."""
    results = [stats.paired_test(a, b, test="t"), stats.paired_test(a, b),
               stats.tost_paired(a, b, margin=1.0), stats.spread_test(a, b),
               stats.trend_test(np.column_stack([a, b, a + b]), increasing=True)]
    value = float(np.median(a))
    results += [stats.one_sample_test(a, value, test=t) for t in ("t", "student", "sign",
                                                                  "wilcoxon")]
    results.append(stats.tost_one_sample(a, value, margin=1.0))
    if a.size >= 3:
        results.append(stats.paired_spread_test(a, b))
    return results


@SETTINGS
@given(quarters, quarters, st.integers(2, 14))
def test_constant_samples_give_defined_results(u: float, v: float, n: int) -> None:
    a, b = np.full(n, u), np.full(n, v)
    for result in every_test(a, b):
        valid_p(result)
        if result.test in ("ttest_rel", "ttest_1samp", "ttest_1samp_skew", "tost_paired"):
            # Zero variance: never stronger than an exact sign test over n seeds.
            assert min(result.pvalue, result.pvalue_opposite) >= 0.5**n


@SETTINGS
@given(pairs(distinct=2))
def test_heavily_tied_samples_give_defined_results(ab: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = ab
    for result in every_test(a, b):
        valid_p(result)
        assert not (math.isnan(result.ci.low) ^ math.isnan(result.ci.high))
        if not math.isnan(result.ci.low):
            assert result.ci.low <= result.ci.high


@SETTINGS
@given(st.integers(3, 30), st.floats(0.05, 0.95), st.integers(0, 2**31 - 1))
def test_accuracy_like_values_give_defined_results(n: int, p: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.binomial(50, p, n) / 50, rng.binomial(50, p, n) / 50
    for result in every_test(a, b):
        valid_p(result)
