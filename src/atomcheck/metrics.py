"""Derived metrics that claims read from a training run: pure numpy, no torch.

Each function takes what :class:`atomcheck.models.TrainResult` carries (final weights,
per-epoch history, weight snapshots) so that claims share one definition instead of
copying it into each test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "near_zero_share",
    "mean_abs_weight",
    "epochs_to_target",
    "layer_weight_change",
    "balanced_accuracy",
]


def _flat(weights: Sequence[np.ndarray]) -> np.ndarray:
    if len(weights) == 0:
        raise ValueError("`weights` is empty; the run recorded no weight matrix.")
    return np.concatenate([np.asarray(w, dtype=np.float64).ravel() for w in weights])


def near_zero_share(weights: Sequence[np.ndarray], threshold: float = 1e-2) -> float:
    """Share of weights with ``|w| < threshold`` (biases excluded by the caller).

    Examples
    --------
    >>> near_zero_share([np.array([[0.0, 0.5], [0.001, -2.0]])], threshold=0.01)
    0.5
    """
    if not threshold > 0:
        raise ValueError(f"`threshold` must be > 0; got {threshold!r}.")
    flat = _flat(weights)
    return float(np.mean(np.abs(flat) < threshold))


def mean_abs_weight(weights: Sequence[np.ndarray]) -> float:
    """Mean absolute value over every weight.

    Examples
    --------
    >>> mean_abs_weight([np.array([1.0, -3.0])])
    2.0
    """
    return float(np.mean(np.abs(_flat(weights))))


def epochs_to_target(history: Mapping[str, Sequence[float]], key: str, target: float) -> float:
    """First epoch (1-based) at which ``history[key] >= target``; ``len + 1`` if never.

    Never reaching the target is counted as one epoch past the budget, so that a slower
    run always ranks after a faster one (a censored value, stated in claims that use it).

    Examples
    --------
    >>> epochs_to_target({"train_accuracy": [0.5, 0.8, 0.99]}, "train_accuracy", 0.95)
    3.0
    >>> epochs_to_target({"train_accuracy": [0.5, 0.6]}, "train_accuracy", 0.95)
    3.0
    """
    if key not in history:
        raise ValueError(f"history has no {key!r}; recorded: {sorted(history)}. "
                         "Train with MLPSpec(history=True).")
    values = np.asarray(history[key], dtype=np.float64)
    hits = np.flatnonzero(values >= target)
    return float(hits[0] + 1) if hits.size else float(values.size + 1)


def layer_weight_change(snapshots: Sequence[Sequence[np.ndarray]], *, last: int | None = None
                        ) -> list[float]:
    """Mean absolute epoch-to-epoch weight change per layer, relative to the layer's scale.

    ``snapshots[e][l]`` is layer *l*'s weight matrix after epoch *e* (0 = initial). For
    each layer, the mean |W_e − W_{e-1}| over the last ``last`` epochs (all by default),
    divided by the mean |W| of the final weights, so layers of different sizes compare.

    Examples
    --------
    >>> snaps = [[np.zeros(2), np.ones(2)], [np.ones(2), np.ones(2)]]
    >>> layer_weight_change(snaps)
    [1.0, 0.0]
    """
    if len(snapshots) < 2:
        raise ValueError("need >= 2 snapshots; train with MLPSpec(snapshots=True, epochs>=1).")
    window = snapshots if last is None else snapshots[-(last + 1):]
    out = []
    for layer in range(len(snapshots[0])):
        steps = [np.mean(np.abs(np.asarray(b[layer]) - np.asarray(a[layer])))
                 for a, b in zip(window[:-1], window[1:])]
        scale = float(np.mean(np.abs(np.asarray(snapshots[-1][layer]))))
        out.append(float(np.mean(steps)) / scale if scale > 0 else math.nan)
    return out


def balanced_accuracy(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """Mean per-class recall.

    Examples
    --------
    >>> balanced_accuracy([0, 0, 0, 1], [0, 0, 0, 0])
    0.5
    """
    t, p = np.asarray(y_true), np.asarray(y_pred)
    recalls = [np.mean(p[t == c] == c) for c in np.unique(t)]
    return float(np.mean(recalls))
