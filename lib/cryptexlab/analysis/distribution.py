"""Performance distribution of a study's completed trials: histogram, box plot and a normal Q-Q plot.

The statistics (``scipy.stats``): count, mean, median, std, skewness, quartiles, the best value,
and the Shapiro-Wilk test of normality (on at most 5,000 values, the test's own limit, evenly thinned).
A search concentrates its trials near good values, so a long tail towards bad values is the usual
shape; the Q-Q plot shows where it departs from a normal.

Example:
    >>> stats = distribution_stats(frame["value"])  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cryptexlab.analysis.load import MAX_POINTS, completed


def completed_values(frame: pd.DataFrame, column: str = "value") -> np.ndarray:
    """The finite objective values of the completed trials."""
    return completed(frame, column)[column].to_numpy(dtype=float)


def distribution_stats(values: np.ndarray, direction: str = "minimize") -> dict[str, Any]:
    """Summary statistics and the Shapiro-Wilk test (None below 3 values)."""
    from scipy import stats

    n = len(values)
    if n == 0:
        return {"n": 0}
    sample = values if n <= 5000 else values[np.linspace(0, n - 1, 5000).astype(int)]
    shapiro = stats.shapiro(sample) if n >= 3 and np.ptp(sample) > 0 else None
    q1, med, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    return {"n": int(n), "mean": float(values.mean()), "median": float(med), "std": float(values.std(ddof=1)) if n > 1 else 0.0,
            "skew": float(stats.skew(values)) if n > 2 and np.ptp(values) > 0 else None, "q1": float(q1), "q3": float(q3),
            "best": float(values.min() if direction == "minimize" else values.max()),
            "shapiro_w": float(shapiro.statistic) if shapiro else None,
            "shapiro_p": float(shapiro.pvalue) if shapiro else None}


def distribution_figure(values: np.ndarray, metric: str, title: str = "") -> go.Figure:
    """Histogram, box plot and normal Q-Q plot of the completed trials' values, side by side."""
    from scipy import stats

    fig = make_subplots(rows=1, cols=3, column_widths=[0.45, 0.15, 0.4],
                        subplot_titles=("histogram", "box plot", "Q-Q plot against a normal"))
    if len(values) == 0:
        fig.update_layout(title=f"No completed trial: no distribution of {metric}", height=240)
        return fig
    # counts and quartiles computed here: the page then holds 60 bars and five numbers, not every value
    counts, edges = np.histogram(values, bins=min(60, max(10, len(values) // 5)))
    fig.add_trace(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges), marker_color="#1f77b4",
                         name="trials"), row=1, col=1)
    q1, med, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    iqr = q3 - q1
    low, high = values[values >= q1 - 1.5 * iqr].min(), values[values <= q3 + 1.5 * iqr].max()
    fig.add_trace(go.Box(q1=[q1], median=[med], q3=[q3], lowerfence=[low], upperfence=[high], x=[metric],
                         name=metric, marker_color="#1f77b4"), row=1, col=2)
    if len(values) >= 3:
        (theory, ordered), (slope, intercept, _) = stats.probplot(values, dist="norm")
        keep = np.unique(np.linspace(0, len(theory) - 1, min(len(theory), MAX_POINTS)).astype(int))  # both tails kept
        fig.add_trace(go.Scatter(x=theory[keep], y=ordered[keep], mode="markers", marker=dict(size=4), name="ordered values"),
                      row=1, col=3)
        fig.add_trace(go.Scatter(x=[theory[0], theory[-1]], y=[intercept + slope * theory[0], intercept + slope * theory[-1]],
                                 mode="lines", line=dict(dash="dash", color="#d62728"), name="normal"), row=1, col=3)
    fig.update_xaxes(title_text=metric, row=1, col=1)
    fig.update_xaxes(title_text="normal quantile", row=1, col=3)
    fig.update_yaxes(title_text=metric, row=1, col=3)
    fig.update_layout(title=title or f"Distribution of {metric} over the completed trials", showlegend=False, height=400)
    return fig
