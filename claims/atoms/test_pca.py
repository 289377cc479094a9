"""PCA and useless dimensions (000_07dadddd682b9602.txt §6, "12 atoms of deep learning").

Both claims read one shared sweep (``pca_sweep``): dummy dimensions × {no reduction, PCA}.

Open settings. §6 fixes the informative data (two 10-d Gaussians, means 1 apart, n=100)
and the random rotation; it calls the dummy dimensions "very low random values" without a
scale, says nothing of the net or its training, and puts the useful PCA size at "5-10".
Rule, fixed before running any alternative: the data value the document leaves vague, the
dummies' scale, a factor 100 up (0.1, a tenth of the informative dimensions' SD, still
"low" next to them); and the learning rate one factor 3 toward the document's notebook
(Adam lr=0.003 there, 1e-3 here). The learning-rate setting is not in ``robust_over``:
each setting retrains all ten configurations (~3 s), over this file's share of the
catalog's time budget; run once at 10 seeds it gave the same verdicts, with a larger
fall (0.905 to 0.891) and a larger PCA gain (2.1-2.2 points at 200-400 dimensions). The
PCA size: 10 components, the informative dimensionality and the top of the document's
"5-10"; 5 components, run once at 10 seeds, helped as much (1.8-2.3 points).
"""

from __future__ import annotations

import pytest

from atomcheck import Beats, Falls, SharedSweep
from atomcheck.data import gaussian_mixture
from atomcheck.models import MLPSpec, Task

pytestmark = pytest.mark.atoms

SOURCE = "000_07dadddd682b9602.txt §6"
#: Useless dimensions added to the 10 informative ones: 10, 40, 100, 200 and 400 in all.
DUMMY_DIMS = [0, 30, 90, 190, 390]
#: The §6 data: two 10-d Gaussians, means 1 apart per dimension, n=100 training points,
#: dummy dimensions of standard deviation 1e-3, everything multiplied by one random
#: rotation per seed; a balanced test set of 500.
PCA_TASK = Task(
    gaussian_mixture,
    MLPSpec(widths=(64, 64), activation="relu", loss="cross_entropy", optimizer="adam",
            lr=1e-3, batch_size=200, epochs=100),
    data_args={"dims": 10, "offset": 1.0, "n_train": 100, "n_test": 500, "rotate": True},
    name="atoms.pca",
)


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Run numpy's BLAS on one thread while these claims train.

    The random rotation is a QR of a (d x d) matrix per seed; with OpenBLAS's default of
    one thread per core, on a busy 2-core machine each QR is 10-30x slower than on one
    thread. Speed only: the verdicts do not depend on it.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


#: Principal components kept: the informative dimensionality (the document: "5-10").
COMPONENTS = 10
#: The reductions: none, or PCA to COMPONENTS.
REDUCTIONS = {"none": {}, "pca": {"pca_components": COMPONENTS}}
#: The open settings of both claims (module docstring).
OPEN_SETTINGS = [{"dummy_scale": 0.1}]


@pytest.fixture(scope="session")
def pca_sweep() -> SharedSweep:
    """Every dummy count with and without PCA, trained once per seeds and settings."""
    return SharedSweep(PCA_TASK, dummy_dims=DUMMY_DIMS, reduction=REDUCTIONS)


@pytest.mark.claim(claim_id="atoms.pca.dims_hurt", sources=[SOURCE], seeds=20,
                   robust_over=OPEN_SETTINGS)
def test_pca_dims_hurt(claim, pca_sweep):
    """Accuracy falls as useless dimensions are added (after a random rotation).

    Protocol: the document's data (two 10-d Gaussians, identity covariance, means 1
    apart in every dimension, 100 training points), plus 0, 30, 90, 190 or 390 "dummy"
    dimensions drawn from N(0, 1e-3²) for both classes, then one random rotation (drawn
    per seed) of all features, which hides the dummies. Balanced test set of 500. Net
    (d)-64-64-2, ReLU, Xavier init, cross-entropy, Adam lr=1e-3 with batch min(200, n) =
    full batch, 100 epochs: scikit-learn MLPClassifier's recipe (the document's notebook
    trains a 100-100 net with Adam at lr=0.003 for 500 full-batch steps). Open settings:
    dummy SD 0.1 (module docstring). Test: Page's L on test accuracy along the dummy
    count (no reduction), seeds as blocks, one-sided "falls". Not strict: the document
    describes a drop past about 100 dimensions ("当维数超过 100 时...显著的下降"), not a
    fall at every step.

    Finding to read with the verdict: the fall is real but small, about 1 point of
    accuracy from 10 to 400 dimensions (0.908 to 0.899 at 10 seeds; 0.908 to 0.902 with
    dummy SD 0.1), not monotone (40 dimensions are level with 10, and 200 with 100), with
    no sharp drop once the dimension passes the 100 samples, unlike the document's
    threshold. It is largest at the last level but not carried by it: without the 400-d
    level Page's L still gives p=0.035 (0.021 at dummy SD 0.1). The dummies carry almost
    no variance, and gradient descent only moves the first layer within the span of the
    training inputs, so the extra dimensions mostly change the Xavier init scale and
    Adam's per-coordinate steps.

    Fresh seeds (1000-1009, run once, protocol unchanged): supported at the base (p=2e-4)
    but inconclusive at dummy SD 0.1 (p=0.37), so the claim's verdict there is
    inconclusive. A one-point effect sits at the edge of what 10 seeds resolve; this is
    the least stable verdict of §1-§7.

    Seeds: 20, not 10, by the catalog's replication rule (as for ``atoms.depth``): a claim
    that fails to replicate on fresh seeds at the edge of its test's power gets its seeds
    doubled once, and both seed sets are rerun and kept whatever they say. On today's
    engine (a seed's numbers no longer depend on its batch) the 10-seed runs read: seeds
    0-9 supported (test accuracy at 10, 40, 100, 200, 400 dimensions 0.908, 0.909, 0.903,
    0.904, 0.899, p = 0.001; dummy SD 0.1: 0.908, 0.910, 0.907, 0.904, 0.902, p = 0.002);
    fresh seeds 1000-1009 supported at the base (0.910, 0.909, 0.906, 0.902, 0.901,
    p = 0.0002) but flat at dummy SD 0.1 (0.910, 0.910, 0.909, 0.909, 0.911, p = 0.37), so
    inconclusive. Hence 20. Only this claim's seeds doubled: atoms.pca.helps keeps 10 and
    reads seeds 0-9 of the same shared sweep (SharedSweep keeps its runs per seed).

    Finding (seeds 0-19): supported. Base: 0.912, 0.910, 0.905, 0.903, 0.899 (p < 1e-8);
    dummy SD 0.1: 0.912, 0.911, 0.909, 0.907, 0.907 (p = 0.0004). Fresh seeds (1000-1019):
    the same verdict (base 0.913, 0.910, 0.908, 0.905, 0.901, p < 1e-8; dummy SD 0.1:
    0.913, 0.910, 0.910, 0.909, 0.907, p = 0.0009). The fall stays about one point (half
    that at dummy SD 0.1) and gradual, with no sharp drop past the 100 samples. Cost, on
    the shared 2-core machine: the claim's wall time went from 20-21 s to 24-34 s (its
    process's CPU time from 20 s to 28 s).
    """
    claim.use(pca_sweep)
    claim.expect(Falls("test_accuracy", along="dummy_dims", where={"reduction": "none"}))


@pytest.mark.parametrize("dummy_dims", [190, 390], ids=["200d", "400d"])
@pytest.mark.claim(claim_id="atoms.pca.helps", sources=[SOURCE], seeds=10,
                   robust_over=OPEN_SETTINGS)
def test_pca_helps(claim, pca_sweep, dummy_dims):
    """PCA to a few dimensions raises accuracy when dimensions exceed samples.

    Protocol: the data and net of atoms.pca.dims_hurt at 200 and 400 dimensions in all
    (190 and 390 dummies; more dimensions than the 100 training points), one variant per
    dimensionality, with and without PCA to 10 components before the net. PCA is fitted
    on the training split only and applied to both splits
    (gaussian_mixture(pca_components=10)); the draw is the same with and without it, so
    the arms pair by seed. 10 = the informative dimensionality, inside the document's
    "5-10". Open settings: dummy SD 0.1 (module docstring). Test: one-sided Wilcoxon
    signed-rank, PCA > none.

    Finding to read with the verdict: PCA helps by 1.5-1.9 points at 200-400 dimensions
    under both dummy scales, but also by about 1 point with no dummies at all (10
    dimensions, where PCA to 10 is only centring plus a rotation onto the principal axes:
    the sweep's pca arms at 0, 30 and 90 dummies show it). So most of the gain here is not
    about dimensions exceeding samples; the part that is grows with the dummy count.
    """
    claim.use(pca_sweep)
    claim.expect(Beats("test_accuracy", along="reduction", a="pca", b="none",
                       where={"dummy_dims": dummy_dims}))
