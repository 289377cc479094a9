"""Data-parallel training with real ``torch.distributed`` (gloo) processes on this machine.

:func:`train_data_parallel` starts ``world_size`` processes (``_dp_worker.py``, fresh
interpreters that import only torch and numpy), joins them into a
gloo process group on the loopback address, and trains one MLP per seed data-parallel
(all seeds in lockstep, their gradients in one all-reduce per step):
the replicas start from rank 0's weights (broadcast), each step's combined batch is split
into one contiguous shard per rank, each rank computes the mean loss on its shard,
``dist.all_reduce`` sums the gradients and each rank divides by the world size (the mean,
what ``DistributedDataParallel`` does in buckets; DDP itself is not used because building
it imports ~2 s of CPU per rank here), and every rank applies its optimiser step. It returns every
rank's final parameters, and :func:`train_single_process` trains the same model from the
same initial weights on the combined batches in one process, for comparison.

The processes are torn down afterwards (process group destroyed, processes joined or
terminated). The rendezvous port is checked before anything starts: a port that is taken
raises :class:`PortInUse` with what to do.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np

from atomcheck.errors import AtomcheckError
from atomcheck.seeding import derive_seed, rng

__all__ = ["PortInUse", "free_port", "check_port", "make_data", "train_data_parallel",
           "train_single_process"]

HOST = "127.0.0.1"


class PortInUse(AtomcheckError, RuntimeError):
    """The rendezvous port is taken: pass another ``port=``, or ``port=None`` for a free one."""


def free_port(host: str = HOST) -> int:
    """A TCP port on ``host`` that is free now (the OS picks it).

    Examples
    --------
    >>> 0 < free_port() < 65536
    True
    """
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def check_port(port: int, host: str = HOST) -> None:
    """Raise :class:`PortInUse` when ``port`` on ``host`` cannot be bound.

    Examples
    --------
    >>> check_port(free_port())
    """
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            raise PortInUse(
                f"torch.distributed rendezvous port {host}:{port} is taken ({exc.strerror}). "
                "Another process group (or another program) is listening there: pass a "
                "different port=, or port=None to let the OS pick a free one.") from None


def make_data(seed: int, n: int, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """The seed's two-class Gaussian data (means 1 apart per dimension), float64."""
    g = rng(seed, "data parallel data")
    y = g.integers(0, 2, size=n)
    x = g.normal(size=(n, dims)) + y[:, None] * 1.0
    return x, y


def _flat(model: Any) -> np.ndarray:
    return np.concatenate([p.detach().cpu().numpy().ravel() for p in model.parameters()])


def train_single_process(seed: int, *, optimizer: str, steps: int, batch: int, lr: float,
                         dims: int = 8, hidden: int = 16) -> np.ndarray:
    """Train on the combined batches (``batch`` rows per step) in one process: the same
    data, initial weights and optimiser as :func:`train_data_parallel`'s ranks.

    Returns the final parameters, flattened (float64).
    """
    import torch

    from atomcheck.models import configure_torch
    from atomcheck.toolbox._dp_worker import Optimizer, model_for

    configure_torch(1)  # tiny matrices: a second thread only spins (as in the ranks)
    x, y = make_data(seed, steps * batch, dims)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    model = model_for(derive_seed(seed, "data parallel init"), dims, hidden)
    opt = Optimizer(optimizer, list(model.parameters()), lr)
    for step in range(steps):
        rows = slice(step * batch, (step + 1) * batch)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xt[rows]), yt[rows]).backward()
        opt.step()
    return _flat(model)


def train_data_parallel(seeds: Sequence[int], *, optimizer: str | Sequence[str], steps: int,
                        batch: int, lr: float | Sequence[float], dims: int = 8, hidden: int = 16,
                        world_size: int = 2, port: int | None = None, timeout: float = 120.0
                        ) -> list[list[np.ndarray]]:
    """Train one model per seed data-parallel over ``world_size`` gloo processes.

    Parameters
    ----------
    seeds : sequence of int
        One model per seed (data and initial weights from the seed); all of them train in
        lockstep in one process group, one all-reduce per step carrying every model's
        gradients (each model's arithmetic is the same as if it trained alone).
    optimizer : {"sgd", "adam"} or a sequence of them
        One per seed when a sequence (so one process group serves several settings).
    steps, batch : int
        Steps and combined batch size (split evenly across ranks).
    lr : float or a sequence of floats
        Learning rate, or one per seed.
    world_size : int
        Processes (ranks); ``batch`` must be a multiple of it.
    port : int, optional
        Rendezvous port on 127.0.0.1; a free one when None. A taken port raises
        :class:`PortInUse` before any process starts.
    timeout : float
        Seconds to wait for the ranks; they are killed after it.

    Returns
    -------
    list
        ``result[i][r]``: seed ``seeds[i]``'s final parameters on rank ``r`` (float64).
    """
    optimizers = [optimizer] * len(seeds) if isinstance(optimizer, str) else list(optimizer)
    lrs = [lr] * len(seeds) if isinstance(lr, (int, float)) else list(lr)
    if len(optimizers) != len(seeds) or len(lrs) != len(seeds):
        raise ValueError("optimizer and lr must be one value or one per seed.")
    bad = [o for o in optimizers if o not in ("sgd", "adam")]
    if bad:
        raise ValueError(f"optimizer={bad[0]!r} must be 'sgd' or 'adam'.")
    if world_size < 2 or batch % world_size:
        raise ValueError(f"batch={batch} must split evenly over world_size={world_size} >= 2.")
    if port is None:
        port = free_port()
    else:
        check_port(port)
    meta, arrays = [], {}
    for i, (seed, opt, rate) in enumerate(zip(seeds, optimizers, lrs)):
        x, y = make_data(int(seed), steps * batch, dims)
        arrays[f"x{i}"], arrays[f"y{i}"] = x, y
        meta.append({"init_seed": derive_seed(int(seed), "data parallel init"),
                     "optimizer": opt, "steps": steps, "batch": batch, "lr": float(rate),
                     "dims": dims, "hidden": hidden})
    with tempfile.TemporaryDirectory(prefix="atomcheck-dp-") as tmp:
        jobs = os.path.join(tmp, "jobs.npz")
        np.savez(jobs, meta=np.array(json.dumps(meta)), **arrays)  # type: ignore[arg-type]
        outs = [os.path.join(tmp, f"rank{r}.npz") for r in range(world_size)]
        _run_ranks(world_size, port, jobs, outs, timeout)
        params = [np.load(out) for out in outs]
        return [[params[r][f"params{i}"] for r in range(world_size)] for i in range(len(meta))]


def _run_ranks(world_size: int, port: int, jobs: str, outs: list[str], timeout: float) -> None:
    """Start every rank, wait for all, and tear them down whatever happens."""
    # A script run in isolated mode (-I): a rank imports torch and numpy only.
    script = os.path.join(os.path.dirname(__file__), "_dp_worker.py")
    procs = [subprocess.Popen([sys.executable, "-I", script, str(r), str(world_size), str(port),
                               jobs, outs[r]], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
             for r in range(world_size)]
    try:
        for r, proc in enumerate(procs):
            try:
                _, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"data-parallel rank {r} did not finish in {timeout:g} s "
                                   "(every rank is killed).") from None
            if proc.returncode != 0:
                tail = "\n".join(err.strip().splitlines()[-15:])
                if "EADDRINUSE" in err or "address already in use" in err.lower():
                    raise PortInUse(f"torch.distributed rendezvous port 127.0.0.1:{port} was "
                                    "taken while the ranks started; run again (port=None "
                                    f"picks a new free port).\n{tail}")
                raise RuntimeError(f"data-parallel rank {r} exited with code "
                                   f"{proc.returncode}:\n{tail}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
