"""Break a metric's variance across seeds down by source of randomness.

Each seed of a :class:`~atomcheck.models.Task` splits into independent streams — the data
sample, the initial weights, the data order and the dropout masks
(:data:`atomcheck.seeding.SOURCES`) — and an :class:`~atomcheck.models.MLPSpec` can hold any
of them fixed (``hold=("data",)``: every seed trains on the same sample, the rest still
varies). :func:`variance_by_source` trains the task once per source with only that source
varying, and once with all of them, on the same seeds, and reports each variance and its
share of the total. Shares need not sum to 1: sources interact (a different sample changes
which initial weights are good).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from atomcheck.models import Task
from atomcheck.seeding import SOURCES

__all__ = ["variance_by_source"]


def variance_by_source(task: Task, metric: str, seeds: Sequence[int],
                       config: Mapping[str, Any] | None = None,
                       sources: Sequence[str] = SOURCES) -> dict[str, dict[str, float]]:
    """Variance of ``metric`` over ``seeds`` with only one source varying at a time.

    Returns ``{source: {"variance", "share"}, ..., "all": {"variance", "share"}}``, the
    share being the source's variance over the variance with every source varying. All
    runs train batched on the engine (one call per source).

    Examples
    --------
    >>> from atomcheck.data import gaussian_mixture
    >>> from atomcheck.models import MLPSpec
    >>> task = Task(gaussian_mixture, MLPSpec(widths=(4,), epochs=1), data_args={"n_train": 40})
    >>> out = variance_by_source(task, "test_accuracy", [0, 1, 2], sources=("data",))
    >>> sorted(out)
    ['all', 'data']
    """
    from atomcheck.engine import train_task_configs

    unknown = [s for s in sources if s not in SOURCES]
    if unknown or not sources:
        raise ValueError(f"sources={list(sources)!r}: name one or more of {SOURCES}")
    if len(seeds) < 2:
        raise ValueError("variance_by_source needs at least 2 seeds")
    base = dict(config or {})
    configs = [{**base, "hold": tuple(s for s in SOURCES if s != source)} for source in sources]
    configs.append({**base, "hold": ()})
    trained = train_task_configs(task, list(seeds), configs)
    variances = [float(np.var([task.result_metrics(r)[metric] for r in results], ddof=1))
                 for results in trained]
    total = variances[-1]
    names = [*sources, "all"]
    return {name: {"variance": v, "share": v / total if total > 0 else float("nan")}
            for name, v in zip(names, variances)}
