"""Batched math for :mod:`atomcheck.engine`: every tensor carries a leading row axis.

A *row* is one (configuration, seed) pair. Rows never mix: every reduction here runs
within a row, so a row's numbers do not depend on which other rows share the batch
(the engine relies on this to drop diverged rows without disturbing the others).

Rows sharing an activation, loss or optimiser setting form contiguous *runs*; ops that
depend on the setting are applied per run.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from atomcheck import _engine_common as _c

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable, Sequence

    import torch

    from atomcheck.models import MLPSpec

Run = tuple[int, int, Any]  # rows [start, stop) sharing a key


def runs_of(keys: Sequence[Any]) -> list[Run]:
    """Maximal runs of equal consecutive keys as ``(start, stop, key)``."""
    out: list[Run] = []
    for i, key in enumerate(keys):
        if out and out[-1][2] == key:
            out[-1] = (out[-1][0], i + 1, key)
        else:
            out.append((i, i + 1, key))
    return out


def per_run(runs: list[Run], fn: Callable[..., torch.Tensor], *tensors: torch.Tensor
            ) -> torch.Tensor:
    """Apply ``fn(key, *row_slices)`` per run and concatenate along rows."""
    import torch

    if len(runs) == 1:
        return fn(runs[0][2], *tensors)
    return torch.cat([fn(key, *(t[s:e] for t in tensors)) for s, e, key in runs])


def act_backward(name: str, da: torch.Tensor, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Gradient through activation ``name`` given its input ``z`` and output ``a``."""
    import torch

    aten = torch.ops.aten
    if name == "relu":
        return aten.threshold_backward.default(da, a, 0)
    if name == "leaky_relu":
        return aten.leaky_relu_backward.default(da, z, _c.LEAKY_SLOPE, False)
    if name == "elu":
        return aten.elu_backward.default(da, 1.0, 1, 1, False, z)
    if name == "tanh":
        return aten.tanh_backward.default(da, a)
    if name == "sigmoid":
        return aten.sigmoid_backward.default(da, a)
    if name == "sign":
        return torch.zeros_like(da)
    if name == "square":
        return (da * z).mul_(2.0)
    if name == "sin":
        return da * torch.cos(z)
    return da


def row_loss(loss: str, out: torch.Tensor, labels: torch.Tensor | None,
             target: torch.Tensor) -> torch.Tensor:
    """Per-row mean loss ``(R,)`` with the semantics of :func:`atomcheck.models.reference_loss`.

    ``labels`` are ``(R, b)`` class indices (None for regression); ``target`` is the
    one-hot ``(R, b, C)`` for classes or the regression targets ``(R, b, o)``.
    """
    import torch

    if loss == "constant":
        return 0.0 * out.sum(dim=(1, 2)) + 1.0
    if loss == "cross_entropy":
        assert labels is not None
        ls = torch.log_softmax(out, -1)
        return -ls.gather(-1, labels.unsqueeze(-1)).mean(dim=(1, 2))
    if loss == "hinge":
        assert labels is not None
        out_y = out.gather(-1, labels.unsqueeze(-1))
        margin = ((1.0 - out_y) + out).clamp_min(0.0)
        margin = torch.where(target.bool(), torch.zeros_like(margin), margin)
        return (margin.sum(-1) / out.shape[-1]).mean(-1)
    d = out - target
    if loss == "mse":
        return (d * d).mean(dim=(1, 2))
    if loss == "abs":
        return d.abs().mean(dim=(1, 2))
    return (d**4).mean(dim=(1, 2))


def check_limit(loss: str, dtype: torch.dtype) -> float:
    """Rows are confirmed with :func:`row_loss` when :func:`loss_grad`'s check is not below
    this (logits this large can overflow ``log_softmax`` or a hinge margin)."""
    import torch

    return torch.finfo(dtype).max / 4 if loss in ("cross_entropy", "hinge") else math.inf


def loss_grad(loss: str, out: torch.Tensor, target: torch.Tensor
              ) -> tuple[torch.Tensor, float, torch.Tensor]:
    """``(g, scale, check)`` with ``g * scale`` the gradient of the per-row mean loss.

    The constant ``scale`` is left to the caller (the fused SGD update folds it into the
    learning rate). ``check`` is a non-negative scalar that is not below
    :func:`check_limit` whenever some row's loss is NaN/inf (it may also be so
    spuriously; callers then confirm with :func:`row_loss`).
    """
    import torch

    b, n_out = out.shape[1], out.shape[2]
    vnorm = torch.linalg.vector_norm
    if loss == "cross_entropy":
        return torch.softmax(out, -1).sub_(target), 1.0 / b, vnorm(out, math.inf)
    if loss == "constant":
        return torch.zeros_like(out), 1.0, vnorm(out, 1)
    if loss == "hinge":
        out_y = (out * target).sum(-1, keepdim=True)
        hit = (((1.0 - out_y) + out) > 0).to(out.dtype).mul_(1.0 - target)
        return (hit.sub_(target * hit.sum(-1, keepdim=True)), 1.0 / (n_out * b),
                vnorm(out, math.inf))
    d = out - target
    scale = 1.0 / (b * n_out)
    if loss == "mse":
        return d, 2.0 * scale, vnorm(d)
    if loss == "abs":
        return d.sign(), scale, vnorm(d, 1)
    return d.pow(3), 4.0 * scale, vnorm(d, 4)


def forward_activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The fastest eager implementation of activation ``name`` (same values as
    :func:`atomcheck._engine_common.activate`)."""
    import torch

    fast = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
            "sin": torch.sin, "sign": torch.sign, "square": torch.square}
    if name in fast:
        return fast[name]
    return lambda z: _c.activate(name, z)


class Optimizer:
    """Element-wise optimisers over row-stacked parameters, one settings run at a time.

    Matches ``torch.optim`` (SGD with/without (Nesterov) momentum, Adagrad, RMSprop, Adam)
    per row, plus the L1/L2 penalty gradients, per-row global-norm clipping and decoupled
    weight decay that :func:`atomcheck.models.train` applies around ``opt.step()``.
    """

    STATE = {"sgd": (), "momentum": ("buf",), "nesterov": ("buf",), "adagrad": ("sum",),
             "rmsprop": ("sq",), "adam": ("m", "v")}

    def __init__(self, params: list[torch.Tensor], weights: list[torch.Tensor],
                 specs: Sequence[MLPSpec]) -> None:
        import torch

        self.params, self.weights = params, weights
        names = {n for s in specs for n in self.STATE[s.optimizer]}
        self.state = {n: [torch.zeros_like(p) for p in params] for n in sorted(names)}
        self.step_count = 0
        self.set_runs(specs)

    def set_runs(self, specs: Sequence[MLPSpec]) -> None:
        """(Re)compute the runs of rows sharing optimiser settings."""
        def key(s: MLPSpec) -> tuple[Any, ...]:
            return (s.optimizer, s.lr, s.momentum, s.lr_schedule, s.epochs, s.l1, s.l2,
                    s.weight_decay, s.clip_norm)

        self.runs = runs_of([key(s) for s in specs])
        self.run_specs = [specs[s] for s, _, _ in self.runs]
        whole = len(self.runs) == 1
        self.views = [self._slice(self.params, s, e, whole) for s, e, _ in self.runs]
        self.weight_views = [self._slice(self.weights, s, e, whole) for s, e, _ in self.runs]
        self.state_views = [{n: self._slice(v, s, e, whole) for n, v in self.state.items()}
                            for s, e, _ in self.runs]

    @staticmethod
    def _slice(ts: list[torch.Tensor], s: int, e: int, whole: bool) -> list[torch.Tensor]:
        return ts if whole else [t[s:e] for t in ts]

    def select(self, keep: torch.Tensor, specs: Sequence[MLPSpec]) -> None:
        """Keep only rows ``keep`` (params were already replaced by the caller)."""
        self.state = {n: [t.index_select(0, keep) for t in v] for n, v in self.state.items()}
        self.set_runs(specs)

    def step(self, grads: list[torch.Tensor], weight_grads: list[torch.Tensor], epoch: int,
             grad_norm_acc: torch.Tensor | None) -> None:
        """Apply one update in ``epoch`` (which sets each run's scheduled learning rate).

        ``weight_grads`` are the parts of ``grads`` (views) that belong to weights, which
        the penalties, decay and gradient-norm records apply to.
        """
        import torch

        self.step_count += 1
        whole = len(self.runs) == 1
        for (s, e, _), spec, params, w, state in zip(self.runs, self.run_specs, self.views,
                                                     self.weight_views, self.state_views):
            lr = _c.epoch_lr(spec, epoch)
            g = self._slice(grads, s, e, whole)
            gw = self._slice(weight_grads, s, e, whole)
            if spec.l1:
                torch._foreach_add_(gw, torch._foreach_sign(w), alpha=spec.l1)
            if spec.l2:
                torch._foreach_add_(gw, w, alpha=2.0 * spec.l2)
            if grad_norm_acc is not None:
                norms = [torch.linalg.vector_norm(x, dim=(1, 2)) for x in gw]
                grad_norm_acc[s:e].add_(torch.stack(norms, 1))
            if spec.clip_norm is not None:
                total = torch.linalg.vector_norm(
                    torch.stack([torch.linalg.vector_norm(x, dim=(1, 2)) for x in g]), dim=0)
                coef = (spec.clip_norm / (total + _c.CLIP_EPS)).clamp_(max=1.0)
                torch._foreach_mul_(g, [coef.view(-1, 1, 1)] * len(g))
            if spec.weight_decay:
                torch._foreach_mul_(w, 1.0 - lr * spec.weight_decay)
            self._update(spec, lr, params, g, state)

    def _update(self, spec: MLPSpec, lr: float, p: list[torch.Tensor], g: list[torch.Tensor],
                st: dict[str, list[torch.Tensor]]) -> None:
        import torch

        name = spec.optimizer
        if name == "sgd":
            torch._foreach_add_(p, g, alpha=-lr)
        elif name in ("momentum", "nesterov"):
            buf = st["buf"]
            torch._foreach_mul_(buf, spec.momentum)
            torch._foreach_add_(buf, g)
            step = torch._foreach_add(g, buf, alpha=spec.momentum) if name == "nesterov" else buf
            torch._foreach_add_(p, step, alpha=-lr)
        elif name == "adagrad":
            torch._foreach_addcmul_(st["sum"], g, g, value=1.0)
            std = torch._foreach_sqrt(st["sum"])
            torch._foreach_add_(std, _c.ADAGRAD_EPS)
            torch._foreach_addcdiv_(p, g, std, value=-lr)
        elif name == "rmsprop":
            sq, alpha = st["sq"], _c.RMSPROP_ALPHA
            torch._foreach_mul_(sq, alpha)
            torch._foreach_addcmul_(sq, g, g, value=1.0 - alpha)
            avg = torch._foreach_sqrt(sq)
            torch._foreach_add_(avg, _c.RMSPROP_EPS)
            torch._foreach_addcdiv_(p, g, avg, value=-lr)
        else:
            (b1, b2), n = _c.ADAM_BETAS, self.step_count
            torch._foreach_lerp_(st["m"], g, 1.0 - b1)
            torch._foreach_mul_(st["v"], b2)
            torch._foreach_addcmul_(st["v"], g, g, value=1.0 - b2)
            denom = torch._foreach_sqrt(st["v"])
            torch._foreach_div_(denom, (1.0 - b2**n) ** 0.5)
            torch._foreach_add_(denom, _c.ADAM_EPS)
            torch._foreach_addcdiv_(p, st["m"], denom, value=-(lr / (1.0 - b1**n)))
