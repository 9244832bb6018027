"""Feature importance of a tabular model (02_search): LightGBM's gain beside the permutation importance.

Example:
    >>> table = best_trial_importance(config.data, config.model, config.train, windows)  # doctest: +SKIP
    >>> importance_figure(table).show()  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cryptexlab.data.windows import Windows
from cryptexlab.errors import ParamsError
from cryptexlab.params import TABULAR_KINDS, DataConfig, ModelConfig, TrainConfig


def best_trial_importance(data: DataConfig, model: ModelConfig, train: TrainConfig, windows: Windows,
                          repeats: int = 5) -> pd.DataFrame:
    """Refit a tabular configuration on its training windows (seconds) and rank its inputs on the
    validation windows of its evaluation budget (:func:`cryptexlab.models.tabular.importance`).

    Raises:
        ParamsError: the model is not a tabular kind (Time-LLM has no per-column importance here).
    """
    from cryptexlab.models import tabular
    from cryptexlab.training import return_zero, run_experiment, validation_budget

    if model.kind not in TABULAR_KINDS:
        raise ParamsError(f"feature importance is computed for the tabular kinds {', '.join(TABULAR_KINDS)}, "
                          f"not model.kind={model.kind}")
    result = run_experiment(data, model, train, windows=windows, evaluate_test=False)
    val_set = validation_budget(windows, train).subset(windows.val.target_samples())
    val = tabular.make_table(windows, val_set, model.tabular.lags, return_zero(windows))
    return tabular.importance(result.fitted, val, seed=train.seed, repeats=repeats)


def importance_finding(table: pd.DataFrame, kind: str) -> str:
    """One sentence: the top input, its share of the MAE, and how many inputs matter at all."""
    top = table.iloc[0]
    clear = int((table["permutation"] > 2 * table["permutation_std"].clip(lower=1e-12)).sum())
    gain_top = table.loc[table["gain"].idxmax(), "feature"]
    return (f"**Feature importance ({kind}, validation windows).** Shuffling `{top['feature']}` raises the validation "
            f"MAE by {top['mae_increase_pct']:.2f}%, the most of the {len(table)} inputs; {clear} of them raise it by "
            f"more than twice their spread over the shuffles. The largest {'gain' if kind == 'lightgbm' else 'coefficient'}"
            f" is `{gain_top}`" + (" (the same input)." if gain_top == top["feature"] else
                                   " (gain counts splits on training data, permutation what they are worth on validation)."))


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
