"""A learning rate that oscillates with the weekly cycle of crypto markets.

Example:
    >>> import torch
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = CryptoWeeklyScheduler(opt, amplitude=0.5, period=4)
    >>> [round(r[0], 6) for r in map(sched.rates_at, range(5))]
    [1.5, 1.0, 0.5, 1.0, 1.5]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch.optim import Optimizer

from cryptexlab.schedulers._base import ClosedFormScheduler, as_number, in_range, per_group, set_rates


class CryptoWeeklyScheduler(ClosedFormScheduler):
    """``lr(t) = base_lr * (1 + amplitude * cos(2 * pi * (t + phase) / period))``.

    One period is one week of bars when every step advances one bar: 168 for hourly bars, 42
    for 4-hour bars, 7 for daily bars. ``period`` counts scheduler steps, so in a loop of shuffled
    batches it is simply a cycle of that many optimizer steps. Bounds:
    ``base * (1 - amplitude) <= lr <= base * (1 + amplitude)`` (the rate exceeds the base rate
    by up to ``amplitude``); the peak is at ``t = -phase`` (mod ``period``). Two groups keep the
    ratio of their base rates. Chainable (see :class:`ClosedFormScheduler`).

    Args:
        optimizer: The optimizer.
        base_lr: Centre rate: one rate, one per group (written into the groups, as CyclicLR
            does), or None for each group's current rate.
        amplitude: Relative swing, in [0, 1) so that the rate stays positive.
        period: Steps per cycle, > 0 (168 = a week of hourly bars).
        phase: Shift in steps: the cycle is evaluated at ``t + phase``.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1e-3)
        >>> CryptoWeeklyScheduler(opt, amplitude=0.2, period=7).rates_at(0)
        [0.0012]
    """

    def __init__(self, optimizer: Optimizer, base_lr: float | Sequence[float] | None = None, amplitude: float = 0.5,
                 period: float = 168, phase: float = 0) -> None:
        owner = type(self).__name__
        if base_lr is not None:
            set_rates(optimizer, per_group(owner, "base_lr", base_lr, optimizer), initial=True)
        self.amplitude = in_range(owner, "amplitude", amplitude, 0.0, 1.0, high_open=True,
                                  rule=": the rate swings by base_lr * amplitude and must stay positive")
        self.period = in_range(owner, "period", period, 0.0, None, low_open=True,
                               rule=": steps per cycle, e.g. 168 for a week of hourly bars, 7 for daily bars")
        self.phase = as_number(owner, "phase", phase)
        super().__init__(optimizer)

    def factor_at(self, step: int) -> float:
        """``1 + amplitude * cos(2 * pi * (step + phase) / period)``."""
        return 1.0 + self.amplitude * math.cos(2.0 * math.pi * (step + self.phase) / self.period)
