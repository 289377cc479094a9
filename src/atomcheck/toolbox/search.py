"""Hyper-parameter search at a fixed budget: grid, random, and log-space sampling.

A search space maps each hyper-parameter to a :class:`Range` (linear or log scale). Every
strategy returns the list of points it would try for a budget of trials:

* :func:`grid_points` — ``k`` evenly spaced values per parameter, ends included, with
  ``k`` the largest integer such that ``k ** d`` trials fit the budget (the grid of a
  budget of 9 over 2 parameters is 3 × 3: only 3 distinct values of each);
* :func:`random_points` — ``budget`` independent draws, uniform on each range's scale
  (log-uniform for a log range, as ``10 ** random.uniform(-5, -1)``), so every trial
  tries a new value of every parameter.

:func:`run_search` scores a list of points with a batched ``evaluate(points) -> scores``
and keeps the best (the first of equals). Nothing here trains a network: the claim or
user supplies ``evaluate``.

Examples
--------
>>> space = {"lr": Range(1e-5, 1e-1, log=True), "momentum": Range(0.0, 0.9)}
>>> [round(p["lr"], 5) for p in grid_points(space, 9)][:3]
[1e-05, 1e-05, 1e-05]
>>> len({p["lr"] for p in random_points(space, 9, np.random.default_rng(0))})
9
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from atomcheck.errors import InvalidClaim

if TYPE_CHECKING:  # pragma: no cover
    from atomcheck.data import Dataset
    from atomcheck.models import MLPSpec, TrainResult

__all__ = ["Range", "grid_points", "random_points", "grid_size", "SearchResult", "run_search",
           "STRATEGIES", "points_for", "train_trials"]

#: The strategy names :func:`points_for` knows.
STRATEGIES = ("grid", "random")


@dataclass(frozen=True)
class Range:
    """A hyper-parameter's interval ``[low, high]``, searched on a linear or log scale.

    Examples
    --------
    >>> Range(1e-4, 1e-1, log=True).grid(4).round(6).tolist()
    [0.0001, 0.001, 0.01, 0.1]
    >>> Range(0.0, 1.0).grid(3).tolist()
    [0.0, 0.5, 1.0]
    """

    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        lo, hi = self.low, self.high
        if not (isinstance(lo, (int, float)) and isinstance(hi, (int, float))
                and math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise InvalidClaim(f"Range({lo!r}, {hi!r}): need finite numbers with low < high.")
        if self.log and lo <= 0:
            raise InvalidClaim(f"Range({lo!r}, {hi!r}, log=True): a log range needs low > 0.")

    def grid(self, k: int) -> np.ndarray:
        """``k`` evenly spaced values on the range's scale, both ends included (``k=1``:
        the midpoint on that scale)."""
        if k < 1:
            raise InvalidClaim(f"Range.grid: k={k!r} must be >= 1.")
        if k == 1:
            return self.from_unit(np.array([0.5]))
        return self.from_unit(np.linspace(0.0, 1.0, k))

    def sample(self, gen: np.random.Generator, size: int) -> np.ndarray:
        """``size`` independent uniform draws on the range's scale."""
        return self.from_unit(gen.uniform(0.0, 1.0, size))

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map ``u`` in [0, 1] onto the range (geometrically for a log range)."""
        u = np.asarray(u, dtype=float)
        if self.log:
            lo, hi = math.log10(self.low), math.log10(self.high)
            out = 10.0 ** (lo + u * (hi - lo))
        else:
            out = self.low + u * (self.high - self.low)
        return np.clip(out, self.low, self.high)  # rounding at the ends stays inside


def _check_space(space: Mapping[str, Range], budget: int) -> None:
    if not space or not all(isinstance(r, Range) for r in space.values()):
        raise InvalidClaim(f"search space {space!r} must map each name to a Range, e.g. "
                           "{'lr': Range(1e-5, 1e-1, log=True)}.")
    if not isinstance(budget, (int, np.integer)) or isinstance(budget, bool) or budget < 1:
        raise InvalidClaim(f"budget={budget!r} must be an integer >= 1 (trials).")


def grid_size(n_params: int, budget: int) -> int:
    """The values per parameter of the largest full grid within ``budget`` trials.

    Examples
    --------
    >>> grid_size(2, 9), grid_size(2, 10), grid_size(3, 8), grid_size(3, 7)
    (3, 3, 2, 1)
    """
    k = max(1, int(round(budget ** (1.0 / n_params))))
    while k ** n_params > budget and k > 1:
        k -= 1
    while (k + 1) ** n_params <= budget:
        k += 1
    return k


def grid_points(space: Mapping[str, Range], budget: int) -> list[dict[str, float]]:
    """The full grid of :func:`grid_size` values per parameter (``k ** d <= budget``
    points), in ``itertools.product`` order over the space's parameters."""
    _check_space(space, budget)
    k = grid_size(len(space), budget)
    axes = [r.grid(k).tolist() for r in space.values()]
    return [dict(zip(space, combo)) for combo in itertools.product(*axes)]


def random_points(space: Mapping[str, Range], budget: int, gen: np.random.Generator
                  ) -> list[dict[str, float]]:
    """``budget`` points, each parameter drawn independently and uniformly on its range's
    scale (parameters drawn one after another, so adding a parameter keeps the others')."""
    _check_space(space, budget)
    draws = {name: r.sample(gen, budget) for name, r in space.items()}
    return [{name: float(draws[name][i]) for name in space} for i in range(budget)]


def points_for(strategy: str, space: Mapping[str, Range], budget: int,
               gen: np.random.Generator | None = None) -> list[dict[str, float]]:
    """The points of ``strategy`` ("grid" or "random"; random needs ``gen``)."""
    if strategy == "grid":
        return grid_points(space, budget)
    if strategy == "random":
        if gen is None:
            raise InvalidClaim("points_for('random', ...) needs gen=numpy.random.Generator.")
        return random_points(space, budget, gen)
    raise InvalidClaim(f"search strategy {strategy!r} is not one of {list(STRATEGIES)}.")


@dataclass(frozen=True)
class SearchResult:
    """The points a search tried, their scores, and the best one.

    Attributes
    ----------
    points : list of dict
    scores : list of float
        NaN scores (diverged trials) never win.
    best_index : int
        The first point with the best score.
    """

    points: list[dict[str, Any]]
    scores: list[float]
    best_index: int

    @property
    def best_point(self) -> dict[str, Any]:
        """The winning point."""
        return self.points[self.best_index]

    @property
    def best_score(self) -> float:
        """The winning score."""
        return self.scores[self.best_index]


def run_search(points: Sequence[Mapping[str, Any]],
               evaluate: Callable[[list[dict[str, Any]]], Sequence[float]], *,
               greater: bool = True) -> SearchResult:
    """Score every point with one call of ``evaluate`` and keep the best.

    Parameters
    ----------
    points : sequence of dict
    evaluate : callable
        ``evaluate(points) -> scores`` (one per point; batch the trials inside it).
    greater : bool
        True when a higher score is better (accuracy), False when lower is (loss).

    Examples
    --------
    >>> r = run_search([{"x": 0.1}, {"x": 0.5}, {"x": 0.9}],
    ...                lambda ps: [-(p["x"] - 0.6) ** 2 for p in ps])
    >>> r.best_point, r.best_index
    ({'x': 0.5}, 1)
    """
    pts = [dict(p) for p in points]
    if not pts:
        raise InvalidClaim("run_search: no points to evaluate.")
    scores = [float(s) for s in evaluate(pts)]
    if len(scores) != len(pts):
        raise InvalidClaim(f"run_search: evaluate returned {len(scores)} scores for "
                           f"{len(pts)} points.")
    keyed = np.array([(s if greater else -s) if math.isfinite(s) else -np.inf for s in scores])
    return SearchResult(pts, scores, int(np.argmax(keyed)))


def train_trials(trials: Sequence[tuple[MLPSpec, Dataset, int]], *, device: str = "cpu"
                 ) -> list[TrainResult]:
    """Train every trial ``(spec, dataset, seed)``, batching all trials that can share a run.

    A search tries different points for different seeds, so its trials are not a
    config × seed grid (what :func:`atomcheck.engine.train_batched_configs` trains); here
    each trial is one row of the engine's :class:`~atomcheck.engine.run.BatchedRun`, and
    trials whose nets and schedules have the same shape (widths, norm, dtype, batch size,
    epochs, data shapes, and whether the native kernel runs them) train together, whatever
    their learning rates, penalties or optimisers. Each row computes what it would alone.
    Trials the engine cannot express train per seed (:func:`atomcheck.models.train`).

    Returns
    -------
    list of TrainResult
        One per trial, in order.
    """
    from atomcheck.engine import resolve_device, supports
    from atomcheck.engine.native import native_reason
    from atomcheck.engine.run import BatchedRun
    from atomcheck.models import _ensure_torch, check_data, train

    dev = resolve_device(device)
    _ensure_torch()  # one torch thread for tiny nets, as the engine's entry points do
    out: list[TrainResult | None] = [None] * len(trials)
    groups: dict[tuple[Any, ...], list[int]] = {}
    for t, (spec, data, _) in enumerate(trials):
        check_data(spec, data)
        if supports(spec) is not None:
            out[t] = train(spec, data, seed=trials[t][2], device=dev)
            continue
        key = (spec.widths, spec.norm, spec.residual, spec.shared_hidden, spec.dtype,
               min(spec.batch_size, len(data.x_train)), spec.epochs, data.n_classes,
               np.shape(data.x_train), np.shape(data.x_test),
               native_reason([spec], dev) is None)
        groups.setdefault(key, []).append(t)
    for members in groups.values():
        run = BatchedRun([trials[t][0] for t in members], [trials[t][1] for t in members],
                         [trials[t][2] for t in members], dev)
        for t, result in zip(members, run.run()):
            out[t] = result
    return [r for r in out if r is not None]
