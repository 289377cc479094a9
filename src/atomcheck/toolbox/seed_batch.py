"""A per-seed view of a function that trains every seed at once.

A sweep calls ``fn(seed, **config)`` once per seed. A claim whose training is a procedure
of its own — train, checkpoint, resume; read the optimiser's state half-way — can still
use the seed-batched module path (:func:`atomcheck.engine.modules.train_modules` trains
all seeds of a configuration in one run) by writing ``train_all(seeds, **config)`` and
wrapping it in :class:`SeedBatched`: the first seed of a configuration trains them all, the
others read the stored result. Seed *k* gets exactly what the batched run gave seed *k*
(the module path makes that equal to seed *k* trained alone).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from atomcheck.errors import InvalidClaim
from atomcheck.memo import Memo

__all__ = ["SeedBatched", "divergence_as_data"]


class SeedBatched:
    """``fn(seed, **config)`` backed by ``train_all(seeds, **config) -> [metrics per seed]``.

    Parameters
    ----------
    train_all : callable
        ``train_all(seeds, **config)`` returning one metric dict per seed, in order.
    seeds : sequence of int
        The seeds the claim runs (``claim.seeds``); a call for another seed is an error.
    names, defaults : optional
        The factor names and their base values, when ``train_all`` takes ``**config``
        (otherwise read from its signature).

    Examples
    --------
    >>> calls = []
    >>> def train_all(seeds, lr=0.1):
    ...     calls.append(lr)
    ...     return [{"y": s * lr} for s in seeds]
    >>> fn = SeedBatched(train_all, [0, 1, 2])
    >>> [fn(s, lr=1.0)["y"] for s in (0, 1, 2)], calls
    ([0.0, 1.0, 2.0], [1.0])
    >>> sorted(fn.factor_names()), fn.defaults
    (['lr'], {'lr': 0.1})
    """

    def __init__(self, train_all: Callable[..., Sequence[dict[str, float]]],
                 seeds: Sequence[int], *, names: Sequence[str] | None = None,
                 defaults: Mapping[str, Any] | None = None) -> None:
        if not callable(train_all):
            raise InvalidClaim(f"SeedBatched: train_all={train_all!r} must be callable.")
        self.train_all = train_all
        self.seeds = [int(s) for s in seeds]
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise InvalidClaim(f"SeedBatched: seeds={list(seeds)!r} must be distinct, non-empty.")
        params = list(inspect.signature(train_all).parameters.values())[1:]
        self._names = frozenset(p.name for p in params
                                if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
        #: The values ``train_all`` uses when a sweep does not set them (open settings' base).
        self.defaults = {p.name: p.default for p in params if p.name in self._names
                         and p.default is not inspect.Parameter.empty}
        if names is not None:
            self._names = frozenset(names)
        if defaults is not None:
            self.defaults = dict(defaults)
        self.__name__ = getattr(train_all, "__name__", type(self).__name__)
        # Which configurations were trained depends on what the cache held: not the identity.
        self._done: dict[str, dict[int, dict[str, float]]] = Memo()

    def factor_names(self) -> frozenset[str]:
        """The keyword names ``train_all`` accepts (what a sweep may vary)."""
        return self._names

    def __call__(self, seed: int, **config: Any) -> dict[str, float]:
        """Seed ``seed``'s metrics under ``config`` (training every seed on first use)."""
        if int(seed) not in self.seeds:
            raise InvalidClaim(f"SeedBatched({self.__name__}): seed {seed} is not one of the "
                               f"seeds it trains, {self.seeds}. Build it with claim.seeds.")
        key = repr(sorted(config.items()))
        if key not in self._done:
            out = list(self.train_all(list(self.seeds), **config))
            if len(out) != len(self.seeds):
                raise InvalidClaim(f"SeedBatched({self.__name__}): train_all returned "
                                   f"{len(out)} results for {len(self.seeds)} seeds.")
            self._done[key] = dict(zip(self.seeds, out))
        return dict(self._done[key][int(seed)])


def divergence_as_data(task: Any, seeds: Sequence[int]) -> SeedBatched:
    """A :class:`~atomcheck.models.Task` whose divergence is an outcome, not a failed run.

    A sweep marks a run diverged when it says so or a metric is NaN, and a diverged seed
    then counts against the claim (DESIGN.md). For claims whose prediction *is* divergence
    ("too large a rate diverges", "without clipping it blows up") that makes the claim
    untestable; such a claim reads a metric defined for every run (e.g.
    ``toolbox.trajectory.loss_progress``, 0 for a diverged run). This wraps ``task`` (all
    seeds batched on the native engine) so that each run reports ``blew_up`` (1.0 or 0.0)
    in place of ``diverged`` and only its finite metrics: the task's ``metrics`` function
    must give the claim's metric a value for diverged runs too.

    Examples
    --------
    >>> from atomcheck.data import gaussian_mixture
    >>> from atomcheck.models import MLPSpec, Task
    >>> task = Task(gaussian_mixture, MLPSpec(widths=(8,), epochs=2, lr=1e6),
    ...             data_args={"n_train": 40}, metrics=lambda r: {"ok": float(not r.diverged)})
    >>> fn = divergence_as_data(task, [0, 1])
    >>> row = fn(0)
    >>> row["blew_up"], row["ok"], "diverged" in row
    (1.0, 0.0, False)
    """
    def train_all(seeds: Sequence[int], **config: Any) -> list[dict[str, float]]:
        from atomcheck.engine import train_task_configs

        rows = []
        for result in train_task_configs(task, list(seeds), [config])[0]:
            metrics = task.result_metrics(result)
            blew_up = float(metrics.pop("diverged", 0.0))
            rows.append({k: v for k, v in metrics.items() if math.isfinite(v)}
                        | {"blew_up": blew_up})
        return rows

    defaults = dataclasses.asdict(task.model) | dict(task.data_args)
    fn = SeedBatched(train_all, seeds, names=sorted(task.factor_names()), defaults=defaults)
    fn.__name__ = f"divergence_as_data({task.name})"
    return fn
