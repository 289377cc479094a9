"""Memorisation (000_07dadddd682b9602.txt §5, "12 atoms of deep learning")."""

from __future__ import annotations

import pytest

from atomcheck import Beats, Falls
from atomcheck.data import gaussian_mixture
from atomcheck.metrics import epochs_to_target
from atomcheck.models import MLPSpec, Task, TrainResult

pytestmark = pytest.mark.atoms

SOURCE = "000_07dadddd682b9602.txt §5"
#: Training accuracy that counts as "fitted" (all but 5% of the training points).
TARGET = 0.95
#: A size the net memorises completely in its budget (see atoms.memorization.capacity).
INSIDE_CAPACITY = 50

#: The §5 data: two 6-d Gaussians, means 1 apart in every dimension.
DATA = {"dims": 6, "offset": 1.0, "n_test": 50}
#: One small net and recipe for both claims: 6-32-2 ReLU, Adam lr=0.01, batch 32, 100 epochs.
MEMORIZATION_SPEC = MLPSpec(widths=(32,), activation="relu", loss="cross_entropy",
                            optimizer="adam", lr=0.01, batch_size=32, epochs=100)


def fit_speed(result: TrainResult) -> dict[str, float]:
    """Epochs until training accuracy first reaches TARGET (101 = never: censored)."""
    epochs = epochs_to_target(result.history, "train_accuracy", TARGET)
    return {"epochs_to_fit": epochs,
            "censored": float(epochs > len(result.history["train_accuracy"]))}


CAPACITY_TASK = Task(gaussian_mixture, MEMORIZATION_SPEC,
                     data_args={**DATA, "random_labels": True},
                     name="atoms.memorization.capacity")
SPEED_TASK = Task(gaussian_mixture, MEMORIZATION_SPEC.replace(history=True),
                  data_args={**DATA, "n_train": INSIDE_CAPACITY}, metrics=fit_speed,
                  name="atoms.memorization.speed")


@pytest.mark.claim(claim_id="atoms.memorization.capacity", sources=[SOURCE], seeds=10)
def test_memorization_capacity(claim):
    """Training accuracy on random labels falls as the dataset grows (finite capacity).

    Protocol: the document's data (two 6-d Gaussians, identity covariance, means 1 apart
    in each dimension) with every training label replaced by a fair coin flip, at 25,
    50, 100, 200 and 400 training points (drawn per seed). Net 6-32-2, ReLU, Xavier
    init, cross-entropy, Adam lr=0.01, batch 32, 100 epochs: the same net and budget at
    every size (a larger set gets more steps, which can only help it memorise). Metric:
    accuracy on the (random) training labels. Test: Page's L along size, seeds as
    blocks, one-sided "falls". In exploration this net memorised 25-50 points
    completely and about 90% of 100; the document put its net's capacity near 150.
    """
    claim.sweep(CAPACITY_TASK, n_train=[25, 50, 100, 200, 400])
    claim.expect(Falls("train_accuracy", along="n_train"))


@pytest.mark.claim(claim_id="atoms.memorization.speed", sources=[SOURCE], seeds=10)
def test_memorization_speed(claim):
    """Random labels take more epochs to fit than true labels.

    Protocol: 50 training points (inside the capacity measured by
    atoms.memorization.capacity: the net fits them completely), with their true labels
    or with fair-coin labels. The features are the same draw in both arms (the random
    labels replace only y), so the arms pair by seed. Same net and recipe as the
    capacity claim, with per-epoch history. Metric: the first epoch at which training
    accuracy reaches 0.95 (atomcheck.metrics.epochs_to_target). Censoring rule: a run
    that never reaches 0.95 in its 100 epochs is counted as 101, one past the budget, so
    it ranks after every run that did (the extra metric ``censored`` records how many).
    0.95 rather than 1.0: "fitted" should not hinge on the last one or two points.
    Test: one-sided Wilcoxon signed-rank, random > true.

    Result: random labels took about 50 epochs to reach 0.95 against 14-19 for true
    labels (10 and 30 seeds), every seed slower with random labels; no run was censored.
    """
    labels = {"true": {"random_labels": False}, "random": {"random_labels": True}}
    claim.sweep(SPEED_TASK, labels=labels)
    claim.expect(Beats("epochs_to_fit", along="labels", a="random", b="true"))
