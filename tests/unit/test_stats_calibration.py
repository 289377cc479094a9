"""Calibration by simulation, through the verdict layer.

Every replication fills a :class:`~atomcheck.sweep.Samples` (built once, its metric values
overwritten in place) and calls the real :meth:`Expectation.evaluate`, so the verdict rules,
the direction handling and the Holm correction of families are all exercised as a claim
would exercise them.

scipy's per-call overhead (hundreds of microseconds a test) bounds the replications, so
what only decorates a verdict is replaced for speed: ``stats.bootstrap_ci`` (the effect's
CI is reported, never tested) returns NaNs; ``verdict._level_summary`` (the per-level
table) and ``stats.detectable_effect`` / ``stats.seeds_needed`` (the power hints of an
inconclusive verdict) are stubbed; ``stats.kendall_tau_rows`` (the trend effect size) is
swapped for a vectorised equivalent. :func:`test_stubs_do_not_change_verdicts` and
:func:`test_fast_tau_equals_kendall_tau_rows` check that none of this changes a verdict.

On null data (A/A: the same distribution at every level / in both arms, continuous and
accuracy-like discrete) the share of ``supported`` verdicts, and of ``refuted`` verdicts
for directional claims, must not be clearly above alpha: we fail only when a one-sided
binomial test of the observed count against alpha gives p <= 0.001. Power on known
effects is compared with its theoretical value.

Replications are 200-1000 per test (one ``evaluate`` costs 0.5-10 ms, nearly all of it
scipy's per-call overhead), sized to keep this module near 15 s on 2 cores. The check flags
a true rate of twice alpha with probability 0.60 at 300 replications, 0.90 at 500 and
0.99 at 800; a true rate of alpha fails it with probability < 0.001. Every stream is seeded,
so the outcome is deterministic.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.stats import binomtest

from atomcheck import stats
from atomcheck import verdict as verdict_module
from atomcheck.verdict import Beats, Equivalent, Expectation, Falls, Rises, Spread, Threshold
from calibration import ALPHA, Draw, Sim, assert_at_most_alpha, run_verdicts

_REAL_TAU_ROWS = stats.kendall_tau_rows


def fast_tau_rows(values: np.ndarray) -> np.ndarray:
    """Kendall's tau-b between level index and value per row, vectorised."""
    v = np.asarray(values, dtype=np.float64)
    k = v.shape[1]
    i, j = np.triu_indices(k, 1)
    diff = v[:, j] - v[:, i]
    n0 = k * (k - 1) / 2
    ties = (diff == 0).sum(axis=1)
    out = np.zeros(v.shape[0])
    ok = ties < n0
    out[ok] = np.sign(diff[ok]).sum(axis=1) / np.sqrt(n0 * (n0 - ties[ok]))
    return out


def _stub_decorations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stats, "bootstrap_ci",
                        lambda *a, **k: stats.ConfidenceInterval(math.nan, math.nan))
    monkeypatch.setattr(stats, "kendall_tau_rows", fast_tau_rows)
    monkeypatch.setattr(stats, "detectable_effect", lambda *a, **k: math.nan)
    monkeypatch.setattr(stats, "seeds_needed", lambda *a, **k: None)
    monkeypatch.setattr(stats, "seeds_needed_for",
                        lambda *a, **k: SimpleNamespace(n=None, note=""), raising=False)
    blank = verdict_module.LevelSummary({}, 0.0, (0.0, 0.0), 0, 0, [])
    monkeypatch.setattr(verdict_module, "_level_summary", lambda *a, **k: blank)


@pytest.fixture(autouse=True)
def _fast_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    _stub_decorations(monkeypatch)




def normal_null(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """Same normal at every level, plus a per-seed block shared across levels (CRN)."""
    return rng.normal(0, 2, (n, 1)) + rng.normal(0, 1, (n, k))


def accuracy_null(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """Accuracy-like: binomial(100, p_seed) / 100, p_seed around 0.8 shared by a seed's levels."""
    p = np.clip(0.8 + rng.normal(0, 0.02, (n, 1)), 0.0, 1.0)
    return rng.binomial(100, np.broadcast_to(p, (n, k))) / 100


def lognormal_null(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """Right-skewed like a loss or a wall time: lognormal(0, 1) at every level, times a
    per-seed factor shared across levels."""
    return np.exp(rng.normal(0, 0.5, (n, 1)) + rng.normal(0, 1, (n, k)))


def heavy_null(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """Heavy-tailed: Student t with 3 degrees of freedom, plus a per-seed block."""
    return rng.normal(0, 1, (n, 1)) + rng.standard_t(3, (n, k))


verdicts = run_verdicts


def assert_null_calibrated(counts: Counter, reps: int, what: str, *,
                           directional: bool = True) -> None:
    assert_at_most_alpha(counts["supported"], reps, f"{what}: supported")
    if directional:
        assert_at_most_alpha(counts["refuted"], reps, f"{what}: refuted")


def test_binomial_check_can_fail() -> None:
    # The criterion has power: a rate of twice alpha over 1000 replications is flagged,
    # and a rate at alpha is not.
    with pytest.raises(AssertionError, match="clearly above alpha"):
        assert_at_most_alpha(100, 1000, "twice alpha")
    assert_at_most_alpha(50, 1000, "at alpha")


def test_fast_tau_equals_kendall_tau_rows() -> None:
    rng = np.random.default_rng(0)
    for k in (3, 4, 7):
        v = rng.normal(size=(50, k))
        v[:10] = np.round(v[:10])  # ties
        v[10] = 1.0  # a constant row
        np.testing.assert_allclose(fast_tau_rows(v), _REAL_TAU_ROWS(v), atol=1e-12)


def test_stubs_do_not_change_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    claims = [
        (Rises("m", along="x"), 4, normal_null),
        (Beats("m", along="x", a=0, b=[1, 2], margin=0.5), 3, normal_null),
        (Equivalent("m", along="x", a=0, b=1, margin=0.02), 2, accuracy_null),
        (Spread("m", along="x", a=0, b=1), 2, accuracy_null),
    ]
    rng = np.random.default_rng(99)
    data = [[rng.normal(0.3 * np.arange(k), 1, (8, k)) if draw is normal_null
             else draw(rng, 8, k) for _ in range(4)] for _, k, draw in claims]
    monkeypatch.undo()  # the real thing first
    real = [[e.evaluate(Sim({"x": list(range(k))}, 8).fill(v)) for v in vs]
            for (e, k, _), vs in zip(claims, data)]
    _stub_decorations(monkeypatch)
    fast = [[e.evaluate(Sim({"x": list(range(k))}, 8).fill(v)) for v in vs]
            for (e, k, _), vs in zip(claims, data)]
    seen = set()
    for rs, fs in zip(real, fast):
        for r, f in zip(rs, fs):
            assert (r.verdict, r.p_value, r.p_opposite) == (f.verdict, f.p_value, f.p_opposite)
            seen.add(r.verdict)
    assert seen == {"supported", "refuted", "inconclusive"}


# --------------------------------------------------------------------------------------
# null calibration, one expectation kind at a time
# --------------------------------------------------------------------------------------


def test_rises_null_continuous_exact_page() -> None:
    # 10 seeds x 4 levels: scipy's exact Page distribution.
    reps = 1000
    counts = verdicts(Rises("m", along="x"), Sim({"x": [1, 2, 3, 4]}, 10), normal_null,
                      reps, seed=1)
    assert_null_calibrated(counts, reps, "Rises, normal A/A")


@pytest.mark.parametrize("draw", [lognormal_null, heavy_null], ids=["lognormal", "t3"])
@pytest.mark.parametrize("expectation", [Rises("m", along="x"), Falls("m", along="x")],
                         ids=["rises", "falls"])
def test_trend_null_skewed_and_heavy(expectation: Expectation, draw: Draw) -> None:
    reps = 400
    counts = verdicts(expectation, Sim({"x": [1, 2, 3, 4, 5]}, 10), draw, reps, seed=21)
    assert_null_calibrated(counts, reps, f"{type(expectation).__name__}, {draw.__name__}")


def test_falls_null_discrete_asymptotic_page() -> None:
    # 25 seeds x 3 levels: the asymptotic Page p-value, with ties within rows.
    reps = 800
    counts = verdicts(Falls("m", along="x"), Sim({"x": [1, 2, 3]}, 25), accuracy_null,
                      reps, seed=2)
    assert_null_calibrated(counts, reps, "Falls, accuracy A/A")


@pytest.mark.parametrize(
    ("test", "greater", "draw", "n_seeds", "reps"),
    [
        ("mean", True, normal_null, 10, 800),
        ("mean", False, accuracy_null, 10, 600),
        ("median", True, normal_null, 10, 500),  # exact signed-rank distribution
        # Ties and zeros at 16 seeds: scipy's normal approximation. (At <= 13 seeds scipy
        # runs an exact permutation test, valid by construction but ~0.1-1 s a call.)
        ("median", False, accuracy_null, 16, 500),
        ("mean", True, lognormal_null, 10, 500),
        ("mean", False, lognormal_null, 10, 500),
        ("median", False, lognormal_null, 10, 400),
        ("mean", True, heavy_null, 10, 500),
        ("median", True, heavy_null, 10, 400),
    ],
    ids=["t-normal", "t-accuracy-lower", "wilcoxon-normal", "wilcoxon-accuracy-lower",
         "t-lognormal", "t-lognormal-lower", "wilcoxon-lognormal-lower", "t-heavy",
         "wilcoxon-heavy"],
)
def test_beats_null(test: str, greater: bool, draw: Draw, n_seeds: int, reps: int) -> None:
    claim = Beats("m", along="x", a="A", b="B", of=test, greater=greater)
    counts = verdicts(claim, Sim({"x": ["A", "B"]}, n_seeds), draw, reps, seed=3)
    assert_null_calibrated(counts, reps, f"Beats {test}, greater={greater}")


def test_equivalent_null_at_the_margin() -> None:
    # The true difference sits exactly on +margin or -margin (alternating), where the claim
    # "inside the margin" is false: supported must be <= alpha.
    reps = 400
    margin = 1.0
    sign = itertools.cycle([1.0, -1.0])

    def draw(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
        v = normal_null(rng, n, k)
        v[:, 1] += next(sign) * margin
        return v

    claim = Equivalent("m", along="x", a="ref", b="new", margin=margin)
    counts = verdicts(claim, Sim({"x": ["ref", "new"]}, 10), draw, reps, seed=4)
    assert_at_most_alpha(counts["supported"], reps, "Equivalent at the margin: supported")


def test_equivalent_null_at_the_margin_discrete() -> None:
    reps = 300

    def draw(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
        p = np.clip(0.8 + rng.normal(0, 0.02, (n, 1)), 0, 0.95)
        return rng.binomial(100, p + np.array([[0.0, 0.03]])) / 100

    claim = Equivalent("m", along="x", a="ref", b="new", margin=0.03)
    counts = verdicts(claim, Sim({"x": ["ref", "new"]}, 10), draw, reps, seed=5)
    assert_at_most_alpha(counts["supported"], reps, "Equivalent (accuracy) at the margin")


@pytest.mark.parametrize(
    ("claim", "draw", "label", "reps"),
    [
        (Threshold("m", above=0.0), lambda rng, n, k: rng.normal(0, 1, (n, k)), "above 0",
         500),
        (Threshold("m", below=0.8),
         lambda rng, n, k: rng.binomial(100, 0.8, (n, k)) / 100, "accuracy below 0.8", 500),
        (Threshold("m", above=0.0, of="mean"),
         lambda rng, n, k: rng.normal(0, 1, (n, k)), "mean above 0", 400),
        # Skewed metrics (losses, wall times): the median's sign test is exact for any
        # distribution; the mean's test must hold on both tails of a lognormal.
        (Threshold("m", above=1.0), lambda rng, n, k: np.exp(rng.normal(0, 1, (n, k))),
         "median above, lognormal", 500),
        (Threshold("m", below=1.0), lambda rng, n, k: np.exp(rng.normal(0, 1, (n, k))),
         "median below, lognormal", 500),
        (Threshold("m", above=math.exp(0.5), of="mean"),
         lambda rng, n, k: np.exp(rng.normal(0, 1, (n, k))), "mean above, lognormal", 600),
        (Threshold("m", below=math.exp(0.5), of="mean"),
         lambda rng, n, k: np.exp(rng.normal(0, 1, (n, k))), "mean below, lognormal", 600),
        (Threshold("m", below=0.0, of="mean"), lambda rng, n, k: rng.standard_t(3, (n, k)),
         "mean below, t3", 500),
        (Threshold("m", above=0.0), lambda rng, n, k: rng.standard_t(3, (n, k)),
         "median above, t3", 500),
    ],
    ids=["above-normal", "below-accuracy", "mean-above-normal", "median-above-lognormal",
         "median-below-lognormal", "mean-above-lognormal", "mean-below-lognormal",
         "mean-below-t3", "median-above-t3"],
)
def test_threshold_null_at_the_boundary(claim: Threshold, draw: Draw, label: str,
                                        reps: int) -> None:
    counts = verdicts(claim, Sim({"x": [0]}, 10), draw, reps, seed=6)
    assert_null_calibrated(counts, reps, f"Threshold {label} at the boundary")


@pytest.mark.parametrize("discrete", [False, True], ids=["normal", "accuracy"])
def test_threshold_about_null_at_the_margin_edge(discrete: bool) -> None:
    reps = 300
    if discrete:
        claim = Threshold("m", about=0.8, margin=0.03)

        def draw(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
            return rng.binomial(100, 0.83, (n, k)) / 100
    else:
        claim = Threshold("m", about=5.0, margin=1.0)

        def draw(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
            return rng.normal(6.0, 1.0, (n, k))

    counts = verdicts(claim, Sim({"x": [0]}, 10), draw, reps, seed=7)
    assert_at_most_alpha(counts["supported"], reps, "Threshold about, at the margin edge")


@pytest.mark.parametrize("draw", [normal_null, accuracy_null, lognormal_null, heavy_null],
                         ids=["normal", "accuracy", "lognormal", "t3"])
def test_spread_null(draw: Draw) -> None:
    # Pitman–Morgan, the test before the permutation test, failed the lognormal case
    # (~25%) and the t(3) case (~11%); 2,000 claims a distribution: test_spread_calibration.
    reps = 600
    counts = verdicts(Spread("m", along="x", a="A", b="B"), Sim({"x": ["A", "B"]}, 10),
                      draw, reps, seed=8)
    assert_null_calibrated(counts, reps, "Spread A/A")


# --------------------------------------------------------------------------------------
# families (intersection-union for support, Holm for refutation)
# --------------------------------------------------------------------------------------


def test_beats_family_global_null() -> None:
    # A vs three others, all four the same: family-wise 'supported' and 'any member refuted'
    # (which refutes the claim) must both stay <= alpha.
    reps = 500
    claim = Beats("m", along="x", a=0, b=[1, 2, 3], of="mean")
    counts = verdicts(claim, Sim({"x": [0, 1, 2, 3]}, 10), normal_null, reps, seed=9)
    assert_null_calibrated(counts, reps, "Beats family, global null")


def test_rises_family_global_null() -> None:
    # A second factor makes a family of two trends; the claim needs both.
    reps = 500
    sim = Sim({"y": ["u", "v"], "x": [1, 2, 3]}, 10)
    counts = verdicts(Rises("m", along="x"), sim, normal_null, reps, seed=10)
    assert_null_calibrated(counts, reps, "Rises family, global null")


def _at_margin(margin: float) -> Draw:
    def draw(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
        v = normal_null(rng, n, k)
        v[:, 0] += margin  # A beats each B by exactly the margin
        return v
    return draw


def test_beats_with_margin_at_the_boundary_is_not_refuted() -> None:
    # The claim "A beats B by at least the margin" holds with equality: the equivalence
    # test that refutes it must keep its false-refutation rate <= alpha.
    reps = 200
    margin = 1.3 * 1.833 * math.sqrt(2 / 10)  # ~1.3 critical values of the difference
    claim = Beats("m", along="x", a=0, b=1, of="mean", margin=margin)
    counts = verdicts(claim, Sim({"x": [0, 1]}, 10), _at_margin(margin), reps, seed=11)
    assert_at_most_alpha(counts["refuted"], reps, "Beats with margin at the boundary: refuted")


def test_beats_family_with_margin_at_the_boundary_is_not_refuted() -> None:
    # Same with three members: one refuted member refutes the claim, so the equivalence
    # p-values must be Holm-corrected like the others (uncorrected, this rate was ~0.12).
    reps = 200
    margin = 1.3 * 1.833 * math.sqrt(2 / 10)
    claim = Beats("m", along="x", a=0, b=[1, 2, 3], of="mean", margin=margin)
    counts = verdicts(claim, Sim({"x": [0, 1, 2, 3]}, 10), _at_margin(margin), reps,
                      seed=12)
    assert_at_most_alpha(counts["refuted"], reps,
                         "Beats family with margin at the boundary: refuted")


# --------------------------------------------------------------------------------------
# power on known effects
# --------------------------------------------------------------------------------------


def test_paired_t_power_matches_theory() -> None:
    power_mod = pytest.importorskip("statsmodels.stats.power")
    reps, n, dz = 500, 10, 1.0
    theory = power_mod.TTestPower().power(effect_size=dz, nobs=n, alpha=ALPHA,
                                          alternative="larger")

    def draw(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
        block = rng.normal(0, 2, (n, 1))
        return block + np.column_stack([rng.normal(dz, 1, n), np.zeros(n)])

    counts = verdicts(Beats("m", along="x", a="A", b="B", of="mean"), Sim({"x": ["A", "B"]}, n),
                      draw, reps, seed=13)
    p = binomtest(counts["supported"], reps, theory).pvalue
    assert p > 1e-3, f"power {counts['supported'] / reps:.3f} vs theory {theory:.3f}"
    assert counts["refuted"] == 0


def test_wilcoxon_power_close_to_t_power() -> None:
    # Asymptotic relative efficiency 3/pi = 0.955 on normal data; at 10 seeds the exact
    # signed-rank test loses a little more. It must not lose much.
    power_mod = pytest.importorskip("statsmodels.stats.power")
    reps, n, dz = 300, 10, 1.0
    t_power = power_mod.TTestPower().power(effect_size=dz, nobs=n, alpha=ALPHA,
                                           alternative="larger")

    def draw(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
        return np.column_stack([rng.normal(dz, 1, n), np.zeros(n)])

    counts = verdicts(Beats("m", along="x", a="A", b="B"), Sim({"x": ["A", "B"]}, n),
                      draw, reps, seed=14)
    rate = counts["supported"] / reps
    assert 0.8 * t_power < rate <= t_power + 0.04, (rate, t_power)


def test_clear_trend_is_detected() -> None:
    reps = 300

    def draw(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
        return normal_null(rng, n, k) + 0.8 * np.arange(k)  # +0.8 sd per level

    counts = verdicts(Rises("m", along="x"), Sim({"x": [1, 2, 3, 4]}, 10), draw, reps, seed=15)
    assert counts["supported"] / reps > 0.9
    assert counts["refuted"] == 0
    falls = verdicts(Falls("m", along="x"), Sim({"x": [1, 2, 3, 4]}, 10), draw, 100, seed=16)
    assert falls["refuted"] / 100 > 0.9 and falls["supported"] == 0


def test_equivalence_power_when_truly_equal() -> None:
    reps = 300
    claim = Equivalent("m", along="x", a="ref", b="new", margin=1.0)
    counts = verdicts(claim, Sim({"x": ["ref", "new"]}, 20), normal_null, reps, seed=17)
    # Difference sd sqrt(2), 20 seeds: TOST power about 0.9 at a true difference of 0.
    assert counts["supported"] / reps > 0.75
    assert_at_most_alpha(counts["refuted"], reps, "Equivalent, truly equal: refuted")
