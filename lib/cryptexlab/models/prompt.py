"""Prompt-as-Prefix: the per-series text of Time-LLM, with batch-wide statistics.

The statistics of every series in the batch (min, max, median, trend, top-5 lags of the FFT
autocorrelation) are computed in a few tensor operations; only the string formatting is a
loop. Prompts are tokenised to one fixed length with left padding, so the patches that follow
always sit at the same positions whatever the batch (an attention mask hides the padding).

The lags differ from the reference on purpose. KimMeen/Time-LLM's ``calc_lags`` takes
``topk`` over the whole circular autocorrelation, lags 0 .. T-1. Two problems follow. Lag 0
always wins (no lag correlates more with the series than the series itself). And the
correlation is symmetric (r[k] = r[T-k]), so every lag comes with its mirror image, e.g.
``[0, 1, 95, 2, 94]``. Which of the two tied lags comes first is decided by float rounding
noise: a 1e-7 change of the input reordered the lags, and with them the prompt tokens and the
forecast, for about four series in ten. Here the candidates are lags 1 .. T//2 only, each
computed in float64 as a correlation (divided by r[0]), rounded to ``LAG_DECIMALS`` decimals,
and ranked by a stable sort. Equal values keep lag order, so the shorter lag comes first
(a sine of period 8 gives ``[8, 16, ...]``). The prompt therefore depends on the series and
not on rounding noise. When T//2 < 5 the prompt lists T//2 lags.

Example:
    >>> from transformers import AutoTokenizer  # doctest: +SKIP
    >>> builder = PromptBuilder(tokenizer, "BTC hourly", seq_len=96, pred_len=24)  # doctest: +SKIP
    >>> ids, mask = builder(torch.randn(4, 96))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import torch

TOP_LAGS = 5
LAG_DECIMALS = 4  # correlations closer than this tie and keep lag order: far above float noise


def top_lags(series: torch.Tensor, k: int = TOP_LAGS) -> torch.Tensor:
    """The ``min(k, T // 2)`` lags in 1 .. T//2 with the highest circular autocorrelation, (S, k).

    Ties (after rounding the correlation to ``LAG_DECIMALS`` decimals) go to the shorter lag.

    Example:
        >>> top_lags(torch.sin(2 * torch.pi * torch.arange(32) / 8)[None]).tolist()
        [[8, 16, 1, 7, 9]]
    """
    t = series.shape[-1]
    x = series.to(torch.float64)
    spectrum = torch.fft.rfft(x, dim=-1)
    autocorr = torch.fft.irfft(spectrum * torch.conj(spectrum), n=t, dim=-1)
    energy = autocorr[..., :1]
    corr = autocorr[..., 1:t // 2 + 1] / torch.where(energy > 0, energy, torch.ones_like(energy))
    order = torch.argsort(-torch.round(corr, decimals=LAG_DECIMALS), dim=-1, stable=True)
    return order[..., :min(k, t // 2)] + 1


def series_statistics(series: torch.Tensor) -> dict[str, torch.Tensor]:
    """Min, max, median, trend (+1/-1: sign of the summed differences) and top-5 lags of (S, T) series."""
    return {
        "min": series.min(dim=-1).values,
        "max": series.max(dim=-1).values,
        "median": series.median(dim=-1).values,
        "trend": torch.where(series.diff(dim=-1).sum(dim=-1) > 0, 1, -1),
        "lags": top_lags(series),
    }


class PromptBuilder:
    """Builds and tokenises the prompt of every series of a batch.

    With ``split=True`` (causal backbones) the prompt is two parts: the static head (dataset and
    task description, the same for every series, tokenised once: :attr:`static_ids`) and the
    per-series statistics, left-padded to a fixed length. A causal model's states of the static
    head never depend on what follows, so its key/value cache can be computed once and reused.
    """

    def __init__(self, tokenizer: Any, description: str, seq_len: int, pred_len: int, split: bool = False) -> None:
        self.tokenizer, self.split = tokenizer, split
        self.head = (f"<|start_prompt|>Dataset description: {description} Task description: forecast the next "
                     f"{pred_len} steps given the previous {seq_len} steps information; Input statistics: ")
        widest = self._text(-99.999, -99.999, -99.999, -1, [seq_len - 1] * TOP_LAGS)
        if split:
            self.static_ids = torch.tensor([tokenizer(self.head).input_ids])
            self.length = len(tokenizer(widest, add_special_tokens=False).input_ids) + 4
        else:
            self.length = len(tokenizer(self.head + widest).input_ids) + 4

    def _text(self, lo: float, hi: float, med: float, trend: int, lags: list[int]) -> str:
        return (f"min value {lo:.3f}, max value {hi:.3f}, median value {med:.3f}, "
                f"the trend of input is {'upward' if trend > 0 else 'downward'}, "
                f"top {len(lags)} lags are : {lags}<|<end_prompt>|>")

    def texts(self, series: torch.Tensor) -> list[str]:
        """The full prompt text of each (normalised) series."""
        return [self.head + tail for tail in self._tails(series)]

    def _tails(self, series: torch.Tensor) -> list[str]:
        s = {k: v.tolist() for k, v in series_statistics(series.detach()).items()}
        return [self._text(s["min"][i], s["max"][i], s["median"][i], s["trend"][i], s["lags"][i])
                for i in range(series.shape[0])]

    def __call__(self, series: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids and attention mask, both (S, length): the whole prompt, or only the
        statistics part when ``split``."""
        texts = self._tails(series) if self.split else self.texts(series)
        enc = self.tokenizer(texts, padding="max_length", max_length=self.length, truncation=True,
                             padding_side="left", return_tensors="pt", add_special_tokens=not self.split)
        return enc.input_ids, enc.attention_mask
