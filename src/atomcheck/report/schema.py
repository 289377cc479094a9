"""The JSON report, schema ``atomcheck-report/1`` (DESIGN.md fixes its shape)."""

from __future__ import annotations

import datetime as _dt
import json
import platform
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import Any

__all__ = ["SCHEMA", "build_run", "render_json", "environment"]

SCHEMA = "atomcheck-report/1"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def environment(device: str = "cpu") -> dict[str, Any]:
    """Versions and platform of this run (never imports torch to find its version)."""
    return {
        "python": platform.python_version(),
        "atomcheck": _version("atomcheck"),
        "torch": _version("torch"),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "sklearn": _version("scikit-learn"),
        "platform": platform.platform(),
        "device": device,
        "argv": sys.argv[1:],
    }


def build_run(claims: Sequence[dict[str, Any]], config: dict[str, Any],
              environment_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """Assemble the run document from claim entries (:meth:`atomcheck.Claim.to_dict`).

    Examples
    --------
    >>> build_run([], {"alpha": 0.05})["schema"]
    'atomcheck-report/1'
    """
    ordered = sorted(claims, key=lambda c: (c.get("id") or "", c.get("variant") or ""))
    return {
        "schema": SCHEMA,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "environment": environment_info or environment(config.get("device", "cpu")),
        "config": config,
        "claims": ordered,
    }


def render_json(run: dict[str, Any]) -> str:
    """The run as indented JSON (NaN and inf become null)."""
    return json.dumps(run, indent=2, allow_nan=False, default=str) + "\n"
