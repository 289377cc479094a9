"""The gradient-noise toolbox: closed forms on hand-made gradients, the measurement against
them, the slope, and per-example gradients against a loop of autograd calls."""

from __future__ import annotations

import numpy as np
import pytest

from atomcheck.toolbox.gradient_noise import (
    expected_minibatch_variance,
    log_log_slope,
    minibatch_gradient_variance,
    per_example_gradients,
)


def test_closed_form_on_two_opposite_gradients() -> None:
    g = np.array([[1.0, 0.0], [-1.0, 0.0]])  # mean 0, every row at squared distance 1
    assert expected_minibatch_variance(g, 1) == pytest.approx(1.0)
    assert expected_minibatch_variance(g, 4) == pytest.approx(0.25)
    assert expected_minibatch_variance(g, 1, replace=False) == pytest.approx(1.0)
    assert expected_minibatch_variance(g, 2, replace=False) == pytest.approx(0.0)


@pytest.mark.parametrize("replace", [True, False])
def test_measurement_matches_the_closed_form(replace: bool) -> None:
    gen = np.random.default_rng(1)
    g = gen.normal(size=(200, 5)) * np.array([1.0, 2.0, 0.5, 3.0, 1.0])
    sizes = [1, 8, 64, 150]
    measured = minibatch_gradient_variance(g, sizes, draws=3000, replace=replace,
                                           rng=np.random.default_rng(2))
    for b in sizes:
        assert measured[b] == pytest.approx(expected_minibatch_variance(g, b, replace=replace),
                                            rel=0.08)
    # without replacement the finite-population factor bends the curve below 1/B
    if not replace:
        assert measured[150] < 0.5 * expected_minibatch_variance(g, 150)


def test_log_log_slope_known_answers() -> None:
    b = [1, 2, 4, 8, 16]
    assert log_log_slope(b, [1 / x for x in b]) == pytest.approx(-1.0)
    assert log_log_slope(b, [3 / x**2 for x in b]) == pytest.approx(-2.0)
    with pytest.raises(ValueError, match="two distinct"):
        log_log_slope([4, 4], [1.0, 2.0])


def test_bad_arguments_are_named() -> None:
    g = np.ones((5, 2))
    with pytest.raises(ValueError, match="batch size 6"):
        minibatch_gradient_variance(g, [6], replace=False)
    with pytest.raises(ValueError, match="draws"):
        minibatch_gradient_variance(g, [1], draws=1)
    with pytest.raises(ValueError, match="N >= 2"):
        expected_minibatch_variance(np.ones((1, 3)), 1)


def test_per_example_gradients_match_autograd_one_by_one() -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    x, y = torch.randn(5, 3), torch.tensor([0, 1, 1, 0, 1])
    loss = torch.nn.functional.cross_entropy
    got = per_example_gradients(model, loss, x, y)
    assert got.shape == (5, sum(p.numel() for p in model.parameters()))
    for i in range(5):
        model.zero_grad()
        loss(model(x[i:i + 1]), y[i:i + 1]).backward()
        want = torch.cat([p.grad.reshape(-1) for p in model.parameters()]).numpy()
        np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=1e-7)
