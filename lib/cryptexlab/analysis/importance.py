"""Parameter importance three ways, side by side, flagged where they disagree.

* ``ped_anova``: Optuna's PED-ANOVA (``PedAnovaImportanceEvaluator``): how differently a parameter
  is distributed among the best 10% of trials than among all; fast, and meant for many trials.
* ``fanova``: Optuna's fANOVA (``FanovaImportanceEvaluator``, a random forest's functional ANOVA):
  the share of the objective's variance a parameter explains on its own.
* ``correlation``: the design's correlation-based ranking, written here because no library computes
  it: |Spearman rho| of a numeric parameter with the objective, the correlation ratio eta of a
  categorical one (the share of the objective's spread explained by the category means, square-rooted).

Each column is normalised to sum to 1 and ranked (1 = most important). A parameter is flagged
``disagree`` when its shares differ by 0.25 or more between two methods (a quarter of all the
importance moved; ranks alone would flag the shuffling of parameters that matter to none); the
summary says whether all three agree on the most important parameter. A U-shaped effect, such as
a learning rate with an optimum inside its range, is where the correlation ranking fails (and is
flagged when the shares differ that much). An evaluator that fails is recorded (``failed``) and left
out of the flags and the top parameters. fANOVA is fitted on at most ``fanova_max_trials``
completed trials (an even thinning over the study, stated in the result): Optuna's fANOVA takes
3.3 s on 300 trials and 22.9 s on 1,000 here (2 cores; ``benchmarks/results/analysis_scale.json``).

Example:
    >>> table = importance_table(study, frame)  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import optuna
import pandas as pd
import plotly.graph_objects as go
from optuna.trial import TrialState

METHODS = ("ped_anova", "fanova", "correlation")
#: share difference between two methods that flags a parameter
DISAGREE = 0.25
#: completed trials below which no importance is computed (a forest on four points ranks noise)
MIN_TRIALS = 5


def correlation_importance(frame: pd.DataFrame, params: list[str], column: str = "value") -> dict[str, float]:
    """The design's ranking: |Spearman rho| (numeric) or eta (categorical) of each parameter with the objective."""
    done = frame[frame["state"] == "COMPLETE"]
    y = done[column].astype(float)
    out: dict[str, float] = {}
    for name in params:
        x = done[f"params.{name}"]
        ok = x.notna() & y.notna()
        if ok.sum() < 3:
            out[name] = 0.0
            continue
        xs, ys = x[ok], y[ok]
        if pd.api.types.is_numeric_dtype(xs) and not pd.api.types.is_bool_dtype(xs):
            rho = xs.rank().corr(ys.rank())
            out[name] = 0.0 if pd.isna(rho) else abs(float(rho))
        else:
            means = ys.groupby(xs.astype(str)).transform("mean")
            total = float(((ys - ys.mean()) ** 2).sum())
            out[name] = float(np.sqrt(((means - ys.mean()) ** 2).sum() / total)) if total else 0.0
    return out


def importance_table(study: optuna.Study, frame: pd.DataFrame, *, seed: int = 0, objective: int = 0,
                     fanova_max_trials: int = 300) -> pd.DataFrame:
    """Importances of every parameter common to the completed trials by the three methods, normalised and
    ranked, with a ``disagree`` flag (see the module docstring). Empty below :data:`MIN_TRIALS` completed trials."""
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if len(done) < MIN_TRIALS:
        return pd.DataFrame(columns=[*METHODS, *(f"rank_{m}" for m in METHODS), "disagree"])
    params = sorted(set.intersection(*(set(t.params) for t in done)))
    params = [p for p in params if len({repr(t.params[p]) for t in done}) > 1]  # a constant explains nothing
    if not params:
        return pd.DataFrame(columns=[*METHODS, *(f"rank_{m}" for m in METHODS), "disagree"])
    sign = 1.0 if study.directions[objective] == optuna.study.StudyDirection.MINIMIZE else -1.0
    target = lambda t: sign * t.values[objective]  # noqa: E731  (PED-ANOVA looks for low values)
    column = f"value_{objective}" if len(study.directions) > 1 else "value"
    failed: dict[str, str] = {}
    scores: dict[str, dict[str, float]] = {
        "ped_anova": _optuna(study, optuna.importance.PedAnovaImportanceEvaluator(), params, target, failed, "ped_anova"),
        "fanova": _optuna(_thinned(study, done, fanova_max_trials), optuna.importance.FanovaImportanceEvaluator(seed=seed),
                          params, target, failed, "fanova"),
        "correlation": correlation_importance(frame, params, column),
    }
    table = pd.DataFrame(scores).reindex(params).fillna(0.0)
    for m in METHODS:
        total = table[m].sum()
        if total <= 0:  # the method found nothing (e.g. fANOVA on a handful of trials): no shares, no ranks
            failed.setdefault(m, "no importance found (all zero)")
        table[m] = table[m] / total if total > 0 else np.nan
        table[f"rank_{m}"] = table[m].rank(ascending=False, method="min").astype("Int64")
    shares = table[[m for m in METHODS if m not in failed]]
    table["disagree"] = (shares.max(axis=1) - shares.min(axis=1)) >= DISAGREE
    table.attrs["fanova_trials"] = min(len(done), fanova_max_trials)
    table.attrs["failed"] = failed
    order = next((m for m in ("fanova", "ped_anova", "correlation") if m not in failed), "fanova")
    return table.sort_values(order, ascending=False)


def _optuna(study: optuna.Study, evaluator: Any, params: list[str], target: Any, failed: dict[str, str],
            name: str) -> dict[str, float]:
    """One Optuna evaluator's raw importances; a failure is recorded in ``failed`` (and left out of the flags)."""
    try:
        with warnings.catch_warnings():  # "normalize is experimental", "PED-ANOVA looks for low target values"
            warnings.simplefilter("ignore")
            return dict(optuna.importance.get_param_importances(study, evaluator=evaluator, params=params,
                                                                target=target, normalize=False))
    except (RuntimeError, ValueError) as exc:  # e.g. every trial in PED-ANOVA's top quantile identical
        failed[name] = f"{type(exc).__name__}: {exc}"
        return {p: 0.0 for p in params}


def _thinned(study: optuna.Study, done: list[optuna.trial.FrozenTrial], cap: int) -> optuna.Study:
    """The study itself, or an in-memory copy holding ``cap`` of its completed trials evenly spread."""
    if len(done) <= cap:
        return study
    copy = optuna.create_study(directions=study.directions)
    copy.add_trials([done[int(i)] for i in np.linspace(0, len(done) - 1, cap)])
    return copy


def importance_summary(table: pd.DataFrame) -> dict[str, Any]:
    """Top parameter per method, whether they agree, and the flagged parameters."""
    if table.empty:
        return {"top": {}, "agree_on_top": None, "disagree": []}
    failed = table.attrs.get("failed", {})
    top = {m: str(table[m].idxmax()) for m in METHODS if m not in failed}  # a failed method has no top
    return {"top": top, "agree_on_top": len(set(top.values())) == 1 and len(top) == len(METHODS),
            "disagree": [str(p) for p in table.index[table["disagree"]]],
            "fanova_trials": table.attrs.get("fanova_trials"), "failed": failed,
            "table": table.reset_index(names="parameter").to_dict(orient="records")}


def importance_figure(table: pd.DataFrame) -> go.Figure:
    """Grouped horizontal bars: the three normalised importances of each parameter; flagged ones marked."""
    rows = table.iloc[::-1]
    labels = [f"{p} (disagree)" if d else p for p, d in zip(rows.index, rows["disagree"], strict=True)]
    fig = go.Figure()
    for m, colour in zip(METHODS, ("#1f77b4", "#ff7f0e", "#7f7f7f"), strict=True):
        fig.add_trace(go.Bar(y=labels, x=rows[m], name=m.replace("_", "-"), orientation="h", marker_color=colour))
    fig.update_layout(barmode="group", title="Parameter importance: PED-ANOVA, fANOVA and a correlation ranking",
                      xaxis_title="normalised importance", height=max(320, 60 * len(rows) + 120))
    return fig
