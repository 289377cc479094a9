"""The examples the user guide includes run, get their verdicts, and gate as the guide says.

``examples/`` is run as a user would run it (``pytest examples/`` in a subprocess), once:
every claim must get the verdict its docstring and marker promise, under each of its open
settings; then the CI flow of the guide — save a baseline, compare a rerun with it, and
``atomcheck compare`` the two files — must pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

#: claim id -> (verdict, the open settings it runs under)
EXPECTED = {
    "examples.function.more_data": ("supported", ["base", "features=20"]),
    "examples.function.noise_features": ("refuted", ["base"]),
    "examples.sklearn.forest_beats_tree": ("supported", ["base", "noise=0.6"]),
    "examples.torch.hidden_layer_helps": ("supported", ["base", "optimizer=momentum"]),
}

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    # A clean child: none of this run's pytest/xdist state, no bytecode in examples/.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "COV_", "ATOMCHECK_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=_env(), capture_output=True,
                          text=True, timeout=600)


def test_examples_get_their_verdicts_and_pass_the_gate_on_a_rerun(tmp_path: Path) -> None:
    """One test for the run and the rerun (a module fixture would run the examples once per
    xdist worker)."""
    report, baseline, cache = tmp_path / "run.json", tmp_path / "baseline.json", tmp_path / "c"
    proc = _run("-m", "pytest", str(EXAMPLES), "-p", "no:cacheprovider",
                f"--atomcheck-cache-dir={cache}", f"--atomcheck-report={report}",
                f"--atomcheck-save-baseline={baseline}")
    assert proc.returncode == 0, f"pytest examples/ failed:\n{proc.stdout}\n{proc.stderr}"

    claims = {c["id"]: c for c in json.loads(report.read_text())["claims"]}
    assert sorted(claims) == sorted(EXPECTED)
    for claim_id, (verdict, settings) in EXPECTED.items():
        claim = claims[claim_id]
        assert claim["verdict"] == verdict, (claim_id, claim["verdict"], claim["message"])
        assert claim["outcome"] == "passed", claim_id
        assert claim["n_seeds"] >= 10, claim_id
        got = [s["setting"] for s in claim.get("settings") or [{"setting": "base"}]]
        assert got == settings, (claim_id, got)
        if len(settings) > 1:
            assert all(s["verdict"] == verdict for s in claim["settings"]), claim["settings"]

    # The guide's CI flow: a rerun against the baseline passes the gate (cached: it trains
    # nothing), and so does `atomcheck compare` on the two files.
    rerun = tmp_path / "rerun.json"
    proc = _run("-m", "pytest", str(EXAMPLES), "-p", "no:cacheprovider",
                f"--atomcheck-cache-dir={cache}", f"--atomcheck-compare={baseline}",
                "--atomcheck-compare-fail=effect:10%", "--atomcheck-compare-fail=missing",
                f"--atomcheck-report={rerun}")
    assert proc.returncode == 0, f"the gate failed a rerun:\n{proc.stdout}\n{proc.stderr}"
    assert "atomcheck compare" in proc.stdout
    cli = _run("-m", "atomcheck", "compare", str(baseline), str(rerun), "--fail", "effect:10%")
    assert cli.returncode == 0, f"atomcheck compare:\n{cli.stdout}\n{cli.stderr}"


def test_each_example_file_is_in_the_guide() -> None:
    guide = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").rglob("*.rst"))
    for example in sorted(EXAMPLES.glob("test_*.py")):
        assert f"examples/{example.name}" in guide, f"{example.name} is not in the guide"
