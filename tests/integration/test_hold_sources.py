"""``hold`` for ``module_task`` and ``sklearn_task``: a held source is one stream for every
seed; a sweep's batched runs equal ``fn(seed)``; each source alone still varies."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from atomcheck import InvalidClaim  # noqa: E402
from atomcheck.data import gaussian_mixture  # noqa: E402
from atomcheck.engine.modules import train_module_solo  # noqa: E402
from atomcheck.models import configure_torch, module_task, sklearn_task  # noqa: E402
from atomcheck.seeding import SOURCES, vary_only  # noqa: E402
from atomcheck.sweep import run_sweep  # noqa: E402
from atomcheck.toolbox.variance_sources import variance_by_source  # noqa: E402

configure_torch(1)

SEEDS = [1, 2, 3, 4]
DATA = {"dims": 4, "n_train": 48, "n_test": 40}


def dropout_net(n_features: int, n_classes: int) -> nn.Module:
    """Every source matters: a sample, initial weights, mini-batch order, dropout masks."""
    return nn.Sequential(nn.Linear(n_features, 12), nn.ReLU(), nn.Dropout(0.3),
                         nn.Linear(12, n_classes)).double()


TASK = module_task(dropout_net, gaussian_mixture, data_args=DATA, lr=0.1, batch_size=8,
                   epochs=3)


def _losses(fn, hold, *, batched: bool | None = None) -> np.ndarray:
    table = run_sweep(fn, {"hold": [hold]}, SEEDS, batched=batched)
    return table.matrix("test_loss")[:, 0]


@pytest.mark.parametrize("hold", [(), ("data",), ("init",), ("order", "dropout"), SOURCES],
                         ids=lambda h: "+".join(h) or "none")
def test_module_task_batched_sweep_equals_each_seed_alone(hold) -> None:
    batched = run_sweep(TASK, {"hold": [hold]}, SEEDS)
    assert batched.engine == "batched"
    for seed, run in zip(SEEDS, batched.runs):
        assert run.metrics == TASK(seed, hold=hold), seed


def test_module_task_everything_held_makes_every_seed_identical() -> None:
    held = _losses(TASK, SOURCES)
    assert np.all(held == held[0])
    assert len(set(_losses(TASK, ()))) == len(SEEDS), "nothing held: the seeds differ"


@pytest.mark.parametrize("source", SOURCES)
def test_module_task_each_source_alone_still_varies(source) -> None:
    values = _losses(TASK, vary_only(source))
    assert len(set(values)) > 1, f"{source} alone should make the seeds differ"


def test_module_task_hold_default_a_factor_and_the_factory_seed() -> None:
    fixed = module_task(dropout_net, gaussian_mixture, data_args=DATA, epochs=1,
                        hold=("data",))
    assert np.array_equal(fixed.dataset(1, {}).x_train, fixed.dataset(2, {}).x_train)
    assert not np.array_equal(fixed.dataset(1, {"hold": ()}).x_train,
                              fixed.dataset(2, {"hold": ()}).x_train)
    seen: list[int] = []

    def factory(n_features: int, n_classes: int, seed: int) -> nn.Module:
        seen.append(seed)
        return nn.Linear(n_features, n_classes)

    task = module_task(factory, gaussian_mixture, data_args=DATA, epochs=1)
    task(5, hold=("init",))
    task(5)
    assert seen == [0, 5], "the factory's seed is the init stream's"
    with pytest.raises(InvalidClaim, match=r"module_task: hold=\('weights',\): 'weights' is "
                                           "not a source of randomness"):
        task(5, hold=("weights",))


def test_the_plain_per_seed_loop_honours_hold_too() -> None:
    data = gaussian_mixture(seed=0, **DATA)
    kw = dict(lr=0.1, batch_size=8, epochs=2, reference=True)
    held = [train_module_solo(dropout_net, data, s, hold=SOURCES, **kw)["test_loss"]
            for s in SEEDS]
    free = [train_module_solo(dropout_net, data, s, **kw)["test_loss"] for s in SEEDS]
    assert len(set(held)) == 1 and len(set(free)) == len(SEEDS)


def test_a_claim_breaks_a_module_tasks_variance_down_by_source() -> None:
    from atomcheck import Beats, Claim

    claim = Claim("demo.module_sources", seeds=5, variance_sources=["init", "dropout"])
    claim.sweep(TASK, lr=[0.05, 0.1])
    claim.expect(Beats("test_loss", along="lr", a=0.1, b=0.05, greater=False))
    record = claim.variance_by_source
    assert record is not None and record["extra_runs"] == 2 * 2 * 5
    level = record["levels"][1]
    assert level["config"] == {"lr": 0.1}
    by_hand = [TASK(s, lr=0.1, hold=vary_only("init"))["test_loss"] for s in claim.seeds]
    assert level["sources"]["init"]["variance"] == pytest.approx(np.var(by_hand, ddof=1))


# --------------------------------------------------------------------------- scikit-learn


def forest():
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=5, max_depth=3)


SK_TASK = sklearn_task(forest, gaussian_mixture, data_args=DATA)


def _accuracy(hold) -> list[float]:
    return [SK_TASK(s, hold=hold)["test_balanced_accuracy"] for s in SEEDS]


def test_sklearn_task_draws_from_data_and_random_state() -> None:
    assert SK_TASK.sources == ("data", "init")
    held = _accuracy(("data", "init"))
    assert len(set(held)) == 1
    for source in SK_TASK.sources:
        assert len(set(_accuracy(vary_only(source, SK_TASK.sources)))) > 1, source
    table = run_sweep(SK_TASK, {"hold": [("data",)]}, SEEDS)
    assert table.matrix("test_balanced_accuracy")[:, 0].tolist() == _accuracy(("data",))


@pytest.mark.parametrize(("hold", "message"), [
    (("order",), r"sklearn_task: hold=\('order',\): sklearn_task hands the training rows to "
                 r"fit in the dataset's order.*Hold 'data' or 'init' instead\."),
    ("dropout", r"sklearn_task: hold='dropout': scikit-learn estimators draw no dropout masks\. "
                r"Drop 'dropout' from hold"),
])
def test_sklearn_task_refuses_a_source_it_does_not_have(hold, message) -> None:
    with pytest.raises(InvalidClaim, match=message):
        SK_TASK(1, hold=hold)
    with pytest.raises(InvalidClaim, match=message):
        sklearn_task(forest, gaussian_mixture, hold=hold)


def test_variance_by_source_covers_module_and_sklearn_tasks() -> None:
    out = variance_by_source(SK_TASK, "test_balanced_accuracy", SEEDS)
    assert set(out) == {"data", "init", "all"} and out["all"]["share"] == 1.0
    mod = variance_by_source(TASK, "test_loss", SEEDS, sources=["init"])
    alone = np.var(_losses(TASK, vary_only("init")), ddof=1)
    assert mod["init"]["variance"] == pytest.approx(alone)
    with pytest.raises(ValueError, match="sources"):
        variance_by_source(SK_TASK, "test_accuracy", SEEDS, sources=["order"])
