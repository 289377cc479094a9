"""Loss functions (000_07dadddd682b9602.txt §9, "12 atoms of deep learning").

Set-up (claims/conftest.py, ``mixture_task``): the document's data (two 12-d Gaussians,
identity covariance, means 1 apart in every dimension; 400 train / 100 test, drawn per
seed) and the §8-§12 net and recipe: MLP 12-64-64-2, ReLU, Xavier-uniform init, SGD
lr=0.01, batch 16, 20 epochs, the same for every loss (the document tunes nothing per loss).
Losses: cross-entropy; mean squared error, mean absolute error and mean fourth power of
(output − one-hot target); the multi-class hinge (margin 1); and, as the document's
negative control, a constant loss.

Open settings (fixed before looking; the same rule in atoms.batch_size, .init, .layers and
.regularization): the document states no optimiser, learning rate or activation, so each
claim runs under the recipe and under
- ``DOCUMENT_CODE``: the recipe of the document's own code (the GitHub notebook it links,
  abidlabs/AtomsOfDeepLearning: Adam at lr=0.003, sigmoid units), and
- ``LR_UP``: SGD with a step a decade larger (lr=0.1),
where they can change its outcome (each claim says which it runs and why).

Margins, by one rule: two binomial standard deviations of one net's accuracy on the
100-point test set, 2·√(p(1−p)/100), at the accuracy in question — the smallest difference
a single run per loss (the document's plots) could show. At the Bayes rate of this mixture,
p = Φ(√12/2) ≈ 0.958, that is 0.040 (``SIMILAR_MARGIN``); at chance, p = 0.5, it is 0.10
(``CHANCE_MARGIN``).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from atomcheck import Equivalent, Threshold

pytestmark = pytest.mark.atoms

SOURCE = "000_07dadddd682b9602.txt §9"
OTHER_LOSSES = ["mse", "abs", "hinge", "fourth_power"]

#: The document's own code's recipe (Adam, lr 3e-3, sigmoid) and a decade-larger SGD step.
DOCUMENT_CODE = {"optimizer": "adam", "lr": 0.003, "activation": "sigmoid"}
LR_UP = {"lr": 0.1}


def two_binomial_sds(p: float, n_test: int = 100) -> float:
    """Two binomial SDs of an accuracy p measured on n_test points, to 2 decimals."""
    return round(2 * math.sqrt(p * (1 - p) / n_test), 2)


BAYES_ACCURACY = NormalDist().cdf(math.sqrt(12) / 2)
SIMILAR_MARGIN = two_binomial_sds(BAYES_ACCURACY)   # 0.04
CHANCE, CHANCE_MARGIN = 0.5, two_binomial_sds(0.5)  # 0.5 ± 0.1


@pytest.mark.claim(claim_id="atoms.loss.all_similar", sources=[SOURCE], seeds=30,
                   robust_over=[DOCUMENT_CODE, LR_UP], expected="conditional",
                   reason="at SGD lr=0.1 the fourth-power loss diverges in 18 of 30 seeds (its "
                          "gradient grows with the cube of the error); under the recipe and "
                          "the document's code every loss is within 0.04 of cross-entropy")
def test_loss_all_similar(claim, mixture_sgd):
    """Every non-constant loss (CE, MSE, abs, 4th power, …) is about as good as cross-entropy.

    Protocol: the module's set-up; each non-constant loss against cross-entropy on test
    accuracy, paired by seed (same data, same initial weights).
    Test: paired TOST per loss against cross-entropy, margin ±0.04 (module rule: two
    binomial SDs of a 100-point test accuracy at the Bayes rate), a family of four:
    supported only when every loss is shown within the margin; a diverged run counts
    against the claim.
    Open settings: the document's code's recipe; SGD lr=0.1.
    Seeds: 30. At lr=0.1 the fourth-power runs either diverge or land near cross-entropy;
    a diverged seed counts against the claim, but with such two-humped differences 10 or
    20 seeds leave the refutation short of alpha once it is corrected across the three
    settings (0.10 and 0.06 at seeds 0-9 and 0-19), so the verdict would read
    "inconclusive" for want of seeds.

    Finding: conditional. Under the recipe (SGD lr=0.01) MSE, abs and fourth power trail
    cross-entropy by 1-2 points (0.939, 0.937, 0.933 against 0.950; hinge 0.948), inside
    the margin; under the document's code every loss lands within half a point (0.951-0.955;
    the document: "all losses perform similarly", fourth power "somewhat worse"). At
    lr=0.1 the fourth-power loss diverges in 18 of 30 seeds — its gradient grows with the
    cube of the error, so a decade-larger step blows it up — while the seeds that survive
    match cross-entropy (0.943 against 0.948): refuted there. Fresh seeds (1000-1029):
    the same verdict under every setting.
    """
    claim.sweep(mixture_sgd, loss=["cross_entropy", *OTHER_LOSSES])
    claim.expect(Equivalent("test_accuracy", along="loss", a="cross_entropy", b=OTHER_LOSSES,
                            margin=SIMILAR_MARGIN))


@pytest.mark.claim(claim_id="atoms.loss.constant_control", sources=[SOURCE], seeds=30,
                   robust_over=[DOCUMENT_CODE])
def test_loss_constant_control(claim, mixture_task):
    """A constant loss (negative control) stays at chance.

    Protocol: the module's set-up with the constant loss (a loss that does not depend on
    the outputs, so every gradient is zero and the net stays at its initial weights).
    The test set is balanced, so chance is 0.5; an untrained net is a random classifier
    whose accuracy varies a lot from seed to seed (SD ~0.09), so this claim uses 30 seeds,
    not 10: at 10 the mean's standard error (~0.03) is a third of the margin and the
    verdict hangs on the draw. The constant-loss run is one configuration, so 30 seeds cost
    little. Test: TOST of mean test accuracy against 0.5 ± 0.1 (module rule: two binomial
    SDs of a 100-point test accuracy at 0.5).
    Open settings: only what shapes the untrained net can matter (no gradient, so no step
    size or optimiser can move it): the document's code's recipe, whose sigmoid units make
    another random classifier. SGD lr=0.1 is left out: it would train nothing either.

    Finding: supported: mean 0.489 (0.452-0.526) under the recipe, 0.493 under the
    document's code. Fresh seeds (1000-1029): supported (0.526 and 0.496).
    """
    claim.sweep(mixture_task("atoms.loss.constant", loss="constant"))
    claim.expect(Threshold("test_accuracy", about=CHANCE, margin=CHANCE_MARGIN))
