"""One trial's configuration: the data, model and train slices it trains with, validated as a whole.

:class:`TrialConfig` is built from a profile's sections, from plain data (:meth:`TrialConfig.from_dict`) or
from a stored trial (:meth:`TrialConfig.from_trial`); :func:`with_values` sets dotted keys on a copy and
validates the result, which is how every search space, the verdict and the schedules derive a configuration.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from optuna.trial import FrozenTrial
from pydantic import ValidationError

from cryptexlab.errors import ParamsError
from cryptexlab.params import (
    SLICES,
    TABULAR_KINDS,
    TIMELLM_KINDS,
    DataConfig,
    ModelConfig,
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


def with_values(base: TrialConfig, values: dict[str, Any]) -> TrialConfig:
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
