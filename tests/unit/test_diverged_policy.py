"""Diverged runs never help a claim (DESIGN.md, "Verdict semantics").

By default a seed that diverged in any arm counts against the claim; ``diverged="omit"``
drops it explicitly and the verdict says so; a NaN in a metric the expectation does not
read drops nothing; too few seeds left is an ``error``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from atomcheck import Beats, Equivalent, Exact, Falls, Rises, Spread, Threshold
from atomcheck.sweep import Run, Samples

RANK = {"supported": 0, "inconclusive": 1, "refuted": 2}


def samples(values: np.ndarray, extra: dict[str, np.ndarray] | None = None) -> Samples:
    """values: seeds x levels of metric "m" along factor "x" (levels 1..k)."""
    n, k = values.shape
    configs = [{"x": j + 1} for j in range(k)]
    runs = []
    for j in range(k):
        for s in range(n):
            metrics = {"m": float(values[s, j])}
            for name, column in (extra or {}).items():
                metrics[name] = float(column[s, j])
            runs.append(Run({"x": j + 1}, s, metrics, 0.0))
    return Samples(("x",), configs, list(range(n)), runs)


EXPECTATIONS: list[tuple[Any, int]] = [
    (Rises("m", along="x"), 4),
    (Falls("m", along="x"), 4),
    (Rises("m", along="x", strict=True), 3),
    (Rises("m", along="x", min_effect=0.2), 4),
    (Beats("m", along="x", a=2, b=1), 2),
    (Beats("m", along="x", a=2, b=1, of="mean"), 2),
    (Beats("m", along="x", a=2, b=1, greater=False, of="mean"), 2),
    (Beats("m", along="x", a=2, b=1, of="mean", min_effect=0.1), 2),
    (Equivalent("m", along="x", a=1, b=2, margin=0.5), 2),
    (Threshold("m", above=0.0), 1),
    (Threshold("m", below=1.0, of="mean"), 1),
    (Threshold("m", about=0.5, margin=0.5), 1),
]


@pytest.mark.parametrize(("expectation", "k"), EXPECTATIONS,
                         ids=[f"{type(e).__name__}-{i}" for i, (e, _) in enumerate(EXPECTATIONS)])
def test_a_diverged_seed_is_worse_for_the_claim_than_any_value(expectation: Any, k: int) -> None:
    # Whatever seed 0 would have scored had it not diverged, counting it against the claim
    # leaves the claim no better off: p(claimed) no smaller, p(opposite) no larger.
    rng = np.random.default_rng(7)
    for _ in range(6):
        values = rng.normal(0, 1, (10, k)) + 0.3 * np.arange(k)
        diverged = values.copy()
        diverged[0, rng.integers(k)] = math.nan
        against = expectation.evaluate(samples(diverged))
        for candidate in (-5.0, -1.0, 0.0, 0.5, 2.0, 8.0):
            filled = values.copy()
            filled[0] = candidate + 0.1 * np.arange(k) * (1 if candidate > 0 else -1)
            other = expectation.evaluate(samples(filled))
            assert RANK[against.verdict] >= RANK[other.verdict], (candidate, against, other)
            if RANK[against.verdict] > RANK[other.verdict]:
                continue  # a worse verdict outright
            if expectation.kind == "equivalent" or getattr(expectation, "about", None):
                continue  # TOST: no one value is worst for both p-values; the verdict is
            assert against.p_value >= other.p_value - 1e-12, (candidate, against, other)
            assert against.p_opposite <= other.p_opposite + 1e-12, (candidate, other)


def test_spread_diverged_seed_counts_against() -> None:
    rng = np.random.default_rng(3)
    tight, wide = rng.normal(0, 0.1, 12), rng.normal(0, 1.0, 12)
    values = np.column_stack([tight, wide])
    claim = Spread("m", along="x", a=1, b=2)
    clean = claim.evaluate(samples(values))
    values[0, 0] = math.nan
    against = claim.evaluate(samples(values))
    assert against.p_value > clean.p_value and against.n_seeds == 12


def test_omit_drops_and_reports() -> None:
    values = np.tile(np.arange(3.0), (8, 1)) + np.linspace(0, 0.1, 8)[:, None]
    values[2, 1] = math.nan
    v = Rises("m", along="x", diverged="omit").evaluate(samples(values))
    assert v.verdict == "supported" and v.n_seeds == 7 and v.omitted == 1
    assert "1 seed(s) omitted (diverged='omit')" in v.explain()
    against = Rises("m", along="x").evaluate(samples(values))
    assert against.n_seeds == 8 and against.omitted == 0 and against.p_value > v.p_value
    assert against.effect == v.effect  # described over the seeds that did not diverge


def test_too_few_left_after_omitting_is_an_error_not_inconclusive() -> None:
    values = np.full((4, 3), math.nan)
    values[0] = [1.0, 2.0, 3.0]
    v = Rises("m", along="x", diverged="omit").evaluate(samples(values))
    assert v.verdict == "error" and "only 1 of 4 seeds left" in v.message
    assert Rises("m", along="x").evaluate(samples(values)).verdict != "error"


def test_nan_in_an_unread_metric_drops_nothing() -> None:
    values = np.tile(np.arange(3.0), (8, 1)) + np.linspace(0, 0.1, 8)[:, None]
    other = np.zeros_like(values)
    other[0, 0] = math.nan  # e.g. an auxiliary statistic undefined for one run
    s = samples(values, {"aux": other})
    v = Rises("m", along="x", diverged="omit").evaluate(s)
    assert v.n_seeds == 8 and v.omitted == 0 and v.diverged == 0
    assert Rises("aux", along="x", diverged="omit").evaluate(s).omitted == 1


def test_a_run_that_reports_divergence_is_diverged_for_every_metric() -> None:
    runs = [Run({"x": j}, s, {"m": float(j), "diverged": float(s == 0 and j == 2)}, 0.0)
            for j in (1, 2, 3) for s in range(6)]
    s = Samples(("x",), [{"x": j} for j in (1, 2, 3)], list(range(6)), runs)
    assert np.isnan(s.matrix("m")[0, 1]) and np.isfinite(s.matrix("m")[1]).all()


def test_exact_honours_the_policy() -> None:
    values = np.ones((5, 2))
    values[3, 1] = math.nan
    default = Exact("m").evaluate(samples(values))
    assert default.verdict == "refuted" and default.counterexample == 3
    omitted = Exact("m", diverged="omit").evaluate(samples(values))
    assert omitted.verdict == "supported" and omitted.omitted == 1
    assert "1 seed(s) omitted" in omitted.explain()
    gone = Exact("m", diverged="omit").evaluate(samples(np.full((3, 2), math.nan)))
    assert gone.verdict == "error"
