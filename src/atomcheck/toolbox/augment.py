"""Data augmentation of small images: shifts by whole pixels and small rotations.

Nielsen (ch. 3, "artificially expanding the training data") and 004 ("数据扩充") expand a
training set of digit images with copies moved by a pixel or turned by a few degrees: the
label of a slightly moved digit is still the same digit. The tools here do that to flat
image rows (``(n, h*w)``, e.g. scikit-learn's 8x8 digits as ``(n, 64)``):

* :func:`shift` moves images by whole pixels, filling the uncovered border with ``fill``
  (pixels moved off the edge are lost; no wrap-around);
* :func:`rotate` turns images about their centre by an angle in degrees (bilinear
  interpolation, ``fill`` outside; angle 0 returns the input unchanged);
* :func:`augment` draws one random shift and rotation per copy from a seeded stream;
* :func:`expand` returns a :class:`~atomcheck.data.Dataset` whose training split holds
  the originals followed by ``copies`` augmented copies of each (labels repeated), with
  the test split untouched.

Everything is deterministic given ``seed`` (a stream of :func:`atomcheck.seeding.rng`).
"""

from __future__ import annotations

import math

import numpy as np

from atomcheck.data import Dataset
from atomcheck.errors import InvalidClaim
from atomcheck.seeding import derive_seed, rng

__all__ = ["image_shape", "shift", "rotate", "augment", "expand"]


def image_shape(n_pixels: int, shape: tuple[int, int] | None = None) -> tuple[int, int]:
    """The ``(height, width)`` of flat rows of ``n_pixels``: ``shape`` if given, else square.

    Examples
    --------
    >>> image_shape(64)
    (8, 8)
    """
    if shape is not None:
        h, w = (int(s) for s in shape)
        if h < 1 or w < 1 or h * w != n_pixels:
            raise InvalidClaim(f"shape={shape!r} does not hold {n_pixels} pixels. Pass "
                               f"(height, width) with height*width == {n_pixels}.")
        return h, w
    side = math.isqrt(n_pixels)
    if side * side != n_pixels:
        raise InvalidClaim(f"{n_pixels} pixels per row are not a square image. Pass "
                           "shape=(height, width).")
    return side, side


def _as_images(x: np.ndarray, shape: tuple[int, int] | None) -> tuple[np.ndarray, int, int]:
    x = np.asarray(x)
    if x.ndim != 2:
        raise InvalidClaim(f"images must be flat rows (n, pixels); got shape {x.shape}.")
    h, w = image_shape(x.shape[1], shape)
    return x.reshape(len(x), h, w), h, w


def shift(x: np.ndarray, dy: int, dx: int, *, shape: tuple[int, int] | None = None,
          fill: float = 0.0) -> np.ndarray:
    """Move every image ``dy`` pixels down and ``dx`` pixels right (negative: up/left).

    Parameters
    ----------
    x : numpy.ndarray
        Flat images ``(n, h*w)``.
    dy, dx : int
        Whole-pixel offsets.
    shape : (int, int), optional
        ``(h, w)``; square by default.
    fill : float
        Value of the pixels the shift uncovers.

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``x``.

    Examples
    --------
    >>> shift(np.arange(4.0).reshape(1, 4), 0, 1).tolist()
    [[0.0, 0.0, 0.0, 2.0]]
    """
    if int(dy) != dy or int(dx) != dx:
        raise InvalidClaim(f"shift offsets must be whole pixels, got dy={dy!r}, dx={dx!r}.")
    imgs, h, w = _as_images(x, shape)
    dy, dx = int(dy), int(dx)
    out = np.full_like(imgs, fill)
    if abs(dy) < h and abs(dx) < w:
        out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
            imgs[:, max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out.reshape(np.asarray(x).shape)


def rotate(x: np.ndarray, degrees: float, *, shape: tuple[int, int] | None = None,
           fill: float = 0.0) -> np.ndarray:
    """Turn every image by ``degrees`` (counter-clockwise as displayed) about its centre.

    Bilinear interpolation (``scipy.ndimage.rotate``, ``order=1``, the image keeps its
    size); points that come from outside the image get ``fill``. An angle of 0 returns a
    copy of ``x``. Interpolation blurs thin strokes: on 8x8 digits a 10-degree turn keeps
    about 80-90% of the ink.

    Examples
    --------
    >>> img = np.zeros((1, 9)); img[0, 1] = 1.0          # top middle of a 3x3 image
    >>> rotate(img, 90).reshape(3, 3).round(6).tolist()[1]
    [1.0, 0.0, 0.0]
    """
    degrees = float(degrees)
    if not math.isfinite(degrees):
        raise InvalidClaim(f"degrees={degrees!r} must be a finite angle.")
    x = np.asarray(x)
    if degrees == 0.0:
        _as_images(x, shape)
        return x.copy()
    from scipy import ndimage

    imgs, _, _ = _as_images(x, shape)
    out = ndimage.rotate(imgs.astype(np.float64), degrees, axes=(1, 2), reshape=False,
                         order=1, mode="constant", cval=float(fill))
    return out.reshape(x.shape).astype(x.dtype, copy=False)


def augment(x: np.ndarray, *, seed: int, max_shift: int = 1, max_degrees: float = 15.0,
            shape: tuple[int, int] | None = None, fill: float = 0.0) -> np.ndarray:
    """One randomly moved copy of every image: a shift and a rotation drawn per image.

    Each image gets ``dy, dx`` uniform on the integers ``-max_shift..max_shift`` and an
    angle uniform on ``[-max_degrees, max_degrees]``; it is rotated, then shifted. The draws
    come from ``rng(seed, "augment")``, so the same seed gives the same copies.

    Examples
    --------
    >>> x = np.random.default_rng(0).random((3, 64))
    >>> bool(np.array_equal(augment(x, seed=1), augment(x, seed=1)))
    True
    """
    if int(max_shift) != max_shift or max_shift < 0:
        raise InvalidClaim(f"max_shift={max_shift!r} must be a whole number of pixels >= 0.")
    if not (math.isfinite(max_degrees) and max_degrees >= 0):
        raise InvalidClaim(f"max_degrees={max_degrees!r} must be a finite angle >= 0.")
    x = np.asarray(x)
    _as_images(x, shape)
    gen = rng(seed, "augment")
    n = len(x)
    offsets = gen.integers(-int(max_shift), int(max_shift) + 1, size=(n, 2))
    angles = gen.uniform(-max_degrees, max_degrees, size=n) if max_degrees else np.zeros(n)
    out = np.empty_like(x)
    for i in range(n):  # per image: each has its own angle and offsets
        row = rotate(x[i:i + 1], float(angles[i]), shape=shape, fill=fill)
        out[i] = shift(row, int(offsets[i, 0]), int(offsets[i, 1]), shape=shape, fill=fill)[0]
    return out


def expand(data: Dataset, *, copies: int, seed: int, max_shift: int = 1,
           max_degrees: float = 15.0, shape: tuple[int, int] | None = None) -> Dataset:
    """``data`` with ``copies`` augmented copies of each training image appended.

    The training split becomes the originals followed by copy 1 of every image, copy 2,
    ... (labels repeated in the same order); copy *k* is :func:`augment` with the seed
    ``derive_seed(seed, f"augment.copy{k}")``. The test split is unchanged; ``copies=0``
    returns ``data`` itself.

    Examples
    --------
    >>> from atomcheck.data import digits
    >>> d = expand(digits(seed=0, n_train=10), copies=2, seed=0)
    >>> d.x_train.shape, d.y_train[:10].tolist() == d.y_train[10:20].tolist()
    ((30, 64), True)
    """
    if int(copies) != copies or copies < 0:
        raise InvalidClaim(f"copies={copies!r} must be an integer >= 0.")
    if copies == 0:
        return data
    if not data.n_classes:
        raise InvalidClaim("expand needs a classification dataset (images with labels); "
                           "this one has n_classes=0.")
    xs = [np.asarray(data.x_train)]
    for k in range(int(copies)):
        xs.append(augment(data.x_train, seed=derive_seed(seed, f"augment.copy{k}"),
                          max_shift=max_shift, max_degrees=max_degrees, shape=shape))
    y = np.tile(np.asarray(data.y_train), int(copies) + 1)
    return Dataset(np.concatenate(xs).astype(np.asarray(data.x_train).dtype), y,
                   data.x_test, data.y_test, data.n_classes)
