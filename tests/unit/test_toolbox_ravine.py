"""atomcheck.toolbox.ravine: the quadratic's spectrum and start, and descent on it against
closed forms."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from atomcheck.toolbox.ravine import Ravine, descend, ravine  # noqa: E402


def test_spectrum_start_and_seeding():
    r = ravine(3, dim=4, condition=1000.0)
    assert np.allclose(np.linalg.eigvalsh(r.hessian), [1.0, 10.0, 100.0, 1000.0])
    assert np.allclose(r.hessian, r.hessian.T)
    assert np.linalg.norm(r.start) == pytest.approx(1.0)
    assert not np.allclose(ravine(4, dim=4).start, r.start)
    assert np.array_equal(ravine(3, dim=4).hessian, ravine(3, dim=4).hessian)
    assert not np.array_equal(ravine(3, dim=4).hessian, ravine(4, dim=4).hessian)


def test_gradient_descent_matches_the_closed_form():
    # On H = diag(1, 100) from (a, b): after t GD steps x = ((1-lr)^t a, (1-100 lr)^t b).
    r = Ravine(np.diag([1.0, 100.0]), np.zeros(2), np.array([0.6, 0.8]))
    lr, t = 0.015, 20
    x = np.array([0.6 * (1 - lr) ** t, 0.8 * (1 - 100 * lr) ** t])
    assert descend(r, optimizer="sgd", lr=lr, steps=t)[-1] == pytest.approx(r.loss(x), rel=1e-12)


def test_heavy_ball_matches_its_recursion():
    r = Ravine(np.diag([1.0, 100.0]), np.zeros(2), np.array([0.6, 0.8]))
    lr, beta, x, buf = 0.01, 0.9, np.array([0.6, 0.8]), np.zeros(2)
    for _ in range(30):
        buf = beta * buf + r.hessian @ x
        x = x - lr * buf
    assert descend(r, optimizer="momentum", lr=lr, momentum=beta, steps=30)[-1] == \
        pytest.approx(r.loss(x), rel=1e-12)


def test_too_large_a_step_diverges_and_noise_is_seeded():
    r = ravine(0, condition=100.0)
    assert descend(r, lr=0.03, steps=200)[-1] > 1e6          # lr > 2 / 100: unstable
    a = descend(r, lr=0.005, noise=0.1, seed=1)
    assert np.array_equal(a, descend(r, lr=0.005, noise=0.1, seed=1))
    assert not np.array_equal(a, descend(r, lr=0.005, noise=0.1, seed=2))


@pytest.mark.parametrize("bad", [{"dim": 1}, {"condition": 0.5}])
def test_invalid_arguments(bad):
    with pytest.raises(ValueError):
        ravine(0, **bad)
