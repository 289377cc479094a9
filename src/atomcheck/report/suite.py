"""Error control across a whole run, and the run's measured false-positive rate.

Each claim decides at ``alpha`` on its own; a suite of 80 claims at alpha = 0.05 expects
four false decisions when every null is true. ``--atomcheck-fdr`` adjusts the p-values of
every claim of the run together, where all results meet (the xdist controller included),
before the verdicts in the report are final:

- ``bh`` — Benjamini–Hochberg (false discovery rate, independent or positively
  dependent tests); ``by`` — Benjamini–Yekutieli (any dependence); both through
  ``scipy.stats.false_discovery_control``;
- ``holm`` — Holm's step-down (family-wise error rate);
- ``none`` — each claim at ``alpha`` (the default).

Two families are adjusted, since every claim is tested both ways: the support p-values
(``p_value``) and the refutation p-values (``p_opposite``). A supported verdict stays
supported only when its adjusted support p is ≤ alpha, a refuted one only when its
adjusted refutation p is; otherwise it becomes inconclusive, and the entry keeps what it
was (``verdict_unadjusted``). A conditional verdict's support is its best setting's p
times the number of settings (Bonferroni within the claim), adjusted with the rest.
Adjustment never makes a verdict more decisive.

Negative controls (claims marked ``negative_control=True``: identical arms, shuffled
labels) are true nulls by construction; the share of them that came out supported is the
run's measured false-positive rate, printed in the report.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import false_discovery_control

__all__ = ["FDR_METHODS", "adjust", "adjust_suite", "negative_control_rate"]

FDR_METHODS = ("none", "bh", "by", "holm")
"""Suite-wide adjustments, by the name ``--atomcheck-fdr`` takes."""


def adjust(p_values: Sequence[float], method: str) -> np.ndarray:
    """Adjusted p-values of one family (``method`` as in :data:`FDR_METHODS`).

    Examples
    --------
    >>> adjust([0.01, 0.04, 0.03], "bh").round(3).tolist()
    [0.03, 0.04, 0.04]
    >>> adjust([0.01, 0.04, 0.03], "holm").round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=float)
    if method not in FDR_METHODS:
        raise ValueError(f"method={method!r} must be one of {FDR_METHODS}")
    if method == "none" or p.size == 0:
        return p.copy()
    if method in ("bh", "by"):
        return np.asarray(false_discovery_control(p, method=method))
    order = np.argsort(p)
    stepped = np.maximum.accumulate((p.size - np.arange(p.size)) * p[order])
    out = np.empty_like(p)
    out[order] = np.minimum(stepped, 1.0)
    return out


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _support_p(claim: dict[str, Any]) -> float | None:
    if claim.get("verdict") == "conditional":
        settings = [s.get("p_value") for s in claim.get("settings") or []]
        finite = [p for p in settings if _finite(p)]
        return min(1.0, min(finite) * len(settings)) if finite else None
    p = claim.get("p_value")
    return float(p) if isinstance(p, (int, float)) and math.isfinite(p) else None


def adjust_suite(claims: list[dict[str, Any]], method: str, alpha: float) -> dict[str, Any]:
    """Adjust the run's claim entries in place; return the summary for the report.

    Entries without a p-value (exact claims, errors) are left alone and not counted.
    """
    summary: dict[str, Any] = {"method": method, "alpha": alpha, "claims": 0,
                               "changed": []}
    if method == "none":
        return summary
    support: list[tuple[int, float]] = []
    for i, claim in enumerate(claims):
        p = _support_p(claim)
        if p is not None:
            support.append((i, p))
    opposite = [(i, float(c["p_opposite"])) for i, c in enumerate(claims)
                if _finite(c.get("p_opposite"))]
    summary["claims"] = len(support)
    for family, key in ((support, "p_adjusted"), (opposite, "p_opposite_adjusted")):
        adjusted = adjust([p for _, p in family], method)
        for (i, _), q in zip(family, adjusted):
            claims[i][key] = float(q)
    for claim in claims:
        before = claim.get("verdict")
        keep = {"supported": "p_adjusted", "conditional": "p_adjusted",
                "refuted": "p_opposite_adjusted"}.get(str(before))
        if keep is None or claim.get(keep, 0.0) <= alpha:
            continue
        claim["verdict_unadjusted"] = before
        claim["verdict"] = "inconclusive"
        claim["message"] = (f"{before} at alpha={alpha} on its own, inconclusive after "
                            f"{method} across {summary['claims']} claims (adjusted p="
                            f"{claim[keep]:.3g}); " + str(claim.get("message") or ""))
        summary["changed"].append({"id": claim.get("id"), "variant": claim.get("variant"),
                                   "from": before, "p_adjusted": claim[keep]})
    return summary


def negative_control_rate(claims: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """How many negative controls came out supported (None when the run has none).

    Examples
    --------
    >>> negative_control_rate([{"negative_control": True, "verdict": "inconclusive"},
    ...                        {"negative_control": True, "verdict": "supported"}])
    {'controls': 2, 'supported': 1, 'rate': 0.5}
    """
    controls = [c for c in claims if c.get("negative_control")]
    if not controls:
        return None
    supported = sum(c.get("verdict") == "supported" for c in controls)
    return {"controls": len(controls), "supported": supported,
            "rate": supported / len(controls)}
