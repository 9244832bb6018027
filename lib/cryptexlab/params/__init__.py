"""Typed parameter profiles: load ``params/<name>.yaml``, apply ``-p`` overrides, validate.

A profile names the notebooks of a run in order and holds one section per notebook, plus
the shared ``data`` section (which candles, which periods). Every key is checked before
anything runs: an unknown key, a wrong type or an out-of-range value is a
:class:`~cryptexlab.errors.ParamsError` that names the key, the value, the rule and the file.
So are the rules across keys and sections (a patch longer than the window, Time-LLM fields on
a baseline, search names that are no configuration keys) and, in :func:`check_profile`, the
ones that need the library: the loss and schedule parameters, the backbone (its name, width and
depth, from its config alone) and the names a search enqueues.

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
``_checks``    :func:`check_profile`, the checks that need the library
``_load``      :func:`load_profile`: YAML, overrides, readable errors
=============  ===============================================================================

Example:
    >>> profile = load_profile("smoke", overrides=["data.synthetic.hours=2000"])
    >>> profile.data.synthetic.hours
    2000
    >>> sorted(profile.notebook_parameters("01_data"))
    ['acf_lags', 'candles_shown', 'data']
"""

from cryptexlab.params._analysis import AnalysisNotebook
from cryptexlab.params._base import Section
from cryptexlab.params._checks import check_profile
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
from cryptexlab.params._load import available_profiles, load_profile, profile_path
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
    OBJECTIVE_DIRECTIONS,
    Objective,
    RayConfig,
    SearchConfig,
    SearchMethod,
    SearchMode,
    SearchParam,
)
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
    "check_profile",
    "config_key_problem",
    "config_keys",
    "load_profile",
    "profile_path",
    "set_dotted",
]
