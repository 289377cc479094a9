"""Per-(seed, purpose) random streams.

Seed *s* must draw the same data and the same initial weights at every level of a sweep
(common random numbers), and the streams for different purposes must be independent.
Each stream is a child of ``numpy.random.SeedSequence`` keyed by the user's seed and a
stable hash of the purpose string, so no code ever touches global random state.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["seed_sequence", "rng", "derive_seed", "SOURCES", "HELD_SEED", "stream_seed"]


def _purpose_words(purpose: str) -> list[int]:
    # crc32 is stable across processes and Python versions, unlike hash().
    return [zlib.crc32(purpose.encode("utf-8")), len(purpose)]


def seed_sequence(seed: int, purpose: str) -> np.random.SeedSequence:
    """Return the ``SeedSequence`` for ``(seed, purpose)``.

    Examples
    --------
    >>> bool(seed_sequence(3, "data").generate_state(1)[0] == seed_sequence(3, "data").generate_state(1)[0])
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
