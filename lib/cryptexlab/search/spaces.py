"""Search spaces: plain functions of an Optuna trial that return a validated configuration.

Each space starts from the profile's base configuration (data, model, train sections) and
overrides the keys it samples. Conditional parameters exist only where they mean something:
``stride`` is sampled up to the sampled ``patch_len``; ``patch_len`` only among values that fit
``seq_len``; ``activation`` only when the head has more than one layer; a schedule's parameter
only for the schedule that has it. Anything still invalid is rejected by the configuration's own
validation (:class:`~cryptexlab.search.config.InvalidConfiguration`, recorded as the trial's failure reason) and never trained.

===============  ====  ===========================================================================
space            size  parameters
===============  ====  ===========================================================================
quick            7     learning_rate, d_model, d_ff, n_heads, patch_len, stride, dropout
architecture     10    d_model, d_ff, n_heads, e_layers, d_layers, activation (if d_layers > 1),
                       dropout, patch_len, stride, llm_layers
training         8     learning_rate, batch_size, epochs, scheduler, its parameter, loss,
                       weight_decay, grad_clip
comprehensive    21    architecture + training + seq_len, llm_model, num_tokens
                       (+ pred_len where the profile lists pred_len_choices)
custom           any   declared in the profile's ``search.custom``
===============  ====  ===========================================================================

Which models use which columns: channel-independent Time-LLM and the baselines see the target
alone, so for them the feature set is not searched (a value that changes nothing would only waste
trials); Time-LLM with ``model.covariates: true`` and the tabular models (``lightgbm``, ``ridge``)
read every column, so the comprehensive space searches ``data.feature_set`` for them
(CRYPTEX_EXTERNAL only where there is an external series: ``data.external`` or a synthetic kind
with one) and, for CRYPTEX_ENHANCED, which of its families it keeps (``data.feature_family.trend``
and the others, True or False each; all False leaves the basic columns). The tabular kinds have their own space in every fixed mode (``tabular``): LightGBM's
num_leaves, learning_rate, n_estimators, min_child_samples, feature_fraction, bagging_fraction,
lambda_l1, lambda_l2 and the lags; ridge's alpha and the lags.

Example:
    >>> import optuna
    >>> cfg = quick(optuna.trial.FixedTrial({"train.learning_rate": 1e-3, "model.d_model": 16,
    ...     "model.d_ff": 32, "model.n_heads": 4, "model.patch_len": 16, "model.stride": 8,
    ...     "model.dropout": 0.1}), TrialConfig.default(), SearchConfig())
    >>> cfg.model.stride
    8
"""


from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optuna

from cryptexlab.data.features import FEATURE_SETS
from cryptexlab.data.synthetic import has_exog
from cryptexlab.errors import ParamsError
from cryptexlab.params import FAMILY_PREFIX, FEATURE_FAMILIES, TABULAR_KINDS, SearchConfig, SearchParam
from cryptexlab.search.config import TrialConfig, with_values

Space = Callable[[optuna.Trial, TrialConfig, SearchConfig], TrialConfig]


def _patch(trial: optuna.Trial, seq_len: int) -> dict[str, Any]:
    choices = [p for p in (8, 16, 24) if p <= seq_len] or [seq_len]
    patch = trial.suggest_categorical("model.patch_len", choices)
    stride = trial.suggest_int("model.stride", 1, patch)  # at most patch_len: no bar skipped
    return {"model.patch_len": patch, "model.stride": stride}


def _architecture(trial: optuna.Trial, seq_len: int) -> dict[str, Any]:
    v: dict[str, Any] = {
        "model.d_model": trial.suggest_categorical("model.d_model", [8, 16, 32]),
        "model.d_ff": trial.suggest_categorical("model.d_ff", [16, 32, 64]),
        "model.n_heads": trial.suggest_categorical("model.n_heads", [2, 4, 8]),
        "model.e_layers": trial.suggest_int("model.e_layers", 1, 2),
        "model.d_layers": trial.suggest_int("model.d_layers", 1, 2),
    }
    if v["model.d_layers"] > 1:
        v["model.activation"] = trial.suggest_categorical("model.activation", ["gelu", "relu", "tanh"])
    v["model.dropout"] = trial.suggest_float("model.dropout", 0.0, 0.3)
    v.update(_patch(trial, seq_len))
    v["model.llm_layers"] = trial.suggest_int("model.llm_layers", 1, 3)
    return v


def _training(trial: optuna.Trial) -> dict[str, Any]:
    v: dict[str, Any] = {
        "train.learning_rate": trial.suggest_float("train.learning_rate", 1e-4, 1e-2, log=True),
        "train.batch_size": trial.suggest_categorical("train.batch_size", [16, 32, 64]),
        "train.epochs": trial.suggest_int("train.epochs", 1, 4),
    }
    kind = trial.suggest_categorical("train.scheduler.kind", ["constant", "warmup", "cosine_restarts", "crypto_weekly"])
    params: dict[str, Any] = {}
    if kind == "warmup":
        params["warmup_fraction"] = trial.suggest_float("train.scheduler.warmup_fraction", 0.05, 0.3)
    elif kind == "cosine_restarts":
        params["T_0"] = trial.suggest_categorical("train.scheduler.T_0", [8, 16, 32])
    elif kind == "crypto_weekly":
        params["amplitude"] = trial.suggest_float("train.scheduler.amplitude", 0.1, 0.9)
    v["train.scheduler"] = {"kind": kind, "params": params}
    v["train.loss"] = trial.suggest_categorical("train.loss", ["MSE", "MAE", "ROBUST", "ASYMMETRIC"])
    v["train.weight_decay"] = trial.suggest_float("train.weight_decay", 1e-6, 1e-2, log=True)
    v["train.grad_clip"] = trial.suggest_categorical("train.grad_clip", [0.5, 1.0, 5.0])
    return v


def _feature_set(trial: optuna.Trial, base: TrialConfig) -> dict[str, Any]:
    external = bool(base.data.external) or (base.data.path is None and has_exog(base.data.synthetic.kind))
    choices = [f for f in FEATURE_SETS if external or f != "CRYPTEX_EXTERNAL"]
    v: dict[str, Any] = {"data.feature_set": trial.suggest_categorical("data.feature_set", choices)}
    if v["data.feature_set"] == "CRYPTEX_ENHANCED":  # which of its families, one switch each
        v["data.feature_families"] = [f for f in FEATURE_FAMILIES
                                      if trial.suggest_categorical(f"{FAMILY_PREFIX}{f}", [True, False])]
    else:
        v["data.feature_families"] = None
    return v


def tabular(trial: optuna.Trial, base: TrialConfig, search: SearchConfig) -> TrialConfig:
    """The tabular model's own parameters (LightGBM: 9, ridge: 2); with mode comprehensive, the feature set too."""
    t = "model.tabular."
    if base.model.kind == "ridge":
        v: dict[str, Any] = {t + "alpha": trial.suggest_float(t + "alpha", 1e-3, 1e3, log=True)}
    else:
        v = {t + "num_leaves": trial.suggest_int(t + "num_leaves", 4, 128, log=True),
             t + "learning_rate": trial.suggest_float(t + "learning_rate", 0.01, 0.3, log=True),
             t + "n_estimators": trial.suggest_int(t + "n_estimators", 50, 600, step=50),
             t + "min_child_samples": trial.suggest_int(t + "min_child_samples", 5, 200, log=True),
             t + "feature_fraction": trial.suggest_float(t + "feature_fraction", 0.3, 1.0),
             t + "bagging_fraction": trial.suggest_float(t + "bagging_fraction", 0.5, 1.0),
             t + "lambda_l1": trial.suggest_float(t + "lambda_l1", 1e-8, 10.0, log=True),
             t + "lambda_l2": trial.suggest_float(t + "lambda_l2", 1e-8, 10.0, log=True)}
    v[t + "lags"] = trial.suggest_int(t + "lags", 0, min(6, base.data.windows.seq_len - 1))
    if search.mode == "comprehensive":
        v.update(_feature_set(trial, base))
    return with_values(base, v)


def quick(trial: optuna.Trial, base: TrialConfig, search: SearchConfig) -> TrialConfig:
    """Seven key parameters of Time-LLM and its optimiser (a tabular kind: its own space)."""
    if base.model.kind in TABULAR_KINDS:
        return tabular(trial, base, search)
    v = {
        "train.learning_rate": trial.suggest_float("train.learning_rate", 1e-4, 1e-2, log=True),
        "model.d_model": trial.suggest_categorical("model.d_model", [8, 16, 32]),
        "model.d_ff": trial.suggest_categorical("model.d_ff", [16, 32, 64]),
        "model.n_heads": trial.suggest_categorical("model.n_heads", [2, 4, 8]),
    }
    v.update(_patch(trial, base.data.windows.seq_len))
    v["model.dropout"] = trial.suggest_float("model.dropout", 0.0, 0.3)
    return with_values(base, v)


def architecture(trial: optuna.Trial, base: TrialConfig, search: SearchConfig) -> TrialConfig:
    """Ten model-structure parameters (a tabular kind: its own space)."""
    if base.model.kind in TABULAR_KINDS:
        return tabular(trial, base, search)
    return with_values(base, _architecture(trial, base.data.windows.seq_len))


def training(trial: optuna.Trial, base: TrialConfig, search: SearchConfig) -> TrialConfig:
    """Eight optimisation parameters (a tabular kind: its own space)."""
    if base.model.kind in TABULAR_KINDS:
        return tabular(trial, base, search)
    return with_values(base, _training(trial))


def comprehensive(trial: optuna.Trial, base: TrialConfig, search: SearchConfig) -> TrialConfig:
    """Model, training and data together (21 parameters, 22 with pred_len, one more, the feature set,
    with covariates; a tabular kind: its own space and the feature set)."""
    if base.model.kind in TABULAR_KINDS:
        return tabular(trial, base, search)
    seq_len = trial.suggest_categorical("data.windows.seq_len", search.seq_len_choices)
    v: dict[str, Any] = {"data.windows.seq_len": seq_len}
    if search.pred_len_choices:
        v["data.windows.pred_len"] = trial.suggest_categorical("data.windows.pred_len", search.pred_len_choices)
    v["model.llm_model"] = trial.suggest_categorical("model.llm_model", search.llm_choices)
    v["model.num_tokens"] = trial.suggest_categorical("model.num_tokens", [100, 500, 1000])
    v.update(_architecture(trial, seq_len))
    v.update(_training(trial))
    if base.model.covariates:
        v.update(_feature_set(trial, base))
    return with_values(base, v)


def custom(trial: optuna.Trial, base: TrialConfig, search: SearchConfig) -> TrialConfig:
    """The parameters declared in ``search.custom``, in order, honouring their conditions."""
    values: dict[str, Any] = {}
    for p in search.custom:
        if any(values.get(k) != want for k, want in p.condition.items()):
            continue
        values[p.name] = _suggest(trial, p)
    return with_values(base, values)


def _suggest(trial: optuna.Trial, p: SearchParam) -> Any:
    if p.type == "categorical":
        assert p.choices is not None  # SearchParam's validator requires choices for a categorical
        return trial.suggest_categorical(p.name, p.choices)
    assert p.low is not None and p.high is not None  # SearchParam's validator requires low and high otherwise
    if p.type == "int":
        return trial.suggest_int(p.name, int(p.low), int(p.high), step=int(p.step or 1), log=p.log)
    return trial.suggest_float(p.name, p.low, p.high, step=p.step, log=p.log)


SPACES: dict[str, Space] = {"quick": quick, "architecture": architecture, "training": training,
                            "comprehensive": comprehensive, "custom": custom}


def space_for(mode: str) -> Space:
    """The space function of a mode.

    Raises:
        ParamsError: listing the modes.
    """
    if mode not in SPACES:
        raise ParamsError(f"unknown search mode {mode!r}; use one of {', '.join(SPACES)}")
    return SPACES[mode]
