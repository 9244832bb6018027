"""Figures of 06_verdict: the equity curves after costs, each model's error ratio, the ratio per step.

Example:
    >>> fig = equity_figure(verdict.returns)  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from cryptexlab.plots.decimate import display_positions

#: Strategies drawn on the equity curve (others are in the table).
EQUITY = ("selected", "ensemble", "buy_and_hold", "flat")


def equity_figure(returns: pd.DataFrame, cost_bp: float = 10.0) -> go.Figure:
    """Wealth of 1 invested in each strategy of :data:`EQUITY` over the test period (rows: bars), after costs."""
    fig = go.Figure()
    x_all = returns.index
    for name in [c for c in EQUITY if c in returns.columns]:
        wealth = (1 + returns[name]).cumprod()
        keep = display_positions(wealth.to_numpy())
        fig.add_scatter(x=x_all[keep], y=wealth.to_numpy()[keep], mode="lines", name=name.replace("_", " "))
    fig.update_layout(title=f"Equity on the test period, {cost_bp:.0f} bp a side", yaxis_title="wealth (start 1)",
                      height=380, margin={"t": 50, "b": 40})
    return fig


def ratios_figure(table: pd.DataFrame) -> go.Figure:
    """Each model's test MAE over the random walk's (below 1 is better), coloured by its role."""
    t = table.sort_values("mae_ratio")
    colors = {"selected": "#d62728", "ensemble": "#9467bd", "trial": "#1f77b4", "baseline": "#7f7f7f"}
    fig = go.Figure(go.Bar(x=t["mae_ratio"], y=t["model"], orientation="h",
                           marker_color=[colors.get(r, "#1f77b4") for r in t["role"]],
                           customdata=t[["dm_p_value"]].to_numpy(),
                           hovertemplate="%{y}: %{x:.4f} (DM p %{customdata[0]:.3g})<extra></extra>"))
    fig.add_vline(x=1.0, line_dash="dash", annotation_text="random walk")
    lo, hi = min(t["mae_ratio"].min(), 1.0), max(t["mae_ratio"].max(), 1.0)
    pad = 0.1 * (hi - lo) + 1e-3
    fig.update_xaxes(range=[lo - pad, hi + pad])
    fig.update_layout(title="Test MAE / random walk MAE", height=max(280, 24 * len(t) + 100), margin={"t": 50, "b": 40})
    return fig


def steps_figure(steps: pd.DataFrame) -> go.Figure:
    """The selected model's MAE ratio and Theil's U at each horizon step."""
    fig = go.Figure()
    fig.add_scatter(x=steps["step"], y=steps["mae_ratio"], mode="lines+markers", name="MAE ratio")
    fig.add_scatter(x=steps["step"], y=steps["theil_u"], mode="lines+markers", name="Theil's U (RMSE ratio)")
    fig.add_hline(y=1.0, line_dash="dash")
    fig.update_layout(title="Error ratio to the random walk by horizon step", xaxis_title="step", height=320,
                      margin={"t": 50, "b": 40})
    return fig
