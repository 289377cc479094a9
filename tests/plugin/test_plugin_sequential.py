"""``--atomcheck-sequential`` (and its ini twin, and the marker's ``sequential=``) through the
plugin: decisive claims stop at the first look, the report says where, bad input is a
usage error before any training."""

from __future__ import annotations

import json

import pytest

CLAIMS = '''
import numpy as np
import pytest
from atomcheck import Beats

def train(seed, arm, shift=0.0):
    r = np.random.default_rng(seed)
    return {"y": r.normal(scale=0.1) + (shift if arm == "a" else 0.0)}

@pytest.mark.claim(claim_id="demo.clear", seeds=10, robust_over={"shift": [3.0]})
def test_clear(claim):
    """a beats b by a mile."""
    claim.sweep(lambda seed, arm, shift=2.0: train(seed, arm, shift), arm=["a", "b"])
    claim.expect(Beats("y", along="arm", a="a", b="b"))

@pytest.mark.claim(claim_id="demo.null", seeds=10, negative_control=True)
def test_null(claim):
    """a and b are the same arm."""
    claim.sweep(train, arm=["a", "b"])
    claim.expect(Beats("y", along="arm", a="a", b="b"))

@pytest.mark.claim(claim_id="demo.own", seeds=10, sequential=(8, 12))
def test_own(claim):
    """the claim's own looks."""
    claim.sweep(lambda seed, arm: train(seed, arm, 2.0), arm=["a", "b"])
    claim.expect(Beats("y", along="arm", a="a", b="b"))

@pytest.mark.claim(claim_id="demo.fixed", seeds=10, sequential=False)
def test_fixed(claim):
    """never sequential."""
    claim.sweep(lambda seed, arm: train(seed, arm, 2.0), arm=["a", "b"])
    claim.expect(Beats("y", along="arm", a="a", b="b"))
'''


def _claims(path) -> dict[str, dict]:
    return {c["id"]: c for c in json.loads(path.read_text())["claims"]}


@pytest.mark.parametrize("how", [["--atomcheck-sequential"], ["ini"]])
def test_decisive_claims_stop_early_and_the_report_says_where(pytester: pytest.Pytester,
                                                              how: list[str]) -> None:
    pytester.makepyfile(test_claims=CLAIMS)
    if how == ["ini"]:
        pytester.makeini("[pytest]\natomcheck_sequential = true\n")
        how = []
    result = pytester.runpytest("-p", "no:cacheprovider", "--atomcheck-report=r.json",
                                "--atomcheck-report=r.md", *how)
    result.assert_outcomes(passed=4)
    claims = _claims(pytester.path / "r.json")
    clear = claims["demo.clear"]
    assert clear["sequential"]["stopped_at_look"] == 1 and clear["n_seeds"] == 6
    assert clear["seeds"] == list(range(6)) and len(clear["settings"]) == 2
    null = claims["demo.null"]
    assert null["sequential"]["stopped_at_look"] == 2 and null["n_seeds"] == 10
    assert [look["n_seeds"] for look in null["sequential"]["looks"]] == [6, 10]
    assert claims["demo.own"]["sequential"]["planned"][0]["n_seeds"] == 8
    assert claims["demo.own"]["n_seeds"] == 8
    assert claims["demo.fixed"]["sequential"] is None and claims["demo.fixed"]["n_seeds"] == 10
    table = (pytester.path / "r.md").read_text()
    assert "6/10" in table  # seeds used of the maximum, in the table
    result.stdout.fnmatch_lines(["*6/10*"])


def test_the_run_range_and_looks(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=CLAIMS)
    pytester.runpytest("-p", "no:cacheprovider", "--atomcheck-report=r.json",
                       "--atomcheck-sequential-seeds=8:16", "--atomcheck-sequential-looks=3",
                       "-k", "clear or null").assert_outcomes(passed=2)
    claims = _claims(pytester.path / "r.json")
    assert [k["n_seeds"] for k in claims["demo.null"]["sequential"]["planned"]] == [8, 12, 16]
    assert claims["demo.null"]["n_seeds"] == 16 and claims["demo.clear"]["n_seeds"] == 8


@pytest.mark.parametrize("args, words", [
    (["--atomcheck-sequential-seeds=20:10"], "maximum 10 is below the minimum 20*10:20"),
    (["--atomcheck-sequential-seeds=ten"], "*give MIN:MAX*"),
    (["--atomcheck-sequential-looks=0"], "*--atomcheck-sequential-looks*"),
])
def test_bad_input_is_a_usage_error_before_training(pytester: pytest.Pytester, args, words):
    pytester.makepyfile(test_claims=CLAIMS)
    result = pytester.runpytest("-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{words}*"])


def test_bad_ini_range_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=CLAIMS)
    pytester.makeini("[pytest]\natomcheck_sequential_seeds = 9:3\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--atomcheck-sequential-seeds=9:3*maximum 3 is below*"])


def test_a_bad_marker_value_is_the_claims_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bad='''
import pytest
from atomcheck import Beats

@pytest.mark.claim(claim_id="demo.bad", seeds=10, sequential=(12, 6))
def test_bad(claim):
    raise AssertionError("never trains")
''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*demo.bad: sequential=(12, 6)*below the minimum 12*"])
