"""Rendered reports draw every plotly figure in a real headless Chromium with no network."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
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
    return [dom[a:b] for a, b in zip(starts, starts[1:] + [len(dom)])]


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


@pytest.mark.parametrize("name,least", [("02_search", 4), ("04_schedules", 2)])
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
    assert "01_data" in dom and "ok" in dom
