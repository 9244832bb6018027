"""The objective of a search: sample a configuration, record it, check its budgets, place it, score it.

Scoring is an evaluator: the holdout one here (train once, score on the validation period, pruned
per epoch) or the cross-validated one (:mod:`cryptexlab.search.cv_objective`, with ``search.cv``).
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable

import optuna

from cryptexlab.data.prepare import load_windows
from cryptexlab.data.windows import Windows
from cryptexlab.errors import CryptexError
from cryptexlab.params import SearchConfig
from cryptexlab.search.budgets import check_budgets, device_ledger, place, slot_key
from cryptexlab.search.config import InvalidConfiguration, TrialConfig, with_values
from cryptexlab.search.cv_objective import cv_evaluator
from cryptexlab.search.spaces import space_for
from cryptexlab.search.storage import StorageLost
from cryptexlab.search.trial import VERSIONED, Evaluator, TrialFailed, fail
from cryptexlab.training import ExperimentResult, Runner, run_experiment
from cryptexlab.versions import package_versions


def make_objective(base: TrialConfig, search: SearchConfig, runner: Runner = run_experiment
                   ) -> Callable[[optuna.Trial], float | tuple[float, ...]]:
    """The objective: sample, check budgets, then score the configuration on the validation period
    (or, with ``search.cv``, by cross-validation: :mod:`cryptexlab.search.cv_objective`)."""
    space = _grid_space if search.method == "grid" else space_for(search.mode)
    if search.cv is not None:
        evaluate = cv_evaluator(search, runner)
    else:
        evaluate = _holdout_evaluator(search, runner)
    ledger = device_ledger(search)

    def objective(trial: optuna.Trial) -> float | tuple[float, ...]:
        start = time.perf_counter()
        trial.set_user_attr("worker", {"pid": os.getpid(), "host": socket.gethostname()})
        trial.set_user_attr("versions", package_versions(*VERSIONED))
        try:
            config = space(trial, base, search)
        except InvalidConfiguration as exc:
            fail(trial, f"invalid: {exc}")
        if search.trial_timeout_s:
            config = with_values(config, {"train.timeout_s": search.trial_timeout_s})
        trial.set_user_attr("config", config.to_dict())
        trial.set_user_attr("configuration", config.describe())  # readable in optuna-dashboard
        trial.set_user_attr("data_fingerprint", config.fingerprint())
        trial.set_user_attr("seed", config.train.seed)
        estimate_mib = check_budgets(trial, config, search)
        slot = place(trial, config, estimate_mib, ledger)
        try:
            values = evaluate(trial, config if slot is None else with_values(config, {"train.device": slot}))
        except (optuna.TrialPruned, TrialFailed, StorageLost):
            raise
        except (CryptexError, RuntimeError, ValueError, MemoryError) as exc:
            fail(trial, f"error: {type(exc).__name__}: {exc}")
        finally:
            if slot is not None and ledger is not None:
                ledger.release(slot_key(trial))
        trial.set_user_attr("duration_s", time.perf_counter() - start)
        if any(not math.isfinite(v) for v in values):
            fail(trial, f"non-finite objective {dict(zip(search.objectives, values, strict=True))}")
        return values[0] if len(values) == 1 else values

    return objective


def _holdout_evaluator(search: SearchConfig, runner: Runner) -> Evaluator:
    """Train once, score on the validation period; pruned per epoch (single objective)."""
    windows_cache: dict[str, Windows] = {}
    single = len(search.objectives) == 1

    def evaluate(trial: optuna.Trial, config: TrialConfig) -> tuple[float, ...]:
        windows = _windows(windows_cache, config)

        def report(epoch: int, value: float) -> None:
            if single:  # Wilcoxon pairs the epochs of this trial with the best trial's
                trial.report(value, epoch)
                if trial.should_prune():
                    trial.set_user_attr("pruned_at_epoch", epoch)
                    raise optuna.TrialPruned(f"pruned after epoch {epoch}")

        result = runner(config.data, config.model, config.train, windows=windows, report=report, evaluate_test=False)
        trial.set_user_attr("device", result.device)
        trial.set_user_attr("stop_reason", result.stop_reason)
        trial.set_user_attr("val", result.val)
        trial.set_user_attr("val_random_walk", result.val_random_walk)
        trial.set_user_attr("val_windows", result.val_windows)
        trial.set_user_attr("windows", {"trained": result.windows_trained, "evaluated": result.windows_evaluated})
        trial.set_user_attr("curve", result.curve)
        if result.stop_reason in ("nan_loss", "timeout"):
            fail(trial, result.stop_reason)
        return tuple(_objective_value(o, result) for o in search.objectives)

    return evaluate


def _objective_value(name: str, result: ExperimentResult) -> float:
    if name == "train_seconds":
        return float(result.seconds)
    return float(result.val[name.removeprefix("val_")])


def _windows(cache: dict[str, Windows], config: TrialConfig) -> Windows:
    key = config.fingerprint()
    if key not in cache:
        if len(cache) >= 4:
            cache.pop(next(iter(cache)))
        cache[key] = load_windows(config.data)
    return cache[key]


def _grid_space(trial: optuna.Trial, base: TrialConfig, search: SearchConfig) -> TrialConfig:
    return with_values(base, {k: trial.suggest_categorical(k, v) for k, v in search.grid.items()})
