"""02_search's back end: Optuna's own plotly figures, trial and failure tables, the best trial beside the
baselines, and the feature importance of a tabular best trial (refit, permutation beside gain).

The figures come from ``optuna.visualization`` (history, intermediate values, importances,
parallel coordinates, Pareto front); this module only decides which apply to a study and
collects the tables that Optuna does not draw. :func:`summarize_best` reads the best trial's
user attributes once (cross-validated or holdout, its folds, its validation metrics beside the
random walk's) into a :class:`BestTrialSummary`, which says what the notebook shows of it.

Example:
    >>> figs = study_figures(study)  # doctest: +SKIP
    >>> sorted(figs)  # doctest: +SKIP
    ['history', 'importances', 'intermediate', 'parallel']
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import optuna
import pandas as pd
import plotly.graph_objects as go
from optuna.trial import FrozenTrial, TrialState

from cryptexlab.data.prepare import load_windows
from cryptexlab.data.windows import Windows
from cryptexlab.errors import ParamsError
from cryptexlab.models import tabular
from cryptexlab.models.build import return_zero
from cryptexlab.params import TABULAR_KINDS, DataConfig, ModelConfig, ModelKind, TrainConfig
from cryptexlab.search.config import TrialConfig
from cryptexlab.training import run_experiment, validation_budget

BASELINE_KINDS: tuple[ModelKind, ...] = ("random_walk", "drift", "seasonal_naive", "dlinear", "timellm_no_llm")
#: The columns of a cross-validated best trial's fold table (of its ``cv_folds`` user attribute).
FOLD_COLUMNS: tuple[str, ...] = ("fold", "score", "random_walk", "interval", "test_first", "test_last",
                                 "scored_windows")


def study_figures(study: optuna.Study, objective_names: list[str] | None = None) -> dict[str, go.Figure]:
    """The figures that make sense for this study (importances need two finished trials)."""
    import optuna.visualization as vis

    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    names = objective_names or [f"objective {i}" for i in range(len(study.directions))]
    figs: dict[str, go.Figure] = {}
    if len(study.directions) > 1:
        if done:
            figs["pareto"] = vis.plot_pareto_front(study, target_names=names)
        return figs
    if not done:
        return figs
    figs["history"] = vis.plot_optimization_history(study, target_name=names[0])
    if any(t.intermediate_values for t in study.trials):
        figs["intermediate"] = vis.plot_intermediate_values(study)
    if len(done) >= 2 and len({tuple(sorted(t.params.items())) for t in done}) >= 2:
        try:
            figs["importances"] = vis.plot_param_importances(study, target_name=names[0])
        except (RuntimeError, ValueError):  # e.g. every parameter constant among finished trials
            pass
        figs["parallel"] = vis.plot_parallel_coordinate(study, target_name=names[0])
    return figs


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, value(s), stop or failure reason, the epoch a pruned trial stopped at
    (or, cross-validated, the folds each trial trained), duration."""
    rows = []
    for t in study.trials:
        rows.append({"trial": t.number, "state": t.state.name,
                     "value": t.values[0] if t.values and len(t.values) == 1 else t.values,
                     "reason": t.user_attrs.get("failure_reason") or t.user_attrs.get("stop_reason", ""),
                     "pruned_at_epoch": t.user_attrs.get("pruned_at_epoch"),
                     "folds_trained": len(t.user_attrs["cv_folds"]) if "cv_folds" in t.user_attrs else None,
                     "seconds": t.user_attrs.get("duration_s")})
    table = pd.DataFrame(rows)
    if not table.empty:  # a holdout study has no folds, a cross-validated one no epochs pruned at
        table = table.drop(columns=[c for c in ("pruned_at_epoch", "folds_trained") if table[c].isna().all()])
    return table


def failures_table(study: optuna.Study) -> pd.DataFrame:
    """Failed trials with their reasons (empty frame with the columns when none failed)."""
    table = trials_table(study)
    return table[table["state"] == "FAIL"][["trial", "reason", "seconds"]].reset_index(drop=True)


@dataclass(frozen=True)
class BestTrialSummary:
    """The best trial of a study (the first of the Pareto front with several objectives), as 02_search
    reports it; ``trial`` None when no trial completed.

    ``val`` and ``val_random_walk`` are the trial's validation metrics and the random walk's on the
    same windows (cross-validated: their means over the folds); ``cv`` is a cross-validated trial's
    summary (metric, mean, folds done, the random walk's mean) and ``folds`` its fold table;
    ``comparison`` the baselines beside a holdout trial, once :meth:`with_baselines` trained them.
    """

    trial: FrozenTrial | None
    cross_validated: bool = False
    val: dict[str, float] = dataclasses.field(default_factory=dict)
    val_random_walk: dict[str, float] = dataclasses.field(default_factory=dict)
    cv: dict[str, Any] | None = None
    folds: pd.DataFrame | None = None
    comparison: pd.DataFrame | None = None

    @property
    def found(self) -> bool:
        """Whether a trial completed."""
        return self.trial is not None

    @property
    def number(self) -> int | None:
        """The best trial's number."""
        return None if self.trial is None else self.trial.number

    @property
    def params(self) -> dict[str, Any]:
        """The best trial's sampled parameters (empty when none completed)."""
        return {} if self.trial is None else dict(self.trial.params)

    @property
    def config(self) -> TrialConfig | None:
        """The configuration the best trial trained with (None when none completed)."""
        return None if self.trial is None else TrialConfig.from_trial(self.trial)

    @property
    def mae_vs_random_walk(self) -> float | None:
        """Validation MAE over the random walk's on the same windows (cross-validated: of the fold means),
        the headline ratio; above 1 is worse than the random walk."""
        if self.trial is None:
            return None
        return float(self.val["mae"] / self.val_random_walk["mae"])

    def with_baselines(self, train: TrainConfig, kinds: tuple[ModelKind, ...] = BASELINE_KINDS) -> BestTrialSummary:
        """This summary with ``comparison`` set: for a holdout best trial, the baselines trained with
        ``train``'s budget on its validation windows (:func:`compare_with_baselines`); unchanged for a
        cross-validated one (its folds compare it with the random walk; 03_cv does the rest) or none."""
        if self.trial is None or self.cross_validated:
            return self
        config = TrialConfig.from_trial(self.trial)
        table = compare_with_baselines(self.val, self.val_random_walk, config.data, load_windows(config.data),
                                       train, kinds)
        return dataclasses.replace(self, comparison=table)

    def tables(self) -> list[pd.DataFrame]:
        """What the notebook shows as tables: the folds (cross-validated), the baselines' comparison
        (holdout, after :meth:`with_baselines`), or nothing."""
        shown = self.folds if self.cross_validated else self.comparison
        return [] if shown is None else [shown]

    def figures(self) -> list[go.Figure]:
        """The comparison's bar chart (holdout, after :meth:`with_baselines`), or nothing."""
        return [] if self.comparison is None else [comparison_figure(self.comparison)]

    def headline(self) -> str:
        """One Markdown sentence on the best trial."""
        if self.trial is None:
            return "No trial completed: see the failures above."
        if self.cv is not None:
            cv = self.cv
            return (f"Best trial {self.number}: cross-validated {cv['metric']} {cv['mean']:.4g} over {cv['done']} folds "
                    f"against the random walk's {cv['random_walk_mean']:.4g} on the same windows; folds, regimes and "
                    f"pruning in 03_cv. `{self.params}`")
        return f"Best trial {self.number}: `{self.params}`"

    def comparison_records(self) -> list[dict[str, Any]] | None:
        """The comparison JSON-ready, one record per model (None without one)."""
        return None if self.comparison is None else self.comparison.reset_index().to_dict(orient="records")


def summarize_best(study: optuna.Study) -> BestTrialSummary:
    """Read the best trial's user attributes (``cv``, ``cv_folds``, ``val``, ``val_random_walk``) once.

    A trial is cross-validated when it holds a ``cv`` summary (:mod:`cryptexlab.search.cv_objective`);
    its ``val`` and ``val_random_walk`` are then the fold means.

    Raises:
        KeyError: a completed best trial without ``val`` or ``val_random_walk`` (or, cross-validated,
            ``cv_folds``): every objective of :mod:`cryptexlab.search` stores them.
    """
    best = study.best_trials
    if not best:
        return BestTrialSummary(None)
    trial = best[0]
    attrs = trial.user_attrs
    val, walk = dict(attrs["val"]), dict(attrs["val_random_walk"])
    if "cv" not in attrs:
        return BestTrialSummary(trial, cross_validated=False, val=val, val_random_walk=walk)
    folds = pd.DataFrame(attrs["cv_folds"])[list(FOLD_COLUMNS)]
    return BestTrialSummary(trial, cross_validated=True, val=val, val_random_walk=walk, cv=dict(attrs["cv"]),
                            folds=folds)


def compare_with_baselines(best_val: dict[str, float], best_walk: dict[str, float], data: Any,
                           windows: Windows, train: TrainConfig,
                           kinds: tuple[ModelKind, ...] = BASELINE_KINDS) -> pd.DataFrame:
    """Validation metrics of the best trial beside every baseline, trained on the same windows.

    The trainable baselines get the same training budget as the search's base configuration.
    """
    rows = [{"model": "best trial", **best_val}, {"model": "random_walk", **best_walk}]
    for kind in kinds:
        if kind == "random_walk":
            continue
        result = run_experiment(data, ModelConfig(kind=kind), train, windows=windows, evaluate_test=False)
        rows.append({"model": kind, **result.val})
    table = pd.DataFrame(rows).set_index("model")
    table["mae_vs_random_walk"] = table["mae"] / best_walk["mae"]
    return table


def comparison_figure(table: pd.DataFrame, metric: str = "mae") -> go.Figure:
    """Bar chart of one validation metric per model; the random walk's level dashed."""
    colours = ["#1f77b4" if m == "best trial" else ("#d62728" if m == "random_walk" else "#7f7f7f")
               for m in table.index]
    fig = go.Figure(go.Bar(x=table.index, y=table[metric], marker_color=colours))
    fig.add_hline(y=float(table.loc["random_walk", metric]), line_dash="dash", line_color="#d62728",
                  annotation_text="random walk")
    fig.update_layout(title=f"Validation {metric.upper()}: best trial vs baselines (lower is better)",
                      yaxis_title=metric, height=420)
    return fig


def best_trial_importance(data: DataConfig, model: ModelConfig, train: TrainConfig, windows: Windows,
                          repeats: int = 5) -> pd.DataFrame:
    """Refit a tabular configuration on its training windows (seconds) and rank its inputs on the
    validation windows of its evaluation budget (:func:`cryptexlab.models.tabular.importance`).

    Raises:
        ParamsError: the model is not a tabular kind (Time-LLM has no per-column importance here).
    """
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
