"""The module path's per-seed learning-rate cuts on a stalled training loss (``lr_plateau``):
known cut counts, batched equal to each seed alone, the plain loop to rounding, a cut equal
to a lower learning rate, and checkpoints that carry the cut state."""

from __future__ import annotations


import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from atomcheck import InvalidClaim  # noqa: E402
from atomcheck.data import digits  # noqa: E402
from atomcheck.engine.modules import (  # noqa: E402
    _LrPlateau,
    train_module_solo,
    train_modules,
)
from atomcheck.models import configure_torch  # noqa: E402

configure_torch(1)

SEEDS = [0, 1, 2]
TRAIN = {"batch_size": 32, "epochs": 6, "lr": 0.5, "dtype": "float64"}


@pytest.fixture(scope="module")
def data() -> list:
    return [digits(seed=s, n_train=96) for s in SEEDS]


def mlp(n_features: int, n_classes: int) -> nn.Module:
    return nn.Sequential(nn.Linear(n_features, 16), nn.ReLU(), nn.Linear(16, n_classes))


def test_constant_loss_cuts_every_patience_epochs(data):
    # The constant loss never improves after epoch 1: with patience 1 every later epoch
    # cuts (5 epochs -> 4 cuts -> 0.5**4), and the floor stops the cuts.
    run = train_modules(mlp, data, SEEDS, loss="constant", epochs=5, lr_plateau=1)
    assert [m["lr_factor"] for m in run.metrics] == [0.5 ** 4] * 3
    run = train_modules(mlp, data, SEEDS, loss="constant", epochs=5, lr_plateau=2,
                        lr_plateau_factor=0.1)
    assert [m["lr_factor"] for m in run.metrics] == pytest.approx([0.01] * 3)
    run = train_modules(mlp, data, SEEDS, loss="constant", epochs=5, lr_plateau=1,
                        lr_plateau_min=0.25)
    assert [m["lr_factor"] for m in run.metrics] == [0.25] * 3


def test_tracker_known_answer():
    p = _LrPlateau(2, 0.5, 1 / 1024, 2, "cpu")
    on = torch.tensor([True, True])
    for loss in ([3.0, 3.0], [2.0, 3.0], [2.5, 3.0], [2.5, 1.0]):
        p.update(torch.tensor(loss), on)
    # seed 0: best 2.0 at update 2, two stalls -> cut; seed 1: best 3.0, stalls at 2 and 3
    # -> cut after update 3, then a new best.
    assert p.factor.tolist() == [0.5, 0.5]
    assert p.cuts.tolist() == [1, 1]
    p.update(torch.tensor([9.0, 9.0]), torch.tensor([False, True]))  # seed 0 not training
    assert p.wait.tolist() == [0, 1]


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "adagrad", "rmsprop"])
def test_batched_equals_each_seed_alone(data, optimizer):
    run = train_modules(mlp, data, SEEDS, optimizer=optimizer, lr_plateau=1, **TRAIN)
    assert run.path == "batched"
    factors = [m["lr_factor"] for m in run.metrics]
    alone = [train_module_solo(mlp, d, s, optimizer=optimizer, lr_plateau=1, **TRAIN)
             for d, s in zip(data, SEEDS)]
    assert run.metrics == alone
    plain = [train_module_solo(mlp, d, s, optimizer=optimizer, lr_plateau=1, reference=True,
                               **TRAIN) for d, s in zip(data, SEEDS)]
    for a, b in zip(run.metrics, plain):
        assert a["lr_factor"] == b["lr_factor"]
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-9, abs=1e-12)
    if optimizer == "adam":  # lr 0.5 is far too large for Adam: its loss stalls and is cut
        assert min(factors) < 1


def test_a_cut_scales_each_rows_update():
    # A row with factor f ends at before + f * (after - before); a row at 1 is untouched.
    p = _LrPlateau(1, 0.5, 1 / 1024, 3, "cpu")
    p.factor = torch.tensor([0.25, 1.0, 0.5], dtype=torch.float64)
    w = [torch.zeros(3, 2), torch.ones(3, 4)]
    before = [t.clone() for t in w]
    w = [t + 2.0 for t in w]
    p.scale(before, w)
    assert w[0][:, 0].tolist() == [0.5, 2.0, 1.0]
    assert w[1][:, 0].tolist() == [1.5, 3.0, 2.0]


def test_checkpoint_carries_the_cut_state(data, tmp_path):
    kw = dict(TRAIN, optimizer="adam", lr_plateau=1)
    whole = train_modules(mlp, data, SEEDS, **kw)
    first = train_modules(mlp, data, SEEDS, **(kw | {"epochs": 3}), return_state=True)
    assert "lr_plateau" in first.state
    resumed = train_modules(mlp, data, SEEDS, **kw, resume=first.state)
    assert resumed.metrics == whole.metrics


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_watching_held_out_accuracy(data, optimizer):
    kw = dict(TRAIN, optimizer=optimizer, lr_plateau=1, lr_plateau_monitor="test_accuracy")
    run = train_modules(mlp, data, SEEDS, **kw)
    alone = [train_module_solo(mlp, d, s, **kw) for d, s in zip(data, SEEDS)]
    plain = [train_module_solo(mlp, d, s, reference=True, **kw) for d, s in zip(data, SEEDS)]
    assert run.metrics == alone
    for a, b in zip(run.metrics, plain):
        assert a["lr_factor"] == b["lr_factor"]
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-9, abs=1e-12)
    # accuracy on 450 images ties or dips within 6 epochs: some seed gets cut
    assert min(m["lr_factor"] for m in run.metrics) < 1
    # and the watched signal matters: the training loss of this run keeps falling
    assert run.metrics != train_modules(mlp, data, SEEDS, **(kw | {
        "lr_plateau_monitor": "train_loss"})).metrics


@pytest.mark.parametrize("bad", [{"lr_plateau": 1, "lr_plateau_monitor": "val_loss"},
                                 {"lr_plateau": 0}, {"lr_plateau": True},
                                 {"lr_plateau": 1, "lr_plateau_factor": 1.0},
                                 {"lr_plateau": 1, "lr_plateau_min": 0.0}])
def test_invalid_arguments(data, bad):
    with pytest.raises(InvalidClaim):
        train_modules(mlp, data, SEEDS, epochs=1, **bad)


def test_resuming_leaves_the_state_it_resumed_from_untouched(data):
    # Regression: the optimiser used to load the checkpoint's tensors without a copy, so
    # the resumed steps rewrote the caller's state (an Adam moment read after resuming
    # equalled the final one).
    first = train_modules(mlp, data, SEEDS, optimizer="adam", epochs=1, return_state=True,
                          **{k: v for k, v in TRAIN.items() if k != "epochs"})
    before = {i: {k: v.clone() for k, v in st.items()}
              for i, st in first.state["optimizer"]["state"].items()}
    train_modules(mlp, data, SEEDS, optimizer="adam", resume=first.state, **TRAIN)
    for i, st in first.state["optimizer"]["state"].items():
        for k, v in st.items():
            assert torch.equal(v, before[i][k]), (i, k)
