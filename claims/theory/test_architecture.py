"""Depth and architecture (001 §20; 002 §1.1 against 000 §2).

Both claims train MLPs on the seed-batched engine (``MLPSpec``; ``residual=True`` adds each
hidden layer's input back to its output from the second hidden layer on).

arch.residual_deeper (001 §20: "ResNet: the residual block lets the network be deeper").
ResNet's blocks carry BatchNorm, and so does the recipe here: digits, 20 hidden layers of
width 32, each Linear → BatchNorm → ReLU, Xavier-uniform weights, cross-entropy, plain SGD
at lr 0.1, batches of 128, 3 epochs; the same net with and without the residual additions
(``h + relu(BN(W h))`` from the second hidden layer on), same seeds. Open settings: the
other optimiser (Adam at lr 1e-3) and no normalisation at all.
History, disclosed: the first protocol (fixed before looking) had no normalisation, 10
epochs, and open settings He-normal init and Adam. Every residual net diverged at SGD lr
0.1 under Xavier and under He init (without normalisation each block adds relu(W h) to h,
so the forward signal grows about 1.5-fold per layer: 1.5^19 ≈ 2,000-fold), while the
plain nets sat at chance (0.11 and 0.22); under Adam both reached about 0.40 (residual
0.39, plain 0.41: inconclusive). That protocol tested a residual net ResNet never was; the
recipe above adds ResNet's BatchNorm, and the unnormalised net stays as an open setting
so its verdict stays visible. The epochs went from 10 to 3 for CPU time (a BatchNorm step
of 20 layers costs ~30 ms on the engine); the He-normal setting was dropped with them
(with BatchNorm the initial scale hardly matters: norm.bn_init_insensitive).

arch.deep_beats_shallow ⚔ (002 §1.1: "in practice deep, narrow nets predict better than
shallow, wide ones"; 000 §2: the author tried to reproduce the papers that say deep nets
need fewer parameters and could not — "that a set of parameters exists does not mean SGD
can find it" — except on one alternating problem, atoms.depth). Target, fixed before
looking: a compositional function of 8 inputs, the binary tree of Mhaskar and Poggio,
f(x) = h(h(h(x1, x2), h(x3, x4)), h(h(x5, x6), h(x7, x8))) with h(a, b) = tanh(a b + a + b),
inputs uniform on [-1, 1], targets standardised by the training split; 1,000 training and
1,000 test points per seed; regression with MSE. Nets of (almost) the same parameter
count: deep 8-16-16-16-16-1 (977 parameters) against shallow 8-98-1 (981). Recipe: ReLU,
Xavier-uniform, Adam at lr 1e-3, batches of 64, 30 epochs. Open settings, one rule: the
other optimiser (SGD with momentum 0.9 at lr 0.01) and the other activation family (tanh).
"""

from __future__ import annotations

import numpy as np
import pytest

from atomcheck import Beats
from atomcheck.data import Dataset, digits
from atomcheck.models import MLPSpec, Task
from atomcheck.seeding import rng

SOURCE_RESNET = "001_4a10dabc6329af41.txt §20"
SOURCE_DEEP = "002_fe851f770cc63e0f.txt §1.1"
SOURCE_CAVEAT = "000_07dadddd682b9602.txt §2"

# -- arch.residual_deeper --------------------------------------------------------------------

DEPTH, WIDTH = 20, 32
RESIDUAL_TASK = Task(digits, MLPSpec(widths=(WIDTH,) * DEPTH, activation="relu",
                                     init="xavier_uniform", loss="cross_entropy",
                                     optimizer="sgd", lr=0.1, batch_size=128, epochs=3,
                                     norm="batch"),
                     name="theory.residual")


@pytest.mark.claim(
    claim_id="arch.residual_deeper", sources=[SOURCE_RESNET], seeds=10,
    robust_over=[{"optimizer": "adam", "lr": 0.001}, {"norm": None}],
    expected="conditional",
    reason="with ResNet's BatchNorm in every block the residual net trains far ahead of the "
           "plain one of the same depth (training accuracy 0.84 against 0.52 under SGD, 0.54 "
           "against 0.13 under Adam); without any normalisation the residual sums grow "
           "~1.5-fold per layer and every residual net diverges at SGD lr 0.1, while the "
           "plain net sits at chance (0.11)")
def test_arch_residual_deeper(claim):
    """Residual connections let deep MLPs train where plain ones of the same depth do not.

    Protocol (module docstring): 20 hidden layers of width 32 (Linear → BatchNorm → ReLU)
    on digits, with and without residual additions (same parameters, same initial draw),
    3 epochs of SGD at lr 0.1. Metric: training accuracy. Test: one-sided paired
    Wilcoxon, residual > plain. A diverged run counts against the claim.
    Open settings (module docstring): Adam at lr 1e-3; no normalisation.

    Finding (seeds 0-9): conditional. With BatchNorm: residual 0.836 against plain 0.521
    (SGD; residual ahead in every seed, though seed 8 reaches only 0.54), 0.539 against
    0.132 (Adam 1e-3: the plain 20-layer net has barely moved in 3 epochs). Without
    normalisation: 10/10 residual nets diverge, plain nets at 0.106 — refuted there, since a
    diverged run never counts for a claim. Residual connections make depth trainable
    together with normalisation, not alone. Fresh seeds (1000-1009): the same, conditional
    (0.863 against 0.519 under SGD, 0.541 against 0.126 under Adam; without normalisation
    10/10 residual nets diverge, plain 0.109).
    """
    claim.sweep(RESIDUAL_TASK, residual=[True, False])
    claim.expect(Beats("train_accuracy", along="residual", a=True, b=False))


# -- arch.deep_beats_shallow -----------------------------------------------------------------

#: Inputs of the compositional target (a binary tree of depth 3 over 8 inputs).
TREE_INPUTS = 8


def _node(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.tanh(a * b + a + b)


def compositional(*, seed: int, n_train: int = 1000, n_test: int = 1000) -> Dataset:
    """The module's compositional regression target, drawn per seed (targets
    standardised by the training split's mean and standard deviation)."""
    gen = rng(seed, "theory.architecture.compositional")
    x = gen.uniform(-1.0, 1.0, size=(n_train + n_test, TREE_INPUTS))
    level = [x[:, i] for i in range(TREE_INPUTS)]
    while len(level) > 1:
        level = [_node(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    y = level[0]
    mu, sd = y[:n_train].mean(), y[:n_train].std()
    y = ((y - mu) / sd).reshape(-1, 1)
    x, y = x.astype(np.float32), y.astype(np.float32)
    return Dataset(x[:n_train], y[:n_train], x[n_train:], y[n_train:], 0)


def parameter_count(widths: tuple[int, ...], n_in: int = TREE_INPUTS, n_out: int = 1) -> int:
    """Weights and biases of an MLP with these hidden widths."""
    dims = [n_in, *widths, n_out]
    return sum(i * o + o for i, o in zip(dims[:-1], dims[1:]))


#: Deep narrow against shallow wide, parameter counts within 0.5% (977 and 981).
SHAPES = {"deep": {"widths": (16, 16, 16, 16)}, "shallow": {"widths": (98,)}}
DEEP_TASK = Task(compositional, MLPSpec(widths=(16,), activation="relu", init="xavier_uniform",
                                        loss="mse", optimizer="adam", lr=0.001, batch_size=64,
                                        epochs=30),
                 name="theory.deep_vs_shallow")


@pytest.mark.claim(claim_id="arch.deep_beats_shallow", sources=[SOURCE_DEEP, SOURCE_CAVEAT],
                   seeds=20, robust_over=[{"optimizer": "momentum", "lr": 0.01},
                                          {"activation": "tanh"}])
def test_arch_deep_beats_shallow(claim):
    """A deep narrow net beats a shallow wide one with the same parameter count.

    Protocol (module docstring): the compositional 8-input tree target; deep 4x16 against
    shallow 1x98 (977 and 981 parameters), same data and seeds. Metric: test MSE on
    standardised targets (1.0 = predicting the mean). Test: one-sided paired Wilcoxon,
    deep < shallow.
    Open settings (module rule): SGD with momentum 0.9 at lr 0.01, tanh.
    Both sides (⚔): 002 §1.1 says deep narrow nets beat shallow wide ones in practice;
    000 §2 says the papers behind that could not be reproduced with SGD.

    Finding (seeds 0-9): supported under every setting — 002's side. Test MSE, deep
    against shallow: 0.137 against 0.163 (Adam), 0.110 against 0.147 (momentum), 0.179
    against 0.353 (tanh); deep lower in 9, 9 and 10 seeds of 10. On a target that is a
    composition, SGD-type training does find the deep net's advantage here; 000 §2's
    caveat (that it need not) does not bite at this size. Fresh seeds (1000-1009): did
    NOT replicate under the base setting — inconclusive (0.145 against 0.156, p=0.053,
    deep higher in 3 of 10 seeds) — and replicated under momentum (0.091 against 0.142) and
    tanh (0.175 against 0.348), so the claim's verdict on fresh seeds is inconclusive. Under
    Adam with ReLU the advantage is about a tenth of the error and at the edge of what 10
    seeds show; the protocol was not changed after the fresh run.

    Seeds: 20, not 10, by the catalog's replication rule (as for ``atoms.depth`` and
    ``optim.plateau_not_done``): a claim that fails to replicate on fresh seeds at the edge
    of its test's power gets its seeds doubled once, and both seed sets are rerun and kept
    whatever they say. On today's engine (a seed's numbers no longer depend on its batch)
    the 10-seed runs read: seeds 0-9 supported under every setting (base 0.137 against
    0.163, p = 0.002, deep lower in 9 of 10; momentum 0.110 against 0.147, p = 0.019;
    tanh 0.179 against 0.353, p = 0.001); fresh seeds 1000-1009 inconclusive at the base
    (0.145 against 0.156, p = 0.053, deep lower in only 6 of 10, two of the other four by
    less than 0.001), while momentum (0.091 against 0.142) and tanh (0.175 against 0.348)
    replicated at p = 0.001. Hence 20.

    Finding (seeds 0-19): supported under every setting. Test MSE, deep against shallow:
    0.137 against 0.159 (Adam; deep lower in 17 of 20 seeds, p < 1e-4), 0.104 against
    0.145 (momentum; 19 of 20, p < 1e-4), 0.174 against 0.349 (tanh; 20 of 20, p < 1e-5).
    Fresh seeds (1000-1019): the same verdict: 0.140 against 0.154 at the base (14 of 20,
    p = 0.0008), 0.097 against 0.141 (momentum) and 0.169 against 0.342 (tanh), both 20 of
    20 and p < 1e-5. The base advantage stays small (0.014-0.022, about a tenth of the
    error) but keeps its sign on both seed sets. 20 seeds cost 11 s of the claim's wall
    time (10 seeds: 6-8 s).
    """
    # The premise: the two shapes differ by less than 0.5% in parameters.
    assert [parameter_count(s["widths"]) for s in SHAPES.values()] == [977, 981]
    claim.sweep(DEEP_TASK, shape=SHAPES)
    claim.expect(Beats("test_mse", along="shape", a="deep", b="shallow", greater=False))
