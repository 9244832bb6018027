"""``generate_comprehensive_report``: every analysis of one or several stored studies, timed, as JSON.

As the design's example: read the studies, analyse each (convergence, importance, distribution,
correlations, Pareto front when several objectives, trial attributes, robustness), compare them
when there are several, and return a structured summary (also written as JSON). With
``figures=True`` the plotly figures come along for the notebook; the JSON never holds them.

Example:
    >>> report = generate_comprehensive_report(["quick"], json_path="reports/analysis.json")  # doctest: +SKIP
    >>> report.summary["studies"]["quick"]["convergence"]["converged"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from cryptexlab.analysis import (
    attributes,
    compare,
    convergence,
    correlation,
    distribution,
    importance,
    pareto,
    robustness,
)
from cryptexlab.analysis.compare import LoadedStudy
from cryptexlab.analysis.load import StudyRef, find_studies, param_kinds, trials_frame
from cryptexlab.reports import jsonable


@dataclass
class AnalysisReport:
    """The summary (JSON-ready), the figures by study and part, and the seconds each part took."""

    summary: dict[str, Any]
    figures: dict[str, dict[str, go.Figure]] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    studies: list[LoadedStudy] = field(default_factory=list)


def load(refs: Sequence[StudyRef]) -> list[LoadedStudy]:
    """Read every study and its trials table once."""
    out = []
    for ref in refs:
        study = ref.load()
        out.append(LoadedStudy(ref.name, ref.storage, study, trials_frame(study)))
    return out


def generate_comprehensive_report(names: Sequence[str] = (), storage: str | None = None, *,
                                  json_path: str | Path | None = None, figures: bool = True, top_params: int = 6,
                                  studies: list[LoadedStudy] | None = None) -> AnalysisReport:
    """Analyse the named studies (all in the storage when none are named; see the module docstring).

    Raises:
        ParamsError: no storage, or a name the storage does not hold (naming the studies it holds).
    """
    timings: dict[str, float] = {}

    def timed(part: str, fn: Any, *args: Any, **kw: Any) -> Any:
        start = time.perf_counter()
        out = fn(*args, **kw)
        timings[part] = timings.get(part, 0.0) + time.perf_counter() - start
        return out

    loaded = studies if studies is not None else timed("load", lambda: load(find_studies(storage, names)))
    report = AnalysisReport({"studies": {}, "seconds": timings}, studies=loaded)
    for s in loaded:
        kinds = param_kinds(s.study)
        conv = timed("convergence", convergence.convergence, s.frame, s.direction, s.column)
        imp = timed("importance", importance.importance_table, s.study, s.frame)
        values = distribution.completed_values(s.frame, s.column)
        corr = timed("correlation", correlation.correlation_matrix, s.frame, s.column)
        robust = timed("robustness", robustness.robustness_table, s, kinds)
        entry: dict[str, Any] = {
            "storage": s.storage, "metric": s.metric, "direction": s.direction, "trials": len(s.frame),
            "states": s.frame["state"].value_counts().to_dict(),
            "convergence": conv.to_dict(),
            "importance": importance.importance_summary(imp),
            "distribution": timed("distribution", distribution.distribution_stats, values, s.direction),
            "correlation": {"strongest_pairs": correlation.strongest_pairs(corr),
                            "with_objective": corr[s.column].drop(s.column).dropna().sort_values(key=abs, ascending=False)
                            .head(10).to_dict() if s.column in corr else {}},
            "attributes": timed("attributes", attributes.attribute_summary, s.frame),
            "robustness": timed("robustness", robustness.robustness_summary, s, robust),
        }
        tables: dict[str, Any] = {"importance": imp, "robustness": robust, "correlation": corr,
                                  "outcomes": attributes.outcome_table(s.frame), "convergence": conv}
        if len(s.study.directions) > 1:
            front = timed("pareto", pareto.pareto_table, s.study)
            entry["pareto"] = {"trials_on_front": len(front), "front": front.to_dict(orient="records")}
            tables["pareto"] = front
        report.summary["studies"][s.name] = entry
        report.tables[s.name] = tables
        if figures:
            report.figures[s.name] = timed("figures", _figures, s, conv, imp, values, corr, top_params)
    if len(loaded) > 1:
        table = timed("comparison", compare.comparison_table, loaded)
        report.summary["comparison"] = {**compare.comparison_summary(table), "table": table.to_dict(orient="records")}
        report.tables["_comparison"] = {"table": table, "folds": compare.fold_scores(loaded)}
        if figures:
            report.figures["_comparison"] = {"curves": compare.comparison_figure(loaded)}
    timings["total"] = sum(v for k, v in timings.items() if k != "total")
    report.summary = jsonable(report.summary)  # plain JSON values from here on (NaN as None)
    if json_path is not None:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(report.summary, indent=2, allow_nan=False) + "\n")
    return report


def _figures(s: LoadedStudy, conv: convergence.Convergence, imp: Any, values: Any, corr: Any,
             top_params: int) -> dict[str, go.Figure]:
    figs: dict[str, go.Figure] = {"convergence": convergence.convergence_figure({s.name: conv}, s.metric, s.direction),
                                  "distribution": distribution.distribution_figure(values, s.metric)}
    if not imp.empty:
        figs["importance"] = importance.importance_figure(imp)
    if len(corr) > 1:
        figs["correlation"] = correlation.correlation_figure(corr)
    if len(s.study.directions) in (2, 3) and s.study.best_trials:  # Optuna's plot draws 2 or 3 objectives
        figs["pareto"] = pareto.pareto_figure(s.study)
    order = list(imp.index) if not imp.empty else [c.removeprefix("params.") for c in s.frame if c.startswith("params.")]
    figs["attributes"] = attributes.attributes_figure(s.frame, order, top_params)
    return figs
