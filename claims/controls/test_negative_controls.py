"""Negative controls: claims whose null hypothesis is true by construction.

Each control states an effect that cannot exist — two arms that are the same recipe
under different seeds, a classifier trained on shuffled labels — with the same tests the
catalog's claims use. A control passes unless it comes out ``supported``; the report
prints the share that did as the run's measured false-positive rate (expected ≤ alpha,
and 0 of 3 most of the time: at alpha = 0.05 three controls all stay unsupported with
probability ≥ 0.95³ ≈ 0.86). With ``--atomcheck-fdr`` they are adjusted with the rest.

No open settings (no ``robust_over``), on purpose: a control's null is true by
construction under every learning rate, budget, width or metric, so no setting could make
its "supported" anything but a false positive; open settings would only multiply the
chances of one, and the run's measured false-positive rate is meant per control claim.

Set-up: the §8-§12 mixture of the first document (two 12-d Gaussians, means 1 apart in
every dimension; 200 train / 100 balanced test) and a small net (12-16-2, ReLU, SGD at
lr=0.01, batch 16) trained 5 epochs (the controls need no accuracy, only a real training run).
"""

from __future__ import annotations

import pytest

from atomcheck import Beats, Rises, Threshold
from atomcheck.data import gaussian_mixture
from atomcheck.models import MLPSpec, Task

#: A seed offset far from any seed a run uses: arm "b" of a seed is an independent draw.
ARM_B_OFFSET = 7919

RECIPE = MLPSpec(widths=(16,), activation="relu", init="xavier_uniform",
                 loss="cross_entropy", optimizer="sgd", lr=0.01, batch_size=16, epochs=5)
DATA = {"dims": 12, "offset": 1.0, "n_train": 200, "n_test": 100}
MIXTURE = Task(gaussian_mixture, RECIPE, data_args=DATA, name="control.mixture")
SHUFFLED = Task(gaussian_mixture, RECIPE, data_args={**DATA, "random_labels": True},
                name="control.shuffled")


def identical_arms(seed: int, arm: str) -> dict[str, float]:
    """One recipe; arm "b" trains it on an independent seed (data, init and order)."""
    return MIXTURE(seed + (0 if arm == "a" else ARM_B_OFFSET))


def ignored_factor(seed: int, level: int) -> dict[str, float]:
    """The recipe at a "level" that only picks an independent seed stream."""
    return MIXTURE(seed + level * ARM_B_OFFSET)


@pytest.mark.claim(claim_id="control.identical_arms", seeds=10, negative_control=True,
                   sources=["negative control (atomcheck)"])
def test_identical_arms(claim):
    """Arm a beats arm b, where both are the same recipe under different seeds.

    Test: one-sided Wilcoxon signed-rank on test accuracy, paired by seed, as every
    `Beats` claim of the catalog. The null (no difference) is true by construction.
    """
    claim.sweep(identical_arms, arm=["a", "b"])
    claim.expect(Beats("test_accuracy", along="arm", a="a", b="b"))


@pytest.mark.claim(claim_id="control.ignored_factor", seeds=10, negative_control=True,
                   sources=["negative control (atomcheck)"])
def test_ignored_factor(claim):
    """Test accuracy rises along a factor that only changes the seed stream.

    Test: Page's L over levels 0-2, seeds as blocks, as every `Rises` claim.
    """
    claim.sweep(ignored_factor, level=[0, 1, 2])
    claim.expect(Rises("test_accuracy", along="level"))


@pytest.mark.claim(claim_id="control.shuffled_labels", seeds=10, negative_control=True,
                   sources=["negative control (atomcheck)"])
def test_shuffled_labels(claim):
    """A net trained on shuffled labels beats chance (0.5) on a balanced test set.

    Labels drawn independently of the inputs: whatever the net learns is independent of
    the test labels, so its expected test accuracy is exactly 0.5. Test: exact sign test
    on the median, as every `Threshold(above=...)` claim.
    """
    claim.sweep(SHUFFLED)
    claim.expect(Threshold("test_accuracy", above=0.5))
