"""Shifts, rotations and expanded datasets (atomcheck.toolbox.augment) on known images."""

from __future__ import annotations

import numpy as np
import pytest

from atomcheck.data import Dataset, digits
from atomcheck.errors import InvalidClaim
from atomcheck.toolbox.augment import augment, expand, image_shape, rotate, shift


def _grid(h: int = 4, w: int = 4) -> np.ndarray:
    """One image whose pixel (r, c) holds 1 + r*w + c (distinct, non-zero)."""
    return (1.0 + np.arange(h * w, dtype=np.float64)).reshape(1, h * w)


# -- shift ------------------------------------------------------------------------------------
def test_shift_right_by_one_pixel_moves_columns_and_zero_fills() -> None:
    img = _grid().reshape(4, 4)
    out = shift(_grid(), 0, 1).reshape(4, 4)
    assert out[:, 0].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert np.array_equal(out[:, 1:], img[:, :-1])


def test_shift_up_by_one_pixel_loses_the_top_row() -> None:
    img = _grid().reshape(4, 4)
    out = shift(_grid(), -1, 0).reshape(4, 4)
    assert np.array_equal(out[:3], img[1:])
    assert out[3].tolist() == [0.0] * 4


def test_shift_diagonal_known_answer_on_3x3() -> None:
    x = np.arange(1.0, 10.0).reshape(1, 9)        # 1 2 3 / 4 5 6 / 7 8 9
    out = shift(x, 1, 1).reshape(3, 3)
    assert out.tolist() == [[0, 0, 0], [0, 1, 2], [0, 4, 5]]


def test_shift_by_zero_is_identity_and_beyond_the_image_is_blank() -> None:
    x = _grid()
    assert np.array_equal(shift(x, 0, 0), x)
    assert np.array_equal(shift(x, 4, 0), np.zeros_like(x))
    assert np.array_equal(shift(x, 0, -7, fill=0.5), np.full_like(x, 0.5))


def test_shift_then_back_restores_the_interior() -> None:
    x = _grid(5, 5)
    back = shift(shift(x, 1, -1), -1, 1).reshape(5, 5)
    assert np.array_equal(back[:4, 1:], x.reshape(5, 5)[:4, 1:])


def test_shift_keeps_dtype_and_shape_and_rejects_fractions() -> None:
    x = _grid().astype(np.float32)
    out = shift(x, 1, 0)
    assert out.dtype == np.float32 and out.shape == x.shape
    with pytest.raises(InvalidClaim, match="whole pixels"):
        shift(x, 0.5, 0)


# -- rotate -----------------------------------------------------------------------------------
def test_rotation_by_zero_is_identity() -> None:
    x = np.random.default_rng(0).random((5, 64)).astype(np.float32)
    out = rotate(x, 0.0)
    assert np.array_equal(out, x) and out is not x and out.dtype == np.float32


def test_rotation_by_90_degrees_is_an_exact_quarter_turn() -> None:
    x = np.random.default_rng(1).random((2, 49))
    turned = rotate(x, 90).reshape(2, 7, 7)
    # counter-clockwise as displayed (row 0 on top): np.rot90's direction
    assert np.allclose(turned, np.rot90(x.reshape(2, 7, 7), 1, axes=(1, 2)), atol=1e-9)


def test_rotation_by_180_then_180_is_identity_and_keeps_the_centre() -> None:
    x = np.random.default_rng(2).random((3, 25))
    assert np.allclose(rotate(rotate(x, 180), 180), x, atol=1e-9)
    centre = np.zeros((1, 25))
    centre[0, 12] = 1.0
    assert np.allclose(rotate(centre, 33.0)[0, 12], rotate(centre, -33.0)[0, 12])


def test_small_rotation_moves_ink_but_keeps_most_of_it() -> None:
    d = digits(seed=0, n_train=20)
    out = rotate(d.x_train, 10.0)
    assert not np.allclose(out, d.x_train)
    # bilinear interpolation blurs 8x8 strokes and loses what turns past the border
    ratio = out.sum(axis=1) / d.x_train.sum(axis=1)
    assert np.all((ratio > 0.7) & (ratio < 1.0 + 1e-6))
    assert out.min() >= 0.0 and out.max() <= 1.0 + 1e-6


# -- augment and expand -----------------------------------------------------------------------
def test_augment_is_deterministic_per_seed_and_differs_across_seeds() -> None:
    x = digits(seed=0, n_train=30).x_train
    a, b, c = augment(x, seed=3), augment(x, seed=3), augment(x, seed=4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == x.shape and a.dtype == x.dtype


def test_augment_without_moves_is_identity() -> None:
    x = digits(seed=0, n_train=10).x_train
    assert np.array_equal(augment(x, seed=0, max_shift=0, max_degrees=0.0), x)


def test_augment_shift_only_gives_one_pixel_shifts_of_each_image() -> None:
    x = digits(seed=1, n_train=25).x_train
    out = augment(x, seed=7, max_shift=1, max_degrees=0.0)
    moves = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    for i in range(len(x)):
        assert any(np.array_equal(out[i:i + 1], shift(x[i:i + 1], dy, dx)) for dy, dx in moves)


def test_expand_appends_copies_preserves_labels_and_test_split() -> None:
    d = digits(seed=2, n_train=40)
    e = expand(d, copies=3, seed=5)
    assert e.x_train.shape == (160, 64) and e.x_train.dtype == d.x_train.dtype
    assert np.array_equal(e.x_train[:40], d.x_train)
    for k in range(1, 4):
        assert np.array_equal(e.y_train[40 * k:40 * (k + 1)], d.y_train)
    assert e.x_test is d.x_test and e.y_test is d.y_test and e.n_classes == 10
    assert not np.array_equal(e.x_train[40:80], e.x_train[80:120])  # copies differ


def test_expand_is_deterministic_and_zero_copies_is_the_input() -> None:
    d = digits(seed=0, n_train=15)
    assert np.array_equal(expand(d, copies=2, seed=1).x_train, expand(d, copies=2, seed=1).x_train)
    assert expand(d, copies=0, seed=1) is d


def test_invalid_arguments_are_refused() -> None:
    d = digits(seed=0, n_train=5)
    with pytest.raises(InvalidClaim, match="square"):
        shift(np.zeros((1, 10)), 1, 0)
    assert image_shape(10, (2, 5)) == (2, 5)
    with pytest.raises(InvalidClaim, match="copies"):
        expand(d, copies=-1, seed=0)
    with pytest.raises(InvalidClaim, match="max_shift"):
        augment(d.x_train, seed=0, max_shift=-1)
    reg = Dataset(np.zeros((2, 4), np.float32), np.zeros((2, 1), np.float32),
                  np.zeros((1, 4), np.float32), np.zeros((1, 1), np.float32), 0)
    with pytest.raises(InvalidClaim, match="classification"):
        expand(reg, copies=1, seed=0)
