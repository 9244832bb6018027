"""Typed parameter profiles: load ``params/<name>.yaml``, apply ``-p`` overrides, validate.

A profile names the notebooks of a run in order and holds one section per notebook, plus
the shared ``data`` section (which candles, which periods). Every key is checked before
anything runs: an unknown key, a wrong type or an out-of-range value is a
:class:`~cryptexlab.errors.ParamsError` that names the key, the value, the rule and the file.
So are the rules across keys and sections (a patch longer than the window, Time-LLM fields on
a baseline, search names that are no configuration keys) and, in :func:`check_profile`, the
ones that need the library: the loss and schedule parameters, the backbone (its name, width and
depth, from its config alone) and the names a search enqueues.

Example:
    >>> profile = load_profile("smoke", overrides=["data.synthetic.hours=2000"])
    >>> profile.data.synthetic.hours
    2000
    >>> sorted(profile.notebook_parameters("01_data"))
    ['acf_lags', 'candles_shown', 'data']
"""

from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cryptexlab.errors import ParamsError
from cryptexlab.paths import PARAMS_DIR, resolve

Freq = Literal["1h", "4h", "1d"]


class Section(BaseModel):
    """Base of every profile section: unknown keys are errors, values are not coerced."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


class SyntheticConfig(Section):
    """The embedded default series, used when ``data.path`` is null."""

    kind: Literal["default", "martingale", "planted"] = "default"
    hours: int = Field(8760, ge=500, le=500_000, description="length of the series in hours")
    seed: int = Field(7, ge=0, description="random seed; the same seed gives the same series")


class SplitConfig(Section):
    """Chronological train/validation/test periods: shares of the rows, or two dates.

    With ``train_end`` and ``val_end`` (ISO dates, UTC, exclusive) the periods are cut by time
    and the shares must be left out. ``gap`` rows between consecutive periods belong to none;
    null means ``pred_len`` (the least that keeps every target inside its own period).
    """

    train: float = Field(0.7, gt=0, lt=1)
    val: float = Field(0.15, gt=0, lt=1)
    test: float = Field(0.15, gt=0, lt=1)
    train_end: str | None = Field(None, description="first bar after the training period")
    val_end: str | None = Field(None, description="first bar after the validation period")
    gap: int | None = Field(None, ge=0, description="rows left out between periods; null = pred_len")

    @model_validator(mode="after")
    def _sums_to_one(self) -> SplitConfig:
        dates = (self.train_end, self.val_end)
        if any(d is not None for d in dates):
            if None in dates:
                raise ValueError("give both train_end and val_end, or neither")
            # a share at its default is what a dump of this config carries back (notebooks re-validate
            # their dict parameters), so only a share set to another value is a contradiction
            shares = {k for k in {"train", "val", "test"} & self.model_fields_set
                      if getattr(self, k) != type(self).model_fields[k].default}
            if shares:
                raise ValueError(f"split by dates ignores shares, so leave out {sorted(shares)}")
            try:
                a, b = (pd.Timestamp(d, tz="UTC") for d in dates)
            except ValueError as exc:
                raise ValueError(f"train_end/val_end must be ISO dates: {exc}") from None
            if not a < b:
                raise ValueError(f"train_end {self.train_end} must be before val_end {self.val_end}")
            return self
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-9:
            raise ValueError(
                f"train + val + test must sum to 1 but got {self.train} + {self.val} + "
                f"{self.test} = {total:g}"
            )
        return self


FeatureSetName = Literal[
    "CRYPTEX_BASIC", "CRYPTEX_ENHANCED", "CRYPTEX_EXTERNAL", "CRYPTEX_MULTISCALE", "CRYPTEX_REGIME_AWARE"
]


class ExternalConfig(Section):
    """An external CSV series for CRYPTEX_EXTERNAL (see cryptexlab.data.external)."""

    path: str
    lag_hours: float = Field(1.0, ge=0, description="publication delay before a value is visible")
    columns: list[str] | None = None
    prefix: str = ""


class WindowConfig(Section):
    """Training windows: input length, horizon, target and channel handling."""

    seq_len: int = Field(96, ge=2, le=4096)
    pred_len: int = Field(24, ge=1, le=1024)
    target: str = "close"
    target_kind: Literal["price", "log_return"] = "price"
    mode: Literal["channel_independent", "multivariate"] = "multivariate"
    features: list[str] | None = Field(None, description="input columns; null = every feature")


class DataConfig(Section):
    """Which candles to use, which features, how to split them by time and cut windows.

    ``columns`` and ``skip_rows`` read vendor layouts as they are (see cryptexlab.data.candles).
    """

    path: str | None = Field(
        None, description="Cryptex-format CSV (relative to the repo root); null = synthetic"
    )
    freq: Freq = Field("1h", description="declared step of the file")
    repair: bool = Field(False, description="reindex missing bars and fill them as no-trade")
    resample: Freq | None = Field(None, description="aggregate to a coarser step after loading")
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="file header of each loader column that differs, e.g. {timestamp: unix, volume: Volume BTC}",
    )
    skip_rows: int = Field(0, ge=0, le=1000, description="banner lines before the header (1 for CryptoDataDownload)")
    synthetic: SyntheticConfig = SyntheticConfig()
    split: SplitConfig = SplitConfig()
    feature_set: FeatureSetName = "CRYPTEX_BASIC"
    external: list[ExternalConfig] = Field(default_factory=list)
    timeframes: list[Freq] = Field(default_factory=lambda: ["1h", "4h", "1d"], min_length=1)
    n_regimes: int = Field(3, ge=2, le=8)
    windows: WindowConfig = WindowConfig()

    @model_validator(mode="after")
    def _external_needs_its_set(self) -> DataConfig:
        if self.external and self.feature_set != "CRYPTEX_EXTERNAL":
            raise ValueError(
                f"external series are only used by CRYPTEX_EXTERNAL, but feature_set is {self.feature_set}; "
                "set data.feature_set: CRYPTEX_EXTERNAL or remove data.external"
            )
        return self

    @field_validator("path")
    @classmethod
    def _path_exists(cls, value: str | None) -> str | None:
        if value is not None and not resolve(value).is_file():
            raise ValueError(
                f"no file at {resolve(value)}; give a Cryptex CSV path (absolute or relative "
                "to the repository root), or null for the embedded synthetic series"
            )
        return value

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, value: dict[str, str]) -> dict[str, str]:
        names = ("timestamp", "open", "high", "low", "close", "volume")  # the loader's REQUIRED_COLUMNS
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(
                f"unknown column name(s) {', '.join(unknown)}; the keys of data.columns are the loader's "
                f"names {', '.join(names)}, the values the headers of the file"
            )
        empty = sorted(k for k, v in value.items() if not v.strip())
        if empty:
            raise ValueError(f"empty header name for {', '.join(empty)}; give the file's column name")
        return value


class ModelConfig(Section):
    """The forecaster of a trial: Time-LLM (or an ablation), or a baseline.

    ``e_layers`` is the number of stacked reprogramming (cross-attention) layers; ``d_layers``
    the number of layers of the output head (1 = the reference's single linear layer), and
    ``activation`` the non-linearity between head layers (GELU when null), so it must be left
    out when ``d_layers`` is 1 (it would do nothing). seq_len and pred_len come from ``data.windows``.
    """

    kind: Literal["timellm", "timellm_no_llm", "timellm_attention", "dlinear", "linear",
                  "random_walk", "drift", "seasonal_naive"] = "timellm"
    llm_model: str = Field("MINILM", description="registry name, hub id or local folder")
    llm_layers: int = Field(2, ge=1, le=64)
    d_model: int = Field(16, ge=1, le=1024)
    d_ff: int = Field(32, ge=1, le=4096)
    n_heads: int = Field(8, ge=1, le=64)
    dropout: float = Field(0.1, ge=0, lt=1)
    patch_len: int = Field(16, ge=1, le=512)
    stride: int = Field(8, ge=1, le=512)
    num_tokens: int = Field(1000, ge=1, le=100_000)
    e_layers: int = Field(1, ge=1, le=8)
    d_layers: int = Field(1, ge=1, le=4)
    activation: Literal["gelu", "relu", "tanh"] | None = Field(None, description="between head layers; null = gelu")
    prompt: bool = True
    description: str = Field(
        "Bitcoin (BTC-USDT) hourly candles from the Binance.us exchange; volume is in BTC.",
        description="dataset description of the prompt",
    )
    backbone_dropout: bool = Field(False, description="apply the frozen backbone's dropout while training")
    fast: bool = Field(True, description="exact shortcuts (fused attention, partial last layer, cached prototypes)")

    @model_validator(mode="after")
    def _consistent(self) -> ModelConfig:
        if self.kind not in TIMELLM_KINDS:
            fields = type(self).model_fields
            stray = [f"{n}={getattr(self, n)!r}" for n in fields if n in self.model_fields_set and n != "kind"
                     and getattr(self, n) != fields[n].default]
            if stray:
                raise ValueError(
                    f"kind={self.kind!r} is a baseline and ignores the Time-LLM field(s) {', '.join(stray)}; "
                    f"remove them, or choose one of the kinds {', '.join(TIMELLM_KINDS)}")
        if self.stride > self.patch_len:
            raise ValueError(f"stride={self.stride} must be at most patch_len={self.patch_len} (patches would skip data)")
        if self.activation is not None and self.d_layers == 1:
            raise ValueError("activation only acts between head layers: set d_layers >= 2 or leave activation out")
        return self


#: The model kinds built as Time-LLM (with a backbone); the others are baselines, which use only ``kind``.
TIMELLM_KINDS: tuple[str, ...] = ("timellm", "timellm_no_llm", "timellm_attention")
#: The fields of ModelConfig that only Time-LLM kinds use (every field but ``kind``).
TIMELLM_FIELDS: tuple[str, ...] = tuple(n for n in ModelConfig.model_fields if n != "kind")


LossName = Literal["MSE", "MAE", "MAPE", "ASYMMETRIC", "QUANTILE", "SHARPE_LOSS", "TRADING_LOSS", "ROBUST"]


SchedulerKind = Literal["constant", "warmup", "cosine_restarts", "adaptive", "cyclical", "performance",
                        "multiphase", "crypto_weekly", "one_cycle"]


class SchedulerConfig(Section):
    """A learning-rate schedule: its kind and that kind's parameters (checked by the factory,
    :func:`cryptexlab.schedulers.build_scheduler`, which names any unknown or bad parameter)."""

    kind: SchedulerKind = "constant"
    params: dict[str, Any] = Field(default_factory=dict)


#: Validation windows scored per training window of an epoch under ``max_eval_windows: auto``. A window
#: scored in an inference batch of 256 costs about an eighth of a training window (forward and backward
#: in batches of 32; benchmarks/results/eval_budget.json measures both), so an epoch's validation then
#: costs about what its training does.
EVAL_WINDOWS_PER_TRAIN_WINDOW = 8


class TrainConfig(Section):
    """How one configuration is trained and evaluated (the experiment runner's slice)."""

    epochs: int = Field(3, ge=1, le=1000)
    batch_size: int = Field(32, ge=1, le=4096)
    learning_rate: float = Field(1e-3, gt=0, le=1)
    weight_decay: float = Field(0.0, ge=0, le=1)
    loss: LossName = "MSE"
    loss_params: dict[str, Any] = Field(default_factory=dict, description="e.g. {quantile: 0.7}")
    patience: int = Field(3, ge=1, le=1000, description="epochs without validation improvement before stopping")
    max_train_windows: int | None = Field(512, ge=1, description="random training windows per epoch; null = all")
    grad_clip: float | None = Field(1.0, gt=0, description="max gradient norm; null = no clipping")
    timeout_s: float | None = Field(None, gt=0, description="wall-clock limit of one training run")
    seed: int = Field(0, ge=0)
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    scheduler: SchedulerConfig = SchedulerConfig()
    eval_batch_size: int = Field(256, ge=1, le=65_536, description="windows per inference batch (no gradient)")
    eval_stride: int = Field(1, ge=1, description="bars between candidate validation windows (pred_len: "
                                                     "targets that do not overlap); the cap then thins them evenly")
    max_eval_windows: Annotated[int, Field(ge=1)] | Literal["auto"] | None = Field(
        "auto", description="validation windows scored per evaluation; auto = EVAL_WINDOWS_PER_TRAIN_WINDOW x "
                            "max_train_windows; null = every candidate window")

    def eval_cap(self) -> int | None:
        """The cap on scored validation windows (``auto``: what costs about as much as an epoch's training)."""
        if self.max_eval_windows == "auto":
            return None if self.max_train_windows is None else EVAL_WINDOWS_PER_TRAIN_WINDOW * self.max_train_windows
        return self.max_eval_windows


#: The configuration slices a trial is built from, by the first part of a dotted key.
SLICES: dict[str, type[Section]] = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


def config_keys() -> list[str]:
    """Every dotted key a search may set: the fields of the data, model and train slices, nested.

    A section (``data.windows``) is a key too, set as a whole mapping; a free mapping
    (``train.loss_params``, ``train.scheduler.params``) also takes one name below it.

    Example:
        >>> {"model.d_model", "data.windows.seq_len", "train.scheduler.kind"} <= set(config_keys())
        True
    """
    def walk(prefix: str, model: type[BaseModel]) -> list[str]:
        keys = []
        for name, field in model.model_fields.items():
            key = f"{prefix}.{name}"
            sub = _section_type(field.annotation)
            keys += [key, *walk(key, sub)] if sub else [key]
        return keys

    return [k for prefix, model in SLICES.items() for k in walk(prefix, model)]


def config_key_problem(name: str) -> str | None:
    """Why ``name`` is not a dotted configuration key (see :func:`config_keys`), or None if it is one.

    Example:
        >>> config_key_problem("model.d_model") is None
        True
        >>> config_key_problem("data.windowz.seq_len").split(";")[0]
        "'data.windowz.seq_len' is not a configuration key: data has no key 'windowz'"
    """
    parts = name.split(".")
    if parts[0] not in SLICES:
        return f"{name!r} must start with data., model. or train. (a configuration key such as model.d_model)"
    model: type[BaseModel] = SLICES[parts[0]]
    for i, part in enumerate(parts[1:], start=1):
        where, field = ".".join(parts[:i]), model.model_fields.get(part)
        if field is None:
            close = difflib.get_close_matches(name, config_keys(), n=3, cutoff=0.7)
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            return (f"{name!r} is not a configuration key: {where} has no key {part!r}; {hint}"
                    f"the keys of {where}: {', '.join(model.model_fields)}")
        sub = _section_type(field.annotation)
        if sub is not None:
            model = sub
            continue
        below = len(parts) - i - 1
        if below == 0 or (below == 1 and get_origin(field.annotation) is dict):
            return None
        return f"{name!r} is not a configuration key: {'.'.join(parts[:i + 1])} is a value, not a section"
    return None


def _section_type(annotation: Any) -> type[BaseModel] | None:
    """The section class of a field (also of ``Section | None``), or None for a value (a list of sections too)."""
    optional = get_origin(annotation) in (Union, UnionType)
    for candidate in (annotation, *(get_args(annotation) if optional else ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


class SearchParam(Section):
    """One parameter of a custom search space (``search.custom`` in a profile).

    ``name`` is the dotted key it sets (``model.d_model``, ``train.learning_rate``,
    ``data.windows.seq_len``); ``condition`` maps other parameter names to the value they must
    have for this one to be sampled (``{model.d_layers: 2}``).
    """

    name: str
    type: Literal["float", "int", "categorical"]
    low: float | None = None
    high: float | None = None
    choices: list[Any] | None = None
    log: bool = False
    step: float | None = None
    condition: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _is_config_key(cls, name: str) -> str:
        problem = config_key_problem(name)
        if problem:
            raise ValueError(problem)
        return name

    @model_validator(mode="after")
    def _complete(self) -> SearchParam:
        if self.type == "categorical":
            if not self.choices:
                raise ValueError(f"categorical parameter {self.name} needs a non-empty choices list")
        elif self.low is None or self.high is None or not self.low <= self.high:
            raise ValueError(f"{self.type} parameter {self.name} needs low <= high, got low={self.low}, high={self.high}")
        elif self.log and self.low <= 0:
            raise ValueError(f"log-scaled parameter {self.name} needs low > 0, got {self.low}")
        return self


Objective = Literal["val_mae", "val_mse", "val_mape", "val_directional_accuracy", "val_sharpe", "train_seconds"]


class SearchConfig(Section):
    """A hyperparameter search: space, method, pruning, objectives, budget, storage, constraints."""

    mode: Literal["quick", "architecture", "training", "comprehensive", "custom"] = "quick"
    method: Literal["tpe", "gp", "cmaes", "random", "grid", "qmc"] = "tpe"
    pruner: Literal["median", "hyperband", "successive_halving", "wilcoxon", "none"] = "median"
    n_trials: int = Field(20, ge=1, le=100_000)
    timeout_s: float | None = Field(None, gt=0, description="wall-clock limit of the whole study")
    trial_timeout_s: float | None = Field(None, gt=0, description="wall-clock limit of one trial")
    objectives: list[Objective] = Field(default_factory=lambda: ["val_mae"], min_length=1)
    study_name: str = Field("study", pattern=r"^[A-Za-z0-9_.-]+$")
    storage: str | None = Field(None, description="SQLAlchemy URL or journal file; null = studies/<name>.journal")
    seed: int = Field(0, ge=0)
    custom: list[SearchParam] = Field(default_factory=list)
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="method grid: dotted key -> values")
    enqueue: list[dict[str, Any]] = Field(default_factory=list, description="configurations tried first")
    import_from: str | None = Field(None, description="study (same storage) whose trials seed this one")
    memory_budget_mib: float | None = Field(None, gt=0)
    max_trainable_params: int | None = Field(None, ge=1)
    terminator: bool = Field(False, description="stop when improvement falls below the noise")
    llm_choices: list[str] = Field(default_factory=lambda: ["MINILM"], min_length=1)
    seq_len_choices: list[int] = Field(default_factory=lambda: [48, 96], min_length=1)
    pred_len_choices: list[int] | None = Field(None, description="null: pred_len stays as in data.windows")

    @field_validator("grid")
    @classmethod
    def _grid_keys(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in grid.items():
            problem = config_key_problem(key)
            if problem:
                raise ValueError(f"grid key {problem}")
            if not values:
                raise ValueError(f"grid key {key!r} has no values; give at least one, e.g. {key}: [...]")
        return grid

    @model_validator(mode="after")
    def _consistent(self) -> SearchConfig:
        if self.mode == "custom" and not self.custom:
            raise ValueError("mode custom needs search.custom: a list of {name, type, low/high or choices}")
        self._check_conditions()
        if self.method == "grid" and not self.grid:
            raise ValueError("method grid needs search.grid: dotted key -> list of values")
        if len(self.objectives) > 1 and self.pruner != "none":
            raise ValueError(f"pruning does not support multi-objective studies (optuna#3450): set pruner: none "
                             f"for objectives {self.objectives}")
        return self

    def _check_conditions(self) -> None:
        """A condition names a custom parameter declared above (sampled first) and a value it can take;
        otherwise the conditioned parameter would silently never be sampled."""
        earlier: dict[str, SearchParam] = {}
        for i, p in enumerate(self.custom):
            for key, want in p.condition.items():
                where = f"custom.{i} ({p.name}) has condition {key}={want!r}"
                if key not in earlier:
                    raise ValueError(f"{where}, but {key!r} is not a custom parameter declared above it, so "
                                     f"{p.name} would never be sampled; condition on one of "
                                     f"{sorted(earlier) or '(none: it is the first)'} or move it below {key}")
                if earlier[key].type == "categorical" and want not in (earlier[key].choices or []):
                    raise ValueError(f"{where}, but {key} takes only {earlier[key].choices}, so {p.name} would "
                                     "never be sampled; condition on one of those values")
            earlier[p.name] = p


class DataNotebook(Section):
    """Section ``01_data``: what the data notebook shows."""

    candles_shown: int = Field(24 * 14, ge=24, le=5000, description="bars in the candle chart")
    acf_lags: int = Field(72, ge=1, le=2000, description="lags of the autocorrelation plots")


class SchedulesNotebook(Section):
    """Section ``04_schedules``: the schedules to compare (each a SchedulerConfig) and the study to read."""

    study_name: str = Field("quick", description="study whose best trial is trained (if it exists)")
    epochs: int = Field(4, ge=1, le=1000, description="epochs of each schedule's run (the same for all)")
    max_train_windows: int | None = Field(64, ge=1, description="training windows per epoch of each run")
    storage: str | None = Field(None, description="its storage; null = studies/<study_name>.journal")
    schedules: list[SchedulerConfig] = Field(
        default_factory=lambda: [SchedulerConfig(kind="constant"), SchedulerConfig(kind="warmup")], min_length=1)


#: Notebook name -> schema of its section. A notebook added here gets a field in Profile.
NOTEBOOK_SECTIONS: dict[str, type[Section]] = {
    "01_data": DataNotebook,
    "02_search": SearchConfig,
    "04_schedules": SchedulesNotebook,
}
#: Notebook name -> the shared sections (data, model, train) it receives besides its own.
SHARED_SECTIONS: dict[str, tuple[str, ...]] = {
    "01_data": ("data",),
    "02_search": ("data", "model", "train"),
    "04_schedules": ("data", "model", "train"),
}


class Profile(Section):
    """A whole parameter profile (one YAML file)."""

    description: str = ""
    notebooks: list[str] = Field(min_length=1)
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    data_notebook: DataNotebook = Field(DataNotebook(), alias="01_data")
    search: SearchConfig = Field(SearchConfig(), alias="02_search")
    schedules_notebook: SchedulesNotebook = Field(SchedulesNotebook(), alias="04_schedules")

    @field_validator("notebooks")
    @classmethod
    def _known_notebooks(cls, names: list[str]) -> list[str]:
        unknown = [n for n in names if n not in NOTEBOOK_SECTIONS]
        if unknown:
            raise ValueError(
                f"unknown notebook(s) {unknown}; known notebooks: {sorted(NOTEBOOK_SECTIONS)}"
            )
        if len(set(names)) != len(names):
            raise ValueError(f"each notebook may appear once, got {names}")
        return names

    @model_validator(mode="after")
    def _sections_agree(self) -> Profile:
        model, windows = self.model, self.data.windows
        if model.kind in TIMELLM_KINDS and model.patch_len > windows.seq_len:
            raise ValueError(
                f"model.patch_len = {model.patch_len} is above data.windows.seq_len = {windows.seq_len}: a patch "
                f"must fit inside the input window; set model.patch_len <= {windows.seq_len} (and model.stride "
                "at most that) or raise data.windows.seq_len")
        if "02_search" in self.notebooks and model.kind not in TIMELLM_KINDS:
            searched = _searched_model_fields(self.search)
            if searched:
                raise ValueError(
                    f"02_search tunes the Time-LLM field(s) {', '.join(searched)}, but model.kind = {model.kind!r} "
                    "is a baseline, which ignores them, so every trial would be refused; set model.kind to one "
                    f"of {', '.join(TIMELLM_KINDS)}, or use 02_search.mode: training (or a custom space or grid "
                    "without model fields, or one that searches model.kind)")
        return self

    def section(self, notebook: str) -> Section:
        """The section of one notebook (its own parameters only)."""
        for name, field in type(self).model_fields.items():
            if field.alias == notebook:
                return getattr(self, name)
        raise ParamsError(f"no section for notebook {notebook!r}; known: {sorted(NOTEBOOK_SECTIONS)}")

    def notebook_parameters(self, notebook: str) -> dict[str, Any]:
        """The papermill parameters of one notebook: its own section's keys plus the shared
        sections it uses (see :data:`SHARED_SECTIONS`), each as one dict parameter."""
        shared = {name: getattr(self, name).model_dump() for name in SHARED_SECTIONS[notebook]}
        return {**shared, **self.section(notebook).model_dump()}


def _searched_model_fields(search: SearchConfig) -> list[str]:
    """The Time-LLM fields a search sets (none when it also searches ``model.kind``)."""
    if search.method == "grid":
        names = list(search.grid)
    elif search.mode == "custom":
        names = [p.name for p in search.custom]
    elif search.mode == "training":
        names = []
    else:  # quick, architecture and comprehensive tune the Time-LLM architecture
        return [f"model.* (mode {search.mode})"]
    if "model.kind" in names:
        return []
    return [n for n in names if n.split(".")[0] == "model" and n.split(".")[1] in TIMELLM_FIELDS]


# ----------------------------------------------------------------------------- loading


def available_profiles() -> list[str]:
    """Names of the profiles in ``params/``."""
    return sorted(p.stem for p in PARAMS_DIR.glob("*.yaml"))


def profile_path(name_or_path: str | Path) -> Path:
    """``quick`` -> ``params/quick.yaml``; a path to a YAML file is returned resolved."""
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")) or "/" in text:
        path = resolve(text)
    else:
        path = PARAMS_DIR / f"{text}.yaml"
    if not path.is_file():
        raise ParamsError(
            f"no profile {text!r} (looked for {path}); available profiles: "
            f"{', '.join(available_profiles())}"
        )
    return path


def load_profile(name_or_path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Profile:
    """Load, override and validate a profile.

    Args:
        name_or_path: A profile name in ``params/`` (``"quick"``) or a YAML path.
        overrides: ``"dotted.key=value"`` strings; values are parsed as YAML scalars.

    Raises:
        ParamsError: naming the file or override, the key, the value and the rule.
    """
    path = profile_path(name_or_path)
    raw = _read_yaml(path)
    profile = _validate(raw, source=str(path))
    if not overrides:
        return profile
    merged = copy.deepcopy(raw)
    for item in overrides:
        _apply_override(merged, item)
    return _validate(merged, source=f"{path} with -p {' -p '.join(overrides)}")


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: a profile must be a mapping of keys, got {type(raw).__name__}")
    return raw


def _apply_override(raw: dict[str, Any], item: str) -> None:
    """Set ``a.b.c=value`` in the nested dict ``raw`` (value parsed as YAML)."""
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise ParamsError(
            f"override {item!r} must look like key=value, e.g. -p data.path=data/candles.csv"
        )
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        raise ParamsError(f"override {item!r}: value {text!r} is not a YAML scalar: {exc}") from None
    parts = key.strip().split(".")
    node = raw
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ParamsError(
                f"override {item!r}: {'.'.join(parts[: i + 1])} is a value, not a section"
            )
        node = child
    node[parts[-1]] = value


def _validate(raw: dict[str, Any], source: str) -> Profile:
    try:
        profile = Profile.model_validate(raw)
    except ValidationError as exc:
        raise ParamsError("\n".join(_describe(err, source) for err in exc.errors())) from None
    explicit = {Profile.model_fields[f].alias for f in profile.model_fields_set} & set(NOTEBOOK_SECTIONS)
    stray = sorted(explicit - set(profile.notebooks))
    if stray:
        raise ParamsError(
            f"{source}: section(s) {stray} are set but those notebooks are not in "
            f"notebooks={profile.notebooks}; add them to notebooks or remove the sections"
        )
    check_profile(profile, source)
    return profile


def check_profile(profile: Profile, source: str = "profile") -> None:
    """The checks that need the library, run once when a profile loads (not per trial).

    The loss takes ``train.loss_params``; every schedule (``train.scheduler``, ``04_schedules``)
    builds on a dummy optimizer at the profile's learning rate (a check that depends on the run's
    length is left to the run); ``model.llm_model`` and ``02_search.llm_choices`` name a backbone,
    whose config (read offline, no weights) has room for ``d_ff`` and ``llm_layers``; enqueued
    configurations name parameters of the search space.

    Raises:
        ParamsError: one line per problem, each naming the file, the key, the value, the rule and a fix.
    """
    problems = [*_loss_problems(profile.train), *_schedule_problems(profile.train.scheduler, "train.scheduler",
                                                                      profile.train.learning_rate)]
    if "04_schedules" in profile.notebooks:
        for i, schedule in enumerate(profile.schedules_notebook.schedules):
            problems += _schedule_problems(schedule, f"04_schedules.schedules.{i}", profile.train.learning_rate)
    if profile.model.kind in TIMELLM_KINDS:
        problems += _backbone_problems(profile.model)
    if "02_search" in profile.notebooks:
        problems += _search_problems(profile.search)
    if problems:
        raise ParamsError("\n".join(f"{source}: {p}" for p in problems))


#: Optimizer steps of the dummy run a schedule is checked on: long, so that only values wrong for
#: every run length are refused (e.g. a warmup longer than the run is caught when it runs).
_CHECK_STEPS, _CHECK_STEPS_PER_EPOCH = 1_000_000, 1_000


def _loss_problems(train: TrainConfig) -> list[str]:
    from cryptexlab.losses import build_loss, loss_parameters

    given, accepted = train.loss_params, loss_parameters(train.loss)
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        takes = f"it takes {', '.join(accepted)}" if accepted else "it takes none, so leave loss_params out"
        return [f"train.loss_params = {given!r} is invalid: loss {train.loss} takes no parameter(s) {unknown}; {takes}"]
    try:
        build_loss(train.loss, **given)
    except (ParamsError, TypeError, ValueError) as exc:
        return [f"train.loss_params = {given!r} is invalid: {exc}"]
    return []


def _schedule_problems(schedule: SchedulerConfig, key: str, learning_rate: float) -> list[str]:
    import torch

    from cryptexlab.schedulers import SCHEDULER_PARAMS, build_scheduler

    given, accepted = schedule.params, SCHEDULER_PARAMS[schedule.kind]
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        takes = f"it takes {', '.join(accepted)}" if accepted else "it takes none, so leave params out"
        return [f"{key}.params = {given!r} is invalid: scheduler kind {schedule.kind} takes no parameter(s) "
                f"{unknown}; {takes}"]
    optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=learning_rate)  # as training builds it
    try:
        build_scheduler(optimizer, schedule, total_steps=_CHECK_STEPS, steps_per_epoch=_CHECK_STEPS_PER_EPOCH)
    except (ParamsError, TypeError, ValueError) as exc:
        return [f"{key}.params = {given!r} is invalid: {exc} (at train.learning_rate = {learning_rate})"]
    return []


#: A hub id: ``owner/name`` (what resolve_backbone passes to the hub when no folder is there).
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def _backbone_problems(model: ModelConfig) -> list[str]:
    from cryptexlab.models.backbones import backbone_shape

    name = model.llm_model
    problem = _backbone_name_problem(name)
    if problem:
        return [f"model.llm_model = {name!r} is invalid: {problem}"]
    try:
        shape = backbone_shape(name)
    except ParamsError as exc:
        return [f"model.llm_model = {name!r} is invalid: {exc}"]
    if shape is None:  # a hub id not cached here: its width is checked when it loads
        return []
    width, layers = shape
    problems = []
    if model.d_ff > width:
        problems.append(f"model.d_ff = {model.d_ff} is invalid: the head reads the first d_ff features of the "
                        f"backbone's output, and {name} has {width}; set model.d_ff <= {width}")
    if model.llm_layers > layers:
        problems.append(f"model.llm_layers = {model.llm_layers} is invalid: {name} has {layers} layers; "
                        f"set model.llm_layers <= {layers}")
    return problems


def _backbone_name_problem(name: str) -> str | None:
    """Why ``name`` names no backbone (not a registry name, an existing folder or a hub id), or None."""
    from cryptexlab.models.backbones import REGISTRY, resolve_backbone

    if name.upper() in REGISTRY or Path(name).expanduser().exists() or _HUB_ID.fullmatch(name):
        return None
    try:
        resolve_backbone(name)
    except ParamsError as exc:
        return str(exc)
    return (f"no folder at {Path(name).expanduser()} and not a hub id (owner/name); give one of "
            f"{', '.join(REGISTRY)}, a hub id such as 'openai-community/gpt2', or an existing folder written by "
            "save_pretrained")


def _search_problems(search: SearchConfig) -> list[str]:
    problems = [f"02_search.llm_choices.{i} = {name!r} is invalid: {problem}"
                for i, name in enumerate(search.llm_choices) if (problem := _backbone_name_problem(name))]
    if search.enqueue:
        from cryptexlab.search.spaces import parameter_names

        names = parameter_names(search)
        space = "grid" if search.method == "grid" else f"{search.mode} space"
        for i, entry in enumerate(search.enqueue):
            unknown = sorted(set(entry) - names)
            if unknown:
                close = {u: difflib.get_close_matches(u, names, n=1, cutoff=0.7) for u in unknown}
                hint = "".join(f" ({u}: did you mean {c[0]}?)" for u, c in close.items() if c)
                problems.append(f"02_search.enqueue.{i} = {entry!r} is invalid: {unknown} are not parameters of "
                                f"the {space}, so the trial would ignore them{hint}; its parameters: "
                                f"{', '.join(sorted(names))}")
    return problems


def _describe(err: Any, source: str) -> str:
    """One readable line per pydantic error: key, value, rule, file."""
    loc = tuple(err["loc"])
    dotted = ".".join(str(p) for p in loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        where = f" under '{'.'.join(map(str, loc[:-1]))}'" if loc[:-1] else ""
        return f"{source}: unknown key '{dotted}'. Allowed keys{where}: {', '.join(allowed)}"
    rule = err["msg"].removeprefix("Value error, ")
    if err["type"] == "missing":
        return f"{source}: required key '{dotted}' is missing"
    if err["type"] == "value_error" and not loc:  # a rule across sections: it names its keys and values
        return f"{source}: {rule}"
    if err["type"] == "value_error" and isinstance(err.get("input"), dict):  # a rule across a section's keys
        return f"{source}: {dotted}: {rule}"
    return f"{source}: {dotted} = {err.get('input')!r} is invalid: {rule}"


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Keys accepted at a location of the profile (aliases where fields have them)."""
    model: Any = Profile
    for part in loc:
        if isinstance(part, int):  # an item of a list section, e.g. data.external.0
            continue
        fields = {f.alias or n: f for n, f in model.model_fields.items()}
        annotation = fields[part].annotation if part in fields else None
        if get_origin(annotation) is list:
            annotation = get_args(annotation)[0]
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return [f.alias or n for n, f in model.model_fields.items()]
