"""The 1cycle policy (Smith 2018): torch's OneCycleLR without its writes to the param groups' rates.

Example:
    >>> import torch
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = OneCycleScheduler(opt, max_lr=1.0, total_steps=5, pct_start=0.4, anneal_strategy="linear",
    ...                           div_factor=10.0, final_div_factor=1.0)
    >>> [round(r[0], 4) for r in map(sched.rates_at, range(5))]
    [0.1, 1.0, 0.7, 0.4, 0.1]
    >>> opt.param_groups[0]["initial_lr"]  # still the optimizer's rate, not max_lr / div_factor
    1.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import OneCycleLR

from cryptexlab.schedulers._base import per_group

#: Keys torch's OneCycleLR writes into every param group for its rates.
_RATE_KEYS = ("initial_lr", "max_lr", "min_lr")


class OneCycleScheduler(OneCycleLR):
    """Rise from ``max_lr / div_factor`` to ``max_lr``, then anneal to ``/ final_div_factor`` of the start.

    The rates are torch's OneCycleLR's, step for step (its phases, annealing functions, momentum
    cycling and state are reused). What differs: torch writes the cycle's start rate into every
    group's ``initial_lr`` (and ``max_lr``, ``min_lr`` beside it), which is the base rate of
    every other scheduler on the optimizer, so in a SequentialLR the neighbours of a OneCycleLR
    run at ``1 / div_factor`` of their rate. This class keeps the three rates per group on the
    scheduler (``start_lrs``, ``max_lrs``, ``min_lrs``, also in its ``state_dict()``) and puts
    back the groups' keys as they were (``initial_lr`` = the optimizer's rate where no scheduler
    had set it), so it is a well-behaved member of a SequentialLR, first or later. Not chainable:
    like torch's class it writes its closed form (:meth:`rates_at`) each step. Unlike torch's
    class ``cycle_momentum`` defaults to False.

    Args:
        optimizer: The optimizer.
        max_lr: Peak rate: one rate or one per group.
        total_steps: Optimizer steps of the cycle.
        pct_start: Share of the steps spent rising.
        anneal_strategy: ``"cos"`` or ``"linear"``.
        div_factor: The start rate is ``max_lr / div_factor``.
        final_div_factor: The last rate is the start rate ``/ final_div_factor``.
        three_phase: Fall back to the start rate, then anneal to the last rate (the paper's
            schedule) instead of annealing straight from the peak.
        cycle_momentum: Cycle momentum (or Adam's beta1) inversely, as torch does.
        base_momentum: Momentum at the peak rate, when ``cycle_momentum``.
        max_momentum: Momentum at the start rate, when ``cycle_momentum``.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1e-3)
        >>> OneCycleScheduler(opt, max_lr=1e-2, total_steps=100).start_lrs
        [0.0004]
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | Sequence[float], total_steps: int,
                 pct_start: float = 0.3, anneal_strategy: str = "cos", div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False, *, cycle_momentum: bool = False,
                 base_momentum: float = 0.85, max_momentum: float = 0.95) -> None:
        self.max_lrs = per_group(type(self).__name__, "max_lr", max_lr, optimizer)
        self.start_lrs = [top / div_factor for top in self.max_lrs]  # torch's formulas, for identical rates
        self.min_lrs = [start / final_div_factor for start in self.start_lrs]
        saved = [{key: group[key] for key in _RATE_KEYS if key in group} | {"lr": group["lr"]}
                 for group in optimizer.param_groups]
        super().__init__(optimizer, max_lr=self.max_lrs, total_steps=total_steps, pct_start=pct_start,
                         anneal_strategy=anneal_strategy,  # type: ignore[arg-type]
                         div_factor=div_factor, final_div_factor=final_div_factor, three_phase=three_phase,
                         cycle_momentum=cycle_momentum, base_momentum=base_momentum, max_momentum=max_momentum)
        for group, before in zip(optimizer.param_groups, saved, strict=True):
            for key in _RATE_KEYS:
                group.pop(key, None)
                if key in before:
                    group[key] = before[key]
            group.setdefault("initial_lr", before["lr"])  # what any LRScheduler records as the base rate

    def _position(self, step: int) -> tuple[Mapping[str, Any], float]:
        """The phase of ``step`` and the share of it done, exactly as torch's ``get_lr`` finds them."""
        start = 0.0
        for i, phase in enumerate(self._schedule_phases):
            end = phase["end_step"]
            if step <= end or i == len(self._schedule_phases) - 1:
                return phase, (step - start) / (end - start)
            start = end
        raise AssertionError("unreachable: the last phase always matches")

    def rates_at(self, step: int) -> list[float]:
        """Closed-form rate of every group at ``step``."""
        phase, pct = self._position(step)
        ends = {"initial_lr": self.start_lrs, "max_lr": self.max_lrs, "min_lr": self.min_lrs}
        starts, stops = ends[phase["start_lr"]], ends[phase["end_lr"]]
        return [self._anneal_func(a, b, pct) for a, b in zip(starts, stops, strict=True)]

    def get_lr(self) -> list[float]:  # type: ignore[override]
        """The rates at the current step (and the momentum, when cycled, written into the groups)."""
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"{type(self).__name__}: stepped {step} times but total_steps={self.total_steps}; "
                             "build it with the number of optimizer steps of the whole run")
        if self.cycle_momentum:
            phase, pct = self._position(step)
            for group in self.optimizer.param_groups:
                momentum = self._anneal_func(group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return self.rates_at(step)
