"""Sequential seeds keep the false-positive rate at or below alpha (atomcheck.sequential).

Each design runs >= 2,000 simulated claims through the sequential rule
(:func:`atomcheck.sequential.run_looks`) with every look's verdict from the verdict layer at
that look's alpha, on null data, and counts wrong verdicts:

- a single comparison (``Beats``, Wilcoxon) on A/A pairs: supported and refuted rates;
- a family (``Beats`` a > [b1, b2]) at its least favourable null: one member a real effect,
  the other none (intersection–union: the claim can only be wrongly supported through the
  null member);
- equivalence (``Equivalent``, paired TOST) with the true difference on the margin;
- open settings (``robust_over``: :func:`atomcheck.robust.combine`) with one setting a real
  effect and the other none.

Speed: a Wilcoxon verdict on untied data is a function of (n, W+) per member, so each
distinct statistic is sent once through the real verdict layer and re-used (the first
``CHECKED`` replications always call it and assert the re-used verdict is the same). TOST is
a t-test: its looks run through the vectorised core the verdict layer calls
(``stats._t_core``), checked equal to the verdict layer on the first ``CHECKED`` replications.
The whole module takes about 15 s of CPU; ``-s`` prints the rates.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from atomcheck import stats
from atomcheck.robust import combine
from atomcheck.sequential import Look, SequentialDesign, run_looks
from atomcheck.verdict import Beats, Equivalent, Expectation, SettingResult
from calibration import ALPHA, Sim, assert_at_most_alpha

REPS = 2000
CHECKED = 100
DESIGN = SequentialDesign(5, 10)  # fitted below: looks at 6 and 10 seeds for Wilcoxon


def w_plus(d: np.ndarray) -> int:
    """Wilcoxon's W+ of untied, non-zero differences (what the exact p-value depends on)."""
    ranks = np.argsort(np.argsort(np.abs(d))) + 1
    return int(ranks[d > 0].sum())


class Verdicts:
    """A claim's verdict on a (seeds x configs) array at a look, from the verdict layer,
    memoised on a sufficient statistic of the data (``key``) and checked while ``checking``."""

    def __init__(self, expectation: Expectation, levels: list[Any],
                 key: Callable[[np.ndarray], Any] | None) -> None:
        self.expectation, self.levels, self.key = expectation, levels, key
        self.sims: dict[int, Sim] = {}
        self.memo: dict[Any, Any] = {}
        self.checking = True
        self.calls = 0

    def __call__(self, data: np.ndarray, alpha: float) -> Any:
        key = None if self.key is None else (data.shape[0], alpha, self.key(data))
        if key is not None and key in self.memo and not self.checking:
            return self.memo[key]
        n = data.shape[0]
        sim = self.sims.setdefault(n, Sim(self.levels, n))
        self.calls += 1
        verdict = self.expectation.evaluate(sim.fill(data), alpha=alpha)
        if key is not None:
            if key in self.memo:
                assert self.memo[key].verdict == verdict.verdict, "statistic is not sufficient"
            self.memo[key] = verdict
        return verdict


def simulate(looks: list[Look], draw: Callable[[np.random.Generator], np.ndarray],
             verdict_at: Callable[[np.ndarray, float], Any], reps: int, seed: int,
             on_checked: Callable[[], None] = lambda: None) -> list[tuple[str, int]]:
    """(final verdict, seeds used) of ``reps`` sequential claims on data from ``draw``."""
    rng = np.random.default_rng(seed)
    out = []
    for r in range(reps):
        if r == CHECKED:
            on_checked()
        data = draw(rng)
        final, look, _ = run_looks(looks, lambda k: verdict_at(data[:k.n_seeds], k.alpha))
        out.append((final.verdict, look.n_seeds))
    return out


def rates(outcomes: list[tuple[str, int]], label: str) -> dict[str, int]:
    words = [w for w, _ in outcomes]
    counts = {w: words.count(w) for w in ("supported", "refuted", "inconclusive", "error")}
    seeds = np.mean([n for _, n in outcomes])
    print(f"{label}: {counts}, supported rate {counts['supported'] / len(words):.4f}, "
          f"mean seeds {seeds:.2f}")
    assert counts["error"] == 0
    return counts


def fitted(expectation: Expectation, levels: dict[str, list[Any]]) -> list[Look]:
    design = DESIGN.fit(lambda n, a: expectation.check_seeds(n, a, levels=levels), ALPHA)
    looks = design.schedule(ALPHA)
    assert len(looks) == 2 and abs(sum(k.alpha for k in looks) - ALPHA) < 1e-12
    return looks


def test_single_comparison_null():
    beats = Beats("m", along="x", a=1, b=0)
    looks = fitted(beats, {"x": [0, 1]})
    verdicts = Verdicts(beats, [0, 1], key=lambda d: w_plus(d[:, 1] - d[:, 0]))

    def draw(rng: np.random.Generator) -> np.ndarray:  # A/A: a shared per-seed effect
        return rng.normal(size=(10, 1)) + rng.normal(size=(10, 2))

    out = simulate(looks, draw, verdicts, REPS, seed=101,
                   on_checked=lambda: setattr(verdicts, "checking", False))
    counts = rates(out, "single comparison (Wilcoxon), A/A")
    assert_at_most_alpha(counts["supported"], REPS, "sequential single comparison, supported")
    assert_at_most_alpha(counts["refuted"], REPS, "sequential single comparison, refuted")


def test_family_least_favourable_null():
    beats = Beats("m", along="x", a=2, b=[0, 1])
    looks = fitted(beats, {"x": [0, 1, 2]})
    verdicts = Verdicts(beats, [0, 1, 2], key=lambda d: (w_plus(d[:, 2] - d[:, 0]),
                                                         w_plus(d[:, 2] - d[:, 1])))

    def draw(rng: np.random.Generator) -> np.ndarray:
        data = rng.normal(size=(10, 1)) + rng.normal(size=(10, 3))
        data[:, 0] -= 3.0  # a beats b=0 for real; a vs b=1 is the null member
        return data

    out = simulate(looks, draw, verdicts, REPS, seed=202,
                   on_checked=lambda: setattr(verdicts, "checking", False))
    counts = rates(out, "family a > [b0 (real), b1 (null)]")
    assert_at_most_alpha(counts["supported"], REPS, "sequential family, supported")


def test_open_settings_least_favourable_null():
    beats = Beats("m", along="x", a=1, b=0)
    looks = fitted(beats, {"x": [0, 1]})
    per_setting = Verdicts(beats, [0, 1], key=lambda d: w_plus(d[:, 1] - d[:, 0]))

    def verdict_at(data: np.ndarray, alpha: float) -> Any:
        results = [SettingResult(name, {}, per_setting(data[:, cols], alpha))
                   for name, cols in (("base", [0, 1]), ("lr=1", [2, 3]))]
        return combine(results, alpha)

    def draw(rng: np.random.Generator) -> np.ndarray:
        data = rng.normal(size=(10, 1)) + rng.normal(size=(10, 4))
        data[:, 1] += 3.0  # supported for real under the base setting; null under lr=1
        return data

    out = simulate(looks, draw, verdict_at, REPS, seed=303,
                   on_checked=lambda: setattr(per_setting, "checking", False))
    counts = rates(out, "open settings [base (real), lr=1 (null)]")
    assert_at_most_alpha(counts["supported"], REPS, "sequential open settings, supported")


def tost_words(d: np.ndarray, margin: float, alpha: float) -> np.ndarray:
    """Verdict words of paired TOST on rows of ``d`` (seeds along axis 1), as the verdict
    layer decides them: supported when both one-sided p < alpha, refuted when the doubled
    smaller p beyond the margin is."""
    _, above_low, below_low = stats._t_core(d, -margin)
    _, above_high, below_high = stats._t_core(d, margin)
    p = np.maximum(above_low, below_high)
    q = np.minimum(1.0, 2 * np.minimum(below_low, above_high))
    return np.where(p < alpha, "supported", np.where(q < alpha, "refuted", "inconclusive"))


def test_equivalence_on_the_margin():
    margin = 0.5
    equivalent = Equivalent("m", along="x", a=0, b=1, margin=margin)
    looks = fitted(equivalent, {"x": [0, 1]})
    rng = np.random.default_rng(404)
    d = margin + rng.normal(size=(REPS, 10))  # the true difference sits on the margin
    words = {k.index: tost_words(d[:, :k.n_seeds], margin, k.alpha) for k in looks}
    sim = {k.index: Sim([0, 1], k.n_seeds) for k in looks}
    for r in range(CHECKED):  # the vectorised rule is the verdict layer's
        for k in looks:
            data = np.column_stack([np.zeros(k.n_seeds), d[r, :k.n_seeds]])
            got = equivalent.evaluate(sim[k.index].fill(data), alpha=k.alpha).verdict
            assert got == words[k.index][r]
    final = np.where(words[1] != "inconclusive", words[1], words[2])
    used = np.where(words[1] != "inconclusive", looks[0].n_seeds, looks[1].n_seeds)
    counts = rates(list(zip(final.tolist(), used.tolist())), "equivalence, difference on margin")
    assert_at_most_alpha(counts["supported"], REPS, "sequential equivalence, supported")


@pytest.mark.parametrize("shift, max_mean_seeds, kept_power", [
    (2.0, 8.0, 0.95),  # a clear effect (standardised 1.4): most claims stop at 6 seeds
    (1.0, 10.0, 0.75),  # a moderate one (0.71): the Bonferroni split costs some power
])
def test_a_real_effect_stops_early_with_little_power_lost(shift, max_mean_seeds, kept_power):
    beats = Beats("m", along="x", a=1, b=0)
    looks = fitted(beats, {"x": [0, 1]})
    verdicts = Verdicts(beats, [0, 1], key=lambda d: w_plus(d[:, 1] - d[:, 0]))
    verdicts.checking = False

    def draw(rng: np.random.Generator) -> np.ndarray:
        data = rng.normal(size=(10, 2))
        data[:, 1] += shift
        return data

    reps = 1000
    out = simulate(looks, draw, verdicts, reps, seed=505)
    counts = rates(out, f"real effect {shift}, sequential")
    fixed_looks = [Look(1, 10, ALPHA, ALPHA)]
    fixed = rates(simulate(fixed_looks, draw, verdicts, reps, seed=505),
                  f"real effect {shift}, fixed")
    seeds = float(np.mean([n for _, n in out]))
    print(f"shift {shift}: power sequential {counts['supported'] / reps:.3f} vs fixed "
          f"{fixed['supported'] / reps:.3f}; mean seeds {seeds:.2f} vs 10")
    assert seeds <= max_mean_seeds
    assert counts["supported"] >= kept_power * fixed["supported"]


@pytest.mark.parametrize("spending", ["linear", "pocock"])
def test_three_looks_single_comparison(spending):
    """Three looks (6, 8, 10 seeds) under two spending functions."""
    beats = Beats("m", along="x", a=1, b=0)
    design = SequentialDesign(6, 10, looks=3, spending=spending).fit(
        lambda n, a: beats.check_seeds(n, a, levels={"x": [0, 1]}), ALPHA)
    looks = design.schedule(ALPHA)
    verdicts = Verdicts(beats, [0, 1], key=lambda d: w_plus(d[:, 1] - d[:, 0]))
    out = simulate(looks, lambda rng: rng.normal(size=(10, 1)) + rng.normal(size=(10, 2)),
                   verdicts, REPS, seed=606,
                   on_checked=lambda: setattr(verdicts, "checking", False))
    counts = rates(out, f"single comparison, looks {[k.n_seeds for k in looks]}, {spending}")
    assert_at_most_alpha(counts["supported"], REPS, "sequential 3 looks, supported")
    assert_at_most_alpha(counts["refuted"], REPS, "sequential 3 looks, refuted")


def test_the_simulation_helpers_use_the_real_rule():
    """run_looks stops at the first decisive look and keeps going past inconclusive ones."""
    looks = DESIGN.schedule(ALPHA)
    answers = iter([SimpleNamespace(verdict="inconclusive", p_value=0.5, p_opposite=0.5),
                    SimpleNamespace(verdict="refuted", p_value=1.0, p_opposite=0.001)])
    final, look, seen = run_looks(looks, lambda k: next(answers))
    assert (final.verdict, look.index, len(seen)) == ("refuted", 2, 2)
