"""atomcheck.toolbox.transfer: related digit splits, batched pre-training, warm starts."""

from __future__ import annotations

import numpy as np
import pytest

from atomcheck.data import digits
from atomcheck.errors import InvalidClaim
from atomcheck.toolbox.transfer import digit_classes, pretrain, warm_start


def _net(n_features: int, n_classes: int):
    from torch import nn

    return nn.Sequential(nn.Linear(n_features, 6), nn.ReLU(), nn.Linear(6, n_classes))


def test_digit_classes_keeps_only_those_classes_relabelled_in_order():
    full = digits(seed=4)
    ds = digit_classes(seed=4, classes=(7, 2))
    assert ds.n_classes == 2
    assert len(ds.y_train) == int(np.sum(np.isin(full.y_train, [7, 2])))
    # label 0 is digit 7: the same images in the same order as in the full split
    sevens = full.x_train[full.y_train == 7]
    np.testing.assert_array_equal(ds.x_train[ds.y_train == 0], sevens)
    assert len(digit_classes(seed=4, classes=(7, 2), n_train=10).y_train) == 10


@pytest.mark.parametrize("classes", [(1,), (1, 1), (3, 10)])
def test_digit_classes_refuses_bad_class_lists(classes):
    with pytest.raises(InvalidClaim, match="distinct digits"):
        digit_classes(seed=0, classes=classes)


def test_pretrain_returns_each_seeds_trained_parameters_under_the_modules_names():
    from atomcheck.engine.modules import train_module_solo

    seeds = [0, 1]
    data = [digit_classes(seed=s, classes=(0, 1, 2), n_train=60) for s in seeds]
    weights = pretrain(_net, data, seeds, epochs=2, lr=0.1, dtype="float64")
    assert sorted(weights) == seeds
    assert sorted(weights[0]) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert not np.allclose(weights[0]["0.weight"].numpy(), weights[1]["0.weight"].numpy())
    # seed 1 pre-trained alone gets the same parameters as in the batch of two
    alone = pretrain(_net, data[1:], [1], epochs=2, lr=0.1, dtype="float64")
    for name, value in alone[1].items():
        np.testing.assert_allclose(weights[1][name].numpy(), value.numpy(), atol=1e-12)


def test_warm_start_copies_kept_parameters_and_leaves_the_rest_fresh():
    import torch

    fresh = {0: {"0.weight": torch.full((6, 4), 2.0), "0.bias": torch.full((6,), 3.0),
                 "2.weight": torch.full((5, 6), 4.0)}}
    build = warm_start(_net, fresh, keep=lambda name: name.startswith("0."))
    torch.manual_seed(0)
    m = build(0, n_features=4, n_classes=5)
    torch.manual_seed(0)
    ref = _net(4, 5)
    assert torch.equal(m[0].weight, torch.full((6, 4), 2.0))
    assert torch.equal(m[0].bias, torch.full((6,), 3.0))
    assert torch.equal(m[2].weight, ref[2].weight)  # not kept: the factory's own init
    # a shape that differs is never copied
    odd = warm_start(_net, {0: {"0.weight": torch.zeros(6, 9)}})
    torch.manual_seed(0)
    assert torch.equal(odd(0, n_features=4, n_classes=5)[0].weight, ref[0].weight)
    with pytest.raises(InvalidClaim, match="no pre-trained weights for seed 3"):
        build(3, n_features=4, n_classes=5)


def test_a_warm_started_module_task_trains_batched_from_the_pretrained_start():
    from atomcheck.engine.modules import run_module_task
    from atomcheck.models import module_task

    seeds = [0, 1, 2]
    source = [digit_classes(seed=s, classes=(0, 1, 2, 3, 4), n_train=150) for s in seeds]
    weights = pretrain(_net, source, seeds, epochs=3, lr=0.1)
    warm = warm_start(_net, weights)
    task = module_task(warm, digit_classes, data_args={"classes": (0, 1, 2, 3, 4),
                                                       "n_train": 150}, epochs=0)
    run = run_module_task(task, seeds, {})
    assert run.path == "batched"
    # zero further epochs: the warm start reproduces the pre-trained nets' accuracy
    cold = module_task(_net, digit_classes, data_args={"classes": (0, 1, 2, 3, 4),
                                                      "n_train": 150}, epochs=3, lr=0.1)
    trained = run_module_task(cold, seeds, {})
    for a, b in zip(run.metrics, trained.metrics):
        assert a["test_accuracy"] == pytest.approx(b["test_accuracy"], abs=1e-6)


def test_lazy_weights_are_trained_on_first_build_only_and_stay_out_of_the_fingerprint():
    import torch

    from atomcheck.fingerprint import fingerprint

    calls = []

    def weights():
        calls.append(1)
        return {0: {"0.weight": torch.ones(6, 4)}}

    build = warm_start(_net, weights, keep=lambda name: name.startswith("0."))
    before = fingerprint(build)
    assert calls == []
    first, second = (build(0, n_features=4, n_classes=5) for _ in range(2))
    assert calls == [1]
    assert torch.equal(first[0].weight, torch.ones(6, 4))
    assert torch.equal(second[0].weight, torch.ones(6, 4))
    assert fingerprint(build) == before
