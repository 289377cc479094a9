"""The ``atomcheck`` command (also ``python -m atomcheck``): work with saved runs, no training.

- ``atomcheck report RUN.json --to PATH.html|.md|.csv|.json``: re-render a saved run.
- ``atomcheck compare OLD.json NEW.json [--fail effect:10%] [--fail missing]``: the regression
  gate of ``--atomcheck-compare`` (:mod:`atomcheck.gate`); exit status 1 on a regression.
- ``atomcheck list [DIR]``: the claims in DIR (ids, statements, sources), found by pytest's
  collection alone: test modules are imported, nothing is trained.

Exit status: 0 done (gate passed), 1 a regression, 2 bad input (the message names the
argument and the fix).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from atomcheck.errors import AtomcheckError
from atomcheck.gate import GateError, compare_runs, load_run, parse_rules

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_REGRESSION, EXIT_USAGE = 0, 1, 2


class _Usage(Exception):
    """Bad input: printed as ``atomcheck <command>: error: ...``, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``atomcheck`` command."""
    parser = argparse.ArgumentParser(
        prog="atomcheck", description="Work with atomcheck runs saved as JSON reports "
        "(pytest --atomcheck-report=run.json or --atomcheck-save-baseline=base.json), "
        "without training anything.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    report = commands.add_parser("report", help="re-render a saved run as HTML, Markdown, "
                                 "CSV or JSON", description="Re-render a saved run; the "
                                 "suffix of --to picks the format.")
    report.add_argument("run", metavar="RUN.json", help="a JSON report of a run")
    report.add_argument("--to", metavar="PATH", action="append", required=True,
                        help="output file: .html, .md, .csv or .json (may be repeated)")

    compare = commands.add_parser(
        "compare", help="the regression gate: compare a run with a baseline",
        description="Compare NEW with the baseline OLD claim by claim; exit 1 when a claim "
        "regressed (its verdict worsened, or with --fail effect:X its effect shrank beyond "
        "X, and its per-seed values are significantly worse).")
    compare.add_argument("old", metavar="OLD.json", help="the baseline run")
    compare.add_argument("new", metavar="NEW.json", help="the run to check")
    compare.add_argument("--fail", metavar="RULE", action="append", default=[],
                         help="also fail on effect:10%% (a shift toward zero beyond 10%% of "
                              "the baseline's effect), effect:0.02 (absolute), or missing "
                              "(a baseline claim absent from NEW); may be repeated")
    compare.add_argument("--alpha", type=float, default=None,
                         help="significance level of the gate (default: NEW's alpha, or 0.05)")
    compare.add_argument("--json", metavar="PATH", default=None,
                         help="also write the comparison as JSON to PATH")

    listing = commands.add_parser("list", help="list the claims of a directory (no training)",
                                  description="List the claims pytest collects under DIR: "
                                  "id, statement, sources and test. Nothing is trained.")
    listing.add_argument("dir", metavar="DIR", nargs="?", default=".",
                         help="a directory or test file (default: the current directory)")
    listing.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parser


def _load(path: str, role: str) -> dict[str, Any]:
    try:
        return load_run(path, role=role)
    except GateError as exc:
        raise _Usage(str(exc)) from None


def _report(args: argparse.Namespace) -> int:
    from atomcheck.errors import InvalidClaim
    from atomcheck.report import REPORT_SUFFIXES, write_report

    run = _load(args.run, "RUN.json")
    for target in args.to:
        suffix = Path(target).suffix.lower()
        if suffix not in REPORT_SUFFIXES:
            raise _Usage(f"--to {target!r}: unknown suffix {suffix!r}; this atomcheck writes "
                         f"{', '.join(sorted(REPORT_SUFFIXES))}. E.g. --to report.md.")
        try:
            written = write_report(target, run)
        except InvalidClaim as exc:
            raise _Usage(str(exc).replace("--atomcheck-report=", "--to ")) from None
        print(f"atomcheck: wrote {written}")
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    try:
        rules = parse_rules(args.fail, option="--fail")
    except GateError as exc:
        raise _Usage(str(exc)) from None
    old = _load(args.old, "OLD.json")
    new = _load(args.new, "NEW.json")
    alpha = args.alpha if args.alpha is not None else (new.get("config") or {}).get("alpha", 0.05)
    if not 0 < float(alpha) < 1:
        raise _Usage(f"--alpha {alpha}: the significance level must lie strictly between 0 "
                     "and 1, e.g. --alpha 0.05.")
    result = compare_runs(old, new, alpha=float(alpha), rules=rules, baseline=args.old)
    print(result.render())
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_dict(), indent=2, allow_nan=False)
                                   + "\n", encoding="utf-8")
    return EXIT_REGRESSION if result.failed else EXIT_OK


class _ClaimCollector:
    """A pytest plugin that records the claims collection finds (and runs nothing)."""

    def __init__(self) -> None:
        self.claims: list[dict[str, Any]] = []
        self.errors: list[str] = []

    def pytest_collection_modifyitems(self, items: list[Any]) -> None:
        """Read each claim's marker the way the plugin does."""
        from atomcheck.errors import InvalidClaim
        from atomcheck.plugin import _marker_kwargs, _statement

        for item in items:
            if item.get_closest_marker("claim") is None:
                continue
            try:
                kwargs = _marker_kwargs(item)
            except InvalidClaim as exc:
                self.errors.append(str(exc))
                continue
            callspec = getattr(item, "callspec", None)
            self.claims.append({
                "id": kwargs.get("claim_id"), "variant": callspec.id if callspec else None,
                "statement": _statement(item, kwargs),
                "sources": list(kwargs.get("sources", ())),
                "expected": kwargs.get("expected", "supported"), "nodeid": item.nodeid})

    def pytest_collectreport(self, report: Any) -> None:
        """Keep collection errors (a module that fails to import) to report them."""
        if report.failed:
            self.errors.append(f"{report.nodeid}: {report.longreprtext.strip().splitlines()[-1]}"
                               if report.longreprtext.strip() else report.nodeid)


def _forget_modules_under(target: Path, before: set[str]) -> None:
    """Drop the test modules collection imported from ``target``, so that a caller in the
    same process (a test) can later import other files of the same name."""
    root = target.resolve()
    for name in set(sys.modules) - before:
        file = getattr(sys.modules[name], "__file__", None)
        if file and Path(file).resolve().is_relative_to(root if root.is_dir() else root.parent):
            del sys.modules[name]


def _list(args: argparse.Namespace) -> int:
    import pytest

    target = Path(args.dir)
    if not target.exists():
        raise _Usage(f"DIR {args.dir!r} does not exist; give a directory (or test file) of "
                     "claims, e.g. `atomcheck list claims/`.")
    collector = _ClaimCollector()
    out = io.StringIO()
    # --assert=plain: nothing runs, and atomcheck (imported already) cannot be rewritten.
    args_ = [str(target), "--collect-only", "-q", "-p", "no:cacheprovider", "--assert=plain",
             "--import-mode=importlib"]
    before = set(sys.modules)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = pytest.main(args_, plugins=[collector])
    except Exception as exc:  # a conftest that fails at configure time
        raise _Usage(f"DIR {args.dir!r}: pytest could not start collecting: "
                     f"{type(exc).__name__}: {exc}") from None
    finally:
        _forget_modules_under(target, before)
    if collector.errors or code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        details = "\n".join(collector.errors) or out.getvalue().strip()[-2000:]
        raise _Usage(f"DIR {args.dir!r}: pytest could not collect every claim:\n{details}")
    claims = collector.claims
    if args.json:
        print(json.dumps(claims, indent=2))
        return EXIT_OK
    for c in claims:
        label = str(c["id"]) + (f"[{c['variant']}]" if c["variant"] else "")
        expected = "" if c["expected"] == "supported" else f"  (expected {c['expected']})"
        print(f"{label}  {c['statement']}{expected}")
        if c["sources"]:
            print(f"    sources: {'; '.join(map(str, c['sources']))}")
        print(f"    test:    {c['nodeid']}")
    print(f"{len(claims)} claim(s) in {args.dir}")
    return EXIT_OK


def _fail(parser: argparse.ArgumentParser, command: str, message: str) -> NoReturn:
    parser.exit(EXIT_USAGE, f"atomcheck {command}: error: {message}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``atomcheck`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"report": _report, "compare": _compare, "list": _list}
    try:
        return handlers[args.command](args)
    except _Usage as exc:
        _fail(parser, args.command, str(exc))
    except AtomcheckError as exc:
        _fail(parser, args.command, str(exc))


if __name__ == "__main__":  # pragma: no cover - python -m atomcheck.cli
    sys.exit(main())
