"""Gradient noise over batch sizes: how far a minibatch gradient strays from the full one.

The minibatch gradient g_B is the mean of B per-example gradients; its noise is
E‖g_B − g‖², g the full-batch gradient. For B examples drawn independently (with
replacement) it is tr(Σ)/B exactly, Σ the covariance of the per-example gradients; drawn
without replacement from N (what an epoch of a shuffling loader does) it is
tr(Σ)/B · (N − B)/(N − 1), which falls faster than 1/B as B nears N.

:func:`per_example_gradients` gives the (N, P) matrix of per-example gradients of a torch
module (``torch.func``: one ``vmap`` of ``grad``); :func:`minibatch_gradient_variance`
measures the noise by drawing minibatches, :func:`expected_minibatch_variance` gives the
closed form to check it against, and :func:`log_log_slope` the slope of log variance on
log B (−1 for "falls as 1/B").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["per_example_gradients", "minibatch_gradient_variance",
           "expected_minibatch_variance", "log_log_slope"]


def per_example_gradients(model: Any, loss_fn: Callable[..., Any], x: Any, y: Any) -> np.ndarray:
    """The gradient of ``loss_fn`` on each example, flattened over all parameters.

    Parameters
    ----------
    model : torch.nn.Module
        Evaluated at its current parameters (buffers held fixed).
    loss_fn : callable
        ``loss_fn(output, target) -> scalar`` for one example (output of shape
        ``(1, ...)``, target of shape ``(1, ...)``), e.g. ``torch.nn.functional.cross_entropy``.
    x, y : torch.Tensor
        Inputs and targets, examples along the first axis.

    Returns
    -------
    numpy.ndarray
        Shape ``(N, P)``, float64: row *i* is ∇θ loss(model(x_i), y_i).

    Examples
    --------
    >>> import torch
    >>> lin = torch.nn.Linear(1, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = lin.weight.fill_(2.0)
    >>> g = per_example_gradients(lin, torch.nn.functional.mse_loss,
    ...                           torch.tensor([[1.0], [3.0]]), torch.tensor([[0.0], [0.0]]))
    >>> g.ravel().tolist()   # d/dw (w x)^2 = 2 w x^2
    [4.0, 36.0]
    """
    import torch
    from torch.func import functional_call, grad, vmap

    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def one_loss(p: dict[str, Any], xi: Any, yi: Any) -> Any:
        out = functional_call(model, (p, buffers), (xi.unsqueeze(0),))
        return loss_fn(out, yi.unsqueeze(0))

    grads = vmap(grad(one_loss), in_dims=(None, 0, 0))(params, x, y)
    flat = torch.cat([g.reshape(g.shape[0], -1) for g in grads.values()], dim=1)
    return np.asarray(flat.detach().cpu().numpy(), dtype=np.float64)


def _check(grads: np.ndarray, batch_size: int, replace: bool) -> None:
    if grads.ndim != 2 or grads.shape[0] < 2:
        raise ValueError(f"grads must be an (N, P) matrix with N >= 2; got shape {grads.shape}.")
    n = grads.shape[0]
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1 or (
            not replace and batch_size > n):
        top = "any" if replace else f"<= N = {n}"
        raise ValueError(f"batch size {batch_size!r} must be an integer >= 1 ({top}).")


def expected_minibatch_variance(grads: np.ndarray, batch_size: int, *,
                                replace: bool = True) -> float:
    """E‖g_B − g‖² in closed form for minibatches of ``batch_size`` rows of ``grads``.

    ``tr(Σ)/B``, with Σ the covariance of the rows (divided by N, the rows being the
    whole population); times ``(N − B)/(N − 1)`` without replacement.

    Examples
    --------
    >>> g = np.array([[1.0], [-1.0]])
    >>> expected_minibatch_variance(g, 1), expected_minibatch_variance(g, 2, replace=False)
    (1.0, 0.0)
    """
    grads = np.asarray(grads, dtype=np.float64)
    _check(grads, batch_size, replace)
    n = grads.shape[0]
    trace = float(np.mean(np.sum((grads - grads.mean(axis=0)) ** 2, axis=1)))
    value = trace / batch_size
    return value * (n - batch_size) / (n - 1) if not replace else value


def minibatch_gradient_variance(grads: np.ndarray, batch_sizes: Sequence[int], *,
                                draws: int = 200, replace: bool = True,
                                rng: np.random.Generator | None = None) -> dict[int, float]:
    """Measure E‖g_B − g‖² by drawing ``draws`` minibatches of each size.

    Parameters
    ----------
    grads : numpy.ndarray
        ``(N, P)`` per-example gradients (see :func:`per_example_gradients`); float32 is
        kept as float32 (the squared norms are summed in float64).
    batch_sizes : sequence of int
    draws : int
        Minibatches drawn per batch size.
    replace : bool
        Draw each minibatch's examples with replacement (independent draws) or without
        (distinct examples, as in one epoch of a shuffled loader). A draw's minibatch of
        size B is the first B rows of that draw's random sequence, for every B.
    rng : numpy.random.Generator, optional

    Returns
    -------
    dict
        Batch size → mean squared distance of the minibatch gradient from the full one.

    Examples
    --------
    >>> g = np.array([[1.0], [-1.0]])
    >>> v = minibatch_gradient_variance(g, [1, 4], draws=4000, rng=np.random.default_rng(0))
    >>> [round(v[1], 6), abs(v[4] - 0.25) < 0.02]   # every draw of one row is ±1 from 0
    [1.0, True]
    """
    grads = np.asarray(grads)
    if grads.dtype not in (np.float32, np.float64):
        grads = grads.astype(np.float64)  # float32 stays float32: half the memory traffic
    if not isinstance(draws, int) or draws < 2:
        raise ValueError(f"draws={draws!r} must be an integer >= 2.")
    for b in batch_sizes:
        _check(grads, b, replace)
    rng = rng if rng is not None else np.random.default_rng()
    centred = grads - grads.mean(axis=0)
    n, p = grads.shape
    sizes = sorted({int(b) for b in batch_sizes})
    top = sizes[-1]
    # Each draw is the first B rows of one random sequence of `top` rows, for every B at
    # once (a uniform B-subset, or B independent rows, either way); the batch sizes share
    # their draws, so the curve over B is measured with common random numbers.
    if replace:
        idx = rng.integers(0, n, size=(draws, top))
    else:
        idx = np.argsort(rng.random((draws, n)), axis=1)[:, :top]
    totals = {b: 0.0 for b in sizes}
    for row in idx:
        rows = centred[row]  # (top, P): this draw's sequence
        running = np.zeros(p, dtype=np.float64)  # the sum of its first b rows
        done = 0
        for b in sizes:
            running += rows[done:b].sum(axis=0, dtype=np.float64)
            done = b
            totals[b] += float(running @ running) / b**2
    return {int(b): totals[int(b)] / draws for b in batch_sizes}


def log_log_slope(batch_sizes: Sequence[float], variances: Sequence[float]) -> float:
    """Least-squares slope of log variance on log batch size (−1 for "∝ 1/B").

    Examples
    --------
    >>> round(log_log_slope([1, 2, 4, 8], [1.0, 0.5, 0.25, 0.125]), 6)
    -1.0
    """
    x = np.log(np.asarray(batch_sizes, dtype=np.float64))
    y = np.log(np.asarray(variances, dtype=np.float64))
    if x.size < 2 or np.ptp(x) == 0:
        raise ValueError("log_log_slope needs at least two distinct batch sizes.")
    return float(np.polyfit(x, y, 1)[0])
