"""Timing claims through pytest-benchmark (atomcheck.toolbox.benchmark_timing), via pytester.

The claim sleeps a known time per seed, so the samples the verdict reads can be checked
against the rounds pytest-benchmark stored, seed by seed.
"""

from __future__ import annotations

import json

import pytest

CLAIM = '''
import time
import pytest
from atomcheck import Rises
from atomcheck.toolbox.benchmark_timing import BenchmarkTimings

def nap(ms):
    time.sleep(ms / 1000)

@pytest.mark.claim(claim_id="demo.nap", sources=["doc.txt §1"], seeds=6)
def test_nap(claim, benchmark):
    """A longer nap takes longer."""
    timings = BenchmarkTimings(benchmark, claim, nap,
                               prepare=lambda seed, ms: (ms + 0.1 * seed,))
    claim.sweep(timings, ms=[1, 2, 4])
    claim.expect(Rises("time_s", along="ms"))
'''


@pytest.fixture(autouse=True)
def _not_an_xdist_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inner runs are not xdist workers, even when this suite runs under ``-n 2``:
    pytest-benchmark reads PYTEST_XDIST_WORKER from the environment and would switch off."""
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.delenv("PYTEST_XDIST_TESTRUNUID", raising=False)


def _levels(path):
    (entry,) = json.loads(path.read_text())["claims"]
    return entry, {lv["config"]["ms"]: lv["values"] for lv in entry["levels"]}


def test_samples_are_the_benchmark_rounds_paired_by_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nap=CLAIM)
    result = pytester.runpytest("--atomcheck-report=r.json", "--benchmark-json=b.json",
                                "--benchmark-save-data", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*benchmark 'demo.nap': 3 tests*",
                                 "*test_nap?ms=1?*", "*test_nap?ms=4?*"])
    entry, levels = _levels(pytester.path / "r.json")
    assert entry["verdict"] == "supported"
    benches = {b["params"]["ms"]: b for b in json.loads((pytester.path / "b.json").read_text())
               ["benchmarks"]}
    assert set(benches) == {1, 2, 4}
    for ms, bench in benches.items():
        assert bench["group"] == "demo.nap"
        assert bench["stats"]["rounds"] == 6
        assert bench["extra_info"]["seeds"] == [0, 1, 2, 3, 4, 5]
        assert bench["stats"]["data"] == pytest.approx(levels[ms], rel=1e-3)
        # seed s naps ms + 0.1 s milliseconds: the rounds come in seed order
        assert all(t >= (ms + 0.1 * s) / 1000 for s, t in enumerate(bench["stats"]["data"]))


ORDER = '''
import time
import pytest
from atomcheck import Beats
from atomcheck.toolbox.benchmark_timing import BenchmarkTimings

ROUNDS = []

def nap(ms):
    time.sleep(ms / 1000)

def prepare(seed, ms):
    ROUNDS.append((seed, ms))
    return (ms,)

@pytest.mark.claim(claim_id="demo.order", seeds=6)
def test_order(claim, benchmark):
    """A longer nap takes longer."""
    claim.sweep(BenchmarkTimings(benchmark, claim, nap, prepare=prepare), ms=[1, 2])
    claim.expect(Beats("time_s", along="ms", a=2, b=1))
    # one warm-up round each, then seed by seed: forward, backward, forward, ...
    assert ROUNDS == [(0, 1), (0, 2)] + [
        (seed, ms) for seed in range(6) for ms in ([1, 2] if seed % 2 == 0 else [2, 1])], ROUNDS
'''


@pytest.mark.parametrize("mode", ["enabled", "disabled"])
def test_each_seed_is_timed_under_every_configuration_back_to_back(
        pytester: pytest.Pytester, mode: str) -> None:
    pytester.makepyfile(test_order=ORDER)
    extra = ["--benchmark-disable"] if mode == "disabled" else ["--benchmark-json=b.json"]
    result = pytester.runpytest("-p", "no:cacheprovider", "--atomcheck-no-cache", *extra)
    result.assert_outcomes(passed=1)
    if mode == "enabled":
        benches = json.loads((pytester.path / "b.json").read_text())["benchmarks"]
        assert sorted(b["params"]["ms"] for b in benches) == [1, 2]
        assert all(b["stats"]["rounds"] == 6 for b in benches)


def test_disabled_benchmarks_still_give_a_verdict(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nap=CLAIM)
    result = pytester.runpytest("--benchmark-disable", "--atomcheck-report=r.json",
                                "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "benchmark 'demo.nap'" not in result.stdout.str()
    entry, levels = _levels(pytester.path / "r.json")
    assert entry["verdict"] == "supported"
    assert "pytest-benchmark is disabled" in entry["message"]
    assert all(t >= 4e-3 for t in levels[4])


def test_benchmark_skip_and_only(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nap=CLAIM, test_other="def test_plain():\n    pass\n")
    pytester.runpytest("--benchmark-skip", "-p", "no:cacheprovider").assert_outcomes(
        passed=1, skipped=1)
    pytester.runpytest("--benchmark-only", "-p", "no:cacheprovider").assert_outcomes(
        passed=1, skipped=1)


def test_autosave_then_compare(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nap=CLAIM)
    pytester.runpytest("--benchmark-autosave", "-p", "no:cacheprovider").assert_outcomes(
        passed=1)
    saved = list((pytester.path / ".benchmarks").rglob("*.json"))
    assert len(saved) == 1
    names = {b["fullname"] for b in json.loads(saved[0].read_text())["benchmarks"]}
    assert names == {f"test_nap.py::test_nap[ms={ms}]" for ms in (1, 2, 4)}
    result = pytester.runpytest("--benchmark-compare", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert "test_nap[ms=1] (NOW)" in out and "test_nap[ms=1] (0001_" in out


def test_under_xdist_timed_without_the_table(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(test_nap=CLAIM)
    result = pytester.runpytest_subprocess("-n", "2", "--atomcheck-report=r.json",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    entry, _ = _levels(pytester.path / "r.json")
    assert entry["verdict"] == "supported"
    assert "pytest-benchmark is disabled" in entry["message"]


def test_a_rerun_reads_timings_from_the_cache_unless_benchmarks_are_stored(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nap=CLAIM)
    first = pytester.runpytest("--atomcheck-cache-dir=c", "--atomcheck-report=first.json",
                               "-p", "no:cacheprovider")
    first.assert_outcomes(passed=1)
    second = pytester.runpytest("--atomcheck-cache-dir=c", "--atomcheck-report=second.json",
                                "-p", "no:cacheprovider")
    second.assert_outcomes(passed=1)
    assert "benchmark 'demo.nap'" not in second.stdout.str()  # nothing was timed
    entry_1, levels_1 = _levels(pytester.path / "first.json")
    entry_2, levels_2 = _levels(pytester.path / "second.json")
    assert entry_1["cached_runs"] == 0 and entry_2["cached_runs"] == 18
    assert (entry_1["stored_runs"], entry_2["stored_runs"]) == (18, 0)
    assert levels_2 == levels_1
    assert "measured by an earlier run on this machine" in entry_2["message"]
    # storing pytest-benchmark's results needs fresh timings: the cache is not read
    third = pytester.runpytest("--atomcheck-cache-dir=c", "--atomcheck-report=third.json",
                               "--benchmark-json=b.json", "-p", "no:cacheprovider")
    third.assert_outcomes(passed=1)
    entry_3, levels_3 = _levels(pytester.path / "third.json")
    assert entry_3["cached_runs"] == 0 and levels_3 != levels_1
    assert len(json.loads((pytester.path / "b.json").read_text())["benchmarks"]) == 3


def test_on_a_process_pool_timings_stay_in_the_test_process(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nap=CLAIM)
    result = pytester.runpytest("--atomcheck-report=r.json", "--atomcheck-executor=processes",
                                "--atomcheck-no-cache", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    entry, _ = _levels(pytester.path / "r.json")
    assert entry["verdict"] == "supported"
    assert "executor: serial, not processes (pytest-benchmark times in the test's own " \
           "process)" in entry["message"]
