"""The ``02_search`` section: a hyperparameter search, its custom parameters and its objectives."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import Field, field_validator, model_validator

from cryptexlab.params._base import Section
from cryptexlab.params._cv import CVConfig
from cryptexlab.params._keys import config_key_problem


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


#: What a search may optimise: a validation metric of the trial, or its training time.
Objective = Literal["val_mae", "val_mse", "val_mape", "val_directional_accuracy", "val_sharpe", "train_seconds"]
#: Each objective's direction: errors and seconds are minimised, accuracy and the Sharpe ratio maximised.
OBJECTIVE_DIRECTIONS: dict[str, Literal["minimize", "maximize"]] = {
    "val_mae": "minimize", "val_mse": "minimize", "val_mape": "minimize", "val_directional_accuracy": "maximize",
    "val_sharpe": "maximize", "train_seconds": "minimize"}
#: The search spaces (cryptexlab.search.spaces.SPACES).
SearchMode = Literal["quick", "architecture", "training", "comprehensive", "custom"]
#: The samplers (cryptexlab.search.tuner.make_sampler).
SearchMethod = Literal["tpe", "gp", "cmaes", "random", "grid", "qmc", "ray"]


class RayConfig(Section):
    """Ray Tune for ``method: ray``: where it runs, how many trials at once, its ASHA scheduler."""

    address: str | None = Field(None, description="null: a local Ray on 127.0.0.1; 'auto' (on a cluster node) or "
                                                   "the head's host:port for a running cluster")
    sampler: Literal["tpe", "random"] = Field("tpe", description="the sampler of Ray's OptunaSearch")
    cpus_per_trial: int = Field(1, ge=1, description="CPUs (and torch threads) of one trial")
    max_concurrent: int | None = Field(None, ge=1, description="trials at once; null: CPUs / cpus_per_trial")
    grace_period: int = Field(1, ge=1, description="ASHA: reports (epochs or folds) before a trial can be stopped")
    reduction_factor: int = Field(3, ge=2, description="ASHA: 1/reduction_factor of the trials go on at each rung")


class SearchConfig(Section):
    """A hyperparameter search: space, method, pruning, objectives, budget, storage, constraints."""

    mode: SearchMode = "quick"
    method: SearchMethod = "tpe"
    pruner: Literal["median", "hyperband", "successive_halving", "wilcoxon", "none"] = "median"
    n_trials: int = Field(20, ge=1, le=100_000)
    timeout_s: float | None = Field(None, gt=0, description="wall-clock limit of the whole study")
    trial_timeout_s: float | None = Field(None, gt=0, description="wall-clock limit of one trial")
    objectives: list[Objective] = Field(default_factory=lambda: list[Objective](["val_mae"]), min_length=1)
    study_name: str = Field("study", pattern=r"^[A-Za-z0-9_.-]+$")
    storage: str | None = Field(None, description="SQLAlchemy URL or journal file; null = studies/<name>.journal")
    heartbeat_interval_s: int = Field(10, ge=1, description="RDB storages: seconds between a running trial's heartbeats")
    grace_period_s: int = Field(60, ge=2, description="RDB storages: a trial without heartbeat for this long is failed "
                                                      "and retried (its worker died)")
    max_retry: int = Field(3, ge=0, description="times a trial whose worker died is tried again")
    storage_timeout_s: float = Field(60.0, gt=0, description="a worker that cannot reach its RDB storage for this long "
                                                            "stops with an error (a server restart is waited for)")
    seed: int = Field(0, ge=0)
    custom: list[SearchParam] = Field(default_factory=list)
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="method grid: dotted key -> values")
    enqueue: list[dict[str, Any]] = Field(default_factory=list, description="configurations tried first")
    import_from: str | None = Field(None, description="study (same storage) whose trials seed this one")
    memory_budget_mib: float | None = Field(None, gt=0)
    max_trainable_params: int | None = Field(None, ge=1)
    terminator: bool = Field(False, description="stop when improvement falls below the noise (optuna.terminator, which Optuna deprecates since 4.9: kept as it is, nothing new built on it)")
    llm_choices: list[str] = Field(default_factory=lambda: ["MINILM"], min_length=1)
    seq_len_choices: list[int] = Field(default_factory=lambda: [48, 96], min_length=1)
    pred_len_choices: list[int] | None = Field(None, description="null: pred_len stays as in data.windows")
    devices: Literal["auto", "none"] = Field("auto", description="auto: pin each Time-LLM trial to the GPU with the "
                                                                 "most room for its memory estimate (several per GPU "
                                                                 "while the estimates fit); none, or no GPU: as train.device says")
    device_margin: float = Field(0.2, ge=0, lt=1, description="share of each GPU's memory kept out of the packing")
    ray: RayConfig = Field(default_factory=RayConfig, description="method ray: Ray Tune's settings")
    cv: CVConfig | None = Field(None, description="score every trial by cross-validation, one model per fold, "
                                                  "pruned after each fold; null = the validation period alone")

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
        if self.grace_period_s <= self.heartbeat_interval_s:
            raise ValueError(f"grace_period_s ({self.grace_period_s}) must exceed heartbeat_interval_s "
                             f"({self.heartbeat_interval_s}), or every running trial looks dead between two heartbeats; "
                             f"e.g. grace_period_s: {3 * self.heartbeat_interval_s}")
        if self.mode == "custom" and not self.custom:
            raise ValueError("mode custom needs search.custom: a list of {name, type, low/high or choices}")
        self._check_conditions()
        if self.method == "grid" and not self.grid:
            raise ValueError("method grid needs search.grid: dotted key -> list of values")
        if self.cv is not None and len(self.objectives) > 1:
            raise ValueError(f"a cross-validated search scores one objective per fold, got {self.objectives}; keep "
                             "one objective (e.g. objectives: [val_mae]) or set cv: null")
        if self.method == "ray" and len(self.objectives) > 1:
            raise ValueError(f"method ray tunes one objective (its ASHA scheduler compares one value), got "
                             f"{self.objectives}; keep one objective or use method tpe for a Pareto front")
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


#: The method names of the Python API (:mod:`cryptexlab.search.api`) -> the profile's ``02_search.method``:
#: each sampler by its own name, and ``optuna`` for TPE (Optuna's default). ``cryptexlab optimize --method``
#: takes the same names.
API_METHODS: dict[str, str] = {**{m: m for m in get_args(SearchMethod)}, "optuna": "tpe"}
#: The Python API's metric names -> the objectives they select.
API_METRICS = {"mae": "val_mae", "mse": "val_mse", "mape": "val_mape", "directional_accuracy": "val_directional_accuracy",
               "sharpe_ratio": "val_sharpe", "sharpe": "val_sharpe", "training_time": "train_seconds"}
