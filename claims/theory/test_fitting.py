"""Overfitting, early stopping, bias and variance (003_27e8606ef87a0581.txt, 004_…).

Part 1 — Nielsen's overfitting experiment (003, "Overfitting and regularization"; early
stopping under "Use early stopping to determine the number of training epochs"). 003
trains a 784-30-10 sigmoid net, cross-entropy, large N(0, 1) initial weights, SGD lr 0.5,
mini-batch 10, on 1,000 MNIST images for 400 epochs: test cost bottoms out near epoch 15,
test accuracy near epoch 280. The catalog runs that recipe on scikit-learn's digits
(64-30-10): 1,000 training images, the 797 held out split by class into a validation half
(398) and a test half (399) (atomcheck.toolbox.holdout). Budget: 150 epochs, not 400 (the
full budget costs ~3x the CPU time a claim may use here; on digits the mean test cost
bottoms out near epoch 100-150 of a 400-epoch run, and mean test accuracy still creeps up
by ~0.2 points after 150: seen on seeds 0-9 while costing the protocol, before any claim
ran). One batched run per seed records per-epoch training, validation and test loss and
accuracy (atomcheck.toolbox.early_stopping.validation_curves); early stopping is applied
to the recorded validation curve (a stopped net is exactly the longer run's net at that
epoch), so the stopped and the fully trained arms are paired exactly.

Seeds: 20 for the three claims of part 1 (they share one sweep). At 10 seeds the cost and
early-stopping claims were inconclusive on both seed sets (0-9 and 1000-1009) and the
overfitting claim refuted on one, conditional on the other; the seeds were doubled, the
protocol left as it was. fit.early_stopping_overfit then failed to replicate at 20 seeds
(refuted on 0-19, conditional on 1000-1019) and runs 40 under the catalog's replication
rule (its docstring); the other two read seeds 0-19 of its sweep. Training: one batched
run of 20 rows x 150 epochs per initialisation, each seed's row scored on its validation and its
test half after every epoch (atomcheck.toolbox.early_stopping.validation_curves; it used to train
two identical rows per seed, one scored on each half: the same numbers, bit for bit, at twice the
cost). Measured on the shared 2-core machine under load: 10.7 s of CPU per initialisation against
20.3 s before; the three ids' test run ~35 s of CPU in all (imports and statistics included), above
the ~8 s per id the catalog aims at.

Open settings of part 1 (rule fixed before any claim ran): 003 fixes the recipe, so the
open choices are how the rule and the readings are defined, plus the one recipe choice
the chapter itself revisits:
- patience 20 instead of Nielsen's starting "no-improvement-in-ten" (he says to adapt it);
- monitoring the validation cost (004's "validation error") instead of its accuracy;
- Nielsen's improved initialisation N(0, 1/n_in) (003's weight-init section) instead of
  the large N(0, 1) (one more training run, shared by the three claims);
- claim-specific: the "many epochs" reading and smoothing (cost claim), the loss gap
  (overfitting claim), the non-inferiority margin's half (early-stopping claim).

Part 2 — 004's bias/variance section: bias (training error) falls with a bigger network;
variance (the validation–training error gap) falls with more data. Not fixed there: the
data, net, recipe. The catalog: digits (1,347 train / 450 held out), one ReLU hidden
layer, Adam lr 1e-3, batch 32, 20 epochs (the catalog's default Adam recipe). Open
settings (rule: the other optimiser, the other reading of "error"): SGD lr 0.1; the
error read as 1 − accuracy instead of cross-entropy (bias) or the loss gap instead of
the accuracy gap (variance). The rule also named equal optimiser steps at every size for
the data claim (a fixed epoch budget gives larger sets more steps); it is not run: it
costs ~2.4x the base sweep. The confound works against the claim here (more steps let a
larger set be fitted harder, widening its gap), so it cannot manufacture the support.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from atomcheck import Beats, Falls, Threshold
from atomcheck.data import digits
from atomcheck.models import MLPSpec, Task, TrainResult
from atomcheck.toolbox.early_stopping import Curves, patience_stop, validation_curves

NIELSEN = "003_27e8606ef87a0581.txt Overfitting and regularization"
NIELSEN_STOP = ("003_27e8606ef87a0581.txt Use early stopping to determine the number of "
                "training epochs")
EARLY_STOP_004 = "004_2177d7888ae32ed4.txt 正则化 早停(early stopping)"
BIAS_VARIANCE = "004_2177d7888ae32ed4.txt 偏差/方差(bias/variance)"

# -- part 1: Nielsen's experiment on digits ------------------------------------------------

EPOCHS = 150
#: 003's recipe (784-30-10 on MNIST there; 64-30-10 on digits here).
NIELSEN_SPEC = MLPSpec(widths=(30,), activation="sigmoid", init="gaussian", init_scale=1.0,
                       loss="cross_entropy", optimizer="sgd", lr=0.5, batch_size=10,
                       epochs=EPOCHS)
#: 1,000 training images; the other 797 held out (test_size = 797/1797).
NIELSEN_DATA = {"n_train": 1000, "test_size": 797 / 1797}
PATIENCE = 10
#: Non-inferiority margin: one binomial standard deviation of a test accuracy near 0.965
#: on the 399-image test half, sqrt(0.965 * 0.035 / 399) = 0.0092, rounded to 0.01.
NON_INFERIORITY = 0.01


def _block(seed: int) -> tuple[int, ...]:
    """The ten seeds trained together with ``seed`` (one batched run per block)."""
    start = seed - seed % 10
    return tuple(range(start, start + 10))


@functools.lru_cache(maxsize=None)
def _curves_block(seeds: tuple[int, ...], init: str) -> dict[int, Curves]:
    spec = NIELSEN_SPEC if init == "gaussian" else NIELSEN_SPEC.replace(init=init)
    data = [digits(seed=s, **NIELSEN_DATA) for s in seeds]
    return dict(zip(seeds, validation_curves(spec, data, list(seeds))))


def curves(seed: int, init: str = "gaussian") -> Curves:
    """Seed ``seed``'s per-epoch records under 003's recipe (``init`` "gaussian" = N(0, 1),
    or "scaled_normal" = N(0, 1/n_in))."""
    return _curves_block(_block(seed), init)[seed]


def _trailing_mean(x: np.ndarray, window: int) -> np.ndarray:
    c = np.cumsum(np.insert(x, 0, 0.0))
    out = np.empty_like(x)
    for i in range(len(x)):
        lo = max(0, i + 1 - window)
        out[i] = (c[i + 1] - c[lo]) / (i + 1 - lo)
    return out


def cost_vs_accuracy(seed: int, *, held_out: str, smooth: int = 1,
                     init: str = "gaussian") -> dict[str, float]:
    """Epoch of the lowest held-out cost, epoch of the highest held-out accuracy (the
    first of equals), and how many epochs the accuracy peak comes after the cost minimum.
    ``smooth`` > 1 reads both curves through a trailing mean of that many epochs."""
    c = curves(seed, init)
    loss, acc = getattr(c, f"{held_out}_loss"), getattr(c, f"{held_out}_accuracy")
    if smooth > 1:
        loss, acc = _trailing_mean(loss, smooth), _trailing_mean(acc, smooth)
    cost_min, acc_peak = int(np.argmin(loss)) + 1, int(np.argmax(acc)) + 1
    return {"cost_min_epoch": cost_min, "accuracy_peak_epoch": acc_peak,
            "lead_epochs": acc_peak - cost_min}


def stopped_or_not(seed: int, *, arm: str, patience: int = PATIENCE,
                   monitor: str = "validation_accuracy", init: str = "gaussian"
                   ) -> dict[str, float]:
    """The net of ``arm`` "stopped" (no-improvement-in-``patience`` on ``monitor``, the
    net at the stopping epoch) or "to_end" (all 150 epochs): its test accuracy and loss,
    its train–test gaps, its epoch, and the stopped minus the full run's test accuracy."""
    c = curves(seed, init)
    stop = patience_stop(getattr(c, monitor), patience, greater=monitor.endswith("accuracy"))
    epoch = stop.stop_epoch if arm == "stopped" else EPOCHS
    m = c.at(epoch)
    return {"test_accuracy": m["test_accuracy"], "test_loss": m["test_loss"],
            "gap_accuracy": m["train_accuracy"] - m["test_accuracy"],
            "gap_loss": m["test_loss"] - m["train_loss"], "epoch": float(epoch),
            "accuracy_change": c.at(stop.stop_epoch)["test_accuracy"]
            - c.at(EPOCHS)["test_accuracy"]}


SCALED_INIT = {"init": "scaled_normal"}


@pytest.mark.claim(claim_id="fit.cost_overfits_before_accuracy", sources=[NIELSEN], seeds=20,
                   expected="refuted",
                   reason="on digits the order is the other way: held-out accuracy peaks a "
                          "median 30-50 epochs BEFORE the held-out cost bottoms out (the cost "
                          "minimum is shallow and late, near epoch 100-150), under the large "
                          "and the scaled init alike; smoothing both curves leaves it "
                          "undecided, never supported",
                   robust_over=[{"above": EPOCHS // 10}, {"smooth": PATIENCE}, SCALED_INIT])
def test_fit_cost_overfits_before_accuracy(claim):
    """With little data, test cost starts rising many epochs before test accuracy stops improving.

    Protocol (module docstring, part 1): 003's recipe on 1,000 digits, 150 epochs; per seed
    the epoch of the lowest held-out cost and of the highest held-out accuracy, on each
    held-out half (test and validation: two independent readings, a family).
    Metric: lead = accuracy-peak epoch − cost-minimum epoch. Test: one-sided sign test,
    median lead > 0, on each half (both must hold).
    Open settings (module rule): "many" read as more than a tenth of the budget (15
    epochs); both curves smoothed by a 10-epoch trailing mean (argmax of a noisy,
    plateauing accuracy curve is fragile); Nielsen's N(0, 1/n_in) init.

    Finding (seeds 0-19): refuted. Median lead −49 epochs (mean −47 on the test half,
    −43.5 on the validation half) with the large init, −30 (means −34, −24) with the
    scaled init: refuted under both and under "many" = 15; smoothed by a 10-epoch mean the
    lead is near zero (means +0.25 and −6), inconclusive. MNIST's picture in 003 (cost
    minimum at epoch 15, accuracy peak at 280) does not carry over to 1,000 digits: with
    64 inputs the net needs ~100 epochs before its held-out cost stops falling, while its
    held-out accuracy (on ~400 images, a 0.25-point grain) reaches its best earlier and
    then only wanders. Within 150 epochs the claim is refuted; a 400-epoch budget was not
    run (cost). Fresh seeds (1000-1019): refuted (median lead −27; scaled init −31;
    smoothed inconclusive).
    """
    claim.sweep(cost_vs_accuracy, held_out=["test", "validation"])
    claim.expect(Threshold("lead_epochs", above=0))


@pytest.mark.claim(claim_id="fit.early_stopping", sources=[NIELSEN_STOP], seeds=20,
                   expected="inconclusive",
                   reason="stopping costs -0.0070 [-0.0092, -0.0048] (seeds 0-19) and -0.0060 "
                          "[-0.0082, -0.0038] (1000-1019) of test accuracy: inside the one-SD "
                          "margin (supported at patience 10 and 20 and with the cost monitor on "
                          "both seed sets) but not shown inside half of it: at -0.005 the loss "
                          "leans past the margin unresolved (p = 0.035 alone, not after Holm; "
                          "0.19 on 1000-1019); resolving it needs ~100 seeds (pooled -0.0065, sd "
                          "0.0047; 5x the shared sweep); the scaled init is supported on seeds "
                          "1000-1019 (p = 0.022), not on 0-19 (p = 0.066, ~36 seeds)",
                   robust_over=[{"patience": 20}, {"monitor": "validation_loss"}, SCALED_INIT,
                                {"above": -NON_INFERIORITY / 2}])
def test_fit_early_stopping(claim):
    """Stopping at no-improvement-in-N keeps test accuracy at least as high as training to the end.

    Protocol (module docstring, part 1): per seed, 003's run recorded for 150 epochs;
    no-improvement-in-ten on validation accuracy picks a stopping epoch; metric: the
    stopped net's test accuracy minus the fully trained net's (test half, paired exactly).
    Test: non-inferiority, one-sided t-type test that the mean change is above −0.01
    (one binomial SD of the test-half accuracy: a loss smaller than that counts as "at
    least as high").
    Open settings (module rule): patience 20; monitoring validation cost; N(0, 1/n_in)
    init; half the margin (−0.005).

    Finding (seeds 0-19): inconclusive, the test fails. Early stopping costs a little
    test accuracy: mean change −0.0070 [95% CI −0.0092, −0.0048] (stopping at epoch ~40-60
    of 150), inside the one-SD margin: supported at patience 10 and 20 (−0.0034) and when
    monitoring validation cost (−0.0024); with the scaled init −0.0060, p = 0.066; at half
    the margin the loss leans past it (p = 0.035 the other way, not significant after
    Holm over five settings). So "at least as high" holds within one binomial SD of the
    test accuracy and not within half of one: a margin question the data do not settle at
    20 seeds. Fresh seeds (1000-1019): inconclusive the same way (supported under the
    four other settings, −0.0060 [−0.0082, −0.0038] at the base, −0.0063 with the scaled
    init, p = 0.022; the half margin undecided, p = 0.19 the other way).

    Settled as expected inconclusive (second look, both seed sets re-run unchanged): the
    mean loss, −0.006 to −0.007, lies between the two margins, so the half-margin setting
    can only come out refuted (making the claim conditional), and that takes ~100 seeds
    (t-test power at the pooled effect, Holm over five settings) — 5x the shared sweep. The
    tool's own advice (~36 seeds) is for the scaled init alone; more seeds were not added
    since they would not settle the half margin.
    """
    claim.sweep(stopped_or_not, arm=["stopped"])
    claim.expect(Threshold("accuracy_change", above=-NON_INFERIORITY, of="mean"))


@pytest.mark.claim(claim_id="fit.early_stopping_overfit", sources=[EARLY_STOP_004, NIELSEN_STOP],
                   seeds=40, expected="conditional",
                   reason="read as 004 defines variance, the accuracy gap, early stopping "
                          "overfits MORE: the training accuracy reaches 1.0 by epoch ~60 while "
                          "the test accuracy keeps creeping up, so the gap shrinks with "
                          "training (0.036 stopped vs 0.030 at 150 epochs, seeds 0-39), under "
                          "every patience, monitor and init (refuted); only the cross-entropy "
                          "gap shrinks with stopping (−0.0073, p = 0.001: supported; −0.0099 "
                          "on seeds 1000-1039)",
                   robust_over=[{"metric": "gap_loss"}, {"patience": 20},
                                          {"monitor": "validation_loss"}, SCALED_INIT])
def test_fit_early_stopping_overfit(claim):
    """Early stopping reduces overfitting.

    Protocol (module docstring, part 1): the same recorded runs as fit.early_stopping;
    overfitting read as 004 defines variance, the gap between held-out and training error:
    train accuracy − test accuracy of the stopped net against the fully trained net.
    Test: one-sided Wilcoxon signed-rank, stopped gap < full gap, paired by seed.
    Open settings (module rule): the gap in cross-entropy (test − train loss); patience
    20; monitoring validation cost; N(0, 1/n_in) init.

    Finding (seeds 0-19): refuted. Accuracy gap stopped / full: 0.0348 / 0.0293 (refuted);
    patience 20 (+0.0032), validation-cost monitor (+0.0024) and the scaled init
    (+0.0032) refuted too; the cross-entropy gap is 0.0065 smaller when stopped
    (supported alone, p = 0.013; Holm over five settings leaves it out). Fresh seeds
    (1000-1019): conditional — the accuracy gap refuted the same way (0.0330 / 0.0282),
    the cross-entropy gap supported (−0.0094, p = 0.0005). Both seed sets say the same
    thing: early stopping reduces overfitting of the cost, not of the accuracy; which
    verdict the family reaches at 20 seeds turns on one p-value near the Holm line.

    Seeds: 40, not the shared sweep's 20 (its seeds 0-19 are shared with the two claims
    above; this claim alone trains seeds 20-39, under both inits). Seeds 0-19 read again on
    today's engine gave the numbers above (refuted; cross-entropy gap −0.0065, p = 0.013,
    supported alone, not after Holm over the five settings); fresh seeds 1000-1019 did not
    replicate it: conditional, the cross-entropy gap −0.0094 (p = 0.0005, past Holm). Rule,
    as for ``atoms.depth`` and ``optim.plateau_not_done``: a claim that fails to replicate
    at the edge of its test's power gets its seeds doubled once, and both seed sets are
    rerun and kept whatever they say. Hence 40 seeds; protocol, metric and settings as
    they were.

    Finding (seeds 0-39): conditional. Accuracy gap stopped / full 0.0358 / 0.0298
    (+0.0060, wider when stopped in 33 of 40 seeds, 5 narrower; refuted, p < 1e-6);
    patience 20 +0.0037 (29 wider, 6 narrower), validation-cost monitor +0.0029 (25
    wider, none narrower) and the scaled init +0.0028 (27 / 13, p = 0.006) refuted too;
    the cross-entropy gap 0.0968 / 0.1040 (−0.0073, narrower in 24 of 40 seeds;
    supported, p = 0.001, past Holm).
    Fresh seeds (1000-1039): the same verdict. Accuracy gap 0.0339 / 0.0298 (+0.0041, 28
    wider, 11 narrower; refuted, p = 0.0001); patience 20 +0.0021 (p = 0.009), monitor
    +0.0021 (p = 0.0006), scaled init +0.0020 (p = 0.014), all refuted; cross-entropy gap
    0.0953 / 0.1052 (−0.0099, narrower in 33 of 40; supported, p < 1e-6). So early
    stopping reduces the overfitting of the cost, not of the accuracy, on both seed sets.
    Cost (wall, shared 2-core machine): alone, 26 s at 20 seeds and 45 s at 40 under light
    load (40 s and 62-67 s under heavy load); in the file, after the two claims above have
    trained seeds 0-19, 0.04 s before and 23 s now (the file: 39 → 63 s of CPU).
    """
    claim.sweep(stopped_or_not, arm=["stopped", "to_end"])
    claim.expect(Beats("gap_accuracy", along="arm", a="stopped", b="to_end", greater=False))


# -- part 2: 004's bias and variance -------------------------------------------------------

BIAS_SPEC = MLPSpec(widths=(64,), activation="relu", init="he_uniform", loss="cross_entropy",
                    optimizer="adam", lr=1e-3, batch_size=32, epochs=20)
WIDTHS = [(4,), (8,), (16,), (32,), (64,)]
SIZES = [100, 200, 400, 800, 1347]
SGD = {"optimizer": "sgd", "lr": 0.1}


def error_metrics(result: TrainResult) -> dict[str, float]:
    """Training error as 1 − accuracy and the train–test gaps (accuracy and loss)."""
    m = result.metrics
    return {"train_error": 1.0 - m["train_accuracy"],
            "gap_accuracy": m["train_accuracy"] - m["test_accuracy"],
            "gap_loss": m["test_loss"] - m["train_loss"]}


BIAS_TASK = Task(digits, BIAS_SPEC, metrics=error_metrics, name="fit.bias_variance")


@pytest.mark.claim(claim_id="fit.bigger_less_bias", sources=[BIAS_VARIANCE], seeds=10,
                   robust_over=[SGD, {"metric": "train_error"}])
def test_fit_bigger_less_bias(claim):
    """Training error falls as the network widens.

    Protocol (module docstring, part 2): digits, one ReLU hidden layer of 4, 8, 16, 32 or 64
    units, Adam lr 1e-3, batch 32, 20 epochs. Metric: training cross-entropy. Test: Page's
    L, falling with width, seeds as blocks.
    Open settings (module rule): SGD lr 0.1; training error as 1 − accuracy.

    Finding (seeds 0-9): supported under every setting. Mean training cross-entropy at 4,
    8, 16, 32, 64 units: 1.35, 0.59, 0.30, 0.18, 0.12 (Adam); 0.83, 0.27, 0.16, 0.16, 0.13
    (SGD lr 0.1: flat from 16 units on, still a falling trend); training error 0.46,
    0.14, 0.06, 0.036, 0.019. Fresh seeds (1000-1009): supported under every setting
    (1.29 → 0.12; SGD 0.83 → 0.10; error 0.45 → 0.021).
    """
    claim.sweep(BIAS_TASK, widths=WIDTHS)
    claim.expect(Falls("train_loss", along="widths", order=WIDTHS))


@pytest.mark.claim(claim_id="fit.more_data_less_variance", sources=[BIAS_VARIANCE], seeds=10,
                   robust_over=[SGD, {"metric": "gap_loss"}])
def test_fit_more_data_less_variance(claim):
    """The train–validation gap shrinks as the training set grows.

    Protocol (module docstring, part 2): digits, the first 100, 200, 400, 800 or all 1,347
    training images of the seed's split, the same 450 held out; 64 ReLU units, Adam lr
    1e-3, batch 32, 20 epochs. Metric: train accuracy − held-out accuracy. Test: Page's L,
    falling with size, seeds as blocks.
    Open settings (module rule): SGD lr 0.1; the gap in cross-entropy.

    Finding (seeds 0-9): supported under every setting. Mean accuracy gap at 100, 200,
    400, 800, 1,347 images: 0.149, 0.069, 0.030, 0.020, 0.017 (Adam); 0.130, 0.063, 0.040,
    0.019, 0.016 (SGD); loss gap 0.237, 0.137, 0.069, 0.043, 0.032. Fresh seeds
    (1000-1009): supported under every setting (0.140 → 0.018; SGD 0.115 → 0.019; loss
    gap 0.203 → 0.034).
    """
    claim.sweep(BIAS_TASK, n_train=SIZES)
    claim.expect(Falls("gap_accuracy", along="n_train"))
