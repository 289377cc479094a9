"""Artificially expanding the training data (003 = Nielsen ch. 3; 004 "正则化", 数据扩充).

Nielsen: expanding MNIST with small rotations (and shifts, skews) raised a net's accuracy
from 98.4% to 98.9% (and elastic distortions to 99.3%); 004: moved or slightly turned images
keep their label, so they can stand in for more data.

Protocol, fixed before looking: digits, 300 training images drawn per seed (little data,
where more data should matter most; 450 test images), expanded with 4 augmented copies of
each image (``atomcheck.toolbox.augment.expand``: a shift of up to one pixel in each
direction — the smallest shift an 8x8 image has — and a rotation uniform in ±15°, the angle
Nielsen names). Nielsen's sigmoid net as his chapter leaves it: 64-30-10, weights N(0,
1/n_in) (his improved init), softmax cross-entropy, SGD η = 0.5, mini-batch 10, 30 epochs
on whatever training set a level has (so the expanded set also gets 5x the steps, as in
Nielsen's experiment). A third level trains the plain set for 150 epochs (the expanded
level's number of steps), for the open setting below.

Open settings (rule: the document fixes neither the budget nor the step): equal numbers of
steps (expanded against the plain set trained 5x longer), and η a decade lower (0.05).
"""

from __future__ import annotations

import pytest

from atomcheck import Beats
from atomcheck.data import Dataset, digits
from atomcheck.models import MLPSpec, Task
from atomcheck.seeding import derive_seed
from atomcheck.toolbox.augment import expand

SOURCE_003 = "003_27e8606ef87a0581.txt artificially increasing the training set size"
SOURCE_004 = "004_2177d7888ae32ed4.txt 正则化"

N_TRAIN = 300
COPIES = 4
EPOCHS = 30


def digits_expanded(*, seed: int, n_train: int = N_TRAIN, copies: int = 0,
                    max_shift: int = 1, max_degrees: float = 15.0) -> Dataset:
    """``n_train`` digits training images of seed ``seed`` plus ``copies`` augmented copies."""
    data = digits(seed=seed, n_train=n_train)
    return expand(data, copies=copies, seed=derive_seed(seed, "theory.augmentation"),
                  max_shift=max_shift, max_degrees=max_degrees)


TASK = Task(digits_expanded, MLPSpec(widths=(30,), activation="sigmoid", init="scaled_normal",
                                     loss="cross_entropy", optimizer="sgd", lr=0.5,
                                     batch_size=10, epochs=EPOCHS),
            name="theory.augmentation")
LEVELS = {"expanded": {"copies": COPIES}, "plain": {"copies": 0},
          "plain_long": {"copies": 0, "epochs": EPOCHS * (1 + COPIES)}}


@pytest.mark.claim(claim_id="data.augmentation_helps", sources=[SOURCE_003, SOURCE_004],
                   seeds=10, robust_over=[{"b": "plain_long"}, {"lr": 0.05}],
                   expected="conditional",
                   reason="it depends on the step: at Nielsen's η = 0.5 the expanded set "
                          "lowers test accuracy (0.906 against 0.937 plain, 0.943 plain "
                          "trained as many steps), at η = 0.05 it raises it (0.856 against "
                          "0.821); on 8x8 digits a one-pixel shift is an eighth of the image")
def test_augmentation_helps(claim):
    """Expanding the data with small shifts/rotations raises test accuracy.

    Protocol (module docstring): 300 digits images, with and without 4 shifted-and-rotated
    copies of each; Nielsen's sigmoid net, 30 epochs. Metric: test accuracy.
    Test: one-sided paired Wilcoxon, expanded > plain.
    Open settings: the plain set trained for as many steps as the expanded one (150
    epochs); η a decade lower.

    Finding (seeds 0-9): conditional. At Nielsen's η = 0.5 the expanded set lowers test
    accuracy: 0.906 against 0.937 (plain, 30 epochs) and 0.943 (plain, 150 epochs), both
    refuted; at η = 0.05 it raises it, 0.856 against 0.821 (supported) — there the plain
    net is still far from fitting its 300 images and the copies act as more steps on
    more data. Looked at once after the verdict, not tested here: with rotations only
    (no shift) the expanded set ties the plain one at η = 0.5 (0.937 against 0.937), with
    one-pixel shifts only it loses (0.923): on an 8x8 digit a one-pixel shift is an eighth
    of the image, not the "small" move it is on 28x28 MNIST. Fresh seeds (1000-1009):
    the same verdict under every setting (0.906 against 0.939 and 0.947; 0.835 against
    0.806 at η = 0.05).
    """
    claim.sweep(TASK, data=LEVELS)
    claim.expect(Beats("test_accuracy", along="data", a="expanded", b="plain"))
