"""Timing claims measured by pytest-benchmark: one benchmark per level, one round per seed.

A timing claim ("training time falls as batch size grows") is a sweep whose metric is a wall
time. :class:`BenchmarkTimings` is that sweep's training function: the first time the sweep
asks for a configuration, it times every seed of it in one ``benchmark.pedantic`` call —
pytest-benchmark's timer (``--benchmark-timer``), its garbage-collector setting
(``--benchmark-disable-gc``), its warm-up rounds before the timed ones, then one timed round
per seed in seed order — and hands the sweep each seed's round. So:

* every configuration is one row of pytest-benchmark's table (group: the claim id unless a
  ``@pytest.mark.benchmark(group=...)`` says otherwise), named ``test_x[factor=level]``, and
  is stored and compared by ``--benchmark-save``/``--benchmark-autosave``/``--benchmark-json``/
  ``--benchmark-compare`` like any benchmark (the seeds and config are in its ``extra_info``);
* the verdict's samples are exactly the rounds of that table, paired by seed: round *i* of
  every row is seed *i*, whose inputs are built untimed by ``prepare`` (pedantic's ``setup``);
* the number of rounds is the claim's number of seeds (``--atomcheck-seeds``, the profile),
  as in pedantic mode, so ``--benchmark-min-rounds``/``--benchmark-max-time``/
  ``--benchmark-min-time``/``--benchmark-precision`` (options of the calibrated mode) do not
  change it; ``--benchmark-warmup=on`` raises the warm-up to
  ``--benchmark-warmup-iterations`` rounds (at most one per seed).

When pytest-benchmark is disabled — ``--benchmark-disable``, or automatically under xdist
("benchmarks cannot be performed reliably in a parallelized environment") — it runs a
benchmarked function once, untimed, and records nothing. The claim still needs its samples,
so the function it runs once is atomcheck's own copy of the same loop (same timer, gc
setting, warm-up and seed order); nothing goes to the table or storage, and the verdict's
message says so. ``--benchmark-skip`` skips timing claims (they use the ``benchmark``
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
import math
import os
import platform
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
                 "atomcheck with the same timer, warm-up and one round per seed; not in "
                 "benchmark's table or storage")


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
    #: Read by the claim (``atomcheck.claim.CACHED_NOTE_ATTR``) when it read runs from the cache.
    __atomcheck_cached_note__ = CACHED_NOTE

    def __init__(self, benchmark: Any, claim: _ClaimLike, target: Callable[..., Any], *,
                 prepare: Callable[..., Sequence[Any]] | None = None, metric: str = "time_s",
                 warmup_rounds: int = 1) -> None:
        if not callable(target):
            raise TypeError(f"BenchmarkTimings: target={target!r} must be callable.")
        if prepare is not None and not callable(prepare):
            raise TypeError(f"BenchmarkTimings: prepare={prepare!r} must be callable or None.")
        if not isinstance(warmup_rounds, int) or isinstance(warmup_rounds, bool) \
                or warmup_rounds < 0:
            raise ValueError(f"BenchmarkTimings: warmup_rounds={warmup_rounds!r} must be an "
                             "integer >= 0.")
        if not isinstance(metric, str) or not metric:
            raise ValueError(f"BenchmarkTimings: metric={metric!r} must be a non-empty name.")
        self.claim = claim
        self.target = target
        self.prepare = prepare
        self.metric = metric
        self.warmup_rounds = warmup_rounds
        self._benchmark = benchmark
        # Copied before anything uses the fixture: every later configuration gets a fresh
        # copy of this pristine one (a used fixture refuses a second call).
        self._pristine = copy.copy(benchmark)
        self._timed: dict[str, dict[int, float]] = {}
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
        (target, prepare, metric, warm-up, pytest-benchmark's timer and gc setting) and
        where (:func:`measuring_conditions`) — not the fixture or the claim object."""
        fixture = self._pristine
        return {"target": self.target, "prepare": self.prepare, "metric": self.metric,
                "warmup_rounds": self.warmup_rounds,
                "timer": repr(getattr(fixture, "_timer", default_timer)),
                "disable_gc": bool(getattr(fixture, "_disable_gc", False)),
                "warmup": repr(getattr(fixture, "_warmup", False)),
                "where": measuring_conditions()}

    def __call__(self, seed: int, **config: Any) -> dict[str, float]:
        """The seed's timing for ``config`` (timing all seeds of ``config`` on first use)."""
        key = _config_id(config)
        if key not in self._timed:
            self._timed[key] = self._time_level(config)
        try:
            seconds = self._timed[key][int(seed)]
        except KeyError:
            raise ValueError(f"{self.claim.claim_id}: seed {seed} was not among the seeds "
                             f"timed for {key} ({sorted(self._timed[key])}).") from None
        return {self.metric: seconds,
                f"{self.metric}_log10": math.log10(seconds) if seconds > 0 else math.nan}

    # -- one configuration ----------------------------------------------------------------

    def _args(self, seed: int, config: Mapping[str, Any]) -> tuple[Any, ...]:
        if self.prepare is None:
            return (seed,)
        return tuple(self.prepare(seed, **config))

    def _call(self, args: tuple[Any, ...], config: Mapping[str, Any]) -> Any:
        if self.prepare is None:
            return self.target(*args, **config)
        return self.target(*args)

    def _time_level(self, config: dict[str, Any]) -> dict[int, float]:
        seeds = [int(s) for s in self.claim.seeds]
        fixture = self._fixture_for(config, seeds)
        warmup = self._warmup(fixture, len(seeds))
        if getattr(fixture, "disabled", False):
            # pytest-benchmark runs a disabled benchmark once, untimed: run our own loop.
            if DISABLED_NOTE not in self.claim.notes:
                self.claim.notes.append(DISABLED_NOTE)
            durations = fixture.pedantic(self._own_loop, args=(fixture, config, seeds, warmup))
            return dict(zip(seeds, durations))
        plan = [seeds[0]] * warmup + seeds
        calls = iter(range(len(plan) + 2 * len(seeds)))

        def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
            # Round i gets seed i; extra calls (the cprofile run) get the first seed again.
            i = next(calls)
            seed = plan[i] if i < len(plan) else seeds[0]
            return (self._args(seed, config), {})

        fixture.pedantic(lambda *args: self._call(args, config), setup=setup,
                         rounds=len(seeds), warmup_rounds=warmup)
        data = list(fixture.stats.stats.data)
        if len(data) != len(seeds):  # pytest-benchmark changed what a round records
            raise RuntimeError(f"{self.claim.claim_id}: pytest-benchmark recorded {len(data)} "
                               f"rounds for {len(seeds)} seeds.")
        return dict(zip(seeds, (float(d) for d in data)))

    def _own_loop(self, fixture: Any, config: Mapping[str, Any], seeds: list[int],
                  warmup: int) -> list[float]:
        """The pedantic loop of pytest-benchmark, for when it is disabled."""
        timer = getattr(fixture, "_timer", default_timer)
        no_gc = bool(getattr(fixture, "_disable_gc", False))
        durations = []
        for seed in [seeds[0]] * warmup + seeds:
            args = self._args(seed, config)
            enabled = gc.isenabled()
            if no_gc:
                gc.disable()
            try:
                start = timer()
                self._call(args, config)
                durations.append(timer() - start)
            finally:
                if enabled:
                    gc.enable()
        return durations[warmup:]

    def _warmup(self, fixture: Any, n_seeds: int) -> int:
        """The claim's warm-up, raised by ``--benchmark-warmup=on`` (capped at the seeds)."""
        if getattr(fixture, "_warmup", False):
            return max(self.warmup_rounds, min(int(fixture._warmup), n_seeds))
        return self.warmup_rounds

    def _fixture_for(self, config: Mapping[str, Any], seeds: list[int]) -> Any:
        """The benchmark fixture that times ``config``, named after it."""
        if not self._timed:
            fixture = self._benchmark
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
                              "metric": self.metric, "rounds": "one per seed, in seed order"}
        return fixture


def _short(value: Any) -> Any:
    """A config value as JSON and a benchmark name can carry it."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _config_id(config: Mapping[str, Any]) -> str:
    return repr(sorted((k, repr(v)) for k, v in config.items()))
