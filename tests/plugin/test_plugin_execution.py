"""Executors, the result cache and surviving a kill, through the plugin."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

CLAIM = '''
import os, time
import numpy as np
import pytest
from atomcheck import Rises

LOG = os.path.join(os.path.dirname(__file__), "calls.log")

def train(seed, x):
    with open(LOG, "a") as f:
        f.write(f"{seed},{x}\\n")
    time.sleep(float(os.environ.get("SLOW", "0")))
    r = np.random.default_rng(seed)
    return {"y": x + r.normal(scale=0.5)}

@pytest.mark.claim(claim_id="demo.cached", seeds=8)
def test_cached(claim):
    """y rises with x."""
    claim.sweep(train, x=[1, 2, 3])
    claim.expect(Rises("y", along="x"))
'''


def _calls(path) -> int:
    log = path / "calls.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def _entry(path):
    return json.loads(path.read_text())["claims"][0]


def _numbers(entry):
    return {k: entry[k] for k in ("verdict", "p_value", "effect", "statistic", "levels")}


def test_a_rerun_reads_every_run_from_the_cache(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claim=CLAIM)
    pytester.runpytest("--atomcheck-report=a.json").assert_outcomes(passed=1)
    assert _calls(pytester.path) == 24 and _entry(pytester.path / "a.json")["cached_runs"] == 0
    pytester.runpytest("--atomcheck-report=b.json").assert_outcomes(passed=1)
    assert _calls(pytester.path) == 24, "nothing trained the second time"
    assert _entry(pytester.path / "b.json")["cached_runs"] == 24
    assert _numbers(_entry(pytester.path / "a.json")) == _numbers(_entry(pytester.path / "b.json"))
    pytester.runpytest("--atomcheck-seeds=10").assert_outcomes(passed=1)
    assert _calls(pytester.path) == 24 + 6, "two more seeds: only they trained"
    pytester.runpytest("--atomcheck-no-cache").assert_outcomes(passed=1)
    assert _calls(pytester.path) == 24 + 6 + 24
    pytester.runpytest("--atomcheck-clear-cache").assert_outcomes(passed=1)
    assert _calls(pytester.path) == 24 + 6 + 24 + 24


def test_cache_dir_option_and_marker_opt_out(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claim=CLAIM.replace('seeds=8)', 'seeds=8, cache=False)'))
    pytester.runpytest("--atomcheck-cache-dir=store").assert_outcomes(passed=1)
    pytester.runpytest("--atomcheck-cache-dir=store").assert_outcomes(passed=1)
    assert _calls(pytester.path) == 48 and not list((pytester.path / "store").rglob("*.json"))


@pytest.mark.parametrize(("args", "message"), [
    (["--atomcheck-executor=threads"], "*--atomcheck-executor='threads' is not known; choose one "
                                       "of serial, processes, dask*"),
    (["--atomcheck-workers=0"], "*workers=0 must be >= 1*"),
    (["--atomcheck-dask-address=tcp://127.0.0.1:9"], "*needs --atomcheck-executor=dask*"),
    (["--atomcheck-cache-dir=afile"], "*--atomcheck-cache-dir='afile' is not a writable*"),
])
def test_bad_execution_options_fail_before_any_training(pytester: pytest.Pytester, args,
                                                        message) -> None:
    pytester.makepyfile(test_claim=CLAIM)
    pytester.makefile(".txt", afile="")
    (pytester.path / "afile.txt").rename(pytester.path / "afile")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert _calls(pytester.path) == 0


def test_an_unreachable_scheduler_fails_at_start_up(pytester: pytest.Pytester) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pytester.makepyfile(test_claim=CLAIM)
    result = pytester.runpytest("--atomcheck-executor=dask",
                                f"--atomcheck-dask-address=tcp://127.0.0.1:{port}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no Dask scheduler answers there*"])
    assert _calls(pytester.path) == 0


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_executors_give_the_serial_report(pytester: pytest.Pytester, executor: str) -> None:
    # Not imported here: importing distributed inside a pytester test leaves
    # importlib.metadata unable to find entry points for later in-process runs.
    if executor == "dask" and importlib.util.find_spec("distributed") is None:
        pytest.skip("dask executor needs the dask extra: pip install 'atomcheck[dask]'")
    pytester.makepyfile(test_claim=CLAIM)
    pytester.runpytest("--atomcheck-no-cache", "--atomcheck-report=serial.json"
                       ).assert_outcomes(passed=1)
    pytester.runpytest_subprocess(
        "--atomcheck-no-cache", f"--atomcheck-executor={executor}", "--atomcheck-workers=2",
        f"--atomcheck-report={executor}.json").assert_outcomes(passed=1)
    assert _numbers(_entry(pytester.path / "serial.json")) == _numbers(
        _entry(pytester.path / f"{executor}.json"))


@pytest.mark.slow
def test_a_run_killed_midway_resumes_from_the_cache(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claim=CLAIM)
    pytester.runpytest("--atomcheck-cache-dir=clean", "--atomcheck-report=clean.json"
                       ).assert_outcomes(passed=1)
    (pytester.path / "calls.log").unlink()
    env = {**os.environ, "SLOW": "0.1"}
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                             "--atomcheck-cache-dir=store", "--atomcheck-report=killed.json"],
                            cwd=pytester.path, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _calls(pytester.path) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = _calls(pytester.path)
    assert 10 <= done_before < 24, "killed midway"
    result = pytester.runpytest("--atomcheck-cache-dir=store", "--atomcheck-report=resumed.json")
    result.assert_outcomes(passed=1)
    resumed = _entry(pytester.path / "resumed.json")
    # Every run the killed process finished was kept: at most the one in flight is redone.
    assert resumed["cached_runs"] >= done_before - 1
    assert _calls(pytester.path) - done_before == 24 - resumed["cached_runs"]
    assert _numbers(resumed) == _numbers(_entry(pytester.path / "clean.json"))


SUITE = '''
import numpy as np
import pytest
from atomcheck import Beats

def arms(seed, arm, gap):
    r = np.random.default_rng([seed, 7])
    base = r.normal()
    return {"y": base + (gap if arm == "a" else 0.0) + r.normal(scale=1.0) * (arm == "a")}

@pytest.mark.claim(claim_id="demo.strong", seeds=12)
def test_strong(claim):
    """a beats b by a lot."""
    claim.sweep(lambda seed, arm: arms(seed, arm, 5.0), arm=["a", "b"])
    claim.expect(Beats("y", along="arm", a="a", b="b"))

@pytest.mark.claim(claim_id="demo.borderline", seeds=12)
def test_borderline(claim):
    """a beats b by a little."""
    # Paired differences 1..12 with ranks 1-5 negated: exact Wilcoxon p = 0.032.
    diffs = [-v if v <= 5 else v for v in range(1, 13)]
    claim.sweep(lambda seed, arm: {"y": float(diffs[seed]) if arm == "a" else 0.0},
                arm=["a", "b"])
    claim.expect(Beats("y", along="arm", a="a", b="b"))

@pytest.mark.claim(claim_id="demo.control", seeds=12, negative_control=True)
def test_control(claim):
    """identical arms: a does not beat b."""
    claim.sweep(lambda seed, arm: {"y": np.random.default_rng([seed, arm == "a"]).normal()},
                arm=["a", "b"])
    claim.expect(Beats("y", along="arm", a="a", b="b"))
'''


def _by_id(path):
    return {c["id"]: c for c in json.loads(path.read_text())["claims"]}


def test_fdr_adjusts_across_the_run_and_counts_negative_controls(pytester: pytest.Pytester
                                                                 ) -> None:
    pytester.makepyfile(test_suite=SUITE)
    plain = pytester.runpytest("--atomcheck-report=plain.json", "-p", "no:cacheprovider")
    entries = _by_id(pytester.path / "plain.json")
    p_border = entries["demo.borderline"]["p_value"]
    assert entries["demo.strong"]["verdict"] == "supported"
    assert entries["demo.control"]["negative_control"] is True
    plain.stdout.fnmatch_lines(["*negative controls: * of 1 supported*"])
    assert p_border == pytest.approx(0.031982421875)
    plain.assert_outcomes(passed=3)
    result = pytester.runpytest("--atomcheck-fdr=holm", "--atomcheck-report=holm.json",
                                "--atomcheck-report=holm.md", "-p", "no:cacheprovider")
    adjusted = _by_id(pytester.path / "holm.json")
    assert adjusted["demo.borderline"]["verdict"] == "inconclusive"
    assert adjusted["demo.borderline"]["verdict_unadjusted"] == "supported"
    assert adjusted["demo.strong"]["verdict"] == "supported"
    assert json.loads((pytester.path / "holm.json").read_text())["suite"]["method"] == "holm"
    result.stdout.fnmatch_lines(["*--atomcheck-fdr=holm adjusted 3 claims; 1 verdict(s)*",
                                 "*FAILED after adjustment demo.borderline*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    markdown = (pytester.path / "holm.md").read_text()
    assert ("Suite-wide adjustment: `holm` across 3 claims; 1 verdict(s) became inconclusive: "
            "`demo.borderline`.") in markdown
    assert "Negative controls: 0 of 1 supported (measured false-positive rate 0.00)." in markdown


@pytest.mark.slow
def test_fdr_under_xdist_adjusts_where_results_meet(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    pytester.runpytest("--atomcheck-fdr=holm", "--atomcheck-report=one.json",
                       "-p", "no:cacheprovider")
    pytester.runpytest_subprocess("-n", "2", "--atomcheck-fdr=holm",
                                  "--atomcheck-report=two.json", "-p", "no:cacheprovider")
    one, two = (json.loads((pytester.path / f"{n}.json").read_text()) for n in ("one", "two"))
    assert one["suite"]["changed"] == two["suite"]["changed"]
    assert {c["id"]: c.get("p_adjusted") for c in one["claims"]} == {
        c["id"]: c.get("p_adjusted") for c in two["claims"]}


def test_unknown_fdr_method_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest("--atomcheck-fdr=fdr_bh")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--atomcheck-fdr='fdr_bh' is not known; choose one of none, "
                                 "bh, by, holm*"])
