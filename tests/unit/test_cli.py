"""The ``atomcheck`` command: report, compare, list — on saved runs, without training."""

from __future__ import annotations

import csv
import fnmatch
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from atomcheck.cli import main
from atomcheck.report import REPORT_SUFFIXES

SEEDS = list(range(10))
VALUES = [1.0, 1.2, 0.8, 1.1, 0.9, 1.3, 0.7, 1.0, 1.05, 0.95]


def _run(scale: float = 1.0, verdict: str = "supported") -> dict[str, Any]:
    values = [v * scale for v in VALUES]
    claim = {"id": "demo.gain", "variant": None, "statement": "A beats B",
             "sources": ["doc.txt §1"], "kind": "compare", "expected": "supported",
             "verdict": verdict, "outcome": "passed", "test": "ttest_rel", "p_value": 0.001,
             "alpha": 0.05, "n_seeds": 10, "seeds": SEEDS, "metric": "acc", "levels": [],
             "members": [], "wall_s": 0.1,
             "effect": {"name": "mean difference", "value": sum(values) / 10,
                        "ci": [0.8 * scale, 1.2 * scale], "ci_level": 0.95,
                        "per_seed": values, "reference": 0.0, "alternative": "greater"}}
    return {"schema": "atomcheck-report/1", "created": "2026-12-01T00:00:00+00:00",
            "environment": {}, "config": {"alpha": 0.05}, "claims": [claim]}


def _save(path: Path, doc: dict[str, Any]) -> str:
    path.write_text(json.dumps(doc))
    return str(path)


def test_report_rerenders_a_saved_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    run = _save(tmp_path / "run.json", _run())
    targets = [str(tmp_path / f"out{suffix}") for suffix in sorted(REPORT_SUFFIXES)]
    assert main(["report", run, *sum((["--to", t] for t in targets), [])]) == 0
    assert "wrote" in capsys.readouterr().out
    assert "demo.gain" in (tmp_path / "out.md").read_text()
    rows = list(csv.DictReader((tmp_path / "out.csv").read_text().splitlines()))
    assert rows[0]["id"] == "demo.gain" and rows[0]["verdict"] == "supported"
    assert json.loads((tmp_path / "out.json").read_text())["claims"][0]["id"] == "demo.gain"


def test_compare_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _save(tmp_path / "old.json", _run())
    same = _save(tmp_path / "same.json", _run())
    worse = _save(tmp_path / "worse.json", _run(scale=0.0, verdict="inconclusive"))
    shrunk = _save(tmp_path / "shrunk.json", _run(scale=0.7))
    assert main(["compare", old, same]) == 0
    assert "gate: passed" in capsys.readouterr().out
    assert main(["compare", old, worse, "--json", str(tmp_path / "cmp.json")]) == 1
    assert "REGRESSED    demo.gain: supported → inconclusive" in capsys.readouterr().out
    assert json.loads((tmp_path / "cmp.json").read_text())["failed"] is True
    assert main(["compare", old, shrunk]) == 0  # the verdict held: verdicts only
    assert main(["compare", old, shrunk, "--fail", "effect:10%"]) == 1
    assert main(["compare", worse, old]) == 0
    assert "improved" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["report", "{tmp}/none.json", "--to", "{tmp}/x.md"], "RUN.json '*none.json' does not exist"),
    (["report", "{tmp}/run.json", "--to", "{tmp}/x.pdf"], "--to '*x.pdf': unknown suffix"),
    (["compare", "{tmp}/run.json", "{tmp}/run.md"], "NEW.json '*run.md' is not a JSON report"),
    (["compare", "{tmp}/old.json", "{tmp}/run.json"], "OLD.json '*old.json' has schema None"),
    (["compare", "{tmp}/run.json", "{tmp}/run.json", "--fail", "speed"], "--fail='speed'"),
    (["compare", "{tmp}/run.json", "{tmp}/run.json", "--alpha", "2"], "--alpha 2.0*between"),
    (["list", "{tmp}/nowhere"], "DIR '*nowhere' does not exist"),
])
def test_bad_input_names_the_argument(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      argv: list[str], message: str) -> None:
    _save(tmp_path / "run.json", _run())
    (tmp_path / "run.md").write_text("# report\n")
    (tmp_path / "old.json").write_text("{}")
    with pytest.raises(SystemExit) as exit_:
        main([a.format(tmp=tmp_path) for a in argv])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"atomcheck {argv[0]}: error: ")
    assert fnmatch.fnmatch(err, f"*{message}*"), err


CLAIMS = '''
import pytest

@pytest.mark.claim(claim_id="demo.rise", sources=["doc.txt §1", "doc2.txt §3"])
@pytest.mark.parametrize("slope", [1.0, 2.0], ids=["one", "two"])
def test_rise(claim, slope):
    """y rises with x."""
    raise AssertionError("list must not run any test")

@pytest.mark.claim(claim_id="demo.flat", expected="refuted", reason="it is flat")
def test_flat(claim):
    """y is flat."""
    raise AssertionError("list must not run any test")

def test_plain():
    pass
'''


def test_list_collects_claims_without_running_them(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "test_claims.py").write_text(CLAIMS)
    assert main(["list", str(tmp_path)]) == 0
    assert "test_claims" not in sys.modules  # other tests may import a file of that name
    out = capsys.readouterr().out
    assert "demo.rise[one]  y rises with x." in out
    assert "sources: doc.txt §1; doc2.txt §3" in out
    assert "demo.flat  y is flat.  (expected refuted)" in out
    assert "3 claim(s)" in out
    assert main(["list", str(tmp_path), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {(c["id"], c["variant"]) for c in listed} == {
        ("demo.rise", "one"), ("demo.rise", "two"), ("demo.flat", None)}


def test_list_reports_a_module_that_cannot_be_collected(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    (tmp_path / "test_broken.py").write_text("import no_such_module_here\n")
    with pytest.raises(SystemExit) as exit_:
        main(["list", str(tmp_path)])
    assert exit_.value.code == 2
    assert "could not collect" in capsys.readouterr().err


def test_python_dash_m_runs_the_command(tmp_path: Path) -> None:
    run = _save(tmp_path / "run.json", _run())
    done = subprocess.run([sys.executable, "-m", "atomcheck", "compare", run, run],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "gate: passed" in done.stdout
    # The command loads no torch: comparing and re-rendering never train.
    code = ("import sys; from atomcheck.cli import main; "
            f"main(['compare', {run!r}, {run!r}]); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=False)
    assert probe.returncode == 0, probe.stderr
