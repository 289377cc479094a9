"""Sequential seeds keep the false-positive rate at or below alpha (atomcheck.sequential).

Each design is the default one (``sequential=True``) fitted to the expectation exactly as a
claim fits it (``SequentialDesign.fit`` on ``check_seeds``; no look before the expectation's
``first_look()``). Every design runs >= 2,000 simulated claims through the
sequential rule (:func:`atomcheck.sequential.run_looks`) with each look's verdict at that
look's alpha, on null data, and counts wrong verdicts:

- a single comparison (``Beats``, Wilcoxon: looks at 6 and 10 seeds) on A/A pairs with
  normal, skewed (lognormal) and tied (coarsely rounded) metrics, and over 20 seeds (looks
  at 6, 10 and 20): supported and refuted rates;
- a family (``Beats`` a > [b1, b2]: looks at 7 and 10) at its least favourable null: one
  member a real effect, the other none (intersection–union: the claim can only be wrongly
  supported through the null member);
- open settings (``robust_over``: :func:`atomcheck.robust.combine`) with one setting a real
  effect and the other none;
- equivalence (``Equivalent``, paired TOST: looks at 5 and 10; 5, 15 and 30) with the true
  difference on the margin, normal and heavy-tailed (t, 3 df) differences;
- a trend (``Rises``, Page's test: looks at 5 and 10) on A/A levels;
- a threshold of the median (sign test: looks at 6 and 10) on skewed data at its median;
- a threshold of the mean (the skewness-aware t-test) on lognormal data at its mean: looks
  at 10 and 20 (the mean guard), and — to show why the guard is there — the unguarded
  looks at 5 and 10, whose rate is far above alpha.

Power: at equal maximum the sequential design stops decisive claims early and loses a few
points of power to the split alpha (``-s`` prints both designs side by side).

Speed: a Wilcoxon verdict on untied data is a function of (n, W+) per member and a Page
verdict of (n, column rank sums), so each distinct statistic goes once through the real
verdict layer and is re-used (the first ``CHECKED`` replications always call it and check
the re-used verdict is the same). Tied Wilcoxon, TOST and the threshold tests run through
the cores the verdict layer calls (``stats.paired_test``, ``stats._t_core``,
``stats._skew_t_core``, ``stats._sign_core``), checked equal to the verdict layer on the
first ``CHECKED`` replications. The whole module takes about 60 s of CPU; ``-s`` prints the
rates.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from scipy.stats import binomtest

from atomcheck import stats
from atomcheck.robust import combine
from atomcheck.sequential import Look, SequentialDesign, parse_sequential, run_looks
from atomcheck.verdict import Beats, Equivalent, Expectation, Rises, SettingResult, Threshold
from calibration import ALPHA, Sim, assert_at_most_alpha

REPS = 2000
CHECKED = 100


def default_looks(expectation: Expectation, levels: dict[str, list[Any]],
                  n_seeds: int = 10) -> list[Look]:
    """The default design's looks for a claim of ``n_seeds`` seeds, fitted as a claim
    fits them."""
    design = parse_sequential(True, n_seeds)
    assert design is not None
    design = design.first_look_at_least(expectation.first_look(), "calibrated")
    fitted = design.fit(lambda n, a: expectation.check_seeds(n, a, levels=levels), ALPHA)
    looks = fitted.schedule(ALPHA)
    assert abs(sum(k.alpha for k in looks) - ALPHA) < 1e-12
    return looks


def w_plus(d: np.ndarray) -> int:
    """Wilcoxon's W+ of untied, non-zero differences (what the exact p-value depends on)."""
    ranks = np.argsort(np.argsort(np.abs(d))) + 1
    return int(ranks[d > 0].sum())


def rank_sums(data: np.ndarray) -> tuple[int, ...]:
    """Column rank sums within seeds (what Page's L depends on, untied data)."""
    return tuple(np.argsort(np.argsort(data, axis=1), axis=1).sum(axis=0).tolist())


class Verdicts:
    """A claim's verdict on a (seeds x configs) array at a look, from the verdict layer,
    memoised on a sufficient statistic of the data (``key``) and checked while ``checking``."""

    def __init__(self, expectation: Expectation, levels: list[Any],
                 key: Callable[[np.ndarray], Any] | None) -> None:
        self.expectation, self.levels, self.key = expectation, levels, key
        self.sims: dict[int, Sim] = {}
        self.memo: dict[Any, Any] = {}
        self.checking = True

    def __call__(self, data: np.ndarray, alpha: float) -> Any:
        key = None if self.key is None else (data.shape[0], alpha, self.key(data))
        if key is not None and key in self.memo and not self.checking:
            return self.memo[key]
        n = data.shape[0]
        sim = self.sims.setdefault(n, Sim(self.levels, n))
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
    """Verdict counts; prints each wrong-verdict rate with its 95% Clopper–Pearson CI."""
    words = [w for w, _ in outcomes]
    counts = {w: words.count(w) for w in ("supported", "refuted", "inconclusive", "error")}
    seeds = np.mean([n for _, n in outcomes])
    ci = {w: binomtest(counts[w], len(words)).proportion_ci() for w in ("supported", "refuted")}
    print(f"{label}: supported {counts['supported'] / len(words):.4f} "
          f"[{ci['supported'].low:.4f}, {ci['supported'].high:.4f}], refuted "
          f"{counts['refuted'] / len(words):.4f} [{ci['refuted'].low:.4f}, "
          f"{ci['refuted'].high:.4f}], mean seeds {seeds:.2f} (of {len(words)} claims)")
    assert counts["error"] == 0
    return counts


def words_from(p: np.ndarray, q: np.ndarray, alpha: float) -> np.ndarray:
    """A single member's verdict words from its claimed and refutation p-values."""
    return np.where(p < alpha, "supported", np.where(q < alpha, "refuted", "inconclusive"))


def sequential_words(looks: list[Look], words: dict[int, np.ndarray]
                     ) -> list[tuple[str, int]]:
    """Run the looks over precomputed per-look words (one row per replication)."""
    reps = len(next(iter(words.values())))
    out = []
    for r in range(reps):
        final, look, _ = run_looks(looks, lambda k: SimpleNamespace(
            verdict=str(words[k.index][r]), p_value=np.nan, p_opposite=np.nan))
        out.append((final.verdict, look.n_seeds))
    return out


def check_against_layer(expectation: Expectation, levels: list[Any], looks: list[Look],
                        data: Callable[[int, int], np.ndarray],
                        words: dict[int, np.ndarray], count: int = CHECKED) -> None:
    """The vectorised rule gives the verdict layer's words on the first ``count`` claims."""
    sims = {k.index: Sim(levels, k.n_seeds) for k in looks}
    for r in range(count):
        for k in looks:
            got = expectation.evaluate(sims[k.index].fill(data(r, k.n_seeds)), alpha=k.alpha)
            assert got.verdict == words[k.index][r], (r, k)


# -- single comparisons ---------------------------------------------------------------


def aa_normal(rng: np.random.Generator, n: int = 10) -> np.ndarray:
    return rng.normal(size=(n, 1)) + rng.normal(size=(n, 2))


def aa_skewed(rng: np.random.Generator, n: int = 10) -> np.ndarray:
    return rng.normal(size=(n, 1)) + rng.lognormal(0.0, 1.0, size=(n, 2))


@pytest.mark.parametrize("label, n_seeds, draw, expected_looks", [
    ("normal", 10, aa_normal, [6, 10]),
    ("skewed (lognormal)", 10, aa_skewed, [6, 10]),
    ("normal, 20 seeds", 20, lambda rng: aa_normal(rng, 20), [6, 10, 20]),
])
def test_single_comparison_null(label, n_seeds, draw, expected_looks):
    beats = Beats("m", along="x", a=1, b=0)
    looks = default_looks(beats, {"x": [0, 1]}, n_seeds)
    assert [k.n_seeds for k in looks] == expected_looks
    verdicts = Verdicts(beats, [0, 1], key=lambda d: w_plus(d[:, 1] - d[:, 0]))
    out = simulate(looks, draw, verdicts, REPS, seed=101,
                   on_checked=lambda: setattr(verdicts, "checking", False))
    counts = rates(out, f"single comparison (Wilcoxon), A/A, {label}")
    assert_at_most_alpha(counts["supported"], REPS, f"sequential {label}, supported")
    assert_at_most_alpha(counts["refuted"], REPS, f"sequential {label}, refuted")


def test_single_comparison_null_with_ties():
    """Accuracies on 20 test points: ties and zero differences (the sign-flip test)."""
    beats = Beats("m", along="x", a=1, b=0)
    looks = default_looks(beats, {"x": [0, 1]})
    rng = np.random.default_rng(111)
    data = np.round((0.7 + 0.05 * rng.normal(size=(REPS, 10, 1))
                     + 0.05 * rng.normal(size=(REPS, 10, 2))) * 20) / 20
    assert np.mean(data[..., 1] == data[..., 0]) > 0.1  # many zero differences
    words = {}
    for k in looks:
        tests = [stats.paired_test(x[:k.n_seeds, 1], x[:k.n_seeds, 0], ci=False) for x in data]
        words[k.index] = words_from(np.array([t.pvalue for t in tests]),
                                    np.array([t.pvalue_opposite for t in tests]), k.alpha)
    check_against_layer(beats, [0, 1], looks, lambda r, n: data[r, :n], words)
    counts = rates(sequential_words(looks, words), "single comparison (Wilcoxon), A/A, tied")
    assert_at_most_alpha(counts["supported"], REPS, "sequential tied, supported")
    assert_at_most_alpha(counts["refuted"], REPS, "sequential tied, refuted")


def test_family_least_favourable_null():
    beats = Beats("m", along="x", a=2, b=[0, 1])
    looks = default_looks(beats, {"x": [0, 1, 2]})
    assert [k.n_seeds for k in looks] == [7, 10]
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
    looks = default_looks(beats, {"x": [0, 1]})
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


# -- equivalence, trend, thresholds ---------------------------------------------------------


def tost_words(d: np.ndarray, margin: float, alpha: float) -> np.ndarray:
    """Verdict words of paired TOST on rows of ``d`` (seeds along axis 1), as the verdict
    layer decides them: supported when both one-sided p < alpha, refuted when the doubled
    smaller p beyond the margin is."""
    _, above_low, below_low = stats._t_core(d, -margin)
    _, above_high, below_high = stats._t_core(d, margin)
    p = np.maximum(above_low, below_high)
    q = np.minimum(1.0, 2 * np.minimum(below_low, above_high))
    return words_from(p, q, alpha)


@pytest.mark.parametrize("label, n_seeds, noise, expected_looks", [
    ("normal", 10, "normal", [5, 10]),
    ("heavy tails (t, 3 df)", 10, "t3", [5, 10]),
    ("normal, 30 seeds", 30, "normal", [5, 15, 30]),
])
def test_equivalence_on_the_margin(label, n_seeds, noise, expected_looks):
    margin = 0.5
    equivalent = Equivalent("m", along="x", a=0, b=1, margin=margin)
    looks = default_looks(equivalent, {"x": [0, 1]}, n_seeds)
    assert [k.n_seeds for k in looks] == expected_looks
    rng = np.random.default_rng(404)
    noise_draw = rng.normal(size=(REPS, n_seeds)) if noise == "normal" else \
        rng.standard_t(3, size=(REPS, n_seeds))
    d = margin + noise_draw  # the true difference sits on the margin
    words = {k.index: tost_words(d[:, :k.n_seeds], margin, k.alpha) for k in looks}
    check_against_layer(equivalent, [0, 1], looks,
                        lambda r, n: np.column_stack([np.zeros(n), d[r, :n]]), words)
    counts = rates(sequential_words(looks, words), f"equivalence on the margin, {label}")
    assert_at_most_alpha(counts["supported"], REPS, f"sequential equivalence {label}, supported")


def test_trend_null():
    rises = Rises("m", along="x")
    looks = default_looks(rises, {"x": [0, 1, 2]})
    assert [k.n_seeds for k in looks] == [5, 10]
    verdicts = Verdicts(rises, [0, 1, 2], key=rank_sums)
    out = simulate(looks, lambda rng: rng.normal(size=(10, 1)) + rng.normal(size=(10, 3)),
                   verdicts, REPS, seed=505,
                   on_checked=lambda: setattr(verdicts, "checking", False))
    counts = rates(out, "trend (Page), A/A levels")
    assert_at_most_alpha(counts["supported"], REPS, "sequential trend, supported")
    assert_at_most_alpha(counts["refuted"], REPS, "sequential trend, refuted")


def threshold_words(x: np.ndarray, value: float, alpha: float, of: str) -> np.ndarray:
    """Words of ``Threshold(above=value, of=of)`` per row: the sign test of the median or the
    skewness-aware t-test of the mean (one member: no Holm)."""
    core = stats._sign_core if of == "median" else stats._skew_t_core
    if of == "median":
        _, p, q = core(x - value)
    else:
        _, p, q = core(x, value)
    return words_from(p, q, alpha)


@pytest.mark.parametrize("label, of, claim, expected_looks, n_seeds", [
    ("median (sign test), lognormal", "median", "above", [6, 10], 10),
    ("mean (skew-aware t), lognormal, above", "mean", "above", [10, 20], 20),
    ("mean (skew-aware t), lognormal, below", "mean", "below", [10, 20], 20),
    ("mean (skew-aware t), lognormal, below, 30 seeds", "mean", "below", [10, 15, 30], 30),
])
def test_threshold_null_on_skewed_data(label, of, claim, expected_looks, n_seeds):
    rng = np.random.default_rng(606)
    x = rng.lognormal(0.0, 1.0, size=(REPS, n_seeds))
    value = 1.0 if of == "median" else float(np.exp(0.5))  # the true median / mean
    threshold = Threshold("m", of=of, **{claim: value})
    looks = default_looks(threshold, {"x": [0]}, n_seeds)
    assert [k.n_seeds for k in looks] == expected_looks
    sign = 1.0 if claim == "above" else -1.0
    # "below v" is "above -v" of the mirrored data: one rule for both claims
    mirrored = sign * x
    words = {k.index: threshold_words(mirrored[:, :k.n_seeds], sign * value, k.alpha, of)
             for k in looks}
    # 30 claims: an inconclusive mean threshold's seed advice simulates (50 ms a verdict)
    check_against_layer(threshold, [0], looks, lambda r, n: x[r, :n, None], words, count=30)
    counts = rates(sequential_words(looks, words), f"threshold of the {label}")
    assert_at_most_alpha(counts["supported"], REPS, f"sequential threshold {label}, supported")
    assert_at_most_alpha(counts["refuted"], REPS, f"sequential threshold {label}, refuted")


def test_why_a_mean_waits_for_ten_seeds():
    """Without the guard (looks at 5 and 10 seeds) the skewness-aware t-test's first look
    is far from calibrated on lognormal data: the claim's rate is well above alpha."""
    rng = np.random.default_rng(707)
    x = -rng.lognormal(0.0, 1.0, size=(REPS, 10))  # "below the mean" as "above" mirrored
    looks = SequentialDesign(5, 10).schedule(ALPHA)
    words = {k.index: threshold_words(x[:, :k.n_seeds], -float(np.exp(0.5)), k.alpha, "mean")
             for k in looks}
    counts = rates(sequential_words(looks, words), "threshold of the mean, UNGUARDED 5|10")
    assert counts["supported"] / REPS > 0.065  # about 0.085 (fixed design at 10: 0.047)


# -- alternative spendings, power, the rule itself ---------------------------------------


@pytest.mark.parametrize("spending", ["linear", "pocock"])
def test_three_looks_single_comparison(spending):
    """Three evenly spaced looks (6, 8, 10 seeds) under two spending functions."""
    beats = Beats("m", along="x", a=1, b=0)
    design = SequentialDesign(6, 10, looks=3, spending=spending).fit(
        lambda n, a: beats.check_seeds(n, a, levels={"x": [0, 1]}), ALPHA)
    looks = design.schedule(ALPHA)
    verdicts = Verdicts(beats, [0, 1], key=lambda d: w_plus(d[:, 1] - d[:, 0]))
    out = simulate(looks, aa_normal, verdicts, REPS, seed=808,
                   on_checked=lambda: setattr(verdicts, "checking", False))
    counts = rates(out, f"single comparison, looks {[k.n_seeds for k in looks]}, {spending}")
    assert_at_most_alpha(counts["supported"], REPS, "sequential 3 looks, supported")
    assert_at_most_alpha(counts["refuted"], REPS, "sequential 3 looks, refuted")


@pytest.mark.parametrize("of, shift, n_seeds, max_mean_seeds, kept_power", [
    # measured (1,000 claims each): power sequential vs fixed, mean seeds
    ("median", 2.0, 10, 8.0, 0.97),  # dz 1.4: 0.978 vs 0.987, 7.6 seeds of 10
    ("median", 0.8, 10, 9.8, 0.85),  # dz 0.57: 0.405 vs 0.449, 9.5 of 10
    ("mean", 1.0, 10, 9.2, 0.75),  # paired t, dz 0.71: 0.534 vs 0.670, 8.9 of 10
    ("median", 0.8, 20, 18.5, 0.88),  # dz 0.57: 0.711 vs 0.775, 18.1 of 20
])
def test_a_real_effect_stops_early_with_little_power_lost(of, shift, n_seeds,
                                                          max_mean_seeds, kept_power):
    beats = Beats("m", along="x", a=1, b=0, of=of)
    looks = default_looks(beats, {"x": [0, 1]}, n_seeds)
    key = (lambda d: w_plus(d[:, 1] - d[:, 0])) if of == "median" else None
    verdicts = Verdicts(beats, [0, 1], key=key)
    verdicts.checking = False

    def draw(rng: np.random.Generator) -> np.ndarray:
        data = rng.normal(size=(n_seeds, 2))
        data[:, 1] += shift
        return data

    reps = 1000
    out = simulate(looks, draw, verdicts, reps, seed=909)
    counts = rates(out, f"real effect {shift} ({of}, {n_seeds} seeds), sequential")
    fixed_looks = [Look(1, n_seeds, ALPHA, ALPHA)]
    fixed = rates(simulate(fixed_looks, draw, verdicts, reps, seed=909),
                  f"real effect {shift} ({of}, {n_seeds} seeds), fixed")
    seeds = float(np.mean([n for _, n in out]))
    print(f"POWER {of} shift {shift}, {n_seeds} seeds, looks {[k.n_seeds for k in looks]}: "
          f"sequential {counts['supported'] / reps:.3f} vs fixed "
          f"{fixed['supported'] / reps:.3f}; mean seeds {seeds:.2f} vs {n_seeds}")
    assert seeds <= max_mean_seeds
    assert counts["supported"] >= kept_power * fixed["supported"]


def test_the_simulation_helpers_use_the_real_rule():
    """run_looks stops at the first decisive look and keeps going past inconclusive ones."""
    looks = SequentialDesign(5, 10).schedule(ALPHA)
    answers = iter([SimpleNamespace(verdict="inconclusive", p_value=0.5, p_opposite=0.5),
                    SimpleNamespace(verdict="refuted", p_value=1.0, p_opposite=0.001)])
    final, look, seen = run_looks(looks, lambda k: next(answers))
    assert (final.verdict, look.index, len(seen)) == ("refuted", 2, 2)
