"""Seeds saved by sequential seeds (``--atomcheck-sequential``) on catalog claims.

Runs a selection of the catalog twice in a subprocess, without the result cache: once with
every claim's fixed seeds, once sequential (the default design of
:mod:`atomcheck.sequential`: looks at 5 seeds — 6 or more where a rank test needs them, 10
for a one-sample test of a mean — at half the seeds from 12 on, and at all of them; alpha
spent across the looks). Prints, per claim, the verdict and the seeds each mode used, and
the totals: seeds, runs trained (seeds × configurations trained per seed, open settings
included), CPU seconds, the
share of seeds saved against the target (>= 30%), and every verdict that changed.

The fixed run also records what each prefix of every claim's seeds says
(``benchmarks/sequential_replay.py``), so the benchmark replays designs offline on the same
runs: the default design (its figure must equal the sequential run's, a check of the
replay), the previous default (looks at half the seeds and all, linear spending), and two
ceilings that spend the whole alpha at every look (not valid designs: their false-positive
rate is above alpha): the default design's looks — what no sharper boundary on those looks
can beat — and a look at every seed count from 5 on; and a bound for any design that keeps
every verdict (each claim stopping where its fixed verdict first holds at the full alpha,
inconclusive claims at their first look). Timing claims (``BenchmarkTimings``)
keep the fixed design: pytest-benchmark times each configuration once, over all seeds.

The default selection is cheap (a few claims and the negative controls, about a minute of
CPU per mode on 2 cores); ``ATOMCHECK_BENCH_SEQUENTIAL="claims/"`` runs the whole catalog
(``-n 2`` is added when pytest-xdist is installed; about 13 CPU-minutes fixed and 12
sequential on the reference machine); ``ATOMCHECK_BENCH_SEQUENTIAL_ARGS`` adds pytest
arguments to both runs (``--atomcheck-seed-base=1000`` for fresh seeds).

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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sequential_replay as replay  # noqa: E402  (a plugin module next to this file)

ROOT = Path(__file__).resolve().parents[1]
SELECTION = os.environ.get(
    "ATOMCHECK_BENCH_SEQUENTIAL",
    "claims/atoms/test_init.py claims/atoms/test_loss.py claims/controls").split()
#: Extra pytest arguments for both runs, e.g. "--atomcheck-seed-base=1000" (fresh seeds).
EXTRA = os.environ.get("ATOMCHECK_BENCH_SEQUENTIAL_ARGS", "").split()
TARGET = 0.30
RESULTS: dict[str, dict[str, dict[str, Any]]] = {}
#: Configurations trained per seed (open settings included), from the fixed run's record.
CONFIGS: dict[str, int] = {}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(mode: str, report: Path, prefixes: Path) -> float:
    args = [sys.executable, "-m", "pytest", *SELECTION, "-q", "-p", "no:cacheprovider",
            "--atomcheck-no-cache", "--atomcheck-inconclusive=pass", f"--atomcheck-report={report}",
            *EXTRA]
    env = dict(os.environ)
    if mode == "sequential":
        args.append("--atomcheck-sequential")
    else:  # the fixed run records every claim's seed prefixes for the offline replay
        args += ["-p", "sequential_replay"]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "benchmarks"),
                                                          env.get("PYTHONPATH")]))
        env["ATOMCHECK_REPLAY_OUT"] = str(prefixes)
    if len(SELECTION) == 1 and SELECTION[0].rstrip("/") == "claims" \
            and importlib.util.find_spec("xdist") is not None:
        args += ["-n", "2", "--dist", "loadfile"]
    before = _children_cpu()
    subprocess.run(args, cwd=ROOT, env=env, check=False, capture_output=True)
    return _children_cpu() - before


def _label(c: dict[str, Any]) -> str:
    return c["id"] + (f"[{c['variant']}]" if c.get("variant") else "")


def _claims(report: Path) -> dict[str, dict[str, Any]]:
    """Per claim: verdict, seeds used, runs trained (seeds × configurations trained per
    seed; from the report's levels and settings when the fixed run recorded no count)."""
    out = {}
    for c in json.loads(report.read_text())["claims"]:
        label = _label(c)
        n = c.get("n_seeds") or 0
        per_seed = CONFIGS.get(label) or (max(1, len(c.get("levels") or []))
                                          * max(1, len(c.get("settings") or [])))
        seq = c.get("sequential") or {}
        out[label] = {"verdict": c["verdict"], "seeds": n, "runs": n * per_seed,
                      "look": seq.get("stopped_at_look"), "looks": seq.get("n_looks"),
                      "of": seq.get("max_seeds") or n}
    return out


def _print_replays(entries: list[dict[str, Any]], fixed: dict[str, dict[str, Any]]) -> dict:
    """Offline designs on the fixed run's prefixes; the replay must reproduce the run."""
    for e in entries:
        if "looks" in e:
            label = _label(e)
            word = replay.verdict_at(e, e["n_seeds"], e["alpha"])[0]
            assert word == e["verdict"] == fixed[label]["verdict"], (label, word, e["verdict"])
    designs = {
        "default design (replayed)": replay.default_design,
        "previous default: half, all; linear": replay.previous_design,
        "CEILING default looks, all alpha each": replay.full_alpha(replay.default_design),
        "CEILING every n >= 5, all alpha each": replay.unsplit(lambda n: list(range(5, n))),
    }
    print("\nreplayed on the fixed run's seed prefixes (CEILING: not a valid design, its "
          "false-positive rate is above alpha):")
    out = {}
    for name, design in designs.items():
        r = replay.replay(entries, design)
        out[name] = {k: r[k] for k in ("seeds_saved_share", "runs_saved_share", "changed")}
        print(f"  {name:<38} seeds saved {r['seeds_saved_share']:6.1%}, runs saved "
              f"{r['runs_saved_share']:6.1%}; verdicts changed: {r['changed'] or 'none'}")
    bound = replay.verdict_keeping_bound(entries)
    out["BOUND keeping every verdict"] = {"seeds_saved_share": bound}
    print(f"  {'BOUND keeping every verdict':<38} seeds saved {bound:6.1%} (an oracle: each "
          "claim stops where its fixed verdict first holds at the full alpha, inconclusive "
          "ones at their first look)")
    return out


@pytest.mark.parametrize("mode", ["fixed", "sequential"])
def test_seeds_used(benchmark: Any, mode: str, tmp_path: Path) -> None:
    report, prefixes = tmp_path / f"{mode}.json", tmp_path / "prefixes.jsonl"
    cpu: list[float] = []
    benchmark.pedantic(lambda: cpu.append(_run(mode, report, prefixes)), rounds=1,
                       iterations=1)
    if mode == "fixed":
        entries = replay.load(str(prefixes))
        CONFIGS.update({_label(e): max(1, e.get("n_configs") or 1) for e in entries})
    claims = _claims(report)
    RESULTS[mode] = claims
    seeds = sum(c["seeds"] for c in claims.values())
    runs = sum(c["runs"] for c in claims.values())
    benchmark.extra_info.update({"mode": mode, "selection": SELECTION, "claims": claims,
                                 "total_seeds": seeds, "total_runs": runs, "cpu_s": cpu[0]})
    print(f"\n{mode}: {len(claims)} claims, {seeds} seeds, {runs} runs, {cpu[0]:.1f} s CPU")
    if mode == "fixed":
        recording = sum(e.get("replay_cpu_s", 0.0) for e in entries)
        print(f"(of which {recording:.1f} s recording the seed prefixes)")
        benchmark.extra_info["replays"] = _print_replays(entries, claims)
        benchmark.extra_info["recording_cpu_s"] = recording
    if mode == "sequential" and "fixed" in RESULTS:
        fixed = RESULTS["fixed"]
        print(f"{'claim':<52} {'fixed':>16} {'sequential':>26}")
        for label, c in claims.items():
            f = fixed.get(label, {})
            where = f"(look {c['look']}/{c['looks']})" if c["look"] else "(fixed)"
            print(f"{label:<52} {f.get('verdict', '-'):>12} {f.get('seeds', 0):>3} "
                  f"{c['verdict']:>12} {c['seeds']:>3} {where}")
        f_seeds = sum(c["seeds"] for c in fixed.values())
        f_runs = sum(c["runs"] for c in fixed.values())
        changed = {k: (fixed[k]["verdict"], c["verdict"]) for k, c in claims.items()
                   if k in fixed and fixed[k]["verdict"] != c["verdict"]}
        saved = {"seeds_saved_share": 1 - seeds / f_seeds if f_seeds else 0.0,
                 "runs_saved_share": 1 - runs / f_runs if f_runs else 0.0,
                 "verdicts_changed": changed}
        benchmark.extra_info.update(saved)
        print(f"seeds {f_seeds} -> {seeds} ({saved['seeds_saved_share']:.1%} saved; target "
              f">= {TARGET:.0%}: {'met' if saved['seeds_saved_share'] >= TARGET else 'NOT met'}"
              f"), runs {f_runs} -> {runs} ({saved['runs_saved_share']:.1%} saved); verdicts "
              f"changed: {changed or 'none'}")
