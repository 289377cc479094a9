"""The seed-batched trainer: every seed (and compatible configuration) at once.

Tiny networks trained one seed at a time spend their time in framework overhead. Here
the weights carry a leading row axis (one row per configuration x seed), the forward
and a hand-written backward pass run as batched matmuls, and the optimisers update all
rows with a handful of ``torch._foreach_*`` calls. Every row keeps its own data sample,
shuffle order, dropout masks, initial weights and optimiser state, following the same
random-stream conventions as :func:`atomcheck.models.train`, so the results match the
per-seed trainer (float64: to about 1e-9; a test proves it).

Rows are independent: no reduction crosses rows (global-norm clipping is computed per
row), and a row whose loss turns NaN/inf is retired at that step and removed from the
batch, leaving the other rows' numbers bit-identical to a run without it. On the CPU a
row's numbers are bit-identical whatever else shares its batch (other seeds, other
configurations, or none: a seed alone): matrix products run in MKL's strict reproducible
mode (:mod:`atomcheck.reproducible`; MKL otherwise rounds a row by its memory alignment),
element-wise functions whose kernel rounds a tensor's scalar tail differently are padded
past it (``elementwise``), and whether a row's SGD update is folded into the backward pass
depends only on its own spec (tests/integration/test_batch_independence.py).

On ``device="cuda"`` the same code runs on the GPU (untested here: no GPU in CI). The
per-step divergence check reads one scalar back, which synchronises the GPU once per
step; CUDA-graph capture of a step is not implemented.

The package's parts, top to bottom (each imports only those below it, and
:mod:`atomcheck.models`, :mod:`atomcheck.seeding` and :mod:`atomcheck.errors`):

==============  ============================================================================
``__init__``    the public API: device resolution, what the engine supports, grouping rows
                into batches, the Task entry points and their per-seed fallback
``run``         :class:`~atomcheck.engine.run.BatchedRun`, the run loop: epochs, shuffles,
                dropout masks, divergence (retiring rows), evaluation and records
``native``      the optional C kernel (``_native/mlp_kernel.c``, package data) that runs
                whole SGD epochs in one call
``layers``      the hand-written forward and backward passes (one training step)
``losses``      per-row losses and their gradients
``optimizers``  the element-wise optimisers over row-stacked parameters
``params``      the row-stacked parameters: initial draws in the augmented layout
``rows``        the row axis: runs of consecutive rows that share a setting
==============  ============================================================================

``elementwise`` (beside ``rows``, at the bottom) pads element-wise functions so that a
row's bits do not depend on the batch.

The module path (any ``nn.Module`` factory batched over seeds with ``torch.func``) joins
the package as a part of its own. The per-seed reference trainer stays beside the engine,
in :mod:`atomcheck.models`, which never imports it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from atomcheck.engine.native import native_reason
from atomcheck.engine.run import BatchedRun
from atomcheck.errors import InvalidClaim
from atomcheck.models import MLPSpec, Task, TrainResult, _ensure_torch, check_data, train

if TYPE_CHECKING:  # pragma: no cover
    from atomcheck.data import Dataset

__all__ = ["resolve_device", "supports", "train_batched", "train_batched_configs", "run_task",
           "run_task_configs", "train_task_configs"]

log = logging.getLogger("atomcheck.engine")


def resolve_device(device: str) -> str:
    """Turn ``"cpu"``, ``"cuda"`` (or ``"cuda:N"``) or ``"auto"`` into a usable device.

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    """
    if not isinstance(device, str) or not (device in ("cpu", "auto")
                                           or device.startswith("cuda")):
        raise InvalidClaim(f"device={device!r} is not one of 'cpu', 'cuda', 'cuda:N', 'auto'. "
                           "Pass device='auto' to use a GPU when there is one.")
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidClaim(
            f"device={device!r} was requested but torch.cuda.is_available() is False "
            f"(torch {torch.__version__}, built with CUDA {torch.version.cuda}). "
            "Use device='cpu', or device='auto' to fall back to the CPU.")
    return device


def supports(spec: Any) -> str | None:
    """Return None when the batched engine can train ``spec``, else the reason it cannot.

    Every plain :class:`~atomcheck.models.MLPSpec` is supported (normalisation layers use
    autograd, everything else a hand-written backward pass). Subclasses may change
    behaviour the engine cannot see, so they go through the per-seed trainer.

    Examples
    --------
    >>> supports(MLPSpec(widths=(8,), norm="layer")) is None
    True
    """
    if not isinstance(spec, MLPSpec):
        return f"model is a {type(spec).__name__}, not an MLPSpec"
    if type(spec) is not MLPSpec:
        return (f"model is a subclass of MLPSpec ({type(spec).__name__}) whose behaviour the "
                "batched engine cannot know")
    return None


def _data_shape(data: Dataset) -> tuple[Any, ...]:
    return (data.n_classes, np.shape(data.x_train), np.shape(data.y_train),
            np.shape(data.x_test), np.shape(data.y_test))


def _structure(spec: MLPSpec, data: Dataset) -> tuple[Any, ...]:
    """Rows with equal structure can share one batch."""
    return (spec.widths, spec.norm, spec.residual, spec.shared_hidden, spec.dtype,
            min(spec.batch_size, len(data.x_train)), spec.epochs, *_data_shape(data))


def _order_key(spec: MLPSpec) -> tuple[Any, ...]:
    """Sort rows so equal activations, losses and optimiser settings are contiguous."""
    return (spec.activation, spec.loss, spec.optimizer, spec.lr, spec.momentum,
            str(spec.lr_schedule), spec.l1, spec.l2, spec.weight_decay,
            spec.clip_norm if spec.clip_norm is not None else -1.0, spec.grad_norms)


def _train_batched_iv(specs: Sequence[MLPSpec], datasets: Sequence[Any], seeds: Sequence[int]
                      ) -> list[list[Dataset]]:
    if len(specs) < 1:
        raise InvalidClaim("specs=[] is empty. Pass at least one MLPSpec.")
    for spec in specs:
        reason = supports(spec)
        if reason is not None:
            raise InvalidClaim(f"the batched engine cannot train {spec!r}: {reason}. Use "
                               "atomcheck.models.train per seed, or engine.run_task.")
    seeds = list(seeds)
    if not seeds:
        raise InvalidClaim("seeds=[] is empty. Pass at least one seed.")
    nested = len(datasets) > 0 and isinstance(datasets[0], (list, tuple))
    per_config = [list(d) for d in datasets] if nested else [list(datasets)] * len(specs)
    if len(per_config) != len(specs):
        raise InvalidClaim(f"datasets has {len(per_config)} per-config lists for "
                           f"{len(specs)} specs. Pass one list of datasets per spec, or one "
                           "shared list.")
    for ds in per_config:
        if len(ds) != len(seeds):
            raise InvalidClaim(f"got {len(ds)} datasets for {len(seeds)} seeds. Pass one "
                               "dataset per seed (e.g. data(seed=s) for s in seeds).")
    for spec, ds in zip(specs, per_config):
        for d in ds:
            check_data(spec, d)
    return per_config


def train_batched_configs(specs: Sequence[MLPSpec], datasets: Sequence[Any],
                          seeds: Sequence[int], *, device: str = "cpu"
                          ) -> list[list[TrainResult]]:
    """Train every (spec, seed) pair, batching all rows that share a step schedule.

    Parameters
    ----------
    specs : sequence of MLPSpec
        The configurations. Rows whose specs share widths, norm, residual, weight
        sharing, dtype, batch size and epochs (and whose data shapes agree) train in
        one batch, even when activation, init, loss, optimiser or penalties differ.
    datasets : sequence of Dataset, or sequence of sequences
        One dataset per seed, shared by all specs, or one list per spec.
    seeds : sequence of int
    device : str
        ``"cpu"``, ``"cuda"`` or ``"auto"``.

    Returns
    -------
    list of list of TrainResult
        ``results[c][i]`` is spec ``c`` trained with seed ``seeds[i]``.

    Examples
    --------
    >>> from atomcheck.data import gaussian_mixture
    >>> data = [gaussian_mixture(seed=s, n_train=40, n_test=20) for s in (0, 1)]
    >>> specs = [MLPSpec(widths=(8,), epochs=2, loss=l) for l in ("mse", "hinge")]
    >>> [len(r) for r in train_batched_configs(specs, data, [0, 1])]
    [2, 2]
    """
    per_config = _train_batched_iv(specs, datasets, seeds)
    dev = resolve_device(device)
    _ensure_torch()
    rows = [(c, i) for c in range(len(specs)) for i in range(len(seeds))]
    # Rows the native kernel can run are kept apart from those it cannot: one torch-only
    # row would otherwise send the whole batch down the slower torch path.
    native = [native_reason([spec], dev) is None for spec in specs]
    groups: dict[tuple[Any, ...], list[tuple[int, int]]] = {}
    for c, i in rows:
        key = (*_structure(specs[c], per_config[c][i]), native[c])
        groups.setdefault(key, []).append((c, i))
    results: list[list[Any]] = [[None] * len(seeds) for _ in specs]
    for members in groups.values():
        members.sort(key=lambda ci: _order_key(specs[ci[0]]))
        run = BatchedRun([specs[c] for c, _ in members], [per_config[c][i] for c, i in members],
                         [seeds[i] for _, i in members], dev)
        for (c, i), result in zip(members, run.run()):
            results[c][i] = result
    return results


def train_batched(spec: MLPSpec, datasets: Sequence[Dataset], seeds: Sequence[int], *,
                  device: str = "cpu") -> list[TrainResult]:
    """Train ``spec`` once per seed, all seeds at once; same results as :func:`train`.

    Parameters
    ----------
    spec : MLPSpec
    datasets : sequence of Dataset
        One per seed (the same shapes), e.g. ``[data(seed=s) for s in seeds]``.
    seeds : sequence of int
    device : str
        ``"cpu"``, ``"cuda"`` or ``"auto"``.

    Returns
    -------
    list of TrainResult
        One per seed, in order. A diverged seed has NaN metrics; the others are unaffected.

    Examples
    --------
    >>> from atomcheck.data import gaussian_mixture
    >>> data = [gaussian_mixture(seed=s, n_train=40, n_test=20) for s in range(3)]
    >>> rs = train_batched(MLPSpec(widths=(8,), epochs=2), data, [0, 1, 2])
    >>> len(rs), rs[0].weights[0].shape
    (3, (12, 8))
    """
    return train_batched_configs([spec], list(datasets), seeds, device=device)[0]


def _same_shapes(datasets: Sequence[Dataset]) -> str | None:
    shapes = {_data_shape(d) for d in datasets}
    if len(shapes) > 1:
        return "the seeds' datasets differ in shape, so they cannot share one batch"
    return None


def run_task(task: Task, seeds: Sequence[int], config: Mapping[str, Any], *,
             device: str = "cpu") -> list[dict[str, float]]:
    """Train ``task`` under ``config`` for every seed; the sweep's batched entry point.

    Falls back to the per-seed trainer (logging why on ``atomcheck.engine``) when the
    engine cannot express the task. Never raises on divergence: a diverged seed's metrics
    are NaN with ``diverged`` = 1.0, exactly as ``task(seed, **config)`` returns them.

    Examples
    --------
    >>> from atomcheck.data import gaussian_mixture
    >>> task = Task(gaussian_mixture, MLPSpec(widths=(8,), epochs=2), data_args={"n_train": 40})
    >>> [sorted(m)[0] for m in run_task(task, [0, 1], {"lr": 0.1})]
    ['diverged', 'diverged']
    """
    if not isinstance(task, Task):
        raise InvalidClaim(f"run_task needs an atomcheck.models.Task, got "
                           f"{type(task).__name__}. Call the function per seed instead.")
    return run_task_configs(task, seeds, [config], device=device)[0]


def train_task_configs(task: Task, seeds: Sequence[int], configs: Sequence[Mapping[str, Any]],
                       *, device: str = "cpu") -> list[list[TrainResult]]:
    """Train ``task`` under every config for every seed, batching configs that share a
    step schedule (the losses, inits or activations of one claim) into one run.

    Configurations the engine cannot express train per seed (logged on
    ``atomcheck.engine``). ``results[c][i]`` is ``configs[c]`` trained with ``seeds[i]``.

    Examples
    --------
    >>> from atomcheck.data import gaussian_mixture
    >>> task = Task(gaussian_mixture, MLPSpec(widths=(8,), epochs=2), data_args={"n_train": 40})
    >>> out = train_task_configs(task, [0, 1], [{"loss": "mse"}, {"loss": "hinge"}])
    >>> [len(r) for r in out]
    [2, 2]
    """
    if not isinstance(task, Task):
        raise InvalidClaim(f"train_task_configs needs an atomcheck.models.Task, got "
                           f"{type(task).__name__}.")
    seeds = [int(s) for s in seeds]
    dev = resolve_device(device)
    results: list[list[TrainResult] | None] = [None] * len(configs)
    batch: list[tuple[int, MLPSpec, list[Dataset]]] = []
    for c, config in enumerate(configs):
        spec = task.split_config(config)[1]
        datasets = [task.dataset(s, config) for s in seeds]
        reason = supports(spec) or _same_shapes(datasets)
        if reason is not None:
            log.info("task %r, config %s: per-seed path because %s", task.name, dict(config),
                     reason)
            results[c] = [train(spec, d, seed=s, device=dev) for s, d in zip(seeds, datasets)]
        else:
            batch.append((c, spec, datasets))
    if batch:
        trained = train_batched_configs([spec for _, spec, _ in batch],
                                        [ds for _, _, ds in batch], seeds, device=dev)
        for (c, _, _), runs in zip(batch, trained):
            results[c] = runs
    return [r for r in results if r is not None]


def run_task_configs(task: Task, seeds: Sequence[int], configs: Sequence[Mapping[str, Any]], *,
                     device: str = "cpu") -> list[list[dict[str, float]]]:
    """:func:`train_task_configs`, as metric dicts (what ``task(seed, **config)`` returns).

    Examples
    --------
    >>> from atomcheck.data import gaussian_mixture
    >>> task = Task(gaussian_mixture, MLPSpec(widths=(8,), epochs=2), data_args={"n_train": 40})
    >>> out = run_task_configs(task, [0, 1], [{"loss": "mse"}, {"loss": "hinge"}])
    >>> sorted(out[1][0])[:2]
    ['diverged', 'test_accuracy']
    """
    return [[task.result_metrics(r) for r in runs]
            for runs in train_task_configs(task, seeds, configs, device=device)]
