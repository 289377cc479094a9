"""Seed-batched ``nn.Module`` training against the per-seed loop, on scikit-learn's digits.

Three reference models (a small CNN with pooling, an MLP with BatchNorm, a residual MLP with
dropout), each trained with SGD lr=0.05, batch 32, 10 epochs on the full digits split.

* ``per_seed``: the plain per-seed loop (``module_task``'s body: the module called
  directly, ``torch.optim.SGD``), 3 seeds one after another; a loop over seeds costs
  linearly, so the baseline for 30 seeds is the measured cost per seed times 30.
* ``batched``: :func:`atomcheck.engine.modules.train_modules` over 30 seeds at once
  (``vmap`` + ``functional_call``), after a warm-up run (torch.func's first call).

Each batched benchmark records ``ratio_vs_per_seed``, ``max_abs_diff_vs_solo`` (seed 0 of
the batched run against seed 0 trained alone on the same path: 0 in float64, float32
rounding here) and ``max_abs_diff_vs_plain_loop`` (seeds 0-2 against the plain loop, whose
matmuls round differently; float32 rounding amplified over 430 steps) in its
``extra_info``. Run: ``pytest benchmarks/test_module_speed.py --benchmark-only -s``.
"""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

from atomcheck.data import digits
from atomcheck.models import configure_torch

torch = pytest.importorskip("torch")
nn = torch.nn

from atomcheck.engine.modules import train_module_solo, train_modules  # noqa: E402
from reference_modules import reference_models  # noqa: E402

N_SEEDS, N_BASELINE = 30, 3
TRAIN = {"batch_size": 32, "epochs": 10, "lr": 0.05, "optimizer": "sgd"}


#: The reference modules at hidden width 32, dropout 0.2.
MODELS = reference_models(width=32, p=0.2)
PER_SEED: dict[str, tuple[float, list[dict[str, float]]]] = {}


@pytest.fixture(scope="module")
def data() -> list:
    configure_torch(1)
    return [digits(seed=s) for s in range(N_SEEDS)]


def _per_seed(model: str, data: list) -> tuple[float, list[dict[str, float]]]:
    if model not in PER_SEED:
        train_module_solo(MODELS[model], data[0], 0, reference=True, **dict(TRAIN, epochs=1))
        t0 = time.perf_counter()
        out = [train_module_solo(MODELS[model], data[s], s, reference=True, **TRAIN)
               for s in range(N_BASELINE)]
        PER_SEED[model] = ((time.perf_counter() - t0) / N_BASELINE, out)
    return PER_SEED[model]


@pytest.mark.parametrize("model", sorted(MODELS))
def test_per_seed_loop(benchmark: Any, data: list, model: str) -> None:
    PER_SEED.pop(model, None)
    benchmark.pedantic(lambda: _per_seed(model, data), rounds=1, iterations=1)
    benchmark.extra_info.update({"seconds_per_seed": PER_SEED[model][0],
                                 "seeds": N_BASELINE})


@pytest.mark.parametrize("model", sorted(MODELS))
def test_batched(benchmark: Any, data: list, model: str) -> None:
    per_seed_cost, reference = _per_seed(model, data)
    train_modules(MODELS[model], data[:2], [0, 1], **dict(TRAIN, epochs=1))  # warm-up
    runs: list[Any] = []

    def timed() -> None:
        runs.append(train_modules(MODELS[model], data, list(range(N_SEEDS)), **TRAIN))

    t0 = time.perf_counter()
    benchmark.pedantic(timed, rounds=1, iterations=1)
    wall = time.perf_counter() - t0
    run = runs[-1]
    assert run.path == "batched", run.reason
    solo = train_module_solo(MODELS[model], data[0], 0, **TRAIN)  # seed 0 alone, same path
    diff_solo = max(abs(run.metrics[0][k] - solo[k]) for k in solo)
    diff_plain = max(abs(a[k] - b[k]) for a, b in zip(run.metrics, reference) for k in a
                     if not (math.isnan(a[k]) and math.isnan(b[k])))
    ratio = per_seed_cost * N_SEEDS / wall
    benchmark.extra_info.update({"seeds": N_SEEDS, "ratio_vs_per_seed": ratio,
                                 "max_abs_diff_vs_solo": diff_solo,
                                 "max_abs_diff_vs_plain_loop": diff_plain, "batched_s": wall,
                                 "per_seed_s_per_seed": per_seed_cost})
    print(f"\n{model}: batched {N_SEEDS} seeds {wall:.2f}s, per-seed loop "
          f"{per_seed_cost * N_SEEDS:.2f}s (est.), ratio {ratio:.1f}x, max |diff| vs solo "
          f"{diff_solo:.2g}, vs plain loop (float32, 430 steps) {diff_plain:.2g}")
