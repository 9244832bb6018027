"""The ``train`` section: how one configuration is trained and evaluated, its loss and schedule."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from cryptexlab.params._base import Section

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
    batch_size: Annotated[int, Field(ge=1, le=4096)] | Literal["auto"] = Field(
        32, description="windows per training batch; auto = the largest whose memory estimate fits (1 - memory_margin) "
                        "of the device's free memory (Time-LLM models; others train with 32), at most one epoch")
    memory_margin: float = Field(0.2, ge=0, lt=1, description="batch_size auto: share of free memory left unused "
                                                               "(what the estimate leaves out: CUDA context, fragmentation)")
    learning_rate: float = Field(1e-3, gt=0, le=1)
    weight_decay: float = Field(0.0, ge=0, le=1)
    loss: LossName = "MSE"
    loss_params: dict[str, Any] = Field(default_factory=dict, description="e.g. {quantile: 0.7}")
    patience: int = Field(3, ge=1, le=1000, description="epochs without validation improvement before stopping")
    max_train_windows: int | None = Field(512, ge=1, description="random training windows per epoch; null = all")
    grad_clip: float | None = Field(1.0, gt=0, description="max gradient norm; null = no clipping")
    timeout_s: float | None = Field(None, gt=0, description="wall-clock limit of one training run")
    seed: int = Field(0, ge=0)
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda|mps|cuda:\d+)$",
                        description="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N (one GPU), mps")
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
