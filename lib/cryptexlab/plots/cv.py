"""Figures of 03_cv: the folds on the time axis, fold scores with intervals, regimes, pruning.

Example:
    >>> fig = fold_diagram(validator)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from cryptexlab.cv.folds import Development, Splitter


class FoldLayout(Protocol):
    """What the fold figures read of a cross-validator (:class:`cryptexlab.cv.validator.CrossValidator` is one):
    the development period, the splitter and its folds, nothing that trains."""

    @property
    def dev(self) -> Development: ...

    @property
    def splitter(self) -> Splitter: ...

    @property
    def splits(self) -> list[tuple[np.ndarray, np.ndarray]]: ...

#: Colours of the parts of a fold.
PARTS = {"train": "#1f77b4", "purge": "#bdbdbd", "test": "#ff7f0e", "embargo": "#d62728", "unused": "#f2f2f2"}


def fold_parts(validator: FoldLayout) -> pd.DataFrame:
    """Each fold cut into runs of window starts: train, purge (the windows left out beside a test block,
    on the sides where training windows lie), test, embargo (after the purge) and unused, with times."""
    dev = validator.dev
    n, index = dev.n_windows, dev.frame.index
    purge, embargo = validator.splitter.left_out()
    rows = []
    for k, (train, test) in enumerate(validator.splits):
        part = np.full(n, "unused", dtype=object)
        part[train] = "train"
        for block in np.split(test, np.flatnonzero(np.diff(test) > 1) + 1):
            a, b = int(block[0]), int(block[-1])
            if (train < a).any():
                _mark(part, a - purge, a, "purge")
            if (train > b).any():
                _mark(part, b + 1, b + 1 + purge, "purge")
                _mark(part, b + 1 + purge, b + 1 + purge + embargo, "embargo")
        part[test] = "test"
        for name, a, b in _runs(part):
            last = min(b - 1 + dev.span - 1, len(index) - 1)
            rows.append({"fold": f"fold {k}", "part": name, "start": index[a], "finish": index[last], "windows": b - a})
    return pd.DataFrame(rows)


def fold_diagram(validator: FoldLayout) -> go.Figure:
    """Gantt chart of the folds over the development period (by each window's first bar)."""
    parts = fold_parts(validator)
    parts = parts[parts["part"] != "unused"]
    fig = px.timeline(parts, x_start="start", x_end="finish", y="fold", color="part", color_discrete_map=PARTS,
                      hover_data=["windows"], category_orders={"part": list(PARTS)})
    fig.update_yaxes(autorange="reversed", title=None)
    fig.update_layout(title=f"{len(validator.splits)} folds of {validator.splitter!r}"[:140], height=140 + 40 * len(validator.splits),
                      legend_title_text="", xaxis_title="development period (test period excluded)")
    return fig


def fold_scores_figure(folds: pd.DataFrame, metric: str) -> go.Figure:
    """Each top trial's score per fold with its bootstrap interval, the random walk per fold dashed."""
    fig = go.Figure()
    for trial, rows in folds.groupby("trial", sort=False):
        fig.add_trace(go.Scatter(
            x=rows["fold"], y=rows["score"], mode="markers+lines", name=f"trial {trial}",
            error_y={"type": "data", "symmetric": False, "array": rows["ci_high"] - rows["score"],
                     "arrayminus": rows["score"] - rows["ci_low"]}))
    walk = folds.drop_duplicates("fold")
    fig.add_trace(go.Scatter(x=walk["fold"], y=walk["random_walk"], mode="markers+lines", name="random walk",
                             line={"dash": "dash", "color": "#d62728"}))
    fig.update_layout(title=f"Validation {metric} per fold (bars: bootstrap intervals)", xaxis_title="fold",
                      yaxis_title=metric, xaxis={"dtick": 1}, height=420)
    return fig


def regimes_figure(regimes: pd.DataFrame, metric: str) -> go.Figure:
    """Ratio to the random walk per regime and top trial (below 1: the model wins in that regime)."""
    fig = go.Figure()
    for trial, rows in regimes.groupby("trial", sort=False):
        lo, hi = rows["ratio_low"].to_numpy(), rows["ratio_high"].to_numpy()
        fig.add_trace(go.Bar(x=[f"regime {r}" for r in rows["regime"]], y=rows["ratio"], name=f"trial {trial}",
                             text=[f"{w} windows" for w in rows["windows"]], textposition="none",
                             error_y={"type": "data", "symmetric": False, "array": hi - rows["ratio"].to_numpy(),
                                      "arrayminus": rows["ratio"].to_numpy() - lo}))
    fig.add_hline(y=1.0, line_dash="dash", line_color="#d62728", annotation_text="random walk")
    fig.update_layout(title=f"{metric} relative to the random walk, by market regime (0 calmest; bars: bootstrap "
                            "intervals)", barmode="group",
                      yaxis_title="model / random walk", height=420)
    return fig


def pruning_figure(study_trials: pd.DataFrame) -> go.Figure:
    """Folds trained per trial, coloured by state: what fold-wise pruning stopped."""
    colours = {"COMPLETE": "#2ca02c", "PRUNED": "#ff7f0e", "FAIL": "#d62728", "RUNNING": "#7f7f7f"}
    fig = go.Figure()
    for state, rows in study_trials.groupby("state"):
        fig.add_trace(go.Bar(x=[f"trial {t}" for t in rows["trial"]], y=rows["folds_trained"], name=state.lower(),
                             marker_color=colours.get(state, "#7f7f7f")))
    planned = int(study_trials["folds_planned"].max()) if len(study_trials) else 0
    fig.add_hline(y=planned, line_dash="dot", annotation_text=f"{planned} folds planned")
    fig.update_layout(title="Folds trained per trial (pruned trials stopped early)", yaxis_title="folds trained",
                      xaxis={"type": "category", "categoryorder": "array",
                             "categoryarray": [f"trial {t}" for t in study_trials["trial"]]}, height=380)
    return fig


def _mark(part: np.ndarray, a: int, b: int, label: str) -> None:
    """Label the unused starts in [a, b)."""
    a, b = max(a, 0), min(b, len(part))
    if a < b:
        seg = part[a:b]
        seg[seg == "unused"] = label


def _runs(part: np.ndarray) -> list[tuple[str, int, int]]:
    """(label, first, stop) of each run of equal labels."""
    edges = np.flatnonzero(part[1:] != part[:-1]) + 1
    bounds = [0, *edges.tolist(), len(part)]
    return [(str(part[a]), a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
