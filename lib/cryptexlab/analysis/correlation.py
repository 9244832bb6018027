"""Correlations between parameters and with the objective (Spearman), as a heatmap.

Numeric parameters enter as they are; a categorical one with numeric choices by its value; one
with text choices as one 0/1 column per choice but the first (the reference: with two choices
one column says everything; ``train.loss=MSE``). Spearman's rank
correlation (pandas) is robust to the log scale of learning rates and to outliers. Only
completed trials count.

Example:
    >>> corr = correlation_matrix(frame)  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go


def correlation_matrix(frame: pd.DataFrame, column: str = "value") -> pd.DataFrame:
    """Spearman correlation of every parameter column and the objective (last row and column)."""
    done = frame[frame["state"] == "COMPLETE"]
    cols: dict[str, pd.Series] = {}
    for name in [c for c in done.columns if c.startswith("params.")]:
        x = done[name]
        if x.nunique(dropna=True) < 2:
            continue
        if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            cols[name.removeprefix("params.")] = x.astype(float)
        else:
            for choice in sorted(x.dropna().astype(str).unique())[1:]:  # one choice is the reference
                cols[f"{name.removeprefix('params.')}={choice}"] = (x.astype(str) == choice).astype(float).where(x.notna())
    cols[column] = done[column].astype(float)
    return pd.DataFrame(cols).corr(method="spearman")


def strongest_pairs(corr: pd.DataFrame, k: int = 5) -> list[dict[str, object]]:
    """The ``k`` parameter pairs with the largest |rho| (the objective excluded)."""
    names = list(corr.columns[:-1])
    pairs = [(a, b, float(corr.loc[a, b])) for i, a in enumerate(names) for b in names[i + 1:]
             if pd.notna(corr.loc[a, b])]
    pairs.sort(key=lambda p: -abs(p[2]))
    return [{"a": a, "b": b, "rho": r} for a, b, r in pairs[:k]]


def correlation_figure(corr: pd.DataFrame) -> go.Figure:
    """Heatmap of the matrix, blue negative, red positive, values written in the cells."""
    fig = go.Figure(go.Heatmap(z=corr.to_numpy(), x=list(corr.columns), y=list(corr.index), zmin=-1, zmax=1,
                               colorscale="RdBu_r", text=corr.round(2).to_numpy(), texttemplate="%{text}",
                               colorbar=dict(title="rho")))
    fig.update_layout(title="Spearman correlation between parameters and the objective (completed trials)",
                      height=max(360, 40 * len(corr) + 160), yaxis_autorange="reversed")
    return fig
