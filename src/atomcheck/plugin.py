"""The pytest glue: options, the ``claim`` marker and fixture, outcomes, table, reports.

Registered through the ``pytest11`` entry point (``atomcheck = "atomcheck.plugin"``); do
not also list it in ``pytest_plugins`` (pluggy refuses a plugin registered twice).

Verdicts travel on ``report.user_properties`` as JSON, which pytest-xdist serialises from
workers to the controller and JUnit XML shows; only the controller writes files.
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import shlex
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

from atomcheck.cache import ResultCache, check_cache_dir
from atomcheck.claim import Claim
from atomcheck.config import INCONCLUSIVE_OUTCOMES, Settings, get_profile
from atomcheck.errors import AtomcheckError, InvalidClaim
from atomcheck.executors import check_scheduler, close_session_executors
from atomcheck.report.suite import adjust_suite, negative_control_rate
from atomcheck.gate import GateError, Rules, compare_runs, load_run, parse_rules
from atomcheck.progress import TerminalProgress, progress_mode
from atomcheck.report import build_run, check_report_path, render_table, write_report

PROPERTY = "atomcheck"
MARKER_KEYS = frozenset({"claim_id", "sources", "seeds", "alpha", "expected", "reason",
                         "statement", "robust_over", "cache", "negative_control",
                         "sequential", "variance_sources"})
settings_key = pytest.StashKey[Settings]()


def _parse_alpha(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"Could not parse value: {text!r}.") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"alpha={text} must lie strictly between 0 and 1.")
    return value


def _int_parser(minimum: int, too_small: str) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum``; ``too_small`` formats the refusal."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"Could not parse value: {text!r}.") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(too_small.format(value=value))
        return value
    return parse


_parse_seeds = _int_parser(
    2, "seeds={value} is too few: a statistical claim needs >= 2 paired seeds.")
_parse_seed_base = _int_parser(0, "seed base {value} must be >= 0.")
_parse_workers = _int_parser(1, "workers={value} must be >= 1.")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare ``--atomcheck-*`` options and their ini twins."""
    group = parser.getgroup("atomcheck", "atomcheck: empirical claims as statistical tests")
    group.addoption("--atomcheck-profile", metavar="NAME", default=None,
                    help="Settings profile: default, quick, thorough or a registered one. "
                         "Default: ini atomcheck_profile or 'default'.")
    group.addoption("--atomcheck-seeds", metavar="N", type=_parse_seeds, default=None,
                    help="Use exactly N seeds for every claim. Default: each claim's own count "
                         "scaled by the profile.")
    group.addoption("--atomcheck-seed-base", metavar="N", type=_parse_seed_base, default=None,
                    help="Seeds are N, N+1, ...: a fresh base re-derives every verdict on "
                         "unseen seeds. Default: ini atomcheck_seed_base or 0.")
    group.addoption("--atomcheck-alpha", metavar="ALPHA", type=_parse_alpha, default=None,
                    help="Significance level. Default: ini atomcheck_alpha or 0.05.")
    group.addoption("--atomcheck-inconclusive", metavar="OUTCOME", default=None,
                    choices=INCONCLUSIVE_OUTCOMES,
                    help="pytest outcome of an inconclusive verdict: fail, skip or pass. "
                         "Default: ini atomcheck_inconclusive or 'fail'.")
    group.addoption("--atomcheck-report", metavar="PATH", action="append", default=None,
                    help="Write a report; the suffix picks the format (.json, .md, .csv, .html). "
                         "May be given more than once. Default: none.")
    group.addoption("--atomcheck-device", metavar="DEVICE", default=None,
                    choices=("cpu", "cuda", "auto"),
                    help="Device of the batched engine: cpu, cuda or auto. Default: ini "
                         "atomcheck_device or 'cpu'.")
    group.addoption("--atomcheck-save-baseline", metavar="PATH", default=None,
                    help="Save this run (every seed's values) as a JSON baseline for "
                         "--atomcheck-compare. Default: none.")
    group.addoption("--atomcheck-compare", metavar="PATH", default=None,
                    help="Compare this run with a saved baseline; fail the run when a claim's "
                         "per-seed values are significantly worse and its verdict worsened "
                         "(see --atomcheck-compare-fail). Default: no comparison.")
    group.addoption("--atomcheck-compare-fail", metavar="RULE", action="append", default=None,
                    help="Also fail on: effect:10%% (a significant shift toward zero of more "
                         "than 10%% of the baseline's effect), effect:0.02 (absolute), missing "
                         "(a baseline claim absent from the run). May be repeated.")
    _add_execution_options(group, parser)
    parser.addini("atomcheck_profile", "atomcheck settings profile", default="default")
    # Typed, so that pytest 9's native [tool.pytest] TOML tables may give numbers.
    parser.addini("atomcheck_alpha", "atomcheck significance level", type="float", default=None)
    parser.addini("atomcheck_seeds", "atomcheck seed count for every claim", type="int",
                  default=None)
    parser.addini("atomcheck_seed_base", "first seed of every claim (fresh seeds)", type="int",
                  default=None)
    parser.addini("atomcheck_inconclusive", "outcome of inconclusive verdicts: fail|skip|pass",
                  default="")
    parser.addini("atomcheck_report", "report paths (.json, .md, .csv, .html)", type="linelist",
                  default=[])
    parser.addini("atomcheck_device", "batched engine device: cpu|cuda|auto", default="")


def _add_execution_options(group: Any, parser: pytest.Parser) -> None:
    """Executors and the result cache (:mod:`atomcheck.executors`, :mod:`atomcheck.cache`)."""
    group.addoption("--atomcheck-executor", metavar="NAME", default=None,
                    help="Where sweeps train: serial (this process), processes (a local pool) "
                         "or dask (Dask distributed). Default: ini atomcheck_executor or serial.")
    group.addoption("--atomcheck-workers", metavar="N", type=_parse_workers, default=None,
                    help="Worker processes of the processes executor and of a local Dask "
                         "cluster. Default: ini atomcheck_workers or the CPU count.")
    group.addoption("--atomcheck-dask-address", metavar="ADDRESS", default=None,
                    help="tcp://host:port of a running Dask scheduler (with "
                         "--atomcheck-executor=dask). Default: start a local cluster.")
    group.addoption("--atomcheck-fdr", metavar="METHOD", default=None,
                    help="Adjust every claim's p-value across the run before the report's "
                         "verdicts are final: bh, by (false discovery rate), holm "
                         "(family-wise) or none. Default: ini atomcheck_fdr or none.")
    group.addoption("--atomcheck-cache-dir", metavar="DIR", default=None,
                    help="Directory of the result cache (one JSON entry per configuration and "
                         "seed). Default: ini atomcheck_cache_dir, else atomcheck-results in "
                         "pytest's cache directory.")
    group.addoption("--atomcheck-no-cache", action="store_true", default=False,
                    help="Neither read nor write cached results: train everything.")
    group.addoption("--atomcheck-clear-cache", action="store_true", default=False,
                    help="Empty the result cache before the run.")
    parser.addini("atomcheck_executor", "executor: serial|processes|dask", default="")
    parser.addini("atomcheck_workers", "worker processes", type="int", default=None)
    parser.addini("atomcheck_dask_address", "Dask scheduler address", default="")
    parser.addini("atomcheck_cache_dir", "result cache directory", default="")
    parser.addini("atomcheck_fdr", "suite-wide adjustment: none|bh|by|holm", default="")
    _add_sequential_options(group, parser)


def _parse_sequential_seeds(text: str) -> tuple[int, int]:
    low, sep, high = str(text).partition(":")
    try:
        if not sep:
            raise ValueError
        seeds = (int(low), int(high))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--atomcheck-sequential-seeds={text!r}: give MIN:MAX, the seeds at the first and "
            "the last look, e.g. 5:20.") from None
    try:
        Settings(sequential_seeds=seeds)
    except InvalidClaim as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return seeds


def _parse_looks(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--atomcheck-sequential-looks={text!r} must be an "
                                         "integer >= 1, e.g. 2.")
    return value


def _add_sequential_options(group: Any, parser: pytest.Parser) -> None:
    """Sequential seeds (:mod:`atomcheck.sequential`)."""
    group.addoption("--atomcheck-sequential", action="store_true", default=None,
                    help="Sequential seeds: each claim looks at 5 seeds first and adds more "
                         "only while its verdict is inconclusive, alpha spent across the looks "
                         "(atomcheck.sequential). Default: ini atomcheck_sequential or off.")
    group.addoption("--atomcheck-sequential-seeds", metavar="MIN:MAX",
                    type=_parse_sequential_seeds, default=None,
                    help="Seeds at the first and the last look of every sequential claim "
                         "(implies --atomcheck-sequential). Default: 5 seeds, half of each "
                         "claim's seeds (from 12 on), then all of them.")
    group.addoption("--atomcheck-sequential-looks", metavar="K", type=_parse_looks,
                    default=None,
                    help="Looks per sequential claim, evenly spaced. Default: ini "
                         "atomcheck_sequential_looks or the default rule (5 seeds, half, all).")
    parser.addini("atomcheck_sequential", "sequential seeds for every claim", type="bool",
                  default=False)
    parser.addini("atomcheck_sequential_seeds", "MIN:MAX seeds of sequential claims",
                  default="")
    parser.addini("atomcheck_sequential_looks", "looks per sequential claim", type="int",
                  default=None)


def _resolve_settings(config: pytest.Config) -> Settings:
    opt = config.option
    try:
        settings = get_profile(opt.atomcheck_profile or config.getini("atomcheck_profile"))
        changes: dict[str, Any] = {}
        for key, name, parse in (("alpha", "atomcheck_alpha", _parse_alpha),
                                 ("seeds", "atomcheck_seeds", _parse_seeds),
                                 ("seed_base", "atomcheck_seed_base", _parse_seed_base)):
            value = getattr(opt, name)
            if value is None:
                value = config.getini(name)
            if value is not None:
                changes[key] = parse(str(value))
        inconclusive = opt.atomcheck_inconclusive or config.getini("atomcheck_inconclusive")
        if inconclusive:
            changes["inconclusive"] = inconclusive
        device = opt.atomcheck_device or config.getini("atomcheck_device")
        if device:
            changes["device"] = device
        executor = opt.atomcheck_executor or config.getini("atomcheck_executor")
        if executor:
            changes["executor"] = executor
        workers = opt.atomcheck_workers or config.getini("atomcheck_workers")
        if workers is not None:
            changes["workers"] = _parse_workers(str(workers))
        address = opt.atomcheck_dask_address or config.getini("atomcheck_dask_address")
        if address:
            changes["dask_address"] = address
        fdr = opt.atomcheck_fdr or config.getini("atomcheck_fdr")
        if fdr:
            changes["fdr"] = fdr
        changes.update(_sequential_settings(config))
        return settings.replace(**changes)
    except (AtomcheckError, argparse.ArgumentTypeError) as exc:
        raise pytest.UsageError(f"atomcheck: {exc}") from None


def _sequential_settings(config: pytest.Config) -> dict[str, Any]:
    opt = config.option
    changes: dict[str, Any] = {}
    seeds = opt.atomcheck_sequential_seeds or config.getini("atomcheck_sequential_seeds")
    if seeds:
        changes["sequential_seeds"] = (seeds if isinstance(seeds, tuple)
                                       else _parse_sequential_seeds(str(seeds)))
    looks = opt.atomcheck_sequential_looks or config.getini("atomcheck_sequential_looks")
    if looks is not None:
        changes["sequential_looks"] = _parse_looks(str(looks))
    if opt.atomcheck_sequential or config.getini("atomcheck_sequential") or seeds:
        changes["sequential"] = True
    return changes


def _report_paths(config: pytest.Config) -> list[str]:
    return list(config.option.atomcheck_report or []) + list(config.getini("atomcheck_report"))


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, resolve settings, and validate report paths up front."""
    config.addinivalue_line(
        "markers",
        "claim(claim_id, sources=(), seeds=10, alpha=None, expected='supported', reason=None, "
        "statement=None, robust_over=None, cache=True, negative_control=False, sequential=None, "
        "variance_sources=None): "
        "an empirical claim tested by the `claim` fixture.",
    )
    config.stash[settings_key] = _resolve_settings(config)
    if config.stash[settings_key].device == "cuda":
        from atomcheck.engine import resolve_device  # imports torch: only when asked for

        try:
            resolve_device("cuda")
        except InvalidClaim as exc:
            raise pytest.UsageError(f"--atomcheck-device=cuda: {exc}") from None
    if not hasattr(config, "workerinput"):  # xdist workers never write reports
        recorder = _Recorder(config)
        config.stash[recorder_key] = recorder
        config.pluginmanager.register(recorder, "atomcheck-recorder")
    for path in _report_paths(config):
        try:
            check_report_path(path)
        except InvalidClaim as exc:
            raise pytest.UsageError(str(exc)) from None
    _check_gate_options(config)
    _configure_execution(config)


def _configure_execution(config: pytest.Config) -> None:
    """Check the executor's scheduler and open the result cache, before any training."""
    settings = config.stash[settings_key]
    try:
        if settings.dask_address:
            check_scheduler(settings.dask_address)
        opt = config.option
        if opt.atomcheck_no_cache:
            return
        where = opt.atomcheck_cache_dir or config.getini("atomcheck_cache_dir")
        if not where:
            if getattr(config, "cache", None) is None:  # -p no:cacheprovider and no dir given
                return
            where = config.cache.mkdir("atomcheck-results")
        cache = ResultCache(check_cache_dir(where))
        if opt.atomcheck_clear_cache and not hasattr(config, "workerinput"):
            cache.clear()
        config.stash[cache_key] = cache
    except InvalidClaim as exc:
        raise pytest.UsageError(f"atomcheck: {exc}") from None


def _check_gate_options(config: pytest.Config) -> None:
    """Validate baseline and compare options before any training (a usage error, not a
    traceback after a long run); the loaded baseline waits in the stash."""
    opt = config.option
    try:
        if opt.atomcheck_save_baseline:
            if not str(opt.atomcheck_save_baseline).lower().endswith(".json"):
                raise InvalidClaim(f"--atomcheck-save-baseline={opt.atomcheck_save_baseline!r}: "
                                   "a baseline is a JSON report; name it *.json.")
            check_report_path(opt.atomcheck_save_baseline)
        rules = parse_rules(opt.atomcheck_compare_fail or [])
        if opt.atomcheck_compare_fail and not opt.atomcheck_compare:
            raise InvalidClaim("--atomcheck-compare-fail needs --atomcheck-compare=BASELINE.json "
                               "(the run to compare with).")
        if opt.atomcheck_compare:
            config.stash[baseline_key] = (load_run(opt.atomcheck_compare, role=(
                "--atomcheck-compare baseline")), rules)
    except (InvalidClaim, GateError) as exc:
        raise pytest.UsageError(f"atomcheck: {exc}") from None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Let ``-k`` select claims by id, and refuse two claims with one id and variant."""
    seen: dict[tuple[str, str | None], str] = {}
    for item in items:
        if item.get_closest_marker("claim") is None:
            continue
        try:
            claim_id = _marker_kwargs(item).get("claim_id")
        except InvalidClaim:
            continue  # reported when the item runs
        if not claim_id:
            continue
        item.extra_keyword_matches.add(str(claim_id))
        callspec = getattr(item, "callspec", None)
        key = (str(claim_id), callspec.id if callspec is not None else None)
        if key in seen:
            label = key[0] + (f"[{key[1]}]" if key[1] else "")
            raise pytest.UsageError(
                f"atomcheck: two claims are {label}: {seen[key]} and {item.nodeid}. A claim id "
                "and variant name one claim in a report; rename one of them.")
        seen[key] = item.nodeid


def pytest_sessionstart(session: pytest.Session) -> None:
    """Route engine log lines to the terminal under -v (the reporter exists only now)."""
    _attach_engine_log(session.config)


def pytest_report_header(config: pytest.Config) -> str:
    """Show the active profile and what differs from the default settings."""
    s = config.stash[settings_key]
    diff = {k: v for k, v in s.to_dict().items() if v != getattr(Settings(), k) and k != "profile"}
    extra = ", ".join(f"{k}={v}" for k, v in diff.items())
    return f"atomcheck: profile={s.profile!r}" + (f" ({extra})" if extra else "")


def _claim_marks(item: pytest.Item) -> list[pytest.Mark]:
    """The item's claim marks, closest first: a ``pytest.param(..., marks=...)`` mark
    before the function's decorator, before the class's and the module's."""
    callspec = getattr(item, "callspec", None)
    own = [m for m in getattr(callspec, "marks", ()) if m.name == "claim"]
    return own + [m for m in item.iter_markers("claim") if not any(m is o for o in own)]


def _marker_kwargs(item: pytest.Item) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for mark in _claim_marks(item):  # closest first: it wins per key
        if mark.args:
            merged.setdefault("claim_id", mark.args[0])
        for key, value in mark.kwargs.items():
            if key not in MARKER_KEYS:
                raise InvalidClaim(
                    f"{item.nodeid}: claim marker can't have {key!r} keyword argument; allowed: "
                    f"{sorted(MARKER_KEYS)}.")
            merged.setdefault(key, value)
    return merged


def _statement(item: pytest.Item, kwargs: dict[str, Any]) -> str:
    if kwargs.get("statement"):
        return str(kwargs["statement"])
    doc = inspect.cleandoc(getattr(getattr(item, "function", None), "__doc__", None) or "")
    # the summary is the docstring's first paragraph, however it is wrapped
    return " ".join(doc.split("\n\n", 1)[0].split())


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Reject a malformed claim marker before any fixture runs."""
    if item.get_closest_marker("claim") is None:
        return
    kwargs = _marker_kwargs(item)
    if not kwargs.get("claim_id"):
        raise InvalidClaim(f"{item.nodeid}: the claim marker needs claim_id='topic.name'.")
    if "claim" not in getattr(item, "fixturenames", ()):
        raise InvalidClaim(f"{kwargs['claim_id']}: {item.nodeid} has a claim marker but does not "
                           "use the `claim` fixture, so it would never reach a verdict. Add "
                           "`claim` to the test's arguments, or drop the marker.")
    expected = kwargs.get("expected", "supported")
    if expected != "supported" and not kwargs.get("reason"):
        raise InvalidClaim(f"{kwargs['claim_id']}: expected={expected!r} needs reason='...' in "
                           "the claim marker, so the report says why.")


class _TerminalLogHandler(logging.Handler):
    """Shows the engine's routing decisions (per-seed fallback, native kernel) under -v."""

    def __init__(self, write: Callable[[str], None]) -> None:
        super().__init__(logging.DEBUG)
        self.write = write

    def emit(self, record: logging.LogRecord) -> None:
        """Write one record as a terminal line."""
        self.write(f"{record.name}: {record.getMessage()}")


handler_key = pytest.StashKey[logging.Handler]()
level_key = pytest.StashKey[int]()


def _attach_engine_log(config: pytest.Config) -> None:
    write = _progress(config)
    if write is None or write.mode != "lines":  # log lines only under -v
        return
    handler = _TerminalLogHandler(write)
    engine_log = logging.getLogger("atomcheck.engine")
    engine_log.addHandler(handler)
    config.stash[level_key] = engine_log.level
    # -v shows why a config left the batched path; -vv also why the native kernel did not run.
    engine_log.setLevel(logging.DEBUG if config.option.verbose > 1 else logging.INFO)
    config.stash[handler_key] = handler


def _progress(config: pytest.Config) -> TerminalProgress | None:
    """The run's progress display (:mod:`atomcheck.progress`), or None where it is quiet."""
    if progress_key in config.stash:
        return config.stash[progress_key]
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    shown = None
    if reporter is not None:
        mode = progress_mode(config.option.verbose, bool(reporter.isatty()),
                             hasattr(config, "workerinput"))
        if mode != "off":
            shown = TerminalProgress(reporter, config.pluginmanager.get_plugin(
                "capturemanager"), mode)
            config.pluginmanager.register(_ProgressEraser(shown), "atomcheck-progress")
    config.stash[progress_key] = shown
    return shown


progress_key = pytest.StashKey[TerminalProgress | None]()


class _ProgressEraser:
    """Erases a transient progress status before pytest writes the test's outcome."""

    def __init__(self, shown: TerminalProgress) -> None:
        self.shown = shown

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self) -> None:
        """Runs before the terminal reporter's."""
        self.shown.clear()


@pytest.fixture
def claim(request: pytest.FixtureRequest) -> Iterator[Claim]:
    """The :class:`atomcheck.Claim` of this test, configured from its ``claim`` marker."""
    item = request.node
    if item.get_closest_marker("claim") is None:
        raise InvalidClaim(f"{item.nodeid}: the `claim` fixture needs "
                           "@pytest.mark.claim(claim_id=...) on the test.")
    kwargs = _marker_kwargs(item)
    callspec = getattr(item, "callspec", None)
    obj = Claim(
        kwargs["claim_id"], _statement(item, kwargs),
        sources=kwargs.get("sources", ()), seeds=kwargs.get("seeds", 10),
        alpha=kwargs.get("alpha"), expected=kwargs.get("expected", "supported"),
        reason=kwargs.get("reason"), robust_over=kwargs.get("robust_over"),
        settings=item.config.stash[settings_key],
        variant=callspec.id if callspec is not None else None, nodeid=item.nodeid,
        progress=_progress(item.config),
        cache=(item.config.stash.get(cache_key, None)
               if kwargs.get("cache", True) and not _stores_benchmarks(item) else None),
        negative_control=kwargs.get("negative_control", False),
        sequential=kwargs.get("sequential"),
        variance_sources=kwargs.get("variance_sources"),
    )
    item.stash[_claim_key] = obj
    yield obj


_claim_key = pytest.StashKey[Claim]()

_BENCHMARK_STORAGE = ("benchmark_save", "benchmark_autosave", "benchmark_json",
                      "benchmark_compare")


def _stores_benchmarks(item: pytest.Item) -> bool:
    """Whether this test's pytest-benchmark timings are stored or compared in this run: then
    they are measured afresh, never read from atomcheck's result cache."""
    return "benchmark" in getattr(item, "fixturenames", ()) and any(
        item.config.getoption(name, None) for name in _BENCHMARK_STORAGE)


def _rerun(claim: Claim, settings: Settings) -> str:
    parts = ["pytest", shlex.quote(claim.nodeid or claim.claim_id),
             f"--atomcheck-seeds={claim.n_seeds}"]
    if settings.profile != "default":
        parts.append(f"--atomcheck-profile={settings.profile}")
    if settings.alpha != Settings().alpha:
        parts.append(f"--atomcheck-alpha={settings.alpha:g}")
    if settings.seed_base:
        parts.append(f"--atomcheck-seed-base={settings.seed_base}")
    return " ".join(parts)


def _settle(claim: Claim, settings: Settings) -> None:
    """Map the verdict to pytest's outcome by raising fail/skip when needed."""
    verdict = claim.verdict
    if verdict is None:
        raise InvalidClaim(f"{claim.claim_id}: the test never called claim.expect(...); a "
                           "claim must end in a verdict.")
    header = f"{verdict.verdict.upper()}  {claim.label}: {claim.statement}"
    if claim.expected != "supported":
        header += f"\n  expected  {claim.expected}: {claim.reason}"
    message = f"{header}\n{verdict.explain()}\n  rerun     {_rerun(claim, settings)}"
    if claim.negative_control:
        if verdict.verdict != "supported":
            return
        pytest.fail("NEGATIVE CONTROL SUPPORTED (a false positive: its null is true by "
                    f"construction)\n{message}", pytrace=False)
    if verdict.verdict == claim.expected:
        return
    if verdict.verdict == "inconclusive":
        if settings.inconclusive == "skip":
            pytest.skip(message)
        if settings.inconclusive == "pass" and claim.expected == "supported":
            return
    pytest.fail(message, pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    """After a claim test returns, turn its verdict into pass, fail or skip."""
    result = yield
    claim = pyfuncitem.stash.get(_claim_key, None)
    if claim is not None:
        _settle(claim, pyfuncitem.config.stash[settings_key])
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the claim's report entry to the call (or failed setup) report."""
    report: pytest.TestReport = yield
    claim = item.stash.get(_claim_key, None)
    is_entry = (call.when == "call") or (call.when == "setup" and report.outcome != "passed")
    if item.get_closest_marker("claim") is not None and is_entry:
        error = None if call.excinfo is None else call.excinfo.exconly()
        if claim is not None:
            entry = claim.to_dict(outcome=report.outcome, error=error)
        else:
            entry = _setup_error_entry(item, report.outcome, error)
        if entry["verdict"] == "error":
            entry["message"] = error or entry.get("message", "")
        prop = (PROPERTY, json.dumps(entry, default=str))
        # The item's list reaches JUnit XML (written from the teardown report); the
        # report's own copy reaches xdist's controller and the recorder.
        item.user_properties.extend(_junit_properties(entry))
        item.user_properties.append(prop)
        if report.user_properties is not item.user_properties:
            report.user_properties.append(prop)
    return report


def _junit_properties(entry: dict[str, Any]) -> list[tuple[str, str]]:
    """The verdict's headline numbers as separate JUnit XML properties (the full entry
    follows as the ``atomcheck`` property)."""
    effect = entry.get("effect") or {}
    ci = effect.get("ci") or [None, None]
    values = {"verdict": entry.get("verdict"), "expected": entry.get("expected"),
              "p_value": entry.get("p_value"), "effect": effect.get("value"),
              "ci_low": ci[0], "ci_high": ci[1], "n_seeds": entry.get("n_seeds")}
    return [(f"{PROPERTY}.{k}", "" if v is None else str(v)) for k, v in values.items()]


def _setup_error_entry(item: pytest.Item, outcome: str, error: str | None) -> dict[str, Any]:
    try:
        kwargs = _marker_kwargs(item)
    except InvalidClaim:
        kwargs = {}
    callspec = getattr(item, "callspec", None)
    return {"id": kwargs.get("claim_id") or item.nodeid,
            "variant": callspec.id if callspec is not None else None,
            "nodeid": item.nodeid, "statement": _statement(item, kwargs),
            "sources": list(kwargs.get("sources", ())), "expected": kwargs.get("expected"),
            "reason": kwargs.get("reason"), "outcome": outcome, "verdict": "error",
            "kind": None, "test": None, "p_value": None, "effect": None, "n_seeds": None,
            "levels": [], "members": [], "wall_s": None, "message": error or ""}


def _entry(report: pytest.TestReport) -> dict[str, Any] | None:
    for name, value in getattr(report, "user_properties", ()):  # CollectReports have none
        if name == PROPERTY:
            return json.loads(str(value))  # type: ignore[no-any-return]
    return None


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config
                             ) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
    """Print the verdict word, keeping pytest's category so exit codes stay honest."""
    entry = _entry(report)
    if entry is None or report.when not in ("call", "setup"):
        return None
    word = str(entry.get("verdict", "error")).upper()
    if entry.get("expected") in ("refuted", "conditional") and word == entry["expected"].upper():
        word = f"{word} (expected)"
    if report.when == "setup" and report.failed:  # keep pytest's "error" category
        return "error", "E", ("ERROR", {"red": True})
    colour = {"passed": "green", "failed": "red", "skipped": "yellow"}[report.outcome]
    letter = {"passed": ".", "failed": "F", "skipped": "s"}[report.outcome]
    return report.outcome, letter, (word, {colour: True})


class _Recorder:
    """Collects claim entries on the controller and renders them at the end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.entries: list[dict[str, Any]] = []
        self.claim_items: list[str] | None = None  # None on an xdist controller
        self.started: list[str] = []
        self.finished: set[str] = set()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Remember which collected items are claims, to name those that never finish."""
        self.claim_items = [i.nodeid for i in items if i.get_closest_marker("claim")]

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        """Remember what started (from this process or an xdist worker)."""
        self.started.append(nodeid)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep the entry of every claim report (from this process or an xdist worker)."""
        if report.when == "teardown":
            self.finished.add(report.nodeid)
        if report.when == "call" or (report.when == "setup" and report.failed):
            entry = _entry(report)
            if entry is not None:
                self.entries.append(entry)

    def unfinished(self) -> list[str]:
        """Claims collected here that reached no verdict; on an xdist controller, which
        collects nothing, the tests that started and never finished."""
        if self.claim_items is None:
            return [n for n in dict.fromkeys(self.started) if n not in self.finished]
        done = {e.get("nodeid") for e in self.entries}
        return [n for n in self.claim_items if n not in done]

    def run_document(self, exitstatus: int = 0) -> dict[str, Any]:
        """The schema-v1 document of this run, marked ``partial`` when it was cut short."""
        settings = self.config.stash[settings_key]
        cfg = {"alpha": settings.alpha, "profile": settings.profile,
               "inconclusive": settings.inconclusive, "executor": settings.executor,
               "device": settings.device, "seeds": settings.seeds,
               "seed_base": settings.seed_base}
        run = build_run(self.entries, cfg)
        run["suite"] = adjust_suite(run["claims"], settings.fdr, settings.alpha)
        run["suite"]["negative_controls"] = negative_control_rate(run["claims"])
        unfinished = self.unfinished()
        cut_short = exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR)
        run["partial"] = bool(unfinished) or cut_short
        run["unfinished"] = unfinished
        return run

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int) -> None:
        """Print the verdict table and write the report files (even for a run cut short:
        then marked partial, so an old report never stands in for this run)."""
        run = self.run_document(exitstatus)
        if self.entries:
            terminalreporter.write_sep("=", "atomcheck verdicts")
            terminalreporter.write_line(render_table(run, width=terminalreporter._tw.fullwidth,
                                                     sources=self.config.option.verbose > 0))
        self._suite(terminalreporter, run)
        if run["partial"] and run["unfinished"]:
            terminalreporter.write_line(f"atomcheck: partial run, {len(run['unfinished'])} "
                                        "claim(s) did not finish")
        for path in _report_paths(self.config):
            written = write_report(path, run)
            terminalreporter.write_line(f"atomcheck: wrote {written}"
                                        + (" (partial)" if run["partial"] else ""))
        self._gate(terminalreporter, run)

    def _suite(self, terminalreporter: Any, run: dict[str, Any]) -> None:
        """Say what the suite-wide adjustment changed (a claim it turns from its expected
        verdict fails the run) and the negative controls' false-positive rate."""
        suite = run["suite"]
        if suite["method"] != "none":
            terminalreporter.write_line(
                f"atomcheck: --atomcheck-fdr={suite['method']} adjusted {suite['claims']} "
                f"claims; {len(suite['changed'])} verdict(s) became inconclusive")
            for claim in run["claims"]:
                if "verdict_unadjusted" not in claim or claim.get("outcome") != "passed":
                    continue
                if claim.get("negative_control") or claim["verdict"] == claim.get("expected"):
                    continue
                claim["outcome"] = "failed"
                label = claim["id"] + (f"[{claim['variant']}]" if claim.get("variant") else "")
                terminalreporter.write_line(
                    f"atomcheck: FAILED after adjustment {label}: {claim['message']}")
                session = getattr(terminalreporter, "_session", None)
                if session is not None and session.exitstatus == pytest.ExitCode.OK:
                    session.exitstatus = pytest.ExitCode.TESTS_FAILED
        controls = suite.get("negative_controls")
        if controls:
            terminalreporter.write_line(
                f"atomcheck: negative controls: {controls['supported']} of "
                f"{controls['controls']} supported (measured false-positive rate "
                f"{controls['rate']:.2f}; alpha={run['config']['alpha']})")

    def _gate(self, terminalreporter: Any, run: dict[str, Any]) -> None:
        """Save the baseline, and compare with one: a regression fails the run."""
        path = self.config.option.atomcheck_save_baseline
        if path:
            written = write_report(path, run)
            terminalreporter.write_line(f"atomcheck: saved baseline {written}"
                                        + (" (partial run)" if run["partial"] else ""))
        saved = self.config.stash.get(baseline_key, None)
        if saved is None:
            return
        baseline, rules = saved
        result = compare_runs(baseline, run, alpha=self.config.stash[settings_key].alpha,
                              rules=rules, baseline=str(self.config.option.atomcheck_compare))
        terminalreporter.write_sep("=", "atomcheck compare")
        terminalreporter.write_line(result.render())
        session = getattr(terminalreporter, "_session", None)
        if result.failed and session is not None and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


recorder_key = pytest.StashKey[_Recorder]()
cache_key = pytest.StashKey[ResultCache]()
baseline_key = pytest.StashKey[tuple[dict[str, Any], Rules]]()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Unregister the recorder and the engine log handler; stop executors' clusters."""
    close_session_executors()
    handler = config.stash.get(handler_key, None)
    if handler is not None:
        engine_log = logging.getLogger("atomcheck.engine")
        engine_log.removeHandler(handler)
        engine_log.setLevel(config.stash[level_key])
    recorder = config.stash.get(recorder_key, None)
    if recorder is not None:
        config.pluginmanager.unregister(recorder)
        del config.stash[recorder_key]
