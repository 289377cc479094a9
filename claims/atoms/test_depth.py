"""Depth at a fixed parameter count (000_07dadddd682b9602.txt §2, "12 atoms of deep learning").

Open settings. §2 fixes the data (16 alternating points), the weight-shared net and its
152 parameters, and says nothing of the training. Rule, fixed before running any
alternative: the optimiser's learning rate one factor 3 either way from ours (0.03 and
0.003; the document's own notebook used 0.003, for 15,000 steps), at our 300 full-batch
steps. Nothing else about the optimiser is varied.
"""

from __future__ import annotations

import pytest

from atomcheck import Rises
from atomcheck.data import alternating_line
from atomcheck.models import MLPSpec, Task

pytestmark = pytest.mark.atoms

SOURCE = "000_07dadddd682b9602.txt §2"
WIDTH = 10
#: Hidden layers; layers 2..k share one 10x10 matrix, so every depth has 152 parameters.
DEPTHS = {k: {"widths": (WIDTH,) * k} for k in (2, 3, 4, 6, 8)}

#: The §2 experiment: 16 alternating points, a weight-shared ReLU net, full-batch Adam.
DEPTH_TASK = Task(
    alternating_line,
    MLPSpec(widths=(WIDTH, WIDTH), shared_hidden=True, activation="relu",
            loss="cross_entropy", optimizer="adam", lr=0.01, batch_size=16, epochs=300),
    data_args={"n": 16},
    name="atoms.depth",
)


@pytest.mark.claim(
    claim_id="atoms.depth", sources=[SOURCE], seeds=40,
    robust_over=[{"lr": 0.03}, {"lr": 0.003}], expected="conditional",
    reason="accuracy rises with depth at Adam lr=0.01 and 0.003, but at lr=0.03 the deeper "
           "weight-shared nets train worse: accuracy peaks at 3 layers (0.74) and falls to "
           "0.58 at 8, so Page's L reads a fall")
def test_depth(claim):
    """At a fixed parameter count, accuracy on a hard alternating problem rises with depth.

    Protocol: the document's data, 16 equally spaced points on [-1, 1] whose neighbours
    belong to opposite classes (accuracy is measured on those 16 points, as in the
    document). Net: input -> 10 ReLU units -> the same 10x10 layer applied k-1 times ->
    2 logits, for k = 2, 3, 4, 6, 8 hidden layers. Weight sharing keeps the parameter
    count at 20 + 110 + 22 = 152 at every depth, the document's 152 (its recurrent MLP
    of width 10). Depth 1 is left out: without the shared layer it has 42 parameters, so
    it would not hold the count fixed. Xavier init, cross-entropy, full-batch Adam (the
    document's optimiser) at lr=0.01 for 300 steps. Seeds differ only in initial weights.
    Open settings: lr=0.03 and lr=0.003 (module docstring).
    Test: Page's L on training accuracy, seeds as blocks, one-sided "rises". Not strict:
    the document says accuracy rises with depth "in most experiments" (在大多实验中).
    Seeds: 40. At 10 seeds the lr=0.03 setting's fall had p=0.047 before the Holm
    correction across the three settings, so the claim's verdict was inconclusive; we
    doubled the seeds for that reason (this sweep costs about 1 s per setting), and
    doubled them again after the fresh-seed check below.

    Finding (20 seeds, before the engine fix): mean accuracy at 2, 3, 4, 6, 8 layers is
    0.61, 0.71, 0.76, 0.77, 0.78 at lr=0.01 and 0.58, 0.66, 0.69, 0.71, 0.71 at lr=0.003
    (both rise, p < 1e-5),
    but 0.70, 0.74, 0.73, 0.67, 0.58 at lr=0.03: an inverted U, best at 3-4 layers, which
    Page's L reads as a fall (p=0.0009) because the drop at 6-8 layers outweighs the rise
    before it. The deep shared nets need a gentle optimiser; the trend is the optimiser's
    as much as the architecture's. Earlier runs: the document's lr=0.003 for 3,000 steps
    and lr=0.01 for 1,000 and 3,000 steps also rise. Per-seed accuracies are chaotic in
    the last float32 bits (a seed can move by a point or two between engine versions), so
    read the trend, not single seeds.

    Since the engine's batch-independence fix (a seed's last bits no longer depend on the
    seeds batched with it; before, 24 of these 75 runs changed between a sweep of seeds
    0-4 and one of seeds 0-19), seeds 0-19 gave: 0.61, 0.70, 0.76, 0.76, 0.76 at lr=0.01;
    0.58, 0.66, 0.69, 0.71, 0.70 at lr=0.003 (both rise, p < 1e-4); 0.69, 0.74, 0.70,
    0.69, 0.57 at lr=0.03 (falls, p = 0.0003): conditional, as before. Fresh seeds
    1000-1019 did not replicate it: the same inverted U at lr=0.03 (0.67, 0.73, 0.74,
    0.65, 0.60), but Page's L read its fall at p = 0.032, short of the 0.0167 Holm needs
    across the three settings (inconclusive). Rule, as for ``optim.plateau_not_done``: a
    claim that fails to replicate at the edge of its test's power gets its seeds doubled
    once, and both seed sets are rerun and kept whatever they say. Hence 40 seeds.

    Finding (seeds 0-39): conditional. Mean accuracy at 2, 3, 4, 6, 8 layers: 0.64, 0.71,
    0.76, 0.76, 0.73 at lr=0.01 and 0.59, 0.66, 0.68, 0.70, 0.71 at lr=0.003 (both rise,
    p < 1e-4); 0.69, 0.73, 0.73, 0.68, 0.57 at lr=0.03 (falls, p < 1e-4).
    Fresh seeds (1000-1039): the same verdict (lr=0.03: 0.68, 0.73, 0.75, 0.67, 0.58,
    falls at p = 0.0002; the other two rise, p < 1e-4). 40 seeds cost 10 s (20: 9 s).
    """
    claim.sweep(DEPTH_TASK, hidden_layers=DEPTHS)
    claim.expect(Rises("train_accuracy", along="hidden_layers"))
