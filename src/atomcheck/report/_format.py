"""Number formatting shared by the text renderers."""

from __future__ import annotations

from typing import Any

__all__ = ["fmt_effect", "fmt_p", "fmt_verdict", "fmt_seeds", "fmt_time", "variance_table",
           "variance_caption"]


def _num(x: Any) -> str:
    return "n/a" if x is None else f"{x:+.3g}"


def fmt_effect(entry: dict[str, Any]) -> str:
    """``-0.74 [-0.82, -0.65]`` from an entry's effect, or ``-``."""
    eff = entry.get("effect") or {}
    if eff.get("value") is None:
        return "-"
    ci = eff.get("ci") or [None, None]
    if ci[0] is None:
        return _num(eff["value"])
    return f"{_num(eff['value'])} [{_num(ci[0])}, {_num(ci[1])}]"


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.0e}"


def fmt_p(entry: dict[str, Any]) -> str:
    """The claimed direction's p-value; a refuted claim also shows the opposite one."""
    p, opposite = entry.get("p_value"), entry.get("p_opposite")
    if p is None:
        return "-"
    if entry.get("verdict") in ("refuted", "conditional") and opposite is not None:
        return f"{_p(p)} (opp. {_p(opposite)})"
    return _p(p)


def fmt_verdict(entry: dict[str, Any]) -> str:
    """``refuted (expected)`` when a claim was expected refuted (or conditional) and was."""
    verdict = entry.get("verdict") or "error"
    expected = entry.get("expected")
    if expected in ("refuted", "conditional"):
        return (f"{verdict} (expected)" if verdict == expected
                else f"{verdict} (expected {expected})")
    return verdict


def fmt_seeds(entry: dict[str, Any]) -> str:
    """Seeds used (of the most a sequential claim could use: ``6/10``), with diverged runs
    when any."""
    n = entry.get("n_seeds")
    div = entry.get("diverged") or 0
    text = "-" if n is None else str(n)
    sequential = entry.get("sequential") or {}
    if n is not None and sequential.get("max_seeds"):
        text = f"{text}/{sequential['max_seeds']}"
    return f"{text} ({div}/{entry.get('total_runs')} div.)" if div else text


def fmt_time(entry: dict[str, Any]) -> str:
    """Wall time in seconds."""
    wall = entry.get("wall_s")
    return "-" if wall is None else f"{wall:.1f}s"


def _variance_cell(entry: dict[str, Any] | None, share: bool) -> str:
    entry = entry or {}
    variance = entry.get("variance")
    if variance is None:
        return "n/a"
    text = f"{variance:.3g}"
    if share and entry.get("share") is not None:
        text += f" ({entry['share']:.0%})"
    return text


def variance_table(entry: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of a claim's ``variance_by_source``: one row per configuration,
    the variance with every source varying, then each source's variance (and its share).

    Examples
    --------
    >>> vbs = {"sources": ["init"], "levels": [{"config": {"x": 1}, "sources": {
    ...     "init": {"variance": 0.5, "share": 0.25}, "all": {"variance": 2.0}}}]}
    >>> variance_table({"variance_by_source": vbs})
    (['level', 'all sources', 'init'], [['x=1', '2', '0.5 (25%)']])
    """
    vbs = entry.get("variance_by_source") or {}
    sources = list(vbs.get("sources") or [])
    rows = []
    for level in vbs.get("levels") or []:
        label = ", ".join(f"{k}={v}" for k, v in (level.get("config") or {}).items())
        cells = level.get("sources") or {}
        rows.append([label or "-", _variance_cell(cells.get("all"), share=False),
                     *(_variance_cell(cells.get(s), share=True) for s in sources)])
    return ["level", "all sources", *sources], rows


def variance_caption(entry: dict[str, Any], *, short: bool = False) -> str:
    """One line saying what the variance table holds and what it cost (``short``: for
    the terminal)."""
    vbs = entry.get("variance_by_source") or {}
    if short:
        return (f"variance of {vbs.get('metric')} by source ({vbs.get('n_seeds')} seeds, "
                f"{vbs.get('extra_runs')} extra runs; % of all):")
    return (f"variance of {vbs.get('metric')} across {vbs.get('n_seeds')} seeds by source of "
            f"randomness ({vbs.get('setting', 'base')} setting): 'all sources' lets every "
            "source vary, each source's column lets only that one vary (in brackets: its share "
            f"of 'all sources'); {vbs.get('extra_runs')} extra runs")
