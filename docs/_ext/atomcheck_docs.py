"""Sphinx directives that read atomcheck's own definitions, so these pages cannot drift.

- ``.. atomcheck-options::`` — the table of ``--atomcheck-*`` options, their ini twins and
  help, from :func:`atomcheck.plugin.pytest_addoption` (run against a recording parser).
- ``.. atomcheck-cli::`` — the ``atomcheck`` command's help and each subcommand's, from
  :func:`atomcheck.cli.build_parser`.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective


class _Recorder:
    """Stands in for pytest's parser and option group; records what is declared."""

    def __init__(self) -> None:
        self.options: list[tuple[list[str], dict[str, Any]]] = []
        self.ini: dict[str, str] = {}

    def getgroup(self, *args: Any, **kwargs: Any) -> _Recorder:
        return self

    def addoption(self, *names: str, **kwargs: Any) -> None:
        self.options.append((list(names), kwargs))

    def addini(self, name: str, help: str, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        self.ini[name] = help


def _plugin_options() -> _Recorder:
    from atomcheck import plugin

    recorder = _Recorder()
    plugin.pytest_addoption(recorder)  # type: ignore[arg-type]
    return recorder


def _row(*cells: nodes.Node) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        entry += cell
        row += entry
    return row


def _para(text: str, literal: bool = False) -> nodes.paragraph:
    para = nodes.paragraph()
    para += nodes.literal(text=text) if literal else nodes.Text(text)
    return para


class OptionsTable(SphinxDirective):
    """``.. atomcheck-options::``: every ``--atomcheck-*`` option with its ini twin."""

    def run(self) -> list[nodes.Node]:
        recorder = _plugin_options()
        table = nodes.table(classes=["atomcheck-options"])
        group = nodes.tgroup(cols=3)
        table += group
        for width in (30, 18, 52):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        head += _row(_para("option"), _para("ini"), _para("what it does"))
        group += head
        body = nodes.tbody()
        for names, kwargs in recorder.options:
            long = max(names, key=len)
            metavar = kwargs.get("metavar")
            shown = f"{long}={metavar}" if metavar else long
            ini = long.lstrip("-").replace("-", "_")
            ini_cell = _para(ini, literal=True) if ini in recorder.ini else _para("—")
            help_text = str(kwargs.get("help", "")).replace("%%", "%")
            body += _row(_para(shown, literal=True), ini_cell, _para(help_text))
        group += body
        return [table]


def _help(parser: argparse.ArgumentParser) -> str:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "88"  # argparse wraps to the terminal; fix it for the page
    try:
        return parser.format_help()
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


class CliHelp(SphinxDirective):
    """``.. atomcheck-cli::``: ``atomcheck --help`` and ``atomcheck COMMAND --help``."""

    def run(self) -> list[nodes.Node]:
        from atomcheck.cli import build_parser

        parser = build_parser()
        out: list[nodes.Node] = [nodes.literal_block(text=_help(parser), language="text")]
        for action in parser._actions:  # argparse keeps subcommands here, nowhere public
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    out.append(_para(f"atomcheck {name} --help", literal=True))
                    out.append(nodes.literal_block(text=_help(sub), language="text"))
        return out


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("atomcheck-options", OptionsTable)
    app.add_directive("atomcheck-cli", CliHelp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
