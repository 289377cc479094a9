"""Calibration of the shapes, strict trends and floors by simulation, through the verdict
layer (the companion of ``test_stats_calibration.py``; same rules).

Every replication refills one :class:`~atomcheck.sweep.Samples` in place and calls the real
:meth:`Expectation.evaluate`. What only decorates a verdict is stubbed for speed (the per-
level summary table and the seed-count advice of an inconclusive verdict);
:func:`test_stubs_do_not_change_verdicts` checks that this changes no verdict.

On null data the share of ``supported`` verdicts must not be clearly above alpha: a test
fails only when a one-sided binomial test of the count against alpha gives p <= 0.001.
The nulls sit on the boundary of each claim, where a test is least conservative: flat
levels and "an interior level merely ties an end" (Peaks, Dips), one flat step among clear
ones (strict trends), the true effect exactly at the floor (``min_effect``), the true slope
exactly at ``above``/``below`` or at the edge of ``about ± margin`` (Slope), and a straight
line, whose first and last gains are equal (Saturates). Power: on a clear effect each kind is
supported in >= 80% of replications.

Diverged runs: a seed with a NaN counts against the claim. For the rank and sign tests
(``of="median"``) that means its claimed p-value is at least the p-value the seed would give
with any finite value, however extreme; for the mean tests (t-type) no single value can be
worse than every finite one (an outlier t tends to -1), so they are checked against the
finite values the other seeds took at that level.

Every stream is seeded, so the outcome is deterministic.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from atomcheck import stats
from atomcheck import verdict as verdict_module
from atomcheck.shapes import Dips, Peaks, Saturates, Slope
from atomcheck.sweep import Samples
from atomcheck.verdict import Beats, Expectation, Falls, LevelSummary, Rises
from calibration import ALPHA, Draw, Sim, assert_at_most_alpha, run_verdicts



def _cheap_summary(samples: Samples, config: dict[str, Any], metric: str) -> LevelSummary:
    return LevelSummary(dict(config), math.nan, (math.nan, math.nan), 0, 0, [])


def _stub_decorations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verdict_module, "_level_summary", _cheap_summary)
    monkeypatch.setattr(stats, "detectable_effect", lambda *a, **k: math.nan)
    monkeypatch.setattr(stats, "seeds_needed_for",
                        lambda *a, **k: SimpleNamespace(n=None, note=""), raising=False)


@pytest.fixture(autouse=True)
def _fast_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    _stub_decorations(monkeypatch)


def assert_power(counts: Counter, reps: int, what: str, at_least: float = 0.8) -> None:
    rate = counts["supported"] / reps
    assert rate >= at_least, f"{what}: power {rate:.3f} < {at_least}"
    assert counts["refuted"] <= 0.01 * reps, f"{what}: refuted {counts['refuted']}/{reps}"


def with_means(means: Any, noise: str = "normal", sd: float = 1.0) -> Draw:
    """Level means plus a per-seed block shared across levels (paired seeds) plus noise.

    ``lognormal``: the same on the log scale (a skewed, positive metric; flat means stay
    flat, other shapes bend); ``skewed``: additive right-skewed noise (centred lognormal),
    so the level means, and so the shape, stay as given.
    """
    mu = np.asarray(means, dtype=float)

    def draw(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
        block = rng.normal(0, 1.5, (n, 1))
        if noise == "skewed":
            return mu[None, :] + block + sd * (rng.lognormal(0, 1, (n, k)) - math.exp(0.5))
        v = mu[None, :] + block + sd * rng.normal(0, 1, (n, k))
        return np.exp(v) if noise == "lognormal" else v
    return draw


def test_binomial_check_can_fail() -> None:
    with pytest.raises(AssertionError, match="clearly above alpha"):
        assert_at_most_alpha(100, 1000, "twice alpha")
    assert_at_most_alpha(50, 1000, "at alpha")


def test_stubs_do_not_change_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    claims: list[tuple[Expectation, Draw]] = [
        (Peaks("m", along="x"), with_means([0, 0.6, 0])),
        (Saturates("m", along="x", of="mean"), with_means([0, 1.2, 1.5], sd=0.5)),
        (Slope("m", along="x", below=-0.9), _power_law(-1.0, 0.3)),
        (Rises("m", along="x", strict=True), with_means([0, 1, 2], sd=0.8)),
        (Rises("m", along="x", min_effect=0.2), with_means([0, 0.5, 1.0])),
        (Peaks("m", along="x", of="mean"), with_means([0, 1, 2], sd=0.5)),
    ]
    rng = np.random.default_rng(99)
    data = [[draw(rng, 10, 3) for _ in range(4)] for _, draw in claims]
    monkeypatch.undo()  # the real thing first
    if not hasattr(stats, "seeds_needed_for"):  # stats.py not reworked yet
        monkeypatch.setattr(stats, "seeds_needed_for",
                            lambda *a, **k: SimpleNamespace(n=None, note=""), raising=False)
    real = [[e.evaluate(Sim([1, 2, 4], 10).fill(v)) for v in vs]
            for (e, _), vs in zip(claims, data)]
    _stub_decorations(monkeypatch)
    fast = [[e.evaluate(Sim([1, 2, 4], 10).fill(v)) for v in vs]
            for (e, _), vs in zip(claims, data)]
    seen = set()
    for rs, fs in zip(real, fast):
        for r, f in zip(rs, fs):
            assert (r.verdict, r.p_value, r.p_opposite) == (f.verdict, f.p_value, f.p_opposite)
            seen.add(r.verdict)
    assert seen == {"supported", "refuted", "inconclusive"}


# --------------------------------------------------------------------------------------
# Peaks / Dips: null calibration
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "noise", "k", "reps"),
    [
        (Peaks("m", along="x"), "normal", 3, 400),
        (Peaks("m", along="x", of="mean"), "lognormal", 4, 600),
        (Peaks("m", along="x", of="mean"), "lognormal", 5, 600),
        (Dips("m", along="x"), "normal", 4, 300),
        (Dips("m", along="x", of="mean"), "normal", 5, 600),
        (Dips("m", along="x"), "lognormal", 3, 400),
    ],
    ids=["peaks-normal-3", "peaks-mean-lognormal-4", "peaks-mean-lognormal-5",
         "dips-normal-4", "dips-mean-normal-5", "dips-lognormal-3"],
)
def test_optimum_null_on_flat_levels(claim: Expectation, noise: str, k: int,
                                     reps: int) -> None:
    counts = run_verdicts(claim, Sim(list(range(1, k + 1)), 10), with_means(np.zeros(k), noise),
                          reps, seed=k)
    assert_at_most_alpha(counts["supported"], reps, f"{claim.describe()}, flat: supported")
    # "An end beats every interior level" is false on flat levels too.
    assert_at_most_alpha(counts["refuted"], reps, f"{claim.describe()}, flat: refuted")


@pytest.mark.parametrize(
    ("claim", "means"),
    [
        (Peaks("m", along="x", of="mean"), [0.0, 0.0, -4.0]),  # the interior ties the left end
        (Peaks("m", along="x"), [-4.0, -2.0, 0.0, 0.0]),  # ...the right end, on a rise
        (Dips("m", along="x", of="mean"), [0.0, 0.0, 2.0, 4.0, 4.0]),  # ties the left end
        # Three interior levels tie the left end: any of them may cross by chance, which
        # is what the Bonferroni over interior levels is for.
        (Peaks("m", along="x", of="mean"), [0.0, 0.0, 0.0, 0.0, -4.0]),
    ],
    ids=["peaks-tie-left", "peaks-plateau-right", "dips-tie", "peaks-plateau-then-drop"],
)
def test_optimum_null_where_an_interior_level_ties_an_end(claim: Expectation,
                                                          means: list[float]) -> None:
    # The least favourable null: one interior level equals an end and clearly beats the
    # other, so one of its two tests is at its boundary. Supported must stay <= alpha.
    reps = 800 if claim.of == "mean" else 300
    counts = run_verdicts(claim, Sim(list(range(1, len(means) + 1)), 10), with_means(means),
                          reps, seed=11)
    assert_at_most_alpha(counts["supported"], reps, f"{claim.describe()}, tie: supported")


# --------------------------------------------------------------------------------------
# strict trends: one flat step among clear ones
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "means", "reps"),
    [
        (Rises("m", along="x", strict=True, of="mean"), [0.0, 3.0, 3.0, 6.0], 800),
        (Rises("m", along="x", strict=True), [0.0, 0.0, 3.0, 6.0], 300),
        (Falls("m", along="x", strict=True, of="mean"), [6.0, 3.0, 0.0, 0.0], 800),
        (Falls("m", along="x", strict=True), [3.0, 3.0, 0.0], 400),
    ],
    ids=["rises-mean-middle", "rises-wilcoxon-first", "falls-mean-last", "falls-wilcoxon-3"],
)
def test_strict_trend_null_with_one_flat_step(claim: Expectation, means: list[float],
                                              reps: int) -> None:
    sim = Sim(list(range(1, len(means) + 1)), 10)
    counts = run_verdicts(claim, sim, with_means(means), reps, seed=20)
    assert_at_most_alpha(counts["supported"], reps, f"{claim.describe()}: supported")
    # Page's L, on the same data, is supported nearly always: strict is the stronger claim.
    plain = dataclasses.replace(claim, strict=False)
    page = run_verdicts(plain, sim, with_means(means), 100, seed=20)
    assert page["supported"] >= 95


# --------------------------------------------------------------------------------------
# floors: the true effect exactly at min_effect
# --------------------------------------------------------------------------------------


def _at_floor(floor: float, noise: str) -> Draw:
    def draw(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
        block = rng.normal(0, 2.0, (n, 1))
        if noise == "normal":
            d = rng.normal(0, 1, n)
        elif noise == "laplace":
            d = rng.laplace(0, 1, n)
        else:  # uniform
            d = rng.uniform(-1.5, 1.5, n)
        return block + np.column_stack([floor + d, np.zeros(n)])
    return draw


@pytest.mark.parametrize(
    ("of", "greater", "noise", "reps"),
    [
        ("mean", True, "normal", 1000),
        ("mean", False, "laplace", 800),
        ("median", True, "laplace", 600),
        ("median", False, "uniform", 600),
    ],
    ids=["mean-normal", "mean-lower-laplace", "median-laplace", "median-lower-uniform"],
)
def test_beats_floor_null_at_the_floor(of: str, greater: bool, noise: str, reps: int) -> None:
    floor = 0.5 if greater else -0.5
    claim = Beats("m", along="x", a="A", b="B", of=of, greater=greater, min_effect=floor)
    counts = run_verdicts(claim, Sim(["A", "B"], 10), _at_floor(floor, noise), reps, seed=30)
    # At the floor both "past it" and "short of it" are false: neither may exceed alpha.
    assert_at_most_alpha(counts["supported"], reps, f"{claim.describe()}: supported")
    assert_at_most_alpha(counts["refuted"], reps, f"{claim.describe()}: refuted")


def test_strict_floor_null_with_one_step_at_the_floor() -> None:
    reps = 600
    claim = Rises("m", along="x", strict=True, of="mean", min_effect=1.0)
    counts = run_verdicts(claim, Sim([1, 2, 3], 10), with_means([0.0, 1.0, 5.0]), reps, seed=31)
    assert_at_most_alpha(counts["supported"], reps, "strict floor at the floor: supported")


_PATTERNS = {1.0: [0.0, 1.0, 2.0], 1 / 3: [0.0, 2.0, 1.0], -1 / 3: [1.0, 2.0, 0.0],
             -1.0: [2.0, 1.0, 0.0]}


def _tau_mixture(taus: list[float], probs: list[float]) -> Draw:
    """3 levels; each seed's row has Kendall tau drawn from ``taus`` with ``probs``, on a
    random scale and offset (so the metric values differ while the ranks are chosen)."""
    rows = np.array([_PATTERNS[t] for t in taus])

    def draw(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
        pick = rng.choice(len(taus), size=n, p=probs)
        return rows[pick] * rng.uniform(0.5, 2.0, (n, 1)) + rng.normal(0, 3, (n, 1))
    return draw


def test_trend_floor_null_with_mean_tau_at_the_floor() -> None:
    # Each seed's tau is 1 or -1/3 with equal probability: mean tau exactly 1/3, the floor.
    reps = 1000
    claim = Rises("m", along="x", min_effect=1 / 3)
    draw = _tau_mixture([1.0, -1 / 3], [0.5, 0.5])
    counts = run_verdicts(claim, Sim([1, 2, 3], 10), draw, reps, seed=32)
    assert_at_most_alpha(counts["supported"], reps, "tau floor, symmetric null: supported")
    assert_at_most_alpha(counts["refuted"], reps, "tau floor, symmetric null: refuted")
    falls = Falls("m", along="x", min_effect=-1 / 3)
    mirrored = _tau_mixture([-1.0, 1 / 3], [0.5, 0.5])
    counts = run_verdicts(falls, Sim([1, 2, 3], 10), mirrored, 500, seed=33)
    assert_at_most_alpha(counts["supported"], 500, "Falls tau floor, symmetric null")


def test_trend_floor_null_with_tau_piled_at_the_ceiling() -> None:
    # Half the seeds perfectly ordered (tau 1), half with one adjacent swap (tau 1/3): the
    # median is anywhere in [1/3, 1], so a floor at 1/3 is the boundary of the null.
    reps = 600
    claim = Rises("m", along="x", min_effect=1 / 3)
    counts = run_verdicts(claim, Sim([1, 2, 3], 10), _tau_mixture([1.0, 1 / 3], [0.5, 0.5]),
                          reps, seed=34)
    assert_at_most_alpha(counts["supported"], reps, "tau floor at the ceiling: supported")


# --------------------------------------------------------------------------------------
# Slope: the true slope exactly at the boundary
# --------------------------------------------------------------------------------------

BATCH = [8, 16, 32, 64, 128]


def _power_law(exponent: float | Callable[[], float], sigma: float = 0.3) -> Draw:
    """y = c * x**exponent * lognormal noise, a per-seed factor shared across levels."""
    lx = np.log(np.array(BATCH, dtype=float))

    def draw(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
        b = exponent() if callable(exponent) else exponent
        x = lx[:k] if k <= lx.size else np.log(np.arange(1, k + 1, dtype=float))
        return np.exp(1.0 + b * x[None, :] + rng.normal(0, 0.7, (n, 1))
                      + sigma * rng.normal(0, 1, (n, k)))
    return draw


def _semi_log_x(slope: float) -> Draw:
    """y = 2 + slope * log x + normal noise (log x axis, linear y)."""
    lx = np.log(np.array(BATCH, dtype=float))

    def draw(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
        return 2.0 + slope * lx[None, :] + rng.normal(0, 1, (n, 1)) + 0.4 * rng.normal(0, 1,
                                                                                      (n, k))
    return draw


@pytest.mark.parametrize(
    ("claim", "draw", "reps"),
    [
        (Slope("m", along="x", above=-1.0), _power_law(-1.0), 1000),
        (Slope("m", along="x", below=-1.0), _power_law(-1.0), 1000),
        (Slope("m", along="x", above=-1.0, of="median"), _power_law(-1.0), 800),
        (Slope("m", along="x", below=0.5, log_y=False), _semi_log_x(0.5), 1000),
    ],
    ids=["above", "below", "above-median", "below-semilog"],
)
def test_slope_null_at_above_or_below(claim: Slope, draw: Draw, reps: int) -> None:
    counts = run_verdicts(claim, Sim(BATCH, 10), draw, reps, seed=40)
    assert_at_most_alpha(counts["supported"], reps, f"{claim.describe()}: supported")
    assert_at_most_alpha(counts["refuted"], reps, f"{claim.describe()}: refuted")


def test_slope_about_null_at_the_margin_edge() -> None:
    # The true slope alternates between about - margin and about + margin.
    reps = 800
    edge = itertools.cycle([-1.25, -0.75])
    claim = Slope("m", along="x", about=-1.0, margin=0.25)
    counts = run_verdicts(claim, Sim(BATCH, 10), _power_law(lambda: next(edge), sigma=0.5),
                          reps, seed=41)
    assert_at_most_alpha(counts["supported"], reps, "Slope about, at the margin edge")


# --------------------------------------------------------------------------------------
# Saturates: a straight line (first gain = last gain)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "noise", "k", "reps"),
    [
        (Saturates("m", along="x"), "normal", 4, 400),
        (Saturates("m", along="x", of="mean"), "normal", 3, 1000),
        (Saturates("m", along="x", of="mean"), "skewed", 5, 800),
        (Saturates("m", along="x", increasing=False), "skewed", 4, 400),
    ],
    ids=["median-normal-4", "mean-normal-3", "mean-skewed-5", "falling-median-skewed-4"],
)
def test_saturates_null_on_a_straight_line(claim: Saturates, noise: str, k: int,
                                           reps: int) -> None:
    # Equal steps: first gain - last gain = (e1 + e_{k-2}) - (e0 + e_{k-1}) in the noise,
    # symmetric about 0 even when the noise is skewed; the rise itself is clear.
    step = 2.0 if claim.increasing else -2.0
    counts = run_verdicts(claim, Sim(list(range(1, k + 1)), 10),
                          with_means(step * np.arange(k), noise), reps, seed=50)
    assert_at_most_alpha(counts["supported"], reps, f"{claim.describe()}: supported")


# --------------------------------------------------------------------------------------
# power on clear effects
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "levels", "draw", "reps"),
    [
        (Peaks("m", along="x"), [1, 2, 3, 4, 5], with_means([0, 1.5, 2.5, 1.5, 0]), 150),
        (Peaks("m", along="x", of="mean"), [1, 2, 3], with_means([0, 1.5, 0]), 300),
        (Dips("m", along="x"), [1, 2, 3, 4], with_means([0, -2, -2, 0], "lognormal", 0.5), 200),
        (Rises("m", along="x", strict=True, of="mean"), [1, 2, 3, 4],
         with_means([0, 1.5, 3, 4.5]), 300),
        (Falls("m", along="x", strict=True), [1, 2, 3], with_means([3, 1.5, 0]), 300),
        (Beats("m", along="x", a="A", b="B", of="mean", min_effect=0.5), ["A", "B"],
         _at_floor(0.5 + 1.5, "normal"), 400),
        (Beats("m", along="x", a="A", b="B", min_effect=0.5), ["A", "B"],
         _at_floor(0.5 + 1.5, "laplace"), 300),
        (Rises("m", along="x", min_effect=0.3), [1, 2, 3, 4, 5],
         with_means(1.2 * np.arange(5)), 300),  # mean tau 0.82
        (Slope("m", along="x", about=-1.0, margin=0.25), BATCH, _power_law(-1.0, 0.2), 400),
        (Slope("m", along="x", above=-1.5), BATCH, _power_law(-1.0), 400),
        (Slope("m", along="x", below=-0.5, of="median"), BATCH, _power_law(-1.0), 400),
        (Saturates("m", along="x"), [1, 2, 3, 4], with_means([0, 3, 4, 4.5], sd=0.5), 300),
        (Saturates("m", along="x", of="mean", increasing=False), [1, 2, 4],
         with_means([0, -3, -3.5], sd=0.5), 400),
    ],
    ids=["peaks-5", "peaks-mean-3", "dips-lognormal-4", "strict-rises-mean", "strict-falls",
         "beats-floor-mean", "beats-floor-median", "tau-floor", "slope-about", "slope-above",
         "slope-below-median", "saturates", "saturates-falling-mean"],
)
def test_power_on_a_clear_effect(claim: Expectation, levels: list[Any], draw: Draw,
                                 reps: int) -> None:
    counts = run_verdicts(claim, Sim(levels, 10), draw, reps, seed=60)
    assert_power(counts, reps, claim.describe())


def test_trend_floor_has_power_on_a_clear_trend() -> None:
    # 3 levels, +1 sd per level, 10 seeds: mean tau 0.63 against a floor of 0.2 (Page's L
    # alone: supported ~100%).
    reps = 300
    counts = run_verdicts(Rises("m", along="x", min_effect=0.2), Sim([1, 2, 3], 10),
                          with_means([0.0, 1.0, 2.0]), reps, seed=61)
    assert_power(counts, reps, "tau floor 0.2 at mean tau 0.63", at_least=0.75)


# --------------------------------------------------------------------------------------
# diverged runs count against the claim
# --------------------------------------------------------------------------------------

DIVERGE_CASES = [
    (Peaks("m", along="x"), with_means([0, 1.0, 1.5, 1.0, 0], sd=0.6)),
    (Dips("m", along="x"), with_means([0, -1.0, -1.5, -1.0, 0], sd=0.6)),
    (Saturates("m", along="x"), with_means([0, 1.5, 2.2, 2.6, 2.8], sd=0.5)),
    (Saturates("m", along="x", increasing=False), with_means([0, -1.5, -2.2, -2.6, -2.8],
                                                             sd=0.5)),
    (Slope("m", along="x", above=-1.2, of="median"), _power_law(-1.0, 0.2)),
    (Slope("m", along="x", below=-0.8, of="median"), _power_law(-1.0, 0.2)),
    (Slope("m", along="x", below=-0.01, log_y=False, log_x=False, of="median"),
     with_means([0, -1.0, -2.0, -3.0, -4.0], sd=0.5)),
]
DIVERGE_IDS = ["peaks", "dips", "saturates", "saturates-falling", "slope-above",
               "slope-below", "slope-linear"]


def _p_with(claim: Expectation, values: np.ndarray, seed: int, level: int, v: float) -> float:
    data = values.copy()
    data[seed, level] = v
    return claim.evaluate(Sim(BATCH, data.shape[0]).fill(data)).p_value


@pytest.mark.parametrize(("claim", "draw"), DIVERGE_CASES, ids=DIVERGE_IDS)
def test_nan_is_worse_than_any_finite_value_for_rank_and_sign_tests(claim: Expectation,
                                                                    draw: Draw) -> None:
    rng = np.random.default_rng(70)
    values = draw(rng, 10, 5)
    lo, hi = values.min(), values.max()
    span = hi - lo
    grid = np.concatenate([np.linspace(lo - 100 * span, hi + 100 * span, 9),
                           np.linspace(lo - span, hi + span, 13)])
    if isinstance(claim, Slope) and claim.log_y:
        grid = np.concatenate([np.geomspace(lo / 1e3, hi * 1e3, 13), values.ravel()[::5]])
    base = claim.evaluate(Sim(BATCH, 10).fill(values))
    assert base.p_value < 0.5  # a table that leans the claim's way
    for seed, level in [(0, 0), (3, 2), (7, 4), (9, 1)]:
        p_nan = _p_with(claim, values, seed, level, math.nan)
        worst_finite = max(_p_with(claim, values, seed, level, float(v)) for v in grid)
        assert p_nan >= worst_finite - 1e-12, (seed, level, p_nan, worst_finite)
        assert p_nan > base.p_value


@pytest.mark.parametrize(
    ("claim", "draw"),
    [(dataclasses.replace(c, of="mean"), d) for c, d in DIVERGE_CASES[:4]]
    + [(Slope("m", along="x", above=-1.2), _power_law(-1.0, 0.2)),
       (Slope("m", along="x", about=-1.0, margin=0.3), _power_law(-1.0, 0.2))],
    ids=[f"{i}-mean" for i in DIVERGE_IDS[:4]] + ["slope-above-mean", "slope-about"],
)
def test_nan_is_worse_than_the_values_other_seeds_took_for_mean_tests(
        claim: Expectation, draw: Draw) -> None:
    rng = np.random.default_rng(71)
    values = draw(rng, 10, 5)
    base = claim.evaluate(Sim(BATCH, 10).fill(values))
    assert base.p_value < 0.5
    for seed, level in [(0, 0), (3, 2), (7, 4), (9, 1)]:
        p_nan = _p_with(claim, values, seed, level, math.nan)
        others = np.delete(values[:, level], seed)
        worst_finite = max(_p_with(claim, values, seed, level, float(v)) for v in others)
        assert p_nan >= worst_finite - 1e-12, (seed, level, p_nan, worst_finite)
