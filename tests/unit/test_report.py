"""Report renderers: JSON schema v1, Markdown and the terminal table."""

from __future__ import annotations

import json

import pytest

from atomcheck import Claim, InvalidClaim, Rises
from atomcheck.report import build_run, render_json, render_markdown, render_table, write_report


@pytest.fixture
def run() -> dict:
    claim = Claim("demo.rise", "y rises with x | and a pipe", sources=["doc §1"], seeds=5,
                  variant="v1", nodeid="t.py::test[v1]")
    claim.sweep(lambda seed, x: {"y": x + 0.1 * seed}, x=[1, 2, 3])
    claim.expect(Rises("y", along="x"))
    refuted = Claim("demo.wrong", "y falls", seeds=5, expected="refuted", reason="it rises")
    refuted.sweep(lambda seed, x: {"y": float(x)}, x=[1, 2, 3])
    refuted.expect(Rises("y", along="x"))
    return build_run([claim.to_dict(outcome="passed"), refuted.to_dict(outcome="failed")],
                     {"alpha": 0.05, "profile": "default", "inconclusive": "fail"})


def test_json_is_schema_v1_and_strict(run: dict) -> None:
    doc = json.loads(render_json(run))
    assert doc["schema"] == "atomcheck-report/1"
    assert [c["id"] for c in doc["claims"]] == ["demo.rise", "demo.wrong"]
    assert doc["claims"][0]["variant"] == "v1"
    assert doc["claims"][0]["effect"]["ci_level"] == 0.95


def test_markdown_table_escapes_pipes_and_notes_reasons(run: dict) -> None:
    text = render_markdown(run)
    assert "| `demo.rise[v1]` | y rises with x \\| and a pipe | **supported** |" in text
    assert "- `demo.wrong` is expected to be refuted: it rises" in text
    assert "Outcomes: 1 failed, 1 passed" in text


def test_table_fits_the_width(run: dict) -> None:
    text = render_table(run, width=100)
    assert all(len(line) <= 100 for line in text.splitlines())
    assert "demo.rise[v1]" in text and "supported (expected refuted)" in text


def test_write_report_picks_format_by_suffix(run: dict, tmp_path) -> None:
    assert json.loads(write_report(tmp_path / "a" / "r.json", run).read_text())["claims"]
    assert write_report(tmp_path / "r.md", run).read_text().startswith("# atomcheck report")
    with pytest.raises(InvalidClaim, match="unknown suffix '.txt'"):
        write_report(tmp_path / "r.txt", run)


def test_narrow_table_puts_statements_on_their_own_line(run: dict) -> None:
    text = render_table(run, width=70)
    assert all(len(line) <= 70 for line in text.splitlines() if line.startswith("    "))
    assert "    y rises with x | and a pipe" in text.splitlines()
    assert "statement" not in text.splitlines()[0]
    wide = render_table(run, width=200)
    assert "statement" in wide.splitlines()[0]
