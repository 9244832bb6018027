"""The Pareto frontier of a multi-objective study: Optuna's best trials as a table and its plot.

Example:
    >>> pareto_table(study)  # doctest: +SKIP
"""

from __future__ import annotations

import optuna
import pandas as pd
import plotly.graph_objects as go

from cryptexlab.analysis.load import metric_names


def pareto_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial on the front (``study.best_trials``): number, each objective, parameters."""
    names = metric_names(study)
    rows = [{"trial": t.number, **dict(zip(names, t.values, strict=True)), **t.params} for t in study.best_trials]
    return pd.DataFrame(rows).sort_values(names[0]).reset_index(drop=True) if rows else pd.DataFrame(columns=["trial", *names])


def pareto_figure(study: optuna.Study) -> go.Figure:
    """``optuna.visualization.plot_pareto_front`` with the objectives named."""
    import optuna.visualization as vis

    fig = vis.plot_pareto_front(study, target_names=metric_names(study))
    fig.update_layout(title="Pareto front: trials no other trial beats on every objective")
    return fig
