"""The evaluation budget: which validation windows a trial is scored on.

On the real hourly file a validation period holds about 6,000 windows; scoring every one of them
after every epoch cost more than nine tenths of a trial, while training is capped at
``max_train_windows``. Consecutive windows share all but one bar, so most of that work repeats
the same errors. The budget scores at most ``cap`` windows per evaluation, spread evenly over the
whole period in time order (every ``stride``-th window are the candidates; the default stride of
one bar lets the cap alone decide the spacing, ``stride = pred_len`` keeps only windows whose
targets do not overlap).

Why not the non-overlapping windows alone: trials of one search often score within a fraction of
a percent of each other, and 128 non-overlapping windows ranked twelve such trials almost at random
against their all-window scores (benchmarks/results/eval_budget.json keeps that rejected default);
evenly spread windows at the finest spacing the cap allows track the all-window score closely.

The choice is deterministic: it depends only on the period's size, the stride and the cap, never
on a seed or on the trial. Every trial, every epoch and every baseline is therefore scored on the
same windows, which keeps their scores paired (what a pruner and a ranking compare). The test
period is never budgeted: the final test evaluation sees every window.

Example:
    >>> budget_windows(20, stride=4, cap=None).tolist()
    [0, 4, 8, 12, 16]
    >>> budget_windows(20, stride=4, cap=3).tolist()
    [0, 8, 16]
    >>> budget_windows(20, stride=1, cap=4).tolist()
    [0, 6, 13, 19]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from torch.utils.data import Subset

from cryptexlab.errors import ParamsError

if TYPE_CHECKING:
    from cryptexlab.data.windows import Samples, Windows
    from cryptexlab.params import TrainConfig


def budget_windows(n_windows: int, stride: int, cap: int | None) -> np.ndarray:
    """Window positions of a budget: every ``stride``-th window, thinned evenly to at most ``cap``.

    Args:
        n_windows: Windows in the period (positions 0 .. n_windows - 1).
        stride: Bars between consecutive candidate window starts (>= 1).
        cap: At most this many windows; ``None`` keeps every candidate.

    Returns:
        Sorted, unique positions; the first candidate (the period's first window) is always kept,
        and so is the last candidate whenever the cap allows two or more.

    Raises:
        ParamsError: a stride or cap below 1, naming the value.
    """
    if stride < 1:
        raise ParamsError(f"evaluation stride must be at least 1 bar, got {stride}; use null for pred_len")
    if cap is not None and cap < 1:
        raise ParamsError(f"max_eval_windows must be at least 1, got {cap}; use null for every strided window")
    candidates = np.arange(0, max(n_windows, 0), stride)
    if cap is None or len(candidates) <= cap:
        return candidates
    picks = np.unique(np.round(np.linspace(0, len(candidates) - 1, cap)).astype(int))
    return candidates[picks]


@dataclass(frozen=True)
class EvalBudget:
    """Which windows of a period are scored, and how that was decided (stored with every trial)."""

    positions: np.ndarray
    of: int
    stride: int
    cap: int | None

    @property
    def used(self) -> int:
        """Windows scored."""
        return len(self.positions)

    def describe(self) -> dict[str, int | str | None]:
        """JSON-ready record: how many of how many windows, the stride, the cap and the rule."""
        if self.used == self.of:
            rule = "every window"
        else:
            thinned = self.cap is not None and self.used == self.cap < -(-self.of // self.stride)
            if self.stride == 1:
                rule = f"{self.used} windows spread evenly over the period"
            else:
                rule = f"windows {self.stride} bars apart" + (f", thinned evenly to {self.cap}" if thinned else "")
        return {"used": self.used, "of": self.of, "stride": self.stride, "cap": self.cap, "rule": rule}

    def subset(self, dataset: Samples, channels: int = 1) -> Samples:
        """The budgeted samples of a window dataset (every channel of each kept window)."""
        if self.used == self.of:
            return dataset
        idx = (self.positions[:, None] * channels + np.arange(channels)[None, :]).ravel()
        return Subset(dataset, idx.tolist())


def make_budget(n_windows: int, stride: int, cap: int | None) -> EvalBudget:
    """The budget of one period of ``n_windows`` windows."""
    return EvalBudget(budget_windows(n_windows, stride, cap), n_windows, stride, cap)


def validation_budget(windows: Windows, train: TrainConfig) -> EvalBudget:
    """The validation windows a run with this training configuration is scored on."""
    return make_budget(windows.val.n_windows, train.eval_stride, train.eval_cap())
