"""Element-wise functions whose value for one row does not depend on the rest of the batch.

torch's CPU kernels run the elements of a contiguous tensor through a vector loop, two
SIMD registers at a time, and finish the last ``numel % block`` elements with a scalar
loop. For most functions the two loops compute the same bits. For some they do not: in
torch 2.13 on x86 (measured in tests/integration/test_engine_elementwise.py) sigmoid, elu,
selu, celu, silu, mish, softplus, gelu and ``pow`` (``x ** 4``: any exponent but 2, 3, 0.5
and -1), forward or backward. Which elements fall in the scalar tail depends on the
tensor's total size — on how many seeds and configurations share the batch — so a seed's
last bits depended on its companions, and training amplifies last bits.

:func:`tail_free` pads a flat copy of its inputs with zeros to a multiple of
:data:`BLOCK` elements, so the scalar loop never runs and every element goes through the
vector loop, whose lanes all compute alike; under autograd the backward kernel runs on
the padded tensors too. The MLP engine calls it for its activations that need it
(:mod:`atomcheck.engine.layers`); :func:`tail_free_mode` reroutes those functions when a
user's module calls them (the module path's training forward, :mod:`atomcheck.engine.modules`).

The guarantee needs one intra-op thread (atomcheck's setting, ``configure_torch``): with
more, torch splits a large tensor between threads at positions that are not multiples of
:data:`BLOCK`, and each piece has its own tail.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["BLOCK", "TAIL_SENSITIVE_MODULES", "tail_free", "tail_free_mode"]

#: Elements per padded block: two AVX-512 registers of float32 (the widest vector loop
#: step of torch's CPU kernels is 2 x 16 float32 or 2 x 32 bfloat16), so any multiple of
#: it leaves no scalar tail on any x86 or ARM build.
BLOCK = 64

#: Exponents torch's ``pow`` turns into multiplications, square roots or reciprocals (the
#: same bits in its vector and scalar loops); any other exponent calls ``pow`` itself.
_EXACT_POWERS = frozenset({2.0, 3.0, 0.5, -1.0})

#: The ``torch.nn`` activation modules that call a tail-sensitive function (what the
#: packed module path wraps in :func:`tail_free`; :func:`tail_free_mode` covers the same
#: functions for any other module).
TAIL_SENSITIVE_MODULES = frozenset({"Sigmoid", "ELU", "SELU", "CELU", "SiLU", "Mish",
                                    "Softplus", "GELU"})


def tail_free(fn: Callable[..., torch.Tensor], *tensors: torch.Tensor) -> torch.Tensor:
    """``fn(*tensors)`` computed so that no element goes through a kernel's scalar tail.

    Parameters
    ----------
    fn : callable
        An element-wise function of the tensors (same shapes), e.g. ``torch.sigmoid``.
    *tensors : torch.Tensor
        Its inputs, all of one shape.

    Returns
    -------
    torch.Tensor
        The result, of the inputs' shape; each element depends only on its own inputs
        (not on the tensor's size or the element's position in it).

    Examples
    --------
    >>> import torch
    >>> x = torch.linspace(-3, 3, 70)
    >>> torch.equal(tail_free(torch.sigmoid, x)[65:], tail_free(torch.sigmoid, x[65:]))
    True
    """
    import torch.nn.functional as F

    shape = tensors[0].shape
    n = tensors[0].numel()
    extra = -n % BLOCK
    flat = [t.reshape(-1) for t in tensors]
    if extra:
        flat = [F.pad(t, (0, extra)) for t in flat]
    out = fn(*flat)
    return (out[:n] if extra else out).reshape(shape)


def tail_free_mode() -> Any:
    """A context manager under which torch's tail-sensitive element-wise functions are
    computed with :func:`tail_free` (a ``TorchFunctionMode``; other calls pass through).

    Covers sigmoid (``torch.sigmoid``, ``Tensor.sigmoid``, ``F.sigmoid``,
    ``torch.special.expit``, in place too), ``F.elu``/``selu``/``celu``/``silu``/``mish``/
    ``softplus``/``gelu`` (the ``nn`` modules of the same names call these) and ``pow``
    with a number exponent that torch does not special-case (``x ** 4``, ``x ** 1.5``).

    Examples
    --------
    >>> import torch
    >>> x = torch.linspace(-3, 3, 70)
    >>> with tail_free_mode():
    ...     a, b = torch.sigmoid(x)[65:], torch.sigmoid(x[65:])
    >>> torch.equal(a, b)
    True
    """
    return _mode_class()()


@functools.cache
def _mode_class() -> type:
    import torch
    import torch.nn.functional as F
    from torch.overrides import TorchFunctionMode

    # function -> position of its ``inplace`` argument (None: it has none)
    unary: dict[Any, int | None] = {
        torch.sigmoid: None, torch.Tensor.sigmoid: None, F.sigmoid: None,
        torch.special.expit: None, torch.selu: None, torch.celu: None,
        F.elu: 2, F.celu: 2, F.selu: 1, F.silu: 1, F.mish: 1, F.softplus: None, F.gelu: None}
    in_place = {torch.sigmoid_: torch.sigmoid, torch.Tensor.sigmoid_: torch.sigmoid,
                torch.selu_: torch.selu, torch.celu_: torch.celu}
    powers = {torch.pow, torch.Tensor.pow, torch.Tensor.__pow__}

    def generic(e: Any) -> bool:  # torch computes these exponents with pow() itself
        return isinstance(e, numbers.Real) and float(e) not in _EXACT_POWERS

    class TailFreeMode(TorchFunctionMode):
        """Reroutes tail-sensitive element-wise functions through :func:`tail_free`."""

        def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (),
                               kwargs: dict[str, Any] | None = None) -> Any:
            kwargs = dict(kwargs or {})
            x = args[0] if args else None
            if not isinstance(x, torch.Tensor) or not x.is_floating_point():
                return func(*args, **kwargs)
            if func in unary:
                slot, rest = unary[func], list(args[1:])
                inplace = False
                if slot is not None:
                    if len(args) > slot:
                        inplace, rest = bool(args[slot]), list(args[1:slot])
                    inplace = bool(kwargs.pop("inplace", inplace))
                out = tail_free(lambda t: func(t, *rest, **kwargs), x)
                return x.copy_(out) if inplace else out
            if func in in_place:
                plain = in_place[func]
                return x.copy_(tail_free(lambda t: plain(t, *args[1:], **kwargs), x))
            if func in powers and len(args) == 2 and not kwargs and generic(args[1]):
                return tail_free(lambda t: func(t, args[1]), x)
            return func(*args, **kwargs)

    return TailFreeMode
