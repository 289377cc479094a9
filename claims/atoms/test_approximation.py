"""Universal approximation (000_07dadddd682b9602.txt §1, "12 atoms of deep learning").

The four target variants read one shared sweep (``approximation_sweep``): target × width.

Open settings. §1 says "a one-hidden-layer net with a standard activation", 50 points on
[-1, 1], and the training MSE. It leaves open the activation, the optimiser's learning
rate and the budget. The claim is about what a width can fit, so every setting must train
to convergence (the rule that fixed our base budget: the widest net's training MSE has
levelled off). Rule for the alternatives, fixed before running them: the learning rate one
factor 3 down (0.01, toward the notebook's 0.003) at the same 300 steps; and tanh, the
other standard activation the theorem is usually stated for, at the budget convergence
needs for it.

Both are in ``robust_over``; tanh costs ~7 s (1,000 steps at every width and target). Why
tanh needs its own budget: at our base recipe (Adam lr=0.03, 300 steps; also at lr=0.01
for 300) tanh nets of 32-64 units have not converged: their mean training MSE on |x| and
on the step is *higher* than that of 8-16 unit nets, some seeds 30-70 times higher,
because they are still oscillating, and Page's L is inconclusive there (p=0.06 on |x|, 0.6
on the step: a U over width, not a fall) — a verdict on the budget, not on the width. At
lr=0.01 for 1,000 steps they have levelled off. The document's own notebook used a
sigmoid net for 10,000 steps at lr=0.003.
"""

from __future__ import annotations

import pytest

from atomcheck import Falls, SharedSweep
from atomcheck.data import function_samples
from atomcheck.models import MLPSpec, Task

pytestmark = pytest.mark.atoms

SOURCE = "000_07dadddd682b9602.txt §1"
#: Hidden units, doubling from 1 to 64.
UNITS = {h: {"widths": (h,)} for h in (1, 2, 4, 8, 16, 32, 64)}
#: One variant per target; names from atomcheck.data.FUNCTIONS (sin is sin(pi x)).
TARGETS = ["sin", "square", "abs", "step"]

#: The §1 experiment: 50 points on [-1, 1], a one-hidden-layer net fitted by MSE, full batch.
APPROXIMATION_SPEC = MLPSpec(widths=(1,), activation="relu", loss="mse", optimizer="adam",
                             lr=0.03, batch_size=50, epochs=300)
APPROXIMATION_TASK = Task(function_samples, APPROXIMATION_SPEC, data_args={"n": 50},
                          name="atoms.approximation")

#: The open settings (module docstring): the learning rate a factor 3 down; tanh at the
#: budget its training MSE needs to level off.
OPEN_SETTINGS = [{"lr": 0.01}, {"activation": "tanh", "lr": 0.01, "epochs": 1000}]


@pytest.fixture(scope="session")
def approximation_sweep() -> SharedSweep:
    """Every target at every width, trained once per seeds and settings."""
    return SharedSweep(APPROXIMATION_TASK, target=TARGETS, hidden_units=UNITS)


@pytest.mark.parametrize("target", TARGETS, ids=TARGETS)
@pytest.mark.claim(claim_id="atoms.approximation", sources=[SOURCE], seeds=10,
                   robust_over=OPEN_SETTINGS)
def test_approximation(claim, approximation_sweep, target):
    """Training MSE of a one-hidden-layer net falls as hidden units grow.

    Protocol: 50 points x ~ U(-1, 1) with y = f(x), drawn per seed (the document's 50
    points on [-1, 1]), one variant per target f: sin(pi x), x², |x| and the step
    1[x > 0] (the source's notebook used sin(12x), a quartic and |x|; the step adds a
    discontinuous target). Net 1-h-1 with h = 1, 2, 4, ..., 64 hidden ReLU units, Xavier
    init, MSE, full-batch Adam (the document's optimiser) at lr=0.03 for 300 steps. Seeds
    pair: seed *s* draws the same points and the same initial-weight stream at every width.
    Open settings: lr=0.01; tanh at lr=0.01 for 1,000 steps (module docstring).
    Test: Page's L on training MSE, seeds as blocks, one-sided "falls". Not strict: the
    document says the error "generally" falls (一般会减小), and a converged net's error
    flattens at zero once the width suffices, which a strict test would read as a failure.

    What the trend rests on: h=1 is the worst width everywhere, but it does not carry the
    trend alone: without it Page's L stays significant for every target under the
    base and lr=0.01 settings (p from 0.012 for |x| to 1e-13 and below; 10 seeds). The means fall to
    8-16 units and then sit near zero (x², |x|: below 3e-4 from 8 units on, the converged nets tying
    at 0; the step: ~0.004 from 16 on, the error at the jump), so a strict ("every doubling helps")
    test would fail on ties that mean success.
    """
    claim.use(approximation_sweep)
    claim.expect(Falls("train_mse", along="hidden_units", where={"target": target}))
