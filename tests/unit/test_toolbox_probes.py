"""The probes toolbox: dead ReLU units, activation variance, per-layer gradient norms.

Known answers: hand-built weights whose dead units, variances and gradients are worked
out on paper, and the closed forms of a linear net (variance through orthogonal layers,
gradient of an MSE loss).
"""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from atomcheck.errors import InvalidClaim  # noqa: E402
from atomcheck.toolbox.probes import (  # noqa: E402
    activation_variances,
    dead_layer_mask,
    dead_relu_shares,
    dead_unit_mask,
    layer_gradient_norms,
    layer_outputs,
    module_gradient_norms,
    saturated_share,
)


# -- dead ReLU units ------------------------------------------------------------------------------

def test_a_unit_is_dead_only_when_non_positive_on_every_sample() -> None:
    pre = torch.tensor([[-1.0, 0.0, 2.0, -0.5],
                        [-3.0, 0.0, -1.0, 1e-9]])
    assert dead_unit_mask(pre).tolist() == [True, True, False, False]


def test_a_layer_is_dead_when_all_its_units_are() -> None:
    # Three layers of two units over two samples: dead, one unit alive, alive on one sample.
    pre = torch.tensor([[[-1.0, -1.0], [0.0, -2.0]],
                        [[-1.0, 1.0], [-1.0, -2.0]],
                        [[-1.0, -1.0], [-1.0, 0.5]]])
    assert dead_layer_mask(pre).tolist() == [True, False, False]


def test_dead_masks_read_the_sample_axis_given() -> None:
    pre = torch.tensor([[-1.0, -2.0], [3.0, -4.0]])  # rows are units, columns samples
    assert dead_unit_mask(pre, sample_dim=-1).tolist() == [True, False]


def test_dead_relu_shares_reads_every_relu_module_of_a_net() -> None:
    net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2),
                              torch.nn.ReLU())
    with torch.no_grad():
        # Units 0, 1 see +x0, +x1 (alive on positive inputs); units 2, 3 see -x0 - x1.
        net[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0], [-2.0, -1.0]]))
        net[0].bias.zero_()
        net[2].weight.copy_(torch.tensor([[1.0, 1.0, 0.0, 0.0], [-1.0, -1.0, 0.0, 0.0]]))
        net[2].bias.zero_()
    shares = dead_relu_shares(net, torch.tensor([[1.0, 2.0], [3.0, 0.5]]))
    assert shares == {"1": 0.5, "3": 0.5}
    assert not any(m._forward_hooks for m in net.modules())  # hooks removed


def test_dead_relu_shares_counts_conv_units_per_channel_and_position() -> None:
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 1), torch.nn.ReLU())
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([1.0, -1.0]).reshape(2, 1, 1, 1))
        net[0].bias.zero_()
    # Channel 0 copies the image, channel 1 negates it; pixel (0, 0) is 0 in every image.
    x = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]], [[[0.0, 5.0], [6.0, 7.0]]]])
    # Dead: channel 0 at (0,0) and channel 1 at all 4 positions = 5 of 8 units.
    assert dead_relu_shares(net, x) == {"1": 5 / 8}


def test_dead_relu_shares_refuses_a_non_module() -> None:
    with pytest.raises(InvalidClaim, match="not a torch.nn.Module"):
        dead_relu_shares(lambda x: x, torch.ones(1, 1))


# -- activation variance --------------------------------------------------------------------------

def test_layer_outputs_apply_each_matrix_then_the_activation() -> None:
    x = torch.tensor([[1.0, -2.0]])
    w1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    w2 = torch.tensor([[2.0], [1.0]])
    outs = layer_outputs(x, [w1, w2], "relu", biases=[torch.zeros(2), torch.tensor([0.5])])
    assert [o.tolist() for o in outs] == [[[1.0, 0.0]], [[2.5]]]


def test_the_two_layouts_give_the_same_outputs() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    ws = [torch.randn(3, 4, generator=gen, dtype=torch.float64),
          torch.randn(4, 2, generator=gen, dtype=torch.float64)]
    a = layer_outputs(x, ws, "tanh")
    b = layer_outputs(x, [w.T.contiguous() for w in ws], "tanh", layout="out_in")
    for u, v in zip(a, b):
        torch.testing.assert_close(u, v)


def test_variance_is_kept_by_orthogonal_linear_layers_and_halved_by_scale() -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(4000, 16, generator=gen, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(16, 16, generator=gen, dtype=torch.float64))
    # An orthogonal map keeps the (near-zero-mean) variance; a 1/√2 scale halves it.
    half = torch.eye(16, dtype=torch.float64) * 2 ** -0.5
    var = activation_variances(x, [q, half], "identity")
    assert var[0] == pytest.approx(float(x.var()), rel=0.05)
    assert var[1] == pytest.approx(var[0] / 2, rel=1e-9)


def test_saturated_share_counts_strictly_beyond_the_threshold() -> None:
    a = torch.tensor([0.99, -0.991, 1.0, 0.0, 0.5, -1.0])
    assert saturated_share(a) == pytest.approx(3 / 6)
    assert saturated_share(a, 0.4) == pytest.approx(5 / 6)


def test_unknown_activation_and_layout_are_refused_with_the_choices() -> None:
    with pytest.raises(InvalidClaim, match="activation='gelu'"):
        layer_outputs(torch.ones(1, 1), [torch.ones(1, 1)], "gelu")
    with pytest.raises(InvalidClaim, match="layout='rows'"):
        layer_outputs(torch.ones(1, 1), [torch.ones(1, 1)], layout="rows")
    with pytest.raises(InvalidClaim, match="2 weight matrices but 1 biases"):
        layer_outputs(torch.ones(1, 1), [torch.ones(1, 1)] * 2, biases=[torch.zeros(1)])


# -- gradient norms -------------------------------------------------------------------------------

def test_gradient_norms_of_a_two_layer_linear_net_match_the_closed_form() -> None:
    # out = x a b, loss = (out - t)^2 (one sample, MSE): d/da = 2 (out - t) x b,
    # d/db = 2 (out - t) x a.
    a = torch.tensor([[3.0]], requires_grad=True)
    b = torch.tensor([[2.0]], requires_grad=True)
    x, t = torch.tensor([[1.0]]), torch.tensor([[1.0]])
    norms = layer_gradient_norms(x, t, [a, b], "identity", loss="mse")
    assert norms == [pytest.approx(2 * 5 * 2), pytest.approx(2 * 5 * 3)]
    assert a.grad is None and b.grad is None  # .grad is left alone


def test_gradient_norms_equal_backward_on_the_same_net_in_either_layout() -> None:
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(32, 8, generator=gen, dtype=torch.float64)
    y = torch.randint(3, (32,), generator=gen)
    ws = [torch.randn(8, 6, generator=gen, dtype=torch.float64).requires_grad_(),
          torch.randn(6, 6, generator=gen, dtype=torch.float64).requires_grad_(),
          torch.randn(6, 3, generator=gen, dtype=torch.float64).requires_grad_()]
    h = x
    for w in ws[:-1]:
        h = torch.sigmoid(h @ w)
    torch.nn.functional.cross_entropy(h @ ws[-1], y).backward()
    expected = [float(w.grad.norm()) for w in ws]
    assert layer_gradient_norms(x, y, ws, "sigmoid") == expected
    transposed = [w.detach().T.contiguous().requires_grad_() for w in ws]
    got = layer_gradient_norms(x, y, transposed, "sigmoid", layout="out_in")
    assert got == pytest.approx(expected, rel=1e-12)


def test_sigmoid_gradients_shrink_towards_the_first_layer() -> None:
    # Each sigmoid layer multiplies the backward signal by at most 1/4 (001 §17).
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(64, 16, generator=gen, dtype=torch.float64)
    y = torch.randint(2, (64,), generator=gen)
    ws = [(torch.randn(16, 16, generator=gen, dtype=torch.float64) / 4).requires_grad_()
          for _ in range(8)] + [(torch.randn(16, 2, generator=gen, dtype=torch.float64) / 4)
                                .requires_grad_()]
    norms = layer_gradient_norms(x, y, ws, "sigmoid")
    assert norms[0] < norms[-1] * 1e-3
    assert math.isfinite(norms[0]) and norms[0] > 0


def test_gradient_norms_need_weights_that_require_grad() -> None:
    with pytest.raises(InvalidClaim, match="require gradients"):
        layer_gradient_norms(torch.ones(1, 1), torch.zeros(1, 1), [torch.ones(1, 1)],
                             loss="mse")
    with pytest.raises(InvalidClaim, match="loss='hinge'"):
        layer_gradient_norms(torch.ones(1, 1), torch.zeros(1, 1),
                             [torch.ones(1, 1, requires_grad=True)], loss="hinge")


def test_module_gradient_norms_match_backward_and_skip_biases() -> None:
    torch.manual_seed(4)
    net = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    x, y = torch.randn(16, 5), torch.randint(3, (16,))
    norms = module_gradient_norms(net, x, y)
    torch.nn.functional.cross_entropy(net(x), y).backward()
    assert list(norms) == ["0.weight", "2.weight"]
    assert norms["0.weight"] == float(net[0].weight.grad.norm())
    assert norms["2.weight"] == float(net[2].weight.grad.norm())


def test_module_gradient_norms_refuse_what_they_cannot_read() -> None:
    with pytest.raises(InvalidClaim, match="not a torch.nn.Module"):
        module_gradient_norms(object(), torch.ones(1, 1), torch.zeros(1))
    bias_only = torch.nn.Sequential(torch.nn.Flatten())
    with pytest.raises(InvalidClaim, match="no weight matrix"):
        module_gradient_norms(bias_only, torch.ones(1, 1), torch.zeros(1))
