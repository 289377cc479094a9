"""The exceptions and warnings atomcheck raises; one root, :class:`AtomcheckError`."""

from __future__ import annotations

__all__ = ["AtomcheckError", "InvalidClaim", "ClaimError", "UnderpoweredWarning"]


class AtomcheckError(Exception):
    """Root of every error atomcheck raises on purpose."""


class InvalidClaim(AtomcheckError, ValueError):
    """A claim, sweep or dataset was set up wrongly; raised before any training.

    The message names the claim (when known), the argument, the rule it broke and the fix.
    """


class ClaimError(AtomcheckError, RuntimeError):
    """Training failed inside one seed of a claim; the message names the config and seed."""


class UnderpoweredWarning(UserWarning):
    """A claim's design has little power to detect the effects it is likely to see."""
