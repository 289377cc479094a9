"""Readings of a training trajectory: how fast, how far, how large the steps.

Optimisation claims ("Adam reaches a low loss faster", "a near-zero gradient does not mean
training is done", "AdaGrad's steps shrink") read the per-epoch history of a run
(:attr:`atomcheck.models.TrainResult.history`, ``snapshots``), not only its final metrics.
These functions turn such a history into one number per run, with a stated treatment of
runs that diverged (NaN), so that a claim's metric is defined for every seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["loss_progress", "epochs_to_reach", "global_grad_norms", "fall_after_small_gradient",
           "update_sizes", "effective_steps"]

#: The accumulator each adaptive torch.optim optimiser divides by, and its eps (atomcheck's
#: settings: ``engine.modules`` builds Adagrad with eps=1e-10, RMSprop with eps=1e-8).
ADAPTIVE_STATE = {"adagrad": ("sum", 1e-10), "rmsprop": ("square_avg", 1e-8)}


def loss_progress(final: float, initial: float) -> float:
    """Share of the initial loss a run removed: ``1 - min(final, initial) / initial``.

    A run that diverged (``final`` not finite) or ended above where it started made no
    progress: 0. So the value lies in [0, 1] and a diverged run is the worst possible,
    which lets a claim whose prediction *is* divergence ("too large a rate diverges",
    "without clipping it blows up") compare it with finite runs.

    Parameters
    ----------
    final, initial : float
        The loss at the end and at the start (``initial`` > 0).

    Examples
    --------
    >>> loss_progress(0.5, 2.0), loss_progress(float("nan"), 2.0), loss_progress(3.0, 2.0)
    (0.75, 0.0, 0.0)
    """
    if not (math.isfinite(initial) and initial > 0):
        raise ValueError(f"initial={initial!r} must be a finite loss > 0.")
    if not math.isfinite(final):
        return 0.0
    return 1.0 - min(float(final), float(initial)) / float(initial)


def epochs_to_reach(losses: Sequence[float], target: float) -> float:
    """Epochs a run needed for its loss to reach ``target`` (``losses[e]`` after epoch e+1).

    Returns the first ``e + 1`` with ``losses[e] <= target``; a run that never gets there
    (or diverged first: NaN) gets ``len(losses) + 1``, one more than the budget, so it
    ranks behind every run that arrived.

    Examples
    --------
    >>> epochs_to_reach([2.0, 1.0, 0.4, 0.3], 0.5), epochs_to_reach([2.0, float("nan")], 0.5)
    (3.0, 3.0)
    """
    for e, value in enumerate(losses):
        if not math.isfinite(value):
            break
        if value <= target:
            return float(e + 1)
    return float(len(losses) + 1)


def global_grad_norms(history: Mapping[str, Sequence[float]]) -> np.ndarray:
    """Per-epoch norm of the whole weight gradient from ``grad_norm_<l>`` history columns.

    ``TrainResult.history`` records each layer's mean weight-gradient norm per epoch; with
    one step per epoch (full batch) the root sum of their squares is the norm of the
    gradient over all weight matrices (biases excluded).

    Examples
    --------
    >>> global_grad_norms({"grad_norm_0": [3.0, 0.0], "grad_norm_1": [4.0, 1.0]}).tolist()
    [5.0, 1.0]
    """
    keys = sorted((k for k in history if k.startswith("grad_norm_")),
                  key=lambda k: int(k.rsplit("_", 1)[1]))
    if not keys:
        raise ValueError("history has no grad_norm_<l> columns; train with grad_norms=True.")
    return np.sqrt(sum(np.asarray(history[k], dtype=float) ** 2 for k in keys))


def fall_after_small_gradient(losses: Sequence[float], grad_norms: Sequence[float], *,
                              rel_tol: float = 0.01) -> float:
    """How much the loss still fell after the first epoch whose gradient was near zero.

    "Near zero" is relative to the run: a gradient norm at most ``rel_tol`` times the
    largest the run reached. With ``t`` the first such epoch (where a stopping rule
    "a near-zero gradient means training is done" would stop), the result is the relative
    fall from there to the end, ``(losses[t] - losses[-1]) / losses[t]``: how much that
    rule would have left on the table. A run with no such epoch, or that diverged (a
    non-finite loss at ``t`` or at the end), gives 0.

    Examples
    --------
    >>> fall_after_small_gradient([2.3, 2.0, 2.2, 1.0, 0.2], [1.0, 0.005, 1.0, 2.0, 0.01])
    0.9
    """
    g = np.asarray(grad_norms, dtype=float)
    loss = np.asarray(losses, dtype=float)
    if g.shape != loss.shape or g.size == 0:
        raise ValueError("losses and grad_norms must be equally long, non-empty sequences.")
    if not 0 < rel_tol < 1:
        raise ValueError(f"rel_tol={rel_tol!r} must lie in (0, 1).")
    finite = np.isfinite(g)
    if not finite.any():
        return 0.0
    near = np.nonzero(finite & (g <= rel_tol * np.max(g[finite])))[0]
    if near.size == 0:
        return 0.0
    start, end = loss[near[0]], loss[-1]
    if not (math.isfinite(start) and math.isfinite(end)) or start <= 0:
        return 0.0
    return float((start - end) / start)


def update_sizes(snapshots: Sequence[Sequence[Any]]) -> np.ndarray:
    """Mean absolute weight change per epoch from weight snapshots.

    ``snapshots[e]`` holds the weight matrices after epoch ``e`` (``snapshots[0]`` the
    initial ones, as ``TrainResult.snapshots``); entry ``e`` of the result is the mean
    ``|W_{e+1} - W_e|`` over every weight of every matrix: the size of the steps the
    optimiser took in epoch ``e + 1``.

    Examples
    --------
    >>> import numpy as np
    >>> update_sizes([[np.zeros(2)], [np.ones(2)], [np.ones(2) * 1.5]]).tolist()
    [1.0, 0.5]
    """
    if len(snapshots) < 2:
        raise ValueError("update_sizes needs at least two snapshots (train with snapshots=True).")
    flat = [np.concatenate([np.ravel(np.asarray(w, dtype=float)) for w in snap])
            for snap in snapshots]
    return np.array([float(np.mean(np.abs(b - a))) for a, b in zip(flat, flat[1:])])


def effective_steps(optimizer_state: Mapping[str, Any], optimizer: str, lr: float) -> np.ndarray:
    """Per-seed median effective step ``lr / (sqrt(r) + eps)`` of an adaptive optimiser.

    ``optimizer_state`` is a ``torch.optim`` ``state_dict`` over seed-stacked parameters
    (the ``"optimizer"`` entry of :func:`atomcheck.engine.modules.train_modules`'s
    ``run.state``): every state tensor has the seed axis first. ``r`` is AdaGrad's running
    sum of squared gradients or RMSProp's moving average of them; the result holds, per
    seed, the median over all parameter elements of the step that multiplies the gradient.

    Examples
    --------
    >>> import torch
    >>> state = {"state": {0: {"sum": torch.tensor([[4.0, 16.0, 1.0], [1.0, 1.0, 1.0]])}}}
    >>> effective_steps(state, "adagrad", 1.0).round(6).tolist()
    [0.5, 1.0]
    """
    if optimizer not in ADAPTIVE_STATE:
        raise ValueError(f"optimizer={optimizer!r}: effective steps are defined here for "
                         f"{sorted(ADAPTIVE_STATE)}.")
    key, eps = ADAPTIVE_STATE[optimizer]
    tensors = [st[key] for st in optimizer_state["state"].values() if key in st]
    if not tensors:
        raise ValueError(f"the optimiser state has no {key!r} entries: not {optimizer}'s state.")
    flat = np.concatenate([t.detach().cpu().double().numpy().reshape(t.shape[0], -1)
                           for t in tensors], axis=1)
    return np.median(lr / (np.sqrt(flat) + eps), axis=1)
