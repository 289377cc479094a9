"""Seeds saved by sequential seeds (``--atomcheck-sequential``) on catalog claims.

Runs a selection of the catalog twice in a subprocess, without the result cache: once with
every claim's fixed seeds, once sequential (looks at half the seeds, then all of them; alpha
split across the looks). Prints, per claim, the verdict and the seeds each mode used, and the
totals: seeds, runs trained (seeds × configurations × open settings) and CPU seconds. The
same numbers land in each benchmark's ``extra_info`` (``--benchmark-json=out.json``).

The default selection is cheap (a few claims and the negative controls, about a minute of
CPU per mode on 2 cores); ``ATOMCHECK_BENCH_SEQUENTIAL="claims/"`` runs the whole catalog
(``-n 2`` is added when pytest-xdist is installed).

Run: ``pytest benchmarks/test_sequential_seeds.py --benchmark-only -s``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SELECTION = os.environ.get(
    "ATOMCHECK_BENCH_SEQUENTIAL",
    "claims/atoms/test_init.py claims/atoms/test_loss.py claims/controls").split()
RESULTS: dict[str, dict[str, dict[str, Any]]] = {}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(mode: str, report: Path) -> float:
    args = [sys.executable, "-m", "pytest", *SELECTION, "-q", "-p", "no:cacheprovider",
            "--atomcheck-no-cache", "--atomcheck-inconclusive=pass", f"--atomcheck-report={report}"]
    if mode == "sequential":
        args.append("--atomcheck-sequential")
    if len(SELECTION) == 1 and SELECTION[0].rstrip("/") == "claims" \
            and importlib.util.find_spec("xdist") is not None:
        args += ["-n", "2", "--dist", "loadfile"]
    before = _children_cpu()
    subprocess.run(args, cwd=ROOT, check=False, capture_output=True)
    return _children_cpu() - before


def _claims(report: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for c in json.loads(report.read_text())["claims"]:
        label = c["id"] + (f"[{c['variant']}]" if c.get("variant") else "")
        n = c.get("n_seeds") or 0
        configs = max(1, len(c.get("levels") or []))
        settings = max(1, len(c.get("settings") or []))
        seq = c.get("sequential") or {}
        out[label] = {"verdict": c["verdict"], "seeds": n, "runs": n * configs * settings,
                      "look": seq.get("stopped_at_look"), "looks": seq.get("n_looks")}
    return out


@pytest.mark.parametrize("mode", ["fixed", "sequential"])
def test_seeds_used(benchmark: Any, mode: str, tmp_path: Path) -> None:
    report = tmp_path / f"{mode}.json"
    cpu: list[float] = []
    benchmark.pedantic(lambda: cpu.append(_run(mode, report)), rounds=1, iterations=1)
    claims = _claims(report)
    RESULTS[mode] = claims
    seeds = sum(c["seeds"] for c in claims.values())
    runs = sum(c["runs"] for c in claims.values())
    benchmark.extra_info.update({"mode": mode, "selection": SELECTION, "claims": claims,
                                 "total_seeds": seeds, "total_runs": runs, "cpu_s": cpu[0]})
    print(f"\n{mode}: {len(claims)} claims, {seeds} seeds, {runs} runs, {cpu[0]:.1f} s CPU")
    if mode == "sequential" and "fixed" in RESULTS:
        fixed = RESULTS["fixed"]
        print(f"{'claim':<52} {'fixed':>16} {'sequential':>22}")
        for label, c in claims.items():
            f = fixed.get(label, {})
            print(f"{label:<52} {f.get('verdict', '-'):>12} {f.get('seeds', 0):>3} "
                  f"{c['verdict']:>12} {c['seeds']:>3} (look {c['look']}/{c['looks']})")
        f_seeds = sum(c["seeds"] for c in fixed.values())
        f_runs = sum(c["runs"] for c in fixed.values())
        changed = [k for k, c in claims.items() if fixed.get(k, {}).get("verdict") != c["verdict"]]
        saved = {"seeds_saved_share": 1 - seeds / f_seeds if f_seeds else 0.0,
                 "runs_saved_share": 1 - runs / f_runs if f_runs else 0.0,
                 "verdicts_changed": changed}
        benchmark.extra_info.update(saved)
        print(f"seeds {f_seeds} -> {seeds} ({saved['seeds_saved_share']:.0%} saved), runs "
              f"{f_runs} -> {runs} ({saved['runs_saved_share']:.0%} saved); verdicts changed: "
              f"{changed or 'none'}")
