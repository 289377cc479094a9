"""Seed-batched ``nn.Module`` training against the per-seed loop, on scikit-learn's digits.

Three reference models (``tests/support/reference_modules.py``: a small CNN with pooling, an
MLP with BatchNorm, a residual MLP with dropout), each trained with SGD lr=0.05, batch 32,
10 epochs on the full digits split, one torch thread.

* ``per_seed``: the plain per-seed loop (the module called directly, ``torch.optim.SGD``;
  ``train_module_solo(..., reference=True)``), 3 seeds one after another. A loop over seeds
  shares nothing between seeds, so its cost is linear in the number of seeds: **the
  baseline for N seeds is the measured cost per seed times N** (the loop itself is not run
  at 30 or 100 seeds; that would cost 1-3 minutes per model).
* ``batched``: :func:`atomcheck.engine.modules.train_modules` over N seeds at once, after
  a warm-up run (torch.func's first call). N = 30 always; N = 100 only with
  ``ATOMCHECK_BENCH_100=1`` (it adds about a minute).

Times are CPU seconds of this process (``time.process_time``; one thread, so it is the
busy time, and it does not count the time other jobs on a shared machine hold the core);
wall seconds are recorded too. Each batched benchmark records in its ``extra_info``:
``ratio_vs_per_seed`` (CPU), ``ratio_vs_per_seed_wall``, ``max_abs_diff_vs_solo`` (the first
and last seed of the batched run against each trained alone on the same path: 0 in
float64, float32 rounding here), ``max_abs_diff_vs_plain_loop`` (seeds 0-2 against the
plain loop, whose kernels round differently; float32 rounding amplified over 430 steps),
``peak_mib`` (the growth of the process's peak resident memory during the batched run:
``VmHWM`` reset through ``/proc/self/clear_refs`` before it, minus the resident size
before it) and ``path`` (``vmap`` or ``packed``).
Run: ``pytest benchmarks/test_module_speed.py --benchmark-only -s``.
"""

from __future__ import annotations

import math
import os
import resource
import time
from typing import Any

import pytest

from atomcheck.data import digits
from atomcheck.models import configure_torch

torch = pytest.importorskip("torch")
nn = torch.nn

from atomcheck.engine.modules import _is_seed_dropout, build_module  # noqa: E402
from atomcheck.engine.modules import train_module_solo, train_modules  # noqa: E402
from atomcheck.engine.packed import packed_plan  # noqa: E402
from reference_modules import reference_models  # noqa: E402

N_BASELINE = 3
SEED_COUNTS = [30, 100] if os.environ.get("ATOMCHECK_BENCH_100") == "1" else [30]
TRAIN = {"batch_size": 32, "epochs": 10, "lr": 0.05, "optimizer": "sgd"}


#: The reference modules at hidden width 32, dropout 0.2.
MODELS = reference_models(width=32, p=0.2)
PER_SEED: dict[str, tuple[float, float, list[dict[str, float]]]] = {}


@pytest.fixture(scope="module")
def data() -> list:
    configure_torch(1)
    return [digits(seed=s) for s in range(max(SEED_COUNTS))]


def _per_seed(model: str, data: list) -> tuple[float, float, list[dict[str, float]]]:
    """CPU and wall seconds per seed of the plain loop, and its metrics (seeds 0-2)."""
    if model not in PER_SEED:
        train_module_solo(MODELS[model], data[0], 0, reference=True, **dict(TRAIN, epochs=1))
        c0, t0 = time.process_time(), time.perf_counter()
        out = [train_module_solo(MODELS[model], data[s], s, reference=True, **TRAIN)
               for s in range(N_BASELINE)]
        PER_SEED[model] = ((time.process_time() - c0) / N_BASELINE,
                           (time.perf_counter() - t0) / N_BASELINE, out)
    return PER_SEED[model]


def _rss_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _path(model: str, data: list) -> str:
    module = build_module(MODELS[model], data[0], 0)
    plan = packed_plan(module, data[0].x_train.shape[1:], "cross_entropy", data[0].n_classes,
                       _is_seed_dropout)
    return "packed" if plan is not None else "vmap"


@pytest.mark.parametrize("model", sorted(MODELS))
def test_per_seed_loop(benchmark: Any, data: list, model: str) -> None:
    PER_SEED.pop(model, None)
    benchmark.pedantic(lambda: _per_seed(model, data), rounds=1, iterations=1)
    cpu, wall, _ = PER_SEED[model]
    benchmark.extra_info.update({"cpu_s_per_seed": cpu, "wall_s_per_seed": wall,
                                 "seeds": N_BASELINE})


@pytest.mark.parametrize("seeds", SEED_COUNTS)
@pytest.mark.parametrize("model", sorted(MODELS))
def test_batched(benchmark: Any, data: list, model: str, seeds: int) -> None:
    per_seed_cpu, per_seed_wall, reference = _per_seed(model, data)
    train_modules(MODELS[model], data[:2], [0, 1], **dict(TRAIN, epochs=1))  # warm-up
    runs: list[Any] = []
    clock: dict[str, float] = {}
    rss_before = _rss_kib("VmRSS")
    exact_peak = _reset_peak() and rss_before is not None
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def timed() -> None:
        c0, t0 = time.process_time(), time.perf_counter()
        runs.append(train_modules(MODELS[model], data[:seeds], list(range(seeds)), **TRAIN))
        clock["cpu"], clock["wall"] = time.process_time() - c0, time.perf_counter() - t0

    benchmark.pedantic(timed, rounds=1, iterations=1)
    if exact_peak:
        peak_mib = ((_rss_kib("VmHWM") or 0) - (rss_before or 0)) / 1024
    else:  # only the growth of the lifetime peak: 0 when an earlier test peaked higher
        peak_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - maxrss_before) / 1024
    run = runs[-1]
    assert run.path == "batched", run.reason
    diff_solo = 0.0
    for k in (0, seeds - 1):  # the first and the last seed, each trained alone
        solo = train_module_solo(MODELS[model], data[k], k, **TRAIN)
        diff_solo = max(diff_solo, max(abs(run.metrics[k][key] - solo[key]) for key in solo))
    diff_plain = max(abs(a[k] - b[k]) for a, b in zip(run.metrics, reference) for k in a
                     if not (math.isnan(a[k]) and math.isnan(b[k])))
    ratio = per_seed_cpu * seeds / clock["cpu"]
    ratio_wall = per_seed_wall * seeds / clock["wall"]
    path = _path(model, data)
    benchmark.extra_info.update({
        "seeds": seeds, "ratio_vs_per_seed": ratio, "ratio_vs_per_seed_wall": ratio_wall,
        "max_abs_diff_vs_solo": diff_solo, "max_abs_diff_vs_plain_loop": diff_plain,
        "peak_mib": peak_mib, "peak_measure": "VmHWM" if exact_peak else "ru_maxrss growth",
        "batched_cpu_s": clock["cpu"], "batched_wall_s": clock["wall"],
        "per_seed_cpu_s_per_seed": per_seed_cpu, "per_seed_baseline": "3 seeds, scaled",
        "path": path, "load_1min": os.getloadavg()[0]})
    print(f"\n{model} ({path}): batched {seeds} seeds {clock['cpu']:.2f} CPU s "
          f"({clock['wall']:.2f} wall), per-seed loop {per_seed_cpu:.3f} CPU s/seed x {seeds} "
          f"= {per_seed_cpu * seeds:.1f} s (3 seeds measured, scaled): ratio {ratio:.1f}x "
          f"(wall {ratio_wall:.1f}x); peak +{peak_mib:.0f} MiB; max |diff| vs solo "
          f"{diff_solo:.2g}, vs plain loop (float32, 430 steps) {diff_plain:.2g}; "
          f"load {os.getloadavg()[0]:.1f}")
