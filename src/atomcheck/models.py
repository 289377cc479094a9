"""Model specs and the per-seed reference trainer.

:class:`MLPSpec` describes a small multi-layer perceptron and how to train it;
:func:`train` trains one seed of it with plain autograd and ``torch.optim`` (the oracle the
batched engine in :mod:`atomcheck.engine` is tested against). :class:`Task` binds a
dataset builder to a spec so a sweep can run ``task(seed, **config)``;
:func:`module_task` and :func:`sklearn_task` do the same for any ``nn.Module`` factory or
scikit-learn estimator. torch and scikit-learn are imported lazily.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from atomcheck import _engine_common as _c
from atomcheck.errors import InvalidClaim
from atomcheck.seeding import rng

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from atomcheck.data import Dataset

__all__ = ["MLPSpec", "TrainResult", "Task", "train", "configure_torch", "module_task",
           "sklearn_task"]

_TORCH_CONFIGURED = False


def configure_torch(threads: int = 1) -> None:
    """Set torch's intra-op thread count for this process (default 1).

    Tiny networks run 5-50x faster on one thread than on torch's default on a small
    machine; :func:`train` and the engine call this once, lazily, unless you did first.

    Examples
    --------
    >>> configure_torch(1)
    """
    global _TORCH_CONFIGURED
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise InvalidClaim(f"threads={threads!r} must be an integer >= 1. Pass e.g. 1.")
    import torch

    torch.set_num_threads(threads)
    _TORCH_CONFIGURED = True


def _ensure_torch() -> None:
    if not _TORCH_CONFIGURED:
        configure_torch(1)


def _bad(name: str, value: object, rule: str, fix: str) -> InvalidClaim:
    return InvalidClaim(f"MLPSpec: {name}={value!r} {rule}. {fix}")


def _real(name: str, value: Any, *, low: float | None = None, strict: bool = False) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
        raise _bad(name, value, "must be a finite number", f"Pass e.g. {name}=0.1.")
    if low is not None and (value <= low if strict else value < low):
        raise _bad(name, value, f"must be {'>' if strict else '>='} {low}", "Pass a larger value.")
    return float(value)


def _count(name: str, value: Any, low: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise _bad(name, value, f"must be an integer >= {low}", f"Pass e.g. {name}={max(low, 1)}.")
    return int(value)


def _choice(name: str, value: Any, valid: tuple[Any, ...]) -> None:
    if value not in valid:
        raise _bad(name, value, f"is not one of {list(valid)}", "Use one of the listed names.")


@dataclass(frozen=True)
class MLPSpec:
    """A small MLP and its training recipe; validated on construction.

    Parameters
    ----------
    widths : tuple of int
        Hidden widths only, e.g. ``(64, 64)``; input and output sizes come from the data.
    activation : str
        relu, leaky_relu (slope 0.01), elu, tanh, sigmoid, identity, sign, square, sin.
    init : str
        xavier_uniform, xavier_normal, he_uniform, he_normal, gaussian (sigma=init_scale),
        scaled_normal (N(0, 1/n_in)), constant (value init_scale), orthogonal,
        torch_default (nn.Linear's). Other inits multiply their draw by ``init_scale``.
    init_scale : float
    loss : str
        cross_entropy, mse, abs, hinge (multi-class margin), fourth_power, constant. For
        classes, mse/abs/fourth_power compare raw outputs with one-hot targets.
    optimizer : str
        sgd, momentum, nesterov, adagrad, rmsprop, adam (torch.optim defaults otherwise).
    lr, momentum : float
    batch_size, epochs : int
        ``batch_size`` is clipped to the training-set size.
    l1, l2 : float
        Penalties ``l1*sum|W|`` and ``l2*sum W**2`` on weights (not biases) added to the loss.
    weight_decay : float
        Decoupled decay ``W *= 1 - lr*weight_decay`` on weights before each step.
    dropout : float
        Inverted dropout after each hidden activation, in [0, 1).
    norm : {None, "batch", "layer", "group"}
        Normalisation after each hidden linear layer (affine; group norm uses gcd(width, 8) groups).
    residual : bool
        Hidden layer j >= 2 adds its input when its width equals the previous one.
    shared_hidden : bool
        Hidden layers 2..n share one linear layer (needs >= 2 equal widths).
    clip_norm : float or None
        Per-seed global gradient-norm clipping (as ``clip_grad_norm_``).
    lr_schedule : {None, "step", "cosine"}
        Per epoch: halve every ``epochs//3`` epochs, or cosine from lr to 0.
    history, snapshots, grad_norms : bool
        Record per-epoch metrics, weights (epoch 0 = initial), mean per-layer gradient norms.
    dtype : {"float32", "float64"}

    Examples
    --------
    >>> MLPSpec(widths=(8,), optimizer="adam").replace(lr=1e-3).lr
    0.001
    """

    widths: tuple[int, ...]
    activation: str = "relu"
    init: str = "xavier_uniform"
    init_scale: float = 1.0
    loss: str = "cross_entropy"
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    batch_size: int = 32
    epochs: int = 20
    l1: float = 0.0
    l2: float = 0.0
    weight_decay: float = 0.0
    dropout: float = 0.0
    norm: str | None = None
    residual: bool = False
    shared_hidden: bool = False
    clip_norm: float | None = None
    lr_schedule: str | None = None
    history: bool = False
    snapshots: bool = False
    grad_norms: bool = False
    dtype: str = "float32"

    def __post_init__(self) -> None:
        put = object.__setattr__
        widths = self.widths
        if isinstance(widths, numbers.Integral) and not isinstance(widths, bool):
            widths = (widths,)
        if not isinstance(widths, (tuple, list)) or not widths or not all(
                isinstance(w, numbers.Integral) and not isinstance(w, bool) and w >= 1
                for w in widths):
            raise _bad("widths", self.widths, "must be a non-empty sequence of integers >= 1",
                       "Pass hidden widths such as widths=(64, 64).")
        put(self, "widths", tuple(int(w) for w in widths))
        _choice("activation", self.activation, _c.ACTIVATIONS)
        _choice("init", self.init, _c.INITS)
        _choice("loss", self.loss, _c.LOSSES)
        _choice("optimizer", self.optimizer, _c.OPTIMIZERS)
        _choice("norm", self.norm, _c.NORMS)
        _choice("lr_schedule", self.lr_schedule, _c.SCHEDULES)
        _choice("dtype", self.dtype, _c.DTYPES)
        put(self, "init_scale", _real("init_scale", self.init_scale))
        put(self, "lr", _real("lr", self.lr, low=0.0, strict=True))
        put(self, "momentum", _real("momentum", self.momentum, low=0.0))
        if self.momentum >= 1:
            raise _bad("momentum", self.momentum, "must be < 1", "Use e.g. momentum=0.9.")
        put(self, "batch_size", _count("batch_size", self.batch_size, 1))
        put(self, "epochs", _count("epochs", self.epochs, 0))
        for name in ("l1", "l2", "weight_decay"):
            put(self, name, _real(name, getattr(self, name), low=0.0))
        put(self, "dropout", _real("dropout", self.dropout, low=0.0))
        if self.dropout >= 1:
            raise _bad("dropout", self.dropout, "must lie in [0, 1)", "Use e.g. dropout=0.5.")
        if self.clip_norm is not None:
            put(self, "clip_norm", _real("clip_norm", self.clip_norm, low=0.0, strict=True))
        for name in ("residual", "shared_hidden", "history", "snapshots", "grad_norms"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise _bad(name, getattr(self, name), "must be True or False", "Pass a bool.")
            put(self, name, bool(getattr(self, name)))
        if self.shared_hidden and (len(self.widths) < 2 or len(set(self.widths)) != 1):
            raise _bad("shared_hidden", True, f"needs >= 2 equal hidden widths, got "
                       f"widths={self.widths}", "Use equal widths such as (32, 32, 32).")

    def replace(self, **changes: Any) -> MLPSpec:
        """Return a copy with ``changes`` applied and validated.

        Examples
        --------
        >>> MLPSpec(widths=(4,)).replace(epochs=3).epochs
        3
        """
        names = [f.name for f in dataclasses.fields(self)]
        for key in changes:
            if key not in names:
                raise InvalidClaim(f"MLPSpec has no field {key!r}. Valid fields: {names}.")
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class TrainResult:
    """What one seed's training produced.

    Attributes
    ----------
    metrics : dict
        Classification: train_loss, train_accuracy, test_loss, test_accuracy,
        test_balanced_accuracy. Regression: train_loss, test_loss, train_mse, test_mse.
        Losses exclude the L1/L2 penalty. All NaN when ``diverged``.
    history : dict of list
        Per epoch, after it (empty unless ``spec.history``/``spec.grad_norms``); NaN from the
        epoch a run diverged in. ``grad_norm_<l>`` is the mean Frobenius norm of layer *l*'s
        weight gradient (penalty included, before clipping) over the epoch's steps.
    weights : list of numpy.ndarray
        Final weight matrices ``(in, out)`` per unique linear layer, float64. For a
        diverged run, the weights just before the step whose loss was not finite.
    snapshots : list of list of numpy.ndarray
        Weights per completed epoch, element 0 the initial ones (when ``spec.snapshots``).
    diverged : bool
        A minibatch loss or a final metric was NaN/inf.
    wall_s : float
    """

    metrics: dict[str, float]
    history: dict[str, list[float]] = field(default_factory=dict)
    weights: list[np.ndarray] = field(default_factory=list)
    snapshots: list[list[np.ndarray]] = field(default_factory=list)
    diverged: bool = False
    wall_s: float = 0.0

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self.metrics.items())
        return (f"TrainResult({shown}, diverged={self.diverged}, "
                f"weights={[w.shape for w in self.weights]}, epochs_recorded="
                f"{len(next(iter(self.history.values()), []))}, snapshots={len(self.snapshots)}, "
                f"wall_s={self.wall_s:.3g})")


def metric_names(n_classes: int) -> tuple[str, ...]:
    """The keys of :attr:`TrainResult.metrics` for a dataset with ``n_classes``."""
    if n_classes:
        return ("train_loss", "train_accuracy", "test_loss", "test_accuracy",
                "test_balanced_accuracy")
    return ("train_loss", "test_loss", "train_mse", "test_mse")


def history_names(n_classes: int) -> tuple[str, ...]:
    """The per-epoch history keys (before gradient norms)."""
    if n_classes:
        return ("train_loss", "train_accuracy", "test_loss", "test_accuracy")
    return ("train_loss", "test_loss", "train_mse", "test_mse")


def reference_loss(loss: str, out: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Mean loss of ``out`` against labels/targets ``y`` (torch.nn.functional semantics)."""
    import torch.nn.functional as F

    if loss == "constant":
        return 0.0 * out.sum() + 1.0
    if n_classes:
        if loss == "cross_entropy":
            return F.cross_entropy(out, y)
        if loss == "hinge":
            return F.multi_margin_loss(out, y)
        y = F.one_hot(y, n_classes).to(out.dtype)
    if loss == "mse":
        return F.mse_loss(out, y)
    if loss == "abs":
        return F.l1_loss(out, y)
    return ((out - y) ** 4).mean()


def _forward(spec: MLPSpec, layers: list[tuple[Any, Any]], plan: list[int], norms: list[Any],
             x: torch.Tensor, training: bool, masks: list[torch.Tensor] | None) -> torch.Tensor:
    h = x
    for j in range(len(spec.widths)):
        w, b = layers[plan[j]]
        z = h @ w + b
        if spec.norm:
            gamma, beta, running = norms[j]
            z = _c.norm_apply(spec.norm, z, gamma, beta, running, training)
        a = _c.activate(spec.activation, z)
        if masks is not None:
            a = a * masks[j]
        h = h + a if _c.residual_at(spec, j) else a
    w, b = layers[plan[-1]]
    return h @ w + b


def _evaluate(loss: str, n_classes: int, out: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    value = float(reference_loss(loss, out, y, n_classes))
    if n_classes:
        acc, bal = _c.classification_metrics(out.argmax(-1).cpu().numpy(), y.cpu().numpy(),
                                             n_classes)
        return {"loss": value, "accuracy": acc, "balanced_accuracy": bal}
    return {"loss": value, "mse": float(((out - y) ** 2).mean())}


def _split_metrics(n_classes: int, tr: dict[str, float], te: dict[str, float]) -> dict[str, float]:
    both = {f"train_{k}": v for k, v in tr.items()} | {f"test_{k}": v for k, v in te.items()}
    return {k: both[k] for k in metric_names(n_classes)}


def torch_optimizer(name: str, params: list[Any], lr: float, momentum: float = 0.9) -> Any:
    """Build the ``torch.optim`` optimiser behind an optimiser name."""
    import torch

    if name in ("sgd", "momentum", "nesterov"):
        m = 0.0 if name == "sgd" else momentum
        return torch.optim.SGD(params, lr=lr, momentum=m, nesterov=name == "nesterov")
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, eps=_c.ADAGRAD_EPS)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=_c.RMSPROP_ALPHA, eps=_c.RMSPROP_EPS)
    return torch.optim.Adam(params, lr=lr, betas=_c.ADAM_BETAS, eps=_c.ADAM_EPS)


def data_tensors(data: Dataset, dtype: Any, device: Any) -> tuple[Any, Any, Any, Any]:
    """``(x_train, y_train, x_test, y_test)`` as tensors (labels int64, targets 2-D)."""
    import torch

    def ys(y: np.ndarray) -> torch.Tensor:
        if data.n_classes:
            return torch.as_tensor(np.asarray(y, dtype=np.int64), device=device)
        return torch.as_tensor(np.asarray(y).reshape(len(y), -1), dtype=dtype, device=device)

    def xs(x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x), device=device).to(dtype)

    return xs(data.x_train), ys(data.y_train), xs(data.x_test), ys(data.y_test)


def train(spec: MLPSpec, data: Dataset, *, seed: int, device: str = "cpu") -> TrainResult:
    """Train one seed of ``spec`` on ``data`` (the per-seed reference trainer).

    Parameters
    ----------
    spec : MLPSpec
    data : Dataset
    seed : int
        Drives the initial weights (``derive_seed(seed, "init")``), the shuffle order
        (``rng(seed, "shuffle")``) and the dropout masks (``derive_seed(seed, "dropout")``).
    device : str
        ``"cpu"`` or ``"cuda"``.

    Returns
    -------
    TrainResult
        A diverged run (non-finite minibatch loss) stops there with NaN metrics.

    Examples
    --------
    >>> from atomcheck.data import gaussian_mixture
    >>> r = train(MLPSpec(widths=(8,), epochs=2), gaussian_mixture(seed=0, n_train=40), seed=0)
    >>> sorted(r.metrics)[:2], len(r.weights)
    (['test_accuracy', 'test_balanced_accuracy'], 2)
    """
    _c.check_data(spec, data)
    _ensure_torch()
    import torch

    t0 = time.perf_counter()
    dt, dev = _c.torch_dtype(spec.dtype), torch.device(device)
    x, y, xt, yt = data_tensors(data, dt, dev)
    n, n_classes = len(x), data.n_classes
    sizes, plan = _c.layer_plan(spec, data.n_features, _c.output_size(data))
    layers = [(w.to(dt).to(dev).requires_grad_(), b.to(dt).to(dev).requires_grad_())
              for w, b in _c.init_params(spec, sizes, seed)]
    weights = [w for w, _ in layers]
    params = [t for pair in layers for t in pair]
    norms: list[Any] = []
    for width in spec.widths if spec.norm else ():
        gamma = torch.ones(width, dtype=dt, device=dev, requires_grad=True)
        beta = torch.zeros(width, dtype=dt, device=dev, requires_grad=True)
        running = (torch.zeros(width, dtype=dt, device=dev), torch.ones(width, dtype=dt,
                   device=dev)) if spec.norm == "batch" else None
        norms.append((gamma, beta, running))
        params += [gamma, beta]
    opt = torch_optimizer(spec.optimizer, params, spec.lr, spec.momentum)
    shuffle = rng(seed, "shuffle")
    dgen = _c.dropout_generator(seed) if spec.dropout else None
    bs = min(spec.batch_size, n)
    keys = history_names(n_classes)
    history: dict[str, list[float]] = {k: [] for k in keys} if spec.history else {}
    history |= {f"grad_norm_{i}": [] for i in range(len(weights))} if spec.grad_norms else {}
    snapshots = [[_c.tensor_to_numpy(w) for w in weights]] if spec.snapshots else []

    def evaluate(xx: torch.Tensor, yy: torch.Tensor) -> dict[str, float]:
        with torch.no_grad():
            return _evaluate(spec.loss, n_classes, _forward(spec, layers, plan, norms, xx,
                                                            False, None), yy)

    diverged = False
    for epoch in range(spec.epochs):
        lr = _c.epoch_lr(spec, epoch)
        for group in opt.param_groups:
            group["lr"] = lr
        order = torch.as_tensor(shuffle.permutation(n), device=dev)
        blocks = [_c.dropout_block(spec, dgen, n, w).to(dt).to(dev) for w in spec.widths
                  ] if dgen is not None else None
        gsum = [0.0] * len(weights)
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            masks = [blk[start:start + bs] for blk in blocks] if blocks is not None else None
            out = _forward(spec, layers, plan, norms, x[idx], True, masks)
            loss = reference_loss(spec.loss, out, y[idx], n_classes)
            if not math.isfinite(loss.item()):
                diverged = True
                break
            if spec.l1:
                loss = loss + spec.l1 * sum(w.abs().sum() for w in weights)
            if spec.l2:
                loss = loss + spec.l2 * sum((w * w).sum() for w in weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if spec.grad_norms:
                gsum = [s + float(torch.linalg.vector_norm(w.grad)) for s, w in zip(gsum, weights)]
            if spec.clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(params, spec.clip_norm)
            if spec.weight_decay:
                with torch.no_grad():
                    for w in weights:
                        w.mul_(1.0 - lr * spec.weight_decay)
            opt.step()
        if diverged:
            break
        if spec.history:
            tr, te = evaluate(x, y), evaluate(xt, yt)
            for k, v in _split_metrics(n_classes, tr, te).items():
                if k in history:
                    history[k].append(v)
        if spec.grad_norms:
            steps = math.ceil(n / bs)
            for i, s in enumerate(gsum):
                history[f"grad_norm_{i}"].append(s / steps)
        if spec.snapshots:
            snapshots.append([_c.tensor_to_numpy(w) for w in weights])
    for values in history.values():
        values.extend([math.nan] * (spec.epochs - len(values)))
    metrics = _split_metrics(n_classes, evaluate(x, y), evaluate(xt, yt))
    if diverged or not all(math.isfinite(v) for v in metrics.values()):
        diverged = True
        metrics = {k: math.nan for k in metrics}
    return TrainResult(metrics, history, [_c.tensor_to_numpy(w) for w in weights], snapshots,
                       diverged, time.perf_counter() - t0)


from atomcheck._engine_tasks import Task, module_task, sklearn_task  # noqa: E402  (re-export)
