"""Cross-validation settings (``02_search.cv`` and ``03_cv.cv``) and the ``03_cv`` section."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from cryptexlab.params._base import Section

#: The splitters of :mod:`cryptexlab.cv`, by the names the command line and the profiles use.
CVKind = Literal["purged", "expanding", "sliding", "blocked", "cpcv"]
#: Bars (an int) or a duration such as "24h" or "2d"; null = derived from seq_len and pred_len.
_DURATION = re.compile(r"^\d+(\.\d+)?\s*(min|h|d|D|w|W|s)$")


class CVConfig(Section):
    """How the development period (everything before the test period) is cut into folds.

    ``n_splits`` is the number of folds (for ``cpcv``: the N groups, giving C(N, k) splits).
    ``purge`` is the gap (expanding, sliding), the margin (blocked) or the purge on both sides of
    each test block (purged, cpcv); ``embargo`` is dropped after each test block (purged, cpcv).
    Both are bars or durations ("24h"); null derives them from the windows: purge
    seq_len + pred_len - 1 (the least that keeps every training window's rows out of the test
    block, so a smaller one is refused), embargo pred_len.
    """

    kind: CVKind = "purged"
    n_splits: int = Field(3, ge=2, le=50, description="folds (cpcv: groups N)")
    n_test_groups: int = Field(2, ge=1, le=49, description="cpcv only: test groups k per split")
    purge: int | str | None = Field(None, description="bars or a duration; null = seq_len + pred_len - 1")
    embargo: int | str | None = Field(None, description="bars or a duration; null = pred_len (purged, cpcv)")
    train_size: int | None = Field(None, ge=1, description="sliding only: training windows; null = a test block's size")
    test_fraction: float = Field(0.2, gt=0, lt=1, description="blocked only: tested share of each block")
    n_regimes: int = Field(3, ge=2, le=8, description="market regimes scored per fold (HMM fit on each fold's training part)")
    bootstrap_reps: int = Field(1000, ge=100, le=100_000, description="stationary-bootstrap replications of the intervals")
    ci_level: float = Field(0.95, gt=0.5, lt=1, description="confidence level of the intervals")

    @field_validator("purge", "embargo")
    @classmethod
    def _bars_or_duration(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, int) and value < 0:
            raise ValueError(f"must be at least 0 bars, got {value}")
        if isinstance(value, str) and not _DURATION.match(value.strip()):
            raise ValueError(f"{value!r} is neither a number of bars nor a duration such as '24h', '90min' or '2d'")
        return value

    @model_validator(mode="after")
    def _cpcv_groups(self) -> CVConfig:
        if self.kind == "cpcv" and not 1 <= self.n_test_groups < self.n_splits:
            raise ValueError(f"cpcv needs 1 <= n_test_groups < n_splits, got n_test_groups={self.n_test_groups} "
                             f"with n_splits={self.n_splits}; lower n_test_groups or raise n_splits")
        return self

    def folds(self) -> int:
        """Models trained per configuration: n_splits, or C(N, k) for cpcv."""
        import math

        return math.comb(self.n_splits, self.n_test_groups) if self.kind == "cpcv" else self.n_splits


class CVNotebook(Section):
    """Section ``03_cv``: the top configurations of a study, scored by cross-validation.

    The ``top_k`` best completed trials of ``study_name`` are enqueued into the CV study
    ``cv_study_name`` (first, as the pruner's start-up trials, so they are scored on every fold);
    ``extra_trials`` more are sampled with fold-wise pruning from the source study's space (``space``
    when it has none of the built-in ones, or when there is no study and the profile's own
    configuration is cross-validated). ``epochs``,
    ``max_train_windows`` and ``max_eval_windows`` replace the trials' own where set (the report's
    budget: one model is trained per fold).
    """

    study_name: str = Field("quick", description="study whose best trials are cross-validated")
    storage: str | None = Field(None, description="its storage; null = studies/<study_name>.journal")
    cv_study_name: str = Field("quick-cv", pattern=r"^[A-Za-z0-9_.-]+$", description="the CV study (same storage)")
    top_k: int = Field(3, ge=1, le=50, description="best trials of study_name scored on every fold")
    extra_trials: int = Field(0, ge=0, le=10_000, description="more trials sampled with fold-wise pruning")
    space: Literal["quick", "architecture", "training", "comprehensive"] = "quick"
    pruner: Literal["median", "wilcoxon", "none"] = "median"
    cv: CVConfig = CVConfig()
    epochs: int | None = Field(None, ge=1, le=1000, description="epochs per fold; null = each trial's own")
    max_train_windows: int | None = Field(None, ge=1, description="training windows per epoch; null = each trial's own")
    max_eval_windows: int | None = Field(None, ge=1, description="scored windows per fold; null = each trial's own")
