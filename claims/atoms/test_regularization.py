"""Regularisation and weights (000_07dadddd682b9602.txt §12, "12 atoms of deep learning").

Set-up (claims/conftest.py, ``regularization_sweep``): the document's data (two 12-d
Gaussians, identity covariance, means 1 apart in every dimension; 400 train / 100 test,
drawn per seed) and a net with 2 hidden layers, as §12 says: 12-64-64-2, ReLU, Xavier-uniform
init, cross-entropy, SGD lr=0.01, batch 16, 20 epochs; trained with no penalty, and with
L1 (λ·Σ|w|) or L2 (λ·Σw²) on the weight matrices (biases unpenalised). One sweep, read by
every claim below, so it trains once per session.

Strength rule (fixed before looking at any result of this version). §12 gives no strength
("strong" L1, "mild" regularisation). A coefficient means nothing on its own (Σ|w| of this
net is ~570 at init, Σw² ~88), so a strength is stated as the ratio of the penalty on the
initial weights to the data loss at initialisation (ln 2): ratio 1 = the two terms weigh
the same at the start; 10 = the penalty dominates the objective; 100 = it dominates by two
orders of magnitude. Ladder: 1x, 10x, 100x. "Strong" is 10x, with 100x as its open
alternative (the next decade); a claim that is not about strength reads 1x, with 10x as
its alternative. (L1 1x: λ=1.2e-3, 10x: 1.2e-2, 100x: 0.12; L2 1x: 7.9e-3, 10x: 0.079,
100x: 0.79.)

Open settings of every claim here (the same rule in atoms.batch_size, .loss, .init and
.layers): the document states no optimiser, learning rate or activation, so besides the
recipe's SGD lr=0.01 / ReLU each claim runs under
- ``DOCUMENT_CODE``: the recipe of the document's own code (the GitHub notebook it links,
  abidlabs/AtomsOfDeepLearning: Adam at lr=0.003, sigmoid units), and
- ``LR_UP``: SGD with a step a decade larger (lr=0.1).

Effect size of interest on accuracy (``ACCURACY_RESOLUTION``): two binomial standard
deviations of one net's accuracy on the 100-point test set at the Bayes rate of this
mixture, 2·√(p(1−p)/100) with p = Φ(√12/2) ≈ 0.958: 0.040. A smaller difference is one the
document's single-run plots could not show.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from atomcheck import Beats

pytestmark = pytest.mark.atoms

SOURCE = "000_07dadddd682b9602.txt §12"

#: The document's own code's recipe (Adam, lr 3e-3, sigmoid) and a decade-larger SGD step.
DOCUMENT_CODE = {"optimizer": "adam", "lr": 0.003, "activation": "sigmoid"}
LR_UP = {"lr": 0.1}

#: Bayes accuracy of the mixture and two binomial SDs of a 100-point test accuracy there.
BAYES_ACCURACY = NormalDist().cdf(math.sqrt(12) / 2)
ACCURACY_RESOLUTION = round(2 * math.sqrt(BAYES_ACCURACY * (1 - BAYES_ACCURACY) / 100), 2)

#: "Sparse": L1 leaves at least a tenth more of all weights near zero than the other arm.
SPARSE_MARGIN = 0.1


@pytest.mark.claim(claim_id="atoms.regularization.shrinks", sources=[SOURCE], seeds=10,
                   robust_over=[{"b": ["l1_x10", "l2_x10"]}, DOCUMENT_CODE, LR_UP])
def test_regularization_shrinks(claim, regularization_sweep):
    """L1 and L2 shrink the weights' magnitude.

    Protocol: the module's penalty sweep. Metric: mean |w| over all final weight matrices.
    Test: one-sided Wilcoxon signed-rank, paired by seed, "no penalty > L1" and "no penalty
    > L2" (the same test as "L1 < none", read from the other side, since Beats takes one
    reference level), a family; supported only when both are.
    Open settings (module rule): strength 1x (the claim is not about strength), with 10x as
    the alternative; the document's code's recipe; SGD lr=0.1.

    Finding (seeds 0-9): supported under every setting, every seed. Mean |w| 0.116 without
    a penalty; at 1x 0.110 (L1) and 0.107 (L2); at 10x 0.064 and 0.054; the document's
    code's recipe and lr=0.1 shrink more (1x: 0.155 → 0.033 / 0.051 and 0.120 → 0.069 /
    0.059). Fresh seeds (1000-1009): supported under every setting.
    """
    claim.use(regularization_sweep)
    claim.expect(Beats("mean_abs_weight", along="penalty", a="none", b=["l1_x1", "l2_x1"]))


@pytest.mark.claim(claim_id="atoms.regularization.l1_sparse", sources=[SOURCE], seeds=10,
                   expected="conditional",
                   reason="it depends on the strength and the recipe: at 10x under SGD (lr 0.01 "
                          "or 0.1, either threshold) L1 leaves 0.31 of the weights near zero "
                          "against 0.10 (L2) and 0.04 (none); at 100x, and at 10x under the "
                          "document's code (Adam, sigmoid), both penalties drive every weight "
                          "to ~0, so L2 is as 'sparse' as L1",
                   robust_over=[{"a": "l1_x100", "b": ["l2_x100", "none"]},
                                {"metric": "near_zero_share_1e-3"}, DOCUMENT_CODE, LR_UP])
def test_regularization_l1_sparse(claim, regularization_sweep):
    """Strong L1 yields sparse weights; L2 does not.

    Protocol: the module's penalty sweep; L1 and L2 at the same strength, "strong" = 10x the
    initial data loss (module rule). Metric: the share of weights with |w| < 1e-2 ("near
    zero"; plain SGD on an L1 subgradient leaves weights jittering around zero at about
    lr·λ rather than exactly at zero, so an exact-zero count would read 0 for every method);
    1e-2 is ~5% of the Xavier bound of the 64x64 layer (0.22).
    Test: one-sided Wilcoxon, L1 > L2 and L1 > none, each by more than 0.1 (SPARSE_MARGIN:
    "sparse" against "not sparse" is at least a tenth of all weights; a difference shown
    smaller than that refutes), a family: "L2 does not" is read as "L2 leaves far fewer
    near-zero weights than L1".
    Open settings: strength 100x instead of 10x; the threshold a decade lower (1e-3, still
    ~10x the L1 jitter lr·λ); the document's code's recipe; SGD lr=0.1.
    Disclosure: SPARSE_MARGIN was set after a first look at the shares. It decides no
    verdict: where the claim holds the differences are 0.17-0.27, and where it fails the
    two penalties tie exactly (both ~1.0), which any margin above 0 refutes.

    Finding (seeds 0-9): conditional. Supported at 10x under the recipe (near-zero share
    0.31 L1, 0.10 L2, 0.04 none; at 1e-3: 0.27, 0.01, 0.004), at lr=0.1 (0.99 against
    0.82) and with the lower threshold. Refuted where the penalty kills the net: at 100x
    under the recipe, and already at 10x under the document's code, L1 and L2 both leave
    ~all weights near zero (share ~1.0 each, chance accuracy), so "L2 does not" fails.
    The claim holds in the regime the document looked at — a penalty strong enough to
    make L1 sparse but short of the cliff (atoms.regularization.strong_costs_accuracy).
    Fresh seeds (1000-1009): the same verdict under every setting.
    """
    claim.use(regularization_sweep)
    claim.expect(Beats("near_zero_share", along="penalty", a="l1_x10", b=["l2_x10", "none"],
                       min_effect=SPARSE_MARGIN))


@pytest.mark.claim(claim_id="atoms.regularization.strong_costs_accuracy", sources=[SOURCE],
                   seeds=10, expected="conditional",
                   reason="the cost is a cliff, and where it sits depends on the recipe: at 10x "
                          "the initial data loss SGD (lr 0.01 or 0.1) loses nothing (accuracy "
                          "0.957 → 0.963 L1, 0.961 L2), while the document's code (Adam, "
                          "sigmoid) is already at chance; at 100x every recipe is at chance",
                   robust_over=[{"b": ["l1_x100", "l2_x100"]}, DOCUMENT_CODE, LR_UP])
def test_regularization_strong_costs_accuracy(claim, regularization_sweep):
    """Strong regularization lowers accuracy.

    Protocol: the module's penalty sweep; "strong" = the penalty on the initial weights 10x
    the initial data loss (module rule, fixed without looking at where accuracy collapses),
    for L1 and for L2. Metric: test accuracy.
    Test: one-sided Wilcoxon, paired by seed, no penalty > strong L1 and no penalty > strong
    L2, each by more than 0.04 (ACCURACY_RESOLUTION; a cost shown smaller than that
    refutes), a family.
    Open settings: strength 100x instead of 10x; the document's code's recipe; SGD lr=0.1.

    Finding (seeds 0-9): conditional. Under SGD at 10x the strong penalties cost nothing
    (refuted: 0.957 without, 0.963 with L1, 0.961 with L2; at lr=0.1 they even gain ~2
    points); at 100x, and at 10x under the document's code, accuracy is at chance (0.50,
    supported). Where the cliff is, reported apart from the rule (a finer ladder, 2x to
    100x, looked at once, not tested here): under SGD lr=0.01 both penalties keep full
    accuracy up to 30x and are at chance by 50x; at lr=0.1 L1 by 50x, L2 by 30x; under the
    document's code both between 2x and 5x. Below the cliff accuracy is flat or a little
    higher than without a penalty — the document's "mild regularisation may raise
    accuracy" — and L2, which only rescales a linear-ish boundary, costs nothing until it
    zeroes the weights. Fresh seeds (1000-1009): the same verdict under every setting.
    """
    claim.use(regularization_sweep)
    claim.expect(Beats("test_accuracy", along="penalty", a="none", b=["l1_x10", "l2_x10"],
                       min_effect=ACCURACY_RESOLUTION))
