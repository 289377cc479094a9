"""One matplotlib figure per claim for the HTML report, drawn from its JSON report entry.

Everything here reads the schema-v1 entry (``levels`` with per-seed ``values`` in seed
order, ``members``, ``settings``, ``design``, per-level ``history``), never a live sweep, so a
saved run re-renders without training. matplotlib is imported inside :func:`claim_svg`
(Agg backend): importing this module costs nothing and a run without an HTML report never
loads it.

The figure has one panel for the claim's kind, a panel of per-epoch curves when the levels
carry histories, and a specification curve (effect and CI per open setting, the setting's
values below it) when the claim has open settings.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

__all__ = ["claim_svg", "has_plot", "paired_differences", "trend_series", "SvgCompactor",
           "VERDICT_COLOURS"]

#: Colours shared by the page and the plots (colour-blind-safe enough with the words shown).
VERDICT_COLOURS = {"supported": "#1b7837", "refuted": "#c51b1b", "conditional": "#d17a00",
                   "inconclusive": "#6b6b6b", "error": "#7b3294"}
_SERIES = ("#1f5fa8", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#5c940d", "#0b7285")
_PANEL_W, _PANEL_H = 4.0, 2.5   # inches; the page shows figures at their natural size
#: Kinds about a metric along an ordered factor: drawn as metric against level.
_ORDERED_KINDS = ("trend", "optimum", "slope", "saturation")
_MAX_LABEL = 22                 # characters of a tick label or setting value


# -- data extraction (no matplotlib) -----------------------------------------------------------

def _num(x: Any) -> float:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else math.nan


def _key(value: Any) -> str:
    return repr(value) if not isinstance(value, str) else value


def _same(a: Any, b: Any) -> bool:
    """Level values compare equal as written in the JSON (``0.1 == 0.1``, ``"a" == "a"``)."""
    return a == b or str(a) == str(b)


def _short(text: Any, width: int = _MAX_LABEL) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _factors(levels: Sequence[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for lv in levels:
        for name in lv.get("config") or {}:
            if name not in names:
                names.append(name)
    return names


def _along(entry: dict[str, Any], levels: Sequence[dict[str, Any]]) -> str | None:
    """The factor the claim is about: the design's ``along`` when the levels vary it, else
    the factor with the most distinct values."""
    factors = _factors(levels)
    along = (entry.get("design") or {}).get("along")
    if along in factors:
        return str(along)
    if not factors:
        return None
    return max(factors, key=lambda f: len({_key((lv.get("config") or {}).get(f))
                                           for lv in levels}))


def _group_label(config: dict[str, Any], skip: str | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in config.items() if k != skip)


Series = dict[str, list[dict[str, Any]]]


def trend_series(entry: dict[str, Any]) -> tuple[str | None, list[Any], Series]:
    """``(along, x values in order, {group label: levels in x order})`` of a claim's levels.

    Examples
    --------
    >>> lv = [{"config": {"n": 1}}, {"config": {"n": 2}}]
    >>> trend_series({"levels": lv})[0:2]
    ('n', [1, 2])
    """
    levels = entry.get("levels") or []
    along = _along(entry, levels)
    xs: list[Any] = []
    groups: dict[str, list[dict[str, Any]]] = {}
    for lv in levels:
        config = lv.get("config") or {}
        x = config.get(along) if along else None
        if not any(_same(x, seen) for seen in xs):
            xs.append(x)
        groups.setdefault(_group_label(config, along), []).append(lv)
    return along, xs, groups


def _values(level: dict[str, Any]) -> list[float]:
    return [_num(v) for v in level.get("values") or []]


def paired_differences(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-seed differences of a paired claim, one item per member (``a`` against each
    ``b``, within each group of the other factors): ``label``, ``diffs`` (in seed order, NaN
    for a diverged seed), ``effect`` and ``ci`` (from the member, else the claim).

    The difference's sign follows the reported effect (``a − b`` for Beats, ``b − a`` for
    Equivalent): whichever of the two the member's effect is the mean of.
    """
    levels = entry.get("levels") or []
    design = entry.get("design") or {}
    along = _along(entry, levels)
    if along is None:
        return []
    a = design.get("a")
    bs = design.get("b")
    values = [(lv.get("config") or {}).get(along) for lv in levels]
    if a is None or not any(_same(a, v) for v in values):
        if len(levels) != 2:
            return []
        a = values[0]
    if bs is None:  # every other level, in order
        bs = list({_key(v): v for v in values if not _same(v, a)}.values())
    elif not isinstance(bs, list):
        bs = [bs]
    members = {m.get("label"): m for m in entry.get("members") or []}
    groups: dict[str, dict[str, dict[str, Any]]] = {}
    for lv in levels:
        config = lv.get("config") or {}
        groups.setdefault(_group_label(config, along), {})[_key(config.get(along))] = lv
    out = []
    for group, by_value in groups.items():
        ref = next((lv for k, lv in by_value.items() if _same(k, _key(a))), None)
        if ref is None:
            continue
        for b in bs:
            other = next((lv for k, lv in by_value.items() if _same(k, _key(b))), None)
            if other is None:
                continue
            label = f"{a} vs {b}" + (f" [{group}]" if group else "")
            member = members.get(label) or (entry if len(members) == 0 else {})
            effect = member.get("effect") or {}
            diffs = [x - y for x, y in zip(_values(ref), _values(other))]
            value = _num(effect.get("value"))
            finite = [d for d in diffs if math.isfinite(d)]
            if finite and math.isfinite(value):
                mean = sum(finite) / len(finite)
                if abs(-mean - value) < abs(mean - value):
                    diffs = [-d for d in diffs]
            ci = effect.get("ci") or [None, None]
            out.append({"label": label, "b": b, "group": group, "diffs": diffs,
                        "effect": value, "ci": (_num(ci[0]), _num(ci[1])),
                        "verdict": member.get("verdict")})
    return out


def _history_key(entry: dict[str, Any], levels: Sequence[dict[str, Any]]) -> str | None:
    """The history the claim's metric is read from (``test_accuracy`` for
    ``test_accuracy_at_5``), else a training accuracy or loss, else the first."""
    keys: list[str] = []
    for lv in levels:
        for key in lv.get("history") or {}:
            if key not in keys:
                keys.append(key)
    if not keys:
        return None
    metric = str(entry.get("metric") or "")
    matching = [k for k in keys if metric.startswith(k)]
    if matching:
        return max(matching, key=len)
    for preferred in ("train_accuracy", "test_accuracy", "train_loss", "test_loss"):
        if preferred in keys:
            return preferred
    return keys[0]


def _setting_rows(settings: Sequence[dict[str, Any]]) -> list[str]:
    rows: list[str] = []
    for st in settings:
        for name in st.get("values") or {}:
            if name not in rows:
                rows.append(name)
    return rows


# -- drawing -----------------------------------------------------------------------------------

def _mpl(text: Any) -> str:
    """Text for matplotlib: ``$`` would start mathtext, so it is escaped (the SVG writer
    escapes XML itself)."""
    return str(text).replace("\\", "\\\\").replace("$", r"\$")


def _finite(xs: Sequence[float]) -> list[float]:
    return [x for x in xs if math.isfinite(x)]


def _jitter(n: int, width: float = 0.18) -> list[float]:
    """Deterministic horizontal offsets for ``n`` per-seed points."""
    if n <= 1:
        return [0.0] * n
    return [width * (2 * i / (n - 1) - 1) for i in range(n)]


def _draw_trend(ax: Any, entry: dict[str, Any]) -> None:
    along, xs, groups = trend_series(entry)
    positions = {_key(x): i for i, x in enumerate(xs)}
    for g, (label, levels) in enumerate(groups.items()):
        colour = _SERIES[g % len(_SERIES)]
        offset = (g - (len(groups) - 1) / 2) * 0.08
        pos = [positions[_key((lv.get("config") or {}).get(along))] + offset if along else 0.0
               for lv in levels]
        per_seed = [_values(lv) for lv in levels]
        n_seeds = max((len(v) for v in per_seed), default=0)
        for s in range(n_seeds):  # one thin line per seed, joining its levels
            ys = [v[s] if s < len(v) else math.nan for v in per_seed]
            ax.plot(pos, ys, color=colour, alpha=0.25, lw=0.6, marker="o", ms=2.2, mew=0)
        means = [_num(lv.get("mean")) for lv in levels]
        lows = [_num((lv.get("ci") or [None, None])[0]) for lv in levels]
        highs = [_num((lv.get("ci") or [None, None])[1]) for lv in levels]
        ax.fill_between(pos, lows, highs, color=colour, alpha=0.18, lw=0)
        ax.plot(pos, means, color=colour, lw=1.8, marker="o", ms=4,
                label=_mpl(_short(label, 30)) if label else None)
    ax.set_xticks(range(len(xs)))
    ax.set_xticklabels([_mpl(_short(x, 10)) for x in xs], fontsize=7,
                       rotation=30 if len(xs) > 6 else 0)
    ax.set_xlabel(_mpl(along or ""), fontsize=8)
    ax.set_ylabel(_mpl(_short(entry.get("metric") or "metric", 28)), fontsize=8)
    ax.set_title("per seed (thin), mean and 95% CI", fontsize=8)
    if len(groups) > 1:
        ax.legend(fontsize=6, frameon=False)


def _draw_paired(ax: Any, entry: dict[str, Any]) -> bool:
    pairs = paired_differences(entry)
    if not pairs:
        return False
    design = entry.get("design") or {}
    for i, pair in enumerate(pairs):
        colour = VERDICT_COLOURS.get(pair.get("verdict") or entry.get("verdict") or "", "#333")
        diffs = pair["diffs"]
        ax.scatter([i + j for j in _jitter(len(diffs))], diffs, s=9, color=colour, alpha=0.55,
                   lw=0)
        low, high = pair["ci"]
        if math.isfinite(pair["effect"]):
            yerr = ([[pair["effect"] - low], [high - pair["effect"]]]
                    if math.isfinite(low) and math.isfinite(high) else None)
            ax.errorbar([i + 0.32], [pair["effect"]], yerr=yerr, fmt="D", color=colour, ms=4,
                        capsize=3, lw=1.2)
    ax.axhline(0.0, color="#444", lw=0.8)
    margin = _num(design.get("margin"))
    if math.isfinite(margin):
        if entry.get("kind") == "equivalent":
            ax.axhspan(-margin, margin, color="#1b7837", alpha=0.08, lw=0)
        for m in (-margin, margin):
            ax.axhline(m, color="#1b7837", lw=0.9, ls="--")
    floor = _num(design.get("min_effect"))
    if math.isfinite(floor):
        ax.axhline(floor, color="#d17a00", lw=0.9, ls=":")
    _include(ax, [0.0, margin, -margin, floor])
    ax.set_xticks(range(len(pairs)))
    ax.set_xticklabels([_mpl(_short(p["label"], 18)) for p in pairs], fontsize=6,
                       rotation=20 if len(pairs) > 2 else 0,
                       ha="right" if len(pairs) > 2 else "center")
    ax.set_xlim(-0.6, len(pairs) - 0.2)
    name = (entry.get("effect") or {}).get("name") or "difference"
    ax.set_ylabel(_mpl(_short(f"{entry.get('metric') or ''} {name}", 34)), fontsize=8)
    extra = "; margin dashed" if math.isfinite(margin) else ""
    ax.set_title(f"per-seed differences, effect, 95% CI{extra}", fontsize=8)
    return True


def _draw_strip(ax: Any, entry: dict[str, Any]) -> None:
    """Per-seed values of every level (joined by seed), with mean and CI; a threshold's
    value (and margin) drawn across."""
    levels = entry.get("levels") or []
    along = _along(entry, levels)
    per_seed = [_values(lv) for lv in levels]
    n_seeds = max((len(v) for v in per_seed), default=0)
    spread = _jitter(n_seeds, 0.12) if len(levels) == 1 else [0.0] * n_seeds
    for s in range(n_seeds):  # joined by seed across levels; spread out when there is one
        ys = [v[s] if s < len(v) else math.nan for v in per_seed]
        ax.plot([i + spread[s] for i in range(len(levels))], ys, color="#1f5fa8", alpha=0.35,
                lw=0.6, marker="o", ms=2.5, mew=0)
    for i, lv in enumerate(levels):
        ci = lv.get("ci") or [None, None]
        mean, low, high = _num(lv.get("mean")), _num(ci[0]), _num(ci[1])
        if math.isfinite(mean):
            yerr = ([[mean - low], [high - mean]] if math.isfinite(low) and math.isfinite(high)
                    else None)
            ax.errorbar([i + 0.25], [mean], yerr=yerr, fmt="D", color="#1f5fa8", ms=4,
                        capsize=3)
    design = entry.get("design") or {}
    for word, style in (("above", "--"), ("below", "--"), ("about", "-")):
        value = _num(design.get(word))
        if math.isfinite(value):
            ax.axhline(value, color="#c51b1b", lw=1.0, ls=style)
            margin = _num(design.get("margin"))
            if math.isfinite(margin):
                ax.axhspan(value - margin, value + margin, color="#1b7837", alpha=0.08, lw=0)
            _include(ax, [value, value - margin, value + margin])
    labels = [_group_label(lv.get("config") or {}, None) or (entry.get("metric") or "")
              for lv in levels]
    if along and all(len(lv.get("config") or {}) == 1 for lv in levels):
        labels = [str((lv.get("config") or {}).get(along)) for lv in levels]
        ax.set_xlabel(_mpl(along), fontsize=8)
    ax.set_xticks(range(len(levels)))
    ax.set_xticklabels([_mpl(_short(x, 14)) for x in labels], fontsize=7)
    ax.set_xlim(-0.6, len(levels) - 0.4)
    ax.set_ylabel(_mpl(_short(entry.get("metric") or "metric", 28)), fontsize=8)
    title = {"threshold": "per seed, mean and 95% CI; threshold in red",
             "variance": "per seed (spread is the claim), mean and 95% CI",
             "exact": "per seed (every seed must hold)"}.get(entry.get("kind") or "",
                                                            "per seed, mean and 95% CI")
    ax.set_title(title, fontsize=8)


def _draw_history(ax: Any, entry: dict[str, Any], key: str) -> None:
    levels = [lv for lv in entry.get("levels") or [] if key in (lv.get("history") or {})]
    along = _along(entry, levels)
    for i, lv in enumerate(levels):
        h = lv["history"][key]
        epochs = list(range(1, len(h.get("mean") or []) + 1))
        colour = _SERIES[i % len(_SERIES)]
        lows = [_num(v) for v in h.get("min") or []]
        highs = [_num(v) for v in h.get("max") or []]
        if len(lows) == len(epochs) == len(highs):
            ax.fill_between(epochs, lows, highs, color=colour, alpha=0.12, lw=0)
        config = lv.get("config") or {}
        label = (f"{along}={config.get(along)}" if along and len(config) == 1
                 else _group_label(config, None))
        ax.plot(epochs, [_num(v) for v in h.get("mean") or []], color=colour, lw=1.3,
                label=_mpl(_short(label, 24)))
    ax.set_xlabel("epoch", fontsize=8)
    ax.set_ylabel(_mpl(key), fontsize=8)
    ax.set_title("per epoch: mean, min–max over seeds", fontsize=8)
    if ax.get_legend_handles_labels()[0]:  # one unlabelled curve (a claim of one level)
        ax.legend(fontsize=6, frameon=False)


def _reference(entry: dict[str, Any], design: dict[str, Any]) -> float:
    """What the effect is tested against: the report's ``effect.reference`` when it has one,
    else the design's threshold, else 0."""
    ref = _num((entry.get("effect") or {}).get("reference"))
    if math.isfinite(ref):
        return ref
    for word in ("about", "above", "below"):
        if math.isfinite(_num(design.get(word))):
            return _num(design.get(word))
    return 0.0


def _draw_spec_curve(ax: Any, ax_table: Any, entry: dict[str, Any]) -> None:
    settings = entry.get("settings") or []
    base = entry.get("design") or {}
    for i, st in enumerate(settings):
        design = {**base, **{k: v for k, v in (st.get("values") or {}).items() if k in base}}
        effect = st.get("effect") or {}
        value = _num(effect.get("value"))
        ci = effect.get("ci") or [None, None]
        low, high = _num(ci[0]), _num(ci[1])
        colour = VERDICT_COLOURS.get(st.get("verdict") or "", "#333")
        ref = _reference(st, design)
        margin = _num(design.get("margin"))
        ax.plot([i - 0.4, i + 0.4], [ref, ref], color="#444", lw=0.8)
        if math.isfinite(margin):  # the margin around this setting's reference
            ax.fill_between([i - 0.4, i + 0.4], [ref - margin] * 2, [ref + margin] * 2,
                            color="#1b7837", alpha=0.1, lw=0)
        if math.isfinite(value):
            yerr = ([[value - low], [high - value]] if math.isfinite(low) and math.isfinite(high)
                    else None)
            ax.errorbar([i], [value], yerr=yerr, fmt="o", color=colour, ms=5, capsize=3)
        ax.text(i, 1.01, _mpl(st.get("verdict") or "?"), transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=6, color=colour)
    names = {str((st.get("effect") or {}).get("name")) for st in settings
             if (st.get("effect") or {}).get("name")}
    ax.set_ylabel(_mpl(_short(" / ".join(sorted(names)) or "effect", 30)), fontsize=8)
    ax.set_xlim(-0.5, len(settings) - 0.5)
    ax.set_xticks(range(len(settings)))
    ax.tick_params(axis="x", labelbottom=False, length=0)
    ax.set_title("open settings: effect, 95% CI", fontsize=8, pad=9)
    # The settings below: one row per value an open setting changes, "·" where it keeps
    # the claim's own (the base setting is the all-dots column).
    rows = _setting_rows(settings)
    ax_table.set_ylim(len(rows) - 0.5, -0.5)
    for r, name in enumerate(rows):
        for i, st in enumerate(settings):
            vals = st.get("values") or {}
            text = _short(vals[name], 12) if name in vals else "·"
            ax_table.text(i, r, _mpl(text), ha="center", va="center", fontsize=6,
                          color="#222" if name in vals else "#999")
    ax_table.set_yticks(range(len(rows)))
    ax_table.set_yticklabels([_mpl(_short(n, 14)) for n in rows], fontsize=6)
    ax_table.tick_params(length=0, labelbottom=False)
    for spine in ax_table.spines.values():
        spine.set_visible(False)


def _include(ax: Any, values: Sequence[float]) -> None:
    """Widen the y-range so lines drawn across (thresholds, margins) stay in view."""
    finite = _finite(values)
    if finite:
        low, high = ax.get_ylim()
        low, high = min(low, *finite), max(high, *finite)
        pad = 0.04 * (high - low or 1.0)
        ax.set_ylim(low - pad, high + pad)


def _main_panel(ax: Any, entry: dict[str, Any]) -> None:
    kind = entry.get("kind")
    if kind in _ORDERED_KINDS:
        _draw_trend(ax, entry)
    elif kind in ("compare", "equivalent") and _draw_paired(ax, entry):
        pass
    else:
        _draw_strip(ax, entry)


def _style(ax: Any) -> None:
    ax.tick_params(labelsize=7)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#eee", lw=0.6)


def has_plot(entry: dict[str, Any]) -> bool:
    """Whether the entry holds anything to draw (levels, or settings with effects)."""
    return bool(entry.get("levels")) or len(entry.get("settings") or []) > 1


def claim_svg(entry: dict[str, Any]) -> str:
    """The claim's figure as an inline ``<svg>`` element (no XML prolog, no namespace URLs,
    text kept as text so it stays small and searchable).

    One row of panels: the kind's plot, per-epoch curves (when the levels carry histories)
    and the specification curve with its settings below (when the claim has open settings).
    """
    import io

    import matplotlib
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    settings = entry.get("settings") or []
    levels = entry.get("levels") or []
    key = _history_key(entry, levels)
    spec = len(settings) > 1
    rows = len(_setting_rows(settings)) if spec else 0
    widths = ([_PANEL_W] if levels else []) + ([_PANEL_W * 0.85] if key else []) \
        + ([max(2.9, 1.0 + 0.55 * len(settings))] if spec else [])
    table_h = 0.17 * rows + 0.1
    height = _PANEL_H + (table_h if spec else 0.0)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "atomcheck",
                                "font.family": "DejaVu Sans", "path.simplify": True}):
        fig = Figure(figsize=(sum(widths), height), layout="constrained")
        grid = fig.add_gridspec(2, len(widths), width_ratios=widths,
                                height_ratios=[_PANEL_H, table_h if spec else 0.01])
        col = 0
        if levels:
            ax = fig.add_subplot(grid[:, col])
            _main_panel(ax, entry)
            _style(ax)
            col += 1
        if key is not None:
            hx = fig.add_subplot(grid[:, col])
            _draw_history(hx, entry, key)
            _style(hx)
            col += 1
        if spec:
            sx = fig.add_subplot(grid[0, col])
            tx = fig.add_subplot(grid[1, col], sharex=sx)
            _draw_spec_curve(sx, tx, entry)
            _style(sx)
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None,
                                                 "Format": None, "Type": None})
    return _inline_svg(out.getvalue())


_PROLOG = re.compile(r"^.*?(?=<svg)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_NAMESPACES = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')
_COMMENTS = re.compile(r"<!--.*?-->", re.S)


def _inline_svg(svg: str) -> str:
    """matplotlib's SVG file as an element for an HTML page: the HTML parser supplies the
    SVG namespace, so the prolog, metadata and namespace URLs go (no http:// on the page)."""
    svg = _PROLOG.sub("", svg, count=1)
    svg = _METADATA.sub("", svg)
    svg = _COMMENTS.sub("", svg)
    svg = _NAMESPACES.sub("", svg)
    return svg.replace(' version="1.1"', "", 1).strip()


_STYLE_ATTR = re.compile(r' style="([^"]*)"')
_COORD_ATTR = re.compile(r'(\s(?:d|x|y|x1|x2|y1|y2|width|height|transform|points)=")([^"]*)"')
_LONG_NUMBER = re.compile(r"(-?\d+\.\d)\d+")
_GROUP_ID = re.compile(r' id="[A-Za-z_.]*_\d+"')   # line2d_3, text_1...: never referenced
_INDENT = re.compile(r"\n\s+")
_DEFINED_ID = re.compile(r' id="([^"]+)"')


class SvgCompactor:
    """Shrinks the page's SVGs: coordinates to 0.1 pt (far below a pixel), the inline
    styles matplotlib repeats on every mark into classes shared by all figures, and the
    indentation and unreferenced group ids go (they would repeat across figures too).
    The ids left (clip paths, markers) are renamed per figure, in order: matplotlib derives
    them from hashes that can differ between runs, and two figures on one page must not
    share one.

    Examples
    --------
    >>> c = SvgCompactor()
    >>> c.compact('<path d="M 1.23456 2.5" style="fill: none"/>')
    '<path d="M 1.2 2.5" class="k0"/>'
    >>> c.css()
    '.k0{fill: none}'
    """

    def __init__(self) -> None:
        self.classes: dict[str, str] = {}
        self.figures = 0

    def _class(self, match: re.Match[str]) -> str:
        style = match.group(1)
        name = self.classes.setdefault(style, f"k{len(self.classes)}")
        return f' class="{name}"'

    def compact(self, svg: str) -> str:
        """``svg`` with rounded coordinates and styles replaced by class names."""
        svg = _COORD_ATTR.sub(lambda m: m.group(1) + _LONG_NUMBER.sub(r"\1", m.group(2)) + '"',
                              svg)
        svg = _INDENT.sub("\n", _GROUP_ID.sub("", svg))
        self.figures += 1
        names = {old: f"f{self.figures}-{i}"
                 for i, old in enumerate(dict.fromkeys(_DEFINED_ID.findall(svg)))}
        if names:
            pattern = re.compile(r'(id="|#)(' + "|".join(map(re.escape, names)) + r')(?=[")])')
            svg = pattern.sub(lambda m: m.group(1) + names[m.group(2)], svg)
        return _STYLE_ATTR.sub(self._class, svg)

    def css(self) -> str:
        """The rules of every class handed out, for the page's ``<style>``."""
        return "\n".join(f".{name}{{{style}}}" for style, name in self.classes.items())
