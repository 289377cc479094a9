"""The HTML report: one self-contained page per run.

No network and no external asset: styles, the plots (inline SVG from matplotlib) and a short
script are all in the file. Without JavaScript the page is complete; with it the summary
table sorts by any column and filters by verdict. Every piece of text from the run (claim
statements, sources, level values, messages) is escaped.

:func:`render_html` reads the run document only (the JSON report's data), so a saved run
re-renders without training.
"""

from __future__ import annotations

import html
import re
from typing import Any

from atomcheck.report._format import (fmt_effect, fmt_p, fmt_seeds, fmt_time, fmt_verdict,
                                      variance_caption, variance_table)
from atomcheck.report.plots import VERDICT_COLOURS, SvgCompactor, claim_svg, has_plot

__all__ = ["render_html", "VERDICTS"]

VERDICTS = ("supported", "conditional", "refuted", "inconclusive", "error")


def _e(text: Any) -> str:
    """Escape text for an element or a quoted attribute."""
    return html.escape("" if text is None else str(text), quote=True)


def _label(claim: dict[str, Any]) -> str:
    return str(claim.get("id")) + (f"[{claim['variant']}]" if claim.get("variant") else "")


def _anchors(claims: list[dict[str, Any]]) -> list[str]:
    """A unique, attribute-safe id per claim (``c-atoms.depth``)."""
    out: list[str] = []
    for c in claims:
        base = "c-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", _label(c)).strip("-")
        name, n = base, 1
        while name in out:
            n += 1
            name = f"{base}-{n}"
        out.append(name)
    return out


def _breakable(label: str) -> str:
    """An escaped claim id that may wrap after its dots, never inside a word."""
    return _e(label).replace(".", ".<wbr>")


def _sort_num(x: Any) -> str:
    return "" if x is None else repr(float(x))


def _verdict(claim: dict[str, Any]) -> str:
    verdict = claim.get("verdict") or "error"
    return verdict if verdict in VERDICTS else "error"


_CSS = """
:root{--fg:#1d1d1f;--muted:#666;--line:#ddd}
html{background:#fff}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
 color:var(--fg);margin:0 auto;max-width:1200px;padding:0 16px 40px}
h1{font-size:22px;margin:18px 0 4px}h2{font-size:16px;margin:0 0 4px}
.meta{color:var(--muted);font-size:12px;margin:2px 0}
.counts span{margin-right:10px}
.partial{background:#fff3cd;border:1px solid #e0c060;padding:6px 10px}
table{border-collapse:collapse;width:100%;font-size:12.5px}
th,td{border-bottom:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f6f6f6;position:sticky;top:0}
th[data-type]{cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.src{font-size:11px;color:var(--muted);overflow-wrap:anywhere;min-width:9em}
td.stmt{min-width:14em}
td.eff{white-space:normal;min-width:8em}
.wide{overflow-x:auto}
td.id{min-width:11em}td.vd{white-space:nowrap}
.badge{display:inline-block;border-radius:3px;padding:0 6px;color:#fff;font-size:12px;
 white-space:nowrap}
%(badges)s
#filters{margin:10px 0;font-size:13px}#filters label{margin-right:12px}
section.claim{border-top:2px solid var(--line);padding:14px 0 6px}
.statement{font-size:15px;margin:2px 0 6px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:1px 12px;margin:6px 0;font-size:12.5px}
dt{color:var(--muted)}dd{margin:0}
.facts{font-size:12.5px;margin:4px 0}.facts span{color:var(--muted)}
figure{margin:8px 0;overflow-x:auto}figure svg{max-width:100%;height:auto}
.note{font-size:12.5px;margin:4px 0}
details{font-size:12.5px;margin:4px 0}
table.sub{width:auto;min-width:60%;margin:4px 0}
footer{color:var(--muted);font-size:11px;margin-top:24px}
[hidden]{display:none!important}
"""

# Sorting (any column, numeric where the header says so) and filtering by verdict. The
# last lines leave marks a headless browser's DOM dump can show: the script ran, the page's
# height and how many plots have a size.
_JS = """
(function(){
var table=document.getElementById('summary');if(!table)return;
var body=table.tBodies[0],heads=table.tHead.rows[0].cells;
Array.prototype.forEach.call(heads,function(th,col){
 if(!th.dataset.type)return;
 th.setAttribute('tabindex','0');th.title='sort';
 function sort(){
  var asc=th.getAttribute('aria-sort')!=='ascending';
  Array.prototype.forEach.call(heads,function(h){h.removeAttribute('aria-sort');});
  th.setAttribute('aria-sort',asc?'ascending':'descending');
  var rows=Array.prototype.slice.call(body.rows),num=th.dataset.type==='num';
  rows.sort(function(a,b){
   var x=a.cells[col].dataset.sort,y=b.cells[col].dataset.sort;
   if(x===undefined)x=a.cells[col].textContent;if(y===undefined)y=b.cells[col].textContent;
   if(num){x=x===''?Infinity:parseFloat(x);y=y===''?Infinity:parseFloat(y);
    return asc?x-y:y-x;}
   return asc?x.localeCompare(y):y.localeCompare(x);});
  rows.forEach(function(r){body.appendChild(r);});}
 th.addEventListener('click',sort);
 th.addEventListener('keydown',function(e){
  if(e.key==='Enter'||e.key===' '){e.preventDefault();sort();}});
});
var box=document.getElementById('filters');box.hidden=false;
function apply(){
 var on={};Array.prototype.forEach.call(box.querySelectorAll('input'),function(i){
  on[i.value]=i.checked;});
 Array.prototype.forEach.call(document.querySelectorAll('[data-verdict]'),function(el){
  el.hidden=!on[el.dataset.verdict];});}
box.addEventListener('change',apply);apply();
var root=document.documentElement;root.setAttribute('data-js','ready');
root.setAttribute('data-page-height',String(document.body.scrollHeight));
root.setAttribute('data-plots-drawn',String(Array.prototype.filter.call(
 document.querySelectorAll('figure svg'),function(s){
  return s.getBoundingClientRect().width>0;}).length));
})();
"""


def _badge(verdict: str, text: str | None = None) -> str:
    return f'<span class="badge v-{_e(verdict)}">{_e(text or verdict)}</span>'


def _header(run: dict[str, Any], claims: list[dict[str, Any]]) -> list[str]:
    cfg, env = run.get("config") or {}, run.get("environment") or {}
    counts = {v: sum(_verdict(c) == v for c in claims) for v in VERDICTS}
    failed = sum((c.get("outcome") or "") == "failed" for c in claims)
    out = ["<header>", "<h1>atomcheck report</h1>",
           f'<p class="meta">Created {_e(run.get("created", "?"))} · profile '
           f'{_e(cfg.get("profile", "?"))} · seeds from {_e(cfg.get("seed_base", 0))} · alpha '
           f'{_e(cfg.get("alpha", "?"))} · inconclusive → '
           f'{_e(cfg.get("inconclusive", "?"))}</p>',
           f'<p class="meta">Python {_e(env.get("python", "?"))} · torch '
           f'{_e(env.get("torch", "?"))} · atomcheck {_e(env.get("atomcheck", "?"))} · device '
           f'{_e(env.get("device", "?"))} · {_e(env.get("platform", ""))}</p>',
           f'<p class="counts">{len(claims)} claims: '
           + " ".join(f"{_badge(v, f'{n} {v}')}" for v, n in counts.items() if n)
           + (f" · {failed} failed (verdict not as expected)" if failed else "") + "</p>"]
    if run.get("partial"):
        unfinished = run.get("unfinished") or []
        out.append('<p class="partial"><strong>Partial run</strong>: cut short before every '
                   f"claim finished; {len(unfinished)} did not: "
                   + (", ".join(f"<code>{_e(n)}</code>" for n in unfinished) or "none recorded")
                   + ".</p>")
    out.append("</header>")
    return out


def _summary(claims: list[dict[str, Any]], anchors: list[str]) -> list[str]:
    present = [v for v in VERDICTS if any(_verdict(c) == v for c in claims)]
    out = ['<div id="filters" hidden>Show: ' + "".join(
        f'<label><input type="checkbox" value="{v}" checked> {_badge(v)}</label>'
        for v in present) + "</div>"]
    heads = [("claim", "text"), ("statement", "text"), ("verdict", "text"),
             ("outcome", "text"), ("effect [95% CI]", "num"), ("p", "num"), ("seeds", "num"),
             ("time", "num"), ("sources", "")]
    out.append('<div class="wide"><table id="summary"><thead><tr>' + "".join(
        f"<th{f' data-type={chr(34)}{t}{chr(34)}' if t else ''}>{_e(h)}</th>"
        for h, t in heads) + "</tr></thead><tbody>")
    for c, anchor in zip(claims, anchors):
        effect = (c.get("effect") or {}).get("value")
        out.append(
            f'<tr data-verdict="{_verdict(c)}">'
            f'<td class="id"><a href="#{anchor}"><code>{_breakable(_label(c))}</code></a></td>'
            f"<td class='stmt'>{_e(c.get('statement'))}</td>"
            f'<td class="vd" data-sort="{_verdict(c)}">{_badge(_verdict(c), fmt_verdict(c))}</td>'
            f"<td>{_e(c.get('outcome') or '-')}</td>"
            f'<td class="num eff" data-sort="{_sort_num(effect)}">{_e(fmt_effect(c))}</td>'
            f'<td class="num" data-sort="{_sort_num(c.get("p_value"))}">{_e(fmt_p(c))}</td>'
            f'<td class="num" data-sort="{_sort_num(c.get("n_seeds"))}">{_e(fmt_seeds(c))}</td>'
            f'<td class="num" data-sort="{_sort_num(c.get("wall_s"))}">{_e(fmt_time(c))}</td>'
            f'<td class="src">{_e("; ".join(c.get("sources") or []))}</td></tr>')
    out.append("</tbody></table></div>")
    return out


def _settings_table(claim: dict[str, Any]) -> list[str]:
    settings = claim.get("settings") or []
    if not settings:
        return []
    out = ['<table class="sub"><thead><tr><th>open setting</th><th>verdict</th><th>test</th>'
           "<th>effect [95% CI]</th><th>p</th><th>seeds</th></tr></thead><tbody>"]
    for st in settings:
        out.append(f"<tr><td><code>{_e(st.get('setting'))}</code></td>"
                   f"<td>{_badge(st.get('verdict') or 'error')}</td><td>{_e(st.get('test'))}</td>"
                   f'<td class="num">{_e(fmt_effect(st))}</td><td class="num">{_e(fmt_p(st))}'
                   f'</td><td class="num">{_e(fmt_seeds(st))}</td></tr>')
    out.append("</tbody></table>")
    return out


def _variance_table(claim: dict[str, Any]) -> list[str]:
    """The claim's variance by source of randomness (``variance_sources``), if it has one."""
    if not claim.get("variance_by_source"):
        return []
    heads, rows = variance_table(claim)
    out = [f'<p class="note"><strong>Variance by source:</strong> '
           f"{_e(variance_caption(claim))}</p>",
           '<table class="sub variance"><thead><tr>'
           + "".join(f"<th>{_e(h)}</th>" for h in heads) + "</tr></thead><tbody>"]
    for row in rows:
        out.append(f"<tr><td><code>{_e(row[0])}</code></td>"
                   + "".join(f'<td class="num">{_e(x)}</td>' for x in row[1:]) + "</tr>")
    out.append("</tbody></table>")
    return out


def _members_table(claim: dict[str, Any]) -> list[str]:
    members = claim.get("members") or []
    if not members:
        return []
    out = [f"<details><summary>{len(members)} tests in the family (Holm-corrected "
           "refutation)</summary>",
           '<table class="sub"><thead><tr><th>member</th><th>verdict</th><th>test</th>'
           "<th>effect [95% CI]</th><th>p</th><th>p opposite</th></tr></thead><tbody>"]
    for m in members:
        p_opp = m.get("p_opposite")
        out.append(f"<tr><td>{_e(m.get('label'))}</td><td>{_badge(m.get('verdict') or 'error')}"
                   f"</td><td>{_e(m.get('test'))}</td><td class=\"num\">{_e(fmt_effect(m))}</td>"
                   f'<td class="num">{_e(fmt_p({"p_value": m.get("p_value")}))}</td>'
                   f'<td class="num">{_e(fmt_p({"p_value": p_opp}))}</td></tr>')
    out.append("</tbody></table></details>")
    return out


def _figure(claim: dict[str, Any], compactor: SvgCompactor) -> str:
    if not has_plot(claim):
        return '<p class="note">No plot: the claim recorded no levels.</p>'
    try:
        svg = compactor.compact(claim_svg(claim))
    except ImportError as exc:  # the page without plots is still the report
        return (f'<p class="note">Plot unavailable: {_e(exc)}; the plots need matplotlib '
                "(pip install 'atomcheck[plot]').</p>")
    except Exception as exc:  # a plot that fails must not cost the whole report
        return f'<p class="note">Plot unavailable: {_e(type(exc).__name__)}: {_e(exc)}</p>'
    return f'<figure aria-label="plot of {_e(_label(claim))}">{svg}</figure>'


def _section(claim: dict[str, Any], anchor: str, compactor: SvgCompactor) -> list[str]:
    eff = claim.get("effect") or {}
    facts = [("expected", claim.get("expected")), ("test", claim.get("test")),
             ("effect", f"{fmt_effect(claim)} ({eff.get('name')})" if eff.get("name")
              else fmt_effect(claim)),
             ("p", fmt_p(claim)), ("seeds", fmt_seeds(claim)), ("time", fmt_time(claim)),
             ("outcome", claim.get("outcome")), ("engine", claim.get("engine"))]
    where = [("expectation", claim.get("expectation")),
             ("sources", "; ".join(claim.get("sources") or [])), ("test id", claim.get("nodeid"))]
    out = [f'<section class="claim" id="{anchor}" data-verdict="{_verdict(claim)}">',
           f"<h2><code>{_e(_label(claim))}</code> "
           f"{_badge(_verdict(claim), fmt_verdict(claim))}</h2>",
           f'<p class="statement">{_e(claim.get("statement"))}</p>',
           '<p class="facts">' + " · ".join(f"<span>{_e(k)}</span> {_e(v)}" for k, v in facts
                                           if v not in (None, "", "-")) + "</p>",
           "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in where
                            if v not in (None, "", "-")) + "</dl>"]
    if claim.get("reason"):
        out.append(f'<p class="note"><strong>Why expected {_e(claim.get("expected"))}:</strong> '
                   f"{_e(claim['reason'])}</p>")
    if claim.get("message"):
        out.append(f'<p class="note"><strong>Note:</strong> {_e(claim["message"])}</p>')
    if claim.get("advice"):
        out.append(f'<p class="note"><strong>Advice:</strong> {_e(claim["advice"])}</p>')
    out.append(_figure(claim, compactor))
    out += _settings_table(claim)
    out += _variance_table(claim)
    out += _members_table(claim)
    out.append("</section>")
    return out


def render_html(run: dict[str, Any]) -> str:
    """Render the run document (the JSON report's data) as one self-contained HTML page.

    matplotlib draws the plots (imported here, only when a page is asked for).

    Examples
    --------
    >>> page = render_html({"claims": [], "config": {}, "environment": {}})
    >>> page.startswith("<!DOCTYPE html>") and "http://" not in page
    True
    """
    claims = list(run.get("claims") or [])
    anchors = _anchors(claims)
    compactor = SvgCompactor()
    sections = [line for claim, anchor in zip(claims, anchors)
                for line in _section(claim, anchor, compactor)]
    badges = "\n".join(f".v-{v}{{background:{c}}}" for v, c in VERDICT_COLOURS.items())
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<title>atomcheck report</title>",
           "<style>" + _CSS.replace("%(badges)s", badges) + "</style>",
           "<style>" + compactor.css() + "</style></head><body>"]
    out += _header(run, claims)
    out += _summary(claims, anchors) if claims else ["<p>No claims ran.</p>"]
    out += ["<main>", *sections, "</main>"]
    env = run.get("environment") or {}
    out.append(f'<footer>atomcheck {_e(env.get("atomcheck", ""))} · report schema '
               f'{_e(run.get("schema", "?"))} · the same data as the JSON report</footer>')
    out.append("<script>" + _JS + "</script></body></html>")
    return "\n".join(out) + "\n"
