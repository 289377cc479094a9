"""A claim's variance by source of randomness (``variance_sources``): validation before any
training, the held variants through the sweep, known variances, the report renderers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from atomcheck import Beats, Claim, InvalidClaim, SharedSweep
from atomcheck.cache import ResultCache
from atomcheck.randomness import SOURCE_FACTOR, parse_variance_sources, sources_of
from atomcheck.report import build_run, render_html, render_json, render_markdown, render_table
from atomcheck.seeding import rng, source_variances, stream_seed
from atomcheck.sweep import ByLevel

SEEDS = 8
#: How much each source moves the metric: y = x + 3 * data + 1 * init (standard normals).
DATA_SCALE, INIT_SCALE = 3.0, 1.0


def _noise(seed: int, source: str, hold: tuple[str, ...]) -> float:
    return float(rng(stream_seed(seed, source, hold), f"test-{source}").normal())


def noisy(seed: int, x: float, hold: tuple[str, ...] = ()) -> dict[str, float]:
    """A training function with two sources of randomness that honours ``hold``."""
    return {"y": x + DATA_SCALE * _noise(seed, "data", hold)
            + INIT_SCALE * _noise(seed, "init", hold)}


noisy.sources = ("data", "init")  # type: ignore[attr-defined]


def _claim(fn=noisy, **kwargs) -> Claim:
    claim = Claim("demo.sources", "y rises with x", seeds=SEEDS, **kwargs)
    claim.sweep(fn, x=[0.0, 1.0])
    return claim


def _expected(source_only: str | None, x: float = 0.0) -> float:
    """The variance, computed by hand, of y over the seeds with one source (or all) varying."""
    ys = []
    for seed in range(SEEDS):
        data = _noise(seed, "data", ("data",) if source_only == "init" else ())
        init = _noise(seed, "init", ("init",) if source_only == "data" else ())
        ys.append(x + DATA_SCALE * data + INIT_SCALE * init)
    return float(np.var(ys, ddof=1))


def test_each_sources_variance_and_share_match_a_hand_computation() -> None:
    claim = _claim(variance_sources=True)
    verdict = claim.expect(Beats("y", along="x", a=1.0, b=0.0))
    record = claim.to_dict(outcome="passed")["variance_by_source"]
    assert record["sources"] == ["data", "init"] and record["metric"] == "y"
    assert record["n_seeds"] == SEEDS and record["extra_runs"] == 2 * 2 * SEEDS
    level = record["levels"][0]
    assert level["config"] == {"x": 0.0}
    total = _expected(None)
    for source in ("data", "init"):
        assert level["sources"][source]["variance"] == pytest.approx(_expected(source))
        assert level["sources"][source]["share"] == pytest.approx(_expected(source) / total)
        assert level["sources"][source]["n"] == SEEDS
    assert level["sources"]["all"] == {"variance": pytest.approx(total), "share": 1.0,
                                       "n": SEEDS}
    # The data term (scale 3) carries far more variance than the init term (scale 1).
    assert level["sources"]["data"]["variance"] > 3 * level["sources"]["init"]["variance"]
    # The verdict reads the claim's own runs only.
    plain = _claim()
    assert plain.expect(Beats("y", along="x", a=1.0, b=0.0)).p_value == verdict.p_value
    assert plain.to_dict()["variance_by_source"] is None


def test_a_list_picks_the_sources_and_the_record_is_json() -> None:
    claim = _claim(variance_sources=["init"])
    claim.expect(Beats("y", along="x", a=1.0, b=0.0))
    record = claim.variance_by_source
    assert record is not None and record["sources"] == ["init"]
    assert [lv["config"] for lv in record["levels"]] == [{"x": 0.0}, {"x": 1.0}]
    json.dumps(claim.to_dict(), allow_nan=False)


@pytest.mark.parametrize(("value", "message"), [
    ("weights", r"demo.sources: variance_sources='weights': 'weights' is not a source of "
                r"randomness\. Pass variance_sources=True"),
    ([], r"variance_sources=\[\] is not a list of sources"),
    (3, r"variance_sources=3 is not a list"),
    (["init", "init"], "names a source twice"),
])
def test_bad_values_fail_when_the_claim_is_made(value, message) -> None:
    with pytest.raises(InvalidClaim, match=message):
        Claim("demo.sources", seeds=SEEDS, variance_sources=value)


def _never(seed: int, x: float, hold: tuple[str, ...] = ()) -> dict[str, float]:
    raise AssertionError("a bad design must fail before any training")


_never.sources = ("data", "init")  # type: ignore[attr-defined]


def _any(seed: int, hold: tuple[str, ...] = (), **config: float) -> dict[str, float]:
    raise AssertionError("a bad design must fail before any training")


def _held(seed: int, x: float, hold: tuple[str, ...] = ("data",)) -> dict[str, float]:
    raise AssertionError("a bad design must fail before any training")


@pytest.mark.parametrize(("fn", "value", "levels", "robust_over", "message"), [
    (lambda seed, x: {"y": x}, True, {}, None, "needs a training function with a `hold` factor"),
    (_never, ["order"], {}, None, r"draws no 'order' stream \(its sources: \('data', 'init'\)\)"),
    (_never, True, {"hold": [(), ("data",)]}, None, "the sweep varies 'hold', which sets hold"),
    (_never, True, {"penalty": {"a": {}, "b": {"hold": ("data",)}}}, None,
     "the sweep varies 'penalty', which sets hold itself"),
    (_any, True, {SOURCE_FACTOR: [1]}, None, "the sweep varies 'varying_source', the factor"),
    (ByLevel("model", {"a": _never, "b": _held}), True, {"model": ["a", "b"]}, None,
     "the ByLevel functions draw from different sources"),
    (_never, True, {}, [{"hold": ("data",)}], "open setting hold=.* sets hold"),
    (_held, True, {}, None, r"holds \('data',\) in every run"),
])
def test_a_design_the_variants_cannot_serve_fails_before_training(fn, value, levels,
                                                                  robust_over, message) -> None:
    claim = Claim("demo.sources", seeds=SEEDS, variance_sources=value, robust_over=robust_over)
    claim.sweep(fn, x=[0.0, 1.0], **levels)
    with pytest.raises(InvalidClaim, match=f"demo.sources: variance_sources=.*{message}"):
        claim.expect(Beats("y", along="x", a=1.0, b=0.0))


def test_the_variants_go_through_the_result_cache(tmp_path) -> None:
    cache = ResultCache(tmp_path)
    first = _claim(variance_sources=True, cache=cache)
    first.expect(Beats("y", along="x", a=1.0, b=0.0))
    again = _claim(variance_sources=True, cache=cache)
    again.expect(Beats("y", along="x", a=1.0, b=0.0))
    own, variants = 2 * SEEDS, 2 * 2 * SEEDS
    assert (first.cached_runs, again.cached_runs) == (0, own + variants)
    assert again.variance_by_source["levels"] == first.variance_by_source["levels"]


def test_open_settings_train_the_variants_under_the_base_setting_only() -> None:
    claim = Claim("demo.sources", seeds=SEEDS, variance_sources=["data"],
                  robust_over={"x": [5.0]})
    claim.sweep(lambda seed, x=0.0, d=0.0, hold=(): noisy(seed, x + d, hold), d=[0.0, 1.0])
    claim.expect(Beats("y", along="d", a=1.0, b=0.0))
    record = claim.variance_by_source
    assert record["setting"] == "base"
    assert [lv["config"] for lv in record["levels"]] == [{"d": 0.0}, {"d": 1.0}]
    assert record["levels"][0]["sources"]["all"]["variance"] == pytest.approx(_expected(None))


def test_a_shared_sweep_and_a_by_level_function_work_too() -> None:
    shared = SharedSweep(noisy, x=[0.0, 1.0])
    claim = Claim("demo.sources", seeds=SEEDS, variance_sources=True).use(shared)
    claim.expect(Beats("y", along="x", a=1.0, b=0.0))
    assert claim.variance_by_source["levels"][0]["sources"]["data"]["variance"] == \
        pytest.approx(_expected("data"))
    def shifted(seed: int, x: float, hold: tuple[str, ...] = ()) -> dict[str, float]:
        return noisy(seed, x + 1, hold)

    shifted.sources = noisy.sources  # type: ignore[attr-defined]
    both = ByLevel("model", {"a": noisy, "b": shifted})
    assert sources_of(both) == ("data", "init")
    claim = Claim("demo.sources", seeds=SEEDS, variance_sources=["init"])
    claim.sweep(both, model=["a", "b"], x=[0.0])
    claim.expect(Beats("y", along="model", a="b", b="a"))
    assert len(claim.variance_by_source["levels"]) == 2


def test_sequential_claims_train_the_variants_on_the_seeds_they_used() -> None:
    claim = _claim(variance_sources=["init"], sequential=(6, SEEDS))
    claim.expect(Beats("y", along="x", a=1.0, b=0.0))
    record = claim.variance_by_source
    assert record["n_seeds"] == len(claim.seeds)
    assert record["levels"][0]["sources"]["init"]["n"] == len(claim.seeds)


def test_diverged_runs_are_left_out_and_nan_is_written_as_null() -> None:
    out = source_variances({"init": [1.0, math.nan, 3.0], "all": [0.0, 4.0]})
    assert out["init"] == {"variance": 2.0, "share": 0.25, "n": 2}
    single = source_variances({"init": [1.0], "all": [2.0, 2.0]})
    assert math.isnan(single["init"]["variance"]) and math.isnan(single["all"]["share"])
    with pytest.raises(ValueError, match="'all'"):
        source_variances({"init": [1.0, 2.0]})


def test_parse_normalises_the_order_and_turns_off_with_false() -> None:
    assert parse_variance_sources(["order", "data"]) == ("data", "order")
    assert parse_variance_sources("init") == ("init",)
    assert parse_variance_sources(True) is True
    assert parse_variance_sources(False) is None and parse_variance_sources(None) is None


@pytest.fixture(scope="module")
def run() -> dict:
    claim = _claim(variance_sources=True)
    claim.expect(Beats("y", along="x", a=1.0, b=0.0))
    return build_run([claim.to_dict(outcome="passed")], {"alpha": 0.05})


def test_the_markdown_report_has_a_table_per_claim(run) -> None:
    text = render_markdown(run)
    section = text[text.index("## Variance by source of randomness"):]
    assert "| level | all sources | data | init |" in section
    share = run["claims"][0]["variance_by_source"]["levels"][0]["sources"]["data"]["share"]
    assert f"| x=0.0 | {_expected(None):.3g} | {_expected('data'):.3g} ({share:.0%}) |" in section
    assert "16 extra runs" not in section and "32 extra runs" in section


def test_the_html_report_and_the_verbose_table_show_it(run) -> None:
    page = render_html(json.loads(render_json(run)))
    assert '<table class="sub variance">' in page and "<th>all sources</th>" in page
    assert "<code>x=1.0</code>" in page
    quiet = render_table(run, width=160)
    verbose = render_table(run, width=160, sources=True)
    assert "by source" not in quiet
    assert "variance of y by source (8 seeds, 32 extra runs; % of all):" in verbose
    assert f"x=0.0: all {_expected(None):.3g}; data {_expected('data'):.3g}" in verbose


def test_sequential_claims_with_open_settings_train_the_variants_once_on_the_seeds_used(
        ) -> None:
    calls: list[tuple[int, tuple[str, ...]]] = []

    def strong(seed: int, x: float, scale: float = 1.0,
               hold: tuple[str, ...] = ()) -> dict[str, float]:
        calls.append((seed, tuple(hold)))
        return {"y": 10 * scale * x + noisy(seed, 0.0, hold)["y"] / 10}

    strong.sources = noisy.sources  # type: ignore[attr-defined]
    claim = Claim("demo.sources", seeds=12, sequential=(6, 12), variance_sources=["data"],
                  robust_over={"scale": [2.0]})
    claim.sweep(strong, x=[0.0, 1.0])
    claim.expect(Beats("y", along="x", a=1.0, b=0.0))
    used = list(claim.samples.seeds)
    assert claim.verdict.verdict == "supported" and len(used) == 6  # stopped at the first look
    record = claim.variance_by_source
    assert record["setting"] == "base" and record["n_seeds"] == 6
    assert record["extra_runs"] == 2 * 6  # two configurations, one source, the seeds used
    variant_seeds = sorted(seed for seed, hold in calls if hold)
    assert variant_seeds == sorted(2 * used)  # trained once, on the seeds used, base only
    data_only = [noisy(seed, 0.0, ("init",))["y"] / 10 for seed in used]
    assert record["levels"][0]["sources"]["data"]["variance"] == \
        pytest.approx(float(np.var(data_only, ddof=1)))
