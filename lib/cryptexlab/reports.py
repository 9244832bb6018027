"""Reports of a run: metrics JSON written from notebooks, HTML rendering, the index page.

Notebooks hand their headline figures to :func:`record_metrics`; ``run_all.py`` renders each
executed notebook with nbconvert (:func:`render_html`) and writes ``index.html``
(:func:`write_index`). Plotly figures draw offline because notebooks use the ``notebook``
renderer, which embeds plotly.js once per page (see :func:`cryptexlab.stages.notebook.setup`).
"""

from __future__ import annotations

import html
import json
import math
import os
import re
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
    doc = {"headline": jsonable(headline), "details": jsonable(details or {})}
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(doc, indent=2, sort_keys=True))
    return doc


def read_metrics(path: Path) -> dict[str, Any]:
    """Read a metrics JSON; a missing file gives empty sections."""
    if not path.is_file():
        return {"headline": {}, "details": {}}
    return json.loads(path.read_text())


def render_html(ipynb: Path, out: Path, headline: dict[str, Any] | None = None) -> Path:
    """Render an executed (or partially executed) notebook as a report page that opens offline.

    The page reads as a report; the ``.ipynb`` beside it keeps everything:

    * the notebook's headline figures (``headline``, from its metrics JSON) follow its title;
    * code is hidden until the reader presses "show code" (a toggle on every page);
    * what libraries wrote to stderr (warnings, progress bars, log lines) is moved out of the
      cells into one collapsed "Log" section at the end; errors (tracebacks) stay in place;
    * widgets, which have no saved state to draw from, are dropped (progress bars print their final
      line as text); one that carries a ``text/html`` fallback (the study explorer) shows that instead.

    plotly.js is already embedded in the outputs (the ``notebook`` renderer). What nbconvert's
    template and plotly's renderer add from CDNs (require.js, MathJax; no page here uses math)
    would only stall an offline browser, so external ``<script src>`` tags are removed.
    """
    nb = nbformat.read(ipynb, as_version=4)
    log = _take_log(nb)
    if headline:
        nb.cells.insert(1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0,
                        nbformat.v4.new_markdown_cell(_findings_markdown(headline)))
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    body = _EXTERNAL_SCRIPT.sub("", body)
    # nbconvert's stylesheet names the stderr mime type in a selector; an equivalent suffix selector
    # keeps tracebacks red and lets a text search for the mime type find only real output blocks
    body = body.replace("[data-mime-type='application/vnd.jupyter.stderr']", "[data-mime-type$='.jupyter.stderr']")
    body = body.replace("</head>", _REPORT_STYLE + "</head>", 1)
    body = _BODY_OPEN.sub(lambda m: m.group(0) + _TOOLBAR, body, count=1)
    body = body.replace("</body>", _log_section(log) + "</body>", 1)
    out.write_text(body, encoding="utf-8")
    return out


def _take_log(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """Remove stderr streams and state-less widget views (keeping a view's HTML fallback) from the cells;
    return (cell, text) pairs."""
    log: list[tuple[int, str]] = []
    for number, cell in enumerate(nb.cells, 1):
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                log.append((number, output.get("text", "")))
            elif _WIDGET in output.get("data", {}):
                if "text/html" in output["data"]:  # a widget with a static fallback (the study explorer)
                    del output["data"][_WIDGET]
                    output["data"].pop("text/plain", None)
                    kept.append(output)
                continue
            else:
                kept.append(output)
        cell.outputs = kept
    return log


def _findings_markdown(headline: dict[str, Any]) -> str:
    rows = "\n".join(f"| {k.replace('_', ' ')} | {_fmt(v)} |" for k, v in headline.items())
    return f"**Key figures of this run**\n\n| figure | value |\n|---|---|\n{rows}\n"


def _log_section(log: list[tuple[int, str]]) -> str:
    if not log:
        return ""
    text = "\n".join(f"[cell {n}] {html.escape(t.rstrip())}" for n, t in log)
    return (f'<details class="cx-log"><summary>Log: {len(log)} message(s) that libraries wrote to stderr '
            f"(warnings, progress, log lines)</summary><pre>{text}</pre></details>\n")


_EXTERNAL_SCRIPT = re.compile(r'<script[^>]*\ssrc="https?://[^"]*"[^>]*>\s*</script>')
_BODY_OPEN = re.compile(r"<body[^>]*>")
_WIDGET = "application/vnd.jupyter.widget-view+json"
_REPORT_STYLE = """<style>
body:not(.cx-show-code) .jp-CodeCell .jp-Cell-inputWrapper { display: none !important; }
.jp-InputPrompt, .jp-OutputPrompt { visibility: hidden; }
.cx-toolbar { position: fixed; top: .5em; right: .8em; z-index: 1000; font: 13px system-ui, sans-serif; }
.cx-toolbar a, .cx-toolbar button { margin-left: .4em; padding: .25em .7em; border: 1px solid #bbb;
  border-radius: 4px; background: #fafafa; color: #333; text-decoration: none; cursor: pointer; font: inherit; }
.cx-log { margin: 2em 1em; font: 13px system-ui, sans-serif; }
.cx-log pre { max-height: 30em; overflow: auto; background: #f6f6f6; padding: .8em; white-space: pre-wrap; }
</style>
"""
_TOOLBAR = """
<div class="cx-toolbar"><a href="index.html">run index</a><button type="button" id="cx-code-toggle"
 onclick="var on = document.body.classList.toggle('cx-show-code'); this.textContent = on ? 'hide code' : 'show code';"
 >show code</button></div>
"""


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


def jsonable(obj: Any) -> Any:
    """Convert numpy/pandas scalars and non-finite floats into plain JSON values."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
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
