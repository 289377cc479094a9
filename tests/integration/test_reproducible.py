"""atomcheck.reproducible: MKL's strict reproducible mode, asked for on import and checked."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from atomcheck.reproducible import (  # noqa: E402
    MKL_CBWR_MODE,
    check_reproducible_blas,
    matmul_is_row_independent,
)


def _run(code: str, env: dict[str, str] | None = None) -> list[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "MKL_CBWR"} | (env or {})
    out = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True,
                         text=True, check=True, env=full_env)
    return out.stdout.split() + (["warned"] if "RuntimeWarning" in out.stderr else [])


def test_this_process_multiplies_each_row_as_alone() -> None:
    # pytest imported atomcheck (the plugin) before any matrix product ran
    assert os.environ["MKL_CBWR"] == MKL_CBWR_MODE
    assert matmul_is_row_independent()
    assert check_reproducible_blas()


PROBE = ("from atomcheck.reproducible import check_reproducible_blas as c; import os; "
         "print(os.environ.get('MKL_CBWR'), c())")


def test_importing_atomcheck_first_gives_reproducible_products() -> None:
    assert _run("import atomcheck, torch; " + PROBE) == [MKL_CBWR_MODE, "True"]


def test_a_matrix_product_before_atomcheck_is_detected_and_warned() -> None:
    # MKL reads its mode at its first call: afterwards the request comes too late. This is
    # also the known answer for the probe: without the mode, rows depend on their position.
    code = "import torch; torch.mm(torch.ones(40, 40), torch.ones(40, 40)); import atomcheck; "
    assert _run(code + PROBE) == [MKL_CBWR_MODE, "False", "warned"]


def test_a_users_own_mkl_setting_is_kept() -> None:
    assert _run("import atomcheck, torch; " + PROBE, {"MKL_CBWR": "COMPATIBLE"}) == [
        "COMPATIBLE", "True"]


def test_the_cache_stores_nothing_when_products_depend_on_the_batch(tmp_path, monkeypatch):
    import atomcheck.reproducible as reproducible
    from atomcheck import run_sweep
    from atomcheck.cache import ResultCache

    def fn(seed: int, x: float) -> dict[str, float]:
        return {"y": seed * x}

    cache = ResultCache(tmp_path)
    run_sweep(fn, {"x": [1.0, 2.0]}, [0, 1], cache=cache)
    assert cache.stats.writes == 4 and not cache.stats.uncacheable
    monkeypatch.setattr(reproducible, "_checked", False)  # as if the probe had failed
    other = ResultCache(tmp_path / "other")
    run_sweep(fn, {"x": [1.0, 2.0]}, [0, 1], cache=other)
    assert other.stats.writes == 0
    assert "reproducible mode" in other.stats.uncacheable[0]
