"""The feature-importance figure of a tabular model (02_search): LightGBM's gain beside the permutation importance.

It draws the table that :func:`cryptexlab.stages.search_report.best_trial_importance` computes.

Example:
    >>> importance_figure(table).show()  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots


def importance_figure(table: pd.DataFrame, top: int = 20) -> go.Figure:
    """Horizontal bars of the ``top`` inputs by permutation importance: the MAE increase (with its std over
    the shuffles) beside the gain share, most important at the top."""
    rows = table.head(top).iloc[::-1]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=("permutation: validation MAE increase, %", "gain share (training)"))
    scale = rows["mae_increase_pct"] / rows["permutation"].where(rows["permutation"] != 0)
    fig.add_trace(go.Bar(y=rows["feature"], x=rows["mae_increase_pct"], orientation="h", marker_color="#1f77b4",
                         error_x=dict(type="data", array=(rows["permutation_std"] * scale.fillna(0)).tolist()),
                         name="permutation"), row=1, col=1)
    fig.add_trace(go.Bar(y=rows["feature"], x=rows["gain_share"], orientation="h", marker_color="#7f7f7f",
                         name="gain share"), row=1, col=2)
    fig.update_layout(title=f"Which inputs the model uses (top {len(rows)} of {len(table)})", showlegend=False,
                      height=max(320, 22 * len(rows) + 140))
    return fig
