"""Data-parallel training with real torch.distributed processes (001 §11).

001 §11: in data parallelism every device holds the same model and reads different data, so
each device's gradient differs; "if each device's gradient only updated its own model, the
models would differ at the next step", so a gradient synchronisation makes the gradients on
every device identical. The catalog's claim: data-parallel training with a gradient
all-reduce equals single-process training on the combined batch, and the replicas stay
identical.

Set-up (atomcheck.toolbox.data_parallel): the claim starts 2 processes on this machine
(fresh interpreters), joins them into a gloo process group on 127.0.0.1 (a free port the OS
picks; a taken port would stop the claim with PortInUse), and tears them down afterwards.
Per seed: two Gaussian classes in 8 dimensions (means 1 apart), an MLP 8-16-2 with tanh
(float64), 20 steps on a combined batch of 32 (rank r trains on rows 16r..16r+15 of each
step's batch, mean loss on its shard; the gradients are summed by dist.all_reduce and
divided by 2), learning rate 0.1 (SGD) or 0.01 (Adam). The reference trains the same
initial weights on the whole combined batch in this process, with the same optimiser code.

Open settings, rule fixed before looking: the document names no optimiser; SGD is linear in
the gradient, Adam is not (its state is built from the averaged gradient), so both run.
"""

from __future__ import annotations

import numpy as np
import pytest

from atomcheck import Exact, Memo
from atomcheck.toolbox.data_parallel import train_data_parallel, train_single_process

SOURCE = "001_4a10dabc6329af41.txt §11"
STEPS, BATCH = 20, 32
LR = {"sgd": 0.1, "adam": 0.01}
#: "Equals": every parameter within 1e-10 of the single-process run. The two runs sum the
#: same float64 numbers in a different order (two shard means averaged against one mean),
#: a difference of ~1e-16 per step; a real difference (a missing average, an unsynchronised
#: replica, a wrong shard) moves parameters by 1e-3 or more. Fixed before looking.
TOLERANCE = 1e-10


@pytest.mark.claim(claim_id="dist.data_parallel_equals_big_batch", sources=[SOURCE], seeds=10,
                   robust_over={"optimizer": ["adam"]})
def test_data_parallel_equals_big_batch(claim):
    """Data-parallel training with gradient all-reduce equals single-process training on the
    combined batch; replicas stay identical.

    Protocol: the module's set-up. Every seed under both optimisers trains in one process
    group, started once (two interpreters importing torch cost ~2 s of CPU each).
    Test: Exact, per seed: both ranks' final parameters are bitwise equal (torch.equal
    after 20 steps) and within TOLERANCE of the single-process run.

    Finding (seeds 0-9): supported under both optimisers: the replicas are bitwise equal
    for every seed, and the largest parameter difference from single-process training is
    1-2e-16 (float64 rounding; the parameters are of order 0.5). Fresh seeds (1000-1009):
    supported, the same.
    """
    # One process group for every seed and optimiser of the claim, started on first use
    # (a Memo: a rerun read from the result cache starts none).
    runs: dict[tuple[str, int], list[np.ndarray]] = Memo()
    seeds = list(claim.seeds)

    def data_parallel(seed: int, optimizer: str = "sgd") -> dict[str, float]:
        if not runs:
            jobs = [(o, s) for o in LR for s in seeds]
            ranks = train_data_parallel([s for _, s in jobs], optimizer=[o for o, _ in jobs],
                                        lr=[LR[o] for o, _ in jobs], steps=STEPS, batch=BATCH)
            runs.update(zip(jobs, ranks))
        rank0, rank1 = runs[optimizer, seed]
        single = train_single_process(seed, optimizer=optimizer, steps=STEPS, batch=BATCH,
                                      lr=LR[optimizer])
        gap = float(np.max(np.abs(rank0 - single)))
        return {"replicas_identical": float(np.array_equal(rank0, rank1)),
                "equals_big_batch": float(gap <= TOLERANCE),
                "identical_and_equal": float(np.array_equal(rank0, rank1) and gap <= TOLERANCE),
                "max_gap": gap}

    claim.sweep(data_parallel)
    claim.expect(Exact("identical_and_equal"))
