"""Element-wise work whose value for one row must not depend on the rest of the batch.

torch's CPU kernels finish a tensor's last elements in a scalar loop that, for some
functions, rounds differently from the vector loop; which elements land there depends on
the tensor's size, i.e. on how many rows share the batch. These tests compare each row of
a batch of rows with the same row computed alone (forward and backward), for every
activation the MLP engine has, for the functions ``tail_free_mode`` reroutes, and for the
functions the engines use bare (so a torch upgrade that makes one of them tail-sensitive
fails here).
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from atomcheck.engine.elementwise import BLOCK, tail_free, tail_free_mode  # noqa: E402
from atomcheck.engine.layers import TAIL_SENSITIVE, act_backward, activation  # noqa: E402
from atomcheck.models import ACTIVATIONS, activate, configure_torch  # noqa: E402

configure_torch(1)

#: Rows x samples x width: odd sizes, so a row's elements straddle the vector blocks.
SHAPES = ((7, 3, 5), (9, 7, 13), (5, 10, 7))
TRIALS = 6


def _rows_differ(fn, dtype=torch.float32, grad=True) -> int:
    """How many (row, trial) pairs give different bits in a batch and alone."""
    gen = torch.Generator().manual_seed(7)
    differ = 0
    for shape in SHAPES:
        for _ in range(TRIALS):
            x = (torch.randn(shape, generator=gen, dtype=dtype) * 3).requires_grad_(grad)
            y = fn(x)
            g = torch.randn(y.shape, generator=gen, dtype=dtype)
            gx = torch.autograd.grad(y, x, g)[0] if grad else None
            for r in range(shape[0]):
                xr = x.detach()[r:r + 1].clone().requires_grad_(grad)
                yr = fn(xr)
                same = torch.equal(yr.detach()[0], y.detach()[r])
                if grad:
                    same = same and torch.equal(torch.autograd.grad(yr, xr, g[r:r + 1])[0][0],
                                                gx[r])
                differ += not same
    return differ


def test_sigmoid_elu_and_pow_are_tail_sensitive_in_torch_itself() -> None:
    # The reason for tail_free: without it a row's bits depend on the batch. (Measured in
    # torch 2.13 on x86; if a future torch fixes its kernels, this test says so.)
    assert _rows_differ(torch.sigmoid) > 0
    assert _rows_differ(F.elu) > 0
    assert _rows_differ(lambda t: t ** 4) > 0


def test_fourth_power_loss_is_row_independent() -> None:
    from atomcheck.engine.losses import row_loss

    assert _rows_differ(lambda out: row_loss("fourth_power", out, None, out.cos())) == 0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_every_engine_activation_is_row_independent(name: str, dtype) -> None:
    assert _rows_differ(lambda z: activation(name, z), dtype) == 0, name
    # and the hand-written backward (given z and a = act(z)), as manual_step calls it
    def backward(z):
        da = torch.cos(z.detach()) * 2.0  # a fixed incoming gradient (row-independent op)
        return act_backward(name, da, z.detach(), activation(name, z.detach()))
    assert _rows_differ(backward, dtype, grad=False) == 0, name


def test_only_tail_sensitive_activations_are_padded() -> None:
    z = torch.linspace(-2, 2, 3 * BLOCK + 5).reshape(1, -1, 1)
    for name in ACTIVATIONS:
        # same values as the reference definition (bitwise on the vector path, and the
        # scalar tail of an unpadded call is the only place they may differ)
        assert torch.allclose(activation(name, z), activate(name, z), rtol=1e-6, atol=1e-7)
    assert TAIL_SENSITIVE == {"sigmoid", "elu"}


def test_tail_free_keeps_shape_grad_and_values() -> None:
    x = torch.randn(3, 5, 7, dtype=torch.float64, requires_grad=True)
    y = tail_free(torch.sigmoid, x)
    assert y.shape == x.shape
    assert torch.allclose(y, torch.sigmoid(x), rtol=1e-15, atol=0)
    (g,) = torch.autograd.grad(y.sum(), x)
    assert torch.allclose(g, y * (1 - y), rtol=1e-12)
    # two inputs, and a size that needs no padding
    a, b = torch.randn(2, BLOCK), torch.randn(2, BLOCK)
    assert torch.equal(tail_free(torch.mul, a, b), a * b)


MODE_FUNCTIONS = {
    "sigmoid": torch.sigmoid, "Tensor.sigmoid": lambda t: t.sigmoid(),
    "F.sigmoid": F.sigmoid, "expit": torch.special.expit,
    "elu": F.elu, "elu(alpha)": lambda t: F.elu(t, 0.7), "selu": F.selu, "celu": F.celu,
    "gelu": F.gelu, "gelu(tanh)": lambda t: F.gelu(t, approximate="tanh"), "silu": F.silu,
    "mish": F.mish, "softplus": F.softplus, "softplus(beta)": lambda t: F.softplus(t, 2.0),
    "pow 1.5": lambda t: (t.abs() + 0.1) ** 1.5, "pow 0.3": lambda t: (t.abs() + 0.1).pow(0.3),
    "pow 4": lambda t: t ** 4, "torch.pow 5": lambda t: torch.pow(t, 5),
    "pow -0.5": lambda t: (t.abs() + 0.1) ** -0.5, "pow -2": lambda t: (t.abs() + 0.1) ** -2,
    "nn.Sigmoid": torch.nn.Sigmoid(), "nn.ELU": torch.nn.ELU(), "nn.GELU": torch.nn.GELU(),
    "nn.SiLU": torch.nn.SiLU(), "nn.Mish": torch.nn.Mish(), "nn.Softplus": torch.nn.Softplus(),
    "nn.SELU": torch.nn.SELU(), "nn.CELU": torch.nn.CELU(),
    "elu in place": lambda t: F.elu(t * 1.0, inplace=True),
    "silu in place (positional)": lambda t: F.silu(t * 1.0, True),
    "sigmoid_": lambda t: (t * 1.0).sigmoid_(),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", sorted(MODE_FUNCTIONS))
def test_tail_free_mode_makes_each_function_row_independent(name: str, dtype) -> None:
    fn = MODE_FUNCTIONS[name]
    with tail_free_mode():
        assert _rows_differ(fn, dtype) == 0
        x = torch.randn(5, 3, 7, dtype=dtype)
        inside = fn(x)
        per_row = torch.cat([torch.func.vmap(fn)(x[r:r + 1]) for r in range(5)])
        assert torch.equal(torch.func.vmap(fn)(x), per_row)  # under vmap too
    assert torch.allclose(inside, fn(x), rtol=1e-6 if dtype == torch.float32 else 1e-14)


def test_tail_free_mode_leaves_other_calls_alone() -> None:
    x = torch.randn(4, 9)
    with tail_free_mode():
        assert torch.equal(torch.relu(x), x.clamp_min(0))
        assert torch.equal(x ** 2, x * x)  # integer powers are exact: not rerouted
        assert torch.equal(torch.tanh(x), torch.tanh(x))
        assert torch.equal(torch.arange(5) ** 0.5, torch.arange(5) ** 0.5)  # ints: untouched


# Functions the engines call bare, trusting their kernels to treat every element alike.
BARE = {
    "relu": F.relu, "leaky_relu": F.leaky_relu, "tanh": torch.tanh, "sin": torch.sin,
    "exp": torch.exp, "expm1": torch.expm1, "log1p": lambda t: torch.log1p(t.abs()),
    "sqrt": lambda t: torch.sqrt(t.abs() + 0.1), "rsqrt": lambda t: torch.rsqrt(t.abs() + 0.1),
    "sign": torch.sign, "square": torch.square, "pow 3": lambda t: t.pow(3),
    "pow 2": lambda t: t ** 2, "pow 0.5": lambda t: (t.abs() + 0.1) ** 0.5,
    "pow -1": lambda t: (t.abs() + 0.1) ** -1, "softmax": lambda t: torch.softmax(t, -1),
    "log_softmax": lambda t: torch.log_softmax(t, -1),
    "mean over samples": lambda t: t.mean(1), "sum over a row": lambda t: t.sum(dim=(1, 2)),
    "vector_norm": lambda t: torch.linalg.vector_norm(t, dim=(1, 2)),
    "layer_norm": lambda t: F.layer_norm(t, t.shape[-1:]),
    "hardtanh": F.hardtanh, "relu6": F.relu6, "hardswish": F.hardswish,
    "addcmul": lambda t: torch.addcmul(t, t, t.cos(), value=0.3),
    "addcdiv": lambda t: torch.addcdiv(t, t, t.abs() + 1, value=-0.01),
    "lerp": lambda t: torch.lerp(t, t.cos(), 0.1),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", sorted(BARE))
def test_functions_used_bare_are_row_independent(name: str, dtype) -> None:
    assert _rows_differ(BARE[name], dtype) == 0
