"""Ill-conditioned quadratics ("ravines") and torch optimisers run on them.

002 §3.2.3 pictures a ravine: steep walls across, a gentle slope along, so plain gradient
descent bounces between the walls and crawls along the floor. The cleanest ravine is a
quadratic ``f(x) = ½ (x − x*)ᵀ H (x − x*)`` whose Hessian has eigenvalues from 1 up to the
condition number κ, in a random orientation. :func:`ravine` draws one per seed;
:func:`descend` (one problem) and :func:`descend_many` (several at once) run a ``torch.optim``
optimiser on it (optionally with Gaussian gradient noise, a stand-in for mini-batch sampling error)
and returns the loss after each step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from atomcheck.seeding import rng

__all__ = ["Ravine", "ravine", "descend", "descend_many"]


@dataclass(frozen=True)
class Ravine:
    """A quadratic ``f(x) = ½ (x − minimum)ᵀ hessian (x − minimum)`` and a start point.

    Attributes
    ----------
    hessian : numpy.ndarray
        Symmetric positive definite, ``(dim, dim)``.
    minimum : numpy.ndarray
        The minimiser ``x*`` (f = 0 there).
    start : numpy.ndarray
        Where optimisation starts.
    """

    hessian: np.ndarray
    minimum: np.ndarray
    start: np.ndarray

    @property
    def curvature(self) -> tuple[float, float]:
        """The smallest and largest Hessian eigenvalue."""
        eig = np.linalg.eigvalsh(self.hessian)
        return float(eig[0]), float(eig[-1])

    def loss(self, x: np.ndarray) -> float:
        """``f(x)``."""
        d = np.asarray(x, dtype=float) - self.minimum
        return float(0.5 * d @ self.hessian @ d)


def ravine(seed: int, *, dim: int = 2, condition: float = 100.0) -> Ravine:
    """Draw seed ``seed``'s ravine: eigenvalues log-spaced from 1 to ``condition``.

    The orientation is a random rotation (QR of a Gaussian matrix), the minimum is at the
    origin and the start is a random point at distance 1 (a uniform direction), so seeds
    differ in how much of the start lies along the flat floor and the steep walls.

    Examples
    --------
    >>> r = ravine(0, dim=3, condition=100.0)
    >>> [round(c, 6) for c in r.curvature], round(float(np.linalg.norm(r.start)), 6)
    ([1.0, 100.0], 1.0)
    """
    if dim < 2:
        raise ValueError(f"dim={dim!r} must be >= 2: a ravine needs a steep and a flat axis.")
    if not condition >= 1:
        raise ValueError(f"condition={condition!r} must be >= 1.")
    gen = rng(seed, "toolbox.ravine")
    q, r = np.linalg.qr(gen.standard_normal((dim, dim)))
    q = q * np.sign(np.diag(r))
    eig = np.geomspace(1.0, condition, dim)
    hessian = (q * eig) @ q.T
    direction = gen.standard_normal(dim)
    start = direction / np.linalg.norm(direction)
    return Ravine(0.5 * (hessian + hessian.T), np.zeros(dim), start)


def descend(problem: Ravine, *, optimizer: str = "sgd", lr: float = 0.01, steps: int = 100,
            momentum: float = 0.9, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """Run a ``torch.optim`` optimiser on ``problem``; the loss after each step.

    Parameters
    ----------
    problem : Ravine
    optimizer : {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"}
        torch.optim classes with atomcheck's settings (momentum 0.9 unless given).
    lr : float
    steps : int
    noise : float
        Standard deviation of Gaussian noise added to each gradient component (drawn from
        ``rng(seed, "toolbox.ravine.noise")``, the same draws for every optimiser).

    Returns
    -------
    numpy.ndarray
        ``steps`` losses; NaN/inf once the run diverges.

    Examples
    --------
    >>> r = ravine(0, condition=10.0)
    >>> bool(descend(r, lr=0.1, steps=50)[-1] < r.loss(r.start))
    True
    """
    return descend_many([problem], optimizer=optimizer, lrs=[lr], steps=steps,
                        momentum=momentum, noise=noise, seeds=[seed])[0]


def descend_many(problems: Sequence[Ravine], *, optimizer: str = "sgd",
                 lrs: Sequence[float], steps: int = 100, momentum: float = 0.9,
                 noise: float = 0.0, seeds: Sequence[int]) -> np.ndarray:
    """:func:`descend` on several problems of one size at once (one row each).

    The problems are stacked as the rows of one parameter; every optimiser here is
    element-wise, so each row moves exactly as it would alone, with its own learning rate
    (``lrs[i]``, applied by scaling row i's step) and its own noise stream (``seeds[i]``).

    Returns
    -------
    numpy.ndarray
        ``(len(problems), steps)`` losses.

    Examples
    --------
    >>> rs = [ravine(s, condition=10.0) for s in (0, 1)]
    >>> many = descend_many(rs, lrs=[0.1, 0.05], steps=5, seeds=[0, 1])
    >>> bool(np.allclose(many[1], descend(rs[1], lr=0.05, steps=5, seed=1)))
    True
    """
    import torch

    from atomcheck.models import torch_optimizer

    n = len(problems)
    if not (n == len(lrs) == len(seeds)) or n == 0:
        raise ValueError("problems, lrs and seeds must be equally long and non-empty.")
    x = torch.tensor(np.stack([p.start for p in problems]), dtype=torch.float64,
                     requires_grad=True)
    h = torch.as_tensor(np.stack([p.hessian for p in problems]), dtype=torch.float64)
    x_star = torch.as_tensor(np.stack([p.minimum for p in problems]), dtype=torch.float64)
    # lr 1 in the optimiser, each row's step scaled by its own rate afterwards: the update of
    # every optimiser here is linear in lr and its state does not depend on it.
    opt: Any = torch_optimizer(optimizer, [x], 1.0, momentum)
    rate = torch.as_tensor(np.asarray(lrs, dtype=float)).reshape(n, 1)
    draws = torch.as_tensor(np.stack([rng(s, "toolbox.ravine.noise").standard_normal(
        (steps, x.shape[1])) * noise for s in seeds]))
    out = np.empty((n, steps))
    with torch.no_grad():  # the gradient H (x − x*) in closed form: no autograd per step
        for t in range(steps):
            d = (x - x_star).unsqueeze(-1)
            g = torch.bmm(h, d).squeeze(-1)
            x.grad = g + draws[:, t] if noise else g
            before = x.detach().clone()
            opt.step()
            x.copy_(before + rate * (x - before))
            d = (x - x_star).unsqueeze(-1)
            out[:, t] = (0.5 * torch.bmm(d.transpose(1, 2), torch.bmm(h, d))).reshape(n).numpy()
    return out
