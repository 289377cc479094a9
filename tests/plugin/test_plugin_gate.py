"""The regression gate through pytest: --atomcheck-save-baseline, --atomcheck-compare,
--atomcheck-compare-fail (tiny pure-Python sweeps, no torch)."""

from __future__ import annotations

import json

import pytest

CLAIMS = '''
import numpy as np
import pytest
from atomcheck import Beats, Rises

GAIN = {gain}

def arms(seed, arm):
    rng = np.random.default_rng([seed, arm == "a"])
    return {{"acc": rng.normal(scale=0.3) + (GAIN if arm == "a" else 0.0)}}

@pytest.mark.claim(claim_id="demo.gain", sources=["doc.txt §1"])
def test_gain(claim):
    """A beats B."""
    claim.sweep(arms, arm=["a", "b"])
    claim.expect(Beats("acc", along="arm", a="a", b="b", of="mean"))

@pytest.mark.claim(claim_id="demo.rise", sources=["doc.txt §2"])
def test_rise(claim):
    """y rises with x."""
    def fn(seed, x):
        return {{"y": x + np.random.default_rng([seed, x]).normal(scale=0.5)}}
    claim.sweep(fn, x=[1, 2, 3, 4])
    claim.expect(Rises("y", along="x"))
'''


def _write(pytester: pytest.Pytester, gain: float) -> None:
    pytester.makepyfile(test_claims=CLAIMS.format(gain=gain))


def test_rerun_against_own_baseline_passes(pytester: pytest.Pytester) -> None:
    _write(pytester, 1.0)
    first = pytester.runpytest("--atomcheck-save-baseline=base.json")
    first.assert_outcomes(passed=2)
    first.stdout.fnmatch_lines(["*saved baseline*base.json*"])
    saved = json.loads((pytester.path / "base.json").read_text())
    gain = next(c for c in saved["claims"] if c["id"] == "demo.gain")
    assert len(gain["effect"]["per_seed"]) == len(gain["seeds"]) == 10  # every seed kept
    again = pytester.runpytest("--atomcheck-compare=base.json",
                               "--atomcheck-compare-fail=effect:10%")
    again.assert_outcomes(passed=2)
    assert again.ret == 0
    again.stdout.fnmatch_lines(["*atomcheck compare*", "*2 unchanged*", "gate: passed"])


def test_worsened_claim_fails_the_gate(pytester: pytest.Pytester) -> None:
    _write(pytester, 1.0)
    pytester.runpytest("--atomcheck-save-baseline=base.json").assert_outcomes(passed=2)
    _write(pytester, 0.1)  # the same claim, its effect nearly gone
    result = pytester.runpytest("--atomcheck-compare=base.json",
                                "--atomcheck-inconclusive=pass")
    result.assert_outcomes(passed=2)  # every test passed; the gate alone fails the run
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*REGRESSED*demo.gain: supported → inconclusive*paired t*",
                                 "gate: FAILED"])


def test_effect_rule_fails_a_shrunk_effect_whose_verdict_held(pytester: pytest.Pytester
                                                             ) -> None:
    _write(pytester, 2.0)
    pytester.runpytest("--atomcheck-save-baseline=base.json").assert_outcomes(passed=2)
    _write(pytester, 1.0)  # still supported, effect halved
    plain = pytester.runpytest("--atomcheck-compare=base.json")
    assert plain.ret == 0  # verdicts only: a held verdict passes
    plain.stdout.fnmatch_lines(["*worse, verdict held*"])
    ruled = pytester.runpytest("--atomcheck-compare=base.json",
                               "--atomcheck-compare-fail=effect:10%")
    assert ruled.ret == pytest.ExitCode.TESTS_FAILED
    ruled.stdout.fnmatch_lines(["*REGRESSED*demo.gain: supported*"])
    lenient = pytester.runpytest("--atomcheck-compare=base.json",
                                 "--atomcheck-compare-fail=effect:90%")
    assert lenient.ret == 0


def test_improvement_and_missing_claims_are_listed(pytester: pytest.Pytester) -> None:
    _write(pytester, 0.1)
    pytester.runpytest("--atomcheck-save-baseline=base.json", "--atomcheck-inconclusive=pass")
    _write(pytester, 1.0)
    result = pytester.runpytest("--atomcheck-compare=base.json", "-k", "gain")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*MISSING*demo.rise*", "*improved*demo.gain*"])
    strict = pytester.runpytest("--atomcheck-compare=base.json", "-k", "gain",
                                "--atomcheck-compare-fail=missing")
    assert strict.ret == pytest.ExitCode.TESTS_FAILED


@pytest.mark.parametrize(("args", "message"), [
    (["--atomcheck-compare=nowhere.json"], "*does not exist*--atomcheck-save-baseline*"),
    (["--atomcheck-compare=bad.json"], "*not a JSON report*"),
    (["--atomcheck-compare=old.json"], "*schema 'atomcheck-report/0'*Save the baseline again*"),
    (["--atomcheck-compare=old.json", "--atomcheck-compare-fail=speed:5%"], "*not a rule*"),
    (["--atomcheck-compare-fail=effect:5%"], "*needs --atomcheck-compare*"),
    (["--atomcheck-save-baseline=base.md"], "*name it *.json*"),
])
def test_bad_gate_input_is_a_usage_error(pytester: pytest.Pytester, args: list[str],
                                         message: str) -> None:
    _write(pytester, 1.0)
    (pytester.path / "bad.json").write_text("{not json")
    (pytester.path / "old.json").write_text('{"schema": "atomcheck-report/0", "claims": []}')
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
