"""Conventions shared by the per-seed trainer and the batched engine.

Both paths must draw the same initial weights, use the same learning rate per epoch,
the same layer plan and the same dropout masks, or the equality test between them
means nothing. Everything here is spec-level and framework-light; torch is imported
inside functions only.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from atomcheck.errors import InvalidClaim
from atomcheck.seeding import derive_seed

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from atomcheck.data import Dataset
    from atomcheck.models import MLPSpec

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
CLIP_EPS = 1e-6  # as torch.nn.utils.clip_grad_norm_


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

    gen = torch.Generator().manual_seed(derive_seed(seed, "init"))
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
                    rm.mul_(1 - BN_MOMENTUM).add_(mean.detach().reshape(rm.shape), alpha=BN_MOMENTUM)
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
    acc = float(np.mean(pred == y))
    recalls = [float(np.mean(pred[y == c] == c)) for c in range(max(n_classes, 1)) if np.any(y == c)]
    return acc, float(np.mean(recalls)) if recalls else float("nan")


def tensor_to_numpy(t: Any) -> np.ndarray:
    """A float64 numpy copy of a tensor (any device)."""
    return t.detach().to("cpu").double().numpy().copy()
