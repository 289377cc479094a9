"""Transfer from a related task: pre-train on a source task, then fine-tune on the target.

Three pieces, all on the seed-batched module path (:mod:`atomcheck.engine.modules`):

* :func:`digit_classes` — a related-task split of scikit-learn's digits: only some
  classes, relabelled ``0..k-1`` (e.g. source = digits 0-4, target = digits 5-9);
* :func:`pretrain` — train a module factory on the source data of every seed at once
  and return each seed's trained parameters;
* :func:`warm_start` — wrap a factory so that seed *s*'s module starts from seed *s*'s
  pre-trained parameters (those whose names pass ``keep`` and whose shapes match); the
  rest (a new head for the target's classes) keep the factory's own initialisation.

A warm-started factory is an ordinary factory: pass it to
:func:`atomcheck.models.module_task` and a sweep trains it batched, paired by seed with the
same factory trained from scratch (same target data, same head initialisation).

Examples
--------
>>> src = digit_classes(seed=0, classes=(0, 1, 2, 3, 4))
>>> src.n_classes, sorted(set(src.y_train.tolist()))
(5, [0, 1, 2, 3, 4])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from atomcheck.data import Dataset, digits
from atomcheck.errors import InvalidClaim
from atomcheck.memo import Memo

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["digit_classes", "pretrain", "warm_start"]


def digit_classes(*, seed: int, classes: Sequence[int], n_train: int | None = None,
                  test_size: float = 0.25) -> Dataset:
    """Digits of the given ``classes`` only, relabelled ``0..len(classes)-1`` in that order.

    The split is :func:`atomcheck.data.digits`'s for ``seed`` (stratified, drawn per
    seed), restricted to ``classes``; ``n_train`` keeps the first ``n_train`` of the
    remaining training images (a scarce target).

    Parameters
    ----------
    seed : int
    classes : sequence of int
        Distinct digits in 0-9, at least two.
    n_train : int, optional
    test_size : float
    """
    cls = [int(c) for c in classes]
    if len(cls) < 2 or len(set(cls)) != len(cls) or not all(0 <= c <= 9 for c in cls):
        raise InvalidClaim(f"digit_classes: classes={tuple(classes)!r} must be two or more "
                           "distinct digits in 0-9, e.g. (5, 6, 7, 8, 9).")
    full = digits(seed=seed, test_size=test_size)
    relabel = np.full(10, -1, dtype=np.int64)
    relabel[cls] = np.arange(len(cls))

    def keep(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mask = relabel[y] >= 0
        return x[mask], relabel[y[mask]]

    x_tr, y_tr = keep(full.x_train, full.y_train)
    x_te, y_te = keep(full.x_test, full.y_test)
    if n_train is not None:
        if not 1 <= n_train <= len(y_tr):
            raise InvalidClaim(f"digit_classes: n_train={n_train!r} must lie in "
                               f"[1, {len(y_tr)}] for classes {tuple(cls)}.")
        x_tr, y_tr = x_tr[:n_train], y_tr[:n_train]
    return Dataset(x_tr, y_tr, x_te, y_te, len(cls))


def pretrain(factory: Callable[..., Any], data_per_seed: Sequence[Dataset],
             seeds: Sequence[int], **train: Any) -> dict[int, dict[str, torch.Tensor]]:
    """Train ``factory`` on each seed's source data (all seeds batched) and return, per
    seed, its trained parameters by name (CPU tensors).

    ``train`` passes :func:`atomcheck.engine.modules.train_modules` keywords (optimizer,
    lr, batch_size, epochs, loss, factory_kwargs, ...). The run must take the batched
    path (it returns its state); a module it cannot batch raises :class:`InvalidClaim`
    with the reason.
    """
    from atomcheck.engine.modules import train_modules

    seeds = [int(s) for s in seeds]
    run = train_modules(factory, list(data_per_seed), seeds, return_state=True,
                        label="transfer.pretrain", **train)
    if run.state is None:  # pragma: no cover - train_modules raises first
        raise InvalidClaim(f"transfer.pretrain: no state came back ({run.reason}).")
    diverged = [s for s, m in zip(seeds, run.metrics) if m.get("diverged")]
    if diverged:
        raise InvalidClaim(f"transfer.pretrain: pre-training diverged for seeds {diverged}; "
                           "lower the learning rate.")
    keys = list(run.state["params"])
    names = _module_names(factory, data_per_seed[0], seeds[0], train.get("factory_kwargs"),
                          keys)
    params = {names[k]: v for k, v in run.state["params"].items()}
    return {s: {k: v[i].detach().cpu().clone() for k, v in params.items()}
            for i, s in enumerate(seeds)}


def _module_names(factory: Callable[..., Any], data: Dataset, seed: int,
                  factory_kwargs: Mapping[str, Any] | None, keys: list[str]) -> dict[str, str]:
    """Map the batched state's parameter keys to the module's own parameter names.

    The batched path stacks the parameters of a wrapper around the module, so its keys
    may carry the wrapper's prefix (e.g. ``m.trunk.0.weight``); a key maps to the longest
    of the module's names it ends with at a dot boundary.
    """
    from atomcheck.engine.modules import build_module

    own = [n for n, _ in build_module(factory, data, seed, factory_kwargs).named_parameters()]

    def match(key: str) -> str:
        hits = [n for n in own if key == n or key.endswith("." + n)]
        if not hits:
            raise InvalidClaim(f"transfer.pretrain: the batched state's parameter {key!r} "
                               f"matches none of the module's {own}.")
        return max(hits, key=len)

    return {key: match(key) for key in keys}


def warm_start(factory: Callable[..., Any],
               weights: Mapping[int, Mapping[str, Any]] | Callable[[], Mapping[int, Any]], *,
               keep: Callable[[str], bool] = lambda name: True) -> Callable[..., Any]:
    """A factory that builds ``factory``'s module for a seed and copies that seed's
    pre-trained parameters into it.

    Parameters
    ----------
    factory : callable
        ``factory(**kwargs) -> nn.Module``; it may name ``seed``, ``n_features`` and
        ``n_classes`` (given by the module path, as to any factory).
    weights : mapping or callable
        Seed → parameter name → tensor, e.g. from :func:`pretrain`; or a function of no
        arguments that returns it (e.g. ``functools.partial(pretrain, ...)``), called the
        first time a module is built, so that a sweep read wholly from the result cache
        never pre-trains. Its result is kept in a :class:`~atomcheck.memo.Memo`, out of
        the fingerprint; the callable itself (its code and data) is in it.
    keep : callable
        ``keep(name)``: whether to copy parameter ``name`` (e.g. every layer but the head).

    Returns
    -------
    callable
        ``factory(seed, **kwargs)``: the module with the kept parameters copied in; a
        parameter with no pre-trained tensor, or whose shape differs, keeps its fresh
        initialisation. A seed with no weights raises :class:`InvalidClaim`.
    """
    import inspect

    accepted = set(inspect.signature(factory).parameters)
    loaded = Memo()

    def table() -> Mapping[int, Mapping[str, Any]]:
        if isinstance(weights, Mapping):
            return weights
        if "weights" not in loaded:
            loaded["weights"] = weights()
        return loaded["weights"]

    def build(seed: int, **kwargs: Any) -> Any:
        import torch

        pretrained = table()
        if seed not in pretrained:
            raise InvalidClaim(f"warm_start: no pre-trained weights for seed {seed}; "
                               f"pre-trained seeds: {sorted(pretrained)}.")
        if "seed" in accepted:
            kwargs["seed"] = seed
        module = factory(**kwargs)
        source = pretrained[seed]
        with torch.no_grad():
            for name, p in module.named_parameters():
                w = source.get(name)
                if keep(name) and w is not None and tuple(w.shape) == tuple(p.shape):
                    p.copy_(w.to(p.dtype))
        return module

    # The module path passes n_features / n_classes only to factories that name them.
    kw_only, var = inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD
    others = [p if p.kind is var else p.replace(kind=kw_only)
              for p in inspect.signature(factory).parameters.values() if p.name != "seed"]
    params = [inspect.Parameter("seed", inspect.Parameter.POSITIONAL_OR_KEYWORD),
              *[p for p in others if p.kind is not var], *[p for p in others if p.kind is var]]
    build.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    build.__qualname__ = f"warm_start({getattr(factory, '__qualname__', factory)})"
    return build
