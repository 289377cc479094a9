"""TrainResult.biases: recorded by both trainers, equal between them, and enough with the
weights to rebuild the trained net's outputs."""

from __future__ import annotations

import numpy as np
import pytest

from atomcheck.data import digits, function_samples
from atomcheck.engine import train_batched
from atomcheck.models import MLPSpec, train

SPECS = {
    "native": MLPSpec(widths=(8,), epochs=2, dtype="float64"),
    "torch": MLPSpec(widths=(8,), epochs=2, l2=1e-3, dtype="float64"),
    "autograd": MLPSpec(widths=(8,), epochs=2, norm="layer", dtype="float64"),
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_batched_biases_equal_the_per_seed_trainer(name: str) -> None:
    spec = SPECS[name]
    seeds = [0, 1, 2]
    data = [digits(seed=s, n_train=60) for s in seeds]
    batched = train_batched(spec, data, seeds)
    for s, ds, result in zip(seeds, data, batched):
        alone = train(spec, ds, seed=s)
        assert [b.shape for b in result.biases] == [(8,), (10,)]
        for b_batched, b_alone in zip(result.biases, alone.biases):
            np.testing.assert_allclose(b_batched, b_alone, rtol=0, atol=1e-9)
        assert any(np.abs(b).max() > 0 for b in result.biases)  # they trained away from 0


def test_weights_and_biases_rebuild_the_regression_outputs() -> None:
    spec = MLPSpec(widths=(16,), loss="mse", epochs=5, lr=0.05, dtype="float64")
    ds = function_samples("square", seed=0, n=40)
    (result,) = train_batched(spec, [ds], [0])
    (w1, w2), (b1, b2) = result.weights, result.biases
    out = np.maximum(ds.x_test @ w1 + b1, 0.0) @ w2 + b2
    mse = float(np.mean((out - ds.y_test) ** 2))
    assert mse == pytest.approx(result.metrics["test_mse"], rel=1e-6)
