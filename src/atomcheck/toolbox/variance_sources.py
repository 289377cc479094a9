"""Break a metric's variance across seeds down by source of randomness.

Each seed splits into independent streams — the data sample, the initial weights, the data
order and the dropout masks (:data:`atomcheck.seeding.SOURCES`) — and every built-in
training function can hold any of them fixed: ``MLPSpec(hold=...)`` for a
:class:`~atomcheck.models.Task`, ``hold=`` for :func:`~atomcheck.models.module_task` and
:func:`~atomcheck.models.sklearn_task` (which draws from ``data`` and ``init`` only: its
``init`` is the estimator's ``random_state``). :func:`variance_by_source` trains the task
once per source with only that source varying, and once with all of them, on the same
seeds, and reports each variance and its share of the total
(:func:`atomcheck.seeding.source_variances`). Shares need not sum to 1: sources interact
(a different sample changes which initial weights are good).

A claim gets the same table in its report with the marker key ``variance_sources=``
(:class:`atomcheck.Claim`), trained through the sweep (cache and executors apply).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from atomcheck.models import Task
from atomcheck.seeding import SOURCES, check_hold, source_variances, vary_only

__all__ = ["variance_by_source"]


def _train(task: Any, seeds: list[int], configs: list[dict[str, Any]]
           ) -> list[list[dict[str, float]]]:
    """Each config's per-seed metrics: batched on the engine where the task allows."""
    if isinstance(task, Task):
        from atomcheck.engine import train_task_configs

        trained = train_task_configs(task, seeds, configs)
        return [[task.result_metrics(r) for r in results] for results in trained]
    if getattr(task, "kind", None) == "module_task":
        from atomcheck.engine.modules import run_module_task

        return [list(run_module_task(task, seeds, c).metrics) for c in configs]
    return [[dict(task(s, **c)) for s in seeds] for c in configs]


def variance_by_source(task: Callable[..., Any], metric: str, seeds: Sequence[int],
                       config: Mapping[str, Any] | None = None,
                       sources: Sequence[str] | None = None
                       ) -> dict[str, dict[str, float | int]]:
    """Variance of ``metric`` over ``seeds`` with only one source varying at a time.

    Parameters
    ----------
    task : Task, module_task or sklearn_task
        A training function with a ``hold`` factor.
    metric : str
    seeds : sequence of int
        At least 2.
    config : mapping, optional
        The configuration to train (factors of ``task``; no ``hold``).
    sources : sequence of str, optional
        The sources to vary one at a time; default every source ``task`` draws from.

    Returns
    -------
    dict
        ``{source: {"variance", "share", "n"}, ..., "all": {...}}``, the share being the
        source's variance over the variance with every source varying. A Task trains
        batched on the engine (one call), a ``module_task`` one batched call per source.

    Examples
    --------
    >>> from atomcheck.data import gaussian_mixture
    >>> from atomcheck.models import MLPSpec
    >>> task = Task(gaussian_mixture, MLPSpec(widths=(4,), epochs=1), data_args={"n_train": 40})
    >>> out = variance_by_source(task, "test_accuracy", [0, 1, 2], sources=("data",))
    >>> sorted(out)
    ['all', 'data']
    """
    own = tuple(getattr(task, "sources", SOURCES))
    sources = own if sources is None else tuple(sources)
    unknown = [s for s in sources if s not in own]
    if unknown or not sources:
        raise ValueError(f"sources={list(sources)!r}: name one or more of {own}")
    if len(seeds) < 2:
        raise ValueError("variance_by_source needs at least 2 seeds")
    base = dict(config or {})
    if "hold" in base:
        raise ValueError("config must not set hold: variance_by_source sets it per source")
    configs = [{**base, "hold": check_hold(vary_only(s, own), sources=own)} for s in sources]
    configs.append({**base, "hold": ()})
    trained = _train(task, [int(s) for s in seeds], configs)
    names = [*sources, "all"]
    # A diverged run counts as missing (NaN), as in a sweep's table.
    return source_variances({name: [math.nan if m.get("diverged") else m[metric] for m in rows]
                             for name, rows in zip(names, trained)})
