"""The module path's training tools, batched and equal to each seed alone: per-seed gradient
clipping, learning-rate schedules, early stopping per seed, checkpoint save and resume."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from atomcheck import InvalidClaim  # noqa: E402
from atomcheck.data import digits  # noqa: E402
from atomcheck.engine.modules import (  # noqa: E402
    _clip_stacked,
    _Tools,
    load_checkpoint,
    run_module_task,
    save_checkpoint,
    train_module_solo,
    train_modules,
)
from atomcheck.models import configure_torch, module_task  # noqa: E402

configure_torch(1)

SEEDS = [0, 1, 2]
TRAIN = {"batch_size": 32, "epochs": 3, "lr": 0.05, "dtype": "float64"}


@pytest.fixture(scope="module")
def data() -> list:
    return [digits(seed=s, n_train=96) for s in SEEDS]


def mlp(n_features: int, n_classes: int) -> nn.Module:
    return nn.Sequential(nn.Linear(n_features, 16), nn.ReLU(), nn.Linear(16, n_classes))


def bn_dropout_mlp(n_features: int, n_classes: int) -> nn.Module:
    return nn.Sequential(nn.Linear(n_features, 16), nn.BatchNorm1d(16), nn.ReLU(),
                         nn.Dropout(0.2), nn.Linear(16, n_classes))


def assert_same(a: list[dict], b: list[dict], tol: float = 0.0) -> None:
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        assert ra.keys() == rb.keys()
        for k in ra:
            if math.isnan(ra[k]) or math.isnan(rb[k]):
                assert math.isnan(ra[k]) and math.isnan(rb[k]), k
            elif tol == 0.0:
                assert ra[k] == rb[k], (k, ra[k], rb[k])
            else:
                assert ra[k] == pytest.approx(rb[k], abs=tol, rel=tol), k


def solo(factory, data, **kw) -> list[dict]:
    return [train_module_solo(factory, d, s, **kw) for d, s in zip(data, SEEDS)]


TOOLS = {
    "clip_norm": {"clip_norm": 0.3},
    "clip_value": {"clip_value": 0.005},
    "clip_both": {"clip_norm": 0.5, "clip_value": 0.01},
    "step": {"lr_schedule": "step", "lr_step": 1, "lr_gamma": 0.5},
    "exponential": {"lr_schedule": "exponential", "lr_gamma": 0.7},
    "cosine": {"lr_schedule": "cosine"},
    "callable": {"lr_schedule": lambda e: 1.0 / (1 + e)},
}


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_each_tool_batched_equals_each_seed_alone_bit_for_bit(data, tool, optimizer) -> None:
    kw = dict(TRAIN, optimizer=optimizer, **TOOLS[tool])
    run = train_modules(bn_dropout_mlp, data, SEEDS, **kw)
    assert (run.path, run.reason) == ("batched", None)
    assert_same(run.metrics, solo(bn_dropout_mlp, data, **kw))
    plain = solo(mlp, data, reference=True, **dict(kw, optimizer="sgd"))
    # The plain loop (clip_grad_norm_ / clip_grad_value_ on one model) agrees to rounding.
    assert_same(train_modules(mlp, data, SEEDS, **dict(kw, optimizer="sgd")).metrics, plain,
                tol=1e-12)


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_each_tool_changes_training(data, tool) -> None:
    kw = dict(TRAIN, optimizer="sgd", lr=0.5)
    with_tool = train_modules(mlp, data, SEEDS, **kw, **TOOLS[tool]).metrics
    without = train_modules(mlp, data, SEEDS, **kw).metrics
    assert all(a["train_loss"] != b["train_loss"] for a, b in zip(with_tool, without))


def test_clip_norm_is_each_seeds_own_norm_as_clip_grad_norm_computes_it() -> None:
    g = torch.Generator().manual_seed(0)
    shapes = [(5, 3), (5,), (2, 5)]
    scales = torch.tensor([0.01, 1.0, 100.0], dtype=torch.float64)  # norms far apart
    grads = [torch.randn((3, *s), generator=g, dtype=torch.float64)
             * scales.reshape(3, *([1] * len(s))) for s in shapes]
    expected = []
    for k in range(3):
        ps = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in shapes]
        for p, gr in zip(ps, grads):
            p.grad = gr[k].clone()
        torch.nn.utils.clip_grad_norm_(ps, 1.0)
        expected.append([p.grad for p in ps])
    stacked = [gr.clone() for gr in grads]
    _clip_stacked(stacked, _Tools(clip_norm=1.0))
    for k in range(3):
        for mine, theirs in zip(stacked, expected[k]):
            torch.testing.assert_close(mine[k], theirs, rtol=1e-14, atol=0)
    assert torch.equal(stacked[0][0], grads[0][0])  # the small seed is left alone
    norm2 = math.sqrt(sum(float((s[2] ** 2).sum()) for s in stacked))
    assert norm2 == pytest.approx(1.0, rel=1e-6)  # the large one is clipped to 1
    _clip_stacked(stacked, _Tools(clip_value=0.5))
    assert all(float(s.abs().max()) <= 0.5 for s in stacked)


def test_a_clip_norm_never_reached_changes_nothing(data) -> None:
    kw = dict(TRAIN, optimizer="adam")
    assert_same(train_modules(bn_dropout_mlp, data, SEEDS, clip_norm=1e9, **kw).metrics,
                train_modules(bn_dropout_mlp, data, SEEDS, **kw).metrics)


def test_lr_schedule_factors() -> None:
    assert [_Tools(lr_schedule="step", lr_step=2, lr_gamma=0.5).lr_factor(e, 6)
            for e in range(6)] == [1, 1, 0.5, 0.5, 0.25, 0.25]
    assert _Tools(lr_schedule="exponential", lr_gamma=0.9).lr_factor(3, 6) == 0.9 ** 3
    cos = _Tools(lr_schedule="cosine")
    assert (cos.lr_factor(0, 4), cos.lr_factor(2, 4)) == (1.0, pytest.approx(0.5))
    assert _Tools().lr_factor(5, 6) == 1.0
    for bad in ({"lr_schedule": "linear"}, {"clip_norm": 0}, {"clip_value": -1.0},
                {"early_stopping": 0}, {"lr_step": 0}, {"lr_gamma": 0.0}):
        with pytest.raises(InvalidClaim):
            _Tools(**bad)


def test_a_zero_learning_rate_from_epoch_2_freezes_training_at_epoch_2(data) -> None:
    kw = dict(TRAIN, optimizer="sgd", lr=0.1)
    frozen = train_modules(mlp, data, SEEDS, **dict(kw, epochs=4),
                           lr_schedule=lambda e: 1.0 if e < 2 else 0.0).metrics
    assert_same(frozen, train_modules(mlp, data, SEEDS, **dict(kw, epochs=2)).metrics)


# ----------------------------------------------------------------------------- early stopping

STOP = dict(TRAIN, optimizer="momentum", lr=0.5, epochs=12, early_stopping=2)


def test_early_stopping_batched_equals_each_seed_alone(data) -> None:
    run = train_modules(mlp, data, SEEDS, **STOP)
    stopped = [r["stopped_epoch"] for r in run.metrics]
    assert any(e < 12 for e in stopped) and any(e == 12 for e in stopped), stopped
    assert_same(run.metrics, solo(mlp, data, **STOP))
    assert_same(run.metrics, solo(mlp, data, reference=True, **STOP), tol=1e-12)


def test_a_stopped_seed_keeps_the_model_it_had_when_it_stopped(data) -> None:
    run = train_modules(mlp, data, SEEDS, **STOP)
    for k, r in enumerate(run.metrics):
        epochs = int(r["stopped_epoch"])
        short = train_module_solo(mlp, data[k], SEEDS[k], **dict(STOP, early_stopping=None,
                                                                  epochs=epochs))
        assert_same([{m: v for m, v in r.items() if m != "stopped_epoch"}], [short])


def test_early_stopping_with_batchnorm_and_dropout_freezes_buffers_too(data) -> None:
    # Adam keeps moving a row whose gradient is zero: a retired row must be held still.
    kw = dict(STOP, optimizer="adam", lr=1.0, epochs=8, early_stopping=1)
    run = train_modules(bn_dropout_mlp, data, SEEDS, **kw)
    stopped = [r["stopped_epoch"] for r in run.metrics]
    assert any(e < 8 for e in stopped) and any(e == 8 for e in stopped), stopped
    assert_same(run.metrics, solo(bn_dropout_mlp, data, **kw))
    k = stopped.index(min(stopped))
    short = train_module_solo(bn_dropout_mlp, data[k], SEEDS[k],
                              **dict(kw, early_stopping=None, epochs=int(stopped[k])))
    assert_same([{m: v for m, v in run.metrics[k].items() if m != "stopped_epoch"}], [short])


# ----------------------------------------------------------------------------- checkpoints

CKPT = dict(TRAIN, optimizer="adam", lr=0.01)


def test_resume_with_optimizer_state_equals_training_straight_through(data, tmp_path) -> None:
    straight = train_modules(bn_dropout_mlp, data, SEEDS, **dict(CKPT, epochs=8),
                             return_state=True)
    first = train_modules(bn_dropout_mlp, data, SEEDS, **dict(CKPT, epochs=4),
                          return_state=True)
    assert first.state is not None and first.state["epoch"] == 4
    save_checkpoint(first.state, tmp_path / "full.pt")
    save_checkpoint(first.state, tmp_path / "weights.pt", optimizer=False)
    assert "optimizer" not in torch.load(tmp_path / "weights.pt", weights_only=True)
    resumed = train_modules(bn_dropout_mlp, data, SEEDS, **dict(CKPT, epochs=8),
                            resume=tmp_path / "full.pt", return_state=True)
    assert_same(resumed.metrics, straight.metrics)
    assert straight.state is not None and resumed.state is not None
    for k, v in straight.state["params"].items():
        assert torch.equal(v, resumed.state["params"][k]), k
    for k, v in straight.state["buffers"].items():
        assert torch.equal(v, resumed.state["buffers"][k]), k
    # Without the optimiser's state Adam restarts its moments and step count: it differs.
    fresh = train_modules(bn_dropout_mlp, data, SEEDS, **dict(CKPT, epochs=8),
                          resume=load_checkpoint(tmp_path / "weights.pt"))
    assert all(a["train_loss"] != b["train_loss"] for a, b in zip(fresh.metrics,
                                                                 straight.metrics))


def test_resume_keeps_schedules_and_early_stopping(data, tmp_path) -> None:
    kw = dict(STOP, lr_schedule="step", lr_step=3, lr_gamma=0.8)
    straight = train_modules(mlp, data, SEEDS, **kw).metrics
    first = train_modules(mlp, data, SEEDS, **dict(kw, epochs=6), return_state=True)
    save_checkpoint(first.state, tmp_path / "c.pt")  # type: ignore[arg-type]
    resumed = train_modules(mlp, data, SEEDS, **kw, resume=tmp_path / "c.pt").metrics
    assert_same(resumed, straight)


def test_checkpoints_are_refused_where_they_cannot_apply(data, tmp_path) -> None:
    first = train_modules(mlp, data, SEEDS, **CKPT, return_state=True)
    with pytest.raises(InvalidClaim, match="seeds"):
        train_modules(mlp, data[:2], SEEDS[:2], **CKPT, resume=first.state)
    with pytest.raises(InvalidClaim, match="differ in name or shape"):
        train_modules(bn_dropout_mlp, data, SEEDS, **CKPT, resume=first.state)
    with pytest.raises(InvalidClaim, match="need the batched path"):
        train_modules(mlp, data, SEEDS, **CKPT, batched=False, return_state=True)
    torch.save({"x": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(InvalidClaim, match="not an atomcheck module checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


# ----------------------------------------------------------------------------- module_task


def test_run_module_task_passes_the_tools(data) -> None:
    def factory(n_features: int, n_classes: int, width: int = 8) -> nn.Module:
        return nn.Sequential(nn.Linear(n_features, width), nn.ReLU(),
                             nn.Linear(width, n_classes)).double()

    fn = module_task(factory, digits, data_args={"n_train": 96}, batch_size=32, epochs=3)
    tools = {"clip_norm": 0.3, "lr_schedule": "cosine", "early_stopping": 1}
    run = run_module_task(fn, SEEDS, {"width": 12, "lr": 0.5}, **tools)
    assert run.path == "batched" and "stopped_epoch" in run.metrics[0]
    alone = [train_module_solo(factory, d, s, factory_kwargs={"width": 12}, lr=0.5,
                               batch_size=32, epochs=3, **tools) for d, s in zip(data, SEEDS)]
    assert_same(run.metrics, alone)


def test_module_task_takes_the_tools_as_factors_and_as_fixed_settings(data) -> None:
    from atomcheck.engine.modules import TOOL_NAMES
    from atomcheck.sweep import run_sweep

    def factory(n_features: int, n_classes: int) -> nn.Module:
        return mlp(n_features, n_classes).double()

    fn = module_task(factory, digits, data_args={"n_train": 96}, batch_size=32, epochs=3,
                     lr=0.5, lr_schedule="cosine")
    assert set(TOOL_NAMES) <= fn.factor_names()
    # A swept tool (clip_norm) and a fixed one (lr_schedule): batched sweep, fn(seed) and
    # each seed alone with the same tools give the same numbers, bit for bit.
    sweep = run_sweep(fn, {"clip_norm": [0.1, 1.0], "early_stopping": [1]}, SEEDS)
    assert sweep.engine == "batched"
    for clip in (0.1, 1.0):
        tools = {"clip_norm": clip, "lr_schedule": "cosine", "early_stopping": 1}
        alone = [train_module_solo(factory, d, s, lr=0.5, batch_size=32, epochs=3, **tools)
                 for d, s in zip(data, SEEDS)]
        own = [fn(s, clip_norm=clip, early_stopping=1) for s in SEEDS]
        assert_same(own, alone)
        config = [{"clip_norm": clip, "early_stopping": 1}]
        for key in ("train_loss", "test_accuracy", "stopped_epoch"):
            assert sweep.matrix(key, config)[:, 0].tolist() == [r[key] for r in alone], key
    # The tools change training (clipping at 0.1 is not clipping at 1.0).
    assert fn(0, clip_norm=0.1)["train_loss"] != fn(0, clip_norm=1.0)["train_loss"]
    # A config value wins over the task's fixed tool; run_module_task's keyword loses to both.
    assert_same([fn(0, lr_schedule=None)], [train_module_solo(
        factory, data[0], 0, lr=0.5, batch_size=32, epochs=3)])
    with pytest.raises(InvalidClaim, match="unknown keyword"):
        module_task(factory, digits, clip_nrom=1.0)
    with pytest.raises(InvalidClaim, match="clip_norm=-1"):
        fn(0, clip_norm=-1.0)
