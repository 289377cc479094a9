"""Per-(seed, purpose) random streams.

Seed *s* must draw the same data and the same initial weights at every level of a sweep
(common random numbers), and the streams for different purposes must be independent.
Each stream is a child of ``numpy.random.SeedSequence`` keyed by the user's seed and a
stable hash of the purpose string, so no code ever touches global random state.

The streams a training run draws from are its sources of randomness (:data:`SOURCES`);
``hold`` gives every seed the same stream for some of them (:func:`stream_seed`), and
:func:`source_variances` breaks a metric's variance across seeds down by source.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from atomcheck.errors import InvalidClaim

__all__ = ["seed_sequence", "rng", "derive_seed", "SOURCES", "HELD_SEED", "stream_seed",
           "check_hold", "vary_only", "source_variances"]


def _purpose_words(purpose: str) -> list[int]:
    # crc32 is stable across processes and Python versions, unlike hash().
    return [zlib.crc32(purpose.encode("utf-8")), len(purpose)]


def seed_sequence(seed: int, purpose: str) -> np.random.SeedSequence:
    """Return the ``SeedSequence`` for ``(seed, purpose)``.

    Examples
    --------
    >>> bool(seed_sequence(3, "data").generate_state(1)[0]
    ...      == seed_sequence(3, "data").generate_state(1)[0])
    True
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer.")
    return np.random.SeedSequence([int(seed), *_purpose_words(purpose)])


def rng(seed: int, purpose: str) -> np.random.Generator:
    """Return a fresh numpy ``Generator`` for ``(seed, purpose)``.

    Examples
    --------
    >>> float(rng(0, "x").random()) == float(rng(0, "x").random())
    True
    """
    return np.random.default_rng(seed_sequence(seed, purpose))


def derive_seed(seed: int, purpose: str) -> int:
    """Return a 63-bit integer seed for ``(seed, purpose)``, e.g. for ``torch.Generator``.

    Examples
    --------
    >>> derive_seed(1, "init") == derive_seed(1, "init") != derive_seed(1, "shuffle")
    True
    """
    state = seed_sequence(seed, purpose).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)


#: The sources of randomness a training run draws from, each its own stream of the seed:
#: the data sample, the initial weights, the order of the data, the dropout masks.
SOURCES = ("data", "init", "order", "dropout")

#: The seed every held source uses: a held source is the same for every seed of a sweep.
HELD_SEED = 0


def stream_seed(seed: int, source: str, hold: tuple[str, ...] | frozenset[str] = ()) -> int:
    """The seed that ``source``'s stream draws from: ``seed``, or :data:`HELD_SEED` when the
    source is held fixed (so that only the other sources vary from seed to seed).

    Examples
    --------
    >>> stream_seed(7, "init"), stream_seed(7, "init", hold=("init",))
    (7, 0)
    """
    if source not in SOURCES:
        raise ValueError(f"source={source!r} must be one of {SOURCES}")
    return HELD_SEED if source in hold else int(seed)


def check_hold(hold: Any, *, sources: Sequence[str] = SOURCES, where: str = "hold",
               reasons: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """``hold`` as a tuple of source names in :data:`SOURCES` order (a single name is a
    one-source hold); raise :class:`~atomcheck.errors.InvalidClaim` for anything else.

    ``sources`` are the sources the training function draws from; ``reasons`` maps a
    source it does not draw from to why (and what to hold instead), for the message.

    Examples
    --------
    >>> check_hold("data"), check_hold(["order", "init"])
    (('data',), ('init', 'order'))
    """
    names = (hold,) if isinstance(hold, str) else hold
    if not isinstance(names, (tuple, list, frozenset, set)) or not all(
            isinstance(n, str) for n in names):
        raise InvalidClaim(f"{where}={hold!r} must name sources of randomness among "
                           f"{tuple(sources)}. Pass e.g. {where}=('data',) to give every seed "
                           "the same data sample.")
    for name in names:
        if name in sources:
            continue
        why = (reasons or {}).get(name)
        if why:
            raise InvalidClaim(f"{where}={hold!r}: {why}")
        raise InvalidClaim(f"{where}={hold!r}: {name!r} is not a source of randomness here; "
                           f"name some of {tuple(sources)}.")
    return tuple(s for s in SOURCES if s in set(names))


def vary_only(source: str, sources: Sequence[str] = SOURCES) -> tuple[str, ...]:
    """The ``hold`` under which ``source`` alone varies from seed to seed: every other
    source of ``sources`` (those the training function draws from) is held.

    Examples
    --------
    >>> vary_only("init"), vary_only("init", sources=("data", "init"))
    (('data', 'order', 'dropout'), ('data',))
    """
    if source not in sources:
        raise ValueError(f"source={source!r} must be one of {tuple(sources)}")
    return tuple(s for s in SOURCES if s != source and s in sources)


def source_variances(values: Mapping[str, Iterable[float]]) -> dict[str, dict[str, float | int]]:
    """Variance across seeds of one metric, by source, and each one's share of the total.

    ``values`` maps each source to the metric's per-seed values with only that source
    varying, and ``"all"`` to the values with every source varying (the total). Each entry
    gets ``variance`` (sample variance, ``ddof=1``, over the finite values: a diverged run
    is NaN and left out), ``n`` (the values used) and ``share`` (the variance over the
    total's; NaN when the total is zero or undefined). Shares need not sum to 1: sources
    interact (a different sample changes which initial weights are good).

    Examples
    --------
    >>> out = source_variances({"init": [1.0, 3.0], "all": [0.0, 4.0]})
    >>> out["init"], out["all"]["share"]
    ({'variance': 2.0, 'share': 0.25, 'n': 2}, 1.0)
    """
    if "all" not in values:
        raise ValueError("source_variances needs the values with every source varying "
                         "under 'all'")
    out: dict[str, dict[str, float | int]] = {}
    for name, column in values.items():
        finite = [float(v) for v in column if math.isfinite(float(v))]
        variance = float(np.var(finite, ddof=1)) if len(finite) >= 2 else math.nan
        out[name] = {"variance": variance, "n": len(finite)}
    total = float(out["all"]["variance"])
    for entry in out.values():
        variance = float(entry["variance"])
        entry["share"] = variance / total if total > 0 and math.isfinite(variance) else math.nan
    return {name: {"variance": e["variance"], "share": e["share"], "n": e["n"]}
            for name, e in out.items()}
