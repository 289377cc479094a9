"""Open settings, fresh seeds and shared sweeps through pytest (pytester, no torch)."""

from __future__ import annotations

import json

import pytest

CLAIM = '''
import pytest
from atomcheck import Rises

def train(seed, x, lr=0.1):
    return {"y": (1 if lr < 1 else -1) * x + 0.01 * (seed % 3)}

@pytest.mark.claim(claim_id="demo.lr", robust_over={"lr": [0.01, 2.0]}, seeds=6{extra})
def test_lr(claim):
    """y rises with x."""
    claim.sweep(train, x=[1, 2, 3])
    claim.expect(Rises("y", along="x"))
'''


def _claims(path):
    return json.loads(path.read_text())["claims"]


def test_unexpected_conditional_fails_naming_each_side(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=CLAIM.replace("{extra}", ""))
    result = pytester.runpytest("--atomcheck-report=r.json", "--atomcheck-report=r.md")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*CONDITIONAL  demo.lr: y rises with x.*",
        "*setting   supported    base:*",
        "*setting   refuted      lr=2.0:*",
        "*supported under base; lr=0.01; refuted under lr=2.0 (Holm across settings)*",
    ])
    entry = _claims(pytester.path / "r.json")[0]
    assert entry["verdict"] == "conditional" and entry["robust_over"] == {"lr": [0.01, 2.0]}
    assert [(s["setting"], s["verdict"]) for s in entry["settings"]] == [
        ("base", "supported"), ("lr=0.01", "supported"), ("lr=2.0", "refuted")]
    assert entry["settings"][2]["values"] == {"lr": 2.0}
    md = (pytester.path / "r.md").read_text()
    assert "| ↳ lr=2.0 |  | refuted |" in md and "| ↳ base |  | supported |" in md


def test_expected_conditional_passes(pytester: pytest.Pytester) -> None:
    extra = ', expected="conditional", reason="a large lr reverses it"'
    pytester.makepyfile(test_claims=CLAIM.replace("{extra}", extra))
    result = pytester.runpytest("--atomcheck-report=r.md")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*demo.lr*conditional (expected)*page_trend_test*"])
    md = (pytester.path / "r.md").read_text()
    assert "`demo.lr` is expected to be conditional: a large lr reverses it" in md


def test_expected_conditional_needs_a_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=CLAIM.replace("{extra}", ', expected="conditional"'))
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*demo.lr: expected='conditional' needs reason=*"])


def test_bad_robust_over_is_an_error_before_training(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims='''
import pytest
from atomcheck import Rises

CALLS = []

def train(seed, x, lr=0.1):
    CALLS.append(seed)
    return {"y": x}

@pytest.mark.claim(claim_id="demo.bad", robust_over={"momentum": [0.9]}, seeds=6)
def test_bad(claim):
    """y rises."""
    claim.sweep(train, x=[1, 2, 3])
    try:
        claim.expect(Rises("y", along="x"))
    finally:
        assert CALLS == []
''')
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*demo.bad: robust_over names unknown field 'momentum'*"])


def test_seed_base_option_and_ini(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims='''
import pytest
from atomcheck import Rises

@pytest.mark.claim(claim_id="demo.seeds", seeds=5)
def test_seeds(claim):
    """y rises."""
    claim.sweep(lambda seed, x: {"y": x + 0.001 * seed}, x=[1, 2, 3])
    v = claim.expect(Rises("y", along="x"))
    assert claim.samples.seeds == claim.seeds
''')
    result = pytester.runpytest("--atomcheck-seed-base=1000", "--atomcheck-report=r.json")
    result.assert_outcomes(passed=1)
    report = json.loads((pytester.path / "r.json").read_text())
    assert report["claims"][0]["seeds"] == [1000, 1001, 1002, 1003, 1004]
    assert report["config"]["seed_base"] == 1000
    pytester.makeini("[pytest]\natomcheck_seed_base = 7\n")
    pytester.runpytest("--atomcheck-report=r.json").assert_outcomes(passed=1)
    assert _claims(pytester.path / "r.json")[0]["seeds"][0] == 7
    bad = pytester.runpytest("--atomcheck-seed-base=-1")
    bad.stderr.fnmatch_lines(["*seed base -1 must be >= 0*"])


def test_rerun_command_carries_the_seed_base(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims='''
import pytest
from atomcheck import Rises

@pytest.mark.claim(claim_id="demo.flat", seeds=5)
def test_flat(claim):
    """y rises."""
    claim.sweep(lambda seed, x: {"y": 1.0}, x=[1, 2, 3])
    claim.expect(Rises("y", along="x"))
''')
    result = pytester.runpytest("--atomcheck-seed-base=40")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*rerun     pytest test_claims.py::test_flat "
                                 "--atomcheck-seeds=5 --atomcheck-seed-base=40*"])


def test_shared_sweep_fixture_trains_once_for_two_claims(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('''
import pytest
from atomcheck import SharedSweep

CALLS = []

def train(seed, x):
    CALLS.append((seed, x))
    return {"y": float(x), "z": -float(x)}

@pytest.fixture(scope="session")
def shared():
    return SharedSweep(train, x=[1, 2, 3])
''')
    pytester.makepyfile(test_claims='''
import pytest
from atomcheck import Falls, Rises
from conftest import CALLS

@pytest.mark.claim(claim_id="demo.up", seeds=5)
def test_up(claim, shared):
    """y rises."""
    claim.use(shared)
    claim.expect(Rises("y", along="x"))

@pytest.mark.claim(claim_id="demo.down", seeds=5)
def test_down(claim, shared):
    """z falls."""
    claim.use(shared)
    claim.expect(Falls("z", along="x"))
    assert len(CALLS) == 15  # 5 seeds x 3 levels, trained once for both claims
''')
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_a_variants_own_marker_wins_over_the_functions(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims='''
import pytest
from atomcheck import Rises

@pytest.mark.claim(claim_id="demo.v", seeds=5)
@pytest.mark.parametrize("k", [
    1.0,
    pytest.param(-1.0, marks=pytest.mark.claim(seeds=7, expected="refuted", reason="flips")),
], ids=["up", "down"])
def test_v(claim, k):
    """y rises."""
    claim.sweep(lambda seed, x: {"y": k * x + 0.001 * seed}, x=[1, 2, 3])
    claim.expect(Rises("y", along="x"))
''')
    result = pytester.runpytest("--atomcheck-report=r.json")
    result.assert_outcomes(passed=2)
    entries = {c["variant"]: c for c in _claims(pytester.path / "r.json")}
    assert entries["up"]["n_seeds"] == 5 and entries["down"]["n_seeds"] == 7
    assert entries["down"]["expected"] == "refuted"
