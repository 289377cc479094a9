"""A claim's variance by source of randomness: the ``variance_sources`` marker key.

Each seed splits into independent streams — the data sample, the initial weights, the
data order and the dropout masks (:data:`atomcheck.seeding.SOURCES`) — and the built-in
training functions hold any of them fixed with a ``hold`` factor (``MLPSpec(hold=...)``,
``module_task``, ``sklearn_task``). A claim with ``variance_sources=True`` (every source
its training function draws from) or a list of sources also trains, for each
configuration of its sweep under its own (base) setting, one held variant per source in
which only that source varies, on the claim's seeds. Its report then breaks the variance of
the expectation's metric across seeds down by source: each source's variance and its share
of the variance of the claim's own runs, where every source varies.

Cost: one extra run per (configuration, source, seed) — ``configs × sources`` times the
seeds, trained through the sweep like the claim's own runs (batched engine, executors,
result cache). The verdict never reads these runs.

This module only plans the variants and tabulates their variances; the training goes
through :func:`atomcheck.sweep.run_sweep` and the arithmetic is
:func:`atomcheck.seeding.source_variances`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from atomcheck.errors import InvalidClaim
from atomcheck.robust import _UNKNOWN, SETTING_FACTOR, Setting, _base_value
from atomcheck.seeding import SOURCES, source_variances, vary_only
from atomcheck.sweep import ByLevel, Samples

__all__ = ["SOURCE_FACTOR", "parse_variance_sources", "plan_variance_sources", "sources_of",
           "variant_levels", "variance_record"]

#: The factor whose named levels are the held variants (``varying_source="init"``: only
#: the initial weights vary).
SOURCE_FACTOR = "varying_source"


def parse_variance_sources(value: Any, *, claim_id: str = "<claim>"
                           ) -> bool | tuple[str, ...] | None:
    """Normalise the marker key: None (off), True (every source of the training function)
    or a tuple of sources in :data:`~atomcheck.seeding.SOURCES` order.

    Examples
    --------
    >>> parse_variance_sources(["order", "init"]), parse_variance_sources(False)
    (('init', 'order'), None)
    """
    if value is None or value is False:
        return None
    if value is True:
        return True
    names = (value,) if isinstance(value, str) else value
    fix = (f"Pass variance_sources=True (every source the training function draws from) or "
           f"a list of sources among {SOURCES}, e.g. variance_sources=['init', 'order'].")
    if not isinstance(names, (list, tuple)) or not names or not all(
            isinstance(n, str) for n in names):
        raise InvalidClaim(f"{claim_id}: variance_sources={value!r} is not a list of sources "
                           f"of randomness. {fix}")
    unknown = [n for n in names if n not in SOURCES]
    if unknown:
        raise InvalidClaim(f"{claim_id}: variance_sources={value!r}: {unknown[0]!r} is not a "
                           f"source of randomness. {fix}")
    if len(set(names)) != len(names):
        raise InvalidClaim(f"{claim_id}: variance_sources={value!r} names a source twice. {fix}")
    return tuple(s for s in SOURCES if s in names)


def _honours_hold(fn: Any) -> bool:
    """Whether ``fn`` takes a ``hold`` factor (every function of a :class:`ByLevel`)."""
    if isinstance(fn, ByLevel):
        return all(_honours_hold(f) for f in fn.functions.values())
    names = getattr(fn, "factor_names", None)
    if callable(names):
        return "hold" in names()
    try:
        return "hold" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def sources_of(fn: Any) -> tuple[str, ...]:
    """The sources of randomness ``fn`` draws from (its ``sources`` attribute, else all;
    for a :class:`ByLevel`, those every function draws from).

    Examples
    --------
    >>> sources_of(lambda seed, hold=(): {})
    ('data', 'init', 'order', 'dropout')
    """
    if isinstance(fn, ByLevel):
        inner = [set(sources_of(f)) for f in fn.functions.values()]
        return tuple(s for s in SOURCES if all(s in own for own in inner))
    return tuple(s for s in SOURCES if s in tuple(getattr(fn, "sources", SOURCES)))


def plan_variance_sources(value: bool | tuple[str, ...] | None, fn: Callable[..., Any], *,
                          levels: Mapping[str, Any], settings: Sequence[Setting],
                          n_seeds: int, claim_id: str = "<claim>") -> tuple[str, ...] | None:
    """The sources whose held variants the claim trains, validated before any training.

    Raises :class:`~atomcheck.errors.InvalidClaim` naming the claim, the key and the fix
    when the training function has no ``hold`` factor, does not draw from a named source,
    already holds a source in its own runs, or when the sweep or an open setting sets
    ``hold`` itself.
    """
    if value is None:
        return None
    where = f"{claim_id}: variance_sources={value!r}"
    if not _honours_hold(fn):
        raise InvalidClaim(
            f"{where} needs a training function with a `hold` factor that holds sources of "
            "randomness fixed across seeds (a Task, module_task or sklearn_task, or a function "
            "with a hold=() parameter); this one has none. Use one of those, or drop "
            "variance_sources.")
    if isinstance(fn, ByLevel) and len({sources_of(f) for f in fn.functions.values()}) > 1:
        raise InvalidClaim(f"{where}: the ByLevel functions draw from different sources "
                           f"({ {k: sources_of(f) for k, f in fn.functions.items()} }), so no one "
                           "hold lets a source vary alone in all of them. Drop "
                           "variance_sources, or give the claim functions of one kind.")
    own = sources_of(fn)
    chosen: tuple[str, ...] = own if value is True else tuple(value or ())
    missing = [s for s in chosen if s not in own]
    if missing or not chosen:
        raise InvalidClaim(f"{where}: the training function draws no {missing[0]!r} stream "
                           f"(its sources: {own}). Name some of {own}, or pass "
                           "variance_sources=True for all of them." if missing else
                           f"{where}: the training function names no source of randomness.")
    named = [factor for factor, values in levels.items() if isinstance(values, Mapping)
             and any("hold" in overrides for overrides in values.values())]
    for name in ("hold", SOURCE_FACTOR, *named):
        if name in levels:
            raise InvalidClaim(f"{where}: the sweep varies {name!r}, which sets hold itself, "
                               "so the held variants would clash with it. Drop hold from the "
                               "sweep or drop variance_sources." if name != SOURCE_FACTOR else
                               f"{where}: the sweep varies {name!r}, the factor of the held "
                               "variants. Rename that factor or drop variance_sources.")
    for setting in settings:
        if "hold" in setting.config:
            raise InvalidClaim(f"{where}: open setting {setting.name} sets hold; the variants "
                               "are trained under the base setting, which must vary every "
                               "source. Drop hold from robust_over or drop variance_sources.")
    base = _base_value(fn, "hold")
    if base is not _UNKNOWN and base:
        raise InvalidClaim(f"{where}: the training function holds {base!r} in every run, so "
                           "the claim's own runs are not the total with every source varying. "
                           "Build it without hold=, or drop variance_sources.")
    if n_seeds < 2:
        raise InvalidClaim(f"{where}: a variance needs at least 2 seeds; this claim has "
                           f"{n_seeds}.")
    return chosen


def variant_levels(levels: Mapping[str, Any], sources: Sequence[str], fn: Any
                   ) -> dict[str, Any]:
    """The sweep's levels plus :data:`SOURCE_FACTOR`, one named level per source whose
    ``hold`` holds every other source ``fn`` draws from.

    Examples
    --------
    >>> variant_levels({"x": [1]}, ["init"], lambda seed, x, hold=(): {})
    {'x': [1], 'varying_source': {'init': {'hold': ('data', 'order', 'dropout')}}}
    """
    own = sources_of(fn)
    return {**levels, SOURCE_FACTOR: {s: {"hold": vary_only(s, own)} for s in sources}}


def _json(x: float | int) -> float | int | None:
    return None if isinstance(x, float) and not math.isfinite(x) else x


def variance_record(own_runs: Samples, variants: Samples, sources: Sequence[str],
                    metric: str, *, setting: str | None = None) -> dict[str, Any]:
    """The report's ``variance_by_source`` entry.

    ``own_runs`` is the claim's table (every source varying), ``variants`` the table of
    :func:`variant_levels`; ``setting`` names the open setting of ``own_runs`` they were
    trained under (None: the claim has one). Per configuration of the sweep: each source's
    ``variance``, ``share`` (of the variance under ``"all"``, the claim's own runs) and
    ``n`` (finite values used; NaN/diverged runs are left out); NaN is written as null.
    """
    table = own_runs if setting is None else own_runs.subset(SETTING_FACTOR, setting)
    rows = []
    for config in table.configs:
        values = {s: variants.matrix(metric, [{**config, SOURCE_FACTOR: s}])[:, 0]
                  for s in sources}
        values["all"] = table.matrix(metric, [config])[:, 0]
        by_source = source_variances(values)
        rows.append({"config": dict(config),
                     "sources": {name: {k: _json(v) for k, v in entry.items()}
                                 for name, entry in by_source.items()}})
    n_seeds = len(variants.seeds)
    return {"metric": metric, "sources": list(sources), "setting": setting or "base",
            "n_seeds": n_seeds, "extra_runs": len(table.configs) * len(sources) * n_seeds,
            "levels": rows}
