"""The data-parallel toolbox: the port check, and two real gloo ranks against one process."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from atomcheck.toolbox.data_parallel import (
    PortInUse,
    check_port,
    free_port,
    train_data_parallel,
    train_single_process,
)


def test_a_taken_port_is_refused_before_any_process_starts() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(PortInUse, match=f"127.0.0.1:{port} is taken.*port=None"):
            check_port(port)
        with pytest.raises(PortInUse):
            train_data_parallel([0], optimizer="sgd", steps=1, batch=4, lr=0.1, port=port)
    check_port(free_port())


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="split evenly"):
        train_data_parallel([0], optimizer="sgd", steps=1, batch=3, lr=0.1)
    with pytest.raises(ValueError, match="'rmsprop'"):
        train_data_parallel([0], optimizer="rmsprop", steps=1, batch=4, lr=0.1)


def test_two_ranks_stay_identical_and_equal_the_big_batch() -> None:
    pytest.importorskip("torch")
    ranks = train_data_parallel([0, 1], optimizer=["sgd", "adam"], lr=[0.1, 0.01], steps=3,
                                batch=8)
    for (rank0, rank1), (seed, opt, lr) in zip(ranks, [(0, "sgd", 0.1), (1, "adam", 0.01)]):
        assert np.array_equal(rank0, rank1)
        single = train_single_process(seed, optimizer=opt, steps=3, batch=8, lr=lr)
        np.testing.assert_allclose(rank0, single, rtol=0, atol=1e-12)
        # and training moved the weights (the comparison is not of two untouched inits)
        untouched = train_single_process(seed, optimizer=opt, steps=0, batch=8, lr=lr)
        assert np.max(np.abs(single - untouched)) > 1e-4
