"""A seed's numbers do not depend on what else is in its batch (the result cache relies on it).

For the MLP engine and the module path: seeds S trained in a batch of S, in a batch with
other seeds before and after them, with other configurations, and each alone give the same
metrics, weights and histories bit for bit (float32 included). Before atomcheck asked MKL
for its reproducible mode and padded tail-sensitive element-wise kernels, most of these
failed: ``atoms.depth`` changed 24 of 75 runs between seeds 0-4 and seeds 0-19.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from atomcheck import run_sweep  # noqa: E402
from atomcheck.data import alternating_line, digits, gaussian_mixture  # noqa: E402
from atomcheck.engine import train_batched_configs  # noqa: E402
from atomcheck.engine.modules import train_module_solo, train_modules_batched  # noqa: E402
from atomcheck.models import MLPSpec, Task, configure_torch, module_task  # noqa: E402

configure_torch(1)

SEEDS = [3, 4, 5]
BEFORE, AFTER = [0, 1, 2], [6, 7]  # companions placed before and after the seeds S


def _data(seed: int):
    return gaussian_mixture(seed=seed, dims=5, n_train=45, n_test=21)


def _fingerprint(result) -> tuple:
    """Everything a run returns, as exact bytes (NaN-safe)."""
    metrics = tuple(sorted((k, np.float64(v).tobytes()) for k, v in result.metrics.items()))
    arrays = tuple(np.asarray(a).tobytes() for a in [*result.weights, *result.biases])
    history = tuple(sorted((k, np.asarray(v, dtype=np.float64).tobytes())
                           for k, v in result.history.items()))
    return metrics, arrays, history, result.diverged


B = dict(widths=(11, 7), epochs=5, batch_size=15)
#: Batches the engine trains as one: rows that differ in optimiser, learning rate, loss,
#: activation or records share a batch (each list is one sweep's configurations).
MLP_CASES = {
    "adam, three learning rates (atoms.depth's settings)":
        [MLPSpec(**B, optimizer="adam", lr=lr) for lr in (0.01, 0.03, 0.003)],
    "weight-shared hidden layers, adam":
        [MLPSpec(widths=(10, 10, 10), shared_hidden=True, optimizer="adam", lr=lr, epochs=5,
                 batch_size=15) for lr in (0.01, 0.03)],
    "native kernel: sgd and momentum, relu and tanh":
        [MLPSpec(**B, optimizer=o, lr=0.05, activation=a) for o in ("sgd", "momentum")
         for a in ("relu", "tanh")],
    "torch-path sgd at two learning rates, with adam (dropout)":
        [MLPSpec(**B, dropout=0.2, optimizer=o, lr=lr)
         for o, lr in (("sgd", 0.1), ("adam", 0.01), ("sgd", 0.03))],
    "sgd with and without gradient-norm records (elu)":
        [MLPSpec(**B, activation="elu", lr=0.1, grad_norms=g, history=g) for g in (False, True)],
    "losses and activations mixed (sigmoid, elu, hinge, abs)":
        [MLPSpec(**B, optimizer="rmsprop", lr=0.003, loss=loss, activation=a)
         for loss in ("hinge", "abs", "cross_entropy") for a in ("elu", "sigmoid")],
    "sgd over three losses (sigmoid, dropout)":
        [MLPSpec(**B, activation="sigmoid", loss=loss, lr=0.1, dropout=0.1)
         for loss in ("hinge", "abs", "cross_entropy")],
    "penalties, clipping, schedule, records":
        [MLPSpec(**B, optimizer="momentum", lr=0.05, l1=1e-3, l2=1e-3, clip_norm=1.0,
                 weight_decay=0.01, grad_norms=True, history=True, lr_schedule="cosine")],
    "residual blocks with dropout":
        [MLPSpec(widths=(9, 9, 9), residual=True, dropout=0.3, optimizer="adagrad", lr=0.05,
                 epochs=5, batch_size=15)],
    "batch norm (autograd path)":
        [MLPSpec(**B, norm="batch", optimizer="adam", lr=0.01),
         MLPSpec(**B, norm="batch", optimizer="sgd", lr=0.1)],
    "layer norm in float64":
        [MLPSpec(**B, norm="layer", dtype="float64", optimizer="adam", lr=0.01)],
    "diverging rows (fourth-power loss)":
        [MLPSpec(**B, optimizer="sgd", lr=lr, init_scale=3.0, loss="fourth_power")
         for lr in (0.5, 5.0)],
    "batch size 1 (outer-product update)":
        [MLPSpec(widths=(5,), epochs=2, batch_size=1, activation="sin", optimizer=o, lr=0.05)
         for o in ("sgd", "rmsprop")],
}


def _train(specs: list[MLPSpec], seeds: list[int]) -> list[list]:
    return train_batched_configs(specs, [[_data(s) for s in seeds]] * len(specs), seeds)


@pytest.mark.parametrize("case", sorted(MLP_CASES))
def test_mlp_engine_seed_equals_itself_batched_with_others_and_alone(case: str) -> None:
    specs = MLP_CASES[case]
    alone_set = _train(specs, SEEDS)
    with_others = _train(specs, BEFORE + SEEDS + AFTER)
    reordered = _train(specs[::-1], SEEDS)[::-1]  # other configurations first
    offset = len(BEFORE)
    for c, spec in enumerate(specs):
        for i, seed in enumerate(SEEDS):
            want = _fingerprint(alone_set[c][i])
            assert _fingerprint(with_others[c][offset + i]) == want, (c, seed, "companions")
            assert _fingerprint(reordered[c][i]) == want, (c, seed, "configuration order")
            alone = _train([spec], [seed])[0][0]
            assert _fingerprint(alone) == want, (c, seed, "alone")
    if "diverging" in case:
        assert all(r.diverged for r in alone_set[1])  # the case really diverges


#: atoms.depth's sweep in miniature: depths x the claim's open learning rates, one factor.
DEPTH_TASK = Task(alternating_line,
                  MLPSpec(widths=(10, 10), shared_hidden=True, loss="cross_entropy",
                          optimizer="adam", lr=0.01, batch_size=16, epochs=60),
                  data_args={"n": 16})
DEPTH_LEVELS = {"hidden_layers": {k: {"widths": (10,) * k} for k in (2, 3, 5)},
                "setting": {"base": {}, "lr=0.03": {"lr": 0.03}, "lr=0.003": {"lr": 0.003}}}


def test_a_multi_config_sweep_gives_each_seed_the_same_numbers_at_any_seed_count() -> None:
    few = run_sweep(DEPTH_TASK, DEPTH_LEVELS, [0, 1, 2])
    many = run_sweep(DEPTH_TASK, DEPTH_LEVELS, list(range(9)))
    per_seed = run_sweep(DEPTH_TASK, DEPTH_LEVELS, [0, 1, 2], batched=False)
    assert (few.engine, per_seed.engine) == ("batched", "per-seed")
    n_few = len(few.seeds)
    for metric in ("train_accuracy", "train_loss", "test_loss"):
        np.testing.assert_array_equal(few.matrix(metric), many.matrix(metric)[:n_few])
        np.testing.assert_array_equal(few.matrix(metric), per_seed.matrix(metric))
    losses = few.matrix("train_loss")
    assert len(np.unique(losses)) == losses.size  # every (seed, config) really differs


def test_a_tasks_own_call_is_the_seed_of_a_batched_sweep() -> None:
    sweep = run_sweep(DEPTH_TASK, {"lr": [0.03]}, [0, 1, 2, 3, 4])
    for run in sweep.runs:
        assert run.metrics == DEPTH_TASK(run.seed, lr=0.03), run.seed
    # the per-seed reference trainer stays available, and agrees to rounding in float64
    spec64 = {"lr": 0.03, "dtype": "float64", "epochs": 5}
    ref = DEPTH_TASK.run(1, spec64, reference=True)
    got = DEPTH_TASK(1, **spec64)
    assert math.isclose(ref["train_loss"], got["train_loss"], rel_tol=1e-9)


# -- the module path ---------------------------------------------------------------------


def sigmoid_net(n_features: int, n_classes: int) -> nn.Module:
    """Nielsen's net in miniature: a plain Sequential (the packed path)."""
    return nn.Sequential(nn.Linear(n_features, 13), nn.Sigmoid(), nn.Linear(13, 7), nn.ELU(),
                         nn.Linear(7, n_classes))


class FunctionalNet(nn.Module):
    """A custom forward calling tail-sensitive functions directly (the vmap path)."""

    def __init__(self, n_features: int, n_classes: int) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(n_features, 11), nn.Linear(11, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.sigmoid(self.a(x))
        return self.b(nn.functional.silu(h) + nn.functional.softplus(h) ** 1.5)


def odd_cnn(n_features: int, n_classes: int) -> nn.Module:
    return nn.Sequential(nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 3, 3, padding=1), nn.GELU(),
                         nn.MaxPool2d(2), nn.Conv2d(3, 5, 3), nn.Mish(), nn.Flatten(),
                         nn.Linear(20, n_classes))


MODULES = {"packed sigmoid/elu MLP": sigmoid_net, "vmap functional calls": FunctionalNet,
           "packed CNN with GELU/Mish": odd_cnn}
TRAIN = {"batch_size": 10, "epochs": 2, "lr": 0.1}


@pytest.mark.parametrize("loss", ["cross_entropy", "fourth_power"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("model", sorted(MODULES))
def test_module_path_seed_equals_itself_batched_with_others_and_alone(model, optimizer,
                                                                      loss) -> None:
    factory, kw = MODULES[model], dict(TRAIN, optimizer=optimizer, loss=loss)
    seeds = BEFORE + SEEDS + AFTER
    data = {s: digits(seed=s, n_train=60) for s in seeds}
    few = train_modules_batched(factory, [data[s] for s in SEEDS], SEEDS, **kw)
    many = train_modules_batched(factory, [data[s] for s in seeds], seeds, **kw)
    for i, seed in enumerate(SEEDS):
        alone = train_module_solo(factory, data[seed], seed, **kw)
        assert many[len(BEFORE) + i] == few[i], (seed, "companions")
        assert alone == few[i], (seed, "alone")
    assert len({r["train_loss"] for r in few}) == len(SEEDS)


def test_a_module_task_sweep_gives_each_seed_the_same_numbers_at_any_seed_count() -> None:
    task = module_task(FunctionalNet, digits, data_args={"n_train": 60}, optimizer="adam",
                       batch_size=10, epochs=2)
    few = run_sweep(task, {"lr": [0.01, 0.03]}, [0, 1, 2])
    many = run_sweep(task, {"lr": [0.01, 0.03]}, list(range(7)))
    np.testing.assert_array_equal(few.matrix("train_loss"), many.matrix("train_loss")[:3])
    assert few.runs[4].metrics == task(1, lr=0.03)
