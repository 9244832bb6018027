"""Building a forecaster from its configuration: Time-LLM (or an ablation) or a baseline, for a set of windows.

Trainable baselines are wrapped in :class:`InstanceNormalized`, the same per-window normalisation
(RevIN) that Time-LLM applies, so that the comparison between them is fair; with
``model.output: persistence`` they forecast the change from the random walk.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cryptexlab.data.windows import Windows
from cryptexlab.errors import ParamsError
from cryptexlab.models.backbones import load_backbone
from cryptexlab.models.baselines import build_baseline
from cryptexlab.models.timellm import RevIN, TimeLLM, anchor
from cryptexlab.params import TABULAR_KINDS, TIMELLM_VARIANTS, ModelConfig


def build_model(config: ModelConfig, windows: Windows, n_outputs: int = 1) -> nn.Module:
    """Time-LLM (or an ablation) or a baseline, for the windows' lengths."""
    seq_len, pred_len = windows.train.seq_len, windows.train.pred_len
    if config.kind in TIMELLM_VARIANTS:
        backbone = load_backbone(config.llm_model, config.llm_layers)
        n_cov = len(windows.columns) - 1 if config.covariates else 0
        if config.covariates and windows.train.mode == "channel_independent":
            raise ParamsError("model.covariates: true reads every column of a window, but data.windows.mode="
                              "channel_independent gives one column per sample; use mode multivariate")
        if config.covariates and n_cov == 0:
            raise ParamsError(f"model.covariates: true, but the windows hold only the target {windows.target!r}; "
                              "use a feature set with more columns or leave data.windows.features null")
        return TimeLLM(config, seq_len, pred_len, backbone, variant=TIMELLM_VARIANTS[config.kind], n_outputs=n_outputs,
                       anchor_level=return_zero(windows), n_covariates=n_cov)
    if config.kind in TABULAR_KINDS:
        raise ParamsError(f"kind {config.kind!r} is a tabular model, fitted by run_experiment, not a torch module")
    params: dict[str, Any] = {}
    if config.kind == "random_walk" and windows.target == "log_return":
        params["return_zero"] = return_zero(windows)
    baseline = build_baseline(config.kind, seq_len, pred_len, channels=1, **params)
    if not getattr(baseline, "trainable", False):
        return baseline
    persistence = config.output == "persistence" and not getattr(baseline, "anchored", False)
    return InstanceNormalized(baseline, persistence=persistence, anchor_level=return_zero(windows))


def return_zero(windows: Windows) -> float | None:
    """The scaled value of a zero return when the target is a log return (the random walk's forecast), else None."""
    if windows.target != "log_return":
        return None
    k = windows.target_position
    return float(-windows.scaler.mean_[k] / windows.scaler.scale_[k])


class InstanceNormalized(nn.Module):
    """A trainable baseline seen through the same RevIN as Time-LLM, so the comparison is fair:
    each window is standardised by its own mean and std and the forecast de-standardised.

    With ``persistence`` the baseline forecasts the change from the random walk (the last observed
    value, or ``anchor_level`` for return inputs), and its layers start at zero.
    """

    def __init__(self, inner: nn.Module, persistence: bool = False, anchor_level: float | None = None) -> None:
        super().__init__()
        self.inner, self.revin = inner, RevIN()
        self.trainable = True
        self.persistence, self.anchor_level = persistence, anchor_level
        if persistence:  # a linear baseline's layers are all last layers: every map from input to output
            for layer in inner.modules():
                if isinstance(layer, nn.Linear):
                    nn.init.zeros_(layer.weight)
                    nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z, mean, std = self.revin.norm(x)
        out = self.inner(z)
        if self.persistence:  # (B, H, C) + the anchor of each (window, channel)
            b, t, c = z.shape
            series = z.permute(0, 2, 1).reshape(b * c, t)
            level = anchor(series, mean.permute(0, 2, 1).reshape(b * c, 1), std.permute(0, 2, 1).reshape(b * c, 1),
                           self.anchor_level)
            out = out + level.view(b, c, 1).permute(0, 2, 1)
        return self.revin.denorm(out, mean, std)

