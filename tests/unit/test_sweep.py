"""Sweeps with plain-Python training functions: pairing, table shape, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from atomcheck import ClaimError, InvalidClaim, run_sweep


def test_seeds_are_paired_and_table_is_tidy() -> None:
    seen: list[tuple[int, int]] = []

    def fn(seed: int, x: int) -> dict[str, float]:
        seen.append((x, seed))
        return {"y": 10 * x + seed}

    samples = run_sweep(fn, {"x": [1, 2, 3]}, [4, 5])
    assert sorted(seen) == [(x, s) for x in (1, 2, 3) for s in (4, 5)]
    assert samples.matrix("y").tolist() == [[14, 24, 34], [15, 25, 35]]
    records = samples.to_records()
    assert len(records) == 6
    assert set(records[0]) == {"x", "seed", "y", "wall_s", "diverged"}
    assert samples.engine == "per-seed"


def test_grid_is_the_cartesian_product() -> None:
    samples = run_sweep(lambda seed, a, b: {"y": a * b}, {"a": [1, 2], "b": [3, 4, 5]}, [0, 1])
    assert [tuple(c.values()) for c in samples.configs] == [
        (1, 3), (1, 4), (1, 5), (2, 3), (2, 4), (2, 5)]
    assert samples.matrix("y", [{"a": 2, "b": 5}]).ravel().tolist() == [10, 10]


def test_named_levels_expand_to_overrides() -> None:
    samples = run_sweep(lambda seed, l1=0.0, l2=0.0: {"y": l1 - l2},
                        {"penalty": {"l1": {"l1": 1.0}, "l2": {"l2": 1.0}, "none": {}}}, [0])
    assert [c["penalty"] for c in samples.configs] == ["l1", "l2", "none"]
    assert samples.matrix("y").tolist() == [[1.0, -1.0, 0.0]]


def test_non_finite_metric_is_diverged_not_a_crash() -> None:
    samples = run_sweep(lambda seed, x: {"y": math.inf if seed == 1 else x}, {"x": [1, 2]},
                        [0, 1, 2])
    assert samples.n_diverged == 2
    assert np.isnan(samples.matrix("y")[1]).all()


def test_crash_names_config_and_seed() -> None:
    def fn(seed: int, x: int) -> dict[str, float]:
        if seed == 2:
            raise ZeroDivisionError("bad")
        return {"y": x}

    with pytest.raises(ClaimError, match=r"training failed at config=\{'x': 1\}, seed=2: "
                                         r"ZeroDivisionError: bad"):
        run_sweep(fn, {"x": [1]}, [0, 1, 2], claim_id="demo")


@pytest.mark.parametrize(("levels", "message"), [
    ({"x": []}, r"factor x=\[\] has no level"),
    ({"x": 3}, "must be a list of levels"),
    ({"x": "abc"}, "must be a list of levels"),
    ({"z": [1]}, r"unknown factor 'z': the training function accepts \['x'\]"),
    ({"p": {"a": {"z": 1}}}, r"unknown factor 'z'"),
    ({"p": {"a": 1}}, r"named level p\['a'\] must be a dict"),
])
def test_bad_designs_are_refused(levels: dict, message: str) -> None:
    with pytest.raises(InvalidClaim, match=message):
        run_sweep(lambda seed, x=1: {"y": x}, levels, [0, 1], claim_id="demo")


def test_metrics_must_be_a_dict_of_numbers() -> None:
    with pytest.raises(InvalidClaim, match="returned float, not a dict of metrics"):
        run_sweep(lambda seed, x: 1.0, {"x": [1]}, [0])
    with pytest.raises(InvalidClaim, match="metric 'y'='high' is not a number"):
        run_sweep(lambda seed, x: {"y": "high"}, {"x": [1]}, [0])


def test_metric_check_stops_after_one_run() -> None:
    calls = []

    def check(metrics: dict) -> None:
        raise InvalidClaim("missing")

    with pytest.raises(InvalidClaim, match="missing"):
        run_sweep(lambda seed, x: calls.append(seed) or {"y": 1}, {"x": [1, 2]}, [0, 1, 2],
                  check_metrics=check)
    assert calls == [0]


def test_by_level_dispatches_and_keeps_seeds_paired() -> None:
    from atomcheck import ByLevel

    calls: list[tuple[str, int, int]] = []

    def double(seed: int, x: int) -> dict[str, float]:
        calls.append(("double", seed, x))
        return {"y": 2 * x + seed}

    def square(seed: int, x: int) -> dict[str, float]:
        calls.append(("square", seed, x))
        return {"y": x * x + seed}

    fn = ByLevel("model", {"double": double, "square": square})
    samples = run_sweep(fn, {"x": [2, 3], "model": ["square", "double"]}, [0, 1])
    assert samples.configs == [{"x": 2, "model": "square"}, {"x": 2, "model": "double"},
                               {"x": 3, "model": "square"}, {"x": 3, "model": "double"}]
    assert samples.matrix("y").tolist() == [[4, 4, 9, 6], [5, 5, 10, 7]]
    assert sorted(calls) == sorted((m, s, x) for m in ("double", "square") for s in (0, 1)
                                   for x in (2, 3))
    assert samples.engine == "per-seed"


@pytest.mark.parametrize(("levels", "message"), [
    ({"x": [1]}, r"ByLevel dispatches on 'model', which the sweep does not vary"),
    ({"model": ["a", "c"]}, r"level model='c' has no training function"),
    ({"model": ["a", "b"], "z": [1]}, r"unknown factor 'z'.*\(the function for model='a'\)"),
])
def test_by_level_bad_designs(levels: dict, message: str) -> None:
    from atomcheck import ByLevel

    fn = ByLevel("model", {"a": lambda seed, x=1: {"y": x}, "b": lambda seed, **kw: {"y": 0}})
    with pytest.raises(InvalidClaim, match=message):
        run_sweep(fn, levels, [0, 1], claim_id="demo")


def test_by_level_needs_functions() -> None:
    from atomcheck import ByLevel

    with pytest.raises(InvalidClaim, match="functions must map each level"):
        ByLevel("model", {"a": 3})  # type: ignore[dict-item]


def test_a_sweep_without_factors_is_one_configuration() -> None:
    samples = run_sweep(lambda seed: {"y": float(seed)}, {}, [0, 1, 2])
    assert samples.configs == [{}] and samples.matrix("y").ravel().tolist() == [0, 1, 2]
