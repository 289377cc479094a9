"""Sequential seeds: the design (looks, alpha spent), its checks, and a claim that adds
seeds look by look without training any seed twice (atomcheck.sequential, Claim)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from atomcheck.cache import ResultCache
from atomcheck.claim import Claim
from atomcheck.config import Settings
from atomcheck.errors import InvalidClaim
from atomcheck.sequential import (FIRST_LOOK, SPENDINGS, SequentialDesign, adjusted_p,
                                  parse_sequential)
from atomcheck.sweep import SharedSweep
from atomcheck.verdict import Beats, Equivalent, Exact, Rises, Threshold


@pytest.mark.parametrize("spending", SPENDINGS)
@pytest.mark.parametrize("low, high, looks", [(5, 10, 2), (4, 20, 4), (6, 10, 3), (10, 10, 2),
                                              (5, 30, None), (5, 10, None)])
def test_the_looks_spend_exactly_alpha(spending, low, high, looks):
    schedule = SequentialDesign(low, high, looks=looks, spending=spending).schedule(0.05)
    assert schedule[0].n_seeds == low and schedule[-1].n_seeds == high
    assert all(a.n_seeds < b.n_seeds for a, b in zip(schedule, schedule[1:]))
    assert all(k.alpha > 0 for k in schedule)
    assert sum(k.alpha for k in schedule) == pytest.approx(0.05, abs=1e-12)
    assert schedule[-1].spent == 0.05


def test_known_schedules():
    assert [(k.n_seeds, k.alpha) for k in SequentialDesign(5, 10).schedule(0.05)] == [
        (5, 0.025), (10, 0.025)]
    # the default rule: 5 seeds, half (when strictly between), all; front spending
    assert [(k.n_seeds, k.alpha) for k in SequentialDesign(5, 30).schedule(0.05)] == [
        (5, 0.025), (15, 0.0025), (30, 0.0225)]
    assert SequentialDesign(5, 12).seed_counts() == [5, 6, 12]
    assert SequentialDesign(5, 11).seed_counts() == [5, 6, 11]
    assert SequentialDesign(5, 9).seed_counts() == [5, 9]
    linear = SequentialDesign(5, 10, looks=2, spending="linear").schedule(0.05)
    assert [k.alpha for k in linear] == [0.025, 0.025]
    obf = SequentialDesign(5, 10, looks=2, spending="obrien-fleming").schedule(0.05)
    assert obf[0].alpha == pytest.approx(0.00557, abs=1e-4)  # Lan-DeMets OBF at t = 0.5
    # front spending with many looks still leaves the last look a middle look's share
    many = SequentialDesign(2, 40, looks=30).schedule(0.05)
    assert many[-1].alpha >= many[1].alpha > 0


@pytest.mark.parametrize("args, words", [
    ((10, 5), "maximum 5 is below the minimum 10"),
    ((1, 5), "too few"),
    ((5, 10, 0), "looks=0"),
    ((5, 10, 2, "greedy"), "spending='greedy' is not known"),
])
def test_bad_designs_say_what_to_fix(args, words):
    with pytest.raises(InvalidClaim, match=words):
        SequentialDesign(*args)


def rank_check(members: int = 1):
    """``check_seeds`` of a one-sided Wilcoxon claim with ``members`` comparisons."""
    beats = Beats("m", along="x", a=members, b=list(range(members)))
    levels = {"x": list(range(members + 1))}
    return lambda n, alpha: beats.check_seeds(n, alpha, levels=levels)


def test_fit_moves_the_first_look_to_the_rank_tests_floor_and_spends_just_that():
    fitted = SequentialDesign(5, 10).fit(rank_check(), 0.05)  # 0.5**5 = 0.031 > 0.025
    looks = fitted.schedule(0.05)
    assert [k.n_seeds for k in looks] == [6, 10]
    # at 6 seeds the only p below 0.025 is 0.5**6: the look spends that, the last the rest
    assert looks[0].alpha == pytest.approx(0.5**6, rel=1e-5) and looks[0].alpha > 0.5**6
    assert looks[1].alpha == pytest.approx(0.05 - 0.5**6, rel=1e-5)
    assert "raised from 5 to 6" in fitted.notes[0] and "spends 0.0156" in fitted.notes[1]
    # a family of two: Holm needs 2 * 0.5**n below alpha_1, so 7 seeds
    family = SequentialDesign(5, 10).fit(rank_check(2), 0.05).schedule(0.05)
    assert [k.n_seeds for k in family] == [7, 10]
    assert family[0].alpha == pytest.approx(2 * 0.5**7, rel=1e-5)


def test_fit_keeps_a_t_test_design_and_drops_a_middle_look_that_cannot_decide():
    tost = Equivalent("m", along="x", a=0, b=1, margin=0.5)
    fitted = SequentialDesign(5, 20).fit(
        lambda n, a: tost.check_seeds(n, a, levels={"x": [0, 1]}), 0.05)
    assert fitted.schedule(0.05) == SequentialDesign(5, 20).schedule(0.05) and not fitted.notes
    # a rank test cannot reach the middle look's 0.0025 at 8 seeds (0.5**8 = 0.0039)
    dropped = SequentialDesign(5, 16).fit(rank_check(), 0.05)
    assert [k.n_seeds for k in dropped.schedule(0.05)] == [6, 16]
    assert any("look at 8 seeds dropped" in note for note in dropped.notes)
    assert sum(k.alpha for k in dropped.schedule(0.05)) == pytest.approx(0.05)


def test_fit_falls_back_to_the_fixed_design():
    fixed = SequentialDesign(5, 6).fit(rank_check(), 0.05)  # no earlier look can decide
    assert fixed.seed_counts() == [6] and fixed.schedule(0.05)[0].alpha == 0.05
    assert "one look (the fixed design)" in fixed.notes[0]
    # the last look at 6 seeds could not reach 0.05 - 0.0156 with a family of three
    with pytest.raises(InvalidClaim):
        SequentialDesign(3, 4).fit(rank_check(), 0.05)  # not even the fixed design can


def test_parse_and_adjusted_p():
    assert parse_sequential(None, 10) is None and parse_sequential(False, 10) is None
    assert parse_sequential(True, 10).seed_counts() == [FIRST_LOOK, 10]
    assert parse_sequential(True, 20).seed_counts() == [5, 10, 20]
    assert parse_sequential(True, 10, default_range=(4, 20)).seed_counts() == [4, 10, 20]
    assert parse_sequential(True, 10, looks=2, default_range=(4, 20)).seed_counts() == [4, 20]
    assert parse_sequential(True, 3).seed_counts() == [3]
    with pytest.raises(InvalidClaim, match=r"sequential=\(10, 5\).*below the minimum"):
        parse_sequential((10, 5), 10)
    with pytest.raises(InvalidClaim, match="must be True, False"):
        parse_sequential("yes", 10)
    assert adjusted_p(0.01, 0.05, 0.02) == pytest.approx(0.025)
    assert adjusted_p(0.5, 0.05, 0.02) == 1.0


def counted(calls: list[tuple[int, str]], shift: float):
    def train(seed: int, arm: str) -> dict[str, float]:
        calls.append((seed, arm))
        rng = np.random.default_rng(seed)
        return {"y": float(rng.normal()) + (shift if arm == "a" else 0.0)}
    return train


def claim_on(train, seeds: int = 10, **kwargs) -> Claim:
    claim = Claim("demo.sequential", "a beats b", seeds=seeds, **kwargs)
    claim.sweep(train, arm=["a", "b"])
    return claim


def test_a_decisive_claim_stops_at_the_first_look():
    calls: list[tuple[int, str]] = []
    claim = claim_on(counted(calls, 5.0), sequential=True)
    verdict = claim.expect(Beats("y", along="arm", a="a", b="b"))
    assert verdict.verdict == "supported"
    assert claim.seeds == list(range(6)) and verdict.n_seeds == 6
    assert sorted(calls) == sorted((s, arm) for s in range(6) for arm in "ab")
    record = json.loads(json.dumps(claim.to_dict(outcome="passed")))["sequential"]
    assert record["stopped_at_look"] == 1 and record["n_looks"] == 2
    assert record["seeds_used"] == 6 and record["seeds_saved"] == 4
    assert record["looks"][0]["p_value"] == pytest.approx(0.5**6)
    # the claim's p is on the scale of alpha: p * alpha / alpha_1
    assert verdict.p_value == pytest.approx(0.5**6 * 0.05 / record["planned"][0]["alpha"])
    assert verdict.alpha == 0.05 and "stopped at look 1 of 2" in verdict.message


def test_an_inconclusive_claim_adds_seeds_and_trains_each_once():
    calls: list[tuple[int, str]] = []
    claim = claim_on(counted(calls, 0.0), sequential=(4, 12, 3))
    verdict = claim.expect(Beats("y", along="arm", a="a", b="b", of="mean"))
    assert claim.seeds == list(range(12)) and verdict.n_seeds == 12
    assert len(calls) == len(set(calls)) == 24  # no seed trained twice, without a cache
    assert [look["n_seeds"] for look in claim.sequential_record()["looks"]] == [4, 8, 12]
    # the merged table equals a fixed sweep of the same seeds
    fixed = claim_on(counted([], 0.0), seeds=12).expect(Beats("y", along="arm", a="a", b="b",
                                                              of="mean"))
    assert fixed.effect == pytest.approx(verdict.effect)


def test_the_run_option_and_the_seed_base_apply():
    calls: list[tuple[int, str]] = []
    settings = Settings(sequential=True, sequential_seeds=(8, 16), seed_base=1000)
    claim = claim_on(counted(calls, 5.0), settings=settings)
    claim.expect(Beats("y", along="arm", a="a", b="b"))
    assert claim.seeds == list(range(1000, 1008))
    off = claim_on(counted([], 5.0), settings=settings, sequential=False)
    off.expect(Beats("y", along="arm", a="a", b="b"))
    assert off.sequential_record() is None and len(off.seeds) == 10


def test_open_settings_and_a_shared_sweep_train_each_seed_once():
    calls: list[tuple[int, str]] = []
    train = counted(calls, 0.0)

    def with_lr(seed: int, arm: str, lr: float = 0.1) -> dict[str, float]:
        return train(seed + (10_000 if lr != 0.1 else 0), arm)

    shared = SharedSweep(with_lr, arm=["a", "b"])
    claim = Claim("demo.shared", seeds=10, robust_over={"lr": [1.0]}, sequential=True)
    claim.use(shared)
    verdict = claim.expect(Beats("y", along="arm", a="a", b="b", of="mean"))
    assert verdict.verdict == "inconclusive" and len(verdict.settings) == 2
    assert len(calls) == len(set(calls)) == 2 * 2 * 10
    again = Claim("demo.shared2", seeds=10, robust_over={"lr": [1.0]}, sequential=True)
    again.use(shared).expect(Beats("y", along="arm", a="a", b="b", of="mean"))
    assert len(calls) == 40  # the second claim reads the shared looks


def cached_train(seed: int, arm: str) -> dict[str, float]:
    return {"y": float(np.random.default_rng(seed).normal())}


def test_with_a_cache_a_rerun_trains_nothing_and_a_fixed_run_only_the_rest(tmp_path):
    cache = ResultCache(tmp_path)
    claims = [claim_on(cached_train, sequential=True, cache=cache) for _ in range(2)]
    for claim in claims:
        claim.expect(Beats("y", along="arm", a="a", b="b", of="mean"))
    assert cache.stats.writes == 20 and claims[1].cached_runs == 20
    fixed = claim_on(cached_train, seeds=12, cache=cache)
    fixed.expect(Beats("y", along="arm", a="a", b="b", of="mean"))
    assert fixed.cached_runs == 20 and cache.stats.writes == 24


def test_exact_claims_are_not_sequential():
    claim = Claim("demo.exact", seeds=10, sequential=True)
    claim.sweep(lambda seed, x: {"y": float(x)}, x=[1, 2])
    verdict = claim.expect(Exact("y"))
    assert verdict.verdict == "supported"
    assert claim.sequential_record() is None and len(claim.seeds) == 10
    assert "off for an exact claim" in verdict.message


def test_a_trend_family_gets_a_feasible_first_look():
    claim = Claim("demo.trend", seeds=10, sequential=True)
    claim.sweep(lambda seed, x: {"y": x + 0.01 * np.random.default_rng(seed).normal()},
                x=[1, 2, 3])
    verdict = claim.expect(Rises("y", along="x"))
    assert verdict.verdict == "supported"
    assert claim.sequential_record()["stopped_at_look"] == 1


def test_bad_per_claim_values_fail_before_training():
    with pytest.raises(InvalidClaim, match=r"demo.bad: sequential=\(12, 6\).*e\.g\. 6:12"):
        Claim("demo.bad", seeds=10, sequential=(12, 6))
    with pytest.raises(InvalidClaim, match="--atomcheck-sequential-seeds=9:3"):
        Settings(sequential=True, sequential_seeds=(9, 3))
    with pytest.raises(InvalidClaim, match="--atomcheck-sequential-looks"):
        Settings(sequential_looks=0)


def test_a_refutation_under_one_setting_waits_for_the_others():
    from types import SimpleNamespace as V

    from atomcheck.sequential import decisive

    def claim(*words: str) -> V:
        overall = "refuted" if "refuted" in words else words[0]
        return V(verdict=overall, settings=[V(verdict=V(verdict=w)) for w in words])

    assert not decisive(claim("refuted", "inconclusive"))  # could still become conditional
    assert not decisive(claim("refuted", "supported"))  # Holm kept the support out, so far
    assert decisive(claim("refuted", "refuted"))
    assert decisive(V(verdict="conditional", settings=[]))
    assert decisive(V(verdict="error", settings=[]))
    assert not decisive(V(verdict="inconclusive", settings=[]))


def test_a_one_sample_mean_waits_for_ten_seeds():
    """A threshold of a mean: the skewness-aware t-test is calibrated from 10 seeds on, so
    a 10-seed claim keeps the fixed design and a 30-seed one looks at 10, 15 and 30."""
    def train(seed: int, x: int) -> dict[str, float]:
        return {"y": 1.0 + float(np.random.default_rng(seed).lognormal())}

    short = Claim("demo.mean10", seeds=10, sequential=True)
    verdict = short.sweep(train, x=[0]).expect(Threshold("y", above=0.0, of="mean"))
    assert short.sequential_record() is None or short.sequential_record()["n_looks"] == 1
    assert len(short.seeds) == 10 and "first look at 10 seeds" in verdict.message
    long = Claim("demo.mean30", seeds=30, sequential=True)
    long.sweep(train, x=[0]).expect(Threshold("y", above=0.0, of="mean"))
    planned = [k["n_seeds"] for k in long.sequential_record()["planned"]]
    assert planned == [10, 15, 30] and long.sequential_record()["stopped_at_look"] == 1
    median = Claim("demo.median30", seeds=30, sequential=True)
    median.sweep(train, x=[0]).expect(Threshold("y", above=0.0))  # the sign test: exact
    assert [k["n_seeds"] for k in median.sequential_record()["planned"]] == [6, 15, 30]


def test_pytest_benchmark_timings_keep_the_fixed_design():
    """pytest-benchmark times a configuration once over all seeds: no later look could add
    seeds, so a claim timing with BenchmarkTimings keeps the fixed design (and says so),
    whether the run or the claim itself asked for sequential seeds."""
    from types import SimpleNamespace

    from atomcheck.toolbox.benchmark_timing import BenchmarkTimings

    for claim in (Claim("demo.timing", seeds=10, settings=Settings(sequential=True)),
                  Claim("demo.timing_own", seeds=10, sequential=(5, 10))):
        timings = BenchmarkTimings(SimpleNamespace(), claim, sum)
        claim.sweep(timings, x=[0])
        assert claim._fit_design(Threshold("time_s", above=0.0)) is None
        assert any("pytest-benchmark times each configuration once" in n for n in claim.notes)
    plain = Claim("demo.plain", seeds=10, sequential=(5, 10))
    plain.sweep(lambda seed, x: {"y": 1.0}, x=[0])
    assert plain._fit_design(Threshold("y", above=0.0)) is not None  # only timings opt out
