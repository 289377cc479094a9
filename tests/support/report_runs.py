"""A run document with a claim of every plotted kind, built from real :class:`Claim`
objects on tiny pure-Python sweeps (no torch, well under a second), for the report tests.

One statement and one level value carry markup, so a test can see that the page escapes
them; one claim has open settings (a specification curve), one a per-epoch history, one
failed to evaluate at all.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from atomcheck import (Beats, Claim, Equivalent, Exact, Peaks, Rises, Settings, Spread,
                       Threshold)
from atomcheck.report import build_run

HOSTILE_STATEMENT = 'Accuracy <script>alert("x")</script> rises & "quotes" stay text'
HOSTILE_LEVEL = "<b>bold$x$</b>"


def _noise(seed: int, salt: int, scale: float) -> float:
    return float(np.random.default_rng([seed, salt]).normal(scale=scale))


def _width_fn(seed: int, width: int, slope: float = 0.01) -> dict[str, float]:
    return {"test_accuracy": 0.5 + slope * width + _noise(seed, width, 0.02)}


def _arm_fn(seed: int, arm: str) -> dict[str, float]:
    shift = {"a": 0.05, "b": 0.0, HOSTILE_LEVEL: 0.001}[arm]
    return {"test_accuracy": 0.8 + shift + _noise(seed, 7, 0.02) + _noise(seed, len(arm), 0.005)}


def _spread_fn(seed: int, l2: float) -> dict[str, float]:
    return {"test_accuracy": 0.8 + _noise(seed, 3, 0.002 if l2 else 0.03)}


def _peak_fn(seed: int, lr: float) -> dict[str, float]:
    return {"test_accuracy": 0.9 - (np.log10(lr) + 2) ** 2 * 0.05 + _noise(seed, 5, 0.01)}


def _claim(claim_id: str, statement: str, fn: Any, expectation: Any, *,
           variant: str | None = None, robust_over: Any = None,
           **levels: Any) -> dict[str, Any]:
    claim = Claim(claim_id, statement, sources=[f"doc.txt §{len(claim_id)}"], seeds=10,
                  settings=Settings(), robust_over=robust_over, variant=variant,
                  nodeid=f"claims/test_demo.py::test_{claim_id.replace('.', '_')}")
    claim.sweep(fn, **levels)
    claim.expect(expectation)
    return claim.to_dict(outcome="passed" if claim.passed else "failed")


def demo_run() -> dict[str, Any]:
    """The run document: trend (with open settings and a history), compare, equivalent,
    threshold, variance, exact, optimum, and one claim that errored."""
    trend = _claim("demo.width", HOSTILE_STATEMENT, _width_fn,
                   Rises("test_accuracy", along="width"),
                   robust_over=[{"slope": -0.01}, {"slope": 0.002}],
                   width=[1, 2, 4, 8])
    for i, level in enumerate(trend["levels"]):  # as the batched engine records them
        epochs = np.arange(1, 21)
        curve = (0.5 + 0.01 * i) * (1 - np.exp(-epochs / 5))
        trend["levels"][i]["history"] = {"test_accuracy": {
            "mean": curve.tolist(), "min": (curve - 0.02).tolist(), "max": (curve + 0.02).tolist()}}
    beats = _claim("demo.arms", "Arm a beats arm b.", _arm_fn,
                   Beats("test_accuracy", along="arm", a="a", b="b", margin=0.01),
                   arm=["a", "b"])
    equivalent = _claim("demo.same", "The hostile arm is as good as b.", _arm_fn,
                        Equivalent("test_accuracy", along="arm", a="b", b=HOSTILE_LEVEL,
                                   margin=0.03), arm=["b", HOSTILE_LEVEL])
    threshold = _claim("demo.above", "Accuracy stays above chance.", _arm_fn,
                       Threshold("test_accuracy", above=0.5), variant="a", arm=["a"])
    spread = _claim("demo.spread", "L2 makes seeds agree.", _spread_fn,
                    Spread("test_accuracy", along="l2", a=0.001, b=0.0), l2=[0.0, 0.001])
    exact = _claim("demo.exact", "Every seed is finite.",
                   lambda seed, n: {"finite": 1.0}, Exact("finite"), n=[1])
    peak = _claim("demo.peak", "Accuracy peaks at a middle learning rate.", _peak_fn,
                  Peaks("test_accuracy", along="lr"), lr=[0.001, 0.01, 0.1])
    broken = Claim("demo.broken", "Never evaluated.", sources=["doc.txt §0"], seeds=10)
    errored = broken.to_dict(outcome="failed", error="ValueError: the training function raised")
    claims = [trend, beats, equivalent, threshold, spread, exact, peak, errored]
    return build_run(claims, {"alpha": 0.05, "profile": "default", "inconclusive": "fail",
                              "seed_base": 0})
