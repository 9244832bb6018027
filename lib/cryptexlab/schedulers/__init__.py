"""Learning-rate schedulers of the forecaster, all subclasses of torch's ``LRScheduler``.

Steps are optimizer steps (one ``step()`` per batch), except for the metric-driven schedulers,
which follow ReduceLROnPlateau's ``step(metric)``: :class:`AdaptiveScheduler` (training loss,
every batch) and :class:`PerformanceBasedScheduler` (validation metric, every epoch). Every
scheduler handles several parameter groups, each with its own base rate, and round-trips
``state_dict()`` / ``load_state_dict()`` (with the optimizer's state) so that a resumed run
continues the same curve; the state dicts hold plain values, so ``torch.load(weights_only=True)``
reads them back.

Step-driven schedulers compose with ``SequentialLR``, as its first or a later member: a later
member restarts from its own step 0 at its milestone, from the groups' base rate ``initial_lr``.
:class:`WarmupScheduler` is one scheduler with a closed form, not a nested SequentialLR (which
would run one step early as a first member and raise NotImplementedError as a later one), and
:class:`OneCycleScheduler` is torch's schedule without torch's OneCycleLR's rewrite of
``initial_lr`` (which makes its neighbours run at ``1 / div_factor`` of their rate): use it, not
OneCycleLR, inside a SequentialLR. What cannot compose is refused with a ParamsError: a
metric-driven, SequentialLR or ChainedScheduler ``after`` of a WarmupScheduler. The chainable
ones (:class:`LinearWarmup`, :class:`CryptoWeeklyScheduler`, :class:`MultiPhaseScheduler`, and
the ramp of :class:`WarmupScheduler`) multiply their effects in a ``ChainedScheduler``; the
others write their closed-form rate, like torch's CyclicLR.

- :class:`WarmupScheduler` / :class:`LinearWarmup`: linear warmup, then any scheduler.
- :class:`CosineAnnealingWarmRestartsAdvanced`: cosine restarts with decaying peaks.
- :class:`AdaptiveScheduler`: follows the trend of the training loss.
- :class:`CyclicalLearningRate`: triangular / triangular2 / exp_range cycles.
- :class:`PerformanceBasedScheduler`: plateau cuts, optional raises, bounds.
- :class:`MultiPhaseScheduler`: constant / cosine / exponential / linear phases.
- :class:`CryptoWeeklyScheduler`: a one-week oscillation.
- :class:`OneCycleScheduler`: the 1cycle policy, safe inside ``SequentialLR``.
- :func:`build_scheduler`: a profile's ``train.scheduler`` -> :class:`ScheduleHandle`;
  :func:`preview`: the rate of every step, for the command line.

Example:
    >>> import torch
    >>> opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> weekly = CryptoWeeklyScheduler(opt, amplitude=0.5, period=4)
    >>> sched = WarmupScheduler(opt, warmup_steps=2, after=weekly)
    >>> rates = []
    >>> for _ in range(6):
    ...     rates.append(round(opt.param_groups[0]["lr"], 6))
    ...     opt.step()
    ...     sched.step()
    >>> rates
    [0.0, 0.5, 1.5, 1.0, 0.5, 1.0]
"""

from __future__ import annotations

from cryptexlab.schedulers._adaptive import AdaptiveScheduler, window_trend
from cryptexlab.schedulers._base import ClosedFormScheduler
from cryptexlab.schedulers._cyclical import CYCLIC_MODES, CyclicalLearningRate
from cryptexlab.schedulers._factory import (
    SCHEDULER_KINDS,
    SCHEDULER_NEEDS,
    SCHEDULER_PARAMS,
    ScheduleHandle,
    build_scheduler,
    preview,
)
from cryptexlab.schedulers._multiphase import PHASE_TYPES, MultiPhaseScheduler
from cryptexlab.schedulers._one_cycle import OneCycleScheduler
from cryptexlab.schedulers._performance import PerformanceBasedScheduler
from cryptexlab.schedulers._restarts import CosineAnnealingWarmRestartsAdvanced
from cryptexlab.schedulers._warmup import LinearWarmup, WarmupScheduler
from cryptexlab.schedulers._weekly import CryptoWeeklyScheduler

__all__ = [
    "CYCLIC_MODES",
    "PHASE_TYPES",
    "SCHEDULER_KINDS",
    "SCHEDULER_NEEDS",
    "SCHEDULER_PARAMS",
    "AdaptiveScheduler",
    "ClosedFormScheduler",
    "CosineAnnealingWarmRestartsAdvanced",
    "CryptoWeeklyScheduler",
    "CyclicalLearningRate",
    "LinearWarmup",
    "MultiPhaseScheduler",
    "OneCycleScheduler",
    "PerformanceBasedScheduler",
    "ScheduleHandle",
    "WarmupScheduler",
    "build_scheduler",
    "preview",
    "window_trend",
]
