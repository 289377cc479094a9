"""The module path's device logic, checked without a GPU.

What runs here: an explicit ``device="cpu"`` (string or ``torch.device``) gives the default
run's numbers; on the ``meta`` device (shapes only, no data) the pieces that create tensors
put them on the requested device: the data, the per-seed dropout masks (drawn by CPU
generators, then moved), the early-stopping state, and the packed CNN forward and backward.
Not checked here: a real CUDA run (kernels, speed, and whether cuBLAS keeps seed *k* bit for
bit equal at different seed counts) — that needs a machine with a GPU.
"""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from atomcheck.data import digits  # noqa: E402
from atomcheck.engine.modules import (  # noqa: E402
    _data_tensors,
    _EarlyStop,
    _is_seed_dropout,
    _mask_generator,
    _MaskSource,
    _replace_dropout,
    train_modules,
)
from atomcheck.engine.packed import packed_plan  # noqa: E402
from atomcheck.models import configure_torch  # noqa: E402
from reference_modules import small_cnn  # noqa: E402

configure_torch(1)

SEEDS = [0, 1]
TRAIN = {"batch_size": 32, "epochs": 1, "lr": 0.05, "dtype": "float64"}
META = torch.device("meta")


def cnn_with_dropout(n_classes: int) -> nn.Module:
    return nn.Sequential(nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(), nn.Linear(48, n_classes))


@pytest.fixture(scope="module")
def data() -> list:
    return [digits(seed=s, n_train=64) for s in SEEDS]


@pytest.mark.parametrize("device", ["cpu", torch.device("cpu")])
def test_an_explicit_cpu_device_gives_the_default_runs_numbers(data, device) -> None:
    default = train_modules(cnn_with_dropout, data, SEEDS, **TRAIN)
    explicit = train_modules(cnn_with_dropout, data, SEEDS, device=device, **TRAIN)
    assert default.path == explicit.path == "batched"
    for a, b in zip(default.metrics, explicit.metrics):
        assert a.keys() == b.keys()
        assert all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def test_data_tensors_are_created_on_the_requested_device(data) -> None:
    for t in _data_tensors(data[0], torch.float32, META):
        assert t.device == META
    x, y, _, _ = _data_tensors(data[0], torch.float64, META)
    assert x.dtype == torch.float64 and y.dtype == torch.int64


def test_dropout_masks_come_from_cpu_generators_and_move_to_the_device() -> None:
    source = _MaskSource([_mask_generator(s) for s in SEEDS])
    masks = source.draw_all((5, 7), 0.3, torch.float32, META)
    assert masks.device == META and tuple(masks.shape) == (2, 5, 7)
    assert all(g.device.type == "cpu" for g in source.generators)
    # The same draws on the CPU: the generators' streams do not depend on the target.
    again = _MaskSource([_mask_generator(s) for s in SEEDS]).draw_all((5, 7), 0.3,
                                                                      torch.float32, "cpu")
    solo = _MaskSource([]).draw(_mask_generator(SEEDS[1]), (5, 7), 0.3, torch.float32, "cpu")
    assert torch.equal(again[1], solo)


def test_early_stopping_state_lives_on_the_device() -> None:
    stop = _EarlyStop(2, 3, 10, META)
    assert {t.device for t in (stop.best, stop.wait, stop.stopped, stop.stopped_epoch)} == {META}


def test_the_packed_cnn_runs_forward_and_backward_on_the_devices_tensors() -> None:
    # Nothing in the packed forward or its hand-written backward creates a CPU tensor: on
    # the meta device any such tensor would make the ops fail on mixed devices.
    module = _replace_dropout(cnn_with_dropout(10)).train()
    plan = packed_plan(module, (64,), "cross_entropy", 10, _is_seed_dropout)
    assert plan is not None and plan.n_dropout == 1
    S, B = 3, 4
    masks = [_MaskSource([_mask_generator(s) for s in range(S)]).draw_all(
        (B, 3, 4, 4), 0.25, torch.float32, META)]
    params = {f"m.{k}": torch.empty(S, *v.shape, device=META, requires_grad=True)
              for k, v in module.named_parameters()}
    x = torch.empty(S, B, 64, device=META)
    y = torch.zeros(S, B, dtype=torch.int64, device=META)
    losses = plan.losses(params, x, y, masks, "cross_entropy", 10)
    assert losses.device == META and tuple(losses.shape) == (S,)
    losses.sum().backward()
    assert all(p.grad is not None and p.grad.device == META for p in params.values())
    assert packed_plan(small_cnn(10), (64,), "cross_entropy", 10, _is_seed_dropout) is not None
