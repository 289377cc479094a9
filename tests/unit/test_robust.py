"""Open settings (robust_over): parsing before training, the rules over settings, a Claim
running them on shared paired seeds, and the aggregate rules' calibration on null data."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from scipy.stats import binomtest

from atomcheck import Beats, Claim, Equivalent, Exact, InvalidClaim, Rises, Settings
from atomcheck.robust import combine, parse_settings
from atomcheck.sweep import Run, Samples
from atomcheck.verdict import SettingResult, Verdict

ALPHA = 0.05


def train(seed: int, x: int, lr: float = 0.1, epochs: int = 20) -> dict[str, float]:
    """A training function with two open settings (lr, epochs) and one swept factor (x)."""
    return {"y": lr * x + 0.001 * seed, "z": -x + 0.0 * epochs}


def names(robust_over: Any, expectation: Any = None) -> list[str]:
    settings = parse_settings(robust_over, fn=train, levels={"x": [1, 2, 3]},
                              expectation=expectation or Rises("y", along="x"), claim_id="c")
    return [s.name for s in settings]


# --------------------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------------------


def test_dict_form_is_the_grid_over_base_and_alternatives() -> None:
    assert names({"lr": [0.01, 1.0]}) == ["base", "lr=0.01", "lr=1.0"]
    assert names({"lr": [0.01], "epochs": [60]}) == ["base", "epochs=60", "lr=0.01",
                                                     "lr=0.01, epochs=60"]


def test_list_form_is_the_base_and_each_setting() -> None:
    assert names([{"lr": 0.01}, {"epochs": 60, "lr": 1.0}]) == ["base", "lr=0.01",
                                                                 "epochs=60, lr=1.0"]


def test_expectation_fields_and_training_arguments_are_told_apart() -> None:
    settings = parse_settings({"lr": [1.0], "margin": [0.1]}, fn=train, levels={"x": [1, 2]},
                              expectation=Equivalent("y", along="x", a=1, margin=0.05))
    by_name = {s.name: s for s in settings}
    assert by_name["lr=1.0, margin=0.1"].config == {"lr": 1.0}
    assert by_name["lr=1.0, margin=0.1"].expectation == {"margin": 0.1}
    assert by_name["margin=0.1"].config == {}


def test_base_values_come_from_a_task_spec() -> None:
    pytest.importorskip("torch")
    from atomcheck.data import gaussian_mixture
    from atomcheck.models import MLPSpec, Task

    task = Task(gaussian_mixture, MLPSpec(widths=(4,), lr=0.05, epochs=3),
                data_args={"dims": 2, "n_train": 20, "n_test": 10})
    with pytest.raises(InvalidClaim, match=r"robust_over\['lr'\] lists 0.05, which repeats "
                                           r"the base \(the claim's own lr=0.05 always runs\)"):
        parse_settings({"lr": [0.05]}, fn=task, levels={"batch_size": [1, 4, 16]},
                       expectation=Rises("test_accuracy", along="batch_size"), claim_id="c")
    ok = parse_settings({"lr": [0.5], "dims": [3]}, fn=task, levels={"batch_size": [1, 4, 16]},
                        expectation=Rises("test_accuracy", along="batch_size"))
    assert [s.name for s in ok] == ["base", "dims=3", "lr=0.5", "lr=0.5, dims=3"]


@pytest.mark.parametrize(("robust_over", "match"), [
    ({"momentum": [0.9]}, r"c: robust_over names unknown field 'momentum': it is neither an "
                          r"argument of the training function \(\['epochs', 'lr', 'seed', 'x'\]\)"
                          r" nor of the expectation"),
    ({"lr": []}, r"c: robust_over\['lr'\]=\[\] must be a non-empty list of alternative values"),
    ({"lr": 0.5}, r"robust_over\['lr'\]=0.5 must be a non-empty list"),
    ({}, r"c: robust_over=\{\} names no setting"),
    ({"lr": [0.1]}, r"c: robust_over\['lr'\] lists 0.1, which repeats the base"),
    ([{"lr": 0.1}], r"c: robust_over setting \{'lr': 0.1\} repeats the base"),
    ([{"lr": 0.5}, {"lr": 0.5}], r"lists the same setting twice"),
    ([{}], r"must list settings as non-empty dicts"),
    ("lr", r"must be a dict of alternatives"),
    ({"x": [4]}, r"c: robust_over names 'x', which the claim sweeps as a factor"),
    ({"metric": ["y"]}, r"robust_over\['metric'\] lists 'y', which repeats the base"),
])
def test_bad_robust_over(robust_over: Any, match: str) -> None:
    with pytest.raises(InvalidClaim, match=match):
        names(robust_over)


def test_bad_setting_of_an_expectation_field_fails_before_training() -> None:
    calls = []

    def fn(seed: int, x: int) -> dict[str, float]:
        calls.append(seed)
        return {"y": float(x)}

    claim = Claim("c.eq", seeds=6, robust_over={"margin": [-0.1]}).sweep(fn, x=[1, 2])
    with pytest.raises(InvalidClaim, match=r"c.eq: Equivalent\('y'\) needs an explicit margin > 0"
                                           r".* \(under robust_over setting margin=-0.1\)"):
        claim.expect(Equivalent("y", along="x", a=1, margin=0.05))
    assert calls == []


# --------------------------------------------------------------------------------------
# the rules over settings
# --------------------------------------------------------------------------------------


def verdict(word: str, p: float, q: float, kind: str = "trend") -> Verdict:
    return Verdict(word, kind, "t", 0.0, p, q, ALPHA, "e", 0.0, (0.0, 0.0), 10, "m", "claim")


def over(*verdicts: Verdict) -> Verdict:
    return combine([SettingResult("base" if i == 0 else f"s{i}", {}, v)
                    for i, v in enumerate(verdicts)], ALPHA)


def test_supported_needs_every_setting_each_at_alpha() -> None:
    both = over(verdict("supported", 0.04, 1.0), verdict("supported", 0.01, 1.0))
    assert both.verdict == "supported" and both.p_value == 0.04
    assert [s.name for s in both.settings] == ["base", "s1"]


def test_conditional_needs_each_side_after_holm() -> None:
    split = over(verdict("supported", 0.001, 1.0), verdict("refuted", 1.0, 0.001))
    assert split.verdict == "conditional"
    assert "supported under base; refuted under s1 (Holm across settings)" in split.message
    # 0.03 on each side is significant alone, not after Holm over two settings.
    weak = over(verdict("supported", 0.03, 1.0), verdict("refuted", 1.0, 0.03))
    assert weak.verdict == "inconclusive"


def test_refuted_under_one_and_supported_under_none() -> None:
    v = over(verdict("inconclusive", 0.3, 0.4), verdict("refuted", 1.0, 0.001))
    assert v.verdict == "refuted" and v.p_opposite == pytest.approx(0.002)
    assert over(verdict("refuted", 1.0, 0.01), verdict("refuted", 1.0, 0.02)).verdict == "refuted"
    # Refuted under each alone, but not after Holm across the two settings.
    assert over(verdict("refuted", 1.0, 0.03), verdict("refuted", 1.0, 0.04)).verdict == \
        "inconclusive"
    assert over(verdict("refuted", 1.0, 0.04), verdict("inconclusive", 0.5, 0.5)).verdict == \
        "inconclusive"


def test_error_under_any_setting_is_the_claims_error() -> None:
    bad = verdict("error", math.nan, math.nan).replace(message="too few seeds")
    v = over(verdict("supported", 0.001, 1.0), bad)
    assert v.verdict == "error" and "under setting s1: too few seeds" in v.message


def test_exact_claims_combine_without_p_values() -> None:
    nan = math.nan
    ok, broken = verdict("supported", nan, nan, "exact"), verdict("refuted", nan, nan, "exact")
    assert over(ok, ok).verdict == "supported"
    assert over(ok, broken).verdict == "conditional"
    assert over(broken, broken).verdict == "refuted"


# --------------------------------------------------------------------------------------
# a Claim with open settings
# --------------------------------------------------------------------------------------


def test_claim_runs_every_setting_on_the_same_seeds() -> None:
    calls: list[tuple[int, float]] = []

    def fn(seed: int, x: int, lr: float = 0.1) -> dict[str, float]:
        calls.append((seed, lr))
        return {"y": lr * x + 0.01 * (seed % 3), "w": x * (1 if lr < 1 else -1) + 0.01 * seed}

    claim = Claim("c.lr", seeds=6, robust_over={"lr": [0.01, 2.0]}, settings=Settings(seed_base=50))
    claim.sweep(fn, x=[1, 2, 3])
    v = claim.expect(Rises("w", along="x"))
    assert v.verdict == "conditional"
    assert [(s.name, s.verdict.verdict) for s in v.settings] == [
        ("base", "supported"), ("lr=0.01", "supported"), ("lr=2.0", "refuted")]
    assert {seed for seed, _ in calls} == set(range(50, 56))
    for lr in (0.1, 0.01, 2.0):  # every setting trained every seed once per level
        assert sorted(s for s, r in calls if r == lr) == sorted(list(range(50, 56)) * 3)
    assert claim.samples is not None and "setting" in claim.samples.factors
    entry = claim.to_dict(outcome="failed")
    assert [s["setting"] for s in entry["settings"]] == ["base", "lr=0.01", "lr=2.0"]
    assert entry["settings"][2]["values"] == {"lr": 2.0}
    assert entry["seeds"] == list(range(50, 56)) and entry["robust_over"] == {"lr": [0.01, 2.0]}
    assert "setting   refuted      lr=2.0" in v.explain()


def test_settings_of_the_expectation_reuse_the_trained_runs() -> None:
    calls = []

    def fn(seed: int, x: str) -> dict[str, float]:
        calls.append(seed)
        return {"y": {"a": 1.0, "b": 1.02}[x] + 0.001 * (seed % 4), "z": 0.0}

    claim = Claim("c.margin", seeds=8, robust_over={"margin": [0.01]}).sweep(fn, x=["a", "b"])
    v = claim.expect(Equivalent("y", along="x", a="a", margin=0.05))
    assert len(calls) == 16  # 8 seeds x 2 levels, once for both settings
    assert [s.verdict.verdict for s in v.settings] == ["supported", "refuted"]
    assert v.verdict == "conditional"


def test_a_claim_without_robust_over_has_no_settings() -> None:
    claim = Claim("c.plain", seeds=6).sweep(train, x=[1, 2, 3])
    v = claim.expect(Rises("y", along="x"))
    assert v.settings == [] and "settings" not in claim.to_dict()


def test_expected_conditional_needs_a_reason() -> None:
    with pytest.raises(InvalidClaim, match=r"expected='conditional' needs reason="):
        Claim("c.x", expected="conditional")
    claim = Claim("c.x", expected="conditional", reason="depends on lr")
    assert claim.expected == "conditional"


# --------------------------------------------------------------------------------------
# calibration of the rules over 2-4 settings (null data, settings correlated by seed)
# --------------------------------------------------------------------------------------

N_SEEDS = 10
REPS = 400


def _samples(values: np.ndarray) -> Samples:
    """values: (settings, seeds, 2 arms) -> one Samples per setting."""
    out = []
    for per_setting in values:
        runs = [Run({"arm": arm}, s, {"m": float(per_setting[s, j])}, 0.0)
                for j, arm in enumerate("ab") for s in range(N_SEEDS)]
        out.append(Samples(("arm",), [{"arm": "a"}, {"arm": "b"}], list(range(N_SEEDS)), runs))
    return out


def _rates(n_settings: int, shift: float, seed: int) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    expectation = Beats("m", along="arm", a="a", b="b", of="mean")
    counts = dict.fromkeys(("supported", "conditional", "refuted", "inconclusive"), 0)
    for _ in range(REPS):
        # A seed effect shared by every setting and arm, plus a setting x seed effect:
        # the settings' verdicts are correlated, as they are on paired seeds.
        seed_effect = rng.normal(size=(1, N_SEEDS, 1))
        values = seed_effect + 0.5 * rng.normal(size=(n_settings, N_SEEDS, 1)) + \
            rng.normal(size=(n_settings, N_SEEDS, 2))
        values[:, :, 0] += shift
        results = [SettingResult(f"s{i}", {}, expectation.evaluate(s, alpha=ALPHA))
                   for i, s in enumerate(_samples(values))]
        counts[combine(results, ALPHA).verdict] += 1
    return counts


def _not_above_alpha(count: int) -> bool:
    return binomtest(count, REPS, ALPHA, alternative="greater").pvalue > 0.001


@pytest.mark.parametrize("n_settings", [2, 3, 4])
def test_aggregate_rules_keep_false_positives_at_alpha(n_settings: int) -> None:
    null = _rates(n_settings, 0.0, seed=n_settings)
    # No effect under any setting: neither support nor refutation (nor a split) beyond alpha.
    assert _not_above_alpha(null["supported"]), null
    assert _not_above_alpha(null["refuted"] + null["conditional"]), null
    # A true effect everywhere: support has power, and refutation stays below alpha.
    strong = _rates(n_settings, 2.5, seed=100 + n_settings)
    assert strong["supported"] >= 0.8 * REPS, strong
    assert _not_above_alpha(strong["refuted"] + strong["conditional"]), strong


def test_shared_sweep_shares_the_settings_claims_have_in_common() -> None:
    from atomcheck import SharedSweep

    calls: list[tuple[int, float]] = []

    def fn(seed: int, x: int, lr: float = 0.1) -> dict[str, float]:
        calls.append((x, lr))
        return {"y": x * lr + 0.001 * seed}

    shared = SharedSweep(fn, x=[1, 2, 3])
    plain = Claim("c.plain", seeds=5).use(shared)
    assert plain.expect(Rises("y", along="x")).verdict == "supported"
    assert len(calls) == 15
    robust = Claim("c.robust", seeds=5, robust_over={"lr": [0.5]}).use(shared)
    v = robust.expect(Rises("y", along="x"))
    assert v.verdict == "supported" and [s.name for s in v.settings] == ["base", "lr=0.5"]
    assert len(calls) == 30 and calls[15:] == [(x, 0.5) for x in (1, 2, 3) for _ in range(5)]
    again = Claim("c.again", seeds=5, robust_over={"lr": [0.5, 2.0]}).use(shared)
    again.expect(Rises("y", along="x"))
    assert len(calls) == 45  # only lr=2.0 is new
    assert again.samples is not None
    assert again.samples.matrix("y").shape == (5, 9)


def test_shared_sweep_trains_only_seeds_it_has_not_trained() -> None:
    """Claims with more seeds train only the new ones; claims with fewer read a subset,
    with the same numbers as a table trained on exactly their seeds."""
    from atomcheck import SharedSweep

    calls: list[int] = []

    def fn(seed: int, x: int) -> dict[str, float]:
        calls.append(seed)
        return {"y": x + float(np.random.default_rng(seed).normal())}

    shared = SharedSweep(fn, x=[1, 2, 3])
    many = Claim("c.many", seeds=20).use(shared)
    many.expect(Rises("y", along="x"))
    assert sorted(set(calls)) == list(range(20)) and len(calls) == 60
    few = Claim("c.few", seeds=10).use(shared)
    few.expect(Rises("y", along="x"))
    assert len(calls) == 60  # a subset: nothing trained
    alone = Claim("c.alone", seeds=10).sweep(fn, x=[1, 2, 3])
    alone.expect(Rises("y", along="x"))
    assert few.samples is not None and alone.samples is not None
    assert few.samples.matrix("y").tolist() == alone.samples.matrix("y").tolist()
    more = Claim("c.more", seeds=30).use(shared)
    more.expect(Rises("y", along="x"))
    assert len(calls) == 60 + 30 + 30 and sorted(set(calls[-30:])) == list(range(20, 30))


def test_a_claim_that_reads_part_of_a_shared_sweep_trains_and_reports_only_that_part() -> None:
    from atomcheck import SharedSweep

    calls: list[tuple[str, int, float]] = []

    def fn(seed: int, x: int, arm: str, lr: float = 0.1) -> dict[str, float]:
        calls.append((arm, seed, lr))
        return {"y": x * (2.0 if arm == "b" else 1.0) + float(np.random.default_rng(
            [seed, x]).normal()) + lr}

    shared = SharedSweep(fn, x=[1, 2, 3], arm={"a": {"arm": "a"}, "b": {"arm": "b"}})
    part = Claim("c.part", seeds=20).use(shared, arm=["b"])
    part.expect(Rises("y", along="x"))
    assert part.samples is not None and part.samples.configs[0] == {"x": 1, "arm": "b"}
    assert part.samples.matrix("y").shape == (20, 3)
    assert sorted(set(calls)) == [("b", s, 0.1) for s in range(20)] and len(calls) == 60
    whole = Claim("c.whole", seeds=10).use(shared)
    whole.expect(Rises("y", along="x"))
    assert len(calls) == 60 + 30 and {arm for arm, _, _ in calls[60:]} == {"a"}
    alone = Claim("c.alone", seeds=10).sweep(fn, x=[1, 2, 3],
                                             arm={"a": {"arm": "a"}, "b": {"arm": "b"}})
    alone.expect(Rises("y", along="x"))
    assert whole.samples is not None and alone.samples is not None
    assert whole.samples.matrix("y").tolist() == alone.samples.matrix("y").tolist()
    # an open setting on a part trains that part under the setting only
    robust = Claim("c.robust", seeds=5, robust_over={"lr": [0.5]}).use(shared, arm=["a"])
    robust.expect(Rises("y", along="x"))
    assert len(calls) == 90 + 60 + 15 and set(calls[150:]) == {("a", s, 0.5) for s in range(5)}


@pytest.mark.parametrize(("subset", "message"), [
    ({"width": [1]}, r"use\(shared, width=\[1\]\): the shared sweep has no factor 'width'; "
                     r"its factors are \['x', 'arm'\]"),
    ({"x": [4]}, r"use\(shared, x=\[4\]\): \[4\] not among the shared sweep's levels "
                 r"\[1, 2, 3\]; read a subset"),
    ({"arm": "a"}, r"use\(shared, arm='a'\): give a non-empty list of the levels to read, "
                   r"e.g. arm=\['a'\]"),
    ({"x": []}, r"use\(shared, x=\[\]\): give a non-empty list"),
])
def test_reading_a_part_a_shared_sweep_does_not_have_fails_before_training(subset, message
                                                                            ) -> None:
    from atomcheck import SharedSweep

    def fn(seed: int, x: int, arm: str) -> dict[str, float]:
        raise AssertionError("a bad subset must fail before any training")

    shared = SharedSweep(fn, x=[1, 2, 3], arm=["a", "b"])
    with pytest.raises(InvalidClaim, match=r"c\.bad: " + message):
        Claim("c.bad", seeds=5).use(shared, **subset)
