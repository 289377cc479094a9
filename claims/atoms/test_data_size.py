"""More data and deeper nets (000_07dadddd682b9602.txt §3, "12 atoms of deep learning").

The three claims share one design: a sweep over ``method`` (nn, svm, rf) and ``n_train``.
``ByLevel`` trains each method with its own function: the net through the batched engine
(all seeds at once), the scikit-learn models seed by seed, on the same per-seed data.
"""

from __future__ import annotations

from typing import Any

import pytest

from atomcheck import Beats, ByLevel, Rises
from atomcheck.data import gaussian_mixture
from atomcheck.models import MLPSpec, Task, sklearn_task

pytestmark = pytest.mark.atoms

SOURCE = "000_07dadddd682b9602.txt §3"
#: Training-set sizes, log-spaced (doubling).
SIZES = [50, 100, 200, 400, 800]
#: The §3 data: two 12-d Gaussians, means 1/i apart in dimension i; a balanced test
#: set (500 points, drawn per seed; every method sees the same one, so comparisons pair).
DATA = {"dims": 12, "offset": "1/i", "n_test": 500}
#: Trees in the random forest: each tree costs ~1.5 ms to fit here whatever the size, so
#: scikit-learn's default of 100 would cost ~7 s per sweep; 20 keeps it near 1.5 s.
N_TREES = 20

#: The net of §3: scikit-learn MLPClassifier's recipe (Adam, lr=1e-3, batch min(200, n)),
#: two hidden layers of 64 ReLU units, 100 epochs.
NN_SPEC = MLPSpec(widths=(64, 64), activation="relu", loss="cross_entropy", optimizer="adam",
                  lr=1e-3, batch_size=200, epochs=100)


def _forest() -> Any:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=N_TREES, n_jobs=1)


def _svm() -> Any:
    from sklearn.svm import SVC

    return SVC()  # RBF kernel, C=1, gamma="scale": scikit-learn's defaults


NN_TASK = Task(gaussian_mixture, NN_SPEC, data_args=DATA, name="atoms.data_size.nn")
METHODS: dict[str, Any] = {
    "nn": NN_TASK,
    "svm": sklearn_task(_svm, gaussian_mixture, data_args=DATA),
    "rf": sklearn_task(_forest, gaussian_mixture, data_args=DATA),
}
BY_METHOD = ByLevel("method", METHODS)


@pytest.mark.parametrize("method", ["nn", "svm", "rf"], ids=["nn", "svm", "rf"])
@pytest.mark.claim(claim_id="atoms.data_size.each", sources=[SOURCE], seeds=10)
def test_data_size_each(claim, method):
    """Test accuracy of every method (NN, SVM, random forest) rises with training-set size.

    Protocol: the document's data (two 12-d Gaussians, identity covariance, means 1/i
    apart in dimension i), training sets of 50, 100, 200, 400 and 800 points (the
    document went from 80 to 8,000; larger sizes cost too much here) and a balanced test
    set of 500, all drawn per seed, so seed *s* sees the same test set at every size.
    One variant per method. nn: 12-64-64-2 ReLU, Xavier init, cross-entropy, Adam at
    lr=1e-3 with batch min(200, n) for 100 epochs (scikit-learn MLPClassifier's recipe,
    which the document's code uses elsewhere; its max_iter of 200 halved for time).
    svm: scikit-learn SVC with its defaults (RBF, C=1). rf: a random forest of 20 trees
    (scikit-learn's default is 100; 20 for time, which can only make the forest weaker).
    Test: Page's L on test accuracy along size, seeds as blocks, one-sided "rises".
    """
    claim.sweep(METHODS[method], n_train=SIZES)
    claim.expect(Rises("test_accuracy", along="n_train"))


@pytest.mark.claim(
    claim_id="atoms.data_size.nn_wins", sources=[SOURCE], seeds=10, expected="refuted",
    reason="on this mixture the Bayes-optimal boundary is a plane (~0.73 accuracy) and "
           "the RBF SVM beats the 2-layer net at every size, by about 1.5-3 points (significant "
           "at 100, 400 and 800 points at 10 seeds, at every size at 30); the net beats a "
           "20-tree forest only at 100 points (30 seeds) and ties it elsewhere")
def test_data_size_nn_wins(claim):
    """The neural net beats SVM and random forest at every size.

    Protocol: the design of atoms.data_size.each (same data, sizes, models and seeds),
    so each comparison is paired by seed: the methods see the same training and test
    points. Test: one-sided Wilcoxon signed-rank, nn > svm and nn > rf, at each of the
    five sizes: a Holm family of ten, supported only when every member is, refuted when
    any member shows the opposite (the other method significantly better).

    What we saw while choosing the net's recipe, before this run: with Adam at lr=1e-2
    (batch 32, 20 epochs) or lr=1e-3 for 100 or 200 epochs at batch 200, the net lost to
    the SVM at every size from 100 up, and the 1-hidden-layer net did better than the
    2-layer one; at lr=1e-3 with batch 32 for 20 epochs (an under-trained net) it tied the
    SVM. No recipe we tried made the net win. The Bayes-optimal boundary here is a plane
    (equal covariances), which a kernel machine with a smooth kernel already fits well;
    the document's sizes reached 8,000 points, which we do not test. Result: refuted at
    10 and at 30 seeds (the SVM side); against the forest the net is ahead at 50-200
    points and level at 400-800, significant only at 100 points with 30 seeds.
    """
    claim.sweep(BY_METHOD, method=["nn", "svm", "rf"], n_train=SIZES)
    claim.expect(Beats("test_accuracy", along="method", a="nn", b=["svm", "rf"]))


@pytest.mark.claim(
    claim_id="atoms.data_size.deeper", sources=[SOURCE], seeds=10, expected="refuted",
    reason="on this mixture (a planar Bayes boundary) the 2-hidden-layer net overfits "
           "more than the 1-hidden-layer net: lower test accuracy at every size, by about 1-3 "
           "points (significant at 100, 400 and 800 points at 10 seeds, at every size at 30)")
def test_data_size_deeper(claim):
    """A 2-hidden-layer net beats a 1-hidden-layer net.

    Protocol: the design of atoms.data_size.each; the two nets differ only in depth
    (12-64-64-2 against 12-64-2, same recipe, same seeds, so the same data and the same
    first-layer init stream). Test: one-sided Wilcoxon signed-rank, 2 layers > 1 layer,
    at each of the five sizes: a Holm family, supported only when every size is.

    Result: refuted at 10 and at 30 seeds. The extra layer's capacity buys nothing on a
    problem whose best boundary is a plane; trained to fit, the deeper net overfits
    more (the document's "deep nets do not overfit much" does not hold at these sizes,
    which stop at 800 points where the document went to 8,000).
    """
    depth = {"2": {"widths": (64, 64)}, "1": {"widths": (64,)}}
    claim.sweep(NN_TASK, depth=depth, n_train=SIZES)
    claim.expect(Beats("test_accuracy", along="depth", a="2", b="1"))
