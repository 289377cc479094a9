"""Sequential seeds: a claim looks at its evidence after a few seeds and adds more only
while the verdict is inconclusive, with alpha spent across the looks.

A :class:`SequentialDesign` fixes, before any training, the seed counts of the looks
(``min_seeds`` … ``max_seeds``, evenly spaced) and how much of alpha each look may spend
(an alpha-spending function of the information fraction ``t = n_k / max_seeds``). Look
``k`` decides at ``alpha_k = alpha(t_k) − alpha(t_{k−1})``; a claim stops at the first look
whose verdict is decisive (supported, refuted, conditional — or an error; a claim refuted
under one open setting goes on while another setting is undecided, since more seeds could
still make it conditional).

Why the false-positive rate stays ≤ alpha: the claim is wrongly supported only if some look
wrongly supports it, and look ``k``'s verdict is a level-``alpha_k`` test, so by the union
bound the rate is ≤ Σ alpha_k = alpha. The bound needs nothing about the test but its level
at each look: it holds for the rank tests (Wilcoxon, Page, sign) as for t-tests, for
families (intersection–union: each member at ``alpha_k``), equivalence (TOST at ``alpha_k``)
and open settings (:mod:`atomcheck.robust` at ``alpha_k``); the same argument bounds wrong
refutations. Group-sequential boundaries from the joint normal law of the looks would be
sharper for t-tests, but they are not valid for the rank tests this package uses by default,
so this module spends alpha the Bonferroni way (tests/unit/test_sequential_calibration.py
measures the rates).

The claim's reported p-values are adjusted for the looks, ``min(1, p · alpha / alpha_k)``,
so that "supported" still reads "p < alpha" in reports and suite-wide adjustments.

Pure: numpy/scipy only (``pure-statistics`` contract).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from scipy.stats import norm

from atomcheck.errors import InvalidClaim

__all__ = ["Look", "LookResult", "SequentialDesign", "SPENDING", "parse_sequential",
           "run_looks", "decisive", "adjusted_p"]

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
    """Looks at ``min_seeds`` … ``max_seeds`` seeds (``looks`` of them, evenly spaced).

    Parameters
    ----------
    min_seeds, max_seeds : int
        Seeds at the first and at the last look (``2 <= min_seeds <= max_seeds``).
    looks : int
        How many looks; fewer when the range holds fewer distinct counts.
    spending : {"linear", "pocock", "obrien-fleming"}
        How alpha is spread over the looks (:data:`SPENDING`).
    notes : tuple of str
        What :meth:`fit` changed, for the claim's message.

    Examples
    --------
    >>> d = SequentialDesign(5, 10)
    >>> [(k.n_seeds, round(k.alpha, 4)) for k in d.schedule(0.05)]
    [(5, 0.025), (10, 0.025)]
    >>> [k.n_seeds for k in SequentialDesign(4, 10, looks=3).schedule(0.05)]
    [4, 7, 10]
    """

    min_seeds: int
    max_seeds: int
    looks: int = 2
    spending: str = "linear"
    notes: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        for name in ("min_seeds", "max_seeds", "looks"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidClaim(f"sequential {name}={value!r} must be an integer.")
        if self.min_seeds < 2:
            raise InvalidClaim(f"sequential minimum {self.min_seeds} is too few: a look needs "
                               ">= 2 paired seeds; use e.g. 5:20 (MIN:MAX).")
        if self.max_seeds < self.min_seeds:
            raise InvalidClaim(f"sequential maximum {self.max_seeds} is below the minimum "
                               f"{self.min_seeds}; give MIN:MAX with MIN <= MAX, e.g. "
                               f"{self.max_seeds}:{self.min_seeds}.")
        if self.looks < 1:
            raise InvalidClaim(f"sequential looks={self.looks} must be >= 1 (1 is the fixed "
                               "design; 2 or 3 are usual).")
        if self.spending not in SPENDING:
            raise InvalidClaim(f"sequential spending={self.spending!r} is not known; choose one "
                               f"of {', '.join(SPENDING)}.")

    def seed_counts(self) -> list[int]:
        """Seeds at each look: evenly spaced from the minimum to the maximum, distinct."""
        if self.looks == 1 or self.min_seeds == self.max_seeds:
            return [self.max_seeds]
        step = (self.max_seeds - self.min_seeds) / (self.looks - 1)
        counts = [round(self.min_seeds + k * step) for k in range(self.looks)]
        return sorted(set(counts))

    def schedule(self, alpha: float) -> list[Look]:
        """The looks, each with the alpha it spends (they sum to ``alpha``)."""
        spend = SPENDING[self.spending]
        counts = self.seed_counts()
        looks, before = [], 0.0
        for k, n in enumerate(counts, start=1):
            spent = alpha if n == self.max_seeds else alpha * min(1.0, spend(n / self.max_seeds))
            looks.append(Look(k, n, round(spent - before, 12), spent))
            before = spent
        return looks

    def fit(self, check: Callable[[int, float], None], alpha: float) -> SequentialDesign:
        """The design with its first look raised until every look can reach its alpha.

        ``check(n, alpha_k)`` raises :class:`InvalidClaim` where a test at ``n`` seeds can
        never give p < ``alpha_k`` (a rank test's floor is 0.5**n). When no earlier look can,
        the design is the fixed one (one look at ``max_seeds``); the note says so.
        """
        design = self
        while True:
            try:
                for look in design.schedule(alpha):
                    check(look.n_seeds, look.alpha)
            except InvalidClaim:
                if design.min_seeds >= design.max_seeds:
                    raise
                design = replace(design, min_seeds=design.min_seeds + 1)
                continue
            if design.min_seeds != self.min_seeds:
                looks = design.schedule(alpha)
                what = (f"raised to {design.min_seeds}, the fewest at which every look can "
                        "reach its alpha" if len(looks) > 1 else
                        f"no look before {design.max_seeds} seeds can reach its alpha: one "
                        "look (the fixed design)")
                design = replace(design, notes=(*self.notes, f"sequential minimum "
                                                f"{self.min_seeds} {what}"))
            return design

    def describe(self) -> str:
        """One line: the looks and the spending."""
        return (f"looks at {self.seed_counts()} seeds, {self.spending} alpha spending "
                "(Bonferroni across looks)")


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


def parse_sequential(value: Any, n_seeds: int, *, looks: int = 2,
                     default_range: tuple[int, int] | None = None,
                     where: str = "sequential") -> SequentialDesign | None:
    """A claim's design from its ``sequential=`` value (None: off).

    ``True`` looks from half the claim's seeds to all of them (or ``default_range`` when
    the run gave one); ``(min, max)`` or ``(min, max, looks)`` fixes them; ``False`` or
    None is off.

    >>> parse_sequential(True, 10).seed_counts()
    [5, 10]
    >>> parse_sequential((4, 12, 3), 10).seed_counts()
    [4, 8, 12]
    """
    if value is None or value is False:
        return None
    if value is True:
        low, high = default_range or (max(2, math.ceil(n_seeds / 2)), n_seeds)
        return SequentialDesign(min(low, high), high, looks=looks)
    if isinstance(value, (tuple, list)) and len(value) in (2, 3) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        try:
            return SequentialDesign(value[0], value[1],
                                    looks=value[2] if len(value) == 3 else looks)
        except InvalidClaim as exc:
            raise InvalidClaim(f"{where}={tuple(value)!r}: {exc}") from None
    raise InvalidClaim(f"{where}={value!r} must be True, False, (min, max) or (min, max, "
                       "looks), e.g. sequential=(5, 20).")
