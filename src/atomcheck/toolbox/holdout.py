"""A validation split carved out of a dataset's held-out data.

Model selection (a hyper-parameter search, an early-stopping rule) must not read the data
its result is scored on. :func:`validation_split` turns one :class:`~atomcheck.data.Dataset`
into two that share the training split exactly: one holds out a validation part, the
other the disjoint test part. Training never reads held-out data, so a network trained on
either is the same network (same seed, same training data); a claim selects on the first
and scores on the second.

Examples
--------
>>> from atomcheck.data import digits
>>> val, test = validation_split(digits(seed=0, n_train=100))
>>> val.x_train is test.x_train, len(val.x_test) + len(test.x_test)
(True, 450)
"""

from __future__ import annotations

import numpy as np

from atomcheck.data import Dataset
from atomcheck.errors import InvalidClaim

__all__ = ["validation_split"]


def validation_split(data: Dataset, share: float = 0.5) -> tuple[Dataset, Dataset]:
    """Split ``data``'s held-out part into validation and test; keep the training split.

    Deterministic: the held-out split is already drawn per seed, so within each class (or
    over all samples, for regression) the first ``round(share * n_c)`` held-out samples in
    their stored order go to validation and the rest to test (stratified by class).

    Parameters
    ----------
    data : Dataset
    share : float
        Fraction of each class's held-out samples that goes to validation, in (0, 1).

    Returns
    -------
    (validation, test) : tuple of Dataset
        Both with ``data``'s training arrays (the same objects); ``x_test``/``y_test`` are
        the validation part in the first and the test part in the second.
    """
    if not 0.0 < share < 1.0:
        raise InvalidClaim(f"validation_split: share={share!r} must lie in (0, 1), e.g. 0.5.")
    y = np.asarray(data.y_test)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if data.n_classes else [
        np.arange(len(y))]
    val_idx, test_idx = [], []
    for idx in groups:
        cut = int(round(share * len(idx)))
        val_idx.append(idx[:cut])
        test_idx.append(idx[cut:])
    v, t = np.sort(np.concatenate(val_idx)), np.sort(np.concatenate(test_idx))
    if len(v) == 0 or len(t) == 0:
        raise InvalidClaim(f"validation_split: {len(y)} held-out samples leave "
                           f"{len(v)} for validation and {len(t)} for test; both need at "
                           "least one. Hold out more data or change share.")

    def part(idx: np.ndarray) -> Dataset:
        return Dataset(data.x_train, data.y_train, data.x_test[idx], data.y_test[idx],
                       data.n_classes)

    return part(v), part(t)
