"""Linear warmup: a ramp from ``start_factor * base_lr`` to ``base_lr``, then any base scheduler.

Example:
    >>> import torch
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = WarmupScheduler(opt, warmup_steps=4)
    >>> rates = []
    >>> for _ in range(6):
    ...     rates.append(opt.param_groups[0]["lr"])
    ...     opt.step()
    ...     sched.step()
    >>> rates
    [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
"""

from __future__ import annotations

from torch.optim import Optimizer
from torch.optim.lr_scheduler import ConstantLR, LRScheduler, ReduceLROnPlateau, SequentialLR

from cryptexlab.schedulers._adaptive import AdaptiveScheduler
from cryptexlab.schedulers._base import ClosedFormScheduler, as_int, in_range, require


class LinearWarmup(ClosedFormScheduler):
    """Linear ramp ``factor(t) = start + (1 - start) * min(t, warmup_steps) / warmup_steps``.

    Torch's LinearLR does the same ramp but rejects ``start_factor=0`` (its recursive update
    divides by the start factor), and a warmup from 0 is the common case; this is the ramp with
    the chainable closed form of :class:`ClosedFormScheduler`. After ``warmup_steps`` steps the
    factor stays 1. Bounds: ``start_factor * base <= lr <= base``, never decreasing.

    Args:
        optimizer: The optimizer; each group ramps to its own rate.
        warmup_steps: Steps (optimizer steps) of the ramp, >= 1.
        start_factor: Share of the base rate at step 0, in [0, 1].

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=2.0)
        >>> LinearWarmup(opt, warmup_steps=4, start_factor=0.5).rates_at(2)
        [1.5]
    """

    def __init__(self, optimizer: Optimizer, warmup_steps: int, start_factor: float = 0.0) -> None:
        owner = type(self).__name__
        self.warmup_steps = as_int(owner, "warmup_steps", warmup_steps, 1, " (optimizer steps of the ramp)")
        self.start_factor = in_range(owner, "start_factor", start_factor, 0.0, 1.0,
                                     rule=": the ramp starts at start_factor * base_lr; use e.g. 0.0 or 0.1")
        super().__init__(optimizer)

    def factor_at(self, step: int) -> float:
        """``start + (1 - start) * min(step, warmup_steps) / warmup_steps``."""
        done = min(max(step, 0), self.warmup_steps) / self.warmup_steps
        return self.start_factor + (1.0 - self.start_factor) * done


class WarmupScheduler(SequentialLR):
    """Linear warmup over ``warmup_steps`` optimizer steps, then ``after`` (or the base rate).

    Built on torch's SequentialLR (which sequences the two and round-trips both states) with a
    :class:`LinearWarmup` ramp; what is added is the ramp from 0 and the argument checks. At
    step ``warmup_steps`` the ramp has reached each group's base rate and ``after`` starts from
    its own step 0 (SequentialLR restarts the clock of each scheduler at its milestone).

    ``after`` must be built on the same optimizer before this warmup and be step-driven: a
    metric-driven scheduler (ReduceLROnPlateau, :class:`AdaptiveScheduler`) cannot be sequenced.

    Args:
        optimizer: The optimizer; every group ramps to its own base rate (ratios are kept).
        warmup_steps: Length of the ramp, >= 1.
        after: The scheduler that runs after the ramp; None holds the base rate.
        start_factor: Share of the base rate at step 0, in [0, 1].

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> decay = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
        >>> sched = WarmupScheduler(opt, warmup_steps=2, after=decay)
        >>> rates = []
        >>> for _ in range(5):
        ...     rates.append(opt.param_groups[0]["lr"])
        ...     opt.step()
        ...     sched.step()
        >>> rates
        [0.0, 0.5, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, warmup_steps: int, after: LRScheduler | None = None,
                 start_factor: float = 0.0) -> None:
        owner = type(self).__name__
        require(not isinstance(after, (ReduceLROnPlateau, AdaptiveScheduler)),
                f"{owner}: after={type(after).__name__} is metric-driven (step(metric)) and cannot follow a "
                "warmup inside SequentialLR; use a step-driven scheduler, or step the metric-driven one "
                "yourself once the warmup is over")
        require(after is None or after.optimizer is optimizer,
                f"{owner}: after={type(after).__name__} belongs to another optimizer; build it on the same "
                "optimizer as the warmup")
        if after is None:
            after = ConstantLR(optimizer, factor=1.0, total_iters=0)
        ramp = LinearWarmup(optimizer, warmup_steps, start_factor)
        self.warmup_steps = ramp.warmup_steps
        self.start_factor = ramp.start_factor
        super().__init__(optimizer, [ramp, after], milestones=[self.warmup_steps])
