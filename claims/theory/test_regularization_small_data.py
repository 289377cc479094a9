"""Regularisation with little data (003 = Nielsen ch. 3, "Overfitting and regularization";
001 §19 and 004 "正则化" for dropout).

Set-up (Nielsen's overfitting experiment, on digits): his net 784-30-10 becomes 64-30-10 with
sigmoid hidden units, every weight N(0, 1) (network2's large_weight_initializer, which his
overfitting and L2 runs use; biases start at 0 here, N(0, 1) in his code), softmax
cross-entropy (the document's equivalent of his sigmoid cross-entropy), plain SGD at his
η = 0.5, mini-batch 10. "A small training set": Nielsen keeps 1,000 of MNIST's 50,000
images (2%, 100 a class); 2% of digits would leave under 3 images a class, so we keep 200
(20 a class; rule fixed before looking), from a split drawn per seed; the test set is the
split's 450 images. Budget: 100 epochs (2,000 steps; Nielsen ran 400 epochs of 100 steps),
what a catalog claim's CPU budget allows.

Penalty strengths in Nielsen's own form: C = C0 + λ/(2n) Σw² for L2 and C0 + λ/n Σ|w| for
L1, n the training-set size, weights only (not biases), with his λ = 0.1 ("l2", "l1") and
a decade up, λ = 1 ("l2_x10", "l1_x10"). At n = 200: l2 = 2.5e-4, l1 = 5e-4 (×10 for x10).

Open settings, one rule for the module (fixed before looking): the document fixes its
recipe but says it did not tune it, so each claim also runs at η a decade lower (0.05) and,
where a claim is not about strength, at λ a decade up; expectation-only alternatives (the
dropout rate, a second metric) are listed per claim.

Disclosure: a timing prototype (10 seeds, n = 200, 100 epochs, λ = 0.1) was run before
this module was written and printed test accuracies (none 0.905, L2 0.918, L1 0.913 on
average); the protocol above was not changed after it.
"""

from __future__ import annotations

import numpy as np
import pytest

from atomcheck import Beats, SharedSweep, Spread
from atomcheck.data import Dataset, digits
from atomcheck.metrics import near_zero_share
from atomcheck.models import MLPSpec, Task, TrainResult

SOURCE_OVERFIT = "003_27e8606ef87a0581.txt Overfitting and regularization"
SOURCE_L2 = "003_27e8606ef87a0581.txt Regularization"
SOURCE_L1 = "003_27e8606ef87a0581.txt Other techniques for regularization: L1"
SOURCE_DROPOUT_003 = "003_27e8606ef87a0581.txt Other techniques for regularization: dropout"
SOURCE_DROPOUT_001 = "001_4a10dabc6329af41.txt §19"
SOURCE_DROPOUT_004 = "004_2177d7888ae32ed4.txt 正则化"

#: "Small": 20 images a class.
N_TRAIN = 200
#: Nielsen's λ and the decade above it.
LAMBDA = 0.1
#: Nielsen's recipe on digits (module docstring).
RECIPE = MLPSpec(widths=(30,), activation="sigmoid", init="gaussian", init_scale=1.0,
                 loss="cross_entropy", optimizer="sgd", lr=0.5, batch_size=10, epochs=100)
#: Seeds of the penalty sweep: 20, raised from 10 after the first run (disclosed in the
#: claims): at 10, L2 at λ = 1 read inconclusive. (Dropout was tried at 20 seeds too, with
#: the same verdict, and went back to 10 for the CPU budget.) reg.l2_helps_small_data
#: runs 40 under the catalog's replication rule (its docstring).
PENALTY_SEEDS = 20
#: Open setting shared by every claim here: η a decade lower.
LR_DOWN = {"lr": 0.05}


def penalty_levels(n: int) -> dict[str, dict[str, float]]:
    """Named penalty levels in Nielsen's form at training-set size ``n``."""
    levels: dict[str, dict[str, float]] = {"none": {}}
    for name, lam in (("", LAMBDA), ("_x10", 10 * LAMBDA)):
        levels[f"l2{name}"] = {"l2": lam / (2 * n)}
        levels[f"l1{name}"] = {"l1": lam / n}
    return levels


def digits_small(*, seed: int, n_train: int = N_TRAIN, split: int | None = None) -> Dataset:
    """``n_train`` digits images for training and the 450 test images, from a split drawn
    per seed (``split=None``) or one fixed split (``split=k``: the same for every seed)."""
    return digits(seed=seed if split is None else split, n_train=n_train)


def top_decile_share(weights: list[np.ndarray]) -> float:
    """Share of the total |w| carried by the largest tenth of the weights (all matrices)."""
    flat = np.sort(np.abs(np.concatenate([np.ravel(w) for w in weights])))[::-1]
    k = max(1, len(flat) // 10)
    return float(flat[:k].sum() / flat.sum())


def weight_metrics(result: TrainResult) -> dict[str, float]:
    """The train-test gaps and the weight statistics of one run."""
    m = result.metrics
    return {"accuracy_gap": m["train_accuracy"] - m["test_accuracy"],
            "loss_gap": m["test_loss"] - m["train_loss"],
            "near_zero_share": near_zero_share(result.weights, 1e-2),
            "top_decile_share": top_decile_share(result.weights)}


SMALL_TASK = Task(digits_small, RECIPE, metrics=weight_metrics, name="theory.small_digits")


@pytest.fixture(scope="module")
def penalty_sweep() -> SharedSweep:
    """No penalty, L2 and L1 at Nielsen's λ and ten times it; trained once per setting."""
    return SharedSweep(SMALL_TASK, penalty=penalty_levels(N_TRAIN))


# =========================================================================================
# L2
# =========================================================================================

@pytest.mark.claim(claim_id="reg.l2_helps_small_data", sources=[SOURCE_OVERFIT, SOURCE_L2],
                   seeds=40, robust_over=[{"a": "l2_x10"}, LR_DOWN],
                   expected="inconclusive",
                   reason="L2 at Nielsen's λ=0.1 helps (+0.011 on seeds 0-39, +0.010 on "
                          "1000-1039) and at η=0.05 (+0.002), but a decade up, at λ=1, the "
                          "effect is -0.0025 [-0.0074, +0.0024] on seeds 0-39 (p = 0.12 the "
                          "other way: inconclusive); not replicated on seeds 1000-1039, where "
                          "λ=1 is refuted (-0.0077, p = 0.002: conditional); the power "
                          "estimate asks for about 100 seeds")
def test_l2_helps_small_data(claim, penalty_sweep):
    """L2 raises test accuracy with a small training set.

    Protocol (module docstring): 200 digits images, Nielsen's sigmoid net and recipe, with
    and without L2 at Nielsen's λ = 0.1 (λ/(2n) Σw²). Metric: test accuracy.
    Test: one-sided paired Wilcoxon, L2 > none.
    Open settings (module rule): λ a decade up; η a decade lower.
    Seeds: 20 (raised from 10 after the first run left λ = 1 inconclusive; disclosed).

    Finding (seeds 0-19): inconclusive. At Nielsen's λ = 0.1 L2 helps a little but
    reliably: test accuracy 0.925 against 0.915 (+1.1 points, supported; at 10 seeds
    0.928 against 0.918). At η = 0.05 the gain is tiny but consistent (0.868 against
    0.866, supported): in 100 epochs at that step the net barely overfits. At λ = 1 L2
    costs accuracy (0.910 against 0.915), not significantly after Holm. Fresh seeds
    (1000-1019): conditional — supported at λ = 0.1 (0.926 against 0.917) and η = 0.05
    (0.868 / 0.865), refuted at λ = 1 (0.907 against 0.917). Nielsen's gain was ~5
    points (82.3% → 87.1% on 1,000 MNIST images); on 200 digits it is ~1 point, and the
    claim holds for a λ near his, not for any λ. Not resolved at the default seeds;
    the protocol was not changed after the fresh run.

    Second look (a later helper, 40 seeds, looked at once on each seed set, the protocol
    and the declared 20 seeds unchanged): seeds 0-39 inconclusive — λ = 0.1 +0.011
    [+0.0086, +0.0134], η = 0.05 +0.0022 [+0.0013, +0.0030] (both supported), λ = 1 -0.0025
    [-0.0074, +0.0024] (p = 0.12 the other way); seeds 1000-1039 conditional — +0.010,
    +0.0026, and λ = 1 -0.0077 [-0.0125, -0.0028] (refuted, p = 0.002). Re-run at 20:
    seeds 1000-1019 conditional (λ = 1 -0.0102 [-0.0161, -0.0044], p = 0.0012 the other
    way). So L2 at Nielsen's λ helps on every seed set, and at λ = 1 it does not help;
    whether it hurts differs between seed sets (pooled over 80 seeds ~ -0.005, sd of the
    paired difference ~0.016: ~100 seeds to resolve, ~5x this sweep's cost). Neither
    "inconclusive" nor "conditional" holds on both seed sets at an affordable seed count,
    so the expectation is left for the lead. (Note on strengths: Nielsen keeps λ/n at
    1e-4 in both his runs — λ = 0.1 at n = 1,000, λ = 5 at n = 50,000; λ = 0.1 at n = 200
    is already 5x that, and λ = 1 is 50x.) The 40-seed looks cost 29-31 s CPU each.

    Seeds: 40 (its own count; the penalty sweep's PENALTY_SEEDS stays 20 for
    reg.l1_concentrates). Seeds 0-19 read again on today's engine: inconclusive, as above
    (λ = 1 0.910 against 0.915, -0.0047 [-0.0122, +0.0029], p = 0.12 the other way; λ =
    0.1 +0.0106, η = 0.05 +0.0019, both supported). Fresh seeds 1000-1019 did not
    replicate it: conditional, λ = 1 0.907 against 0.917 (-0.0102, p = 0.0012 the other
    way, refuted). Rule, as for ``atoms.depth`` and ``optim.plateau_not_done``: a claim
    that fails to replicate at the edge of its test's power gets its seeds doubled once,
    and both seed sets are rerun and kept whatever they say. Hence 40 seeds; protocol,
    metric, strengths and settings as they were.

    Finding (seeds 0-39): inconclusive. λ = 0.1: 0.9238 against 0.9128 (+0.0110, higher
    in 36 of 40 seeds, lower in 2; supported, p < 1e-7); η = 0.05: 0.8649 against 0.8627
    (+0.0022, 26 higher, 5 lower; supported, p < 1e-4); λ = 1: 0.9103 against 0.9128
    (-0.0025 [-0.0074, +0.0024], 14 higher, 22 lower; p = 0.12 the other way,
    inconclusive).
    Fresh seeds (1000-1039): not replicated: conditional. λ = 0.1: 0.9253 against 0.9153
    (+0.0100, 38 higher, none lower; supported, p < 1e-7); η = 0.05: +0.0026 (supported,
    p < 1e-4); λ = 1: 0.9077 against 0.9153 (-0.0077 [-0.0125, -0.0028], 12 higher, 25
    lower; refuted, p = 0.002). The expectation follows seeds 0-39: inconclusive. Both
    sets agree that L2 helps at Nielsen's λ and does not help at λ = 1; whether it hurts
    there is what they disagree on. Cost (wall, alone, shared 2-core machine): 13 s at 20
    seeds and 20 s at 40 under light load (16-20 s and 29-33 s under heavy load).
    """
    claim.use(penalty_sweep)
    claim.expect(Beats("test_accuracy", along="penalty", a="l2", b="none"))


#: Runs for the spread claim: more seeds, one fixed split (docstring of the claim).
STEADY_SEEDS = 20
STEADY_TASK = Task(digits_small, RECIPE, data_args={"split": 0}, name="theory.fixed_digits")


@pytest.mark.claim(claim_id="reg.l2_steadier", sources=[SOURCE_L2], seeds=STEADY_SEEDS,
                   expected="inconclusive",
                   reason="no difference in spread that 20 seeds resolve: spread ratio "
                          "L2/none 0.79 [0.55, 1.08] (split 0), 0.77 [0.56, 1.15] (split 1), "
                          "0.84 [0.65, 1.24] (split per seed), 0.93 [0.89, 1.02] (lr 0.05) on "
                          "seeds 0-19; 1.02 [0.61, 1.76], 0.78 [0.62, 1.04], 1.12 [0.91, 1.26], "
                          "1.08 [0.96, 1.25] on seeds 1000-1019, the settings disagreeing in "
                          "direction; the power estimate asks 54-105 seeds for the observed "
                          "ratios (3-5x this claim's training); no run 'gets stuck' as Nielsen "
                          "describes",
                   robust_over=[{"split": 1}, {"split": None}, LR_DOWN],
                   variance_sources=["init", "order"])
def test_l2_steadier(claim):
    """L2 makes results vary less across seeds.

    Nielsen: unregularised runs "occasionally get stuck" so that different runs give
    quite different results, while regularised runs are "much more easily replicable" —
    runs on the same data. Protocol: one fixed split of digits (split 0: the same 200
    training and 450 test images for every seed), seeds vary the initial weights and the
    order of the mini-batches; Nielsen's recipe with and without L2 at λ = 0.1. Metric:
    test accuracy. Test: paired permutation test of spread (seeds' arms swapped; squared
    deviations from each level's median), spread with L2 < without.
    Seeds: 20, fixed before looking (a variance ratio needs more runs than a mean: at 10
    seeds only ratios beyond ~4 are detectable).
    Open settings (module rule, and for the data): another fixed split (1); a split drawn
    per seed (then the spread also holds the data's variation, which L2 cannot remove); η
    a decade lower.

    Finding (seeds 0-19): inconclusive. The spread of test accuracy (rms deviation from
    the median) with L2 is 0.79x (split 0, p = 0.07), 0.77x (split 1, p = 0.10), 0.84x
    (per-seed split, p = 0.16) and 0.93x (η = 0.05, p = 0.044, supported) the spread
    without (sds: 0.0073 against 0.0093 on split 0). Means: 0.932 against 0.923 on split
    0. No run "gets stuck" here (unregularised runs span 0.907-0.938 on split 0, sd 0.009,
    against 0.918-0.944, sd 0.007, with L2), so the phenomenon Nielsen describes does not
    occur on 200 digits in 100 epochs, and what is left is a slight, unresolved narrowing
    (the tool's advice: 54-105 seeds for the observed ratios). Fresh seeds (1000-1019):
    inconclusive (ratios 1.02, 0.78 — supported there alone, p = 0.042 —, 1.12 and 1.08
    at η = 0.05, p = 0.10 the other way; means 0.933 against 0.925 on split 0).

    Settled as expected inconclusive (a second look, both seed sets re-run unchanged): the
    two seed sets do not agree even on the direction (η = 0.05: 0.93 on seeds 0-19, 1.08 on
    1000-1019), every CI holds 1, and resolving a ratio near 0.8-0.9 needs 54-105 seeds,
    3-5x this claim's ~9 s of training.

    Test changed after these findings were first written: Pitman–Morgan (normal theory,
    false-positive rate 18-25% on skewed A/A data at 10 seeds) gave the permutation test
    its place. The verdicts stayed inconclusive on both seed sets; per setting, on seeds
    1000-1019 split 1 moved from inconclusive (Pitman–Morgan p = 0.059) to supported (p =
    0.042), and η = 0.05 from refuted (p = 0.014 the other way) to inconclusive (p = 0.10).
    Nielsen's replicability effect (runs that "get stuck") needs a regime where unregularised runs
    get stuck; this one has none.

    Variance by source (``variance_sources``, added later; the verdict does not read it):
    which part of the spread would L2 remove? Under the base setting the split fixes the
    data and the recipe has no dropout, so the seeds vary the initial weights and the
    mini-batch order only; each level also trains with one of them varying alone. sd of
    test accuracy with only the initial weights / only the order / both varying — seeds
    0-19: none 0.0081 / 0.0028 / 0.0093, L2 0.0094 / 0.0022 / 0.0073; seeds 1000-1019:
    none 0.0088 / 0.0029 / 0.0070, L2 0.0065 / 0.0026 / 0.0074. The initial weights
    (N(0, 1), Nielsen's large init) carry most of the spread (alone 0.6-1.6x the variance
    with both varying, a 20-seed estimate; the order alone 9-17%). L2 trims the order's
    part slightly on both seed sets (sd 0.0028 → 0.0022, 0.0029 → 0.0026) and moves the
    initial weights' part up on one set and down on the other: no source whose variance L2
    reliably removes here. Cost: 80 more runs (2 levels × 2 sources × 20 seeds), about
    3.5 s of CPU (training 7 → 10.5 s).
    """
    claim.sweep(STEADY_TASK, penalty={k: v for k, v in penalty_levels(N_TRAIN).items()
                                      if k in ("none", "l2")})
    claim.expect(Spread("test_accuracy", along="penalty", a="l2", b="none"))


# =========================================================================================
# L1
# =========================================================================================

@pytest.mark.claim(claim_id="reg.l1_concentrates", sources=[SOURCE_L1], seeds=PENALTY_SEEDS,
                   robust_over=[{"metric": "top_decile_share"}, {"a": "l1_x10", "b": "l2_x10"},
                                LR_DOWN])
def test_l1_concentrates(claim, penalty_sweep):
    """L1 concentrates weight in few connections (more near-zero weights than L2).

    Protocol (module docstring): the same runs as reg.l2_helps_small_data; L1 (λ/n Σ|w|)
    against L2 (λ/(2n) Σw²) at the same λ = 0.1, as Nielsen compares them. Metric: the
    share of weights with |w| < 0.01 (1% of the initial N(0, 1) scale).
    Test: one-sided paired Wilcoxon, L1 > L2.
    Open settings: Nielsen's words, "concentrate the weight in a relatively small number of
    high-importance connections", as the metric — the share of Σ|w| carried by the largest
    tenth of the weights; both penalties a decade stronger; η a decade lower.
    Seeds: 20, the penalty sweep's (reg.l2_helps_small_data).

    Finding (seeds 0-19): supported under every setting, every seed. Near-zero share
    0.329 (L1) against 0.012 (L2); the largest tenth of the weights carries 0.383 of Σ|w|
    under L1 against 0.276 under L2; at λ = 1 0.803 against 0.171; at η = 0.05 0.034
    against 0.008 (fewer steps, less shrinkage, the same order). Fresh seeds
    (1000-1019): supported under every setting (0.326 against 0.012 at the base).
    """
    claim.use(penalty_sweep)
    claim.expect(Beats("near_zero_share", along="penalty", a="l1", b="l2"))


# =========================================================================================
# Dropout
# =========================================================================================

#: Dropout needs units to spare: Nielsen's larger net, 100 hidden units.
DROPOUT_TASK = Task(digits_small, RECIPE.replace(widths=(100,)), metrics=weight_metrics,
                    name="theory.small_digits_dropout")


@pytest.mark.claim(claim_id="reg.dropout_less_overfit",
                   sources=[SOURCE_DROPOUT_001, SOURCE_DROPOUT_003, SOURCE_DROPOUT_004],
                   seeds=10, expected="inconclusive",
                   reason="dropout narrows the sigmoid net's gap under every reading (rate 0.5 "
                          "and 0.2, accuracy and loss gap: supported on both seed sets), but "
                          "with ReLU units and He init the change is nil: +0.0036 [-0.0055, "
                          "+0.0126] (seeds 0-9, the wrong side) and -0.0016 [-0.0079, +0.0048] "
                          "(1000-1009), where the power estimate asks ~237 seeds; a look at 20 "
                          "seeds leaned the wrong way (refuted at that setting alone, not after "
                          "Holm)",
                   robust_over=[{"a": 0.2}, {"metric": "loss_gap"},
                                {"activation": "relu", "init": "he_normal"}])
def test_dropout_less_overfit(claim):
    """Dropout narrows the train–test gap.

    Protocol (module docstring): 200 digits images, Nielsen's recipe on a 64-100-10
    sigmoid net, without dropout and with (inverted) dropout of the hidden units at rate
    0.5 (Nielsen's "delete half the hidden neurons"; 0.2 also trained). Metric: train
    accuracy − test accuracy. Test: one-sided paired Wilcoxon, gap with dropout < without.
    Open settings (rule: the sources name no rate, no metric of overfitting and no unit):
    rate 0.2, the gap in cross-entropy (test − train loss), and ReLU units with He init.

    Finding (seeds 0-9): inconclusive. With sigmoid units dropout narrows the gap, under
    every measure: accuracy gap 0.068 (rate 0.5) and 0.068 (0.2) against 0.082 without;
    loss gap 0.246 against 0.269 (all supported). With ReLU units and He init it does not:
    0.068 against 0.064 (inconclusive; at 20 seeds, looked at once, refuted at that
    setting but not after Holm across the four). Fresh seeds (1000-1009): inconclusive,
    the same pattern — sigmoid supported (0.070 and 0.071 against 0.086; loss gap 0.248
    against 0.279), ReLU 0.064 against 0.066 (inconclusive). So dropout narrowed the gap of the
    saturating sigmoid net and left the ReLU net's unchanged; the sources state no unit,
    and the claim is not settled by these runs.

    Settled as expected inconclusive (second look, both seed sets re-run unchanged): the
    ReLU setting's effect is +0.0036 [-0.0055, +0.0126] on seeds 0-9 and -0.0016 [-0.0079,
    +0.0048] on 1000-1009 — no effect the catalog can resolve (the tool's advice: ~237
    seeds for the fresh estimate, none for the first, which lies on the wrong side). More
    seeds were not added: at 20 (looked at once) the ReLU setting leaned the other way, so
    a larger budget would more likely make the claim conditional (sigmoid yes, ReLU no)
    than supported; ~9 s of training at 10 seeds.
    """
    claim.sweep(DROPOUT_TASK, dropout=[0.0, 0.2, 0.5])
    claim.expect(Beats("accuracy_gap", along="dropout", a=0.5, b=0.0, greater=False))
