"""Sweeps: factor levels × seeds through a training function, into a tidy table.

Seeds are paired: seed *s* is passed unchanged to every configuration, so it draws the
same data and the same initial-weight stream at every level (common random numbers).
A :class:`~atomcheck.models.Task` whose model the batched engine can express trains all
seeds of a configuration at once; any other callable ``fn(seed, **config) -> metrics``
runs one seed at a time. A NaN/inf metric marks the run diverged; it never crashes.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from atomcheck.cache import ResultCache
from atomcheck.errors import ClaimError, InvalidClaim
from atomcheck.executors import Executor, SerialExecutor
from atomcheck.fingerprint import Unfingerprintable, fingerprint
from atomcheck.reproducible import known_irreproducible

__all__ = ["ByLevel", "Run", "Samples", "SharedSweep", "run_sweep", "check_levels",
           "accepted_names", "GRID_ATTR"]

log = logging.getLogger("atomcheck.sweep")


@dataclass(frozen=True)
class Run:
    """One row of the tidy table: one configuration trained on one seed."""

    config: dict[str, Any]
    seed: int
    metrics: dict[str, float]
    wall_s: float
    diverged: bool = False
    history: dict[str, list[float]] | None = None

    def record(self) -> dict[str, Any]:
        """The row as a flat dict: config columns, seed, metrics, wall_s, diverged (and the
        per-epoch ``history`` when the run recorded one)."""
        row = {**self.config, "seed": self.seed, **self.metrics, "wall_s": self.wall_s,
               "diverged": self.diverged}
        return row | ({"history": self.history} if self.history else {})


@dataclass
class Samples:
    """The tidy result table of a sweep (one :class:`Run` per config × seed).

    Attributes
    ----------
    factors : tuple of str
        The swept factor names, in grid order.
    configs : list of dict
        Every configuration, in grid order.
    seeds : list of int
        The seeds, shared by every configuration.
    runs : list of Run
        Config-major: all seeds of ``configs[0]``, then of ``configs[1]``...
    engine : str
        ``"batched"`` or ``"per-seed"``: which path trained the runs.
    """

    factors: tuple[str, ...]
    configs: list[dict[str, Any]]
    seeds: list[int]
    runs: list[Run]
    engine: str = "per-seed"
    _index: dict[tuple[Any, ...], Run] | None = field(default=None, init=False, repr=False,
                                                      compare=False)

    @property
    def metric_names(self) -> list[str]:
        """Metric columns present in every run (plus ``wall_s``)."""
        names = set.intersection(*(set(r.metrics) for r in self.runs)) if self.runs else set()
        return sorted(names | {"wall_s"})

    def value(self, run: Run, metric: str) -> float:
        """One run's value of ``metric`` (``wall_s`` included)."""
        return run.wall_s if metric == "wall_s" else float(run.metrics[metric])

    def matrix(self, metric: str, configs: Sequence[Mapping[str, Any]] | None = None) -> np.ndarray:
        """Values of ``metric`` as ``(n_seeds, n_configs)``.

        A run is NaN here when this metric is NaN/inf or the run reported ``diverged``;
        a NaN in some other metric leaves this one's value alone.
        """
        configs = self.configs if configs is None else configs
        # Built once: verdicts read the table once per member and once per level.
        if self._index is None or len(self._index) != len(self.runs):
            self._index = {_key(r.config, r.seed): r for r in self.runs}
        index = self._index
        out = np.full((len(self.seeds), len(configs)), np.nan)
        for j, config in enumerate(configs):
            for i, seed in enumerate(self.seeds):
                run = index[_key(dict(config), seed)]
                # A NaN in another metric drops nothing; a run that says it diverged does.
                value = self.value(run, metric)
                if not run.metrics.get("diverged") and math.isfinite(value):
                    out[i, j] = value
        return out

    def subset(self, factor: str, level: Any) -> Samples:
        """The runs at ``factor == level``, as a table without that factor.

        Examples
        --------
        >>> s = run_sweep(lambda seed, x, k: {"y": x * k}, {"x": [1, 2], "k": [1, 10]}, [0])
        >>> s.subset("k", 10).matrix("y").tolist()
        [[10.0, 20.0]]
        """
        factors = tuple(f for f in self.factors if f != factor)
        configs = [{f: c[f] for f in factors} for c in self.configs if c[factor] == level]
        runs = [Run({f: r.config[f] for f in factors}, r.seed, r.metrics, r.wall_s, r.diverged,
                    r.history) for r in self.runs if r.config[factor] == level]
        return Samples(factors, configs, list(self.seeds), runs, engine=self.engine)

    def to_records(self) -> list[dict[str, Any]]:
        """The table as a list of flat dicts, ready for ``pandas.DataFrame(...)``."""
        return [r.record() for r in self.runs]

    def to_pandas(self) -> Any:
        """The table as a ``pandas.DataFrame`` (needs pandas installed)."""
        import pandas as pd

        return pd.DataFrame(self.to_records())

    @property
    def n_diverged(self) -> int:
        """How many runs diverged."""
        return sum(r.diverged for r in self.runs)

    def __repr__(self) -> str:
        return (f"Samples(factors={self.factors}, configs={len(self.configs)}, "
                f"seeds={len(self.seeds)}, runs={len(self.runs)}, engine={self.engine!r}, "
                f"diverged={self.n_diverged})")


class ByLevel:
    """Train each level of one factor with its own training function.

    For claims that pit different kinds of model against each other ("the net beats an
    SVM"): a :class:`~atomcheck.models.Task` level trains all its seeds at once on the
    batched engine, any other level runs ``fn(seed, **config)`` per seed. Every function
    receives the other factors of the sweep; seeds stay paired across all levels.

    Parameters
    ----------
    factor : str
        The factor whose levels pick the function (it must be swept).
    functions : mapping
        Level → training function.

    Examples
    --------
    >>> fn = ByLevel("model", {"double": lambda seed, x: {"y": 2 * x},
    ...                        "square": lambda seed, x: {"y": x * x}})
    >>> s = run_sweep(fn, {"model": ["double", "square"], "x": [3]}, [0])
    >>> s.matrix("y").tolist()
    [[6.0, 9.0]]
    """

    def __init__(self, factor: str, functions: Mapping[Any, Callable[..., Any]]) -> None:
        if not isinstance(factor, str) or not factor:
            raise InvalidClaim(f"ByLevel: factor={factor!r} must be a factor name.")
        if not functions or not all(callable(f) for f in functions.values()):
            raise InvalidClaim(f"ByLevel({factor!r}): functions must map each level to a "
                               "training function, e.g. {'nn': task, 'svm': svm_fn}.")
        self.factor = factor
        self.functions = dict(functions)

    def __repr__(self) -> str:
        return f"ByLevel({self.factor!r}, levels={list(self.functions)})"


class SharedSweep:
    """A sweep that several claims read, trained once per seeds and settings in a process.

    Return one from a session-scoped pytest fixture and pass it to ``claim.use(...)`` in
    each claim that reads it: the first claim trains it, the others re-use its runs. Runs
    are kept per (configuration, seed), so a claim with more seeds trains only the seeds
    not trained yet, a claim with fewer reads a subset (a seed's numbers do not depend on
    the seeds or configurations trained with it), and a claim that reads some levels only
    (``claim.use(shared, method=["nn"])``, :meth:`select`) trains those; open settings
    that change training add their own runs.

    Examples
    --------
    >>> calls = []
    >>> shared = SharedSweep(lambda seed, x: calls.append(seed) or {"y": x + seed}, x=[1, 2])
    >>> shared.run(shared.levels, [0, 1]).matrix("y").tolist()
    [[1.0, 2.0], [2.0, 3.0]]
    >>> shared.run(shared.levels, [1, 2]).matrix("y").tolist()  # trains seed 2 only
    [[2.0, 3.0], [3.0, 4.0]]
    >>> calls
    [0, 1, 0, 1, 2, 2]
    >>> shared.run(shared.select({"x": [2]}), [3]).matrix("y").tolist()  # x=2 only
    [[5.0]]
    >>> calls[6:]
    [3]
    """

    def __init__(self, fn: Callable[..., Any], **levels: Sequence[Any]) -> None:
        check_levels(fn, levels, [0], claim_id=f"SharedSweep({getattr(fn, '__name__', fn)})")
        self.fn = fn
        self.levels = dict(levels)
        #: per device: every run trained so far by (configuration, seed), and the engines
        self._runs: dict[str, tuple[dict[tuple[Any, ...], Run], set[str]]] = {}

    def select(self, subset: Mapping[str, Sequence[Any]], *,
               claim_id: str = "<claim>") -> dict[str, Any]:
        """The sweep's levels with some factors cut to the values in ``subset`` (kept in
        the sweep's order; for named levels, their names): what a claim that reads part of
        the sweep passes to :meth:`run`. Raises :class:`InvalidClaim` for a factor the
        sweep does not have, or a level it does not train.

        >>> SharedSweep(lambda seed, x, m: {}, x=[1, 2, 3], m={"a": {}, "b": {}}).select(
        ...     {"x": [3, 1], "m": ["b"]})
        {'x': [1, 3], 'm': {'b': {}}}
        """
        levels = dict(self.levels)
        for factor, wanted in subset.items():
            call = f"{claim_id}: use(shared, {factor}={wanted!r})"
            if factor not in self.levels:
                raise InvalidClaim(f"{call}: the shared sweep has no factor {factor!r}; its "
                                   f"factors are {list(self.levels)}. Name one of them.")
            have = list(self.levels[factor])
            if isinstance(wanted, (str, bytes)) or not isinstance(wanted, Sequence) \
                    or not wanted:
                raise InvalidClaim(f"{call}: give a non-empty list of the levels to read, "
                                   f"e.g. {factor}=[{have[0]!r}].")
            unknown = [v for v in wanted if v not in have]
            if unknown:
                raise InvalidClaim(f"{call}: {unknown!r} not among the shared sweep's "
                                   f"levels {have!r}; read a subset of them.")
            levels[factor] = _kept(self.levels[factor], wanted)
        return levels

    def run(self, levels: Mapping[str, Any], seeds: Sequence[int], **options: Any) -> Samples:
        """``run_sweep(self.fn, levels, seeds, **options)``, memoised per (device,
        configuration, seed): only the (configuration, seed) pairs not trained before
        train. ``levels`` are the sweep's own or a part of them (:meth:`select`).

        A claim's open settings arrive as one extra factor of named overrides; each of its
        settings is memoised on its own, so claims with different open settings still share
        the runs of the settings they have in common (the base above all).
        """
        extra = [k for k in levels if k not in self.levels]
        if len(extra) == 1 and isinstance(levels[extra[0]], Mapping):
            factor = extra[0]
            parts = []
            base = {k: v for k, v in levels.items() if k != factor}
            for name, overrides in levels[factor].items():
                sub = {**base, factor: {"_": overrides}} if overrides else base
                table = self._table(sub, seeds, options)
                parts.append([Run({**{k: v for k, v in r.config.items() if k != factor},
                                   factor: name}, r.seed, r.metrics, r.wall_s, r.diverged,
                                  r.history) for r in table.runs])
            configs = [dict(zip(levels, combo))
                       for combo in itertools.product(*(list(v) for v in levels.values()))]
            index = {_key(r.config, r.seed): r for part in parts for r in part}
            runs = [index[_key(c, int(seed))] for c in configs for seed in seeds]
            return Samples(tuple(levels), configs, [int(x) for x in seeds], runs,
                           engine=table.engine)
        return self._table(levels, seeds, options)

    def _table(self, levels: Mapping[str, Any], seeds: Sequence[int],
               options: Mapping[str, Any]) -> Samples:
        runs, engines = self._runs.setdefault(repr(options.get("device", "cpu")), ({}, set()))
        seeds = [int(x) for x in seeds]
        configs = [dict(zip(levels, combo))
                   for combo in itertools.product(*(list(v) for v in levels.values()))]
        keys = [[_stored_key(levels, c, seed) for seed in seeds] for c in configs]
        missing = [(c, seed) for c, row in zip(configs, keys)
                   for seed, key in zip(seeds, row) if key not in runs]
        if missing:
            # The smallest grid that holds every missing pair. A pair already held inside
            # it trains again (a seed's numbers do not depend on what trains with it) and
            # the held run is kept.
            grid = {f: _kept(v, [c[f] for c, _ in missing]) for f, v in levels.items()}
            table = run_sweep(self.fn, grid, sorted({seed for _, seed in missing}), **options)
            for r in table.runs:
                runs.setdefault(_stored_key(grid, r.config, r.seed), r)
            engines.add(table.engine)
        return Samples(tuple(levels), configs, seeds,
                       [runs[key] for row in keys for key in row],
                       engine=next(iter(engines)) if len(engines) == 1 else "mixed")

    def __repr__(self) -> str:
        trained = sum(len(runs) for runs, _ in self._runs.values())
        return f"SharedSweep({self.fn!r}, factors={list(self.levels)}, runs={trained})"


#: Why a process whose matrix products depend on the batch stores nothing in the cache.
_IRREPRODUCIBLE = ("results not cached: matrix products depend on a row's place in the batch "
                   "(MKL without its reproducible mode: import atomcheck before torch)")


#: A training function's optional hook, ``fn.__atomcheck_grid__(configs)``: called once per
#: sweep, in the claim's process and before any run, with every configuration (as ``fn``
#: receives it) that the sweep is about to run. A function that must see the whole grid
#: first uses it: :class:`atomcheck.toolbox.BenchmarkTimings` times every configuration of
#: a seed back to back.
GRID_ATTR = "__atomcheck_grid__"


def _key(config: Mapping[str, Any], seed: int) -> tuple[Any, ...]:
    return (tuple(sorted((k, repr(v)) for k, v in config.items())), seed)


def _stored_key(levels: Mapping[str, Any], config: Mapping[str, Any], seed: int
                ) -> tuple[Any, ...]:
    """A run's key in a :class:`SharedSweep`: a named level stands for its overrides too
    (an open setting's level is always named ``"_"``)."""
    return _key({k: (v, levels[k][v]) if isinstance(levels.get(k), Mapping) else v
                 for k, v in config.items()}, seed)


def _kept(values: Any, wanted: Sequence[Any]) -> Any:
    """``values`` (a list, or a mapping of named levels) cut to those in ``wanted``, in
    their own order."""
    if isinstance(values, Mapping):
        return {k: v for k, v in values.items() if k in wanted}
    return [v for v in values if v in wanted]


def accepted_names(fn: Callable[..., Any]) -> frozenset[str] | None:
    """Keyword names ``fn`` accepts, or None when it takes ``**kwargs``.

    A :class:`ByLevel` accepts what every one of its functions accepts.

    Examples
    --------
    >>> sorted(accepted_names(lambda seed, lr=0.1: {}))
    ['lr', 'seed']
    """
    if isinstance(fn, ByLevel):
        inner = [accepted_names(f) for f in fn.functions.values()]
        known = [names for names in inner if names is not None]
        return frozenset.intersection(*known) if known else None
    names = getattr(fn, "factor_names", None)
    if callable(names):
        return frozenset(names())
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return frozenset(p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))


def check_levels(fn: Callable[..., Any], levels: Mapping[str, Sequence[Any]], seeds: Sequence[int],
                 *, claim_id: str = "<claim>") -> None:
    """Validate a sweep design before any training; raise :class:`InvalidClaim` if wrong.

    No factor at all is a valid design: one configuration, trained on every seed.
    """
    for name, values in levels.items():
        if isinstance(values, Mapping):
            bad = [k for k, v in values.items() if not isinstance(v, Mapping)]
            if bad:
                raise InvalidClaim(f"{claim_id}: named level {name}[{bad[0]!r}] must be a dict of "
                                   f"config overrides, e.g. "
                                   f"{{'l1': {{'l1': 0.01}}, 'none': {{}}}}.")
        elif isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise InvalidClaim(f"{claim_id}: factor {name}={values!r} must be a list of levels, "
                               f"e.g. {name}=[{values!r}].")
        if len(values) == 0:
            raise InvalidClaim(f"{claim_id}: factor {name}=[] has no level. Give at least one.")
    if isinstance(fn, ByLevel):
        _check_by_level(fn, levels, seeds, claim_id)
        return
    accepted = accepted_names(fn)
    if accepted is not None:
        passed = {k for k, v in levels.items() if not isinstance(v, Mapping)}
        passed |= {key for v in levels.values() if isinstance(v, Mapping)
                   for overrides in v.values() for key in overrides}
        unknown = sorted(passed - accepted - {"seed"})
        if unknown:
            raise InvalidClaim(
                f"{claim_id}: unknown factor {unknown[0]!r}: the training function accepts "
                f"{sorted(accepted - {'seed'})}. Rename the factor or add the parameter."
            )
    if len(seeds) < 1 or len(set(seeds)) != len(seeds):
        raise InvalidClaim(f"{claim_id}: seeds={list(seeds)!r} must be distinct and non-empty.")


def _check_by_level(fn: ByLevel, levels: Mapping[str, Sequence[Any]], seeds: Sequence[int],
                    claim_id: str) -> None:
    if fn.factor not in levels:
        raise InvalidClaim(f"{claim_id}: ByLevel dispatches on {fn.factor!r}, which the sweep "
                           f"does not vary; add {fn.factor}={list(fn.functions)!r}.")
    missing = [lv for lv in levels[fn.factor] if lv not in fn.functions]
    if missing:
        raise InvalidClaim(f"{claim_id}: level {fn.factor}={missing[0]!r} has no training "
                           f"function; ByLevel knows {list(fn.functions)!r}.")
    others = {k: v for k, v in levels.items() if k != fn.factor}
    for level in levels[fn.factor]:
        if others:
            try:
                check_levels(fn.functions[level], others, seeds, claim_id=claim_id)
            except InvalidClaim as exc:
                raise InvalidClaim(f"{exc} (the function for {fn.factor}={level!r})") from None


def _finite_metrics(out: Any, claim_id: str, config: Mapping[str, Any], seed: int
                    ) -> tuple[dict[str, float], bool]:
    if not isinstance(out, Mapping):
        raise InvalidClaim(
            f"{claim_id}: the training function returned {type(out).__name__}, not a dict of "
            f"metrics (config={dict(config)}, seed={seed}). Return e.g. {{'test_accuracy': acc}}."
        )
    metrics: dict[str, float] = {}
    for name, value in out.items():
        try:
            metrics[str(name)] = float(value)
        except (TypeError, ValueError):
            raise InvalidClaim(f"{claim_id}: metric {name!r}={value!r} is not a number "
                               f"(config={dict(config)}, seed={seed}).") from None
    diverged = any(not math.isfinite(v) for k, v in metrics.items() if k != "diverged")
    return metrics, diverged or bool(metrics.get("diverged", 0.0))


def _named(exc: InvalidClaim, claim_id: str) -> InvalidClaim:
    """The same error, prefixed with the claim's id when it does not say it already."""
    text = str(exc)
    return exc if text.startswith(f"{claim_id}:") else InvalidClaim(f"{claim_id}: {text}")


def _per_seed_unit(fn: Callable[..., Any], config: dict[str, Any], seeds: Sequence[int],
                   claim_id: str) -> list[Run]:
    runs = []
    for seed in seeds:
        start = time.perf_counter()
        try:
            out = fn(seed, **config)
        except InvalidClaim as exc:
            raise _named(exc, claim_id) from exc
        except Exception as exc:
            raise ClaimError(f"{claim_id}: training failed at config={config}, seed={seed}: "
                             f"{type(exc).__name__}: {exc}") from exc
        wall = time.perf_counter() - start
        metrics, diverged = _finite_metrics(out, claim_id, config, seed)
        runs.append(Run(dict(config), int(seed), metrics, wall, diverged))
    return runs


def _batched_configs(task: Any, configs: Sequence[dict[str, Any]], seeds: Sequence[int],
                     device: str, claim_id: str) -> list[list[Run]]:
    """All configurations of a Task at once: the engine batches those sharing a schedule."""
    from atomcheck import engine

    if _is_module_task(task):
        return _module_configs(task, configs, seeds, device, claim_id)
    start = time.perf_counter()
    try:
        trained = engine.train_task_configs(task, list(seeds), configs, device=device)
    except InvalidClaim as exc:
        raise _named(exc, claim_id) from exc
    except Exception as exc:
        raise ClaimError(f"{claim_id}: batched training failed for configs={list(configs)}, "
                         f"seeds={list(seeds)}: {type(exc).__name__}: {exc}") from exc
    # One batched call trains every row; each gets an equal share of its wall time (which
    # is why a timing claim may not read wall_s from a batched sweep).
    wall = (time.perf_counter() - start) / max(1, len(seeds) * len(configs))
    units = []
    for config, results in zip(configs, trained):
        runs = []
        for seed, result in zip(seeds, results):
            metrics, diverged = _finite_metrics(task.result_metrics(result), claim_id, config,
                                                seed)
            runs.append(Run(dict(config), int(seed), metrics, wall, diverged,
                            dict(result.history) or None))
        units.append(runs)
    return units


def _module_configs(task: Any, configs: Sequence[dict[str, Any]], seeds: Sequence[int],
                    device: str, claim_id: str, batched: bool = True) -> list[list[Run]]:
    """Each configuration of a ``module_task`` with every seed at once (``torch.func``), or
    per seed where the module cannot be batched (the reason is logged under ``-v``); with
    ``batched`` False each seed trains alone on the same path (``fn(seed)``), so a sweep's
    numbers do not depend on the path."""
    from atomcheck.engine.modules import ModuleRun, run_module_task

    units = []
    for config in configs:
        try:
            if batched:
                trained = run_module_task(task, list(seeds), config, device=device)
            else:  # each seed alone on the same path: what fn(seed) gives
                alone = [run_module_task(task, [s], config, device=device) for s in seeds]
                trained = ModuleRun([r.metrics[0] for r in alone], "per-seed", "batched=False",
                                    sum(r.wall_s for r in alone))
        except InvalidClaim as exc:
            raise _named(exc, claim_id) from exc
        except Exception as exc:
            raise ClaimError(f"{claim_id}: module training failed for config={dict(config)}, "
                             f"seeds={list(seeds)}: {type(exc).__name__}: {exc}") from exc
        wall = trained.wall_s / max(1, len(seeds))
        runs = []
        for seed, out in zip(seeds, trained.metrics):
            metrics, diverged = _finite_metrics(out, claim_id, config, seed)
            runs.append(Run(dict(config), int(seed), metrics, wall, diverged))
        units.append(runs)
    return units


def _expand(config: Mapping[str, Any], named: Mapping[str, Mapping[str, Mapping[str, Any]]]
            ) -> dict[str, Any]:
    """Replace each named level by its config overrides (``penalty="l1"`` → ``l1=0.01``)."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key in named:
            out.update(named[key][value])
        else:
            out[key] = value
    return out


def _is_module_task(fn: Any) -> bool:
    return getattr(fn, "kind", None) == "module_task" and hasattr(fn, "factory")


def _is_batchable(fn: Any) -> bool:
    """A Task (the MLP engine) or a ``module_task`` (the ``torch.func`` module path)."""
    if _is_module_task(fn):
        return True
    try:
        from atomcheck.models import Task
    except ImportError:  # pragma: no cover - models always ships
        return False
    return isinstance(fn, Task)


def run_sweep(
    fn: Callable[..., Any],
    levels: Mapping[str, Sequence[Any]],
    seeds: Sequence[int],
    *,
    executor: Executor | None = None,
    device: str = "cpu",
    batched: bool | None = None,
    claim_id: str = "<claim>",
    on_unit: Callable[[int, int, dict[str, Any]], None] | None = None,
    check_metrics: Callable[[Mapping[str, float]], None] | None = None,
    cache: ResultCache | None = None,
) -> Samples:
    """Train ``fn`` on every configuration of ``levels`` × ``seeds``.

    Parameters
    ----------
    fn : callable
        ``fn(seed, **config) -> dict[str, float]``, or a :class:`atomcheck.models.Task`.
    levels : mapping of str to list or dict
        Factor name → its levels; the grid is their Cartesian product. A dict of named
        levels maps each level's name to the config overrides it stands for, e.g.
        ``penalty={"l1": {"l1": 0.01}, "none": {}}``: the table keeps the names.
    seeds : sequence of int
        Seeds shared by every configuration.
    executor : Executor, optional
        Runs the units; serial by default.
    device : str
        Device for the batched engine.
    batched : bool, optional
        Force (True) or forbid (False) the batched engine; by default a Task uses it.
    on_unit : callable, optional
        Progress callback ``on_unit(done, total, config)`` after each configuration.
    check_metrics : callable, optional
        Called on the first run's metrics; raises to stop a sweep early.
    cache : ResultCache, optional
        Read each (configuration, seed) from it when present, train the rest, and store
        each new run as soon as its unit finishes.

    Returns
    -------
    Samples

    Examples
    --------
    >>> s = run_sweep(lambda seed, x: {"y": x * seed}, {"x": [1, 2]}, [0, 1, 2])
    >>> s.matrix("y").tolist()
    [[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]]
    """
    check_levels(fn, levels, seeds, claim_id=claim_id)
    with _single_threaded_blas():
        return _run_grid(fn, levels, seeds, executor or SerialExecutor(), device, batched,
                         claim_id, on_unit, check_metrics, cache)


@contextlib.contextmanager
def _single_threaded_blas() -> Iterator[None]:
    # Tiny matrices on a shared 2-core machine: a second BLAS thread makes them 10-30x
    # slower (a 310x310 QR: 147 ms on 2 threads, 4.5 ms on 1). Torch gets the same
    # treatment in atomcheck.models.configure_torch; parallelism comes from processes.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@dataclass(frozen=True)
class Unit:
    """One piece of a sweep's work, sent to an executor: configurations × seeds.

    ``configs`` are the arguments the training function receives (named levels already
    expanded); ``mode`` says how they train: ``"batched"`` (the engine, every seed and
    configuration at once), ``"per-seed"`` (``fn(seed, **config)`` one seed at a time) or
    ``"module-per-seed"`` (a ``module_task``'s own per-seed loop).
    """

    fn: Any
    configs: tuple[dict[str, Any], ...]
    seeds: tuple[int, ...]
    mode: str
    device: str
    claim_id: str


def train_unit(unit: Unit) -> list[list[Run]]:
    """Train ``unit``: for each of its configurations, one :class:`Run` per seed."""
    configs, seeds = [dict(c) for c in unit.configs], list(unit.seeds)
    if unit.mode == "batched":
        return _batched_configs(unit.fn, configs, seeds, unit.device, unit.claim_id)
    if unit.mode == "module-per-seed":
        return _module_configs(unit.fn, configs, seeds, unit.device, unit.claim_id,
                               batched=False)
    return [_per_seed_unit(unit.fn, c, seeds, unit.claim_id) for c in configs]


def _chunks(items: Sequence[Any], parts: int) -> list[list[Any]]:
    size = max(1, math.ceil(len(items) / max(1, parts)))
    return [list(items[k:k + size]) for k in range(0, len(items), size)]


def _plan(missing: Sequence[Sequence[int]], batched: bool, workers: int
          ) -> list[tuple[list[int], list[int]]]:
    """(configuration indices, seeds) of each unit, for the pairs not read from the cache.

    The first unit is a probe that trains alone, so a missing metric stops the sweep after
    one run (after one configuration's seeds, when batched). Per-seed work is one unit per
    run; batched work is cut into about ``workers`` pieces per group of configurations
    missing the same seeds. The cut never changes a number: every seed's run is the same
    whatever else shares its batch.
    """
    todo = [i for i, seeds in enumerate(missing) if seeds]
    if not todo:
        return []
    first = todo[0]
    if batched:
        plan = [([first], list(missing[first]))]
        groups: dict[tuple[int, ...], list[int]] = {}
        for i in todo[1:]:  # configurations missing the same seeds train together
            groups.setdefault(tuple(missing[i]), []).append(i)
        for group, indices in groups.items():
            plan.extend((chunk, list(group)) for chunk in _chunks(indices, workers))
        return plan
    # One seed at a time: each run is stored the moment it finishes.
    return [([i], [seed]) for i in todo for seed in missing[i]]


class _CachedRuns:
    """The sweep's view of the result cache: runs by (configuration index, seed)."""

    def __init__(self, cache: ResultCache | None, fn: Any, configs: Sequence[Mapping[str, Any]],
                 device: str, claim_id: str) -> None:
        self.cache = cache
        self.keys: list[str | None] = []
        if cache is None:
            return
        try:
            fn_print = fingerprint(fn)
            self._config_prints = [fingerprint(dict(c)) for c in configs]
        except Unfingerprintable as exc:
            log.info("%s: results not cached: %s", claim_id, exc)
            cache.stats.uncacheable.append(f"results not cached: {exc}")
            self.cache = None
            return
        self._fn_print, self._device = fn_print, device

    def _key(self, index: int, seed: int) -> str:
        assert self.cache is not None
        return self.cache.key(self._fn_print, self._config_prints[index], seed=seed,
                              device=self._device)

    def get(self, index: int, config: dict[str, Any], seed: int) -> Run | None:
        if self.cache is None:
            return None
        payload = self.cache.get(self._key(index, seed))
        if payload is None:
            return None
        return Run(dict(config), int(seed), {k: float(v) for k, v in payload["metrics"].items()},
                   float(payload["wall_s"]), bool(payload["diverged"]), payload.get("history"))

    def put(self, index: int, run: Run) -> None:
        if self.cache is not None and known_irreproducible():
            # A seed's numbers here depend on its batch: one entry per seed would be wrong.
            if _IRREPRODUCIBLE not in self.cache.stats.uncacheable[-1:]:  # once, not per run
                self.cache.stats.uncacheable.append(_IRREPRODUCIBLE)
            return
        if self.cache is not None:
            self.cache.put(self._key(index, run.seed),
                           {"metrics": run.metrics, "wall_s": run.wall_s,
                            "diverged": run.diverged, "history": run.history})


def _run_grid(fn: Callable[..., Any], levels: Mapping[str, Any], seeds: Sequence[int],
              executor: Executor, device: str, batched: bool | None, claim_id: str,
              on_unit: Callable[[int, int, dict[str, Any]], None] | None,
              check_metrics: Callable[[Mapping[str, float]], None] | None,
              cache: ResultCache | None = None) -> Samples:
    factors = tuple(levels)
    configs = [dict(zip(factors, combo)) for combo in itertools.product(*levels.values())]
    if isinstance(fn, ByLevel):
        return _run_by_level(fn, levels, configs, seeds, executor, device, batched, claim_id,
                             on_unit, check_metrics, cache)
    use_batched = _is_batchable(fn) if batched is None else batched
    mode = ("batched" if use_batched else
            "module-per-seed" if _is_module_task(fn) else "per-seed")
    named = {k: v for k, v in levels.items() if isinstance(v, Mapping)}
    expanded = [_expand(c, named) for c in configs]
    stored = _CachedRuns(cache, fn, expanded, device, claim_id)
    found: dict[tuple[int, int], Run] = {}
    for i, config in enumerate(configs):
        for seed in seeds:
            run = stored.get(i, config, int(seed))
            if run is not None:
                found[(i, int(seed))] = run
    missing = [[int(s) for s in seeds if (i, int(s)) not in found] for i in range(len(configs))]
    before_runs = getattr(fn, GRID_ATTR, None)
    if callable(before_runs) and any(missing):
        before_runs([expanded[i] for i, m in enumerate(missing) if m])
    plan = _plan(missing, use_batched, executor.workers)
    units = [Unit(fn, tuple(expanded[i] for i in indices), tuple(unit_seeds), mode, device,
                  claim_id) for indices, unit_seeds in plan]

    def absorb(indices: list[int], trained: list[list[Run]]) -> None:
        for i, runs in zip(indices, trained):
            for r in runs:
                run = Run(dict(configs[i]), r.seed, r.metrics, r.wall_s, r.diverged, r.history)
                stored.put(i, run)  # at once: a run killed later keeps this one
                found[(i, r.seed)] = run

    finished = {i for i, m in enumerate(missing) if not m}

    def report(indices: list[int]) -> None:
        # Progress counts whole configurations: all their seeds trained or cached.
        done = [i for i in indices if i not in finished and all(
            (i, int(s)) in found for s in seeds)]
        finished.update(done)
        if on_unit and done:
            on_unit(len(finished), len(configs), configs[done[-1]])

    if units:
        absorb(plan[0][0], train_unit(units[0]))
        report(plan[0][0])
    if check_metrics is not None and found:
        check_metrics(next(iter(found.values())).metrics)
    try:
        for (indices, _), trained in zip(plan[1:], executor.map(train_unit, units[1:])):
            absorb(indices, trained)
            report(indices)
    except InvalidClaim as exc:
        raise _named(exc, claim_id) from exc
    except ClaimError:
        raise
    except Exception as exc:  # the executor itself failed: a dead pool, a worker killed
        raise ClaimError(f"{claim_id}: a unit of work failed on the {executor.name} executor "
                         f"({type(exc).__name__}: {exc}); the runs finished before it are "
                         "cached, so a rerun resumes from them.") from exc
    runs = [found[(i, int(seed))] for i in range(len(configs)) for seed in seeds]
    return Samples(factors, configs, [int(s) for s in seeds], runs,
                   engine="batched" if use_batched else "per-seed")


def _run_by_level(fn: ByLevel, levels: Mapping[str, Any], configs: list[dict[str, Any]],
                  seeds: Sequence[int], executor: Executor, device: str, batched: bool | None,
                  claim_id: str, on_unit: Callable[[int, int, dict[str, Any]], None] | None,
                  check_metrics: Callable[[Mapping[str, float]], None] | None,
                  cache: ResultCache | None) -> Samples:
    """One sub-sweep per level of ``fn.factor``, merged back into one paired table."""
    others = {k: v for k, v in levels.items() if k != fn.factor}
    runs: dict[tuple[Any, ...], Run] = {}
    engines = set()
    for level in list(dict.fromkeys(levels[fn.factor])):
        sub = _run_grid(fn.functions[level], others, seeds, executor, device, batched,
                        claim_id, on_unit, check_metrics, cache)
        engines.add(sub.engine)
        for r in sub.runs:
            config = {**r.config, fn.factor: level}
            runs[_key(config, r.seed)] = Run(config, r.seed, r.metrics, r.wall_s, r.diverged,
                                             r.history)
    ordered = [runs[_key(c, int(seed))] for c in configs for seed in seeds]
    engine = engines.pop() if len(engines) == 1 else "mixed"
    return Samples(tuple(levels), configs, [int(s) for s in seeds], ordered, engine=engine)
