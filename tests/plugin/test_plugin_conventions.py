"""pytest conventions: -k by claim id, native TOML numbers, report paths checked up front,
partial reports for runs cut short, and claims that cannot be told apart."""

from __future__ import annotations

import json

import pytest

TWO = '''
import pytest
from atomcheck import Rises

@pytest.mark.claim(claim_id="demo.batch_size.accuracy", seeds=5)
def test_first(claim):
    """y rises."""
    claim.sweep(lambda seed, x: {"y": x + 0.001 * seed}, x=[1, 2, 3])
    claim.expect(Rises("y", along="x"))

@pytest.mark.claim(claim_id="demo.width", seeds=5)
def test_second(claim):
    """y rises."""
    claim.sweep(lambda seed, x: {"y": -x + 0.001 * seed}, x=[1, 2, 3])
    claim.expect(Rises("y", along="x"))
'''


def test_k_selects_by_claim_id(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=TWO)
    result = pytester.runpytest("-k", "demo.batch_size")
    result.assert_outcomes(passed=1, deselected=1)


def test_native_toml_numbers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=TWO)
    pytester.makepyprojecttoml('[tool.pytest]\natomcheck_alpha = 0.01\natomcheck_seeds = 6\n'
                               'atomcheck_seed_base = 3\n')
    result = pytester.runpytest("-k", "batch_size", "--atomcheck-report=r.json")
    result.assert_outcomes(passed=1)
    run = json.loads((pytester.path / "r.json").read_text())
    assert run["config"]["alpha"] == 0.01 and run["config"]["seed_base"] == 3
    assert run["claims"][0]["seeds"] == [3, 4, 5, 6, 7, 8]


def test_unwritable_report_path_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=TWO)
    (pytester.path / "blocker").write_text("a file, not a folder")
    result = pytester.runpytest("--atomcheck-report=blocker/r.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--atomcheck-report='blocker/r.json': cannot write into*"])
    folder = pytester.path / "out.md"
    folder.mkdir()
    result = pytester.runpytest("--atomcheck-report=out.md")
    result.stderr.fnmatch_lines(["*--atomcheck-report='out.md' is a directory*"])


def test_a_run_cut_short_writes_a_partial_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=TWO)
    result = pytester.runpytest("-x", "-p", "no:randomly", "--atomcheck-report=r.json",
                                "--atomcheck-report=r.md", "-k", "width or batch_size")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    run = json.loads((pytester.path / "r.json").read_text())
    assert [c["id"] for c in run["claims"]] == ["demo.batch_size.accuracy", "demo.width"]
    assert run["partial"] is False and run["unfinished"] == []
    head, first, second = TWO.split("@pytest.mark.claim")
    pytester.makepyfile(test_claims=head + "@pytest.mark.claim" + second + "\n"
                        + "@pytest.mark.claim" + first)  # the failing claim first: -x stops
    result = pytester.runpytest("-x", "--atomcheck-report=r.json", "--atomcheck-report=r.md")
    run = json.loads((pytester.path / "r.json").read_text())
    assert run["partial"] is True and [c["id"] for c in run["claims"]] == ["demo.width"]
    assert run["unfinished"] == ["test_claims.py::test_first"]
    assert "**Partial run**" in (pytester.path / "r.md").read_text()
    result.stdout.fnmatch_lines(["*atomcheck: partial run, 1 claim(s) did not finish*"])


def test_an_interrupted_run_overwrites_the_old_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=TWO + '''

@pytest.mark.claim(claim_id="demo.stop", seeds=5)
def test_stop(claim):
    """interrupted."""
    raise KeyboardInterrupt
''')
    (pytester.path / "r.json").write_text('{"claims": "an old, complete-looking run"}')
    # In a subprocess: a KeyboardInterrupt inside an in-process run would stop this one too.
    pytester.runpytest_subprocess("--atomcheck-report=r.json", "-k", "stop")
    run = json.loads((pytester.path / "r.json").read_text())
    assert run["partial"] is True and run["claims"] == []
    assert run["unfinished"] == ["test_claims.py::test_stop"]


def test_claim_marker_without_the_fixture_is_an_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims='''
import pytest

@pytest.mark.claim(claim_id="demo.orphan")
def test_orphan():
    """never reaches a verdict."""
''')
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*demo.orphan: test_claims.py::test_orphan has a claim marker "
                                 "but does not use the `claim` fixture*"])


def test_two_claims_with_one_id_and_variant_are_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=TWO.replace('"demo.width"', '"demo.batch_size.accuracy"'))
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*two claims are demo.batch_size.accuracy: "
                                 "test_claims.py::test_first and test_claims.py::test_second*"])


def test_a_complete_xdist_run_is_not_partial(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(test_claims=TWO)
    pytester.runpytest_subprocess("-n", "2", "--atomcheck-report=r.json")
    run = json.loads((pytester.path / "r.json").read_text())
    assert len(run["claims"]) == 2 and run["partial"] is False and run["unfinished"] == []


def test_csv_markdown_and_junit_carry_the_json_numbers(pytester: pytest.Pytester) -> None:
    import csv
    import xml.etree.ElementTree as ET

    pytester.makepyfile(test_claims='''
import pytest
from atomcheck import Rises

def train(seed, x, lr=0.1):
    return {"y": (1 if lr < 1 else -1) * x + 0.01 * (seed % 3)}

@pytest.mark.claim(claim_id="demo.lr", robust_over={"lr": [2.0]}, seeds=6,
                   expected="conditional", reason="a large lr reverses it")
def test_lr(claim):
    """y rises with x."""
    claim.sweep(train, x=[1, 2, 3])
    claim.expect(Rises("y", along="x"))
''')
    pytester.runpytest("--atomcheck-report=r.json", "--atomcheck-report=r.csv",
                       "--atomcheck-report=r.md", "--junitxml=j.xml").assert_outcomes(passed=1)
    claim = json.loads((pytester.path / "r.json").read_text())["claims"][0]
    rows = list(csv.DictReader((pytester.path / "r.csv").read_text().splitlines()))
    assert [r["setting"] for r in rows] == ["", "base", "lr=2.0"]
    assert rows[0]["verdict"] == "conditional" and rows[2]["verdict"] == "refuted"
    assert float(rows[1]["p_value"]) == claim["settings"][0]["p_value"]
    assert float(rows[0]["effect"]) == claim["effect"]["value"]
    assert rows[0]["seed_first"] == "0" and rows[0]["seed_last"] == "5"
    props = {p.get("name"): p.get("value")
             for p in ET.parse(pytester.path / "j.xml").iter("property")}
    assert props["atomcheck.verdict"] == "conditional"
    assert float(props["atomcheck.p_value"]) == claim["p_value"]
    assert float(props["atomcheck.ci_low"]) == claim["effect"]["ci"][0]
    assert props["atomcheck.n_seeds"] == "6"
    assert json.loads(props["atomcheck"])["id"] == "demo.lr"
    from atomcheck.report._format import fmt_effect, fmt_p

    markdown = (pytester.path / "r.md").read_text()
    claim_row = next(line for line in markdown.splitlines() if "demo.lr" in line)
    assert "conditional" in claim_row and fmt_effect(claim) in claim_row
    for setting in claim["settings"]:  # one row per open setting, same numbers as the JSON
        row = next(line for line in markdown.splitlines()
                   if f"| {setting['setting']}" in line or f"{setting['setting']} |" in line)
        assert fmt_p(setting) in row and setting["verdict"] in row
