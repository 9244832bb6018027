"""The Python API of the seed's examples, on top of the profiles and :func:`run_search`.

    results = quick_optimize(datasets=["CRYPTEX_ENHANCED"], n_trials=20)
    results["best_parameters"], results["best_value"]

    optimizer = HyperparameterOptimizer(OptimizationConfig(method="optuna", n_trials=50,
                                        primary_metric="mae", direction="minimize", enable_pruning=True))
    results = optimizer.optimize("comprehensive")

Each mode runs the profile of the same name in ``params/`` (its data, model and train sections
are the base configuration; its ``02_search`` section the search), with the arguments as
overrides. Several datasets (feature sets) give one study each, named ``<study>-<dataset>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from cryptexlab.errors import ParamsError
from cryptexlab.params import OBJECTIVE_DIRECTIONS, SearchMethod, load_profile

if TYPE_CHECKING:
    from cryptexlab.search.tuner import SearchResult

#: The seed's method names -> the profile's ``02_search.method``: each sampler by its own name, and
#: ``optuna`` for TPE (Optuna's default). The command line's ``--method`` takes the same names.
METHODS: dict[str, str] = {**{m: m for m in get_args(SearchMethod)}, "optuna": "tpe"}
METRICS = {"mae": "val_mae", "mse": "val_mse", "mape": "val_mape", "directional_accuracy": "val_directional_accuracy",
           "sharpe_ratio": "val_sharpe", "sharpe": "val_sharpe", "training_time": "train_seconds"}


def optimize(mode: str, *, datasets: list[str] | None = None, overrides: list[str] | tuple[str, ...] = (),
             show_progress_bar: bool = True) -> dict[str, Any]:
    """Run the mode's profile (one study per dataset); returns best parameters, value, studies."""
    from cryptexlab.search.spaces import TrialConfig
    from cryptexlab.search.tuner import run_search  # here: the command line reads METHODS without torch

    profile = load_profile(mode, overrides=list(overrides))
    results: dict[str, SearchResult] = {}
    for dataset in datasets or [profile.data.feature_set]:
        extra = [f"data.feature_set={dataset}"]
        if datasets and len(datasets) > 1:
            extra.append(f"02_search.study_name={profile.search.study_name}-{dataset}")
        p = load_profile(mode, overrides=[*overrides, *extra])
        results[dataset] = run_search(TrialConfig(p.data, p.model, p.train), p.search,
                                      show_progress_bar=show_progress_bar)
    first = next(iter(results.values()))
    return {"best_parameters": first.best_params, "best_value": first.best_value, "study": first.study,
            "summary": first.summary, "per_dataset": results}


def quick_optimize(datasets: list[str] | None = None, n_trials: int = 20, **kw: Any) -> dict[str, Any]:
    """The seed's ``quick_optimize``: the quick profile with ``n_trials`` trials."""
    return optimize("quick", datasets=datasets, overrides=[f"02_search.n_trials={n_trials}", *_kw(kw)])


def comprehensive_optimize(datasets: list[str] | None = None, n_trials: int = 100, **kw: Any) -> dict[str, Any]:
    """The seed's ``comprehensive_optimize``: the comprehensive profile."""
    return optimize("comprehensive", datasets=datasets, overrides=[f"02_search.n_trials={n_trials}", *_kw(kw)])


@dataclass(frozen=True)
class OptimizationConfig:
    """The seed's configuration object, mapped onto a profile's search section."""

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
            raise ParamsError(f"unknown method {self.method!r}; use one of {', '.join(METHODS)} "
                              "(Ray Tune is not part of this workbench yet)")
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
    """The seed's orchestrator: ``HyperparameterOptimizer(config).optimize(mode)``."""

    def __init__(self, config: OptimizationConfig) -> None:
        self.config = config

    def optimize(self, mode: str = "comprehensive", datasets: list[str] | None = None) -> dict[str, Any]:
        """Run the mode's profile with this configuration."""
        return optimize(mode, datasets=datasets, overrides=self.config.overrides())


def _kw(kw: dict[str, Any]) -> list[str]:
    """Extra keyword arguments as overrides of the search section (study_name=..., method=...)."""
    return [f"02_search.{k}={v}" for k, v in kw.items()]
