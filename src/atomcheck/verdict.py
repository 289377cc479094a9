"""Expectations and verdicts: the only place a verdict is computed.

An expectation says what a claim predicts about a sweep's table (a trend, A beats B,
A ≈ B, a threshold, a spread, an exact property). :meth:`Expectation.evaluate` runs the
statistics and applies DESIGN.md's rules:

- directional (trend, compare, threshold): *supported* when the one-sided test in the
  claimed direction has p < alpha; *refuted* when the opposite one-sided test has p < alpha,
  or when a margin is given and TOST shows the effect inside ±margin; else *inconclusive*;
- equivalence: *supported* when TOST shows the difference inside ±margin; *refuted* when a
  difference beyond the margin is significant; else *inconclusive*;
- a family (several members in one claim) is Holm-corrected and supported only when every
  member is; one refuted member refutes it;
- exact: holds for every seed, or refuted with the first counterexample seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
from scipy import stats as _st

from atomcheck import stats
from atomcheck.errors import InvalidClaim
from atomcheck.sweep import Samples

__all__ = [
    "Verdict",
    "Member",
    "LevelSummary",
    "Expectation",
    "Rises",
    "Falls",
    "Beats",
    "Equivalent",
    "Threshold",
    "Spread",
    "Exact",
    "VERDICTS",
]

VERDICTS = ("supported", "refuted", "inconclusive", "error")


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
    """One test of a family, after Holm correction."""

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
class Verdict:
    """The outcome of a claim, shaped like a scipy result.

    Attributes
    ----------
    verdict : {"supported", "refuted", "inconclusive", "error"}
    kind : str
        The expectation kind (``trend``, ``compare``, ``equivalent``, ...).
    test : str
        Test that decided (the deciding member's test in a family).
    statistic, p_value : float
        Its statistic and (Holm-adjusted) one-sided p-value in the claimed direction.
    p_opposite : float
        The p-value of the opposite direction (or of "beyond the margin").
    alpha : float
    effect_name, effect, ci :
        Effect size and its confidence interval.
    n_seeds : int
    metric : str
    levels : list of LevelSummary
    members : list of Member
        The family's members (empty for a single test).
    diverged, total_runs : int
        Diverged runs among all runs read.
    counterexample : int or None
        First seed that breaks an exact claim.
    detectable_effect, seeds_needed :
        Power hints for inconclusive verdicts.
    expectation : str
        Human-readable description of the expectation.
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
    counterexample: int | None = None
    detectable_effect: float | None = None
    seeds_needed: int | None = None
    message: str = ""

    @property
    def pvalue(self) -> float:
        """scipy's name for :attr:`p_value`."""
        return self.p_value

    def replace(self, **changes: Any) -> Verdict:
        """Return a copy with ``changes``."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict with the schema-v1 verdict fields."""
        return {
            "kind": self.kind, "verdict": self.verdict, "test": self.test,
            "statistic": _num(self.statistic), "p_value": _num(self.p_value),
            "p_opposite": _num(self.p_opposite), "alpha": self.alpha,
            "effect": {"name": self.effect_name, "value": _num(self.effect),
                       "ci": [_num(self.ci[0]), _num(self.ci[1])], "ci_level": 0.95},
            "n_seeds": self.n_seeds, "metric": self.metric, "expectation": self.expectation,
            "levels": [lv.to_dict() for lv in self.levels],
            "members": [m.to_dict() for m in self.members],
            "diverged": self.diverged, "total_runs": self.total_runs,
            "counterexample": self.counterexample,
            "detectable_effect": _num(self.detectable_effect), "seeds_needed": self.seeds_needed,
            "message": self.message,
        }

    def __repr__(self) -> str:
        return (f"Verdict({self.verdict!r}, test={self.test!r}, p={_fmt_p(self.p_value)}, "
                f"{self.effect_name}={_fmt(self.effect)} [{_fmt(self.ci[0])}, {_fmt(self.ci[1])}], "
                f"n_seeds={self.n_seeds}, members={len(self.members)})")

    def explain(self) -> str:
        """A multi-line, human-readable account: expectation, observation, p-values, levels."""
        lines = [
            f"  expected  {self.expectation} (alpha={self.alpha:g})",
            f"  observed  {self.effect_name} {_fmt(self.effect)}, 95% CI [{_fmt(self.ci[0])}, "
            f"{_fmt(self.ci[1])}], {self.n_seeds} paired seeds, "
            f"{self.diverged}/{self.total_runs} runs diverged",
            f"  p         claimed: {_fmt_p(self.p_value)}   opposite: {_fmt_p(self.p_opposite)}"
            f"   ({self.test})",
        ]
        if self.counterexample is not None:
            lines.append(f"  counterexample  seed {self.counterexample}")
        if self.verdict == "inconclusive" and self.detectable_effect is not None:
            need = f"~{self.seeds_needed} seeds" if self.seeds_needed else "no seed count"
            lines.append(f"  power     smallest effect detectable at {self.n_seeds} seeds (80% "
                         f"power): {_fmt(self.detectable_effect)}; the observed effect needs {need}")
        for m in self.members:
            lines.append(f"  member    {m.verdict:<12} {m.label}: {m.result.effect_name} "
                         f"{_fmt(m.result.effect)}, p={_fmt_p(m.p_value)} (Holm)")
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


def _directional(p: float, p_opp: float, alpha: float, p_equiv: float | None = None) -> str:
    # An effect shown smaller than the margin refutes even when it is significantly
    # non-zero: the margin says what size of effect the claim is about.
    if p_equiv is not None and p_equiv < alpha:
        return "refuted"
    if p < alpha:
        return "supported"
    return "refuted" if p_opp < alpha else "inconclusive"


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


@dataclass(frozen=True)
class Expectation:
    """Base of every expectation kind. Subclasses define :meth:`_members`."""

    kind: ClassVar[str] = "expectation"
    metric: str
    diverged: str | float = "omit"
    where: Mapping[str, Any] | None = None

    # -- validation -------------------------------------------------------------------------
    def validate(self, levels: Mapping[str, Sequence[Any]], *, claim_id: str = "<claim>") -> None:
        """Check the expectation against a sweep design before training."""
        if not isinstance(self.metric, str) or not self.metric:
            raise InvalidClaim(f"{claim_id}: metric={self.metric!r} must be a non-empty string.")
        if not (self.diverged == "omit" or isinstance(self.diverged, (int, float))):
            raise InvalidClaim(f"{claim_id}: diverged={self.diverged!r} must be 'omit' or a "
                               "number to count a diverged run as (e.g. 0.0 for accuracy).")
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

    def check_seeds(self, n_seeds: int, alpha: float, *, claim_id: str = "<claim>",
                    levels: Mapping[str, Sequence[Any]] | None = None) -> None:
        """Refuse fewer than 2 seeds: no statistic can be computed from one."""
        if n_seeds < 2:
            raise InvalidClaim(
                f"{claim_id}: seeds={n_seeds} is too few for a {self.kind} claim: the test "
                "needs at least 2 paired seeds (10 or more for useful power). Pass seeds=10 "
                "to the claim marker or --atomcheck-seeds=10.")

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

    def check_metric(self, metrics: Mapping[str, float], *, claim_id: str = "<claim>") -> None:
        """Raise when the training function does not return the metric this reads."""
        if self.metric != "wall_s" and self.metric not in metrics:
            raise InvalidClaim(
                f"{claim_id}: the expectation reads metric {self.metric!r}, but the training "
                f"function returned {sorted(metrics)}. Return {self.metric!r} from it, or "
                "read one of those."
            )

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

    def _clean(self, matrix: np.ndarray) -> np.ndarray:
        if self.diverged == "omit":
            return matrix[np.all(np.isfinite(matrix), axis=1)]
        return np.where(np.isfinite(matrix), matrix, float(self.diverged))

    def _members(self, samples: Samples) -> list[tuple[str, np.ndarray, list[dict[str, Any]]]]:
        raise NotImplementedError

    def _test(self, data: np.ndarray) -> stats.TestResult:
        raise NotImplementedError

    def _verdict(self, p: float, p_opp: float, result: stats.TestResult, alpha: float) -> str:
        return _directional(p, p_opp, alpha, result.extra.get("p_equivalent"))

    def _check_samples(self, samples: Samples) -> None:
        self.check_metric({k: 0.0 for k in samples.metric_names})
        if self.metric == "wall_s" and samples.engine != "per-seed":
            # One batched call trains every seed: its time split evenly is one measurement
            # copied n times, not n independent samples.
            raise InvalidClaim(
                "wall_s of a batched sweep is one measurement shared by all seeds, not a "
                "sample per seed. Time each seed yourself (e.g. models.train(...).wall_s) and "
                "return it as a metric from a per-seed training function.")

    def evaluate(self, samples: Samples, *, alpha: float = 0.05) -> Verdict:
        """Decide the verdict from a sweep's samples."""
        self._check_samples(samples)
        members_raw = self._members(samples)
        results: list[tuple[str, stats.TestResult]] = []
        configs_used: list[dict[str, Any]] = []
        for label, data, configs in members_raw:
            clean = self._clean(data)
            configs_used.extend(c for c in configs if c not in configs_used)
            if clean.shape[0] < 2:
                return self._error(samples, alpha, configs_used,
                                   f"only {clean.shape[0]} seed(s) left for {label} after "
                                   "dropping diverged runs")
            results.append((label, self._test(clean)))
        p_adj = stats.holm([r.pvalue for _, r in results])
        p_opp_adj = stats.holm([r.pvalue_opposite for _, r in results])
        if all(r.extra.get("p_equivalent") is not None for _, r in results):
            # A margin refutes too, so its p-values are Holm-corrected like the rest.
            p_eq = [float(r.extra["p_equivalent"]) for _, r in results]
            results = [(label, replace(r, extra={**r.extra, "p_equivalent": float(q),
                                                 "p_equivalent_raw": p}))
                       for (label, r), p, q in zip(results, p_eq, stats.holm(p_eq))]
        members = [Member(label, self._verdict(p, q, r, alpha), r, float(p), float(q))
                   for (label, r), p, q in zip(results, p_adj, p_opp_adj)]
        return self._assemble(samples, members, alpha, configs_used)

    def _error(self, samples: Samples, alpha: float, configs: list[dict[str, Any]],
               why: str) -> Verdict:
        return Verdict("inconclusive", self.kind, "none", math.nan, math.nan, math.nan, alpha,
                       "effect", math.nan, (math.nan, math.nan), 0, self.metric, self.describe(),
                       self._summaries(samples, configs),
                       diverged=samples.n_diverged, total_runs=len(samples.runs), message=why)

    def _assemble(self, samples: Samples, members: list[Member], alpha: float,
                  configs: list[dict[str, Any]]) -> Verdict:
        verdicts = [m.verdict for m in members]
        if "refuted" in verdicts:
            overall = "refuted"
            decider = next(m for m in members if m.verdict == "refuted")
        elif all(v == "supported" for v in verdicts):
            overall = "supported"
            decider = max(members, key=lambda m: m.p_value)
        else:
            overall = "inconclusive"
            decider = max(members, key=lambda m: m.p_value)
        r = decider.result
        detectable = needed = None
        if overall == "inconclusive":
            detectable = stats.detectable_effect(r.sd, r.n, alpha=alpha)
            needed = stats.seeds_needed(self._power_effect(r), r.sd, alpha=alpha)
        used = {_cfg_key(c) for c in configs}
        runs = [run for run in samples.runs if _cfg_key(run.config) in used]
        return Verdict(
            verdict=overall, kind=self.kind, test=r.test, statistic=r.statistic,
            p_value=decider.p_value, p_opposite=decider.p_opposite, alpha=alpha,
            effect_name=r.effect_name, effect=r.effect, ci=(r.ci.low, r.ci.high), n_seeds=r.n,
            metric=self.metric, expectation=self.describe(),
            levels=self._summaries(samples, configs),
            members=members if len(members) > 1 else [],
            diverged=sum(run.diverged for run in runs), total_runs=len(runs),
            counterexample=r.extra.get("counterexample"),
            detectable_effect=detectable, seeds_needed=needed,
        )

    def _power_effect(self, result: stats.TestResult) -> float:
        return result.effect

    def _summaries(self, samples: Samples, configs: list[dict[str, Any]]) -> list[LevelSummary]:
        return [_level_summary(samples, c, self.metric) for c in configs]


def _check_wilcoxon_floor(n_seeds: int, alpha: float, claim_id: str, family: int = 1) -> None:
    # Holm multiplies the smallest p-value by the family size: with every seed agreeing,
    # the best a one-sided Wilcoxon can give is 0.5**n, so m * 0.5**n must be below alpha.
    smallest = family * 0.5**n_seeds
    if smallest >= alpha:
        need = math.floor(math.log2(family / alpha)) + 1
        of = f" in a Holm family of {family}" if family > 1 else ""
        raise InvalidClaim(
            f"{claim_id}: seeds={n_seeds} can never reach alpha={alpha:g} with a one-sided "
            f"Wilcoxon signed-rank test{of} (smallest possible p = {smallest:.4g}). Use "
            f"seeds>={need}, or test='t' if the paired differences are roughly normal.")


def _cfg_key(config: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, repr(v)) for k, v in config.items()))


def _label(group: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in group.items())


@dataclass(frozen=True)
class _Trend(Expectation):
    along: str = ""
    across: Mapping[Any, str] | None = None
    increasing: ClassVar[bool] = True
    kind: ClassVar[str] = "trend"

    def validate(self, levels: Mapping[str, Sequence[Any]], *, claim_id: str = "<claim>") -> None:
        super().validate(levels, claim_id=claim_id)
        if self.across is not None:
            if not isinstance(self.across, Mapping) or len(self.across) < 3:
                raise InvalidClaim(
                    f"{claim_id}: across= must map >= 3 ordered levels to metric columns, e.g. "
                    "{1: 'change_1', 2: 'change_2', 3: 'change_3'}; got "
                    f"{self.across!r}.")
            if self.along in levels:
                raise InvalidClaim(f"{claim_id}: along={self.along!r} names the levels of "
                                   "across=, so it must not also be a swept factor.")
            return
        self._check_level(levels, self.along, None, claim_id, "along")
        if len(levels[self.along]) < 3:
            raise InvalidClaim(
                f"{claim_id}: a trend along {self.along!r} needs >= 3 levels; got "
                f"{list(levels[self.along])!r}. Add levels, or use Beats for two.")

    def check_metric(self, metrics: Mapping[str, float], *, claim_id: str = "<claim>") -> None:
        """Every column a trend reads must be returned by the training function."""
        columns = list(self.across.values()) if self.across is not None else [self.metric]
        for column in columns:
            if column != "wall_s" and column not in metrics:
                raise InvalidClaim(
                    f"{claim_id}: the expectation reads metric {column!r}, but the training "
                    f"function returned {sorted(metrics)}. Return {column!r} from it, or read "
                    "one of those.")

    def describe(self) -> str:
        word = "rises" if self.increasing else "falls"
        where = f"across {self.along or 'levels'} {list(self.across)}" if self.across is not None \
            else f"along {self.along}"
        return f"{self.metric} {word} {where} (Page's L, one-sided)"

    def _members(self, samples: Samples) -> list[tuple[str, np.ndarray, list[dict[str, Any]]]]:
        out = []
        if self.across is not None:
            for group in self._groups(samples, []):
                config = {f: group[f] for f in samples.factors}
                matrix = np.column_stack([samples.matrix(column, [config])[:, 0]
                                          for column in self.across.values()])
                out.append((_label(group) or self.metric, matrix, [config]))
            return out
        for group in self._groups(samples, [self.along]):
            configs = [c for c in samples.configs
                       if all(c[k] == v for k, v in group.items())]
            out.append((_label(group) or self.along, samples.matrix(self.metric, configs), configs))
        return out

    def _summaries(self, samples: Samples, configs: list[dict[str, Any]]) -> list[LevelSummary]:
        if self.across is None:
            return super()._summaries(samples, configs)
        name = self.along or "level"
        return [replace(_level_summary(samples, c, column), config={**c, name: level})
                for c in configs for level, column in self.across.items()]

    def _test(self, data: np.ndarray) -> stats.TestResult:
        return stats.trend_test(data, increasing=self.increasing)


@dataclass(frozen=True)
class Rises(_Trend):
    """``metric`` rises along the ordered factor ``along`` (Page's L test, seeds as blocks).

    Other swept factors make a Holm-corrected family, one trend per combination. For a
    trend across values one run reports (per layer, say), pass ``across={level: column}``
    in order instead of a swept factor; ``along`` then only names those levels.

    Examples
    --------
    >>> Rises("test_accuracy", along="n_train").describe()
    "test_accuracy rises along n_train (Page's L, one-sided)"
    """

    increasing: ClassVar[bool] = True


@dataclass(frozen=True)
class Falls(_Trend):
    """``metric`` falls along the ordered factor ``along`` (Page's L test, seeds as blocks).

    Examples
    --------
    >>> Falls("test_accuracy", along="batch_size").kind
    'trend'
    """

    increasing: ClassVar[bool] = False


def _as_list(x: Any) -> list[Any]:
    return list(x) if isinstance(x, (list, tuple)) else [x]


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
                label = f"{self.a} vs {b}" + (f" [{_label(group)}]" if group else "")
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
        What it beats; several make a Holm-corrected family.
    greater : bool
        True when a higher metric is better (accuracy), False when lower is (loss).
    test : {"wilcoxon", "t"}
        Wilcoxon signed-rank by default (accuracies are bounded and tied); t when the
        paired differences are roughly normal.
    margin : float, optional
        With a margin, an effect shown smaller than it by TOST refutes the claim.

    Examples
    --------
    >>> Beats("test_accuracy", along="method", a="nn", b=["svm", "rf"]).describe()
    'test_accuracy: nn > svm, rf (paired wilcoxon, one-sided)'
    """

    greater: bool = True
    test: str = "wilcoxon"
    margin: float | None = None
    kind: ClassVar[str] = "compare"

    def validate(self, levels: Mapping[str, Sequence[Any]], *, claim_id: str = "<claim>") -> None:
        super().validate(levels, claim_id=claim_id)
        if self.test not in ("wilcoxon", "t"):
            raise InvalidClaim(f"{claim_id}: test={self.test!r} must be 'wilcoxon' or 't'.")
        if self.margin is not None and not self.margin > 0:
            raise InvalidClaim(f"{claim_id}: margin={self.margin!r} must be > 0 when given.")

    def check_seeds(self, n_seeds: int, alpha: float, *, claim_id: str = "<claim>",
                    levels: Mapping[str, Sequence[Any]] | None = None) -> None:
        """Refuse a design that can never reach ``alpha`` (Holm family included)."""
        super().check_seeds(n_seeds, alpha, claim_id=claim_id)
        if self.test == "wilcoxon":
            family = self._family_size(levels, exclude=[self.along]) * (
                len(self._bs(levels)) if levels is not None else 1)
            _check_wilcoxon_floor(n_seeds, alpha, claim_id, family)

    def describe(self) -> str:
        sign = ">" if self.greater else "<"
        bs = ", ".join(str(b) for b in _as_list(self.b)) if self.b is not None else "the rest"
        return f"{self.metric}: {self.a} {sign} {bs} (paired {self.test}, one-sided)"

    def _test(self, data: np.ndarray) -> stats.TestResult:
        result = stats.paired_test(data[:, 0], data[:, 1], greater=self.greater, test=self.test)
        if self.margin is not None:
            eq = stats.tost_paired(data[:, 0], data[:, 1], margin=self.margin, ci=False)
            result = replace(result, extra={**result.extra, "p_equivalent": eq.pvalue,
                                            "margin": self.margin})
        return result


@dataclass(frozen=True)
class Equivalent(_Pairwise):
    """Level(s) ``b`` are within ±``margin`` of reference level ``a`` (paired TOST, Holm).

    The margin is always explicit: equivalence without a margin means nothing.

    Examples
    --------
    >>> Equivalent("test_accuracy", along="activation", a="relu", margin=0.05).kind
    'equivalent'
    """

    margin: float | None = None
    kind: ClassVar[str] = "equivalent"

    def validate(self, levels: Mapping[str, Sequence[Any]], *, claim_id: str = "<claim>") -> None:
        if self.margin is None or not isinstance(self.margin, (int, float)) or not self.margin > 0:
            raise InvalidClaim(
                f"{claim_id}: Equivalent({self.metric!r}) needs an explicit margin > 0; got "
                f"margin={self.margin!r}. State the largest difference that counts as "
                "'about the same', e.g. margin=0.03 for 3 accuracy points.")
        super().validate(levels, claim_id=claim_id)

    def describe(self) -> str:
        bs = ", ".join(str(b) for b in _as_list(self.b)) if self.b is not None else "every other level"
        return f"{self.metric}: {bs} within ±{self.margin:g} of {self.a} (paired TOST)"

    def _test(self, data: np.ndarray) -> stats.TestResult:
        assert self.margin is not None
        return stats.tost_paired(data[:, 1], data[:, 0], margin=float(self.margin))

    def _verdict(self, p: float, p_opp: float, result: stats.TestResult, alpha: float) -> str:
        return "supported" if p < alpha else "refuted" if p_opp < alpha else "inconclusive"

    def _power_effect(self, result: stats.TestResult) -> float:
        assert self.margin is not None
        return float(self.margin) - abs(result.effect)


@dataclass(frozen=True)
class Threshold(Expectation):
    """``metric`` is above, below, or about a value, for every selected configuration.

    Give exactly one of ``above``, ``below`` or ``about`` (with ``margin``). Several
    configurations make a Holm-corrected family.

    Examples
    --------
    >>> Threshold("test_accuracy", about=0.5, margin=0.05).describe()
    'test_accuracy within 0.5 ± 0.05 (TOST)'
    """

    above: float | None = None
    below: float | None = None
    about: float | None = None
    margin: float | None = None
    test: str = "t"
    kind: ClassVar[str] = "threshold"

    def validate(self, levels: Mapping[str, Sequence[Any]], *, claim_id: str = "<claim>") -> None:
        super().validate(levels, claim_id=claim_id)
        given = [x for x in (self.above, self.below, self.about) if x is not None]
        if len(given) != 1:
            raise InvalidClaim(f"{claim_id}: Threshold({self.metric!r}) needs exactly one of "
                               "above=, below= or about=.")
        if self.about is not None and not (self.margin and self.margin > 0):
            raise InvalidClaim(f"{claim_id}: Threshold(about={self.about}) needs an explicit "
                               f"margin > 0; got margin={self.margin!r}.")

    def check_seeds(self, n_seeds: int, alpha: float, *, claim_id: str = "<claim>",
                    levels: Mapping[str, Sequence[Any]] | None = None) -> None:
        """Refuse a design that can never reach ``alpha`` (Holm family included)."""
        super().check_seeds(n_seeds, alpha, claim_id=claim_id)
        if self.test == "wilcoxon" and self.about is None:
            _check_wilcoxon_floor(n_seeds, alpha, claim_id, self._family_size(levels))

    def describe(self) -> str:
        if self.about is not None:
            return f"{self.metric} within {self.about:g} ± {self.margin:g} (TOST)"
        word, value = ("above", self.above) if self.above is not None else ("below", self.below)
        return f"{self.metric} {word} {value:g} ({self.test}, one-sided)"

    def _members(self, samples: Samples) -> list[tuple[str, np.ndarray, list[dict[str, Any]]]]:
        out = []
        for group in self._groups(samples, []):
            config = {f: group[f] for f in samples.factors}
            out.append((_label(group), samples.matrix(self.metric, [config]), [config]))
        return out

    def _test(self, data: np.ndarray) -> stats.TestResult:
        x = data[:, 0]
        if self.about is not None:
            assert self.margin is not None
            return stats.tost_one_sample(x, self.about, margin=self.margin)
        value = self.above if self.above is not None else self.below
        assert value is not None
        result = stats.one_sample_test(x, value, greater=self.above is not None, test=self.test)
        if self.margin is not None:
            eq = stats.tost_one_sample(x, value, margin=self.margin, ci=False)
            result = replace(result, extra={**result.extra, "p_equivalent": eq.pvalue})
        return result

    def _verdict(self, p: float, p_opp: float, result: stats.TestResult, alpha: float) -> str:
        if self.about is not None:
            return "supported" if p < alpha else "refuted" if p_opp < alpha else "inconclusive"
        return super()._verdict(p, p_opp, result, alpha)

    def _power_effect(self, result: stats.TestResult) -> float:
        if self.about is not None:
            return float(self.margin or 0) - abs(result.effect - self.about)
        value = self.above if self.above is not None else self.below
        return result.effect - float(value or 0)


@dataclass(frozen=True)
class Spread(_Pairwise):
    """Level ``a``'s spread across seeds is smaller (or larger) than level ``b``'s.

    Brown–Forsythe test (Levene, median-centred), one-sided by the observed ordering.

    Examples
    --------
    >>> Spread("test_accuracy", along="l2", a=1e-3, b=0.0).kind
    'variance'
    """

    smaller: bool = True
    kind: ClassVar[str] = "variance"

    def describe(self) -> str:
        word = "smaller" if self.smaller else "larger"
        return f"spread of {self.metric}: {self.a} {word} than {self.b} (Brown–Forsythe)"

    def _test(self, data: np.ndarray) -> stats.TestResult:
        return stats.spread_test(data[:, 0], data[:, 1], a_smaller=self.smaller)

    def _power_effect(self, result: stats.TestResult) -> float:
        return math.nan


@dataclass(frozen=True)
class Exact(Expectation):
    """``metric`` is true (non-zero) for every seed of every selected configuration.

    A single counterexample refutes; the verdict names the first failing seed.

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
        holds = np.all(np.nan_to_num(data, nan=0.0) != 0, axis=1)
        result = stats.exact_test(holds.tolist(), samples.seeds)
        member = Member(self.describe(), "supported" if holds.all() else "refuted", result,
                        math.nan, math.nan)
        return self._assemble(samples, [member], alpha, configs)

