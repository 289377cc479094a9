"""Early stopping with patience on a validation curve, and the curves to apply it to.

The documents' rule (003: "terminate if the best classification accuracy doesn't improve
for quite some time", e.g. no-improvement-in-ten; 004: stop when the validation error
stops falling) reads a held-out validation set every epoch. :func:`patience_stop` applies
it to a recorded per-epoch curve. Training never reads held-out data and each epoch
continues from the previous one, so a net stopped after epoch *e* is exactly the net a
longer run had after epoch *e*: one run to the full budget with per-epoch records yields
both the stopped net's metrics and the fully trained net's, paired exactly.

:func:`validation_curves` records those curves for every seed at once on the batched
engine: each seed trains one row, scored every epoch on its training data, its held-out
validation part and its test part (:func:`atomcheck.toolbox.holdout.validation_split`).
(It used to train two identical rows per seed, one scored on each part: the same
numbers at twice the training cost.)

(The module path's ``train_modules(early_stopping=N)`` is a different rule: patience on
the training loss, with no validation data; it stops a run that has stalled, not one that
has started to overfit.)

Examples
--------
>>> patience_stop([0.5, 0.7, 0.6, 0.7, 0.65], patience=2)
StopPoint(stop_epoch=4, best_epoch=2)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from atomcheck.errors import InvalidClaim
from atomcheck.toolbox.holdout import validation_split

if TYPE_CHECKING:  # pragma: no cover
    from atomcheck.data import Dataset
    from atomcheck.models import MLPSpec

__all__ = ["StopPoint", "patience_stop", "Curves", "validation_curves"]


@dataclass(frozen=True)
class StopPoint:
    """Where a patience rule stops.

    Attributes
    ----------
    stop_epoch : int
        Epochs trained when it stops (1-based; the curve's length if it never stops).
    best_epoch : int
        The epoch (1-based) of the best value seen up to the stop (the first of equals).
    """

    stop_epoch: int
    best_epoch: int


def patience_stop(curve: Sequence[float], patience: int, *, greater: bool = True,
                  min_delta: float = 0.0) -> StopPoint:
    """Apply no-improvement-in-``patience`` to a per-epoch validation curve.

    After each epoch the rule compares the value with the best so far; a value that beats
    it by more than ``min_delta`` becomes the best, otherwise the wait grows by one; the
    run stops at the epoch where the wait reaches ``patience``. A NaN (diverged) epoch
    never improves.

    Parameters
    ----------
    curve : sequence of float
        The monitored value after epochs 1, 2, ...
    patience : int
        Epochs without improvement before stopping (>= 1).
    greater : bool
        True for accuracy (higher is better), False for a loss.
    min_delta : float
        The smallest change that counts as an improvement.

    Examples
    --------
    >>> patience_stop([0.9, 0.8, 0.85, 0.7], patience=2, greater=False)
    StopPoint(stop_epoch=4, best_epoch=4)
    >>> patience_stop([0.9, 0.8, 0.85, 0.86], patience=2, greater=False)
    StopPoint(stop_epoch=4, best_epoch=2)
    """
    if not isinstance(patience, int) or isinstance(patience, bool) or patience < 1:
        raise InvalidClaim(f"patience_stop: patience={patience!r} must be an integer >= 1.")
    values = [float(v) for v in curve]
    if not values:
        raise InvalidClaim("patience_stop: the curve is empty.")
    best, best_epoch, wait = -math.inf, 0, 0
    for epoch, v in enumerate(values, start=1):
        score = (v if greater else -v) if math.isfinite(v) else -math.inf
        if best_epoch == 0 or score > best + min_delta:
            best, best_epoch, wait = score, epoch, 0
        else:
            wait += 1
        if wait >= patience:
            return StopPoint(epoch, best_epoch)
    return StopPoint(len(values), best_epoch)


@dataclass(frozen=True)
class Curves:
    """Per-epoch records of one seed's run (index 0 = after epoch 1).

    Attributes
    ----------
    train_loss, train_accuracy, validation_loss, validation_accuracy, test_loss,
    test_accuracy : numpy.ndarray
    """

    train_loss: np.ndarray
    train_accuracy: np.ndarray
    validation_loss: np.ndarray
    validation_accuracy: np.ndarray
    test_loss: np.ndarray
    test_accuracy: np.ndarray

    def at(self, epoch: int) -> dict[str, float]:
        """Every record after ``epoch`` (1-based)."""
        return {name: float(getattr(self, name)[epoch - 1]) for name in (
            "train_loss", "train_accuracy", "validation_loss", "validation_accuracy",
            "test_loss", "test_accuracy")}


def validation_curves(spec: MLPSpec, datasets: Sequence[Dataset], seeds: Sequence[int], *,
                      share: float = 0.5, device: str = "cpu") -> list[Curves]:
    """Train ``spec`` on every seed's dataset (all seeds batched) and record per epoch the
    training, validation and test loss and accuracy (classification).

    Each dataset's held-out part is split by :func:`validation_split` (``share`` to
    validation); each seed trains once and is scored on both parts after every epoch.
    """
    from atomcheck.engine import resolve_device, supports
    from atomcheck.models import _ensure_torch, check_data

    if not all(d.n_classes for d in datasets):
        raise InvalidClaim("validation_curves: needs classification datasets.")
    if len(datasets) != len(seeds):
        raise InvalidClaim(f"validation_curves: {len(datasets)} datasets for {len(seeds)} "
                           "seeds; pass one dataset per seed.")
    recorded = spec.replace(history=True)
    reason = supports(recorded)
    if reason is not None:
        raise InvalidClaim(f"validation_curves: the batched engine cannot train {spec!r}: "
                           f"{reason}.")
    parts = [validation_split(d, share) for d in datasets]
    for val, test in parts:
        check_data(recorded, val)
        check_data(recorded, test)
    # One torch thread unless the caller chose otherwise, as train_batched_configs does:
    # torch's default of two threads made this run ~5x more CPU on a loaded 2-core machine.
    _ensure_torch()
    run = _validation_run_class()([recorded] * len(seeds), [p[1] for p in parts],
                                  [p[0] for p in parts], list(seeds), resolve_device(device))
    out = []
    for r in run.run():
        h = r.history
        out.append(Curves(*(np.asarray(h[k]) for k in (
            "train_loss", "train_accuracy", "validation_loss", "validation_accuracy",
            "test_loss", "test_accuracy"))))
    return out


def _validation_run_class() -> type:
    """A :class:`~atomcheck.engine.run.BatchedRun` that also scores a validation set after
    every epoch (built lazily: the engine imports torch)."""
    import torch

    from atomcheck.engine.run import BatchedRun
    from atomcheck.models import classification_metrics

    class ValidationRun(BatchedRun):  # type: ignore[misc]
        """Rows train on ``datasets`` (test part = the claim's test set) and are scored
        on ``validation[r]``'s held-out part too; a retired (diverged) row's validation
        tensors leave the batch with its other data."""

        def __init__(self, specs: Sequence[MLPSpec], datasets: Sequence[Dataset],
                     validation: Sequence[Dataset], seeds: Sequence[int], device: str
                     ) -> None:
            super().__init__(specs, datasets, seeds, device)
            x = np.stack([np.asarray(v.x_test) for v in validation])
            y = np.stack([np.asarray(v.y_test).astype(np.int64) for v in validation])
            self.data["xv"] = self._put(torch.as_tensor(x))
            self.data["yv"] = torch.as_tensor(y, device=self.dev)

        def _history_keys(self) -> tuple[str, ...]:
            return (*super()._history_keys(), "validation_loss", "validation_accuracy")

        def evaluate(self) -> list[dict[str, float]]:
            rows = super().evaluate()
            if not rows:
                return rows
            lab = self.data["yv"]
            with torch.no_grad():
                out = self._forward(self.data["xv"], False, None)
                loss = self._row_losses(out, lab, self._targets(lab, lab)).cpu().numpy()
                pred = out.argmax(-1).cpu().numpy()
            y = lab.cpu().numpy()
            for r, m in enumerate(rows):
                m["validation_loss"] = float(loss[r])
                m["validation_accuracy"] = classification_metrics(pred[r], y[r],
                                                                  self.n_classes)[0]
            return rows

    return ValidationRun
