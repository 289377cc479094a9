"""The Claim object without pytest: validation, order of calls, report entry."""

from __future__ import annotations

import json

import pytest

from atomcheck import Beats, Claim, InvalidClaim, Rises, Settings
from atomcheck.claim import ClaimUsageError


def test_claim_runs_without_pytest() -> None:
    claim = Claim("demo.rise", "y rises with x", sources=["doc §1"], seeds=6)
    claim.sweep(lambda seed, x: {"y": x + 0.1 * seed}, x=[1, 2, 3])
    verdict = claim.expect(Rises("y", along="x"))
    assert verdict.verdict == "supported" and claim.passed
    entry = claim.to_dict(outcome="passed")
    json.dumps(entry, allow_nan=False)
    assert entry["id"] == "demo.rise" and entry["n_seeds"] == 6 and entry["seeds"] == list(range(6))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"claim_id": ""}, "claim_id='' must be a non-empty string"),
    ({"claim_id": "x", "expected": "maybe"}, "expected='maybe' must be one of"),
    ({"claim_id": "x", "expected": "refuted"}, "expected='refuted' needs reason="),
    ({"claim_id": "x", "alpha": 1.5}, r"x: alpha=1.5 must lie strictly between 0 and 1"),
    ({"claim_id": "x", "seeds": 0}, "seeds=0 must be a positive integer"),
])
def test_bad_claims(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidClaim, match=message):
        Claim(**kwargs)


def test_calls_in_order_and_once() -> None:
    claim = Claim("demo.order", seeds=5)
    with pytest.raises(ClaimUsageError, match="call sweep"):
        claim.expect(Rises("y", along="x"))
    claim.sweep(lambda seed, x: {"y": x}, x=[1, 2, 3])
    with pytest.raises(ClaimUsageError, match="sweep\\(\\) was already called"):
        claim.sweep(lambda seed, x: {"y": x}, x=[1, 2, 3])
    claim.expect(Rises("y", along="x"))
    with pytest.raises(ClaimUsageError, match="expect\\(\\) was already called"):
        claim.expect(Rises("y", along="x"))


def test_expect_needs_an_expectation() -> None:
    claim = Claim("demo.bad", seeds=5).sweep(lambda seed, x: {"y": x}, x=[1, 2])
    with pytest.raises(InvalidClaim, match="expect\\(\\) takes an expectation"):
        claim.expect("y rises")  # type: ignore[arg-type]


def test_per_claim_alpha_and_settings_seeds() -> None:
    claim = Claim("demo.alpha", seeds=10, alpha=0.01, settings=Settings(seeds=8))
    assert claim.alpha == 0.01 and claim.n_seeds == 8
    claim.sweep(lambda seed, m: {"y": {"a": 1.0, "b": 0.0}[m] + 0.01 * seed}, m=["a", "b"])
    assert claim.expect(Beats("y", along="m", a="a", b="b")).alpha == 0.01


def test_progress_is_reported_per_configuration() -> None:
    messages: list[str] = []
    claim = Claim("demo.progress", seeds=2, progress=messages.append)
    claim.sweep(lambda seed, x: {"y": x}, x=[1, 2, 3])
    claim.expect(Rises("y", along="x"))
    assert messages == [f"demo.progress: x={i} · seeds {2 * i}/6 ({i}/3 configs)"
                        for i in (1, 2, 3)]


def test_profile_scaling_is_floored_at_a_decidable_seed_count() -> None:
    from atomcheck import get_profile

    claim = Claim("demo.quick", seeds=10, settings=get_profile("quick"))
    assert claim.n_seeds == 5
    claim.sweep(lambda seed, m: {"y": {"a": 1.0, "b": 0.0, "c": 0.5}[m] + 0.01 * seed},
                m=["a", "b", "c"])
    verdict = claim.expect(Beats("y", along="m", a="a", b=["b", "c"]))
    # A Holm family of 2 one-sided Wilcoxon tests needs 6 seeds to reach 0.05.
    assert claim.n_seeds == 6 and verdict.n_seeds == 6 and verdict.verdict == "supported"
    assert "raised to 6, the fewest at which the test can reach alpha" in verdict.message


def test_explicit_seed_count_is_never_raised() -> None:
    claim = Claim("demo.explicit", seeds=10, settings=Settings(seeds=5))
    claim.sweep(lambda seed, m: {"y": float(m == "a")}, m=["a", "b", "c"])
    with pytest.raises(InvalidClaim, match="seeds=5 can never reach alpha=0.05"):
        claim.expect(Beats("y", along="m", a="a", b=["b", "c"]))
