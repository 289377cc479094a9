"""Optional native fast path of the batched engine: whole SGD epochs in one C call.

For the common recipe (dense MLP, relu/leaky_relu/tanh/sigmoid/identity, cross-entropy or
mse, plain SGD or (Nesterov) momentum, no dropout, normalisation, residual blocks,
shared layers, penalties, clipping or gradient-norm records, on the CPU) the engine's
per-step torch loop is dominated by dispatcher overhead. ``_native/mlp_kernel.c`` runs
every step of an epoch for every row instead, with the same shuffled data, initial weights
and divergence semantics, so results match the torch path to rounding error.

The kernel is compiled lazily at first use with ``$ATOMCHECK_CC`` (default ``gcc``) into
``$XDG_CACHE_HOME/atomcheck`` (default ``~/.cache/atomcheck``), keyed by a hash of the
source, compiler, flags and CPU, and loaded with :mod:`ctypes`. Without a compiler, on a
failed build, on another device or for an unsupported spec the engine keeps its torch path
(the reason is logged at DEBUG on ``atomcheck.engine``). ``ATOMCHECK_NATIVE=0`` turns the
fast path off.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from atomcheck.models import epoch_lr

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from atomcheck.engine.optimizers import Optimizer
    from atomcheck.models import MLPSpec

__all__ = ["SOURCE", "EpochRun", "epoch_runner", "load", "native_reason", "reset"]

log = logging.getLogger("atomcheck.engine")

SOURCE = Path(__file__).resolve().parent / "_native" / "mlp_kernel.c"
KERNEL_VERSION = 1
ACTIVATIONS = {"identity": 0, "relu": 1, "leaky_relu": 2, "tanh": 3, "sigmoid": 4}
LOSSES = {"cross_entropy": 0, "mse": 1}
OPTIMIZERS = {"sgd": 0, "momentum": 1, "nesterov": 2}
# Tried in order until one compiles. Never -ffast-math: NaN checks need IEEE semantics.
FLAG_SETS = (("-O3", "-march=native"), ("-O3", "-mavx2", "-mfma"), ("-O3",))
COMMON_FLAGS = ("-std=c99", "-ffp-contract=fast", "-fPIC", "-shared")
COMPILE_TIMEOUT_S = 120

_lock = threading.Lock()
_loaded: dict[tuple[str, str], Any] = {}  # (compiler, cache dir) -> CDLL, or None if failed
compile_count = 0  # compilations done by this process (tests check the cache is reused)


class EpochRun(Protocol):
    """What the kernel reads from the run whose epoch it trains (a
    :class:`~atomcheck.engine.run.BatchedRun`): its alive rows' specs, the prepared epoch
    ``ep`` (shuffled inputs with a ones column, labels, targets), the augmented weights
    ``WA`` and the optimiser (momentum buffers), all updated in place."""

    @property
    def specs(self) -> list[MLPSpec]: ...
    @property
    def base(self) -> MLPSpec: ...
    @property
    def dev(self) -> torch.device: ...
    @property
    def dt(self) -> torch.dtype: ...
    @property
    def autograd(self) -> bool: ...
    @property
    def dropout(self) -> bool: ...
    @property
    def want_norms(self) -> bool: ...
    @property
    def plan(self) -> list[int]: ...
    @property
    def alive(self) -> list[int]: ...
    @property
    def n(self) -> int: ...
    @property
    def bs(self) -> int: ...
    @property
    def n_out(self) -> int: ...
    @property
    def ep(self) -> dict[str, Any]: ...
    @property
    def WA(self) -> list[torch.Tensor]: ...
    @property
    def opt(self) -> Optimizer: ...


def native_reason(specs: Sequence[MLPSpec], device: Any) -> str | None:
    """Return None when the native kernel can train every spec on ``device``, else why not.

    Parameters
    ----------
    specs : sequence of MLPSpec
        The rows of one batch (they share widths, dtype, batch size and epochs).
    device : str or torch.device

    Returns
    -------
    str or None

    Examples
    --------
    >>> from atomcheck.models import MLPSpec
    >>> native_reason([MLPSpec(widths=(4,), dropout=0.5)], "cpu")
    'dropout=0.5 is not supported by the native kernel'
    >>> native_reason([MLPSpec(widths=(4,))], "cuda")
    "device 'cuda' is not the CPU"
    """
    if os.environ.get("ATOMCHECK_NATIVE", "1").strip() == "0":
        return "ATOMCHECK_NATIVE=0"
    if str(device) != "cpu":
        return f"device {str(device)!r} is not the CPU"
    if not specs:
        return "no rows"
    for spec in specs:
        checks = (("activation", spec.activation, spec.activation in ACTIVATIONS),
                  ("loss", spec.loss, spec.loss in LOSSES),
                  ("optimizer", spec.optimizer, spec.optimizer in OPTIMIZERS),
                  ("dtype", spec.dtype, spec.dtype in ("float32", "float64")),
                  ("norm", spec.norm, spec.norm is None),
                  ("dropout", spec.dropout, not spec.dropout),
                  ("residual", spec.residual, not spec.residual),
                  ("shared_hidden", spec.shared_hidden, not spec.shared_hidden),
                  ("l1", spec.l1, not spec.l1), ("l2", spec.l2, not spec.l2),
                  ("weight_decay", spec.weight_decay, not spec.weight_decay),
                  ("clip_norm", spec.clip_norm, spec.clip_norm is None),
                  ("grad_norms", spec.grad_norms, not spec.grad_norms))
        for name, value, ok in checks:
            if not ok:
                return f"{name}={value!r} is not supported by the native kernel"
    if len({(s.widths, s.dtype) for s in specs}) > 1:
        return "rows differ in widths or dtype"
    return None


def cache_dir() -> Path:
    """Where compiled kernels are kept: ``$XDG_CACHE_HOME/atomcheck`` or ``~/.cache/atomcheck``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "atomcheck"


def _cpu_tag() -> str:
    """The CPU feature flags (``-march=native`` output depends on them)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            flags = next((line for line in f if line.startswith(("flags", "Features"))), "")
    except OSError:
        flags = ""
    return f"{platform.machine()} {flags.strip()}"


def _compile(cc: str, directory: Path) -> Path:
    """Return the path of a compiled kernel in ``directory``, building it if needed.

    Raises
    ------
    RuntimeError
        When no flag set compiles (the message carries the compiler's output).
    """
    global compile_count
    source = SOURCE.read_bytes()
    errors = []
    for flags in FLAG_SETS:
        args = (*flags, *COMMON_FLAGS)
        key = hashlib.sha256(b"\0".join([source, cc.encode(), " ".join(args).encode(),
                                         _cpu_tag().encode()])).hexdigest()[:24]
        target = directory / f"mlp_kernel-{key}.so"
        if target.exists():
            return target
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".so", dir=directory)
        os.close(fd)
        try:
            proc = subprocess.run([cc, *args, "-o", tmp, str(SOURCE), "-lm"], check=False,
                                  capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
            if proc.returncode == 0:
                os.replace(tmp, target)  # atomic: parallel workers never see a partial file
                compile_count += 1
                return target
            errors.append(f"{' '.join(flags)}: {proc.stderr.strip()[-500:]}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise RuntimeError("; ".join(errors))


def _bind(path: Path) -> Any:
    lib = ctypes.CDLL(str(path))
    if lib.atomcheck_kernel_version() != KERNEL_VERSION:
        raise RuntimeError(f"{path} is kernel version {lib.atomcheck_kernel_version()}, "
                           f"expected {KERNEL_VERSION}")
    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    for name in ("atomcheck_train_epoch_f32", "atomcheck_train_epoch_f64"):
        fn = getattr(lib, name)
        fn.argtypes = [i64, i64, i64, i64, *([ptr] * 12)]
        fn.restype = ctypes.c_int
    return lib


def load() -> Any | None:
    """The loaded kernel library (compiling it on first use), or None if unavailable.

    Failures are logged at DEBUG on ``atomcheck.engine`` and remembered for the process
    (see :func:`reset`).
    """
    cc = os.environ.get("ATOMCHECK_CC", "gcc")
    directory = cache_dir()
    key = (cc, str(directory))
    with _lock:
        if key not in _loaded:
            try:
                try:
                    path = _compile(cc, directory)
                except OSError:  # cache not writable: a private temporary directory
                    fallback = Path(tempfile.gettempdir()) / f"atomcheck-{os.getuid()}"
                    path = _compile(cc, fallback)
                _loaded[key] = _bind(path)
            except (OSError, RuntimeError, subprocess.SubprocessError, AttributeError) as exc:
                log.debug("native kernel unavailable (compiler %r): %s; using the torch path",
                          cc, exc)
                _loaded[key] = None
        return _loaded[key]


def reset() -> None:
    """Forget loaded kernels and remembered failures (the on-disk cache is kept)."""
    with _lock:
        _loaded.clear()


def epoch_runner(run: EpochRun) -> Callable[[int], list[int]] | None:
    """Return ``train_epoch(epoch) -> rows to retire`` for ``run``, or None (logged why).

    The returned function trains every alive row of ``run`` through all steps of the
    prepared epoch (``run.ep``), updating ``run.WA`` (and momentum buffers) in place. A row
    whose minibatch loss is not finite is left as it was before that step and returned.
    """
    reason = native_reason(run.specs, run.dev)
    if reason is None and (run.autograd or run.dropout or run.want_norms
                           or run.plan != list(range(len(run.plan)))):
        reason = "the run needs autograd, dropout, records or shared layers"
    if reason is not None:
        log.debug("native kernel not used: %s", reason)
        return None
    lib = load()
    if lib is None:
        return None
    return lambda epoch: _train_epoch(lib, run, epoch)


def _check(t: Any, shape: tuple[int, ...], dtype: Any, name: str) -> int:
    """Assert what the kernel assumes about a tensor and return its data pointer."""
    assert t.device.type == "cpu", f"{name} is on {t.device}"
    assert t.dtype == dtype, f"{name} is {t.dtype}, expected {dtype}"
    assert tuple(t.shape) == shape, f"{name} has shape {tuple(t.shape)}, expected {shape}"
    assert t.is_contiguous(), f"{name} is not contiguous"
    return int(t.data_ptr())


def _train_epoch(lib: Any, run: EpochRun, epoch: int) -> list[int]:
    import torch

    rows, n, specs = len(run.alive), run.n, run.specs
    dims = [int(run.ep["x"].shape[2]) - 1, *run.base.widths, run.n_out]
    n_layers = len(dims) - 1
    x_ptr = _check(run.ep["x"], (rows, n, dims[0] + 1), run.dt, "x")
    w_ptrs = [_check(run.WA[u], (rows, dims[u] + 1, dims[u + 1]), run.dt, f"weights[{u}]")
              for u in range(n_layers)]
    assert len(run.WA) == n_layers and len(specs) == rows
    losses = [LOSSES[s.loss] for s in specs]
    opts = [OPTIMIZERS[s.optimizer] for s in specs]
    lab = tgt = bufs = None
    lab_ptr = tgt_ptr = 0
    b_ptrs: list[int] = []
    if LOSSES["cross_entropy"] in losses:
        lab = run.ep["lab"]
        lab_ptr = _check(lab, (rows, n), torch.int64, "labels")
        assert int(lab.min()) >= 0 and int(lab.max()) < dims[-1], "label out of range"
    if LOSSES["mse"] in losses:
        tgt = run.ep["tgt"]
        tgt_ptr = _check(tgt, (rows, n, dims[-1]), run.dt, "targets")
    if any(o != OPTIMIZERS["sgd"] for o in opts):
        bufs = run.opt.state["buf"]
        b_ptrs = [_check(b, tuple(run.WA[u].shape), run.dt, f"momentum[{u}]")
                  for u, b in enumerate(bufs)]
        assert len(bufs) == n_layers
    dims_a = np.asarray(dims, dtype=np.int64)
    act_a = np.asarray([ACTIVATIONS[s.activation] for s in specs], dtype=np.int32)
    loss_a, opt_a = np.asarray(losses, dtype=np.int32), np.asarray(opts, dtype=np.int32)
    lr_a = np.asarray([epoch_lr(s, epoch) for s in specs], dtype=np.float64)
    mom_a = np.asarray([s.momentum for s in specs], dtype=np.float64)
    diverged = np.full(rows, -1, dtype=np.int64)
    w_arr = (ctypes.c_void_p * n_layers)(*w_ptrs)
    b_arr = (ctypes.c_void_p * n_layers)(*b_ptrs) if bufs is not None else None
    fn = (lib.atomcheck_train_epoch_f64 if run.dt == torch.float64
          else lib.atomcheck_train_epoch_f32)
    rc = fn(rows, n, run.bs, n_layers, dims_a.ctypes.data, x_ptr, lab_ptr or None,
            tgt_ptr or None, ctypes.addressof(w_arr), ctypes.addressof(b_arr) if b_arr else None,
            act_a.ctypes.data, loss_a.ctypes.data, opt_a.ctypes.data, lr_a.ctypes.data,
            mom_a.ctypes.data, diverged.ctypes.data)
    if rc != 0:
        raise RuntimeError(f"native kernel failed with code {rc} (a bug in atomcheck); set "
                           "ATOMCHECK_NATIVE=0 to use the torch path")
    return [int(r) for r in np.flatnonzero(diverged >= 0)]
