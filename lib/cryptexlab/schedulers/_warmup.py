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

from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import ChainedScheduler, LRScheduler, ReduceLROnPlateau, SequentialLR

from cryptexlab.schedulers._adaptive import AdaptiveScheduler
from cryptexlab.schedulers._base import (
    ClosedFormScheduler,
    as_int,
    chained_rates,
    group_rates,
    in_range,
    require,
    set_rates,
)


def ramp_factor(step: int, warmup_steps: int, start_factor: float) -> float:
    """``start + (1 - start) * min(step, warmup_steps) / warmup_steps`` (1 once the ramp is done).

    Example:
        >>> ramp_factor(1, 4, 0.0), ramp_factor(9, 4, 0.0)
        (0.25, 1.0)
    """
    done = min(max(step, 0), warmup_steps) / warmup_steps
    return start_factor + (1.0 - start_factor) * done


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
        return ramp_factor(step, self.warmup_steps, self.start_factor)


class WarmupScheduler(LRScheduler):
    """Linear warmup over ``warmup_steps`` optimizer steps, then ``after`` (or the base rate).

    One scheduler with one clock: steps ``t < warmup_steps`` follow the :class:`LinearWarmup`
    ramp (chainable, from each group's base rate ``initial_lr``); at ``t = warmup_steps`` the ramp
    has reached the base rate and ``after`` restarts from its own step 0, exactly as torch's
    SequentialLR restarts a scheduler at its milestone; from then on each step steps ``after``.
    It is not itself a SequentialLR, so it can be a member of one, first or later (a nested
    SequentialLR runs one step early as first member and raises NotImplementedError as a later
    one): its closed form (``_get_closed_form_lr``, which SequentialLR calls at a milestone)
    is the ramp, then ``after``'s closed form ``warmup_steps`` steps later. ``state_dict()``
    holds ``after``'s state under ``"after"``; a state dict of the SequentialLR-based
    WarmupScheduler of earlier versions also loads.

    ``after`` must be built on the same optimizer before this warmup and be step-driven: a
    metric-driven scheduler (ReduceLROnPlateau, :class:`AdaptiveScheduler`) cannot be sequenced,
    and a SequentialLR or ChainedScheduler cannot restart at the milestone (put the ramp into
    that SequentialLR instead).

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
        require(not isinstance(after, (SequentialLR, ChainedScheduler)) or hasattr(after, "_get_closed_form_lr"),
                f"{owner}: after={type(after).__name__} has no closed form, so it cannot restart at the end of "
                "the warmup (torch raises NotImplementedError there); put the ramp into that sequence instead: "
                "SequentialLR(opt, [LinearWarmup(opt, warmup_steps), *schedulers], milestones=[warmup_steps, ...])")
        self.warmup_steps = as_int(owner, "warmup_steps", warmup_steps, 1, " (optimizer steps of the ramp)")
        self.start_factor = in_range(owner, "start_factor", start_factor, 0.0, 1.0,
                                     rule=": the ramp starts at start_factor * base_lr; use e.g. 0.0 or 0.1")
        self.after = after
        if after is not None:  # undo after's initial step, as SequentialLR does: the ramp starts from the base
            set_rates(optimizer, [group["initial_lr"] for group in optimizer.param_groups])
        super().__init__(optimizer)

    def factor_at(self, step: int) -> float:
        """The ramp's multiplier of the base rate at ``step`` (1 from ``warmup_steps`` on)."""
        return ramp_factor(step, self.warmup_steps, self.start_factor)

    def get_lr(self) -> list[float]:  # type: ignore[override]
        """The ramp (chainable), then ``after``: restarted at the milestone, stepped after it."""
        step = self.last_epoch
        if step < self.warmup_steps or self.after is None:
            return chained_rates(self.optimizer, self.base_lrs, self.factor_at, step)
        if step == self.warmup_steps:
            self.after._update_lr(0)  # what SequentialLR does at a milestone: after's closed form at its step 0
        else:
            self.after.step()
        return group_rates(self.optimizer)

    def _get_closed_form_lr(self) -> list[float]:
        step = self.last_epoch
        if step < self.warmup_steps or self.after is None:
            return [float(base) * self.factor_at(step) for base in self.base_lrs]
        self.after._update_lr(step - self.warmup_steps)
        return group_rates(self.optimizer)

    def state_dict(self) -> dict[str, Any]:
        """This scheduler's state, with ``after``'s state under ``"after"`` (None without one)."""
        state = {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "after")}
        state["after"] = None if self.after is None else self.after.state_dict()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state from :meth:`state_dict` (or from the SequentialLR-based earlier version)."""
        state = dict(state_dict)
        if "_schedulers" in state:  # earlier versions: SequentialLR([LinearWarmup, after or ConstantLR])
            ramp, after = state.pop("_schedulers")
            state.pop("_milestones", None)
            state["base_lrs"] = ramp["base_lrs"]
            state["after"] = None if self.after is None else after
        after_state = state.pop("after", None)
        require((after_state is None) == (self.after is None),
                f"{type(self).__name__}: the state dict was saved {'without' if after_state is None else 'with'} "
                f"an after scheduler but this warmup has {'one' if self.after is not None else 'none'}; build the "
                "warmup as it was when the checkpoint was saved")
        self.__dict__.update(state)
        if self.after is not None:
            self.after.load_state_dict(after_state)
