"""atomcheck.toolbox.seed_batch: one batched call per configuration, per-seed answers."""

from __future__ import annotations

import pytest

from atomcheck import InvalidClaim
from atomcheck.sweep import accepted_names, run_sweep
from atomcheck.toolbox.seed_batch import SeedBatched


def make():
    calls = []

    def train_all(seeds, *, lr=0.1, width=4):
        calls.append((tuple(seeds), lr, width))
        return [{"y": 100 * s + lr * width} for s in seeds]

    return SeedBatched(train_all, [3, 4, 5]), calls


def test_one_call_per_config_and_per_seed_values():
    fn, calls = make()
    table = run_sweep(fn, {"lr": [0.5, 1.0]}, [3, 4, 5])
    assert table.matrix("y").tolist() == [[302.0, 304.0], [402.0, 404.0], [502.0, 504.0]]
    assert calls == [((3, 4, 5), 0.5, 4), ((3, 4, 5), 1.0, 4)]
    fn(4, lr=0.5)
    assert len(calls) == 2  # stored


def test_names_defaults_and_errors():
    fn, _ = make()
    assert accepted_names(fn) == frozenset({"lr", "width"})
    assert fn.defaults == {"lr": 0.1, "width": 4}
    with pytest.raises(InvalidClaim, match="not one of the seeds"):
        fn(9)
    with pytest.raises(InvalidClaim, match="distinct"):
        SeedBatched(lambda seeds: [], [1, 1])
    short = SeedBatched(lambda seeds: [{"y": 0.0}], [1, 2])
    with pytest.raises(InvalidClaim, match="1 results for 2 seeds"):
        short(1)


def test_divergence_as_data_keeps_the_run_and_its_outcome():
    pytest.importorskip("torch")
    from atomcheck.data import gaussian_mixture
    from atomcheck.models import MLPSpec, Task
    from atomcheck.toolbox.seed_batch import divergence_as_data

    task = Task(gaussian_mixture, MLPSpec(widths=(8,), epochs=2), data_args={"n_train": 40},
                metrics=lambda r: {"ok": float(not r.diverged)})
    fn = divergence_as_data(task, [0, 1])
    table = run_sweep(fn, {"lr": [0.01, 1e6]}, [0, 1])
    assert table.n_diverged == 0                      # no run is dropped or set against
    assert table.matrix("blew_up").tolist() == [[0.0, 1.0], [0.0, 1.0]]
    assert table.matrix("ok").tolist() == [[1.0, 0.0], [1.0, 0.0]]
    assert "train_loss" in table.runs[0].metrics and "train_loss" not in table.runs[2].metrics
    assert fn.defaults["lr"] == 0.01 and "lr" in fn.factor_names()


def _train_all(seeds, *, lr=0.1):
    return [{"y": s + lr} for s in seeds]


def test_the_results_it_keeps_stay_out_of_its_fingerprint():
    from atomcheck.fingerprint import fingerprint

    batched = SeedBatched(_train_all, [0, 1])
    before = fingerprint(batched)
    batched(0, lr=0.5)
    assert fingerprint(batched) == before
    assert fingerprint(SeedBatched(_train_all, [0, 1, 2])) != before
