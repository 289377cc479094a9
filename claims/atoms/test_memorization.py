"""Memorisation (000_07dadddd682b9602.txt §5, "12 atoms of deep learning").

Open settings. §5 fixes the data (a 6-d Gaussian mixture, random labels, growing sizes)
and says nothing about the net or its training; "fitted" has no threshold either. Rule,
fixed before running any alternative: the learning rate one factor 3 toward the document's
own notebook value (Adam lr=0.003, against our 0.01), and, since the claim is about the
net's capacity, twice the hidden width (64 units against 32; atoms.memorization.capacity
only, for time). For atoms.memorization.speed
the "fitted" threshold is open as well: 0.90 and 1.00 on either side of our 0.95 (they
change only the metric read, not the training).
"""

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
    """Epochs until training accuracy first reaches TARGET (101 = never: censored), and the
    same at the open thresholds 0.90 and 1.00."""
    epochs = epochs_to_target(result.history, "train_accuracy", TARGET)
    return {"epochs_to_fit": epochs,
            "epochs_to_fit_090": epochs_to_target(result.history, "train_accuracy", 0.90),
            "epochs_to_fit_100": epochs_to_target(result.history, "train_accuracy", 1.00),
            "censored": float(epochs > len(result.history["train_accuracy"]))}


#: The open settings of both claims (module docstring).
OPEN_SETTINGS = [{"lr": 0.003}, {"widths": (64,)}]


CAPACITY_TASK = Task(gaussian_mixture, MEMORIZATION_SPEC,
                     data_args={**DATA, "random_labels": True},
                     name="atoms.memorization.capacity")
SPEED_TASK = Task(gaussian_mixture, MEMORIZATION_SPEC.replace(history=True),
                  data_args={**DATA, "n_train": INSIDE_CAPACITY}, metrics=fit_speed,
                  name="atoms.memorization.speed")


@pytest.mark.claim(claim_id="atoms.memorization.capacity", sources=[SOURCE], seeds=10,
                   robust_over=OPEN_SETTINGS)
def test_memorization_capacity(claim):
    """Training accuracy on random labels falls as the dataset grows (finite capacity).

    Protocol: the document's data (two 6-d Gaussians, identity covariance, means 1 apart
    in each dimension) with every training label replaced by a fair coin flip, at 25,
    50, 100, 200 and 400 training points (drawn per seed). Net 6-32-2, ReLU, Xavier
    init, cross-entropy, Adam lr=0.01, batch 32, 100 epochs: the same net and budget at
    every size (a larger set gets more steps, which can only help it memorise). Metric:
    accuracy on the (random) training labels. Open settings: lr=0.003 and 64 hidden
    units (module docstring). Test: Page's L along size, seeds as blocks, one-sided
    "falls". Not strict: the document measures training accuracy "as the dataset grows"
    to find the capacity, with no claim that every size step lowers it, and sizes inside
    the capacity tie at 1.0.

    Finding: mean training accuracy at 25, 50, 100, 200, 400 points is 1.00, 0.99, 0.92,
    0.88, 0.81 (base), 0.97, 0.89, 0.80, 0.74, 0.72 (lr=0.003) and 1.00, 1.00, 0.96, 0.95,
    0.89 (64 units): no single level carries the fall; the sizes the net fits completely
    are the ones that tie. The capacity is the budget's as much as the width's: at lr=0.003
    this net no longer fits even 25 points in every seed. The document put its net's
    capacity near 150.
    """
    claim.sweep(CAPACITY_TASK, n_train=[25, 50, 100, 200, 400])
    claim.expect(Falls("train_accuracy", along="n_train"))


@pytest.mark.claim(claim_id="atoms.memorization.speed", sources=[SOURCE], seeds=10,
                   robust_over=[{"lr": 0.003}, {"metric": "epochs_to_fit_090"},
                                {"metric": "epochs_to_fit_100"}])
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
    0.95 rather than 1.0: "fitted" should not hinge on the last one or two points; the
    thresholds 0.90 and 1.00 are open settings (module docstring), as is lr=0.003. The
    64-unit setting is run by the capacity claim only, for time (about 0.5 s); run once
    here at 10 seeds it gave the same verdict (32 against 12 epochs). Test: one-sided
    Wilcoxon signed-rank, random > true.

    Result: random labels take longer under every setting, every seed slower. Mean epochs
    to 0.95: 51 against 14 (base) and 100.5 against 37.5 at lr=0.003, where 9 of 10
    random-label runs never reach 0.95 (censored at 101); to 0.90: 31 against 7; to 1.00:
    79 against 38 (the true labels too need memorising the few points on the wrong side
    of the Bayes boundary to reach 1.00).
    """
    labels = {"true": {"random_labels": False}, "random": {"random_labels": True}}
    claim.sweep(SPEED_TASK, labels=labels)
    claim.expect(Beats("epochs_to_fit", along="labels", a="random", b="true"))
