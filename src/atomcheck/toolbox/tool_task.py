"""A ``module_task`` whose training tools are sweep factors.

:func:`atomcheck.models.module_task` sweeps the factory's keywords, the data's and five
training arguments; the module path's training tools (gradient clipping, lr schedules,
per-seed lr cuts on a plateau, early stopping: ``engine.modules.TOOL_NAMES``) are keywords
of :func:`~atomcheck.engine.modules.train_modules` only. :func:`tool_task` makes them
factors too, with stated defaults, so a claim can sweep ``lr_plateau=[None, 2]`` or hold
``clip_norm`` as an open setting, and the sweep still trains every seed at once on the
module path (tools and all: the task's defaults travel to ``train_modules``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from atomcheck.data import Dataset
from atomcheck.engine.modules import TOOL_NAMES, train_module_solo
from atomcheck.errors import InvalidClaim
from atomcheck.models import MLPSpec, _GenericTask, module_task

__all__ = ["tool_task"]

_TRAIN = ("loss", "optimizer", "lr", "batch_size", "epochs")


def tool_task(factory: Callable[..., Any], data: Callable[..., Dataset], *,
              data_args: Mapping[str, Any] | None = None, tools: Mapping[str, Any] | None = None,
              **train: Any) -> Callable[..., dict[str, float]]:
    """``module_task(factory, data, **train)`` with the training ``tools`` as factors.

    Parameters
    ----------
    factory, data, data_args
        As :func:`atomcheck.models.module_task`.
    tools : mapping
        Defaults of the tools the sweep may vary, names from
        ``atomcheck.engine.modules.TOOL_NAMES`` (e.g. ``{"lr_plateau": None}``).
    **train
        ``loss``, ``optimizer``, ``lr``, ``batch_size``, ``epochs`` (module_task's).

    Returns
    -------
    callable
        ``fn(seed, **config)`` (one seed alone: the module path with a seed axis of one,
        equal to that seed in a batched sweep) with ``factor_names()``; a sweep trains every
        seed of a configuration at once.

    Examples
    --------
    >>> import torch
    >>> from atomcheck.data import gaussian_mixture
    >>> fn = tool_task(lambda n_features, n_classes: torch.nn.Linear(n_features, n_classes),
    ...                gaussian_mixture, data_args={"n_train": 40}, tools={"lr_plateau": None},
    ...                epochs=2)
    >>> "lr_plateau" in fn.factor_names(), "lr_factor" in fn(0, lr_plateau=1)
    (True, True)
    """
    tools = dict(tools or {})
    unknown = sorted(set(tools) - set(TOOL_NAMES))
    if unknown:
        raise InvalidClaim(f"tool_task: {unknown} are not training tools; valid: "
                           f"{list(TOOL_NAMES)}.")
    bad = sorted(set(train) - set(_TRAIN))
    if bad:
        raise InvalidClaim(f"tool_task: unknown training argument(s) {bad}; valid: {list(_TRAIN)}.")
    base = module_task(factory, data, data_args=data_args, **train)
    assert isinstance(base, _GenericTask)
    defaults = dict(base.defaults) | tools

    def body(seed: int, fkw: dict[str, Any], tkw: dict[str, Any], ds: Dataset
             ) -> dict[str, float]:
        MLPSpec(widths=(1,), **{k: tkw[k] for k in _TRAIN})  # validates them
        return train_module_solo(factory, ds, seed, factory_kwargs=fkw, **tkw)

    return _GenericTask("module_task", factory, data, dict(data_args or {}), defaults, body,
                        ("n_features", "n_classes"))
