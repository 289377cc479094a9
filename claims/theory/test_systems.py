"""Data loading: generators save memory (001 §5), asynchronous reading saves time (001 §6).

001 §5: "when returning data, make the Python generator yield, to reduce memory use". 001 §6:
synchronous reading runs data reading and training one after the other, the model waiting
for each batch; asynchronous reading runs them in parallel, read batches waiting in a buffer
(an "asynchronous queue"), so the model does not wait; frameworks do it with a Dataset class
and a DataLoader with single- or multi-worker loading.

Both claims use real components: data.generator_memory measures Python's allocations with
``tracemalloc`` (numpy arrays are traced), data.async_loading runs
``torch.utils.data.DataLoader`` with real worker processes and is timed by pytest-benchmark
(atomcheck.toolbox.benchmark_timing: one benchmark per loader, one round per seed, one
untimed warm-up round, the loaders' rounds of a seed back to back; the verdict's samples
are the rounds, paired by seed).
"""

from __future__ import annotations

import functools
import time
import tracemalloc
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from atomcheck import Beats, Memo
from atomcheck.data import digits
from atomcheck.models import configure_torch
from atomcheck.seeding import derive_seed, rng
from atomcheck.toolbox.benchmark_timing import BenchmarkTimings

SOURCE_GENERATOR = "001_4a10dabc6329af41.txt §5"
SOURCE_ASYNC = "001_4a10dabc6329af41.txt §6"

# -- data.generator_memory -------------------------------------------------------------------


def _batch(x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What a loader does per batch: read the images, scale and centre them (float64), and
    one-hot the labels: a fresh array per batch, as reading from disk would give."""
    xb = x[idx].astype(np.float64)
    xb = (xb - xb.mean()) / (xb.std() + 1e-8)
    return xb, np.eye(10)[y[idx]]


def batches_generator(x: np.ndarray, y: np.ndarray, order: np.ndarray,
                      batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The §5 loader: yields one batch at a time."""
    for start in range(0, len(order), batch_size):
        yield _batch(x, y, order[start:start + batch_size])


def batches_list(x: np.ndarray, y: np.ndarray, order: np.ndarray,
                 batch_size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The alternative: every batch materialised before training starts."""
    return [_batch(x, y, order[s:s + batch_size]) for s in range(0, len(order), batch_size)]


def _train_epoch(batches: Iterable[tuple[np.ndarray, np.ndarray]], w: np.ndarray) -> None:
    """A softmax-regression SGD step per batch (the consumer)."""
    for xb, yb in batches:
        logits = xb @ w
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        w -= 0.1 * xb.T @ (p - yb) / len(xb)


@functools.lru_cache(maxsize=32)
def _digits(seed: int) -> Any:
    return digits(seed=seed)


def peak_memory(seed: int, loader: str, batch_size: int = 32) -> dict[str, float]:
    """tracemalloc's peak (bytes) over one training epoch fed by ``loader``."""
    data = _digits(seed)
    order = rng(seed, "generator order").permutation(len(data.y_train))
    w = np.zeros((64, 10))
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        make = batches_generator if loader == "generator" else batches_list
        _train_epoch(make(data.x_train, data.y_train, order, batch_size), w)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return {"peak_bytes": float(peak), "peak_bytes_log10": float(np.log10(peak))}


#: "Less memory" must be at least half: a log10 difference beyond -0.3 (fixed before looking;
#: tracemalloc is deterministic up to a few allocator blocks, so any floor is about the size
#: of the effect, not about noise).
HALF_LOG10 = -np.log10(2)


@pytest.mark.claim(claim_id="data.generator_memory", sources=[SOURCE_GENERATOR], seeds=10,
                   robust_over={"batch_size": [256]}, expected="conditional",
                   reason="the saving is the number of batches an epoch holds at once: 11x less "
                          "at batch 32 (43 batches), only 1.7x at batch 256 (6 batches, the "
                          "peak then dominated by one batch's temporaries), short of halving")
def test_generator_holds_less_memory(claim):
    """A generator loader holds less memory at peak than materialising all batches.

    Protocol: one epoch of softmax-regression SGD on digits (1,347 training images, the
    seed's shuffled order) fed batch by batch; the loader reads each batch's images, scales
    and centres them in float64 and one-hots its labels (a new array per batch, as a read
    from disk gives). "generator": the batches are yielded one at a time (§5's yield);
    "list": all batches are built first, then trained on. The metric is tracemalloc's peak
    of Python (and numpy) allocations during the epoch, the data set itself excluded (it is
    loaded before tracing starts).
    Test: Beats on peak_bytes_log10, generator < list, paired Wilcoxon, with a floor: at
    least half the memory (HALF_LOG10).
    Open settings, rule fixed before looking: the document gives no batch size, so the
    catalog's batch 32 and a batch eight times larger (256: six batches per epoch), where
    one batch is a larger share of the whole.

    Finding (seeds 0-9): conditional. At batch 32 the generator's peak is 76 KB against
    840 KB for the list (11x less, every seed: supported); at batch 256, 590 KB against
    1.0 MB (1.7x less, every seed, but shown short of the halving floor: refuted). The
    saving is the number of batches an epoch would otherwise hold at once; with six large
    batches one batch and its temporaries are most of the peak. tracemalloc's peaks are the
    same to the byte for every seed (the data's shape, not its values, sets them).
    Fresh seeds (1000-1009): the same (conditional; identical peaks).
    """
    claim.sweep(peak_memory, loader=["generator", "list"])
    claim.expect(Beats("peak_bytes_log10", along="loader", a="generator", b="list",
                       greater=False, min_effect=HALF_LOG10))


# -- data.async_loading ----------------------------------------------------------------------

#: Simulated latency of reading one batch (a slow disk or network read: the process waits,
#: using no CPU). 50 ms: large against what the machine adds to each hand-off from a worker
#: (scheduling a woken process: ~1 ms idle, a few ms with the cores busy), so the timing
#: measures the overlap the document describes, not the scheduler.
READ_S = 0.05
#: A training step of the 64-1024-1024-10 MLP on 64 samples takes ~12 ms of one core here:
#: about a quarter of a read, so reading is the slow side (the document's premise) while
#: the step one worker can hide behind a read is large against a hand-off.
BATCH_SIZE = 64
HIDDEN = 1024
#: Few batches keep the test short; the first batch's read cannot be hidden by any loader.
BATCHES_PER_EPOCH = 4


@functools.lru_cache(maxsize=32)
def _seed_data(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The seed's stored data: Gaussian inputs (64 features) and labels (10 classes)."""
    g = rng(seed, "async data")
    n = BATCH_SIZE * BATCHES_PER_EPOCH
    x = torch.as_tensor(g.normal(size=(n, 64)), dtype=torch.float32)
    return x, torch.as_tensor(g.integers(0, 10, size=n))


class SlowStore(Dataset):  # type: ignore[type-arg]
    """Slow storage holding every seed's data set: an item is ``(seed, row)``, and every
    batch read waits ``READ_S`` (``__getitems__``: one read per batch, as a record file or
    a remote store serves them)."""

    def __len__(self) -> int:  # the rows of one seed's data set
        return BATCH_SIZE * BATCHES_PER_EPOCH

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = _seed_data(key[0])
        return x[key[1]], y[key[1]]

    def __getitems__(self, keys: list[tuple[int, int]]
                     ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        time.sleep(READ_S)
        return [self[key] for key in keys]


class EpochBatches(Sampler[list[tuple[int, int]]]):
    """The batches of the next epoch: one seed's rows in that seed's shuffled order. A
    sampler runs in the training process, so setting ``seed`` before an epoch redirects a
    loader whose workers already run."""

    def __init__(self) -> None:
        self.seed = 0

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        order = rng(self.seed, "async order").permutation(len(self) * BATCH_SIZE)
        for start in range(0, len(order), BATCH_SIZE):
            yield [(self.seed, int(i)) for i in order[start:start + BATCH_SIZE]]

    def __len__(self) -> int:
        return BATCHES_PER_EPOCH


class Loaders:
    """One DataLoader per worker count, kept for the whole test, as in a multi-epoch run:
    an async loader's workers persist across epochs (``persistent_workers=True``), so each
    timed epoch (one per seed) finds them started and idle, and their start-up — forking
    the test process, a cost of the run, not of an epoch — is paid once, untimed."""

    def __init__(self) -> None:
        # A Memo: the loaders started so far are state of the run, not of the protocol, so
        # they stay out of the result cache's fingerprint.
        self._loaders: dict[int, tuple[DataLoader[Any], EpochBatches]] = Memo()

    def prepare(self, seed: int, loading: str, workers: int = 1) -> tuple[object, ...]:
        """The seed's net (64-1024-1024-10) and the loader set to the seed's data, untimed."""
        num_workers = workers if loading == "async" else 0
        if num_workers not in self._loaders:
            batches = EpochBatches()
            loader = DataLoader(SlowStore(), batch_sampler=batches, num_workers=num_workers,
                                persistent_workers=num_workers > 0)
            self._loaders[num_workers] = (loader, batches)
            batches.seed = seed
            for _ in loader:  # start the workers: a first epoch, read to the end
                pass
        loader, batches = self._loaders[num_workers]
        batches.seed = seed
        torch.manual_seed(derive_seed(seed, "async init"))
        model = torch.nn.Sequential(torch.nn.Linear(64, HIDDEN), torch.nn.ReLU(),
                                    torch.nn.Linear(HIDDEN, HIDDEN), torch.nn.ReLU(),
                                    torch.nn.Linear(HIDDEN, 10))
        return model, loader

    def close(self) -> None:
        """Stop the workers (a persistent loader's iterator stops them when released)."""
        self._loaders.clear()


def train_epoch(model: torch.nn.Module, loader: DataLoader[Any]) -> None:
    """One epoch: an SGD step per batch as the loader delivers it. The epoch's first reads
    are requested here, inside the timed round (``iter(loader)``); the previous epoch was
    read to its end, so no read is in flight before."""
    configure_torch(1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for xb, yb in loader:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xb), yb).backward()
        opt.step()


@pytest.mark.claim(claim_id="data.async_loading", sources=[SOURCE_ASYNC], seeds=10,
                   robust_over={"workers": [2]}, expected="supported",
                   reason="with a read long against the machine's hand-off cost and a step "
                          "worth hiding (50 ms against ~12 ms), and the workers started once "
                          "per run, one worker cut the epoch by 10-45% and two by 12-55% "
                          "in every run: alone, under -n 2, with two busy processes on the "
                          "2 cores (on top of other agents' load 3-5), seeds 0-9 and 1000-1009")
def test_async_loading_is_faster(claim, benchmark):
    """Asynchronous (prefetching) loading finishes an epoch faster than synchronous loading
    when reading is slow.

    What the document claims (001 §6): synchronous reading leaves the model waiting while
    each batch is read; asynchronous reading reads into a buffer in parallel with training,
    so the model takes the next batch without waiting; frameworks offer single- and
    multi-worker loading. With a read of R per batch, a step of C and B batches, a
    synchronous epoch takes about B(R + C). One worker overlaps reading with training: about
    R + (B - 1) max(R, C + T) + C, T the cost of handing a batch from the worker process to
    the trainer; with R > C it saves the steps, (B - 1) C, less the hand-offs. Two workers
    also read in parallel with each other: about R + (B - 1) max(R/2, C + T) + C.

    Protocol, rules fixed from that model: a read waits R = 50 ms (simulated slow storage:
    the reader sleeps, no CPU), long against the scheduling delays that T grows by when the
    cores are busy (~1 ms idle, a few ms loaded), so the timing measures the overlap, not
    the scheduler; a step (SGD on a 64-1024-1024-10 MLP, batch 64, one torch thread) takes
    ~12 ms of one core, about R/4: reading stays the slow side (the document's premise)
    while the step one worker hides is large against T; B = 4 batches (the first read can
    be hidden by no loader; few batches keep the test short). The seed draws the data
    (Gaussian inputs, 10 labels), the net's init and the order. "sync": DataLoader with
    num_workers=0. "async": DataLoader with worker processes, prefetch_factor 2, and
    persistent_workers=True, as in multi-epoch training: one loader per worker count for
    the whole test (the :class:`Loaders`), its workers started by a first, untimed epoch;
    each seed's epoch is one more epoch of that loader over the seed's data (the sampler,
    which runs in the trainer, switches the seed). A round (pytest-benchmark, via
    atomcheck.toolbox.benchmark_timing; one untimed warm-up round per arm and setting) is
    one epoch: from ``iter(loader)``, which requests the first reads, to the last SGD step;
    the previous epoch was read to its end, so no read is in flight when the round starts.
    Test: Beats on epoch_s_log10, async < sync, paired Wilcoxon (directional: no floor).
    Open settings, rule fixed before looking: the document says single- or multi-worker
    loading without a number, so one worker (base: reading in parallel with training, the
    document's queue) and two (reads also in parallel with each other).

    Development history, said so because the protocol changed after looking, three times.
    (1) A 4 ms read, a 64-256-10 net, 32 batches, workers started inside the timed epoch:
    refuted (async 2.4x slower). (2) A 20 ms read, 64-512-512-10, 12 batches of 32, workers
    forked before the round: conditional in the lead's quiet whole-catalog run (one worker
    +7%, epoch log10 +0.030 [0.020, 0.041]; two workers -26%), refuted with the cores
    oversubscribed (+14%, +17%), and inconclusive when rerun alone here (load 0.8: one
    worker +1.4%, log10 +0.006 [-0.004, 0.016], 298 -> 302 ms; two workers supported, -36%,
    298 -> 192 ms): the verdict flipped with the load. Measured causes: a step took 1.7 ms
    against a 20 ms read, so one worker had almost nothing to hide; a freshly forked worker
    delivered its first batch after 87-168 ms against 51-53 ms synchronously (54 ms once
    persistent), so its start-up, and its shutdown at the end of a non-persistent epoch,
    were inside the timed round, CPU work that contention stretches. (3) This session:
    R = 50 ms and a step of ~R/4. A stand-alone prototype first (6 batches of 32 on
    64-1024-1024-10, workers as in (2)): one worker +5%, 377 -> 395 ms, two -36%. Then a
    persistent loader per seed (5, then 4 batches of 64; seeds 0-9 alone): one worker -38%,
    -39%, -45%, two -54%, -56%, -62% — which hid a bias: the old loader's workers shut down
    after the new loader's had started reading, a head start for async; fixed by reading
    the first epoch to its end: one worker -28%, two -44%. Finally one loader per worker
    count for the whole test (this protocol), since forking a worker per seed cost
    ~0.1-0.2 s CPU each, ~4 s a run. Every run of this protocol is below; none dropped.

    Finding (seeds 0-9): supported under both settings in every condition; effect as epoch
    log10 async - sync [95% CI], geometric-mean epochs, external load from other agents 3-5
    on the 2 cores throughout (no idle machine was to be had). Alone (two runs): one worker
    -0.140 [-0.156, -0.124] (362 -> 262 ms, 0.72x), -0.113 [-0.127, -0.099] (318 -> 245 ms,
    0.77x); two -0.184 [-0.245, -0.122] (363 -> 238 ms, 0.66x), -0.233 (308 -> 180 ms).
    Whole file under -n 2 --dist loadfile (two runs): -0.124 (324 -> 243 ms, 0.75x), -0.087
    [-0.125, -0.048] (294 -> 241 ms, 0.82x); -0.258 (293 -> 162 ms), -0.277 (318 -> 168 ms).
    With two busy processes spinning (three runs): one worker
    -0.108 (618 -> 481 ms, p = 0.005), -0.129 (366 -> 272 ms), -0.260 (451 -> 248 ms); two
    -0.125 (597 -> 448 ms), -0.119 (374 -> 285 ms), -0.348 (386 -> 173 ms). Spinning and
    -n 2 (two runs): one worker -0.045 [-0.105, +0.016] (383 -> 346 ms, 0.90x, p = 0.042:
    one seed stalled, 554 ms), -0.133 (382 -> 281 ms); two -0.162 (386 -> 266 ms), -0.119
    [-0.224, -0.014] (404 -> 307 ms, p = 0.010). Fresh seeds (1000-1009): supported under
    both in every condition. Alone: -0.133 (335 -> 246 ms), -0.288 (342 -> 176 ms); -n 2:
    -0.105 (301 -> 236 ms), -0.328 (298 -> 140 ms); spinning: -0.161 (406 -> 280 ms),
    -0.160 (441 -> 305 ms); spinning and -n 2: -0.082 [-0.109, -0.056] (325 -> 269 ms),
    -0.054 [-0.104, -0.003] (348 -> 308 ms, p = 0.032). Reading: the busier the cores, the
    longer a step (up to ~100 ms against 12 ms idle), so both arms become compute-bound, the
    saving shrinks towards (B - 1)(R - T) and two workers stop beating one (their extra
    process competes for the cores); the margin is thinnest with the cores ~3x
    oversubscribed (p 0.03-0.04 in 2 of 26 setting-runs), where a further doubling of the
    load could still make a setting inconclusive. The model predicts an idle machine's
    epochs at ~255 ms sync, ~215 ms with one worker (-15%), ~125 ms with two (-50%).
    Cost: 176 SGD steps and 3 worker processes; 4.9-7.0 s CPU over pytest's start-up
    (about 2.5 s of it torch's one-time first-step initialisation, paid once per process),
    15-29 s wall (the claim's own) under this load, 42 s in the worst contended run.
    """
    loaders = Loaders()
    # an epoch of slow reads lasts ~0.25 s: no warm call before each round (the rule of
    # BenchmarkTimings: warm calls protect rounds of microseconds to milliseconds)
    timings = BenchmarkTimings(benchmark, claim, train_epoch, prepare=loaders.prepare,
                               metric="epoch_s", warm_each_round=False)
    claim.sweep(timings, loading=["sync", "async"])
    try:  # expect() runs the sweep
        claim.expect(Beats("epoch_s_log10", along="loading", a="async", b="sync",
                           greater=False))
    finally:
        loaders.close()
