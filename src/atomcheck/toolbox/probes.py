"""Probes of a network's inside: dead ReLU units, activation variance, gradient norms.

Three measurements that claims about initialisation, activations and depth read, in two
forms each: on a plain stack of weight matrices (``h = act(h @ W)``, the form theory
claims draw by hand) and on any ``torch.nn.Module`` (through forward hooks).

* Dead ReLU units (002 §2.2): a unit is *dead* on a set of inputs when its pre-activation
  is ≤ 0 for every one of them, so its ReLU outputs 0 and passes no gradient; a layer is
  dead when all its units are. :func:`dead_unit_mask`, :func:`dead_layer_mask`,
  :func:`dead_relu_shares`.
* Activation variance per layer (002 §4.2, 004): :func:`layer_outputs`,
  :func:`activation_variances`, :func:`saturated_share`.
* Per-layer gradient norms (001 §17): :func:`layer_gradient_norms`,
  :func:`module_gradient_norms`.

Weight matrices come in one of two layouts: ``"in_out"`` (shape ``(n_in, n_out)``, applied
as ``h @ W``: :class:`atomcheck.models.TrainResult` weights) or ``"out_in"`` (shape
``(n_out, n_in)``, applied as ``h @ W.T``: ``nn.Linear.weight``). The probes do exactly
those products, so a claim that switches to them keeps its numbers bit for bit.
torch is imported inside the functions (the package never imports it on load).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from atomcheck.errors import InvalidClaim

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["dead_unit_mask", "dead_layer_mask", "dead_relu_shares", "layer_outputs",
           "activation_variances", "saturated_share", "layer_gradient_norms",
           "module_gradient_norms", "ACTIVATION_NAMES", "LAYOUTS"]

#: Activation names the probes accept (a callable works too).
ACTIVATION_NAMES = ("relu", "tanh", "sigmoid", "identity")
#: Weight layouts: ``h @ W`` or ``h @ W.T``.
LAYOUTS = ("in_out", "out_in")


# --------------------------------------------------------------------------- dead ReLU units


def dead_unit_mask(pre_activation: torch.Tensor, *, sample_dim: int = -2) -> torch.Tensor:
    """Which units are dead: pre-activation ≤ 0 on every sample.

    Parameters
    ----------
    pre_activation : Tensor
        ``(..., n_samples, n_units)`` (by default): the inputs of a ReLU layer over a set of
        samples; leading axes (e.g. many random layers at once) are kept.
    sample_dim : int
        The samples' axis.

    Returns
    -------
    Tensor of bool
        The input's shape without the samples' axis: True for a dead unit.

    Examples
    --------
    >>> import torch
    >>> dead_unit_mask(torch.tensor([[-1.0, 2.0], [0.0, -3.0]])).tolist()
    [True, False]
    """
    return (pre_activation <= 0).all(dim=sample_dim)


def dead_layer_mask(pre_activation: torch.Tensor, *, sample_dim: int = -2) -> torch.Tensor:
    """Which layers are entirely dead: every unit dead on every sample.

    ``pre_activation`` is ``(..., n_samples, n_units)``; the result drops both axes (one
    bool per layer of the leading axes).

    Examples
    --------
    >>> import torch
    >>> layers = torch.tensor([[[-1.0, -2.0], [0.0, -3.0]], [[-1.0, 2.0], [0.0, -3.0]]])
    >>> dead_layer_mask(layers).tolist()
    [True, False]
    """
    return dead_unit_mask(pre_activation, sample_dim=sample_dim).all(dim=-1)


def dead_relu_shares(model: Any, x: torch.Tensor) -> dict[str, float]:
    """Share of dead units at every ``nn.ReLU`` of ``model`` on the inputs ``x``.

    One forward pass (no gradient) with a hook on each ``torch.nn.ReLU`` records its input;
    a unit (the last axis; for conv maps, each channel at each position) is dead when its
    input is ≤ 0 for every sample of ``x``. ReLUs called as functions are not seen.

    Returns
    -------
    dict
        ReLU module name (as in ``model.named_modules()``) → share of its units that are
        dead, in forward order; a ReLU called twice keeps its last call.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU())
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))
    ...     _ = net[0].bias.zero_()
    >>> dead_relu_shares(net, torch.tensor([[1.0, 5.0], [2.0, -1.0]]))
    {'1': 0.5}
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise InvalidClaim(f"dead_relu_shares: model={type(model).__name__} is not a "
                           "torch.nn.Module.")
    seen: dict[str, torch.Tensor] = {}
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ReLU):
            def hook(_m: Any, inputs: tuple[torch.Tensor, ...], _out: Any, name: str = name
                     ) -> None:
                seen[name] = inputs[0].detach()
            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return {name: float(dead_unit_mask(pre.reshape(len(pre), -1), sample_dim=0).double().mean())
            for name, pre in seen.items()}


# --------------------------------------------------------------------------- activation variance


def _activation(activation: str | Callable[[Any], Any]) -> Callable[[Any], Any]:
    import torch

    if callable(activation):
        return activation
    table = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
             "identity": lambda z: z}
    if activation not in table:
        raise InvalidClaim(f"probes: activation={activation!r} is not one of "
                           f"{list(ACTIVATION_NAMES)}; pass one of them or a callable.")
    return table[activation]


def _apply(h: torch.Tensor, w: torch.Tensor, layout: str) -> torch.Tensor:
    if layout == "in_out":
        return h @ w
    if layout == "out_in":
        return h @ w.T
    raise InvalidClaim(f"probes: layout={layout!r} is not one of {list(LAYOUTS)}: 'in_out' "
                       "for (n_in, n_out) weights applied as h @ W, 'out_in' for nn.Linear's "
                       "(n_out, n_in) applied as h @ W.T.")


def layer_outputs(x: torch.Tensor, weights: Sequence[torch.Tensor],
                  activation: str | Callable[[Any], Any] = "relu", *,
                  biases: Sequence[torch.Tensor] | None = None,
                  layout: str = "in_out") -> list[torch.Tensor]:
    """Each layer's output of the stack ``h = act(h @ W_i + b_i)``, starting from ``x``.

    Every matrix is followed by the activation (pass only hidden layers for hidden
    outputs). ``biases`` default to none (zero).

    Examples
    --------
    >>> import torch
    >>> outs = layer_outputs(torch.ones(1, 2), [torch.eye(2), -torch.eye(2)], "relu")
    >>> [o.tolist() for o in outs]
    [[[1.0, 1.0]], [[0.0, 0.0]]]
    """
    act = _activation(activation)
    if biases is not None and len(biases) != len(weights):
        raise InvalidClaim(f"layer_outputs: {len(weights)} weight matrices but {len(biases)} "
                           "biases; give one bias per matrix or none.")
    h, outs = x, []
    for i, w in enumerate(weights):
        z = _apply(h, w, layout)
        h = act(z if biases is None else z + biases[i])
        outs.append(h)
    return outs


def activation_variances(x: torch.Tensor, weights: Sequence[torch.Tensor],
                         activation: str | Callable[[Any], Any] = "relu", *,
                         biases: Sequence[torch.Tensor] | None = None,
                         layout: str = "in_out") -> list[float]:
    """The variance of each layer's output (over samples and units together, unbiased,
    as ``Tensor.var()``) through the stack of :func:`layer_outputs`.

    Examples
    --------
    >>> import torch
    >>> activation_variances(torch.tensor([[1.0], [3.0]]), [2 * torch.eye(1)], "identity")
    [8.0]
    """
    return [float(h.var()) for h in layer_outputs(x, weights, activation, biases=biases,
                                                  layout=layout)]


def saturated_share(a: torch.Tensor, threshold: float = 0.99) -> float:
    """Share of activations with ``|a| > threshold`` (saturated tanh/sigmoid-like units;
    for a sigmoid pass ``2*a - 1``).

    Examples
    --------
    >>> import torch
    >>> saturated_share(torch.tensor([0.5, -0.995, 1.0, 0.0]))
    0.5
    """
    return float((a.abs() > threshold).double().mean())


# --------------------------------------------------------------------------- gradient norms


def layer_gradient_norms(x: torch.Tensor, y: torch.Tensor, weights: Sequence[torch.Tensor],
                         activation: str | Callable[[Any], Any] = "relu", *,
                         layout: str = "in_out", loss: str = "cross_entropy"
                         ) -> list[float]:
    """Frobenius norm of the loss gradient for each weight matrix of a bias-free MLP.

    The net is ``act(... act(x W_1) ...) W_last``: every matrix but the last is followed by
    the activation, the last gives the outputs; ``loss`` is ``"cross_entropy"`` (``y``
    class labels) or ``"mse"`` (``y`` targets shaped like the outputs). The matrices must
    require gradients (leaf tensors); they are not modified and their ``.grad`` is left
    alone (the gradient is taken with ``torch.autograd.grad``).

    Examples
    --------
    >>> import torch
    >>> w = [torch.ones(1, 1, requires_grad=True), torch.ones(1, 1, requires_grad=True)]
    >>> layer_gradient_norms(torch.ones(1, 1), torch.zeros(1, 1), w, "identity", loss="mse")
    [2.0, 2.0]
    """
    import torch

    if not weights:
        raise InvalidClaim("layer_gradient_norms: weights is empty; pass the net's matrices.")
    if not all(w.requires_grad for w in weights):
        raise InvalidClaim("layer_gradient_norms: every weight must require gradients; call "
                           "w.requires_grad_(True) on the leaf tensors first.")
    hidden = layer_outputs(x, weights[:-1], activation, layout=layout)
    out = _apply(hidden[-1] if hidden else x, weights[-1], layout)
    if loss == "cross_entropy":
        value = torch.nn.functional.cross_entropy(out, y)
    elif loss == "mse":
        value = torch.nn.functional.mse_loss(out, y)
    else:
        raise InvalidClaim(f"layer_gradient_norms: loss={loss!r} is not 'cross_entropy' or "
                           "'mse'.")
    grads = torch.autograd.grad(value, list(weights))
    return [float(g.norm()) for g in grads]


def module_gradient_norms(model: Any, x: torch.Tensor, y: torch.Tensor, *,
                          loss: str = "cross_entropy") -> dict[str, float]:
    """Frobenius norm of the loss gradient of every weight (not bias) of ``model``.

    One forward and backward pass on ``(x, y)`` with ``torch.autograd.grad`` (the
    parameters' ``.grad`` is left alone). Weights are the parameters with two or more
    dimensions (linear and conv kernels), keyed by their name in ``named_parameters()``,
    in order — the first is the first layer's, so ``norms[first] / norms[last]`` is the
    ratio that vanishing-gradient claims read.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    >>> sorted(module_gradient_norms(net, torch.ones(5, 3), torch.zeros(5, dtype=torch.long)))
    ['0.weight', '2.weight']
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise InvalidClaim(f"module_gradient_norms: model={type(model).__name__} is not a "
                           "torch.nn.Module.")
    named = [(n, p) for n, p in model.named_parameters() if p.dim() >= 2 and p.requires_grad]
    if not named:
        raise InvalidClaim("module_gradient_norms: the model has no weight matrix that "
                           "requires gradients.")
    out = model(x)
    if loss == "cross_entropy":
        value = torch.nn.functional.cross_entropy(out, y)
    elif loss == "mse":
        value = torch.nn.functional.mse_loss(out, y)
    else:
        raise InvalidClaim(f"module_gradient_norms: loss={loss!r} is not 'cross_entropy' or "
                           "'mse'.")
    grads = torch.autograd.grad(value, [p for _, p in named])
    return {name: float(g.norm()) for (name, _), g in zip(named, grads)}
