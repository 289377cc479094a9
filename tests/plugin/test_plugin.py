"""The pytest plugin end to end, through pytester (no torch: tiny pure-Python sweeps)."""

from __future__ import annotations

import json

import pytest

CLAIMS = '''
import numpy as np
import pytest
from atomcheck import Beats, Rises

def noisy(seed, x, slope):
    r = np.random.default_rng(seed)
    return {"y": slope * x + r.normal(scale=0.1, size=1)[0] * x}

@pytest.mark.claim(claim_id="demo.rise", sources=["doc.txt §1"])
@pytest.mark.parametrize("slope", [1.0, -1.0, 0.0], ids=["up", "down", "flat"])
def test_rise(claim, slope):
    """y rises with x."""
    claim.sweep(lambda seed, x: {"y": slope * x + 0.0 * seed}, x=[1, 2, 3, 4])
    claim.expect(Rises("y", along="x"))
'''


def _entries(path):
    return {(c["id"], c["variant"]): c for c in json.loads(path.read_text())["claims"]}


def test_outcome_for_each_verdict(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=CLAIMS)
    result = pytester.runpytest("--atomcheck-report=out.json", "-rA")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines([
        "*atomcheck verdicts*",
        "*demo.rise?down?*refuted*",
        "*demo.rise?flat?*inconclusive*",
        "*demo.rise?up?*supported*",
    ])
    entries = _entries(pytester.path / "out.json")
    assert entries[("demo.rise", "up")]["verdict"] == "supported"
    assert entries[("demo.rise", "up")]["outcome"] == "passed"
    assert entries[("demo.rise", "down")]["verdict"] == "refuted"
    assert entries[("demo.rise", "flat")]["outcome"] == "failed"


@pytest.mark.parametrize(("policy", "outcome"), [("skip", "skipped"), ("pass", "passed"),
                                                  ("fail", "failed")])
def test_inconclusive_policy(pytester: pytest.Pytester, policy: str, outcome: str) -> None:
    pytester.makepyfile(test_claims=CLAIMS)
    result = pytester.runpytest("-k", "flat", f"--atomcheck-inconclusive={policy}")
    result.assert_outcomes(**{outcome: 1})


def test_inconclusive_policy_from_ini(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=CLAIMS)
    pytester.makeini("[pytest]\natomcheck_inconclusive = skip\n")
    pytester.runpytest("-k", "flat").assert_outcomes(skipped=1)


def test_inconclusive_message_gives_power(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims='''
import numpy as np, pytest
from atomcheck import Beats

@pytest.mark.claim(claim_id="demo.weak")
def test_weak(claim):
    """a beats b slightly."""
    def fn(seed, arm):
        noise = np.random.default_rng(seed * 2 + (arm == "a")).normal()
        return {"acc": noise + (0.2 if arm == "a" else 0.0)}
    claim.sweep(fn, arm=["a", "b"])
    claim.expect(Beats("acc", along="arm", a="a", b="b", of="mean"))
''')
    result = pytester.runpytest("--atomcheck-seeds=6")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*INCONCLUSIVE*demo.weak*",
        "*smallest effect detectable at 6 seeds*the observed effect needs*seeds*",
        "*rerun*pytest*test_claims.py::test_weak*--atomcheck-seeds=6*",
    ])


EXPECTED_REFUTED = '''
import pytest
from atomcheck import Beats

@pytest.mark.claim(claim_id="demo.wrong", expected="refuted", reason="b is better")
@pytest.mark.parametrize("gap", [-0.3, 0.3, 0.0], ids=["refuted", "supported", "tie"])
def test_wrong(claim, gap):
    """a beats b."""
    claim.sweep(lambda seed, m: {"acc": (gap if m == "a" else 0.0) + 0.01 * seed}, m=["a", "b"])
    claim.expect(Beats("acc", along="m", a="a", b="b"))
'''


def test_expected_refuted_is_strict(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=EXPECTED_REFUTED)
    result = pytester.runpytest("-v", "--atomcheck-inconclusive=pass",
                                "--atomcheck-report=r.md")
    # Passes only when refuted: a supported or inconclusive verdict fails, even with pass.
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*test_wrong?refuted? REFUTED (expected)*"])
    text = (pytester.path / "r.md").read_text()
    assert "is expected to be refuted: b is better" in text
    assert "| `demo.wrong[refuted]` |" in text


def test_failure_message_reads_like_a_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=CLAIMS)
    result = pytester.runpytest("-k", "down")
    result.stdout.fnmatch_lines([
        "*REFUTED  demo.rise[[]down[]]: y rises with x.*",
        "*expected  y rises along x (Page's L, one-sided)*",
        "*observed  mean Kendall tau -1*10 paired seeds, 0/40 runs diverged*",
        "*levels    y: mean*",
        "*x=1 *",
        "*rerun     pytest*test_claims.py::test_rise[[]down[]]*--atomcheck-seeds=10*",
    ])


def test_reports_json_and_markdown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=CLAIMS)
    pytester.runpytest("--atomcheck-report=sub/r.json", "--atomcheck-report=sub/r.md")
    doc = json.loads((pytester.path / "sub" / "r.json").read_text())
    assert doc["schema"] == "atomcheck-report/1"
    assert set(doc["environment"]) >= {"python", "atomcheck", "torch", "numpy", "scipy",
                                       "sklearn", "platform", "device"}
    assert doc["config"]["alpha"] == 0.05 and doc["config"]["profile"] == "default"
    up = next(c for c in doc["claims"] if c["variant"] == "up")
    for key in ("id", "variant", "nodeid", "statement", "sources", "kind", "expected", "verdict",
                "outcome", "test", "statistic", "p_value", "alpha", "effect", "n_seeds", "metric",
                "levels", "members", "wall_s"):
        assert key in up, key
    assert up["kind"] == "trend" and up["test"] == "page_trend_test"
    assert up["sources"] == ["doc.txt §1"]
    assert up["levels"][0]["config"] == {"x": 1} and up["levels"][0]["n"] == 10
    assert up["effect"]["name"] == "mean Kendall tau" and len(up["effect"]["ci"]) == 2
    md = (pytester.path / "sub" / "r.md").read_text()
    assert md.count("| `demo.rise[") == 3


def test_the_statement_is_the_docstrings_first_paragraph_however_wrapped(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims='''
import pytest
from atomcheck import Rises

def rising(seed, x):
    return {"y": float(x)}

@pytest.mark.claim(claim_id="demo.wrapped")
def test_wrapped(claim):
    """y rises with x, a summary long enough
    to wrap onto a second line.

    Protocol: not part of the statement.
    """
    claim.sweep(rising, x=[1, 2, 3])
    claim.expect(Rises("y", along="x"))

@pytest.mark.claim(claim_id="demo.given", statement="Stated by the marker.")
def test_given(claim):
    """Not this."""
    claim.sweep(rising, x=[1, 2, 3])
    claim.expect(Rises("y", along="x"))
''')
    pytester.runpytest("--atomcheck-report=out.json").assert_outcomes(passed=2)
    entries = _entries(pytester.path / "out.json")
    assert entries[("demo.wrapped", None)]["statement"] == \
        "y rises with x, a summary long enough to wrap onto a second line."
    assert entries[("demo.given", None)]["statement"] == "Stated by the marker."


def test_unknown_report_suffix_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=CLAIMS)
    result = pytester.runpytest("--atomcheck-report=out.txt")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown suffix '.txt'*.json*.md*"])


@pytest.mark.parametrize(("args", "message"), [
    (["--atomcheck-alpha=1.5"], "*alpha=1.5 must lie strictly between 0 and 1*"),
    (["--atomcheck-seeds=1"], "*seeds=1 is too few*"),
    (["--atomcheck-profile=nope"], "*profile='nope' is not registered*"),
    (["--atomcheck-inconclusive=maybe"], "*invalid choice*"),
])
def test_bad_options(pytester: pytest.Pytester, args: list[str], message: str) -> None:
    pytester.makepyfile(test_claims=CLAIMS)
    result = pytester.runpytest(*args)
    assert result.ret in (pytest.ExitCode.USAGE_ERROR, 2)
    result.stderr.fnmatch_lines([message])


def test_bad_alpha_in_ini(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=CLAIMS)
    pytester.makeini("[pytest]\natomcheck_alpha = 0\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*alpha=0.0 must lie strictly between 0 and 1*"])


@pytest.mark.parametrize(("body", "message"), [
    ('claim.sweep(fn, x=[1, 2, 3])\n    claim.expect(Rises("nope", along="x"))',
     "*reads metric 'nope', but the training function returned [[]'y'[]]*"),
    ('claim.sweep(fn, width=[1, 2, 3])', "*unknown factor 'width'*accepts [[]'x'[]]*"),
    ('claim.sweep(fn, x=[])', "*factor x=?? has no level*"),
    ('claim.sweep(fn, x=[1, 2])\n    claim.expect(Equivalent("y", along="x", a=1))',
     "*needs an explicit margin > 0*"),
    ('claim.sweep(fn, x=[1, 2, 3])\n    claim.expect(Rises("y", along="z"))',
     "*along names factor 'z', which the sweep does not vary*"),
])
def test_bad_claims_fail_before_training(pytester: pytest.Pytester, body: str,
                                         message: str) -> None:
    pytester.makepyfile(test_claims=f'''
import pytest
from atomcheck import Equivalent, Rises
CALLS = []

def fn(seed, x):
    CALLS.append(seed)
    return {{"y": float(x)}}

@pytest.mark.claim(claim_id="demo.bad")
def test_bad(claim):
    """bad claim."""
    {body}

def test_no_training_happened():
    assert len(CALLS) <= 1
''')
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*demo.bad*", message])


def test_too_few_seeds_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims='''
import pytest
from atomcheck import Beats

@pytest.mark.claim(claim_id="demo.few", seeds=1)
def test_few(claim):
    """few."""
    claim.sweep(lambda seed, m: {"y": 1.0}, m=["a", "b"])
    claim.expect(Beats("y", along="m", a="a", b="b"))
''')
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*demo.few: seeds=1 is too few for a compare claim*"])


def test_wilcoxon_needs_five_seeds(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims='''
import pytest
from atomcheck import Beats

@pytest.mark.claim(claim_id="demo.four", seeds=4)
def test_four(claim):
    """four."""
    claim.sweep(lambda seed, m: {"y": 1.0}, m=["a", "b"])
    claim.expect(Beats("y", along="m", a="a", b="b"))
''')
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*seeds=4 can never reach alpha=0.05*Use seeds>=5*of='mean'*"])


def test_crash_in_one_seed_names_it_and_others_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims='''
import pytest
from atomcheck import Rises

def fn(seed, x):
    if seed == 3 and x == 2:
        raise RuntimeError("boom")
    return {"y": float(x)}

@pytest.mark.claim(claim_id="demo.crash")
def test_crash(claim):
    """crashes."""
    claim.sweep(fn, x=[1, 2, 3])
    claim.expect(Rises("y", along="x"))

@pytest.mark.claim(claim_id="demo.fine")
def test_fine(claim):
    """fine."""
    claim.sweep(lambda seed, x: {"y": float(x)}, x=[1, 2, 3])
    claim.expect(Rises("y", along="x"))
''')
    result = pytester.runpytest("--atomcheck-report=r.json")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*ClaimError: demo.crash: training failed at config={'x': 2}, "
                                 "seed=3: RuntimeError: boom*"])
    entries = _entries(pytester.path / "r.json")
    assert entries[("demo.crash", None)]["verdict"] == "error"
    assert "seed=3" in entries[("demo.crash", None)]["message"]
    assert entries[("demo.fine", None)]["verdict"] == "supported"


def test_diverged_runs_are_data(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims='''
import math, pytest
from atomcheck import Rises

@pytest.mark.claim(claim_id="demo.div")
def test_div(claim):
    """rises."""
    claim.sweep(lambda seed, x: {"y": math.nan if seed == 0 else float(x)}, x=[1, 2, 3])
    claim.expect(Rises("y", along="x"))
''')
    result = pytester.runpytest("--atomcheck-report=r.json")
    result.assert_outcomes(passed=1)
    entry = _entries(pytester.path / "r.json")[("demo.div", None)]
    # Counted against the claim by default: seed 0 becomes a falling block, still 10 seeds.
    assert entry["diverged"] == 3 and entry["n_seeds"] == 10
    assert entry["diverged_policy"] == "against" and entry["omitted"] == 0
    assert entry["effect"]["value"] == pytest.approx(1.0)  # over the 9 measured seeds
    assert entry["p_value"] > 6.0**-9  # what 9 perfectly rising seeds alone would give
    result.stdout.fnmatch_lines(["*10 (3/30 div.)*"])


def test_diverged_omit_is_explicit_and_reported(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims='''
import math, pytest
from atomcheck import Rises

@pytest.mark.claim(claim_id="demo.div")
def test_div(claim):
    """rises."""
    claim.sweep(lambda seed, x: {"y": math.nan if seed == 0 else float(x)}, x=[1, 2, 3])
    claim.expect(Rises("y", along="x", diverged="omit"))
''')
    result = pytester.runpytest("--atomcheck-report=r.json")
    result.assert_outcomes(passed=1)
    entry = _entries(pytester.path / "r.json")[("demo.div", None)]
    assert entry["n_seeds"] == 9 and entry["omitted"] == 1
    assert entry["diverged_policy"] == "omit"


def test_marker_rejects_unknown_keyword(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims='''
import pytest
@pytest.mark.claim(claim_id="demo.x", seed=3)
def test_x(claim):
    """x."""
''')
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*claim marker can't have 'seed' keyword argument*"])


def test_expected_refuted_needs_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims='''
import pytest
@pytest.mark.claim(claim_id="demo.x", expected="refuted")
def test_x(claim):
    """x."""
''')
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*expected='refuted' needs reason=*"])


def test_claim_that_never_expects_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims='''
import pytest
@pytest.mark.claim(claim_id="demo.lazy")
def test_x(claim):
    """x."""
    claim.sweep(lambda seed, x: {"y": 1.0}, x=[1, 2])
''')
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*never called claim.expect*"])


def test_variant_marker_overrides_function_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims='''
import pytest
from atomcheck import Rises

@pytest.mark.claim(claim_id="demo.var")
@pytest.mark.parametrize("slope", [
    1.0,
    pytest.param(-1.0, marks=pytest.mark.claim(expected="refuted", reason="falls"), id="neg"),
])
def test_var(claim, slope):
    """rises."""
    claim.sweep(lambda seed, x: {"y": slope * x}, x=[1, 2, 3])
    claim.expect(Rises("y", along="x"))
''')
    pytester.runpytest().assert_outcomes(passed=2)


def test_seeds_and_profile_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=CLAIMS)
    pytester.runpytest("-k", "up", "--atomcheck-seeds=7", "--atomcheck-report=a.json")
    assert _entries(pytester.path / "a.json")[("demo.rise", "up")]["n_seeds"] == 7
    result = pytester.runpytest("-k", "up", "--atomcheck-profile=thorough",
                                "--atomcheck-report=b.json")
    result.stdout.fnmatch_lines(["atomcheck: profile='thorough'*"])
    assert _entries(pytester.path / "b.json")[("demo.rise", "up")]["n_seeds"] == 30
    pytester.makeini("[pytest]\natomcheck_profile = quick\natomcheck_alpha = 0.01\n")
    pytester.runpytest("-k", "up", "--atomcheck-report=c.json")
    entry = _entries(pytester.path / "c.json")[("demo.rise", "up")]
    assert entry["n_seeds"] == 5 and entry["alpha"] == 0.01


def test_help_lists_every_option(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines([
        "atomcheck: empirical claims as statistical tests:",
        "*--atomcheck-profile=NAME*",
        "*--atomcheck-seeds=N*",
        "*--atomcheck-alpha=ALPHA*",
        "*--atomcheck-inconclusive=OUTCOME*",
        "*--atomcheck-report=PATH*",
        "*--atomcheck-device=DEVICE*",
    ])


def test_works_under_xdist(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(test_claims=CLAIMS)
    result = pytester.runpytest_subprocess("-n", "2", "--atomcheck-report=x.json")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*atomcheck verdicts*"])
    entries = _entries(pytester.path / "x.json")
    assert len(entries) == 3
    assert entries[("demo.rise", "up")]["verdict"] == "supported"


def test_verdicts_land_in_junit_xml_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=CLAIMS)
    pytester.runpytest("--junitxml=j.xml", "--atomcheck-report=r.json")
    xml = (pytester.path / "j.xml").read_text()
    assert xml.count('<property name="atomcheck"') == 3
    assert len(json.loads((pytester.path / "r.json").read_text())["claims"]) == 3


def test_verbose_shows_progress_and_sources(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=CLAIMS)
    result = pytester.runpytest("-v", "-k", "up")
    result.stdout.fnmatch_lines(["*atomcheck: demo.rise[[]up[]]: x=4 · seeds 40/40 (4/4 configs)",
                                 "*sources: doc.txt §1*"])


def test_cuda_without_a_gpu_is_a_usage_error(pytester: pytest.Pytester) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    pytester.makepyfile(test_claims=CLAIMS)
    result = pytester.runpytest("--atomcheck-device=cuda")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--atomcheck-device=cuda*torch.cuda.is_available() is False*"])


def test_dataset_argument_out_of_range_names_claim_and_argument(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims='''
import pytest
from atomcheck import Beats
from atomcheck.data import gaussian_mixture

def fn(seed, share):
    data = gaussian_mixture(seed=seed, n_train=20, n_test=10, minority_share=share)
    return {"n": float(len(data.y_train))}

@pytest.mark.claim(claim_id="demo.range")
def test_range(claim):
    """range."""
    claim.sweep(fn, share=[0.7, 0.5])
    claim.expect(Beats("n", along="share", a=0.7, b=0.5))
''')
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*InvalidClaim: demo.range: minority_share=0.7 must lie in "
                                 "(0, 0.5]. Use e.g. 0.01 for a 1:99 class ratio.*"])


def test_collection_errors_are_reported_normally(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=CLAIMS, test_broken="import nonexistent_module_xyz\n")
    result = pytester.runpytest("-rA", "--continue-on-collection-errors")
    result.assert_outcomes(passed=1, failed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR collecting test_broken.py*"])
    assert "INTERNALERROR" not in result.stdout.str()
