"""A rate that follows the trend of the training loss: lower when it rises, higher when it falls.

Example:
    >>> import torch
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = AdaptiveScheduler(opt, window=3, factor=0.5, increase=1.5, max_lr=2.0)
    >>> for loss in [1.0, 2.0, 3.0]:   # a rising window
    ...     opt.step()
    ...     sched.step(loss)
    >>> sched.last_trend, opt.param_groups[0]["lr"]
    ('rising', 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, SupportsFloat

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from cryptexlab.schedulers._base import as_int, base_rates, group_rates, in_range, per_group, require, set_rates

Trend = Literal["rising", "falling", "flat", "diverged"]


def window_trend(losses: Sequence[float], tolerance: float) -> Trend:
    """``"rising"``, ``"falling"`` or ``"flat"``: the least-squares line through the losses.

    The slope of the line over ``x = 0 .. n-1`` times ``n - 1`` (its rise across the window),
    divided by the mean absolute loss, is compared with ``tolerance``.

    Example:
        >>> window_trend([3.0, 2.0, 1.0], 0.01), window_trend([1.0, 1.0, 1.0], 0.01)
        ('falling', 'flat')
    """
    n = len(losses)
    x_mean = (n - 1) / 2.0
    y_mean = sum(losses) / n
    sxx = sum((x - x_mean) ** 2 for x in range(n))
    slope = sum((x - x_mean) * (y - y_mean) for x, y in enumerate(losses)) / sxx
    scale = sum(abs(y) for y in losses) / n
    change = slope * (n - 1) / scale if scale > 0 else 0.0
    if change > tolerance:
        return "rising"
    if change < -tolerance:
        return "falling"
    return "flat"


class AdaptiveScheduler(LRScheduler):
    """Adjusts the rate on the trend of the training loss; call ``step(train_loss)`` per batch.

    The losses of ``window`` consecutive calls are collected; when ``window`` of them are in,
    the least-squares line through them decides (see :func:`window_trend`): its rise across the
    window relative to the mean absolute loss above ``tolerance`` is *rising* and every group's
    rate is multiplied by ``factor``; below ``-tolerance`` is *falling* and the rates are
    multiplied by ``increase``; otherwise *flat*, no change. Then the window starts afresh, so
    the rate changes at most once per ``window`` steps. A non-finite loss (divergence) multiplies
    the rates by ``factor`` at once and clears the window. Every rate is then clipped to its
    group's ``[min_lr, max_lr]``. Bounds: ``min_lr <= lr <= max_lr``; two groups keep their
    ratio until one is clipped. ``last_trend`` holds the last decision.

    It is metric-driven, like ReduceLROnPlateau: ``step()`` without a loss is an error, so it
    cannot be a member of SequentialLR or ChainedScheduler.

    Args:
        optimizer: The optimizer; each group's initial rate must lie within its bounds.
        window: Losses per decision, >= 2.
        factor: Multiplier on a rising trend, in (0, 1).
        increase: Multiplier on a falling trend, >= 1 (1 = never raise).
        min_lr: Floor: one rate or one per group, >= 0.
        max_lr: Ceiling: one rate, one per group, or None for each group's initial rate.
        tolerance: Relative rise across the window counted as a trend, >= 0.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> AdaptiveScheduler(opt, window=5).max_lrs
        [1.0]
    """

    def __init__(self, optimizer: Optimizer, window: int = 20, factor: float = 0.5, increase: float = 1.05,
                 min_lr: float | Sequence[float] = 0.0, max_lr: float | Sequence[float] | None = None,
                 tolerance: float = 0.01) -> None:
        owner = type(self).__name__
        self.window = as_int(owner, "window", window, 2, " (losses per trend fit; a line needs two points)")
        self.factor = in_range(owner, "factor", factor, 0.0, 1.0, low_open=True, high_open=True,
                               rule=": a rising loss multiplies the rate by factor, so 0 < factor < 1")
        self.increase = in_range(owner, "increase", increase, 1.0, None,
                                 rule=": a falling loss multiplies the rate by increase; 1 never raises it")
        self.tolerance = in_range(owner, "tolerance", tolerance, 0.0, None,
                                  rule=": the relative rise across the window that counts as a trend")
        self.min_lrs = per_group(owner, "min_lr", min_lr, optimizer)
        rates = group_rates(optimizer)
        self.max_lrs = base_rates(optimizer) if max_lr is None else per_group(owner, "max_lr", max_lr, optimizer)
        for low, high, rate in zip(self.min_lrs, self.max_lrs, rates, strict=True):
            require(low <= rate <= high, f"{owner}: the initial rate {rate!r} is outside [min_lr, max_lr] = "
                                         f"[{low!r}, {high!r}]; widen the bounds or change the rate")
        self.losses: list[float] = []
        self.last_trend: Trend | None = None
        super().__init__(optimizer)

    def step(self, metrics: SupportsFloat | None = None, epoch: None = None) -> None:  # type: ignore[override]
        """Record one training loss (one call per optimizer step) and adjust the rate if due."""
        if self._is_initial:  # the base class's initial step: nothing to adjust yet
            self._step_count = 1
            self._last_lr = list(group_rates(self.optimizer))  # list(): typed like torch's list[float | Tensor]
            return
        if metrics is None:
            raise TypeError(f"{type(self).__name__}.step needs the training loss: call step(loss) after every "
                            "optimizer step (it cannot be a member of SequentialLR or ChainedScheduler)")
        loss = float(metrics)
        self.last_epoch += 1
        self._step_count += 1
        multiplier = 1.0
        if not math.isfinite(loss):
            self.last_trend, multiplier = "diverged", self.factor
            self.losses = []
        else:
            self.losses.append(loss)
            if len(self.losses) >= self.window:
                self.last_trend = window_trend(self.losses, self.tolerance)
                multiplier = {"rising": self.factor, "falling": self.increase}.get(self.last_trend, 1.0)
                self.losses = []
        if multiplier != 1.0:
            set_rates(self.optimizer, [min(max(rate * multiplier, low), high) for rate, low, high
                                       in zip(group_rates(self.optimizer), self.min_lrs, self.max_lrs, strict=True)])
        self._last_lr = list(group_rates(self.optimizer))  # list(): typed like torch's list[float | Tensor]

    def get_lr(self) -> list[float]:  # type: ignore[override]  # torch: list[float | Tensor]; ours are floats
        """The current rates (the rate only changes in :meth:`step`)."""
        return group_rates(self.optimizer)
