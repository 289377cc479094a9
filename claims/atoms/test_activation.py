"""Activation functions (000_07dadddd682b9602.txt §7, "12 atoms of deep learning")."""

from __future__ import annotations

import pytest
from sklearn.linear_model import LogisticRegression

from atomcheck import Beats, ByLevel, Equivalent
from atomcheck.data import moons
from atomcheck.models import MLPSpec, Task, sklearn_task

pytestmark = pytest.mark.atoms

SOURCE = "000_07dadddd682b9602.txt §7"
MOONS = {"n_train": 300, "n_test": 300, "noise": 0.2}
NONLINEAR = ["tanh", "sigmoid", "square", "sin", "leaky_relu", "elu"]

#: The §7 experiment: two moons, a two-hidden-layer net, the activation swept.
ACTIVATION_TASK = Task(
    moons,
    MLPSpec(widths=(16, 16), activation="relu", init="xavier_uniform", loss="cross_entropy",
            optimizer="adam", lr=0.03, batch_size=300, epochs=400),
    data_args=MOONS,
    name="atoms.activation",
)


#: The §7 net with the identity activation: a product of linear maps.
IDENTITY_TASK = Task(moons, ACTIVATION_TASK.model.replace(activation="identity"), data_args=MOONS,
                     name="atoms.activation.identity")

#: The linear baseline of atoms.activation.identity_linear: logistic regression per seed.
LOGISTIC = sklearn_task(LogisticRegression, moons, data_args=MOONS)


@pytest.mark.claim(claim_id="atoms.activation.nonlinear_work", sources=[SOURCE], seeds=10)
def test_activation_nonlinear_work(claim):
    """All standard nonlinearities (relu, tanh, sigmoid, x², …) are about equally good on moons.

    Protocol: scikit-learn's two moons (noise 0.2; 300 train / 300 test points, drawn per
    seed). MLP 2-16-16-2 (two hidden layers, as in the document; it gives no widths),
    Xavier-uniform init, cross-entropy, Adam lr=0.03 on the full training set for 400 steps.
    The budget is set by convergence, not by the verdict: on learning curves to 600 steps,
    the slowest activation (sigmoid) levels off after about 300 full-batch steps, every other
    one after about 120; 400 leaves headroom. Activations tanh, sigmoid, x² ("square"),
    sin, leaky ReLU (slope 0.01) and ELU, each compared with ReLU on test accuracy, paired
    by seed (same data and same initial-weight draw).
    Test: paired TOST per activation against ReLU, margin ±0.03, a Holm family of six;
    supported only when every activation is within the margin.
    Margin: 3 accuracy points (9 of 300 test points) is about three seed-to-seed SDs of a
    single net here (~0.01) and under a third of the ~10-point gap between these nets and a
    linear classifier (~0.87), the gap the document's "all work" is about.

    Finding to read with the verdict: with a smaller budget sigmoid is the one that lags
    (Adam lr=0.01 in minibatches of 32 for 100 epochs: 0.93 against 0.97), so "equally good"
    holds for trained-to-convergence nets, not for equal short budgets.
    """
    claim.sweep(ACTIVATION_TASK, activation=["relu", *NONLINEAR])
    claim.expect(Equivalent("test_accuracy", along="activation", a="relu", b=NONLINEAR,
                            margin=0.03))


@pytest.mark.claim(claim_id="atoms.activation.sign_fails", sources=[SOURCE], seeds=10)
def test_activation_sign_fails(claim):
    """sign(x) is worse than relu.

    Protocol: the §7 set-up above (moons, 2-16-16-2, Adam lr=0.03, full batch, 400 steps),
    with activation sign against ReLU, paired by seed. sign has zero derivative almost
    everywhere, so only the output layer learns: the net is a linear read-out of 16 random
    sign features. Test: one-sided Wilcoxon signed-rank, ReLU > sign on test accuracy.
    """
    claim.sweep(ACTIVATION_TASK, activation=["relu", "sign"])
    claim.expect(Beats("test_accuracy", along="activation", a="relu", b="sign"))


@pytest.mark.claim(claim_id="atoms.activation.identity_linear", sources=[SOURCE], seeds=10)
def test_activation_identity_linear(claim):
    """The identity activation reaches about the accuracy of a linear classifier (~0.88).

    Protocol: the §7 set-up above with activation identity (a product of linear maps, so a
    linear classifier trained by Adam), against scikit-learn's LogisticRegression (defaults:
    L2 with C=1, lbfgs) fitted on the same seed's moons. We test equivalence to that baseline
    rather than to the document's 0.88, which belongs to its own draw of the data: at noise
    0.2 a linear boundary reaches about 0.86-0.87 here. ``ByLevel`` trains the net for all
    seeds at once on the batched engine and fits the regression per seed.
    Test: paired TOST, identity net against logistic regression, margin ±0.02 (6 of 300
    test points): a fifth of the ~10-point gap to the nonlinear nets, so "about linear"
    cannot be confused with "about as good as ReLU".
    """
    models = ByLevel("model", {"logistic": LOGISTIC, "identity_net": IDENTITY_TASK})
    claim.sweep(models, model=["logistic", "identity_net"])
    claim.expect(Equivalent("test_accuracy", along="model", a="logistic", b="identity_net",
                            margin=0.02))
