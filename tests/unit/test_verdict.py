"""Verdict rules on small deterministic samples (DESIGN.md, "Verdict semantics")."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from atomcheck import stats
from atomcheck.errors import InvalidClaim
from atomcheck.sweep import Run, Samples
from atomcheck.verdict import (
    VERDICTS,
    Beats,
    Equivalent,
    Exact,
    Falls,
    Rises,
    Spread,
    Threshold,
    Verdict,
)

ALPHA = 0.05


def table(columns: Mapping[Any, Sequence[float]], factor: str = "x", metric: str = "m",
          seeds: Sequence[int] | None = None) -> Samples:
    """One factor: level -> per-seed values (NaN marks a diverged run)."""
    n = len(next(iter(columns.values())))
    seeds = list(range(n)) if seeds is None else list(seeds)
    configs = [{factor: level} for level in columns]
    runs = [Run({factor: level}, seed, {metric: float(v)}, 0.01, diverged=not math.isfinite(v))
            for level, values in columns.items() for seed, v in zip(seeds, values)]
    return Samples((factor,), configs, seeds, runs)


def grid(levels: Mapping[str, Sequence[Any]], value: Callable[..., float], n_seeds: int,
         metric: str = "m") -> Samples:
    """Several factors: ``value(seed, **config)`` for every config x seed, grid order."""
    factors = tuple(levels)
    configs = [dict(zip(factors, combo)) for combo in itertools.product(*levels.values())]
    runs = [Run(dict(c), s, {metric: float(value(s, **c))}, 0.01) for c in configs
            for s in range(n_seeds)]
    return Samples(factors, configs, list(range(n_seeds)), runs)


NOISE = np.array([0.3, -0.2, 0.1, -0.4, 0.25, -0.05, 0.15, -0.1])  # fixed, mean 0.00625


def assert_jsonable(v: Verdict) -> dict[str, Any]:
    text = json.dumps(v.to_dict(), allow_nan=False)
    return json.loads(text)


# --------------------------------------------------------------------------------------
# trend
# --------------------------------------------------------------------------------------

RISING = {1: [1.0, 1.1, 0.9, 1.2, 1.0, 0.8], 2: [2.0, 2.1, 1.5, 2.2, 1.9, 1.7],
          3: [3.0, 3.3, 2.5, 2.9, 2.8, 2.9]}


def test_rises_supported_falls_refuted() -> None:
    s = table(RISING)
    up = Rises("m", along="x").evaluate(s)
    assert up.verdict == "supported"
    assert up.kind == "trend" and up.test == "page_trend_test"
    assert up.p_value == pytest.approx(6.0**-6)  # every seed's ranks in the claimed order
    assert up.p_opposite == pytest.approx(1.0)
    assert up.effect == 1.0 and up.n_seeds == 6
    assert [lv.config for lv in up.levels] == [{"x": 1}, {"x": 2}, {"x": 3}]
    assert up.levels[0].mean == pytest.approx(np.mean(RISING[1]))
    assert up.members == []
    down = Falls("m", along="x").evaluate(s)
    assert down.verdict == "refuted"
    assert down.p_value == pytest.approx(1.0) and down.p_opposite == pytest.approx(6.0**-6)
    assert down.detectable_effect is None and down.seeds_needed is None


def test_trend_inconclusive_has_power_hints() -> None:
    s = table({1: [1, 3, 2, 1, 2, 3], 2: [2, 2, 1, 3, 3, 1], 3: [3, 1, 3, 2, 1, 2]})
    v = Rises("m", along="x").evaluate(s)
    assert v.verdict == "inconclusive"
    assert ALPHA < v.p_value < 1 and v.p_opposite > ALPHA
    assert v.detectable_effect is not None and v.detectable_effect > 0
    assert "power" in v.explain() and "smallest effect detectable at 6 seeds" in v.explain()


def test_trend_family_over_a_second_factor() -> None:
    def value(seed: int, x: int, wd: str) -> float:
        slope = 1.0 if wd == "on" else -1.0
        return slope * x + NOISE[seed] * 0.1

    s = grid({"wd": ["on", "off"], "x": [1, 2, 3]}, value, 6)
    v = Rises("m", along="x").evaluate(s)
    assert v.verdict == "refuted"
    assert [m.label for m in v.members] == ["wd=on", "wd=off"]
    assert [m.verdict for m in v.members] == ["supported", "refuted"]
    # Support is tested member by member at alpha; refutation is Holm-corrected.
    assert v.members[0].p_value == pytest.approx(6.0**-6)
    assert v.members[1].p_opposite == pytest.approx(2 * 6.0**-6)
    only_on = Rises("m", along="x", where={"wd": "on"}).evaluate(s)
    assert only_on.verdict == "supported" and only_on.members == []
    assert only_on.p_value == pytest.approx(6.0**-6)
    assert [lv.config for lv in only_on.levels] == [{"wd": "on", "x": x} for x in (1, 2, 3)]


# --------------------------------------------------------------------------------------
# compare (Beats)
# --------------------------------------------------------------------------------------

B = [0.80, 0.82, 0.79, 0.85, 0.81, 0.78, 0.83, 0.80]
A_BETTER = [b + 0.05 + 0.01 * e for b, e in zip(B, NOISE)]  # every seed better
A_MIXED = [b + 0.02 * e for b, e in zip(B, NOISE)]  # no clear difference


@pytest.mark.parametrize("of", ["mean", "median"])
def test_beats_supported_and_refuted(of: str) -> None:
    s = table({"new": A_BETTER, "old": B})
    v = Beats("m", along="x", a="new", b="old", of=of).evaluate(s)
    assert v.verdict == "supported" and v.kind == "compare"
    assert v.test == ("ttest_rel" if of == "mean" else "wilcoxon")
    assert v.effect == pytest.approx(np.mean(np.subtract(A_BETTER, B)))
    if of == "median":
        assert v.p_value == pytest.approx(2.0**-8)
    # The same data against the claim that "old" is better: refuted.
    w = Beats("m", along="x", a="old", b="new", of=of).evaluate(s)
    assert w.verdict == "refuted" and w.p_opposite < ALPHA
    # Lower is better (a loss): "new" beating "old" means new < old: refuted too.
    loss = Beats("m", along="x", a="new", b="old", of=of, greater=False).evaluate(s)
    assert loss.verdict == "refuted"
    assert loss.p_value == pytest.approx(w.p_value)


@pytest.mark.parametrize("of", ["mean", "median"])
def test_beats_inconclusive(of: str) -> None:
    v = Beats("m", along="x", a="new", b="old", of=of).evaluate(
        table({"new": A_MIXED, "old": B}))
    assert v.verdict == "inconclusive"
    assert v.p_value >= ALPHA and v.p_opposite >= ALPHA
    assert v.detectable_effect is not None and v.seeds_needed is not None
    assert v.seeds_needed > 8


def test_beats_zero_variance_difference_is_as_strong_as_a_sign_test() -> None:
    # A constant difference over n seeds is no stronger than every seed agreeing: 0.5**n.
    s = table({"new": [b + 0.01 for b in B], "old": B})
    v = Beats("m", along="x", a="new", b="old", of="mean").evaluate(s)
    assert v.verdict == "supported" and v.p_value == pytest.approx(0.5**8)
    few = Beats("m", along="x", a="new", b="old", of="mean").evaluate(
        table({"new": [b + 0.01 for b in B[:4]], "old": B[:4]}))
    assert few.verdict == "inconclusive" and few.p_value == pytest.approx(0.5**4)
    d = assert_jsonable(v)
    assert d["statistic"] is None  # inf is not JSON


def test_margin_refutes_a_directional_claim() -> None:
    # Differences within +-0.002: not significant either way, but clearly inside a margin
    # of 0.02, so "new beats old by a meaningful amount" is refuted.
    tiny = [b + 0.002 * math.copysign(1, e) for b, e in zip(B, NOISE)]
    s = table({"new": tiny, "old": B})
    plain = Beats("m", along="x", a="new", b="old", of="mean").evaluate(s)
    assert plain.verdict == "inconclusive"
    with_margin = Beats("m", along="x", a="new", b="old", of="mean", margin=0.02).evaluate(s)
    assert with_margin.verdict == "refuted"
    assert with_margin.p_value == pytest.approx(plain.p_value)
    # Refuted by the margin, not by the direction: the refutation p is the margin's.
    assert plain.p_opposite >= ALPHA and with_margin.p_opposite < ALPHA
    # A clear win larger than the margin stays supported.
    clear = Beats("m", along="x", a="new", b="old", of="mean", margin=0.02).evaluate(
        table({"new": A_BETTER, "old": B}))
    assert clear.verdict == "supported"


def test_margin_equivalence_pvalues_are_holm_corrected_in_a_family() -> None:
    def value(seed: int, x: str) -> float:
        return {"a": 0.0, "b": -0.004, "c": 0.003}[x] + 0.01 * NOISE[seed] * (x != "a")

    s = grid({"x": ["a", "b", "c"]}, value, 8)
    v = Beats("m", along="x", a="a", b=["b", "c"], of="mean", margin=0.02).evaluate(s)
    pairs = [s.matrix("m", [{"x": "a"}, {"x": other}]) for other in ("b", "c")]
    eq = [stats.tost_paired(p[:, 0], p[:, 1], margin=0.02, ci=False).pvalue for p in pairs]
    opp = [stats.paired_test(p[:, 0], p[:, 1], test="t", ci=False).pvalue_opposite
           for p in pairs]
    # One union of refuting hypotheses (both directions' opposites and both margins): Holm.
    adjusted = stats.holm(opp + eq)
    for j, member in enumerate(v.members):
        assert member.result.extra["p_equivalent"] == pytest.approx(eq[j])
        assert member.result.extra["margin"] == 0.02
        assert member.p_opposite == pytest.approx(min(adjusted[j], adjusted[2 + j]))
    assert v.verdict == "refuted"


def test_beats_family_all_supported() -> None:
    def value(seed: int, x: str) -> float:
        return {"nn": 0.9, "svm": 0.8, "rf": 0.85}[x] + 0.01 * NOISE[seed] * (x != "nn")

    s = grid({"x": ["nn", "svm", "rf"]}, value, 8)
    v = Beats("m", along="x", a="nn", b=["svm", "rf"], of="mean").evaluate(s)
    assert v.verdict == "supported"
    assert [m.label for m in v.members] == ["nn vs svm", "nn vs rf"]
    assert all(m.verdict == "supported" for m in v.members)
    raw = [m.result.pvalue for m in v.members]
    np.testing.assert_allclose([m.p_value for m in v.members], raw)  # each member at alpha
    assert v.p_value == max(m.p_value for m in v.members)
    # b=None compares against every other level: the same family.
    w = Beats("m", along="x", a="nn", of="mean").evaluate(s)
    assert [m.label for m in w.members] == ["nn vs svm", "nn vs rf"]
    assert w.verdict == "supported"


def test_beats_family_one_refuted_refutes() -> None:
    def value(seed: int, x: str) -> float:
        return {"nn": 0.9, "svm": 0.8, "rf": 0.95}[x] + 0.01 * NOISE[seed] * (x != "nn")

    s = grid({"x": ["nn", "svm", "rf"]}, value, 8)
    v = Beats("m", along="x", a="nn", b=["svm", "rf"], of="mean").evaluate(s)
    assert [m.verdict for m in v.members] == ["supported", "refuted"]
    assert v.verdict == "refuted"
    assert v.p_value == v.members[1].p_value  # the refuted member decides
    assert v.effect == pytest.approx(-0.05 - 0.01 * NOISE.mean())


def test_beats_family_one_inconclusive_is_inconclusive() -> None:
    def value(seed: int, x: str) -> float:
        return {"nn": 0.9, "svm": 0.8, "rf": 0.9}[x] + 0.01 * NOISE[seed] * (x != "nn")

    s = grid({"x": ["nn", "svm", "rf"]}, value, 8)
    v = Beats("m", along="x", a="nn", b=["svm", "rf"], of="mean").evaluate(s)
    assert [m.verdict for m in v.members] == ["supported", "inconclusive"]
    assert v.verdict == "inconclusive"
    assert v.p_value == max(m.p_value for m in v.members)


def test_family_support_is_intersection_union_without_correction() -> None:
    # Each raw one-sided p is just under alpha: "every member holds" is an intersection-
    # union test, so the family is supported with no correction (Holm would have made it
    # inconclusive).
    rng = np.random.default_rng(0)
    for _ in range(2000):
        d = rng.normal(0.7, 1.0, (8, 2))
        raw = [stats.paired_test(d[:, j], np.zeros(8), test="t", ci=False).pvalue
               for j in (0, 1)]
        if all(0.5 * ALPHA < p < ALPHA for p in raw):
            break
    else:
        pytest.fail("no dataset found")
    s = table({"a": [0.0] * 8, "b": list(-d[:, 0]), "c": list(-d[:, 1])})
    single = Beats("m", along="x", a="a", b="b", of="mean").evaluate(s)
    assert single.verdict == "supported"
    family = Beats("m", along="x", a="a", b=["b", "c"], of="mean").evaluate(s)
    assert family.verdict == "supported"
    assert all(m.verdict == "supported" for m in family.members)
    assert family.p_value == pytest.approx(max(raw))


# --------------------------------------------------------------------------------------
# equivalence
# --------------------------------------------------------------------------------------


def test_equivalent_supported_refuted_inconclusive() -> None:
    close = [b + 0.002 * math.copysign(1, e) for b, e in zip(B, NOISE)]
    s = table({"relu": B, "gelu": close})
    v = Equivalent("m", along="x", a="relu", b="gelu", margin=0.02).evaluate(s)
    assert v.verdict == "supported" and v.kind == "equivalent" and v.test == "tost_paired"
    assert v.effect == pytest.approx(np.mean(np.subtract(close, B)))
    far = [b - 0.1 + 0.01 * e for b, e in zip(B, NOISE)]
    w = Equivalent("m", along="x", a="relu", b="gelu", margin=0.02).evaluate(
        table({"relu": B, "gelu": far}))
    assert w.verdict == "refuted" and w.p_opposite < ALPHA
    noisy = [b + 0.2 * e for b, e in zip(B, NOISE)]
    u = Equivalent("m", along="x", a="relu", b="gelu", margin=0.02).evaluate(
        table({"relu": B, "gelu": noisy}))
    assert u.verdict == "inconclusive"
    assert u.p_value >= ALPHA and u.p_opposite >= ALPHA
    # The power hint reads the room left inside the margin, both sides of TOST.
    hint = stats.seeds_needed_for(stats.tost_paired(noisy, B, margin=0.02), alpha=ALPHA)
    assert u.seeds_needed == hint.n
    assert u.seeds_needed is None or u.seeds_needed > 8


def test_equivalent_against_every_other_level() -> None:
    s = table({"relu": B, "gelu": [b + 0.001 for b in B], "tanh": [b - 0.2 for b in B]})
    v = Equivalent("m", along="x", a="relu", margin=0.02).evaluate(s)
    assert [m.label for m in v.members] == ["relu vs gelu", "relu vs tanh"]
    assert [m.verdict for m in v.members] == ["supported", "refuted"]
    assert v.verdict == "refuted"
    assert "every other level" in v.expectation


# --------------------------------------------------------------------------------------
# threshold
# --------------------------------------------------------------------------------------

ACC = [0.91, 0.93, 0.92, 0.90, 0.94, 0.92]


@pytest.mark.parametrize(
    ("claim", "expected"),
    [
        (Threshold("m", above=0.85), "supported"),
        (Threshold("m", above=0.97), "refuted"),
        (Threshold("m", above=0.92), "inconclusive"),
        (Threshold("m", below=0.97), "supported"),
        (Threshold("m", below=0.85), "refuted"),
        (Threshold("m", below=0.918), "inconclusive"),
        (Threshold("m", above=0.85, of="median"), "supported"),
        (Threshold("m", about=0.92, margin=0.03), "supported"),
        (Threshold("m", about=0.80, margin=0.03), "refuted"),
        (Threshold("m", about=0.90, margin=0.02), "inconclusive"),
        # above 0.92 within +-0.05: the margin refutes "above"
        (Threshold("m", above=0.92, margin=0.05), "refuted"),
    ],
)
def test_threshold_verdicts(claim: Threshold, expected: str) -> None:
    v = claim.evaluate(table({"only": ACC}))
    assert v.verdict == expected, v.explain()
    assert v.kind == "threshold"
    center = np.mean(ACC) if claim.location == "mean" else np.median(ACC)
    assert v.effect == pytest.approx(center)


def test_threshold_family_and_where() -> None:
    def value(seed: int, lr: float, wd: float) -> float:
        return 0.9 + 0.01 * NOISE[seed] - (0.3 if lr == 1.0 else 0.0)

    s = grid({"lr": [0.1, 1.0], "wd": [0.0, 0.01]}, value, 8)
    v = Threshold("m", above=0.8).evaluate(s)
    assert len(v.members) == 4 and v.verdict == "refuted"
    assert [m.verdict for m in v.members] == ["supported", "supported", "refuted", "refuted"]
    w = Threshold("m", above=0.8, where={"lr": 0.1}).evaluate(s)
    assert w.verdict == "supported"
    assert [m.label for m in w.members] == ["lr=0.1, wd=0.0", "lr=0.1, wd=0.01"]
    assert w.total_runs == 16


# --------------------------------------------------------------------------------------
# spread
# --------------------------------------------------------------------------------------

TIGHT = [0.90, 0.91, 0.89, 0.90, 0.905, 0.895, 0.90, 0.91]
WIDE = [0.80, 0.95, 0.70, 0.99, 0.85, 0.75, 0.92, 0.60]


def test_spread_verdicts() -> None:
    s = table({"l2": TIGHT, "none": WIDE})
    v = Spread("m", along="x", a="l2", b="none").evaluate(s)
    assert v.verdict == "supported" and v.kind == "variance" and v.test == "permutation_spread"
    # Every seed's squared deviation from its level's median is smaller with l2: of the
    # 2**8 arm swaps only the observed arrangement is as extreme.
    assert v.p_value == pytest.approx(1 / 2**8)
    deviations = [np.sum((np.array(x) - np.median(x)) ** 2) for x in (TIGHT, WIDE)]
    assert v.effect == pytest.approx(np.sqrt(deviations[0] / deviations[1]))
    assert v.ci[0] < v.effect < v.ci[1] < 1
    assert Spread("m", along="x", a="none", b="l2").evaluate(s).verdict == "refuted"
    assert Spread("m", along="x", a="l2", b="none", smaller=False).evaluate(s).verdict == "refuted"
    similar = [t + 0.002 * e for t, e in zip(TIGHT, NOISE)]
    u = Spread("m", along="x", a="l2", b="none").evaluate(table({"l2": TIGHT, "none": similar}))
    assert u.verdict == "inconclusive"
    assert u.seeds_needed is None or u.seeds_needed > 8
    assert_jsonable(u)


def test_spread_refuses_too_few_seeds_to_reach_alpha() -> None:
    # The permutation test's smallest p is 0.5**n: 4 seeds give 1/16 > 0.05; a family of
    # two comparisons needs 0.5**n * 2 < 0.05, 6 seeds.
    with pytest.raises(InvalidClaim, match=r"one-sided permutation test \(smallest possible "
                                           r"p = 0.0625\)\. Use seeds>=5\.$"):
        Spread("m", along="x", a="l2", b="none").check_seeds(4, 0.05, claim_id="c")
    Spread("m", along="x", a="l2", b="none").check_seeds(5, 0.05, claim_id="c")
    three = {"x": ["l2", "none", "dropout"]}
    with pytest.raises(InvalidClaim, match=r"in a family of 2 .* Use seeds>=6\.$"):
        Spread("m", along="x", a="l2").check_seeds(5, 0.05, claim_id="c", levels=three)
    Spread("m", along="x", a="l2").check_seeds(6, 0.05, claim_id="c", levels=three)


# --------------------------------------------------------------------------------------
# exact
# --------------------------------------------------------------------------------------


def test_exact_supported_and_counterexample() -> None:
    seeds = [100, 101, 102, 103]
    ok = Exact("same").evaluate(table({"a": [1, 1, 1, 1], "b": [1, 1, 1, 1]}, metric="same",
                                      seeds=seeds))
    assert ok.verdict == "supported" and ok.kind == "exact" and ok.test == "exact"
    assert ok.counterexample is None
    bad = Exact("same").evaluate(table({"a": [1, 1, 1, 0], "b": [1, 0, 1, 1]}, metric="same",
                                       seeds=seeds))
    assert bad.verdict == "refuted"
    assert bad.counterexample == 101  # the first failing seed across configurations
    assert "counterexample  seed 101" in bad.explain()
    d = assert_jsonable(bad)
    assert d["counterexample"] == 101 and d["p_value"] is None and d["test"] == "exact"


def test_exact_diverged_run_is_a_counterexample() -> None:
    v = Exact("same").evaluate(table({"a": [1, math.nan, 1]}, metric="same", seeds=[7, 8, 9]))
    assert v.verdict == "refuted" and v.counterexample == 8
    assert v.diverged == 1 and v.total_runs == 3


# --------------------------------------------------------------------------------------
# diverged runs
# --------------------------------------------------------------------------------------

A_DIV = [0.90, 0.92, 0.91, math.nan, 0.93, 0.90]
B_DIV = [0.80, 0.82, 0.81, 0.85, 0.83, 0.80]


def test_diverged_omitted() -> None:
    v = Beats("m", along="x", a="a", b="b", of="mean", diverged="omit").evaluate(
        table({"a": A_DIV, "b": B_DIV}))
    kept = [i for i in range(6) if i != 3]
    assert v.n_seeds == 5
    assert v.effect == pytest.approx(np.mean([A_DIV[i] - B_DIV[i] for i in kept]))
    assert (v.diverged, v.total_runs) == (1, 12)
    assert [(lv.n, lv.diverged) for lv in v.levels] == [(5, 1), (6, 0)]
    assert math.isnan(v.levels[0].values[3])
    assert v.levels[0].mean == pytest.approx(np.mean([A_DIV[i] for i in kept]))
    assert "1/12 runs diverged, 1 seed(s) omitted (diverged='omit')" in v.explain()
    d = assert_jsonable(v)
    assert d["levels"][0]["values"][3] is None and d["diverged"] == 1
    assert d["diverged_policy"] == "omit" and d["omitted"] == 1


def test_diverged_counts_against_by_default() -> None:
    v = Beats("m", along="x", a="a", b="b", of="mean").evaluate(table({"a": A_DIV, "b": B_DIV}))
    assert v.n_seeds == 6 and v.diverged_policy == "against" and v.omitted == 0
    omit = Beats("m", along="x", a="a", b="b", of="mean", diverged="omit").evaluate(
        table({"a": A_DIV, "b": B_DIV}))
    # The p-values count seed 3 against the claim; the effect describes the seeds measured.
    assert v.p_value > omit.p_value and v.verdict != "supported"
    assert v.effect == pytest.approx(np.mean([A_DIV[i] - B_DIV[i] for i in range(6) if i != 3]))
    assert (v.diverged, v.total_runs) == (1, 12)
    # The level table still reports the run as diverged, not as its stand-in.
    assert (v.levels[0].n, v.levels[0].diverged) == (5, 1)


def test_too_many_omitted_is_an_error_with_a_reason() -> None:
    s = table({"a": [0.9, math.nan, math.nan], "b": [0.8, 0.8, math.nan]})
    v = Beats("m", along="x", a="a", b="b", of="mean", diverged="omit").evaluate(s)
    assert v.verdict == "error" and v.test == "none"
    assert "only 1 of 3 seeds left" in v.message and "note" in v.explain()
    assert (v.diverged, v.total_runs) == (3, 6)
    assert_jsonable(v)


# --------------------------------------------------------------------------------------
# reporting
# --------------------------------------------------------------------------------------


def _all_kinds() -> list[Verdict]:
    s = table({"a": A_BETTER, "b": B, "c": A_MIXED})
    return [
        Rises("m", along="x").evaluate(s),
        Beats("m", along="x", a="a", b=["b", "c"]).evaluate(s),
        Beats("m", along="x", a="a", b="b", of="mean", margin=0.01).evaluate(s),
        Equivalent("m", along="x", a="b", b="c", margin=0.05).evaluate(s),
        Threshold("m", about=0.8, margin=0.1).evaluate(s),
        Spread("m", along="x", a="b", b="c").evaluate(s),
        Exact("m").evaluate(s),
        Beats("m", along="x", a="a", b="b").evaluate(table({"a": A_DIV, "b": B_DIV})),
    ]


def test_to_dict_is_strict_json_for_every_kind() -> None:
    for v in _all_kinds():
        d = assert_jsonable(v)
        assert d["verdict"] in VERDICTS and d["kind"] == v.kind
        assert set(d) >= {"kind", "verdict", "test", "statistic", "p_value", "alpha", "effect",
                          "n_seeds", "metric", "levels", "members", "diverged", "total_runs"}
        assert d["effect"]["ci_level"] == 0.95
        assert len(d["members"]) == len(v.members)


def test_family_to_dict_members() -> None:
    v = _all_kinds()[1]
    d = assert_jsonable(v)
    assert [m["label"] for m in d["members"]] == ["a vs b", "a vs c"]
    assert d["members"][0]["p_value"] == pytest.approx(v.members[0].p_value)
    assert d["members"][0]["effect"]["name"] == "mean difference"


def test_explain_has_the_per_level_table() -> None:
    v = Beats("m", along="x", a="a", b=["b", "c"]).evaluate(
        table({"a": A_BETTER, "b": B, "c": A_MIXED}))
    text = v.explain()
    assert "levels    m: mean [95% CI] (n, diverged)" in text
    for level, values in (("a", A_BETTER), ("b", B), ("c", A_MIXED)):
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(f"x={level} "))
        assert f"{np.mean(values):+.4g}" in line and "(8, 0)" in line
    assert text.count("member    ") == 2
    assert "expected  m: a > b, c (paired wilcoxon, one-sided) (alpha=0.05)" in text


def test_verdict_scipy_like_surface() -> None:
    v = _all_kinds()[0]
    assert v.pvalue == v.p_value
    other = "refuted" if v.verdict != "refuted" else "supported"
    assert v.replace(verdict=other).verdict == other and v.verdict != other
    assert repr(v).startswith(f"Verdict({v.verdict!r}, test='page_trend_test', p=")


def test_alpha_is_respected() -> None:
    s = table({"new": A_MIXED, "old": B})
    v = Beats("m", along="x", a="new", b="old", of="mean").evaluate(s, alpha=0.99)
    assert v.alpha == 0.99
    assert v.verdict == ("supported" if v.p_value < 0.99 else "refuted")


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------

LEVELS = {"x": [1, 2, 3], "wd": [0.0, 0.1]}


@pytest.mark.parametrize(
    ("claim", "match"),
    [
        (Equivalent("m", along="x", a=1), r"c1: Equivalent\('m'\) needs an explicit margin > 0; "
                                          r"got margin=None"),
        (Equivalent("m", along="x", a=1, margin=0.0), r"needs an explicit margin > 0"),
        (Threshold("m"), r"c1: Threshold\('m'\) needs exactly one of above=, below= or about="),
        (Threshold("m", above=0.5, below=0.9), r"needs exactly one of above="),
        (Threshold("m", about=0.5), r"Threshold\(about=0\.5\) needs an explicit margin > 0"),
        (Rises("m", along="lr"), r"along names factor 'lr', which the sweep does not vary; "
                                 r"swept factors: \['wd', 'x'\]"),
        (Beats("m", along="lr", a=1, b=2), r"a names factor 'lr', which the sweep does not vary"),
        (Rises("m", along="x", where={"seed_x": 1}), r"where names factor 'seed_x'"),
        (Rises("m", along="x", where={"wd": 0.5}),
         r"where: level 0\.5 is not among wd=\[0\.0, 0\.1\]"),
        (Beats("m", along="x", a=9, b=1), r"a: level 9 is not among x=\[1, 2, 3\]"),
        (Beats("m", along="x", a=1, b=[2, 7]), r"b: level 7 is not among x=\[1, 2, 3\]"),
        (Falls("m", along="wd"), r"a trend along 'wd' needs >= 3 levels; got \[0\.0, 0\.1\]\. "
                                 r"Add levels, or use Beats for two"),
        (Beats("m", along="x", a=1, b=2, of="z"), r"Beats\(of='z'\): say whether the claim is "
                                                  r"about the median"),
        (Beats("m", along="x", a=1, b=2, margin=-1.0), r"margin=-1\.0 must be > 0 when given"),
        (Rises("", along="x"), r"metric='' must be a non-empty string"),
        (Rises("m", along="x", diverged="drop"), r"diverged='drop' must be 'against'"),
    ],
)
def test_validation_errors(claim: Any, match: str) -> None:
    with pytest.raises(InvalidClaim, match=match):
        claim.validate(LEVELS, claim_id="c1")


def test_valid_claims_pass_validation() -> None:
    for claim in (Rises("m", along="x", where={"wd": 0.1}), Beats("m", along="x", a=1),
                  Equivalent("m", along="wd", a=0.0, margin=0.1),
                  Threshold("m", about=0.5, margin=0.1), Spread("m", along="x", a=1, b=2),
                  Exact("m"), Beats("m", along="x", a=1, b=[2, 3], margin=0.1)):
        claim.validate(LEVELS, claim_id="c1")


def test_wilcoxon_seed_count_is_checked() -> None:
    claim = Beats("m", along="x", a=1, b=2)
    with pytest.raises(InvalidClaim, match=r"c1: seeds=4 can never reach alpha=0\.05 with a "
                                           r"one-sided Wilcoxon .* p = 0\.0625\)\. Use seeds>=5"):
        claim.check_seeds(4, 0.05, claim_id="c1")
    claim.check_seeds(5, 0.05)  # 1/32 < 0.05
    Beats("m", along="x", a=1, b=2, of="mean").check_seeds(4, 0.05)
    # alpha exactly a power of 1/2: 4 seeds give p >= 1/16, so 5 are needed.
    with pytest.raises(InvalidClaim, match=r"Use seeds>=5"):
        claim.check_seeds(4, 0.0625)
    claim.check_seeds(5, 0.0625)
    with pytest.raises(InvalidClaim, match=r"Use seeds>=7"):
        claim.check_seeds(6, 0.01)


def test_seed_count_floor() -> None:
    with pytest.raises(InvalidClaim, match=r"seeds=1 is too few for a trend claim"):
        Rises("m", along="x").check_seeds(1, 0.05)
    with pytest.raises(InvalidClaim, match=r"seeds=0: an exact claim needs >= 1 seed"):
        Exact("m").check_seeds(0, 0.05)
    Exact("m").check_seeds(1, 0.05)


def test_unknown_metric_is_refused_at_evaluation() -> None:
    with pytest.raises(InvalidClaim, match=r"reads metric 'acc', but the training function "
                                           r"returned \['m', 'wall_s'\]"):
        Rises("acc", along="x").evaluate(table(RISING))
    with pytest.raises(InvalidClaim, match=r"reads metric 'acc'"):
        Exact("acc").evaluate(table(RISING))
    # wall_s is always available
    assert Rises("wall_s", along="x").evaluate(table(RISING)).metric == "wall_s"


def test_margin_refutes_a_significant_but_trivial_effect() -> None:
    # Every seed is 0.001 better: significant, but far inside a margin of 0.05.
    s = table({"new": [0.801 + 0.01 * i for i in range(10)],
               "old": [0.800 + 0.01 * i for i in range(10)]})
    assert Beats("m", along="x", a="new", b="old", of="mean").evaluate(s).verdict == "supported"
    trivial = Beats("m", along="x", a="new", b="old", of="mean", margin=0.05).evaluate(s)
    assert trivial.verdict == "refuted"


def test_threshold_wilcoxon_floor() -> None:
    with pytest.raises(InvalidClaim, match=r"seeds=4 can never reach alpha=0.05"):
        Threshold("m", above=0.5, of="median").check_seeds(4, 0.05, claim_id="demo")
    Threshold("m", above=0.5, of="mean").check_seeds(4, 0.05, claim_id="demo")


def test_wilcoxon_floor_counts_the_holm_family() -> None:
    levels = {"x": ["new", "old", "older"], "size": [10, 100]}
    beats = Beats("m", along="x", a="new", b=["old", "older"])
    # 4 members (2 rivals x 2 sizes): 6 seeds give at best 4/64 = 0.0625.
    with pytest.raises(InvalidClaim, match=r"seeds=6 can never reach alpha=0.05 with a one-sided "
                                           r"Wilcoxon signed-rank test in a family of 4 "
                                           r"\(smallest possible p = 0.0625\)\. Use seeds>=7"):
        beats.check_seeds(6, 0.05, claim_id="demo", levels=levels)
    beats.check_seeds(7, 0.05, claim_id="demo", levels=levels)
    # where= fixes a factor, so the family shrinks to 2 members.
    Beats("m", along="x", a="new", b=["old", "older"], where={"size": 10}).check_seeds(
        6, 0.05, claim_id="demo", levels=levels)
    with pytest.raises(InvalidClaim, match=r"sign test in a family of 2"):
        Threshold("m", above=0.5, of="median").check_seeds(
            5, 0.05, claim_id="demo", levels={"size": [10, 100]})


def _columns_samples(rows: list[list[float]]) -> Any:
    from atomcheck.sweep import Run, Samples

    runs = [Run({}, seed, {f"c{j}": v for j, v in enumerate(row)}, 0.0)
            for seed, row in enumerate(rows)]
    return Samples((), [{}], list(range(len(rows))), runs)


def test_trend_across_metric_columns_of_one_run() -> None:
    from atomcheck.verdict import Falls, Rises

    rows = [[3.0 + s, 2.0 + s, 1.0 + s] for s in range(8)]
    samples = _columns_samples(rows)
    across = {1: "c0", 2: "c1", 3: "c2"}
    falls = Falls("c", along="layer", across=across).evaluate(samples)
    assert falls.verdict == "supported" and falls.effect == -1.0
    assert [lv.config for lv in falls.levels] == [{"layer": 1}, {"layer": 2}, {"layer": 3}]
    assert falls.levels[0].mean == pytest.approx(6.5)
    assert Rises("c", along="layer", across=across).evaluate(samples).verdict == "refuted"
    assert "falls across layer [1, 2, 3]" in falls.expectation


def test_trend_across_validation() -> None:
    from atomcheck.verdict import Falls

    with pytest.raises(InvalidClaim, match=r"across= must map >= 3 ordered levels"):
        Falls("c", across={1: "c0", 2: "c1"}).validate({}, claim_id="demo")
    with pytest.raises(InvalidClaim, match=r"along='x' names the levels of across="):
        Falls("c", along="x", across={1: "a", 2: "b", 3: "c"}).validate({"x": [1]},
                                                                       claim_id="demo")
    with pytest.raises(InvalidClaim, match=r"reads metric 'c2', but the training function "):
        Falls("c", across={1: "c0", 2: "c1", 3: "c2"}).check_metric({"c0": 1, "c1": 2})
