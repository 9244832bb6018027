"""Rendered reports in a real headless Chromium with no network: every figure draws, code is hidden
until asked for, no stderr block shows, and pages stay small on the real hourly file."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from itertools import pairwise
from pathlib import Path

import pytest

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_dom(page: Path) -> str:
    """The DOM of a page after its scripts ran, from Debian's chromium."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "Chromium is not installed: apt-get install chromium (./workbench test does it)"
    with tempfile.TemporaryDirectory() as profile_dir:
        proc = subprocess.run(
            [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", "--virtual-time-budget=15000",
             "--dump-dom", page.as_uri()],
            capture_output=True, text=True, timeout=120,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def plotly_divs(dom: str) -> list[str]:
    """The inner HTML of every plotly figure div (up to the next figure)."""
    starts = [m.start() for m in re.finditer(r'<div[^>]*class="[^"]*plotly-graph-div', dom)]
    return [dom[a:b] for a, b in pairwise([*starts, len(dom)])]


def test_report_loads_nothing_from_the_network(smoke_run) -> None:
    result, _ = smoke_run
    page = (result.run_dir / "01_data.html").read_text()
    assert not re.search(r'<script[^>]+src="https?://', page)  # no plotly.js, MathJax or require.js from a CDN
    assert page.count("window.Plotly = Plotly") == 1  # plotly.js embedded once


def test_every_plotly_figure_draws_offline(smoke_run) -> None:
    result, _ = smoke_run
    dom = chromium_dom(result.run_dir / "01_data.html")
    figures = plotly_divs(dom)
    # candles, return distribution, volatility clustering, correlations, regimes, periods
    assert len(figures) == 6
    for i, fig in enumerate(figures):
        assert "<svg" in fig and "main-svg" in fig, f"figure {i} did not draw"


@pytest.mark.parametrize("name,least", [("02_search", 4), ("04_schedules", 2), ("05_analysis", 5), ("06_verdict", 3)])
def test_search_and_schedule_figures_draw_offline(smoke_run, name, least) -> None:
    result, _ = smoke_run
    page = result.run_dir / f"{name}.html"
    assert not re.search(r'<script[^>]+src="https?://', page.read_text())
    figures = plotly_divs(chromium_dom(page))
    assert len(figures) >= least
    for i, fig in enumerate(figures):
        assert "<svg" in fig and "main-svg" in fig, f"{name} figure {i} did not draw"


def test_index_page_opens(smoke_run) -> None:
    result, _ = smoke_run
    dom = chromium_dom(result.run_dir / "index.html")
    assert '<span class="status-ok">ok</span>' in dom  # the run's overall status in the title
    for name in PAGES:
        row = re.search(rf'<tr class="(\w+)"><td>{name}</td><td>(\w+)</td>', dom)
        assert row is not None and row.groups() == ("ok", "ok"), name
        assert f'href="{name}.html"' in dom and f'href="{name}.ipynb"' in dom


PAGES = ("01_data", "02_search", "04_schedules", "05_analysis", "06_verdict")
STDERR_BLOCK = 'data-mime-type="application/vnd.jupyter.stderr"'
SIZE_LIMIT_MIB = 6.0


@pytest.mark.slow
def test_real_file_smoke_run_every_figure_draws(smoke_run_real) -> None:
    result, lines = smoke_run_real
    assert result.ok, lines
    for name in PAGES:
        page = result.run_dir / f"{name}.html"
        assert not re.search(r'<script[^>]+src="https?://', page.read_text())
        figures = plotly_divs(chromium_dom(page))
        assert len(figures) >= (6 if name == "01_data" else 2), name
        for i, fig in enumerate(figures):
            assert "<svg" in fig and "main-svg" in fig, f"{name} figure {i} did not draw"


@pytest.mark.slow
def test_real_file_pages_show_no_stderr_and_stay_small(smoke_run_real) -> None:
    result, _ = smoke_run_real
    logged = 0
    for name in PAGES:
        page = (result.run_dir / f"{name}.html").read_text()
        assert STDERR_BLOCK not in page, f"{name}.html shows a stderr block"
        logged += page.count('<details class="cx-log">')
        for suffix in (".html", ".ipynb"):
            size = (result.run_dir / f"{name}{suffix}").stat().st_size / 2**20
            assert size < SIZE_LIMIT_MIB, f"{name}{suffix} is {size:.1f} MiB"
    assert logged >= 1  # the libraries did warn (HMM, optuna): the warnings went to the log section


@pytest.mark.slow
def test_real_file_code_is_hidden_until_the_toggle(smoke_run_real) -> None:
    from playwright.sync_api import sync_playwright

    result, _ = smoke_run_real
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "Chromium is not installed: apt-get install chromium (./workbench test does it)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=[f for f in CHROMIUM_FLAGS if f != "--headless"])
        try:
            for name in PAGES:
                page = browser.new_page()
                page.goto((result.run_dir / f"{name}.html").as_uri())
                inputs = page.locator(".jp-CodeCell .jp-Cell-inputWrapper")
                assert inputs.count() > 3
                assert not any(inputs.nth(i).is_visible() for i in range(inputs.count())), name
                assert page.locator(".jp-MarkdownCell").first.is_visible()
                page.click("#cx-code-toggle")
                assert inputs.first.is_visible() and page.inner_text("#cx-code-toggle") == "hide code"
                page.close()
        finally:
            browser.close()
