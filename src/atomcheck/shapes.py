"""Shapes beyond a monotone lean: an interior optimum, a slope, saturation.

Page's L (:class:`~atomcheck.verdict.Rises`) can be carried by one extreme level and reads
a U-shape as "no trend". These expectations state the shape itself, with the verdict
semantics of every other kind (DESIGN.md, "Statistics"):

- :class:`Peaks` / :class:`Dips` — an interior level beats both ends (inverted U / U);
- :class:`Slope` — the per-seed least-squares slope, on chosen axes (log-log by default),
  is above, below or about a value ("variance ∝ 1/B": a log-log slope about −1);
- :class:`Saturates` — the metric rises (falls) from first to last level, and its last step
  gains less than its first (diminishing returns).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
from scipy.stats import t as t_dist

from atomcheck import stats
from atomcheck.errors import InvalidClaim
from atomcheck.sequential import MEAN_FIRST_LOOK
from atomcheck.sweep import Samples
from atomcheck.verdict import (
    Expectation,
    beyond_extremes,
    check_ordered,
    group_label,
    is_number,
    ordered_configs,
)

__all__ = ["Peaks", "Dips", "Slope", "Saturates"]


@dataclass(frozen=True)
class _Ordered(Expectation):
    """An expectation about the levels of one ordered factor, one member per group."""

    along: str = ""
    order: Sequence[Any] | None = None
    of: str = "median"

    def validate(self, levels: Mapping[str, Sequence[Any]], *, claim_id: str = "<claim>") -> None:
        super().validate(levels, claim_id=claim_id)
        name = type(self).__name__
        self._check_location(self.of, claim_id, name)
        self._check_level(levels, self.along, None, claim_id, "along")
        values = list(levels[self.along])
        head = f"{claim_id}: {name}({self.metric!r}, along={self.along!r})"
        if len(values) < 3:
            raise InvalidClaim(f"{head} needs >= 3 levels of {self.along!r}; got {values!r}. "
                               "Add levels (a shape needs an interior), or use Beats for two.")
        if (self.order is None and all(is_number(v) for v in values)
                and any(b <= a for a, b in zip(values, values[1:]))):
            raise InvalidClaim(
                f"{head} reads the levels of {self.along!r} in the order listed, and "
                f"{self.along}={values!r} is not strictly ascending. List them sorted: "
                f"{self.along}={sorted(values)!r} (or state order=[...] explicitly).")
        check_ordered(self, levels, claim_id)

    def _rank_family(self, levels: Mapping[str, Sequence[Any]] | None) -> int:
        """How many one-sided rank/sign p-values share alpha in the harder of the two
        verdicts (support or refutation); 1 for a single test."""
        return self._family_size(levels, exclude=[self.along])

    def check_seeds(self, n_seeds: int, alpha: float, *, claim_id: str = "<claim>",
                    levels: Mapping[str, Sequence[Any]] | None = None) -> None:
        """Refuse a design whose rank or sign tests can never reach ``alpha``.

        With every seed agreeing, a one-sided signed-rank (or sign) test gives 0.5**n at
        best; a Bonferroni or Holm family of m such tests needs m * 0.5**n < alpha.
        """
        super().check_seeds(n_seeds, alpha, claim_id=claim_id)
        if self.of != "median":
            return
        family = self._rank_family(levels)
        smallest = family * 0.5**n_seeds
        if smallest >= alpha:
            need = math.floor(math.log2(family / alpha)) + 1
            raise InvalidClaim(
                f"{claim_id}: {type(self).__name__}({self.metric!r}) with seeds={n_seeds} can "
                f"never reach alpha={alpha:g}: its one-sided rank tests (a family of {family}) "
                f"give p >= {smallest:.4g}. Use seeds>={need}, or of='mean' if the claim is "
                "about means.")

    def _members(self, samples: Samples) -> list[tuple[str, np.ndarray, list[dict[str, Any]]]]:
        out = []
        for group in self._groups(samples, [self.along]):
            configs = ordered_configs(self, [c for c in samples.configs
                                             if all(c[k] == v for k, v in group.items())])
            out.append((group_label(group) or self.along, samples.matrix(self.metric, configs),
                        configs))
        return out


def _paired(a: np.ndarray, b: np.ndarray, *, greater: bool, of: str) -> stats.TestResult:
    """One-sided paired test of A − B (median: Wilcoxon signed-rank; mean: t), without its
    CI: a shape reports its own effect and interval (see :func:`_summary`)."""
    return stats.paired_test(a, b, greater=greater, test="wilcoxon" if of == "median" else "t",
                             ci=False)


def _t_interval(effect: np.ndarray) -> stats.ConfidenceInterval:
    """95% t interval for the mean of a per-seed effect (degenerate when it has no spread)."""
    n = effect.size
    mean = float(effect.mean())
    sd = float(effect.std(ddof=1)) if n > 1 else math.nan
    half = float(t_dist.ppf(0.975, n - 1) * sd / math.sqrt(n)) if sd > 0 else 0.0
    return stats.ConfidenceInterval(mean - half, mean + half)


def _summary(test: str, p: float, p_opposite: float, effect_name: str, effect: np.ndarray,
             **extra: Any) -> stats.TestResult:
    """A result with the given p-values and a per-seed effect with its 95% t interval."""
    n = effect.size
    mean = float(effect.mean())
    sd = float(effect.std(ddof=1)) if n > 1 else math.nan
    return stats.TestResult(test=test, statistic=mean, pvalue=p, pvalue_opposite=p_opposite,
                            effect_name=effect_name, effect=mean, ci=_t_interval(effect), n=n,
                            sd=sd, extra=extra)


def _combine(test: str, parts: Sequence[stats.TestResult], effect_name: str,
             effect: np.ndarray, **extra: Any) -> stats.TestResult:
    """An intersection of one-sided tests (all must hold: the largest p) against the union
    of their opposites (any refutes: Bonferroni over them)."""
    return _summary(test, max(p.pvalue for p in parts),
                    min(1.0, len(parts) * min(p.pvalue_opposite for p in parts)),
                    effect_name, effect, **extra)


@dataclass(frozen=True)
class _Optimum(_Ordered):
    best_is_high: ClassVar[bool] = True
    kind: ClassVar[str] = "optimum"

    def describe(self) -> str:
        word = "peaks (inverted U)" if self.best_is_high else "dips (U-shape)"
        return (f"{self.metric} {word} inside {self.along}: an interior level beats both ends "
                f"(paired {'wilcoxon' if self.of == 'median' else 't'}, one-sided)")

    def _rank_family(self, levels: Mapping[str, Sequence[Any]] | None) -> int:
        # Support: Bonferroni over the interior levels; refutation: over the two ends, then
        # Holm over the groups.
        interior = len(list(levels[self.along])) - 2 if levels and self.along in levels else 1
        return max(interior, 2 * self._family_size(levels, exclude=[self.along]))

    def _against(self, data: np.ndarray, bad: np.ndarray) -> np.ndarray:
        # A diverged seed: both ends best, every interior level worst.
        low, high = beyond_extremes(data)
        good, worse = (high, low) if self.best_is_high else (low, high)
        data[bad] = worse
        data[np.ix_(bad, np.array([0, data.shape[1] - 1]))] = good
        return data

    def _test(self, data: np.ndarray, ci: bool = True) -> stats.TestResult:
        k = data.shape[1]
        ends = (0, k - 1)
        high = self.best_is_high
        # One paired test per (interior level, end): p "interior beats end" and its opposite.
        pairs = {(j, e): _paired(data[:, j], data[:, e], greater=high, of=self.of)
                 for j in range(1, k - 1) for e in ends}
        # Support: some interior level beats both ends (each level an intersection of two
        # tests; Bonferroni over the interior levels, since any one of them may carry it).
        inner = [max(pairs[j, e].pvalue for e in ends) for j in range(1, k - 1)]
        p_support = min(1.0, (k - 2) * min(inner))
        # Refutation: an end beats every interior level (Bonferroni over the two ends).
        outer = [max(pairs[j, e].pvalue_opposite for j in range(1, k - 1)) for e in ends]
        p_refute = min(1.0, 2 * min(outer))
        sign = 1.0 if high else -1.0
        means = data.mean(axis=0)
        best = 1 + int(np.argmax(sign * means[1:-1]))
        advantage = sign * (data[:, best] - (np.maximum if high else np.minimum)(
            data[:, 0], data[:, -1]))
        return _summary("interior_optimum", p_support, p_refute,
                        "mean advantage of the best interior level", advantage,
                        best_level_index=best, p_interior=inner, p_ends=outer)


@dataclass(frozen=True)
class Peaks(_Optimum):
    """``metric`` has an interior maximum along ``along`` (an inverted U).

    Supported when some interior level beats both end levels (paired one-sided tests, both
    at alpha; Bonferroni over the interior levels); refuted when one end beats every
    interior level (Bonferroni over the two ends). Effect: the best interior level's mean
    advantage over the better end, per seed, with a t interval.

    Examples
    --------
    >>> Peaks("test_accuracy", along="lr").kind
    'optimum'
    """

    best_is_high: ClassVar[bool] = True


@dataclass(frozen=True)
class Dips(_Optimum):
    """``metric`` has an interior minimum along ``along`` (a U-shape); see :class:`Peaks`.

    Examples
    --------
    >>> print(Dips("weight_change", along="layer").describe())
    weight_change dips (U-shape) inside layer: an interior level beats both ends
    (paired wilcoxon, one-sided)
    """

    best_is_high: ClassVar[bool] = False


@dataclass(frozen=True)
class Slope(_Ordered):
    """The per-seed least-squares slope of ``metric`` against ``along`` is above, below or
    about a value, on log or linear axes.

    Each seed's levels give one slope (of ``log y`` on ``log x`` by default); the slopes
    are tested like a :class:`~atomcheck.verdict.Threshold`: ``above``/``below`` with a
    one-sided test of their mean (``of="mean"``, the default here: a slope is a mean rate)
    or median (``of="median"``: an exact sign test), ``about`` with TOST of the mean within
    ``margin``. With ``above``/``below``, a ``margin`` makes a slope shown within ±margin of
    the value refute the claim. A value that cannot be logged (<= 0) makes that seed's slope
    undefined, like a diverged run.

    Examples
    --------
    >>> Slope("grad_variance", along="batch_size", about=-1.0, margin=0.25).describe()
    'log-log slope of grad_variance along batch_size within -1 ± 0.25 (TOST)'
    """

    log_x: bool = True
    log_y: bool = True
    above: float | None = None
    below: float | None = None
    about: float | None = None
    margin: float | None = None
    of: str = "mean"
    kind: ClassVar[str] = "slope"

    def validate(self, levels: Mapping[str, Sequence[Any]], *, claim_id: str = "<claim>") -> None:
        super().validate(levels, claim_id=claim_id)
        given = {k: v for k, v in (("above", self.above), ("below", self.below),
                                   ("about", self.about)) if v is not None}
        if len(given) != 1 or not all(is_number(x) and math.isfinite(x) for x in given.values()):
            got = ", ".join(f"{k}={v!r}" for k, v in given.items()) or "none of them"
            raise InvalidClaim(
                f"{claim_id}: Slope({self.metric!r}) needs exactly one number among above=, "
                f"below= or about= (about= with margin=); got {got}. E.g. "
                "Slope(..., about=-1.0, margin=0.25) for 'a slope of about -1'.")
        if self.margin is not None and not (is_number(self.margin) and self.margin > 0):
            raise InvalidClaim(f"{claim_id}: Slope({self.metric!r}, margin={self.margin!r}): "
                               "the margin must be a number > 0, e.g. margin=0.25.")
        if self.about is not None and self.margin is None:
            raise InvalidClaim(f"{claim_id}: Slope({self.metric!r}, about={self.about!r}) needs "
                               "an explicit margin > 0 (the tolerance around the value); got "
                               "margin=None. E.g. about=-1.0, margin=0.25.")
        if self.about is not None and self.of != "mean":
            raise InvalidClaim(f"{claim_id}: Slope({self.metric!r}, about=..., of={self.of!r}): "
                               "about= is an equivalence test of the mean slope (TOST); drop "
                               "of='median', or use above=/below=.")
        values = list(levels[self.along])
        if not all(is_number(v) for v in values):
            raise InvalidClaim(f"{claim_id}: Slope({self.metric!r}, along={self.along!r}) needs "
                               f"numeric levels to fit a slope on; got {values!r}.")
        if self.log_x and min(values) <= 0:
            raise InvalidClaim(
                f"{claim_id}: Slope({self.metric!r}, along={self.along!r}) fits on log x "
                f"(log_x=True, the default), so every level must be > 0; got {values!r}. "
                "Drop the non-positive levels, or pass log_x=False for a linear x axis.")

    def first_look(self) -> int:
        """Slopes tested by their mean are calibrated on skewed metrics only from
        :data:`~atomcheck.sequential.MEAN_FIRST_LOOK` seeds on (as a Threshold of a mean)."""
        return MEAN_FIRST_LOOK if self.of == "mean" else 2

    def _axes(self) -> str:
        return {(True, True): "log-log", (True, False): "semi-log (log x)",
                (False, True): "semi-log (log y)", (False, False): "linear"}[
            (self.log_x, self.log_y)]

    def describe(self) -> str:
        head = f"{self._axes()} slope of {self.metric} along {self.along}"
        if self.about is not None:
            return f"{head} within {self.about:g} ± {self.margin:g} (TOST)"
        word, value = ("above", self.above) if self.above is not None else ("below", self.below)
        test = "t-test" if self.of == "mean" else "sign test"
        return f"{head} {word} {value:g} ({self.of}, {test}, one-sided)"

    def _members(self, samples: Samples) -> list[tuple[str, np.ndarray, list[dict[str, Any]]]]:
        out = []
        for label, data, configs in super()._members(samples):
            x = np.array([c[self.along] for c in configs], dtype=float)
            out.append((label, self.slopes(x, data)[:, None], configs))
        return out

    def slopes(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per-row least-squares slopes of ``y`` (seeds × levels) on ``x``; NaN where a row
        has a value that is missing or cannot be logged."""
        with np.errstate(divide="ignore", invalid="ignore"):
            xs = np.log(x) if self.log_x else x
            ys = np.log(y) if self.log_y else y
        ys = np.where(np.isfinite(ys), ys, np.nan)
        xc = xs - xs.mean()
        return (ys - ys.mean(axis=1, keepdims=True)) @ xc / float(xc @ xc)

    def _against(self, data: np.ndarray, bad: np.ndarray) -> np.ndarray:
        low, high = beyond_extremes(data)
        if self.above is not None:
            data[bad] = min(low, self.above - (high - low))
        elif self.below is not None:
            data[bad] = max(high, self.below + (high - low))
        else:
            assert self.about is not None and self.margin is not None
            data[bad] = max(high, self.about + self.margin) + (high - low)
        return data

    def _test(self, data: np.ndarray, ci: bool = True) -> stats.TestResult:
        x = data[:, 0]
        if self.about is not None:
            assert self.margin is not None
            result = stats.tost_one_sample(x, self.about, margin=self.margin, ci=ci)
        else:
            value = self.above if self.above is not None else self.below
            assert value is not None
            result = stats.one_sample_test(x, value, greater=self.above is not None,
                                           test="t" if self.of == "mean" else "sign", ci=ci)
            if self.margin is not None:  # shown within ±margin of the value: refuted
                eq = stats.tost_one_sample(x, value, margin=self.margin, ci=False)
                result = replace(result, extra={**result.extra, "p_equivalent": eq.pvalue,
                                                "margin": self.margin})
        return replace(result, effect_name=f"{self.of} {self._axes()} slope")


@dataclass(frozen=True)
class Saturates(_Ordered):
    """``metric`` rises (or falls) along ``along`` with diminishing returns.

    Supported when both hold, each at alpha (intersection–union): the last level beats the
    first, and the last step gains less than the first step (per seed: first gain − last
    gain > 0). Refuted when either is significantly reversed (Bonferroni over the two).
    Space the levels the way the claim means it (e.g. doubling sizes). Effect: the mean
    per-seed first gain minus last gain.

    Examples
    --------
    >>> Saturates("test_accuracy", along="n_train").kind
    'saturation'
    """

    increasing: bool = True
    kind: ClassVar[str] = "saturation"

    def describe(self) -> str:
        word = "rises" if self.increasing else "falls"
        return (f"{self.metric} {word} along {self.along} and saturates: the last step gains "
                f"less than the first (paired {'wilcoxon' if self.of == 'median' else 't'}, "
                "one-sided)")

    def _rank_family(self, levels: Mapping[str, Sequence[Any]] | None) -> int:
        # Support: each part at alpha; refutation: Bonferroni over the two, Holm over groups.
        return 2 * self._family_size(levels, exclude=[self.along])

    def _against(self, data: np.ndarray, bad: np.ndarray) -> np.ndarray:
        # A diverged seed falls from the first level to the last (against "rises") and its
        # last step gains far more than its first (against "saturates"), each difference
        # beyond every finite one: the worst rank in both tests. Rising claim: first level
        # high, the middle levels far below everything, the last level low (first gain
        # -2S, last gain +S, rise -S, with S three times the finite range); falling claim:
        # the mirror image.
        low, high = beyond_extremes(data)
        span = high - low
        row = np.full(data.shape[1], low - span)
        row[0], row[-1] = high, low
        data[bad] = row if self.increasing else (high + low) - row
        return data

    def _test(self, data: np.ndarray, ci: bool = True) -> stats.TestResult:
        sign = 1.0 if self.increasing else -1.0
        rise = _paired(data[:, -1], data[:, 0], greater=self.increasing, of=self.of)
        first_gain = sign * (data[:, 1] - data[:, 0])
        last_gain = sign * (data[:, -1] - data[:, -2])
        slows = _paired(first_gain, last_gain, greater=True, of=self.of)
        return _combine("saturation", [rise, slows], "mean first gain − last gain",
                        first_gain - last_gain, p_rise=rise.pvalue, p_slows=slows.pvalue)
