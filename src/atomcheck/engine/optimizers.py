"""Element-wise optimisers over row-stacked parameters (no ``torch.optim``).

Every update runs per row with a handful of ``torch._foreach_*`` calls, one run of rows
sharing optimiser settings at a time, and matches ``torch.optim`` (and the penalties,
clipping and decay :func:`atomcheck.models.train` applies around ``opt.step()``) per row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from atomcheck.engine.rows import runs_of
from atomcheck.models import (ADAGRAD_EPS, ADAM_BETAS, ADAM_EPS, RMSPROP_ALPHA, RMSPROP_EPS,
                              epoch_lr)

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence

    import torch

    from atomcheck.models import MLPSpec

__all__ = ["CLIP_EPS", "Optimizer"]

CLIP_EPS = 1e-6  # as torch.nn.utils.clip_grad_norm_


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
                    s.weight_decay, s.clip_norm, s.grad_norms)

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
             grad_norm_acc: torch.Tensor | None, skip: frozenset[int] = frozenset()) -> None:
        """Apply one update in ``epoch`` (which sets each run's scheduled learning rate).

        ``weight_grads`` are the parts of ``grads`` (views) that belong to weights, which
        the penalties, decay and gradient-norm records apply to. Runs whose index is in
        ``skip`` were already updated (plain SGD folded into the backward pass).
        """
        import torch

        self.step_count += 1
        whole = len(self.runs) == 1
        for run, ((s, e, _), spec, params, w, state) in enumerate(zip(
                self.runs, self.run_specs, self.views, self.weight_views, self.state_views)):
            if run in skip:
                continue
            lr = epoch_lr(spec, epoch)
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
                coef = (spec.clip_norm / (total + CLIP_EPS)).clamp_(max=1.0)
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
            torch._foreach_add_(std, ADAGRAD_EPS)
            torch._foreach_addcdiv_(p, g, std, value=-lr)
        elif name == "rmsprop":
            sq, alpha = st["sq"], RMSPROP_ALPHA
            torch._foreach_mul_(sq, alpha)
            torch._foreach_addcmul_(sq, g, g, value=1.0 - alpha)
            avg = torch._foreach_sqrt(sq)
            torch._foreach_add_(avg, RMSPROP_EPS)
            torch._foreach_addcdiv_(p, g, avg, value=-lr)
        else:
            (b1, b2), n = ADAM_BETAS, self.step_count
            torch._foreach_lerp_(st["m"], g, 1.0 - b1)
            torch._foreach_mul_(st["v"], b2)
            torch._foreach_addcmul_(st["v"], g, g, value=1.0 - b2)
            denom = torch._foreach_sqrt(st["v"])
            torch._foreach_div_(denom, (1.0 - b2**n) ** 0.5)
            torch._foreach_add_(denom, ADAM_EPS)
            torch._foreach_addcdiv_(p, st["m"], denom, value=-(lr / (1.0 - b1**n)))
