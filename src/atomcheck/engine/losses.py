"""Per-row losses of the batched engine and their hand-written gradients.

:func:`row_loss` is the exact per-row loss (the semantics of
:func:`atomcheck.models.reference_loss`, used to confirm divergence and for evaluation);
:func:`loss_grad` is the fast gradient the training step uses, with a cheap check that
flags rows whose loss may be NaN/inf.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from atomcheck.engine.elementwise import tail_free

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["check_limit", "loss_grad", "row_loss"]


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
    return tail_free(lambda t: t**4, d).mean(dim=(1, 2))  # pow's tail: see elementwise


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
