"""Learning rate and optimisers (001 §2 and §10, 002 §3.3).

Set-up shared by the digits claims (a rule fixed before looking, as the documents name no
net, data or recipe): scikit-learn's digits (64 pixels in [0, 1], 10 classes; 1,347 train,
450 test, split per seed), an MLP 64-32-10 with tanh, Xavier-uniform init, cross-entropy,
mini-batches of 32, float32 (``DIGITS_RECIPE``), trained seed-batched on the native engine.
The learning rate is the catalog's 0.01 for SGD and torch's defaults for the adaptive
optimisers (Adam 1e-3, AdaGrad and RMSProp 0.01).

Open settings, one rule for the module: each claim runs under its base and under what its
source leaves open and could change the answer — the learning rate a decade up where
optimisers are compared at one rate, the training budget ×3 where the claim is about
"later" or "slowly", the other activation (ReLU) where the net is a choice, and the other
optimiser where one is a choice. Each claim names its own.

"Loss" is the training cross-entropy: these claims are about optimisation. A run that
diverges is counted as no progress (``toolbox.trajectory.loss_progress``) where the claim
itself predicts divergence (too large a rate); elsewhere the default policy applies.
"""

from __future__ import annotations

import math

import pytest

from atomcheck import Beats, Peaks, Threshold
from atomcheck.data import digits
from atomcheck.models import MLPSpec, Task, TrainResult
from atomcheck.toolbox.ravine import descend_many, ravine
from atomcheck.toolbox.seed_batch import SeedBatched
from atomcheck.toolbox.trajectory import (
    effective_steps,
    epochs_to_reach,
    fall_after_small_gradient,
    global_grad_norms,
    loss_progress,
)

SOURCE_2 = "001_4a10dabc6329af41.txt §2"
SOURCE_10 = "001_4a10dabc6329af41.txt §10"
SOURCE_OPT = "002_fe851f770cc63e0f.txt §3.3"
SOURCE_PLAIN = "004_2177d7888ae32ed4.txt 深度神经网络优化的困难"

#: The module's digits recipe (module docstring).
DIGITS_RECIPE = MLPSpec(widths=(32,), activation="tanh", init="xavier_uniform",
                        loss="cross_entropy", optimizer="sgd", lr=0.01, batch_size=32,
                        epochs=10)
#: Cross-entropy of a uniform guess over 10 classes: the loss "at the start".
CHANCE_LOSS = math.log(10)


def digits_task(name: str, metrics=None, data_args=None, **changes) -> Task:
    """The module's digits recipe with ``changes``, as a seed-batched Task."""
    return Task(digits, DIGITS_RECIPE.replace(**changes), data_args=data_args or {},
                metrics=metrics, name=name)


# --------------------------------------------------------------------------- §2 plateaus


def plateau_metrics(result: TrainResult) -> dict[str, float]:
    """Relative fall of the training loss after the first near-zero-gradient epoch."""
    if not result.history:
        return {"fall_after_small_gradient": 0.0}
    g = global_grad_norms(result.history)
    return {"fall_after_small_gradient": fall_after_small_gradient(
        result.history["train_loss"], g, rel_tol=0.01),
        "gradient_start_over_peak": float(g[0] / max(g.max(), 1e-300))}


@pytest.mark.claim(claim_id="optim.plateau_not_done", sources=[SOURCE_2, SOURCE_PLAIN],
                   seeds=20, robust_over=[{"activation": "relu"},
                                          {"optimizer": "momentum", "lr": 0.1}],
                   expected="conditional",
                   reason="the tanh base supports it (16 of 20 seeds fall by more than half "
                          "after the first near-zero-gradient step), but within 100 "
                          "full-batch steps ReLU nets are still on the plateau when the "
                          "budget ends (median fall 0.006), and with momentum no step's "
                          "gradient is as low as 1% of the peak (5-7% at the start) although "
                          "the loss sits at ln 10")
def test_plateau_not_done(claim):
    """A near-zero gradient norm does not mean training is finished: loss later falls substantially.

    001 §2: parameters whose gradient is (near) zero may sit on a plateau half-way down the
    mountain, not at its foot; 004 adds that flat saddle regions keep the gradient near
    zero for a long time and slow optimisation down.
    Protocol: a task with a plateau (the catalog's hint: small init, a deep net) — digits
    with 500 training images, MLP 64-32-32-32-10, tanh, Gaussian init with σ = 0.05 (the
    net starts next to the saddle at zero weights), full-batch gradient descent (one step
    per epoch, so the recorded gradient is the true one) at lr 1.0 for 100 steps. Per seed:
    the gradient norm over all weight matrices at each step; "near zero" (rule fixed
    before looking) = at most 1% of the largest norm that run reaches; t = the first such
    step, where a rule "a near-zero gradient means training is done" would stop; metric =
    the relative fall of the training loss from there (the loss after step t: one step
    conservative) to the end, (L_t − L_end) / L_t (0 when no step is near zero, or the run
    diverged). A first version took the last near-zero step instead; in a run that
    converges that is its end, so it measured convergence, not plateaus (seeds 0-9: base
    median 0.62, ReLU 0.06, momentum 0.00, refuted); replaced by the stopping rule's step.
    Test: "substantially" = by more than half: Threshold above 0.5 (median, sign test).
    Open settings (module rule): ReLU in place of tanh; heavy-ball momentum 0.9 at lr 0.1
    (the same effective step) in place of plain gradient descent.

    Seeds: 20, not 10 (fixed after the fresh-seed check below, before looking at seeds
    10-19): at 10 seeds the base's sign test is decided by seed luck.

    Finding at 10 seeds (seeds 0-9): refuted, on the budget and the tolerance rather than
    on the idea. Base (tanh): the first near-zero step is the start in most seeds (the
    gradient there is 0.6-1% of its later peak) and the loss then falls from 2.30 to
    0.55-1.6 within the 100 steps: median fall 0.63, 7 of 10 seeds above half (sign test
    p = 0.17, inconclusive; 6 of 10 before the engine's batch-independence fix changed
    the seeds' last bits). ReLU: the nets are still on the plateau when the budget ends
    (the gradient peaks at steps 60-90; loss 1.8-2.3): median fall 0.07 (refuted).
    Momentum: the loss sits at ln 10 for tens of steps and then falls to 0.38-0.67, but the
    gradient at the start is already 5-7% of its peak, so no step counts as near zero by
    the 1% rule: 0 (refuted). Fresh seeds 1000-1009 did not replicate it: 9 of 10 base
    seeds fell by more than half (p = 0.011, supported), so the claim read conditional.
    Ten seeds cannot tell a base that falls by half in ~80% of seeds from one that does
    in half of them; hence 20.

    Finding (seeds 0-19): conditional. Base: 16 of 20 seeds above half, median fall 0.64
    (p = 0.006, supported); ReLU median 0.006 and momentum 0 (both refuted, 0 of 20).
    Fresh seeds (1000-1019): the same verdict (base 19 of 20 above half, median 0.67;
    ReLU 0.008; momentum 0). So a near-zero gradient at the start of a tanh net's plateau
    is not the end of training — the document's point — while with ReLU or momentum the
    same 1% rule and 100-step budget see no such fall.
    """
    task = Task(digits, MLPSpec(widths=(32, 32, 32), activation="tanh", init="gaussian",
                                init_scale=0.05, optimizer="sgd", lr=1.0, batch_size=500,
                                epochs=100, history=True, grad_norms=True),
                data_args={"n_train": 500}, metrics=plateau_metrics, name="optim.plateau")
    claim.sweep(task)
    claim.expect(Threshold("fall_after_small_gradient", above=0.5))


# --------------------------------------------------------------------------- §10 lr U-shape

#: Six decades of learning rate, 1e-4 … 10.
LR_GRID = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]


def progress_metrics(result: TrainResult) -> dict[str, float]:
    """Share of the chance-level loss the run removed (a diverged run: none)."""
    return {"progress": loss_progress(result.metrics["train_loss"], CHANCE_LOSS)}


@pytest.mark.claim(claim_id="optim.lr_u_shape", sources=[SOURCE_10], seeds=10,
                   robust_over=[{"optimizer": "adam"}, {"epochs": 9}])
def test_lr_u_shape(claim):
    """Too small a learning rate converges slowly, too large oscillates or diverges.

    001 §10 (its figure 2): the loss changes slowly at a small rate, and a large rate
    bounces around the optimum and does not converge. So after a fixed number of steps
    the loss is best at an intermediate rate and worse at both ends of a wide log grid.
    Protocol: the module's digits recipe, SGD, 3 epochs (126 steps) at lr 1e-4, 1e-3,
    1e-2, 0.1, 1, 10 (six decades). Metric: progress = 1 − L/ln 10 (the share of the
    chance-level loss removed; a run that diverged or ended above chance made none).
    Test: Peaks("progress") — an interior rate beats both ends (paired Wilcoxon against
    each end; Bonferroni over the four interior rates): the shape on both sides of the best.
    Open settings (module rule): Adam in place of SGD (same grid), the budget ×3 (9 epochs).

    Finding (seeds 0-9): supported under every setting. Progress by lr 1e-4 … 10 (SGD, 3
    epochs): 0.003, 0.006, 0.15, 0.74, 0.92, 0 (lr 10 blows up); Adam: 0.04, 0.47, 0.94,
    0.92, 0, 0; 9 epochs: 0.003, 0.03, 0.39, 0.89, 0.87, 0. Fresh seeds (1000-1009):
    supported under every setting (SGD best at lr 1, 0.80; Adam at 0.01, 0.94).
    """
    claim.sweep(digits_task("optim.lr_u_shape", metrics=progress_metrics, epochs=3),
                lr=LR_GRID)
    claim.expect(Peaks("progress", along="lr"))


# --------------------------------------------------------------------------- ravines


def ravine_runs(seeds, *, optimizer: str, condition: float = 100.0, lr_scale: float = 1.0,
                noise: float = 0.0, steps: int = 100) -> list[dict[str, float]]:
    """Loss after ``steps`` on each seed's 10-d ravine at lr = lr_scale / λ_max (all seeds
    in one stacked run: the optimisers are element-wise)."""
    problems = [ravine(s, dim=10, condition=condition) for s in seeds]
    losses = descend_many(problems, optimizer=optimizer,
                          lrs=[lr_scale / p.curvature[1] for p in problems], steps=steps,
                          noise=noise, seeds=seeds)
    return [{"final_loss": float(row[-1])} for row in losses]


#: One stacked trainer per seed list.
_RAVINES: dict[tuple[int, ...], SeedBatched] = {}


@pytest.mark.claim(claim_id="optim.momentum_ravine", sources=[SOURCE_10, SOURCE_OPT],
                   seeds=10)
@pytest.mark.parametrize("problem", [
    pytest.param("quadratic", marks=pytest.mark.claim(
        robust_over=[{"condition": 1000.0}, {"lr_scale": 0.1}, {"noise": 0.1},
                     {"steps": 300}])),
    pytest.param("net", marks=pytest.mark.claim(
        robust_over=[{"lr": 0.1}, {"activation": "relu"}])),
])
def test_momentum_ravine(claim, problem):
    """Momentum converges faster than plain SGD in a ravine.

    001 §10: momentum accumulates velocity and damps the oscillation of SGD; 002 §3.3: in
    a ravine (gradients of very different size along different axes) momentum moves
    faster along the consistent direction and damps the oscillating one.
    Protocol, two variants, each plain SGD against heavy-ball momentum 0.9 at the same lr:
    - quadratic: the ravine itself (toolbox.ravine): a 10-d quadratic, Hessian eigenvalues
      log-spaced 1 … κ = 100 in a random orientation per seed, start at distance 1 in a
      random direction; lr = 1/λ_max (the textbook step for gradient descent),
      100 steps; metric: the final loss.
    - net: the module's digits recipe at lr 0.01, 10 epochs; metric: training loss.
    Test: Beats — momentum's loss below SGD's (paired Wilcoxon, one-sided).
    Open settings (module rule, read for a quadratic): a steeper ravine (κ = 1000), a
    step a decade smaller (a decade up, 10/λ_max, diverges for both), Gaussian gradient
    noise σ = 0.1 per component (stand-in for mini-batch error), the budget ×3 (300
    steps); for the net: lr a decade up (0.1) and ReLU.

    Finding (seeds 0-9): supported under every setting of both variants, in every seed.
    Quadratic: final loss 1.8e-4 (momentum) against 0.012 (SGD); κ = 1000: 0.011 vs 0.26;
    lr/10: 0.011 vs 0.39; noise: 0.0031 vs 0.012; 300 steps: 1.7e-13 vs 1.7e-4. Net:
    training loss 0.21 vs 1.32; lr 0.1: 0.034 vs 0.22; ReLU: 0.19 vs 1.51. Fresh seeds
    (1000-1009): the same verdict under every setting (quadratic 1.2e-4 vs 0.013; net
    0.21 vs 1.36).
    """
    if problem == "quadratic":
        fn = _RAVINES.setdefault(tuple(claim.seeds), SeedBatched(ravine_runs, claim.seeds))
        claim.sweep(fn, optimizer=["momentum", "sgd"])
        claim.expect(Beats("final_loss", along="optimizer", a="momentum", b="sgd",
                           greater=False))
    else:
        claim.sweep(digits_task("optim.momentum_net"), optimizer=["momentum", "sgd"])
        claim.expect(Beats("train_loss", along="optimizer", a="momentum", b="sgd",
                           greater=False))


# --------------------------------------------------------------------------- AdaGrad vs RMSProp


def adaptive_net(n_features: int, n_classes: int):
    """The digits recipe's net (64-32-10, tanh) as a module, for the module path."""
    import torch

    return torch.nn.Sequential(torch.nn.Linear(n_features, 32), torch.nn.Tanh(),
                               torch.nn.Linear(32, n_classes))


def adaptive_runs(seeds, *, optimizer: str, lr: float = 0.01, epochs: int = 6):
    """Every seed at once on the module path: one epoch (optimiser state read), then resumed
    to ``epochs`` (state read again); the median effective step late over early."""
    from atomcheck.engine.modules import train_modules

    data = [digits(seed=s, n_train=256) for s in seeds]
    common = dict(optimizer=optimizer, lr=lr, batch_size=32, label="optim.adagrad_slows")
    early = train_modules(adaptive_net, data, seeds, epochs=1, return_state=True, **common)
    late = train_modules(adaptive_net, data, seeds, epochs=epochs, resume=early.state,
                         return_state=True, **common)
    ratio = (effective_steps(late.state["optimizer"], optimizer, lr)
             / effective_steps(early.state["optimizer"], optimizer, lr))
    return [{"step_ratio": float(r), "train_loss": m["train_loss"],
             "progress": loss_progress(m["train_loss"], CHANCE_LOSS), "diverged": m["diverged"]}
            for r, m in zip(ratio, late.metrics)]


#: One batched trainer per seed list, shared by both readings (trained once per config).
_ADAPTIVE: dict[tuple[int, ...], SeedBatched] = {}


@pytest.mark.claim(claim_id="optim.adagrad_slows", sources=[SOURCE_10, SOURCE_OPT], seeds=10,
                   robust_over=[{"lr": 0.1}, {"epochs": 18}])
@pytest.mark.parametrize("reading", [
    "effective_step",
    pytest.param("progress", marks=pytest.mark.claim(
        expected="conditional",
        reason="RMSProp ends far lower than AdaGrad at lr 0.01 (6 and 18 epochs), but at lr "
               "0.1 RMSProp's steps are too large and AdaGrad's shrinking ones win")),
])
def test_adagrad_slows(claim, reading):
    """AdaGrad's effective step shrinks over training; RMSProp does not stall.

    001 §10: AdaGrad's rate keeps falling; RMSProp fixes its sharp fall. 002 §3.3: as
    AdaGrad's sum r grows, late updates slow down; RMSProp's moving average keeps only
    a window of gradients, fixing the slowdown and speeding convergence.
    Protocol: the module's digits net (64-32-10, tanh) on the module path, 256 training
    images, mini-batches of 32, AdaGrad and RMSProp both at torch's default lr 0.01, 6
    epochs: trained one epoch, the optimiser state read, then resumed to the end (the
    engine's checkpoint resume, equal to uninterrupted training) and read again. The
    effective step of a parameter is lr / (√r + eps), r AdaGrad's sum of squared gradients
    or RMSProp's moving average of them (toolbox.trajectory.effective_steps; median over
    parameters). Two readings of the same runs:
    - effective_step: the median effective step at the end over that after epoch 1;
      claim: RMSProp's ratio above AdaGrad's (AdaGrad's shrinks, RMSProp's does not).
    - progress: 1 − L/ln 10 at the end (training loss); claim: RMSProp's above AdaGrad's
      (it does not stall where AdaGrad slows).
    Test: Beats, paired Wilcoxon, one-sided.
    Open settings (module rule): lr a decade up (0.1), the budget ×3 (18 epochs: "later").
    A first version read the net weight change per epoch from snapshots on the native
    engine instead of the optimiser's own step; it measures net movement (oscillating
    steps cancel), not the step, and was replaced before any verdict was recorded.

    Finding (seeds 0-9): effective_step supported under every setting: AdaGrad's median
    step ends at 0.35 of its epoch-1 value (0.20 after 18 epochs, 0.54 at lr 0.1), RMSProp's
    at 0.60 (0.80; 1.06). progress conditional: RMSProp removes 0.92 of the chance loss
    against AdaGrad's 0.41 (18 epochs: 0.99 vs 0.67), but at lr 0.1 RMSProp makes no
    progress (0.00) and AdaGrad 0.92 — the shrinking step is what saves AdaGrad at a large
    rate. Fresh seeds (1000-1009): the same verdicts (step ratio 0.60 vs 0.36; progress
    0.93 vs 0.41, and 0.11 vs 0.92 at lr 0.1).
    """
    fn = _ADAPTIVE.setdefault(tuple(claim.seeds), SeedBatched(adaptive_runs, claim.seeds))
    claim.sweep(fn, optimizer=["rmsprop", "adagrad"])
    metric = "step_ratio" if reading == "effective_step" else "progress"
    claim.expect(Beats(metric, along="optimizer", a="rmsprop", b="adagrad"))


# --------------------------------------------------------------------------- Adam

#: "A low loss": a tenth of the chance-level loss (0.23).
LOW_LOSS = 0.1 * CHANCE_LOSS


def speed_metrics(result: TrainResult) -> dict[str, float]:
    """Epochs until the training loss first reached LOW_LOSS (budget + 1 if never)."""
    return {"epochs_to_low_loss": epochs_to_reach(result.history.get("train_loss", []),
                                                  LOW_LOSS)}


#: Each optimiser at its conventional rate; "sgd_lr0.1" is SGD a decade up (a setting).
ADAM_ARMS = {"adam": {"optimizer": "adam", "lr": 1e-3},
             "sgd": {"optimizer": "sgd", "lr": 0.01},
             "sgd_lr0.1": {"optimizer": "sgd", "lr": 0.1}}


@pytest.mark.claim(claim_id="optim.adam_fast", sources=[SOURCE_10], seeds=10,
                   robust_over=[{"b": "sgd_lr0.1"}, {"activation": "relu"}],
                   expected="refuted",
                   reason="at its default lr 1e-3 Adam does not reach the low loss within 15 "
                          "epochs in any seed (nor does SGD at 0.01: a tie), while SGD a decade "
                          "up (0.1) gets there in about 10 epochs")
def test_adam_fast(claim):
    """Adam reaches a low loss faster than SGD.

    001 §10 (figure 3 and text): Adam combines momentum and adaptive rates and is the
    method in wide use; the catalog reads the figure as "Adam gets to a low loss first".
    Protocol: the module's digits recipe, 15 epochs, Adam at its default lr 1e-3 against
    SGD at the catalog's 0.01. Metric: epochs until the training loss first falls to
    0.23 (a tenth of ln 10; rule fixed before looking), 16 if never.
    Test: Beats — Adam needs fewer epochs (paired Wilcoxon, one-sided).
    Open settings (module rule): SGD's rate a decade up (0.1; the same runs, read against
    that arm), ReLU in place of tanh.

    Finding (seeds 0-9): refuted. At its default rate Adam does not reach 0.23 within 15
    epochs in any seed, nor does SGD at 0.01 (both censored at 16: a tie, inconclusive,
    under tanh and ReLU); SGD at 0.1 gets there in 10.1 epochs on average (refuted).
    Looked at once before this protocol (not run here): Adam at lr 0.01 ends 10 epochs at
    a training loss of 0.04 against SGD's 1.32 at 0.01 — the verdict hinges on Adam's
    rate, which 001 does not give. Fresh seeds (1000-1009): the same (SGD at 0.1: 9.8).
    """
    claim.sweep(digits_task("optim.adam_fast", metrics=speed_metrics, epochs=15,
                            history=True), optimizer=ADAM_ARMS)
    claim.expect(Beats("epochs_to_low_loss", along="optimizer", a="adam", b="sgd",
                       greater=False))
