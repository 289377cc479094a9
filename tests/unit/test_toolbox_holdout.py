"""atomcheck.toolbox.holdout.validation_split: disjoint, stratified, same training split."""

from __future__ import annotations

import numpy as np
import pytest

from atomcheck.data import Dataset, digits
from atomcheck.errors import InvalidClaim
from atomcheck.toolbox.holdout import validation_split


def test_parts_are_disjoint_cover_the_held_out_set_and_share_training():
    ds = digits(seed=3, n_train=200)
    val, test = validation_split(ds)
    assert val.x_train is ds.x_train and test.y_train is ds.y_train
    assert len(val.x_test) + len(test.x_test) == len(ds.x_test)
    rows = {r.tobytes() for r in ds.x_test}
    assert {r.tobytes() for r in val.x_test} | {r.tobytes() for r in test.x_test} == rows
    # stratified: each class split within one image of share
    for c in range(10):
        n = np.sum(ds.y_test == c)
        assert abs(np.sum(val.y_test == c) - n / 2) <= 0.5


def test_known_split_keeps_stored_order_per_class():
    x = np.arange(8, dtype=np.float32).reshape(8, 1)
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    ds = Dataset(x[:2], y[:2], x, y, 2)
    val, test = validation_split(ds, share=0.25)
    assert val.x_test.ravel().tolist() == [0.0, 1.0]
    assert test.x_test.ravel().tolist() == [2.0, 3.0, 4.0, 5.0, 6.0, 7.0]


def test_bad_share_and_empty_part_are_refused():
    ds = digits(seed=0, n_train=50)
    with pytest.raises(InvalidClaim, match="share=1.0"):
        validation_split(ds, share=1.0)
    tiny = Dataset(ds.x_train, ds.y_train, ds.x_test[:1], ds.y_test[:1], 10)
    with pytest.raises(InvalidClaim, match="both need at least one"):
        validation_split(tiny)
