"""Weight initialisation N(0, 1/n_in) against N(0, 1) (003 = Nielsen ch. 3, weight init).

Nielsen: with N(0, 1) weights a hidden unit's input z = Σ w_j x_j + b has a wide spread
(N(0, 501) for 500 active inputs), the sigmoid saturates and learning is slow; N(0, 1/n_in)
keeps z near 0. His MNIST runs (784-30-10 sigmoid, cross-entropy, λ = 5, η = 0.1, mini-batch
10) end at the same accuracy, but the scaled init gets there much sooner ("上升速度要快").

Protocol, fixed before looking: digits split per seed (1,347 train / 450 test), 64-30-10
sigmoid net, softmax cross-entropy, SGD η = 0.1, mini-batch 10, 5 epochs, recording test
accuracy after every epoch; weights N(0, 1) ("large") or N(0, 1/n_in) ("scaled") on the same
seeds; biases 0 (Nielsen draws them N(0, 1) in both arms, a term the comparison shares).
Nielsen's L2 (λ = 5 over 50,000 images: λ/2n = 5e-5) is left out: it is negligible over a
few epochs. Metric: test accuracy after the first epoch ("learns faster": ahead early).

Open settings (rule: the document fixes the net and recipe, not which epoch shows the
speed or the step): accuracy after epoch 3 instead of 1; η a decade up (his chapter's
η = 0.5 elsewhere is between); 100 hidden units (his other net).

Added after the base verdict was seen (disclosed): the document's argument is about fan-in
(its example has 1,000 inputs, MNIST 784); digits have 64 pixels in [0, 1], so under N(0, 1)
a hidden unit's z has a standard deviation of only √(Σx²) ≈ 3.5 (about 10 on MNIST) and
the sigmoid is far less saturated. The setting ``side=28`` upsamples every digit to 28x28
(bilinear, 784 inputs, MNIST's fan-in) and asks the same question there.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from atomcheck import Beats
from atomcheck.data import Dataset, digits
from atomcheck.models import MLPSpec, Task, TrainResult

SOURCE = "003_27e8606ef87a0581.txt Weight initialization"


@functools.lru_cache(maxsize=32)
def digits_at(*, seed: int, side: int = 8) -> Dataset:
    """Digits split per seed, each image resized to ``side`` x ``side`` (bilinear); cached,
    as both arms of a seed read the same images."""
    data = digits(seed=seed)
    if side == 8:
        return data
    from scipy import ndimage

    def resize(x: np.ndarray) -> np.ndarray:
        out = ndimage.zoom(x.reshape(-1, 8, 8), (1, side / 8, side / 8), order=1)
        return np.clip(out, 0.0, 1.0).reshape(len(x), side * side).astype(np.float32)

    return Dataset(resize(data.x_train), data.y_train, resize(data.x_test), data.y_test, 10)


def early_accuracy(result: TrainResult) -> dict[str, float]:
    """Test accuracy after the first and after the third epoch."""
    history = result.history["test_accuracy"]
    return {"test_accuracy_epoch1": history[0], "test_accuracy_epoch3": history[2]}


TASK = Task(digits_at, MLPSpec(widths=(30,), activation="sigmoid", loss="cross_entropy",
                            optimizer="sgd", lr=0.1, batch_size=10, epochs=5, history=True),
            metrics=early_accuracy, name="theory.init_scaled")
INITS = {"scaled": {"init": "scaled_normal"}, "large": {"init": "gaussian", "init_scale": 1.0}}


@pytest.mark.claim(claim_id="init.scaled_faster", sources=[SOURCE], seeds=10,
                   expected="conditional",
                   reason="it depends on the fan-in, as the document's own argument does: on "
                          "8x8 digits (64 inputs) N(0, 1) is ahead after epoch 1 (0.563 "
                          "against 0.438) and under every other setting; on digits upsampled "
                          "to 28x28 (784 inputs, MNIST's) N(0, 1/n_in) is far ahead (0.808 "
                          "against 0.572)",
                   robust_over=[{"metric": "test_accuracy_epoch3"}, {"lr": 1.0},
                                {"widths": (100,)}, {"side": 28}])
def test_init_scaled_faster(claim):
    """N(0, 1/n_in) init learns faster than N(0,1).

    Protocol (module docstring): digits, 64-30-10 sigmoid net, SGD η = 0.1, mini-batch 10;
    N(0, 1/n_in) against N(0, 1) weights on the same seeds. Metric: test accuracy after the
    first epoch. Test: one-sided paired Wilcoxon, scaled > large.
    Open settings: after epoch 3; η = 1.0; 100 hidden units; digits upsampled to 28x28
    (added after the base verdict, module docstring).

    Finding (seeds 0-9): conditional. On 8x8 digits N(0, 1) is ahead, refuting the claim
    under every setting: after epoch 1 0.438 (scaled) against 0.563 (N(0, 1)); after
    epoch 3 0.792 against 0.821; at η = 1.0 0.848 against 0.878; with 100 hidden units
    0.363 against 0.722 (N(0, 1/n_in) also shrinks the output layer's weights, and at
    η = 0.1 the small logits move slowly). At MNIST's fan-in (digits upsampled to 28x28)
    the claim holds: 0.808 against 0.572 after epoch 1, every seed. The mechanism is the
    document's: saturation needs many active inputs. Fresh seeds (1000-1009):
    conditional again — 28x28 supported (0.791 against 0.550), the base and 100 units
    refuted (0.381 against 0.529; 0.290 against 0.721), epoch 3 and η = 1.0 inconclusive
    (−0.015 and −0.014).
    """
    claim.sweep(TASK, init=INITS)
    claim.expect(Beats("test_accuracy_epoch1", along="init", a="scaled", b="large"))
