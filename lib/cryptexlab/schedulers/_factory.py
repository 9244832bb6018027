"""Build a scheduler from a profile's ``train.scheduler`` section, and preview its rates.

Kinds, their parameters (defaults) and what the training loop passes to ``step``:

===============  =====================================================================  ============
kind             params                                                                 needs
===============  =====================================================================  ============
constant         (none): the optimizer's rate throughout                                None
warmup           warmup_steps | warmup_fraction (0.1 of total_steps), start_factor      None
                 (0.0), decay ("cosine" to eta_min over the other steps, or "constant"),
                 eta_min (0.0)
cosine_restarts  T_0 (steps_per_epoch), T_mult (1), eta_min (0.0), restart_decay (1.0)  None
adaptive         window (20), factor (0.5), increase (1.05), min_lr (0), max_lr         "train_loss"
                 (the initial rate), tolerance (0.01)
cyclical         max_lr (required), step_size_up (2 * steps_per_epoch),                 None
                 step_size_down, mode ("triangular"), gamma (1.0); bottom = the rate
performance      mode ("min"), factor (0.5), patience (5), cooldown (0), min_lr (0),    "val_loss"
                 max_lr (the rate), increase_factor (1.0), patience_up (3),
                 threshold (1e-4), threshold_mode ("rel")
multiphase       phases (required; ``epochs`` use the factory's steps_per_epoch)        None
crypto_weekly    amplitude (0.5), period (168), phase (0); centre = the rate            None
one_cycle        max_lr (the rate), pct_start (0.3), anneal_strategy ("cos"),           None
                 div_factor (25), final_div_factor (1e4), three_phase (false),
                 cycle_momentum (false)
===============  =====================================================================  ============

``needs`` None: call ``step()`` after every optimizer step; "train_loss": ``step(loss)`` after
every optimizer step; "val_loss": ``step(val_loss)`` once per epoch.

Every step-driven kind can be a member of torch's ``SequentialLR``, first or later: warmup is
one :class:`WarmupScheduler` (not a nested SequentialLR) and one_cycle a
:class:`OneCycleScheduler` (which, unlike torch's OneCycleLR, leaves the groups' ``initial_lr``
alone).

Example:
    >>> [round(r, 4) for r in preview("warmup", {"warmup_steps": 2}, steps=5, base_lr=1.0)]
    [0.0, 0.5, 1.0, 0.75, 0.25]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import ConstantLR, CosineAnnealingLR, LRScheduler

from cryptexlab.errors import ParamsError
from cryptexlab.params import SchedulerConfig, SchedulerKind
from cryptexlab.schedulers._adaptive import AdaptiveScheduler
from cryptexlab.schedulers._base import as_int, base_rates, choice, in_range, per_group, require
from cryptexlab.schedulers._cyclical import CyclicalLearningRate
from cryptexlab.schedulers._multiphase import MultiPhaseScheduler
from cryptexlab.schedulers._one_cycle import OneCycleScheduler
from cryptexlab.schedulers._performance import PerformanceBasedScheduler
from cryptexlab.schedulers._restarts import CosineAnnealingWarmRestartsAdvanced
from cryptexlab.schedulers._warmup import WarmupScheduler
from cryptexlab.schedulers._weekly import CryptoWeeklyScheduler

Needs = Literal[None, "train_loss", "val_loss"]

#: Every scheduler kind, equal to the Literal ``cryptexlab.params.SchedulerKind``.
SCHEDULER_KINDS: tuple[str, ...] = get_args(SchedulerKind)

#: Kind -> the parameters its ``params`` mapping accepts.
SCHEDULER_PARAMS: dict[str, tuple[str, ...]] = {
    "constant": (),
    "warmup": ("warmup_steps", "warmup_fraction", "start_factor", "decay", "eta_min"),
    "cosine_restarts": ("T_0", "T_mult", "eta_min", "restart_decay"),
    "adaptive": ("window", "factor", "increase", "min_lr", "max_lr", "tolerance"),
    "cyclical": ("max_lr", "step_size_up", "step_size_down", "mode", "gamma"),
    "performance": ("mode", "factor", "patience", "cooldown", "min_lr", "max_lr", "increase_factor",
                    "patience_up", "threshold", "threshold_mode"),
    "multiphase": ("phases",),
    "crypto_weekly": ("amplitude", "period", "phase"),
    "one_cycle": ("max_lr", "pct_start", "anneal_strategy", "div_factor", "final_div_factor", "three_phase",
                  "cycle_momentum"),
}

_METRIC_NEEDS: dict[str, Needs] = {"adaptive": "train_loss", "performance": "val_loss"}
#: Kind -> what the training loop passes to ``step`` (see the module doc).
SCHEDULER_NEEDS: dict[str, Needs] = {kind: None for kind in SCHEDULER_KINDS} | _METRIC_NEEDS


@dataclass(frozen=True)
class ScheduleHandle:
    """A built scheduler and what its ``step`` needs from the training loop.

    Attributes:
        scheduler: The scheduler.
        needs: None: call ``scheduler.step()`` after every optimizer step; ``"train_loss"``:
            ``scheduler.step(loss)`` after every optimizer step; ``"val_loss"``:
            ``scheduler.step(val_loss)`` once per epoch.

    Example:
        >>> opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1e-3)
        >>> build_scheduler(opt, SchedulerConfig(kind="performance"), total_steps=100, steps_per_epoch=10).needs
        'val_loss'
    """

    scheduler: LRScheduler
    needs: Needs = None


Builder = Callable[[Optimizer, dict[str, Any], int, int], LRScheduler]


def _constant(opt: Optimizer, p: dict[str, Any], total: int, per_epoch: int) -> LRScheduler:
    return ConstantLR(opt, factor=1.0, total_iters=0)


def _warmup(opt: Optimizer, p: dict[str, Any], total: int, per_epoch: int) -> LRScheduler:
    require(not {"warmup_steps", "warmup_fraction"} <= set(p),
            "params: give warmup_steps or warmup_fraction, not both")
    if "warmup_steps" in p:
        steps = as_int("params", "warmup_steps", p["warmup_steps"], 1, " (optimizer steps of the warmup)")
    else:
        fraction = in_range("params", "warmup_fraction", p.get("warmup_fraction", 0.1), 0.0, 1.0, low_open=True,
                            high_open=True, rule=": the share of total_steps spent warming up")
        steps = max(1, round(fraction * total))
    decay = choice("params", "decay", p.get("decay", "cosine"), ("cosine", "constant"))
    if decay == "constant":
        require("eta_min" not in p, "params: eta_min only acts with decay='cosine'; leave it out")
        return WarmupScheduler(opt, steps, None, p.get("start_factor", 0.0))
    require(steps < total, f"params: warmup_steps={steps} leaves no steps for the cosine decay within "
                           f"total_steps={total}; warm up for fewer steps or use decay: constant")
    eta_min = in_range("params", "eta_min", p.get("eta_min", 0.0), 0.0, min(base_rates(opt)),
                       rule=": the cosine falls from the learning rate to eta_min")
    return WarmupScheduler(opt, steps, CosineAnnealingLR(opt, T_max=total - steps, eta_min=eta_min),
                           p.get("start_factor", 0.0))


def _cosine_restarts(opt: Optimizer, p: dict[str, Any], total: int, per_epoch: int) -> LRScheduler:
    return CosineAnnealingWarmRestartsAdvanced(opt, **({"T_0": per_epoch} | p))


def _adaptive(opt: Optimizer, p: dict[str, Any], total: int, per_epoch: int) -> LRScheduler:
    return AdaptiveScheduler(opt, **p)


def _cyclical(opt: Optimizer, p: dict[str, Any], total: int, per_epoch: int) -> LRScheduler:
    require("max_lr" in p, "params: cyclical needs max_lr (the top of the cycle; the bottom is the learning "
                           "rate), e.g. params: {max_lr: 0.01}")
    return CyclicalLearningRate(opt, None, **({"step_size_up": 2 * per_epoch} | p))


def _performance(opt: Optimizer, p: dict[str, Any], total: int, per_epoch: int) -> LRScheduler:
    return PerformanceBasedScheduler(opt, **p)


def _multiphase(opt: Optimizer, p: dict[str, Any], total: int, per_epoch: int) -> LRScheduler:
    require("phases" in p, "params: multiphase needs phases, e.g. phases: [{type: constant, lr: 0.0005, "
                           "epochs: 5}, {type: cosine, lr: 0.001, epochs: 15}]")
    return MultiPhaseScheduler(opt, p["phases"], steps_per_epoch=per_epoch)


def _crypto_weekly(opt: Optimizer, p: dict[str, Any], total: int, per_epoch: int) -> LRScheduler:
    return CryptoWeeklyScheduler(opt, None, **p)


def _one_cycle(opt: Optimizer, p: dict[str, Any], total: int, per_epoch: int) -> LRScheduler:
    max_lrs = per_group("params", "max_lr", p["max_lr"], opt) if "max_lr" in p else base_rates(opt)
    require(min(max_lrs) > 0, f"params: max_lr={max_lrs} must be > 0 (the peak of the cycle)")
    pct = in_range("params", "pct_start", p.get("pct_start", 0.3), 0.0, 1.0, low_open=True, high_open=True,
                   rule=": the share of total_steps spent rising")
    three = p.get("three_phase", False)
    momentum = p.get("cycle_momentum", False)
    for name, flag in (("three_phase", three), ("cycle_momentum", momentum)):
        require(isinstance(flag, bool), f"params: {name}={flag!r} must be true or false")
    require(pct * total >= 2, f"params: pct_start={pct} * total_steps={total} gives under 2 rising steps; "
                              "train for more steps or raise pct_start")
    require(not three or pct < 0.5, f"params: three_phase needs pct_start < 0.5 (rise and fall take "
                                    f"2 * pct_start of the steps), got {pct}")
    require(not momentum or "momentum" in opt.defaults or "betas" in opt.defaults,
            f"params: cycle_momentum=true needs an optimizer with momentum or betas, but {type(opt).__name__} "
            "has neither; set cycle_momentum: false")
    div = in_range("params", "div_factor", p.get("div_factor", 25.0), 1.0, None,
                   rule=": the start rate is max_lr / div_factor")
    final = in_range("params", "final_div_factor", p.get("final_div_factor", 1e4), 1.0, None,
                     rule=": the final rate is max_lr / div_factor / final_div_factor")
    anneal = choice("params", "anneal_strategy", p.get("anneal_strategy", "cos"), ("cos", "linear"))
    return OneCycleScheduler(opt, max_lr=max_lrs, total_steps=total, pct_start=pct, anneal_strategy=anneal,
                             div_factor=div, final_div_factor=final, three_phase=three, cycle_momentum=momentum)


_BUILDERS: dict[str, Builder] = {
    "constant": _constant, "warmup": _warmup, "cosine_restarts": _cosine_restarts, "adaptive": _adaptive,
    "cyclical": _cyclical, "performance": _performance, "multiphase": _multiphase,
    "crypto_weekly": _crypto_weekly, "one_cycle": _one_cycle,
}


def build_scheduler(optimizer: Optimizer, config: SchedulerConfig, *, total_steps: int,
                    steps_per_epoch: int) -> ScheduleHandle:
    """Build the scheduler of ``config`` on ``optimizer`` (whose rates are the base rates).

    Args:
        optimizer: The optimizer, built with the profile's learning rate.
        config: The profile's ``train.scheduler`` section.
        total_steps: Optimizer steps of the whole training run (epochs * steps_per_epoch).
        steps_per_epoch: Optimizer steps (batches) per epoch.

    Returns:
        The scheduler and what its ``step`` needs (see :class:`ScheduleHandle`).

    Raises:
        ParamsError: an unknown parameter (listing the accepted ones) or a bad value, naming
            the kind, the parameter, the value and the rule.

    Example:
        >>> opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1e-3)
        >>> config = SchedulerConfig(kind="crypto_weekly", params={"period": 7})
        >>> handle = build_scheduler(opt, config, total_steps=70, steps_per_epoch=7)
        >>> type(handle.scheduler).__name__, handle.needs
        ('CryptoWeeklyScheduler', None)
    """
    kind = config.kind
    where = f"train.scheduler (kind={kind!r})"
    if kind not in _BUILDERS:
        raise ParamsError(f"{where}: unknown kind; use one of {', '.join(SCHEDULER_KINDS)}")
    total_steps = as_int(where, "total_steps", total_steps, 1, " (optimizer steps of the run)")
    steps_per_epoch = as_int(where, "steps_per_epoch", steps_per_epoch, 1, " (optimizer steps per epoch)")
    accepted = SCHEDULER_PARAMS[kind]
    unknown = sorted(set(config.params) - set(accepted))
    if unknown:
        listing = f"accepted: {', '.join(accepted)}" if accepted else "it takes no parameters"
        raise ParamsError(f"{where}: unknown parameter(s) {unknown}; {listing}")
    try:
        scheduler = _BUILDERS[kind](optimizer, dict(config.params), total_steps, steps_per_epoch)
    except ParamsError as exc:
        raise ParamsError(f"{where}: {exc}") from None
    return ScheduleHandle(scheduler, SCHEDULER_NEEDS[kind])


def preview(kind: str, params: dict[str, Any], steps: int, base_lr: float = 1e-3,
            metrics: list[float] | None = None, *, steps_per_epoch: int | None = None) -> list[float]:
    """The rate of every step of a schedule, on a dummy optimizer (for a CLI preview).

    Value ``i`` is the rate the ``i``-th optimizer step would use. The schedule is built by
    :func:`build_scheduler` with ``total_steps=steps``. Metric-driven kinds (adaptive:
    training losses; performance: validation metrics, one call per preview step, i.e. a step
    is an epoch there) are fed ``metrics[i]`` after value ``i``; without ``metrics`` they get a
    flat sequence of 1.0 (so adaptive holds its rate and performance cuts it after its patience).

    Args:
        kind: A scheduler kind (see :data:`SCHEDULER_KINDS`).
        params: The kind's parameters, as in a profile.
        steps: Number of rates to return, >= 1.
        base_lr: The optimizer's learning rate, > 0.
        metrics: At least ``steps`` metrics, for metric-driven kinds only.
        steps_per_epoch: Steps per epoch for defaults and ``epochs``; None = ``max(1, steps // 10)``.

    Example:
        >>> [round(r, 6) for r in preview("crypto_weekly", {"period": 4}, steps=4, base_lr=1.0)]
        [1.5, 1.0, 0.5, 1.0]
    """
    require(kind in SCHEDULER_KINDS, f"preview: unknown kind={kind!r}; use one of {', '.join(SCHEDULER_KINDS)}")
    steps = as_int("preview", "steps", steps, 1, " (number of rates to show)")
    base_lr = in_range("preview", "base_lr", base_lr, 0.0, None, low_open=True, rule=": the learning rate")
    require(isinstance(params, dict), f"preview: params={params!r} must be a mapping of parameter names to values")
    weight = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=base_lr)
    config = SchedulerConfig(kind=kind, params=params)  # type: ignore[arg-type]
    handle = build_scheduler(optimizer, config, total_steps=steps,
                             steps_per_epoch=steps_per_epoch or max(1, steps // 10))
    if handle.needs is None:
        require(metrics is None, f"preview: kind {kind!r} is step-driven and takes no metrics; leave metrics out")
        feed: list[float] | None = None
    else:
        feed = [1.0] * steps if metrics is None else [float(m) for m in metrics]
        require(len(feed) >= steps, f"preview: {len(feed)} metrics for steps={steps}; give one metric per step")
    rates: list[float] = []
    for i in range(steps):
        rates.append(float(optimizer.param_groups[0]["lr"]))
        if i == steps - 1:
            break
        optimizer.step()  # no gradient: changes nothing, but tells torch the order of calls is right
        if feed is None:
            handle.scheduler.step()
        else:
            # needs is set only for the metric-driven kinds, whose step takes the metric
            assert isinstance(handle.scheduler, (AdaptiveScheduler, PerformanceBasedScheduler))
            handle.scheduler.step(feed[i])
    return rates
