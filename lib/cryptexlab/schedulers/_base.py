"""Shared pieces of the schedulers: argument checks and the chainable closed-form base class.

Every check raises :class:`~cryptexlab.errors.ParamsError` with a message that names the owner
(class or factory kind), the parameter, the value, the rule and a fix.

Example:
    >>> import torch
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> class Halving(ClosedFormScheduler):
    ...     def factor_at(self, step: int) -> float:
    ...         return 0.5 ** step
    >>> sched = Halving(opt)
    >>> sched.rates_at(3)
    [0.125]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Integral, Real
from typing import Any, TypeVar

from torch import Tensor
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from cryptexlab.errors import ParamsError

_Choice = TypeVar("_Choice", bound=str)


def require(ok: bool, message: str) -> None:
    """Raise :class:`ParamsError` with ``message`` unless ``ok``."""
    if not ok:
        raise ParamsError(message)


def as_number(owner: str, name: str, value: Any) -> float:
    """``value`` as a finite float; text, booleans, NaN and infinities are errors.

    Example:
        >>> as_number("demo", "lr", 1)
        1.0
    """
    hint = ""
    if isinstance(value, str):
        hint = " (it is text: write it unquoted, and exponents as 1.0e-3, since YAML reads 1e-3 as text)"
    require(isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value)),
            f"{owner}: {name}={value!r} must be a finite number{hint}")
    return float(value)


def as_int(owner: str, name: str, value: Any, low: int, rule: str = "") -> int:
    """``value`` as an int of at least ``low`` (a float such as 10.0 is not accepted).

    Example:
        >>> as_int("demo", "period", 7, 1)
        7
    """
    require(isinstance(value, Integral) and not isinstance(value, bool),
            f"{owner}: {name}={value!r} must be a whole number{rule}")
    require(int(value) >= low, f"{owner}: {name}={value!r} must be >= {low}{rule}")
    return int(value)


def in_range(owner: str, name: str, value: Any, low: float | None, high: float | None, *,
             low_open: bool = False, high_open: bool = False, rule: str = "") -> float:
    """``value`` as a float inside the interval, e.g. ``[0, 1)`` with ``high_open=True``.

    Example:
        >>> in_range("demo", "amplitude", 0.5, 0.0, 1.0, high_open=True)
        0.5
    """
    x = as_number(owner, name, value)
    ok_low = low is None or (x > low if low_open else x >= low)
    ok_high = high is None or (x < high if high_open else x <= high)
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    interval = f"{left}{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}{right}"
    require(ok_low and ok_high, f"{owner}: {name}={value!r} is outside {interval}{rule}")
    return x


def choice(owner: str, name: str, value: Any, allowed: Sequence[_Choice]) -> _Choice:
    """``value`` if it is one of ``allowed`` (as the matching entry of ``allowed``, so typed like it).

    Example:
        >>> choice("demo", "mode", "min", ("min", "max"))
        'min'
    """
    for option in allowed:
        if value == option:
            return option
    raise ParamsError(f"{owner}: unknown {name}={value!r}; use one of {', '.join(map(repr, allowed))}")


def per_group(owner: str, name: str, value: Any, optimizer: Optimizer, *, low: float = 0.0) -> list[float]:
    """One non-negative rate per parameter group: a scalar is repeated, a list must match.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> per_group("demo", "min_lr", 0.1, opt)
        [0.1]
    """
    n = len(optimizer.param_groups)
    values = list(value) if isinstance(value, (list, tuple)) else [value] * n
    require(len(values) == n, f"{owner}: {name} has {len(values)} values but the optimizer has {n} parameter "
                              f"groups; give one value, or one per group")
    return [in_range(owner, name, v, low, None) for v in values]


def group_rates(optimizer: Optimizer) -> list[float]:
    """The current rate of every parameter group, as floats."""
    return [float(group["lr"]) for group in optimizer.param_groups]


def base_rates(optimizer: Optimizer) -> list[float]:
    """The base rate of every group: ``initial_lr`` where a scheduler set it, else the current rate."""
    return [float(group.get("initial_lr", group["lr"])) for group in optimizer.param_groups]


def set_rates(optimizer: Optimizer, rates: Sequence[float], *, initial: bool = False) -> None:
    """Write one rate per group (and ``initial_lr`` too when ``initial``), as CyclicLR does."""
    for group, rate in zip(optimizer.param_groups, rates, strict=True):
        if isinstance(group["lr"], Tensor):
            group["lr"].fill_(float(rate))
        else:
            group["lr"] = rate
        if initial:
            group["initial_lr"] = rate


#: Factors below this count as 0 in the chained update (a ratio to a subnormal factor overflows).
_TINY_FACTOR = 1e-12


def chained_rates(optimizer: Optimizer, base_lrs: Sequence[float | Tensor], factor_at: Callable[[int], float],
                  step: int) -> list[float]:
    """The rates at ``step`` of the chainable schedule ``base_lr * factor_at(step)``.

    Each group's current rate times ``factor_at(step) / factor_at(step - 1)`` (the previous
    factor is 1 at step 0); where the previous factor is 0 (below 1e-12, e.g. a warmup from 0)
    there is no ratio, and the rate restarts from the closed form ``base_lr * factor_at(step)``.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.3)
        >>> chained_rates(opt, [1.0], lambda t: 0.5 ** t, 2)
        [0.15]
    """
    new = factor_at(step)
    old = factor_at(step - 1) if step > 0 else 1.0
    if abs(old) < _TINY_FACTOR:  # 0 (a warmup from 0): no ratio, restart from the closed form
        return [float(base) * new for base in base_lrs]
    return [float(group["lr"]) * (new / old) for group in optimizer.param_groups]


class ClosedFormScheduler(LRScheduler):
    """Base of the step-driven schedulers whose rate is ``base_lr * factor_at(step)``.

    Subclasses implement :meth:`factor_at` (a pure function of the step, the same for every
    group), so two groups keep the ratio of their base rates. :meth:`get_lr` is *chainable*, like
    torch's ExponentialLR: each step multiplies the group's current rate by
    ``factor_at(t) / factor_at(t - 1)``, so a :class:`~torch.optim.lr_scheduler.ChainedScheduler`
    multiplies the effects of its members. Where the previous factor is 0 (below 1e-12, e.g. a
    warmup from 0) the rate restarts from the closed form, dropping what other chained
    schedulers applied so far.
    ``_get_closed_form_lr`` (used by SequentialLR at its milestones) is the closed form itself.
    """

    def factor_at(self, step: int) -> float:
        """The multiplier of every group's base rate at ``step`` (0 = before the first update)."""
        raise NotImplementedError

    def rates_at(self, step: int) -> list[float]:
        """Closed-form rate of every group at ``step``, ignoring other chained schedulers."""
        factor = self.factor_at(step)
        return [float(base) * factor for base in self.base_lrs]

    def get_lr(self) -> list[float]:  # type: ignore[override]  # torch: list[float | Tensor]; ours are floats
        """The next rates: the current ones times the step's factor ratio (see the class doc)."""
        return chained_rates(self.optimizer, self.base_lrs, self.factor_at, self.last_epoch)

    def _get_closed_form_lr(self) -> list[float]:
        return self.rates_at(self.last_epoch)
