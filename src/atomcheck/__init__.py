"""atomcheck: empirical claims about deep learning as statistical tests that pytest runs.

The public API is this module's ``__all__``; ``atomcheck.data`` and ``atomcheck.models``
are the only other public modules. Importing atomcheck never imports torch.
"""

from __future__ import annotations

from atomcheck.claim import Claim
from atomcheck.config import Settings, get_profile, load_profile, register_profile
from atomcheck.errors import AtomcheckError, ClaimError, InvalidClaim, UnderpoweredWarning
from atomcheck.memo import Memo
from atomcheck.reproducible import request_reproducible_blas as _request_reproducible_blas
from atomcheck.shapes import Dips, Peaks, Saturates, Slope
from atomcheck.stats import ConfidenceInterval, TestResult
from atomcheck.sweep import ByLevel, Samples, SharedSweep, run_sweep
from atomcheck.verdict import (
    Beats,
    Equivalent,
    Exact,
    Expectation,
    Falls,
    Rises,
    Spread,
    Threshold,
    Verdict,
)

# Before torch's first matrix product (none of the imports above loads torch): MKL reads
# its reproducible mode once, and a seed's numbers must not depend on its batch.
_request_reproducible_blas()

__version__ = "0.1.0"

__all__ = [
    "AtomcheckError",
    "Beats",
    "ByLevel",
    "Claim",
    "ClaimError",
    "ConfidenceInterval",
    "Dips",
    "Equivalent",
    "Exact",
    "Expectation",
    "Falls",
    "InvalidClaim",
    "Memo",
    "Peaks",
    "Rises",
    "Samples",
    "Saturates",
    "Settings",
    "SharedSweep",
    "Slope",
    "Spread",
    "TestResult",
    "Threshold",
    "UnderpoweredWarning",
    "Verdict",
    "__version__",
    "get_profile",
    "load_profile",
    "register_profile",
    "run_sweep",
]
