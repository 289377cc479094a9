"""Shared machinery of the calibration tests that run through the verdict layer: a
:class:`~atomcheck.sweep.Samples` refilled in place per replication, a verdict counter, and
the binomial check that a rate is not clearly above alpha."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import binomtest

from atomcheck.sweep import Run, Samples
from atomcheck.verdict import Expectation

ALPHA = 0.05

Draw = Callable[[np.random.Generator, int, int], np.ndarray]


class Sim:
    """A Samples over ``levels`` x ``n_seeds``, refilled in place for each replication.

    ``levels`` maps factors to their levels (the grid of them), or lists one factor's
    levels, named ``factor``.
    """

    def __init__(self, levels: Mapping[str, Sequence[Any]] | Sequence[Any], n_seeds: int,
                 factor: str = "x", metric: str = "m") -> None:
        grid = dict(levels) if isinstance(levels, Mapping) else {factor: list(levels)}
        factors = tuple(grid)
        configs = [dict(zip(factors, combo)) for combo in itertools.product(*grid.values())]
        runs = [Run(dict(c), s, {metric: 0.0}, 0.0) for c in configs for s in range(n_seeds)]
        self.samples = Samples(factors, configs, list(range(n_seeds)), runs)
        self.metric = metric
        self.k = len(configs)
        self.n = n_seeds
        # runs are config-major: runs[j * n + s] is config j, seed s
        self._cells = [(run.metrics, j, s) for j in range(self.k) for s, run in
                       enumerate(runs[j * n_seeds:(j + 1) * n_seeds])]

    def fill(self, values: np.ndarray) -> Samples:
        """The samples, with ``values`` (seeds x configs) as the metric."""
        assert values.shape == (self.n, self.k)
        metric = self.metric
        for metrics, j, s in self._cells:
            metrics[metric] = float(values[s, j])
        return self.samples


def run_verdicts(expectation: Expectation, sim: Sim, draw: Draw, reps: int,
                 seed: int) -> Counter:
    """Verdict counts over ``reps`` replications of ``draw`` (seeded)."""
    rng = np.random.default_rng(seed)
    counts: Counter = Counter()
    for _ in range(reps):
        counts[expectation.evaluate(sim.fill(draw(rng, sim.n, sim.k)), alpha=ALPHA).verdict] += 1
    assert sum(counts.values()) == reps
    assert counts["error"] == 0, f"{counts['error']} replications ended in an error verdict"
    return counts


def assert_at_most_alpha(count: int, reps: int, what: str, alpha: float = ALPHA) -> None:
    """Fail only when a one-sided binomial test of ``count`` against ``alpha`` gives p <= 1e-3."""
    p = binomtest(count, reps, alpha, alternative="greater").pvalue
    assert p > 1e-3, f"{what}: {count}/{reps} = {count / reps:.3f}, clearly above alpha={alpha}"
