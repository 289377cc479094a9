"""Wall-time claims: epoch time against mini-batch size (003), vectorisation (004).

Both are timed by pytest-benchmark through atomcheck.toolbox.benchmark_timing: one
benchmark per level (a row of its table, stored and compared by --benchmark-autosave /
--benchmark-compare), one round per seed in seed order after one untimed warm-up round of
the first seed, the levels' rounds of a seed back to back (interleaved), each after an
untimed warm call on its inputs; the verdict's samples are those rounds, paired by seed.
Inputs (data, weights, Python lists) are built before each round, untimed. BLAS runs on
one thread (the sweep's rule), so a level's time is its own work, not a thread pool's.

Robustness on a shared, noisy 2-core machine: a round is short (milliseconds), levels are
compared within a seed (paired), and each claim's effect is large against the noise seen
between rounds (stated per claim).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from atomcheck import Beats, Falls
from atomcheck.data import digits
from atomcheck.seeding import rng
from atomcheck.toolbox.benchmark_timing import BenchmarkTimings

SOURCE_MINIBATCH = "003_27e8606ef87a0581.txt Mini-batch size"
SOURCE_VECTORISATION = "004_2177d7888ae32ed4.txt 实现技巧 (向量化)"

# -- batch.epoch_time ------------------------------------------------------------------------

#: Training images per epoch (the seed's first 400 of its digits training split): enough
#: steps at batch 1 to show online learning's cost, few enough to time 11 epochs per level.
EPOCH_IMAGES = 400
#: Mini-batch sizes: online learning (1) up to 400 (the whole epoch in one step).
EPOCH_BATCH_SIZES = [1, 4, 16, 64, 400]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def sgd_epoch(x: np.ndarray, y: np.ndarray, weights: list[np.ndarray], order: np.ndarray,
              batch_size: int, lr: float = 3.0) -> None:
    """One epoch of mini-batch SGD in matrix form (Nielsen's network.py, vectorised over the
    mini-batch): sigmoid units, quadratic cost, one update per mini-batch."""
    w1, b1, w2, b2 = weights
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        xb, yb = x[idx], y[idx]
        a1 = _sigmoid(xb @ w1 + b1)
        a2 = _sigmoid(a1 @ w2 + b2)
        d2 = (a2 - yb) * a2 * (1 - a2)
        d1 = (d2 @ w2.T) * a1 * (1 - a1)
        step = lr / len(idx)
        w2 -= step * (a1.T @ d2)
        b2 -= step * d2.sum(axis=0)
        w1 -= step * (xb.T @ d1)
        b1 -= step * d1.sum(axis=0)


@functools.lru_cache(maxsize=32)
def _epoch_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The seed's digits images and one-hot targets (read once per seed, not per round)."""
    data = digits(seed=seed, n_train=EPOCH_IMAGES)
    return data.x_train.astype(np.float64), np.eye(10)[data.y_train]


def prepare_epoch(seed: int, batch_size: int, width: int = 30) -> tuple[object, ...]:
    """The seed's digits (one-hot targets), N(0, 1) weights (network.py's init) and order."""
    x, y = _epoch_data(seed)
    g = rng(seed, "epoch_time init")
    weights = [g.normal(size=(64, width)), g.normal(size=width),
               g.normal(size=(width, 10)), g.normal(size=10)]
    order = rng(seed, "epoch_time order").permutation(len(x))
    return x, y, weights, order, batch_size


@pytest.mark.claim(claim_id="batch.epoch_time", sources=[SOURCE_MINIBATCH], seeds=10,
                   robust_over={"width": [300]})
def test_epoch_time_falls_with_batch_size(claim, benchmark):
    """Epoch wall time falls as the mini-batch grows (online learning is slow).

    003 (Mini-batch size): with batch size 1 an epoch of 10,000 samples "must loop 10,000
    times, without the advantage of matrix computation, so it is slow".
    Protocol: the document follows Nielsen's book, so the epoch is network.py's SGD in matrix
    form (numpy, the mini-batch as one matrix): digits as the data (the seed's 400 first training
    images, 64 pixels), a 64-30-10 sigmoid net, quadratic cost, lr 3.0, N(0, 1) init, the seed's
    shuffled order; one epoch at batch sizes 1, 4, 16, 64, 400. A round is one epoch.
    Test: Page's L on epoch_s along batch size, seeds as blocks, one-sided "falls" (the
    document says slower at batch 1, not a strict monotone law). Robustness: 400 steps
    at batch 1 against 1 at batch 400 is a ~50x range of per-step overhead, far beyond the
    round-to-round noise (a loaded machine stretches a round by 2-3x at most).
    Open settings, rule fixed before looking: the document fixes no net, so the hidden
    layer is also run a decade wider (300 units), where each step's arithmetic weighs more
    against its overhead.

    Finding (seeds 0-9): supported under both settings (mean Kendall tau -0.86 and -0.90).
    Mean epoch times at batch 1, 4, 16, 64, 400 (width 30): 73, 22, 8.9, 1.4, 2.4 ms; width
    300: 175, 44, 19, 13, 11 ms. Online learning is 16-50x slower than the largest batches,
    but the fall is not monotone at the top: with 30 hidden units one 400-row step cost more
    than 7 steps of 64 (the claim's lean test does not require every step to fall).
    Fresh seeds (1000-1009): supported under both settings (tau -0.98, -0.82).
    """
    timings = BenchmarkTimings(benchmark, claim, sgd_epoch, prepare=prepare_epoch,
                               metric="epoch_s")
    claim.sweep(timings, batch_size=EPOCH_BATCH_SIZES)
    claim.expect(Falls("epoch_s", along="batch_size"))


# -- sys.vectorization -------------------------------------------------------------------------

#: "Much faster" is an order of magnitude: the vectorised time must be shown below a tenth
#: of the loop's (a log10 difference beyond -1), fixed before looking.
MUCH_FASTER_LOG10 = -1.0
#: Inputs per batch in the vector -> matrix variant.
BATCH = 256


def layer_loop_scalars(w: list[list[float]], x: list[float]) -> list[float]:
    """A dense layer on one input with Python loops over scalars."""
    out = []
    for row in w:
        total = 0.0
        for wi, xi in zip(row, x):
            total += wi * xi
        out.append(total)
    return out


def layer_loop_vectors(w: np.ndarray, xs: np.ndarray) -> list[np.ndarray]:
    """A dense layer on a batch with a Python loop of vector operations (one per input)."""
    return [w @ x for x in xs]


def layer_vectorised(w: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """The same layer as one array operation (one matrix-vector or matrix-matrix product)."""
    return xs @ w.T


def prepare_layer(seed: int, impl: str, granularity: str,
                  width: int = 64) -> tuple[object, ...]:
    """The seed's layer and input(s), and the implementation to time (Python lists for the
    scalar loop, so that loop runs on floats, not on numpy scalars)."""
    g = rng(seed, "vectorization")
    w = g.normal(size=(width, width))
    if granularity == "scalar_to_vector":
        x = g.normal(size=width)
        if impl == "loop":
            return layer_loop_scalars, w.tolist(), x.tolist()
        return layer_vectorised, w, x
    xs = g.normal(size=(BATCH, width))
    return (layer_loop_vectors if impl == "loop" else layer_vectorised), w, xs


def apply_layer(layer: Callable[[Any, Any], object], w: Any, x: Any) -> object:
    """The timed round: one application of the layer."""
    return layer(w, x)


@pytest.mark.claim(claim_id="sys.vectorization", sources=[SOURCE_VECTORISATION], seeds=10,
                   robust_over={"width": [640]})
@pytest.mark.parametrize("granularity", [
    "scalar_to_vector",
    pytest.param("vector_to_matrix", marks=pytest.mark.claim(
        expected="refuted",
        reason="one matrix product is not 10x faster than a loop of matrix-vector products: "
               "~2.6x at width 640 (refuted: each matrix-vector product already carries "
               "most of the arithmetic), 8-10x at width 64 (inconclusive against the 10x "
               "floor); the scalar-loop step is 30-300x")),
])
def test_vectorization_much_faster(claim, benchmark, granularity):
    """Vectorised computation is much faster than Python loops.

    004 (实现技巧, 向量化): write as few for-loops as possible; "turn many scalar operations
    into one vector operation, many vector operations into one matrix operation", which is
    "much faster than many separate operations". The two variants are those two steps, on
    one dense layer (weights W, width x width, N(0, 1) per seed):
    - scalar_to_vector: W applied to one input, as two nested Python loops over floats
      (Python lists) against one numpy matrix-vector product;
    - vector_to_matrix: W applied to a batch of 256 inputs, as a Python loop of 256
      matrix-vector products against one matrix-matrix product.
    A round is one application of the layer.
    Test: Beats on time_s_log10 (log10 seconds), vectorised < loop, paired Wilcoxon,
    with a floor of one decade (MUCH_FASTER_LOG10: "much faster" = at least 10x; an
    effect shown short of 10x refutes). On the log scale machine load, which stretches
    both levels of a seed alike, cancels in the paired difference.
    Open settings, rule fixed before looking: the document gives no size, so the layer's
    width is 64 (the catalog's hidden layers) and a decade wider (640), where each vector
    operation carries 100x more arithmetic against the same call overhead.

    Finding (seeds 0-9): scalar_to_vector supported under both widths: the numpy product
    is 10^1.50 = 32x faster at width 64 (median round 7 us against 0.2 ms) and 10^2.11 =
    130x at width 640. vector_to_matrix refuted: at width 640 one matrix product is only
    10^0.37 = 2.3x faster than 256 matrix-vector products (refuted against the 10x floor),
    at width 64 10^1.10 = 13x on average but with a wide spread across seeds (inconclusive
    against the floor). So the document's first step (scalar loops to vector operations)
    is "much faster"; its second (vector operations to one matrix operation) is faster but
    not by an order of magnitude once each vector operation carries real arithmetic.
    Fresh seeds (1000-1009): the same verdicts (scalar_to_vector 10^1.60 and 10^2.33;
    vector_to_matrix 10^1.20 inconclusive at 64, 10^0.46 refuted at 640).

    Run to run at width 64 (2026-12-01): timed in blocks (every seed of one impl, then
    every seed of the other, as before), vector_to_matrix's mean log10 ratio there was
    -0.94, -0.99 and -1.05 in three catalog runs (-n 2) and -1.11 and -0.85 in two runs
    of this test alone, so width 64 read refuted, inconclusive or supported (the claim:
    refuted or conditional) while each run's 95% CI was about ±0.04 wide: the seeds did
    not replicate the run. Now each seed's two impls are timed back to back, each after an
    untimed warm call (atomcheck.toolbox.benchmark_timing): -0.83, -0.99, -0.95, -0.99,
    -0.95, -0.81 and -0.94 in seven runs on seeds 0-9 (three alone, four with -n 2, two of
    them the whole catalog) and -1.03 on 1000-1009 (whole catalog): refuted or
    inconclusive at 64, the claim refuted in all eight, each CI about ±0.1.
    scalar_to_vector: 10^1.48 to 10^1.69 at 64 and 10^1.96 to 10^2.27 at 640, supported in
    all eight.
    """
    def prepare(seed: int, impl: str, width: int = 64) -> tuple[object, ...]:
        return prepare_layer(seed, impl, granularity, width)

    timings = BenchmarkTimings(benchmark, claim, apply_layer, prepare=prepare)
    claim.sweep(timings, impl=["loop", "vectorised"])
    claim.expect(Beats("time_s_log10", along="impl", a="vectorised", b="loop", greater=False,
                       min_effect=MUCH_FASTER_LOG10))
