"""The batched engine's parameters: every row's initial draws, stacked on a leading axis.

Each row draws its initial weights exactly as :func:`atomcheck.models.train` does
(:func:`atomcheck.models.init_params`, from ``derive_seed(seed, "init")``). The engine
keeps a linear layer's weight and bias in one *augmented* matrix ``(rows, in + 1, out)``
whose last row is the bias; the hand-written path trains views into it, while the
autograd path (normalisation layers) needs separate leaf tensors. Normalisation layers
add an affine ``gamma``/``beta`` per hidden layer and, for batch norm, running statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from atomcheck.models import init_params

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from atomcheck.models import MLPSpec

__all__ = ["augmented_init", "join_params", "norm_params", "split_params"]

Tensors = list["torch.Tensor"]


def augmented_init(specs: Sequence[MLPSpec], seeds: Sequence[int], sizes: list[tuple[int, int]],
                   dtype: torch.dtype, device: torch.device) -> Tensors:
    """One augmented matrix ``(rows, in + 1, out)`` per unique layer: row ``r`` holds the
    initial weight and bias (last row) that ``specs[r]`` draws with ``seeds[r]``."""
    import torch

    inits = [init_params(s, sizes, seed) for s, seed in zip(specs, seeds)]
    return [torch.stack([torch.cat([i[u][0], i[u][1][None]]) for i in inits]).to(
        device=device, dtype=dtype).contiguous() for u in range(len(sizes))]


def norm_params(n_rows: int, spec: MLPSpec, dtype: torch.dtype, device: torch.device
                ) -> tuple[Tensors, Tensors, list[tuple[torch.Tensor, torch.Tensor]]]:
    """``(gamma, beta, running)`` of ``spec``'s normalisation layers for ``n_rows`` rows.

    ``gamma`` (ones) and ``beta`` (zeros) are ``(rows, 1, width)`` per hidden layer when
    ``spec.norm`` is set; ``running`` (mean zeros, variance ones) only for batch norm.
    """
    import torch

    shape = [(n_rows, 1, w) for w in (spec.widths if spec.norm else ())]
    gamma = [torch.ones(s, dtype=dtype, device=device) for s in shape]
    beta = [torch.zeros(s, dtype=dtype, device=device) for s in shape]
    running = [(torch.zeros(s, dtype=dtype, device=device),
                torch.ones(s, dtype=dtype, device=device))
               for s in (shape if spec.norm == "batch" else ())]
    return gamma, beta, running


def split_params(wa: Tensors, gamma: Tensors, beta: Tensors, autograd: bool
                 ) -> tuple[Tensors, Tensors, Tensors]:
    """``(W, B, params)`` over the augmented matrices ``wa``.

    Without autograd, ``W``/``B`` are views into ``wa`` and the optimiser updates ``wa``
    itself; with autograd they are separate leaves and ``params`` also holds the
    normalisation layers' ``gamma`` and ``beta``.
    """
    if autograd:
        w = [m[:, :-1].contiguous().requires_grad_() for m in wa]
        b = [m[:, -1:].contiguous().requires_grad_() for m in wa]
        params = [*w, *b, *gamma, *beta]
        for p in params:
            p.requires_grad_(True)
        return w, b, params
    return [m[:, :-1] for m in wa], [m[:, -1:] for m in wa], list(wa)


def join_params(w: Tensors, b: Tensors) -> Tensors:
    """The augmented matrices of separate (autograd) weight and bias leaves, detached."""
    import torch

    return [torch.cat([wu, bu], 1).detach() for wu, bu in zip(w, b)]
