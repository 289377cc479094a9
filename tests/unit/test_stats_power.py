"""The seed counts :func:`atomcheck.stats.seeds_needed_for` suggests deliver the power.

For every kind of test: data with a known effect that 10 seeds usually leave inconclusive;
the advice is computed from a result on a very large sample (the population, in effect);
then thousands of experiments at the suggested seed count must support the claim at least
75% of the time (the advice targets 80%). Also: an effect on the wrong side gets no
count, a family of claims gets more seeds, TOST needs more seeds than a one-sided test.

Simulations use the same vectorised cores as the public functions (checked equal in
``test_stats_null.py``) or, for rank tests, one real call per distinct statistic value.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy.stats import norm, rankdata

from atomcheck import stats

ALPHA = 0.05
REPS = 2000
BIG = 100_000
MIN_POWER = 0.75


def wilcoxon_plus(d: np.ndarray) -> np.ndarray:
    ranks = rankdata(np.abs(d), axis=-1)
    return np.where(d > 0, ranks, 0.0).sum(axis=-1)


def page_l(values: np.ndarray) -> np.ndarray:
    return rankdata(values, axis=-1).sum(axis=1) @ np.arange(1, values.shape[-1] + 1)


def by_statistic(statistic: np.ndarray, rows: np.ndarray,
                 call: Callable[[np.ndarray], stats.TestResult]) -> np.ndarray:
    """The claimed-direction p-value per row, one real call per distinct statistic."""
    _, first, inverse = np.unique(statistic, return_index=True, return_inverse=True)
    return np.array([call(rows[i]).pvalue for i in first])[inverse]


class Case:
    """A kind of claim: how to draw n seeds of data and how to test them, vectorised."""

    def __init__(self, draw: Callable[[np.random.Generator, int, int], np.ndarray],
                 pvalues: Callable[[np.ndarray], np.ndarray],
                 result: Callable[[np.ndarray], stats.TestResult], big: int = BIG) -> None:
        self.draw, self.pvalues, self.result, self.big = draw, pvalues, result, big

    def power(self, n: int, seed: int) -> float:
        data = self.draw(np.random.default_rng(seed), REPS, n)
        return float(np.mean(self.pvalues(data) < ALPHA))

    def advice(self, **kwargs: float) -> stats.SeedAdvice:
        population = self.result(self.draw(np.random.default_rng(12345), 1, self.big)[0])
        return stats.seeds_needed_for(population, alpha=ALPHA, **kwargs)


def normal_shift(loc: float) -> Callable[[np.random.Generator, int, int], np.ndarray]:
    return lambda rng, reps, n: rng.normal(loc, 1.0, size=(reps, n))


def trend(rng: np.random.Generator, reps: int, n: int) -> np.ndarray:
    return (rng.normal(0, 2, size=(reps, n, 1)) + 0.15 * np.arange(4)
            + rng.normal(size=(reps, n, 4)))


def spread_pairs(rng: np.random.Generator, reps: int, n: int) -> np.ndarray:
    z = rng.normal(size=(reps, n, 2))
    return np.stack([0.7 * z[..., 0], 0.5 * z[..., 0] + np.sqrt(0.75) * z[..., 1]], axis=-1)


def accuracies(rng: np.random.Generator, reps: int, n: int) -> np.ndarray:
    return rng.binomial(20, 0.85, size=(reps, n)) / 20.0  # ties with the value 0.8


def tost_p(core: Callable[..., tuple[np.ndarray, ...]], margin: float
           ) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: np.maximum(core(x, -margin)[1], core(x, margin)[2])


CASES: dict[str, Case] = {
    "paired t": Case(normal_shift(0.45), lambda d: stats._t_core(d)[1],
                     lambda d: stats.paired_test(d, np.zeros(d.size), test="t", ci=False)),
    "paired Wilcoxon": Case(
        normal_shift(0.45),
        lambda d: by_statistic(wilcoxon_plus(d), d, lambda row: stats.paired_test(
            row, np.zeros(row.size), ci=False)),
        lambda d: stats.paired_test(d, np.zeros(d.size), ci=False)),
    "one-sample Student t": Case(
        normal_shift(0.45), lambda x: stats._t_core(x)[1],
        lambda x: stats.one_sample_test(x, 0.0, test="student", ci=False)),
    "one-sample mean test": Case(
        normal_shift(0.45), lambda x: stats._skew_t_core(x)[1],
        lambda x: stats.one_sample_test(x, 0.0, ci=False)),
    "sign test": Case(normal_shift(0.45), lambda x: stats._sign_core(x)[1],
                      lambda x: stats.one_sample_test(x, 0.0, test="sign", ci=False)),
    "sign test with ties": Case(accuracies, lambda x: stats._sign_core(x - 0.8)[1],
                                lambda x: stats.one_sample_test(x, 0.8, test="sign", ci=False)),
    "Page's L": Case(
        trend,
        lambda v: by_statistic(page_l(v), v, lambda w: stats.trend_test(w, increasing=True,
                                                                        ci=False)),
        lambda v: stats.trend_test(v, increasing=True, ci=False)),
    # The permutation test runs 10,000 arm swaps over every seed: 10,000 seeds are
    # population enough for its per-seed mean and sd.
    "paired spread": Case(
        spread_pairs, lambda p: stats._spread_core(p[..., 0], p[..., 1])[0],
        lambda p: stats.paired_spread_test(p[:, 0], p[:, 1], ci=False), big=10_000),
    "paired TOST": Case(normal_shift(0.1), tost_p(stats._t_core, 0.55),
                        lambda d: stats.tost_paired(d, np.zeros(d.size), margin=0.55, ci=False)),
    "one-sample TOST": Case(normal_shift(0.1), tost_p(stats._skew_t_core, 0.6),
                            lambda x: stats.tost_one_sample(x, 0.0, margin=0.6, ci=False)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_suggested_seed_count_gives_the_power(name: str) -> None:
    case = CASES[name]
    at_ten = case.power(10, seed=1)
    advice = case.advice()
    assert advice.n is not None, advice.note
    achieved = case.power(advice.n, seed=2)
    print(f"{name}: power {at_ten:.3f} at 10 seeds; suggested {advice.n} seeds -> "
          f"power {achieved:.3f} ({advice.note})")
    assert at_ten < MIN_POWER and advice.n > 10  # inconclusive at 10 seeds, more help
    assert achieved >= MIN_POWER, f"{name}: {advice.n} seeds give power {achieved:.3f}"


def test_suggested_seed_count_is_not_wasteful() -> None:
    # For the t-test the count is the noncentral-t answer: 20% fewer seeds fall short.
    case = CASES["paired t"]
    n = case.advice().n
    assert n is not None
    assert case.power(int(0.8 * n), seed=3) < 0.8 <= case.power(n, seed=3) + 0.02


def test_family_members_all_pass_at_the_suggested_count() -> None:
    # Three members that must all pass (each at alpha): power 0.8 for the family.
    case = CASES["paired t"]
    one, three = case.advice().n, case.advice(family=3).n
    assert one is not None and three is not None and three > one
    rng = np.random.default_rng(4)
    members = [stats._t_core(rng.normal(0.45, 1.0, size=(REPS, three)))[1] < ALPHA
               for _ in range(3)]
    family_power = float(np.mean(np.logical_and.reduce(members)))
    print(f"family of 3: {three} seeds (one member alone: {one}) -> power {family_power:.3f}")
    assert family_power >= MIN_POWER


def test_tost_needs_more_seeds_than_a_one_sided_test() -> None:
    # Equivalence at d = 0 with margin 0.5 against "d > 0" with true d = 0.5: same distance
    # to the boundary, but TOST must pass two one-sided tests.
    tost = Case(normal_shift(0.0), tost_p(stats._t_core, 0.5),
                lambda d: stats.tost_paired(d, np.zeros(d.size), margin=0.5, ci=False))
    n_tost, n_one = tost.advice().n, CASES["paired t"].advice().n
    assert n_tost is not None and n_one is not None
    assert n_tost > n_one
    assert tost.power(n_tost, seed=5) >= MIN_POWER


WRONG_WAY = {
    "paired t": lambda d: stats.paired_test(d, np.zeros(d.size), greater=False, test="t"),
    "paired Wilcoxon": lambda d: stats.paired_test(d, np.zeros(d.size), greater=False),
    "one-sample mean test": lambda x: stats.one_sample_test(x, 0.0, greater=False),
    "sign test": lambda x: stats.one_sample_test(x, 0.0, greater=False, test="sign"),
    "Page's L": lambda v: stats.trend_test(v, increasing=False, ci=False),
    "paired spread": lambda p: stats.paired_spread_test(p[:, 0], p[:, 1], a_smaller=False,
                                                        ci=False),
    "paired TOST": lambda d: stats.tost_paired(d + 1.0, np.zeros(d.size), margin=0.55),
}


@pytest.mark.parametrize("name", list(WRONG_WAY))
def test_no_seed_count_for_an_effect_on_the_wrong_side(name: str) -> None:
    data = CASES[name].draw(np.random.default_rng(6), 1, 5000)[0]
    advice = stats.seeds_needed_for(WRONG_WAY[name](data))
    assert advice.n is None
    assert "opposite side of the claim" in advice.note or "outside the margin" in advice.note


def test_advice_is_consistent_with_the_normal_theory_count() -> None:
    # Sanity anchor: for the paired t-test at dz = 0.45, (z_0.95 + z_0.8)^2 / dz^2 ~ 30.5
    # seeds, plus about 2 for the t distribution's heavier tails.
    n = CASES["paired t"].advice().n
    assert n is not None
    assert abs(n - ((norm.ppf(0.95) + norm.ppf(0.8)) / 0.45) ** 2) <= 4
