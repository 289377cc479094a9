"""atomcheck.toolbox.trajectory: readings of a training history, on hand-computed arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from atomcheck.toolbox.trajectory import (
    epochs_to_reach,
    fall_after_small_gradient,
    global_grad_norms,
    loss_progress,
    effective_steps,
    update_sizes,
)

NAN = math.nan


@pytest.mark.parametrize(("final", "initial", "expected"), [
    (0.5, 2.0, 0.75), (0.0, 2.0, 1.0), (2.0, 2.0, 0.0), (5.0, 2.0, 0.0), (NAN, 2.0, 0.0),
    (math.inf, 2.0, 0.0)])
def test_loss_progress(final, initial, expected):
    assert loss_progress(final, initial) == expected


@pytest.mark.parametrize("initial", [0.0, -1.0, NAN])
def test_loss_progress_needs_a_positive_initial_loss(initial):
    with pytest.raises(ValueError):
        loss_progress(1.0, initial)


@pytest.mark.parametrize(("losses", "target", "expected"), [
    ([2.0, 1.0, 0.4, 0.3], 0.5, 3.0), ([0.1], 0.5, 1.0), ([2.0, 1.0], 0.5, 3.0),
    ([2.0, NAN, 0.1], 0.5, 4.0), ([], 0.5, 1.0), ([1.0, 0.5], 0.5, 2.0)])
def test_epochs_to_reach(losses, target, expected):
    assert epochs_to_reach(losses, target) == expected


def test_global_grad_norms_orders_layers_numerically():
    history = {"grad_norm_10": [1.0], "grad_norm_2": [2.0], "train_loss": [9.0]}
    assert global_grad_norms(history).tolist() == [math.sqrt(5.0)]
    with pytest.raises(ValueError, match="grad_norms=True"):
        global_grad_norms({"train_loss": [1.0]})


def test_fall_after_small_gradient_uses_the_first_near_zero_epoch():
    # peak 2.0 -> near zero means <= 0.02: epochs 1, 2 and 5; the first is epoch 1 (loss
    # 2.0), and the end is 0.25: a fall of 7/8.
    losses = [2.3, 2.0, 2.0, 1.0, 0.5, 0.25]
    grads = [0.5, 0.02, 0.01, 2.0, 1.0, 0.015]
    assert fall_after_small_gradient(losses, grads) == 0.875
    # rel_tol 0.006 (near zero: <= 0.012) stops at epoch 2 (same loss); 0.3 at epoch 0
    assert fall_after_small_gradient(losses, grads, rel_tol=0.006) == 0.875
    assert fall_after_small_gradient(losses, grads, rel_tol=0.3) == pytest.approx(1 - 0.25 / 2.3)
    # converged runs: the first near-zero epoch is the end, nothing falls after it
    assert fall_after_small_gradient([2.0, 1.0, 0.5], [1.0, 2.0, 0.001]) == 0.0


def test_fall_after_small_gradient_edge_cases():
    assert fall_after_small_gradient([2.0, 1.0], [1.0, 0.9]) == 0.0           # never near zero
    assert fall_after_small_gradient([2.0, NAN], [0.001, 1.0]) == 0.0          # diverged
    assert fall_after_small_gradient([2.0, 1.0], [NAN, NAN]) == 0.0
    assert fall_after_small_gradient([2.0, 1.0, 3.0], [0.001, 1.0, 1.0]) == -0.5  # rose
    with pytest.raises(ValueError):
        fall_after_small_gradient([1.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        fall_after_small_gradient([1.0], [1.0], rel_tol=1.0)


def test_update_sizes():
    snaps = [[np.zeros((2, 2)), np.zeros(2)], [np.ones((2, 2)), np.full(2, -1.0)],
             [np.ones((2, 2)), np.full(2, -4.0)]]
    assert update_sizes(snaps).tolist() == [1.0, 1.0]
    with pytest.raises(ValueError):
        update_sizes(snaps[:1])


def test_effective_steps_of_torch_states():
    torch = pytest.importorskip("torch")
    w = torch.zeros(2, 3, requires_grad=True)  # two "seeds" of a 3-parameter model
    for name, cls, kw in (("adagrad", torch.optim.Adagrad, {"eps": 1e-10}),
                          ("rmsprop", torch.optim.RMSprop, {"eps": 1e-8})):
        opt = cls([w], lr=0.1, **kw)
        w.grad = torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]])
        opt.step()
        steps = effective_steps(opt.state_dict(), name, 0.1)
        # AdaGrad: r = g^2 -> 0.1 / |g|; RMSProp (alpha 0.99): r = 0.01 g^2 -> 1 / |g|
        scale = 0.1 if name == "adagrad" else 1.0
        assert steps == pytest.approx([scale / 2.0, scale / 0.5], rel=1e-6)
    with pytest.raises(ValueError):
        effective_steps(opt.state_dict(), "adam", 0.1)
    with pytest.raises(ValueError):
        effective_steps(opt.state_dict(), "adagrad", 0.1)
