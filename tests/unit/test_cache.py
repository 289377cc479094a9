"""The result cache: atomic JSON entries, corruption detected, keys that cover the inputs."""

from __future__ import annotations

import json
import math
import os
import stat

import pytest

from atomcheck.cache import ResultCache, check_cache_dir
from atomcheck.errors import InvalidClaim
from atomcheck.sweep import run_sweep


def test_round_trip_and_nan(tmp_path):
    cache = ResultCache(tmp_path)
    key = cache.key("f", "c", seed=1, device="cpu")
    cache.put(key, {"metrics": {"a": float("nan"), "b": 1.5}})
    got = cache.get(key)
    assert math.isnan(got["metrics"]["a"]) and got["metrics"]["b"] == 1.5
    assert cache.stats.hits == 1 and cache.stats.writes == 1
    assert not list(tmp_path.rglob("*.tmp")), "no temporary file is left behind"


def test_key_covers_function_config_seed_device(tmp_path):
    cache = ResultCache(tmp_path)
    base = cache.key("f", "c", seed=1, device="cpu")
    assert len({base, cache.key("g", "c", seed=1, device="cpu"),
                cache.key("f", "d", seed=1, device="cpu"),
                cache.key("f", "c", seed=2, device="cpu"),
                cache.key("f", "c", seed=1, device="cuda")}) == 5


@pytest.mark.parametrize("damage", [
    lambda text: text[: len(text) // 2],                       # truncated write
    lambda text: text.replace("1.5", "2.5"),                   # payload changed: checksum
    lambda text: "not json at all",
    lambda text: json.dumps({"format": 1}),                    # no payload
])
def test_a_corrupt_entry_is_reported_removed_and_missed(tmp_path, damage, caplog):
    cache = ResultCache(tmp_path)
    key = cache.key("f", "c", seed=1, device="cpu")
    cache.put(key, {"metrics": {"b": 1.5}})
    path = cache.path(key)
    path.write_text(damage(path.read_text()))
    assert cache.get(key) is None
    assert cache.stats.corrupt == [str(path)] and not path.exists()
    assert "corrupt" in caplog.text


def test_an_entry_under_another_key_is_not_served(tmp_path):
    cache = ResultCache(tmp_path)
    a, b = (cache.key("f", "c", seed=s, device="cpu") for s in (1, 2))
    cache.put(a, {"metrics": {"y": 1.0}})
    cache.path(b).parent.mkdir(parents=True, exist_ok=True)
    cache.path(b).write_text(cache.path(a).read_text())  # a copied file: key mismatch
    assert cache.get(b) is None and cache.stats.corrupt


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_directory_is_a_clear_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    with pytest.raises(InvalidClaim, match="--atomcheck-cache-dir.*not a writable"):
        check_cache_dir(locked / "cache")


def test_a_file_where_the_directory_should_be_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(InvalidClaim, match="--atomcheck-no-cache"):
        check_cache_dir(blocker)


CALLS: list[tuple[int, float]] = []


def counted(seed, lr):
    CALLS.append((seed, lr))
    return {"y": lr * 10 + seed}


def test_a_rerun_trains_nothing_and_added_seeds_train_only_themselves(tmp_path):
    cache = ResultCache(tmp_path)
    CALLS.clear()
    first = run_sweep(counted, {"lr": [0.1, 0.2]}, [0, 1, 2], cache=cache)
    assert len(CALLS) == 6
    CALLS.clear()
    again = run_sweep(counted, {"lr": [0.1, 0.2]}, [0, 1, 2], cache=cache)
    assert CALLS == [] and again.matrix("y").tolist() == first.matrix("y").tolist()
    more = run_sweep(counted, {"lr": [0.1, 0.2]}, [0, 1, 2, 3, 4], cache=cache)
    assert sorted(CALLS) == [(3, 0.1), (3, 0.2), (4, 0.1), (4, 0.2)]
    assert more.matrix("y")[:3].tolist() == first.matrix("y").tolist()


def test_a_changed_configuration_misses(tmp_path):
    cache = ResultCache(tmp_path)
    CALLS.clear()
    run_sweep(counted, {"lr": [0.1]}, [0, 1], cache=cache)
    run_sweep(counted, {"lr": [0.3]}, [0, 1], cache=cache)
    assert len(CALLS) == 4


def test_an_unfingerprintable_function_runs_uncached(tmp_path):
    class Opaque:
        __slots__ = ()

    box = Opaque()

    def train(seed, x):
        return {"y": float(x + seed + (box is not None))}

    cache = ResultCache(tmp_path)
    samples = run_sweep(train, {"x": [1, 2]}, [0, 1], cache=cache)
    assert samples.matrix("y").shape == (2, 2) and cache.stats.writes == 0
    (why,) = cache.stats.uncacheable
    assert why.startswith("results not cached:") and "reproducible" in why


def test_a_claim_says_why_its_results_were_not_cached(tmp_path):
    from atomcheck import Claim, Rises

    class Opaque:
        __slots__ = ()

    box = Opaque()

    def train(seed, x):
        return {"y": float(x + 0.01 * seed + (box is not None))}

    claim = Claim("demo.uncached", "y rises with x", seeds=6, cache=ResultCache(tmp_path))
    claim.sweep(train, x=[1, 2, 3])
    verdict = claim.expect(Rises("y", along="x"))
    assert "results not cached" in verdict.message
    assert (claim.cached_runs, claim.stored_runs) == (0, 0)
