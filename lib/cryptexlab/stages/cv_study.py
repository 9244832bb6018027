"""03_cv: the top configurations of a study, scored fold by fold, per regime, with what pruning saved.

Two cases, one result:

* the study named in the ``03_cv`` section was itself cross-validated (``02_search.cv`` set, as in
  the ``cv`` profile): its trials already hold their folds, so they are read and nothing is trained;
* it was a holdout search: its ``top_k`` best trials are enqueued into the CV study
  ``cv_study_name`` (same storage), followed by ``extra_trials`` sampled from ``space``, and that
  study is run with fold-wise pruning. The enqueued trials come first, so with ``top_k <= 3`` they
  are the median pruner's start-up trials and are scored on every fold.

:func:`pruning_summary` counts the fold trainings a study ran against the ones it planned (every
trial on every fold), and the seconds that saved at the study's own mean cost per fold.

Example:
    >>> result = cross_validate_top(base, CVNotebook(study_name="quick"))  # doctest: +SKIP
    >>> scores_table(result).iloc[0]["cv_mean"]  # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from cryptexlab.cv.validator import CrossValidator, cross_validator
from cryptexlab.errors import ParamsError
from cryptexlab.params import CVConfig, CVNotebook, Objective, SearchConfig, SearchMode, parameter_names
from cryptexlab.search.config import TrialConfig, with_values
from cryptexlab.search.recovery import ranked_trials
from cryptexlab.search.study import find_study
from cryptexlab.search.tuner import run_search


@dataclass
class CVStudy:
    """The cross-validated study, its top trials and the folds they were scored on."""

    study: optuna.Study
    origin: str
    top: list[FrozenTrial]
    validator: CrossValidator
    holdout: dict[int, float]  # enqueued trial number in the CV study -> its holdout value in the source study

    @property
    def objective(self) -> str:
        """The objective the folds score (``val_mae``, ...)."""
        return str(self.study.user_attrs.get("objectives", ["val_mae"])[0])


def cross_validate_top(base: TrialConfig, section: CVNotebook) -> CVStudy:
    """Read or run the CV study of ``section`` (see the module docstring). Without a study to read (none
    of that name, or no completed trial in it) the profile's own configuration is cross-validated.

    Raises:
        ParamsError: a multi-objective study.
    """
    source, where = find_study(SearchConfig(study_name=section.study_name, storage=section.storage))
    if source is not None and len(source.directions) != 1:
        raise ParamsError(f"03_cv ranks by one objective, but study {section.study_name!r} has "
                          f"{len(source.directions)}; cross-validate a single-objective study")
    done = ranked_trials(source) if source is not None else []
    if source is None or not done:
        why = f"no study {section.study_name!r} in {where}" if source is None else \
            f"study {section.study_name!r} has no completed trial"
        return _run_cv_study(base, section, [_own_params(base, section.space)], "val_mae",
                             f"the profile's own configuration ({why})", {})
    objective: Objective = source.user_attrs.get("objectives", ["val_mae"])[0]
    if "cv" in source.user_attrs:
        cv = CVConfig.model_validate(source.user_attrs["cv"])
        validator = cross_validator(TrialConfig.from_trial(done[0]).data, cv, objective)
        return CVStudy(source, f"read from the cross-validated study {section.study_name!r}", done[: section.top_k],
                       validator, {})
    top = done[: section.top_k]
    holdout = {i: float(t.value) for i, t in enumerate(top) if t.value is not None}
    space = source.user_attrs.get("mode")
    if space in ("quick", "architecture", "training", "comprehensive"):  # the source's space, so its trials' params fit
        section = section.model_copy(update={"space": space})
    return _run_cv_study(base, section, [t.params for t in top], objective,
                         f"the {len(top)} best trials of study {section.study_name!r}, cross-validated in study "
                         f"{section.cv_study_name!r}", holdout)


def _run_cv_study(base: TrialConfig, section: CVNotebook, enqueue: list[dict[str, Any]], objective: Objective,
                  origin: str, holdout: dict[int, float]) -> CVStudy:
    """Enqueue the configurations (in order) into the CV study, run it with ``extra_trials`` more, rank."""
    train = {k: v for k, v in (("train.epochs", section.epochs), ("train.max_train_windows", section.max_train_windows),
                               ("train.max_eval_windows", section.max_eval_windows)) if v is not None}
    base = with_values(base, train) if train else base
    search = SearchConfig(mode=section.space, pruner=section.pruner, n_trials=len(enqueue) + section.extra_trials,
                          objectives=[objective], study_name=section.cv_study_name, storage=section.storage,
                          cv=section.cv, enqueue=enqueue)
    study = run_search(base, search, show_progress_bar=False).study
    validator = cross_validator(base.data, section.cv, objective)  # the one the search's trials used
    order = [t.number for t in study.get_trials(deepcopy=False)][: len(enqueue)]  # enqueued trials run first
    return CVStudy(study, origin, ranked_trials(study)[: section.top_k], validator,
                   {order[i]: v for i, v in holdout.items() if i < len(order)})


def _own_params(base: TrialConfig, space: SearchMode) -> dict[str, Any]:
    """The base configuration's values of the space's parameters (enqueued: the profile's own configuration)."""
    doc = base.to_dict()
    out: dict[str, Any] = {}
    for name in sorted(parameter_names(SearchConfig(mode=space), base.model)):
        node: Any = doc
        for part in name.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None and not isinstance(node, dict):
            out[name] = node
    return out


def scores_table(result: CVStudy) -> pd.DataFrame:
    """One row per top trial: CV mean, interval, std, the random walk, their ratio, folds done."""
    rows = []
    for rank, t in enumerate(result.top, 1):
        cv = t.user_attrs["cv"]
        rows.append({"rank": rank, "trial": t.number, "cv_mean": cv["mean"], "ci_low": cv["interval"][0],
                     "ci_high": cv["interval"][1], "std": cv["std"], "random_walk": cv["random_walk_mean"],
                     "ratio_to_random_walk": cv["mean"] / cv["random_walk_mean"], "folds": cv["done"],
                     "holdout_value": result.holdout.get(t.number, math.nan)})
    return pd.DataFrame(rows).set_index("rank")


def folds_table(result: CVStudy) -> pd.DataFrame:
    """One row per (top trial, fold): score, interval, random walk, test period, windows."""
    rows = []
    for t in result.top:
        for f in t.user_attrs["cv_folds"]:
            rows.append({"trial": t.number, "fold": f["fold"], "score": f["score"], "ci_low": f["interval"][0],
                         "ci_high": f["interval"][1], "random_walk": f["random_walk"], "test_first": f["test_first"],
                         "test_last": f["test_last"], "train_windows": f["train_windows"],
                         "scored_windows": f["scored_windows"]})
    return pd.DataFrame(rows)


def regimes_table(result: CVStudy) -> pd.DataFrame:
    """One row per (top trial, regime): pooled over the folds, beside the random walk, with intervals."""
    none = (math.nan, math.nan)  # trials stored before regime intervals existed have none
    rows = [{"trial": t.number, "regime": r["regime"], "windows": r["windows"], "score": r["score"],
             "ci_low": r.get("interval", none)[0], "ci_high": r.get("interval", none)[1], "random_walk": r["random_walk"],
             "ratio": r["ratio"], "ratio_low": r.get("ratio_interval", none)[0],
             "ratio_high": r.get("ratio_interval", none)[1]}
            for t in result.top for r in t.user_attrs["cv"]["regimes"]]
    return pd.DataFrame(rows, columns=["trial", "regime", "windows", "score", "ci_low", "ci_high", "random_walk",
                                       "ratio", "ratio_low", "ratio_high"])


def trials_folds(study: optuna.Study) -> pd.DataFrame:
    """One row per cross-validated trial: state, folds trained and planned, value, fold it stopped after."""
    rows = [{"trial": t.number, "state": t.state.name, "folds_trained": len(t.user_attrs["cv_folds"]),
             "folds_planned": int(t.user_attrs.get("cv_planned_folds", 0)), "value": t.value,
             "pruned_after_fold": t.user_attrs.get("cv_pruned_after_fold")}
            for t in study.get_trials(deepcopy=False) if "cv_folds" in t.user_attrs]
    return pd.DataFrame(rows, columns=["trial", "state", "folds_trained", "folds_planned", "value", "pruned_after_fold"])


def pruning_summary(study: optuna.Study) -> dict[str, Any]:
    """Trials, how many fold-wise pruning stopped, and the fold trainings and seconds it saved."""
    trials = [t for t in study.get_trials(deepcopy=False) if "cv_folds" in t.user_attrs]
    planned = sum(int(t.user_attrs.get("cv_planned_folds", 0)) for t in trials)
    ran = sum(len(t.user_attrs["cv_folds"]) for t in trials)
    seconds = [f["seconds"] for t in trials for f in t.user_attrs["cv_folds"]]
    per_fold = float(np.mean(seconds)) if seconds else math.nan
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    return {"trials": len(trials), "pruned": len(pruned),
            "pruned_after_fold": {int(k): int(v) for k, v in pd.Series(
                [t.user_attrs.get("cv_pruned_after_fold") for t in pruned], dtype="Int64").value_counts().items()},
            "fold_trainings_planned": planned, "fold_trainings_run": ran,
            "saved_share": 1 - ran / planned if planned else 0.0,
            "seconds_run": float(np.sum(seconds)), "seconds_saved_estimate": (planned - ran) * per_fold}


def findings(result: CVStudy) -> str:
    """The report's headline, in words: the best configuration against the random walk, its folds and regimes."""
    table, regimes = scores_table(result), regimes_table(result)
    best = table.iloc[0]
    metric = result.objective.removeprefix("val_")
    verdict = "beats" if best["cv_mean"] < best["random_walk"] and best["ci_high"] < best["random_walk"] else (
        "does not beat" if best["ci_low"] > best["random_walk"] else "is not distinguishable from")
    if metric in ("directional_accuracy", "sharpe"):
        verdict = "is scored on"
    lines = [f"**Best cross-validated configuration:** trial {int(best['trial'])}, {metric} {best['cv_mean']:.4g} "
             f"({100 * result.validator.cv.ci_level:.0f}% interval {best['ci_low']:.4g} to {best['ci_high']:.4g}) over "
             f"{int(best['folds'])} folds; the random walk scores {best['random_walk']:.4g} on the same windows, so it "
             f"{verdict} the random walk (ratio {best['ratio_to_random_walk']:.3f})."]
    mine = regimes[regimes["trial"] == best["trial"]]
    if not mine.empty:
        parts = [f"regime {int(r['regime'])}: {r['ratio']:.3f} ({int(r['windows'])} windows)" for _, r in mine.iterrows()]
        lines.append("**By regime** (0 calmest; ratio to the random walk, below 1 wins): " + ", ".join(parts) + ".")
    p = pruning_summary(result.study)
    lines.append(f"**Fold-wise pruning:** {p['pruned']} of {p['trials']} trials stopped early; "
                 f"{p['fold_trainings_run']} of {p['fold_trainings_planned']} fold trainings run "
                 f"({100 * p['saved_share']:.0f}% saved, about {p['seconds_saved_estimate']:.0f} s).")
    return "\n\n".join(lines)

