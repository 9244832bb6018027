"""The trial parameter names of each search space: what ``02_search.enqueue`` may name, checked when a profile loads.

The spaces themselves (:mod:`cryptexlab.search.spaces`) suggest exactly these names; a test checks
that every name a space suggests is listed here.
"""

from __future__ import annotations

from cryptexlab.params._data import FEATURE_FAMILIES
from cryptexlab.params._model import TABULAR_KINDS, ModelConfig
from cryptexlab.params._search import SearchConfig

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
