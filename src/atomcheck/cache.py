"""A content-addressed cache of training results: one JSON file per (configuration, seed).

The key hashes everything a run's numbers depend on: the training function's
:func:`~atomcheck.fingerprint.fingerprint` (its code and the code it reaches), the
configuration it was called with, the seed, the device, and the versions of atomcheck,
torch, NumPy and scikit-learn. Adding seeds to a claim trains only the new seeds;
re-running an unchanged claim trains nothing.

Entries are JSON only (never pickle: nothing read from a shared cache directory can run
code), written to a temporary file in the same directory and renamed into place, so a
reader sees a whole entry or none, and parallel workers writing the same key cannot
tear it. Each entry carries its own key and a SHA-256 of its payload; one that does not
parse, does not match, or is truncated is reported, deleted and recomputed.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atomcheck.errors import InvalidClaim

__all__ = ["CacheStats", "ResultCache", "check_cache_dir", "library_versions"]

log = logging.getLogger("atomcheck.cache")

#: Bump when the entry layout changes: old entries then simply miss.
FORMAT = 1


def library_versions() -> dict[str, str]:
    """Versions of the libraries a result depends on (read without importing them)."""
    out = {}
    for name in ("atomcheck", "torch", "numpy", "scikit-learn"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def check_cache_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` if needed and prove it writable; raise :class:`InvalidClaim` if not.

    Examples
    --------
    >>> import tempfile
    >>> check_cache_dir(tempfile.mkdtemp()).is_dir()
    True
    """
    root = Path(path)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".probe-"):
            pass
    except OSError as exc:
        why = exc.strerror or exc
        raise InvalidClaim(
            f"--atomcheck-cache-dir={str(path)!r} is not a writable directory ({why}). "
            "Point it at a directory you can write, or pass --atomcheck-no-cache."
        ) from None
    return root


@dataclass
class CacheStats:
    """What one cache saw: entries read, written, and found corrupt (their paths); and
    why a training function's results could not be cached (``uncacheable``: messages)."""

    hits: int = 0
    writes: int = 0
    corrupt: list[str] = field(default_factory=list)
    uncacheable: list[str] = field(default_factory=list)


class ResultCache:
    """Results by content key under ``root`` (``root/ab/abcdef….json``).

    Examples
    --------
    >>> import tempfile
    >>> cache = ResultCache(tempfile.mkdtemp())
    >>> key = cache.key("fn-hash", {"lr": 0.1}, seed=3, device="cpu")
    >>> cache.get(key) is None
    True
    >>> cache.put(key, {"metrics": {"acc": 0.9}})
    >>> cache.get(key)
    {'metrics': {'acc': 0.9}}
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.stats = CacheStats()
        self._versions = library_versions()

    def key(self, fn_fingerprint: str, config_fingerprint: Any, *, seed: int,
            device: str) -> str:
        """The entry's key: SHA-256 over function, configuration, seed, device, versions."""
        material = json.dumps({"format": FORMAT, "fn": fn_fingerprint,
                               "config": config_fingerprint, "seed": int(seed),
                               "device": device, "versions": self._versions},
                              sort_keys=True, default=repr)
        return hashlib.sha256(material.encode()).hexdigest()

    def path(self, key: str) -> Path:
        """Where the entry for ``key`` lives."""
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The payload stored under ``key``; None when absent or corrupt (then removed)."""
        path = self.path(key)
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
        except OSError as exc:
            return self._corrupt(path, f"unreadable: {exc}")
        try:
            entry = json.loads(text)
            payload = entry["payload"]
            intact = (entry.get("format") == FORMAT and entry.get("key") == key
                      and entry.get("sha256") == _digest(payload))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return self._corrupt(path, f"not a cache entry ({type(exc).__name__})")
        if not intact:
            return self._corrupt(path, "checksum or key mismatch")
        self.stats.hits += 1
        return payload  # type: ignore[no-any-return]

    def put(self, key: str, payload: Mapping[str, Any]) -> None:
        """Store ``payload`` (JSON-able) under ``key``, atomically."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"format": FORMAT, "key": key, "sha256": _digest(payload),
                           "payload": payload}, sort_keys=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key[:8]}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self.stats.writes += 1

    def clear(self) -> None:
        """Remove every entry (the directory itself stays)."""
        if self.root.is_dir():
            for child in self.root.iterdir():
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        child.unlink()

    def _corrupt(self, path: Path, why: str) -> Any:  # None: the caller recomputes
        log.warning("atomcheck cache: %s is corrupt (%s); recomputing it", path, why)
        self.stats.corrupt.append(str(path))
        with contextlib.suppress(OSError):
            path.unlink()
        return None

    def __repr__(self) -> str:
        return f"ResultCache({str(self.root)!r})"


def _digest(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
