"""Sweeps over a Task: the batched path gives the per-seed path's table."""

from __future__ import annotations

import numpy as np
import pytest

from atomcheck import InvalidClaim, run_sweep
from atomcheck.data import gaussian_mixture
from atomcheck.models import MLPSpec, Task

TASK = Task(gaussian_mixture, MLPSpec(widths=(6,), epochs=3, batch_size=8, dtype="float64",
                                       history=True),
            data_args={"n_train": 40, "n_test": 20, "dims": 3})
LEVELS = {"loss": ["cross_entropy", "mse", "hinge"], "lr": [0.01, 0.1]}


def test_batched_sweep_equals_per_seed_sweep() -> None:
    batched = run_sweep(TASK, LEVELS, [0, 1, 2])
    per_seed = run_sweep(TASK, LEVELS, [0, 1, 2], batched=False)
    assert (batched.engine, per_seed.engine) == ("batched", "per-seed")
    assert batched.configs == per_seed.configs
    for metric in ("train_loss", "test_accuracy", "test_loss"):
        np.testing.assert_allclose(batched.matrix(metric), per_seed.matrix(metric),
                                   rtol=0, atol=1e-9)


def test_batched_sweep_keeps_per_epoch_history() -> None:
    samples = run_sweep(TASK, {"lr": [0.01, 0.1]}, [0, 1])
    record = samples.to_records()[0]
    assert len(record["history"]["train_loss"]) == 3
    assert record["history"]["test_accuracy"][-1] == pytest.approx(record["test_accuracy"])


def test_unknown_factor_of_a_task_is_refused_before_training() -> None:
    with pytest.raises(InvalidClaim, match=r"unknown factor 'width'"):
        run_sweep(TASK, {"width": [1, 2]}, [0, 1], claim_id="demo")


def test_by_level_mixes_a_batched_task_with_a_per_seed_function() -> None:
    from atomcheck import ByLevel
    from atomcheck.models import sklearn_task

    def logistic(**kwargs):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression()

    fn = ByLevel("model", {"net": TASK, "logistic": sklearn_task(
        logistic, gaussian_mixture, data_args={"n_train": 40, "n_test": 20, "dims": 3})})
    samples = run_sweep(fn, {"model": ["net", "logistic"]}, [0, 1, 2])
    assert samples.engine == "mixed"
    direct = run_sweep(TASK, {"lr": [TASK.model.lr]}, [0, 1, 2])
    np.testing.assert_allclose(samples.matrix("test_accuracy")[:, 0],
                               direct.matrix("test_accuracy")[:, 0], atol=1e-12)
    assert np.all((samples.matrix("test_accuracy")[:, 1] > 0.5))
