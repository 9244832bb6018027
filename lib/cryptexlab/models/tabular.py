"""Tabular models on the feature set: LightGBM and ridge, direct multi-output, beside the random walk.

A window whose inputs end at row t (its last observed bar) becomes one table row: every column of
the feature set at t (scaled on the training period, as for the other models) and the target's
changes over the last 1..``lags`` bars. The price levels (:data:`LEVEL_COLUMNS`) are the exception:
a level scaled on 2019's prices is far outside its training range by 2024, which a tree cannot
extrapolate and a linear model extrapolates wrongly, so ``open``, ``high`` and ``low`` enter as
``log(level / close)`` at t and ``close`` itself is left out (with a close target, its recent
changes are the lags; with a log-return target the returns carry it). Without a ``close`` column
the levels stay as scaled. The labels are the target's next ``pred_len`` values minus
the random walk's forecast (the last value, or the scaled zero return for a log-return target), so
a model that predicts zero is the random walk. Rows and labels come from the same windows as every
other model's (:mod:`cryptexlab.data.windows`): a label never reaches past its own period.

* ``lightgbm``: one ``lightgbm.LGBMRegressor`` per horizon step (direct strategy), fit on every
  training window with early stopping on the validation windows of the evaluation budget;
  objective ``l2`` for the MSE loss, ``l1`` for MAE, ``huber`` for ROBUST.
* ``ridge``: one ``sklearn.linear_model.Ridge`` with ``pred_len`` outputs (least squares; MSE only),
  behind a ``StandardScaler`` fit on the training table.

scikit-learn's ``MultiOutputRegressor`` cannot give each step its own validation labels for early
stopping, so the per-step models are held by :class:`DirectForecaster` (a few lines). Feature
importance: LightGBM's total gain, summed over the steps, and the permutation importance on the
validation windows (``sklearn.inspection.permutation_importance``, the MAE increase).

Example:
    >>> from cryptexlab.params import DataConfig, ModelConfig, TrainConfig
    >>> data = DataConfig(synthetic={"hours": 1500}, windows={"seq_len": 24, "pred_len": 4})
    >>> result = run_tabular(data, ModelConfig(kind="ridge"), TrainConfig())  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from torch.utils.data import Subset

from cryptexlab.data.windows import Samples, WindowDataset, Windows
from cryptexlab.errors import ParamsError
from cryptexlab.params import ModelConfig, TabularConfig, TrainConfig

#: train.loss -> LightGBM objective
OBJECTIVES = {"MSE": "l2", "MAE": "l1", "ROBUST": "huber"}
#: price-level columns that enter relative to the close (see the module docstring)
LEVEL_COLUMNS = ("open", "high", "low", "close")


@dataclass(frozen=True)
class Table:
    """Design matrix, labels (change from the random walk, scaled units) and the random walk itself."""

    X: np.ndarray
    y: np.ndarray
    anchor: np.ndarray  # (n,) the random walk's forecast, scaled
    columns: list[str]


class DirectForecaster:
    """One regressor per horizon step (or one multi-output regressor); ``predict`` -> (n, pred_len)."""

    def __init__(self, models: list[Any]) -> None:
        self.models = models

    def fit(self, X: np.ndarray, y: np.ndarray) -> DirectForecaster:
        """Already fitted by :func:`fit_tabular`; ``permutation_importance`` requires the method to exist."""
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Forecast changes from the random walk, one column per step."""
        if len(self.models) == 1:
            out = np.asarray(self.models[0].predict(X))
            return out.reshape(len(X), -1)
        return np.column_stack([m.predict(X) for m in self.models])

    @property
    def rounds(self) -> int:
        """Boosting rounds used (the most over the steps; 1 for ridge)."""
        return max(int(getattr(m, "best_iteration_", 0) or getattr(m, "n_estimators", 1)) for m in self.models)


def window_rows(samples: Samples) -> tuple[WindowDataset, np.ndarray]:
    """The dataset and the start rows of the windows a dataset or a ``Subset`` of target samples holds."""
    if isinstance(samples, Subset):
        base = samples.dataset
        assert isinstance(base, WindowDataset)
        starts = np.array([base.window_start(int(i)) for i in samples.indices], dtype=np.int64)
        return base, starts
    return samples, samples.starts


def make_table(windows: Windows, samples: Samples, lags: int, anchor_level: float | None) -> Table:
    """The table rows of the given windows (see the module docstring).

    Raises:
        ParamsError: ``lags`` not below seq_len, or channel_independent windows.
    """
    base, starts = window_rows(samples)
    if base.mode == "channel_independent":
        raise ParamsError("lightgbm and ridge read every feature of a window, but data.windows.mode="
                          "channel_independent gives one feature per sample; use mode multivariate")
    if lags >= base.seq_len:
        raise ParamsError(f"model.tabular.lags={lags} needs more than {lags} input bars, but seq_len={base.seq_len}; "
                          f"use lags below {base.seq_len}")
    k, v = base.target, base.values
    last = starts + base.seq_len - 1
    target = v[last, k].astype(np.float64)
    row, names = _feature_row(windows, v[last].astype(np.float64))
    changes = [target - v[last - j, k] for j in range(1, lags + 1)]
    X = np.column_stack([row, *changes])
    future = v[last[:, None] + 1 + np.arange(base.pred_len)[None, :], k].astype(np.float64)
    anchor = target if anchor_level is None else np.full(len(last), anchor_level)
    names += [f"{windows.target}_change_{j}" for j in range(1, lags + 1)]
    return Table(X, future - anchor[:, None], anchor, names)


def _feature_row(windows: Windows, scaled: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The feature columns at t, price levels replaced by ``log(level / close)`` and ``close`` left out."""
    columns = list(windows.columns)
    if "close" not in columns:
        return scaled, columns
    raw = scaled * windows.scaler.scale_ + windows.scaler.mean_
    close = raw[:, columns.index("close")]
    out, names = [], []
    for i, name in enumerate(columns):
        if name == "close":
            continue
        if name in LEVEL_COLUMNS:
            out.append(np.log(raw[:, i] / close))
            names.append(f"log_{name}_to_close")
        else:
            out.append(scaled[:, i])
            names.append(name)
    return np.column_stack(out), names


def fit_tabular(model: ModelConfig, train: TrainConfig, fit: Table, val: Table | None) -> DirectForecaster:
    """Fit ridge or one LightGBM model per step; with ``val``, LightGBM stops early on it.

    Raises:
        ParamsError: a loss the model cannot fit.
    """
    t: TabularConfig = model.tabular
    if model.kind == "ridge":
        from sklearn.linear_model import Ridge

        if train.loss != "MSE":
            raise ParamsError(f"ridge fits least squares, but train.loss={train.loss}; use train.loss: MSE "
                              "(or kind lightgbm for MAE or ROBUST)")
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        # standardised on the training table, so that alpha penalises every input alike (the level ratios
        # and the lags are not on the scaler's unit scale)
        return DirectForecaster([make_pipeline(StandardScaler(), Ridge(alpha=t.alpha)).fit(fit.X, fit.y)])
    if train.loss not in OBJECTIVES:
        raise ParamsError(f"lightgbm fits the losses {', '.join(OBJECTIVES)}, not train.loss={train.loss}; "
                          "choose one of them")
    import lightgbm as lgb

    params: dict[str, Any] = dict(objective=OBJECTIVES[train.loss], num_leaves=t.num_leaves, learning_rate=t.learning_rate,
                  n_estimators=t.n_estimators, min_child_samples=t.min_child_samples,
                  colsample_bytree=t.feature_fraction, subsample=t.bagging_fraction,
                  subsample_freq=1 if t.bagging_fraction < 1 else 0, reg_alpha=t.lambda_l1, reg_lambda=t.lambda_l2,
                  random_state=train.seed, n_jobs=1, verbose=-1)
    models = []
    for h in range(fit.y.shape[1]):
        reg = lgb.LGBMRegressor(**params)
        if val is None:
            reg.fit(fit.X, fit.y[:, h])
        else:
            reg.fit(fit.X, fit.y[:, h], eval_X=(val.X,), eval_y=(val.y[:, h],),
                    callbacks=[lgb.early_stopping(t.early_stopping_rounds, verbose=False)])
        models.append(reg)
    return DirectForecaster(models)


def importance(forecaster: DirectForecaster, val: Table, seed: int = 0, repeats: int = 5) -> pd.DataFrame:
    """Feature importance, one row per input column, most important first: ``gain`` (LightGBM's total
    gain over the steps; ridge: the mean absolute coefficient, the inputs being standardised) and its
    share of the total, and ``permutation`` (the validation MAE increase when the column is shuffled,
    mean and std over ``repeats``, scaled units; ``mae_increase_pct`` in % of the unshuffled MAE)."""
    from sklearn.inspection import permutation_importance

    first = forecaster.models[0]
    if hasattr(first, "booster_"):
        gain = np.sum([m.booster_.feature_importance(importance_type="gain") for m in forecaster.models], axis=0)
    else:  # the pipeline's ridge, on standardised inputs
        gain = np.abs(np.atleast_2d(first[-1].coef_)).mean(axis=0)

    def neg_mae(estimator: DirectForecaster, X: np.ndarray, y: np.ndarray) -> float:
        return -float(np.mean(np.abs(estimator.predict(X) - y)))

    perm = permutation_importance(forecaster, val.X, val.y, scoring=neg_mae, n_repeats=repeats, random_state=seed)
    base = -neg_mae(forecaster, val.X, val.y)
    frame = pd.DataFrame({"feature": val.columns, "gain": gain, "gain_share": gain / max(float(np.sum(gain)), 1e-300),
                          "permutation": perm.importances_mean, "permutation_std": perm.importances_std,
                          "mae_increase_pct": 100 * perm.importances_mean / base})
    return frame.sort_values("permutation", ascending=False, ignore_index=True)


def forecast(forecaster: DirectForecaster, table: Table) -> np.ndarray:
    """(n, pred_len) forecasts in scaled units: the random walk plus the predicted change."""
    return table.anchor[:, None] + forecaster.predict(table.X)
