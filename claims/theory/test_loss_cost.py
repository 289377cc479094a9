"""What to predict and which cost to use (001 §8; 003 = Nielsen ch. 3, "The cross-entropy cost").

Three claims about the output layer and its cost, on scikit-learn's digits where a document
used MNIST:

- loss.probabilities_beat_label_regression (001 §8): predicting class probabilities (softmax
  + cross-entropy) beats regressing the class index with a squared error, because an index
  makes "1 read as 2" a small error and "1 read as 9" a large one.
- loss.quadratic_slowdown (003): a saturated sigmoid neuron (w = b = 2, input 1, target 0)
  learns far slower under the quadratic cost than under cross-entropy, since the quadratic
  cost's gradient carries the factor σ'(z), which is tiny when the neuron is saturated.
- loss.ce_beats_quadratic (003): a sigmoid net trained with cross-entropy reaches a higher
  test accuracy than with the quadratic cost (Nielsen: 95.49% against 95.42% with 30 hidden
  units, 96.82% against 96.59% with 100, one run each; the document's own rerun 95.36%
  against 95.19%, and it warns that the comparison was not tuned).

Every open setting below was chosen by the rule in its claim's docstring before any verdict
was looked at.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch

from atomcheck import Beats, ByLevel
from atomcheck.data import Dataset, digits
from atomcheck.models import MLPSpec, Task, TrainResult, module_task
from atomcheck.seeding import rng

SOURCE_LABELS = "001_4a10dabc6329af41.txt §8"
SOURCE_CE = "003_27e8606ef87a0581.txt The cross-entropy cost function"
SOURCE_CE_MNIST = "003_27e8606ef87a0581.txt Using the cross-entropy to classify MNIST digits"

# =========================================================================================
# loss.probabilities_beat_label_regression
# =========================================================================================

#: Images held out once for every seed (a fixed test set, like MNIST's), so that a metric
#: computed from a run's weights alone knows the test images; the rest is the training pool.
TEST_IMAGES = 450
#: Training images drawn per seed from the pool (of 1,347).
TRAIN_IMAGES = 1000


@functools.lru_cache(maxsize=1)
def _fixed_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    full = digits(seed=0, test_size=TEST_IMAGES / 1797)
    return full.x_train, full.y_train, full.x_test, full.y_test


def digits_fixed_test(*, seed: int, index_targets: bool = False) -> Dataset:
    """Digits: a fixed test set of 450 images, and 1,000 training images drawn per seed
    from the other 1,347. ``index_targets`` turns the labels into the regression target
    "class index" (a float column, ``n_classes=0``)."""
    x_pool, y_pool, x_test, y_test = _fixed_split()
    pick = rng(seed, "theory.loss_cost.train_sample").permutation(len(y_pool))[:TRAIN_IMAGES]
    x, y = x_pool[pick], y_pool[pick]
    if index_targets:
        return Dataset(x, y.astype(np.float32)[:, None], x_test,
                       y_test.astype(np.float32)[:, None], 0)
    return Dataset(x, y, x_test, y_test, 10)


def index_accuracy(result: TrainResult) -> dict[str, float]:
    """Test accuracy of a class-index regression: the output rounded to the nearest class
    (clipped to 0..9), rebuilt from the run's final weights and biases on the fixed test set."""
    _, _, x_test, y_test = _fixed_split()
    h = x_test.astype(np.float64)
    layers = list(zip(result.weights, result.biases))
    for w, b in layers[:-1]:
        h = np.maximum(h @ w + b, 0.0)
    w, b = layers[-1]
    pred = np.clip(np.rint((h @ w + b)[:, 0]), 0, 9)
    return {"test_accuracy": float(np.mean(pred == y_test))}


#: The recipe (001 §8 fixes nothing but the two output codings): one hidden ReLU layer of
#: 64, Adam at 1e-3 (an adaptive step does not depend on the loss's scale, so neither coding
#: is favoured by a shared learning rate), batch 32, 20 epochs.
LABELS_RECIPE = MLPSpec(widths=(64,), activation="relu", init="xavier_uniform", optimizer="adam",
                        lr=1e-3, batch_size=32, epochs=20)
BY_TARGET = ByLevel("target", {
    "probabilities": Task(digits_fixed_test, LABELS_RECIPE.replace(loss="cross_entropy"),
                          name="loss.probabilities"),
    "index": Task(digits_fixed_test, LABELS_RECIPE.replace(loss="mse"),
                  data_args={"index_targets": True}, metrics=index_accuracy,
                  name="loss.index_regression"),
})


@pytest.mark.claim(claim_id="loss.probabilities_beat_label_regression", sources=[SOURCE_LABELS],
                   seeds=10, robust_over=[{"optimizer": "momentum", "lr": 0.01},
                                          {"epochs": 60}])
def test_probabilities_beat_label_regression(claim):
    """Predicting class probabilities (softmax CE) beats regressing the class index with MSE.

    Protocol: digits, a fixed test set of 450 images, 1,000 training images drawn per seed
    from the other 1,347. Two nets per seed from the same initial hidden layer: 64-64-10
    with softmax cross-entropy on the labels ("probabilities"), and 64-64-1 with the
    squared error against the class index 0..9 ("index"; its prediction is the output
    rounded to the nearest class, clipped to 0..9). Recipe: ReLU, Xavier-uniform, Adam
    lr=1e-3, batch 32, 20 epochs. Metric: test accuracy.
    Test: one-sided paired Wilcoxon, probabilities > index.
    Open settings (rule: 001 §8 fixes no optimiser or budget; the other optimiser family
    at the catalog's usual step — SGD with momentum 0.9 at lr 0.01 — and three times the
    epochs).
    The batched engine trains both codings; the index coding's accuracy is rebuilt from
    the run's final weights and biases (``TrainResult.biases``) on the fixed test set.

    Finding (seeds 0-9): supported under every setting, every seed. Test accuracy 0.953
    (probabilities) against 0.295 (index) at the base; 0.952 against 0.461 under momentum
    SGD; 0.966 against 0.432 at 60 epochs. The index regression's test MSE is ~2.6 (an RMS
    error of 1.6 classes), so rounding lands on the right class only about a third of the
    time: neighbouring indices are not similar digits. Fresh seeds (1000-1009): supported
    under every setting (0.947 against 0.288; 0.949 / 0.463; 0.964 / 0.407).
    """
    claim.sweep(BY_TARGET, target=["probabilities", "index"])
    claim.expect(Beats("test_accuracy", along="target", a="probabilities", b="index"))


# =========================================================================================
# loss.quadratic_slowdown
# =========================================================================================

#: Nielsen's single neuron: input 1, target 0, start w = b = 2, learning rate 0.15.
NEURON_START, NEURON_LR = 2.0, 0.15
#: Per seed the start point is jittered: w and b each uniform in 2 ± 0.5 (z = w + b in
#: [3, 5]: saturated, σ'(z) ≤ 0.045), so that ten seeds are ten different saturated neurons.
NEURON_JITTER = 0.5
#: Steps after which a run counts as "never got there" (its step count is censored here,
#: which can only understate the quadratic cost's slowness).
MAX_STEPS = 20_000
#: "Far slower" (the rule): at least twice as many steps, log2 ratio ≥ 1.
FAR = 1.0


def _cost_gradient(cost: str, z: float, y: float) -> float:
    """dC/dz of one sigmoid neuron's cost (times x for dC/dw; dC/db itself)."""
    a = 1.0 / (1.0 + math.exp(-z))
    if cost == "quadratic":  # C = (y - a)² / 2: dC/dz = (a - y) σ'(z)
        return (a - y) * a * (1.0 - a)
    return a - y  # C = -[y ln a + (1 - y) ln(1 - a)]: dC/dz = a - y


def _autograd_gradient(cost: str, z: float, y: float) -> float:
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    a = torch.sigmoid(zt)
    c = (y - a) ** 2 / 2 if cost == "quadratic" else -(y * torch.log(a) + (1 - y) * torch.log1p(-a))
    (g,) = torch.autograd.grad(c, zt)
    return float(g)


def single_neuron(seed: int, *, cost: str, lr: float = NEURON_LR,
                  output_below: float = 0.5) -> dict[str, float]:
    """Gradient descent on one sigmoid neuron (x = 1, y = 0) from a saturated start; the
    number of steps until its output falls below ``output_below`` (log2).

    The step uses the closed-form dC/dz (the loop runs up to 20,000 steps, too many for
    autograd on a claim's budget); it is checked against autograd on the costs themselves
    at the start point and at the end of every run."""
    gen = rng(seed, "theory.quadratic_slowdown.start")
    w, b = (float(v) for v in NEURON_START + gen.uniform(-NEURON_JITTER, NEURON_JITTER, size=2))
    x, y = 1.0, 0.0
    z0 = w * x + b
    steps = MAX_STEPS
    for step in range(MAX_STEPS):
        z = w * x + b
        if 1.0 / (1.0 + math.exp(-z)) < output_below:
            steps = step
            break
        g = _cost_gradient(cost, z, y)
        w, b = w - lr * g * x, b - lr * g
    for z in (z0, w * x + b):
        assert math.isclose(_cost_gradient(cost, z, y), _autograd_gradient(cost, z, y),
                            rel_tol=1e-9, abs_tol=1e-15)
    return {"log2_steps": math.log2(max(steps, 1)), "steps": float(steps)}


@pytest.mark.claim(claim_id="loss.quadratic_slowdown", sources=[SOURCE_CE], seeds=10,
                   robust_over=[{"lr": NEURON_LR / 10}, {"output_below": 0.1}])
def test_quadratic_slowdown(claim):
    """A saturated sigmoid neuron learns far slower with quadratic cost than with cross-entropy.

    Protocol (Nielsen's example): one sigmoid neuron, input 1, target 0, start w = b = 2
    (jittered per seed by ±0.5 each, so the ten seeds are ten saturated neurons), plain
    gradient descent at Nielsen's η = 0.15 on the quadratic cost (y − a)²/2 and on the
    cross-entropy −[y ln a + (1 − y) ln(1 − a)] (closed-form gradients, checked against
    autograd on each cost at the start and end of every run). Metric: log2 of
    the steps until the output falls below 0.5 (the neuron "has learned" to answer 0).
    Test: one-sided paired Wilcoxon, cross-entropy < quadratic by more than 1 ("far" = at
    least twice as many steps, a floor fixed before running).
    Open settings (rule: the example fixes the start and target, not the step or what
    "learned" means): η a decade lower (0.015), and a stricter "learned", output < 0.1.

    Finding (seeds 0-9): supported under every setting, every seed. Mean log2 steps 4.04
    (cross-entropy, ~16 steps) against 7.78 (quadratic, ~220) at η = 0.15; 7.35 (~160)
    against 11.1 (~2,200) at η = 0.015; 5.63 against 8.86 to reach 0.1. The quadratic
    cost needs ~13x the steps (2^3.7), far beyond the factor-2 floor. Fresh seeds
    (1000-1009): supported under every setting (4.04 against 7.80 at the base).
    """
    claim.sweep(single_neuron, cost=["cross_entropy", "quadratic"])
    claim.expect(Beats("log2_steps", along="cost", a="cross_entropy", b="quadratic",
                       greater=False, min_effect=-FAR))


# =========================================================================================
# loss.ce_beats_quadratic
# =========================================================================================

#: Nielsen's quadratic cost is C = ½ Σ_j (a_j − y_j)² per image; the library's mean squared
#: error averages over the 10 outputs, i.e. C / 5. The sigmoid output layer scales its
#: gradient by 5 (the value is unchanged) so that one learning rate means Nielsen's step.
QUADRATIC_SCALE = 5.0


class GradientScale(torch.nn.Module):
    """Identity in value; multiplies the gradient flowing back through it by ``scale``."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = float(scale)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.scale * a - (self.scale - 1.0) * a.detach()


def nielsen_net(n_features: int, n_classes: int, *, output: str = "softmax",
                init: str = "large", hidden: int = 30) -> torch.nn.Module:
    """Nielsen's sigmoid net n_features-30-n_classes. ``output="sigmoid"``: sigmoid output
    units (for the quadratic cost); ``"softmax"``: logits for softmax + log-likelihood.
    ``init="large"``: every weight and bias N(0, 1) (network2's large_weight_initializer);
    ``"small"``: weights N(0, 1/n_in), biases N(0, 1) (its default_weight_initializer)."""
    first, last = torch.nn.Linear(n_features, hidden), torch.nn.Linear(hidden, n_classes)
    with torch.no_grad():
        for layer in (first, last):
            std = 1.0 if init == "large" else layer.in_features ** -0.5
            layer.weight.normal_(0.0, std)
            layer.bias.normal_(0.0, 1.0)
    layers: list[torch.nn.Module] = [first, torch.nn.Sigmoid(), last]
    if output == "sigmoid":
        layers += [torch.nn.Sigmoid(), GradientScale(QUADRATIC_SCALE)]
    return torch.nn.Sequential(*layers)


#: Nielsen's recipe (784-30-10 sigmoid, N(0, 1) init, η = 0.5, mini-batch 10) on digits;
#: 3 epochs (405 steps) is what the CPU budget of a catalog claim allows.
CE_TASK = module_task(nielsen_net, digits, loss="cross_entropy", optimizer="sgd", lr=0.5,
                      batch_size=10, epochs=3)
COSTS = {"cross_entropy": {"output": "softmax", "loss": "cross_entropy"},
         "quadratic": {"output": "sigmoid", "loss": "mse"}}


@pytest.mark.claim(claim_id="loss.ce_beats_quadratic", sources=[SOURCE_CE_MNIST], seeds=10,
                   robust_over=[{"batch_size": 30, "epochs": 9}])
def test_ce_beats_quadratic(claim):
    """Cross-entropy gives higher test accuracy than quadratic cost.

    Protocol (Nielsen's MNIST comparison on digits): a 64-30-10 net of sigmoid hidden units,
    every weight and bias N(0, 1) (his large_weight_initializer), SGD η = 0.5, mini-batch
    10, 3 epochs (the CPU budget); digits split per seed (1,347 train / 450 test). Cost
    arms on the same initial weights: quadratic = sigmoid outputs and ½ Σ_j (a_j − y_j)²
    (mean squared error with its gradient scaled by 5, the same step as Nielsen's);
    cross-entropy = the document's other remedy for output saturation, softmax +
    log-likelihood (the library has no sigmoid-output binary cross-entropy; the document
    names both as the combinations whose output gradient is a − y). Metric: test accuracy.
    Test: one-sided paired Wilcoxon, cross-entropy > quadratic.
    Open settings (rule: the budget is ours, not the document's — Nielsen trained 30
    epochs on 50,000 images — so the same 405 steps over three times the data passes:
    mini-batch 30 for 9 epochs).
    Disclosure: first run at 4 epochs (and 30 × 12 as the open setting), cut to 3 for the
    CPU budget after that run had been seen (supported under both: 0.94 against 0.64).
    Trained on the seed-batched module path.

    Finding (seeds 0-9): supported under both settings, every seed: test accuracy 0.929
    (cross-entropy) against 0.578 (quadratic); 0.932 against 0.587 at mini-batch 30 for 9
    epochs. Fresh seeds (1000-1009): supported under both (0.928 against 0.531; 0.937
    against 0.531). Caveat: at this budget the gap is the learning slowdown itself —
    N(0, 1) weights saturate the sigmoid outputs and the quadratic cost barely moves
    them; Nielsen's gap after 30 epochs on 50,000 images was 0.07-0.2 points. Whether the
    gap survives training to convergence is not tested here (about 10x the CPU).
    """
    claim.sweep(CE_TASK, cost=COSTS)
    claim.expect(Beats("test_accuracy", along="cost", a="cross_entropy", b="quadratic"))
