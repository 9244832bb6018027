"""Typed parameter profiles: load ``params/<name>.yaml``, apply ``-p`` overrides, validate.

A profile names the notebooks of a run in order and holds one section per notebook, plus
the shared ``data`` section (which candles, which periods). Every key is checked before
anything runs: an unknown key, a wrong type or an out-of-range value is a
:class:`~cryptexlab.errors.ParamsError` that names the key, the value, the rule and the file.
So are the rules across keys and sections (a patch longer than the window, Time-LLM fields on
a baseline, search names that are no configuration keys). This package is the bottom layer: it
imports nothing of the project but :mod:`cryptexlab.errors` and :mod:`cryptexlab.paths`, so a bad
value is refused without importing torch. The checks that need the library (the loss and schedule
parameters, the backbone, the names a search enqueues) run in :func:`cryptexlab.profiles.load_profile`.

The schemas are the one source of the names they allow (feature sets, model kinds, search modes,
...): other modules and the command line read them with ``typing.get_args``.

=============  ===============================================================================
module         what it holds
=============  ===============================================================================
``_base``      :class:`Section`, the base of every section
``_data``      the ``data`` section (:class:`DataConfig` and its parts)
``_model``     the ``model`` section (:class:`ModelConfig`) and which kinds are Time-LLM
``_train``     the ``train`` section (:class:`TrainConfig`, :class:`SchedulerConfig`)
``_keys``      dotted configuration keys: :func:`config_keys`, :func:`config_key_problem`,
               :func:`set_dotted`
``_cv``        cross-validation settings (:class:`CVConfig`) and the ``03_cv`` section
``_search``    the ``02_search`` section (:class:`SearchConfig`) and the objectives' directions
``_profile``   :class:`Profile`, the notebook sections and the rules across sections
``_space_names`` the trial parameter names of each search space (what ``enqueue`` may name)
``_load``      :func:`parse_profile`: YAML, overrides, readable errors
=============  ===============================================================================

Example:
    >>> profile = parse_profile("smoke", overrides=["data.synthetic.hours=2000"])
    >>> profile.data.synthetic.hours
    2000
    >>> sorted(profile.notebook_parameters("01_data"))
    ['acf_lags', 'candles_shown', 'data']
"""

from cryptexlab.params._analysis import AnalysisNotebook
from cryptexlab.params._base import Section
from cryptexlab.params._cv import CVConfig, CVKind, CVNotebook
from cryptexlab.params._data import (
    FEATURE_FAMILIES,
    DataConfig,
    ExternalConfig,
    FeatureFamily,
    FeatureSetName,
    Freq,
    SplitConfig,
    SyntheticConfig,
    SyntheticKind,
    WindowConfig,
)
from cryptexlab.params._keys import SLICES, config_key_problem, config_keys, set_dotted
from cryptexlab.params._load import (
    DERIVED_STUDY_NAMES,
    available_profiles,
    parse_profile,
    profile_path,
    study_name,
    with_study_names,
)
from cryptexlab.params._model import (
    TABULAR_KINDS,
    TIMELLM_FIELDS,
    TIMELLM_KINDS,
    TIMELLM_VARIANTS,
    ModelConfig,
    ModelKind,
    TabularConfig,
    kind_fields,
    uses_covariates,
)
from cryptexlab.params._profile import (
    NOTEBOOK_SECTIONS,
    SHARED_SECTIONS,
    DataNotebook,
    Profile,
    SchedulesNotebook,
)
from cryptexlab.params._search import (
    API_METHODS,
    API_METRICS,
    OBJECTIVE_DIRECTIONS,
    Objective,
    RayConfig,
    SearchConfig,
    SearchMethod,
    SearchMode,
    SearchParam,
)
from cryptexlab.params._space_names import FAMILY_PREFIX, SPACE_PARAMETERS, TABULAR_PARAMETERS, parameter_names
from cryptexlab.params._train import (
    EVAL_WINDOWS_PER_TRAIN_WINDOW,
    LossName,
    SchedulerConfig,
    SchedulerKind,
    TrainConfig,
)
from cryptexlab.params._verdict import VerdictBaseline, VerdictNotebook

__all__ = [
    "AnalysisNotebook",
    "DERIVED_STUDY_NAMES",
    "API_METHODS",
    "API_METRICS",
    "FAMILY_PREFIX",
    "SPACE_PARAMETERS",
    "TABULAR_PARAMETERS",
    "parameter_names",
    "EVAL_WINDOWS_PER_TRAIN_WINDOW",
    "NOTEBOOK_SECTIONS",
    "OBJECTIVE_DIRECTIONS",
    "SHARED_SECTIONS",
    "SLICES",
    "TABULAR_KINDS",
    "TIMELLM_FIELDS",
    "TIMELLM_KINDS",
    "TIMELLM_VARIANTS",
    "CVConfig",
    "CVKind",
    "CVNotebook",
    "VerdictBaseline",
    "VerdictNotebook",
    "DataConfig",
    "DataNotebook",
    "ExternalConfig",
    "FEATURE_FAMILIES",
    "FeatureFamily",
    "FeatureSetName",
    "Freq",
    "LossName",
    "ModelConfig",
    "ModelKind",
    "TabularConfig",
    "kind_fields",
    "uses_covariates",
    "Objective",
    "Profile",
    "SchedulerConfig",
    "SchedulerKind",
    "SchedulesNotebook",
    "SearchConfig",
    "RayConfig",
    "SearchMethod",
    "SearchMode",
    "SearchParam",
    "Section",
    "SplitConfig",
    "SyntheticConfig",
    "SyntheticKind",
    "TrainConfig",
    "WindowConfig",
    "available_profiles",
    "config_key_problem",
    "config_keys",
    "parse_profile",
    "study_name",
    "with_study_names",
    "profile_path",
    "set_dotted",
]
