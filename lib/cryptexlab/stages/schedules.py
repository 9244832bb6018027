"""The schedule experiment of 04_schedules: one configuration trained under each schedule.

Every run uses the same configuration, seed, data and budget; only ``train.scheduler`` differs.
Convergence speed is the first epoch whose validation loss is within 1% of the run's final
validation loss.

Example:
    >>> table, curves = compare_schedules(config, schedules, windows)  # doctest: +SKIP
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from optuna.trial import FrozenTrial, TrialState

from cryptexlab.data.windows import Windows
from cryptexlab.params import SchedulerConfig, SearchConfig
from cryptexlab.schedulers import preview
from cryptexlab.search.config import TrialConfig, with_values
from cryptexlab.search.study import find_study
from cryptexlab.training import run_experiment


def best_or_default(base: TrialConfig, search: SearchConfig) -> tuple[TrialConfig, str]:
    """The best trial's configuration of the study named in ``search`` when it exists, else ``base``.

    The trial's configuration keeps ``base``'s epochs and ``max_train_windows`` (the notebook's budget).
    """
    study, where = find_study(search)
    if study is None:
        return base, f"the profile's configuration (no study {search.study_name!r} in {where})"
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if len(t.values) == 1]
    if not done:
        return base, f"the profile's configuration (study {search.study_name!r} has no finished trial)"
    best = min(done, key=_value) if study.direction.name == "MINIMIZE" else max(done, key=_value)
    config = with_values(TrialConfig.from_trial(best), {"train.epochs": base.train.epochs,  # the notebook's budget
                                                  "train.max_train_windows": base.train.max_train_windows})
    return config, f"trial {best.number} of study {search.study_name!r} (val {best.value:.6g})"


def _value(trial: FrozenTrial) -> float:
    """The value of a complete single-objective trial (never None)."""
    assert trial.value is not None
    return trial.value


def schedule_curves(schedules: list[SchedulerConfig], steps: int, base_lr: float,
                    per_epoch: int) -> pd.DataFrame:
    """The learning rate of every step under each schedule (metric-driven ones on a flat metric)."""
    return pd.DataFrame({s.kind: preview(s.kind, s.params, steps, base_lr=base_lr, steps_per_epoch=per_epoch)
                         for s in schedules})


def compare_schedules(config: TrialConfig, schedules: list[SchedulerConfig], windows: Windows
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train under each schedule; returns (summary table, validation-loss curves by epoch)."""
    rows, curves = [], {}
    for schedule in schedules:
        train = config.train.model_copy(update={"scheduler": schedule})
        result = run_experiment(config.data, config.model, train, windows=windows, evaluate_test=False)
        losses = [c["val_loss"] for c in result.curve]
        curves[schedule.kind] = pd.Series(losses, index=range(1, len(losses) + 1))
        final = losses[-1] if losses else math.nan
        within = next((i + 1 for i, v in enumerate(losses) if v <= final * 1.01), math.nan) if losses else math.nan
        rows.append({"schedule": schedule.kind, "final_val_loss": final, "best_val_loss": min(losses, default=math.nan),
                     "epochs_to_within_1pct": within, "val_mae": result.val.get("mae", math.nan),
                     "stop_reason": result.stop_reason, "seconds": result.seconds})
    table = pd.DataFrame(rows).set_index("schedule").sort_values("final_val_loss")
    return table, pd.DataFrame(curves)


def curves_figure(curves: pd.DataFrame, title: str, y: str) -> go.Figure:
    """One line per schedule."""
    fig = go.Figure([go.Scatter(x=curves.index, y=curves[c], mode="lines+markers" if len(curves) < 30 else "lines",
                                name=c) for c in curves.columns])
    fig.update_layout(title=title, yaxis_title=y, height=420)
    return fig
