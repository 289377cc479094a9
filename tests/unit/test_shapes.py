"""Shapes and floors on small deterministic tables (DESIGN.md, "Statistics": shapes beyond a
monotone lean, ``min_effect=``, ``order=``), and the errors a wrong claim raises before any
training.

Covers :mod:`atomcheck.shapes` (Peaks, Dips, Slope, Saturates) and the parts of
:mod:`atomcheck.verdict` those shapes lean on: strict trends (``strict=True``), floors
(``min_effect=`` on Beats and on trends) and stated orders (``order=``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from atomcheck import stats
from atomcheck.claim import Claim
from atomcheck.errors import InvalidClaim
from atomcheck.shapes import Dips, Peaks, Saturates, Slope
from atomcheck.sweep import Run, Samples
from atomcheck.verdict import Beats, Expectation, Falls, Rises, Verdict

ALPHA = 0.05
N = 8


def table(columns: Mapping[Any, Sequence[float]], factor: str = "x", metric: str = "m"
          ) -> Samples:
    """One factor: level -> per-seed values (NaN marks a diverged run), levels in order."""
    n = len(next(iter(columns.values())))
    configs = [{factor: level} for level in columns]
    runs = [Run({factor: level}, seed, {metric: float(v)}, 0.01, diverged=not math.isfinite(v))
            for level, values in columns.items() for seed, v in enumerate(values)]
    return Samples((factor,), configs, list(range(n)), runs)


def profile(levels: Sequence[Any], means: Sequence[float], *, noise: float = 0.05,
            seed: int = 0, n: int = N, block: float = 1.0,
            transform: Callable[[np.ndarray], np.ndarray] | None = None) -> Samples:
    """Level means plus a per-seed block shared across levels (paired seeds) plus noise."""
    rng = np.random.default_rng(seed)
    values = (np.asarray(means, dtype=float)[None, :] + block * rng.normal(0, 1, (n, 1))
              + noise * rng.normal(0, 1, (n, len(levels))))
    if transform is not None:
        values = transform(values)
    return table({level: values[:, j] for j, level in enumerate(levels)})


def assert_jsonable(v: Verdict) -> None:
    d = json.loads(json.dumps(v.to_dict(), allow_nan=False))
    assert d["verdict"] == v.verdict and d["kind"] == v.kind
    assert v.expectation in v.explain()


LEVELS = [1, 2, 3, 4, 5]
INVERTED_U = [0.0, 1.0, 2.0, 1.0, 0.0]
RISING = [0.0, 1.0, 2.0, 3.0, 4.0]


# --------------------------------------------------------------------------------------
# Peaks / Dips
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("of", ["median", "mean"])
def test_peaks_supported_on_an_inverted_u(of: str) -> None:
    s = profile(LEVELS, INVERTED_U)
    v = Peaks("m", along="x", of=of).evaluate(s)
    assert v.verdict == "supported" and v.kind == "optimum" and v.test == "interior_optimum"
    assert v.p_value < ALPHA and v.p_opposite == pytest.approx(1.0)
    m = s.matrix("m", [{"x": x} for x in LEVELS])
    advantage = m[:, 2] - np.maximum(m[:, 0], m[:, 4])  # level 3 over the better end
    assert v.effect == pytest.approx(advantage.mean())
    assert v.ci[0] < v.effect < v.ci[1] and v.n_seeds == N
    if of == "median":
        # Every seed puts every interior level above both ends: signed-rank p = 2**-8 for
        # each pair, times 3 interior levels (Bonferroni).
        assert v.p_value == pytest.approx(3 * 2.0**-N)
    assert [lv.config for lv in v.levels] == [{"x": x} for x in LEVELS]
    assert_jsonable(v)
    # The same table is a peak, so "it dips" is refuted: an end is below every interior level.
    w = Dips("m", along="x", of=of).evaluate(s)
    assert w.verdict == "refuted" and w.p_opposite < ALPHA


@pytest.mark.parametrize("of", ["median", "mean"])
def test_peaks_refuted_when_an_end_beats_every_interior_level(of: str) -> None:
    s = profile(LEVELS, RISING)
    v = Peaks("m", along="x", of=of).evaluate(s)
    assert v.verdict == "refuted"
    assert v.p_value == pytest.approx(1.0)
    if of == "median":
        # The last level beats each interior level on every seed (2**-8 each); Bonferroni
        # over the two ends.
        assert v.p_opposite == pytest.approx(2 * 2.0**-N)
    assert v.effect < 0  # the best interior level trails the better end
    # A rise with a small bump in the middle is still no interior optimum.
    bump = profile(LEVELS, [0.0, 1.0, 2.5, 2.0, 4.0])
    assert Peaks("m", along="x", of=of).evaluate(bump).verdict == "refuted"


def test_peak_next_to_an_end_is_found() -> None:
    # The optimum at the second level (of 5): Bonferroni over interior levels still finds it.
    s = profile(LEVELS, [0.0, 2.0, 1.5, 1.0, 0.5])
    v = Peaks("m", along="x").evaluate(s)
    assert v.verdict == "supported"
    assert v.members == [] and v.effect == pytest.approx(
        np.mean(s.matrix("m", [{"x": 2}])[:, 0]
                - np.maximum(s.matrix("m", [{"x": 1}])[:, 0], s.matrix("m", [{"x": 5}])[:, 0])))


def test_peaks_inconclusive_on_noise() -> None:
    s = profile([1, 2, 3, 4], [0.0, 0.0, 0.0, 0.0], noise=1.0, seed=3)
    for claim in (Peaks("m", along="x"), Dips("m", along="x"), Peaks("m", along="x", of="mean")):
        v = claim.evaluate(s)
        assert v.verdict == "inconclusive", (claim, v)
        assert v.p_value > ALPHA and v.p_opposite > ALPHA


@pytest.mark.parametrize("of", ["median", "mean"])
def test_dips_mirror_peaks(of: str) -> None:
    u = profile(LEVELS, [-x for x in INVERTED_U], seed=1)
    v = Dips("m", along="x", of=of).evaluate(u)
    assert v.verdict == "supported" and v.effect > 0
    assert "dips" in v.expectation
    assert Peaks("m", along="x", of=of).evaluate(u).verdict == "refuted"
    falling = profile(LEVELS, [-x for x in RISING], seed=1)
    assert Dips("m", along="x", of=of).evaluate(falling).verdict == "refuted"
    # Negating the table turns every Peaks p-value into the same Dips p-value.
    peak = profile(LEVELS, INVERTED_U, seed=1)
    neg = table({x: -peak.matrix("m", [{"x": x}])[:, 0] for x in LEVELS})
    a, b = Peaks("m", along="x", of=of).evaluate(peak), Dips("m", along="x", of=of).evaluate(neg)
    assert (a.verdict, a.p_value, a.p_opposite) == (b.verdict, b.p_value, b.p_opposite)
    assert a.effect == pytest.approx(b.effect)


def test_peaks_family_over_a_second_factor() -> None:
    rng = np.random.default_rng(5)
    shapes = {"on": INVERTED_U[:4], "off": RISING[:4]}
    configs = [{"wd": w, "x": x} for w in ("on", "off") for x in (1, 2, 3, 4)]
    block = rng.normal(0, 1, N)
    runs = [Run(c, s, {"m": shapes[c["wd"]][c["x"] - 1] + block[s] + 0.05 * rng.normal()}, 0.0)
            for c in configs for s in range(N)]
    samples = Samples(("wd", "x"), configs, list(range(N)), runs)
    v = Peaks("m", along="x").evaluate(samples)
    assert [m.label for m in v.members] == ["wd=on", "wd=off"]
    assert [m.verdict for m in v.members] == ["supported", "refuted"]
    assert v.verdict == "refuted"
    assert Peaks("m", along="x", where={"wd": "on"}).evaluate(samples).verdict == "supported"


# --------------------------------------------------------------------------------------
# Slope
# --------------------------------------------------------------------------------------

BATCH = [8, 16, 32, 64, 128]


def power_law(exponent: float, *, sigma: float = 0.1, seed: int = 0, c: float = 3.0,
              n: int = N) -> Samples:
    """y = c * x**exponent * lognormal noise, with a per-seed factor shared across levels."""
    rng = np.random.default_rng(seed)
    x = np.array(BATCH, dtype=float)
    y = c * x[None, :] ** exponent * np.exp(rng.normal(0, 0.5, (n, 1))
                                            + sigma * rng.normal(0, 1, (n, x.size)))
    return table({b: y[:, j] for j, b in enumerate(BATCH)})


def test_slope_log_log_about_minus_one() -> None:
    s = power_law(-1.0)
    v = Slope("m", along="x", about=-1.0, margin=0.25).evaluate(s)
    assert v.verdict == "supported" and v.kind == "slope" and v.test == "tost_1samp"
    y = np.log(s.matrix("m", [{"x": b} for b in BATCH]))
    lx = np.log(BATCH)
    per_seed = np.polyfit(lx, y.T, 1)[0]  # least-squares slope per seed
    assert v.effect == pytest.approx(per_seed.mean())
    assert v.effect_name == "mean log-log slope"
    assert v.ci[0] < v.effect < v.ci[1]
    assert_jsonable(v)
    # Too tight a margin for this noise: not shown equivalent.
    tight = Slope("m", along="x", about=-1.0, margin=0.005).evaluate(s)
    assert tight.verdict != "supported"
    # About -2 is far off: refuted.
    off = Slope("m", along="x", about=-2.0, margin=0.25).evaluate(s)
    assert off.verdict == "refuted" and off.p_opposite < ALPHA


def test_slope_above_and_below() -> None:
    s = power_law(-1.0, seed=1)
    above = Slope("m", along="x", above=-0.5).evaluate(s)
    assert above.verdict == "refuted" and above.test.startswith("ttest_1samp")
    assert above.p_value > 1 - ALPHA and above.p_opposite < ALPHA
    below = Slope("m", along="x", below=-0.5).evaluate(s)
    assert below.verdict == "supported"
    assert below.p_value == pytest.approx(above.p_opposite)
    assert "below -0.5" in below.expectation
    assert Slope("m", along="x", above=-1.5).evaluate(s).verdict == "supported"


def test_slope_with_a_margin_is_refuted_inside_it() -> None:
    # A slope of -0.5 exactly (tiny noise) is not "above -0.5 by a meaningful amount".
    s = power_law(-0.5, sigma=0.01, seed=2)
    plain = Slope("m", along="x", above=-0.5).evaluate(s)
    assert plain.verdict in ("inconclusive", "refuted") and plain.p_opposite > ALPHA
    with_margin = Slope("m", along="x", above=-0.5, margin=0.1).evaluate(s)
    assert with_margin.verdict == "refuted"
    assert with_margin.p_value == pytest.approx(plain.p_value)
    # A slope clearly past the margin stays supported.
    steep = power_law(0.0, sigma=0.01, seed=2)
    assert Slope("m", along="x", above=-0.5, margin=0.1).evaluate(steep).verdict == "supported"


@pytest.mark.parametrize(
    ("log_x", "log_y", "make", "true_slope", "axes"),
    [
        (True, False, lambda x: 2.0 + 0.7 * np.log(x), 0.7, "semi-log (log x)"),
        (False, True, lambda x: np.exp(0.03 * x), 0.03, "semi-log (log y)"),
        (False, False, lambda x: 5.0 - 0.02 * x, -0.02, "linear"),
    ],
    ids=["log-x", "log-y", "linear"],
)
def test_slope_other_axes(log_x: bool, log_y: bool, make: Callable[[np.ndarray], np.ndarray],
                          true_slope: float, axes: str) -> None:
    rng = np.random.default_rng(7)
    x = np.array(BATCH, dtype=float)
    y = make(x)[None, :] * np.exp(0.01 * rng.normal(0, 1, (N, x.size)))
    s = table({b: y[:, j] for j, b in enumerate(BATCH)})
    margin = abs(true_slope) * 0.2
    v = Slope("m", along="x", log_x=log_x, log_y=log_y, about=true_slope,
              margin=margin).evaluate(s)
    assert v.verdict == "supported", v.explain()
    assert v.effect == pytest.approx(true_slope, rel=0.05)
    assert v.effect_name == f"mean {axes} slope" and axes in v.expectation
    # The log-log slope of the same data is a different number: the axes matter.
    if (log_x, log_y) != (True, True):
        other = Slope("m", along="x", about=true_slope, margin=margin).evaluate(s)
        assert other.effect != pytest.approx(v.effect, rel=0.05)


def test_slope_linear_x_accepts_zero_and_negative_levels() -> None:
    x = [-2, 0, 2, 4]
    rng = np.random.default_rng(8)
    y = np.array(x, dtype=float)[None, :] * 0.5 + 1 + 0.01 * rng.normal(0, 1, (N, 4))
    s = table({lv: y[:, j] for j, lv in enumerate(x)})
    claim = Slope("m", along="x", log_x=False, log_y=False, above=0.4)
    claim.validate({"x": x}, claim_id="demo")
    assert claim.evaluate(s).verdict == "supported"


def test_slope_non_positive_value_on_a_log_axis_counts_against() -> None:
    s = power_law(-1.0, seed=3)
    v_ok = Slope("m", along="x", below=-0.5).evaluate(s)
    cols = {b: s.matrix("m", [{"x": b}])[:, 0].copy() for b in BATCH}
    cols[32][0] = 0.0  # log(0): that seed's slope is undefined, like a diverged run
    v = Slope("m", along="x", below=-0.5).evaluate(table(cols))
    assert v.p_value > v_ok.p_value
    omit = Slope("m", along="x", below=-0.5, diverged="omit").evaluate(table(cols))
    assert omit.omitted == 1 and omit.n_seeds == N - 1


def test_slope_of_median_uses_a_sign_test() -> None:
    s = power_law(-1.0, seed=4)
    v = Slope("m", along="x", below=-0.5, of="median").evaluate(s)
    assert v.verdict == "supported" and v.p_value == pytest.approx(2.0**-N)
    assert v.effect_name == "median log-log slope"
    assert Slope("m", along="x", above=-0.5, of="median").evaluate(s).verdict == "refuted"


# --------------------------------------------------------------------------------------
# Saturates
# --------------------------------------------------------------------------------------

SIZES = [1, 2, 3, 4]
CONCAVE = [0.0, 0.6, 0.85, 0.95]  # gains 0.6, 0.25, 0.1
CONVEX = [0.0, 0.1, 0.35, 0.95]  # gains 0.1, 0.25, 0.6
STRAIGHT = [0.0, 0.3, 0.6, 0.9]


@pytest.mark.parametrize("of", ["median", "mean"])
def test_saturates_supported_on_a_concave_rise(of: str) -> None:
    s = profile(SIZES, CONCAVE, noise=0.02)
    v = Saturates("m", along="x", of=of).evaluate(s)
    assert v.verdict == "supported" and v.kind == "saturation" and v.test == "saturation"
    m = s.matrix("m", [{"x": x} for x in SIZES])
    gains = (m[:, 1] - m[:, 0]) - (m[:, 3] - m[:, 2])
    assert v.effect == pytest.approx(gains.mean())
    assert v.effect == pytest.approx(0.5, abs=0.05)
    if of == "median":
        # Both parts hold on every seed: 2**-8 each; the intersection takes the larger.
        assert v.p_value == pytest.approx(2.0**-N)
    assert_jsonable(v)


@pytest.mark.parametrize("of", ["median", "mean"])
def test_saturates_refuted_on_an_accelerating_rise(of: str) -> None:
    v = Saturates("m", along="x", of=of).evaluate(profile(SIZES, CONVEX, noise=0.02))
    assert v.verdict == "refuted" and v.effect < 0
    if of == "median":
        # The slowdown is reversed on every seed (2**-8); Bonferroni over the two parts.
        assert v.p_opposite == pytest.approx(2 * 2.0**-N)


@pytest.mark.parametrize("of", ["median", "mean"])
def test_saturates_not_supported_on_a_straight_line(of: str) -> None:
    v = Saturates("m", along="x", of=of).evaluate(profile(SIZES, STRAIGHT, noise=0.05))
    assert v.verdict != "supported"
    assert v.p_value > ALPHA
    assert v.effect == pytest.approx(0.0, abs=0.1)


def test_saturates_refuted_when_it_falls_and_mirrored_for_falling_claims() -> None:
    falling = profile(SIZES, [-x for x in CONCAVE], noise=0.02, seed=2)
    assert Saturates("m", along="x").evaluate(falling).verdict == "refuted"
    down = Saturates("m", along="x", increasing=False).evaluate(falling)
    assert down.verdict == "supported" and "falls" in down.expectation
    accelerating_fall = profile(SIZES, [-x for x in CONVEX], noise=0.02, seed=2)
    assert Saturates("m", along="x", increasing=False).evaluate(
        accelerating_fall).verdict == "refuted"


# --------------------------------------------------------------------------------------
# strict trends (verdict.py)
# --------------------------------------------------------------------------------------

STEPS = [1, 2, 3, 4]


@pytest.mark.parametrize("of", ["median", "mean"])
def test_strict_rises_supported_when_every_step_rises(of: str) -> None:
    s = profile(STEPS, [0.0, 1.0, 2.0, 3.0], noise=0.1)
    v = Rises("m", along="x", strict=True, of=of).evaluate(s)
    assert v.verdict == "supported"
    assert [m.label for m in v.members] == ["x 1 → 2", "x 2 → 3", "x 3 → 4"]
    assert all(m.verdict == "supported" for m in v.members)
    assert v.p_value == max(m.p_value for m in v.members)  # intersection-union, no correction
    assert "strictly rises" in v.expectation
    down = Falls("m", along="x", strict=True, of=of).evaluate(s)
    assert down.verdict == "refuted"


@pytest.mark.parametrize("flat", [0, 1, 2])
def test_strict_not_supported_when_one_step_is_flat(flat: int) -> None:
    means = np.cumsum([0.0] + [0.0 if j == flat else 1.0 for j in range(3)])
    s = profile(STEPS, means, noise=0.1, seed=flat)
    # Page's L reads the overall lean and is supported anyway: this is the point of strict.
    page = Rises("m", along="x").evaluate(s)
    assert page.verdict == "supported"
    strict = Rises("m", along="x", strict=True, of="mean").evaluate(s)
    assert strict.verdict != "supported"
    verdicts = [m.verdict for m in strict.members]
    assert verdicts.count("supported") == 2 and verdicts[flat] != "supported"
    assert strict.p_value == strict.members[flat].p_value > ALPHA


def test_strict_refuted_when_one_step_goes_down() -> None:
    s = profile(STEPS, [0.0, 1.0, 0.5, 2.0], noise=0.05)
    assert Rises("m", along="x").evaluate(s).verdict == "supported"
    v = Rises("m", along="x", strict=True).evaluate(s)
    assert v.verdict == "refuted"
    assert [m.verdict for m in v.members] == ["supported", "refuted", "supported"]
    # Refutation is a union over steps: Holm across the three.
    assert v.p_opposite == pytest.approx(3 * 2.0**-N)


def test_strict_falls_mirrors_rises() -> None:
    s = profile(STEPS, [3.0, 2.0, 1.0, 0.0], noise=0.1, seed=4)
    assert Falls("m", along="x", strict=True).evaluate(s).verdict == "supported"
    flat = profile(STEPS, [3.0, 2.0, 2.0, 1.0], noise=0.1, seed=4)
    assert Falls("m", along="x").evaluate(flat).verdict == "supported"
    assert Falls("m", along="x", strict=True).evaluate(flat).verdict != "supported"


def test_strict_with_a_floor_on_each_step() -> None:
    s = profile(STEPS, [0.0, 1.0, 2.0, 2.3], noise=0.05)  # last step +0.3
    assert Rises("m", along="x", strict=True).evaluate(s).verdict == "supported"
    v = Rises("m", along="x", strict=True, min_effect=0.5).evaluate(s)
    assert v.verdict == "refuted"
    assert [m.verdict for m in v.members] == ["supported", "supported", "refuted"]
    assert v.members[2].result.effect == pytest.approx(0.3, abs=0.05)  # reported unshifted
    assert Rises("m", along="x", strict=True, min_effect=0.1).evaluate(s).verdict == "supported"


# --------------------------------------------------------------------------------------
# floors (min_effect)
# --------------------------------------------------------------------------------------

BASE = np.array([0.80, 0.82, 0.79, 0.85, 0.81, 0.78, 0.83, 0.80])
JITTER = np.array([0.3, -0.2, 0.1, -0.4, 0.25, -0.05, 0.15, -0.1])


def beats_table(diff: float, spread: float = 0.01) -> Samples:
    return table({"new": BASE + diff + spread * JITTER, "old": BASE})


@pytest.mark.parametrize("of", ["median", "mean"])
def test_beats_floor_supported_only_past_it(of: str) -> None:
    s = beats_table(0.05)
    plain = Beats("m", along="x", a="new", b="old", of=of).evaluate(s)
    assert plain.verdict == "supported"
    low = Beats("m", along="x", a="new", b="old", of=of, min_effect=0.02).evaluate(s)
    assert low.verdict == "supported"
    # The effect is still reported as new - old, not shifted by the floor.
    assert low.effect == pytest.approx(plain.effect)
    assert "by more than 0.02" in low.expectation
    # Exactly at the observed effect: neither past it nor short of it.
    at = Beats("m", along="x", a="new", b="old", of=of, min_effect=0.05).evaluate(s)
    assert at.verdict == "inconclusive"
    # Past the whole difference: shown short of the floor, so refuted even though the
    # difference is significantly positive.
    high = Beats("m", along="x", a="new", b="old", of=of, min_effect=0.08).evaluate(s)
    assert high.verdict == "refuted"
    assert high.p_opposite < ALPHA and high.p_value > 1 - ALPHA
    if of == "mean":
        ref = stats.paired_test(s.matrix("m", [{"x": "new"}])[:, 0] - 0.08,
                                s.matrix("m", [{"x": "old"}])[:, 0], test="t", ci=False)
        assert high.p_value == pytest.approx(ref.pvalue)


def test_beats_floor_lower_is_better() -> None:
    s = beats_table(-0.05)  # "new" has the lower loss
    v = Beats("m", along="x", a="new", b="old", greater=False, of="mean",
              min_effect=-0.02).evaluate(s)
    assert v.verdict == "supported" and v.effect == pytest.approx(-0.05, abs=0.01)
    w = Beats("m", along="x", a="new", b="old", greater=False, of="mean",
              min_effect=-0.08).evaluate(s)
    assert w.verdict == "refuted"


def _taus_table(taus: Sequence[float]) -> Samples:
    """3 levels, one row per seed with a chosen Kendall tau (1, 1/3, -1/3 or -1)."""
    pattern = {1.0: [0, 1, 2], 1 / 3: [0, 2, 1], -1 / 3: [1, 2, 0], -1.0: [2, 1, 0]}
    rows = []
    for s, tau in enumerate(taus):
        key = min(pattern, key=lambda t: abs(t - tau))
        rows.append(np.array(pattern[key], dtype=float) * (1 + 0.1 * s) + s)
    m = np.array(rows)
    return table({x: m[:, j] for j, x in enumerate([1, 2, 3])})


def test_trend_floor_is_on_the_median_kendall_tau() -> None:
    taus = [1.0, 1 / 3] * 5
    s = _taus_table(taus)
    v = Rises("m", along="x", min_effect=0.3).evaluate(s)
    assert v.verdict == "supported" and v.effect_name == "median Kendall tau"
    assert v.effect == pytest.approx(np.median(taus))
    ref = stats.one_sample_test(stats.kendall_tau_rows(s.matrix("m", [{"x": x} for x in
                                                                      (1, 2, 3)])),
                                0.3, greater=True, test="sign", ci=False)
    assert v.p_value == pytest.approx(ref.pvalue)
    assert "by more than 0.3" in v.expectation
    # A weak but consistent lean: Page's L supports it, a floor of 0.8 refutes it.
    weak = _taus_table([1 / 3] * 8 + [1.0, -1 / 3])
    assert Rises("m", along="x").evaluate(weak).verdict == "supported"
    floored = Rises("m", along="x", min_effect=0.8).evaluate(weak)
    assert floored.verdict == "refuted" and floored.p_opposite < ALPHA
    assert floored.p_value > 1 - ALPHA
    assert Rises("m", along="x", min_effect=0.1).evaluate(weak).verdict == "supported"


def test_falls_floor_is_negative() -> None:
    s = _taus_table([-1.0, -1 / 3] * 5)
    assert Falls("m", along="x").evaluate(s).verdict == "supported"
    assert Falls("m", along="x", min_effect=-0.3).evaluate(s).verdict == "supported"
    assert Rises("m", along="x", min_effect=0.3).evaluate(s).verdict == "refuted"
    mostly_weak = _taus_table([-1 / 3] * 9 + [-1.0])
    assert Falls("m", along="x", min_effect=-0.95).evaluate(mostly_weak).verdict == "refuted"
    assert "falls along x, by more than 0.3" in Falls("m", along="x", min_effect=-0.3).describe()


def test_trend_floor_refuses_a_mean_test() -> None:
    # Tau is bounded by 1: ten perfectly rising seeds have probability 0.8**10 = 0.107 under
    # "tau is 1 w.p. 0.8, else -1" (mean 0.6), yet a mean test's zero-variance rule gives
    # 0.5**10. The floor is tested on the median (sign test), where that table is as rare
    # as 0.5**10 under the null; of="mean" is refused before training.
    with pytest.raises(InvalidClaim, match=r"c: Rises\(min_effect=..., of='mean'\): a floor on "
                                           r"the per-seed Kendall tau is tested on its median"):
        Rises("m", along="x", min_effect=0.6, of="mean").validate({"x": [1, 2, 3]}, claim_id="c")
    v = Rises("m", along="x", min_effect=0.6).evaluate(_taus_table([1.0] * 10))
    assert v.verdict == "supported" and v.p_value == pytest.approx(0.5**10)


# --------------------------------------------------------------------------------------
# order= for levels that are not numbers
# --------------------------------------------------------------------------------------


def test_order_reorders_categorical_levels() -> None:
    rng = np.random.default_rng(9)
    block = rng.normal(0, 1, N)
    # Listed in the sweep as large, small, medium; the metric grows small -> large.
    truth = {"large": 2.0, "small": 0.0, "medium": 1.0}
    s = table({k: truth[k] + block + 0.05 * rng.normal(0, 1, N) for k in truth})
    order = ["small", "medium", "large"]
    v = Rises("m", along="x", order=order).evaluate(s)
    assert v.verdict == "supported" and v.p_value == pytest.approx(6.0**-N)
    assert [lv.config["x"] for lv in v.levels] == order
    assert Rises("m", along="x", order=order[::-1]).evaluate(s).verdict == "refuted"
    strict = Rises("m", along="x", order=order, strict=True).evaluate(s)
    assert strict.verdict == "supported"
    assert [m.label for m in strict.members] == ["x small → medium", "x medium → large"]
    # The shapes read the same order: medium in the middle is no optimum...
    assert Peaks("m", along="x", order=order).evaluate(s).verdict == "refuted"
    # ...but put it at an end and "large" becomes an interior peak.
    assert Peaks("m", along="x", order=["small", "large", "medium"]).evaluate(
        s).verdict == "supported"
    sat = Saturates("m", along="x", order=order, of="mean").evaluate(s)
    assert sat.p_value > ALPHA  # two equal steps: no slowdown


def test_order_overrides_numeric_levels() -> None:
    s = profile([1, 2, 3], [2.0, 1.0, 0.0])
    assert Rises("m", along="x").evaluate(s).verdict == "refuted"
    assert Rises("m", along="x", order=[3, 2, 1]).evaluate(s).verdict == "supported"


def test_order_matches_levels_by_value_not_by_repr() -> None:
    levels = list(np.array(["large", "small", "medium"]))  # np.str_, e.g. from a DataFrame
    order = ["small", "medium", "large"]
    Rises("m", along="x", order=order).validate({"x": levels}, claim_id="demo.claim")
    rng = np.random.default_rng(9)
    truth = {"large": 2.0, "small": 0.0, "medium": 1.0}
    s = table({lv: truth[str(lv)] + 0.05 * rng.normal(0, 1, N) for lv in levels})
    assert Rises("m", along="x", order=order).evaluate(s).verdict == "supported"


def test_falls_floor_is_described_as_a_size() -> None:
    text = Falls("m", along="x", min_effect=-0.2).describe()
    assert "by more than 0.2" in text and "-0.2" not in text


# --------------------------------------------------------------------------------------
# diverged runs
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "means"),
    [
        (Peaks("m", along="x"), INVERTED_U),
        (Dips("m", along="x"), [-x for x in INVERTED_U]),
        (Saturates("m", along="x"), [0.0, 0.6, 0.85, 0.95, 1.0]),
        (Saturates("m", along="x", increasing=False), [0.0, -0.6, -0.85, -0.95, -1.0]),
        (Slope("m", along="x", log_y=False, above=0.5), RISING),
    ],
    ids=["peaks", "dips", "saturates", "saturates-falling", "slope"],
)
def test_a_diverged_seed_counts_against_and_omit_drops_it(claim: Expectation,
                                                          means: list[float]) -> None:
    s = profile(LEVELS, means, noise=0.02)
    clean = claim.evaluate(s)
    assert clean.verdict == "supported"
    cols = {x: s.matrix("m", [{"x": x}])[:, 0].copy() for x in LEVELS}
    cols[3][2] = math.nan
    v = claim.evaluate(table(cols))
    assert v.diverged == 1 and v.total_runs == N * len(LEVELS)
    assert v.p_value > clean.p_value
    assert "1/40 runs diverged" in v.explain()
    omit = dataclasses.replace(claim, diverged="omit").evaluate(table(cols))
    assert omit.omitted == 1 and omit.n_seeds == N - 1


# --------------------------------------------------------------------------------------
# validation before training: each error names the claim, the argument and the fix
# --------------------------------------------------------------------------------------

ORDERED_KINDS: list[Callable[..., Expectation]] = [
    lambda **kw: Rises("m", along="x", **kw),
    lambda **kw: Falls("m", along="x", **kw),
    lambda **kw: Rises("m", along="x", strict=True, **kw),
    lambda **kw: Peaks("m", along="x", **kw),
    lambda **kw: Dips("m", along="x", **kw),
    lambda **kw: Saturates("m", along="x", **kw),
    lambda **kw: Slope("m", along="x", about=-1.0, margin=0.25, **kw),
]
KIND_IDS = ["rises", "falls", "strict", "peaks", "dips", "saturates", "slope"]


def invalid(expectation: Expectation, levels: Mapping[str, Sequence[Any]],
            *fragments: str) -> str:
    with pytest.raises(InvalidClaim) as info:
        expectation.validate(levels, claim_id="demo.claim")
    message = str(info.value)
    assert message.startswith("demo.claim: "), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


@pytest.mark.parametrize("make", ORDERED_KINDS, ids=KIND_IDS)
def test_unsorted_numeric_levels_are_refused(make: Callable[..., Expectation]) -> None:
    invalid(make(), {"x": [4, 1, 16]}, "[4, 1, 16]", "ascending", "sorted", "[1, 4, 16]")
    # Stating the order explicitly is allowed.
    make(order=[1, 4, 16]).validate({"x": [4, 1, 16]}, claim_id="demo.claim")
    make().validate({"x": [1, 4, 16]}, claim_id="demo.claim")


@pytest.mark.parametrize("make", ORDERED_KINDS[:6], ids=KIND_IDS[:6])
def test_categorical_levels_need_order(make: Callable[..., Expectation]) -> None:
    e = make()
    invalid(e, {"x": ["relu", "tanh", "gelu"]}, type(e).__name__, "along='x'", "order=[...]",
            "not numbers")
    make(order=["tanh", "relu", "gelu"]).validate({"x": ["relu", "tanh", "gelu"]},
                                                  claim_id="demo.claim")


@pytest.mark.parametrize("make", ORDERED_KINDS[:6], ids=KIND_IDS[:6])
def test_order_must_list_exactly_the_levels(make: Callable[..., Expectation]) -> None:
    levels = {"x": ["relu", "tanh", "gelu"]}
    invalid(make(order=["relu", "tanh"]), levels, "order=['relu', 'tanh']", "exactly",
            "['relu', 'tanh', 'gelu']")
    invalid(make(order=["relu", "tanh", "gelu", "silu"]), levels, "order=", "exactly")
    invalid(make(order=["relu", "tanh", "elu"]), levels, "order=", "exactly")


@pytest.mark.parametrize("make", ORDERED_KINDS[3:], ids=KIND_IDS[3:])
def test_shapes_need_three_levels(make: Callable[..., Expectation]) -> None:
    e = make()
    invalid(e, {"x": [1, 2]}, type(e).__name__, ">= 3 levels", "[1, 2]", "Beats")
    invalid(e, {"y": [1, 2, 3]}, "along", "'x'", "swept factors")


@pytest.mark.parametrize(
    ("expectation", "fragments"),
    [
        (Beats("m", along="x", a=1, b=2, min_effect=-0.1),
         ["Beats(min_effect=-0.1)", "> 0", "min_effect=0.01"]),
        (Beats("m", along="x", a=1, b=2, greater=False, min_effect=0.1),
         ["Beats(min_effect=0.1)", "< 0", "min_effect=-0.01"]),
        (Falls("m", along="x", min_effect=0.2), ["Falls(min_effect=0.2)", "< 0"]),
        (Rises("m", along="x", min_effect=-0.2), ["Rises(min_effect=-0.2)", "> 0"]),
        (Falls("m", along="x", strict=True, min_effect=0.2), ["Falls(min_effect=0.2)", "< 0"]),
        (Rises("m", along="x", min_effect=1.5), ["min_effect=1.5", "Kendall tau"]),
        (Beats("m", along="x", a=1, b=2, min_effect=math.nan), ["min_effect=nan"]),
    ],
    ids=["beats-greater", "beats-lower", "falls", "rises", "falls-strict", "tau-above-1",
         "nan"],
)
def test_floor_of_the_wrong_sign_is_refused(expectation: Expectation,
                                            fragments: list[str]) -> None:
    invalid(expectation, {"x": [1, 2, 3]}, *fragments)


@pytest.mark.parametrize(
    ("kwargs", "levels", "fragments"),
    [
        ({"about": -1.0, "margin": 0.25}, [0, 8, 16], ["log_x=True", "> 0", "[0, 8, 16]",
                                                         "log_x=False"]),
        ({"about": -1.0, "margin": 0.25}, [-4, 8, 16], ["log_x=False"]),
        ({}, [8, 16, 32], ["exactly one", "above=", "below=", "about=", "none of them"]),
        ({"above": 0.0, "below": 1.0}, [8, 16, 32], ["exactly one", "above=0.0, below=1.0"]),
        ({"about": -1.0, "above": 0.0, "margin": 0.2}, [8, 16, 32], ["exactly one"]),
        ({"about": -1.0}, [8, 16, 32], ["about=-1.0", "margin", "margin=None",
                                        "margin=0.25"]),
        ({"about": -1.0, "margin": 0.0}, [8, 16, 32], ["margin=0.0", "> 0"]),
        ({"above": -1.0, "margin": -0.1}, [8, 16, 32], ["margin=-0.1", "> 0"]),
        ({"about": -1.0, "margin": 0.2, "of": "median"}, [8, 16, 32],
         ["of='median'", "TOST", "above=/below="]),
        ({"above": "-1"}, [8, 16, 32], ["exactly one number", "above='-1'"]),
        ({"above": -1.0, "of": "mode"}, [8, 16, 32], ["of='mode'", "of='median'", "of='mean'"]),
    ],
    ids=["zero-level", "negative-level", "none", "two", "three", "about-no-margin",
         "zero-margin", "negative-margin", "about-median", "string", "bad-of"],
)
def test_slope_arguments_are_checked(kwargs: dict[str, Any], levels: list[Any],
                                     fragments: list[str]) -> None:
    invalid(Slope("m", along="x", **kwargs), {"x": levels}, "Slope", *fragments)


def test_slope_needs_numeric_levels_even_with_an_order() -> None:
    invalid(Slope("m", along="x", about=-1.0, margin=0.2, order=["a", "b", "c"]),
            {"x": ["a", "b", "c"]}, "numeric levels", "['a', 'b', 'c']")


def test_shape_location_is_checked() -> None:
    invalid(Peaks("m", along="x", of="average"), {"x": [1, 2, 3]}, "Peaks(of='average')",
            "of='mean'")


@pytest.mark.parametrize(
    ("claim", "n_seeds", "levels", "need"),
    [
        (Peaks("m", along="x"), 4, {"x": [1, 2, 3]}, 6),  # 2 ends * 0.5**4 >= 0.05
        (Peaks("m", along="x"), 6, {"x": [1, 2, 3, 4, 5, 6, 7]}, 7),  # 5 interior levels
        (Dips("m", along="x"), 5, {"x": [1, 2, 3], "wd": [0, 1]}, 7),  # 2 ends x 2 groups
        (Saturates("m", along="x"), 5, {"x": [1, 2, 3]}, 6),
    ],
    ids=["peaks", "peaks-wide", "dips-family", "saturates"],
)
def test_hopeless_seed_counts_are_refused(claim: Expectation, n_seeds: int,
                                          levels: dict[str, list[Any]], need: int) -> None:
    with pytest.raises(InvalidClaim, match=rf"seeds={n_seeds} can never reach alpha=0.05.*"
                                           rf"seeds>={need}, or of='mean'"):
        claim.check_seeds(n_seeds, ALPHA, claim_id="demo.claim", levels=levels)
    claim.check_seeds(need, ALPHA, claim_id="demo.claim", levels=levels)
    mean = dataclasses.replace(claim, of="mean")
    mean.check_seeds(n_seeds, ALPHA, claim_id="demo.claim", levels=levels)


@pytest.mark.parametrize(
    ("expectation", "levels", "fragment"),
    [
        (Peaks("m", along="x"), [4, 1, 16], "[1, 4, 16]"),
        (Saturates("m", along="x"), ["a", "b", "c"], "order=[...]"),
        (Slope("m", along="x", about=-1.0), [1, 2, 4], "margin"),
        (Falls("m", along="x", min_effect=0.2), [1, 2, 3], "min_effect"),
        (Rises("m", along="x", order=["a", "b"]), ["a", "b", "c"], "order="),
    ],
    ids=["unsorted", "no-order", "slope-margin", "floor-sign", "order-mismatch"],
)
def test_a_wrong_claim_fails_before_any_training(expectation: Expectation,
                                                 levels: list[Any], fragment: str) -> None:
    calls = []

    def fn(seed: int, x: Any) -> dict[str, float]:
        calls.append((seed, x))
        return {"m": 1.0}

    claim = Claim("demo.claim", "a claim", seeds=10).sweep(fn, x=levels)
    with pytest.raises(InvalidClaim, match="demo.claim") as info:
        claim.expect(expectation)
    assert fragment in str(info.value)
    assert calls == []


def test_shapes_run_end_to_end_through_a_claim() -> None:
    def fn(seed: int, lr: float) -> dict[str, float]:
        rng = np.random.default_rng(seed)
        return {"acc": 0.9 - (math.log10(lr) + 2) ** 2 * 0.05 + 0.002 * rng.normal(),
                "var": 4.0 / lr * math.exp(0.05 * rng.normal())}

    lrs = [0.0001, 0.001, 0.01, 0.1, 1.0]
    peak = Claim("demo.peak", seeds=8).sweep(fn, lr=lrs).expect(Peaks("acc", along="lr"))
    assert peak.verdict == "supported"
    slope = Claim("demo.slope", seeds=8).sweep(fn, lr=lrs).expect(
        Slope("var", along="lr", about=-1.0, margin=0.1))
    assert slope.verdict == "supported"
