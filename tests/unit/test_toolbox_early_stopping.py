"""atomcheck.toolbox.early_stopping: the patience rule and the validation curves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from atomcheck.errors import InvalidClaim
from atomcheck.toolbox.early_stopping import StopPoint, patience_stop, validation_curves


def test_no_improvement_in_n_stops_n_epochs_after_the_best():
    curve = [0.5, 0.6, 0.7, 0.69, 0.7, 0.65, 0.71, 0.7]
    assert patience_stop(curve, 3) == StopPoint(stop_epoch=6, best_epoch=3)
    assert patience_stop(curve, 4) == StopPoint(stop_epoch=8, best_epoch=7)  # never stops
    assert patience_stop(curve, 1) == StopPoint(stop_epoch=4, best_epoch=3)


def test_losses_improve_downwards_and_min_delta_ignores_small_gains():
    loss = [1.0, 0.8, 0.79, 0.785, 0.78]
    assert patience_stop(loss, 2, greater=False) == StopPoint(5, 5)
    assert patience_stop(loss, 2, greater=False, min_delta=0.05) == StopPoint(4, 2)


def test_nan_epochs_never_improve():
    assert patience_stop([0.5, math.nan, math.nan], 2) == StopPoint(3, 1)
    assert patience_stop([math.nan, 0.4, 0.3], 5) == StopPoint(3, 2)


@pytest.mark.parametrize("patience", [0, 1.5, True])
def test_bad_patience_is_refused(patience):
    with pytest.raises(InvalidClaim, match="patience"):
        patience_stop([0.1, 0.2], patience)


def test_validation_curves_record_both_parts_of_the_same_run():
    from atomcheck.data import digits
    from atomcheck.models import MLPSpec, train
    from atomcheck.toolbox.holdout import validation_split

    spec = MLPSpec(widths=(8,), epochs=4, batch_size=32, dtype="float64")
    seeds = [0, 1]
    data = [digits(seed=s, n_train=120) for s in seeds]
    got = validation_curves(spec, data, seeds)
    for s, ds, c in zip(seeds, data, got):
        val, test = validation_split(ds)
        ref_val = train(spec.replace(history=True), val, seed=s).history
        ref_test = train(spec.replace(history=True), test, seed=s).history
        np.testing.assert_allclose(c.validation_accuracy, ref_val["test_accuracy"], atol=1e-9)
        np.testing.assert_allclose(c.test_loss, ref_test["test_loss"], atol=1e-9)
        np.testing.assert_allclose(c.train_loss, ref_test["train_loss"], atol=1e-9)
        assert c.at(4)["test_accuracy"] == pytest.approx(ref_test["test_accuracy"][-1])


def test_validation_curves_equal_two_batched_rows_per_seed_exactly():
    # One row per seed, scored on both held-out parts, must give the very numbers of the
    # old design (two identical rows per seed, one scored on each part), diverged rows too.
    from atomcheck.data import digits
    from atomcheck.engine import train_batched_configs
    from atomcheck.models import MLPSpec
    from atomcheck.toolbox.holdout import validation_split

    seeds = [0, 1, 2, 3]
    data = [digits(seed=s, n_train=150) for s in seeds]
    parts = [validation_split(d) for d in data]
    for spec, diverged in ((MLPSpec(widths=(16,), activation="sigmoid", init="gaussian",
                                    lr=0.5, batch_size=10, epochs=5), [False] * 4),
                           # seeds 1 and 2 diverge in epoch 1 and leave the batch
                           (MLPSpec(widths=(16,), activation="identity", loss="mse",
                                    init="gaussian", lr=0.04, batch_size=10, epochs=5),
                            [False, True, True, False])):
        got = validation_curves(spec, data, seeds)
        assert [bool(np.isnan(c.validation_loss).all()) for c in got] == diverged
        rec = spec.replace(history=True)
        val, test = train_batched_configs([rec, rec], [[p[0] for p in parts],
                                                       [p[1] for p in parts]], seeds)
        for c, v, t in zip(got, val, test):
            np.testing.assert_array_equal(c.validation_loss, v.history["test_loss"])
            np.testing.assert_array_equal(c.validation_accuracy, v.history["test_accuracy"])
            np.testing.assert_array_equal(c.test_accuracy, t.history["test_accuracy"])
            np.testing.assert_array_equal(c.train_loss, t.history["train_loss"])


def test_validation_curves_need_one_dataset_per_seed():
    from atomcheck.data import digits
    from atomcheck.models import MLPSpec

    with pytest.raises(InvalidClaim, match="one dataset per seed"):
        validation_curves(MLPSpec(widths=(8,), epochs=1), [digits(seed=0, n_train=60)], [0, 1])
