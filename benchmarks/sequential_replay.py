"""Replaying sequential designs on a fixed-seed run of the catalog.

As a pytest plugin (``-p sequential_replay`` with ``benchmarks/`` on ``PYTHONPATH`` and
``ATOMCHECK_REPLAY_OUT=path.jsonl``) it records, for every claim of a fixed-seed run, what
each prefix of its seeds says: after a claim's :meth:`Claim.expect` has trained all its
seeds (the fixed design), it re-reads the first ``n`` seeds for every ``n`` from 2 to the
claim's count, under every open setting, and writes one JSON line per claim: per ``n`` and
setting, each member's three p-values ``(p, q, m)`` as the verdict layer computes them
(claimed direction; refutation after Holm; margin/floor after Holm) or the setting's
error; and per ``n`` the floor of the claim's test (the smallest alpha ``check_seeds``
accepts). Nothing here changes the run's own verdicts: the replay reads ``claim.samples``
afterwards, with the effect CIs skipped.

Offline (:func:`load`, :func:`replay`), a look's verdict at any alpha follows from those
p-values exactly as in ``verdict._member_verdict``, ``Expectation._assemble`` and
``robust.combine`` (:func:`verdict_at`; the benchmark checks it against the run's own
verdict for every claim), so any design — the default one fitted by the real
``SequentialDesign.fit``, or one spending all of alpha at every look, as a ceiling — can be
replayed on the catalog without training again. Seed ``s`` draws the same data and weights
whatever batch it is trained in, so a prefix is what a sequential run sees. Exception:
where diverged runs are placed against the claim, the placement depends on alpha (those
claims are flagged ``diverged``).
"""

from __future__ import annotations

import glob
import json
import math
import os
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np

from atomcheck import verdict as verdict_module
from atomcheck.claim import FIXED_SEEDS_ATTR, Claim
from atomcheck.errors import InvalidClaim
from atomcheck.robust import SETTING_FACTOR, parse_settings
from atomcheck.sequential import MEAN_FIRST_LOOK, SequentialDesign, parse_sequential
from atomcheck.stats import holm
from atomcheck.sweep import Samples
from atomcheck.verdict import Expectation

_OUT = os.environ.get("ATOMCHECK_REPLAY_OUT")


def _prefix(samples: Samples, n: int) -> Samples:
    keep = set(samples.seeds[:n])
    return Samples(samples.factors, list(samples.configs), list(samples.seeds[:n]),
                   [r for r in samples.runs if r.seed in keep], engine=samples.engine)


def _num(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


class _Capture:
    """While active: every ``_member_verdict`` call's (p, q, m) is kept, CIs are skipped and
    ``_assemble`` returns the members only (the words are recomputed offline)."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, float, float]] = []
        self.saved: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> _Capture:
        original = verdict_module._member_verdict

        def member_verdict(p: float, q: float, m: float, alpha: float) -> str:
            self.calls.append((p, q, m))
            return original(p, q, m, alpha)

        def assemble(exp: Any, samples: Any, members: Any, alpha: float, configs: Any,
                     omitted: int = 0) -> Any:
            return SimpleNamespace(verdict="members", members=members)

        self._patch(verdict_module, "_member_verdict", member_verdict)
        self._patch(Expectation, "_assemble", assemble)
        for cls in _subclasses(Expectation):
            if "_test" in cls.__dict__:
                inner = cls.__dict__["_test"]
                self._patch(cls, "_test", (lambda f: lambda s, data, ci=True: f(s, data, False))
                            (inner))
        return self

    def _patch(self, owner: Any, name: str, value: Any) -> None:
        self.saved.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, value)

    def __exit__(self, *exc: Any) -> None:
        for owner, name, value in reversed(self.saved):
            setattr(owner, name, value)


def _subclasses(cls: type) -> list[type]:
    out = [cls]
    for sub in cls.__subclasses__():
        out += _subclasses(sub)
    return out


def _floor(expectations: list[Expectation], n: int, levels: Any) -> float:
    """The smallest alpha at which every setting's ``check_seeds(n, alpha)`` passes (0 for
    tests without a floor), by bisection in log space: what ``SequentialDesign.fit`` reads."""
    def passes(alpha: float) -> bool:
        try:
            for e in expectations:
                e.check_seeds(n, alpha, levels=levels)
        except Exception:
            return False
        return True

    if passes(1e-12):
        return 0.0
    if not passes(1.0):
        return 1.0
    low, high = math.log(1e-12), 0.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (low, mid) if passes(math.exp(mid)) else (mid, high)
    return math.exp(high)


def _record(claim: Claim, expectation: Expectation, final: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": claim.claim_id, "variant": claim.variant, "kind": expectation.kind,
        "expected": claim.expected, "negative_control": claim.negative_control,
        "n_seeds": claim.n_seeds, "verdict": final.verdict, "alpha": claim.alpha,
        "n_configs": len(claim.samples.configs) if claim.samples is not None else 0,
        "diverged": bool(getattr(final, "diverged", 0)),
        # a training function that trains all seeds at once keeps the fixed design
        "sequential": False if getattr(claim._fn, FIXED_SEEDS_ATTR, None) else claim.sequential}
    if expectation.kind == "exact" or claim.samples is None:
        return entry
    settings = parse_settings(claim.robust_over, fn=claim._fn, levels=claim._levels,
                              expectation=expectation, claim_id=claim.claim_id)
    expectations = [claim._under(expectation, s) for s in settings]
    _, names = claim._levels_with_settings(settings)
    entry["settings"] = [s.name for s in settings]
    entry["floor"] = {n: _floor(expectations, n, claim._levels)
                      for n in range(2, len(claim.samples.seeds) + 1)}
    looks: dict[int, list[Any]] = {}
    start = time.process_time()
    with _Capture() as capture:
        for n in range(2, len(claim.samples.seeds) + 1):
            table_n = _prefix(claim.samples, n)
            per_setting: list[Any] = []
            for expect_s, name in zip(expectations, names):
                table = table_n if name is None else table_n.subset(SETTING_FACTOR, name)
                capture.calls.clear()
                try:
                    got = expect_s.evaluate(table, alpha=claim.alpha)
                except Exception as exc:  # a prefix the test cannot read: an error look
                    per_setting.append({"error": f"{type(exc).__name__}: {exc}"[:200]})
                    continue
                if got.verdict != "members":
                    per_setting.append({"error": got.message[:200]})
                else:
                    per_setting.append([[_num(p), _num(q), _num(m)]
                                        for p, q, m in capture.calls])
            looks[n] = per_setting
    entry["looks"] = looks
    entry["replay_cpu_s"] = round(time.process_time() - start, 3)
    return entry


def pytest_configure(config: Any) -> None:
    if not _OUT or getattr(Claim.expect, "_replaying", False):
        return
    original = Claim.expect

    def expect(self: Claim, expectation: Expectation) -> Any:
        final = original(self, expectation)
        try:
            entry = _record(self, expectation, final)
        except Exception as exc:  # never let the replay change the run's outcome
            entry = {"id": self.claim_id, "variant": self.variant,
                     "replay_error": f"{type(exc).__name__}: {exc}"}
        with open(_OUT, "a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")
        return final

    expect._replaying = True  # type: ignore[attr-defined]
    Claim.expect = expect  # type: ignore[method-assign]


# -- offline replay ------------------------------------------------------------------------

Looks = list[tuple[int, float]]


def load(pattern: str) -> list[dict[str, Any]]:
    """Every claim recorded in the JSON-lines files matching ``pattern``."""
    out = []
    for path in sorted(glob.glob(pattern)):
        with open(path, encoding="utf-8") as lines:
            out += [json.loads(line) for line in lines if line.strip()]
    return out


def _member_word(p: float | None, q: float | None, m: float | None, alpha: float) -> str:
    # verdict._member_verdict: the margin first, then the claim, then its refutation
    if m is not None and m < alpha:
        return "refuted"
    if p is not None and p < alpha:
        return "supported"
    return "refuted" if q is not None and q < alpha else "inconclusive"


def _setting(members: Any, alpha: float) -> tuple[str, float, float]:
    """(word, p_value, p_opposite) of one setting, as ``Expectation._assemble`` gives them."""
    if isinstance(members, dict):
        return "error", math.nan, math.nan
    words = [_member_word(p, q, m, alpha) for p, q, m in members]
    ps = [math.nan if p is None else p for p, _, _ in members]
    qs = [min(math.inf if q is None else q, math.inf if m is None else m)
          for _, q, m in members]
    word = ("refuted" if "refuted" in words else
            "supported" if all(w == "supported" for w in words) else "inconclusive")
    return word, (max(ps) if all(map(math.isfinite, ps)) else math.nan), min(qs)


def verdict_at(entry: dict[str, Any], n: int, alpha: float) -> tuple[str, list[str]]:
    """The claim's verdict word at ``n`` seeds and level ``alpha``, and each setting's
    (``robust.combine`` over the settings)."""
    settings = [_setting(s, alpha) for s in entry["looks"][str(n)]]
    words = [s[0] for s in settings]
    if len(settings) == 1 or "error" in words:
        return ("error" if "error" in words else words[0]), words
    p_sup = np.array([s[1] for s in settings])
    p_ref = np.array([s[2] for s in settings])
    if np.all(np.isfinite(p_sup)) and np.all(np.isfinite(p_ref)):
        refuted = holm(p_ref.tolist()) < alpha
        supported = (holm(p_sup.tolist()) < alpha) & ~refuted
    else:
        refuted = np.array([w == "refuted" for w in words])
        supported = np.array([w == "supported" for w in words])
    word = ("supported" if all(w == "supported" for w in words) else
            "conditional" if refuted.any() and supported.any() else
            "refuted" if refuted.any() else "inconclusive")
    return word, words


def decisive(word: str, settings: list[str]) -> bool:
    """``sequential.decisive`` on words."""
    if word == "inconclusive":
        return False
    if word == "refuted" and len(settings) > 1:
        return all(w == "refuted" for w in settings)
    return True


def run(entry: dict[str, Any], looks: Looks) -> tuple[str, int, int]:
    """(final verdict, seeds used, look index) of one claim under ``looks``."""
    for k, (n, alpha) in enumerate(looks, start=1):
        word, settings = verdict_at(entry, n, alpha)
        if decisive(word, settings) or k == len(looks):
            return word, n, k
    raise AssertionError("no looks")


def check_from_floor(entry: dict[str, Any]) -> Callable[[int, float], None]:
    """A ``check_seeds`` stand-in from the recorded floors."""
    floors = entry["floor"]

    def check(n: int, alpha: float) -> None:
        if floors[str(n)] > 0 and floors[str(n)] >= alpha * (1 - 1e-12):
            raise InvalidClaim(f"floor {floors[str(n)]:.3g} at {n} seeds")
    return check


def one_sample_mean(entry: dict[str, Any]) -> bool:
    """Whether the claim's ``first_look()`` is :data:`MEAN_FIRST_LOOK`, from the record: a
    threshold or slope whose test has no floor is a test of a mean (a median's sign test
    has one)."""
    return entry["kind"] in ("threshold", "slope") and entry["floor"][str(entry["n_seeds"])] == 0


def default_design(entry: dict[str, Any]) -> Looks:
    """The default design's looks for this claim, fitted as a claim fits them."""
    design = parse_sequential(True, entry["n_seeds"])
    assert design is not None
    if one_sample_mean(entry):
        design = design.first_look_at_least(MEAN_FIRST_LOOK, "mean")
    fitted = design.fit(check_from_floor(entry), entry["alpha"])
    return [(k.n_seeds, k.alpha) for k in fitted.schedule(entry["alpha"])]


def previous_design(entry: dict[str, Any]) -> Looks:
    """The design before this one: looks at half the seeds and all, linear spending."""
    n = entry["n_seeds"]
    design = SequentialDesign(max(2, math.ceil(n / 2)), n, looks=2, spending="linear")
    fitted = design.fit(check_from_floor(entry), entry["alpha"])
    return [(k.n_seeds, k.alpha) for k in fitted.schedule(entry["alpha"])]


def unsplit(counts: Callable[[int], list[int]]) -> Callable[[dict[str, Any]], Looks]:
    """A ceiling, not a design: every look at the full alpha (its false-positive rate is
    above alpha), looks at ``counts(n)`` and the claim's count."""
    def looks(entry: dict[str, Any]) -> Looks:
        n = entry["n_seeds"]
        return [(c, entry["alpha"]) for c in sorted({c for c in counts(n) if 2 <= c < n})] + [
            (n, entry["alpha"])]
    return looks


def full_alpha(design: Callable[[dict[str, Any]], Looks]) -> Callable[[dict[str, Any]], Looks]:
    """A ceiling, not a design: ``design``'s looks, each at the full alpha — what no valid
    boundary on those looks (exact sign-flip, group-sequential, ...) can beat."""
    def looks(entry: dict[str, Any]) -> Looks:
        return [(n, entry["alpha"]) for n, _ in design(entry)]
    return looks


def verdict_keeping_bound(entries: list[dict[str, Any]]) -> float:
    """The share of seeds saved by an oracle, not a design: each claim stops at the first
    seed count, from the default design's first look on, where its fixed verdict already
    holds at the full alpha, and an inconclusive claim stops at that first look (a perfect
    futility stop). A valid design spends less than alpha at every look before the last
    and cannot see the future, so no design that keeps every verdict saves more."""
    fixed_seeds = saved = 0
    for e in entries:
        n = e["n_seeds"]
        fixed_seeds += n
        if "looks" not in e or e.get("sequential") is False:
            continue
        first = default_design(e)[0][0]
        word = verdict_at(e, n, e["alpha"])[0]
        stop = first if word == "inconclusive" else next(
            (m for m in range(first, n + 1)
             if verdict_at(e, m, e["alpha"])[0] == word
             and decisive(*verdict_at(e, m, e["alpha"]))), n)
        saved += n - stop
    return saved / max(1, fixed_seeds)


def replay(entries: list[dict[str, Any]], design: Callable[[dict[str, Any]], Looks]
           ) -> dict[str, Any]:
    """Seeds and runs (seeds × configurations trained, open settings included) of
    ``design`` against the fixed design, and the verdicts it changes.

    Exact claims (and claims run with ``sequential=False``) keep the fixed design.
    """
    claims = {}
    totals = {"fixed_seeds": 0, "seeds": 0, "fixed_runs": 0, "runs": 0}
    for e in entries:
        n = e["n_seeds"]
        per_seed = max(1, e["n_configs"])  # configurations trained per seed, settings included
        label = e["id"] + (f"[{e['variant']}]" if e.get("variant") else "")
        if "looks" not in e or e.get("sequential") is False:
            word, used, look, n_looks = e["verdict"], n, 1, 1
            fixed = word
        else:
            fixed = verdict_at(e, n, e["alpha"])[0]
            looks = design(e)
            word, used, look = run(e, looks)
            n_looks = len(looks)
        claims[label] = {"fixed": fixed, "verdict": word, "seeds": used, "of": n,
                         "look": look, "looks": n_looks}
        totals["fixed_seeds"] += n
        totals["seeds"] += used
        totals["fixed_runs"] += n * per_seed
        totals["runs"] += used * per_seed
    return {**totals, "claims": claims,
            "seeds_saved_share": 1 - totals["seeds"] / max(1, totals["fixed_seeds"]),
            "runs_saved_share": 1 - totals["runs"] / max(1, totals["fixed_runs"]),
            "changed": {k: (c["fixed"], c["verdict"]) for k, c in claims.items()
                        if c["fixed"] != c["verdict"]}}
