"""A second run of an unchanged catalog reads the result cache: how much faster it is.

Runs a selection of the catalog twice in a subprocess against one fresh cache directory:
the first run trains and fills the cache, the second reads every run from it. Records both
wall times, the ratio (target: ≥ 20×), the runs read from the cache, and checks that the
two JSON reports carry the same verdicts, p-values and effects.

The default selection is a few cheap files; ``ATOMCHECK_BENCH_CACHE="claims/"`` times the
whole catalog. Both runs use the README's catalog command (serial; ``ATOMCHECK_BENCH_CACHE_XDIST=1``
adds ``-n 2 --dist loadfile``) as a user's machine runs it: with Python's bytecode cache
(the variable ``PYTHONDONTWRITEBYTECODE``, which some sandboxes set, is removed for both
runs) and without the hypothesis plugin, which the catalog's install does not have.

Run: ``pytest benchmarks/test_cache_speed.py --benchmark-only -s``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SELECTION = os.environ.get(
    "ATOMCHECK_BENCH_CACHE", "claims/atoms/test_loss.py claims/atoms/test_pca.py").split()
XDIST = os.environ.get("ATOMCHECK_BENCH_CACHE_XDIST", "0") == "1"


def _run(tmp_path: Path, cache: Path, name: str) -> tuple[float, dict]:
    report = tmp_path / f"{name}.json"
    args = [sys.executable, "-m", "pytest", *SELECTION, "-q", "-p", "no:cacheprovider",
            "-p", "no:hypothesispytest", f"--atomcheck-cache-dir={cache}",
            f"--atomcheck-report={report}"]
    if XDIST and importlib.util.find_spec("xdist") is not None:
        args += ["-n", "2", "--dist", "loadfile"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    subprocess.run(args, cwd=ROOT, check=False, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start, json.loads(report.read_text())


def _numbers(run: dict) -> dict:
    return {(c["id"], c["variant"]): (c["verdict"], c["p_value"], c["effect"]["value"])
            for c in run["claims"]}


def test_second_run_reads_the_cache(benchmark, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    timings: dict[str, float] = {}
    runs: dict[str, dict] = {}

    def both() -> None:
        timings["first"], runs["first"] = _run(tmp_path, cache, "first")
        timings["second"], runs["second"] = _run(tmp_path, cache, "second")

    benchmark.pedantic(both, rounds=1, iterations=1)
    ratio = timings["first"] / timings["second"]
    cached = sum(c.get("cached_runs", 0) for c in runs["second"]["claims"])
    benchmark.extra_info.update(first_s=round(timings["first"], 2),
                                second_s=round(timings["second"], 2),
                                ratio_second_vs_first=round(ratio, 1), cached_runs=cached,
                                selection=" ".join(SELECTION), xdist=XDIST)
    print(f"\nfirst {timings['first']:.1f} s, second {timings['second']:.1f} s "
          f"({ratio:.1f}x faster; {cached} runs read from the cache)")
    assert _numbers(runs["first"]) == _numbers(runs["second"])
    # Nothing was trained again (claims reading another claim's shared sweep read no
    # cache of their own), and no claim's results were refused by the cache.
    assert cached > 0
    assert [c["id"] for c in runs["second"]["claims"] if c.get("stored_runs")] == []
    assert [c["id"] for c in runs["second"]["claims"]
            if "results not cached" in (c.get("message") or "")] == []
