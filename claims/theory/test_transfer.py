"""Transfer learning with scarce target data (004_2177d7888ae32ed4.txt, "迁移学习").

004: transfer learning uses a source task's data to help learn a target task; it suits
the case where the source has more data than the target and the low-level features
learnt on the source help the target. Two uses of a pre-trained model: (1) a fixed
feature extractor, (2) fine-tuning (the pre-trained weights initialise the target model,
which is then trained on the target data). The document's source is ImageNet; ours is
the related digits split the catalog uses where documents use MNIST.

Set-up (fixed before any run; atomcheck.toolbox.transfer). Source: digits 0-4, all their
training images of the seed's split (~670); target: digits 5-9, the first 50 training
images of the split (10 per class: scarce), tested on all target test images (~225). Net:
64-64-64-5, ReLU (torch's default Linear init), the same for both tasks: the source and
target both have five classes, but the head is the task's own (never copied). Recipe for
pre-training and fine-tuning alike: Adam, lr 1e-3, batch 32, 30 epochs, cross-entropy.
Arms, paired by seed: ``pretrained`` (both hidden layers copied from the seed's net
pre-trained on the source, a fresh head, all layers fine-tuned) against ``scratch`` (the
same factory from its own initialisation: the same head, the same target data and
order). Everything trains on the seed-batched module path.

Open settings (rule: the document's other use, the next scale of "scarce", the other
optimiser):
- ``frozen``: the document's use (1), the pre-trained layers as a fixed feature
  extractor (only the head trains; the scratch arm then trains only its head too, on
  random features, as the same factory with the same flag);
- 200 target images (40 per class) instead of 50;
- SGD at lr 0.1 for fine-tuning (and for the scratch arm).
"""

from __future__ import annotations

import functools

import pytest

from atomcheck import Beats
from atomcheck.models import module_task
from atomcheck.toolbox.transfer import digit_classes, pretrain, warm_start

SOURCE = "004_2177d7888ae32ed4.txt 迁移学习"
SOURCE_CLASSES = (0, 1, 2, 3, 4)
TARGET_CLASSES = (5, 6, 7, 8, 9)
#: The recipe for pre-training and fine-tuning (module docstring).
RECIPE = {"optimizer": "adam", "lr": 1e-3, "batch_size": 32, "epochs": 30}
SCARCE = 50


@functools.lru_cache(maxsize=1)
def _net_class() -> type:
    """The net's class, built once (torch is imported lazily; the module path batches
    seeds only when every seed's module has the same class)."""
    import torch
    from torch import nn

    class Net(nn.Module):
        """A 64-64 ReLU trunk and a linear head; ``frozen`` detaches the trunk's output."""

        def __init__(self, n_features: int, n_classes: int, frozen: bool) -> None:
            super().__init__()
            self.trunk = nn.Sequential(nn.Linear(n_features, 64), nn.ReLU(),
                                       nn.Linear(64, 64), nn.ReLU())
            self.head = nn.Linear(64, n_classes)
            self.frozen = frozen

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.trunk(x)
            return self.head(h.detach() if self.frozen else h)

    return Net


def make_net(n_features: int, n_classes: int, frozen: bool = False):
    """64-64-64-k ReLU net; with ``frozen`` the trunk's output is detached, so only the
    head learns (torch's default init; the trunk is built first, so a seed's trunk is the
    same whatever ``n_classes`` is)."""
    return _net_class()(n_features, n_classes, frozen)


def transfer_task(seeds: list[int]):
    """The sweep's function: ``start`` "pretrained" or "scratch" on the target task."""
    # Pre-trained on first use: a sweep read wholly from the result cache never pre-trains.
    weights = functools.partial(
        pretrain, make_net, [digit_classes(seed=s, classes=SOURCE_CLASSES) for s in seeds],
        list(seeds), **RECIPE)
    warm = warm_start(make_net, weights, keep=lambda name: name.startswith("trunk."))

    def net(seed: int, n_features: int, n_classes: int, start: str = "scratch",
            frozen: bool = False):
        if start == "pretrained":
            return warm(seed, n_features=n_features, n_classes=n_classes, frozen=frozen)
        return make_net(n_features, n_classes, frozen=frozen)

    return module_task(net, digit_classes, data_args={"classes": TARGET_CLASSES,
                                                      "n_train": SCARCE}, **RECIPE)


@pytest.mark.claim(claim_id="transfer.limited_data", sources=[SOURCE], seeds=10,
                   expected="conditional",
                   reason="pre-training helps only under SGD (lr 0.1: 0.789 vs 0.671 test "
                          "accuracy); with Adam (lr 1e-3) the net fine-tuned from digits 0-4 "
                          "is worse than the net trained from scratch, at 50 target images "
                          "(0.648 vs 0.772) and at 200 (0.939 vs 0.964); frozen features tie",
                   robust_over=[{"frozen": True}, {"n_train": 200},
                                {"optimizer": "sgd", "lr": 0.1}])
def test_transfer_limited_data(claim):
    """Pre-training on a related task helps when target data is scarce.

    Protocol (module docstring): per seed, a 64-64-64-5 ReLU net pre-trained on digits
    0-4, its hidden layers copied into a net with a fresh head, fine-tuned on 50 images of
    digits 5-9; against the same net trained on those 50 images from scratch. Metric:
    test accuracy on the target's test images. Test: one-sided Wilcoxon signed-rank,
    pretrained > scratch, paired by seed.
    Open settings (module rule): frozen pre-trained features; 200 target images; SGD lr 0.1.

    Finding (seeds 0-9): conditional. Mean target test accuracy pretrained / scratch:
    0.648 / 0.772 (base, refuted), 0.939 / 0.964 (200 images, refuted), 0.789 / 0.671
    (SGD lr 0.1, supported), 0.298 / 0.283 frozen (inconclusive: 60 Adam steps on the
    head alone barely train it, either way). The pre-trained nets reach 0.996 on digits
    0-4. Under Adam both arms fit the 50 target images about equally after the same 60
    steps (training loss 0.66-0.80 against 0.67-0.78, seeds 0-2, looked at once) but the
    fine-tuned net generalises worse; trained for 100 epochs it fits less well (0.04-0.08
    against ~0.02) and still tests lower (0.86-0.91 against 0.90-0.94). Under SGD at lr
    0.1 the fresh net trains slowly and the pre-trained features give it a head start.
    Digits 0-4 and 5-9 on 8x8 images share little beyond strokes, and a tiny MLP's
    features are specialised: the document's premise ("low-level features learnt on the
    source help the target", ImageNet-scale sources) is not met by this source, whatever
    the recipe. Fresh seeds (1000-1009): conditional, the same way (0.649 / 0.802 base;
    0.942 / 0.964 at 200; 0.784 / 0.643 SGD; frozen 0.305 / 0.266 inconclusive).
    """
    claim.sweep(transfer_task(claim.seeds), start=["pretrained", "scratch"])
    claim.expect(Beats("test_accuracy", along="start", a="pretrained", b="scratch"))
