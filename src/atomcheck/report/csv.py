"""The CSV report: one row per claim variant and, for claims with open settings, one more
row per setting (``setting`` names it; the claim's own row has ``setting`` empty)."""

from __future__ import annotations

import csv
import io
from typing import Any

__all__ = ["render_csv", "CSV_COLUMNS"]

CSV_COLUMNS = ("id", "variant", "setting", "statement", "verdict", "expected", "outcome",
               "kind", "test", "metric", "effect_name", "effect", "ci_low", "ci_high",
               "p_value", "p_opposite", "alpha", "n_seeds", "seed_first", "seed_last",
               "diverged", "total_runs", "wall_s", "sources", "reason")


def _row(claim: dict[str, Any], entry: dict[str, Any], setting: str) -> dict[str, Any]:
    effect = entry.get("effect") or {}
    ci = effect.get("ci") or [None, None]
    seeds = claim.get("seeds") or []
    return {
        "id": claim.get("id"), "variant": claim.get("variant") or "", "setting": setting,
        "statement": claim.get("statement") or "", "verdict": entry.get("verdict"),
        "expected": claim.get("expected"), "outcome": claim.get("outcome") if not setting else "",
        "kind": entry.get("kind") or claim.get("kind"), "test": entry.get("test"),
        "metric": entry.get("metric"), "effect_name": effect.get("name"),
        "effect": effect.get("value"), "ci_low": ci[0], "ci_high": ci[1],
        "p_value": entry.get("p_value"), "p_opposite": entry.get("p_opposite"),
        "alpha": entry.get("alpha", claim.get("alpha")), "n_seeds": entry.get("n_seeds"),
        "seed_first": seeds[0] if seeds else None, "seed_last": seeds[-1] if seeds else None,
        "diverged": entry.get("diverged"), "total_runs": entry.get("total_runs"),
        "wall_s": claim.get("wall_s") if not setting else None,
        "sources": "; ".join(claim.get("sources") or []), "reason": claim.get("reason") or "",
    }


def render_csv(run: dict[str, Any]) -> str:
    """Render the run as CSV (numbers as written in the JSON report; empty for missing).

    Examples
    --------
    >>> render_csv({"claims": []}).splitlines()[0].split(",")[:3]
    ['id', 'variant', 'setting']
    """
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for claim in run.get("claims", []):
        writer.writerow(_row(claim, claim, ""))
        for setting in claim.get("settings") or []:
            writer.writerow(_row(claim, setting, str(setting.get("setting"))))
    return out.getvalue()
