"""More data and deeper nets (000_07dadddd682b9602.txt §3, "12 atoms of deep learning").

The claims share one design: ``method`` (nn, nn1, svm, rf) × ``n_train``. ``ByLevel`` trains
each method with its own function: the nets through the batched engine (all seeds at
once), the scikit-learn models seed by seed, on the same per-seed data. ``data_size_sweep``
trains it once for atoms.data_size.each[nn] (20 seeds), .nn_wins and .deeper (which read
the first 10 of those seeds).

Open settings. §3 names the data and the methods but none of their hyper-parameters. Rule,
fixed before running any alternative: per model, the document's own notebook value where it
fixes one that we changed, else one decade (SVM's C) away from scikit-learn's default.

- nets: the notebook trains its hand-built nets with Adam at lr=0.003 (and compares
  scikit-learn MLPClassifiers, whose Adam lr is 1e-3, the recipe we use): alternative
  lr=3e-3, an open setting of each[nn] and each[nn_equal_steps] (~5 s: it retrains the
  nets at every size). For nn_wins and deeper it is not run (it would retrain both nets
  again for each); run once at 10 seeds it left both refuted (the SVM ahead by 3-5
  points at 100-800 points, the 1-layer net by 1-3).
- what "beats" means: the document compares mean accuracies (3 runs per point); we test
  the median paired difference. Alternative for nn_wins and deeper: the mean (paired t).
  It reads the same runs.
- SVM: scikit-learn's SVC defaults (the notebook's ``SVC()``: RBF, C=1); alternative C=10.
- forest: the number of trees is open (scikit-learn's default is 100; the base uses 20 for
  time): alternative 100 trees, an open setting of each[rf] (~9 s). With 100 trees the
  forest is 1-3 points more accurate (0.62 to 0.71 from 50 to 800 points).

Confound: with a fixed epoch budget a larger training set also gets more optimiser steps
(batch min(200, n): 100 steps at 50-200 points, 200 at 400, 400 at 800). The variant
each[nn_equal_steps] removes it: 100 steps at every size (epochs 100, 100, 100, 50, 25).
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from atomcheck import Beats, ByLevel, Rises, SharedSweep
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
#: scikit-learn's default of 100 would cost ~9 s per sweep; 20 keeps it near 2 s.
N_TREES = 20

#: The net of §3: scikit-learn MLPClassifier's recipe (Adam, lr=1e-3, batch min(200, n)),
#: two hidden layers of 64 ReLU units, 100 epochs.
NN_SPEC = MLPSpec(widths=(64, 64), activation="relu", loss="cross_entropy", optimizer="adam",
                  lr=1e-3, batch_size=200, epochs=100)
NN_TASK = Task(gaussian_mixture, NN_SPEC, data_args=DATA, name="atoms.data_size.nn")
#: The same net with one hidden layer.
NN1_TASK = Task(gaussian_mixture, NN_SPEC.replace(widths=(64,)), data_args=DATA,
                name="atoms.data_size.nn1")

#: Open settings of the comparisons (module docstring): the mean instead of the median.
COMPARISON_SETTINGS = [{"of": "mean"}]


@functools.lru_cache(maxsize=None)
def _fit(kind: str, seed: int, n_train: int, param: float) -> tuple[tuple[str, float], ...]:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.svm import SVC

    if kind == "svm":
        def factory() -> Any:
            return SVC(C=param)  # RBF kernel, gamma="scale": scikit-learn's defaults
    else:
        def factory() -> Any:
            return RandomForestClassifier(n_estimators=int(param), n_jobs=1)
    fit = sklearn_task(factory, gaussian_mixture, data_args=DATA)
    return tuple(fit(seed, n_train=n_train).items())


def svm(seed: int, *, n_train: int, C: float = 1.0, **_net_settings: Any) -> dict[str, float]:
    """scikit-learn's SVC (RBF, C) on seed ``seed``'s mixture of ``n_train`` points.

    It ignores the nets' fields (so an open setting of the nets could vary on the shared
    sweep) and caches each fit, so a fit runs once per process whatever claim asks for it.
    """
    return dict(_fit("svm", seed, n_train, float(C)))


def forest(seed: int, *, n_train: int, n_estimators: int = N_TREES,
           **_net_settings: Any) -> dict[str, float]:
    """A random forest of ``n_estimators`` trees (else scikit-learn's defaults); cached."""
    return dict(_fit("rf", seed, n_train, float(n_estimators)))


BY_METHOD = ByLevel("method", {"nn": NN_TASK, "nn1": NN1_TASK, "svm": svm, "rf": forest})


@pytest.fixture(scope="session")
def data_size_sweep() -> SharedSweep:
    """Both nets, the SVM and the forest at every size, trained once per seeds and settings."""
    return SharedSweep(BY_METHOD, method=["nn", "nn1", "svm", "rf"], n_train=SIZES)


def _each(method: str, robust_over: list[dict[str, Any]] | None, seeds: int = 10) -> Any:
    """One variant of atoms.data_size.each with its own marker (its own open settings)."""
    return pytest.param(method, id=method, marks=pytest.mark.claim(
        claim_id="atoms.data_size.each", sources=[SOURCE], seeds=seeds, robust_over=robust_over))


#: n_train levels with the epochs that give every size the same 100 optimiser steps.
EQUAL_STEPS = {n: {"n_train": n, "epochs": 100 * NN_SPEC.batch_size // max(n, NN_SPEC.batch_size)}
               for n in SIZES}


@pytest.mark.parametrize("method", [
    _each("nn", [{"lr": 3e-3}], seeds=20), _each("nn_equal_steps", [{"lr": 3e-3}]),
    _each("svm", [{"C": 10.0}]), _each("rf", [{"n_estimators": 100}]),
])
def test_data_size_each(claim, data_size_sweep, method):
    """Test accuracy of every method (NN, SVM, random forest) rises with training-set size.

    Protocol: the document's data (two 12-d Gaussians, identity covariance, means 1/i
    apart in dimension i), training sets of 50, 100, 200, 400 and 800 points (the
    document went from 80 to 8,000; larger sizes cost too much here) and a balanced test
    set of 500, all drawn per seed, so seed *s* sees the same test set at every size.
    One variant per method. nn: 12-64-64-2 ReLU, Xavier init, cross-entropy, Adam at
    lr=1e-3 with batch min(200, n) for 100 epochs (scikit-learn MLPClassifier's recipe,
    which the document's code uses; its max_iter of 200 halved for time).
    nn_equal_steps: the same net with 100 optimiser steps at every size (module docstring:
    the fixed-epoch budget gives larger sets more steps). svm: scikit-learn SVC with its
    defaults (RBF, C=1). rf: a random forest of 20 trees.
    Open settings (module docstring): the nets' lr=3e-3; svm C=10; the forest's 100 trees.
    Test: Page's L on test accuracy along size, seeds as blocks, one-sided "rises". Not
    strict: the document's "accuracy improves with size" is a trend, and with doubling
    sizes a plateau near the Bayes rate (~0.73) is expected; the net's mean indeed dips
    from 200 to 400 points (0.685, 0.677).

    Findings (seeds 0-9): every variant rises under every setting it runs. The step
    confound works against the claim, not for it: with equal steps the net's rise is
    steeper (mean Kendall tau 0.76 against 0.56), because 100 steps give 0.700 and 0.723 at
    400 and 800 points where the fixed-epoch recipe's 200 and 400 steps give 0.677 and
    0.694 (it overfits). The SVM at C=10 is ~6 points worse at every size and rises less
    (p=0.012 against 3e-8 at C=1). At lr=3e-3 the net still rises (p=0.003; 1e-7 with
    equal steps); the 100-tree forest rises more clearly than the 20-tree one (p=1e-8
    against 9e-6).

    Seeds: nn runs 20, the other variants 10. Fresh seeds 1000-1009 did not replicate the
    nn variant: its base still rose (means 0.653, 0.667, 0.675, 0.687, 0.686; p = 0.005),
    but at lr=3e-3 the means were 0.645, 0.651, 0.648, 0.656, 0.663 (mean Kendall tau
    0.11, p = 0.22), so Holm across the two settings left it inconclusive. Rule, as for
    ``atoms.depth`` and ``optim.plateau_not_done``: a claim that fails to replicate at the
    edge of its test's power gets its seeds doubled once, and both seed sets are rerun and
    kept whatever they say. Hence 20 seeds for nn (its seeds 0-9 are the numbers above).

    Finding (seeds 0-19): nn supported. Base: means at 50-800 points 0.642, 0.661, 0.681,
    0.682, 0.690 (tau > 0 in 16 seeds, < 0 in 2; p = 2e-5). lr=3e-3: 0.635, 0.651, 0.662,
    0.665, 0.666 (14 up, 5 down; p = 0.007).
    Fresh seeds (1000-1019): the same verdict. Base: 0.649, 0.667, 0.680, 0.683, 0.689
    (15 up, 4 down; p = 0.0001). lr=3e-3: 0.642, 0.652, 0.652, 0.655, 0.668 (10 up, 4
    down; p = 0.037, under the 0.05 Holm allows the larger of the two p-values): a weak
    rise at lr=3e-3. The nn variant reads the shared sweep's nn runs only, so its 20 seeds
    train no other method; nn_wins and deeper read nn's seeds 0-9 from it.
    """
    if method == "nn_equal_steps":
        claim.sweep(NN_TASK, n_train=EQUAL_STEPS)
    elif method == "svm":
        claim.sweep(svm, n_train=SIZES)
    elif method == "rf":
        claim.sweep(forest, n_train=SIZES)
    else:
        claim.use(data_size_sweep, method=["nn"])
    where = {"method": method} if method == "nn" else None
    claim.expect(Rises("test_accuracy", along="n_train", where=where))


@pytest.mark.claim(
    claim_id="atoms.data_size.nn_wins", sources=[SOURCE], seeds=10,
    robust_over=COMPARISON_SETTINGS,
    expected="refuted",
    reason="on this mixture the Bayes-optimal boundary is a plane (~0.73 accuracy) and the "
           "RBF SVM beats the 2-layer net by about 1.5-3 points (significant at 100, 400 "
           "and 800 points), on the median and on the mean; the net never beats the 20-tree "
           "forest significantly")
def test_data_size_nn_wins(claim, data_size_sweep):
    """The neural net beats SVM and random forest at every size.

    Protocol: the design of atoms.data_size.each (same data, sizes, models and seeds),
    so each comparison is paired by seed: the methods see the same training and test
    points. Open settings (module docstring): "beats" as the mean paired difference
    (paired t) besides the median (Wilcoxon). The nets' lr=3e-3 was run once on this
    sweep (10 seeds): refuted again, the SVM ahead by 3-5 points at 100-800 points and the
    forest ahead at 800. The SVM's C is open too but not varied here: it would retrain
    both nets; at C=10 the SVM loses ~6 points (atoms.data_size.each[svm]), which could
    turn the SVM members, but the forest members are never supported, so the family could
    not become "supported" under it. Nor does the budget: with 100 steps at every size
    (each[nn_equal_steps]) the net overfits less at 400-800 points and ties the SVM there
    (0.700 against 0.709, 0.723 against 0.722), still losing at 100.
    Test: one-sided Wilcoxon signed-rank (or paired t), nn > svm and nn > rf, at each of
    the five sizes: a family of ten, supported only when every member is, refuted when
    any member shows the opposite (Holm across the family).

    What we saw while choosing the net's recipe, before this run: with Adam at lr=1e-2
    (batch 32, 20 epochs) or lr=1e-3 for 100 or 200 epochs at batch 200, the net lost to
    the SVM at every size from 100 up, and the 1-hidden-layer net did better than the
    2-layer one; at lr=1e-3 with batch 32 for 20 epochs (an under-trained net) it tied the
    SVM. No recipe we tried made the net win. The Bayes-optimal boundary here is a plane
    (equal covariances), which a kernel machine with a smooth kernel already fits well;
    the document's sizes reached 8,000 points, which we do not test.
    """
    claim.use(data_size_sweep)
    claim.expect(Beats("test_accuracy", along="method", a="nn", b=["svm", "rf"]))


@pytest.mark.claim(
    claim_id="atoms.data_size.deeper", sources=[SOURCE], seeds=10,
    robust_over=COMPARISON_SETTINGS,
    expected="refuted",
    reason="on this mixture (a planar Bayes boundary) the 2-hidden-layer net overfits more "
           "than the 1-hidden-layer net: lower test accuracy at every size, by about 1-3 "
           "points (significant at 100, 400 and 800 points), on the median and on the mean")
def test_data_size_deeper(claim, data_size_sweep):
    """A 2-hidden-layer net beats a 1-hidden-layer net.

    Protocol: the design of atoms.data_size.each; the two nets differ only in depth
    (12-64-64-2 against 12-64-2, same recipe, same seeds, so the same data and the same
    first-layer init stream). Open settings (module docstring): the mean paired
    difference (paired t) besides the median; lr=3e-3 for both nets, run once at 10
    seeds, refuted as well (the 1-layer net ahead by 1-3 points).
    Test: one-sided Wilcoxon signed-rank (or paired t), 2 layers > 1 layer, at each of the
    five sizes: a family, supported only when every size is.

    Result: refuted. The extra layer's capacity buys nothing on a problem whose best
    boundary is a plane; trained to fit, the deeper net overfits more (the document's
    "deep nets do not overfit much" does not hold at these sizes, which stop at 800
    points where the document went to 8,000).
    """
    claim.use(data_size_sweep)
    claim.expect(Beats("test_accuracy", along="method", a="nn", b="nn1"))
