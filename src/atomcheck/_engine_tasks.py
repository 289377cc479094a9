"""Tasks: what a sweep runs per seed (re-exported by :mod:`atomcheck.models`).

:class:`Task` binds a dataset builder to an :class:`~atomcheck.models.MLPSpec`; the batched
engine recognises it and trains all seeds at once. :func:`module_task` and
:func:`sklearn_task` wrap any ``nn.Module`` factory or scikit-learn estimator into the same
``fn(seed, **config) -> dict`` shape, trained one seed at a time.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from atomcheck import _engine_common as _c
from atomcheck.errors import InvalidClaim
from atomcheck.seeding import derive_seed, rng

if TYPE_CHECKING:  # pragma: no cover
    from atomcheck.data import Dataset
    from atomcheck.models import MLPSpec, TrainResult

__all__ = ["Task", "module_task", "sklearn_task"]

_TRAIN_ARGS = ("loss", "optimizer", "lr", "batch_size", "epochs")


def _keywords(fn: Callable[..., Any], skip: tuple[str, ...] = ("seed",)) -> tuple[set[str], bool]:
    """Keyword parameter names of ``fn`` (minus ``skip``) and whether it takes ``**kwargs``."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return set(), True
    names = {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    return names - set(skip), any(p.kind is p.VAR_KEYWORD for p in params)


def _describe(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__name__


class Task:
    """A dataset builder plus a model spec: the unit a sweep trains for each seed.

    Parameters
    ----------
    data : callable
        ``data(seed=..., **kwargs) -> Dataset``, e.g. :func:`atomcheck.data.gaussian_mixture`.
    model : MLPSpec
        The base spec; sweep factors named like its fields override it.
    data_args : mapping
        Fixed keyword arguments for ``data``.
    metrics : callable, optional
        ``metrics(result) -> {name: value}``: extra metrics from the :class:`TrainResult`.
    name : str, optional
    device : str
        Device for the per-seed path (``task(seed, **config)``).

    Examples
    --------
    >>> from atomcheck.data import gaussian_mixture
    >>> from atomcheck.models import MLPSpec
    >>> task = Task(gaussian_mixture, MLPSpec(widths=(8,), epochs=2), data_args={"n_train": 40})
    >>> "batch_size" in task.factor_names() and "dims" in task.factor_names()
    True
    >>> sorted(task(0, batch_size=8))[:2]
    ['diverged', 'test_accuracy']
    """

    def __init__(self, data: Callable[..., Dataset], model: MLPSpec, *,
                 data_args: Mapping[str, Any] | None = None,
                 metrics: Callable[[TrainResult], Mapping[str, float]] | None = None,
                 name: str | None = None, device: str = "cpu") -> None:
        from atomcheck.models import MLPSpec

        if not callable(data):
            raise InvalidClaim(f"Task: data={data!r} must be a callable returning a Dataset, "
                               "e.g. atomcheck.data.gaussian_mixture.")
        if not isinstance(model, MLPSpec):
            raise InvalidClaim(f"Task: model={model!r} must be an MLPSpec. Pass e.g. "
                               "MLPSpec(widths=(64, 64)).")
        if metrics is not None and not callable(metrics):
            raise InvalidClaim(f"Task: metrics={metrics!r} must be callable(result) -> dict.")
        self.data, self.model, self.metrics = data, model, metrics
        self.data_args = dict(data_args or {})
        self.name = name or _describe(data)
        self.device = device
        self._spec_fields = frozenset(f.name for f in dataclasses.fields(MLPSpec))
        self._data_params, self._data_varkw = _keywords(data)
        clash = sorted(self._spec_fields & self._data_params)
        if clash:
            raise InvalidClaim(f"Task: data parameter(s) {clash} clash with MLPSpec fields, so "
                               "a factor of that name would be ambiguous. Rename them in data.")
        for key in self.data_args:
            if key not in self._data_params and not self._data_varkw:
                raise InvalidClaim(f"Task: data_args key {key!r} is not a parameter of "
                                   f"{_describe(data)}; valid: {sorted(self._data_params)}.")

    def __repr__(self) -> str:
        return (f"Task(name={self.name!r}, data={_describe(self.data)}, "
                f"data_args={self.data_args!r}, model={self.model!r})")

    def factor_names(self) -> frozenset[str]:
        """Names a sweep may vary: MLPSpec fields plus keyword parameters of ``data``."""
        return self._spec_fields | self._data_params

    def split_config(self, config: Mapping[str, Any]) -> tuple[dict[str, Any], MLPSpec]:
        """Split ``config`` into ``data`` keyword arguments and the overridden spec."""
        data_kwargs: dict[str, Any] = {}
        changes: dict[str, Any] = {}
        for key, value in config.items():
            if key in self._spec_fields:
                changes[key] = value
            elif key in self._data_params or self._data_varkw:
                data_kwargs[key] = value
            else:
                raise InvalidClaim(
                    f"Task {self.name!r}: unknown factor {key!r}; it is neither an MLPSpec "
                    f"field nor a parameter of {_describe(self.data)}. Valid names: "
                    f"{sorted(self.factor_names())}.")
        return data_kwargs, self.model.replace(**changes) if changes else self.model

    def dataset(self, seed: int, config: Mapping[str, Any]) -> Dataset:
        """The dataset seed ``seed`` trains on under ``config``."""
        data_kwargs, _ = self.split_config(config)
        return self.data(seed=seed, **(self.data_args | data_kwargs))

    def result_metrics(self, result: TrainResult) -> dict[str, float]:
        """The metric dict for one result: its metrics, extra metrics and ``diverged``."""
        out = dict(result.metrics)
        if self.metrics is not None:
            try:
                extra = self.metrics(result)
            except Exception:
                if not result.diverged:
                    raise
                extra = {}
            out |= {str(k): float(v) for k, v in extra.items()}
        out["diverged"] = float(result.diverged)
        return out

    def run(self, seed: int, config: Mapping[str, Any], device: str | None = None
            ) -> dict[str, float]:
        """Train one seed through the per-seed trainer and return its metrics."""
        from atomcheck.models import train

        data_kwargs, spec = self.split_config(config)
        data = self.data(seed=seed, **(self.data_args | data_kwargs))
        return self.result_metrics(train(spec, data, seed=seed, device=device or self.device))

    def __call__(self, seed: int, **config: Any) -> dict[str, float]:
        """Train seed ``seed`` under ``config`` (never raises on divergence)."""
        return self.run(seed, config)


class _GenericTask:
    """A per-seed callable built by :func:`module_task` or :func:`sklearn_task`."""

    def __init__(self, kind: str, factory: Callable[..., Any], data: Callable[..., Dataset],
                 data_args: Mapping[str, Any], defaults: Mapping[str, Any],
                 body: Callable[[int, dict[str, Any], dict[str, Any], Dataset], dict[str, float]],
                 auto: tuple[str, ...]) -> None:
        self.kind, self.factory, self.data, self.body = kind, factory, data, body
        self.data_args, self.defaults = dict(data_args), dict(defaults)
        self._fparams, self._fvarkw = _keywords(factory, ("seed", *auto))
        self._dparams, self._dvarkw = _keywords(data)

    def __repr__(self) -> str:
        return f"{self.kind}({_describe(self.factory)}, data={_describe(self.data)})"

    def factor_names(self) -> frozenset[str]:
        """Names a sweep may vary: factory parameters, training arguments, data parameters."""
        return frozenset(self._fparams | set(self.defaults) | self._dparams)

    def __call__(self, seed: int, **config: Any) -> dict[str, float]:
        fkw: dict[str, Any] = {}
        tkw = dict(self.defaults)
        dkw = dict(self.data_args)
        for key, value in config.items():
            if key in self._fparams:
                fkw[key] = value
            elif key in self.defaults:
                tkw[key] = value
            elif key in self._dparams:
                dkw[key] = value
            elif self._fvarkw:
                fkw[key] = value
            elif self._dvarkw:
                dkw[key] = value
            else:
                raise InvalidClaim(f"{self!r}: unknown factor {key!r}. Valid names: "
                                   f"{sorted(self.factor_names())}.")
        return self.body(seed, fkw, tkw, self.data(seed=seed, **dkw))


def module_task(factory: Callable[..., Any], data: Callable[..., Dataset], *,
                data_args: Mapping[str, Any] | None = None, loss: str = "cross_entropy",
                optimizer: str = "sgd", lr: float = 0.01, batch_size: int = 32,
                epochs: int = 20) -> Callable[..., dict[str, float]]:
    """Wrap an ``nn.Module`` factory into ``fn(seed, **config) -> metrics`` (per seed).

    Config keys go to ``factory`` when it accepts them, else to the training arguments
    (``loss``, ``optimizer``, ``lr``, ``batch_size``, ``epochs``), else to ``data``. The
    factory also receives ``n_features``/``n_classes``/``seed`` if it names them. It is
    built under torch's global RNG seeded from ``derive_seed(seed, "init")`` inside
    ``torch.random.fork_rng`` (global state is restored); training (e.g. dropout) draws
    from a stream seeded with ``derive_seed(seed, "train")``.

    Returns
    -------
    callable
        ``fn(seed, **config)`` returning the :class:`TrainResult` metric keys plus
        ``diverged``; it has ``factor_names()``.

    Examples
    --------
    >>> import torch
    >>> from atomcheck.data import gaussian_mixture
    >>> fn = module_task(lambda n_features, n_classes: torch.nn.Linear(n_features, n_classes),
    ...                  gaussian_mixture, data_args={"n_train": 40}, epochs=2)
    >>> fn(0)["diverged"]
    0.0
    """
    from atomcheck.models import MLPSpec

    MLPSpec(widths=(1,), loss=loss, optimizer=optimizer, lr=lr, batch_size=batch_size,
            epochs=epochs)  # validates the training arguments
    auto = ("n_features", "n_classes")
    factory_params = _keywords(factory, ())[0]

    def body(seed: int, fkw: dict[str, Any], tkw: dict[str, Any], ds: Dataset
             ) -> dict[str, float]:
        spec = MLPSpec(widths=(1,), **tkw)
        _c.check_data(spec, ds)
        return _train_module(factory, fkw, spec, ds, seed, factory_params)

    return _GenericTask("module_task", factory, data, data_args or {},
                        dict(zip(_TRAIN_ARGS, (loss, optimizer, lr, batch_size, epochs))), body,
                        auto)


def _train_module(factory: Callable[..., Any], fkw: dict[str, Any], spec: MLPSpec, ds: Dataset,
                  seed: int, accepted: set[str]) -> dict[str, float]:
    from atomcheck.models import _ensure_torch, _evaluate, _split_metrics, data_tensors
    from atomcheck.models import reference_loss, torch_optimizer

    _ensure_torch()
    import torch

    auto = {"n_features": ds.n_features, "n_classes": _c.output_size(ds), "seed": seed}
    fkw = {k: v for k, v in auto.items() if k in accepted} | fkw
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, "init"))
        module = factory(**fkw)
        if not isinstance(module, torch.nn.Module):
            raise InvalidClaim(f"module_task: the factory returned {type(module).__name__}, "
                               "not a torch.nn.Module. Return e.g. nn.Sequential(...).")
        torch.manual_seed(derive_seed(seed, "train"))
        param = next(module.parameters(), None)
        dtype = param.dtype if param is not None else torch.float32
        x, y, xt, yt = data_tensors(ds, dtype, "cpu")
        opt = torch_optimizer(spec.optimizer, list(module.parameters()), spec.lr, spec.momentum)
        shuffle, n = rng(seed, "shuffle"), len(x)
        bs, diverged = min(spec.batch_size, n), False
        module.train()
        for _ in range(spec.epochs):
            order = torch.as_tensor(shuffle.permutation(n))
            for start in range(0, n, bs):
                idx = order[start:start + bs]
                loss = reference_loss(spec.loss, module(x[idx]), y[idx], ds.n_classes)
                if not math.isfinite(loss.item()):
                    diverged = True
                    break
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            if diverged:
                break
        module.eval()
        with torch.no_grad():
            metrics = _split_metrics(ds.n_classes, _evaluate(spec.loss, ds.n_classes, module(x), y),
                                     _evaluate(spec.loss, ds.n_classes, module(xt), yt))
    if diverged or not all(math.isfinite(v) for v in metrics.values()):
        return {k: math.nan for k in metrics} | {"diverged": 1.0}
    return metrics | {"diverged": 0.0}


def sklearn_task(estimator_factory: Callable[..., Any], data: Callable[..., Dataset], *,
                 data_args: Mapping[str, Any] | None = None) -> Callable[..., dict[str, float]]:
    """Wrap a scikit-learn estimator factory into ``fn(seed, **config) -> metrics``.

    Config keys go to the factory when it accepts them, else to ``data``. An estimator
    with a ``random_state`` parameter gets one derived from the seed.

    Returns
    -------
    callable
        ``fn(seed, **config)`` returning ``train_accuracy``, ``test_accuracy`` and
        ``test_balanced_accuracy`` (regression data: ``train_mse``, ``test_mse``).

    Examples
    --------
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from atomcheck.data import gaussian_mixture
    >>> fn = sklearn_task(DecisionTreeClassifier, gaussian_mixture)
    >>> fn(0, max_depth=2)["train_accuracy"] <= 1.0
    True
    """

    def body(seed: int, fkw: dict[str, Any], tkw: dict[str, Any], ds: Dataset
             ) -> dict[str, float]:
        est = estimator_factory(**fkw)
        if not hasattr(est, "fit") or not hasattr(est, "predict"):
            raise InvalidClaim(f"sklearn_task: the factory returned {type(est).__name__}, "
                               "which has no fit/predict. Return a scikit-learn estimator.")
        if "random_state" in est.get_params():
            est.set_params(random_state=derive_seed(seed, "sklearn") % (2**31 - 1))
        y_train = np.asarray(ds.y_train)
        est.fit(ds.x_train, y_train if ds.n_classes else y_train.ravel())
        p_tr, p_te = est.predict(ds.x_train), est.predict(ds.x_test)
        if not ds.n_classes:
            return {"train_mse": float(np.mean((p_tr.ravel() - y_train.ravel()) ** 2)),
                    "test_mse": float(np.mean((p_te.ravel() - np.ravel(ds.y_test)) ** 2))}
        acc_tr, _ = _c.classification_metrics(p_tr, ds.y_train, ds.n_classes)
        acc_te, bal = _c.classification_metrics(p_te, ds.y_test, ds.n_classes)
        return {"train_accuracy": acc_tr, "test_accuracy": acc_te, "test_balanced_accuracy": bal}

    return _GenericTask("sklearn_task", estimator_factory, data, data_args or {}, {}, body, ())
