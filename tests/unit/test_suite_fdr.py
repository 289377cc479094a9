"""Suite-wide adjustment: equal to statsmodels, controls its error rate on null suites."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from atomcheck.report.suite import adjust, adjust_suite, negative_control_rate

METHODS = {"bh": "fdr_bh", "by": "fdr_by", "holm": "holm"}


@pytest.mark.parametrize("method", sorted(METHODS))
def test_adjusted_p_values_equal_statsmodels(method):
    rng = np.random.default_rng(0)
    for _ in range(50):
        p = np.concatenate([rng.uniform(size=20), rng.uniform(0, 0.01, size=5)])
        expected = multipletests(p, method=METHODS[method])[1]
        assert np.allclose(adjust(p, method), expected, atol=1e-12)


def test_none_is_identity_and_an_unknown_method_is_refused():
    assert adjust([0.2, 0.01], "none").tolist() == [0.2, 0.01]
    with pytest.raises(ValueError, match="bh"):
        adjust([0.1], "fdr")


@pytest.mark.parametrize("method", ["bh", "by", "holm"])
def test_on_a_null_suite_any_false_support_stays_within_alpha(method):
    # 4,000 suites of 40 true-null claims: under the complete null the FDR of BH/BY and
    # the FWER of Holm are both P(any supported), which must stay <= alpha.
    rng = np.random.default_rng(1)
    alpha, suites, size = 0.05, 4000, 40
    p = rng.uniform(size=(suites, size))
    any_false = np.mean([np.any(adjust(row, method) <= alpha) for row in p])
    upper = alpha + 3 * np.sqrt(alpha * (1 - alpha) / suites)
    assert any_false <= upper
    unadjusted = np.mean(np.any(p <= alpha, axis=1))
    assert unadjusted > 0.8, "without adjustment a 40-claim null suite nearly always errs"


def test_bh_keeps_power_on_real_effects():
    rng = np.random.default_rng(2)
    found = []
    for _ in range(500):
        real = rng.uniform(0, 0.002, size=10)
        null = rng.uniform(size=30)
        found.append(np.mean(adjust(np.concatenate([real, null]), "bh")[:10] <= 0.05))
    assert np.mean(found) > 0.95


def _claim(verdict, p, p_opp, **extra):
    return {"id": f"c.{verdict}.{p}", "variant": None, "verdict": verdict, "p_value": p,
            "p_opposite": p_opp, "expected": "supported", "message": "", **extra}


def test_adjust_suite_demotes_only_what_fails_adjustment():
    claims = [_claim("supported", 0.001, 0.99), _claim("supported", 0.04, 0.9),
              _claim("refuted", 0.95, 0.002), _claim("refuted", 0.9, 0.045),
              _claim("inconclusive", 0.3, 0.6), _claim("error", None, None)]
    summary = adjust_suite(claims, "holm", 0.05)
    verdicts = [c["verdict"] for c in claims]
    assert verdicts == ["supported", "inconclusive", "refuted", "inconclusive",
                        "inconclusive", "error"]
    assert claims[1]["verdict_unadjusted"] == "supported"
    assert "holm across 5 claims" in claims[1]["message"]
    assert summary["claims"] == 5 and len(summary["changed"]) == 2
    assert "verdict_unadjusted" not in claims[0]


def test_conditional_uses_its_best_setting_times_the_settings():
    settings = [{"p_value": 0.01}, {"p_value": 0.8}]
    strong = _claim("conditional", 0.8, 0.5, settings=settings)
    adjust_suite([strong], "holm", 0.05)
    assert strong["p_adjusted"] == pytest.approx(0.02) and strong["verdict"] == "conditional"
    weak = _claim("conditional", 0.8, 0.5, settings=[{"p_value": 0.03}, {"p_value": 0.8}])
    adjust_suite([weak], "holm", 0.05)
    assert weak["verdict"] == "inconclusive"


def test_none_changes_nothing():
    claims = [_claim("supported", 0.04, 0.9)] * 30
    assert adjust_suite(claims, "none", 0.05)["changed"] == []
    assert all(c["verdict"] == "supported" for c in claims)


def test_negative_control_rate():
    assert negative_control_rate([_claim("supported", 0.01, 0.9)]) is None
    rate = negative_control_rate([_claim("supported", 0.01, 0.9, negative_control=True),
                                  _claim("inconclusive", 0.5, 0.5, negative_control=True),
                                  _claim("refuted", 0.99, 0.01, negative_control=True),
                                  _claim("inconclusive", 0.5, 0.5, negative_control=True)])
    assert rate == {"controls": 4, "supported": 1, "rate": 0.25}
