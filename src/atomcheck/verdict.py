"""Expectations and verdicts: the only place a verdict is computed.

An expectation says what a claim predicts about a sweep's table (a trend, A beats B,
A ≈ B, a threshold, a spread, an exact property). :meth:`Expectation.evaluate` runs the
statistics and applies DESIGN.md's rules:

- directional (trend, compare, threshold): *supported* when the one-sided test in the
  claimed direction has p < alpha; *refuted* when the opposite one-sided test has p < alpha,
  or when a margin (or a ``min_effect`` floor) is given and the effect is shown inside the
  margin (below the floor); else *inconclusive*;
- equivalence: *supported* when TOST shows the difference inside ±margin; *refuted* when a
  difference beyond the margin is significant; else *inconclusive*;
- a family (several members in one claim) is an intersection–union test: supported only
  when every member is, each tested at alpha; refuted when any member is, the refutation
  p-values Holm-corrected across members;
- exact: holds for every seed, or refuted with the first counterexample seed;
- diverged runs never help a claim: by default a seed that diverged in any arm counts
  against the claim (``diverged="against"``); ``diverged="omit"`` drops such seeds and the
  verdict says how many; too few seeds left is an ``error``, never ``inconclusive``.

Claims with open settings combine per-setting verdicts in :mod:`atomcheck.robust`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
from scipy import stats as _st

from atomcheck import stats
from atomcheck.errors import InvalidClaim
from atomcheck.sequential import MEAN_FIRST_LOOK
from atomcheck.sweep import Samples

__all__ = [
    "Verdict",
    "Member",
    "LevelSummary",
    "SettingResult",
    "Expectation",
    "Rises",
    "Falls",
    "Beats",
    "Equivalent",
    "Threshold",
    "Spread",
    "Exact",
    "VERDICTS",
    "DIVERGED_POLICIES",
]

VERDICTS = ("supported", "conditional", "refuted", "inconclusive", "error")
DIVERGED_POLICIES = ("against", "omit")
LOCATIONS = ("median", "mean")


@dataclass(frozen=True)
class LevelSummary:
    """Per-configuration summary: mean with a 95% t-interval over seeds."""

    config: dict[str, Any]
    mean: float
    ci: tuple[float, float]
    n: int
    diverged: int
    values: list[float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (schema v1 ``levels`` entry)."""
        return {"config": self.config, "mean": _num(self.mean), "ci": [_num(c) for c in self.ci],
                "n": self.n, "diverged": self.diverged, "values": [_num(v) for v in self.values]}


@dataclass(frozen=True)
class Member:
    """One test of a family.

    ``p_value`` is the member's own one-sided p in the claimed direction (each member is
    tested at alpha: intersection–union); ``p_opposite`` is its refutation p-value (the
    opposite direction, or the effect shown inside the margin / below the floor), after
    Holm across the family's refutation hypotheses.
    """

    label: str
    verdict: str
    result: stats.TestResult
    p_value: float
    p_opposite: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (schema v1 ``members`` entry)."""
        r = self.result
        return {"label": self.label, "verdict": self.verdict, "test": r.test,
                "statistic": _num(r.statistic), "p_value": _num(self.p_value),
                "p_opposite": _num(self.p_opposite),
                "effect": {"name": r.effect_name, "value": _num(r.effect),
                           "ci": [_num(r.ci.low), _num(r.ci.high)], "ci_level": r.ci_level},
                "n_seeds": r.n, "extra": {k: _jsonable(v) for k, v in r.extra.items()}}


def _num(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _jsonable(v: Any) -> Any:
    if isinstance(v, (bool, str)) or v is None:
        return v
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return _num(v)
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return repr(v)


@dataclass(frozen=True)
class SettingResult:
    """The verdict of a claim under one of its open settings (``robust_over``).

    Attributes
    ----------
    name : str
        ``"base"`` for the claim as written, else the changed values (``"lr=0.1"``).
    values : dict
        The settings' values that differ from the base.
    verdict : Verdict
        The claim's verdict under this setting, as if it were the only one.
    """

    name: str
    values: dict[str, Any]
    verdict: Verdict

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (schema v1 ``settings`` entry): the values and the verdict fields."""
        return {"setting": self.name, "values": _jsonable(self.values),
                **self.verdict.to_dict()}


@dataclass(frozen=True)
class Verdict:
    """The outcome of a claim, shaped like a scipy result.

    Attributes
    ----------
    verdict : {"supported", "conditional", "refuted", "inconclusive", "error"}
    kind : str
        The expectation kind (``trend``, ``compare``, ``equivalent``, ...).
    test : str
        Test that decided (the deciding member's test in a family).
    statistic : float
    p_value : float
        The claim's one-sided p in the claimed direction: the largest member p-value
        (intersection–union; across settings, the largest over settings).
    p_opposite : float
        The claim's refutation p-value: the smallest Holm-adjusted one over members
        (and settings).
    alpha : float
    effect_name, effect, ci :
        Effect size and its 95% confidence interval.
    n_seeds : int
        Seeds the deciding test used.
    metric : str
    levels : list of LevelSummary
    members : list of Member
        The family's members (empty for a single test).
    diverged, total_runs : int
        Runs whose read metric was NaN/inf (or that reported divergence), of all runs read.
    diverged_policy : {"against", "omit"}
    omitted : int
        Seeds dropped under ``diverged="omit"`` (0 otherwise).
    counterexample : int or None
        First seed that breaks an exact claim.
    detectable_effect, seeds_needed, advice :
        Power hints for inconclusive verdicts (``advice`` says why there is no count).
    settings : list of SettingResult
        Per-setting verdicts of a claim with open settings (empty otherwise).
    per_seed : list of float or None
        The deciding test's per-seed values, in seed order, whose mean (or median) is the
        effect; None where the effect has none (a spread ratio). The regression gate
        (:mod:`atomcheck.report.compare`) compares them between runs.
    reference : float
        The value the effect is tested against (0, a threshold, a floor, a centre).
    alternative : {"greater", "less"} or None
        The claimed direction of a directional test (None for equivalence and exact).
    """

    verdict: str
    kind: str
    test: str
    statistic: float
    p_value: float
    p_opposite: float
    alpha: float
    effect_name: str
    effect: float
    ci: tuple[float, float]
    n_seeds: int
    metric: str
    expectation: str
    levels: list[LevelSummary] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    diverged: int = 0
    total_runs: int = 0
    diverged_policy: str = "against"
    omitted: int = 0
    counterexample: int | None = None
    detectable_effect: float | None = None
    seeds_needed: int | None = None
    advice: str = ""
    message: str = ""
    settings: list[SettingResult] = field(default_factory=list)
    per_seed: list[float] | None = None
    reference: float = 0.0
    alternative: str | None = None

    @property
    def pvalue(self) -> float:
        """scipy's name for :attr:`p_value`."""
        return self.p_value

    def replace(self, **changes: Any) -> Verdict:
        """Return a copy with ``changes``."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict with the schema-v1 verdict fields."""
        out = {
            "kind": self.kind, "verdict": self.verdict, "test": self.test,
            "statistic": _num(self.statistic), "p_value": _num(self.p_value),
            "p_opposite": _num(self.p_opposite), "alpha": self.alpha,
            "effect": {"name": self.effect_name, "value": _num(self.effect),
                       "ci": [_num(self.ci[0]), _num(self.ci[1])], "ci_level": 0.95,
                       "per_seed": None if self.per_seed is None
                       else [_num(v) for v in self.per_seed],
                       "reference": _num(self.reference), "alternative": self.alternative},
            "n_seeds": self.n_seeds, "metric": self.metric, "expectation": self.expectation,
            "levels": [lv.to_dict() for lv in self.levels],
            "members": [m.to_dict() for m in self.members],
            "diverged": self.diverged, "total_runs": self.total_runs,
            "diverged_policy": self.diverged_policy, "omitted": self.omitted,
            "counterexample": self.counterexample,
            "detectable_effect": _num(self.detectable_effect), "seeds_needed": self.seeds_needed,
            "advice": self.advice, "message": self.message,
        }
        if self.settings:
            out["settings"] = [s.to_dict() for s in self.settings]
        return out

    def __repr__(self) -> str:
        return (f"Verdict({self.verdict!r}, test={self.test!r}, p={_fmt_p(self.p_value)}, "
                f"{self.effect_name}={_fmt(self.effect)} [{_fmt(self.ci[0])}, {_fmt(self.ci[1])}], "
                f"n_seeds={self.n_seeds}, members={len(self.members)}, "
                f"settings={len(self.settings)})")

    def explain(self) -> str:
        """A multi-line, human-readable account: expectation, observation, p-values, levels."""
        omitted = (f", {self.omitted} seed(s) omitted (diverged='omit')" if self.omitted
                   else "")
        lines = [
            f"  expected  {self.expectation} (alpha={self.alpha:g})",
            f"  observed  {self.effect_name} {_fmt(self.effect)}, 95% CI [{_fmt(self.ci[0])}, "
            f"{_fmt(self.ci[1])}], {self.n_seeds} paired seeds, "
            f"{self.diverged}/{self.total_runs} runs diverged{omitted}",
            f"  p         claimed: {_fmt_p(self.p_value)}   opposite: {_fmt_p(self.p_opposite)}"
            f"   ({self.test})",
        ]
        if self.counterexample is not None:
            lines.append(f"  counterexample  seed {self.counterexample}")
        if self.verdict == "inconclusive":
            if self.detectable_effect is not None:
                need = (f"~{self.seeds_needed} seeds" if self.seeds_needed
                        else "no seed count")
                lines.append(f"  power     smallest effect detectable at {self.n_seeds} seeds "
                             f"(80% power): {_fmt(self.detectable_effect)}; the observed "
                             f"effect needs {need}")
            if self.advice:
                lines.append(f"  advice    {self.advice}")
        for s in self.settings:
            v = s.verdict
            lines.append(f"  setting   {v.verdict:<12} {s.name}: {v.effect_name} "
                         f"{_fmt(v.effect)} [{_fmt(v.ci[0])}, {_fmt(v.ci[1])}], "
                         f"p={_fmt_p(v.p_value)}, opposite={_fmt_p(v.p_opposite)}")
        for m in self.members:
            lines.append(f"  member    {m.verdict:<12} {m.label}: {m.result.effect_name} "
                         f"{_fmt(m.result.effect)}, p={_fmt_p(m.p_value)}, "
                         f"opposite={_fmt_p(m.p_opposite)} (Holm)")
        if self.levels:
            lines.append(f"  levels    {self.metric}: mean [95% CI] (n, diverged)")
            for lv in self.levels:
                cfg = ", ".join(f"{k}={v}" for k, v in lv.config.items())
                lines.append(f"            {cfg:<32} {_fmt(lv.mean)} [{_fmt(lv.ci[0])}, "
                             f"{_fmt(lv.ci[1])}] ({lv.n}, {lv.diverged})")
        if self.message:
            lines.append(f"  note      {self.message}")
        return "\n".join(lines)


def _fmt(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "n/a" if x is None or math.isnan(x) else ("+inf" if x > 0 else "-inf")
    return f"{x:+.4g}"


def _fmt_p(p: float) -> str:
    if p is None or not math.isfinite(p):
        return "n/a"
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def _member_verdict(p: float, p_opposite: float, p_margin: float, alpha: float) -> str:
    # The margin first: an effect shown inside it (or short of the floor) refutes even when
    # it is significantly non-zero, since the margin says what size the claim is about.
    if p_margin < alpha:
        return "refuted"
    if p < alpha:
        return "supported"
    return "refuted" if p_opposite < alpha else "inconclusive"


def _level_summary(samples: Samples, config: dict[str, Any], metric: str) -> LevelSummary:
    col = samples.matrix(metric, [config])[:, 0]
    ok = col[np.isfinite(col)]
    mean = float(ok.mean()) if ok.size else math.nan
    if ok.size >= 2 and ok.std() > 0:
        half = float(_st.t.ppf(0.975, ok.size - 1) * ok.std(ddof=1) / math.sqrt(ok.size))
        ci = (mean - half, mean + half)
    else:
        ci = (mean, mean)
    return LevelSummary(dict(config), mean, ci, int(ok.size), int(col.size - ok.size),
                        [float(v) for v in col])


def beyond_extremes(data: np.ndarray) -> tuple[float, float]:
    """Values beyond every finite one on each side: where a diverged run is put 'against'."""
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        return -1.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    span = high - low or max(abs(high), 1.0)
    return low - span, high + span


# Where a diverged run may sit, as multiples of the way from the medians to the extreme
# placement: inside the observed range, at the extreme, and far beyond it.
_AGAINST_SCALES = np.concatenate([[0.0], np.geomspace(1e-3, 1e4, 36)])


def is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


@dataclass(frozen=True)
class Expectation:
    """Base of every expectation kind.

    Subclasses define :meth:`_members` (the data each test reads), :meth:`_test` (one
    member's test) and :meth:`_against` (where a diverged seed goes so that it counts
    against the claim).
    """

    kind: ClassVar[str] = "expectation"
    metric: str
    diverged: str = "against"
    where: Mapping[str, Any] | None = None

    # -- validation -------------------------------------------------------------------------
    def validate(self, levels: Mapping[str, Sequence[Any]], *, claim_id: str = "<claim>") -> None:
        """Check the expectation against a sweep design before training."""
        if not isinstance(self.metric, str) or not self.metric:
            raise InvalidClaim(f"{claim_id}: metric={self.metric!r} must be a non-empty string.")
        if self.diverged not in DIVERGED_POLICIES:
            raise InvalidClaim(
                f"{claim_id}: diverged={self.diverged!r} must be 'against' (the default: a "
                "diverged seed counts against the claim) or 'omit' (drop such seeds; the "
                "report says how many).")
        for name, value in (self.where or {}).items():
            self._check_level(levels, name, value, claim_id, "where")

    @staticmethod
    def _check_level(levels: Mapping[str, Sequence[Any]], factor: str, value: Any,
                     claim_id: str, arg: str) -> None:
        if factor not in levels:
            raise InvalidClaim(f"{claim_id}: {arg} names factor {factor!r}, which the sweep "
                               f"does not vary; swept factors: {sorted(levels)}.")
        if value is not None and value not in list(levels[factor]):
            raise InvalidClaim(f"{claim_id}: {arg}: level {value!r} is not among "
                               f"{factor}={list(levels[factor])!r}.")

    @staticmethod
    def _check_location(of: str, claim_id: str, name: str) -> None:
        if of not in LOCATIONS:
            raise InvalidClaim(f"{claim_id}: {name}(of={of!r}): say whether the claim is about "
                               "the median (of='median', rank/sign tests) or the mean "
                               "(of='mean', t-type tests).")

    @staticmethod
    def _check_floor(floor: float | None, claimed_sign: int, claim_id: str, name: str) -> None:
        if floor is None:
            return
        if not is_number(floor) or not math.isfinite(floor) or floor * claimed_sign <= 0:
            side = "> 0" if claimed_sign > 0 else "< 0"
            raise InvalidClaim(
                f"{claim_id}: {name}(min_effect={floor!r}): the smallest effect of interest "
                f"must be a number {side}, on the side the claim predicts (the effect is "
                f"signed); e.g. min_effect={0.01 * claimed_sign:g}.")

    def check_seeds(self, n_seeds: int, alpha: float, *, claim_id: str = "<claim>",
                    levels: Mapping[str, Sequence[Any]] | None = None) -> None:
        """Refuse fewer than 2 seeds: no statistic can be computed from one."""
        if n_seeds < 2:
            raise InvalidClaim(
                f"{claim_id}: seeds={n_seeds} is too few for a {self.kind} claim: the test "
                "needs at least 2 paired seeds (10 or more for useful power). Pass seeds=10 "
                "to the claim marker or --atomcheck-seeds=10.")

    def first_look(self) -> int:
        """The fewest seeds at which this expectation's test keeps its level on skewed
        metrics: a sequential design looks no earlier (:mod:`atomcheck.sequential`). 2 for
        paired and rank tests; one-sample tests of a mean say more."""
        return 2

    def _family_size(self, levels: Mapping[str, Sequence[Any]] | None,
                     exclude: Sequence[str] = ()) -> int:
        """Members per comparison: one per combination of the other, unselected factors."""
        if levels is None:
            return 1
        size = 1
        for factor, values in levels.items():
            if factor not in exclude and factor not in (self.where or {}):
                size *= len(list(values))
        return size

    def metrics_read(self) -> list[str]:
        """The metric columns this expectation reads."""
        return [self.metric]

    def check_metric(self, metrics: Mapping[str, float], *, claim_id: str = "<claim>") -> None:
        """Raise when the training function does not return a metric this reads."""
        for column in self.metrics_read():
            if column != "wall_s" and column not in metrics:
                raise InvalidClaim(
                    f"{claim_id}: the expectation reads metric {column!r}, but the training "
                    f"function returned {sorted(metrics)}. Return {column!r} from it, or "
                    "read one of those.")

    # -- evaluation -------------------------------------------------------------------------
    def describe(self) -> str:
        """One line saying what the expectation predicts."""
        raise NotImplementedError

    def _groups(self, samples: Samples, exclude: Sequence[str]) -> list[dict[str, Any]]:
        """Combinations of the factors not in ``exclude`` (filtered by ``where``)."""
        others = [f for f in samples.factors if f not in exclude]
        seen: list[dict[str, Any]] = []
        for config in samples.configs:
            if any(config[k] != v for k, v in (self.where or {}).items()):
                continue
            group = {k: config[k] for k in others}
            if group not in seen:
                seen.append(group)
        return seen

    def _members(self, samples: Samples) -> list[tuple[str, np.ndarray, list[dict[str, Any]]]]:
        raise NotImplementedError

    def _test(self, data: np.ndarray, ci: bool = True) -> stats.TestResult:
        raise NotImplementedError

    def _split(self, label: str, data: np.ndarray,
               configs: Sequence[Mapping[str, Any]] = ()) -> list[tuple[str, np.ndarray]]:
        """The tests one member's data makes (one by default; a strict trend: each step)."""
        return [(label, data)]

    def _against(self, data: np.ndarray, bad: np.ndarray) -> np.ndarray:
        """``data`` with the rows ``bad`` (seeds that diverged) set against the claim,
        beyond every value seen."""
        raise NotImplementedError

    def _placements(self, data: np.ndarray, bad: np.ndarray) -> list[np.ndarray]:
        """Extreme placements of diverged rows (both sides, for equivalence claims)."""
        return [self._against(data.copy(), bad)]

    def _min_seeds(self) -> int:
        return 2

    def _apply_policy(self, data: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, int]:
        """Rows with a NaN/inf go against the claim, or are dropped under ``omit``."""
        bad = ~np.all(np.isfinite(data), axis=1)
        if not bad.any():
            return data, 0
        if self.diverged == "omit":
            return data[~bad], int(bad.sum())
        return self._worst_case(data, bad, alpha), 0

    def _worst_case(self, data: np.ndarray, bad: np.ndarray, alpha: float) -> np.ndarray:
        """``data`` with the diverged rows where they hurt the claim most.

        For rank and sign tests any value beyond every observed one on the claim's wrong
        side is the worst (the worst rank). A t statistic is bounded as one value runs off
        to infinity, so a far outlier can even rescue a claim from refutation; the worst
        value for it is finite. So the diverged rows move along the line from the columns'
        medians to each extreme placement, and the point with the largest claimed p-value
        (then the smallest refutation p-value; then the farthest) wins. Where no value is
        worst on both p-values (TOST), the worst verdict at ``alpha`` decides first.
        """
        center = data.copy()
        good = data[~bad]
        center[bad] = np.median(good, axis=0) if good.size else 0.0

        def badness(candidate: np.ndarray, scale: float) -> tuple[float, ...]:
            results = [self._test(sub, ci=False) for _, sub in self._split("", candidate)]
            p = max(r.pvalue for r in results)
            q = min(min(r.pvalue_opposite, r.extra.get("p_equivalent", 1.0)) for r in results)
            # The verdict first (refuted, inconclusive, supported), then the p-values; p
            # within 1e-9 ties (a plateau at p = 1), then the refutation p decides.
            rank = 2.0 if q < alpha else 0.0 if p < alpha else 1.0
            return (rank, round(p, 9), -q, scale)

        best: np.ndarray = center
        best_key: tuple[float, ...] = (-math.inf,) * 4
        for extreme in self._placements(data, bad):
            keys = [badness(center + s * (extreme - center), s) for s in _AGAINST_SCALES]
            i = max(range(len(keys)), key=keys.__getitem__)
            # A finer look between the coarse grid's neighbours of the worst point.
            low = _AGAINST_SCALES[max(i - 1, 0)]
            high = _AGAINST_SCALES[min(i + 1, len(_AGAINST_SCALES) - 1)]
            for scale in [*np.linspace(low, high, 25), _AGAINST_SCALES[i]]:
                key = badness(center + scale * (extreme - center), float(scale))
                if key >= best_key:
                    best, best_key = center + scale * (extreme - center), key
        return best

    def _check_samples(self, samples: Samples) -> None:
        self.check_metric({k: 0.0 for k in samples.metric_names})
        if "wall_s" in self.metrics_read() and samples.engine != "per-seed":
            # One batched call trains every seed: its time split evenly is one measurement
            # copied n times, not n independent samples.
            raise InvalidClaim(
                "wall_s of a batched sweep is one measurement shared by all seeds, not a "
                "sample per seed. Time each seed yourself (e.g. models.train(...).wall_s) and "
                "return it as a metric from a per-seed training function.")

    def evaluate(self, samples: Samples, *, alpha: float = 0.05) -> Verdict:
        """Decide the verdict from a sweep's samples."""
        self._check_samples(samples)
        results: list[tuple[str, stats.TestResult]] = []
        configs_used: list[dict[str, Any]] = []
        omitted = 0
        for label, data, configs in self._members(samples):
            configs_used.extend(c for c in configs if c not in configs_used)
            clean, dropped = self._apply_policy(data, alpha)
            omitted = max(omitted, dropped)
            if clean.shape[0] < self._min_seeds():
                return self._error(
                    samples, alpha, configs_used,
                    f"only {clean.shape[0]} of {data.shape[0]} seeds left for {label} after "
                    f"omitting diverged runs (diverged='omit'); the test needs >= "
                    f"{self._min_seeds()}. Count them against the claim (diverged='against', "
                    "the default) or find out why they diverge.")
            tests = [(name, self._test(sub)) for name, sub in self._split(label, clean, configs)]
            finite = np.all(np.isfinite(data), axis=1)
            if self.diverged == "against" and 2 <= finite.sum() < finite.size:
                tests = self._describe_finite(tests, data[finite], label, configs)
            results.extend(tests)
        return self._decide(samples, results, alpha, configs_used, omitted)

    def _describe_finite(self, tests: list[tuple[str, stats.TestResult]], finite: np.ndarray,
                         label: str, configs: list[dict[str, Any]]
                         ) -> list[tuple[str, stats.TestResult]]:
        """The effect and CI of the seeds that did not diverge, with the p-values of the test
        that counted the others against the claim (their stand-in values are no effect
        anyone measured)."""
        out = []
        for (name, result), (_, sub) in zip(tests, self._split(label, finite, configs)):
            try:
                seen = self._test(sub)
            except ValueError:  # too few or degenerate: keep the worst-case numbers
                out.append((name, result))
                continue
            extra = {**result.extra, "effect_seeds": seen.n,
                     "effect_note": f"effect and CI over the {seen.n} seeds that did not "
                                    "diverge; p-values count the others against the claim"}
            out.append((name, replace(result, effect=seen.effect, ci=seen.ci, sd=seen.sd,
                                      extra=extra)))
        return out

    def _decide(self, samples: Samples, results: list[tuple[str, stats.TestResult]],
                alpha: float, configs: list[dict[str, Any]], omitted: int) -> Verdict:
        # Refutation is a union over members (and over the margin/floor hypotheses):
        # Holm across all of them. Support is an intersection: each member at alpha.
        refuting = [r.pvalue_opposite for _, r in results]
        floors = [i for i, (_, r) in enumerate(results) if "p_equivalent" in r.extra]
        refuting += [float(results[i][1].extra["p_equivalent"]) for i in floors]
        adjusted = stats.holm(refuting)
        p_opposite = [float(q) for q in adjusted[: len(results)]]
        p_margin = [math.inf] * len(results)
        for k, i in enumerate(floors):
            p_margin[i] = float(adjusted[len(results) + k])
        members = [Member(label, _member_verdict(r.pvalue, q, m, alpha), r, float(r.pvalue),
                          min(q, m))
                   for (label, r), q, m in zip(results, p_opposite, p_margin)]
        return self._assemble(samples, members, alpha, configs, omitted)

    def _error(self, samples: Samples, alpha: float, configs: list[dict[str, Any]],
               why: str) -> Verdict:
        levels = self._summaries(samples, configs)
        return Verdict("error", self.kind, "none", math.nan, math.nan, math.nan, alpha,
                       "effect", math.nan, (math.nan, math.nan), 0, self.metric, self.describe(),
                       levels, diverged=sum(lv.diverged for lv in levels),
                       total_runs=sum(lv.n + lv.diverged for lv in levels),
                       diverged_policy=self.diverged, message=why)

    def _assemble(self, samples: Samples, members: list[Member], alpha: float,
                  configs: list[dict[str, Any]], omitted: int = 0) -> Verdict:
        verdicts = [m.verdict for m in members]
        if "refuted" in verdicts:
            overall = "refuted"
            decider = min((m for m in members if m.verdict == "refuted"),
                          key=lambda m: m.p_opposite)
        else:
            overall = "supported" if all(v == "supported" for v in verdicts) else "inconclusive"
            decider = max(members, key=lambda m: m.p_value)
        r = decider.result
        detectable = needed = None
        advice = ""
        if overall == "inconclusive":
            detectable = stats.detectable_effect(r.sd, r.n, alpha=alpha)
            hint = stats.seeds_needed_for(self._power_result(r), alpha=alpha,
                                          family=len(members))
            needed, advice = hint.n, hint.note
        levels = self._summaries(samples, configs)
        p_values = [m.p_value for m in members]
        return Verdict(
            verdict=overall, kind=self.kind, test=r.test, statistic=r.statistic,
            p_value=max(p_values) if all(map(math.isfinite, p_values)) else decider.p_value,
            p_opposite=min(m.p_opposite for m in members), alpha=alpha,
            effect_name=r.effect_name, effect=r.effect, ci=(r.ci.low, r.ci.high), n_seeds=r.n,
            metric=self.metric, expectation=self.describe(), levels=levels,
            members=members if len(members) > 1 else [],
            diverged=sum(lv.diverged for lv in levels),
            total_runs=sum(lv.n + lv.diverged for lv in levels),
            diverged_policy=self.diverged, omitted=omitted,
            counterexample=r.extra.get("counterexample"),
            detectable_effect=detectable, seeds_needed=needed, advice=advice,
            per_seed=r.extra.get("per_seed"), reference=_reference(r),
            alternative=r.extra.get("alternative"),
        )

    def _power_result(self, result: stats.TestResult) -> stats.TestResult:
        """The result the seed-count advice reads (floors shift the effect to test)."""
        return result

    def _summaries(self, samples: Samples, configs: list[dict[str, Any]]) -> list[LevelSummary]:
        return [_level_summary(samples, c, self.metric) for c in configs]


def _check_wilcoxon_floor(n_seeds: int, alpha: float, claim_id: str, family: int = 1,
                          test: str = "Wilcoxon signed-rank",
                          remedy: str = ", or of='mean' if the claim is about a mean") -> None:
    # Refutation is Holm-corrected across the family: with every seed agreeing, the best a
    # one-sided rank or sign test gives is 0.5**n, so m * 0.5**n must be below alpha for
    # both verdicts to be reachable.
    smallest = family * 0.5**n_seeds
    if smallest >= alpha:
        need = math.floor(math.log2(family / alpha)) + 1
        of = f" in a family of {family}" if family > 1 else ""
        raise InvalidClaim(
            f"{claim_id}: seeds={n_seeds} can never reach alpha={alpha:g} with a one-sided "
            f"{test} test{of} (smallest possible p = {smallest:.4g}). Use "
            f"seeds>={need}{remedy}.")


def _cfg_key(config: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, repr(v)) for k, v in config.items()))


def group_label(group: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in group.items())


def _as_list(x: Any) -> list[Any]:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def paired_result(a: np.ndarray, b: np.ndarray, *, greater: bool, of: str,
                  floor: float | None = None, ci: bool = True) -> stats.TestResult:
    """One-sided paired test of A − B (median: Wilcoxon; mean: t), optionally past a floor.

    With a floor the test is of A − B against the floor, not against zero; the effect is
    still reported as A − B, and the opposite p-value says "short of the floor".
    """
    test = "wilcoxon" if of == "median" else "t"
    if floor is None:
        return stats.paired_test(a, b, greater=greater, test=test, ci=ci)
    shifted = stats.paired_test(a - floor, b, greater=greater, test=test, ci=ci)
    interval = stats.ConfidenceInterval(shifted.ci.low + floor, shifted.ci.high + floor)
    per_seed = [v + floor for v in shifted.extra["per_seed"]]  # A − B, as the effect
    return replace(shifted, effect=shifted.effect + floor, ci=interval,
                   extra={**shifted.extra, "min_effect": floor, "per_seed": per_seed})


def _reference(result: stats.TestResult) -> float:
    """The value the effect is tested against (its null): a floor, a threshold, the
    centre of an equivalence margin, else 0. The regression gate measures from it."""
    for key in ("min_effect", "center", "value"):
        if is_number(result.extra.get(key)):
            return float(result.extra[key])
    return 0.0


def _tested_effect(result: stats.TestResult) -> stats.TestResult:
    floor = result.extra.get("min_effect")
    return result if floor is None else replace(result, effect=result.effect - floor)


def _check_ascending(values: list[Any], claim_id: str, arg: str) -> None:
    if all(is_number(v) for v in values) and any(b <= a for a, b in zip(values, values[1:])):
        raise InvalidClaim(
            f"{claim_id}: {arg}{values!r}: a trend reads its numeric levels in the order "
            f"listed, and these are not strictly ascending. List them sorted: "
            f"{sorted(values)!r} (use Falls instead of Rises to claim a decrease).")


def check_ordered(expectation: Any, levels: Mapping[str, Sequence[Any]], claim_id: str,
                  minimum: int = 3) -> None:
    """Check an ordered factor: swept, enough levels, numeric ascending or ``order`` stated.

    ``expectation`` has ``metric``, ``along`` and ``order`` attributes.
    """
    name = type(expectation).__name__
    along = expectation.along
    Expectation._check_level(levels, along, None, claim_id, "along")
    values = list(levels[along])
    if len(values) < minimum:
        raise InvalidClaim(
            f"{claim_id}: a {expectation.kind} along {along!r} needs >= {minimum} levels; got "
            f"{values!r}. Add levels, or use Beats for two.")
    if expectation.order is not None:
        order = list(expectation.order)
        if len(order) != len(values) or not all(any(o == v for o in order) for v in values):
            raise InvalidClaim(f"{claim_id}: order={list(expectation.order)!r} must list exactly "
                               f"the levels of {along!r}: {values!r}.")
    elif all(is_number(v) for v in values):
        _check_ascending(values, claim_id, f"{along}=")
    else:
        raise InvalidClaim(
            f"{claim_id}: the levels of {along!r} ({values!r}) are not numbers, so their "
            f"order must be stated: {name}({expectation.metric!r}, along={along!r}, "
            f"order=[...]) listing them from first to last.")


def ordered_configs(expectation: Any, configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``configs`` sorted by ``expectation.order`` of the ``along`` factor (when stated)."""
    if expectation.order is None:
        return configs
    order = list(expectation.order)
    return sorted(configs, key=lambda c: next(i for i, o in enumerate(order)
                                              if o == c[expectation.along]))


@dataclass(frozen=True)
class _Trend(Expectation):
    along: str = ""
    across: Mapping[Any, str] | None = None
    strict: bool = False
    min_effect: float | None = None
    order: Sequence[Any] | None = None
    of: str = "median"
    increasing: ClassVar[bool] = True
    kind: ClassVar[str] = "trend"

    def validate(self, levels: Mapping[str, Sequence[Any]], *, claim_id: str = "<claim>") -> None:
        super().validate(levels, claim_id=claim_id)
        name = type(self).__name__
        self._check_location(self.of, claim_id, name)
        self._check_floor(self.min_effect, 1 if self.increasing else -1, claim_id, name)
        if self.min_effect is not None and not self.strict:
            if abs(self.min_effect) >= 1:
                raise InvalidClaim(f"{claim_id}: {name}(min_effect={self.min_effect!r}) is a "
                                   "floor on the per-seed Kendall tau, which lies in (-1, 1).")
            if self.of != "median":
                raise InvalidClaim(
                    f"{claim_id}: {name}(min_effect=..., of={self.of!r}): a floor on the "
                    "per-seed Kendall tau is tested on its median (an exact sign test): tau "
                    "is bounded and piles up at ±1, where no mean test keeps its error rate. "
                    "Drop of=, or use strict=True for a floor on each step's mean difference.")
        if self.across is not None:
            if not isinstance(self.across, Mapping) or len(self.across) < 3:
                raise InvalidClaim(
                    f"{claim_id}: across= must map >= 3 ordered levels to metric columns, e.g. "
                    "{1: 'change_1', 2: 'change_2', 3: 'change_3'}; got "
                    f"{self.across!r}.")
            if self.along in levels:
                raise InvalidClaim(f"{claim_id}: along={self.along!r} names the levels of "
                                   "across=, so it must not also be a swept factor.")
            _check_ascending(list(self.across), claim_id, "across=")
            return
        check_ordered(self, levels, claim_id)

    def check_seeds(self, n_seeds: int, alpha: float, *, claim_id: str = "<claim>",
                    levels: Mapping[str, Sequence[Any]] | None = None) -> None:
        """Strict trends run one paired rank test per adjacent pair: refuse a hopeless design."""
        super().check_seeds(n_seeds, alpha, claim_id=claim_id)
        if self.strict and self.of == "median":
            steps = (len(self.across) if self.across is not None else
                     len(list(levels[self.along])) if levels and self.along in levels else 2) - 1
            family = self._family_size(levels, exclude=[self.along]) * steps
            _check_wilcoxon_floor(n_seeds, alpha, claim_id, family)

    def metrics_read(self) -> list[str]:
        """Every column the trend reads (the ``across=`` columns when given)."""
        return list(self.across.values()) if self.across is not None else [self.metric]

    def describe(self) -> str:
        word = ("strictly " if self.strict else "") + ("rises" if self.increasing else "falls")
        where = (f"across {self.along or 'levels'} {list(self.across)}" if self.across is not None
                 else f"along {self.along}")
        if self.strict:
            test = f"every adjacent pair, paired {self._paired_name()}"
        elif self.min_effect is not None:
            test = "median per-seed Kendall tau, sign test"
        else:
            test = "Page's L"
        floor = (f", by more than {abs(self.min_effect):g}" if self.min_effect is not None
                 else "")
        return f"{self.metric} {word} {where}{floor} ({test}, one-sided)"

    def _paired_name(self) -> str:
        return "wilcoxon" if self.of == "median" else "t"

    def _trend_members(self, samples: Samples
                       ) -> list[tuple[str, np.ndarray, list[dict[str, Any]]]]:
        out = []
        if self.across is not None:
            for group in self._groups(samples, []):
                config = {f: group[f] for f in samples.factors}
                matrix = np.column_stack([samples.matrix(column, [config])[:, 0]
                                          for column in self.across.values()])
                out.append((group_label(group) or self.metric, matrix, [config]))
            return out
        for group in self._groups(samples, [self.along]):
            configs = ordered_configs(self, [c for c in samples.configs
                                             if all(c[k] == v for k, v in group.items())])
            out.append((group_label(group) or self.along, samples.matrix(self.metric, configs),
                        configs))
        return out

    def _members(self, samples: Samples) -> list[tuple[str, np.ndarray, list[dict[str, Any]]]]:
        return self._trend_members(samples)

    def _split(self, label: str, data: np.ndarray,
               configs: Sequence[Mapping[str, Any]] = ()) -> list[tuple[str, np.ndarray]]:
        # A strict trend tests each adjacent pair; the diverged-run policy has already been
        # applied to the whole trend, so a seed lost anywhere counts against every step.
        if not self.strict:
            return [(label, data)]
        if self.across is not None:
            names = list(self.across)
        elif len(configs) == data.shape[1]:
            names = [c[self.along] for c in configs]
        else:
            names = list(range(1, data.shape[1] + 1))
        steps = []
        for j in range(data.shape[1] - 1):
            step = f"{self.along or 'level'} {names[j]} → {names[j + 1]}"
            steps.append((f"{step} [{label}]" if label and label != self.along else step,
                          data[:, j:j + 2]))
        return steps

    def _summaries(self, samples: Samples, configs: list[dict[str, Any]]) -> list[LevelSummary]:
        if self.across is None:
            return super()._summaries(samples, configs)
        name = self.along or "level"
        return [replace(_level_summary(samples, c, column), config={**c, name: level})
                for c in configs for level, column in self.across.items()]

    def _against(self, data: np.ndarray, bad: np.ndarray) -> np.ndarray:
        # A diverged seed becomes a block running the opposite way, beyond every value seen:
        # the worst rank on each level for the claim.
        low, high = beyond_extremes(data)
        ramp = np.linspace(high, low, data.shape[1]) if self.increasing else \
            np.linspace(low, high, data.shape[1])
        data[bad] = ramp
        return data

    def _test(self, data: np.ndarray, ci: bool = True) -> stats.TestResult:
        if self.strict:  # one adjacent pair: the later level beats the earlier one
            return paired_result(data[:, 1], data[:, 0], greater=self.increasing, of=self.of,
                                 floor=self.min_effect, ci=ci)
        if self.min_effect is not None:
            # Per-seed tau is bounded by ±1 and piles up there on clear trends: only the
            # median's exact sign test keeps its error rate (validate refuses of="mean").
            taus = stats.kendall_tau_rows(data)
            result = stats.one_sample_test(taus, self.min_effect, greater=self.increasing,
                                           test="sign", ci=ci)
            return replace(result, effect_name="median Kendall tau")
        return stats.trend_test(data, increasing=self.increasing, ci=ci)

    def _power_result(self, result: stats.TestResult) -> stats.TestResult:
        return _tested_effect(result)


@dataclass(frozen=True)
class Rises(_Trend):
    """``metric`` rises along the ordered factor ``along`` (Page's L test, seeds as blocks).

    Numeric levels must be listed ascending; other levels need ``order=[...]``. Other
    swept factors make a family, one trend per combination (each at alpha; refutation
    Holm-corrected). For a trend across values one run reports (per layer, say), pass
    ``across={level: column}`` in order instead of a swept factor.

    Parameters
    ----------
    strict : bool
        Every adjacent pair must rise (a paired one-sided test per pair, all at alpha): for
        claims that say "monotonically". Page's L alone can be carried by one extreme level.
    min_effect : float, optional
        Smallest effect of interest, signed like the trend: the median per-seed Kendall tau
        must exceed it significantly (an exact sign test; with ``strict``: each adjacent
        paired difference, by ``of``); shown short of it, the claim is refuted.
    order : list, optional
        The levels from first to last, for levels that are not numbers.
    of : {"median", "mean"}
        For ``strict``: what each adjacent pair's test is about (Wilcoxon for the median,
        paired t for the mean).

    Examples
    --------
    >>> Rises("test_accuracy", along="n_train").describe()
    "test_accuracy rises along n_train (Page's L, one-sided)"
    """

    increasing: ClassVar[bool] = True


@dataclass(frozen=True)
class Falls(_Trend):
    """``metric`` falls along the ordered factor ``along``; see :class:`Rises`.

    Examples
    --------
    >>> Falls("test_accuracy", along="batch_size").kind
    'trend'
    """

    increasing: ClassVar[bool] = False


@dataclass(frozen=True)
class _Pairwise(Expectation):
    along: str = ""
    a: Any = None
    b: Any = None

    def validate(self, levels: Mapping[str, Sequence[Any]], *, claim_id: str = "<claim>") -> None:
        super().validate(levels, claim_id=claim_id)
        self._check_level(levels, self.along, self.a, claim_id, "a")
        for b in self._bs(levels):
            self._check_level(levels, self.along, b, claim_id, "b")

    def _bs(self, levels: Mapping[str, Sequence[Any]]) -> list[Any]:
        if self.b is None:
            return [v for v in levels[self.along] if v != self.a]
        return _as_list(self.b)

    def _members(self, samples: Samples) -> list[tuple[str, np.ndarray, list[dict[str, Any]]]]:
        levels = {f: list(dict.fromkeys(c[f] for c in samples.configs)) for f in samples.factors}
        out = []
        for group in self._groups(samples, [self.along]):
            for b in self._bs(levels):
                configs = [{**group, self.along: self.a}, {**group, self.along: b}]
                configs = [{f: c[f] for f in samples.factors} for c in configs]
                label = f"{self.a} vs {b}" + (f" [{group_label(group)}]" if group else "")
                out.append((label, samples.matrix(self.metric, configs), configs))
        return out


@dataclass(frozen=True)
class Beats(_Pairwise):
    """Level ``a`` of ``along`` beats level(s) ``b`` on ``metric``, paired by seed.

    Parameters
    ----------
    metric : str
    along : str
        The factor whose levels are compared.
    a : level
        The level claimed better.
    b : level or list of levels
        What it beats; several make a family (each at alpha, refutation Holm-corrected).
    greater : bool
        True when a higher metric is better (accuracy), False when lower is (loss).
    of : {"median", "mean"}
        What the claim is about: the median paired difference (Wilcoxon signed-rank, the
        default: no normality assumption, robust to bounded, tied accuracies) or the mean
        (paired t-test).
    margin : float, optional
        With a margin, an effect shown smaller than it by TOST refutes the claim.
    min_effect : float, optional
        Smallest effect of interest, signed like ``a − b`` (> 0 when ``greater``): the
        difference must exceed it significantly; shown short of it, the claim is refuted.

    Examples
    --------
    >>> Beats("test_accuracy", along="method", a="nn", b=["svm", "rf"]).describe()
    'test_accuracy: nn > svm, rf (paired wilcoxon, one-sided)'
    """

    greater: bool = True
    of: str = "median"
    margin: float | None = None
    min_effect: float | None = None
    kind: ClassVar[str] = "compare"

    def validate(self, levels: Mapping[str, Sequence[Any]], *, claim_id: str = "<claim>") -> None:
        super().validate(levels, claim_id=claim_id)
        self._check_location(self.of, claim_id, "Beats")
        if self.margin is not None and not (is_number(self.margin) and self.margin > 0):
            raise InvalidClaim(f"{claim_id}: margin={self.margin!r} must be > 0 when given.")
        self._check_floor(self.min_effect, 1 if self.greater else -1, claim_id, "Beats")

    def check_seeds(self, n_seeds: int, alpha: float, *, claim_id: str = "<claim>",
                    levels: Mapping[str, Sequence[Any]] | None = None) -> None:
        """Refuse a design that can never reach ``alpha`` (the whole family included)."""
        super().check_seeds(n_seeds, alpha, claim_id=claim_id)
        if self.of == "median":
            family = self._family_size(levels, exclude=[self.along]) * (
                len(self._bs(levels)) if levels is not None else 1)
            _check_wilcoxon_floor(n_seeds, alpha, claim_id, family)

    def describe(self) -> str:
        sign = ">" if self.greater else "<"
        bs = ", ".join(str(b) for b in _as_list(self.b)) if self.b is not None else "the rest"
        test = "wilcoxon" if self.of == "median" else "t"
        floor = f" by more than {abs(self.min_effect):g}" if self.min_effect is not None else ""
        return f"{self.metric}: {self.a} {sign} {bs}{floor} (paired {test}, one-sided)"

    def _against(self, data: np.ndarray, bad: np.ndarray) -> np.ndarray:
        low, high = beyond_extremes(data)
        data[bad] = [low, high] if self.greater else [high, low]
        return data

    def _test(self, data: np.ndarray, ci: bool = True) -> stats.TestResult:
        result = paired_result(data[:, 0], data[:, 1], greater=self.greater, of=self.of,
                               floor=self.min_effect, ci=ci)
        if self.margin is not None:
            eq = stats.tost_paired(data[:, 0], data[:, 1], margin=self.margin, ci=False)
            result = replace(result, extra={**result.extra, "p_equivalent": eq.pvalue,
                                            "margin": self.margin})
        return result

    def _power_result(self, result: stats.TestResult) -> stats.TestResult:
        return _tested_effect(result)


@dataclass(frozen=True)
class Equivalent(_Pairwise):
    """Level(s) ``b`` are within ±``margin`` of reference level ``a`` (paired TOST).

    The margin is always explicit: equivalence without a margin means nothing. Several
    ``b`` levels make a family: each must be shown equivalent at alpha.

    Examples
    --------
    >>> Equivalent("test_accuracy", along="activation", a="relu", margin=0.05).kind
    'equivalent'
    """

    margin: float | None = None
    kind: ClassVar[str] = "equivalent"

    def validate(self, levels: Mapping[str, Sequence[Any]], *, claim_id: str = "<claim>") -> None:
        if self.margin is None or not is_number(self.margin) or not self.margin > 0:
            raise InvalidClaim(
                f"{claim_id}: Equivalent({self.metric!r}) needs an explicit margin > 0; got "
                f"margin={self.margin!r}. State the largest difference that counts as "
                "'about the same', e.g. margin=0.03 for 3 accuracy points.")
        super().validate(levels, claim_id=claim_id)

    def describe(self) -> str:
        bs = (", ".join(str(b) for b in _as_list(self.b)) if self.b is not None
              else "every other level")
        return f"{self.metric}: {bs} within ±{self.margin:g} of {self.a} (paired TOST)"

    def _against(self, data: np.ndarray, bad: np.ndarray) -> np.ndarray:
        assert self.margin is not None
        low, high = beyond_extremes(data)
        data[bad] = [low, high + self.margin]
        return data

    def _placements(self, data: np.ndarray, bad: np.ndarray) -> list[np.ndarray]:
        low, high = beyond_extremes(data)
        assert self.margin is not None
        above, below = data.copy(), data.copy()
        above[bad] = [low, high + self.margin]
        below[bad] = [high, low - self.margin]
        return [above, below]

    def _test(self, data: np.ndarray, ci: bool = True) -> stats.TestResult:
        assert self.margin is not None
        return stats.tost_paired(data[:, 1], data[:, 0], margin=float(self.margin), ci=ci)


@dataclass(frozen=True)
class Threshold(Expectation):
    """``metric`` is above, below, or about a value, for every selected configuration.

    Give exactly one of ``above``, ``below`` or ``about`` (with ``margin``). Several
    configurations make a family (each at alpha; refutation Holm-corrected).

    Parameters
    ----------
    of : {"median", "mean"}, optional
        What the claim is about. ``above``/``below`` default to the median (an exact sign
        test: valid for any distribution, skewed losses and times included); ``of="mean"``
        uses a t-type test of the mean. ``about`` is an equivalence test of the mean (TOST).
    margin : float, optional
        With ``above``/``below``: an effect shown within ±margin of the value refutes.

    Examples
    --------
    >>> Threshold("test_accuracy", about=0.5, margin=0.05).describe()
    'test_accuracy mean within 0.5 ± 0.05 (TOST)'
    """

    above: float | None = None
    below: float | None = None
    about: float | None = None
    margin: float | None = None
    of: str | None = None
    kind: ClassVar[str] = "threshold"

    @property
    def location(self) -> str:
        """``median`` or ``mean``: what the test is about."""
        return self.of or ("mean" if self.about is not None else "median")

    def validate(self, levels: Mapping[str, Sequence[Any]], *, claim_id: str = "<claim>") -> None:
        super().validate(levels, claim_id=claim_id)
        given = [x for x in (self.above, self.below, self.about) if x is not None]
        if len(given) != 1:
            raise InvalidClaim(f"{claim_id}: Threshold({self.metric!r}) needs exactly one of "
                               "above=, below= or about=.")
        self._check_location(self.location, claim_id, "Threshold")
        if self.about is not None and not (self.margin and self.margin > 0):
            raise InvalidClaim(f"{claim_id}: Threshold(about={self.about}) needs an explicit "
                               f"margin > 0; got margin={self.margin!r}.")
        if self.about is not None and self.location != "mean":
            raise InvalidClaim(f"{claim_id}: Threshold(about=...) is an equivalence test of the "
                               "mean (TOST); drop of='median' or use above=/below=.")

    def first_look(self) -> int:
        """A test of a mean (``above``/``below``, or TOST about a value) is calibrated on
        skewed metrics only from :data:`~atomcheck.sequential.MEAN_FIRST_LOOK` seeds on."""
        return MEAN_FIRST_LOOK if self.location == "mean" else 2

    def check_seeds(self, n_seeds: int, alpha: float, *, claim_id: str = "<claim>",
                    levels: Mapping[str, Sequence[Any]] | None = None) -> None:
        """Refuse a design that can never reach ``alpha`` (the whole family included)."""
        super().check_seeds(n_seeds, alpha, claim_id=claim_id)
        if self.location == "median":
            _check_wilcoxon_floor(n_seeds, alpha, claim_id, self._family_size(levels),
                                  test="sign")

    def describe(self) -> str:
        if self.about is not None:
            return f"{self.metric} mean within {self.about:g} ± {self.margin:g} (TOST)"
        word, value = ("above", self.above) if self.above is not None else ("below", self.below)
        test = "sign test" if self.location == "median" else "t-type test"
        return f"{self.metric} {self.location} {word} {value:g} ({test}, one-sided)"

    def _members(self, samples: Samples) -> list[tuple[str, np.ndarray, list[dict[str, Any]]]]:
        out = []
        for group in self._groups(samples, []):
            config = {f: group[f] for f in samples.factors}
            out.append((group_label(group) or self.metric, samples.matrix(self.metric, [config]),
                        [config]))
        return out

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

    def _placements(self, data: np.ndarray, bad: np.ndarray) -> list[np.ndarray]:
        if self.about is None:
            return super()._placements(data, bad)
        assert self.margin is not None
        low, high = beyond_extremes(data)
        above, below = data.copy(), data.copy()
        above[bad] = max(high, self.about + self.margin) + (high - low)
        below[bad] = min(low, self.about - self.margin) - (high - low)
        return [above, below]

    def _test(self, data: np.ndarray, ci: bool = True) -> stats.TestResult:
        x = data[:, 0]
        if self.about is not None:
            assert self.margin is not None
            return stats.tost_one_sample(x, self.about, margin=self.margin, ci=ci)
        value = self.above if self.above is not None else self.below
        assert value is not None
        test = "sign" if self.location == "median" else "t"
        result = stats.one_sample_test(x, value, greater=self.above is not None, test=test,
                                       ci=ci)
        if self.margin is not None:
            eq = stats.tost_one_sample(x, value, margin=self.margin, ci=False)
            result = replace(result, extra={**result.extra, "p_equivalent": eq.pvalue})
        return result


@dataclass(frozen=True)
class Spread(_Pairwise):
    """Level ``a``'s spread across seeds is smaller (or larger) than level ``b``'s.

    The levels are paired by seed, so the test is a paired permutation test (swapping a
    seed's two arms) of squared deviations from each level's median, one-sided in the
    claimed direction; valid whatever the metric's distribution (skewed, heavy-tailed,
    tied), see :func:`atomcheck.stats.paired_spread_test`. Effect: the spread ratio
    (root-mean-square deviation from the median, ``a`` over ``b``). As with the sign
    test, the smallest p-value is 0.5**n: 5 seeds at least (more in a family).

    Examples
    --------
    >>> Spread("test_accuracy", along="l2", a=1e-3, b=0.0).kind
    'variance'
    """

    smaller: bool = True
    kind: ClassVar[str] = "variance"

    def describe(self) -> str:
        word = "smaller" if self.smaller else "larger"
        return (f"spread of {self.metric}: {self.a} {word} than {self.b} "
                "(paired permutation test)")

    def check_seeds(self, n_seeds: int, alpha: float, *, claim_id: str = "<claim>",
                    levels: Mapping[str, Sequence[Any]] | None = None) -> None:
        """Refuse a design that can never reach ``alpha`` (the whole family included)."""
        super().check_seeds(n_seeds, alpha, claim_id=claim_id)
        family = self._family_size(levels, exclude=[self.along]) * (
            len(self._bs(levels)) if levels is not None else 1)
        _check_wilcoxon_floor(n_seeds, alpha, claim_id, family, test="permutation",
                              remedy="")

    def _min_seeds(self) -> int:
        return 4  # the median-centred permutation test needs a few seeds to mean anything

    def _against(self, data: np.ndarray, bad: np.ndarray) -> np.ndarray:
        # The arm claimed tighter gets an outlier; the other arm its median (no spread added).
        low, high = beyond_extremes(data)
        tight, loose = (0, 1) if self.smaller else (1, 0)
        data[bad, tight] = high
        finite = data[~bad, loose]
        data[bad, loose] = float(np.median(finite)) if finite.size else 0.0
        return data

    def _test(self, data: np.ndarray, ci: bool = True) -> stats.TestResult:
        return stats.paired_spread_test(data[:, 0], data[:, 1], a_smaller=self.smaller, ci=ci)


@dataclass(frozen=True)
class Exact(Expectation):
    """``metric`` is true (non-zero) for every seed of every selected configuration.

    A single counterexample refutes; the verdict names the first failing seed. A diverged
    run is a counterexample by default; under ``diverged="omit"`` its seed is dropped
    (and said so).

    Examples
    --------
    >>> Exact("identical").describe()
    'identical holds for every seed (exact)'
    """

    kind: ClassVar[str] = "exact"

    def describe(self) -> str:
        return f"{self.metric} holds for every seed (exact)"

    def check_seeds(self, n_seeds: int, alpha: float, *, claim_id: str = "<claim>",
                    levels: Mapping[str, Sequence[Any]] | None = None) -> None:
        """An exact claim needs one seed at least."""
        if n_seeds < 1:
            raise InvalidClaim(f"{claim_id}: seeds={n_seeds}: an exact claim needs >= 1 seed.")

    def evaluate(self, samples: Samples, *, alpha: float = 0.05) -> Verdict:
        """Holds when every seed of every selected configuration has a non-zero metric."""
        self._check_samples(samples)
        configs = [{f: g[f] for f in samples.factors} for g in self._groups(samples, [])]
        data = samples.matrix(self.metric, configs)
        seeds = np.asarray(samples.seeds)
        omitted = 0
        if self.diverged == "omit":
            ok = np.all(np.isfinite(data), axis=1)
            omitted = int((~ok).sum())
            data, seeds = data[ok], seeds[ok]
            if data.shape[0] < 1:
                return self._error(samples, alpha, configs,
                                   "every seed diverged and diverged='omit' dropped them all")
        holds = np.all(np.nan_to_num(data, nan=0.0) != 0, axis=1)
        result = stats.exact_test(holds.tolist(), seeds.tolist())
        member = Member(self.describe(), "supported" if holds.all() else "refuted", result,
                        math.nan, math.nan)
        return self._assemble(samples, [member], alpha, configs, omitted)
