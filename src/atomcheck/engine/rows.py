"""The row axis of the batched engine: runs of consecutive rows that share a setting.

A *row* is one (configuration, seed) pair. Rows never mix: every reduction in the engine
runs within a row, so a row's numbers do not depend on which other rows share the batch
(the engine relies on this to drop diverged rows without disturbing the others, and the
result cache to store one entry per seed; what else that takes, bit for bit, is in the
engine's package docstring). The engine sorts rows so that those sharing an activation,
loss or optimiser setting are contiguous; ops that depend on the setting are applied once
per such *run*.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable, Sequence

    import torch

__all__ = ["Run", "per_run", "runs_of"]

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
