"""Trial attributes against parameters: duration, memory estimate and how each trial ended.

The attributes are the trials' user attributes written by the search (``duration_s``,
``memory_estimate_mib``, ``stop_reason``, ``failure_reason``); ``outcome`` folds the last two into
one label per trial (``completed``, ``pruned``, ``early_stopped``, the failure's kind such as
``invalid`` or ``memory_budget``, ...). Every state counts here, not only completed trials: a
parameter that makes trials fail or run long is what this view is for.

Example:
    >>> outcome_table(frame)  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cryptexlab.analysis.load import thin

NUMERIC_ATTRIBUTES = ("duration_s", "memory_estimate_mib")
#: the label of a trial with neither a failure nor a stop reason
STATE_LABELS = {"COMPLETE": "completed", "FAIL": "failed", "RUNNING": "running", "WAITING": "waiting", "PRUNED": "pruned"}
#: trials drawn in the grid (each of its up to 12 panels holds them all)
ATTRIBUTE_POINTS = 500


def outcomes(frame: pd.DataFrame) -> pd.Series:
    """One label per trial: the failure's kind (text before ':'), the stop reason, or the state."""
    failure = frame["failure_reason"] if "failure_reason" in frame else pd.Series(np.nan, index=frame.index)
    stop = frame["stop_reason"] if "stop_reason" in frame else pd.Series(np.nan, index=frame.index)
    label = failure.dropna().astype(str).str.split(":").str[0].reindex(frame.index)
    label = label.fillna(stop).fillna(frame["state"].map(STATE_LABELS).fillna(frame["state"].str.lower()))
    return label.where(frame["state"] != "PRUNED", "pruned")


def outcome_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Trials per outcome with their mean duration."""
    table = pd.DataFrame({"outcome": outcomes(frame), "duration_s": frame["duration_s"]})
    return (table.groupby("outcome").agg(trials=("outcome", "size"), mean_duration_s=("duration_s", "mean"))
            .sort_values("trials", ascending=False))


def attribute_summary(frame: pd.DataFrame) -> dict[str, Any]:
    """Totals: trial seconds, mean and max duration, memory range, outcome counts."""
    d, m = frame["duration_s"].astype(float), frame["memory_estimate_mib"].astype(float)
    return {"total_trial_seconds": float(d.sum()), "mean_duration_s": float(d.mean()) if d.notna().any() else None,
            "max_duration_s": float(d.max()) if d.notna().any() else None,
            "memory_estimate_mib": [float(m.min()), float(m.max())] if m.notna().any() else None,
            "outcomes": outcomes(frame).value_counts().to_dict()}


def attributes_figure(frame: pd.DataFrame, params: list[str], max_params: int = 6) -> go.Figure:
    """A grid: one row per numeric attribute (duration, memory estimate), one column per parameter (the
    first ``max_params`` given, e.g. by importance); points coloured by outcome."""
    params = params[:max_params]
    attrs = [a for a in NUMERIC_ATTRIBUTES if frame[a].notna().any()]
    if not params or not attrs:
        fig = go.Figure()
        fig.update_layout(title="No trial attributes to plot (no duration or memory estimate recorded)", height=200)
        return fig
    shown = thin(frame, ATTRIBUTE_POINTS)  # every panel repeats the points: fewer than the other figures
    label = outcomes(shown)
    colours = dict(zip(sorted(label.unique()), itertools.cycle(px.colors.qualitative.Plotly)))
    fig = make_subplots(rows=len(attrs), cols=len(params), shared_yaxes=True, horizontal_spacing=0.02,
                        vertical_spacing=0.12, column_titles=params)
    for r, attr in enumerate(attrs, 1):
        for c, p in enumerate(params, 1):
            for outcome, colour in colours.items():
                part = shown[label == outcome]
                fig.add_trace(go.Scatter(x=part[f"params.{p}"], y=part[attr], mode="markers", name=outcome,
                                           marker=dict(size=4, color=colour, opacity=0.6), legendgroup=outcome,
                                           showlegend=(r == 1 and c == 1)), row=r, col=c)
        fig.update_yaxes(title_text=attr, row=r, col=1)
    drawn = f" ({len(shown):,} of {len(frame):,} trials drawn)" if len(shown) < len(frame) else ""
    fig.update_layout(title=f"Trial attributes against parameters, by outcome{drawn}", height=300 * len(attrs) + 120)
    return fig
