"""Search spaces: plain functions of an Optuna trial that return a validated configuration.

Each space starts from the profile's base configuration (data, model, train sections) and
overrides the keys it samples. Conditional parameters exist only where they mean something:
``stride`` is sampled up to the sampled ``patch_len``; ``patch_len`` only among values that fit
``seq_len``; ``activation`` only when the head has more than one layer; a schedule's parameter
only for the schedule that has it. Anything still invalid is rejected by the configuration's own
validation (:class:`InvalidConfiguration`, recorded as the trial's failure reason) and never trained.

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

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial
from pydantic import ValidationError

from cryptexlab.errors import ParamsError
from cryptexlab.params import (
    FEATURE_FAMILIES,
    SLICES,
    TABULAR_KINDS,
    TIMELLM_KINDS,
    DataConfig,
    ModelConfig,
    SearchConfig,
    SearchParam,
    TrainConfig,
    kind_fields,
    set_dotted,
)


class InvalidConfiguration(ParamsError):
    """A sampled combination that the configuration rules reject (never trained)."""


@dataclass(frozen=True)
class TrialConfig:
    """The three configuration slices one trial trains with."""

    data: DataConfig
    model: ModelConfig
    train: TrainConfig

    @classmethod
    def default(cls) -> TrialConfig:
        """Defaults of every slice."""
        return cls(DataConfig(), ModelConfig(), TrainConfig())

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> TrialConfig:
        """Validate a configuration given as plain data: what :meth:`to_dict` returns, or a notebook's
        ``data``, ``model`` and ``train`` parameters.

        Example:
            >>> TrialConfig.from_dict({"data": {}, "model": {"kind": "dlinear"}, "train": {"epochs": 2}}).train.epochs
            2

        Raises:
            ParamsError: the keys are not exactly data, model and train.
            pydantic.ValidationError: a slice breaks its schema's rules.
        """
        if set(doc) != set(SLICES):
            raise ParamsError(f"a trial configuration has the keys {', '.join(SLICES)}, but got {sorted(doc)}")
        return cls(DataConfig.model_validate(doc["data"]), ModelConfig.model_validate(doc["model"]),
                   TrainConfig.model_validate(doc["train"]))

    @classmethod
    def from_trial(cls, trial: FrozenTrial) -> TrialConfig:
        """The configuration a trial trained with, rebuilt from its ``config`` user attribute.

        Raises:
            ParamsError: the trial has no configuration (it failed before one was sampled).
        """
        if "config" not in trial.user_attrs:
            reason = trial.user_attrs.get("failure_reason", "none recorded")
            raise ParamsError(f"trial {trial.number} has no 'config' user attribute (failure reason: {reason}); "
                              "only trials whose configuration was sampled can be rebuilt, e.g. completed ones")
        return cls.from_dict(trial.user_attrs["config"])

    def to_dict(self) -> dict[str, Any]:
        """The full configuration as plain data."""
        return {"data": self.data.model_dump(), "model": self.model.model_dump(), "train": self.train.model_dump()}

    def describe(self) -> str:
        """One line a person reads (optuna-dashboard shows it as the trial's ``configuration`` attribute;
        the full ``config`` attribute is cut there at 1,024 characters).

        Example:
            >>> TrialConfig.default().describe()
            'timellm (MINILM, 2 LLM layers, d_model 16, d_ff 32, 8 heads, patch 16/8) | CRYPTEX_BASIC, 96 -> 24 bars | MSE, lr 0.001, constant, 3 epochs, batch 32'
        """
        m, w, t = self.model, self.data.windows, self.train
        if m.kind in TABULAR_KINDS:
            tab = m.tabular
            model = (f"ridge (alpha {tab.alpha:.3g}, lags {tab.lags})" if m.kind == "ridge" else
                     f"lightgbm ({tab.num_leaves} leaves, lr {tab.learning_rate:.3g}, {tab.n_estimators} trees, "
                     f"lags {tab.lags})")
        elif m.kind in TIMELLM_KINDS:
            model = (f"{m.kind}{' + covariates' if m.covariates else ''} ({m.llm_model}, {m.llm_layers} LLM layers, "
                     f"d_model {m.d_model}, d_ff {m.d_ff}, {m.n_heads} heads, patch {m.patch_len}/{m.stride})")
        else:
            model = m.kind
        families = f" ({', '.join(self.data.feature_families)})" if self.data.feature_families is not None else ""
        return (f"{model} | {self.data.feature_set}{families}, {w.seq_len} -> {w.pred_len} bars | {t.loss}, "
                f"lr {t.learning_rate:.3g}, {t.scheduler.kind}, {t.epochs} epochs, batch {t.batch_size}")

    def fingerprint(self) -> str:
        """Hash of the data source and window specification (trials are comparable when equal)."""
        spec = {k: v for k, v in self.data.model_dump().items()}
        return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]


Space = Callable[[optuna.Trial, TrialConfig, SearchConfig], TrialConfig]


def apply(base: TrialConfig, values: dict[str, Any]) -> TrialConfig:
    """Set dotted keys (``model.d_model``) on a copy of ``base`` and validate.

    The copy keeps which keys ``base`` set explicitly (rules such as "a date split takes no
    shares" depend on it). A baseline kind keeps none of the base's Time-LLM fields (they would
    be refused), and a sampled loss none of the base loss's ``loss_params``.

    Raises:
        InvalidConfiguration: naming the rule that the combination breaks.
    """
    doc = {"data": base.data.model_dump(exclude_unset=True), "model": base.model.model_dump(exclude_unset=True),
           "train": base.train.model_dump(exclude_unset=True)}
    for key, value in values.items():
        if key.split(".")[0] not in doc:
            raise InvalidConfiguration(f"invalid combination {values}: {key!r} must start with data., model. or train.")
        try:
            set_dotted(doc, key, value)
        except ParamsError as exc:
            raise InvalidConfiguration(f"invalid combination {values}: {exc}") from None
    kept = set(kind_fields(doc["model"].get("kind", ModelConfig().kind)))
    for name in set(ModelConfig.model_fields) - kept - {k.removeprefix("model.").split(".")[0] for k in values}:
        doc["model"].pop(name, None)
    if doc["train"].get("loss", base.train.loss) != base.train.loss and "train.loss_params" not in values:
        doc["train"].pop("loss_params", None)
    slices: dict[str, Any] = {}
    rules: list[str] = []
    for name, schema in SLICES.items():
        try:
            slices[name] = schema.model_validate(doc[name])
        except ValidationError as exc:
            rules += [f"{'.'.join(map(str, (name, *e['loc'])))}: {e['msg'].removeprefix('Value error, ')}"
                      for e in exc.errors()]
    if rules:
        raise InvalidConfiguration(f"invalid combination {values}: {'; '.join(rules)}")
    return TrialConfig(slices["data"], slices["model"], slices["train"])


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
    from cryptexlab.data.features import FEATURE_SETS
    from cryptexlab.data.synthetic import has_exog

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
    return apply(base, v)


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
    return apply(base, v)


def architecture(trial: optuna.Trial, base: TrialConfig, search: SearchConfig) -> TrialConfig:
    """Ten model-structure parameters (a tabular kind: its own space)."""
    if base.model.kind in TABULAR_KINDS:
        return tabular(trial, base, search)
    return apply(base, _architecture(trial, base.data.windows.seq_len))


def training(trial: optuna.Trial, base: TrialConfig, search: SearchConfig) -> TrialConfig:
    """Eight optimisation parameters (a tabular kind: its own space)."""
    if base.model.kind in TABULAR_KINDS:
        return tabular(trial, base, search)
    return apply(base, _training(trial))


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
    return apply(base, v)


def custom(trial: optuna.Trial, base: TrialConfig, search: SearchConfig) -> TrialConfig:
    """The parameters declared in ``search.custom``, in order, honouring their conditions."""
    values: dict[str, Any] = {}
    for p in search.custom:
        if any(values.get(k) != want for k, want in p.condition.items()):
            continue
        values[p.name] = _suggest(trial, p)
    return apply(base, values)


def _suggest(trial: optuna.Trial, p: SearchParam) -> Any:
    if p.type == "categorical":
        assert p.choices is not None  # SearchParam's validator requires choices for a categorical
        return trial.suggest_categorical(p.name, p.choices)
    assert p.low is not None and p.high is not None  # SearchParam's validator requires low and high otherwise
    if p.type == "int":
        return trial.suggest_int(p.name, int(p.low), int(p.high), step=int(p.step or 1), log=p.log)
    return trial.suggest_float(p.name, p.low, p.high, step=p.step, log=p.log)


#: Trial parameter ``data.feature_family.trend`` (True/False) and so on: whether CRYPTEX_ENHANCED keeps the family.
FAMILY_PREFIX = "data.feature_family."
_FEATURE_SET = ("data.feature_set", *(FAMILY_PREFIX + f for f in FEATURE_FAMILIES))
#: Parameter names of the fixed spaces (every branch): what ``search.enqueue`` may name.
_QUICK = ("train.learning_rate", "model.d_model", "model.d_ff", "model.n_heads", "model.patch_len", "model.stride",
          "model.dropout")
_ARCHITECTURE = ("model.d_model", "model.d_ff", "model.n_heads", "model.e_layers", "model.d_layers",
                 "model.activation", "model.dropout", "model.patch_len", "model.stride", "model.llm_layers")
_TRAINING = ("train.learning_rate", "train.batch_size", "train.epochs", "train.scheduler.kind",
             "train.scheduler.warmup_fraction", "train.scheduler.T_0", "train.scheduler.amplitude", "train.loss",
             "train.weight_decay", "train.grad_clip")
_TABULAR = tuple(f"model.tabular.{n}" for n in ("alpha", "num_leaves", "learning_rate", "n_estimators",
                                                 "min_child_samples", "feature_fraction", "bagging_fraction",
                                                 "lambda_l1", "lambda_l2", "lags"))
#: The Time-LLM kinds' names (the tabular kinds': ``TABULAR_PARAMETERS``, plus data.feature_set in comprehensive).
SPACE_PARAMETERS: dict[str, tuple[str, ...]] = {
    "quick": _QUICK,
    "architecture": _ARCHITECTURE,
    "training": _TRAINING,
    "comprehensive": ("data.windows.seq_len", "model.llm_model", "model.num_tokens", *_ARCHITECTURE, *_TRAINING),
}
TABULAR_PARAMETERS: dict[str, tuple[str, ...]] = {
    "lightgbm": tuple(n for n in _TABULAR if not n.endswith(".alpha")),
    "ridge": ("model.tabular.alpha", "model.tabular.lags"),
}


def parameter_names(search: SearchConfig, model: ModelConfig | None = None) -> set[str]:
    """Every trial parameter name the search's space can suggest for the model (default: Time-LLM) (the keys
    ``search.enqueue`` may use).

    Example:
        >>> sorted(parameter_names(SearchConfig(method="grid", grid={"model.d_model": [8, 16]})))
        ['model.d_model']
    """
    if search.method == "grid":
        return set(search.grid)
    if search.mode == "custom":
        return {p.name for p in search.custom}
    model = model or ModelConfig()
    if model.kind in TABULAR_KINDS:
        return set(TABULAR_PARAMETERS[model.kind]) | (set(_FEATURE_SET) if search.mode == "comprehensive" else set())
    names = set(SPACE_PARAMETERS[search.mode])
    if search.mode == "comprehensive" and search.pred_len_choices:
        names.add("data.windows.pred_len")
    if search.mode == "comprehensive" and model.covariates:
        names |= set(_FEATURE_SET)
    return names


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
