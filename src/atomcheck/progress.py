"""A long claim's progress on pytest's terminal, without breaking pytest's own output.

- ``-v`` and more: one line per trained configuration (``atomcheck: claim: setting · level
  · seeds done``), written through the terminal reporter so that pytest re-prints the test's
  name before its outcome.
- default verbosity on a terminal (a tty): a transient status after pytest's progress dots,
  rewritten in place and erased before the test's outcome letter is written, so the line of
  dots reads as always.
- default verbosity without a tty (CI logs, pipes), ``-q``, and xdist workers: nothing.

The plugin builds one :class:`TerminalProgress` per run; a :class:`atomcheck.Claim` calls it
with a message after each configuration trains.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["TerminalProgress", "progress_mode"]

# Room left at the line's end for pytest's own "[ 42%]" progress column.
_PERCENT_COLUMN = 8


def progress_mode(verbose: int, isatty: bool, worker: bool) -> str:
    """``"lines"``, ``"status"`` or ``"off"`` for a run's verbosity, terminal and role.

    Examples
    --------
    >>> [progress_mode(v, True, False) for v in (-1, 0, 1)]
    ['off', 'status', 'lines']
    >>> progress_mode(0, False, False), progress_mode(2, True, True)
    ('off', 'off')
    """
    if worker or verbose < 0:
        return "off"
    if verbose >= 1:
        return "lines"
    return "status" if isatty else "off"


class TerminalProgress:
    """Writes progress messages to pytest's terminal reporter (see the module docstring).

    Parameters
    ----------
    reporter : _pytest.terminal.TerminalReporter
    capman : _pytest.capture.CaptureManager or None
        Progress is written while the test's output is captured: capture pauses meanwhile.
    mode : {"lines", "status", "off"}
    """

    def __init__(self, reporter: Any, capman: Any, mode: str) -> None:
        self.reporter = reporter
        self.capman = capman
        self.mode = mode
        self._shown = 0  # characters of the status now on the line

    @contextlib.contextmanager
    def _uncaptured(self) -> Iterator[None]:
        if self.capman is None:
            yield
        else:
            with self.capman.global_and_fixture_disabled():
                yield

    def __call__(self, message: str) -> None:
        """Show ``message`` (one configuration of a claim done)."""
        if self.mode == "lines":
            with self._uncaptured():
                self.reporter.write_line(f"  atomcheck: {message}")
        elif self.mode == "status":
            self._status(f" [{message}]")

    def _erase(self) -> str:
        n = self._shown
        self._shown = 0
        return "\b" * n + " " * n + "\b" * n

    def _status(self, text: str) -> None:
        tw = self.reporter._tw
        room = tw.fullwidth - tw.width_of_current_line - _PERCENT_COLUMN
        # One column per character, so that the erasing counts right.
        text = text.replace("·", "-").encode("ascii", "replace").decode()
        if len(text) > room:
            text = text[: max(room - 1, 0)] + ("]" if room > 1 else "")
        # Written around the terminal writer, so that its idea of the line's width (where
        # pytest puts the percentage) stays that of the dots alone.
        with self._uncaptured():
            tw._file.write(self._erase() + text)
            tw._file.flush()
        self._shown = len(text)

    def clear(self) -> None:
        """Erase the status before pytest writes the test's outcome."""
        if self._shown:
            tw = self.reporter._tw
            with self._uncaptured():
                tw._file.write(self._erase())
                tw._file.flush()
