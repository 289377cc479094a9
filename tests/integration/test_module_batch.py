"""Seed-batched training of nn.Module factories: seed k batched equals seed k alone."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from atomcheck import InvalidClaim  # noqa: E402
from atomcheck.engine.modules import (  # noqa: E402
    SeedDropout,
    train_module_solo,
    train_modules,
    train_modules_batched,
)
from atomcheck.data import digits  # noqa: E402
from atomcheck.models import configure_torch, module_task  # noqa: E402
from reference_modules import ResidualDropoutMLP, bn_mlp, reference_models  # noqa: E402

configure_torch(1)

SEEDS = [0, 1, 2]
N_TRAIN = 96
TRAIN = {"batch_size": 32, "epochs": 2, "lr": 0.05}


@pytest.fixture(scope="module")
def data() -> list:
    return [digits(seed=s, n_train=N_TRAIN) for s in SEEDS]


MODELS = reference_models()


def assert_same(a: list[dict], b: list[dict], atol: float = 0.0, rtol: float = 0.0) -> None:
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        assert ra.keys() == rb.keys()
        for k in ra:
            if math.isnan(ra[k]) or math.isnan(rb[k]):
                assert math.isnan(ra[k]) and math.isnan(rb[k]), k
            elif atol == rtol == 0.0:
                assert ra[k] == rb[k], (k, ra[k], rb[k])
            else:
                assert ra[k] == pytest.approx(rb[k], abs=atol, rel=rtol), k


@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_batched_seed_equals_seed_alone_bit_for_bit_in_float64(data, model, optimizer) -> None:
    run = train_modules(MODELS[model], data, SEEDS, optimizer=optimizer, dtype="float64",
                        **TRAIN)
    assert (run.path, run.reason) == ("batched", None)
    alone = [train_module_solo(MODELS[model], d, s, optimizer=optimizer, dtype="float64",
                               **TRAIN) for d, s in zip(data, SEEDS)]
    assert_same(run.metrics, alone)
    assert len({r["train_loss"] for r in run.metrics}) == len(SEEDS)  # seeds really differ


@pytest.mark.parametrize("optimizer", ["momentum", "nesterov", "rmsprop", "adagrad", "adamw"])
def test_every_elementwise_optimizer_keeps_seeds_apart(data, optimizer) -> None:
    batched = train_modules_batched(bn_mlp, data, SEEDS, optimizer=optimizer, dtype="float64",
                                    **TRAIN)
    alone = [train_module_solo(bn_mlp, d, s, optimizer=optimizer, dtype="float64", **TRAIN)
             for d, s in zip(data, SEEDS)]
    assert_same(batched, alone)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_bit_for_bit_at_a_dozen_seeds(model) -> None:
    seeds = list(range(12))
    sets = [digits(seed=s, n_train=64) for s in seeds]
    kw = dict(TRAIN, epochs=1, dtype="float64", optimizer="momentum")
    batched = train_modules_batched(MODELS[model], sets, seeds, **kw)
    for k in (0, 11):
        assert_same([batched[k]], [train_module_solo(MODELS[model], sets[k], k, **kw)])


def test_a_seed_does_not_depend_on_its_companions(data) -> None:
    three = train_modules_batched(ResidualDropoutMLP, data, SEEDS, dtype="float64", **TRAIN)
    two = train_modules_batched(ResidualDropoutMLP, [data[2], data[0]], [2, 0], dtype="float64",
                                **TRAIN)
    assert_same([three[2], three[0]], two)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_float32_batched_equals_alone_to_rounding(data, model) -> None:
    # Not Adam: a bias before BatchNorm has a true gradient of 0, and Adam turns its
    # float32 rounding noise into steps of +-lr, which amplifies rounding past any tolerance.
    batched = train_modules_batched(MODELS[model], data, SEEDS, optimizer="momentum", **TRAIN)
    alone = [train_module_solo(MODELS[model], d, s, optimizer="momentum", **TRAIN)
             for d, s in zip(data, SEEDS)]
    assert_same(batched, alone, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_batched_agrees_with_the_plain_per_seed_loop(data, model) -> None:
    # The plain loop calls the module directly (matmul, not batched matmul): rounding only.
    batched = train_modules_batched(MODELS[model], data, SEEDS, dtype="float64", **TRAIN)
    plain = [train_module_solo(MODELS[model], d, s, dtype="float64", reference=True, **TRAIN)
             for d, s in zip(data, SEEDS)]
    assert_same(batched, plain, atol=1e-12, rtol=1e-12)


def test_a_module_tasks_own_call_equals_that_seed_in_a_batched_run() -> None:
    # fn(seed) trains the seed alone on the module path (a seed axis of one): the same data
    # order and dropout masks as in a batched sweep, so the numbers are identical.
    from atomcheck.engine.modules import run_module_task

    def factory(n_features: int, n_classes: int) -> nn.Module:
        return ResidualDropoutMLP(n_features, n_classes).double()

    fn = module_task(factory, digits, data_args={"n_train": N_TRAIN}, optimizer="adam", **TRAIN)
    batched = run_module_task(fn, SEEDS, {"lr": 0.02})
    assert batched.path == "batched"
    assert_same(batched.metrics, [fn(s, lr=0.02) for s in SEEDS])
    # ... and the plain per-seed loop (the module called directly) agrees to rounding.
    plain = [train_module_solo(factory, digits(seed=s, n_train=N_TRAIN), s, optimizer="adam",
                               reference=True, **dict(TRAIN, lr=0.02)) for s in SEEDS]
    assert_same(batched.metrics, plain, atol=1e-12, rtol=1e-12)


def test_a_module_tasks_own_call_falls_back_like_the_batched_run(data) -> None:
    fn = module_task(ItemInForward, digits, data_args={"n_train": N_TRAIN}, **TRAIN)
    mine = fn(1)
    plain = train_module_solo(ItemInForward, data[1], 1, reference=True, **TRAIN)
    assert_same([mine], [plain])


def test_dropout_masks_come_from_each_seeds_stream(data) -> None:
    # Same init and data for every seed index would give equal rows but for dropout.
    def factory(n_features: int, n_classes: int) -> nn.Module:
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(n_features, 32), nn.ReLU(), nn.Dropout(0.5),
                             nn.Linear(32, n_classes))

    same = [data[0]] * 3
    run = train_modules(factory, same, SEEDS, dtype="float64", **TRAIN)
    assert run.path == "batched"
    losses = [r["train_loss"] for r in run.metrics]
    assert len(set(losses)) == 3
    alone = [train_module_solo(factory, data[0], s, dtype="float64", **TRAIN) for s in SEEDS]
    assert_same(run.metrics, alone)


def test_seed_dropout_is_identity_in_eval_and_scales_in_training() -> None:
    from atomcheck.engine.modules import _attach_source, _MaskSource, _mask_generator

    layer = SeedDropout(0.25)
    _attach_source(layer, _MaskSource([_mask_generator(0)]))
    x = torch.ones(2000, dtype=torch.float64)
    assert torch.equal(layer.eval()(x), x)
    y = layer.train()(x)
    assert set(torch.unique(y).tolist()) == {0.0, 1 / 0.75}
    assert abs(float((y == 0).double().mean()) - 0.25) < 0.05


def test_diverging_seeds_retire_without_touching_the_others(data) -> None:
    def factory(n_features: int, n_classes: int, seed: int) -> nn.Module:
        return nn.Linear(n_features, n_classes)

    kw = dict(TRAIN, lr=1e6, loss="fourth_power")
    batched = train_modules_batched(factory, data, SEEDS, dtype="float64", **kw)
    alone = [train_module_solo(factory, d, s, dtype="float64", **kw)
             for d, s in zip(data, SEEDS)]
    assert all(r["diverged"] == 1.0 for r in batched)
    assert_same(batched, alone)


def test_regression_data_trains_batched() -> None:
    from atomcheck.data import Dataset

    def make(seed: int) -> Dataset:
        g = np.random.default_rng(seed)
        x = g.normal(size=(60, 3)).astype(np.float32)
        y = (x @ np.array([1.0, -2.0, 0.5]) + 0.1 * g.normal(size=60)).astype(np.float32)
        return Dataset(x[:40], y[:40, None], x[40:], y[40:, None], 0)

    sets = [make(s) for s in SEEDS]
    kw = dict(loss="mse", dtype="float64", **TRAIN)
    run = train_modules(lambda n_features, n_classes: nn.Sequential(
        nn.Linear(n_features, 8), nn.Tanh(), nn.Linear(8, n_classes)), sets, SEEDS, **kw)
    assert run.path == "batched" and sorted(run.metrics[0]) == [
        "diverged", "test_loss", "test_mse", "train_loss", "train_mse"]
    alone = [train_module_solo(lambda n_features, n_classes: nn.Sequential(
        nn.Linear(n_features, 8), nn.Tanh(), nn.Linear(8, n_classes)), d, s, **kw)
        for d, s in zip(sets, SEEDS)]
    assert_same(run.metrics, alone)


# ----------------------------------------------------------------------------- fallbacks


class LSTMNet(nn.Module):
    def __init__(self, n_classes: int) -> None:
        super().__init__()
        self.rnn = nn.LSTM(8, 8, batch_first=True)
        self.out = nn.Linear(8, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(x.reshape(len(x), 8, 8))
        return self.out(h[:, -1])


class Linear(nn.Module):
    def __init__(self, n_features: int, n_classes: int) -> None:
        super().__init__()
        self.lin = nn.Linear(n_features, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x)


class ItemInForward(Linear):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x) / (1.0 + x.abs().max().item())


class BranchOnData(Linear):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x) if x.mean() > 0.3 else 2 * self.lin(x)


class InPlaceIntoFresh(Linear):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(len(x), self.lin.out_features, dtype=x.dtype)
        out[:, :] = self.lin(x)
        return out


class GlobalRandom(Linear):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x + 0.01 * torch.randn_like(x))


class FunctionalDropout(Linear):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(nn.functional.dropout(x, 0.2, self.training))


class KeepsState(Linear):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.last_input = x
        return self.lin(x)


class AppendsToAList(Linear):
    def __init__(self, n_features: int, n_classes: int) -> None:
        super().__init__(n_features, n_classes)
        self.seen: list = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.sum())
        return self.lin(x)


def width_by_seed(n_features: int, n_classes: int, seed: int) -> nn.Module:
    return nn.Sequential(nn.Linear(n_features, 4 + seed), nn.ReLU(), nn.Linear(4 + seed, n_classes))


FALLBACKS = [
    (LSTMNet, "sgd", r"recurrent layer rnn \(LSTM\)"),
    (ItemInForward, "sgd", r"\.item\(\)"),
    (BranchOnData, "sgd", r"data-dependent control flow"),
    (InPlaceIntoFresh, "sgd", r"inplace"),
    (GlobalRandom, "sgd", r"random operation"),
    (FunctionalDropout, "sgd", r"random operation"),
    (KeepsState, "sgd", r"Python-side module state \(model\.last_input\)"),
    (AppendsToAList, "sgd", r"Python-side module state \(model\.seen\)"),
    (Linear, "lbfgs", r"LBFGS is not known to be element-wise"),
    (width_by_seed, "sgd", r"differ in name/shape"),
]


@pytest.mark.parametrize("factory, optimizer, reason", FALLBACKS,
                         ids=[getattr(f, "__name__", "f") + "-" + o for f, o, _ in FALLBACKS])
def test_what_cannot_be_batched_trains_per_seed_with_a_reason(data, caplog, factory, optimizer,
                                                              reason) -> None:
    opt = torch.optim.LBFGS if optimizer == "lbfgs" else optimizer
    kw = dict(TRAIN, epochs=1, dtype="float64", optimizer=opt)
    with caplog.at_level(logging.INFO, logger="atomcheck.engine"):
        run = train_modules(factory, data, SEEDS, label="claim demo", **kw)
    assert run.path == "per-seed"
    assert run.reason is not None and __import__("re").search(reason, run.reason), run.reason
    assert any("claim demo: per-seed path because" in r.getMessage()
               for r in caplog.records)
    plain = [train_module_solo(factory, d, s, reference=True, **kw) for d, s in zip(data, SEEDS)]
    assert_same(run.metrics, plain)
    assert all(r["diverged"] == 0.0 for r in run.metrics)


def test_batched_path_is_logged(data, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="atomcheck.engine"):
        train_modules(Linear, data, SEEDS, label="c1", **TRAIN)
    assert any("c1: batched module path over 3 seeds" in r.getMessage() for r in caplog.records)


def test_a_factory_that_returns_no_module_is_refused(data) -> None:
    with pytest.raises(InvalidClaim, match="not a torch.nn.Module"):
        train_modules(lambda: "not a module", data, SEEDS, **TRAIN)


def test_unknown_optimizer_name_is_refused(data) -> None:
    with pytest.raises(InvalidClaim, match="optimizer='lbfgs'"):
        train_modules(Linear, data, SEEDS, optimizer="lbfgs", **TRAIN)


# ----------------------------------------------------------------------------- module_task


def test_a_module_task_trains_batched_and_matches_its_per_seed_calls(caplog) -> None:
    from atomcheck.engine.modules import run_module_task

    def factory(n_features: int, n_classes: int, width: int = 8) -> nn.Module:
        return nn.Sequential(nn.Linear(n_features, width), nn.BatchNorm1d(width), nn.ReLU(),
                             nn.Linear(width, n_classes)).double()

    fn = module_task(factory, digits, data_args={"n_train": 64}, **TRAIN)
    with caplog.at_level(logging.INFO, logger="atomcheck.engine"):
        run = run_module_task(fn, SEEDS, {"width": 12, "lr": 0.1})
    assert run.path == "batched"
    assert any("config {'width': 12, 'lr': 0.1}: batched module path over 3 seeds"
               in r.getMessage() for r in caplog.records)
    # fn(seed) trains that seed alone on the same path: equal bit for bit.
    assert_same(run.metrics, [fn(s, width=12, lr=0.1) for s in SEEDS])
    with pytest.raises(InvalidClaim, match="unknown factor 'depth'"):
        run_module_task(fn, SEEDS, {"depth": 2})


def test_a_genuine_error_in_the_model_is_raised_not_hidden(data) -> None:
    def wrong_input_size(n_classes: int) -> nn.Module:
        return nn.Linear(7, n_classes)

    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        train_modules(wrong_input_size, data, SEEDS, **TRAIN)


def test_a_sweep_of_a_module_task_trains_on_the_module_path(caplog) -> None:
    from atomcheck.sweep import run_sweep

    def double_bn_mlp(n_features: int, n_classes: int) -> nn.Module:
        return bn_mlp(n_features, n_classes).double()

    task = module_task(double_bn_mlp, digits, data_args={"n_train": 120}, epochs=2,
                       batch_size=32, optimizer="adam", lr=0.01)
    with caplog.at_level(logging.INFO, logger="atomcheck.engine"):
        batched = run_sweep(task, {"lr": [0.01, 0.03]}, [0, 1, 2])
    assert batched.engine == "batched"
    assert "batched module path over 3 seeds" in caplog.text
    alone = run_sweep(task, {"lr": [0.01, 0.03]}, [0, 1, 2], batched=False)
    assert alone.engine == "per-seed"
    # No dropout here: the module path and the plain per-seed calls agree to rounding.
    np.testing.assert_allclose(batched.matrix("train_loss"), alone.matrix("train_loss"),
                               rtol=1e-10)
    np.testing.assert_array_equal(batched.matrix("test_accuracy"), alone.matrix("test_accuracy"))


def test_a_dropout_sweep_gives_the_same_numbers_batched_or_per_seed() -> None:
    from atomcheck.sweep import run_sweep

    def double_dropout_mlp(n_features: int, n_classes: int) -> nn.Module:
        return ResidualDropoutMLP(n_features, n_classes).double()

    task = module_task(double_dropout_mlp, digits, data_args={"n_train": 120}, epochs=2,
                       batch_size=32, optimizer="sgd", lr=0.05)
    batched = run_sweep(task, {"lr": [0.05, 0.1]}, [0, 1, 2])
    alone = run_sweep(task, {"lr": [0.05, 0.1]}, [0, 1, 2], batched=False)
    # Per seed, each seed trains alone on the same path: the same numbers bit for bit.
    np.testing.assert_array_equal(batched.matrix("train_loss"), alone.matrix("train_loss"))
