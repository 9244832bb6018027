"""Cosine annealing with warm restarts whose peaks decay: torch's schedule plus ``restart_decay``.

Example:
    >>> import torch
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = CosineAnnealingWarmRestartsAdvanced(opt, T_0=2, T_mult=2, restart_decay=0.5)
    >>> [round(r[0], 4) for r in map(sched.rates_at, range(7))]
    [1.0, 0.5, 0.5, 0.4268, 0.25, 0.0732, 0.25]
"""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts

from cryptexlab.schedulers._base import as_int, base_rates, in_range, require


class CosineAnnealingWarmRestartsAdvanced(CosineAnnealingWarmRestarts):
    """Cosine annealing with warm restarts, each restart's peak times ``restart_decay``.

    Cycle ``i`` (from 0) starts at step ``s_i = T_0 * (T_mult**i - 1) / (T_mult - 1)`` (``i * T_0``
    when ``T_mult`` is 1) and lasts ``T_i = T_0 * T_mult**i`` steps. At step ``t = s_i + k``::

        peak_i = max(base_lr * restart_decay**i, eta_min)
        lr(t)  = eta_min + (peak_i - eta_min) * (1 + cos(pi * k / T_i)) / 2

    Added to torch's CosineAnnealingWarmRestarts (whose step bookkeeping and state are reused):
    the peak decay, an exact integer closed form (:meth:`rates_at`, also used by SequentialLR at
    its milestones) and ParamsError checks. Like torch's class it *writes* the closed-form rate
    at every step, so inside a ChainedScheduler the schedulers listed before it have no lasting
    effect. Bounds: ``eta_min <= lr <= base_lr``; within a cycle the rate never rises. With
    ``eta_min=0`` two parameter groups keep the ratio of their base rates.

    Args:
        optimizer: The optimizer; each group anneals from its own base rate.
        T_0: Length of the first cycle in optimizer steps, >= 1.
        T_mult: Factor by which each cycle is longer than the previous one, a whole number >= 1.
        eta_min: Floor of the rate, absolute, in [0, every group's base rate].
        restart_decay: Multiplier of each successive peak, in (0, 1]; 1 is torch's schedule.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> CosineAnnealingWarmRestartsAdvanced(opt, T_0=4, restart_decay=0.5).rates_at(4)
        [0.5]
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,  # noqa: N803
                 restart_decay: float = 1.0) -> None:
        owner = type(self).__name__
        T_0 = as_int(owner, "T_0", T_0, 1, " (length of the first cycle in optimizer steps)")
        T_mult = as_int(owner, "T_mult", T_mult, 1, " (each cycle is T_mult times longer; 1 keeps them equal)")
        eta_min = in_range(owner, "eta_min", eta_min, 0.0, None, rule=": eta_min is the absolute floor of the rate")
        top = min(base_rates(optimizer))
        require(eta_min <= top, f"{owner}: eta_min={eta_min!r} is above the base rate {top!r} of a parameter "
                                "group; the rate anneals from the base rate down to eta_min, so lower eta_min")
        self.restart_decay = in_range(owner, "restart_decay", restart_decay, 0.0, 1.0, low_open=True,
                                      rule=": each restart's peak is the previous one times restart_decay")
        super().__init__(optimizer, T_0, T_mult=T_mult, eta_min=eta_min)

    def cycle_of(self, step: int) -> tuple[int, int, int]:
        """``(i, k, T_i)``: cycle index, steps into the cycle and cycle length at ``step``.

        Example:
            >>> import torch
            >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
            >>> CosineAnnealingWarmRestartsAdvanced(opt, T_0=2, T_mult=2).cycle_of(7)
            (2, 1, 8)
        """
        step = max(int(step), 0)
        if self.T_mult == 1:
            return step // self.T_0, step % self.T_0, self.T_0
        index, start, length = 0, 0, self.T_0
        while step >= start + length:  # a handful of iterations: cycle lengths grow geometrically
            start, length, index = start + length, length * self.T_mult, index + 1
        return index, step - start, length

    def _rates(self, index: int, position: float, length: float) -> list[float]:
        cosine = (1.0 + math.cos(math.pi * position / length)) / 2.0
        rates = []
        for base in self.base_lrs:
            peak = max(float(base) * self.restart_decay**index, self.eta_min)
            rates.append(self.eta_min + (peak - self.eta_min) * cosine)
        return rates

    def rates_at(self, step: int) -> list[float]:
        """Closed-form rate of every group at integer ``step`` (see the class doc)."""
        return self._rates(*self.cycle_of(step))

    def get_lr(self) -> list[float]:  # type: ignore[override]  # torch: list[float | Tensor]; ours are floats
        """Rates at torch's ``T_cur`` / ``T_i`` (fractional epochs allowed) with the decayed peak."""
        index = self.cycle_of(self.last_epoch)[0]
        return self._rates(index, self.T_cur, self.T_i)

    def _get_closed_form_lr(self) -> list[float]:
        _, self.T_cur, self.T_i = self.cycle_of(self.last_epoch)  # keep torch's counters in step
        return self.rates_at(self.last_epoch)
