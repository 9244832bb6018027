"""A whole profile: the shared sections, one section per notebook, and the rules across them."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from cryptexlab.errors import ParamsError
from cryptexlab.params._analysis import AnalysisNotebook
from cryptexlab.params._base import Section
from cryptexlab.params._cv import CVNotebook
from cryptexlab.params._data import DataConfig
from cryptexlab.params._model import TABULAR_KINDS, TIMELLM_FIELDS, TIMELLM_KINDS, ModelConfig
from cryptexlab.params._search import SearchConfig
from cryptexlab.params._train import SchedulerConfig, TrainConfig
from cryptexlab.params._verdict import VerdictNotebook


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
    "03_cv": CVNotebook,
    "04_schedules": SchedulesNotebook,
    "05_analysis": AnalysisNotebook,
    "06_verdict": VerdictNotebook,
}
#: Notebook name -> the shared sections (data, model, train) it receives besides its own.
SHARED_SECTIONS: dict[str, tuple[str, ...]] = {
    "01_data": ("data",),
    "02_search": ("data", "model", "train"),
    "03_cv": ("data", "model", "train"),
    "04_schedules": ("data", "model", "train"),
    "05_analysis": (),
    "06_verdict": ("data", "model", "train", "search"),
}


class Profile(Section):
    """A whole parameter profile (one YAML file)."""

    description: str = ""
    study: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$",
                              description="the run's study name, from which every notebook's study names derive "
                                          "(NAME, NAME-cv); null = the profile's name, with the data file's stem when "
                                          "data.path is set (quick-candlesticks-h)")
    notebooks: list[str] = Field(min_length=1)
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    data_notebook: DataNotebook = Field(DataNotebook(), alias="01_data")
    search: SearchConfig = Field(SearchConfig(), alias="02_search")
    cv_notebook: CVNotebook = Field(CVNotebook(), alias="03_cv")
    schedules_notebook: SchedulesNotebook = Field(SchedulesNotebook(), alias="04_schedules")
    analysis_notebook: AnalysisNotebook = Field(AnalysisNotebook(), alias="05_analysis")
    verdict_notebook: VerdictNotebook = Field(VerdictNotebook(), alias="06_verdict")

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
        if "02_search" in self.notebooks and model.kind not in (*TIMELLM_KINDS, *TABULAR_KINDS):
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
