"""Timing claims measured by pytest-benchmark: one benchmark per level, one round per seed.

A timing claim ("training time falls as batch size grows") is a sweep whose metric is a wall
time. :class:`BenchmarkTimings` is that sweep's training function: before the sweep's first
run it times every configuration, each in its own ``benchmark.pedantic`` call —
pytest-benchmark's timer (``--benchmark-timer``), its garbage-collector setting
(``--benchmark-disable-gc``), its warm-up rounds before the timed ones, then one timed round
per seed in seed order — and hands the sweep each seed's round.

The configurations' rounds are interleaved: seed *i* is timed under every configuration
back to back (in the sweep's order for even *i*, reversed for odd *i*, so no configuration
always goes first) before seed *i + 1* is, and each timed round is preceded by an untimed
warm call of its configuration on the same inputs (``warm_each_round``), so that a round
is timed warm although the configurations take turns. The pedantic calls run in
lock-step, one round at a time (each in a thread of its own that waits its turn; no two
rounds ever overlap). Why: a paired design pairs what it interleaves. Timed one
configuration after another, a drift of the machine between the blocks (frequency,
caches, other work) shifts every paired difference alike and the seeds cannot show it:
``sys.vectorization[vector_to_matrix]``'s mean log10 ratio at width 64 was -0.85 to -1.11
over five runs timed in blocks, each run's 95% CI about ±0.04 wide, so its verdict there
went from refuted to supported run by run. Interleaved without the warm call, a
microsecond target is timed cold after the other configuration's round (in the same
claim's other variant the numpy product was 10^0.7 faster than the Python loop instead of
10^1.5); with it, -0.81 to -1.03 over eight runs, each CI about ±0.1, and the claim
refuted in all eight.
So:

* every configuration is one row of pytest-benchmark's table (group: the claim id unless a
  ``@pytest.mark.benchmark(group=...)`` says otherwise), named ``test_x[factor=level]``, and
  is stored and compared by ``--benchmark-save``/``--benchmark-autosave``/``--benchmark-json``/
  ``--benchmark-compare`` like any benchmark (the seeds and config are in its ``extra_info``);
* the verdict's samples are exactly the rounds of that table, paired by seed: round *i* of
  every row is seed *i*, whose inputs are built untimed by ``prepare`` (pedantic's ``setup``),
  and the rounds of one seed are timed one after another;
* the number of rounds is the claim's number of seeds (``--atomcheck-seeds``, the profile),
  as in pedantic mode, so ``--benchmark-min-rounds``/``--benchmark-max-time``/
  ``--benchmark-min-time``/``--benchmark-precision`` (options of the calibrated mode) do not
  change it; ``--benchmark-warmup=on`` raises the warm-up to
  ``--benchmark-warmup-iterations`` rounds (at most one per seed).

When pytest-benchmark is disabled — ``--benchmark-disable``, or automatically under xdist
("benchmarks cannot be performed reliably in a parallelized environment") — it runs a
benchmarked function once, untimed, and records nothing. The claim still needs its samples,
so the function it runs once is atomcheck's own copy of the same loop (same timer, gc
setting, warm-up and interleaved order); nothing goes to the table or storage, and the
verdict's message says so. ``--benchmark-skip`` skips timing claims (they use the ``benchmark``
fixture) and ``--benchmark-only`` runs only them, as for any benchmark.

Timings enter the result cache like any run's metrics, keyed by the machine and the
conditions they were measured under (:meth:`BenchmarkTimings.__atomcheck_fingerprint__`:
host, processor, cores, the xdist worker count, pytest-benchmark's timer, gc and warm-up
settings), so rerunning an unchanged catalog on the same machine re-reads them; a claim
notes that its timings may come from an earlier run. ``--atomcheck-no-cache`` times
afresh, and so does any run that stores or compares pytest-benchmark's results
(``--benchmark-save``/``--benchmark-autosave``/``--benchmark-json``/
``--benchmark-compare``): the plugin gives such claims no cache.
"""

from __future__ import annotations

import copy
import gc
import itertools
import math
import os
import platform
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

# The timer pytest-benchmark uses by default: the disabled loop times with the same clock.
from pytest_benchmark.timers import default_timer

__all__ = ["BenchmarkTimings", "CACHED_NOTE", "DISABLED_NOTE", "measuring_conditions"]


def measuring_conditions() -> dict[str, object]:
    """What a timing depends on besides the code: the machine and how busy the run keeps
    it (the number of pytest-xdist workers timing side by side)."""
    return {"host": platform.node(), "machine": platform.machine(),
            "processor": platform.processor(), "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "xdist_workers": os.environ.get("PYTEST_XDIST_WORKER_COUNT")}

#: The note of a claim whose timings may have been read from the result cache.
CACHED_NOTE = ("timings of runs read from the result cache were measured by an earlier run "
               "on this machine under the same conditions; --atomcheck-no-cache times afresh")

#: The note a claim's verdict carries when pytest-benchmark was disabled.
DISABLED_NOTE = ("pytest-benchmark is disabled (--benchmark-disable, or xdist): timed by "
                 "atomcheck with the same timer, warm-up and one round per seed, interleaved; "
                 "not in benchmark's table or storage")


class _ClaimLike(Protocol):
    """What the timings read from the claim: its id, its seeds, and its notes."""

    claim_id: str
    seeds: list[int]
    notes: list[str]


class BenchmarkTimings:
    """A sweep function whose samples are pytest-benchmark timings, one round per seed.

    Parameters
    ----------
    benchmark : pytest_benchmark.fixture.BenchmarkFixture
        The test's ``benchmark`` fixture. The first configuration is timed with it, the
        others with unused copies of it (same node, options and session), because a
        pytest-benchmark fixture times one thing.
    claim : Claim
        The claim whose sweep this is: its seeds are the rounds (read when the first
        configuration is timed, after the claim has settled its seed count), its id the
        benchmark group, and its notes receive :data:`DISABLED_NOTE` when needed.
    target : callable
        What is timed: ``target(*prepare(seed, **config))``. Its result is ignored.
    prepare : callable, optional
        ``prepare(seed, **config) -> tuple`` builds the target's arguments for a seed,
        untimed (data, models, inputs). By default the target is called as
        ``target(seed, **config)`` and its whole call is timed.
    metric : str
        The metric name; the sweep also gets ``<metric>_log10`` (log10 seconds), for
        claims about ratios ("10x faster" is a difference of 1 on that scale).
    warmup_rounds : int
        Untimed runs of the first seed before each configuration's timed rounds (so the
        first seed does not pay for first-call costs: imports, allocator, caches).
    warm_each_round : bool
        An untimed call of the round's configuration on the round's inputs right before
        each timed round (module docstring). It doubles the target's calls; turn it off
        for targets whose every round lasts long enough (tens of milliseconds and more)
        for the previous round's footprint in the caches not to matter.

    Examples
    --------
    In a claim test (``benchmark`` is pytest-benchmark's fixture)::

        def test_sum_speed(claim, benchmark):
            timings = BenchmarkTimings(benchmark, claim, sum_numbers,
                                       prepare=lambda seed, n: (list(range(n)),))
            claim.sweep(timings, n=[10_000, 100_000])
            claim.expect(Rises("time_s", along="n"))
    """

    #: Read by the claim (``atomcheck.claim.FIXED_SEEDS_ATTR``): pytest-benchmark times a
    #: configuration once, over all seeds, so no later look of a sequential design could
    #: add seeds; the claim keeps the fixed design and says why.
    __atomcheck_fixed_seeds__ = ("pytest-benchmark times each configuration once, over all "
                                 "the claim's seeds")
    #: Read by the claim (``atomcheck.claim.LOCAL_ATTR``): the timings are taken in the
    #: test's process, which holds the benchmark fixture, whatever the run's executor.
    __atomcheck_local__ = "pytest-benchmark times in the test's own process"
    #: Read by the claim (``atomcheck.claim.CACHED_NOTE_ATTR``) when it read runs from the cache.
    __atomcheck_cached_note__ = CACHED_NOTE

    def __init__(self, benchmark: Any, claim: _ClaimLike, target: Callable[..., Any], *,
                 prepare: Callable[..., Sequence[Any]] | None = None, metric: str = "time_s",
                 warmup_rounds: int = 1, warm_each_round: bool = True) -> None:
        if not callable(target):
            raise TypeError(f"BenchmarkTimings: target={target!r} must be callable.")
        if prepare is not None and not callable(prepare):
            raise TypeError(f"BenchmarkTimings: prepare={prepare!r} must be callable or None.")
        if not isinstance(warmup_rounds, int) or isinstance(warmup_rounds, bool) \
                or warmup_rounds < 0:
            raise ValueError(f"BenchmarkTimings: warmup_rounds={warmup_rounds!r} must be an "
                             "integer >= 0.")
        if not isinstance(warm_each_round, bool):
            raise ValueError(f"BenchmarkTimings: warm_each_round={warm_each_round!r} must be "
                             "True or False.")
        if not isinstance(metric, str) or not metric:
            raise ValueError(f"BenchmarkTimings: metric={metric!r} must be a non-empty name.")
        self.claim = claim
        self.target = target
        self.prepare = prepare
        self.metric = metric
        self.warmup_rounds = warmup_rounds
        self.warm_each_round = warm_each_round
        self._benchmark = benchmark
        # Copied before anything uses the fixture: every later configuration gets a fresh
        # copy of this pristine one (a used fixture refuses a second call).
        self._pristine = copy.copy(benchmark)
        self._timed: dict[str, dict[int, float]] = {}
        self._used = False  # whether self._benchmark itself has timed a configuration
        callbacks = getattr(benchmark, "_cleanup_callbacks", None)
        if isinstance(callbacks, list):  # runs before pytest-benchmark's "not used" check
            callbacks.append(self._read_from_cache)

    def _read_from_cache(self) -> None:
        """A fixture the claim never timed with, because every timing came from the result
        cache, is used — by the cache: pytest-benchmark would warn it was not used at all."""
        if (getattr(self.claim, "cached_runs", 0) and not self._timed
                and not getattr(self._benchmark, "_mode", 1)):
            self._benchmark._mode = "atomcheck's result cache"

    def __atomcheck_fingerprint__(self) -> dict[str, Any]:
        """What identifies these timings for the result cache: what is timed and how
        (target, prepare, metric, warm-up, order, pytest-benchmark's timer and gc setting) and
        where (:func:`measuring_conditions`) — not the fixture or the claim object."""
        fixture = self._pristine
        return {"target": self.target, "prepare": self.prepare, "metric": self.metric,
                "warmup_rounds": self.warmup_rounds, "order": "interleaved",
                "warm_each_round": self.warm_each_round,
                "timer": repr(getattr(fixture, "_timer", default_timer)),
                "disable_gc": bool(getattr(fixture, "_disable_gc", False)),
                "warmup": repr(getattr(fixture, "_warmup", False)),
                "where": measuring_conditions()}

    def __atomcheck_grid__(self, configs: Sequence[Mapping[str, Any]]) -> None:
        """Time every configuration the sweep is about to run, interleaved by seed (module
        docstring); called by the sweep before its first run."""
        todo = {_config_id(c): dict(c) for c in configs if _config_id(c) not in self._timed}
        if todo:
            self._time_levels(list(todo.values()))

    def __call__(self, seed: int, **config: Any) -> dict[str, float]:
        """The seed's timing for ``config`` (timed now, alone, if the sweep did not time it
        with the others first)."""
        key = _config_id(config)
        if key not in self._timed:
            self._time_levels([config])
        try:
            seconds = self._timed[key][int(seed)]
        except KeyError:
            raise ValueError(f"{self.claim.claim_id}: seed {seed} was not among the seeds "
                             f"timed for {key} ({sorted(self._timed[key])}).") from None
        return {self.metric: seconds,
                f"{self.metric}_log10": math.log10(seconds) if seconds > 0 else math.nan}

    # -- the configurations' rounds ---------------------------------------------------------

    def _args(self, seed: int, config: Mapping[str, Any]) -> tuple[Any, ...]:
        if self.prepare is None:
            return (seed,)
        return tuple(self.prepare(seed, **config))

    def _call(self, args: tuple[Any, ...], config: Mapping[str, Any]) -> Any:
        if self.prepare is None:
            return self.target(*args, **config)
        return self.target(*args)

    def _warm(self, args: tuple[Any, ...], config: Mapping[str, Any]) -> None:
        """The untimed call before a timed round (``warm_each_round``)."""
        if self.warm_each_round:
            self._call(args, config)

    def _time_levels(self, configs: list[dict[str, Any]]) -> None:
        seeds = [int(s) for s in self.claim.seeds]
        fixtures = [self._fixture_for(c, seeds) for c in configs]
        warmup = self._warmup(fixtures[0], len(seeds))
        order = interleaved(len(configs), len(seeds), warmup)
        if getattr(fixtures[0], "disabled", False):
            # pytest-benchmark runs a disabled benchmark once, untimed: run our own loop.
            if DISABLED_NOTE not in self.claim.notes:
                self.claim.notes.append(DISABLED_NOTE)
            durations = fixtures[0].pedantic(self._own_loop,
                                             args=(fixtures[0], configs, seeds, warmup, order))
        else:
            durations = self._lockstep(fixtures, configs, seeds, warmup, order)
        for config, rounds in zip(configs, durations):
            if len(rounds) != len(seeds):  # pytest-benchmark changed what a round records
                raise RuntimeError(f"{self.claim.claim_id}: pytest-benchmark recorded "
                                   f"{len(rounds)} rounds for {len(seeds)} seeds.")
            self._timed[_config_id(config)] = dict(zip(seeds, (float(d) for d in rounds)))

    def _lockstep(self, fixtures: list[Any], configs: list[dict[str, Any]], seeds: list[int],
                  warmup: int, order: list[tuple[int, int]]) -> list[list[float]]:
        """One ``pedantic`` call per configuration, each in a thread, taking turns round by
        round in ``order``; every round's setup (``prepare``) and timing happen in its turn."""
        plan = [seeds[0]] * warmup + seeds
        turn = {step: k for k, step in enumerate(order)}
        state: dict[str, Any] = {"ready": 0, "done": 0, "error": None}
        changed = threading.Condition()

        def wait(until: Callable[[], bool]) -> None:
            with changed:
                changed.wait_for(lambda: until() or state["error"] is not None)
                if state["error"] is not None:
                    raise _Stopped

        def run(c: int) -> None:
            calls = itertools.count()
            current = {"round": -1}

            def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
                i = current["round"] = next(calls)
                if i == 0:
                    with changed:
                        state["ready"] += 1
                        changed.notify_all()
                if i < len(plan):
                    wait(lambda: state["ready"] == len(configs)
                         and state["done"] == turn[(c, i)])
                # extra calls (the cprofile run) come after every round: the first seed again
                args = self._args(plan[i] if i < len(plan) else seeds[0], configs[c])
                if warmup <= i < len(plan):
                    self._warm(args, configs[c])
                return (args, {})

            def teardown(*args: Any, **kwargs: Any) -> None:
                if current["round"] < len(plan):
                    with changed:
                        state["done"] += 1
                        changed.notify_all()
                if current["round"] == len(plan) - 1:  # no post-processing during a round
                    wait(lambda: state["done"] == len(order))

            try:
                fixtures[c].pedantic(lambda *args: self._call(args, configs[c]), setup=setup,
                                     teardown=teardown, rounds=len(seeds),
                                     warmup_rounds=warmup)
            except BaseException as exc:  # noqa: BLE001 - handed to the claim's thread
                with changed:
                    if state["error"] is None:
                        state["error"] = exc
                    changed.notify_all()

        threads = [threading.Thread(target=run, args=(c,), daemon=True,
                                    name=f"atomcheck-timing-{c}") for c in range(len(configs))]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        except BaseException:  # Ctrl-C: the threads stop at their next turn
            with changed:
                state["error"] = state["error"] or _Stopped()
                changed.notify_all()
            raise
        if state["error"] is not None and not isinstance(state["error"], _Stopped):
            raise state["error"]
        return [list(fixture.stats.stats.data) for fixture in fixtures]

    def _own_loop(self, fixture: Any, configs: list[dict[str, Any]], seeds: list[int],
                  warmup: int, order: list[tuple[int, int]]) -> list[list[float]]:
        """The lock-step rounds of :meth:`_lockstep`, for when pytest-benchmark is disabled."""
        timer = getattr(fixture, "_timer", default_timer)
        no_gc = bool(getattr(fixture, "_disable_gc", False))
        plan = [seeds[0]] * warmup + seeds
        durations: list[list[float]] = [[] for _ in configs]
        for c, i in order:
            args = self._args(plan[i], configs[c])
            if i >= warmup:
                self._warm(args, configs[c])
            enabled = gc.isenabled()
            if no_gc:
                gc.disable()
            try:
                start = timer()
                self._call(args, configs[c])
                elapsed = timer() - start
            finally:
                if enabled:
                    gc.enable()
            if i >= warmup:
                durations[c].append(elapsed)
        return durations

    def _warmup(self, fixture: Any, n_seeds: int) -> int:
        """The claim's warm-up, raised by ``--benchmark-warmup=on`` (capped at the seeds)."""
        if getattr(fixture, "_warmup", False):
            return max(self.warmup_rounds, min(int(fixture._warmup), n_seeds))
        return self.warmup_rounds

    def _fixture_for(self, config: Mapping[str, Any], seeds: list[int]) -> Any:
        """The benchmark fixture that times ``config``, named after it."""
        if not self._used:
            fixture, self._used = self._benchmark, True
        else:
            fixture = copy.copy(self._pristine)
        level = ",".join(f"{k}={_short(v)}" for k, v in config.items()) or "all"
        param = f"{fixture.param}-{level}" if fixture.param else level
        base_name = fixture.name.split("[", 1)[0]
        base_full = fixture.fullname.split("[", 1)[0]
        fixture.name = f"{base_name}[{param}]"
        fixture.fullname = f"{base_full}[{param}]"
        fixture.param = param
        fixture.params = {**(fixture.params or {}), **{k: _short(v) for k, v in config.items()}}
        fixture.group = fixture.group or self.claim.claim_id
        fixture.extra_info = {"atomcheck_claim": self.claim.claim_id, "seeds": seeds,
                              "config": {k: _short(v) for k, v in config.items()},
                              "metric": self.metric,
                              "rounds": "one per seed, in seed order, interleaved with the "
                                        "other configurations' rounds of the seed",
                              "warm_each_round": self.warm_each_round}
        return fixture


class _Stopped(Exception):
    """A configuration's rounds stopped because another configuration's failed."""


def interleaved(n_configs: int, n_seeds: int, warmup: int) -> list[tuple[int, int]]:
    """The order of the rounds: (configuration, round) pairs, warm-up rounds first, then
    seed by seed, the configurations forward for even seeds and backward for odd ones.

    >>> interleaved(2, 3, 1)
    [(0, 0), (1, 0), (0, 1), (1, 1), (1, 2), (0, 2), (0, 3), (1, 3)]
    """
    order = [(c, i) for i in range(warmup) for c in range(n_configs)]
    for k in range(n_seeds):
        configs = range(n_configs) if k % 2 == 0 else reversed(range(n_configs))
        order += [(c, warmup + k) for c in configs]
    return order


def _short(value: Any) -> Any:
    """A config value as JSON and a benchmark name can carry it."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _config_id(config: Mapping[str, Any]) -> str:
    return repr(sorted((k, repr(v)) for k, v in config.items()))
