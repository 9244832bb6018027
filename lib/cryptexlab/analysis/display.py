"""Showing one part of an analysis in a notebook: a line per study, its table, its figure.

05_analysis calls :func:`show` once per section, so the notebook holds no loops over studies.

Example:
    >>> show(report, "importance")  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd
from IPython.display import Markdown, display

from cryptexlab.analysis.report import AnalysisReport

#: part -> the table of :attr:`AnalysisReport.tables` shown with it (None: the figure alone)
PARTS = {"convergence": None, "importance": "importance", "distribution": None, "correlation": None,
         "pareto": "pareto", "attributes": "outcomes", "robustness": "robustness"}


def show(report: AnalysisReport, part: str) -> None:
    """Display ``part`` for every study that has it (``comparison``: the studies together)."""
    if part == "comparison":
        tables = report.tables.get("_comparison")
        if tables is None:
            display(Markdown("One study only: nothing to compare."))
            return
        display(tables["table"].drop(columns=["storage"]))
        if "_comparison" in report.figures:
            report.figures["_comparison"]["curves"].show()
        if not tables["folds"].empty:
            display(Markdown("Cross-validated fold scores of each study's best trial:"))
            display(tables["folds"].pivot(index="fold", columns="study", values="score"))
        return
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; show() draws one of {', '.join([*PARTS, 'comparison'])}")
    if part == "pareto" and not any("pareto" in t for n, t in report.tables.items() if not n.startswith("_")):
        display(Markdown("No multi-objective study here (set `02_search.objectives` to two metrics for a Pareto front)."))
        return
    for name, tables in report.tables.items():
        if name.startswith("_") or (part == "pareto" and "pareto" not in tables):
            continue
        if len(report.tables) > 1:
            display(Markdown(f"**{name}**"))
        key = PARTS[part]
        table = tables.get(key) if key else None
        if isinstance(table, pd.DataFrame) and not table.empty:
            display(table)
        fig = report.figures.get(name, {}).get(part)
        if fig is not None:
            fig.show()
        elif table is None or (isinstance(table, pd.DataFrame) and table.empty):
            why = "05_analysis.create_plots is false" if not report.figures else "too few completed trials or varying parameters"
            display(Markdown(f"No {part} figure for {name}: {why}."))
