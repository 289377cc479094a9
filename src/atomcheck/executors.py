"""Executors run units of work; results are identical whatever executor ran them.

A unit is ``(config, seeds)``: one configuration of a sweep and the seeds to train it
on. An executor maps a picklable function over units and returns results in input order.
Only the serial executor exists so far; others implement the same protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from atomcheck.errors import InvalidClaim

__all__ = ["Executor", "SerialExecutor", "get_executor", "EXECUTORS"]

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Maps ``fn`` over ``items`` and returns the results in order."""

    name: str

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Return ``[fn(item) for item in items]``, however the work is spread."""
        ...


class SerialExecutor:
    """Runs every unit in this process, one after another.

    Examples
    --------
    >>> SerialExecutor().map(abs, [-1, 2])
    [1, 2]
    """

    name = "serial"

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Run ``fn`` on each item in order."""
        return [fn(item) for item in items]


EXECUTORS: dict[str, Callable[[], Any]] = {"serial": SerialExecutor}
"""Executor factories by name."""


def get_executor(name: str) -> Executor:
    """Return a new executor by name.

    Raises
    ------
    InvalidClaim
        When ``name`` is unknown; the message lists the known executors.
    """
    try:
        return EXECUTORS[name]()  # type: ignore[no-any-return]
    except KeyError:
        raise InvalidClaim(
            f"executor={name!r} is not known; choose one of {sorted(EXECUTORS)}."
        ) from None
