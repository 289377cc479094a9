"""The regression gate (atomcheck.gate): rules, loading, decisions, and its error rates
measured on simulated reruns — false alarms on A/A reruns at or below alpha, and power
on a real shift."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats as st
from scipy.special import stdtr

from atomcheck.gate import GateError, Rules, compare_runs, load_run, parse_rules, shift_pvalues

ALPHA = 0.05


def _claim(key: str, values: np.ndarray, seeds: list[int], *, kind: str = "compare",
           verdict: str | None = None, reference: float = 0.0,
           alternative: str | None = "greater") -> dict[str, Any]:
    """A claim entry whose verdict is decided the way a mean claim is: one-sided t at alpha."""
    if verdict is None:  # scipy's ttest_1samp, without its overhead (thousands of calls)
        x = values - reference
        t = x.mean() / (x.std(ddof=1) / math.sqrt(x.size))
        p_up = float(stdtr(x.size - 1, -t))
        p_down = 1 - p_up
        verdict = "supported" if p_up < ALPHA else "refuted" if p_down < ALPHA else "inconclusive"
    return {"id": key, "variant": None, "kind": kind, "verdict": verdict, "seeds": seeds,
            "effect": {"name": "mean difference", "value": float(values.mean()),
                       "per_seed": values.tolist(), "reference": reference,
                       "alternative": None if kind == "equivalent" else alternative}}


def _run(claims: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schema": "atomcheck-report/1", "claims": claims}


# -- rules and files ------------------------------------------------------------------------

def test_parse_rules() -> None:
    assert parse_rules([]) == Rules()
    assert parse_rules(["effect:10%"]) == Rules(effect=0.1, relative=True)
    assert parse_rules(["effect:0.02", "missing"]) == Rules(effect=0.02, relative=False,
                                                            missing=True)
    assert Rules(effect=0.1).tolerance(-2.0) == pytest.approx(0.2)
    assert Rules(effect=0.5, relative=False).tolerance(-2.0) == 0.5
    for bad in ("effect", "effect:ten%", "min:5%", "effect:150%"):
        with pytest.raises(GateError, match="--atomcheck-compare-fail"):
            parse_rules([bad])


def test_load_run_errors_name_the_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(GateError, match="does not exist.*--atomcheck-save-baseline"):
        load_run(tmp_path / "none.json", role="baseline")
    (tmp_path / "r.md").write_text("# atomcheck report\n")
    with pytest.raises(GateError, match=r"r\.md.*not a JSON report"):
        load_run(tmp_path / "r.md")
    (tmp_path / "v0.json").write_text(json.dumps({"schema": "atomcheck-report/0", "claims": []}))
    with pytest.raises(GateError, match="schema 'atomcheck-report/0'.*Save the baseline again"):
        load_run(tmp_path / "v0.json")
    (tmp_path / "ok.json").write_text(json.dumps(_run([])))
    assert load_run(tmp_path / "ok.json")["claims"] == []


# -- decisions --------------------------------------------------------------------------------

SEEDS = list(range(10))
BASE = np.array([1.0, 1.2, 0.8, 1.1, 0.9, 1.3, 0.7, 1.0, 1.05, 0.95])


def _status(old: dict[str, Any], new: dict[str, Any], rules: Rules | None = None) -> str:
    comparison = compare_runs(_run([old]), _run([new]), rules=rules)
    return comparison.changes[0].status


def test_identical_rerun_is_unchanged() -> None:
    entry = _claim("a", BASE, SEEDS)
    comparison = compare_runs(_run([entry]), _run([entry]), rules=Rules(effect=0.0))
    assert [c.status for c in comparison.changes] == ["unchanged"]
    assert not comparison.failed
    assert "gate: passed" in comparison.render()


def test_lost_effect_regresses_and_a_gained_one_improves() -> None:
    gone = _claim("a", BASE - 1.0, SEEDS)
    assert gone["verdict"] == "inconclusive"
    assert _status(_claim("a", BASE, SEEDS), gone) == "regressed"
    assert _status(gone, _claim("a", BASE, SEEDS)) == "improved"


def test_verdict_flip_within_noise_does_not_fail() -> None:
    # The same values, a verdict that flipped: the per-seed values are not worse.
    old = _claim("a", BASE, SEEDS, verdict="supported")
    new = _claim("a", BASE, SEEDS, verdict="inconclusive")
    comparison = compare_runs(_run([old]), _run([new]))
    assert comparison.changes[0].status == "noise"
    assert not comparison.failed


def test_effect_tolerance() -> None:
    old, shrunk = _claim("a", BASE, SEEDS), _claim("a", BASE * 0.7, SEEDS)
    assert shrunk["verdict"] == "supported"
    assert _status(old, shrunk) == "unchanged"  # verdicts only
    assert _status(old, shrunk, Rules(effect=0.1)) == "regressed"  # 30% > 10%, every seed
    assert _status(old, shrunk, Rules(effect=0.5)) == "unchanged"  # 30% < 50%
    assert _status(old, shrunk, Rules(effect=0.2, relative=False)) == "regressed"


def test_negative_effects_are_oriented() -> None:
    # A claim that something falls: toward zero is worse, further below zero is better.
    def falls(values: np.ndarray) -> dict[str, Any]:
        return _claim("a", values, SEEDS, verdict="supported", alternative="less")
    assert _status(falls(-BASE), falls(-BASE * 0.5), Rules(effect=0.1)) == "regressed"
    assert _status(falls(-BASE), falls(-BASE * 2)) == "improved"
    # An old baseline without the claimed direction: the baseline's side, at alpha/2 each.
    old, new = falls(-BASE), falls(-BASE * 0.5)
    for entry in (old, new):
        del entry["effect"]["alternative"]
    comparison = compare_runs(_run([old]), _run([new]), rules=Rules(effect=0.1))
    assert comparison.changes[0].status == "regressed"
    assert comparison.changes[0].units[0].test == "paired t, two-sided"


def test_threshold_claims_measure_from_their_threshold() -> None:
    old = _claim("a", 0.9 + BASE * 0.01, SEEDS, kind="threshold", verdict="supported",
                 reference=0.85)
    closer = _claim("a", 0.86 + BASE * 0.01, SEEDS, kind="threshold", verdict="supported",
                    reference=0.85)
    assert _status(old, closer, Rules(effect=0.1)) == "regressed"


def test_equivalence_claims_regress_away_from_their_reference() -> None:
    near = _claim("a", BASE * 0.01, SEEDS, kind="equivalent", verdict="supported")
    far = _claim("a", BASE * 0.5, SEEDS, kind="equivalent", verdict="inconclusive")
    assert _status(near, far) == "regressed"
    assert _status(far, near) == "improved"


def test_unpaired_seeds_use_a_two_sample_test() -> None:
    old = _claim("a", BASE, SEEDS)
    new = _claim("a", BASE - 1.0, [s + 1000 for s in SEEDS])
    comparison = compare_runs(_run([old]), _run([new]))
    assert comparison.changes[0].status == "regressed"
    assert comparison.changes[0].units[0].test == "Welch t"


def test_exact_claims_and_errors_regress_without_a_test() -> None:
    old = {"id": "e", "kind": "exact", "verdict": "supported", "seeds": SEEDS, "effect": {}}
    new = {**old, "verdict": "refuted", "counterexample": 3}
    comparison = compare_runs(_run([old]), _run([new]))
    assert comparison.changes[0].status == "regressed"
    assert "counterexample seed 3" in comparison.render()
    broken = {"id": "a", "verdict": "error", "message": "boom", "seeds": SEEDS, "effect": {}}
    assert _status(_claim("a", BASE, SEEDS), broken) == "regressed"


def test_missing_and_new_claims_are_listed() -> None:
    old = _run([_claim("a", BASE, SEEDS), _claim("gone", BASE, SEEDS)])
    new = _run([_claim("a", BASE, SEEDS), _claim("fresh", BASE, SEEDS)])
    comparison = compare_runs(old, new)
    text = comparison.render()
    assert "MISSING      gone" in text and "new          fresh" in text
    assert not comparison.failed
    assert compare_runs(old, new, rules=Rules(missing=True)).failed


def test_families_and_settings_compare_test_by_test() -> None:
    def family(gain_b: float) -> dict[str, Any]:
        members = [{"label": lab, "verdict": "supported", "test": "ttest_rel",
                    "effect": {"name": "mean difference", "value": float(v.mean())},
                    "extra": {"per_seed": v.tolist()}}
                   for lab, v in (("x=1", BASE), ("x=2", BASE * gain_b))]
        return {"id": "f", "kind": "compare", "verdict": "supported", "seeds": SEEDS,
                "settings": [{"setting": "base", "verdict": "supported", "members": members}]}
    comparison = compare_runs(_run([family(1.0)]), _run([family(0.5)]),
                              rules=Rules(effect=0.1))
    change = comparison.changes[0]
    assert [u.label for u in change.units] == ["base · x=1", "base · x=2"]
    assert change.status == "regressed" and "base · x=2" in change.reason


def test_shift_pvalues_match_scipy() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=10), rng.normal(size=10) - 0.3
    worse, better, _ = shift_pvalues(a, b, tolerance=0.1)
    assert worse == pytest.approx(st.ttest_1samp(b - a + 0.1, 0, alternative="less").pvalue)
    assert better == pytest.approx(st.ttest_1samp(b - a, 0, alternative="greater").pvalue)
    worse, _, test = shift_pvalues(a, b[:8], tolerance=0.1, paired=False)
    expected = st.ttest_ind(b[:8] + 0.1, a, equal_var=False, alternative="less").pvalue
    assert (worse, test) == (pytest.approx(expected), "Welch t")


def test_shift_pvalues_handle_constant_changes() -> None:
    same = [0.5] * 5
    assert shift_pvalues(same, same)[:2] == (1.0, 1.0)
    worse, better, _ = shift_pvalues(same, [0.4] * 5)
    assert (worse, better) == (0.0, 1.0)
    assert math.isnan(shift_pvalues([1.0], [0.0])[0])  # one seed: nothing to test


# -- error rates on simulated reruns ------------------------------------------------------------

N_PAIRS = 1000
N_CLAIMS = 5
N_SEEDS = 10


def _simulated_gate(rng: np.random.Generator, shift: float, paired: bool,
                    rules: Rules) -> bool:
    """One baseline and one rerun of N_CLAIMS claims; claim 0's effect moves by ``shift``.

    Effects are borderline (0.6 sd: supported about half the time), so verdicts flip
    between reruns as often as they can; a paired rerun shares each seed's own component
    (same seeds, nondeterministic training), an unpaired one draws other seeds.
    """
    effects = np.array([0.6, 0.6, 1.0, 0.3, 2.0])
    seed_part = rng.normal(scale=0.7, size=(N_CLAIMS, N_SEEDS))
    old_claims, new_claims = [], []
    for k in range(N_CLAIMS):
        old = effects[k] + seed_part[k] + rng.normal(scale=0.7, size=N_SEEDS)
        own = seed_part[k] if paired else rng.normal(scale=0.7, size=N_SEEDS)
        new = effects[k] - (shift if k == 0 else 0.0) + own + rng.normal(scale=0.7,
                                                                          size=N_SEEDS)
        seeds = SEEDS if paired else [s + 1000 for s in SEEDS]
        old_claims.append(_claim(f"c{k}", old, SEEDS))
        new_claims.append(_claim(f"c{k}", new, seeds))
    return compare_runs(_run(old_claims), _run(new_claims), alpha=ALPHA, rules=rules).failed


@pytest.mark.parametrize("paired", [True, False], ids=["same-seeds", "other-seeds"])
@pytest.mark.parametrize("rules", [Rules(), Rules(effect=0.0)], ids=["verdicts", "effect:0%"])
def test_false_alarm_rate_on_aa_reruns_is_at_most_alpha(paired: bool, rules: Rules) -> None:
    # effect:0% is the strictest rule: any significant shift toward zero fails.
    rng = np.random.default_rng(20261201)
    alarms = sum(_simulated_gate(rng, 0.0, paired, rules) for _ in range(N_PAIRS))
    rate = alarms / N_PAIRS
    print(f"A/A false-alarm rate ({'paired' if paired else 'unpaired'}, "
          f"{rules.describe()}): {rate:.3f}")
    # At most alpha: a rate above it would show as significant in this many reruns (the
    # strictest rule sits at alpha itself: Holm over five true nulls spends all of it).
    assert st.binomtest(alarms, N_PAIRS, ALPHA, alternative="greater").pvalue > 0.01
    assert rate <= (ALPHA if rules.effect is None else ALPHA + 0.01)


@pytest.mark.parametrize("paired", [True, False], ids=["same-seeds", "other-seeds"])
def test_power_on_a_real_shift(paired: bool) -> None:
    # Claim 0's effect drops by 1.5 (from 0.6 to -0.9; a seed's value has sd ~1): the gate
    # must notice most of the time even after Holm over five claims; pairing by seed, which
    # removes each seed's own part, notices more often.
    rng = np.random.default_rng(7)
    hits = sum(_simulated_gate(rng, 1.5, paired, Rules(effect=0.0)) for _ in range(400))
    print(f"power on a 1.5 shift ({'paired' if paired else 'unpaired'}): {hits / 400:.2f}")
    assert hits / 400 >= (0.9 if paired else 0.7)
