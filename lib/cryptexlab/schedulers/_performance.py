"""Lower the rate when a validation metric stalls (ReduceLROnPlateau), raise it on a good streak.

Example:
    >>> import torch
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = PerformanceBasedScheduler(opt, patience=1)
    >>> for val_loss in [1.0, 1.0, 1.0]:
    ...     sched.step(val_loss)
    >>> opt.param_groups[0]["lr"]
    0.5
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, SupportsFloat

from torch.optim import Optimizer
from torch.optim.lr_scheduler import ReduceLROnPlateau

from cryptexlab.schedulers._base import as_int, base_rates, choice, group_rates, in_range, per_group, require, set_rates

_MODES: tuple[Literal["min", "max"], ...] = ("min", "max")
_THRESHOLD_MODES: tuple[Literal["rel", "abs"], ...] = ("rel", "abs")


class PerformanceBasedScheduler(ReduceLROnPlateau):
    """Torch's ReduceLROnPlateau plus bounds and an optional raise after a streak of improvements.

    Call ``step(val_metric)`` once per epoch. Lowering is ReduceLROnPlateau's, unchanged: when
    the metric has not improved (by ``threshold``, in ``threshold_mode``) for more than
    ``patience`` calls, every group's rate is multiplied by ``factor`` (floored at ``min_lr``)
    and ``cooldown`` calls follow in which bad calls are not counted.

    Added: with ``increase_factor > 1``, after ``patience_up`` consecutive improving calls
    outside a cooldown (the first call only sets the baseline), every group's rate is
    multiplied by ``increase_factor`` (capped at ``max_lr``), the streak restarts and a
    cooldown starts (improvements inside a cooldown do not count, so a cut is not undone at
    once). ``max_lr`` defaults to each group's initial rate, so raising only wins back earlier
    cuts. Bounds: ``min_lr <= lr <= max_lr``; two groups keep
    their ratio until one reaches a bound. Metric-driven, so SequentialLR and ChainedScheduler
    refuse it (as they refuse ReduceLROnPlateau).

    Args:
        optimizer: The optimizer; each group's initial rate must lie within its bounds.
        mode: ``"min"`` (lower is better, e.g. a loss) or ``"max"``.
        factor: Multiplier of a cut, in (0, 1).
        patience: Non-improving calls tolerated before a cut, >= 0.
        cooldown: Calls after a change during which the counters rest, >= 0.
        min_lr: Floor: one rate or one per group, >= 0.
        max_lr: Ceiling: one rate, one per group, or None for each group's initial rate.
        increase_factor: Multiplier of a raise, >= 1 (1 = never raise).
        patience_up: Consecutive improving calls before a raise, >= 1.
        threshold: Smallest change counted as an improvement, >= 0.
        threshold_mode: ``"rel"`` (relative to the best) or ``"abs"``.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
        >>> sched = PerformanceBasedScheduler(opt, increase_factor=2.0, patience_up=2, max_lr=1.0)
        >>> for val_loss in [3.0, 2.0, 1.0]:
        ...     sched.step(val_loss)
        >>> opt.param_groups[0]["lr"]
        1.0
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.5, patience: int = 5,
                 cooldown: int = 0, min_lr: float | Sequence[float] = 0.0,
                 max_lr: float | Sequence[float] | None = None,
                 increase_factor: float = 1.0, patience_up: int = 3, threshold: float = 1e-4,
                 threshold_mode: str = "rel") -> None:
        owner = type(self).__name__
        plateau_mode = choice(owner, "mode", mode, _MODES)
        factor = in_range(owner, "factor", factor, 0.0, 1.0, low_open=True, high_open=True,
                          rule=": a cut multiplies the rate by factor, so 0 < factor < 1")
        patience = as_int(owner, "patience", patience, 0, " (calls without improvement before a cut)")
        cooldown = as_int(owner, "cooldown", cooldown, 0, " (calls to rest after a change)")
        threshold = in_range(owner, "threshold", threshold, 0.0, None, rule=": the smallest improvement that counts")
        rel_or_abs = choice(owner, "threshold_mode", threshold_mode, _THRESHOLD_MODES)
        self.increase_factor = in_range(owner, "increase_factor", increase_factor, 1.0, None,
                                        rule=": a raise multiplies the rate by increase_factor; 1 never raises")
        self.patience_up = as_int(owner, "patience_up", patience_up, 1, " (improving calls before a raise)")
        min_lrs = per_group(owner, "min_lr", min_lr, optimizer)
        rates = group_rates(optimizer)
        self.max_lrs = base_rates(optimizer) if max_lr is None else per_group(owner, "max_lr", max_lr, optimizer)
        for low, high, rate in zip(min_lrs, self.max_lrs, rates, strict=True):
            require(low <= rate <= high, f"{owner}: the initial rate {rate!r} is outside [min_lr, max_lr] = "
                                         f"[{low!r}, {high!r}]; widen the bounds or change the rate")
        self.num_good_epochs = 0
        super().__init__(optimizer, mode=plateau_mode, factor=factor, patience=patience,
                         threshold=threshold, threshold_mode=rel_or_abs,
                         cooldown=cooldown, min_lr=min_lrs)

    def step(self, metrics: SupportsFloat, epoch: None = None) -> None:  # type: ignore[override]
        """Record one validation metric (once per epoch); cut or raise the rate if due."""
        current = float(metrics)
        improved = self.best != self.mode_worse and self._is_better(current, self.best)  # the first is a baseline
        cooling = self.in_cooldown
        super().step(current)
        self.num_good_epochs = self.num_good_epochs + 1 if improved and not cooling else 0
        if self.increase_factor > 1.0 and self.num_good_epochs >= self.patience_up:
            set_rates(self.optimizer, [min(rate * self.increase_factor, high) for rate, high
                                       in zip(group_rates(self.optimizer), self.max_lrs, strict=True)])
            self.num_good_epochs = 0
            self.cooldown_counter = self.cooldown
            self._last_lr = list(group_rates(self.optimizer))  # list(): typed like torch's list[float | Tensor]
