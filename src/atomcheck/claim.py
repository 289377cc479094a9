"""``Claim``: the object behind the pytest fixture — ``sweep()`` then ``expect()``.

It works without pytest, like scikit-learn's ``check_estimator``::

    claim = Claim("my.claim", "Accuracy rises with width", seeds=10)
    claim.sweep(train_fn, width=[8, 16, 32])
    verdict = claim.expect(Rises("test_accuracy", along="width"))
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from atomcheck.config import Settings, _check_alpha
from atomcheck.errors import AtomcheckError, InvalidClaim
from atomcheck.cache import ResultCache
from atomcheck.executors import Executor, get_executor, session_executor
from atomcheck.randomness import (parse_variance_sources, plan_variance_sources,
                                  variance_record, variant_levels)
from atomcheck.robust import SETTING_FACTOR, Setting, combine, parse_settings
from atomcheck.sequential import (Look, LookResult, SequentialDesign,
                                  adjusted_p, parse_sequential, run_looks)
from atomcheck.sweep import Samples, SharedSweep, check_levels, run_sweep
from atomcheck.verdict import Expectation, SettingResult, Verdict

__all__ = ["Claim", "CACHED_NOTE_ATTR", "EXPECTED", "FIXED_SEEDS_ATTR", "LOCAL_ATTR",
           "SCHEMA_FIELDS"]

#: A training function with this attribute (a reason, as text) trains all of a claim's seeds
#: at once, so the claim keeps the fixed design even when sequential seeds are asked for
#: (and its verdict says why): pytest-benchmark's timings, for one.
FIXED_SEEDS_ATTR = "__atomcheck_fixed_seeds__"

#: A training function with this attribute (a note, as text) has results that mean less when
#: read from the cache (timings measured by an earlier run): a claim that read any of its
#: runs from the cache adds the note to its verdict's message.
CACHED_NOTE_ATTR = "__atomcheck_cached_note__"

#: A training function that must run in the test's own process declares why under this
#: name (a string); the claim then trains it on the serial executor whatever the run's
#: ``--atomcheck-executor``, and its verdict says so: pytest-benchmark's timings, for one.
LOCAL_ATTR = "__atomcheck_local__"

EXPECTED = ("supported", "refuted", "conditional", "inconclusive")
SCHEMA_FIELDS = ("id", "variant", "nodeid", "statement", "sources", "kind", "expected",
                 "verdict", "outcome", "test", "statistic", "p_value", "alpha", "effect",
                 "n_seeds", "metric", "levels", "members", "wall_s")


class ClaimUsageError(AtomcheckError, RuntimeError):
    """``sweep()`` or ``expect()`` called twice, or out of order."""


class Claim:
    """A falsifiable statement tested on a sweep.

    Parameters
    ----------
    claim_id : str
        The catalog id, e.g. ``"atoms.batch_size.accuracy"``.
    statement : str
        The claim in one sentence.
    sources : sequence of str
        Where the claim comes from (document and section).
    seeds : int
        Seeds at the ``default`` profile; the active profile scales it.
    alpha : float, optional
        Per-claim significance level; the settings' alpha otherwise.
    expected : {"supported", "refuted", "conditional", "inconclusive"}
        What the run should find; ``"refuted"`` and ``"conditional"`` need a ``reason``.
    reason : str, optional
        Why the claim is expected to be refuted (or conditional on an open setting).
        ``"inconclusive"`` records a finding too: the effect the source claims, if any, is
        smaller than the claim's seeds can resolve; the reason says how many seeds the
        verdict's power estimate asks for.
    robust_over : dict or list of dict, optional
        The settings the claim's source leaves open, as alternatives to the claim's own
        values: ``{"lr": [0.1], "epochs": [60]}`` (the grid over base and alternatives) or
        ``[{"lr": 0.1}, {"epochs": 60}]`` (the base and each listed setting). The sweep runs
        under every setting on the same seeds; see :mod:`atomcheck.robust` for the verdict.
    settings : Settings, optional
    variant : str, optional
        The parametrized variant's name.
    progress : callable, optional
        ``progress(message)`` is called after each configuration trains.
    cache : ResultCache, optional
        Read runs already trained from it and store new ones (see :mod:`atomcheck.cache`).
    negative_control : bool
        The claim's null is true by construction (identical arms, shuffled labels): it
        passes unless it comes out supported, and the report counts how often that
        happens (the run's measured false-positive rate).
    sequential : bool or (int, int) or (int, int, int), optional
        Sequential seeds (:mod:`atomcheck.sequential`): ``True`` looks at 5 seeds first
        (more where the test needs them; at half the seeds too, from 12 on) and adds the
        rest only while the verdict is inconclusive; ``(min, max)`` or
        ``(min, max, looks)`` fixes the looks; ``False`` keeps the fixed design even under
        ``--atomcheck-sequential``; None follows the run's settings.
    variance_sources : bool or list of str, optional
        Break the variance across seeds of the expectation's metric down by source of
        randomness (:mod:`atomcheck.randomness`): ``True`` for every source the training
        function draws from, or a list such as ``["init", "order"]``. After the verdict,
        each configuration of the sweep (base setting) also trains once per source with
        only that source varying, on the claim's seeds (``configs × sources`` extra runs
        per seed, through the cache and executors); the report's ``variance_by_source``
        gives each source's variance and share. Needs a training function with a ``hold``
        factor; the verdict never reads these runs.

    Examples
    --------
    >>> from atomcheck.verdict import Rises
    >>> c = Claim("demo.rise", "y rises with x", seeds=6)
    >>> _ = c.sweep(lambda seed, x: {"y": x + 0.01 * (seed % 3)}, x=[1, 2, 3])
    >>> c.expect(Rises("y", along="x")).verdict
    'supported'
    """

    def __init__(
        self,
        claim_id: str,
        statement: str = "",
        *,
        sources: Sequence[str] = (),
        seeds: int = 10,
        alpha: float | None = None,
        expected: str = "supported",
        reason: str | None = None,
        robust_over: Any = None,
        settings: Settings | None = None,
        variant: str | None = None,
        nodeid: str | None = None,
        progress: Callable[[str], None] | None = None,
        cache: ResultCache | None = None,
        negative_control: bool = False,
        sequential: Any = None,
        variance_sources: Any = None,
    ) -> None:
        self.settings = settings or Settings()
        if not isinstance(claim_id, str) or not claim_id:
            raise InvalidClaim(f"claim_id={claim_id!r} must be a non-empty string like "
                               "'atoms.batch_size.accuracy'.")
        if expected not in EXPECTED:
            raise InvalidClaim(f"{claim_id}: expected={expected!r} must be one of {EXPECTED}.")
        if expected != "supported" and not reason:
            raise InvalidClaim(f"{claim_id}: expected={expected!r} needs reason='...': say why "
                               f"the evidence makes the claim {expected} (for 'conditional', on "
                               "which setting), so the report shows it.")
        if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
            raise InvalidClaim(f"{claim_id}: seeds={seeds!r} must be a positive integer.")
        if alpha is not None:
            try:
                _check_alpha(alpha)
            except InvalidClaim as exc:
                raise InvalidClaim(f"{claim_id}: {exc}") from None
        self.claim_id = claim_id
        self.statement = statement
        self.sources = list(sources)
        self.alpha = float(alpha if alpha is not None else self.settings.alpha)
        self.expected = expected
        self.reason = reason
        self.robust_over = robust_over
        self.variant = variant
        self.nodeid = nodeid
        self.declared_seeds = seeds
        self.n_seeds = self.settings.seeds_for(seeds)
        self.seeds = self._seed_list(self.n_seeds)
        self.notes: list[str] = []
        self.progress = progress
        self.cache = cache
        self.negative_control = bool(negative_control)
        self.cached_runs = 0
        self.stored_runs = 0
        self.sequential = sequential
        self._sequential_design()  # a bad value fails now, before any training
        self.variance_sources = parse_variance_sources(variance_sources, claim_id=claim_id)
        self.variance_by_source: dict[str, Any] | None = None
        self.design: SequentialDesign | None = None
        self.looks: list[LookResult] = []
        self.stopped_at: Look | None = None
        self.samples: Samples | None = None
        self.verdict: Verdict | None = None
        self.expectation: Expectation | None = None
        self.wall_s = 0.0
        self._fn: Callable[..., Any] | None = None
        self._shared: SharedSweep | None = None
        self._levels: dict[str, list[Any]] = {}
        self._sweep_levels: dict[str, Any] = {}

    def _seed_list(self, n: int) -> list[int]:
        base = self.settings.seed_base
        return list(range(base, base + n))

    @property
    def label(self) -> str:
        """``id[variant]`` as shown in tables."""
        return f"{self.claim_id}[{self.variant}]" if self.variant else self.claim_id

    def sweep(self, fn: Callable[..., Any], **levels: Sequence[Any]) -> Claim:
        """Plan a sweep of ``fn(seed, **config)`` over the factor levels.

        Validation happens now; training happens in :meth:`expect`, after the expectation
        has been checked against the design, so a wrong claim fails before any training.
        Returns the claim itself; :attr:`samples` holds the table after :meth:`expect`.
        """
        if self._fn is not None:
            raise ClaimUsageError(f"{self.claim_id}: sweep() was already called; a claim "
                                  "runs one sweep. Put every factor in that one call.")
        check_levels(fn, levels, self.seeds, claim_id=self.claim_id)
        self._fn = fn
        self._levels = {k: list(v) for k, v in levels.items()}
        self._sweep_levels = dict(levels)
        return self

    def use(self, shared: SharedSweep, **subset: Sequence[Any]) -> Claim:
        """Read a :class:`~atomcheck.sweep.SharedSweep` instead of planning a sweep.

        Claims that use one shared sweep train each (configuration, seed) once. ``subset``
        cuts factors to some of their levels (``use(shared, method=["nn"])``): the claim
        reads, trains and reports only those, e.g. a claim with more seeds than the
        others that reads one method of the sweep.
        """
        if not isinstance(shared, SharedSweep):
            raise InvalidClaim(f"{self.claim_id}: use() takes a SharedSweep (e.g. from a "
                               f"session-scoped fixture); got {shared!r}. Call "
                               "sweep(fn, factor=[...]) for a sweep of this claim's own.")
        self.sweep(shared.fn, **shared.select(subset, claim_id=self.claim_id))
        self._shared = shared
        return self

    def expect(self, expectation: Expectation) -> Verdict:
        """Train the sweep, test the expectation, and return the :class:`Verdict`."""
        if self._fn is None:
            raise ClaimUsageError(f"{self.claim_id}: call sweep(fn, factor=[...]) before "
                                  "expect().")
        if self.verdict is not None:
            raise ClaimUsageError(f"{self.claim_id}: expect() was already called; a claim "
                                  "has one expectation (use a family inside it).")
        if not isinstance(expectation, Expectation):
            raise InvalidClaim(f"{self.claim_id}: expect() takes an expectation such as "
                               f"Rises(...) or Beats(...); got {expectation!r}.")
        expectation.validate(self._levels, claim_id=self.claim_id)
        self.expectation = expectation
        settings = parse_settings(self.robust_over, fn=self._fn, levels=self._levels,
                                  expectation=expectation, claim_id=self.claim_id)
        expectations = [self._under(expectation, s) for s in settings]
        self._fit_seeds_to_test(expectation)
        sources = plan_variance_sources(self.variance_sources, self._fn,
                                        levels=self._sweep_levels,
                                        settings=settings, n_seeds=self.n_seeds,
                                        claim_id=self.claim_id)
        start = time.perf_counter()
        levels, names = self._levels_with_settings(settings)
        def check_metrics(metrics: Mapping[str, float]) -> None:
            for e in expectations:
                e.check_metric(metrics, claim_id=self.claim_id)

        options: dict[str, Any] = dict(
            executor=self._executor(), device=self.settings.device, claim_id=self.claim_id,
            on_unit=self._on_unit, check_metrics=check_metrics, cache=self.cache)
        stats = self.cache.stats if self.cache is not None else None
        hits, writes, refused = ((stats.hits, stats.writes, len(stats.uncacheable))
                                 if stats is not None else (0, 0, 0))
        design = self._fit_design(expectation, expectations)
        if design is None:
            self.samples = self._train(levels, self.seeds, options)
            verdict = self._evaluate(settings, expectations, names, self.alpha)
        else:
            verdict = self._expect_sequential(design, settings, expectations, names, levels,
                                              options)
        if sources:
            self._train_variance_sources(sources, expectation.metric, names[0], options)
        if stats is not None:
            self.cached_runs = stats.hits - hits
            self.stored_runs = stats.writes - writes
            for note in dict.fromkeys(stats.uncacheable[refused:]):
                self.notes.append(note)
            cached_note = getattr(self._fn, CACHED_NOTE_ATTR, None)
            if self.cached_runs and cached_note and cached_note not in self.notes:
                self.notes.append(cached_note)
        if self.notes:
            verdict = verdict.replace(message="; ".join([*self.notes, verdict.message]).strip("; "))
        self.wall_s = time.perf_counter() - start
        self.verdict = verdict
        return verdict

    def _train(self, levels: dict[str, Any], seeds: list[int], options: dict[str, Any]
               ) -> Samples:
        if self._shared is not None:
            return self._shared.run(levels, seeds, **options)
        assert self._fn is not None
        return run_sweep(self._fn, levels, seeds, **options)

    def _train_variance_sources(self, sources: tuple[str, ...], metric: str,
                                setting: str | None, options: dict[str, Any]) -> None:
        """Train the held variants on the claim's seeds (base setting) and tabulate the
        variance of ``metric`` by source in :attr:`variance_by_source`."""
        assert self.samples is not None and self._fn is not None
        start = time.perf_counter()
        variants = self._train(variant_levels(self._sweep_levels, sources, self._fn),
                               list(self.samples.seeds), options)
        record = variance_record(self.samples, variants, sources, metric, setting=setting)
        self.variance_by_source = record | {"wall_s": round(time.perf_counter() - start, 4)}

    def _evaluate(self, settings: list[Setting], expectations: list[Expectation],
                  names: list[str | None], alpha: float) -> Verdict:
        """The verdict on :attr:`samples` at ``alpha`` (every open setting, combined)."""
        assert self.samples is not None
        results = []
        for setting, expect_s, name in zip(settings, expectations, names):
            table = self.samples if name is None else self.samples.subset(SETTING_FACTOR, name)
            results.append(SettingResult(setting.name, setting.values,
                                         expect_s.evaluate(table, alpha=alpha)))
        return results[0].verdict if len(results) == 1 else combine(results, alpha)

    def _sequential_design(self) -> SequentialDesign | None:
        value = self.sequential
        if value is None:
            value = True if self.settings.sequential else None
        return parse_sequential(value, self.n_seeds, looks=self.settings.sequential_looks,
                                default_range=self.settings.sequential_seeds,
                                where=f"{self.claim_id}: sequential")

    def _fit_design(self, expectation: Expectation,
                    expectations: Sequence[Expectation] = ()) -> SequentialDesign | None:
        """The claim's sequential design with every look able to reach its alpha (under
        every open setting's expectation), or None for the fixed design (exact claims: only
        checking every seed supports them)."""
        design = self._sequential_design()
        if design is None:
            return None
        if expectation.kind == "exact":
            self.notes.append("sequential: off for an exact claim (it holds only when every "
                              "seed is checked)")
            return None
        fixed = getattr(self._fn, FIXED_SEEDS_ATTR, None)
        if fixed:
            self.notes.append(f"sequential: off ({fixed})")
            return None

        every = list(expectations) or [expectation]
        first = max(e.first_look() for e in every)
        if first > 2:
            design = design.first_look_at_least(
                first, f"the test keeps its level on skewed metrics from {first} seeds on")

        def check(n: int, alpha: float) -> None:
            for e in every:
                e.check_seeds(n, alpha, claim_id=self.claim_id, levels=self._levels)

        try:
            return design.fit(check, self.alpha)
        except InvalidClaim as exc:
            raise InvalidClaim(f"{exc} (sequential looks up to {design.max_seeds} seeds; raise "
                               "the maximum)") from None

    def _expect_sequential(self, design: SequentialDesign, settings: list[Setting],
                           expectations: list[Expectation], names: list[str | None],
                           levels: dict[str, Any], options: dict[str, Any]) -> Verdict:
        """Train look by look, each look only the seeds not trained before, and stop at the
        first decisive verdict; the p-values are put on the claim's scale (× alpha/alpha_k)."""
        looks = design.schedule(self.alpha)
        self.samples = None

        def at(look: Look) -> Verdict:
            have = len(self.samples.seeds) if self.samples is not None else 0
            self.seeds = self._seed_list(look.n_seeds)[have:]  # progress counts these
            part = self._train(levels, self.seeds, options)
            self.samples = part if self.samples is None else _merge(self.samples, part)
            return self._evaluate(settings, expectations, names, look.alpha)

        verdict, look, seen = run_looks(looks, at)
        assert self.samples is not None
        self.seeds, self.n_seeds = list(self.samples.seeds), len(self.samples.seeds)
        self.design, self.looks, self.stopped_at = design, seen, look
        self.notes.extend(design.notes)
        self.notes.append(f"sequential: stopped at look {look.index} of {len(looks)} "
                          f"({look.n_seeds} of {design.max_seeds} seeds, alpha_k="
                          f"{look.alpha:.3g}); p-values x alpha/alpha_k")
        return verdict.replace(alpha=self.alpha,
                               p_value=adjusted_p(verdict.p_value, self.alpha, look.alpha),
                               p_opposite=adjusted_p(verdict.p_opposite, self.alpha,
                                                     look.alpha))

    def sequential_record(self) -> dict[str, Any] | None:
        """The report's ``sequential`` entry: the looks planned and seen, where it stopped."""
        if self.design is None or self.stopped_at is None:
            return None
        planned = self.design.schedule(self.alpha)
        return {"min_seeds": self.design.min_seeds, "max_seeds": self.design.max_seeds,
                "spending": self.design.spending,
                "planned": [{"look": k.index, "n_seeds": k.n_seeds, "alpha": k.alpha}
                            for k in planned],
                "looks": [r.to_dict() for r in self.looks],
                "stopped_at_look": self.stopped_at.index, "n_looks": len(planned),
                "seeds_used": self.stopped_at.n_seeds,
                "seeds_saved": self.design.max_seeds - self.stopped_at.n_seeds}

    def _executor(self) -> Executor:
        name = self.settings.executor
        local = getattr(self._fn, LOCAL_ATTR, None)
        if name != "serial" and local:
            note = f"executor: serial, not {name} ({local})"
            if note not in self.notes:
                self.notes.append(note)
            name = "serial"
        if name == "serial":
            return get_executor(name)
        options: dict[str, Any] = {"workers": self.settings.workers}
        if name == "dask":
            options["address"] = self.settings.dask_address
        return session_executor(name, **options)

    def _under(self, expectation: Expectation, setting: Setting) -> Expectation:
        """The expectation under ``setting``, validated before any training."""
        if not setting.expectation:
            return expectation
        changed = dataclasses.replace(expectation, **setting.expectation)
        try:
            changed.validate(self._levels, claim_id=self.claim_id)
        except InvalidClaim as exc:
            raise InvalidClaim(f"{exc} (under robust_over setting {setting.name})") from None
        return changed

    def _levels_with_settings(self, settings: list[Setting]
                              ) -> tuple[dict[str, Any], list[str | None]]:
        """The sweep's levels plus a ``setting`` factor when settings change training.

        Settings that change only the expectation read the same runs; those that change
        the training function's arguments become named levels of one factor, so all of
        them train in one sweep (sharing the batched engine where their schedules match).
        """
        trainings: dict[str, dict[str, Any]] = {}
        names: list[str | None] = []
        for setting in settings:
            key = repr(sorted(setting.config.items()))
            name = next((n for n, cfg in trainings.items()
                         if repr(sorted(cfg.items())) == key), None)
            if name is None:
                name = "base" if not setting.config else ", ".join(
                    f"{k}={v}" for k, v in setting.config.items())
                trainings[name] = dict(setting.config)
            names.append(name)
        if len(trainings) == 1:
            return dict(self._sweep_levels), [None] * len(settings)
        return {**self._sweep_levels, SETTING_FACTOR: trainings}, names

    def _fit_seeds_to_test(self, expectation: Expectation) -> None:
        """Refuse a design that can never reach alpha; a profile that scaled the claim's
        seeds down is floored at the fewest seeds its test can decide with (said in the note).
        """
        check = expectation.check_seeds
        try:
            check(self.n_seeds, self.alpha, claim_id=self.claim_id, levels=self._levels)
            return
        except InvalidClaim:
            if self.settings.seeds is not None or self.n_seeds >= self.declared_seeds:
                raise
        for n in range(self.n_seeds + 1, self.declared_seeds + 1):
            try:
                check(n, self.alpha, claim_id=self.claim_id, levels=self._levels)
            except InvalidClaim:
                continue
            self.notes.append(f"profile {self.settings.profile!r} scaled seeds to "
                              f"{self.n_seeds}; raised to {n}, the fewest at which the test can "
                              "reach alpha")
            self.n_seeds, self.seeds = n, self._seed_list(n)
            return
        check(self.declared_seeds, self.alpha, claim_id=self.claim_id, levels=self._levels)

    def _on_unit(self, done: int, total: int, config: Mapping[str, Any]) -> None:
        if self.progress is not None:
            # The claim, its open setting, the level just trained, and seeds done so far.
            level = ", ".join(f"{k}={v}" for k, v in config.items() if k != SETTING_FACTOR)
            where = (f"setting {config[SETTING_FACTOR]} · " if SETTING_FACTOR in config
                     else "")
            n = len(self.seeds)
            self.progress(f"{self.label}: {where}{level} · seeds {done * n}/{total * n} "
                          f"({done}/{total} configs)")

    @property
    def passed(self) -> bool:
        """Whether the verdict matches what the claim expects."""
        if self.verdict is not None and self.negative_control:
            return self.verdict.verdict != "supported"
        return self.verdict is not None and self.verdict.verdict == self.expected

    def to_dict(self, *, outcome: str | None = None, error: str | None = None) -> dict[str, Any]:
        """The claim's schema-v1 report entry."""
        entry: dict[str, Any] = {
            "id": self.claim_id, "variant": self.variant, "nodeid": self.nodeid,
            "statement": self.statement, "sources": self.sources, "expected": self.expected,
            "reason": self.reason, "outcome": outcome, "alpha": self.alpha,
            "robust_over": _json_settings(self.robust_over),
            "seeds": self.seeds, "wall_s": round(self.wall_s, 4),
            "engine": self.samples.engine if self.samples else None,
            "cached_runs": self.cached_runs,
            "stored_runs": self.stored_runs,
            "negative_control": self.negative_control,
            "sequential": self.sequential_record(),
            "variance_by_source": self.variance_by_source,
        }
        if self.verdict is not None:
            entry.update(self.verdict.to_dict())
            # What the plots of the HTML report need and the verdict does not say: the
            # expectation's arguments (along, a, b, margin...) and per-epoch histories.
            entry["design"] = _design(self.expectation)
            if self.samples is not None:
                _attach_histories(entry["levels"], self.samples)
        else:
            entry.update({"kind": None, "verdict": "error", "test": None, "statistic": None,
                          "p_value": None, "effect": None, "n_seeds": self.n_seeds,
                          "metric": None, "levels": [], "members": [], "message": error or ""})
        return entry


def _merge(first: Samples, more: Samples) -> Samples:
    """One table of the same configurations over ``first``'s seeds and then ``more``'s
    (an earlier look's runs kept, so nothing trains twice without a cache)."""
    runs = []
    for j in range(len(first.configs)):
        runs += first.runs[j * len(first.seeds):(j + 1) * len(first.seeds)]
        runs += more.runs[j * len(more.seeds):(j + 1) * len(more.seeds)]
    engine = first.engine if first.engine == more.engine else "mixed"
    return Samples(first.factors, list(first.configs), [*first.seeds, *more.seeds], runs,
                   engine=engine)


def _design(expectation: Expectation | None) -> dict[str, Any] | None:
    """The expectation's type and arguments as JSON data (``{"type": "Beats", "along":
    "penalty", "a": "none", "margin": null, ...}``); open settings override them by name."""
    if expectation is None:
        return None
    fields = {f.name: _json_settings(getattr(expectation, f.name))
              for f in dataclasses.fields(expectation)}
    return {"type": type(expectation).__name__, **fields}


#: Significant digits kept of per-epoch histories in the report (plots need no more).
_HISTORY_DIGITS = 4


def _attach_histories(levels: list[dict[str, Any]], samples: Samples) -> None:
    """Add ``history`` to each level entry whose runs recorded one: per key, the per-epoch
    mean, min and max over seeds (base setting only; NaN epochs are skipped)."""
    def rounded(x: float) -> float | None:
        return float(f"{x:.{_HISTORY_DIGITS}g}") if math.isfinite(x) else None

    for level in levels:
        config = level.get("config") or {}
        runs = [r for r in samples.runs if r.history
                and all(r.config.get(k) == v for k, v in config.items())
                and (SETTING_FACTOR in config or r.config.get(SETTING_FACTOR, "base") == "base")]
        if not runs:
            continue
        summary: dict[str, dict[str, list[float | None]]] = {}
        for key in sorted(set.intersection(*(set(r.history or {}) for r in runs))):
            epochs = min(len((r.history or {})[key]) for r in runs)
            table = np.array([(r.history or {})[key][:epochs] for r in runs], dtype=float)
            table[~np.isfinite(table)] = np.nan
            with warnings.catch_warnings():  # an epoch every seed diverged in stays NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                stats = {"mean": np.nanmean(table, axis=0), "min": np.nanmin(table, axis=0),
                         "max": np.nanmax(table, axis=0)}
            summary[key] = {name: [rounded(float(v)) for v in values]
                            for name, values in stats.items()}
        if summary:
            level["history"] = summary


def _json_settings(robust_over: Any) -> Any:
    """``robust_over`` as JSON-friendly data (values by their text when not plain)."""
    if robust_over is None or isinstance(robust_over, (bool, int, float, str)):
        return robust_over
    if isinstance(robust_over, Mapping):
        return {str(k): _json_settings(v) for k, v in robust_over.items()}
    if isinstance(robust_over, (list, tuple)):
        return [_json_settings(v) for v in robust_over]
    return repr(robust_over)
