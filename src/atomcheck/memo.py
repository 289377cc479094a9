"""Shared work inside a training function that the result cache must not see."""

from __future__ import annotations

__all__ = ["Memo"]


class Memo(dict):  # type: ignore[type-arg]
    """A dict for work that the runs of a sweep share, invisible to fingerprints.

    A training function that does one expensive step for all its runs (pre-training once
    per seed, starting one process group for every seed) keeps the step's result in a
    ``Memo``: whether it is filled depends on which runs were trained and which were read
    from the cache, so its contents must not change the function's fingerprint. What the
    step computes must follow from the code and data the function's fingerprint already
    covers.

    >>> from atomcheck.fingerprint import fingerprint
    >>> memo = Memo()
    >>> def f(seed, _memo=memo):
    ...     return _memo.setdefault(seed, seed * 2)
    >>> before = fingerprint(f)
    >>> f(3)
    6
    >>> fingerprint(f) == before
    True
    """

    def __atomcheck_fingerprint__(self) -> str:
        return "atomcheck.Memo"
