"""The HTML report in a real browser: headless Chromium (Debian's ``chromium`` package)
opens the page, runs its script, and takes a screenshot that must show something.

Also the page end to end through pytest: ``--atomcheck-report=PATH.html`` writes it.
Skipped, with the reason, where no Chromium is installed (.ci/run installs it first).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from report_runs import demo_run

from atomcheck.report import render_html

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WIDTH, HEIGHT = 1200, 1600


def _browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no headless Chromium: install Debian's chromium package "
                "(apt-get install -y chromium) to check the HTML report in a browser")


def _chromium(browser: str, *args: str) -> subprocess.CompletedProcess[str]:
    # --no-sandbox: CI containers run as root; virtual time lets the page finish loading
    # and running its script before the DOM is dumped or the picture taken, under load too.
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--no-first-run", "--disable-extensions", "--virtual-time-budget=10000",
           f"--window-size={WIDTH},{HEIGHT}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture(scope="module")
def page_path(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    run = demo_run()
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render_html(run), encoding="utf-8")
    return path, run


def test_page_runs_in_chromium(page_path: tuple[Path, dict]) -> None:
    browser = _browser()
    path, run = page_path
    done = _chromium(browser, "--dump-dom", path.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    root = re.search(r"<html[^>]*>", dom)
    assert root, dom[:500]
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', root.group(0)))
    assert attrs.get("data-js") == "ready", "the page's script did not run to its end"
    plotted = sum(1 for c in run["claims"] if c["levels"])
    assert int(attrs["data-plots-drawn"]) == plotted, "every plot has a size on screen"
    height = int(attrs["data-page-height"])
    assert 2000 < height < 100 * len(run["claims"]) * 20, height
    assert 'id="filters"' in dom and 'id="filters" hidden' not in dom  # script showed it
    for claim in run["claims"]:
        label = claim["id"] + (f"[{claim['variant']}]" if claim.get("variant") else "")
        assert f"<code>{label}</code>" in dom


def _screenshot(browser: str, page: Path, shot: Path, *flags: str) -> np.ndarray:
    import matplotlib.image

    done = _chromium(browser, *flags, f"--screenshot={shot}", page.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    pixels: np.ndarray = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    return pixels


def _check_shows_the_page(pixels: np.ndarray) -> None:
    inked = pixels.mean(axis=2) < 0.85
    assert inked.mean() > 0.02, "the screenshot is (nearly) blank"
    assert pixels.std() > 0.05
    # Ink spread down the page (table, then claims with plots), not one stripe.
    rows_inked = inked.any(axis=1)
    assert rows_inked[: HEIGHT // 3].mean() > 0.3 and rows_inked[HEIGHT // 3:].mean() > 0.3
    # The verdict colours of the badges are on screen (green for supported).
    green = (pixels[..., 1] > 0.4) & (pixels[..., 0] < 0.25) & (pixels[..., 2] < 0.35)
    assert green.sum() > 50


def test_screenshot_shows_the_page(page_path: tuple[Path, dict], tmp_path: Path) -> None:
    browser = _browser()
    _check_shows_the_page(_screenshot(browser, page_path[0], tmp_path / "shot.png"))


def test_page_reads_without_javascript(page_path: tuple[Path, dict], tmp_path: Path) -> None:
    """Without its script (what a browser with JavaScript off runs; Chromium's headless
    screenshot and DOM dump need scripting on) the page shows every row and plot; only
    the filter line, which needs the script, stays hidden."""
    browser = _browser()
    page, run = page_path
    text = page.read_text(encoding="utf-8")
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r"<script>.*?</script>", "", text, flags=re.S), encoding="utf-8")
    assert "<script" not in bare.read_text(encoding="utf-8")
    dom = _chromium(browser, "--dump-dom", bare.as_uri()).stdout
    assert 'data-js="ready"' not in dom and 'id="filters" hidden' in dom
    assert dom.count("<svg") == sum(1 for c in run["claims"] if c["levels"])
    assert dom.count('<tr data-verdict="') == len(run["claims"])
    off = _screenshot(browser, bare, tmp_path / "off.png")
    _check_shows_the_page(off)


CLAIMS = '''
import pytest
from atomcheck import Beats, Rises

@pytest.mark.claim(claim_id="demo.rise", sources=["doc.txt §1"], seeds=10)
def test_rise(claim):
    """y rises with x."""
    claim.sweep(lambda seed, x: {"y": x + 0.1 * ((seed * 7919) % 13)}, x=[1, 2, 3, 4])
    claim.expect(Rises("y", along="x"))

@pytest.mark.claim(claim_id="demo.beats", sources=["doc.txt §2"], seeds=10)
def test_beats(claim):
    """Arm a beats arm b."""
    claim.sweep(lambda seed, arm: {"y": (1.0 if arm == "a" else 0.0) + 0.01 * seed},
                arm=["a", "b"])
    claim.expect(Beats("y", along="arm", a="a", b="b"))
'''


def test_plugin_writes_the_page(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_claims=CLAIMS)
    result = pytester.runpytest("--atomcheck-report=out/report.html",
                                "--atomcheck-report=out/report.json")
    result.assert_outcomes(passed=2)
    page = (pytester.path / "out" / "report.html").read_text(encoding="utf-8")
    assert page.count("<figure") == 2 and page.count('<tr data-verdict="supported">') == 2
    assert "demo.rise" in page and "demo.beats" in page
    assert not re.search(r"https?://", page)
