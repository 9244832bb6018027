"""The Python API of the design's examples, on top of the profiles and :func:`run_search`.

    results = quick_optimize(datasets=["CRYPTEX_ENHANCED"], n_trials=20)
    results["best_parameters"], results["best_value"]

    optimizer = HyperparameterOptimizer(OptimizationConfig(method="optuna", n_trials=50,
                                        primary_metric="mae", direction="minimize", enable_pruning=True))
    results = optimizer.optimize("comprehensive")

    ranked = quick_cv_hpo(data, [{"train.learning_rate": 1e-3}, {"train.learning_rate": 1e-4}], cv_splits=3)
    ranked["ranking"]   # cross-validated mean, interval, std, random walk, per fold

Each mode runs the profile of the same name in ``params/`` (its data, model and train sections
are the base configuration; its ``02_search`` section the search), with the arguments as
overrides. Several datasets (feature sets) give one study each, named ``<study>-<dataset>``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from cryptexlab.cv.validator import cross_validator
from cryptexlab.errors import ParamsError
from cryptexlab.params import API_METHODS, API_METRICS, OBJECTIVE_DIRECTIONS, CVConfig, CVKind, DataConfig
from cryptexlab.profiles import load_profile
from cryptexlab.search.config import TrialConfig, with_values
from cryptexlab.search.study import check_stored_data
from cryptexlab.search.tuner import SearchResult, run_search
from cryptexlab.training import run_experiment

#: Re-exported: the method and metric names of the Python API (:mod:`cryptexlab.params`).
METHODS, METRICS = API_METHODS, API_METRICS

def optimize(mode: str, *, datasets: list[str] | None = None, overrides: list[str] | tuple[str, ...] = (),
             show_progress_bar: bool = True) -> dict[str, Any]:
    """Run the mode's profile (one study per dataset); returns best parameters, value, studies."""
    profile = load_profile(mode, overrides=list(overrides))
    profiles = {}
    for dataset in datasets or [profile.data.feature_set]:
        extra = [f"data.feature_set={dataset}"]
        if datasets and len(datasets) > 1:
            extra.append(f"02_search.study_name={profile.search.study_name}-{dataset}")
        profiles[dataset] = p = load_profile(mode, overrides=[*overrides, *extra])
        check_stored_data(TrialConfig(p.data, p.model, p.train), [p.search])  # every study, before any trains
    results: dict[str, SearchResult] = {}
    for dataset, p in profiles.items():
        results[dataset] = run_search(TrialConfig(p.data, p.model, p.train), p.search,
                                      show_progress_bar=show_progress_bar)
    first = next(iter(results.values()))
    return {"best_parameters": first.best_params, "best_value": first.best_value, "study": first.study,
            "summary": first.summary, "per_dataset": results}


def quick_optimize(datasets: list[str] | None = None, n_trials: int = 20, **kw: Any) -> dict[str, Any]:
    """The design's ``quick_optimize``: the quick profile with ``n_trials`` trials."""
    return optimize("quick", datasets=datasets, overrides=[f"02_search.n_trials={n_trials}", *_kw(kw)])


def comprehensive_optimize(datasets: list[str] | None = None, n_trials: int = 100, **kw: Any) -> dict[str, Any]:
    """The design's ``comprehensive_optimize``: the comprehensive profile."""
    return optimize("comprehensive", datasets=datasets, overrides=[f"02_search.n_trials={n_trials}", *_kw(kw)])


def quick_cv_hpo(data: DataConfig | str | os.PathLike[str] | None, parameters_list: Sequence[Mapping[str, Any]],
                 cv_splits: int = 3, *, cv_kind: CVKind = "purged", objective: str = "val_mae", profile: str = "quick",
                 runner: Callable[..., Any] | None = None) -> dict[str, Any]:
    """The design's ``quick_cv_hpo``: score each configuration by cross-validation and rank them with intervals.

    Args:
        data: A data section, a Cryptex CSV path (the profile's data section reading that file), or
            ``None`` for the profile's own data (the embedded default for ``quick``).
        parameters_list: Configurations as dotted keys over the profile's base configuration
            (``{"train.learning_rate": 1e-3, "model.d_model": 16}``), each one trained once per fold.
        cv_splits: Folds (``n_splits`` of the splitter).
        cv_kind: The splitter (purged, expanding, sliding, blocked, cpcv).
        objective: The score of a fold (``val_mae`` by default).
        profile: The profile whose model and train sections are the base.
        runner: Trains one fold (default :func:`cryptexlab.training.run_experiment`).

    Returns:
        ``ranking`` (a DataFrame, best first: parameters, CV mean, interval, std, random walk, ratio,
        per-fold scores), ``results`` (the :class:`~cryptexlab.cv.validator.CVResult` of each configuration, in the
        order given), ``best_parameters`` and ``best_value``.

    Raises:
        ParamsError: an empty list, a key that is no configuration key, an invalid combination, or
            splits that do not fit the data, before anything is trained.
    """
    if not parameters_list:
        raise ParamsError("quick_cv_hpo needs at least one configuration in parameters_list, e.g. "
                          "[{'train.learning_rate': 1e-3}]; {} is the profile's own configuration")
    base_profile = load_profile(profile)
    if data is None:
        data_config = base_profile.data
    elif isinstance(data, DataConfig):
        data_config = data
    else:
        data_config = DataConfig.model_validate({**base_profile.data.model_dump(), "path": str(Path(data).resolve())})
    base = TrialConfig(data_config, base_profile.model, base_profile.train)
    configs = [with_values(base, dict(params)) for params in parameters_list]  # every combination checked first
    cv = CVConfig(kind=cv_kind, n_splits=cv_splits)
    validators = [cross_validator(c.data, cv, objective) for c in configs]  # every split checked before training
    results = [v.run(c.model, c.train, runner=runner or run_experiment) for v, c in zip(validators, configs, strict=True)]
    rows = []
    for params, result in zip(parameters_list, results, strict=True):
        lo, hi = result.interval
        rows.append({"parameters": dict(params), "cv_mean": result.mean, "ci_low": lo, "ci_high": hi, "std": result.std,
                     "random_walk": result.random_walk_mean, "ratio_to_random_walk": result.mean / result.random_walk_mean,
                     **{f"fold_{k}": score for k, score in enumerate(result.scores)}})
    ranking = pd.DataFrame(rows).sort_values("cv_mean", ascending=OBJECTIVE_DIRECTIONS[objective] == "minimize")
    ranking.insert(0, "rank", range(1, len(ranking) + 1))
    ranking = ranking.set_index("rank")
    return {"ranking": ranking, "results": results, "best_parameters": ranking.iloc[0]["parameters"],
            "best_value": float(ranking.iloc[0]["cv_mean"])}


@dataclass(frozen=True)
class OptimizationConfig:
    """The design's configuration object, mapped onto a profile's search section."""

    method: str = "optuna"
    n_trials: int = 50
    primary_metric: str = "mae"
    direction: Literal["minimize", "maximize"] = "minimize"
    enable_pruning: bool = True
    study_name: str | None = None
    storage: str | None = None

    def overrides(self) -> list[str]:
        """The ``-p`` overrides this configuration stands for."""
        if self.method not in METHODS:
            raise ParamsError(f"unknown method {self.method!r}; use one of {', '.join(METHODS)}")
        if self.primary_metric not in METRICS:
            raise ParamsError(f"unknown primary_metric {self.primary_metric!r}; use one of {', '.join(METRICS)}")
        objective = METRICS[self.primary_metric]
        natural = OBJECTIVE_DIRECTIONS[objective]
        if self.direction != natural:
            raise ParamsError(f"{self.primary_metric} is to {natural}, not {self.direction}: a search that "
                              f"{self.direction}s it would look for the worst model")
        out = [f"02_search.method={METHODS[self.method]}", f"02_search.n_trials={self.n_trials}",
               f"02_search.objectives=[{objective}]", f"02_search.pruner={'median' if self.enable_pruning else 'none'}"]
        if self.study_name:
            out.append(f"02_search.study_name={self.study_name}")
        if self.storage:
            out.append(f"02_search.storage={self.storage}")
        return out


class HyperparameterOptimizer:
    """The design's orchestrator: ``HyperparameterOptimizer(config).optimize(mode)``."""

    def __init__(self, config: OptimizationConfig) -> None:
        self.config = config

    def optimize(self, mode: str = "comprehensive", datasets: list[str] | None = None) -> dict[str, Any]:
        """Run the mode's profile with this configuration."""
        return optimize(mode, datasets=datasets, overrides=self.config.overrides())


def _kw(kw: dict[str, Any]) -> list[str]:
    """Extra keyword arguments as overrides of the search section (study_name=..., method=...)."""
    return [f"02_search.{k}={v}" for k, v in kw.items()]
