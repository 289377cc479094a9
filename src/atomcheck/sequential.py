"""Sequential seeds: a claim looks at its evidence after a few seeds and adds more only
while the verdict is inconclusive, with alpha spent across the looks.

The default design (``--atomcheck-sequential``, ``sequential=True``), for a claim of ``N``
seeds, fixed before any training:

- **Looks** at 5 seeds, at ``ceil(N / 2)`` seeds when that lies strictly between, and at
  ``N`` (10 seeds: 5, 10; 20: 5, 10, 20; 30: 5, 15, 30). The maximum is the claim's own
  count, so a claim never trains more seeds than the fixed design.
- **Alpha** ("front" spending): the first look spends ``alpha / 2``, each middle look
  ``alpha / 20``, the last look the rest (0.025 / 0.025 at 10 seeds with alpha = 0.05;
  0.025 / 0.0025 / 0.0225 with a middle look).
- **Fitted to the claim's test** (:meth:`SequentialDesign.fit`, which reads the
  expectation's ``check_seeds``): a one-sided rank or sign test over ``m`` members has a
  best possible p of ``m * 0.5**n``, so the first look moves up until that floor is below
  its alpha (a single Wilcoxon test: 6 seeds, ``0.5**6 = 0.0156``); a middle look whose
  test cannot reach its alpha is dropped. When the first look's alpha is below twice that
  floor, the look can only ever decide with the floor's outcome (every seed agreeing), so
  it spends just the floor and passes the rest to the last look: a single Wilcoxon
  comparison at 10 seeds looks at 6 seeds with 0.0157 and at 10 with 0.0343.
- **Tests of a mean on one sample** (a Threshold or Slope of a mean, TOST about a value)
  take their first look at 10 seeds (:data:`MEAN_FIRST_LOOK`): their skewness-aware t-test
  is calibrated on skewed metrics only from 10 seeds on, and a look at 5 would break the
  bound below (lognormal data: 0.085 instead of 0.05). A 10-seed claim of that kind keeps
  the fixed design.
- **Stopping**: at the first look whose verdict is decisive (:func:`decisive`): supported,
  refuted, conditional or an error — except a claim refuted under some open setting while
  another is not, which more seeds could still make conditional. There is no futility
  stop: an inconclusive claim (a negative control, say) runs to the last look.

Why the false-positive rate stays ≤ alpha: the claim is wrongly supported only if some look
wrongly supports it, and look ``k``'s verdict is a level-``alpha_k`` test, so by the union
bound the rate is ≤ Σ alpha_k = alpha, whatever the stopping rule. The bound needs nothing
about the test but its level at each look: it holds for the rank tests (Wilcoxon with or
without ties, sign, Page) as for t-tests, for families (intersection–union: each member at
``alpha_k``), equivalence (TOST at ``alpha_k``) and open settings (:mod:`atomcheck.robust`
at ``alpha_k``); the same argument bounds wrong refutations. The fitting above only chooses
the ``alpha_k`` (from the test's floor, before any data), so it keeps the bound.
tests/unit/test_sequential_calibration.py measures the rates on >= 2,000 null claims per
design and the power against the fixed design.

Why not a sharper boundary: group-sequential boundaries from the joint law of the looks
(normal theory, or the exact sign-flip law of the Wilcoxon statistics) would let the last
look decide at a higher level — for Wilcoxon at 6 and 10 seeds the exact law allows the
fixed design's own threshold at the last look — but the joint law is the test's, so one
such boundary holds for one test and not for the Holm-adjusted families, TOST pairs and
open-setting combinations the verdict layer builds on them; the union bound holds for all.
A sharper boundary raises the later looks' levels, so it keeps more borderline verdicts,
but it saves few seeds: the looks where claims stop are set by the tests' floors. Replayed
on the catalog's seeds, even the whole alpha at every look of this design (not a valid
design) saves 23-25% of the seeds where this one saves 15-21%. Two more ideas, replayed
the same way and left out: letting each open setting stop on its own once its verdict is
settled for Holm (p below alpha / settings on the claim's scale) saves no run on the
catalog — a rank test's first look spends just its floor, so no setting settles before
its claim does; and a futility stop (conditional power under the current trend below
10% for both support and refutation) saves 25-26% of seeds but turns one to three
supported claims inconclusive. More looks under the union bound (every 2, 3 or 5 seeds;
thirds) save less, not more: 11-21%. And an oracle that keeps every verdict — each claim
stopping at the first seed count where its fixed verdict already holds at the full alpha,
inconclusive claims at their first look — saves 35% on the catalog's seeds and 36% on
fresh ones: splitting alpha across looks, which validity requires, costs the rest.

What it saves (``benchmarks/test_sequential_seeds.py``, the whole catalog of 101 claims):
21% of the seeds and 33% of the training runs on the catalog's seeds, 15% and 23% on fresh
seeds (base 1000), at a false-positive rate ≤ alpha; on the catalog's seeds two
borderline conditional claims read refuted, and on fresh seeds one supported claim reads
inconclusive (their verdicts need the full alpha at the last look). Exact claims,
negative controls, inconclusive claims, most refuted and conditional claims (Holm across
open settings needs more seeds than a first look has) and timing claims (a training
function with ``__atomcheck_fixed_seeds__``, as ``toolbox.benchmark_timing``: one
pytest-benchmark run per configuration) run to the end.

The claim's reported p-values are adjusted for the looks, ``min(1, p · alpha / alpha_k)``,
so that "supported" still reads "p < alpha" in reports and suite-wide adjustments. A claim
that stops at a first look spending just its test's floor therefore reports a p just below
alpha: every seed agreed, and that is all the evidence six seeds can give at that look.

Pure: numpy/scipy only (``pure-statistics`` contract).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from scipy.stats import norm

from atomcheck.errors import InvalidClaim

__all__ = ["Look", "LookResult", "SequentialDesign", "SPENDING", "SPENDINGS", "FIRST_LOOK",
           "MEAN_FIRST_LOOK", "parse_sequential", "run_looks", "decisive", "adjusted_p"]

#: Seeds at the first look of the default design: the fewest that a t or Page test decides
#: on here (a single rank test needs 6 for alpha / 2; :meth:`SequentialDesign.fit` says so).
FIRST_LOOK = 5

#: The first look of a claim whose test is a one-sample test of a mean (a Threshold or Slope
#: of a mean, TOST about a value): the skewness-aware t-test is calibrated on skewed data
#: only from 10 seeds on (:func:`atomcheck.stats.one_sample_test`; lognormal sigma=1 at 5
#: seeds: 0.085 at alpha = 0.05), so no look comes before (the claim says which it is).
MEAN_FIRST_LOOK = 10

#: "front" spending: the first look's share of alpha, and each middle look's.
FIRST_SHARE = 0.5
MIDDLE_SHARE = 0.05

#: Alpha-spending functions by name: cumulative share of alpha spent at information t.
SPENDING: dict[str, Callable[[float], float]] = {
    # Alpha in proportion to the seeds seen: early looks can reach the rank tests' floor.
    "linear": lambda t: t,
    # Lan–DeMets Pocock-type: front-loaded.
    "pocock": lambda t: math.log1p((math.e - 1.0) * t),
    # Lan–DeMets O'Brien–Fleming-type (one-sided, relative to alpha = 0.05): keeps almost
    # all of alpha for the last look.
    "obrien-fleming": lambda t: (2.0 * float(norm.sf(norm.isf(0.025) / math.sqrt(t))) / 0.05
                                 if t > 0 else 0.0),
}

#: Every spending a design accepts: "front" (the default: a share per look, module
#: docstring) and the functions of :data:`SPENDING`.
SPENDINGS = ("front", *SPENDING)


@dataclass(frozen=True)
class Look:
    """One look of a sequential design.

    Attributes
    ----------
    index : int
        1-based position among the looks.
    n_seeds : int
        Seeds seen at this look (all earlier looks' seeds and more).
    alpha : float
        The significance level this look decides at.
    spent : float
        Alpha spent by this look and the earlier ones.
    """

    index: int
    n_seeds: int
    alpha: float
    spent: float


@dataclass(frozen=True)
class LookResult:
    """What one look found: its verdict word and (unadjusted) p-values."""

    look: Look
    verdict: str
    p_value: float | None
    p_opposite: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready entry of the report's ``sequential.looks`` list."""
        def num(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(x) else float(x)
        return {"look": self.look.index, "n_seeds": self.look.n_seeds,
                "alpha": self.look.alpha, "verdict": self.verdict,
                "p_value": num(self.p_value), "p_opposite": num(self.p_opposite)}


@dataclass(frozen=True)
class SequentialDesign:
    """Looks from ``min_seeds`` to ``max_seeds`` seeds, alpha spent across them.

    Parameters
    ----------
    min_seeds, max_seeds : int
        Seeds at the first and at the last look (``2 <= min_seeds <= max_seeds``).
    looks : int or None
        None (the default rule): a look at ``min_seeds``, at ``ceil(max_seeds / 2)`` when
        that lies strictly between, and at ``max_seeds``. An integer: that many looks,
        evenly spaced (fewer when the range holds fewer distinct counts).
    spending : {"front", "linear", "pocock", "obrien-fleming"}
        How alpha is spread over the looks: "front" gives the first look ``alpha / 2``,
        each middle look ``alpha / 20`` and the last the rest; the others are the
        cumulative functions of information in :data:`SPENDING`.
    counts : tuple of int
        Seed counts fixed by :meth:`fit` (empty: from the rule above).
    first_alpha : float or None
        The first look's level when :meth:`fit` matched it to the test's floor; what it
        does not spend goes to the last look.
    notes : tuple of str
        What :meth:`fit` changed, for the claim's message.

    Examples
    --------
    >>> d = SequentialDesign(5, 10)
    >>> [(k.n_seeds, round(k.alpha, 4)) for k in d.schedule(0.05)]
    [(5, 0.025), (10, 0.025)]
    >>> [(k.n_seeds, round(k.alpha, 4)) for k in SequentialDesign(5, 20).schedule(0.05)]
    [(5, 0.025), (10, 0.0025), (20, 0.0225)]
    >>> [k.n_seeds for k in SequentialDesign(4, 10, looks=3).schedule(0.05)]
    [4, 7, 10]
    """

    min_seeds: int
    max_seeds: int
    looks: int | None = None
    spending: str = "front"
    counts: tuple[int, ...] = ()
    first_alpha: float | None = None
    notes: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        for name in ("min_seeds", "max_seeds"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidClaim(f"sequential {name}={value!r} must be an integer.")
        if self.looks is not None and (not isinstance(self.looks, int)
                                       or isinstance(self.looks, bool)):
            raise InvalidClaim(f"sequential looks={self.looks!r} must be an integer or None "
                               "(the default rule).")
        if self.min_seeds < 2:
            raise InvalidClaim(f"sequential minimum {self.min_seeds} is too few: a look needs "
                               ">= 2 paired seeds; use e.g. 5:20 (MIN:MAX).")
        if self.max_seeds < self.min_seeds:
            raise InvalidClaim(f"sequential maximum {self.max_seeds} is below the minimum "
                               f"{self.min_seeds}; give MIN:MAX with MIN <= MAX, e.g. "
                               f"{self.max_seeds}:{self.min_seeds}.")
        if self.looks is not None and self.looks < 1:
            raise InvalidClaim(f"sequential looks={self.looks} must be >= 1 (1 is the fixed "
                               "design; 2 or 3 are usual).")
        if self.spending not in SPENDINGS:
            raise InvalidClaim(f"sequential spending={self.spending!r} is not known; choose one "
                               f"of {', '.join(SPENDINGS)}.")

    def seed_counts(self) -> list[int]:
        """Seeds at each look (module docstring for the default rule), distinct, ascending."""
        if self.counts:
            return list(self.counts)
        low, high = self.min_seeds, self.max_seeds
        if self.looks == 1 or low == high:
            return [high]
        if self.looks is None:
            half = math.ceil(high / 2)
            return [low, *([half] if low < half < high else []), high]
        step = (high - low) / (self.looks - 1)
        return sorted({round(low + k * step) for k in range(self.looks)})

    def schedule(self, alpha: float) -> list[Look]:
        """The looks, each with the alpha it spends (they sum to ``alpha``)."""
        counts = self.seed_counts()
        shares = self._shares(counts)
        if self.first_alpha is not None and len(counts) > 1:
            shares[0] = min(shares[0], self.first_alpha / alpha)
        shares[-1] = 1.0 - sum(shares[:-1])  # the last look spends what is left
        looks, spent = [], 0.0
        for k, (n, share) in enumerate(zip(counts, shares), start=1):
            spent = alpha if k == len(counts) else spent + alpha * share
            looks.append(Look(k, n, round(alpha * share, 12), spent))
        return looks

    def _shares(self, counts: list[int]) -> list[float]:
        """Each look's share of alpha before the last look takes the rest."""
        if len(counts) == 1:
            return [1.0]
        if self.spending == "front":
            middle = min(MIDDLE_SHARE, (1.0 - FIRST_SHARE) / (len(counts) - 1))
            return [FIRST_SHARE] + [middle] * (len(counts) - 2) + [0.0]
        spend = SPENDING[self.spending]
        cumulative = [min(1.0, spend(n / self.max_seeds)) for n in counts[:-1]]
        return [b - a for a, b in zip([0.0, *cumulative], cumulative)] + [0.0]

    def first_look_at_least(self, n_seeds: int, why: str) -> SequentialDesign:
        """The design with no look before ``n_seeds`` (``why``: for the notes).

        >>> SequentialDesign(5, 30).first_look_at_least(10, "t").seed_counts()
        [10, 15, 30]
        >>> SequentialDesign(5, 10).first_look_at_least(10, "t").seed_counts()
        [10]
        """
        if self.min_seeds >= n_seeds:
            return self
        low = min(n_seeds, self.max_seeds)
        return replace(self, min_seeds=low, counts=(),
                       notes=(*self.notes, f"sequential: first look at {low} seeds: {why}"))

    def fit(self, check: Callable[[int, float], None], alpha: float) -> SequentialDesign:
        """The design fitted to the claim's test (module docstring).

        ``check(n, alpha_k)`` raises :class:`InvalidClaim` where a test at ``n`` seeds can
        never give p < ``alpha_k`` (a rank test's floor is ``m * 0.5**n``). The first look
        moves up until its test can reach its alpha; middle looks that cannot are dropped;
        when the first look's alpha is below twice its floor it spends just the floor. When
        no look before the last can decide, or the last cannot at what is left, the design
        is the fixed one (one look at ``max_seeds``). The notes say what changed.
        """
        floor = _Floor(check)
        counts = self.seed_counts()
        notes: list[str] = []

        def design(**changes: Any) -> SequentialDesign:
            return replace(self, **{"counts": tuple(counts), "first_alpha": None, **changes})

        start = counts[0]
        while len(counts) > 1 and floor(counts[0]) >= design().schedule(alpha)[0].alpha:
            counts[0] += 1
            if counts[0] >= counts[1]:
                counts.pop(0)
        if len(counts) > 1 and counts[0] != start:
            notes.append(f"first look raised from {start} to {counts[0]} seeds, the fewest at "
                         "which its test can reach its alpha")
        k = 1
        while k < len(counts) - 1:
            look = design().schedule(alpha)[k]
            if floor(look.n_seeds) >= look.alpha:
                notes.append(f"look at {look.n_seeds} seeds dropped: its test cannot reach "
                             f"alpha={look.alpha:.3g}")
                counts.pop(k)
            else:
                k += 1
        fitted = design()
        if len(counts) > 1:
            first = fitted.schedule(alpha)[0]
            # a hair above the floor, so that rounding in a p-value of exactly the floor
            # (0.5**6 from scipy) still decides
            best = floor.level(first.n_seeds) * (1 + 1e-6)
            if 0 < best < first.alpha and first.alpha < 2 * floor(first.n_seeds):
                fitted = design(first_alpha=best)
                notes.append(f"first look spends {best:.3g}, the most its test can use at "
                             f"{first.n_seeds} seeds; the rest goes to the last look")
            last = fitted.schedule(alpha)[-1]
            if floor(last.n_seeds) >= last.alpha:
                counts = [self.max_seeds]
                fitted = design()
                notes = [f"no look before {self.max_seeds} seeds leaves the last look an "
                         "alpha its test can reach: one look (the fixed design)"]
        if len(counts) == 1:
            check(self.max_seeds, alpha)  # the fixed design's own error, if any
            if not notes and len(self.seed_counts()) > 1:
                notes = [f"no look before {self.max_seeds} seeds can reach its alpha: one "
                         "look (the fixed design)"]
        return replace(fitted, notes=(*self.notes, *(f"sequential: {n}" for n in notes)))

    def describe(self, alpha: float = 0.05) -> str:
        """One line: the looks, their alphas and the spending."""
        looks = ", ".join(f"{k.n_seeds} (alpha {k.alpha:.3g})" for k in self.schedule(alpha))
        return f"looks at {looks} seeds; {self.spending} spending, Bonferroni across looks"


class _Floor:
    """A test's floor at ``n`` seeds from its ``check``: the smallest level it can reach."""

    def __init__(self, check: Callable[[int, float], None]) -> None:
        self.check = check
        self.memo: dict[int, float] = {}

    def passes(self, n: int, level: float) -> bool:
        try:
            self.check(n, level)
        except InvalidClaim:
            return False
        return True

    def level(self, n: int) -> float:
        """The smallest level (to 1e-9 relative) at which ``check(n, level)`` passes; 0 for
        a test without a floor, inf for one that never passes below 1."""
        if n not in self.memo:
            if self.passes(n, 1e-12):
                self.memo[n] = 0.0
            elif not self.passes(n, 0.999999):
                self.memo[n] = math.inf
            else:  # bisection in log space: the level passes above the floor, not at it
                low, high = math.log(1e-12), math.log(0.999999)
                while high - low > 1e-9:
                    mid = (low + high) / 2
                    low, high = (low, mid) if self.passes(n, math.exp(mid)) else (mid, high)
                self.memo[n] = math.exp(high)
        return self.memo[n]

    def __call__(self, n: int) -> float:
        """The floor itself: just below :meth:`level` (a look needs p < alpha)."""
        value = self.level(n)
        return value / (1 + 2e-9) if 0 < value < math.inf else value


class _HasVerdict(Protocol):
    @property
    def verdict(self) -> str: ...

    @property
    def p_value(self) -> float: ...

    @property
    def p_opposite(self) -> float: ...


V = TypeVar("V", bound=_HasVerdict)


def decisive(verdict: Any) -> bool:
    """Whether more seeds could no longer change the verdict's word: anything but
    inconclusive — except a claim refuted under some open setting while another setting is
    not (yet) refuted, which more seeds could still make conditional.

    >>> from types import SimpleNamespace as V
    >>> decisive(V(verdict="refuted", settings=[]))
    True
    >>> decisive(V(verdict="refuted", settings=[V(verdict=V(verdict="refuted")),
    ...                                         V(verdict=V(verdict="inconclusive"))]))
    False
    """
    if verdict.verdict == "inconclusive":
        return False
    settings = getattr(verdict, "settings", None) or []
    if verdict.verdict == "refuted" and settings:
        return all(s.verdict.verdict == "refuted" for s in settings)
    return True


def run_looks(looks: Sequence[Look], evaluate: Callable[[Look], V],
              stop: Callable[[V], bool] = decisive) -> tuple[V, Look, list[LookResult]]:
    """Evaluate look after look; stop at the first decisive verdict (:func:`decisive`).

    Returns the last verdict, the look it came from, and every look's result.

    Examples
    --------
    >>> from types import SimpleNamespace as V
    >>> looks = SequentialDesign(5, 10).schedule(0.05)
    >>> final, look, seen = run_looks(looks, lambda k: V(verdict="supported", p_value=0.01,
    ...                                                 p_opposite=1.0))
    >>> look.n_seeds, len(seen)
    (5, 1)
    """
    if not looks:
        raise InvalidClaim("a sequential design needs at least one look.")
    seen: list[LookResult] = []
    for look in looks:
        verdict = evaluate(look)
        seen.append(LookResult(look, verdict.verdict, verdict.p_value, verdict.p_opposite))
        if stop(verdict):
            break
    return verdict, look, seen


def adjusted_p(p: float, alpha: float, look_alpha: float) -> float:
    """A look's p-value on the claim's scale: ``min(1, p · alpha / alpha_k)``, so that
    ``p < alpha_k`` reads ``adjusted < alpha``.

    >>> adjusted_p(0.01, 0.05, 0.025)
    0.02
    """
    if p is None or not math.isfinite(p):
        return p
    return min(1.0, p * alpha / look_alpha)


def parse_sequential(value: Any, n_seeds: int, *, looks: int | None = None,
                     default_range: tuple[int, int] | None = None,
                     where: str = "sequential") -> SequentialDesign | None:
    """A claim's design from its ``sequential=`` value (None: off).

    ``True`` is the default design over the claim's seeds (module docstring; first look at
    :data:`FIRST_LOOK` seeds) or over ``default_range`` when the run gave one;
    ``(min, max)`` or ``(min, max, looks)`` fixes the looks; ``False`` or None is off.
    ``looks`` (the run's ``--atomcheck-sequential-looks``) spaces that many looks evenly.

    >>> parse_sequential(True, 10).seed_counts()
    [5, 10]
    >>> parse_sequential(True, 30).seed_counts()
    [5, 15, 30]
    >>> parse_sequential((4, 12, 3), 10).seed_counts()
    [4, 8, 12]
    """
    if value is None or value is False:
        return None
    if value is True:
        low, high = default_range or (min(FIRST_LOOK, n_seeds), n_seeds)
        return SequentialDesign(max(2, min(low, high)), max(2, high), looks=looks)
    if isinstance(value, (tuple, list)) and len(value) in (2, 3) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        try:
            return SequentialDesign(value[0], value[1],
                                    looks=value[2] if len(value) == 3 else looks)
        except InvalidClaim as exc:
            raise InvalidClaim(f"{where}={tuple(value)!r}: {exc}") from None
    raise InvalidClaim(f"{where}={value!r} must be True, False, (min, max) or (min, max, "
                       "looks), e.g. sequential=(5, 20).")
