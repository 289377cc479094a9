"""Derived metrics (atomcheck.metrics) against hand-computed answers and their errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from atomcheck.metrics import (
    balanced_accuracy,
    epochs_to_target,
    layer_weight_change,
    mean_abs_weight,
    near_zero_share,
)


# -- near_zero_share ------------------------------------------------------------------------
def test_near_zero_share_counts_over_every_matrix() -> None:
    weights = [np.array([[0.0, 0.5], [0.009, -0.009]]), np.array([2.0, -0.02, 0.001, 1.0])]
    # |w| < 0.01: 0.0, 0.009, -0.009, 0.001 -> 4 of 8
    assert near_zero_share(weights, threshold=0.01) == 0.5


def test_near_zero_share_threshold_is_strict() -> None:
    assert near_zero_share([np.array([0.01, -0.01, 0.0])], threshold=0.01) == pytest.approx(1 / 3)


def test_near_zero_share_accepts_lists_and_ints() -> None:
    assert near_zero_share([[0, 1, 2, 3]], threshold=0.5) == 0.25


@pytest.mark.parametrize("threshold", [0.0, -1.0, math.nan])
def test_near_zero_share_rejects_a_bad_threshold(threshold: float) -> None:
    with pytest.raises(ValueError, match="threshold"):
        near_zero_share([np.ones(3)], threshold=threshold)


def test_near_zero_share_rejects_no_weights() -> None:
    with pytest.raises(ValueError, match="empty"):
        near_zero_share([])


# -- mean_abs_weight ------------------------------------------------------------------------
def test_mean_abs_weight_weights_every_entry_equally() -> None:
    # Not the mean of per-matrix means: 6 entries in all, sum of |w| = 1+3+2*4 = 12.
    weights = [np.array([1.0, -3.0]), np.full((2, 2), -2.0)]
    assert mean_abs_weight(weights) == 2.0


def test_mean_abs_weight_of_zeros_is_zero() -> None:
    assert mean_abs_weight([np.zeros((3, 4))]) == 0.0


def test_mean_abs_weight_rejects_no_weights() -> None:
    with pytest.raises(ValueError, match="empty"):
        mean_abs_weight([])


# -- epochs_to_target -----------------------------------------------------------------------
def test_epochs_to_target_is_one_based_and_first_hit() -> None:
    history = {"train_accuracy": [0.96, 0.5, 0.97]}
    assert epochs_to_target(history, "train_accuracy", 0.95) == 1.0


def test_epochs_to_target_counts_reaching_the_target_exactly() -> None:
    assert epochs_to_target({"acc": [0.1, 0.9]}, "acc", 0.9) == 2.0


def test_epochs_to_target_censors_at_budget_plus_one() -> None:
    assert epochs_to_target({"acc": [0.1, 0.2, 0.3]}, "acc", 0.9) == 4.0


def test_epochs_to_target_never_reached_through_nan() -> None:
    # A diverged tail (NaN) never meets the target.
    assert epochs_to_target({"acc": [0.5, math.nan, math.nan]}, "acc", 0.9) == 4.0


def test_epochs_to_target_of_empty_history_is_one() -> None:
    assert epochs_to_target({"acc": []}, "acc", 0.9) == 1.0


def test_epochs_to_target_names_the_missing_key() -> None:
    with pytest.raises(ValueError, match=r"history=True"):
        epochs_to_target({"train_loss": [1.0]}, "train_accuracy", 0.9)


# -- layer_weight_change --------------------------------------------------------------------
def test_layer_weight_change_is_relative_to_final_scale() -> None:
    snaps = [[np.zeros(2), np.full(2, 4.0)],
             [np.ones(2), np.full(2, 2.0)],
             [np.full(2, 2.0), np.full(2, 2.0)]]
    # layer 0: steps 1 and 1, final scale 2 -> 0.5; layer 1: steps 2 and 0, scale 2 -> 0.5
    assert layer_weight_change(snaps) == [0.5, 0.5]


def test_layer_weight_change_last_keeps_only_the_last_epochs() -> None:
    snaps = [[np.zeros(2), np.full(2, 4.0)],
             [np.ones(2), np.full(2, 2.0)],
             [np.full(2, 2.0), np.full(2, 2.0)]]
    assert layer_weight_change(snaps, last=1) == [0.5, 0.0]
    assert layer_weight_change(snaps, last=2) == layer_weight_change(snaps)


def test_layer_weight_change_averages_absolute_changes() -> None:
    # Opposite moves do not cancel: |+1| and |-1| both count.
    snaps = [[np.array([0.0, 0.0])], [np.array([1.0, -1.0])]]
    assert layer_weight_change(snaps) == [1.0]


def test_layer_weight_change_handles_matrices_of_different_shapes() -> None:
    rng = np.random.default_rng(0)
    first = [rng.standard_normal((3, 4)), rng.standard_normal((4, 2))]
    second = [w + 0.1 for w in first]
    out = layer_weight_change([first, second])
    assert len(out) == 2
    for w, value in zip(second, out):
        assert value == pytest.approx(0.1 / np.mean(np.abs(w)))


def test_layer_weight_change_of_an_all_zero_layer_is_nan() -> None:
    snaps = [[np.zeros(3), np.ones(3)], [np.zeros(3), np.ones(3)]]
    out = layer_weight_change(snaps)
    assert math.isnan(out[0]) and out[1] == 0.0


def test_layer_weight_change_needs_two_snapshots() -> None:
    with pytest.raises(ValueError, match="snapshots=True"):
        layer_weight_change([[np.ones(2)]])


# -- balanced_accuracy ----------------------------------------------------------------------
def test_balanced_accuracy_is_the_mean_recall() -> None:
    # class 0: 3/4 right, class 1: 1/2 right -> (0.75 + 0.5) / 2
    assert balanced_accuracy([0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 0]) == 0.625


def test_balanced_accuracy_of_a_constant_guess_is_chance() -> None:
    assert balanced_accuracy([0, 0, 0, 1], [0, 0, 0, 0]) == 0.5
    assert balanced_accuracy([0, 1, 2, 2], [2, 2, 2, 2]) == pytest.approx(1 / 3)


def test_balanced_accuracy_ignores_classes_absent_from_the_truth() -> None:
    # A predicted class that never occurs in y_true adds no recall term.
    assert balanced_accuracy([0, 0], [0, 3]) == 0.5


def test_balanced_accuracy_matches_scikit_learn() -> None:
    from sklearn.metrics import balanced_accuracy_score

    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 3, size=200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 3, size=200))
    assert balanced_accuracy(y_true, y_pred) == pytest.approx(
        balanced_accuracy_score(y_true, y_pred))
