"""BenchmarkTimings without pytest-benchmark's session: argument checks, and the timing loop
of a disabled fixture (a stand-in with pytest-benchmark's attributes). The plugin side (the
table, storage, --benchmark-* options, xdist) is in tests/plugin/test_plugin_benchmark_timing.py.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from atomcheck.toolbox.benchmark_timing import DISABLED_NOTE, BenchmarkTimings


class FakeClaim:
    claim_id = "demo.timing"

    def __init__(self, seeds: list[int]) -> None:
        self.seeds = seeds
        self.notes: list[str] = []


class DisabledFixture:
    """What the loop reads from a disabled pytest-benchmark fixture."""

    def __init__(self) -> None:
        ticks = itertools.count()
        self._timer = lambda: float(next(ticks))  # every timer call advances one "second"
        self._disable_gc = False
        self._warmup = False
        self.disabled = True
        self.name, self.fullname, self.param, self.params = "test_t", "f.py::test_t", None, None
        self.group, self.extra_info = None, {}
        self.calls = 0

    def pedantic(self, target: Any, args: tuple[Any, ...] = ()) -> Any:
        self.calls += 1
        return target(*args)


def test_disabled_fixture_gives_one_timing_per_seed_and_a_note() -> None:
    claim, fixture = FakeClaim([3, 4, 5]), DisabledFixture()
    seen: list[tuple[int, int]] = []
    timings = BenchmarkTimings(fixture, claim, lambda s, x: seen.append((s, x)), warmup_rounds=2)
    out = timings(4, x=7)
    assert out == {"time_s": 1.0, "time_s_log10": 0.0}  # start/stop are consecutive ticks
    assert seen == [(3, 7), (3, 7), (3, 7), (4, 7), (5, 7)]  # warm-up on the first seed
    assert timings(5, x=7)["time_s"] == 1.0 and fixture.calls == 1  # timed once per level
    assert claim.notes == [DISABLED_NOTE]
    assert fixture.name == "test_t[x=7]" and fixture.group == "demo.timing"
    assert fixture.extra_info["seeds"] == [3, 4, 5]


def test_prepare_builds_the_arguments_untimed() -> None:
    claim, fixture = FakeClaim([0, 1]), DisabledFixture()
    timings = BenchmarkTimings(fixture, claim, lambda a, b: None,
                               prepare=lambda seed, n: (seed, n), metric="epoch_s")
    assert set(timings(1, n=2)) == {"epoch_s", "epoch_s_log10"}


def test_bad_arguments() -> None:
    claim, fixture = FakeClaim([0]), DisabledFixture()
    with pytest.raises(TypeError, match="target"):
        BenchmarkTimings(fixture, claim, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="warmup_rounds"):
        BenchmarkTimings(fixture, claim, print, warmup_rounds=-1)
    with pytest.raises(ValueError, match="seed 9"):
        BenchmarkTimings(fixture, claim, lambda s: None)(9)
