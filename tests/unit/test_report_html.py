"""The HTML report: a self-contained page, escaped, one plot per claim, sort and filter."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest
from report_runs import HOSTILE_LEVEL, HOSTILE_STATEMENT, demo_run

from atomcheck.claim import _attach_histories
from atomcheck.report import REPORT_SUFFIXES, render_html, render_json, write_report
from atomcheck.report.plots import paired_differences, trend_series
from atomcheck.sweep import Run, Samples


@pytest.fixture(scope="module")
def run() -> dict:
    return demo_run()


@pytest.fixture(scope="module")
def page(run: dict) -> str:
    return render_html(run)


class _Outline(HTMLParser):
    """Tags of the page, by kind, with the state they were opened in."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.rows: list[dict[str, str | None]] = []
        self.sections: list[dict[str, str | None]] = []
        self.svg_in_section: dict[str, int] = {}
        self.scripts: list[dict[str, str | None]] = []
        self.hidden: list[str] = []
        self.current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "hidden" in a:
            self.hidden.append(a.get("id") or tag)
        if tag == "tr" and "tbody" in self.stack and "data-verdict" in a:
            self.rows.append(a)
        if tag == "section":
            self.sections.append(a)
            self.current = a.get("id")
            self.svg_in_section[self.current or ""] = 0
        if tag == "svg" and self.current is not None and "figure" in self.stack:
            self.svg_in_section[self.current] += 1
        if tag == "script":
            self.scripts.append(a)
        if tag not in ("meta", "input", "br", "path", "use", "rect", "circle", "line",
                       "polyline", "polygon", "ellipse", "stop", "image"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass
        if tag == "section":
            self.current = None


@pytest.fixture(scope="module")
def outline(page: str) -> _Outline:
    parser = _Outline()
    parser.feed(page)
    return parser


def test_one_row_and_one_section_per_claim(run: dict, outline: _Outline) -> None:
    n = len(run["claims"])
    assert len(outline.rows) == n == len(outline.sections)
    assert [r["data-verdict"] for r in outline.rows] == [c["verdict"] for c in run["claims"]]


def test_one_plot_per_claim_that_has_data(run: dict, outline: _Outline) -> None:
    plotted = {s["id"]: outline.svg_in_section[s["id"] or ""] for s in outline.sections}
    for claim, (anchor, count) in zip(run["claims"], plotted.items()):
        assert count == (1 if claim["levels"] else 0), (anchor, count)
    assert sum(plotted.values()) == len(run["claims"]) - 1  # all but the errored claim


def test_self_contained(page: str, outline: _Outline) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"https?://", page), "no URL at all: no network, no namespace URLs"
    assert not re.search(r"<(script|img|iframe|link)\b[^>]*\b(src|href)=", page)
    assert not re.search(r"\burl\((?!#)", page)  # only in-page references (SVG clip paths)
    assert len(outline.scripts) == 1 and outline.scripts[0] == {}  # one inline script


def test_readable_without_javascript(page: str, outline: _Outline) -> None:
    # Only the filter box (which needs the script) starts hidden; every claim, table row
    # and plot is in the markup itself.
    assert outline.hidden == ["filters"]
    assert "<noscript" not in page
    assert page.index('id="summary"') < page.index("<main>") < page.index("<script>")


def test_sort_and_filter_script(page: str, run: dict) -> None:
    script = page[page.index("<script>"):]
    for needle in ("aria-sort", "localeCompare", "parseFloat", "data-verdict",
                   "addEventListener('click'", "box.hidden=false"):
        assert needle in script or needle.replace("data-verdict", "dataset.verdict") in script
    verdicts = {c["verdict"] for c in run["claims"]}
    boxes = re.findall(r'<input type="checkbox" value="(\w+)" checked>', page)
    assert set(boxes) == verdicts and len(boxes) == len(verdicts)
    heads = re.findall(r"<th( data-type=\"(\w+)\")?>([^<]*)</th>",
                       page[page.index('id="summary"'):page.index("</thead>")])
    sortable = {label: kind for _, kind, label in heads}
    assert sortable["p"] == sortable["seeds"] == sortable["time"] == "num"
    assert sortable["claim"] == sortable["verdict"] == "text"


def test_numeric_sort_keys_are_numbers(page: str, run: dict) -> None:
    keys = re.findall(r'class="num[^"]*" data-sort="([^"]*)"', page)
    assert keys and all(k == "" or math.isfinite(float(k)) for k in keys)
    by_claim = {c["id"]: c for c in run["claims"]}
    p_value = by_claim["demo.arms"]["p_value"]
    assert f'data-sort="{float(p_value)!r}"' in page


def test_text_is_escaped(page: str) -> None:
    assert "<script>alert" not in page and "<b>bold" not in page
    assert 'Accuracy &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; rises &amp;' in page
    assert "&lt;b&gt;bold" in page  # the hostile level, in the expectation and the plot
    assert page.count("<script>") == 1


def test_every_claim_section_shows_its_numbers(page: str, run: dict) -> None:
    for claim in run["claims"]:
        label = claim["id"] + (f"[{claim['variant']}]" if claim.get("variant") else "")
        assert f"<code>{label}</code>" in page
        for source in claim["sources"]:
            assert source in page
    assert "ValueError: the training function raised" in page


def test_plots_suit_the_kind(page: str) -> None:
    sections = dict(re.findall(r'<section class="claim" id="([^"]+)".*?>(.*?)</section>', page,
                               re.S))
    assert "per seed (thin), mean and 95% CI" in sections["c-demo.width"]
    assert "per epoch" in sections["c-demo.width"]                     # history panel
    assert "open settings: effect" in sections["c-demo.width"]              # specification curve
    assert "per-seed differences" in sections["c-demo.arms"]
    assert "margin dashed" in sections["c-demo.same"]
    assert "threshold in red" in sections["c-demo.above-a"]
    assert "per seed (thin)" in sections["c-demo.peak"]                 # ordered kind
    assert "spread is the claim" in sections["c-demo.spread"]
    assert "No plot" in sections["c-demo.broken"]
    assert "open settings: effect" not in sections["c-demo.arms"]


def test_renders_from_saved_json_alike(run: dict, page: str) -> None:
    again = render_html(json.loads(render_json(run)))
    assert again == page  # a saved run re-renders without training, to the same page


def test_write_report_html(tmp_path, run: dict) -> None:
    assert ".html" in REPORT_SUFFIXES
    path = write_report(tmp_path / "r.html", run)
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_empty_and_partial_runs() -> None:
    page = render_html({"claims": [], "partial": True, "unfinished": ["t.py::<x>"]})
    assert "No claims ran" in page and "Partial run" in page and "t.py::&lt;x&gt;" in page


def test_a_plot_that_fails_does_not_cost_the_page(run: dict) -> None:
    broken = json.loads(json.dumps({**run, "claims": run["claims"][:2]}))
    broken["claims"][0]["levels"][0]["config"] = 5  # not a mapping: the plot raises
    page = render_html(broken)
    assert page.count("<figure") == 1 and page.count("<section") == 2
    assert "Plot unavailable: TypeError" in page


def test_paired_differences_known_answer() -> None:
    entry = {"kind": "compare", "design": {"along": "arm", "a": "x", "b": ["y", "z"]},
             "effect": {"value": 1.0, "ci": [0.5, 1.5]},
             "members": [{"label": "x vs y", "effect": {"value": 1.0, "ci": [0.5, 1.5]},
                          "verdict": "supported"},
                         {"label": "x vs z", "effect": {"value": -2.0, "ci": [-3, -1]},
                          "verdict": "refuted"}],
             "levels": [{"config": {"arm": "x"}, "values": [3.0, 4.0, None]},
                        {"config": {"arm": "y"}, "values": [2.0, 3.0, 1.0]},
                        {"config": {"arm": "z"}, "values": [5.0, 6.0, 1.0]}]}
    pairs = paired_differences(entry)
    assert [p["label"] for p in pairs] == ["x vs y", "x vs z"]
    assert pairs[0]["diffs"][:2] == [1.0, 1.0] and math.isnan(pairs[0]["diffs"][2])
    assert pairs[1]["diffs"][:2] == [-2.0, -2.0] and pairs[1]["verdict"] == "refuted"
    # Equivalent reports b − a: the differences follow the reported effect's sign.
    entry["members"][0]["effect"]["value"] = -1.0
    assert paired_differences(entry)[0]["diffs"][:2] == [-1.0, -1.0]


def test_trend_series_groups_other_factors() -> None:
    levels = [{"config": {"method": m, "n": n}} for m in ("svm", "nn") for n in (10, 20, 40)]
    along, xs, groups = trend_series({"levels": levels, "design": {"along": "n"}})
    assert along == "n" and xs == [10, 20, 40]
    assert list(groups) == ["method=svm", "method=nn"]
    assert all(len(v) == 3 for v in groups.values())


def test_histories_summarised_per_level() -> None:
    runs = [Run({"w": w}, seed, {"m": 0.0}, 0.0, False,
                {"acc": [0.1 * seed + w, 0.2 * seed + w, math.nan if seed else 1.0]})
            for w in (1, 2) for seed in (0, 1, 2)]
    samples = Samples(("w",), [{"w": 1}, {"w": 2}], [0, 1, 2], runs)
    levels = [{"config": {"w": 1}}, {"config": {"w": 2}}]
    _attach_histories(levels, samples)
    h = levels[1]["history"]["acc"]
    assert h["mean"][:2] == pytest.approx([2.1, 2.2]) and h["min"][0] == 2.0
    assert h["max"][1] == pytest.approx(2.4) and h["mean"][2] == 1.0  # NaN epochs skipped
    assert np.all(np.array(levels[0]["history"]["acc"]["mean"][:2]) < 2)


def test_matplotlib_only_when_a_page_is_asked_for() -> None:
    code = ("import sys, atomcheck.report, atomcheck.plugin; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_hostile_level_in_plot_is_escaped(page: str) -> None:
    svg = page[page.index('id="c-demo.same"'):]
    svg = svg[svg.index("<svg"):svg.index("</svg>")]
    assert "<b>" not in svg and "&lt;b&gt;bold$x$" in svg  # escaped, and no mathtext
    assert HOSTILE_LEVEL not in page
    assert HOSTILE_STATEMENT not in page
