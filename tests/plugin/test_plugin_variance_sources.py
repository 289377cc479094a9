"""The ``variance_sources`` marker key through the plugin: the report sections, ``-v``,
and a bad value failing at setup, before any training."""

from __future__ import annotations

import json

import pytest

CLAIMS = '''
import pytest
from atomcheck import Beats
from atomcheck.seeding import rng, stream_seed

TRAINED = []

def noisy(seed, x, hold=()):
    TRAINED.append(seed)
    data = rng(stream_seed(seed, "data", hold), "d").normal()
    init = rng(stream_seed(seed, "init", hold), "i").normal()
    return {"y": x + 3 * data + init}

noisy.sources = ("data", "init")

@pytest.mark.claim(claim_id="demo.sources", seeds=6, variance_sources=True)
def test_sources(claim):
    """y rises with x."""
    claim.sweep(noisy, x=[0.0, 5.0])
    claim.expect(Beats("y", along="x", a=5.0, b=0.0))

@pytest.mark.claim(claim_id="demo.bad", seeds=6, variance_sources=["weights"])
def test_bad(claim):
    """Never trains."""
    claim.sweep(noisy, x=[0.0, 5.0])
    claim.expect(Beats("y", along="x", a=5.0, b=0.0))

def test_bad_never_trained():
    assert len(TRAINED) == 6 * 2 * 3  # the good claim: own runs and 2 variants; the bad: none
'''


def test_the_marker_key_reaches_every_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=CLAIMS)
    result = pytester.runpytest("-v", "--atomcheck-report=out.json",
                                "--atomcheck-report=out.md", "--atomcheck-report=out.html")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines([
        "*InvalidClaim: demo.bad: variance_sources=?'weights'?: 'weights' is not a source of "
        "randomness. Pass variance_sources=True*",
        "*variance of y by source (6 seeds, 24 extra runs; % of all):*",
        "*x=0.0: all *; data *(*%); init *(*%)*",
    ])
    claims = {c["id"]: c for c in json.loads((pytester.path / "out.json").read_text())["claims"]}
    record = claims["demo.sources"]["variance_by_source"]
    assert record["sources"] == ["data", "init"] and record["extra_runs"] == 24
    assert "## Variance by source of randomness" in (pytester.path / "out.md").read_text()
    assert 'class="sub variance"' in (pytester.path / "out.html").read_text()
