"""The Markdown report: a table ready to paste, then notes on refuted and failed claims.

A claim with open settings (``robust_over``) gets one row per setting under its own row;
a claim with ``variance_sources`` gets a table of its variance by source of randomness.
"""

from __future__ import annotations

from typing import Any

from atomcheck.report._format import (fmt_effect, fmt_p, fmt_seeds, fmt_time, fmt_verdict,
                                      variance_caption, variance_table)

__all__ = ["render_markdown"]


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(run: dict[str, Any]) -> str:
    """Render the run as Markdown.

    Examples
    --------
    >>> "| claim |" in render_markdown({"claims": [], "config": {}, "environment": {}})
    True
    """
    cfg, env = run.get("config", {}), run.get("environment", {})
    claims = run.get("claims", [])
    counts: dict[str, int] = {}
    for c in claims:
        counts[c.get("outcome") or "error"] = counts.get(c.get("outcome") or "error", 0) + 1
    out = ["# atomcheck report", ""]
    out.append(f"Created {run.get('created', '?')} · profile `{cfg.get('profile', '?')}` · "
               f"seeds from {cfg.get('seed_base', 0)} · "
               f"alpha {cfg.get('alpha', '?')} · inconclusive → {cfg.get('inconclusive', '?')} · "
               f"Python {env.get('python', '?')}, torch {env.get('torch', '?')}, "
               f"device {env.get('device', '?')}")
    out.append("")
    out.append("Outcomes: " + (", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "none"))
    out.append("")
    out.extend(_suite_lines(run.get("suite") or {}))
    if run.get("partial"):
        unfinished = run.get("unfinished") or []
        out.append(f"**Partial run**: cut short before every claim finished; "
                   f"{len(unfinished)} did not: " + (", ".join(f"`{n}`" for n in unfinished)
                                                    or "none recorded") + ".")
        out.append("")
    out.append("| claim | statement | verdict | outcome | test | effect [95% CI] | p | seeds "
               "| time |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for c in claims:
        label = c["id"] + (f"[{c['variant']}]" if c.get("variant") else "")
        eff_name = (c.get("effect") or {}).get("name")
        effect = fmt_effect(c) + (f" ({eff_name})" if eff_name and fmt_effect(c) != "-" else "")
        out.append("| " + " | ".join(_cell(x) for x in (
            f"`{label}`", c.get("statement", ""), f"**{fmt_verdict(c)}**", c.get("outcome") or "-",
            c.get("test") or "-", effect, fmt_p(c), fmt_seeds(c), fmt_time(c))) + " |")
        for st in c.get("settings") or []:  # one row per open setting, under its claim
            out.append("| " + " | ".join(_cell(x) for x in (
                f"↳ {st.get('setting')}", "", st.get("verdict") or "-", "",
                st.get("test") or "-", fmt_effect(st), fmt_p(st), fmt_seeds(st), "")) + " |")
    out += _variance_sections(claims)
    notes = [c for c in claims if c.get("reason") or c.get("message")]
    if notes:
        out += ["", "## Notes", ""]
        for c in notes:
            label = c["id"] + (f"[{c['variant']}]" if c.get("variant") else "")
            if c.get("reason"):
                out.append(f"- `{label}` is expected to be {c.get('expected') or 'refuted'}: "
                           f"{_cell(c['reason'])}")
            if c.get("message"):
                out.append(f"- `{label}`: {_cell(c['message'])}")
    sources = sorted({s for c in claims for s in c.get("sources", [])})
    if sources:
        out += ["", "Sources: " + "; ".join(sources)]
    return "\n".join(out) + "\n"


def _suite_lines(suite: dict[str, Any]) -> list[str]:
    """The suite-wide adjustment and the negative controls' measured false-positive rate."""
    lines = []
    if suite.get("method", "none") != "none":
        changed = suite.get("changed") or []
        lines.append(f"Suite-wide adjustment: `{suite['method']}` across {suite.get('claims', 0)} "
                     f"claims; {len(changed)} verdict(s) became inconclusive"
                     + (": " + ", ".join(f"`{c['id']}`" for c in changed) if changed else "")
                     + ".")
    controls = suite.get("negative_controls")
    if controls:
        lines.append(f"Negative controls: {controls['supported']} of {controls['controls']} "
                     f"supported (measured false-positive rate {controls['rate']:.2f}).")
    return [*lines, ""] if lines else []


def _variance_sections(claims: list[dict[str, Any]]) -> list[str]:
    """One small table per claim that broke its variance down by source of randomness."""
    with_table = [c for c in claims if c.get("variance_by_source")]
    if not with_table:
        return []
    out = ["", "## Variance by source of randomness"]
    for c in with_table:
        label = c["id"] + (f"[{c['variant']}]" if c.get("variant") else "")
        heads, rows = variance_table(c)
        out += ["", f"`{label}`: {_cell(variance_caption(c))}.", "",
                "| " + " | ".join(_cell(h) for h in heads) + " |",
                "|" + "---|" * len(heads)]
        out += ["| " + " | ".join(_cell(x) for x in row) + " |" for row in rows]
    return out
