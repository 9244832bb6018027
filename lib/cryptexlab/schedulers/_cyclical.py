"""Cyclical learning rate (Smith 2017): torch's CyclicLR with checks and safe defaults.

Example:
    >>> import torch
    >>> opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = CyclicalLearningRate(opt, base_lr=1.0, max_lr=3.0, step_size_up=2)
    >>> rates = []
    >>> for _ in range(6):
    ...     rates.append(opt.param_groups[0]["lr"])
    ...     opt.step()
    ...     sched.step()
    >>> rates
    [1.0, 2.0, 3.0, 2.0, 1.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from torch.optim import Optimizer
from torch.optim.lr_scheduler import CyclicLR

from cryptexlab.schedulers._base import as_int, base_rates, choice, in_range, per_group, require

CyclicMode = Literal["triangular", "triangular2", "exp_range"]
CYCLIC_MODES: tuple[CyclicMode, ...] = ("triangular", "triangular2", "exp_range")


class CyclicalLearningRate(CyclicLR):
    """Triangular cycles between ``base_lr`` and ``max_lr`` (torch's CyclicLR, one step per batch).

    With ``x`` the position in the cycle (0 at the bottom, 1 at the top) and ``n`` the cycle
    number from 1, the rate is ``base + (max - base) * x * scale``, where ``scale`` is 1
    (triangular), ``1 / 2**(n - 1)`` (triangular2: each cycle's height halves) or ``gamma**t``
    (exp_range, ``t`` the step). Bounds: ``base_lr <= lr <= max_lr`` in every mode.

    Added to torch's CyclicLR: ``cycle_momentum`` defaults to False (torch cycles momentum by
    default, which fails for optimizers without momentum and silently changes Adam's beta1),
    ``base_lr=None`` takes each group's base rate, and every argument is checked with a
    ParamsError. Like torch's class it writes the closed-form rate each step (not chainable).

    Args:
        optimizer: The optimizer.
        base_lr: Bottom of the cycle: one rate, one per group, or None for each group's base rate
            (its ``initial_lr`` if a scheduler set one, else its rate).
        max_lr: Top of the cycle: one rate or one per group, each >= its base_lr.
        step_size_up: Steps from bottom to top, >= 1.
        step_size_down: Steps from top to bottom; None = ``step_size_up``.
        mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
        gamma: Per-step decay of the height in exp_range, in (0, 1]; must stay 1 in other modes.
        cycle_momentum: Also cycle momentum (or Adam's beta1) inversely, as torch does.
        base_momentum: Lower momentum bound when ``cycle_momentum``.
        max_momentum: Upper momentum bound when ``cycle_momentum``.

    Example:
        >>> import torch
        >>> opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1e-3)
        >>> CyclicalLearningRate(opt, None, 1e-2, step_size_up=100).max_lrs
        [0.01]
    """

    def __init__(self, optimizer: Optimizer, base_lr: float | Sequence[float] | None, max_lr: float | Sequence[float],
                 step_size_up: int = 2000, step_size_down: int | None = None, mode: str = "triangular",
                 gamma: float = 1.0, *, cycle_momentum: bool = False, base_momentum: float = 0.8,
                 max_momentum: float = 0.9) -> None:
        owner = type(self).__name__
        bases = base_rates(optimizer) if base_lr is None else per_group(owner, "base_lr", base_lr, optimizer)
        tops = per_group(owner, "max_lr", max_lr, optimizer)
        for base, top in zip(bases, tops, strict=True):
            require(top >= base, f"{owner}: max_lr={top!r} is below base_lr={base!r}; the rate cycles from "
                                 "base_lr up to max_lr, so give max_lr >= base_lr")
        up = as_int(owner, "step_size_up", step_size_up, 1, " (optimizer steps from bottom to top)")
        down = None if step_size_down is None else as_int(owner, "step_size_down", step_size_down, 1,
                                                          " (optimizer steps from top to bottom)")
        cyclic_mode = choice(owner, "mode", mode, CYCLIC_MODES)
        gamma = in_range(owner, "gamma", gamma, 0.0, 1.0, low_open=True,
                         rule=": exp_range shrinks the height by gamma each step; use e.g. 0.999")
        require(cyclic_mode == "exp_range" or gamma == 1.0,
                f"{owner}: gamma={gamma!r} only acts in mode='exp_range', but mode={cyclic_mode!r}; "
                "leave gamma out or use mode='exp_range'")
        require(not cycle_momentum or "momentum" in optimizer.defaults or "betas" in optimizer.defaults,
                f"{owner}: cycle_momentum=True needs an optimizer with momentum or betas, but "
                f"{type(optimizer).__name__} has neither; set cycle_momentum=False")
        super().__init__(optimizer, base_lr=bases, max_lr=tops, step_size_up=up, step_size_down=down, mode=cyclic_mode,
                         gamma=gamma, cycle_momentum=cycle_momentum, base_momentum=base_momentum,
                         max_momentum=max_momentum)
