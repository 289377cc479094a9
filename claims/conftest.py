"""The catalog: every claim of CLAIMS.md as a pytest test (run with ``pytest claims/``)."""

from __future__ import annotations

import math

import pytest

from atomcheck import SharedSweep
from atomcheck.data import gaussian_mixture
from atomcheck.metrics import mean_abs_weight, near_zero_share
from atomcheck.models import MLPSpec, Task, TrainResult

# =========================================================================================
# §8-§12 of 000_07dadddd682b9602.txt ("12 atoms of deep learning"): the mixture set-up
# shared by atoms.batch_size, atoms.loss, atoms.init, atoms.layers, atoms.regularization.
#
# Every one of these sections states the data the same way: two 12-d Gaussians with the
# same (identity) covariance, means 1 apart in every dimension, 500 points of which 400
# train and 100 test. None states the net's width, the optimiser, the learning rate, the
# batch size (outside §8) or the number of epochs; §11 and §12 state the depth. The
# catalog's recipe for them (kept from the first version of these claims): MLP 12-64-64-2,
# ReLU, Xavier-uniform init, cross-entropy, plain SGD at lr=0.01, batch 16, 20 epochs.
# Each claim declares those unstated choices as open settings (robust_over); its module
# says which alternatives and by what rule.
# =========================================================================================

#: The document's data, drawn per seed (seed *s* draws the same data at every level).
MIXTURE_DATA_ARGS = {"dims": 12, "offset": 1.0, "n_train": 400, "n_test": 100}

#: The catalog's §8-§12 recipe (the settings the document leaves open, fixed once).
MIXTURE_RECIPE = MLPSpec(widths=(64, 64), activation="relu", init="xavier_uniform",
                         loss="cross_entropy", optimizer="sgd", lr=0.01, batch_size=16,
                         epochs=20)


@pytest.fixture(scope="session")
def mixture_data_args() -> dict[str, object]:
    """The §8-§12 data arguments of :func:`atomcheck.data.gaussian_mixture`."""
    return dict(MIXTURE_DATA_ARGS)


@pytest.fixture(scope="session")
def mixture_sgd(mixture_data_args: dict[str, object]) -> Task:
    """The §8-§12 task: the document's mixture and the catalog's SGD recipe."""
    return Task(gaussian_mixture, MIXTURE_RECIPE, data_args=mixture_data_args,
                name="atoms.mixture_sgd")


@pytest.fixture(scope="session")
def mixture_task(mixture_sgd: Task):
    """``mixture_task(name, metrics=None, **spec_changes)``: the §8-§12 task with some
    MLPSpec fields changed (depth, init, snapshots...) and extra metrics."""
    def make(name: str, *, metrics=None, **changes: object) -> Task:
        model = mixture_sgd.model.replace(**changes) if changes else mixture_sgd.model
        return Task(mixture_sgd.data, model, data_args=mixture_sgd.data_args, metrics=metrics,
                    name=name)
    return make


# -- §12 regularisation: one penalty sweep read by every atoms.regularization claim ----------

#: Σw² and Σ|w| of the initial weight matrices of the 12-64-64-2 net under Xavier-uniform
#: init, in expectation (U(-a, a), a = √(6/(n_in+n_out)): E w² = a²/3, E|w| = a/2).
_LAYERS = ((12, 64), (64, 64), (64, 2))
INIT_SUM_SQUARES = sum(i * o * 2 / (i + o) for i, o in _LAYERS)                  # ≈ 88.1
INIT_SUM_ABS = sum(i * o * math.sqrt(6 / (i + o)) / 2 for i, o in _LAYERS)       # ≈ 570.6
#: The data loss at initialisation: cross-entropy of two near-equal logits.
INIT_DATA_LOSS = math.log(2)


def penalty_coefficient(kind: str, ratio: float) -> float:
    """The L1/L2 coefficient whose penalty on the initial weights is ``ratio`` times the
    data loss at initialisation (the strength rule of the atoms.regularization claims)."""
    return ratio * INIT_DATA_LOSS / (INIT_SUM_ABS if kind == "l1" else INIT_SUM_SQUARES)


#: Penalty-to-data-loss ratios at initialisation: a decade ladder, 1x, 10x and 100x.
PENALTY_RATIOS = (1, 10, 100)

#: Named levels ``l1_x10`` etc.: the penalty whose initial value is 10x the data loss.
REGULARIZATION_PENALTIES: dict[str, dict[str, float]] = {"none": {}} | {
    f"{kind}_x{ratio}": {kind: penalty_coefficient(kind, ratio)}
    for ratio in PENALTY_RATIOS for kind in ("l1", "l2")}


def regularization_metrics(result: TrainResult) -> dict[str, float]:
    """Weight statistics of the final weight matrices (biases excluded)."""
    return {"near_zero_share": near_zero_share(result.weights, 1e-2),
            "near_zero_share_1e-3": near_zero_share(result.weights, 1e-3),
            "mean_abs_weight": mean_abs_weight(result.weights)}


@pytest.fixture(scope="session")
def regularization_sweep(mixture_task) -> SharedSweep:
    """The §12 sweep: the recipe trained with no penalty and with L1 and L2 at 1x, 10x and
    100x the initial data loss; trained once per seeds and settings in a process."""
    task = mixture_task("atoms.regularization", metrics=regularization_metrics)
    return SharedSweep(task, penalty=REGULARIZATION_PENALTIES)
