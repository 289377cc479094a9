"""The regression gate: a run compared with a baseline run, claim by claim.

A claim *regresses* when its verdict worsens (supported → conditional → inconclusive →
refuted; ``error`` is worst) or, with an effect tolerance (``effect:10%``), when its
effect moves toward its null by more than the tolerance — and in both cases only when
the run's per-seed values are significantly worse than the baseline's, so that noise
never fails the gate:

- The unit of comparison is one test: the claim's own, or each member of a family, under
  each open setting. Its per-seed values (``effect.per_seed``: paired differences,
  Kendall taus, the values tested against a threshold) are measured from the value the
  claim tests against (``effect.reference``) and oriented so that larger is better: in the
  claimed direction (``effect.alternative``, fixed before either run: toward the null is
  worse, one-sided test) or, for an equivalence claim, toward the reference (away from it
  is worse; the side is read off the baseline, so each side is tested at alpha/2).
- Worse beyond tolerance ``tol`` means ``mean(new) < mean(old) − tol``, ``tol`` absolute
  (``effect:0.02``) or a share of the baseline's mean distance (``effect:10%``). It is
  tested one-sided with a paired t-test on the per-seed changes when both runs used the
  same seeds, else with Welch's two-sample t-test; Holm's correction over every test
  compared keeps the chance that a rerun of an unchanged project fails the gate at or
  below ``alpha`` (tests/unit/test_gate.py measures it on simulated A/A reruns).
- A verdict that worsened without a significant shift is listed as *within noise* and
  does not fail. Exact claims have no noise: a new counterexample regresses. A claim that
  could not be evaluated (``error``) where it could before regresses. A baseline claim
  missing from the run is listed (and fails under the ``missing`` rule); a new claim is
  listed.
- *Improved*: a better verdict, or per-seed values significantly better (Holm, no
  tolerance).

Pure: reads two run documents (JSON report schema v1), imports no torch, sklearn or pytest.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import stdtr  # Student t CDF; st.t.cdf costs 100x more per call

from atomcheck.errors import AtomcheckError
from atomcheck.stats import holm

__all__ = ["GateError", "Rules", "UnitChange", "ClaimChange", "Comparison", "parse_rules",
           "load_run", "compare_runs", "shift_pvalues", "VERDICT_RANK"]

SCHEMA = "atomcheck-report/1"  # the schema this gate reads (atomcheck.report.schema.SCHEMA)

# Higher is better; an error is worse than any verdict.
VERDICT_RANK = {"supported": 3, "conditional": 2, "inconclusive": 1, "refuted": 0, "error": -1}


class GateError(AtomcheckError, ValueError):
    """A baseline or run cannot be compared: the message names the file (or rule) and the fix."""


@dataclass(frozen=True)
class Rules:
    """What fails the gate besides a significantly worse verdict.

    Attributes
    ----------
    effect : float or None
        Effect tolerance: a significant shift toward the null beyond it fails even when the
        verdict holds. None: only verdicts are gated (tested with no tolerance).
    relative : bool
        Whether ``effect`` is a share of the baseline's effect (``effect:10%``) or an
        absolute amount in the effect's units (``effect:0.02``).
    missing : bool
        Whether a baseline claim missing from the run fails the gate (else it is listed).
    """

    effect: float | None = None
    relative: bool = True
    missing: bool = False

    def tolerance(self, baseline_distance: float) -> float:
        """The absolute tolerance for a unit whose baseline mean distance is given."""
        if self.effect is None:
            return 0.0
        return self.effect * abs(baseline_distance) if self.relative else self.effect

    def describe(self) -> str:
        """The rules as the options that set them."""
        parts = []
        if self.effect is not None:
            parts.append(f"effect:{self.effect * 100:g}%" if self.relative
                         else f"effect:{self.effect:g}")
        if self.missing:
            parts.append("missing")
        return ", ".join(parts) or "verdicts only"


_EFFECT_RULE = re.compile(r"^effect:(?P<num>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)(?P<pct>%?)$")


def parse_rules(expressions: Sequence[str], *, option: str = "--atomcheck-compare-fail"
                ) -> Rules:
    """Parse ``effect:10%``, ``effect:0.02`` and ``missing`` (each may be given once).

    Examples
    --------
    >>> parse_rules(["effect:10%"])
    Rules(effect=0.1, relative=True, missing=False)
    >>> parse_rules(["effect:0.02", "missing"]).describe()
    'effect:0.02, missing'
    """
    effect: float | None = None
    relative, missing = True, False
    for expr in expressions:
        text = expr.strip().replace(" ", "")
        if text == "missing":
            missing = True
            continue
        match = _EFFECT_RULE.match(text)
        if match is None:
            raise GateError(
                f"{option}={expr!r}: not a rule. Use effect:10% (a shift toward zero of more "
                "than 10% of the baseline's effect fails), effect:0.02 (more than 0.02 in the "
                "effect's units), or missing (a baseline claim absent from the run fails).")
        value = float(match["num"]) / (100.0 if match["pct"] else 1.0)
        if match["pct"] and value >= 1:
            raise GateError(f"{option}={expr!r}: a tolerance of 100% or more can never fail; "
                            "give a share below 100%, e.g. effect:10%.")
        effect, relative = value, bool(match["pct"])
    return Rules(effect=effect, relative=relative, missing=missing)


def load_run(path: str | Path, *, role: str = "run") -> dict[str, Any]:
    """Read a JSON report (schema v1) written by ``--atomcheck-report=*.json`` or
    ``--atomcheck-save-baseline``; raise :class:`GateError` naming ``path`` otherwise."""
    path = Path(path)
    if not path.exists():
        raise GateError(f"{role} {str(path)!r} does not exist. Save one with "
                        "`pytest --atomcheck-save-baseline=baseline.json` (or "
                        "--atomcheck-report=run.json).")
    if path.is_dir():
        raise GateError(f"{role} {str(path)!r} is a directory; name the JSON report in it.")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GateError(f"{role} {str(path)!r} is not a JSON report ({exc}). Give the .json "
                        "file that --atomcheck-report=PATH.json or --atomcheck-save-baseline "
                        "wrote (not the .md, .csv or .html one).") from None
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if schema != SCHEMA:
        raise GateError(f"{role} {str(path)!r} has schema {schema!r}; this atomcheck reads "
                        f"{SCHEMA!r}. Save the baseline again with this version "
                        "(pytest --atomcheck-save-baseline=...).")
    if not isinstance(doc.get("claims"), list):
        raise GateError(f"{role} {str(path)!r} has no 'claims' list: not an atomcheck run.")
    return doc


def claim_key(entry: Mapping[str, Any]) -> str:
    """``id`` or ``id[variant]``: what names a claim in a report."""
    return str(entry.get("id")) + (f"[{entry['variant']}]" if entry.get("variant") else "")


# -- units: one test each -----------------------------------------------------------------

@dataclass(frozen=True)
class _Unit:
    verdict: str
    kind: str
    effect_name: str | None
    effect: float | None
    per_seed: list[float | None] | None
    reference: float
    seeds: list[Any]
    equivalence: bool
    alternative: str | None


def _units(entry: Mapping[str, Any]) -> dict[str, _Unit]:
    """The tests of a claim entry by label: its own (``""``), each member, each setting."""
    kind = str(entry.get("kind") or "")
    seeds = list(entry.get("seeds") or [])
    scopes = [(str(s.get("setting")), s) for s in entry.get("settings") or []]
    out: dict[str, _Unit] = {}
    for name, scope in scopes or [("", entry)]:
        members = scope.get("members") or []
        for member in members or [scope]:
            label = " · ".join(x for x in (name, str(member.get("label") or "")) if x)
            effect = member.get("effect") or {}
            extra = member.get("extra") or {}
            per_seed = effect.get("per_seed", extra.get("per_seed"))
            reference = effect.get("reference")
            if reference is None:
                reference = next((extra[k] for k in ("min_effect", "center", "value")
                                  if isinstance(extra.get(k), (int, float))), 0.0)
            test = str(member.get("test") or scope.get("test") or "")
            out[label] = _Unit(
                verdict=str(member.get("verdict") or "error"), kind=kind,
                effect_name=effect.get("name"), effect=effect.get("value"),
                per_seed=list(per_seed) if per_seed is not None else None,
                reference=float(reference), seeds=seeds,
                equivalence=kind == "equivalent" or test.startswith("tost"),
                alternative=effect.get("alternative", extra.get("alternative")))
    return out


def _finite(values: Sequence[float | None] | np.ndarray) -> np.ndarray:
    """As floats, a missing value (None: a diverged seed written as null) as NaN."""
    return np.array([math.nan if v is None else v for v in values], dtype=float)


def _nearly_constant(x: np.ndarray) -> bool:
    return bool(np.ptp(x) <= 1e-12 * max(float(np.abs(x).max()), 1e-300))


def _one_sided_less(x: np.ndarray) -> float:
    """p of ``mean(x) < 0`` (one-sample t); a constant sample is decided by its sign."""
    if x.size < 2:
        return math.nan
    if _nearly_constant(x):
        return 0.0 if x.mean() < 0 else 1.0
    t = x.mean() / (x.std(ddof=1) / math.sqrt(x.size))
    return float(stdtr(x.size - 1, t))  # scipy's ttest_1samp(alternative="less")


def _two_sample_less(a: np.ndarray, b: np.ndarray) -> float:
    """p of ``mean(a) < mean(b)`` (Welch); two constant samples are decided by the sign."""
    if a.size < 2 or b.size < 2:
        return math.nan
    if _nearly_constant(a) and _nearly_constant(b):
        return 0.0 if a.mean() < b.mean() else 1.0
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    return float(stdtr(df, t))  # scipy's ttest_ind(equal_var=False, alternative="less")


def shift_pvalues(old: Sequence[float | None] | np.ndarray,
                  new: Sequence[float | None] | np.ndarray, *,
                  tolerance: float = 0.0, paired: bool = True) -> tuple[float, float, str]:
    """One-sided p-values that ``new`` is worse than ``old`` by more than ``tolerance``
    and that it is better, both oriented so that larger is better, with the test's name.

    Paired: a t-test on ``new − old`` (same seeds, same order; pairs with a missing value
    dropped). Otherwise Welch's two-sample t-test.

    Examples
    --------
    >>> p_worse, p_better, test = shift_pvalues([1.0, 1.1, 0.9, 1.0], [0.2, 0.3, 0.1, 0.25])
    >>> bool(p_worse < 0.01 < p_better), test
    (True, 'paired t')
    """
    a, b = _finite(old), _finite(new)
    if paired and a.size == b.size:
        ok = np.isfinite(a) & np.isfinite(b)
        d = b[ok] - a[ok]
        # Rounding, not a change: a rerun that recomputed a value in another order.
        d[np.abs(d) <= 1e-12 * (np.abs(a[ok]) + np.abs(b[ok]))] = 0.0
        return _one_sided_less(d + tolerance), _one_sided_less(-d), "paired t"
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    return (_two_sample_less(b + tolerance, a), _two_sample_less(a, b), "Welch t")


# -- results ------------------------------------------------------------------------------

@dataclass
class UnitChange:
    """One test compared: verdicts, mean distances from the null, and the shift tests."""

    label: str
    verdict_old: str
    verdict_new: str
    mean_old: float | None = None
    mean_new: float | None = None
    test: str = ""
    n_old: int = 0
    n_new: int = 0
    p_worse: float = math.nan
    p_better: float = math.nan
    p_worse_holm: float = math.nan
    p_better_holm: float = math.nan
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN as None)."""
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in self.__dict__.items()}


@dataclass
class ClaimChange:
    """One claim compared. ``status``: regressed, improved, noise, unchanged, missing, new."""

    key: str
    status: str
    verdict_old: str | None
    verdict_new: str | None
    reason: str = ""
    units: list[UnitChange] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"claim": self.key, "status": self.status, "verdict_old": self.verdict_old,
                "verdict_new": self.verdict_new, "reason": self.reason,
                "units": [u.to_dict() for u in self.units]}


@dataclass
class Comparison:
    """The gate's answer: every claim's change, and whether the gate fails."""

    changes: list[ClaimChange]
    alpha: float
    rules: Rules
    baseline: str = "baseline"
    notes: list[str] = field(default_factory=list)

    def having(self, status: str) -> list[ClaimChange]:
        """The claims with ``status``."""
        return [c for c in self.changes if c.status == status]

    @property
    def failed(self) -> bool:
        """Whether a claim regressed (or, under the ``missing`` rule, disappeared)."""
        return bool(self.having("regressed")) or (self.rules.missing
                                                  and bool(self.having("missing")))

    def render(self) -> str:
        """Plain-text account: regressions, improvements, changes within noise, missing."""
        tested = sum(1 for c in self.changes for u in c.units if math.isfinite(u.p_worse))
        lines = [f"compared with {self.baseline}: alpha {self.alpha:g}, Holm over {tested} "
                 f"per-seed comparison(s), rules: {self.rules.describe()}"]
        lines += [f"note: {n}" for n in self.notes]
        titles = (("regressed", "REGRESSED"), ("missing", "MISSING"), ("improved", "improved"),
                  ("noise", "within noise"), ("new", "new"))
        for status, title in titles:
            for c in self.having(status):
                verdicts = (f"{c.verdict_old} → {c.verdict_new}"
                            if c.verdict_old != c.verdict_new else str(c.verdict_new))
                lines.append(f"{title:<12} {c.key}: {verdicts}"
                             + (f"; {c.reason}" if c.reason else ""))
        for c in self.having("unchanged"):
            if c.reason:  # a significant shift under "verdicts only": shown, not failed
                lines.append(f"{'unchanged':<12} {c.key}: {c.verdict_new}; {c.reason}")
        counts = {s: len(self.having(s)) for s, _ in (*titles, ("unchanged", ""))}
        lines.append(", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no claims")
        lines.append("gate: FAILED" if self.failed else "gate: passed")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"baseline": self.baseline, "alpha": self.alpha, "rules": self.rules.describe(),
                "failed": self.failed, "notes": self.notes,
                "claims": [c.to_dict() for c in self.changes]}


def _fmt(x: float | None) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:+.3g}"


def _compare_unit(label: str, old: _Unit, new: _Unit, rules: Rules) -> UnitChange:
    change = UnitChange(label, old.verdict, new.verdict)
    if old.per_seed is None or new.per_seed is None:
        side = "baseline" if old.per_seed is None else "run"
        change.note = f"no per-seed values in the {side}"
        return change
    if old.effect_name != new.effect_name:
        change.note = f"effect changed from {old.effect_name!r} to {new.effect_name!r}"
        return change
    a = _finite(old.per_seed) - old.reference
    b = _finite(new.per_seed) - new.reference
    base_mean = float(np.nanmean(a)) if np.isfinite(a).any() else 0.0
    paired = old.seeds == new.seeds and len(old.seeds) == a.size == b.size
    tolerance = rules.tolerance(base_mean)
    if old.alternative in ("greater", "less") and not old.equivalence:
        # The claimed direction, fixed before either run: a one-sided test.
        orient = 1.0 if old.alternative == "greater" else -1.0
        p_worse, p_better, test = shift_pvalues(orient * a, orient * b, tolerance=tolerance,
                                                paired=paired)
    else:
        # Worse is away from the reference (equivalence) or toward it (no stated
        # direction), a side read off the baseline: each side at alpha/2 keeps the
        # error rate, as a two-sided test would.
        sign = 1.0 if base_mean >= 0 else -1.0
        orient = -sign if old.equivalence else sign
        p_worse, p_better, test = shift_pvalues(orient * a, orient * b, tolerance=tolerance,
                                                paired=paired)
        p_worse, p_better = _doubled(p_worse), _doubled(p_better)
        test += ", two-sided"
    change.mean_old = base_mean
    change.mean_new = float(np.nanmean(b)) if np.isfinite(b).any() else None
    change.test, change.p_worse, change.p_better = test, p_worse, p_better
    change.n_old, change.n_new = int(np.isfinite(a).sum()), int(np.isfinite(b).sum())
    if not math.isfinite(p_worse):
        change.note = "too few seeds to test"
    return change


def _doubled(p: float) -> float:
    return p if math.isnan(p) else min(1.0, 2 * p)


def _iter_units(changes: list[ClaimChange]) -> Iterator[UnitChange]:
    for c in changes:
        yield from c.units


def _holm_into(units: list[UnitChange], raw: str, adjusted: str) -> None:
    tested = [u for u in units if math.isfinite(getattr(u, raw))]
    if tested:
        for u, q in zip(tested, holm([getattr(u, raw) for u in tested])):
            setattr(u, adjusted, float(q))


def _rank(verdict: str | None) -> int:
    return VERDICT_RANK.get(str(verdict), -1)


def _shift_text(u: UnitChange) -> str:
    where = f"{u.label}: " if u.label else ""
    return (f"{where}distance from null {_fmt(u.mean_old)} → {_fmt(u.mean_new)} "
            f"({u.test}, {u.n_old}/{u.n_new} seeds, p={u.p_worse_holm:.2g} Holm)")


def _decide(change: ClaimChange, old: Mapping[str, Any], new: Mapping[str, Any], alpha: float,
            rules: Rules) -> None:
    v_old, v_new = change.verdict_old, change.verdict_new
    worse = _rank(v_new) < _rank(v_old) or any(
        _rank(u.verdict_new) < _rank(u.verdict_old) for u in change.units)
    better = _rank(v_new) > _rank(v_old)
    if v_new == "error" and v_old != "error":
        change.status = "regressed"
        change.reason = "could not be evaluated: " + str(new.get("message") or "error")[:200]
        return
    if str(old.get("kind")) == "exact" or str(new.get("kind")) == "exact":
        # Exact claims have no noise: a counterexample is certain.
        change.status = "regressed" if worse else "improved" if better else "unchanged"
        if worse:
            change.reason = f"counterexample seed {new.get('counterexample')}"
        return
    significant = [u for u in change.units if u.p_worse_holm < alpha]
    if significant and (worse or rules.effect is not None):
        change.status = "regressed"
        change.reason = "; ".join(_shift_text(u) for u in significant)
        return
    if worse:
        untested = all(not math.isfinite(u.p_worse) for u in change.units)
        if untested and v_new == "refuted":
            change.status = "regressed"
            change.reason = ("refuted now; no per-seed values to test the shift ("
                             + "; ".join(u.note for u in change.units if u.note) + ")")
            return
        change.status = "noise"
        why = ("per-seed shift not significant: " + "; ".join(
            f"{u.label + ': ' if u.label else ''}p={u.p_worse_holm:.2g} Holm"
            for u in change.units if math.isfinite(u.p_worse))) if not untested else (
            "not tested: " + "; ".join(u.note for u in change.units if u.note))
        change.reason = why
        return
    gained = [u for u in change.units if u.p_better_holm < alpha]
    if better or gained:
        change.status = "improved"
        change.reason = "; ".join(
            f"{u.label + ': ' if u.label else ''}distance from null {_fmt(u.mean_old)} → "
            f"{_fmt(u.mean_new)} (p={u.p_better_holm:.2g} Holm)" for u in gained)
        return
    change.status = "unchanged"
    if significant:  # effect gate off: a significant shift that kept its verdict
        change.reason = "worse, verdict held: " + "; ".join(_shift_text(u) for u in significant)


def compare_runs(old: Mapping[str, Any], new: Mapping[str, Any], *, alpha: float = 0.05,
                 rules: Rules | None = None, baseline: str = "baseline") -> Comparison:
    """Compare run ``new`` with baseline ``old`` (both schema-v1 documents).

    Examples
    --------
    >>> run = {"claims": [{"id": "a.b", "kind": "compare", "verdict": "supported",
    ...        "seeds": [0, 1, 2], "effect": {"name": "mean difference", "value": 1.0,
    ...        "per_seed": [1.0, 1.2, 0.8], "reference": 0.0}}]}
    >>> compare_runs(run, run).failed
    False
    """
    rules = rules or Rules()
    old_claims = {claim_key(c): c for c in old.get("claims", [])}
    new_claims = {claim_key(c): c for c in new.get("claims", [])}
    changes: list[ClaimChange] = []
    for key, entry in old_claims.items():
        if key not in new_claims:
            changes.append(ClaimChange(key, "missing", entry.get("verdict"), None,
                                       "in the baseline, not in this run"))
            continue
        other = new_claims[key]
        change = ClaimChange(key, "unchanged", entry.get("verdict"), other.get("verdict"))
        old_units, new_units = _units(entry), _units(other)
        for label, unit in old_units.items():
            if label in new_units:
                change.units.append(_compare_unit(label, unit, new_units[label], rules))
        changes.append(change)
    for key, entry in new_claims.items():
        if key not in old_claims:
            changes.append(ClaimChange(key, "new", None, entry.get("verdict"),
                                       "not in the baseline"))
    units = list(_iter_units(changes))
    _holm_into(units, "p_worse", "p_worse_holm")
    _holm_into(units, "p_better", "p_better_holm")
    for change in changes:
        if change.status not in ("missing", "new"):
            _decide(change, old_claims[change.key], new_claims[change.key], alpha, rules)
    notes = []
    if new.get("partial"):
        notes.append("this run is partial (cut short); claims that did not finish are missing")
    if old.get("partial"):
        notes.append("the baseline is a partial run")
    return Comparison(changes, alpha, rules, baseline, notes)
