"""Frozen run settings and named profiles (``default``, ``quick``, ``thorough``).

A profile scales the seed count every claim asks for: a claim declares how many seeds
it needs at the ``default`` profile, and the profile multiplies that (``quick`` for smoke
runs, ``thorough`` for publication-grade counts). ``--atomcheck-seeds=N`` overrides all.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from atomcheck.errors import InvalidClaim

__all__ = ["Settings", "register_profile", "get_profile", "load_profile", "PROFILES"]

INCONCLUSIVE_OUTCOMES = ("fail", "skip", "pass")
DEVICES = ("cpu", "cuda", "auto")


@dataclass(frozen=True)
class Settings:
    """Everything that changes how claims run, in one immutable object.

    Attributes
    ----------
    profile : str
        Name of the profile these settings came from.
    alpha : float
        Significance level, in (0, 1).
    seed_scale : float
        Multiplier on each claim's default seed count.
    min_seeds : int
        Floor on the scaled seed count.
    seeds : int or None
        When set, every claim uses exactly this many seeds.
    inconclusive : {"fail", "skip", "pass"}
        pytest outcome of an inconclusive verdict.
    device : {"cpu", "cuda", "auto"}
        Where the batched engine trains.
    executor : {"serial", "processes", "dask"}
        Name of the executor that runs sweeps.
    workers : int or None
        Worker processes of the ``processes`` executor and of a local Dask cluster
        (default: the CPU count).
    dask_address : str or None
        ``tcp://host:port`` of a running Dask scheduler; None starts a local cluster.
    fdr : {"none", "bh", "by", "holm"}
        Adjustment of all claims' p-values across the run (:mod:`atomcheck.report.suite`).
    sequential : bool
        Every claim adds seeds in looks while its verdict is inconclusive, alpha spent
        across the looks (:mod:`atomcheck.sequential`); a claim's own ``sequential=`` wins.
    sequential_seeds : (int, int) or None
        Seeds at the first and last look for every sequential claim; None: 5 seeds, then
        (from 12 seeds on) half of each claim's seeds, then all of them.
    sequential_looks : int or None
        Looks per sequential claim (evenly spaced seed counts); None: the default rule
        above (:mod:`atomcheck.sequential`).
    seed_base : int
        Seeds are ``seed_base … seed_base + n − 1``: a fresh base re-derives every verdict
        on seeds nobody has looked at.

    Examples
    --------
    >>> Settings().seeds_for(10)
    10
    >>> get_profile("quick").seeds_for(10)
    5
    """

    profile: str = "default"
    alpha: float = 0.05
    seed_scale: float = 1.0
    min_seeds: int = 5
    seeds: int | None = None
    inconclusive: str = "fail"
    device: str = "cpu"
    executor: str = "serial"
    seed_base: int = 0
    workers: int | None = None
    dask_address: str | None = None
    fdr: str = "none"
    sequential: bool = False
    sequential_seeds: tuple[int, int] | None = None
    sequential_looks: int | None = None

    def __post_init__(self) -> None:
        _check_alpha(self.alpha)
        if self.seeds is not None and (not isinstance(self.seeds, int) or self.seeds < 2):
            raise InvalidClaim(
                f"seeds={self.seeds!r} must be an integer >= 2: a statistical claim needs "
                "at least two paired seeds. Pass e.g. --atomcheck-seeds=10."
            )
        if self.inconclusive not in INCONCLUSIVE_OUTCOMES:
            raise InvalidClaim(
                f"inconclusive={self.inconclusive!r} must be one of {INCONCLUSIVE_OUTCOMES}."
            )
        if self.device not in DEVICES:
            raise InvalidClaim(f"device={self.device!r} must be one of {DEVICES}.")
        if not isinstance(self.seed_base, int) or isinstance(self.seed_base, bool) \
                or self.seed_base < 0:
            raise InvalidClaim(f"seed_base={self.seed_base!r} must be an integer >= 0, e.g. "
                               "--atomcheck-seed-base=1000.")
        if self.executor not in EXECUTOR_NAMES:
            raise InvalidClaim(f"--atomcheck-executor={self.executor!r} is not known; choose one "
                               f"of {', '.join(EXECUTOR_NAMES)}.")
        if self.workers is not None and (not isinstance(self.workers, int)
                                         or isinstance(self.workers, bool) or self.workers < 1):
            raise InvalidClaim(f"--atomcheck-workers={self.workers!r} must be an integer >= 1, "
                               "e.g. --atomcheck-workers=2.")
        if self.dask_address is not None and self.executor != "dask":
            raise InvalidClaim("--atomcheck-dask-address needs --atomcheck-executor=dask.")
        if self.fdr not in FDR_NAMES:
            raise InvalidClaim(f"--atomcheck-fdr={self.fdr!r} is not known; choose one of "
                               f"{', '.join(FDR_NAMES)}.")
        if not self.seed_scale > 0:
            raise InvalidClaim(f"seed_scale={self.seed_scale!r} must be > 0.")
        _check_sequential(self.sequential_seeds, self.sequential_looks)

    def seeds_for(self, default_seeds: int) -> int:
        """Seeds a claim declaring ``default_seeds`` gets under these settings."""
        if self.seeds is not None:
            return self.seeds
        # The floor never raises a claim above its own declared count.
        return max(min(self.min_seeds, default_seeds), math.ceil(default_seeds * self.seed_scale))

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with ``changes`` applied (validated)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        return asdict(self)


#: The executors (:mod:`atomcheck.executors`), by name.
EXECUTOR_NAMES = ("serial", "processes", "dask")
#: Suite-wide p-value adjustments (:mod:`atomcheck.report.suite`), by name.
FDR_NAMES = ("none", "bh", "by", "holm")


def _check_sequential(seeds: tuple[int, int] | None, looks: int | None) -> None:
    """Bad sequential input fails at start-up, naming the option and the fix."""
    if seeds is not None:
        low, high = seeds
        if low < 2:
            raise InvalidClaim(f"--atomcheck-sequential-seeds={low}:{high}: the minimum {low} is "
                               "too few (a look needs >= 2 paired seeds); use e.g. 5:20.")
        if high < low:
            raise InvalidClaim(f"--atomcheck-sequential-seeds={low}:{high}: the maximum {high} is "
                               f"below the minimum {low}; give MIN:MAX with MIN <= MAX, e.g. "
                               f"{high}:{low}.")
    if looks is not None and (not isinstance(looks, int) or isinstance(looks, bool)
                              or looks < 1):
        raise InvalidClaim(f"--atomcheck-sequential-looks={looks!r} must be an integer >= 1, "
                           "e.g. --atomcheck-sequential-looks=2.")


def _check_alpha(alpha: object) -> None:
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not 0 < alpha < 1:
        raise InvalidClaim(
            f"alpha={alpha!r} must lie strictly between 0 and 1. Use e.g. alpha=0.05."
        )


PROFILES: dict[str, Settings] = {}
"""Registered profiles by name."""


def register_profile(name: str, settings: Settings) -> None:
    """Register ``settings`` under ``name`` (replacing any earlier one).

    Examples
    --------
    >>> register_profile("ci", Settings(seed_scale=0.5))
    >>> get_profile("ci").profile
    'ci'
    """
    PROFILES[name] = replace(settings, profile=name)


def get_profile(name: str) -> Settings:
    """Return the profile registered under ``name``.

    Raises
    ------
    InvalidClaim
        When no profile has that name; the message lists the known ones.
    """
    try:
        return PROFILES[name]
    except KeyError:
        raise InvalidClaim(
            f"profile={name!r} is not registered; known profiles: {sorted(PROFILES)}. "
            "Register one with atomcheck.register_profile(name, Settings(...))."
        ) from None


load_profile = get_profile
"""Alias of :func:`get_profile`, Hypothesis-style."""

register_profile("default", Settings())
register_profile("quick", Settings(seed_scale=0.5, min_seeds=5))
register_profile("thorough", Settings(seed_scale=3.0, min_seeds=20))
