"""Layers of the batched engine: the hand-written forward and backward passes.

Each linear layer's weight and bias live in one *augmented* matrix ``(rows, in + 1, out)``
whose last row is the bias, and every layer input carries a trailing column of ones, so a
forward layer is one ``bmm`` and a layer's whole gradient (weight and bias) is one
``bmm`` too. Layer inputs are written into persistent buffers whose transposed views are
built once, which keeps the Python and dispatcher work per step to about 15-20 torch
calls. For plain SGD the update is folded into the backward pass (``addcmul_`` /
``baddbmm_`` straight into the parameters), so gradients are never materialised.

The activations' forward definitions are :func:`atomcheck.models.activate` (this module
adds the fastest eager form of each and its backward). The step functions take the
:class:`~atomcheck.engine.run.BatchedRun` they advance, typed as :class:`StepRun` (what
they read from it), and never import it: the run loop sits above this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from atomcheck.engine.elementwise import tail_free
from atomcheck.engine.losses import loss_grad
from atomcheck.models import LEAKY_SLOPE, activate

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable, Sequence

    import torch

    from atomcheck.engine.optimizers import Optimizer
    from atomcheck.engine.rows import Run
    from atomcheck.models import MLPSpec

__all__ = ["TAIL_SENSITIVE", "Buffers", "StepRun", "act_backward", "activation",
           "forward_activation", "manual_step"]

_OUT_FNS = ("relu", "tanh", "sin", "sign", "square")
#: Activations whose torch kernel (forward or backward) rounds its scalar tail differently
#: from its vector loop, so they run through :func:`~atomcheck.engine.elementwise.tail_free`
#: (a row's values must not depend on the batch;
#: tests/integration/test_engine_elementwise.py checks every activation).
TAIL_SENSITIVE = frozenset({"sigmoid", "elu"})


def activation(name: str, z: torch.Tensor) -> torch.Tensor:
    """:func:`atomcheck.models.activate`, with each row's values independent of the batch."""
    if name in TAIL_SENSITIVE:
        return tail_free(lambda t: activate(name, t), z)
    return activate(name, z)


def act_backward(name: str, da: torch.Tensor, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Gradient through activation ``name`` given its input ``z`` and output ``a``."""
    import torch

    aten = torch.ops.aten
    if name == "relu":
        return aten.threshold_backward.default(da, a, 0)
    if name == "leaky_relu":
        return aten.leaky_relu_backward.default(da, z, LEAKY_SLOPE, False)
    if name == "elu":
        return tail_free(lambda d, x: aten.elu_backward.default(d, 1.0, 1, 1, False, x), da, z)
    if name == "tanh":
        return aten.tanh_backward.default(da, a)
    if name == "sigmoid":
        return aten.sigmoid_backward.default(da, a)
    if name == "sign":
        return torch.zeros_like(da)
    if name == "square":
        return (da * z).mul_(2.0)
    if name == "sin":
        return da * torch.cos(z)
    return da


def forward_activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The fastest eager implementation of activation ``name`` (same values as
    :func:`atomcheck.models.activate`)."""
    import torch

    fast = {"relu": torch.relu, "tanh": torch.tanh, "sin": torch.sin, "sign": torch.sign,
            "square": torch.square}
    if name in fast:
        return fast[name]
    return lambda z: activation(name, z)


class StepRun(Protocol):
    """What one step reads from the run it advances (a :class:`~atomcheck.engine.run.BatchedRun`).

    Weights live in augmented matrices ``WA`` (``WT``: their weight parts, transposed);
    ``sx``/``sxT``/``stgt``/``slab``/``smasks`` are the epoch's per-step slices of inputs
    (with a ones column), their transposes, targets, labels and dropout masks.
    """

    @property
    def base(self) -> MLPSpec: ...
    @property
    def dt(self) -> torch.dtype: ...
    @property
    def dev(self) -> torch.device: ...
    @property
    def WA(self) -> list[torch.Tensor]: ...
    @property
    def WT(self) -> list[torch.Tensor]: ...
    @property
    def plan(self) -> list[int]: ...
    @property
    def k(self) -> int: ...
    @property
    def residual(self) -> list[bool]: ...
    @property
    def sx(self) -> Sequence[torch.Tensor]: ...
    @property
    def sxT(self) -> Sequence[torch.Tensor]: ...
    @property
    def stgt(self) -> Sequence[torch.Tensor]: ...
    @property
    def slab(self) -> Sequence[torch.Tensor] | None: ...
    @property
    def smasks(self) -> Sequence[Sequence[torch.Tensor]] | None: ...
    @property
    def buffers(self) -> Buffers: ...
    @property
    def loss_runs(self) -> list[Run]: ...
    @property
    def check_limit(self) -> float: ...
    @property
    def fused_runs(self) -> list[tuple[int, int, float]]: ...
    @property
    def fused_ids(self) -> frozenset[int]: ...
    @property
    def act_name(self) -> str: ...
    @property
    def fwd_act(self) -> Callable[[torch.Tensor], torch.Tensor]: ...
    @property
    def bwd_act(self) -> Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]: ...
    @property
    def opt(self) -> Optimizer: ...

    def bad_rows(self, out: torch.Tensor, lab: torch.Tensor | None, tgt: torch.Tensor
                 ) -> list[int]: ...


def _act_into(run: StepRun, z: torch.Tensor, view: torch.Tensor) -> torch.Tensor:
    """Write ``act(z)`` into ``view`` (a layer-input buffer) and return it."""
    import torch

    name = run.act_name
    if name == "relu":
        return torch.clamp_min(z, 0.0, out=view)
    if name in _OUT_FNS:
        return getattr(torch, name)(z, out=view)
    return view.copy_(run.fwd_act(z))


class Buffers:
    """Layer-input buffers ``(rows, b, width + 1)`` (last column ones) per batch size."""

    def __init__(self, run: StepRun) -> None:
        self.run = run
        self.cache: dict[tuple[int, int], tuple[list[Any], list[Any], list[Any]]] = {}

    def get(self, rows: int, b: int) -> tuple[list[Any], list[Any], list[Any]]:
        """``(buffers, their transposes, their non-augmented views)`` for ``b`` samples."""
        import torch

        key = (rows, b)
        if key not in self.cache:
            if any(r != rows for r, _ in self.cache):  # rows were retired
                self.cache.clear()
            run = self.run
            bufs = [torch.ones((rows, b, w + 1), dtype=run.dt, device=run.dev)
                    for w in run.base.widths]
            self.cache[key] = (bufs, [t.transpose(1, 2) for t in bufs],
                               [t[:, :, :-1] for t in bufs])
        return self.cache[key]


def manual_step(run: StepRun, i: int, epoch: int, gacc: torch.Tensor | None) -> list[int]:
    """One training step on step-slice ``i`` of the epoch; returns rows to retire."""
    import torch

    wa, plan, k, residual = run.WA, run.plan, run.k, run.residual
    masks = run.smasks[i] if run.smasks is not None else None
    h = run.sx[i]
    hts = [run.sxT[i]]
    bufs, bufts, views = run.buffers.get(h.shape[0], h.shape[1])
    zs: list[Any] = []
    acts: list[Any] = []
    for j in range(k):
        z = torch.bmm(h, wa[plan[j]])
        view = views[j]
        if masks is None and not residual[j]:
            a = _act_into(run, z, view)
        else:
            a = run.fwd_act(z)
            dropped = a * masks[j] if masks is not None else a
            if residual[j]:
                torch.add(views[j - 1], dropped, out=view)
            else:
                view.copy_(dropped)
        zs.append(z)
        acts.append(a)
        h = bufs[j]
        hts.append(bufts[j])
    out = torch.bmm(h, wa[plan[-1]])
    tgt = run.stgt[i]
    if len(run.loss_runs) == 1:
        g, scale, check = loss_grad(run.loss_runs[0][2], out, tgt)
    else:
        parts = [loss_grad(key, out[s:e], tgt[s:e]) for s, e, key in run.loss_runs]
        g = torch.cat([p[0].mul_(p[1]) for p in parts])
        scale, check = 1.0, torch.stack([p[2] for p in parts]).sum()
    if not check.item() < run.check_limit:
        bad = run.bad_rows(out, run.slab[i] if run.slab is not None else None, tgt)
        if bad:
            return bad
    if scale != 1.0:  # in g for every row, so a row's arithmetic is the same batched or alone
        g.mul_(scale)
    fused = run.fused_runs
    if fused and len(fused) == len(run.opt.runs):  # every row takes plain SGD
        _backward_sgd(run, g, hts, zs, acts, masks, fused)
        return []
    grads: list[Any] = [None] * len(wa)
    dzs: list[Any] = [None] * k + [g]  # each layer's output gradient, for in-place SGD rows
    u = plan[-1]
    grads[u] = torch.bmm(hts[-1], g)
    dh = torch.bmm(g, run.WT[u])
    for j in reversed(range(k)):
        u = plan[j]
        da = dh * masks[j] if masks is not None else dh
        dz = dzs[j] = run.bwd_act(da, zs[j], acts[j])
        if grads[u] is None:
            grads[u] = torch.bmm(hts[j], dz)
        else:
            grads[u].baddbmm_(hts[j], dz)
        if j > 0:
            up = torch.bmm(dz, run.WT[u])
            dh = up.add_(dh) if residual[j] else up
    for j in range(k + 1) if fused else ():  # no shared layers here: layer j is weight j
        _sgd_update(run.WA[j], hts[j], dzs[j], fused)
    run.opt.step(grads, [gr[:, :-1] for gr in grads], epoch, gacc, skip=run.fused_ids)
    return []


def _sgd_update(w: torch.Tensor, ht: torch.Tensor, dz: torch.Tensor,
                fused: Sequence[tuple[int, int, float]]) -> None:
    """``w -= lr * ht @ dz`` for each run of rows ``(start, stop, lr)`` in ``fused``: the
    same kernel call on a row's slice whatever other rows share the batch."""
    whole = len(fused) == 1 and fused[0][0] == 0 and fused[0][1] == w.shape[0]
    for s, e, lr in fused:
        ws, hs, ds = (w, ht, dz) if whole else (w[s:e], ht[s:e], dz[s:e])
        if ds.shape[1] == 1:  # outer product: a broadcast multiply beats a k=1 matmul
            ws.addcmul_(hs, ds, value=-lr)
        else:
            ws.baddbmm_(hs, ds, alpha=-lr)


def _backward_sgd(run: StepRun, g: torch.Tensor, hts: list[torch.Tensor],
                  zs: list[torch.Tensor], acts: list[torch.Tensor],
                  masks: Any, fused: Sequence[tuple[int, int, float]]) -> None:
    """Backward pass applying each layer's SGD update (per run of rows, at the run's
    learning rate) as soon as its input gradient is known (no shared layers)."""
    import torch

    run.opt.step_count += 1
    dz, j, dh_out = g, run.k, g
    while True:
        dh = torch.bmm(dz, run.WT[j]) if j > 0 else None
        if dh is not None and j < run.k and run.residual[j]:
            dh.add_(dh_out)
        _sgd_update(run.WA[j], hts[j], dz, fused)
        if dh is None:
            return
        j -= 1
        da = dh * masks[j] if masks is not None else dh
        dz = run.bwd_act(da, zs[j], acts[j])
        dh_out = dh
