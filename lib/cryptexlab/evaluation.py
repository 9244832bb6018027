"""The evaluation budget: which validation windows a trial is scored on.

Consecutive windows overlap in all but one bar, so scoring every one of them mostly repeats the
same errors: on the real hourly file a validation period holds about 6,000 windows, and
validating on all of them after every epoch cost more than nine tenths of a trial. The budget
keeps the windows whose targets do not overlap (a stride of ``pred_len`` bars between window
starts) and, when there are more than the cap, an evenly spread subset of those, so the windows
still cover the whole period in time order.

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

import numpy as np
from torch.utils.data import Dataset, Subset

from cryptexlab.errors import ParamsError


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
            rule = "every window" if self.stride == 1 else f"windows {self.stride} bars apart"
            if self.cap is not None and self.used == self.cap < -(-self.of // self.stride):
                rule += f", thinned evenly to {self.cap}"
        return {"used": self.used, "of": self.of, "stride": self.stride, "cap": self.cap, "rule": rule}

    def subset(self, dataset: Dataset, channels: int = 1) -> Dataset:
        """The budgeted samples of a window dataset (every channel of each kept window)."""
        if self.used == self.of:
            return dataset
        idx = (self.positions[:, None] * channels + np.arange(channels)[None, :]).ravel()
        return Subset(dataset, idx.tolist())


def make_budget(n_windows: int, pred_len: int, stride: int | None, cap: int | None) -> EvalBudget:
    """The budget of one period: ``stride`` null means ``pred_len`` (targets that do not overlap)."""
    step = pred_len if stride is None else stride
    return EvalBudget(budget_windows(n_windows, step, cap), n_windows, step, cap)
