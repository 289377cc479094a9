"""Activation functions (000_07dadddd682b9602.txt §7, "12 atoms of deep learning").

The three claims read one shared sweep (``activation_sweep``): the §7 net trained with each
activation, plus logistic regression as the linear baseline, on the same per-seed moons.

Open settings. §7 says only "two moons, a net with two hidden layers, six activations". It
leaves open the width, the optimiser's learning rate, the batch and the budget (and the
noise of the moons). Rule, fixed before running any alternative: the one alternative is the
protocol the document's author actually ran, his notebook's Experiment7 (github
abidlabs/AtomsOfDeepLearning): widths 30-30, Adam lr=0.003, minibatches of 64, 800 steps
(160 epochs of our 300 points). It differs from ours in every open training setting at
once. We keep our data (noise 0.2, 300/300 points) and our Xavier init in both settings: the
notebook's N(0, 1) init of every weight is not a recipe anyone would reuse.

Equivalence margin, one rule for both equivalence claims, from the document's numbers:
the document's linear net reaches about 0.88, so a nonlinearity can add at most 12 points
on this task; "equally good" (and "about linear") means within a quarter of that headroom,
(1.00 - 0.88) / 4 = 0.03 accuracy.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
from sklearn.linear_model import LogisticRegression

from atomcheck import Beats, ByLevel, Equivalent, SharedSweep
from atomcheck.data import moons
from atomcheck.models import MLPSpec, Task, sklearn_task

pytestmark = pytest.mark.atoms

SOURCE = "000_07dadddd682b9602.txt §7"
MOONS = {"n_train": 300, "n_test": 300, "noise": 0.2}
#: The document's nonlinearities (relu, tanh, x², sin) plus the statement's sigmoid; each
#: is compared with relu.
NONLINEAR = ["tanh", "sigmoid", "square", "sin"]
#: Every net of the sweep, by activation.
ACTIVATIONS = ["relu", *NONLINEAR, "sign", "identity"]

#: The §7 net: two moons, a two-hidden-layer net, trained to convergence.
ACTIVATION_SPEC = MLPSpec(widths=(16, 16), activation="relu", init="xavier_uniform",
                          loss="cross_entropy", optimizer="adam", lr=0.03, batch_size=300,
                          epochs=400)

#: The equivalence margin (module docstring): a quarter of the document's nonlinear headroom.
MARGIN = (1.00 - 0.88) / 4

#: The open settings (module docstring): the document's own notebook recipe.
NOTEBOOK = {"widths": (30, 30), "lr": 0.003, "batch_size": 64, "epochs": 160}
OPEN_SETTINGS = [NOTEBOOK]


@functools.lru_cache(maxsize=None)
def _logistic_fit(seed: int) -> tuple[tuple[str, float], ...]:
    fit = sklearn_task(LogisticRegression, moons, data_args=MOONS)
    return tuple(fit(seed).items())


def logistic(seed: int, **_net_settings: Any) -> dict[str, float]:
    """scikit-learn's LogisticRegression (defaults: L2, C=1) on seed ``seed``'s moons.

    It takes and ignores the net's settings (widths, lr...), so the open settings of the
    sweep can vary them; the fit is cached per seed, so it runs once whatever they are.
    """
    return dict(_logistic_fit(seed))


#: One level per model: the §7 net with each activation, and the linear baseline.
MODELS = ByLevel("model", {
    **{a: Task(moons, ACTIVATION_SPEC.replace(activation=a), data_args=MOONS,
               name=f"atoms.activation.{a}") for a in ACTIVATIONS},
    "logistic": logistic,
})


@pytest.fixture(scope="session")
def activation_sweep() -> SharedSweep:
    """Every §7 net and the logistic baseline, trained once per seeds and settings."""
    return SharedSweep(MODELS, model=[*ACTIVATIONS, "logistic"])


@pytest.mark.claim(
    claim_id="atoms.activation.nonlinear_work", sources=[SOURCE], seeds=10,
    robust_over=OPEN_SETTINGS, expected="conditional",
    reason="sigmoid is within 0.03 of relu when trained to convergence (our recipe: Adam "
           "lr=0.03, 400 full-batch steps) but stays at the linear net's accuracy (~0.87 "
           "against ~0.97) under the notebook's recipe (Adam lr=0.003, 800 steps of 64); "
           "every other nonlinearity is equivalent to relu under both")
def test_activation_nonlinear_work(claim, activation_sweep):
    """All standard nonlinearities (relu, tanh, sigmoid, x², …) are about equally good on moons.

    Protocol: scikit-learn's two moons (noise 0.2; 300 train / 300 test points, drawn per
    seed). MLP 2-16-16-2 (two hidden layers, as in the document; it gives no widths),
    Xavier-uniform init, cross-entropy, Adam lr=0.03 on the full training set for 400 steps.
    The budget was set by convergence, not by a verdict: on learning curves to 600 steps,
    the slowest activation (sigmoid) levels off after about 300 full-batch steps, every other
    one after about 120. Activations tanh, sigmoid, x² ("square") and sin (the document's
    nonlinearities, plus the sigmoid the statement names), each compared with ReLU on test
    accuracy, paired by seed (same data and the same initial-weight draw). Leaky ReLU and
    ELU, in an earlier version, are left out for time; they were within 0.01 of relu
    under both recipes.
    Open settings: the notebook's recipe (module docstring).
    Test: paired TOST per activation against ReLU, margin ±0.03 (the module's rule), a
    family of four; supported only when every activation is within the margin.

    Finding: under our recipe every activation is within a point of relu (0.961-0.970);
    under the notebook's recipe tanh, x² and sin still are, but sigmoid sits at 0.87, the
    identity net's accuracy: 800 Adam steps at lr=0.003 do not get a sigmoid net off its
    near-linear start. The document's own list (relu, tanh, x², sin) had no sigmoid; "any
    nonlinearity works" holds for nets trained to convergence.
    """
    claim.use(activation_sweep)
    claim.expect(Equivalent("test_accuracy", along="model", a="relu", b=NONLINEAR,
                            margin=MARGIN))


@pytest.mark.claim(claim_id="atoms.activation.sign_fails", sources=[SOURCE], seeds=10,
                   robust_over=OPEN_SETTINGS)
def test_activation_sign_fails(claim, activation_sweep):
    """sign(x) is worse than relu.

    Protocol: the §7 sweep above (moons, 2-16-16-2, Adam lr=0.03, full batch, 400 steps),
    sign against ReLU, paired by seed. sign has zero derivative almost everywhere, so only
    the output layer learns: the net is a linear read-out of 16 random sign features.
    Open settings: the notebook's recipe (module docstring).
    Test: one-sided Wilcoxon signed-rank, ReLU > sign on test accuracy.

    Finding: sign reaches 0.86-0.87 (about the linear baseline) against 0.96-0.97 for relu
    under both recipes, every seed lower.
    """
    claim.use(activation_sweep)
    claim.expect(Beats("test_accuracy", along="model", a="relu", b="sign"))


@pytest.mark.claim(claim_id="atoms.activation.identity_linear", sources=[SOURCE], seeds=10,
                   robust_over=OPEN_SETTINGS)
def test_activation_identity_linear(claim, activation_sweep):
    """The identity activation reaches about the accuracy of a linear classifier (~0.88).

    Protocol: the §7 sweep above, the net with activation identity (a product of linear
    maps, so a linear classifier trained by Adam) against scikit-learn's
    LogisticRegression (defaults: L2 with C=1, lbfgs) fitted on the same seed's moons. We
    test equivalence to that baseline rather than to the document's 0.88, which belongs to
    its own draw of the data: at noise 0.2 a linear boundary reaches about 0.86-0.87 here.
    Open settings: the notebook's recipe (module docstring); the baseline does not train
    with the net's settings, so it is the same under both.
    Test: paired TOST, identity net against logistic regression, margin ±0.03 (the module's
    rule: a quarter of the headroom a nonlinearity has above a linear net).

    Finding: the identity net lands within 0.002 of the baseline on average under both
    recipes (0.870 and 0.872 against 0.870), far inside the margin.
    """
    claim.use(activation_sweep)
    claim.expect(Equivalent("test_accuracy", along="model", a="logistic", b="identity",
                            margin=MARGIN))
