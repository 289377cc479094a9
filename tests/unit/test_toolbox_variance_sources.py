"""Sources of randomness: held sources are the same for every seed, batched or alone."""

from __future__ import annotations

import numpy as np
import pytest

from atomcheck.data import gaussian_mixture
from atomcheck.engine import train_task_configs
from atomcheck.errors import InvalidClaim
from atomcheck.models import MLPSpec, Task
from atomcheck.seeding import SOURCES, stream_seed
from atomcheck.toolbox.variance_sources import variance_by_source

SPEC = MLPSpec(widths=(8,), activation="relu", epochs=3, batch_size=8, lr=0.05, dropout=0.2)
TASK = Task(gaussian_mixture, SPEC, data_args={"dims": 4, "n_train": 60, "n_test": 40})
SEEDS = [0, 1, 2, 3]


def _values(config, metric="test_loss"):
    (results,) = train_task_configs(TASK, SEEDS, [config])
    return np.array([TASK.result_metrics(r)[metric] for r in results])


def test_holding_every_source_makes_every_seed_identical():
    values = _values({"hold": SOURCES})
    assert np.all(values == values[0])
    assert len(set(_values({}))) == len(SEEDS), "nothing held: seeds differ"


@pytest.mark.parametrize("source", SOURCES)
def test_varying_one_source_alone_still_varies(source):
    values = _values({"hold": tuple(s for s in SOURCES if s != source)})
    assert len(set(values)) > 1, f"{source} alone should make seeds differ"


def test_held_data_is_one_sample_for_every_seed():
    config = {"hold": ("data",)}
    first, second = TASK.dataset(0, config), TASK.dataset(5, config)
    assert np.array_equal(first.x_train, second.x_train)
    assert not np.array_equal(TASK.dataset(0, {}).x_train, TASK.dataset(5, {}).x_train)


@pytest.mark.parametrize("hold", [(), ("data",), ("init", "order"), ("dropout",)])
def test_batched_equals_each_seed_alone(hold):
    spec = SPEC.replace(dtype="float64", hold=hold)
    task = Task(gaussian_mixture, spec, data_args=TASK.data_args)
    (batched,) = train_task_configs(task, SEEDS, [{}])
    for seed, result in zip(SEEDS, batched):
        alone = task(seed)
        assert task.result_metrics(result)["test_loss"] == pytest.approx(alone["test_loss"],
                                                                          abs=1e-9)


def test_stream_seed_and_bad_hold():
    assert stream_seed(9, "order", ("order",)) == 0 and stream_seed(9, "order") == 9
    with pytest.raises(ValueError, match="source"):
        stream_seed(1, "weights")
    with pytest.raises(InvalidClaim, match="hold"):
        MLPSpec(widths=(4,), hold=("weights",))
    assert MLPSpec(widths=(4,), hold="data").hold == ("data",)


def test_variance_by_source_reports_each_source_and_the_total():
    out = variance_by_source(TASK, "test_loss", list(range(6)))
    assert set(out) == {*SOURCES, "all"}
    assert out["all"]["share"] == pytest.approx(1.0)
    assert all(v["variance"] > 0 for v in out.values())
    with pytest.raises(ValueError, match="sources"):
        variance_by_source(TASK, "test_loss", [0, 1], sources=("weights",))
