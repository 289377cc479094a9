"""Batch size (000_07dadddd682b9602.txt §8, "12 atoms of deep learning")."""

from __future__ import annotations

import pytest

from atomcheck import Falls
from atomcheck.data import gaussian_mixture
from atomcheck.models import MLPSpec, Task

pytestmark = pytest.mark.atoms

SOURCE = "000_07dadddd682b9602.txt §8"
BATCH_SIZES = [1, 4, 16, 64, 400]

#: The §8 experiment: 12-d mixture, means 1 apart per dimension, 400 train / 100 test.
BATCH_SIZE_TASK = Task(
    gaussian_mixture,
    MLPSpec(widths=(64, 64), activation="relu", init="xavier_uniform", loss="cross_entropy",
            optimizer="sgd", lr=0.01, epochs=20),
    data_args={"dims": 12, "offset": 1.0, "n_train": 400, "n_test": 100},
    name="atoms.batch_size",
)


@pytest.mark.claim(claim_id="atoms.batch_size.accuracy", sources=[SOURCE], seeds=10)
def test_batch_size_accuracy(claim):
    """Test accuracy falls as batch size grows (learning rate untuned).

    Protocol: the document's data (two 12-d Gaussians, identity covariance, means 1 apart
    in every dimension; 400 train / 100 test, drawn per seed). MLP 12-64-64-2, ReLU, Xavier
    uniform init, cross-entropy, plain SGD at lr=0.01 for every batch size (the document
    did not tune it, and neither do we), 20 epochs. Batch sizes 1, 4, 16, 64, 400. Seeds are
    paired: seed *s* draws the same data and initial weights at every batch size.
    Test: Page's L on test accuracy, seeds as blocks, one-sided "falls".

    Finding to read with the verdict: with a fixed epoch budget the large batches take
    far fewer steps (20 at batch 400 against 8,000 at batch 1), so this measures
    "fewer updates at an untuned rate", as the document itself suspects.
    """
    claim.sweep(BATCH_SIZE_TASK, batch_size=BATCH_SIZES)
    claim.expect(Falls("test_accuracy", along="batch_size"))
