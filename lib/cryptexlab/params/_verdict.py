"""The ``06_verdict`` section: which study is judged, and how."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cryptexlab.params._base import Section

#: The models trained beside the selected configuration on the test period (none is in the correction).
VerdictBaseline = Literal["drift", "seasonal_naive", "dlinear", "linear", "timellm_no_llm", "timellm_attention"]


class VerdictNotebook(Section):
    """Section ``06_verdict``: the study whose best configuration is judged on the untouched test period.

    ``loss`` and ``step`` define the loss of one test window that every test uses (``step`` 1:
    the first forecast step, whose targets do not overlap between consecutive windows; null:
    the mean over all steps). ``alpha`` is the size of every test. ``top_k`` trials form the
    ensemble (weights fit on validation). ``run_search`` runs or resumes the study to its
    ``02_search.n_trials`` first (as ``cryptexlab verdict`` does on a fresh checkout).
    """

    study_name: str = Field("quick", description="the study whose trials are judged (02_search.study_name)")
    storage: str | None = Field(None, description="its storage; null = studies/<study_name>.journal")
    run_search: bool = Field(True, description="run or resume the study to 02_search.n_trials first")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="size of every test")
    loss: Literal["mae", "mse"] = Field("mae", description="loss of one test window in the tests")
    step: int | None = Field(1, ge=1, description="horizon step of the tests' losses; null = mean over all steps")
    reps: int = Field(1000, ge=100, le=100_000, description="bootstrap replications (SPA, StepM, MCS, intervals)")
    top_k: int = Field(3, ge=2, le=50, description="trials in the ensemble")
    cost: float = Field(0.001, ge=0, lt=0.1, description="trading cost per side (0.001 = 10 bp)")
    slippage: float = Field(0.0, ge=0, lt=0.1, description="slippage per side, added to the cost")
    baselines: list[VerdictBaseline] = Field(
        default_factory=lambda: list[VerdictBaseline](["drift", "seasonal_naive", "dlinear", "linear", "timellm_no_llm",
                                                       "timellm_attention"]),
        description="models shown beside the selected one (the Time-LLM ablations only when it is a Time-LLM)")
    pbo_blocks: int = Field(16, ge=2, le=24, description="CSCV blocks of the probability of backtest overfitting")
