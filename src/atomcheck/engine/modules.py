"""Seed-batched training of any ``nn.Module`` factory with ``torch.func``.

One model per seed is built by the user's factory exactly as the per-seed path builds it
(under torch's global RNG seeded from ``derive_seed(seed, "init")`` inside
``torch.random.fork_rng``); the parameters and buffers of all seeds are stacked
(``torch.func.stack_module_state``) and one ``functional_call`` under ``vmap`` runs every
seed's forward at once. Gradients come from autograd on the sum of the per-seed losses
(each seed's parameters receive exactly the gradient of that seed's own loss), and an
element-wise ``torch.optim`` optimiser steps the stacked tensors, so each element of the
stacked state moves exactly as it would alone.

Randomness is owned by the library and drawn the same way in both paths:

* initialisation: the factory under ``torch.manual_seed(derive_seed(seed, "init"))``;
* data order: ``rng(seed, "shuffle").permutation(n)`` once per epoch;
* dropout: every ``nn.Dropout`` is replaced by :class:`SeedDropout`, whose masks come from
  a ``torch.Generator`` seeded with ``derive_seed(seed, "dropout")``, drawn per call in
  forward order; on the batched path they are drawn outside ``vmap`` (at the shapes a
  probe forward recorded) and passed in as vmapped inputs.

``hold=`` (sources of :data:`atomcheck.seeding.SOURCES`) gives every seed the same stream
for the held sources (:func:`atomcheck.seeding.stream_seed`): ``"init"`` the factory's seed,
``"order"`` the shuffle, ``"dropout"`` the masks (and torch's global RNG on the plain
loop, which other stochastic layers draw from); ``"data"`` is honoured where the datasets
are built (``module_task``), since these functions receive them.

Seed *k* batched equals seed *k* alone by construction: :func:`train_module_solo` runs the
same code with a seed axis of one, and every kernel treats each seed's slice alike whatever
the number of seeds, bit for bit in float32 and float64: matrix products in MKL's strict
reproducible mode (:mod:`atomcheck.reproducible`), and the element-wise functions whose
torch kernel rounds a tensor's scalar tail differently (sigmoid, ELU, GELU, SiLU...) padded
past it (:mod:`atomcheck.engine.elementwise`: in the packed forward, and under
``tail_free_mode`` around a ``vmap`` forward). One intra-op thread is assumed.
Evaluation calls each seed's slice without ``vmap`` (the same call in both). A
``module_task``'s own call ``fn(seed)`` is that solo path too, so it gives what seed *k*
gives in a batched sweep. The plain loop (``train_module_solo(..., reference=True)``, the
module called directly; also the per-seed fallback) agrees to rounding: a matmul and a
batched matmul sum in different orders.

A plain ``nn.Sequential`` of known layers (Linear, Conv2d, pooling, BatchNorm1d, Flatten/
Unflatten, element-wise activations, dropout) skips ``vmap``: :mod:`atomcheck.engine.packed`
runs a hand-packed forward on the stacked parameters (convolutions as im2col plus one
batched matmul over seeds), measured faster; every other module runs under ``vmap``.

Buffers (BatchNorm running statistics, ``num_batches_tracked``, or any buffer a module
updates in place or by reassignment) are returned from the vmapped call and stored per seed.

Training tools act per seed: ``clip_norm`` clips each seed's gradient by its own global
norm (as ``clip_grad_norm_`` on that seed's model; never a norm across seeds),
``clip_value`` clamps element-wise, ``lr_schedule`` sets the shared lr per epoch,
``early_stopping`` retires a seed (held at the parameters and buffers it stopped with) when
its training loss stalls, ``lr_plateau`` cuts a seed's own learning rate when its training
loss or held-out accuracy stalls (each seed's update scaled by its factor: exactly a
per-seed lr, since torch's element-wise optimisers keep state that does not depend on lr),
and ``return_state``/``resume`` with :func:`save_checkpoint` and :func:`load_checkpoint`
carry the batched state (with or without optimiser state) across runs. All are equal to
each seed alone (tests/integration/test_module_toolbox.py, test_module_lr_plateau.py).

What cannot be batched is detected before training (recurrent layers, other dropout
kinds, optimisers not known to be element-wise, modules or datasets whose shapes differ
between seeds) or on the first step (``vmap`` raises on ``.item()``, data-dependent
control flow, in-place writes into fresh tensors and global-RNG calls; a forward that
changes Python-side attributes of a module is caught by comparing them around the step).
Those runs train per seed on the plain loop, and the reason is logged on the
``atomcheck.engine`` logger (shown under ``-v``) and returned in :class:`ModuleRun`.
A batched run never returns a result that mixes seeds: any failure restarts every seed
from scratch on the per-seed path.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from atomcheck.engine.elementwise import tail_free_mode
from atomcheck.engine.packed import packed_plan
from atomcheck.errors import InvalidClaim
from atomcheck.seeding import check_hold, derive_seed, rng, stream_seed

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from atomcheck.data import Dataset

__all__ = ["ModuleRun", "SeedDropout", "train_modules", "train_modules_batched",
           "train_module_solo", "batching_obstacle", "run_module_task", "OPTIMIZER_NAMES",
           "save_checkpoint", "load_checkpoint", "TOOL_NAMES"]

log = logging.getLogger("atomcheck.engine")

#: Optimiser names (module_task's, plus adamw); all are element-wise.
OPTIMIZER_NAMES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")
_LOSSES = ("cross_entropy", "mse", "abs", "hinge", "fourth_power", "constant")
_REGRESSION_LOSSES = ("mse", "abs", "fourth_power", "constant")
# torch.optim classes whose update of each element depends only on that element's own
# parameter, gradient and state (plus scalar step counts and hyper-parameters).
_ELEMENTWISE = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam",
                "Rprop", "ASGD")
#: Training-tool keywords of :func:`train_modules` (beyond ``module_task``'s arguments).
TOOL_NAMES = ("clip_norm", "clip_value", "lr_schedule", "lr_step", "lr_gamma", "early_stopping",
              "lr_plateau", "lr_plateau_factor", "lr_plateau_min", "lr_plateau_monitor")
#: What ``lr_plateau`` watches: each seed's epoch training loss, or its held-out accuracy.
_MONITORS = ("train_loss", "test_accuracy")
_OTHER_DROPOUT = ("Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout")


@dataclass
class ModuleRun:
    """What :func:`train_modules` did.

    Attributes
    ----------
    metrics : list of dict
        One metric dict per seed, in the order of ``seeds`` (the keys of ``module_task``:
        train/test loss and accuracy, test balanced accuracy or the regression MSEs,
        plus ``diverged``).
    path : {"batched", "per-seed"}
    reason : str or None
        Why the per-seed path was taken (None when batched).
    wall_s : float
    state : dict or None
        The batched run state at the end (``return_state=True``): pass it to
        :func:`save_checkpoint`, or as ``resume=`` to continue training.
    """

    metrics: list[dict[str, float]]
    path: str
    reason: str | None = None
    wall_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] | None = None


# --------------------------------------------------------------------------- randomness


class _MaskSource:
    """Where :class:`SeedDropout` gets its masks.

    Solo: one generator, masks drawn on call. Batched: the masks of all seeds are drawn
    outside ``vmap`` (each seed's generator, in forward-call order, at the shapes a probe
    forward recorded) and handed in as vmapped inputs; ``queue`` holds them during a call.
    Recording: a probe forward notes each dropout input shape and leaves ``x`` as is.
    """

    def __init__(self, generators: list[Any]) -> None:
        self.generators = generators
        self.queue: list[Any] | None = None
        self.recorded: list[tuple[tuple[int, ...], float]] | None = None

    @staticmethod
    def scale(u: torch.Tensor, p: float, dtype: Any, device: Any) -> torch.Tensor:
        """Inverted-dropout noise from uniforms ``u`` (element-wise, any leading axes)."""
        noise = (u >= p).to(dtype).mul_(1.0 / (1.0 - p))
        return noise if noise.device == device else noise.to(device)

    def draw(self, gen: Any, shape: Sequence[int], p: float, dtype: Any, device: Any) -> Any:
        import torch

        return self.scale(torch.rand(tuple(shape), generator=gen), p, dtype, device)

    def draw_all(self, shape: Sequence[int], p: float, dtype: Any, device: Any) -> Any:
        """Each generator's draw of ``shape``, stacked (seed axis first)."""
        import torch

        u = torch.empty((len(self.generators), *shape))
        for k, gen in enumerate(self.generators):
            torch.rand(tuple(shape), generator=gen, out=u[k])
        return self.scale(u, p, dtype, device)

    def noise(self, x: torch.Tensor, p: float) -> torch.Tensor | None:
        if self.recorded is not None:
            self.recorded.append((tuple(x.shape), p))
            return None
        if self.queue is not None:
            if not self.queue:
                raise RuntimeError("SeedDropout: more dropout calls than the probe recorded")
            mask = self.queue.pop(0)
            if tuple(mask.shape) != tuple(x.shape):
                raise RuntimeError("SeedDropout: dropout input shape differs from the probe's")
            return mask
        if len(self.generators) != 1:
            raise RuntimeError("SeedDropout: a batched mask source was used without masks.")
        return self.draw(self.generators[0], x.shape, p, x.dtype, x.device)


def _make_seed_dropout() -> type:
    import torch

    class SeedDropout(torch.nn.Module):
        """``nn.Dropout`` with masks from the library's per-seed stream (inverted dropout)."""

        def __init__(self, p: float = 0.5) -> None:
            super().__init__()
            if not 0.0 <= p < 1.0:
                raise InvalidClaim(f"SeedDropout: p={p!r} must lie in [0, 1).")
            self.p = float(p)
            self.source: _MaskSource | None = None

        def extra_repr(self) -> str:
            return f"p={self.p}"

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if not self.training or self.p == 0.0:
                return x
            if self.source is None:
                raise RuntimeError("SeedDropout has no mask source; train it through "
                                   "atomcheck (train_module_solo / train_modules).")
            noise = self.source.noise(x, self.p)
            return x if noise is None else x * noise

    return SeedDropout


_SEED_DROPOUT: type | None = None


def SeedDropout(p: float = 0.5) -> Any:  # noqa: N802  (a class built lazily: torch is lazy)
    """Build a :class:`SeedDropout` module (torch is imported on first use)."""
    global _SEED_DROPOUT
    if _SEED_DROPOUT is None:
        _SEED_DROPOUT = _make_seed_dropout()
    return _SEED_DROPOUT(p)


def _is_seed_dropout(m: Any) -> bool:
    return _SEED_DROPOUT is not None and isinstance(m, _SEED_DROPOUT)


def _replace_dropout(module: Any) -> Any:
    """Swap every plain ``nn.Dropout`` in ``module`` for a :class:`SeedDropout`."""
    import torch

    if type(module) is torch.nn.Dropout:
        return SeedDropout(module.p)
    for name, child in list(module.named_children()):
        new = _replace_dropout(child)
        if new is not child:
            setattr(module, name, new)
    return module


def _attach_source(module: Any, source: _MaskSource) -> None:
    for m in module.modules():
        if _is_seed_dropout(m):
            m.source = source


def _mask_generator(seed: int) -> Any:
    import torch

    return torch.Generator().manual_seed(derive_seed(seed, "dropout"))


# --------------------------------------------------------------------------- building


def _configure() -> None:
    from atomcheck.models import _ensure_torch

    _ensure_torch()


def _torch_dtype(dtype: Any) -> Any:
    import torch

    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    table = {"float32": torch.float32, "float64": torch.float64}
    if dtype not in table:
        raise InvalidClaim(f"dtype={dtype!r} is not one of {sorted(table)} or a torch dtype.")
    return table[dtype]


def _output_size(ds: Dataset) -> int:
    return int(ds.n_classes) if ds.n_classes else int(
        np.asarray(ds.y_train).reshape(len(ds.y_train), -1).shape[1])


def _factory_params(factory: Callable[..., Any]) -> tuple[set[str], bool]:
    import inspect

    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return set(), True
    names = {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    return names, any(p.kind is p.VAR_KEYWORD for p in params)


def build_module(factory: Callable[..., Any], ds: Dataset, seed: int,
                 factory_kwargs: Mapping[str, Any] | None = None, dtype: Any = None) -> Any:
    """Build seed ``seed``'s module as ``module_task`` does, with dropout made per-seed.

    The factory runs under ``torch.manual_seed(derive_seed(seed, "init"))`` inside
    ``fork_rng`` and gets ``n_features``/``n_classes``/``seed`` if it names them. ``seed``
    is the init stream's (:func:`atomcheck.seeding.stream_seed`): the training functions
    pass the held seed when ``hold`` names ``"init"``.
    """
    import torch

    names, varkw = _factory_params(factory)
    auto = {"n_features": ds.n_features, "n_classes": _output_size(ds), "seed": seed}
    fkw = {k: v for k, v in auto.items() if k in names} | dict(factory_kwargs or {})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, "init"))
        module = factory(**fkw)
    if not isinstance(module, torch.nn.Module):
        raise InvalidClaim(f"module_task: the factory returned {type(module).__name__}, "
                           "not a torch.nn.Module. Return e.g. nn.Sequential(...).")
    dt = _torch_dtype(dtype)
    if dt is not None:
        module = module.to(dt)
    return _replace_dropout(module)


def _module_dtype(module: Any) -> Any:
    import torch

    p = next(module.parameters(), None)
    return p.dtype if p is not None else torch.float32


def _data_tensors(ds: Dataset, dtype: Any, device: Any) -> tuple[Any, Any, Any, Any]:
    import torch

    def ys(y: np.ndarray) -> torch.Tensor:
        if ds.n_classes:
            return torch.as_tensor(np.asarray(y, dtype=np.int64), device=device)
        return torch.as_tensor(np.asarray(y).reshape(len(y), -1), dtype=dtype, device=device)

    def xs(x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x), device=device).to(dtype)

    return xs(ds.x_train), ys(ds.y_train), xs(ds.x_test), ys(ds.y_test)


def _check(ds: Dataset, loss: str) -> None:
    if loss not in _LOSSES:
        raise InvalidClaim(f"loss={loss!r} is not one of {list(_LOSSES)}.")
    if len(ds.x_train) < 1 or len(ds.x_test) < 1:
        raise InvalidClaim(f"data has {len(ds.x_train)} training and {len(ds.x_test)} test "
                           "samples; both splits need at least one sample.")
    if ds.n_classes == 0 and loss not in _REGRESSION_LOSSES:
        raise InvalidClaim(f"loss={loss!r} needs class labels, but the dataset is a regression "
                           f"task (n_classes=0). Use one of {list(_REGRESSION_LOSSES)}.")
    if ds.n_classes == 1:
        raise InvalidClaim("data.n_classes=1 cannot be trained: classification needs >= 2 "
                           "classes. Use n_classes=0 for regression.")


# --------------------------------------------------------------------------- loss, metrics


def _loss(name: str, out: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Mean loss: the per-seed reference trainer's, so both paths optimise the same thing."""
    from atomcheck.models import reference_loss

    return reference_loss(name, out, y, n_classes)


def _evaluate(loss: str, n_classes: int, out: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    value = float(_loss(loss, out, y, n_classes))
    if n_classes:
        pred, yy = out.argmax(-1).cpu().numpy(), y.cpu().numpy()
        recalls = [float(np.mean(pred[yy == c] == c)) for c in range(n_classes) if np.any(yy == c)]
        return {"loss": value, "accuracy": float(np.mean(pred == yy)),
                "balanced_accuracy": float(np.mean(recalls)) if recalls else math.nan}
    return {"loss": value, "mse": float(((out - y) ** 2).mean())}


def _accuracy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Share of rows whose arg-max is the label, as a float64 scalar tensor."""
    import torch

    return (out.argmax(-1) == y).to(torch.float64).mean()


def _metric_names(n_classes: int) -> tuple[str, ...]:
    if n_classes:
        return ("train_loss", "train_accuracy", "test_loss", "test_accuracy",
                "test_balanced_accuracy")
    return ("train_loss", "test_loss", "train_mse", "test_mse")


def _finish(n_classes: int, tr: dict[str, float], te: dict[str, float], diverged: bool
            ) -> dict[str, float]:
    both = {f"train_{k}": v for k, v in tr.items()} | {f"test_{k}": v for k, v in te.items()}
    metrics = {k: both[k] for k in _metric_names(n_classes)}
    if diverged or not all(math.isfinite(v) for v in metrics.values()):
        return {k: math.nan for k in metrics} | {"diverged": 1.0}
    return metrics | {"diverged": 0.0}


# --------------------------------------------------------------------------- optimisers


def _optimizer_factory(optimizer: Any, lr: float, momentum: float) -> Callable[[list[Any]], Any]:
    """``params -> torch.optim.Optimizer`` for a name, an Optimizer class or a callable."""
    import torch

    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZER_NAMES:
            raise InvalidClaim(f"optimizer={optimizer!r} is not one of {list(OPTIMIZER_NAMES)}; "
                               "or pass a torch.optim.Optimizer class.")
        name = optimizer

        def build(params: list[Any]) -> Any:
            if name in ("sgd", "momentum", "nesterov"):
                m = 0.0 if name == "sgd" else momentum
                return torch.optim.SGD(params, lr=lr, momentum=m, nesterov=name == "nesterov")
            if name == "adagrad":
                return torch.optim.Adagrad(params, lr=lr, eps=1e-10)
            if name == "rmsprop":
                return torch.optim.RMSprop(params, lr=lr, alpha=0.99, eps=1e-8)
            if name == "adamw":
                return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), eps=1e-8)
            return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8)

        return build
    if isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer):
        cls: Any = optimizer
        return lambda params: cls(params, lr=lr)
    if callable(optimizer):
        return optimizer
    raise InvalidClaim(f"optimizer={optimizer!r} must be a name in {list(OPTIMIZER_NAMES)}, a "
                       "torch.optim.Optimizer class, or a callable params -> optimizer.")


def _optimizer_obstacle(opt: Any) -> str | None:
    if type(opt).__name__ not in _ELEMENTWISE or type(opt).__module__.split(".")[:2] != [
            "torch", "optim"]:
        return (f"optimizer {type(opt).__name__} is not known to be element-wise (batched "
                f"training supports {', '.join(_ELEMENTWISE)})")
    for group in opt.param_groups:
        if group.get("fused"):
            return "fused optimiser kernels are not used on the batched path"
    return None


def _needs_closure(opt: Any) -> bool:
    return type(opt).__name__ == "LBFGS"


# --------------------------------------------------------------------------- toolbox

_SCHEDULES = ("step", "exponential", "cosine")


@dataclass(frozen=True)
class _Tools:
    """Per-seed training tools (gradient clipping, lr schedule, early stopping).

    Every tool acts on each seed's own tensors (or on a factor that all seeds of one config
    share), so seed *k* batched equals seed *k* alone.
    """

    clip_norm: float | None = None
    clip_value: float | None = None
    lr_schedule: Any = None
    lr_step: int = 10
    lr_gamma: float = 0.1
    early_stopping: int | None = None
    lr_plateau: int | None = None
    lr_plateau_factor: float = 0.5
    lr_plateau_min: float = 1.0 / 1024
    lr_plateau_monitor: str = "train_loss"

    def __post_init__(self) -> None:
        for name in ("clip_norm", "clip_value"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, float)) and v > 0):
                raise InvalidClaim(f"{name}={v!r} must be a positive number or None.")
        s = self.lr_schedule
        if s is not None and not callable(s) and s not in _SCHEDULES:
            raise InvalidClaim(f"lr_schedule={s!r} is not None, one of {list(_SCHEDULES)} or "
                               "a callable epoch -> factor.")
        if not (isinstance(self.lr_step, int) and self.lr_step >= 1):
            raise InvalidClaim(f"lr_step={self.lr_step!r} must be an int >= 1.")
        if not self.lr_gamma > 0:
            raise InvalidClaim(f"lr_gamma={self.lr_gamma!r} must be > 0.")
        p = self.early_stopping
        if p is not None and not (isinstance(p, int) and not isinstance(p, bool) and p >= 1):
            raise InvalidClaim(f"early_stopping={p!r} must be a patience (int >= 1) or None.")
        q = self.lr_plateau
        if q is not None and not (isinstance(q, int) and not isinstance(q, bool) and q >= 1):
            raise InvalidClaim(f"lr_plateau={q!r} must be a patience (int >= 1) or None.")
        if not 0 < self.lr_plateau_factor < 1:
            raise InvalidClaim(f"lr_plateau_factor={self.lr_plateau_factor!r} must lie in "
                               "(0, 1), e.g. 0.5 (halve) or 0.1.")
        if not 0 < self.lr_plateau_min <= 1:
            raise InvalidClaim(f"lr_plateau_min={self.lr_plateau_min!r} must lie in (0, 1].")
        if self.lr_plateau_monitor not in _MONITORS:
            raise InvalidClaim(f"lr_plateau_monitor={self.lr_plateau_monitor!r} is not one of "
                               f"{list(_MONITORS)}.")

    def lr_factor(self, epoch: int, epochs: int) -> float:
        """The factor on the base learning rate during epoch ``epoch`` (0-based)."""
        s = self.lr_schedule
        if s is None:
            return 1.0
        if s == "step":
            return float(self.lr_gamma ** (epoch // self.lr_step))
        if s == "exponential":
            return float(self.lr_gamma ** epoch)
        if s == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * epoch / max(epochs, 1)))
        return float(s(epoch))


def _set_lr(opt: Any, base_lrs: Sequence[float], factor: float) -> None:
    for group, base in zip(opt.param_groups, base_lrs):
        group["lr"] = base * factor


def _clip_stacked(grads: Sequence[Any], tools: _Tools) -> None:
    """Clip the gradients of stacked parameters (seed axis first) per seed.

    ``clip_norm``: each seed's global 2-norm over all its own parameters, scaled as
    ``torch.nn.utils.clip_grad_norm_`` scales one model (``max_norm / (norm + 1e-6)``,
    at most 1); never a norm across seeds. ``clip_value``: element-wise clamp.
    """
    import torch

    grads = [g for g in grads if g is not None]
    if not grads:
        return
    if tools.clip_norm is not None:
        S = grads[0].shape[0]
        norms = torch.stack([torch.linalg.vector_norm(g.reshape(S, -1), 2, dim=1)
                             for g in grads], dim=1)
        total = torch.linalg.vector_norm(norms, 2, dim=1)
        coef = torch.clamp(tools.clip_norm / (total + 1e-6), max=1.0)
        for g in grads:
            g.mul_(coef.reshape(S, *([1] * (g.dim() - 1))).to(g.dtype))
    if tools.clip_value is not None:
        for g in grads:
            g.clamp_(-tools.clip_value, tools.clip_value)


class _EarlyStop:
    """Patience on each seed's training loss (the mean of its epoch's mini-batch losses).

    A seed whose loss has not fallen below its best for ``patience`` epochs stops; its
    ``stopped_epoch`` is the number of epochs it trained (``epochs`` if it never stopped).
    """

    def __init__(self, patience: int | None, S: int, epochs: int, device: Any) -> None:
        import torch

        self.patience = patience
        self.best = torch.full((S,), math.inf, dtype=torch.float64, device=device)
        self.wait = torch.zeros(S, dtype=torch.int64, device=device)
        self.stopped = torch.zeros(S, dtype=torch.bool, device=device)
        self.stopped_epoch = torch.full((S,), epochs, dtype=torch.int64, device=device)

    def update(self, epoch_mean: Any, epoch: int, alive: Any) -> Any:
        """Update after epoch ``epoch`` (0-based); return the mask of rows stopped now."""
        import torch

        if self.patience is None:
            return torch.zeros_like(self.stopped)
        active = alive & ~self.stopped
        better = active & (epoch_mean.to(torch.float64) < self.best)
        self.best = torch.where(better, epoch_mean.to(torch.float64), self.best)
        self.wait = torch.where(better, torch.zeros_like(self.wait),
                                torch.where(active, self.wait + 1, self.wait))
        now = active & (self.wait >= self.patience)
        self.stopped |= now
        self.stopped_epoch = torch.where(now, torch.full_like(self.stopped_epoch, epoch + 1),
                                         self.stopped_epoch)
        return now

    def state(self) -> dict[str, Any]:
        return {"best": self.best.clone(), "wait": self.wait.clone(),
                "stopped": self.stopped.clone(), "stopped_epoch": self.stopped_epoch.clone()}

    def load(self, state: Mapping[str, Any], epochs: int) -> None:
        self.best = state["best"].clone().to(self.best.device)
        self.wait = state["wait"].clone().to(self.wait.device)
        self.stopped = state["stopped"].clone().to(self.stopped.device)
        se = state["stopped_epoch"].clone().to(self.stopped.device)
        self.stopped_epoch = se.masked_fill(~self.stopped, epochs)


class _LrPlateau:
    """Per-seed learning-rate cuts when a seed's progress stalls.

    003's "learning rate schedule" (Nielsen): cut the rate by a factor (2 or 10) whenever
    progress stalls, down to 1/1024 of the start. Each seed watches its own signal, lower is
    better (its epoch's mean mini-batch loss, as :class:`_EarlyStop`, or minus its held-out
    accuracy): after ``patience`` epochs without a new best its factor is multiplied by ``cut``
    (never below ``floor``) and the wait restarts. The factor scales that seed's parameter update,
    which equals scaling its learning rate for every element-wise ``torch.optim`` optimiser the
    batched path accepts (their state never depends on lr and their step is linear in it).
    """

    def __init__(self, patience: int | None, cut: float, floor: float, S: int,
                 device: Any) -> None:
        import torch

        self.patience, self.cut, self.floor = patience, cut, floor
        self.best = torch.full((S,), math.inf, dtype=torch.float64, device=device)
        self.wait = torch.zeros(S, dtype=torch.int64, device=device)
        self.factor = torch.ones(S, dtype=torch.float64, device=device)
        self.cuts = torch.zeros(S, dtype=torch.int64, device=device)

    @property
    def active(self) -> bool:
        return self.patience is not None

    def update(self, epoch_mean: Any, training: Any) -> None:
        """After an epoch: count stalls of the seeds still ``training`` and cut their rate."""
        import torch

        if self.patience is None:
            return
        loss = epoch_mean.to(torch.float64)
        better = training & (loss < self.best)
        self.best = torch.where(better, loss, self.best)
        self.wait = torch.where(better, torch.zeros_like(self.wait),
                                torch.where(training, self.wait + 1, self.wait))
        cut = training & (self.wait >= self.patience) & (self.factor > self.floor)
        self.factor = torch.where(cut, torch.clamp(self.factor * self.cut, min=self.floor),
                                  self.factor)
        self.cuts = self.cuts + cut.to(self.cuts.dtype)
        self.wait = torch.where(cut, torch.zeros_like(self.wait), self.wait)

    def scale(self, before: Sequence[Any], params: Sequence[Any]) -> None:
        """Rows with a factor below 1 move ``factor`` times their optimiser step."""
        import torch

        if self.patience is None or not bool((self.factor < 1).any()):
            return
        with torch.no_grad():
            for old, p in zip(before, params):
                f = _row_mask(self.factor, p).to(p.dtype)
                p.copy_(torch.where(_row_mask(self.factor < 1, p), old + f * (p - old), p))

    def state(self) -> dict[str, Any]:
        return {"best": self.best.clone(), "wait": self.wait.clone(),
                "factor": self.factor.clone(), "cuts": self.cuts.clone()}

    def load(self, state: Mapping[str, Any]) -> None:
        for key in ("best", "wait", "factor", "cuts"):
            setattr(self, key, state[key].clone().to(getattr(self, key).device))


def _row_mask(mask: Any, t: Any) -> Any:
    return mask.reshape(mask.shape[0], *([1] * (t.dim() - 1)))


#: What a checkpoint of the batched state holds (see :func:`save_checkpoint`).
CHECKPOINT_FORMAT = "atomcheck.modules.checkpoint/1"


def save_checkpoint(state: Mapping[str, Any], path: Any, *, optimizer: bool = True) -> None:
    """Write the batched run state of :func:`train_modules` (``return_state=True``) to ``path``.

    The file holds tensors, numbers, strings and plain containers only, so
    :func:`load_checkpoint` reads it with ``torch.load(weights_only=True)``: the stacked
    parameters and buffers (seed axis first), the completed epoch count, the seeds, each
    seed's dropout generator state, the divergence and early-stopping state and, unless
    ``optimizer=False``, the optimiser's ``state_dict`` (Adam's moments and step count).
    A checkpoint without optimiser state resumes with a fresh optimiser.
    """
    import torch

    if state.get("format") != CHECKPOINT_FORMAT:
        raise InvalidClaim("save_checkpoint needs the state of train_modules(..., "
                           "return_state=True).")
    out = {k: v for k, v in state.items() if optimizer or k != "optimizer"}
    torch.save(out, path)


def load_checkpoint(path: Any) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only`` loading)."""
    import torch

    state = torch.load(path, weights_only=True, map_location="cpu")
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise InvalidClaim(f"{path!r} is not an atomcheck module checkpoint.")
    return state


# --------------------------------------------------------------------------- obstacles


def batching_obstacle(modules: Sequence[Any], datasets: Sequence[Dataset],
                      optimizer: Any = None) -> str | None:
    """Why these per-seed modules cannot train batched (None when they can), before training."""
    import torch

    first = modules[0]
    for name, m in first.named_modules():
        if isinstance(m, (torch.nn.RNNBase, torch.nn.RNNCellBase)):
            return f"recurrent layer {name or 'model'} ({type(m).__name__}) is not batched"
        if type(m).__name__ in _OTHER_DROPOUT and isinstance(m, torch.nn.Module):
            return (f"{type(m).__name__} at {name!r} draws from torch's global RNG; only "
                    "nn.Dropout gets per-seed masks")
    sig = [(n, tuple(t.shape), t.dtype, t.device) for n, t in first.named_parameters()]
    bsig = [(n, tuple(t.shape), t.dtype, t.device) for n, t in first.named_buffers()]
    if not sig:
        return "the module has no parameters"
    if any(t.is_sparse for _, t in first.named_parameters()):
        return "sparse parameters"
    for k, m in enumerate(modules[1:], 1):
        if type(m) is not type(first):
            return (f"seed index {k} built a {type(m).__name__}, seed index 0 a "
                    f"{type(first).__name__}")
        if [(n, tuple(t.shape), t.dtype, t.device) for n, t in m.named_parameters()] != sig or [
                (n, tuple(t.shape), t.dtype, t.device) for n, t in m.named_buffers()] != bsig:
            return f"parameters or buffers differ in name/shape/dtype between seeds (index {k})"
    shape0 = _data_shape(datasets[0])
    for k, ds in enumerate(datasets[1:], 1):
        if _data_shape(ds) != shape0:
            return f"datasets differ in shape between seeds (index {k}: {ds!r})"
    if optimizer is not None:
        return _optimizer_obstacle(optimizer)
    return None


def _data_shape(ds: Dataset) -> tuple[Any, ...]:
    return (np.shape(ds.x_train), np.shape(ds.y_train), np.shape(ds.x_test),
            np.shape(ds.y_test), ds.n_classes)


def _python_state(module: Any) -> dict[tuple[str, str], Any]:
    """Identity of every plain attribute of every submodule, and of the items of plain
    containers held there (Python-side state a forward could change)."""
    skip = {"training", "source"}
    out: dict[tuple[str, str], Any] = {}
    for name, m in module.named_modules():
        for key, value in vars(m).items():
            if key.startswith("_") or key in skip:
                continue
            items: Any = None
            if isinstance(value, (list, tuple, set)):
                items = tuple(id(v) for v in value)
            elif isinstance(value, dict):
                items = tuple((id(k), id(v)) for k, v in value.items())
            out[(name, key)] = (id(value), items)
    return out


# --------------------------------------------------------------------------- solo path


def train_module_solo(factory: Callable[..., Any], data: Dataset, seed: int, *,
                      optimizer: Any = "sgd", lr: float = 0.01, batch_size: int = 32,
                      epochs: int = 20, loss: str = "cross_entropy", dtype: Any = None,
                      momentum: float = 0.9, factory_kwargs: Mapping[str, Any] | None = None,
                      device: str = "cpu", reference: bool = False,
                      hold: Sequence[str] = (), **tools: Any) -> dict[str, float]:
    """Train one seed of ``factory`` on ``data`` alone.

    By default this is the batched path run with this one seed (``functional_call`` under
    ``vmap`` with a seed axis of 1), so seed *k* of a batched run equals it bit for bit:
    each seed's slice goes through the same kernels whatever the number of seeds. What
    cannot be batched trains on the plain loop.

    ``reference=True`` runs the plain loop: ``module_task``'s per-seed body (seeded init,
    ``rng(seed, "shuffle")`` order, divergence check before each step) calling the module
    directly, with ``nn.Dropout`` replaced by :class:`SeedDropout` so its masks come from
    the seed's own stream in both. It agrees with the functional path to rounding
    (batched matmul and plain matmul sum in different orders, ~1e-16 per operation).

    ``tools`` are :func:`train_modules`'s ``clip_norm``, ``clip_value``, ``lr_schedule``,
    ``lr_step``, ``lr_gamma``, ``early_stopping`` and ``lr_plateau`` (with its factor and
    floor); the plain loop uses ``clip_grad_norm_``/``clip_grad_value_`` on the one model and
    sets the optimiser's lr for ``lr_plateau``. ``hold`` holds sources of randomness fixed
    (as :func:`train_modules`).

    Examples
    --------
    >>> import torch
    >>> from atomcheck.data import gaussian_mixture
    >>> ds = gaussian_mixture(seed=0, n_train=40)
    >>> m = train_module_solo(lambda n_features, n_classes: torch.nn.Linear(n_features,
    ...                       n_classes), ds, 0, epochs=2)
    >>> m["diverged"]
    0.0
    """
    common = dict(optimizer=optimizer, lr=lr, batch_size=batch_size, epochs=epochs, loss=loss,
                  dtype=dtype, momentum=momentum, factory_kwargs=factory_kwargs, device=device,
                  hold=check_hold(hold, where="train_module_solo: hold"))
    if not reference:
        return train_modules(factory, [data], [seed], **common, **tools).metrics[0]
    return _train_plain(factory, data, seed, **common, tools=_Tools(**tools))


def _train_plain(factory: Callable[..., Any], data: Dataset, seed: int, *, optimizer: Any,
                 lr: float, batch_size: int, epochs: int, loss: str, dtype: Any,
                 momentum: float, factory_kwargs: Mapping[str, Any] | None,
                 device: str, tools: _Tools | None = None, hold: tuple[str, ...] = ()
                 ) -> dict[str, float]:
    _configure()
    import torch

    _check(data, loss)
    make_opt = _optimizer_factory(optimizer, lr, momentum)
    dropout_seed = stream_seed(seed, "dropout", hold)
    with torch.random.fork_rng(devices=[]):
        module = build_module(factory, data, stream_seed(seed, "init", hold), factory_kwargs,
                              dtype).to(device)
        _attach_source(module, _MaskSource([_mask_generator(dropout_seed)]))
        # Other stochastic layers (per-seed path only) draw from the dropout source too.
        torch.manual_seed(derive_seed(dropout_seed, "train"))
        x, y, xt, yt = _data_tensors(data, _module_dtype(module), device)
        opt = make_opt(list(module.parameters()))
        closure_opt = _needs_closure(opt)
        shuffle, n = rng(stream_seed(seed, "order", hold), "shuffle"), len(x)
        bs, diverged, nc = min(batch_size, n), False, data.n_classes
        tools = tools or _Tools()
        base_lrs = [float(g["lr"]) for g in opt.param_groups]
        stop = _EarlyStop(tools.early_stopping, 1, epochs, device)
        plateau = _LrPlateau(tools.lr_plateau, tools.lr_plateau_factor, tools.lr_plateau_min,
                             1, device)
        clip = tools.clip_norm is not None or tools.clip_value is not None
        module.train()
        for epoch in range(epochs):
            if tools.lr_schedule is not None or plateau.active:
                _set_lr(opt, base_lrs,
                        tools.lr_factor(epoch, epochs) * float(plateau.factor[0]))
            epoch_sum = torch.zeros(1, dtype=_module_dtype(module), device=device)
            n_batches = 0
            order = torch.as_tensor(shuffle.permutation(n), device=device)
            for start in range(0, n, bs):
                idx = order[start:start + bs]
                xb, yb = x[idx], y[idx]
                if closure_opt:
                    def closure() -> torch.Tensor:
                        opt.zero_grad(set_to_none=True)
                        value = _loss(loss, module(xb), yb, nc)
                        value.backward()
                        if clip:
                            _clip_module(module, tools)
                        return value

                    value = opt.step(closure)
                    if not math.isfinite(float(value.detach())):
                        diverged = True
                        break
                    epoch_sum = epoch_sum + value.detach().reshape(1)
                    n_batches += 1
                    continue
                value = _loss(loss, module(xb), yb, nc)
                if not math.isfinite(value.item()):
                    diverged = True
                    break
                epoch_sum = epoch_sum + value.detach().reshape(1)
                n_batches += 1
                opt.zero_grad(set_to_none=True)
                value.backward()
                if clip:
                    _clip_module(module, tools)
                opt.step()
            if diverged:
                break
            alive = torch.ones(1, dtype=torch.bool, device=device)
            if plateau.active:
                signal = epoch_sum / max(n_batches, 1)
                if tools.lr_plateau_monitor == "test_accuracy":
                    module.eval()
                    with torch.no_grad():
                        signal = -_accuracy(module(xt), yt).reshape(1)
                    module.train()
                plateau.update(signal, alive)
            if bool(stop.update(epoch_sum / max(n_batches, 1), epoch, alive).any()):
                break
        module.eval()
        with torch.no_grad():
            row = _finish(nc, _evaluate(loss, nc, module(x), y),
                          _evaluate(loss, nc, module(xt), yt), diverged)
        if tools.early_stopping is not None:
            row["stopped_epoch"] = float(stop.stopped_epoch[0])
        if plateau.active:
            row["lr_factor"] = float(plateau.factor[0])
        return row


def _clip_module(module: Any, tools: _Tools) -> None:
    import torch

    if tools.clip_norm is not None:
        torch.nn.utils.clip_grad_norm_(module.parameters(), tools.clip_norm)
    if tools.clip_value is not None:
        torch.nn.utils.clip_grad_value_(module.parameters(), tools.clip_value)


# --------------------------------------------------------------------------- batched path


class _Fallback(Exception):
    pass


def _train_batched(modules: list[Any], datasets: Sequence[Dataset], seeds: Sequence[int],
                   make_opt: Callable[[list[Any]], Any], *, batch_size: int, epochs: int,
                   loss: str, device: str, tools: _Tools | None = None,
                   resume: Mapping[str, Any] | None = None, want_state: bool = False,
                   hold: tuple[str, ...] = ()
                   ) -> tuple[list[dict[str, float]], dict[str, Any] | None]:
    import torch
    from torch.func import functional_call, stack_module_state, vmap

    S = len(modules)
    nc = datasets[0].n_classes
    dtype = _module_dtype(modules[0])
    for m in modules:
        m.to(device)

    class _Returning(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.m = inner

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            return self.m(x), dict(self.m.named_buffers())

    base = _Returning(copy.deepcopy(modules[0]))
    source = _MaskSource([_mask_generator(stream_seed(s, "dropout", hold)) for s in seeds])
    _attach_source(base, source)
    params, buffers = stack_module_state(modules)
    params = {f"m.{k}": v for k, v in params.items()}
    buffers = {f"m.{k}": v for k, v in buffers.items()}
    opt = make_opt(list(params.values()))
    obstacle = _optimizer_obstacle(opt)
    if obstacle:
        raise _Fallback(obstacle)
    tools = tools or _Tools()
    base_lrs = [float(g["lr"]) for g in opt.param_groups]
    stop = _EarlyStop(tools.early_stopping, S, epochs, device)
    plateau = _LrPlateau(tools.lr_plateau, tools.lr_plateau_factor, tools.lr_plateau_min, S,
                         device)
    alive = torch.ones(S, dtype=torch.bool, device=device)
    start_epoch = 0
    if resume is not None:
        start_epoch, alive = _load_state(resume, seeds, params, buffers, opt, source, stop,
                                         epochs, device)
        if plateau.active and "lr_plateau" in resume:
            plateau.load(resume["lr_plateau"])
    frozen_p = {k: v.detach().clone() for k, v in params.items()}
    frozen_b = {k: v.clone() for k, v in buffers.items()}

    tensors = [_data_tensors(ds, dtype, device) for ds in datasets]
    X, Y, XT, YT = (torch.stack([t[i] for t in tensors]) for i in range(4))
    shuffles = [rng(stream_seed(s, "order", hold), "shuffle") for s in seeds]
    n = X.shape[1]
    for sh in shuffles:  # a resumed run replays the data orders of the epochs done
        for _ in range(start_epoch):
            sh.permutation(n)
    bs = min(batch_size, n)
    offsets = torch.arange(S, device=device)[:, None] * n  # row k's samples in the flat X
    Xf, Yf = X.reshape(S * n, *X.shape[2:]), Y.reshape(S * n, *Y.shape[2:])

    def step_fn(p: dict, b: dict, xb: torch.Tensor, yb: torch.Tensor, masks: list
                ) -> tuple[torch.Tensor, dict]:
        source.queue = list(masks)
        out, new_buffers = functional_call(base, (p, b), (xb,))
        if source.queue:
            raise RuntimeError("SeedDropout: fewer dropout calls than the probe recorded")
        return _loss(loss, out, yb, nc), {f"m.{k}": v for k, v in new_buffers.items()}

    has_dropout = any(_is_seed_dropout(m) and float(getattr(m, "p")) > 0 for m in base.modules())
    shapes: dict[int, list[tuple[tuple[int, ...], float]]] = {}

    def dropout_shapes(size: int) -> list[tuple[tuple[int, ...], float]]:
        # A solo forward of a copy of seed 0's module records each dropout input shape.
        if size not in shapes:
            probe = copy.deepcopy(modules[0]).train()
            recorder = _MaskSource([])
            recorder.recorded = []
            _attach_source(probe, recorder)
            with torch.no_grad():
                probe(X[0, :size])
            shapes[size] = recorder.recorded
        return shapes[size]

    def draw_masks(size: int) -> list[torch.Tensor]:
        if not has_dropout:
            return []
        # Layer by layer, each seed's generator draws in that seed's forward-call order.
        return [source.draw_all(shape, p, dtype, torch.device(device))
                for shape, p in dropout_shapes(size)]

    # A Sequential of known layers with a convolution runs a hand-packed forward instead
    # of vmap (engine.packed: measured faster; the same path at any number of seeds).
    plan = packed_plan(base.m, tuple(X.shape[2:]), loss, nc, _is_seed_dropout)
    if plan is None:
        step = vmap(step_fn, randomness="error")
    else:
        def step(p: dict, b: dict, xb: torch.Tensor, yb: torch.Tensor, masks: list
                 ) -> tuple[torch.Tensor, dict]:
            new_b = dict(b)
            return plan.losses(p, xb, yb, masks, loss, nc, new_b), new_b

    base.train()
    first = True
    before = _python_state(base.m)
    done = start_epoch
    try:
        for epoch in range(start_epoch, epochs):
            if tools.lr_schedule is not None:
                _set_lr(opt, base_lrs, tools.lr_factor(epoch, epochs))
            epoch_sum = torch.zeros(S, dtype=dtype, device=device)
            n_batches = 0
            orders = torch.stack([torch.as_tensor(sh.permutation(n)) for sh in shuffles]
                                 ).to(device)
            for start in range(0, n, bs):
                idx = orders[:, start:start + bs]
                masks = draw_masks(idx.shape[1])
                flat = (idx + offsets).reshape(-1)
                xb = Xf.index_select(0, flat).reshape(S, -1, *X.shape[2:])
                yb = Yf.index_select(0, flat).reshape(S, -1, *Y.shape[2:])
                with tail_free_mode() if plan is None else contextlib.nullcontext():
                    # sigmoid & co. in a user's forward: a seed's bits, not its batch's
                    # (the packed forward wraps its own activations)
                    losses, new_buffers = step(params, buffers, xb, yb, masks)
                source.queue = None
                if first:
                    after = _python_state(base.m)
                    changed = sorted(f"{m or 'model'}.{k}" for (m, k) in
                                     set(before) | set(after) if before.get((m, k)) !=
                                     after.get((m, k)))
                    if changed:
                        raise _Fallback("forward changes Python-side module state "
                                        f"({', '.join(changed[:3])})")
                    first = False
                finite = torch.isfinite(losses.detach())
                alive &= finite | stop.stopped
                training = alive & ~stop.stopped
                buffers = {k: v.detach() for k, v in new_buffers.items()}
                if not bool(training.any()):
                    break
                epoch_sum = epoch_sum + losses.detach()
                n_batches += 1
                opt.zero_grad(set_to_none=True)
                torch.where(training, losses, torch.zeros_like(losses)).sum().backward()
                if tools.clip_norm is not None or tools.clip_value is not None:
                    _clip_stacked([p.grad for p in params.values()], tools)
                pre_step = ([v.detach().clone() for v in params.values()] if plateau.active
                            else [])
                opt.step()
                plateau.scale(pre_step, list(params.values()))
                if bool(stop.stopped.any()):  # retired rows keep the state they stopped at
                    with torch.no_grad():
                        for key, v in params.items():
                            v.copy_(torch.where(_row_mask(stop.stopped, v), frozen_p[key], v))
                    buffers = {k: torch.where(_row_mask(stop.stopped, v), frozen_b[k], v)
                               for k, v in buffers.items()}
            training = alive & ~stop.stopped
            if not bool(training.any()):
                break
            done = epoch + 1
            if plateau.active:
                signal = epoch_sum / max(n_batches, 1)
                if tools.lr_plateau_monitor == "test_accuracy":
                    # Each seed's slice without vmap, as the final evaluation (eval mode:
                    # no dropout mask is drawn, BatchNorm reads its running statistics).
                    base.eval()
                    with torch.no_grad():
                        signal = -torch.stack([_accuracy(functional_call(
                            base, ({k: v[j] for k, v in params.items()},
                                   {k: v[j] for k, v in buffers.items()}), (XT[j],))[0], YT[j])
                            for j in range(S)])
                    base.train()
                plateau.update(signal, training)
            now = stop.update(epoch_sum / max(n_batches, 1), epoch, alive)
            if bool(now.any()):
                for key, v in params.items():
                    frozen_p[key] = torch.where(_row_mask(now, v), v.detach(), frozen_p[key])
                for key, v in buffers.items():
                    frozen_b[key] = torch.where(_row_mask(now, v), v, frozen_b[key])
                if not bool((alive & ~stop.stopped).any()):
                    break
    except _Fallback:
        raise
    except Exception as exc:  # vmap refuses: .item(), control flow, in-place, global RNG...
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise _Fallback(f"{'first' if first else 'a later'} batched step raised "
                        f"{type(exc).__name__}: {text[:300]}") from exc
    finally:
        source.queue = None

    # Evaluation runs each seed's slice through the module without vmap (a grouped
    # convolution over thousands of samples is far slower than S plain ones); it is the
    # same per-seed call whatever the number of seeds, so it keeps seeds bit-for-bit.
    base.eval()
    results = []
    with torch.no_grad():
        for k in range(S):
            state = ({name: v[k] for name, v in params.items()},
                     {name: v[k] for name, v in buffers.items()})
            tr = _evaluate(loss, nc, functional_call(base, state, (X[k],))[0], Y[k])
            te = _evaluate(loss, nc, functional_call(base, state, (XT[k],))[0], YT[k])
            row = _finish(nc, tr, te, not bool(alive[k]))
            if tools.early_stopping is not None:
                row["stopped_epoch"] = float(stop.stopped_epoch[k])
            if plateau.active:
                row["lr_factor"] = float(plateau.factor[k])
            results.append(row)
    run_state = None
    if want_state:
        run_state = {"format": CHECKPOINT_FORMAT, "seeds": list(seeds), "epoch": done,
                     "params": {k: v.detach().clone() for k, v in params.items()},
                     "buffers": {k: v.clone() for k, v in buffers.items()},
                     "optimizer": copy.deepcopy(opt.state_dict()),
                     "dropout": [g.get_state() for g in source.generators],
                     "alive": alive.clone(), "early_stopping": stop.state()}
        if plateau.active:
            run_state["lr_plateau"] = plateau.state()
    return results, run_state


def _load_state(state: Mapping[str, Any], seeds: Sequence[int], params: dict[str, Any],
                buffers: dict[str, Any], opt: Any, source: _MaskSource, stop: _EarlyStop,
                epochs: int, device: str) -> tuple[int, Any]:
    """Put a checkpoint's batched state into a freshly built run; return (epoch, alive)."""
    import torch

    if state.get("format") != CHECKPOINT_FORMAT:
        raise InvalidClaim("resume= needs a checkpoint of train_modules(..., return_state=True)"
                           " or the path of one written by save_checkpoint.")
    if [int(s) for s in state["seeds"]] != list(seeds):
        raise InvalidClaim(f"the checkpoint holds seeds {list(state['seeds'])}, not "
                           f"{list(seeds)}.")
    for mine, theirs, what in ((params, state["params"], "parameters"),
                               (buffers, state["buffers"], "buffers")):
        if {k: tuple(v.shape) for k, v in mine.items()} != {
                k: tuple(v.shape) for k, v in theirs.items()}:
            raise InvalidClaim(f"the checkpoint's {what} differ in name or shape from the "
                               "model's.")
    with torch.no_grad():
        for k, v in params.items():
            v.copy_(state["params"][k])
    for k in list(buffers):
        buffers[k] = state["buffers"][k].to(device=buffers[k].device, dtype=buffers[k].dtype)
    if "optimizer" in state:
        # A copy: load_state_dict keeps tensors that need no cast, and the resumed steps
        # would then update the caller's checkpoint state in place.
        opt.load_state_dict(copy.deepcopy(state["optimizer"]))
    for g, st in zip(source.generators, state["dropout"]):
        g.set_state(st)
    stop.load(state["early_stopping"], epochs)
    return int(state["epoch"]), state["alive"].clone().to(device)


def train_modules(factory: Callable[..., Any], data_per_seed: Sequence[Dataset],
                  seeds: Sequence[int], *, optimizer: Any = "sgd", lr: float = 0.01,
                  batch_size: int = 32, epochs: int = 20, loss: str = "cross_entropy",
                  dtype: Any = None, momentum: float = 0.9,
                  factory_kwargs: Mapping[str, Any] | None = None, device: str = "cpu",
                  batched: bool = True, label: str = "", clip_norm: float | None = None,
                  clip_value: float | None = None, lr_schedule: Any = None, lr_step: int = 10,
                  lr_gamma: float = 0.1, early_stopping: int | None = None,
                  lr_plateau: int | None = None, lr_plateau_factor: float = 0.5,
                  lr_plateau_min: float = 1.0 / 1024, lr_plateau_monitor: str = "train_loss",
                  resume: Any = None, return_state: bool = False,
                  hold: Sequence[str] = ()) -> ModuleRun:
    """Train ``factory`` for every seed, batched when possible, else per seed.

    Parameters
    ----------
    factory : callable
        ``factory(**factory_kwargs) -> nn.Module``; it also gets ``n_features``,
        ``n_classes`` and ``seed`` when it names them.
    data_per_seed : sequence of Dataset
        Seed ``seeds[k]`` trains on ``data_per_seed[k]``.
    seeds : sequence of int
    optimizer : str, torch.optim.Optimizer class, or callable ``params -> optimizer``
        Names: sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw.
    lr, batch_size, epochs, loss, momentum
        As ``module_task``.
    dtype : None, "float32", "float64" or torch dtype
        Cast each built module to it (None: keep the factory's dtype).
    batched : bool
        False forces the per-seed path.
    label : str
        Names the claim/config in the fallback log line.
    clip_norm : float, optional
        Clip each seed's gradient to this global 2-norm over that seed's own parameters,
        as ``torch.nn.utils.clip_grad_norm_`` does for one model (never across seeds).
    clip_value : float, optional
        Clamp every gradient element to ``[-clip_value, clip_value]`` (after ``clip_norm``).
    lr_schedule : None, "step", "exponential", "cosine" or callable
        The learning rate in epoch ``e`` (0-based) is ``lr`` times ``lr_gamma ** (e //
        lr_step)`` ("step"), ``lr_gamma ** e`` ("exponential"), ``(1 + cos(pi e / epochs))
        / 2`` ("cosine"; the horizon is this call's ``epochs``) or ``lr_schedule(e)``. All
        seeds of one config share the schedule, so it sets the optimiser's lr per epoch.
    lr_step, lr_gamma
        The step size (epochs) and decay factor of the "step" and "exponential" schedules.
    early_stopping : int, optional
        Patience on each seed's training loss (the mean of its epoch's mini-batch losses; no
        validation split): a seed whose loss has not fallen below its best for this many
        epochs stops, keeps the parameters, buffers it had then, and its metrics get
        ``stopped_epoch`` (the epochs it trained; ``epochs`` if it never stopped). The
        others train on, so each seed equals itself alone.
    lr_plateau : int, optional
        Patience for per-seed learning-rate cuts (003's "learning rate schedule"): when a
        seed's training loss (its epoch's mean mini-batch loss) has not reached a new best
        for this many epochs, its rate is multiplied by ``lr_plateau_factor`` (default 0.5),
        never below ``lr_plateau_min`` (default 1/1024) of the scheduled rate, and the wait
        restarts. Its metrics get ``lr_factor`` (the final factor). Per seed: a cut scales
        that seed's update, which is exactly a lower lr for element-wise optimisers.
    lr_plateau_factor, lr_plateau_min
        The cut factor and the floor of the ``lr_plateau`` factor.
    lr_plateau_monitor : {"train_loss", "test_accuracy"}
        What ``lr_plateau`` watches: the epoch's training loss, or each seed's accuracy on
        its held-out split after the epoch (003's "validation accuracy"; classification
        only): a cut follows ``lr_plateau`` epochs without a new best.
    resume : dict or path, optional
        A state (``run.state``) or a checkpoint file (:func:`save_checkpoint`) of the same
        seeds and model: training continues from its epoch up to ``epochs`` (the total).
        Without optimiser state in it the optimiser starts fresh. Batched path only.
    return_state : bool
        Keep the final batched state in ``run.state`` (batched path only).
    hold : sequence of {"data", "init", "order", "dropout"}
        Sources of randomness held fixed: a held source draws the same stream for every
        seed (:func:`atomcheck.seeding.stream_seed`): ``"init"`` builds every module from
        one seed, ``"order"`` gives every seed one sequence of mini-batch orders,
        ``"dropout"`` one sequence of masks. ``"data"`` is the caller's to hold (the
        datasets come in ``data_per_seed``; ``module_task`` builds them held).

    Returns
    -------
    ModuleRun
        Per-seed metrics, the path taken and the reason for a per-seed path.
    """
    _configure()
    t0 = time.perf_counter()
    seeds = [int(s) for s in seeds]
    if len(seeds) != len(data_per_seed):
        raise InvalidClaim(f"{len(seeds)} seeds but {len(data_per_seed)} datasets.")
    for ds in data_per_seed:
        _check(ds, loss)
    make_opt = _optimizer_factory(optimizer, lr, momentum)
    hold = check_hold(hold, where="train_modules: hold")
    tools = _Tools(clip_norm, clip_value, lr_schedule, lr_step, lr_gamma, early_stopping,
                   lr_plateau, lr_plateau_factor, lr_plateau_min, lr_plateau_monitor)
    if lr_plateau is not None and lr_plateau_monitor == "test_accuracy" and not any(
            ds.n_classes for ds in data_per_seed):
        raise InvalidClaim("lr_plateau_monitor='test_accuracy' needs class labels; a "
                           "regression task can watch 'train_loss'.")
    if isinstance(resume, (str, bytes)) or hasattr(resume, "__fspath__"):
        resume = load_checkpoint(resume)
    common = dict(optimizer=optimizer, lr=lr, batch_size=batch_size, epochs=epochs, loss=loss,
                  dtype=dtype, momentum=momentum, factory_kwargs=factory_kwargs, device=device,
                  tools=tools, hold=hold)
    reason: str | None = None if batched else "batched=False"
    if reason is None:
        modules = [build_module(factory, ds, stream_seed(s, "init", hold), factory_kwargs, dtype)
                   for ds, s in zip(data_per_seed, seeds)]
        reason = batching_obstacle(modules, data_per_seed)
        if reason is None:
            try:
                metrics, state = _train_batched(
                    modules, data_per_seed, seeds, make_opt, batch_size=batch_size,
                    epochs=epochs, loss=loss, device=device, tools=tools, resume=resume,
                    want_state=return_state, hold=hold)
                log.info("%s: batched module path over %d seeds", label or "module_task",
                         len(seeds))
                return ModuleRun(metrics, "batched", None, time.perf_counter() - t0,
                                 state=state)
            except _Fallback as exc:
                reason = str(exc)
    if resume is not None or return_state:
        raise InvalidClaim(f"{label or 'module_task'}: checkpoints (resume=, return_state=) "
                           f"need the batched path, but it trains per seed because {reason}.")
    log.info("%s: per-seed path because %s", label or "module_task", reason)
    metrics = [_train_plain(factory, ds, s, **common) for ds, s in zip(data_per_seed, seeds)]
    return ModuleRun(metrics, "per-seed", reason, time.perf_counter() - t0)


def train_modules_batched(factory: Callable[..., Any], data_per_seed: Sequence[Dataset],
                          seeds: Sequence[int], *, optimizer: Any = "sgd", lr: float = 0.01,
                          batch_size: int = 32, epochs: int = 20, loss: str = "cross_entropy",
                          dtype: Any = None, **kwargs: Any) -> list[dict[str, float]]:
    """Per-seed metrics of :func:`train_modules` (batched where possible; reason logged)."""
    return train_modules(factory, data_per_seed, seeds, optimizer=optimizer, lr=lr,
                         batch_size=batch_size, epochs=epochs, loss=loss, dtype=dtype,
                         **kwargs).metrics


# --------------------------------------------------------------------------- module_task glue


def run_module_task(task: Any, seeds: Sequence[int], config: Mapping[str, Any], *,
                    device: str = "cpu", batched: bool = True, **train: Any) -> ModuleRun:
    """Train a ``module_task`` under ``config`` for every seed (batched where possible).

    ``train`` passes :func:`train_modules` keywords that are not factors of the task: the
    tools (``clip_norm``, ``lr_schedule``, ``early_stopping``, ...) and ``resume``/
    ``return_state``; a config factor of the same name (from the task's defaults) wins.

    A ``hold`` in the config (or the task's default) holds those sources fixed: a held
    ``"data"`` builds every seed's dataset from one seed, the others as
    :func:`train_modules`.

    ``run.metrics[i]`` has the keys ``task(seeds[i], **config)`` returns; the path and the
    reason for a per-seed path are logged on ``atomcheck.engine`` as
    ``task <task>, config <config>: ...``.
    """
    if getattr(task, "kind", None) != "module_task":
        raise InvalidClaim(f"run_module_task needs a module_task, got {type(task).__name__}.")
    fkw, tkw, dkw = task.split_config(config)
    if not isinstance(tkw.get("optimizer"), str) or tkw["optimizer"] not in OPTIMIZER_NAMES:
        raise InvalidClaim(f"{task!r}: optimizer={tkw.get('optimizer')!r} is not one of "
                           f"{list(OPTIMIZER_NAMES)}.")
    datasets = [task.data(seed=stream_seed(int(s), "data", tkw.get("hold", ())), **dkw)
                for s in seeds]
    return train_modules(task.factory, datasets, seeds, factory_kwargs=fkw, device=device,
                         batched=batched, label=f"task {task!r}, config {dict(config)}",
                         **(dict(train) | tkw))
