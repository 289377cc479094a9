"""atomcheck.toolbox.search: grid, random and log-space points at a budget; run_search."""

from __future__ import annotations

import math

import numpy as np
import pytest

from atomcheck.errors import InvalidClaim
from atomcheck.toolbox.search import (Range, grid_points, grid_size, points_for, random_points,
                                      run_search, train_trials)

SPACE = {"lr": Range(1e-5, 1e-1, log=True), "wd": Range(0.0, 1.0)}


def test_grid_size_is_the_largest_full_grid_within_budget():
    assert [grid_size(1, b) for b in (1, 5, 9)] == [1, 5, 9]
    assert [grid_size(2, b) for b in (3, 4, 8, 9, 15, 16)] == [1, 2, 2, 3, 3, 4]
    assert [grid_size(3, b) for b in (7, 8, 26, 27)] == [1, 2, 2, 3]


def test_grid_of_nine_over_two_parameters_tries_three_values_of_each():
    pts = grid_points(SPACE, 9)
    assert len(pts) == 9
    assert sorted({p["lr"] for p in pts}) == pytest.approx([1e-5, 1e-3, 1e-1])
    assert sorted({p["wd"] for p in pts}) == [0.0, 0.5, 1.0]
    assert len(grid_points(SPACE, 11)) == 9  # the rest of the budget is unused


def test_random_points_try_a_new_value_of_every_parameter_each_trial():
    pts = random_points(SPACE, 9, np.random.default_rng(0))
    assert len(pts) == 9
    for name, r in SPACE.items():
        values = [p[name] for p in pts]
        assert len(set(values)) == 9
        assert all(r.low <= v <= r.high for v in values)


def test_log_range_spreads_draws_over_decades_and_linear_does_not():
    gen = np.random.default_rng(1)
    log = Range(1e-5, 1e-1, log=True).sample(gen, 20000)
    lin = Range(1e-5, 1e-1).sample(gen, 20000)
    # log-uniform over 4 decades: a quarter per decade; uniform: 90% in the top decade.
    assert np.mean(log < 1e-3) == pytest.approx(0.5, abs=0.02)
    assert np.mean(lin < 1e-2) == pytest.approx(0.1, abs=0.01)
    assert np.mean(np.log10(log)) == pytest.approx(-3.0, abs=0.03)


def test_same_generator_state_maps_the_same_uniforms_on_either_scale():
    a = Range(1e-5, 1e-1, log=True).sample(np.random.default_rng(5), 4)
    b = Range(1e-5, 1e-1).sample(np.random.default_rng(5), 4)
    u = np.random.default_rng(5).uniform(0, 1, 4)
    assert np.allclose(np.log10(a), -5 + 4 * u)
    assert np.allclose(b, 1e-5 + (1e-1 - 1e-5) * u)


def test_range_grid_known_values():
    assert Range(1e-4, 1e-1, log=True).grid(4) == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1])
    assert Range(2.0, 4.0).grid(1).tolist() == [3.0]
    assert Range(1.0, 100.0, log=True).grid(1) == pytest.approx([10.0])


def test_random_search_beats_a_grid_when_one_parameter_matters():
    # Score depends on x only, peaked at 0.37: the 3x3 grid tries x in {0, 0.5, 1} (best
    # distance 0.13); 9 random draws land within 0.13 with probability 1 - 0.74**9 = 0.93.
    space = {"x": Range(0.0, 1.0), "y": Range(0.0, 1.0)}

    def score(pts):
        return [-abs(p["x"] - 0.37) for p in pts]

    grid_best = run_search(grid_points(space, 9), score).best_score
    gen = np.random.default_rng(2)
    wins = np.mean([run_search(random_points(space, 9, gen), score).best_score > grid_best
                    for _ in range(400)])
    assert grid_best == pytest.approx(-0.13)
    assert wins == pytest.approx(1 - 0.74 ** 9, abs=0.04)


def test_run_search_picks_the_first_best_and_never_a_nan():
    pts = [{"a": i} for i in range(4)]
    r = run_search(pts, lambda ps: [0.5, math.nan, 0.9, 0.9])
    assert (r.best_index, r.best_point, r.best_score) == (2, {"a": 2}, 0.9)
    low = run_search(pts, lambda ps: [3.0, 1.0, math.nan, 1.0], greater=False)
    assert low.best_index == 1


@pytest.mark.parametrize("call, match", [
    (lambda: Range(1.0, 1.0), "low < high"), (lambda: Range(0.0, 1.0, log=True), "low > 0"),
    (lambda: grid_points({}, 4), "Range"), (lambda: grid_points(SPACE, 0), "budget=0"),
    (lambda: points_for("bayes", SPACE, 4), "bayes"), (lambda: points_for("random", SPACE, 4),
                                                       "gen="),
    (lambda: run_search([{"a": 1}], lambda ps: [1.0, 2.0]), "2 scores for 1"),
])
def test_bad_arguments_are_refused(call, match):
    with pytest.raises(InvalidClaim, match=match):
        call()


def test_train_trials_equals_each_trial_trained_alone():
    from atomcheck.data import gaussian_mixture
    from atomcheck.models import MLPSpec, train

    base = MLPSpec(widths=(8,), epochs=3, batch_size=16, dtype="float64")
    trials = [(base.replace(lr=lr), gaussian_mixture(seed=s, n_train=60, n_test=30), s)
              for s, lr in ((0, 0.01), (1, 0.1), (2, 0.05))]
    trials.append((base.replace(widths=(4,)), trials[0][1], 0))  # another shape: own group
    batched = train_trials(trials)
    for (spec, data, seed), got in zip(trials, batched):
        alone = train(spec, data, seed=seed)
        for key, value in alone.metrics.items():
            assert got.metrics[key] == pytest.approx(value, abs=1e-9)
