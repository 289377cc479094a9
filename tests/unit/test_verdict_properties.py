"""Invariants of verdicts, by Hypothesis: what a claim's verdict must not depend on.

Permuting seeds changes nothing; swapping the arms of a comparison mirrors it; shifting
every value by a constant leaves a comparison or a trend alone and moves a threshold's
effect by the shift; NaN, inf, constant or all-tied inputs give a defined verdict, never a
crash or a silent p = 0.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atomcheck import Beats, Falls, Rises, Threshold
from atomcheck.sweep import Run, Samples
from atomcheck.verdict import VERDICTS

N = 8
MIRROR = {"supported": "refuted", "refuted": "supported", "inconclusive": "inconclusive"}
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

# Values on a 1/64 grid: adding a quarter-integer shift is exact in floating point, so a
# shift cannot create or break ties by rounding.
finite = st.integers(-320, 320).map(lambda i: i / 64)
rows = st.lists(st.tuples(finite, finite, finite), min_size=N, max_size=N)
ties = st.lists(st.tuples(*[st.sampled_from([0.8, 0.81, 0.82])] * 3), min_size=N, max_size=N)
special = st.sampled_from([math.nan, math.inf, -math.inf])


def table(values: np.ndarray) -> Samples:
    n, k = values.shape
    runs = [Run({"x": j + 1}, s, {"m": float(values[s, j])}, 0.0)
            for j in range(k) for s in range(n)]
    return Samples(("x",), [{"x": j + 1} for j in range(k)], list(range(n)), runs)


def same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))


@SETTINGS
@given(rows | ties, st.permutations(range(N)))
def test_permuting_seeds_changes_nothing(data: list, order: list[int]) -> None:
    values = np.array(data, dtype=float)
    for claim in (Rises("m", along="x"), Beats("m", along="x", a=1, b=2, of="mean"),
                  Threshold("m", above=0.0)):
        a, b = claim.evaluate(table(values)), claim.evaluate(table(values[order]))
        assert a.verdict == b.verdict
        assert same(a.p_value, b.p_value) and same(a.p_opposite, b.p_opposite)
        assert same(a.effect, b.effect)


@SETTINGS
@given(rows | ties, st.sampled_from(["mean", "median"]))
def test_swapping_the_arms_mirrors_the_verdict(data: list, of: str) -> None:
    s = table(np.array(data, dtype=float))
    ab = Beats("m", along="x", a=1, b=2, of=of).evaluate(s)
    ba = Beats("m", along="x", a=2, b=1, of=of).evaluate(s)
    assert ba.verdict == MIRROR[ab.verdict]
    assert same(ab.p_value, ba.p_opposite) and same(ab.p_opposite, ba.p_value)
    assert same(ab.effect, -ba.effect)
    rises, falls = Rises("m", along="x").evaluate(s), Falls("m", along="x").evaluate(s)
    assert falls.verdict == MIRROR[rises.verdict]


@SETTINGS
@given(rows, st.floats(-100, 100, allow_nan=False, width=32))
def test_a_location_shift_moves_only_what_it_should(data: list, shift: float) -> None:
    values = np.array(data, dtype=float)
    # Exact binary shifts keep the arithmetic exact, so ranks and differences stay equal.
    shift = float(np.round(shift * 4) / 4)
    base, moved = table(values), table(values + shift)
    for claim in (Rises("m", along="x"), Beats("m", along="x", a=1, b=2)):
        a, b = claim.evaluate(base), claim.evaluate(moved)
        assert a.verdict == b.verdict and same(a.p_value, b.p_value)
    a = Threshold("m", above=0.0, of="mean").evaluate(base)
    b = Threshold("m", above=shift, of="mean").evaluate(moved)
    assert same(b.effect, a.effect + shift) and same(a.p_value, b.p_value)


@SETTINGS
@given(rows | ties, st.lists(st.tuples(st.integers(0, N - 1), st.integers(0, 2), special),
                             min_size=1, max_size=4),
       st.sampled_from(["against", "omit"]))
def test_nan_and_inf_give_a_defined_verdict(data: list, holes: list, policy: str) -> None:
    values = np.array(data, dtype=float)
    for seed, level, value in holes:
        values[seed, level] = value
    for claim in (Rises("m", along="x", diverged=policy),
                  Beats("m", along="x", a=1, b=2, diverged=policy),
                  Threshold("m", above=0.0, diverged=policy)):
        v = claim.evaluate(table(values))
        assert v.verdict in VERDICTS
        if v.verdict != "error":
            assert v.p_value > 0 and v.p_opposite > 0


@SETTINGS
@given(st.floats(-5, 5, allow_nan=False, width=32), st.integers(2, 12))
def test_constant_inputs_never_give_p_zero(value: float, n: int) -> None:
    values = np.full((n, 3), value)
    for claim in (Rises("m", along="x"), Beats("m", along="x", a=1, b=2, of="mean"),
                  Threshold("m", above=value - 1.0, of="mean"), Threshold("m", below=value)):
        v = claim.evaluate(table(values))
        assert v.verdict in VERDICTS and v.p_value > 0 and v.p_opposite > 0
