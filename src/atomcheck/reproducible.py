"""Matrix products whose result for one seed does not depend on the rest of its batch.

The seed-batched engines stack every (configuration, seed) row on a leading axis and
multiply row by row (``bmm``/``baddbmm``: one BLAS ``gemm`` per row). Intel MKL, which
torch's x86 wheels use, picks its ``gemm`` code path by the memory alignment of the
output, so a row whose matrix starts at a 16-byte boundary and one that does not are
rounded differently. A row's offset is its position times the per-row size (e.g. an
11x10 gradient: 440 bytes, so every odd row is misaligned), so a seed's last float32 bits
depended on how many seeds or configurations came before it in the batch, and training
chaos amplified them into different accuracies (``atoms.depth``: 24 of 75 runs changed
between seeds 0-4 alone and within seeds 0-19).

MKL's Conditional Numerical Reproducibility in strict mode (``MKL_CBWR=AUTO,STRICT``)
makes ``gemm`` independent of alignment and thread count. MKL reads the setting once, at
its first call, so :func:`request_reproducible_blas` runs when ``atomcheck`` is imported
(before torch has done any matrix product) and only sets the variable when the user has
not set one. :func:`check_reproducible_blas` then measures what matters — a row's product
alone equals the same row inside a batch — once per process, and warns when it does not
hold (torch had already used MKL before ``atomcheck`` was imported, or another BLAS).

Importing this module does not import torch.
"""

from __future__ import annotations

import logging
import os
import warnings

__all__ = ["MKL_CBWR_MODE", "check_reproducible_blas", "known_irreproducible",
           "matmul_is_row_independent", "request_reproducible_blas"]

log = logging.getLogger("atomcheck.engine")

#: MKL's strict reproducible mode on the best code path of this CPU (AVX2, AVX-512...).
#: Results are reproducible run to run on one machine, not across CPU generations.
MKL_CBWR_MODE = "AUTO,STRICT"

_checked: bool | None = None  # the probe's answer in this process (None: not run yet)


def request_reproducible_blas() -> None:
    """Ask MKL for its strict reproducible mode unless ``MKL_CBWR`` is already set.

    Has an effect only before torch's first matrix product in this process (MKL reads the
    variable once); child processes (``processes``/Dask executors) inherit it.

    Examples
    --------
    >>> import os
    >>> request_reproducible_blas()
    >>> "MKL_CBWR" in os.environ
    True
    """
    os.environ.setdefault("MKL_CBWR", MKL_CBWR_MODE)


def matmul_is_row_independent() -> bool:
    """Whether each row of a batched matrix product equals that row's product alone.

    Uses shapes whose per-row output (11x10, 7x5) leaves odd rows misaligned, in float32
    and float64, with values whose rounding differs between MKL's code paths (without
    the strict mode this returns False on an AVX2 machine).

    Examples
    --------
    >>> isinstance(matmul_is_row_independent(), bool)
    True
    """
    import torch

    gen = torch.Generator().manual_seed(20240605)
    for dtype in (torch.float32, torch.float64):
        for rows, m, k, n in ((8, 11, 16, 10), (8, 7, 13, 5)):
            a = torch.randn(rows, k, m, generator=gen, dtype=dtype).transpose(1, 2)
            b = torch.randn(rows, k, n, generator=gen, dtype=dtype)
            together = torch.bmm(a, b)
            for r in range(rows):
                if not torch.equal(together[r], torch.bmm(a[r:r + 1], b[r:r + 1])[0]):
                    return False
    return True


def check_reproducible_blas() -> bool:
    """Run :func:`matmul_is_row_independent` once per process; warn when it fails.

    Returns
    -------
    bool
        True when a seed's matrix products cannot depend on the rest of its batch.
    """
    global _checked
    if _checked is None:
        _checked = matmul_is_row_independent()
        if not _checked:
            message = (
                "batched matrix products here depend on a row's position in the batch (MKL "
                "ran a matrix product before its reproducible mode was requested, or the BLAS "
                f"is not MKL; MKL_CBWR={os.environ.get('MKL_CBWR')!r}), so "
                "a seed's last bits - and after chaotic training its metrics - may depend on "
                "the seeds and configurations batched with it. Import atomcheck before torch "
                f"runs any matrix product, or set MKL_CBWR={MKL_CBWR_MODE} in the environment.")
            log.warning(message)
            warnings.warn(message, RuntimeWarning, stacklevel=2)
    return _checked


def known_irreproducible() -> bool:
    """True when this process's probe ran and found batch-dependent matrix products (the
    result cache then stores nothing: a seed's entry would depend on its batch). Never
    runs the probe itself, so it costs nothing where torch is not in use.

    Examples
    --------
    >>> known_irreproducible() in (True, False)
    True
    """
    return _checked is False
