"""Figures of the data notebook: candles, periods, return distribution, volatility clustering.

Figures of the whole series draw a decimated copy (:mod:`cryptexlab.plots.decimate`, at most
``DISPLAY_POINTS`` points a trace); every number in a title or legend uses every bar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from scipy import stats
from statsmodels.tsa.stattools import acf

from cryptexlab.data.splits import Period
from cryptexlab.plots.decimate import DISPLAY_POINTS, display_positions

PERIOD_COLOURS = {"train": "rgba(31,119,180,0.12)", "val": "rgba(255,127,14,0.15)",
                  "test": "rgba(44,160,44,0.15)"}


def candles_figure(frame: pd.DataFrame, bars: int, title: str = "") -> go.Figure:
    """Candlestick chart of the last ``bars`` bars with volume below."""
    tail = frame.iloc[-bars:]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.75, 0.25], vertical_spacing=0.03)
    fig.add_trace(go.Candlestick(x=tail.index, open=tail["open"], high=tail["high"], low=tail["low"],
                                 close=tail["close"], name="price"), row=1, col=1)
    fig.add_trace(go.Bar(x=tail.index, y=tail["volume"], name="volume", marker_color="#888"), row=2, col=1)
    fig.update_layout(title=title or f"Last {len(tail)} bars", xaxis_rangeslider_visible=False,
                      showlegend=False, height=520)
    fig.update_yaxes(title_text="price", row=1, col=1)
    fig.update_yaxes(title_text="volume", row=2, col=1)
    return fig


def periods_figure(frame: pd.DataFrame, periods: list[Period], title: str = "") -> go.Figure:
    """Close price over the whole series with the train / val / test periods shaded."""
    close = frame["close"]
    shown = close.iloc[display_positions(close.to_numpy(), DISPLAY_POINTS)]
    fig = go.Figure(go.Scatter(x=shown.index, y=shown.to_numpy(), mode="lines", name="close",
                               line={"width": 1, "color": "#333"}))
    for p in periods:
        fig.add_vrect(x0=p.first, x1=p.last, fillcolor=PERIOD_COLOURS.get(p.name, "rgba(0,0,0,0.1)"),
                      line_width=0, annotation_text=f"{p.name} ({p.rows:,} bars)",
                      annotation_position="top left")
    fig.update_layout(title=title or "Chronological split", yaxis_title="close", height=420)
    return fig


def return_distribution_figure(returns: pd.Series, bins: int = 150) -> go.Figure:
    """Histogram of returns (density, log scale) against a normal of the same mean and std."""
    r = returns.to_numpy()
    lo, hi = np.quantile(r, [0.0005, 0.9995])
    density, edges = np.histogram(r[(r >= lo) & (r <= hi)], bins=bins, density=True)
    centres = (edges[:-1] + edges[1:]) / 2
    shown = density > 0
    floor = density[shown].min() / 2
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=centres[shown], y=density[shown], mode="markers", name="returns",
                             marker={"color": "#1f77b4", "size": 5}))
    fig.add_trace(go.Scatter(x=centres, y=stats.norm.pdf(centres, r.mean(), r.std()), name="normal",
                             line={"color": "#d62728"}))
    fig.update_layout(title=f"Log-return distribution (excess kurtosis {stats.kurtosis(r):.1f}; "
                            "a normal has 0)", xaxis_title="log return",
                      yaxis={"type": "log", "title": "density (log scale)",
                             "range": [np.log10(floor), np.log10(density.max() * 2)]}, height=420)
    return fig


def volatility_clustering_figure(returns: pd.Series, lags: int) -> go.Figure:
    """Autocorrelation of returns and of |returns| with the 95% band of white noise."""
    r = returns.to_numpy()
    k = np.arange(1, lags + 1)
    band = 1.96 / np.sqrt(len(r))
    fig = go.Figure()
    fig.add_trace(go.Bar(x=k, y=acf(np.abs(r), nlags=lags, fft=True)[1:], name="|returns|",
                         marker_color="#d62728"))
    fig.add_trace(go.Bar(x=k, y=acf(r, nlags=lags, fft=True)[1:], name="returns", marker_color="#1f77b4"))
    fig.add_hrect(y0=-band, y1=band, fillcolor="rgba(0,0,0,0.08)", line_width=0)
    fig.update_layout(title="Volatility clustering: |returns| stay autocorrelated, returns barely are "
                            "(grey: 95% band of white noise)", xaxis_title="lag (bars)",
                      yaxis_title="autocorrelation", barmode="group", height=420)
    return fig


def correlation_figure(features: pd.DataFrame, title: str = "") -> go.Figure:
    """Heatmap of the Pearson correlations between features (-1 blue to +1 red)."""
    corr = features.corr()
    fig = go.Figure(go.Heatmap(z=corr.to_numpy().round(3), x=corr.columns, y=corr.index, zmin=-1, zmax=1,
                               colorscale="RdBu_r", colorbar={"title": "corr"}))
    size = min(1000, 260 + 9 * len(corr))
    fig.update_layout(title=title or f"Correlation of {len(corr)} features", height=size,
                      yaxis={"autorange": "reversed"})
    return fig


def regimes_figure(close: pd.Series, regimes: pd.Series, train_end: pd.Timestamp | None = None) -> go.Figure:
    """Close price coloured by regime (0 = calmest), with the end of the HMM's training period."""
    palette = ["#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf"]
    aligned = close.loc[regimes.index]
    shown = display_positions(aligned.to_numpy(), DISPLAY_POINTS)
    x, y, labels = aligned.index[shown], aligned.to_numpy()[shown], regimes.to_numpy()[shown]
    fig = go.Figure()
    for k in sorted(regimes.dropna().unique()):
        mine = labels == k
        fig.add_trace(go.Scatter(x=x[mine], y=y[mine], mode="markers", marker={"size": 3, "color": palette[int(k) % 8]},
                                 name=f"regime {int(k)} ({(regimes == k).mean():.0%} of bars)"))
    if train_end is not None:
        fig.add_vline(x=train_end, line_dash="dash", line_color="#555")
        fig.add_annotation(x=train_end, y=1, yref="paper", text="HMM fit ends", showarrow=False, xanchor="right")
    fig.update_layout(title="Market regimes (filtered HMM states, 0 = calmest)", yaxis_title="close", height=420,
                      legend={"itemsizing": "constant"})
    return fig
