"""Reports of a run: metrics JSON written from notebooks, HTML rendering, the index page.

Notebooks hand their headline figures to :func:`record_metrics`; ``run_all.py`` renders each
executed notebook with nbconvert (:func:`render_html`) and writes ``index.html``
(:func:`write_index`). Plotly figures draw offline because notebooks use the ``notebook``
renderer, which embeds plotly.js once per page (see :func:`cryptexlab.notebook.setup`).
"""

from __future__ import annotations

import html
import json
import math
import re
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbconvert import HTMLExporter


@dataclass
class NotebookResult:
    """Outcome of one notebook in a run."""

    name: str
    status: str  # "ok", "failed" or "skipped"
    seconds: float = 0.0
    error: str = ""
    headline: dict[str, Any] = field(default_factory=dict)

    @property
    def html_name(self) -> str:
        """File name of the rendered page."""
        return f"{self.name}.html"

    @property
    def ipynb_name(self) -> str:
        """File name of the executed notebook."""
        return f"{self.name}.ipynb"


def record_metrics(path: str | os.PathLike[str] | None, headline: dict[str, Any],
                   details: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write a notebook's metrics JSON (``headline`` scalars shown in index.html).

    Args:
        path: Where to write; ``None`` (interactive use) writes nothing.
        headline: A few named scalars: the figures a reader looks for first.
        details: Anything else JSON-serialisable.

    Returns:
        The document written (or that would have been written).
    """
    doc = {"headline": _jsonable(headline), "details": _jsonable(details or {})}
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(doc, indent=2, sort_keys=True))
    return doc


def read_metrics(path: Path) -> dict[str, Any]:
    """Read a metrics JSON; a missing file gives empty sections."""
    if not path.is_file():
        return {"headline": {}, "details": {}}
    return json.loads(path.read_text())


def render_html(ipynb: Path, out: Path) -> Path:
    """Render an executed (or partially executed) notebook to a page that opens offline.

    plotly.js is already embedded in the outputs (the ``notebook`` renderer). What nbconvert's
    template and plotly's renderer add from CDNs (require.js, MathJax; no page here uses math)
    would only stall an offline browser, so external ``<script src>`` tags are removed.
    """
    nb = nbformat.read(ipynb, as_version=4)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    out.write_text(_EXTERNAL_SCRIPT.sub("", body), encoding="utf-8")
    return out


_EXTERNAL_SCRIPT = re.compile(r'<script[^>]*\ssrc="https?://[^"]*"[^>]*>\s*</script>')


def write_index(
    run_dir: Path,
    *,
    profile: str,
    parameters_yaml: str,
    data_source: str,
    results: list[NotebookResult],
) -> Path:
    """Write ``index.html``: profile, parameters, data source, and a row per notebook."""
    rows = []
    for r in results:
        links = (
            f'<a href="{r.html_name}">report</a> · <a href="{r.ipynb_name}">notebook</a>'
            if r.status != "skipped" else ""
        )
        metrics = "<br>".join(f"{html.escape(k)}: {html.escape(_fmt(v))}" for k, v in r.headline.items())
        error = f'<div class="err">{html.escape(r.error)}</div>' if r.error else ""
        rows.append(
            f'<tr class="{r.status}"><td>{html.escape(r.name)}</td><td>{r.status}</td>'
            f"<td>{r.seconds:.1f} s</td><td>{metrics}{error}</td><td>{links}</td></tr>"
        )
    synthetic = "synthetic" in data_source
    banner = (
        '<p class="synthetic">Data: SYNTHETIC series (the embedded default), not market data. '
        "Conclusions about Bitcoin need a real candle file (data.path).</p>" if synthetic else ""
    )
    overall = "failed" if any(r.status == "failed" for r in results) else "ok"
    page = _INDEX.format(
        profile=html.escape(profile),
        overall=overall,
        banner=banner,
        source=html.escape(data_source),
        rows="\n".join(rows),
        params=html.escape(parameters_yaml),
    )
    path = run_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _jsonable(obj: Any) -> Any:
    """Convert numpy/pandas scalars and non-finite floats into plain JSON values."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalar
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


_INDEX = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Run: {profile}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; max-width: 70em; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border: 1px solid #ccc; padding: .4em .6em; vertical-align: top; text-align: left; }}
tr.failed {{ background: #fde8e8; }} tr.skipped {{ color: #888; }} tr.ok td:nth-child(2) {{ color: #176f2c; }}
.err {{ color: #a11; white-space: pre-wrap; font-family: monospace; }}
.synthetic {{ background: #fff4d6; border: 1px solid #e0b000; padding: .5em; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}
</style></head>
<body>
<h1>Run of profile <code>{profile}</code>: <span class="status-{overall}">{overall}</span></h1>
{banner}
<p><b>Data source:</b> {source}</p>
<table><thead><tr><th>notebook</th><th>status</th><th>duration</th><th>headline metrics</th><th>links</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<h2>Parameters</h2>
<pre>{params}</pre>
</body></html>
"""
