"""Progress of long claims on the terminal: lines under -v, a transient status on a tty,
nothing under -q, without a tty, or on xdist workers — and pytest's own output intact."""

from __future__ import annotations

import io
from typing import Any

import pytest

from atomcheck.progress import TerminalProgress, progress_mode

CLAIMS = '''
import pytest
from atomcheck import Rises

def fn(seed, x, lr=0.1):
    return {"y": x * lr + 0.0 * seed}

@pytest.mark.claim(claim_id="demo.long", robust_over={"lr": [1.0]}, seeds=10)
def test_long(claim):
    """y rises with x."""
    claim.sweep(fn, x=[1, 2, 3])
    claim.expect(Rises("y", along="x"))

def test_plain():
    pass
'''


def test_verbose_shows_claim_setting_level_and_seeds(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=CLAIMS)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([
        "test_claims.py::test_long ",
        "  atomcheck: demo.long: setting base · x=1 · seeds 10/60 (1/6 configs)",
        "*atomcheck: demo.long: setting lr=1.0 · x=3 · seeds 60/60 (6/6 configs)",
        # pytest names the test again before its outcome: its output stays readable.
        "test_claims.py::test_long SUPPORTED*",
        "test_claims.py::test_plain PASSED*",
    ])


@pytest.mark.parametrize("args", [[], ["-q"], ["-p", "xdist", "-n", "1", "-v"]],
                         ids=["no-tty", "quiet", "xdist"])
def test_quiet_without_tty_under_q_and_on_workers(pytester: pytest.Pytester,
                                                  args: list[str]) -> None:
    pytester.makepyfile(test_claims=CLAIMS)
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=2)
    assert "seeds 10/60" not in result.stdout.str()
    if not args:
        result.stdout.fnmatch_lines(["test_claims.py .. *[[]100%[]]"])


class _Writer:
    def __init__(self, width: int) -> None:
        self._file = io.StringIO()
        self.fullwidth = width
        self.line = ""

    @property
    def width_of_current_line(self) -> int:
        return len(self.line)


class _Reporter:
    def __init__(self, width: int = 60) -> None:
        self._tw = _Writer(width)
        self.lines: list[str] = []

    def write_line(self, line: str) -> None:
        self.lines.append(line)


def _screen(raw: str) -> str:
    """What a terminal shows of one line written with backspaces."""
    cells: list[str] = []
    cursor = 0
    for ch in raw:
        if ch == "\b":
            cursor = max(cursor - 1, 0)
            continue
        if cursor == len(cells):
            cells.append(ch)
        else:
            cells[cursor] = ch
        cursor += 1
    return "".join(cells).rstrip()


def test_status_on_a_tty_is_rewritten_in_place_and_erased() -> None:
    reporter: Any = _Reporter(width=80)
    reporter._tw.line = "test_claims.py ."
    shown = TerminalProgress(reporter, None, "status")
    shown("demo.long: x=1 · seeds 10/60 (1/6 configs)")
    assert _screen(reporter._tw.line + reporter._tw._file.getvalue()) == (
        "test_claims.py . [demo.long: x=1 - seeds 10/60 (1/6 configs)]")
    shown("demo.long: setting lr=1.0 · x=3 · seeds 60/60 (6/6 configs)")
    screen = _screen(reporter._tw.line + reporter._tw._file.getvalue())
    assert screen.startswith("test_claims.py . [demo.long: setting lr=1.0")
    assert len(screen) <= 80 - 8 and screen.endswith("]")  # room kept for pytest's [ 50%]
    shown.clear()
    assert _screen(reporter._tw.line + reporter._tw._file.getvalue()) == "test_claims.py ."
    assert reporter.lines == []


def test_lines_mode_writes_through_the_reporter() -> None:
    reporter: Any = _Reporter()
    TerminalProgress(reporter, None, "lines")("demo: x=1 · seeds 10/30 (1/3 configs)")
    assert reporter.lines == ["  atomcheck: demo: x=1 · seeds 10/30 (1/3 configs)"]
    assert progress_mode(0, isatty=True, worker=False) == "status"
    assert progress_mode(0, isatty=False, worker=False) == "off"
