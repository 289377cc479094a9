"""The terminal table printed at the end of a run."""

from __future__ import annotations

import shutil
from typing import Any

from atomcheck.report._format import (fmt_effect, fmt_p, fmt_seeds, fmt_time, fmt_verdict,
                                      variance_caption, variance_table)

__all__ = ["render_table"]

_MIN_STATEMENT = 24
_HEADERS = ("claim", "statement", "verdict", "test", "effect [95% CI]", "p", "seeds", "time")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def render_table(run: dict[str, Any], *, width: int | None = None, sources: bool = False) -> str:
    """Render the run's claims as a fixed-width table that fits ``width`` columns.

    With ``sources`` (pytest's ``-v``) each claim also lists its sources, the verdict
    under each of its open settings and its variance by source of randomness (if asked).

    Examples
    --------
    >>> print(render_table({"claims": []}, width=80))
    no claims ran
    """
    claims = run.get("claims", [])
    if not claims:
        return "no claims ran"
    width = width or shutil.get_terminal_size((120, 20)).columns
    rows = []
    for c in claims:
        label = c["id"] + (f"[{c['variant']}]" if c.get("variant") else "")
        rows.append([label, c.get("statement") or "", fmt_verdict(c), c.get("test") or "-",
                     fmt_effect(c), fmt_p(c), fmt_seeds(c), fmt_time(c)])
    headers = list(_HEADERS)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    room = width - (sum(widths) - widths[1] + 2 * (len(headers) - 1))
    inline = room >= _MIN_STATEMENT
    if inline:
        widths[1] = min(widths[1], room)
    else:  # too narrow for a statement column: each statement gets a line of its own
        headers.pop(1)
        widths.pop(1)
        for r in rows:
            r.pop(1)
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r, c in zip(rows, claims):
        if inline:
            r[1] = _cut(r[1], widths[1])
        lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
        if not inline and c.get("statement"):
            lines.append(_cut("    " + c["statement"], width))
        for st in (c.get("settings") or []) if sources else []:
            lines.append(_cut(f"    · {st.get('setting')}: {st.get('verdict')}, "
                              f"{fmt_effect(st)}, p {fmt_p(st)}", width))
        if sources and c.get("variance_by_source"):
            lines.append(_cut("    " + variance_caption(c, short=True), width))
            heads, vrows = variance_table(c)
            for vr in vrows:
                lines.append(_cut(f"      {vr[0]}: all {vr[1]}; " + "; ".join(
                    f"{h} {v}" for h, v in zip(heads[2:], vr[2:])), width))
        if sources and c.get("sources"):
            lines.append(_cut("    sources: " + "; ".join(c["sources"]), width))
    return "\n".join(lines)
