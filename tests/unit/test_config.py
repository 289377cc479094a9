"""Settings and profiles."""

from __future__ import annotations

import pytest

from atomcheck import InvalidClaim, Settings, get_profile, register_profile


def test_profiles_scale_seed_counts() -> None:
    assert get_profile("default").seeds_for(10) == 10
    assert get_profile("quick").seeds_for(10) == 5
    assert get_profile("quick").seeds_for(4) == 4  # the floor never raises a count
    assert get_profile("thorough").seeds_for(10) == 30
    assert Settings(seeds=7).seeds_for(10) == 7


def test_register_and_get_profile() -> None:
    register_profile("tiny-test", Settings(seed_scale=0.2, min_seeds=2))
    assert get_profile("tiny-test").profile == "tiny-test"
    assert get_profile("tiny-test").seeds_for(20) == 4


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"alpha": 0.0}, r"alpha=0.0 must lie strictly between 0 and 1"),
    ({"alpha": 1.2}, r"alpha=1.2 must lie strictly between 0 and 1"),
    ({"seeds": 1}, r"seeds=1 must be an integer >= 2"),
    ({"inconclusive": "maybe"}, r"inconclusive='maybe' must be one of"),
    ({"device": "tpu"}, r"device='tpu' must be one of"),
    ({"seed_scale": 0}, r"seed_scale=0 must be > 0"),
])
def test_bad_settings(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidClaim, match=message):
        Settings(**kwargs)


def test_unknown_profile_lists_known_ones() -> None:
    with pytest.raises(InvalidClaim, match=r"profile='nope' is not registered; known profiles: "
                                           r"\[.*'default'.*\]"):
        get_profile("nope")
