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
    # two warm-up rounds on the first seed, then each seed's warm call and timed round
    assert seen == [(3, 7), (3, 7), (3, 7), (3, 7), (4, 7), (4, 7), (5, 7), (5, 7)]
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
    with pytest.raises(ValueError, match="warm_each_round=1 must be True or False"):
        BenchmarkTimings(fixture, claim, print, warm_each_round=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seed 9"):
        BenchmarkTimings(fixture, claim, lambda s: None)(9)


def test_a_sweep_times_every_configuration_of_a_seed_back_to_back() -> None:
    from atomcheck import Claim

    claim = Claim("demo.timing", seeds=3)
    fixture = DisabledFixture()
    seen: list[tuple[int, str]] = []
    timings = BenchmarkTimings(fixture, claim, lambda s, arm: seen.append((s, arm)))
    claim.sweep(timings, arm=["a", "b", "c"])
    samples = claim._train(claim._sweep_levels, claim.seeds, {})
    rounds = [(0, "a"), (0, "b"), (0, "c"),  # seed 0 forward,
              (1, "c"), (1, "b"), (1, "a"),  # seed 1 backward,
              (2, "a"), (2, "b"), (2, "c")]  # and so on
    warm_then_timed = [call for pair in rounds for call in (pair, pair)]
    assert seen == [(0, "a"), (0, "b"), (0, "c")] + warm_then_timed  # warm-up rounds first
    assert fixture.calls == 1  # one loop times them all
    seen.clear()
    cold = BenchmarkTimings(DisabledFixture(), claim, lambda s, arm: seen.append((s, arm)),
                            warm_each_round=False)
    cold.__atomcheck_grid__([{"arm": "a"}, {"arm": "b"}, {"arm": "c"}])
    assert seen == [(0, "a"), (0, "b"), (0, "c")] + rounds
    assert samples.matrix("time_s").tolist() == [[1.0] * 3] * 3


def test_interleaved_order_alternates_and_keeps_each_configurations_rounds_in_order() -> None:
    from atomcheck.toolbox.benchmark_timing import interleaved

    order = interleaved(3, 4, 2)
    assert order[:6] == [(c, i) for i in range(2) for c in range(3)]
    for c in range(3):
        assert [i for k, i in order if k == c] == list(range(6))
    firsts = [order[6 + 3 * k][0] for k in range(4)]
    assert firsts == [0, 2, 0, 2]


class LockstepFixture:
    """Just enough of an enabled pytest-benchmark fixture to run pedantic's loop."""

    def __init__(self, log: list[str]) -> None:
        self.disabled, self._warmup, self._timer, self._disable_gc = False, False, None, False
        self.name, self.fullname, self.param, self.params = "test_t", "f.py::test_t", None, None
        self.group, self.extra_info, self.log = None, {}, log
        self.stats = None

    def pedantic(self, target, setup, teardown, rounds, warmup_rounds):
        from types import SimpleNamespace
        data = []
        for i in range(warmup_rounds + rounds):
            args, _ = setup()
            self.log.append(f"start {self.name}")
            target(*args)
            self.log.append(f"stop {self.name}")
            if i >= warmup_rounds:
                data.append(1.0)
            teardown(*args)
        self.stats = SimpleNamespace(stats=SimpleNamespace(data=data))


def test_enabled_benchmarks_take_turns_one_round_at_a_time() -> None:
    log: list[str] = []
    warm: list[tuple[int, str]] = []
    claim = FakeClaim([0, 1])

    def target(seed: int, arm: str) -> None:
        if not log or log[-1].startswith("stop"):  # called outside a round: a warm call
            warm.append((seed, arm))

    timings = BenchmarkTimings(LockstepFixture(log), claim, target)
    timings.__atomcheck_grid__([{"arm": "a"}, {"arm": "b"}])
    rounds = [entry.split()[1] for entry in log if entry.startswith("start")]
    assert rounds == ["test_t[arm=a]", "test_t[arm=b]",  # warm-up
                      "test_t[arm=a]", "test_t[arm=b]", "test_t[arm=b]", "test_t[arm=a]"]
    assert warm == [(0, "a"), (0, "b"), (1, "b"), (1, "a")]  # before each timed round
    assert all(log[k].startswith("start") and log[k + 1] == "stop" + log[k][5:]
               for k in range(0, len(log), 2))  # no two rounds overlap
    assert timings(1, arm="b")["time_s"] == 1.0


def test_a_failing_configuration_stops_the_others_and_raises() -> None:
    claim = FakeClaim([0, 1, 2])

    def target(seed: int, arm: str) -> None:
        if arm == "b" and seed == 1:
            raise RuntimeError("b broke on seed 1")

    timings = BenchmarkTimings(LockstepFixture([]), claim, target)
    with pytest.raises(RuntimeError, match="b broke on seed 1"):
        timings.__atomcheck_grid__([{"arm": "a"}, {"arm": "b"}, {"arm": "c"}])


def test_ctrl_c_while_timing_stops_every_level(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    def interrupted(self: threading.Thread, timeout: float | None = None) -> None:
        raise KeyboardInterrupt

    calls: list[int] = []
    timings = BenchmarkTimings(LockstepFixture([]), FakeClaim(list(range(5000))),
                               lambda s, arm: calls.append(s) or time.sleep(0.001))
    monkeypatch.setattr(threading.Thread, "join", interrupted)
    with pytest.raises(KeyboardInterrupt):
        timings.__atomcheck_grid__([{"arm": "a"}, {"arm": "b"}])
    monkeypatch.undo()
    for thread in threading.enumerate():
        if thread.name.startswith("atomcheck-timing-"):
            thread.join(timeout=5)
            assert not thread.is_alive()
    assert len(calls) < 1000  # stopped early: all rounds would be 2 x 2 x 5000 calls
