"""Fingerprints of training functions: what a cached result depends on, as one hash.

A cached run is valid only while the code that produced it is unchanged, and that code
is more than the function's own text: a helper it calls, a constant it reads, a
``functools.partial`` around it, the dataclass spec inside a Task. :func:`fingerprint`
walks all of that and hashes it:

- the user's code (anything outside the standard library and installed packages) by its
  source text, following the globals, closures and defaults each function refers to and
  the modules it reads attributes from (whole-file source), so editing a helper
  invalidates every function that calls it;
- atomcheck's own code by the source of the package's modules that produce results (one
  hash per process: everything but the analysis and reporting side, :data:`ANALYSIS`), so
  any change to the engine invalidates everything while a change to a report does not;
- other installed code by module, name and the distribution's version;
- data by value: numbers, strings, containers, dataclasses and plain objects by their
  fields, NumPy arrays (and tensors) by their bytes.

An object may say what identifies its results by defining ``__atomcheck_fingerprint__()``
(the way Dask's ``__dask_tokenize__`` does): its return value is described instead of the
object's fields. :class:`atomcheck.memo.Memo` uses it: a dict for work a sweep's runs share (a
pre-trained net, one process group for every seed), whose contents never enter a
fingerprint, since they depend on which runs happened to train rather than on the code.

Something that cannot be described reproducibly (an object whose only text is
``<... at 0x7f...>``) raises :class:`Unfingerprintable`; the caller then runs without
the cache rather than risk a stale hit.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import importlib.metadata
import inspect
import json
import os
import sys
import sysconfig
import types
from pathlib import Path
from typing import Any

__all__ = ["ANALYSIS", "Unfingerprintable", "fingerprint", "is_user_module", "source_hash",
           "package_source_hash"]

#: atomcheck's modules (and subpackages) that only analyse and report results already
#: computed: their source does not enter the cache key.
ANALYSIS = frozenset({"__main__", "cli", "gate", "plugin", "progress", "report", "robust",
                      "sequential", "shapes", "stats", "verdict"})

_ADDRESS = " at 0x"


class Unfingerprintable(TypeError):
    """An object in the function's reach has no reproducible description."""


@functools.cache
def _library_roots() -> tuple[str, ...]:
    paths = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    return tuple(sorted(os.path.realpath(p) + os.sep for p in paths))


@functools.cache
def package_source_hash() -> str:
    """SHA-256 over the source of the installed atomcheck package's files that produce
    results: every module but those in :data:`ANALYSIS`.

    Examples
    --------
    >>> len(package_source_hash())
    64
    """
    return source_hash(Path(__file__).resolve().parent)


def source_hash(root: Path, skip: frozenset[str] = ANALYSIS) -> str:
    """SHA-256 over the ``.py``/``.c`` files under ``root`` (names and bytes), leaving out
    the top-level modules and subpackages named in ``skip``."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if parts[0].removesuffix(".py") in skip:
            continue
        if path.suffix in (".py", ".c") and path.is_file():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _is_atomcheck(module_name: str) -> bool:
    return module_name == "atomcheck" or module_name.startswith("atomcheck.")


def _is_library(module_name: str) -> bool:
    """Standard library or an installed distribution (site-packages), not user code."""
    if module_name in sys.builtin_module_names or module_name == "builtins":
        return True
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    if path is None:
        return module is not None  # namespace/builtin: nothing to read
    return os.path.realpath(path).startswith(_library_roots())


def is_user_module(module_name: str) -> bool:
    """Whether a loaded module is the user's code: a file outside atomcheck, the standard
    library and installed packages (claim files, their conftest and helpers).

    Examples
    --------
    >>> is_user_module("json"), is_user_module("atomcheck.stats")
    (False, False)
    """
    module = sys.modules.get(module_name)
    return (getattr(module, "__file__", None) is not None and not _is_atomcheck(module_name)
            and not _is_library(module_name))


@functools.cache
def _version(top_level: str) -> str:
    try:
        return importlib.metadata.version(top_level)
    except importlib.metadata.PackageNotFoundError:
        module = sys.modules.get(top_level)
        return str(getattr(module, "__version__", "?"))


def _module_source(name: str) -> str:
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None)
    if path is None or not os.path.exists(path):
        raise Unfingerprintable(f"module {name!r} has no source file to fingerprint")
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class _Walker:
    def __init__(self) -> None:
        self.seen: dict[int, str] = {}

    def describe(self, obj: Any) -> Any:
        if obj is None or isinstance(obj, (bool, int, str)):
            return obj
        if isinstance(obj, float):
            return ["float", repr(obj)]
        if isinstance(obj, bytes):
            return ["bytes", hashlib.sha256(obj).hexdigest()]
        if isinstance(obj, enum.Enum):
            return ["enum", type(obj).__qualname__, obj.name]
        own = getattr(type(obj), "__atomcheck_fingerprint__", None)
        if own is not None:
            return ["own", self._class(type(obj)), self.describe(own(obj))]
        if isinstance(obj, (list, tuple)):
            return [type(obj).__name__, [self.describe(x) for x in obj]]
        if isinstance(obj, dict):
            items = sorted(((repr(k), self.describe(v)) for k, v in obj.items()),
                           key=lambda kv: kv[0])
            return ["dict", items]
        if isinstance(obj, (set, frozenset)):
            return ["set", sorted(repr(self.describe(x)) for x in obj)]
        key = id(obj)
        if key in self.seen:  # recursion (a function calling itself, a cycle of objects)
            return ["ref", self.seen[key]]
        self.seen[key] = f"{type(obj).__qualname__}#{len(self.seen)}"
        return self._describe_object(obj)

    def _describe_object(self, obj: Any) -> Any:
        if isinstance(obj, types.ModuleType):
            return self._module(obj.__name__)
        if isinstance(obj, functools.partial):
            return ["partial", self.describe(obj.func), self.describe(obj.args),
                    self.describe(obj.keywords)]
        if isinstance(obj, types.MethodType):
            return ["method", self.describe(obj.__self__), self.describe(obj.__func__)]
        if isinstance(obj, types.FunctionType):
            return self._function(obj)
        if isinstance(obj, type):
            return self._class(obj)
        if isinstance(obj, (types.BuiltinFunctionType, types.BuiltinMethodType)):
            return ["builtin", getattr(obj, "__module__", None), obj.__qualname__]
        array = _as_array(obj)
        if array is not None:
            return ["array", str(array.dtype), list(array.shape),
                    hashlib.sha256(array.tobytes()).hexdigest()]
        if dataclasses.is_dataclass(obj):
            fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
            return ["dataclass", self._class(type(obj)), self.describe(fields)]
        state = getattr(obj, "__dict__", None)
        if isinstance(state, dict):
            return ["object", self._class(type(obj)), self.describe(dict(state))]
        text = repr(obj)
        if _ADDRESS in text:
            raise Unfingerprintable(f"{text} has no reproducible description")
        return ["repr", type(obj).__qualname__, text]

    def _module(self, name: str) -> Any:
        if _is_atomcheck(name):
            return ["atomcheck", name]
        if _is_library(name):
            return ["library", name, _version(name.partition(".")[0])]
        return ["module", name, _module_source(name)]

    def _function(self, fn: types.FunctionType) -> Any:
        module = fn.__module__ or ""
        if _is_atomcheck(module) or _is_library(module):
            return [*self._module(module), fn.__qualname__]
        return ["function", module, fn.__qualname__, _source(fn),
                self.describe(fn.__defaults__), self.describe(fn.__kwdefaults__),
                [self.describe(c.cell_contents) for c in (fn.__closure__ or ())
                 if _cell_filled(c)],
                self._globals(fn.__code__, fn.__globals__)]

    def _class(self, cls: type) -> Any:
        module = cls.__module__
        if _is_atomcheck(module) or _is_library(module):
            return [*self._module(module), cls.__qualname__]
        refs = []
        for value in vars(cls).values():
            func = getattr(value, "__func__", value)
            if isinstance(func, types.FunctionType):
                refs.append(self._globals(func.__code__, func.__globals__))
        return ["class", module, cls.__qualname__, _source(cls), refs,
                [self.describe(b) for b in cls.__bases__ if b is not object]]

    def _globals(self, code: types.CodeType, namespace: dict[str, Any]) -> Any:
        names = sorted(n for n in _code_names(code) if n in namespace)
        return [[n, self.describe(namespace[n])] for n in names]


def _cell_filled(cell: Any) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _source(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        code = getattr(obj, "__code__", None)
        if code is None:
            raise Unfingerprintable(f"{obj!r} has no source to fingerprint") from None
        return repr((code.co_code, code.co_consts, code.co_names))


def _as_array(obj: Any) -> Any:
    """A NumPy array (or a tensor's values as one), else None; torch is never imported."""
    if type(obj).__module__ == "numpy" and hasattr(obj, "tobytes") and hasattr(obj, "dtype"):
        return obj
    if type(obj).__module__.startswith("torch") and hasattr(obj, "detach"):
        return obj.detach().cpu().numpy()
    return None


def fingerprint(obj: Any) -> str:
    """SHA-256 of ``obj``'s description: code by source and its reach, data by value.

    Raises
    ------
    Unfingerprintable
        When something in reach has no reproducible description.

    Examples
    --------
    >>> fingerprint({"lr": 0.1}) == fingerprint({"lr": 0.1})
    True
    >>> fingerprint({"lr": 0.1}) == fingerprint({"lr": 0.2})
    False
    """
    walker = _Walker()
    described = walker.describe(obj)
    text = json.dumps([described, package_source_hash()], sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()
