"""Open settings (``robust_over``): what a claim's source leaves open, and one verdict over them.

A claim declares the settings its source never fixed — a learning rate, an epoch budget, a
metric, a margin — as alternatives to its own values. The whole paired sweep runs under
each setting with the same seeds, each setting gets its own verdict, and
:func:`combine` turns them into the claim's (DESIGN.md, "Robust verdicts"):

- *supported*: supported under every setting, each at alpha (intersection–union);
- *conditional*: supported under some settings and refuted under others, each side
  Holm-corrected across settings;
- *refuted*: refuted under at least one setting and supported under none (after Holm);
- *inconclusive*: otherwise. An ``error`` under any setting is the claim's error.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from atomcheck import stats
from atomcheck.errors import InvalidClaim
from atomcheck.sweep import ByLevel, accepted_names
from atomcheck.verdict import Expectation, SettingResult, Verdict

__all__ = ["Setting", "SETTING_FACTOR", "parse_settings", "combine"]

SETTING_FACTOR = "setting"
_UNKNOWN = object()


@dataclass(frozen=True)
class Setting:
    """One open setting: its name and the values it changes.

    Attributes
    ----------
    name : str
        ``"base"`` (the claim as written) or the changed values, e.g. ``"lr=0.1"``.
    config : dict
        Overrides passed to the training function.
    expectation : dict
        Overrides of the expectation's fields (``metric``, ``margin``, ...).
    """

    name: str
    config: dict[str, Any]
    expectation: dict[str, Any]

    @property
    def values(self) -> dict[str, Any]:
        """Every value this setting changes."""
        return {**self.config, **self.expectation}


BASE = Setting("base", {}, {})


def _base_value(fn: Callable[..., Any], name: str) -> Any:
    """The value ``fn`` uses for ``name`` when a sweep does not set it (or unknown)."""
    if isinstance(fn, ByLevel):
        for inner in fn.functions.values():
            value = _base_value(inner, name)
            if value is not _UNKNOWN:
                return value
        return _UNKNOWN
    model = getattr(fn, "model", None)
    if dataclasses.is_dataclass(model) and name in {f.name for f in dataclasses.fields(model)}:
        return getattr(model, name)
    for attr in ("data_args", "defaults"):
        table = getattr(fn, attr, None)
        if isinstance(table, Mapping) and name in table:
            return table[name]
    target = getattr(fn, "data", None) if model is not None else fn
    try:
        param = inspect.signature(target).parameters.get(name)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return _UNKNOWN
    if param is None or param.default is inspect.Parameter.empty:
        return _UNKNOWN
    return param.default


def _same(a: Any, b: Any) -> bool:
    numbers = (int, float, np.integer, np.floating)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        return bool(a == b)
    return repr(a) == repr(b)


def _name(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items()) or "base"


def parse_settings(robust_over: Any, *, fn: Callable[..., Any], levels: Mapping[str, Any],
                   expectation: Expectation, claim_id: str = "<claim>") -> list[Setting]:
    """Turn ``robust_over`` into settings (the base first), checked before any training.

    Parameters
    ----------
    robust_over : dict or list of dict
        ``{field: [alternatives]}``: the grid over each field's base value and its
        alternatives; or ``[{field: value, ...}, ...]``: the base and each listed setting.
        A field is a training-function argument the claim does not sweep, or a field of the
        expectation (``metric``, ``margin``, ``min_effect``...).

    Examples
    --------
    >>> from atomcheck.verdict import Rises
    >>> def train(seed, x, lr=0.1): return {"y": x}
    >>> [s.name for s in parse_settings({"lr": [0.01, 1.0]}, fn=train, levels={"x": [1, 2, 3]},
    ...                                 expectation=Rises("y", along="x"))]
    ['base', 'lr=0.01', 'lr=1.0']
    """
    if robust_over is None:
        return [BASE]
    if isinstance(robust_over, Mapping):
        fields = list(robust_over)
        entries = None
    elif isinstance(robust_over, Sequence) and not isinstance(robust_over, (str, bytes)):
        entries = list(robust_over)
        if not entries or not all(isinstance(e, Mapping) and e for e in entries):
            raise InvalidClaim(
                f"{claim_id}: robust_over={robust_over!r} must list settings as non-empty dicts, "
                "e.g. robust_over=[{'lr': 0.1}, {'epochs': 60}].")
        fields = list(dict.fromkeys(k for e in entries for k in e))
    else:
        raise InvalidClaim(
            f"{claim_id}: robust_over={robust_over!r} must be a dict of alternatives "
            "({'lr': [0.1, 0.001]}) or a list of settings ([{'lr': 0.1}, {'epochs': 60}]).")
    if not fields:
        raise InvalidClaim(f"{claim_id}: robust_over={{}} names no setting; drop it, or list "
                           "the settings the claim's source leaves open.")
    own = {f.name for f in dataclasses.fields(expectation)} - {"where"}
    accepted = accepted_names(fn)
    for field in fields:
        _check_field(field, own, accepted, levels, claim_id)
    base = {f: (getattr(expectation, f) if f in own else _base_value(fn, f)) for f in fields}
    if entries is None:
        assert isinstance(robust_over, Mapping)
        grid = []
        for field in fields:
            values = robust_over[field]
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
                raise InvalidClaim(
                    f"{claim_id}: robust_over[{field!r}]={values!r} must be a non-empty list of "
                    f"alternative values, e.g. {{{field!r}: [{values!r}]}}.")
            for value in values:
                _check_not_base(field, value, base[field], claim_id)
            grid.append([_UNKNOWN, *values])
        entries = [{f: v for f, v in zip(fields, combo) if v is not _UNKNOWN}
                   for combo in itertools.product(*grid)][1:]
    else:
        for entry in entries:
            if all(_same(v, base[k]) for k, v in entry.items()):
                raise InvalidClaim(f"{claim_id}: robust_over setting {dict(entry)!r} repeats the "
                                   "base (the claim as written); list only alternatives.")
    seen = {repr(sorted(e.items(), key=lambda kv: kv[0])) for e in entries}
    if len(seen) < len(entries):
        raise InvalidClaim(f"{claim_id}: robust_over lists the same setting twice: {entries!r}.")
    settings = [BASE]
    for entry in entries:
        changed = {k: v for k, v in entry.items() if not _same(v, base[k])}
        settings.append(Setting(_name(changed), {k: v for k, v in entry.items() if k not in own},
                                {k: v for k, v in entry.items() if k in own}))
    return settings


def _check_field(field: str, own: set[str], accepted: frozenset[str] | None,
                 levels: Mapping[str, Any], claim_id: str) -> None:
    if field in levels or field == SETTING_FACTOR:
        raise InvalidClaim(f"{claim_id}: robust_over names {field!r}, which the claim sweeps as a "
                           "factor; an open setting is something the sweep holds fixed.")
    in_fn = accepted is None or field in accepted
    if field in own and accepted is not None and field in accepted:
        raise InvalidClaim(f"{claim_id}: robust_over field {field!r} is both an argument of the "
                           "training function and of the expectation; rename one.")
    if field not in own and not in_fn:
        raise InvalidClaim(
            f"{claim_id}: robust_over names unknown field {field!r}: it is neither an argument "
            f"of the training function ({sorted(accepted or ())}) nor of the expectation "
            f"({sorted(own)}). Fix the name, or add the parameter to the training function.")


def _check_not_base(field: str, value: Any, base: Any, claim_id: str) -> None:
    if base is not _UNKNOWN and _same(value, base):
        raise InvalidClaim(
            f"{claim_id}: robust_over[{field!r}] lists {value!r}, which repeats the base (the "
            f"claim's own {field}={base!r} always runs); list only alternatives.")


def combine(results: Sequence[SettingResult], alpha: float) -> Verdict:
    """One verdict over per-setting verdicts (module docstring), carrying them all.

    Examples
    --------
    >>> from atomcheck.verdict import Verdict
    >>> def v(word, p, q):
    ...     return Verdict(word, "trend", "t", 0.0, p, q, 0.05, "e", 0.0, (0.0, 0.0), 10, "m", "")
    >>> combine([SettingResult("base", {}, v("supported", 0.001, 1.0)),
    ...          SettingResult("lr=1", {"lr": 1}, v("refuted", 1.0, 0.001))], 0.05).verdict
    'conditional'
    """
    verdicts = [r.verdict for r in results]
    words = [v.verdict for v in verdicts]
    if "error" in words:
        rep = verdicts[words.index("error")]
        return rep.replace(settings=list(results), message=f"under setting "
                           f"{results[words.index('error')].name}: {rep.message}")
    p_sup = np.array([v.p_value for v in verdicts], dtype=float)
    p_ref = np.array([v.p_opposite for v in verdicts], dtype=float)
    if np.all(np.isfinite(p_sup)) and np.all(np.isfinite(p_ref)):
        refuted = stats.holm(p_ref.tolist()) < alpha
        supported = (stats.holm(p_sup.tolist()) < alpha) & ~refuted
        p_opposite = float(stats.holm(p_ref.tolist()).min())
    else:  # exact claims: no p-values, a counterexample is certain
        refuted = np.array([w == "refuted" for w in words])
        supported = np.array([w == "supported" for w in words])
        p_opposite = math.nan
    if all(w == "supported" for w in words):
        overall, rep = "supported", max(verdicts, key=lambda v: _or(v.p_value, 0.0))
    elif refuted.any() and supported.any():
        overall, rep = "conditional", verdicts[0]
    elif refuted.any():
        overall, rep = "refuted", min(verdicts, key=lambda v: _or(v.p_opposite, 1.0))
    else:
        overall, rep = "inconclusive", max(verdicts, key=lambda v: _or(v.p_value, 0.0))
    sides = []
    for word, mask in (("supported", supported), ("refuted", refuted)):
        names = [r.name for r, hit in zip(results, mask) if hit]
        if names:
            sides.append(f"{word} under {'; '.join(names)}")
    message = "; ".join(sides) + " (Holm across settings)" if sides else ""
    shown = next(r.name for r in results if r.verdict is rep)
    message = f"{message}; effect, test and levels shown from setting {shown}".lstrip("; ")
    if rep.message:
        message = f"{message}; {rep.message}" if message else rep.message
    return rep.replace(verdict=overall, settings=list(results), message=message,
                       p_value=float(np.max(p_sup)) if np.all(np.isfinite(p_sup)) else rep.p_value,
                       p_opposite=p_opposite)


def _or(x: float, default: float) -> float:
    return x if math.isfinite(x) else default
