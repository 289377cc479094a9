"""Executors run units of work; results are identical whatever executor ran them.

A unit is one claim's (setting, configuration batch, seed batch): a picklable object
that a module-level function trains (``atomcheck.sweep.train_unit``). An executor maps
that function over units and yields the results in input order as they arrive, so the
caller can store each result before the next one is done (a run killed midway keeps
what finished). Three executors implement the protocol:

- ``serial`` runs every unit in this process, one after another;
- ``processes`` runs them in a local pool of worker processes (forked, one torch
  thread each);
- ``dask`` runs them on a Dask distributed cluster: a ``LocalCluster`` started on the
  loopback address when no address is given, or an existing scheduler.

The same units give the same numbers on each: the batched engine's rows do not depend
on which other rows share their batch, and every unit's randomness comes from its seeds.
Work crosses process boundaries with cloudpickle, with the user's own modules (claim
files) pickled by value, since a worker process cannot import a test module by name.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

from atomcheck.config import EXECUTOR_NAMES
from atomcheck.errors import InvalidClaim

__all__ = ["Executor", "SerialExecutor", "ProcessExecutor", "DaskExecutor", "get_executor",
           "check_executor", "check_scheduler", "session_executor", "close_session_executors",
           "EXECUTORS"]

log = logging.getLogger("atomcheck.executors")

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Maps ``fn`` over ``items``, yielding the results in input order."""

    name: str
    #: How many units can run at once (how finely a sweep is worth splitting).
    workers: int

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """Yield ``fn(item)`` for each item, in order, however the work is spread."""
        ...


class SerialExecutor:
    """Runs every unit in this process, one after another.

    Examples
    --------
    >>> list(SerialExecutor().map(abs, [-1, 2]))
    [1, 2]
    """

    name = "serial"
    workers = 1

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """Run ``fn`` on each item in order."""
        for item in items:
            yield fn(item)


def _register_user_modules() -> None:
    """Pickle the user's modules (claim files, conftest helpers) by value."""
    import cloudpickle

    from atomcheck.fingerprint import is_user_module

    for name, module in list(sys.modules.items()):
        if module is not None and is_user_module(name):
            try:
                cloudpickle.register_pickle_by_value(module)
            except ValueError:  # pragma: no cover - not a module cloudpickle accepts
                continue


def _dumps_all(fn: Callable[[T], R], items: Sequence[T]) -> list[bytes]:
    """``(fn, item)`` pickled for each item; the user's modules are registered once."""
    import cloudpickle

    _register_user_modules()
    try:
        return [cloudpickle.dumps((fn, item)) for item in items]
    except Exception as exc:  # cloudpickle raises PicklingError, TypeError, ...
        raise InvalidClaim(f"its training function cannot be sent to another process "
                           f"({type(exc).__name__}: {exc}); run it with "
                           "--atomcheck-executor=serial, or keep what the function holds "
                           "picklable (no open files, locks or pytest fixtures).") from exc


def run_pickled(blob: bytes) -> Any:
    """Worker side: unpickle ``(fn, item)`` (made by :func:`_dumps_all`) and return
    ``fn(item)``."""
    import pickle

    from atomcheck.models import configure_torch

    configure_torch(threads=1)
    fn, item = pickle.loads(blob)  # noqa: S301 - our own bytes, made by _dumps_all in this run
    return fn(item)


def _require_cloudpickle(executor: str) -> None:
    try:
        import cloudpickle  # noqa: F401
    except ImportError:
        raise InvalidClaim(
            f"--atomcheck-executor={executor} needs cloudpickle (it comes with Dask): "
            "pip install 'atomcheck[dask]'.") from None


class ProcessExecutor:
    """Runs units in a pool of local worker processes, one torch thread each.

    The pool is forked per sweep (after the claim's module is imported), and torn down
    when the sweep ends or is interrupted.
    """

    name = "processes"

    def __init__(self, workers: int | None = None) -> None:
        _require_cloudpickle(self.name)
        self.workers = workers or os.cpu_count() or 1

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """Yield ``fn(item)`` in order; a single item runs here, without a pool."""
        if len(items) <= 1:
            yield from (fn(item) for item in items)
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        blobs = _dumps_all(fn, items)
        context = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
        pool = ProcessPoolExecutor(max_workers=min(self.workers, len(items)),
                                   mp_context=context)
        try:
            futures = [pool.submit(run_pickled, blob) for blob in blobs]
            for future in futures:
                yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def __repr__(self) -> str:
        return f"ProcessExecutor(workers={self.workers})"


class DaskExecutor:
    """Runs units on Dask distributed: a given scheduler, or a ``LocalCluster``.

    Parameters
    ----------
    address : str, optional
        ``tcp://host:port`` of a running scheduler; by default a ``LocalCluster`` of
        ``workers`` single-threaded worker processes on 127.0.0.1 starts at first use.
    workers : int, optional
        Workers of the local cluster (default: the CPU count).
    allowed_failures : int
        How many workers a task may kill before it ends as an error (Dask's
        ``KilledWorker``) instead of being retried forever.
    """

    name = "dask"

    def __init__(self, address: str | None = None, workers: int | None = None,
                 allowed_failures: int = 2) -> None:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise InvalidClaim(
                "--atomcheck-executor=dask needs Dask distributed: pip install "
                "'atomcheck[dask]' (or pick --atomcheck-executor=processes).") from None
        self.address = address
        self.workers = workers or os.cpu_count() or 1
        self.allowed_failures = allowed_failures
        self._client: Any = None
        self._cluster: Any = None

    def client(self) -> Any:
        """The connected ``distributed.Client`` (connecting or starting a cluster once)."""
        if self._client is None:
            import dask
            from distributed import Client, LocalCluster

            dask.config.set({"distributed.scheduler.allowed-failures": self.allowed_failures})
            if self.address:
                try:
                    self._client = Client(self.address, timeout="10s")
                except OSError as exc:
                    raise InvalidClaim(
                        f"--atomcheck-dask-address={self.address}: no Dask scheduler answers "
                        f"there ({exc}). Start one (dask scheduler) or drop the option to use "
                        "a local cluster.") from None
            else:
                self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                             processes=True, host="127.0.0.1",
                                             dashboard_address=None)
                self._client = Client(self._cluster)
        return self._client

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """Submit every item, then yield the results in order as they arrive."""
        if not items:
            return
        client = self.client()
        futures = client.map(run_pickled, _dumps_all(fn, items), pure=False)
        try:
            for future in futures:
                yield future.result()
        finally:
            client.cancel(futures)

    def close(self) -> None:
        """Disconnect, and stop the local cluster if this executor started it."""
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None

    def __repr__(self) -> str:
        return f"DaskExecutor(address={self.address!r}, workers={self.workers})"


EXECUTORS: dict[str, Callable[..., Any]] = {"serial": SerialExecutor,
                                             "processes": ProcessExecutor,
                                             "dask": DaskExecutor}
"""Executor factories by name."""


_SESSION: dict[tuple[Any, ...], Any] = {}


def session_executor(name: str, **options: Any) -> Executor:
    """One executor per name and options for the whole session (a Dask cluster starts
    once, not once per claim); :func:`close_session_executors` shuts them down."""
    key = (name, tuple(sorted(options.items())))
    if key not in _SESSION:
        _SESSION[key] = get_executor(name, **options)
    return _SESSION[key]  # type: ignore[no-any-return]


def close_session_executors() -> None:
    """Close every executor :func:`session_executor` made (Dask clusters included)."""
    while _SESSION:
        _, executor = _SESSION.popitem()
        close = getattr(executor, "close", None)
        if close is not None:
            close()


def check_scheduler(address: str, timeout: float = 5.0) -> str:
    """Return ``address`` if a TCP connection to it opens, else raise :class:`InvalidClaim`.

    Checked at start-up, so an unreachable scheduler fails before any training.
    """
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or not port:
        raise InvalidClaim(f"--atomcheck-dask-address={address!r} is not an address like "
                           "tcp://127.0.0.1:8786.")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise InvalidClaim(f"--atomcheck-dask-address={address}: no Dask scheduler answers "
                           f"there ({exc.strerror or exc}). Start one (`dask scheduler`), fix "
                           "the address, or drop the option to start a local cluster.") from None
    return address


def check_executor(name: str) -> str:
    """Return ``name`` if it names an executor, else raise :class:`InvalidClaim`.

    Examples
    --------
    >>> check_executor("processes")
    'processes'
    """
    if name not in EXECUTOR_NAMES:
        raise InvalidClaim(f"--atomcheck-executor={name!r} is not known; choose one of "
                           f"{', '.join(EXECUTOR_NAMES)}.")
    return name


def get_executor(name: str, **options: Any) -> Executor:
    """Return a new executor by name (``options`` go to its constructor).

    Raises
    ------
    InvalidClaim
        When ``name`` is unknown; the message lists the known executors.
    """
    check_executor(name)
    factory = EXECUTORS[name]
    if name == "serial":
        return factory()  # type: ignore[no-any-return]
    return factory(**options)  # type: ignore[no-any-return]
