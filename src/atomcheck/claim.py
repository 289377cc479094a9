"""``Claim``: the object behind the pytest fixture — ``sweep()`` then ``expect()``.

It works without pytest, like scikit-learn's ``check_estimator``::

    claim = Claim("my.claim", "Accuracy rises with width", seeds=10)
    claim.sweep(train_fn, width=[8, 16, 32])
    verdict = claim.expect(Rises("test_accuracy", along="width"))
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from atomcheck.config import Settings, _check_alpha
from atomcheck.errors import AtomcheckError, InvalidClaim
from atomcheck.executors import get_executor
from atomcheck.robust import SETTING_FACTOR, Setting, combine, parse_settings
from atomcheck.sweep import Samples, SharedSweep, check_levels, run_sweep
from atomcheck.verdict import Expectation, SettingResult, Verdict

__all__ = ["Claim", "EXPECTED", "SCHEMA_FIELDS"]

EXPECTED = ("supported", "refuted", "conditional")
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
    expected : {"supported", "refuted", "conditional"}
        What the run should find; ``"refuted"`` and ``"conditional"`` need a ``reason``.
    reason : str, optional
        Why the claim is expected to be refuted (or conditional on an open setting).
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
        self.samples: Samples | None = None
        self.verdict: Verdict | None = None
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

    def use(self, shared: SharedSweep) -> Claim:
        """Read a :class:`~atomcheck.sweep.SharedSweep` instead of planning a sweep.

        Claims that use one shared sweep with the same seeds and settings train it once.
        """
        if not isinstance(shared, SharedSweep):
            raise InvalidClaim(f"{self.claim_id}: use() takes a SharedSweep (e.g. from a "
                               f"session-scoped fixture); got {shared!r}. Call "
                               "sweep(fn, factor=[...]) for a sweep of this claim's own.")
        self.sweep(shared.fn, **shared.levels)
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
        settings = parse_settings(self.robust_over, fn=self._fn, levels=self._levels,
                                  expectation=expectation, claim_id=self.claim_id)
        expectations = [self._under(expectation, s) for s in settings]
        self._fit_seeds_to_test(expectation)
        start = time.perf_counter()
        levels, names = self._levels_with_settings(settings)
        def check_metrics(metrics: Mapping[str, float]) -> None:
            for e in expectations:
                e.check_metric(metrics, claim_id=self.claim_id)

        options: dict[str, Any] = dict(
            executor=get_executor(self.settings.executor), device=self.settings.device,
            claim_id=self.claim_id, on_unit=self._on_unit, check_metrics=check_metrics)
        if self._shared is not None:
            self.samples = self._shared.run(levels, self.seeds, **options)
        else:
            self.samples = run_sweep(self._fn, levels, self.seeds, **options)
        results = []
        for setting, expect_s, name in zip(settings, expectations, names):
            table = self.samples if name is None else self.samples.subset(SETTING_FACTOR, name)
            results.append(SettingResult(setting.name, setting.values,
                                         expect_s.evaluate(table, alpha=self.alpha)))
        verdict = results[0].verdict if len(results) == 1 else combine(results, self.alpha)
        if self.notes:
            verdict = verdict.replace(message="; ".join([*self.notes, verdict.message]).strip("; "))
        self.wall_s = time.perf_counter() - start
        self.verdict = verdict
        return verdict

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
            cfg = ", ".join(f"{k}={v}" for k, v in config.items())
            self.progress(f"{self.label}: {done}/{total} configs ({cfg})")

    @property
    def passed(self) -> bool:
        """Whether the verdict matches what the claim expects."""
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
        }
        if self.verdict is not None:
            entry.update(self.verdict.to_dict())
        else:
            entry.update({"kind": None, "verdict": "error", "test": None, "statistic": None,
                          "p_value": None, "effect": None, "n_seeds": self.n_seeds,
                          "metric": None, "levels": [], "members": [], "message": error or ""})
        return entry


def _json_settings(robust_over: Any) -> Any:
    """``robust_over`` as JSON-friendly data (values by their text when not plain)."""
    if robust_over is None or isinstance(robust_over, (bool, int, float, str)):
        return robust_over
    if isinstance(robust_over, Mapping):
        return {str(k): _json_settings(v) for k, v in robust_over.items()}
    if isinstance(robust_over, (list, tuple)):
        return [_json_settings(v) for v in robust_over]
    return repr(robust_over)
