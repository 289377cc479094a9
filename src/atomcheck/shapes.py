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
from atomcheck.sweep import Samples
from atomcheck.verdict import (
    Expectation,
    beyond_extremes,
    is_number,
    group_label,
    paired_result,
    check_ordered,
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
        self._check_location(self.of, claim_id, type(self).__name__)
        check_ordered(self, levels, claim_id)

    def _members(self, samples: Samples) -> list[tuple[str, np.ndarray, list[dict[str, Any]]]]:
        out = []
        for group in self._groups(samples, [self.along]):
            configs = ordered_configs(self, [c for c in samples.configs
                                             if all(c[k] == v for k, v in group.items())])
            out.append((group_label(group) or self.along, samples.matrix(self.metric, configs),
                        configs))
        return out


def _summary(test: str, p: float, p_opposite: float, effect_name: str, effect: np.ndarray,
             **extra: Any) -> stats.TestResult:
    """A result with the given p-values and a per-seed effect with its 95% t interval."""
    n = effect.size
    mean = float(effect.mean())
    sd = float(effect.std(ddof=1)) if n > 1 else math.nan
    half = float(t_dist.ppf(0.975, n - 1) * sd / math.sqrt(n)) if sd > 0 else 0.0
    return stats.TestResult(test=test, statistic=mean, pvalue=p, pvalue_opposite=p_opposite,
                            effect_name=effect_name, effect=mean,
                            ci=stats.ConfidenceInterval(mean - half, mean + half), n=n, sd=sd,
                            extra=extra)


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

    def _against(self, data: np.ndarray, bad: np.ndarray) -> np.ndarray:
        # A diverged seed: both ends best, every interior level worst.
        low, high = beyond_extremes(data)
        good, worse = (high, low) if self.best_is_high else (low, high)
        data[bad] = worse
        data[np.ix_(bad, [0, data.shape[1] - 1])] = good
        return data

    def _test(self, data: np.ndarray) -> stats.TestResult:
        k = data.shape[1]
        ends = (0, k - 1)
        high = self.best_is_high
        # Support: some interior level beats both ends (each level an intersection of two
        # tests; Bonferroni over the interior levels, since any one of them may carry it).
        inner = []
        for j in range(1, k - 1):
            tests = [paired_result(data[:, j], data[:, e], greater=high, of=self.of) for e in ends]
            inner.append(max(t.pvalue for t in tests))
        p_support = min(1.0, (k - 2) * min(inner))
        # Refutation: an end beats every interior level (Bonferroni over the two ends).
        outer = []
        for e in ends:
            tests = [paired_result(data[:, e], data[:, j], greater=high, of=self.of)
                     for j in range(1, k - 1)]
            outer.append(max(t.pvalue for t in tests))
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
    >>> Dips("weight_change", along="layer").describe()
    'weight_change dips (U-shape) inside layer: an interior level beats both ends (paired wilcoxon, one-sided)'
    """

    best_is_high: ClassVar[bool] = False


@dataclass(frozen=True)
class Slope(_Ordered):
    """The per-seed least-squares slope of ``metric`` against ``along`` is above, below or
    about a value, on log or linear axes.

    Each seed's levels give one slope (of ``log y`` on ``log x`` by default); the slopes
    are tested like a :class:`~atomcheck.verdict.Threshold`: ``above``/``below`` with a
    one-sided test of their mean (``of="mean"``, the default here: a slope is a mean rate)
    or median (sign test), ``about`` with TOST within ``margin``. A value that cannot be
    logged (<= 0) makes that seed's slope undefined, like a diverged run.

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
        given = [x for x in (self.above, self.below, self.about) if x is not None]
        if len(given) != 1 or not all(is_number(x) for x in given):
            raise InvalidClaim(f"{claim_id}: Slope({self.metric!r}) needs exactly one number "
                               "among above=, below= or about=.")
        if self.about is not None and not (is_number(self.margin) and self.margin > 0):
            raise InvalidClaim(f"{claim_id}: Slope(about={self.about}) needs an explicit "
                               f"margin > 0; got margin={self.margin!r}.")
        values = list(levels[self.along])
        if not all(is_number(v) for v in values) or (self.log_x and min(values) <= 0):
            raise InvalidClaim(f"{claim_id}: Slope along {self.along!r} needs numeric levels"
                               f"{' > 0 (log_x=True)' if self.log_x else ''}; got {values!r}.")

    def _axes(self) -> str:
        return {(True, True): "log-log", (True, False): "semi-log (log x)",
                (False, True): "semi-log (log y)", (False, False): "linear"}[
            (self.log_x, self.log_y)]

    def describe(self) -> str:
        head = f"{self._axes()} slope of {self.metric} along {self.along}"
        if self.about is not None:
            return f"{head} within {self.about:g} ± {self.margin:g} (TOST)"
        word, value = ("above", self.above) if self.above is not None else ("below", self.below)
        return f"{head} {word} {value:g} ({self.of}, one-sided)"

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

    def _test(self, data: np.ndarray) -> stats.TestResult:
        x = data[:, 0]
        name = f"mean {self._axes()} slope" if self.of == "mean" else f"median {self._axes()} slope"
        if self.about is not None:
            assert self.margin is not None
            result = stats.tost_one_sample(x, self.about, margin=self.margin)
        else:
            value = self.above if self.above is not None else self.below
            assert value is not None
            result = stats.one_sample_test(x, value, greater=self.above is not None,
                                           test="t" if self.of == "mean" else "sign")
        return replace(result, effect_name=name)


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

    def _against(self, data: np.ndarray, bad: np.ndarray) -> np.ndarray:
        low, high = beyond_extremes(data)
        k = data.shape[1]
        # Runs the wrong way, accelerating: the worst block for both parts of the claim.
        ramp = low + (high - low) * (np.arange(k) / (k - 1)) ** 2
        data[bad] = ramp[::-1] if self.increasing else ramp
        return data

    def _test(self, data: np.ndarray) -> stats.TestResult:
        sign = 1.0 if self.increasing else -1.0
        rise = paired_result(data[:, -1], data[:, 0], greater=self.increasing, of=self.of)
        first_gain = sign * (data[:, 1] - data[:, 0])
        last_gain = sign * (data[:, -1] - data[:, -2])
        slows = paired_result(first_gain, last_gain, greater=True, of=self.of)
        return _combine("saturation", [rise, slows], "mean first gain − last gain",
                        first_gain - last_gain, p_rise=rise.pvalue, p_slows=slows.pvalue)
