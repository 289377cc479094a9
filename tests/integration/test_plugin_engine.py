"""The plugin with real training: batched claims, and routing shown under -v."""

from __future__ import annotations

import json

import pytest

ROUTED = '''
import pytest
from atomcheck import Rises
from atomcheck.data import gaussian_mixture
from atomcheck.models import MLPSpec, Task

class Custom(MLPSpec):
    """A subclass the batched engine cannot see into."""

@pytest.mark.claim(claim_id="demo.route", seeds=3)
@pytest.mark.parametrize("spec", [MLPSpec(widths=(4,), epochs=2), Custom(widths=(4,), epochs=2)],
                         ids=["plain", "custom"])
def test_route(claim, spec):
    """Accuracy rises with the learning rate."""
    claim.sweep(Task(gaussian_mixture, spec, data_args={"n_train": 40, "n_test": 20}),
                lr=[0.001, 0.01, 0.1])
    claim.expect(Rises("test_accuracy", along="lr"))
'''


def test_unexpressible_config_is_routed_and_says_so(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=ROUTED)
    result = pytester.runpytest("-v", "--atomcheck-inconclusive=pass",
                                "--atomcheck-report=r.json")
    result.stdout.fnmatch_lines(["*atomcheck.engine: task*per-seed path because model is a "
                                 "subclass of MLPSpec (Custom)*"])
    # One line per configuration of the custom variant; the plain variant stays batched.
    assert result.stdout.str().count("per-seed path because") == 3
    claims = json.loads((pytester.path / "r.json").read_text())["claims"]
    assert {c["variant"] for c in claims} == {"plain", "custom"}
