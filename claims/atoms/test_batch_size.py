"""Batch size (000_07dadddd682b9602.txt §8, "12 atoms of deep learning")."""

from __future__ import annotations

import functools

import pytest

from atomcheck import Falls
from atomcheck.data import gaussian_mixture
from atomcheck.models import MLPSpec, Task, train

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


#: Epochs per timed run: the same at every batch size (one pass over the 400 points).
RUNTIME_EPOCHS = 1


@functools.cache
def _warm_up() -> None:
    """Train once untimed, so torch's first-call costs stay out of every timing."""
    spec = BATCH_SIZE_TASK.model.replace(batch_size=16, epochs=1)
    train(spec, BATCH_SIZE_TASK.dataset(0, {}), seed=0)


def time_one_seed(seed: int, batch_size: int) -> dict[str, float]:
    """Train one seed with the per-seed trainer; ``train_s`` is its own wall time."""
    _warm_up()
    data = BATCH_SIZE_TASK.dataset(seed, {})
    spec = BATCH_SIZE_TASK.model.replace(batch_size=batch_size, epochs=RUNTIME_EPOCHS)
    result = train(spec, data, seed=seed)
    return {"train_s": result.wall_s, "test_accuracy": result.metrics["test_accuracy"],
            "diverged": float(result.diverged)}


@pytest.mark.claim(claim_id="atoms.batch_size.runtime", sources=[SOURCE], seeds=10)
def test_batch_size_runtime(claim):
    """Training time falls as batch size grows.

    Protocol: the set-up of atoms.batch_size.accuracy above (12-d mixture, 400 train / 100
    test per seed; 12-64-64-2 ReLU MLP, SGD lr=0.01), one epoch at every batch size (1, 4,
    16, 64, 400), so a level differs only in how the 400 points are split into steps.
    Each seed is timed on its own with the per-seed reference trainer
    (atomcheck.models.train) on one thread: the number is TrainResult.wall_s, which covers
    moving the data to tensors, drawing the initial weights, the epoch of SGD steps and the
    final evaluation on the train and test sets; it excludes generating the data and
    importing torch, and an untimed warm-up run comes first in the process.
    Why not the batched sweep: there one call trains all seeds of a batch size together
    and each seed is handed an equal share of that call's wall time, so the ten "samples"
    would be one measurement copied ten times; per-seed timings are separate measurements.
    One epoch keeps the batch-1 level (400 steps per seed) at 1-2 s for ten seeds.
    Test: Page's L on train_s along batch size, seeds as blocks, one-sided "falls". The
    levels run one after the other, so a drift in machine load would line up with batch
    size; the effect (about 100x between batch 1 and 400) dwarfs such drift.
    """
    claim.sweep(time_one_seed, batch_size=BATCH_SIZES)
    claim.expect(Falls("train_s", along="batch_size"))
