"""A schedule made of phases: constant, cosine, exponential and linear stretches in a row.

Example:
    >>> import torch
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> phases = [{"type": "constant", "lr": 0.5, "steps": 2},
    ...           {"type": "linear", "lr": 1.0, "end_lr": 0.0, "steps": 3}]
    >>> sched = MultiPhaseScheduler(opt, phases)
    >>> [r[0] for r in map(sched.rates_at, range(6))]
    [0.5, 0.5, 1.0, 0.5, 0.0, 0.0]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from torch.optim import Optimizer

from cryptexlab.errors import ParamsError
from cryptexlab.schedulers._base import ClosedFormScheduler, as_int, choice, in_range, require

PHASE_TYPES = ("constant", "cosine", "exponential", "linear")
_COMMON = ("type", "lr", "steps", "epochs")
_EXTRA: dict[str, tuple[str, ...]] = {"constant": (), "cosine": ("eta_min",), "exponential": ("gamma", "end_lr"),
                                      "linear": ("end_lr",)}


def _parse_phase(i: int, phase: Any, steps_per_epoch: int | None) -> tuple[str, float, int, float]:
    """One phase as ``(type, lr, steps, end)``; ``end`` is eta_min, end_lr or gamma (exponential)."""
    owner = f"MultiPhaseScheduler: phase {i}"
    require(isinstance(phase, Mapping), f"{owner} is {phase!r}; each phase is a mapping such as "
                                        "{'type': 'cosine', 'lr': 0.001, 'steps': 500}")
    kind = choice(owner, "type", phase.get("type"), PHASE_TYPES)
    accepted = _COMMON + _EXTRA[kind]
    unknown = sorted(set(phase) - set(accepted))
    require(not unknown, f"{owner}: unknown key(s) {unknown} for a {kind} phase; accepted: {', '.join(accepted)}")
    require("lr" in phase, f"{owner}: a {kind} phase needs lr (its starting rate)")
    lr = in_range(owner, "lr", phase["lr"], 0.0, None, rule=": a learning rate cannot be negative")
    given = sorted(set(phase) & {"steps", "epochs"})
    require(len(given) == 1, f"{owner}: give exactly one of steps (optimizer steps) or epochs, got {given or 'neither'}")
    if "epochs" in phase:
        if steps_per_epoch is None:
            raise ParamsError(f"{owner}: epochs={phase['epochs']!r} needs steps_per_epoch, because the schedule counts "
                              "optimizer steps (one step() per batch); pass steps_per_epoch=<batches per epoch> or "
                              "give steps instead")
        steps = as_int(owner, "epochs", phase["epochs"], 1, " (whole epochs)") * steps_per_epoch
    else:
        steps = as_int(owner, "steps", phase["steps"], 1, " (optimizer steps of the phase)")
    end = lr
    if kind == "cosine":
        end = in_range(owner, "eta_min", phase.get("eta_min", 0.0), 0.0, lr,
                       rule=": the cosine falls from lr to eta_min, so 0 <= eta_min <= lr")
    elif kind == "linear":
        require("end_lr" in phase, f"{owner}: a linear phase needs end_lr (the rate on its last step)")
        end = in_range(owner, "end_lr", phase["end_lr"], 0.0, None, rule=": a learning rate cannot be negative")
    elif kind == "exponential":
        require(("gamma" in phase) != ("end_lr" in phase),
                f"{owner}: an exponential phase needs exactly one of gamma (per-step factor) or end_lr (the rate "
                "on its last step)")
        require(lr > 0, f"{owner}: an exponential phase needs lr > 0, got lr={lr!r}")
        if "gamma" in phase:
            end = in_range(owner, "gamma", phase["gamma"], 0.0, None, low_open=True,
                           rule=": the rate is multiplied by gamma each step")
        else:
            end_lr = in_range(owner, "end_lr", phase["end_lr"], 0.0, None, low_open=True,
                              rule=": an exponential reaches 0 only in the limit; use a linear phase to reach 0")
            end = (end_lr / lr) ** (1.0 / (steps - 1)) if steps > 1 else 1.0
    return kind, lr, steps, end


def _phase_value(kind: str, lr: float, steps: int, end: float, k: int) -> float:
    """Rate at step ``k`` (0-based) of a phase; the end value is reached on its last step."""
    frac = k / (steps - 1) if steps > 1 else 0.0
    if kind == "constant":
        return lr
    if kind == "linear":
        return lr + (end - lr) * frac
    if kind == "cosine":
        return end + (lr - end) * (1.0 + math.cos(math.pi * frac)) / 2.0
    return lr * end**k  # exponential, end = gamma


class MultiPhaseScheduler(ClosedFormScheduler):
    """A list of phases run one after another; after the last phase its last rate is held.

    Each phase is a mapping with ``type``, ``lr`` (its starting rate) and its length as
    ``steps`` (optimizer steps), or as ``epochs`` when ``steps_per_epoch`` is given (then
    ``steps = epochs * steps_per_epoch``; ``epochs`` without it is an error, since the schedule
    counts optimizer steps). Over the ``n`` steps ``k = 0 .. n-1`` of a phase, with
    ``f = k / (n - 1)``:

    - ``constant``: ``lr``.
    - ``linear`` (needs ``end_lr``): ``lr + (end_lr - lr) * f``.
    - ``cosine`` (``eta_min``, default 0): ``eta_min + (lr - eta_min) * (1 + cos(pi * f)) / 2``.
    - ``exponential`` (``gamma`` or ``end_lr``): ``lr * gamma**k``; with ``end_lr``,
      ``gamma = (end_lr / lr) ** (1 / (n - 1))``.

    So each phase reaches its end value on its own last step, and the next one starts at its
    ``lr``. The rates are those of the first parameter group; other groups keep their ratio to
    it (``lr_g = rate * base_g / base_0``). Bounds: between the smallest and the largest
    start/end value of the phases. Chainable (see :class:`ClosedFormScheduler`).

    Args:
        optimizer: The optimizer; its first group's rate is the reference for the others.
        phases: The phases, as above (at least one).
        steps_per_epoch: Optimizer steps per epoch, to accept ``epochs``; None = steps only.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1e-3)
        >>> seed = [{"type": "constant", "lr": 0.0005, "epochs": 5},
        ...         {"type": "cosine", "lr": 0.001, "epochs": 15},
        ...         {"type": "exponential", "lr": 0.0005, "epochs": 10, "gamma": 0.99}]
        >>> MultiPhaseScheduler(opt, seed, steps_per_epoch=100).total_steps
        3000
    """

    def __init__(self, optimizer: Optimizer, phases: Sequence[Mapping[str, Any]],
                 steps_per_epoch: int | None = None) -> None:
        owner = type(self).__name__
        if steps_per_epoch is not None:
            steps_per_epoch = as_int(owner, "steps_per_epoch", steps_per_epoch, 1, " (optimizer steps per epoch)")
        require(isinstance(phases, Sequence) and not isinstance(phases, str) and len(phases) > 0,
                f"{owner}: phases={phases!r} must be a non-empty list of phase mappings, e.g. "
                "[{'type': 'constant', 'lr': 0.0005, 'steps': 100}]")
        first = optimizer.param_groups[0]
        reference = float(first.get("initial_lr", first["lr"]))
        require(reference > 0, f"{owner}: the first parameter group's rate is {reference!r}; it must be > 0 "
                               "because the other groups are scaled by their ratio to it")
        self.phases = [_parse_phase(i, p, steps_per_epoch) for i, p in enumerate(phases)]
        self.total_steps = sum(p[2] for p in self.phases)
        super().__init__(optimizer)

    def rate_at(self, step: int) -> float:
        """Rate of the first group at ``step`` (the phases' value; the last one after the end)."""
        step = min(max(int(step), 0), self.total_steps - 1)
        for kind, lr, steps, end in self.phases:
            if step < steps:
                return _phase_value(kind, lr, steps, end, step)
            step -= steps
        raise AssertionError("unreachable: step was clamped to the last phase")

    def factor_at(self, step: int) -> float:
        """``rate_at(step) / base_0``: the multiplier of every group's base rate."""
        return self.rate_at(step) / float(self.base_lrs[0])
