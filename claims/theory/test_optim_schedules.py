"""Learning-rate schedules and gradient clipping (002 §3.2.2, 003 hyper-parameters, 004
optimisation).

Set-up (the rule of claims/theory/test_optim.py): digits, MLP 64-32-10 tanh, Xavier-uniform,
cross-entropy, mini-batches of 32, trained seed-batched. The schedule claims start from a
large rate, 0.1 (a decade above the catalog's 0.01: both documents argue that a rate
which is right early is too large late), and compare with the same rate held constant.
"Loss" is the training cross-entropy (these are claims about optimisation); the test loss
is an open setting.

Open settings, one rule for the module (fixed before looking): the rate a decade up, the
budget ×3, the other form of the tool the source names (the other schedule; the other cut
factor; a looser clipping threshold), and the test loss as the metric where the source
may mean generalisation.
"""

from __future__ import annotations

import math

import pytest

from atomcheck import Beats
from atomcheck.data import digits
from atomcheck.models import MLPSpec, Task, TrainResult
from atomcheck.toolbox.seed_batch import divergence_as_data
from atomcheck.toolbox.tool_task import tool_task
from atomcheck.toolbox.trajectory import loss_progress

SOURCE_CLIFF = "002_fe851f770cc63e0f.txt §3.2.2"
SOURCE_SCHEDULE = "003_27e8606ef87a0581.txt Learning rate schedule"
SOURCE_DECAY = "004_2177d7888ae32ed4.txt 学习率衰减"

CHANCE_LOSS = math.log(10)


def progress_metrics(result: TrainResult) -> dict[str, float]:
    """Share of the chance-level loss the run removed (a diverged run: none)."""
    return {"progress": loss_progress(result.metrics["train_loss"], CHANCE_LOSS)}


# --------------------------------------------------------------------------- clipping

#: No clipping, and per-seed global-norm clipping at 1 (the base) and 10 (a setting).
CLIPPING = {"none": {"clip_norm": None}, "clip_1": {"clip_norm": 1.0},
            "clip_10": {"clip_norm": 10.0}}


@pytest.mark.claim(claim_id="optim.clipping_cliffs", sources=[SOURCE_CLIFF], seeds=10,
                   robust_over=[{"a": "clip_10"}, {"init_scale": 1.5}, {"epochs": 9}])
def test_clipping_cliffs(claim):
    """Gradient clipping prevents divergence on a cliff / exploding-gradient problem.

    002 §3.2.2: a cliff is a region of very steep slope, caused by exploding gradients
    (many factors multiplied); an update there throws the parameters far away; clipping
    the gradient caps the step so the update cannot be huge.
    Protocol: an exploding-gradient problem — digits, a deep ReLU MLP (six hidden layers
    of 32) whose He-normal weights are scaled by 2 (each layer doubles the signal and the
    gradient), SGD at lr 0.1, 3 epochs; with and without per-seed global-norm clipping at
    1 (``clip_grad_norm_``'s conventional threshold). Metric: progress = 1 − L/ln 10 of
    the training loss; divergence is the claim's own prediction, so a diverged run is an
    outcome (progress 0, ``toolbox.seed_batch.divergence_as_data``), not a dropped seed.
    Test: Beats — clipping's progress above no clipping's (paired Wilcoxon, one-sided).
    Open settings (module rule): a looser threshold (10), a milder cliff (weights ×1.5),
    the budget ×3 (9 epochs).

    Finding (seeds 0-9): supported under every setting. Without clipping every run blows up
    at weights ×2 (10/10; progress 0) and most do at ×1.5 (mean progress 0.11); clipping
    at 1 keeps every run finite, with progress 0.14 after 3 epochs (0.66 after 9; 0.65 at
    ×1.5), and clipping at 10 0.34. Fresh seeds (1000-1009): the same verdict under every setting
    (clip at 1: 0.21).
    """
    task = Task(digits, MLPSpec(widths=(32,) * 6, activation="relu", init="he_normal",
                                init_scale=2.0, optimizer="sgd", lr=0.1, batch_size=32,
                                epochs=3),
                metrics=progress_metrics, name="optim.clipping_cliffs")
    claim.sweep(divergence_as_data(task, claim.seeds), clipping=CLIPPING)
    claim.expect(Beats("progress", along="clipping", a="clip_1", b="none"))


# --------------------------------------------------------------------------- decay (004)

#: The rate held constant, halved every third of the budget, or cosine to zero.
SCHEDULES = {"constant": {"lr_schedule": None}, "step": {"lr_schedule": "step"},
             "cosine": {"lr_schedule": "cosine"}}


@pytest.mark.claim(claim_id="optim.lr_decay", sources=[SOURCE_DECAY], seeds=10,
                   robust_over=[{"a": "cosine"}, {"lr": 1.0}, {"epochs": 30},
                                {"metric": "test_loss"}],
                   expected="refuted",
                   reason="from lr 0.1 the constant rate ends lower than step or cosine decay, "
                          "in training and test loss, at 10 and 30 epochs: the decayed rate "
                          "slows progress before the net is near a minimum; at lr 1.0 neither "
                          "wins")
def test_lr_decay(claim):
    """Learning-rate decay ends at a lower loss than a constant rate.

    004 (optimisation, 学习率衰减): a large rate early explores the parameter space; near
    convergence a smaller rate brings the weights closer to the local optimum.
    Protocol: the module's set-up, SGD from lr 0.1, 10 epochs; the rate constant against
    the engine's step decay (halved every third of the budget). Metric: training loss at
    the end. Test: Beats — decay's loss below the constant rate's (paired Wilcoxon).
    Open settings (module rule): cosine decay to zero in place of steps (the same runs),
    the rate a decade up (1.0), the budget ×3 (30 epochs), the test loss.

    Finding (seeds 0-9): refuted. Training loss after 10 epochs: constant 0.22, step decay
    0.35, cosine 0.34 (lower is better) in every seed; after 30 epochs 0.092 vs 0.135;
    test loss 0.24 vs 0.36. At lr 1.0 decay ends lower on average (0.06 vs 0.25) but not
    consistently (inconclusive). The decayed rate slows training before the net is near a
    minimum; the budget ×3 narrows the gap without closing it. Fresh seeds (1000-1009):
    the same verdict under every setting.
    """
    task = Task(digits, MLPSpec(widths=(32,), activation="tanh", optimizer="sgd", lr=0.1,
                                batch_size=32, epochs=10), name="optim.lr_decay")
    claim.sweep(task, schedule=SCHEDULES)
    claim.expect(Beats("train_loss", along="schedule", a="step", b="constant", greater=False))


# --------------------------------------------------------------------------- cut on a plateau (003)


def digits_net(n_features: int, n_classes: int):
    """MLP 64-32-10, tanh (torch's default init), for the module path."""
    import torch

    return torch.nn.Sequential(torch.nn.Linear(n_features, 32), torch.nn.Tanh(),
                               torch.nn.Linear(32, n_classes))


#: The rate held constant, or cut on a stall (patience 1 epoch; factor 1/2 by default).
PLATEAU = {"constant": {"lr_plateau": None}, "cut_on_stall": {"lr_plateau": 1}}


@pytest.mark.claim(claim_id="optim.lr_schedule", sources=[SOURCE_SCHEDULE], seeds=20,
                   robust_over=[{"lr_plateau_factor": 0.1}, {"lr": 1.0},
                                {"metric": "test_loss"}],
                   expected="refuted",
                   reason="a held-out accuracy on 450 images ties or dips in most epochs, so "
                          "patience-1 cuts come early and the cut runs end higher than the "
                          "constant rate (training and test loss; more so cutting to a tenth); "
                          "at lr 1.0 the cut arm is not better either")
def test_lr_schedule(claim):
    """Cutting the learning rate when progress stalls ends at a lower loss than a constant rate.

    003 (hyper-parameters, "Learning rate schedule"): lower the rate when the validation
    accuracy drops, by a factor of two or ten, until it is 1/1024 of the start.
    Protocol: digits with 400 training images, MLP 64-32-10 tanh on the module path
    (``toolbox.tool_task``), SGD from lr 0.1, mini-batches of 32, 12 epochs; the rate
    constant against the engine's per-seed cut (``lr_plateau``): whenever a seed's accuracy
    on its held-out images after an epoch is not a new best (patience 1: "when it drops")
    its rate halves, down to 1/1024. The held-out split stands in for 003's validation set
    (the engine has none apart); the outcome is the training loss. Metric: training loss
    at the end. Test: Beats (paired Wilcoxon, one-sided).
    Open settings (module rule): the other factor 003 names (cut to a tenth), the rate a
    decade up (1.0), the test loss.
    A first version watched each seed's epoch training loss: at lr 0.1 it fell every epoch
    in every seed, no cut ever happened and both arms were the same runs (inconclusive,
    p = 1); 003's signal, a held-out accuracy, was then added to the engine and used.
    Seeds: 20. At 10 the verdict was inconclusive: every setting leaned against the claim
    (the cut arm higher by ~0.08, opposite p = 0.031 each) but not past Holm across the
    three trained settings; the catalog's rule is to add seeds, not to change the test.

    Finding (seeds 0-19): refuted under every setting. Training loss: cut 0.81 vs constant
    0.69; cutting to a tenth 0.92; test loss 0.87 vs 0.75; at lr 1.0 0.11 vs 0.15 on
    average, but the constant rate wins in most seeds. Held-out accuracy on 450 images ties
    or dips in most epochs, so the cuts come early and the rate ends small while the loss
    is still high. Fresh seeds (1000-1019): the same verdict under every setting.
    """
    task = tool_task(digits_net, digits, data_args={"n_train": 400},
                     tools={"lr_plateau": None, "lr_plateau_factor": 0.5,
                            "lr_plateau_monitor": "test_accuracy"},
                     optimizer="sgd", lr=0.1, batch_size=32, epochs=12)
    claim.sweep(task, schedule=PLATEAU)
    claim.expect(Beats("train_loss", along="schedule", a="cut_on_stall", b="constant",
                       greater=False))
