"""Model specs, what they mean, the per-seed reference trainer, and tasks.

This module owns the *meaning* of an :class:`MLPSpec`: its vocabularies, the initial
weight draws, the layer plan, the reference activations and normalisation layers, the
learning-rate schedule and the dropout masks. :func:`train` trains one seed of a spec with
plain autograd and ``torch.optim``; it is the oracle the batched engine in
:mod:`atomcheck.engine` is tested against. The engine sits above this module and reuses
these definitions (so both paths draw the same weights and masks); nothing here imports
the engine, except :func:`module_task`'s per-seed call, which trains one seed on the
engine's module path (inside the function; declared in the import-linter contract).

:class:`Task` binds a dataset builder to a spec so a sweep can run ``task(seed,
**config)`` (the engine recognises it and trains all seeds at once);
:func:`module_task` and :func:`sklearn_task` do the same for any ``nn.Module`` factory or
scikit-learn estimator, one seed per call. torch and scikit-learn are imported lazily.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import numbers
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from atomcheck.errors import InvalidClaim
from atomcheck.reproducible import check_reproducible_blas
from atomcheck.seeding import SOURCES, check_hold, derive_seed, rng, stream_seed

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from atomcheck.data import Dataset

__all__ = ["MLPSpec", "TrainResult", "Task", "train", "configure_torch", "module_task",
           "sklearn_task"]

_TORCH_CONFIGURED = False


def configure_torch(threads: int = 1) -> None:
    """Set torch's intra-op thread count for this process (default 1).

    Tiny networks run 5-50x faster on one thread than on torch's default on a small
    machine; :func:`train` and the engine call this once, lazily, unless you did first.

    Examples
    --------
    >>> configure_torch(1)
    """
    global _TORCH_CONFIGURED
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise InvalidClaim(f"threads={threads!r} must be an integer >= 1. Pass e.g. 1.")
    import torch

    torch.set_num_threads(threads)
    _TORCH_CONFIGURED = True


def _ensure_torch() -> None:
    if not _TORCH_CONFIGURED:
        configure_torch(1)
    check_reproducible_blas()  # once per process: warns if a seed could depend on its batch


# -- what a spec means: shared by train() and the engine -----------------------------------------
# The batched engine (above this module) draws the same initial weights and dropout masks,
# uses the same layer plan, schedule and reference activations/norms, and the same
# optimiser constants as train() by importing these; torch is imported inside functions.

ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh", "sigmoid", "identity", "sign", "square", "sin")
INITS = ("xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "gaussian",
         "scaled_normal", "constant", "orthogonal", "torch_default")
LOSSES = ("cross_entropy", "mse", "abs", "hinge", "fourth_power", "constant")
REGRESSION_LOSSES = ("mse", "abs", "fourth_power", "constant")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
NORMS = (None, "batch", "layer", "group")
SCHEDULES = (None, "step", "cosine")
DTYPES = ("float32", "float64")

LEAKY_SLOPE = 0.01
NORM_EPS = 1e-5
BN_MOMENTUM = 0.1
ADAGRAD_EPS = 1e-10
RMSPROP_ALPHA, RMSPROP_EPS = 0.99, 1e-8
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8


def torch_dtype(name: str) -> torch.dtype:
    """Map ``"float32"``/``"float64"`` to the torch dtype."""
    import torch

    return torch.float64 if name == "float64" else torch.float32


def output_size(data: Dataset) -> int:
    """Number of network outputs for ``data`` (classes, or regression targets)."""
    return int(data.n_classes) if data.n_classes else int(np.asarray(data.y_train).reshape(
        len(data.y_train), -1).shape[1])


def check_data(spec: MLPSpec, data: Dataset) -> None:
    """Raise :class:`InvalidClaim` when ``spec`` cannot train on ``data``."""
    n = len(data.x_train)
    if n < 1 or len(data.x_test) < 1:
        raise InvalidClaim(f"data has {n} training and {len(data.x_test)} test samples; "
                           "both splits need at least one sample. Pass larger n_train/n_test.")
    if data.n_classes == 0 and spec.loss not in REGRESSION_LOSSES:
        raise InvalidClaim(
            f"loss={spec.loss!r} needs class labels, but the dataset is a regression task "
            f"(n_classes=0). Use one of {list(REGRESSION_LOSSES)}, e.g. model.replace(loss='mse').")
    if data.n_classes == 1:
        raise InvalidClaim("data.n_classes=1 cannot be trained: classification needs >= 2 "
                           "classes. Use n_classes=0 for regression.")


def layer_plan(spec: MLPSpec, n_in: int, n_out: int) -> tuple[list[tuple[int, int]], list[int]]:
    """Return the unique linear layers ``(in, out)`` and, per applied layer, its index.

    Without weight sharing the plan is ``[0, 1, ..., k]``. With ``shared_hidden`` the
    hidden layers 2..k reuse one matrix: ``[0, 1, 1, ..., 1, 2]``.
    """
    widths = list(spec.widths)
    dims = [n_in, *widths, n_out]
    applied = list(zip(dims[:-1], dims[1:]))
    if not spec.shared_hidden:
        return applied, list(range(len(applied)))
    unique = [applied[0], applied[1], applied[-1]]
    plan = [0] + [1] * (len(widths) - 1) + [2]
    return unique, plan


def residual_at(spec: MLPSpec, j: int) -> bool:
    """Whether hidden layer ``j`` (0-based) adds its input back (equal widths, j >= 1)."""
    return bool(spec.residual and j >= 1 and spec.widths[j - 1] == spec.widths[j])


def group_count(width: int) -> int:
    """Groups used by group norm: ``gcd(width, 8)``."""
    return math.gcd(width, 8)


def _draw_weight(spec: MLPSpec, n_in: int, n_out: int, gen: torch.Generator) -> torch.Tensor:
    import torch

    f64, shape, s = torch.float64, (n_in, n_out), float(spec.init_scale)
    kind = spec.init

    def uniform(bound: float) -> torch.Tensor:
        return (torch.rand(shape, generator=gen, dtype=f64) * 2.0 - 1.0) * bound

    def normal(std: float) -> torch.Tensor:
        return torch.randn(shape, generator=gen, dtype=f64) * std

    if kind == "xavier_uniform":
        return uniform(math.sqrt(6.0 / (n_in + n_out))) * s
    if kind == "xavier_normal":
        return normal(math.sqrt(2.0 / (n_in + n_out))) * s
    if kind == "he_uniform":
        return uniform(math.sqrt(6.0 / n_in)) * s
    if kind == "he_normal":
        return normal(math.sqrt(2.0 / n_in)) * s
    if kind == "gaussian":
        return normal(s)
    if kind == "scaled_normal":
        return normal(math.sqrt(1.0 / n_in)) * s
    if kind == "constant":
        return torch.full(shape, s, dtype=f64)
    if kind == "orthogonal":
        a = torch.randn((max(shape), min(shape)), generator=gen, dtype=f64)
        q, r = torch.linalg.qr(a)
        q = q * torch.sign(torch.diagonal(r))
        return (q if n_in >= n_out else q.T).contiguous() * s
    # torch_default: nn.Linear's kaiming_uniform(a=sqrt(5)), i.e. U(+-1/sqrt(fan_in))
    return uniform(1.0 / math.sqrt(n_in)) * s


def init_params(spec: MLPSpec, sizes: list[tuple[int, int]], seed: int) -> list[tuple[
        torch.Tensor, torch.Tensor]]:
    """Draw ``(weight (in, out), bias (out,))`` per unique layer, float64 on the CPU.

    One ``torch.Generator`` seeded with ``derive_seed(seed, "init")`` draws the layers in
    order, weight then bias; biases are zero except for ``init="torch_default"``.
    """
    import torch

    gen = torch.Generator().manual_seed(derive_seed(stream_seed(seed, "init", spec.hold), "init"))
    out = []
    for n_in, n_out in sizes:
        w = _draw_weight(spec, n_in, n_out, gen)
        if spec.init == "torch_default":
            bound = 1.0 / math.sqrt(n_in)
            b = (torch.rand((n_out,), generator=gen, dtype=torch.float64) * 2.0 - 1.0) * bound
        else:
            b = torch.zeros(n_out, dtype=torch.float64)
        out.append((w, b))
    return out


def epoch_lr(spec: MLPSpec, epoch: int) -> float:
    """Learning rate used in ``epoch`` (0-based) under ``spec.lr_schedule``."""
    if spec.lr_schedule == "step":
        return spec.lr * 0.5 ** (epoch // max(1, spec.epochs // 3))
    if spec.lr_schedule == "cosine":
        return spec.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / spec.epochs))
    return spec.lr


def dropout_generator(seed: int) -> torch.Generator:
    """The per-run dropout generator (drawn on the CPU in float64)."""
    import torch

    return torch.Generator().manual_seed(derive_seed(seed, "dropout"))


def dropout_block(spec: MLPSpec, gen: torch.Generator, n: int, width: int) -> torch.Tensor:
    """One epoch's scaled keep-mask ``(n, width)`` for one hidden layer, float64 CPU.

    Row *r* is used by the sample at position *r* of the epoch's shuffled order.
    """
    import torch

    u = torch.rand((n, width), generator=gen, dtype=torch.float64)
    return (u >= spec.dropout).to(torch.float64) * (1.0 / (1.0 - spec.dropout))


def norm_apply(kind: str, z: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor,
               running: tuple[torch.Tensor, torch.Tensor] | None, training: bool) -> torch.Tensor:
    """Batch, layer or group norm over ``z`` shaped ``(..., batch, features)``.

    Batch norm normalises over the batch axis (-2) with biased variance while training and
    updates ``running`` (mean, unbiased variance; momentum 0.1) in place; evaluation uses
    the running statistics. Layer and group norm normalise each sample over its features
    (group norm over ``gcd(width, 8)`` groups). ``gamma``/``beta`` broadcast over ``z``.
    """
    import torch

    if kind == "batch":
        if training:
            n = z.shape[-2]
            mean = z.mean(dim=-2, keepdim=True)
            var = ((z - mean) ** 2).mean(dim=-2, keepdim=True)
            if running is not None:
                with torch.no_grad():
                    unbiased = var * (n / (n - 1)) if n > 1 else var
                    rm, rv = running
                    rm.mul_(1 - BN_MOMENTUM).add_(mean.detach().reshape(rm.shape),
                                                  alpha=BN_MOMENTUM)
                    rv.mul_(1 - BN_MOMENTUM).add_(unbiased.detach().reshape(rv.shape),
                                                  alpha=BN_MOMENTUM)
        else:
            assert running is not None
            mean, var = running
        return (z - mean) / torch.sqrt(var + NORM_EPS) * gamma + beta
    width = z.shape[-1]
    groups = 1 if kind == "layer" else group_count(width)
    g = z.reshape(*z.shape[:-1], groups, width // groups)
    mean = g.mean(dim=-1, keepdim=True)
    var = ((g - mean) ** 2).mean(dim=-1, keepdim=True)
    g = (g - mean) / torch.sqrt(var + NORM_EPS)
    return g.reshape(z.shape) * gamma + beta


def activate(name: str, z: torch.Tensor) -> torch.Tensor:
    """Apply activation ``name`` (autograd-friendly reference definitions)."""
    import torch
    import torch.nn.functional as F

    if name == "relu":
        return F.relu(z)
    if name == "leaky_relu":
        return F.leaky_relu(z, LEAKY_SLOPE)
    if name == "elu":
        return F.elu(z)
    if name == "tanh":
        return torch.tanh(z)
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "sign":
        return torch.sign(z)
    if name == "square":
        return z * z
    if name == "sin":
        return torch.sin(z)
    return z


def classification_metrics(pred: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[float, float]:
    """Return ``(accuracy, balanced accuracy)``; balanced = mean recall of present classes."""
    pred, y = np.asarray(pred), np.asarray(y)
    hit = pred == y
    acc = float(np.mean(hit))
    # Counted with bincount, not one mask per class: per-epoch histories call this for
    # every row and split, and the mask loop was half of a 10-class run's evaluation time.
    k = max(n_classes, 1)
    labels = y.astype(np.int64, copy=False).ravel()
    present = (labels >= 0) & (labels < k)
    support = np.bincount(labels[present], minlength=k)
    hits = np.bincount(labels[present & hit.ravel()], minlength=k)
    recalls = hits[support > 0] / support[support > 0]
    return acc, float(np.mean(recalls)) if recalls.size else float("nan")


def tensor_to_numpy(t: Any) -> np.ndarray:
    """A float64 numpy copy of a tensor (any device)."""
    return t.detach().to("cpu").double().numpy().copy()


# -- the spec and the per-seed reference trainer -------------------------------------------------

def _bad(name: str, value: object, rule: str, fix: str) -> InvalidClaim:
    return InvalidClaim(f"MLPSpec: {name}={value!r} {rule}. {fix}")


def _real(name: str, value: Any, *, low: float | None = None, strict: bool = False) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
        raise _bad(name, value, "must be a finite number", f"Pass e.g. {name}=0.1.")
    if low is not None and (value <= low if strict else value < low):
        raise _bad(name, value, f"must be {'>' if strict else '>='} {low}", "Pass a larger value.")
    return float(value)


def _count(name: str, value: Any, low: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise _bad(name, value, f"must be an integer >= {low}", f"Pass e.g. {name}={max(low, 1)}.")
    return int(value)


def _choice(name: str, value: Any, valid: tuple[Any, ...]) -> None:
    if value not in valid:
        raise _bad(name, value, f"is not one of {list(valid)}", "Use one of the listed names.")


@dataclass(frozen=True)
class MLPSpec:
    """A small MLP and its training recipe; validated on construction.

    Parameters
    ----------
    widths : tuple of int
        Hidden widths only, e.g. ``(64, 64)``; input and output sizes come from the data.
    activation : str
        relu, leaky_relu (slope 0.01), elu, tanh, sigmoid, identity, sign, square, sin.
    init : str
        xavier_uniform, xavier_normal, he_uniform, he_normal, gaussian (sigma=init_scale),
        scaled_normal (N(0, 1/n_in)), constant (value init_scale), orthogonal,
        torch_default (nn.Linear's). Other inits multiply their draw by ``init_scale``.
    init_scale : float
    loss : str
        cross_entropy, mse, abs, hinge (multi-class margin), fourth_power, constant. For
        classes, mse/abs/fourth_power compare raw outputs with one-hot targets.
    optimizer : str
        sgd, momentum, nesterov, adagrad, rmsprop, adam (torch.optim defaults otherwise).
    lr, momentum : float
    batch_size, epochs : int
        ``batch_size`` is clipped to the training-set size.
    l1, l2 : float
        Penalties ``l1*sum|W|`` and ``l2*sum W**2`` on weights (not biases) added to the loss.
    weight_decay : float
        Decoupled decay ``W *= 1 - lr*weight_decay`` on weights before each step.
    dropout : float
        Inverted dropout after each hidden activation, in [0, 1).
    norm : {None, "batch", "layer", "group"}
        Normalisation after each hidden linear layer (affine; group norm uses gcd(width, 8) groups).
    residual : bool
        Hidden layer j >= 2 adds its input when its width equals the previous one.
    shared_hidden : bool
        Hidden layers 2..n share one linear layer (needs >= 2 equal widths).
    clip_norm : float or None
        Per-seed global gradient-norm clipping (as ``clip_grad_norm_``).
    lr_schedule : {None, "step", "cosine"}
        Per epoch: halve every ``epochs//3`` epochs, or cosine from lr to 0.
    history, snapshots, grad_norms : bool
        Record per-epoch metrics, weights (epoch 0 = initial), mean per-layer gradient norms.
    dtype : {"float32", "float64"}
    hold : tuple of {"data", "init", "order", "dropout"}
        Sources of randomness held fixed: a held source draws from the same stream for
        every seed (:func:`atomcheck.seeding.stream_seed`), so only the others vary;
        ``atomcheck.toolbox.variance_sources`` breaks a metric's variance down by source.

    Examples
    --------
    >>> MLPSpec(widths=(8,), optimizer="adam").replace(lr=1e-3).lr
    0.001
    """

    widths: tuple[int, ...]
    activation: str = "relu"
    init: str = "xavier_uniform"
    init_scale: float = 1.0
    loss: str = "cross_entropy"
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    batch_size: int = 32
    epochs: int = 20
    l1: float = 0.0
    l2: float = 0.0
    weight_decay: float = 0.0
    dropout: float = 0.0
    norm: str | None = None
    residual: bool = False
    shared_hidden: bool = False
    clip_norm: float | None = None
    lr_schedule: str | None = None
    history: bool = False
    snapshots: bool = False
    grad_norms: bool = False
    dtype: str = "float32"
    hold: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        put = object.__setattr__
        widths = self.widths
        if isinstance(widths, numbers.Integral) and not isinstance(widths, bool):
            widths = (widths,)
        if not isinstance(widths, (tuple, list)) or not widths or not all(
                isinstance(w, numbers.Integral) and not isinstance(w, bool) and w >= 1
                for w in widths):
            raise _bad("widths", self.widths, "must be a non-empty sequence of integers >= 1",
                       "Pass hidden widths such as widths=(64, 64).")
        put(self, "widths", tuple(int(w) for w in widths))
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("init", self.init, INITS)
        _choice("loss", self.loss, LOSSES)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("norm", self.norm, NORMS)
        _choice("lr_schedule", self.lr_schedule, SCHEDULES)
        _choice("dtype", self.dtype, DTYPES)
        put(self, "init_scale", _real("init_scale", self.init_scale))
        put(self, "lr", _real("lr", self.lr, low=0.0, strict=True))
        put(self, "momentum", _real("momentum", self.momentum, low=0.0))
        if self.momentum >= 1:
            raise _bad("momentum", self.momentum, "must be < 1", "Use e.g. momentum=0.9.")
        put(self, "batch_size", _count("batch_size", self.batch_size, 1))
        put(self, "epochs", _count("epochs", self.epochs, 0))
        for name in ("l1", "l2", "weight_decay"):
            put(self, name, _real(name, getattr(self, name), low=0.0))
        put(self, "dropout", _real("dropout", self.dropout, low=0.0))
        if self.dropout >= 1:
            raise _bad("dropout", self.dropout, "must lie in [0, 1)", "Use e.g. dropout=0.5.")
        if self.clip_norm is not None:
            put(self, "clip_norm", _real("clip_norm", self.clip_norm, low=0.0, strict=True))
        for name in ("residual", "shared_hidden", "history", "snapshots", "grad_norms"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise _bad(name, getattr(self, name), "must be True or False", "Pass a bool.")
            put(self, name, bool(getattr(self, name)))
        hold = (self.hold,) if isinstance(self.hold, str) else self.hold
        if not isinstance(hold, (tuple, list)) or not set(hold) <= set(SOURCES):
            raise _bad("hold", self.hold, f"must name sources of randomness among {SOURCES}",
                       "Pass e.g. hold=('data',) to give every seed the same data sample.")
        put(self, "hold", tuple(sorted(set(hold), key=SOURCES.index)))
        if self.shared_hidden and (len(self.widths) < 2 or len(set(self.widths)) != 1):
            raise _bad("shared_hidden", True, f"needs >= 2 equal hidden widths, got "
                       f"widths={self.widths}", "Use equal widths such as (32, 32, 32).")

    def replace(self, **changes: Any) -> MLPSpec:
        """Return a copy with ``changes`` applied and validated.

        Examples
        --------
        >>> MLPSpec(widths=(4,)).replace(epochs=3).epochs
        3
        """
        names = [f.name for f in dataclasses.fields(self)]
        for key in changes:
            if key not in names:
                raise InvalidClaim(f"MLPSpec has no field {key!r}. Valid fields: {names}.")
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class TrainResult:
    """What one seed's training produced.

    Attributes
    ----------
    metrics : dict
        Classification: train_loss, train_accuracy, test_loss, test_accuracy,
        test_balanced_accuracy. Regression: train_loss, test_loss, train_mse, test_mse.
        Losses exclude the L1/L2 penalty. All NaN when ``diverged``.
    history : dict of list
        Per epoch, after it (empty unless ``spec.history``/``spec.grad_norms``); NaN from the
        epoch a run diverged in. ``grad_norm_<l>`` is the mean Frobenius norm of layer *l*'s
        weight gradient (penalty included, before clipping) over the epoch's steps.
    weights : list of numpy.ndarray
        Final weight matrices ``(in, out)`` per unique linear layer, float64. For a
        diverged run, the weights just before the step whose loss was not finite.
    biases : list of numpy.ndarray
        Final bias vectors ``(out,)`` per unique linear layer, float64, taken with
        ``weights`` (so a claim can rebuild the trained net's outputs, e.g. a regression's
        predictions); empty where a trainer does not record them.
    snapshots : list of list of numpy.ndarray
        Weights per completed epoch, element 0 the initial ones (when ``spec.snapshots``).
    diverged : bool
        A minibatch loss or a final metric was NaN/inf.
    wall_s : float
    """

    metrics: dict[str, float]
    history: dict[str, list[float]] = field(default_factory=dict)
    weights: list[np.ndarray] = field(default_factory=list)
    snapshots: list[list[np.ndarray]] = field(default_factory=list)
    diverged: bool = False
    wall_s: float = 0.0
    biases: list[np.ndarray] = field(default_factory=list)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self.metrics.items())
        return (f"TrainResult({shown}, diverged={self.diverged}, "
                f"weights={[w.shape for w in self.weights]}, epochs_recorded="
                f"{len(next(iter(self.history.values()), []))}, snapshots={len(self.snapshots)}, "
                f"wall_s={self.wall_s:.3g})")


def metric_names(n_classes: int) -> tuple[str, ...]:
    """The keys of :attr:`TrainResult.metrics` for a dataset with ``n_classes``."""
    if n_classes:
        return ("train_loss", "train_accuracy", "test_loss", "test_accuracy",
                "test_balanced_accuracy")
    return ("train_loss", "test_loss", "train_mse", "test_mse")


def history_names(n_classes: int) -> tuple[str, ...]:
    """The per-epoch history keys (before gradient norms)."""
    if n_classes:
        return ("train_loss", "train_accuracy", "test_loss", "test_accuracy")
    return ("train_loss", "test_loss", "train_mse", "test_mse")


def reference_loss(loss: str, out: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Mean loss of ``out`` against labels/targets ``y`` (torch.nn.functional semantics)."""
    import torch.nn.functional as F

    if loss == "constant":
        return 0.0 * out.sum() + 1.0
    if n_classes:
        if loss == "cross_entropy":
            return F.cross_entropy(out, y)
        if loss == "hinge":
            return F.multi_margin_loss(out, y)
        y = F.one_hot(y, n_classes).to(out.dtype)
    if loss == "mse":
        return F.mse_loss(out, y)
    if loss == "abs":
        return F.l1_loss(out, y)
    return ((out - y) ** 4).mean()


def _forward(spec: MLPSpec, layers: list[tuple[Any, Any]], plan: list[int], norms: list[Any],
             x: torch.Tensor, training: bool, masks: list[torch.Tensor] | None) -> torch.Tensor:
    h = x
    for j in range(len(spec.widths)):
        w, b = layers[plan[j]]
        z = h @ w + b
        if spec.norm:
            gamma, beta, running = norms[j]
            z = norm_apply(spec.norm, z, gamma, beta, running, training)
        a = activate(spec.activation, z)
        if masks is not None:
            a = a * masks[j]
        h = h + a if residual_at(spec, j) else a
    w, b = layers[plan[-1]]
    return h @ w + b


def _evaluate(loss: str, n_classes: int, out: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    value = float(reference_loss(loss, out, y, n_classes))
    if n_classes:
        acc, bal = classification_metrics(out.argmax(-1).cpu().numpy(), y.cpu().numpy(),
                                             n_classes)
        return {"loss": value, "accuracy": acc, "balanced_accuracy": bal}
    return {"loss": value, "mse": float(((out - y) ** 2).mean())}


def _split_metrics(n_classes: int, tr: dict[str, float], te: dict[str, float]) -> dict[str, float]:
    both = {f"train_{k}": v for k, v in tr.items()} | {f"test_{k}": v for k, v in te.items()}
    return {k: both[k] for k in metric_names(n_classes)}


def torch_optimizer(name: str, params: list[Any], lr: float, momentum: float = 0.9) -> Any:
    """Build the ``torch.optim`` optimiser behind an optimiser name."""
    import torch

    if name in ("sgd", "momentum", "nesterov"):
        m = 0.0 if name == "sgd" else momentum
        return torch.optim.SGD(params, lr=lr, momentum=m, nesterov=name == "nesterov")
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, eps=ADAGRAD_EPS)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=RMSPROP_ALPHA, eps=RMSPROP_EPS)
    return torch.optim.Adam(params, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS)


def data_tensors(data: Dataset, dtype: Any, device: Any) -> tuple[Any, Any, Any, Any]:
    """``(x_train, y_train, x_test, y_test)`` as tensors (labels int64, targets 2-D)."""
    import torch

    def ys(y: np.ndarray) -> torch.Tensor:
        if data.n_classes:
            return torch.as_tensor(np.asarray(y, dtype=np.int64), device=device)
        return torch.as_tensor(np.asarray(y).reshape(len(y), -1), dtype=dtype, device=device)

    def xs(x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x), device=device).to(dtype)

    return xs(data.x_train), ys(data.y_train), xs(data.x_test), ys(data.y_test)


def train(spec: MLPSpec, data: Dataset, *, seed: int, device: str = "cpu") -> TrainResult:
    """Train one seed of ``spec`` on ``data`` (the per-seed reference trainer).

    Parameters
    ----------
    spec : MLPSpec
    data : Dataset
    seed : int
        Drives the initial weights (``derive_seed(seed, "init")``), the shuffle order
        (``rng(seed, "shuffle")``) and the dropout masks (``derive_seed(seed, "dropout")``).
    device : str
        ``"cpu"`` or ``"cuda"``.

    Returns
    -------
    TrainResult
        A diverged run (non-finite minibatch loss) stops there with NaN metrics.

    Examples
    --------
    >>> from atomcheck.data import gaussian_mixture
    >>> r = train(MLPSpec(widths=(8,), epochs=2), gaussian_mixture(seed=0, n_train=40), seed=0)
    >>> sorted(r.metrics)[:2], len(r.weights)
    (['test_accuracy', 'test_balanced_accuracy'], 2)
    """
    check_data(spec, data)
    _ensure_torch()
    import torch

    t0 = time.perf_counter()
    dt, dev = torch_dtype(spec.dtype), torch.device(device)
    x, y, xt, yt = data_tensors(data, dt, dev)
    n, n_classes = len(x), data.n_classes
    sizes, plan = layer_plan(spec, data.n_features, output_size(data))
    layers = [(w.to(dt).to(dev).requires_grad_(), b.to(dt).to(dev).requires_grad_())
              for w, b in init_params(spec, sizes, seed)]
    weights = [w for w, _ in layers]
    params = [t for pair in layers for t in pair]
    norms: list[Any] = []
    for width in spec.widths if spec.norm else ():
        gamma = torch.ones(width, dtype=dt, device=dev, requires_grad=True)
        beta = torch.zeros(width, dtype=dt, device=dev, requires_grad=True)
        running = (torch.zeros(width, dtype=dt, device=dev), torch.ones(width, dtype=dt,
                   device=dev)) if spec.norm == "batch" else None
        norms.append((gamma, beta, running))
        params += [gamma, beta]
    opt = torch_optimizer(spec.optimizer, params, spec.lr, spec.momentum)
    shuffle = rng(stream_seed(seed, "order", spec.hold), "shuffle")
    dgen = dropout_generator(stream_seed(seed, "dropout", spec.hold)) if spec.dropout else None
    bs = min(spec.batch_size, n)
    keys = history_names(n_classes)
    history: dict[str, list[float]] = {k: [] for k in keys} if spec.history else {}
    history |= {f"grad_norm_{i}": [] for i in range(len(weights))} if spec.grad_norms else {}
    snapshots = [[tensor_to_numpy(w) for w in weights]] if spec.snapshots else []

    def evaluate(xx: torch.Tensor, yy: torch.Tensor) -> dict[str, float]:
        with torch.no_grad():
            return _evaluate(spec.loss, n_classes, _forward(spec, layers, plan, norms, xx,
                                                            False, None), yy)

    diverged = False
    for epoch in range(spec.epochs):
        lr = epoch_lr(spec, epoch)
        for group in opt.param_groups:
            group["lr"] = lr
        order = torch.as_tensor(shuffle.permutation(n), device=dev)
        blocks = [dropout_block(spec, dgen, n, w).to(dt).to(dev) for w in spec.widths
                  ] if dgen is not None else None
        gsum = [0.0] * len(weights)
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            masks = [blk[start:start + bs] for blk in blocks] if blocks is not None else None
            out = _forward(spec, layers, plan, norms, x[idx], True, masks)
            loss = reference_loss(spec.loss, out, y[idx], n_classes)
            if not math.isfinite(loss.item()):
                diverged = True
                break
            if spec.l1:
                loss = loss + spec.l1 * sum(w.abs().sum() for w in weights)
            if spec.l2:
                loss = loss + spec.l2 * sum((w * w).sum() for w in weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if spec.grad_norms:
                gsum = [s + float(torch.linalg.vector_norm(w.grad)) for s, w in zip(gsum, weights)]
            if spec.clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(params, spec.clip_norm)
            if spec.weight_decay:
                with torch.no_grad():
                    for w in weights:
                        w.mul_(1.0 - lr * spec.weight_decay)
            opt.step()
        if diverged:
            break
        if spec.history:
            tr, te = evaluate(x, y), evaluate(xt, yt)
            for k, v in _split_metrics(n_classes, tr, te).items():
                if k in history:
                    history[k].append(v)
        if spec.grad_norms:
            steps = math.ceil(n / bs)
            for i, s in enumerate(gsum):
                history[f"grad_norm_{i}"].append(s / steps)
        if spec.snapshots:
            snapshots.append([tensor_to_numpy(w) for w in weights])
    for values in history.values():
        values.extend([math.nan] * (spec.epochs - len(values)))
    metrics = _split_metrics(n_classes, evaluate(x, y), evaluate(xt, yt))
    if diverged or not all(math.isfinite(v) for v in metrics.values()):
        diverged = True
        metrics = {k: math.nan for k in metrics}
    return TrainResult(metrics, history, [tensor_to_numpy(w) for w in weights], snapshots,
                       diverged, time.perf_counter() - t0,
                       [tensor_to_numpy(b) for _, b in layers])


# -- tasks: what a sweep runs per seed -----------------------------------------------------------

_TRAIN_ARGS = ("loss", "optimizer", "lr", "batch_size", "epochs")


def _keywords(fn: Callable[..., Any], skip: tuple[str, ...] = ("seed",)) -> tuple[set[str], bool]:
    """Keyword parameter names of ``fn`` (minus ``skip``) and whether it takes ``**kwargs``."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return set(), True
    names = {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    return names - set(skip), any(p.kind is p.VAR_KEYWORD for p in params)


def _describe(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__name__


class Task:
    """A dataset builder plus a model spec: the unit a sweep trains for each seed.

    Parameters
    ----------
    data : callable
        ``data(seed=..., **kwargs) -> Dataset``, e.g. :func:`atomcheck.data.gaussian_mixture`.
    model : MLPSpec
        The base spec; sweep factors named like its fields override it.
    data_args : mapping
        Fixed keyword arguments for ``data``.
    metrics : callable, optional
        ``metrics(result) -> {name: value}``: extra metrics from the :class:`TrainResult`.
    name : str, optional
    device : str
        Device for the per-seed path (``task(seed, **config)``).

    Examples
    --------
    >>> from atomcheck.data import gaussian_mixture
    >>> from atomcheck.models import MLPSpec
    >>> task = Task(gaussian_mixture, MLPSpec(widths=(8,), epochs=2), data_args={"n_train": 40})
    >>> "batch_size" in task.factor_names() and "dims" in task.factor_names()
    True
    >>> sorted(task(0, batch_size=8))[:2]
    ['diverged', 'test_accuracy']
    """

    #: The sources of randomness a run draws from (each may be held: ``MLPSpec.hold``).
    sources: tuple[str, ...] = SOURCES

    def __init__(self, data: Callable[..., Dataset], model: MLPSpec, *,
                 data_args: Mapping[str, Any] | None = None,
                 metrics: Callable[[TrainResult], Mapping[str, float]] | None = None,
                 name: str | None = None, device: str = "cpu") -> None:
        if not callable(data):
            raise InvalidClaim(f"Task: data={data!r} must be a callable returning a Dataset, "
                               "e.g. atomcheck.data.gaussian_mixture.")
        if not isinstance(model, MLPSpec):
            raise InvalidClaim(f"Task: model={model!r} must be an MLPSpec. Pass e.g. "
                               "MLPSpec(widths=(64, 64)).")
        if metrics is not None and not callable(metrics):
            raise InvalidClaim(f"Task: metrics={metrics!r} must be callable(result) -> dict.")
        self.data, self.model, self.metrics = data, model, metrics
        self.data_args = dict(data_args or {})
        self.name = name or _describe(data)
        self.device = device
        self._spec_fields = frozenset(f.name for f in dataclasses.fields(MLPSpec))
        self._data_params, self._data_varkw = _keywords(data)
        clash = sorted(self._spec_fields & self._data_params)
        if clash:
            raise InvalidClaim(f"Task: data parameter(s) {clash} clash with MLPSpec fields, so "
                               "a factor of that name would be ambiguous. Rename them in data.")
        for key in self.data_args:
            if key not in self._data_params and not self._data_varkw:
                raise InvalidClaim(f"Task: data_args key {key!r} is not a parameter of "
                                   f"{_describe(data)}; valid: {sorted(self._data_params)}.")

    def __repr__(self) -> str:
        return (f"Task(name={self.name!r}, data={_describe(self.data)}, "
                f"data_args={self.data_args!r}, model={self.model!r})")

    def factor_names(self) -> frozenset[str]:
        """Names a sweep may vary: MLPSpec fields plus keyword parameters of ``data``."""
        return self._spec_fields | self._data_params

    def split_config(self, config: Mapping[str, Any]) -> tuple[dict[str, Any], MLPSpec]:
        """Split ``config`` into ``data`` keyword arguments and the overridden spec."""
        data_kwargs: dict[str, Any] = {}
        changes: dict[str, Any] = {}
        for key, value in config.items():
            if key in self._spec_fields:
                changes[key] = value
            elif key in self._data_params or self._data_varkw:
                data_kwargs[key] = value
            else:
                raise InvalidClaim(
                    f"Task {self.name!r}: unknown factor {key!r}; it is neither an MLPSpec "
                    f"field nor a parameter of {_describe(self.data)}. Valid names: "
                    f"{sorted(self.factor_names())}.")
        return data_kwargs, self.model.replace(**changes) if changes else self.model

    def dataset(self, seed: int, config: Mapping[str, Any]) -> Dataset:
        """The dataset seed ``seed`` trains on under ``config`` (the same for every seed
        when the spec holds the ``data`` source fixed)."""
        data_kwargs, spec = self.split_config(config)
        return self.data(seed=stream_seed(seed, "data", spec.hold),
                         **(self.data_args | data_kwargs))

    def result_metrics(self, result: TrainResult) -> dict[str, float]:
        """The metric dict for one result: its metrics, extra metrics and ``diverged``."""
        out = dict(result.metrics)
        if self.metrics is not None:
            try:
                extra = self.metrics(result)
            except Exception:
                if not result.diverged:
                    raise
                extra = {}
            out |= {str(k): float(v) for k, v in extra.items()}
        out["diverged"] = float(result.diverged)
        return out

    def run(self, seed: int, config: Mapping[str, Any], device: str | None = None, *,
            reference: bool = False) -> dict[str, float]:
        """Train seed ``seed`` alone and return its metrics.

        By default on the batched engine with a batch of one, so the numbers are those the
        seed gets in any batched sweep, bit for bit (a row's arithmetic never depends on
        the rows batched with it); a spec the engine cannot express, or
        ``reference=True``, trains on the per-seed trainer :func:`train` (equal to the
        engine to rounding).
        """
        spec = self.split_config(config)[1]
        data, dev = self.dataset(seed, config), device or self.device
        if not reference:
            # The one way up, inside this method (declared in the import-linter contracts).
            from atomcheck.engine import supports, train_batched

            if supports(spec) is None:
                return self.result_metrics(train_batched(spec, [data], [seed], device=dev)[0])
        return self.result_metrics(train(spec, data, seed=seed, device=dev))

    def __call__(self, seed: int, **config: Any) -> dict[str, float]:
        """Train seed ``seed`` under ``config`` (never raises on divergence)."""
        return self.run(seed, config)


class _GenericTask:
    """A per-seed callable built by :func:`module_task` or :func:`sklearn_task`.

    ``sources`` are the sources of randomness its runs draw from; when ``defaults`` has a
    ``hold``, the factor ``hold`` (routed before the factory's own keywords) holds some of
    them fixed, and ``source_reasons`` says why any other source cannot be held.
    """

    def __init__(self, kind: str, factory: Callable[..., Any], data: Callable[..., Dataset],
                 data_args: Mapping[str, Any], defaults: Mapping[str, Any],
                 body: Callable[[int, dict[str, Any], dict[str, Any], Dataset], dict[str, float]],
                 auto: tuple[str, ...], extra_factors: tuple[str, ...] = (),
                 sources: tuple[str, ...] = SOURCES,
                 source_reasons: Mapping[str, str] | None = None) -> None:
        self.kind, self.factory, self.data, self.body = kind, factory, data, body
        self.sources, self.source_reasons = tuple(sources), dict(source_reasons or {})
        self.data_args, self.defaults = dict(data_args), dict(defaults)
        if "hold" in self.defaults:
            self.defaults["hold"] = self._hold(self.defaults["hold"])
        # Training arguments a config may set that have no default here (the tools).
        self.extra_factors = frozenset(extra_factors)
        self._fparams, self._fvarkw = _keywords(factory, ("seed", *auto))
        self._dparams, self._dvarkw = _keywords(data)

    def __repr__(self) -> str:
        return f"{self.kind}({_describe(self.factory)}, data={_describe(self.data)})"

    def factor_names(self) -> frozenset[str]:
        """Names a sweep may vary: factory parameters, training arguments, data parameters."""
        return frozenset(self._fparams | set(self.defaults) | self.extra_factors |
                         self._dparams)

    def _hold(self, hold: Any) -> tuple[str, ...]:
        return check_hold(hold, sources=self.sources, where=f"{self.kind}: hold",
                          reasons=self.source_reasons)

    def dataset(self, seed: int, config: Mapping[str, Any]) -> Dataset:
        """The dataset seed ``seed`` trains on under ``config`` (one sample for every seed
        when ``hold`` names ``"data"``)."""
        _, tkw, dkw = self.split_config(config)
        return self.data(seed=stream_seed(seed, "data", tkw.get("hold", ())), **dkw)

    def __call__(self, seed: int, **config: Any) -> dict[str, float]:
        """Train seed ``seed`` under ``config`` alone and return its metrics."""
        fkw, tkw, _ = self.split_config(config)
        return self.body(seed, fkw, tkw, self.dataset(seed, config))

    def split_config(self, config: Mapping[str, Any]
                     ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """Route ``config`` to the factory's keywords, the training arguments (defaults
        filled in) and the data's keywords; an unknown name is an :class:`InvalidClaim`."""
        fkw: dict[str, Any] = {}
        tkw = dict(self.defaults)
        dkw = dict(self.data_args)
        for key, value in config.items():
            if key == "hold" and "hold" in self.defaults:  # the library's, not the factory's
                tkw[key] = self._hold(value)
            elif key in self._fparams:
                fkw[key] = value
            elif key in self.defaults or key in self.extra_factors:
                tkw[key] = value
            elif key in self._dparams:
                dkw[key] = value
            elif self._fvarkw:
                fkw[key] = value
            elif self._dvarkw:
                dkw[key] = value
            else:
                raise InvalidClaim(f"{self!r}: unknown factor {key!r}. Valid names: "
                                   f"{sorted(self.factor_names())}.")
        return fkw, tkw, dkw


def module_task(factory: Callable[..., Any], data: Callable[..., Dataset], *,
                data_args: Mapping[str, Any] | None = None, loss: str = "cross_entropy",
                optimizer: str = "sgd", lr: float = 0.01, batch_size: int = 32,
                epochs: int = 20, hold: Sequence[str] = (),
                **tools: Any) -> Callable[..., dict[str, float]]:
    """Wrap an ``nn.Module`` factory into ``fn(seed, **config) -> metrics`` (per seed).

    Config keys go to ``factory`` when it accepts them, else to the training arguments
    (``loss``, ``optimizer``, ``lr``, ``batch_size``, ``epochs`` and the training tools
    of :func:`atomcheck.engine.modules.train_modules`, ``engine.modules.TOOL_NAMES``:
    ``clip_norm``, ``clip_value``, ``lr_schedule``, ``early_stopping``, ...), else to
    ``data``. ``tools`` sets those tools for every configuration (a config key of the same
    name wins). The factory also receives ``n_features``/``n_classes``/``seed`` if it names
    them; it is built under torch's global RNG seeded from ``derive_seed(seed, "init")``
    inside ``torch.random.fork_rng`` (global state is restored).

    ``fn(seed)`` trains that seed alone on the module path of
    :mod:`atomcheck.engine.modules` (a seed axis of one; per seed where the module cannot
    be batched), so it gives exactly what seed ``seed`` gives in a batched sweep: the same
    data order (``rng(seed, "shuffle")``) and dropout masks (``derive_seed(seed,
    "dropout")``).

    ``hold`` (also a factor, ``hold=[(), ("data",)]``) holds sources of randomness fixed
    across seeds, as ``MLPSpec(hold=...)`` does: a held source draws the same stream
    (:data:`atomcheck.seeding.HELD_SEED`'s) for every seed. ``"data"``: the dataset
    sample; ``"init"``: the factory's seed (its initial weights; the factory's ``seed``
    argument is this stream's); ``"order"``: the mini-batch order; ``"dropout"``: the
    dropout masks (and torch's global RNG, which other stochastic layers draw from on the
    per-seed loop). ``fn(seed)`` and a batched sweep agree under any hold.

    Returns
    -------
    callable
        ``fn(seed, **config)`` returning the :class:`TrainResult` metric keys plus
        ``diverged`` (and ``stopped_epoch`` under ``early_stopping``); it has
        ``factor_names()``.

    Examples
    --------
    >>> import torch
    >>> from atomcheck.data import gaussian_mixture
    >>> fn = module_task(lambda n_features, n_classes: torch.nn.Linear(n_features, n_classes),
    ...                  gaussian_mixture, data_args={"n_train": 40}, epochs=2)
    >>> fn(0)["diverged"]
    0.0
    """
    # The engine's module path (the one import of the engine from this module, declared in
    # pyproject's layers contract; it loads no torch): a seed alone trains on the same path
    # as in a batched sweep, and its tool names are the factors a config may set.
    from atomcheck.engine.modules import TOOL_NAMES, train_modules

    MLPSpec(widths=(1,), loss=loss, optimizer=optimizer, lr=lr, batch_size=batch_size,
            epochs=epochs)  # validates the training arguments
    unknown = sorted(set(tools) - set(TOOL_NAMES))
    if unknown:
        raise InvalidClaim(f"module_task: unknown keyword(s) {unknown}; training tools are "
                           f"{list(TOOL_NAMES)}.")
    auto = ("n_features", "n_classes")

    def body(seed: int, fkw: dict[str, Any], tkw: dict[str, Any], ds: Dataset
             ) -> dict[str, float]:
        spec = MLPSpec(widths=(1,), **{k: tkw[k] for k in _TRAIN_ARGS})
        check_data(spec, ds)
        return train_modules(factory, [ds], [seed], factory_kwargs=fkw,
                             label=f"module_task({_describe(factory)})", **tkw).metrics[0]

    defaults = dict(zip(_TRAIN_ARGS, (loss, optimizer, lr, batch_size, epochs))) | tools
    defaults["hold"] = hold
    return _GenericTask("module_task", factory, data, data_args or {}, defaults, body, auto,
                        extra_factors=TOOL_NAMES)


#: Why a scikit-learn estimator has no order or dropout stream of its own to hold.
_SKLEARN_NOT_SOURCES = {
    "order": ("sklearn_task hands the training rows to fit in the dataset's order (part of "
              "the 'data' source), and an estimator that shuffles them itself (shuffle=True) "
              "draws that order from its random_state (the 'init' source), so there is no "
              "separate order stream. Hold 'data' or 'init' instead."),
    "dropout": ("scikit-learn estimators draw no dropout masks. Drop 'dropout' from hold "
                "(an estimator's own randomness is the 'init' source)."),
}


def sklearn_task(estimator_factory: Callable[..., Any], data: Callable[..., Dataset], *,
                 data_args: Mapping[str, Any] | None = None,
                 hold: Sequence[str] = ()) -> Callable[..., dict[str, float]]:
    """Wrap a scikit-learn estimator factory into ``fn(seed, **config) -> metrics``.

    Config keys go to the factory when it accepts them, else to ``data``. An estimator
    with a ``random_state`` parameter gets one derived from the seed.

    Two sources of randomness, each of which ``hold`` (also a factor) can hold fixed
    across seeds: ``"data"``, the dataset sample, and ``"init"``, the estimator's
    ``random_state`` — everything the estimator draws itself (initial weights, its own
    shuffling of the rows, bootstrap samples, feature subsets). ``"order"`` and
    ``"dropout"`` are refused with the reason: the rows go to ``fit`` in the dataset's
    order, and an estimator has no dropout.

    Returns
    -------
    callable
        ``fn(seed, **config)`` returning ``train_accuracy``, ``test_accuracy`` and
        ``test_balanced_accuracy`` (regression data: ``train_mse``, ``test_mse``).

    Examples
    --------
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from atomcheck.data import gaussian_mixture
    >>> fn = sklearn_task(DecisionTreeClassifier, gaussian_mixture)
    >>> fn(0, max_depth=2)["train_accuracy"] <= 1.0
    True
    """

    def body(seed: int, fkw: dict[str, Any], tkw: dict[str, Any], ds: Dataset
             ) -> dict[str, float]:
        est = estimator_factory(**fkw)
        if not hasattr(est, "fit") or not hasattr(est, "predict"):
            raise InvalidClaim(f"sklearn_task: the factory returned {type(est).__name__}, "
                               "which has no fit/predict. Return a scikit-learn estimator.")
        if "random_state" in est.get_params():
            own = stream_seed(seed, "init", tkw.get("hold", ()))
            est.set_params(random_state=derive_seed(own, "sklearn") % (2**31 - 1))
        y_train = np.asarray(ds.y_train)
        est.fit(ds.x_train, y_train if ds.n_classes else y_train.ravel())
        p_tr, p_te = est.predict(ds.x_train), est.predict(ds.x_test)
        if not ds.n_classes:
            return {"train_mse": float(np.mean((p_tr.ravel() - y_train.ravel()) ** 2)),
                    "test_mse": float(np.mean((p_te.ravel() - np.ravel(ds.y_test)) ** 2))}
        acc_tr, _ = classification_metrics(p_tr, ds.y_train, ds.n_classes)
        acc_te, bal = classification_metrics(p_te, ds.y_test, ds.n_classes)
        return {"train_accuracy": acc_tr, "test_accuracy": acc_te, "test_balanced_accuracy": bal}

    return _GenericTask("sklearn_task", estimator_factory, data, data_args or {},
                        {"hold": hold}, body, (), sources=("data", "init"),
                        source_reasons=_SKLEARN_NOT_SOURCES)
