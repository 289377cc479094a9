"""Every executor gives the same numbers for the same seeds; a dead worker's work is redone."""

from __future__ import annotations

import os

import numpy as np
import pytest

from atomcheck.cache import ResultCache
from atomcheck.data import gaussian_mixture
from atomcheck.errors import ClaimError
from atomcheck.executors import DaskExecutor, ProcessExecutor, SerialExecutor
from atomcheck.models import MLPSpec, Task
from atomcheck.sweep import run_sweep

pytestmark = pytest.mark.slow

SPEC = MLPSpec(widths=(16,), activation="relu", init="xavier_uniform", loss="cross_entropy",
               optimizer="sgd", lr=0.05, batch_size=16, epochs=3)
TASK = Task(gaussian_mixture, SPEC, data_args={"dims": 4, "offset": 1.0, "n_train": 80,
                                               "n_test": 40}, name="executors.mixture")


def noisy(seed, scale):
    """A per-seed function whose numbers depend on the seed's own stream only."""
    rng = np.random.default_rng(seed)
    return {"y": float(scale * rng.normal()), "pid_parity": 0.0}


@pytest.fixture(scope="module")
def dask_executor():
    pytest.importorskip("distributed")
    executor = DaskExecutor(workers=2)
    yield executor
    executor.close()


def _executors(dask_executor):
    return [SerialExecutor(), ProcessExecutor(workers=2), dask_executor]


def test_batched_task_gives_identical_numbers_on_every_executor(dask_executor):
    levels = {"lr": [0.01, 0.05, 0.2], "batch_size": [8, 16]}
    tables = [run_sweep(TASK, levels, list(range(4)), executor=e)
              for e in _executors(dask_executor)]
    for metric in ("test_accuracy", "train_loss"):
        serial = tables[0].matrix(metric)
        for other in tables[1:]:
            assert np.array_equal(serial, other.matrix(metric), equal_nan=True)


def test_per_seed_function_gives_identical_numbers_on_every_executor(dask_executor):
    tables = [run_sweep(noisy, {"scale": [1.0, 2.0]}, list(range(6)), executor=e)
              for e in _executors(dask_executor)]
    for other in tables[1:]:
        assert np.array_equal(tables[0].matrix("y"), other.matrix("y"))


def test_results_computed_by_workers_land_in_the_cache(tmp_path):
    cache = ResultCache(tmp_path)
    first = run_sweep(noisy, {"scale": [1.0, 2.0, 3.0]}, list(range(4)),
                      executor=ProcessExecutor(workers=2), cache=cache)
    assert cache.stats.writes == 12
    again = run_sweep(noisy, {"scale": [1.0, 2.0, 3.0]}, list(range(4)), cache=cache)
    assert cache.stats.hits == 12
    assert np.array_equal(first.matrix("y"), again.matrix("y"))


def kill_once(seed, x, marker=""):
    """Kills its worker process the first time seed 3 runs (the marker records it)."""
    if seed == 3 and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return {"y": float(seed + x)}


def kill_always(seed, x):
    """Kills every worker that runs seed 3."""
    if seed == 3:
        os._exit(1)
    return {"y": float(seed + x)}


def test_a_dead_dask_worker_has_its_work_redone(tmp_path, dask_executor):
    import functools

    fn = functools.partial(kill_once, marker=str(tmp_path / "killed"))
    table = run_sweep(fn, {"x": [0, 1]}, list(range(5)), executor=dask_executor)
    assert (tmp_path / "killed").exists(), "the worker really died once"
    assert table.matrix("y").tolist() == [[float(s + x) for x in (0, 1)] for s in range(5)]


def test_a_task_that_keeps_killing_workers_is_the_claims_error(dask_executor):
    with pytest.raises(ClaimError, match="demo.kill: a unit of work failed on the dask"):
        run_sweep(kill_always, {"x": [0, 1]}, list(range(5)), executor=dask_executor,
                  claim_id="demo.kill")


def test_a_killed_pool_worker_is_the_claims_error_and_keeps_finished_runs(tmp_path):
    cache = ResultCache(tmp_path)
    with pytest.raises(ClaimError, match="processes executor"):
        run_sweep(kill_always, {"x": [0, 1, 2]}, list(range(5)),
                  executor=ProcessExecutor(workers=2), cache=cache, claim_id="demo.kill")
    assert cache.stats.writes >= 1, "the probe's run (seed 0) was stored before the crash"


def test_a_function_that_cannot_be_pickled_is_an_error_that_names_the_fix():
    import threading

    from atomcheck.errors import InvalidClaim

    lock = threading.Lock()

    def holds_a_lock(seed, x):
        with lock:
            return {"y": float(x + seed)}

    with pytest.raises(InvalidClaim, match=r"demo\.lock: its training function cannot be sent "
                                           r"to another process \(.*--atomcheck-executor=serial"):
        run_sweep(holds_a_lock, {"x": [0, 1]}, list(range(3)),
                  executor=ProcessExecutor(workers=2), claim_id="demo.lock")


def test_a_function_that_must_stay_local_trains_in_the_claims_process():
    from atomcheck import Beats, Claim, Settings

    def here(seed, x):
        return {"y": float(x) + 0.01 * seed, "pid": float(os.getpid())}

    here.__atomcheck_local__ = "it reads this process's state"  # type: ignore[attr-defined]
    claim = Claim("demo.local", seeds=6, settings=Settings(executor="processes", workers=2))
    claim.sweep(here, x=[0, 1])
    verdict = claim.expect(Beats("y", along="x", a=1, b=0))
    assert verdict.verdict == "supported"
    assert set(claim.samples.matrix("pid").ravel()) == {float(os.getpid())}
    assert "executor: serial, not processes (it reads this process's state)" in verdict.message
