"""Schedulers: exact per-step rates, resume from a checkpoint, bounds (hypothesis), composition,
parameter groups, every documented error, the factory and the preview."""

from __future__ import annotations

import doctest
import importlib
import io
import math
import pkgutil
import warnings
from collections.abc import Callable
from itertools import pairwise
from typing import Any, get_args

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim.lr_scheduler import (
    ChainedScheduler,
    ConstantLR,
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    CyclicLR,
    ExponentialLR,
    LRScheduler,
    OneCycleLR,
    ReduceLROnPlateau,
    SequentialLR,
)

import cryptexlab.schedulers as schedulers_pkg
from cryptexlab.errors import ParamsError
from cryptexlab.params import SchedulerConfig, SchedulerKind, TrainConfig
from cryptexlab.schedulers import (
    SCHEDULER_KINDS,
    SCHEDULER_PARAMS,
    AdaptiveScheduler,
    CosineAnnealingWarmRestartsAdvanced,
    CryptoWeeklyScheduler,
    CyclicalLearningRate,
    LinearWarmup,
    MultiPhaseScheduler,
    OneCycleScheduler,
    PerformanceBasedScheduler,
    ScheduleHandle,
    WarmupScheduler,
    build_scheduler,
    preview,
    window_trend,
)

PROPERTY = settings(max_examples=25, deadline=None)
TOL = 1e-9

# ----------------------------------------------------------------------------- helpers


def make_opt(lrs: tuple[float, ...] = (1.0,), adam: bool = False) -> torch.optim.Optimizer:
    """An optimizer with one parameter group per rate (fresh tensors, so a rebuild is independent)."""
    groups = [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    return torch.optim.Adam(groups, lr=lrs[0]) if adam else torch.optim.SGD(groups, lr=lrs[0])


def run(opt: torch.optim.Optimizer, sched: Any, n: int, metrics: list[float] | None = None,
        start: int = 0) -> list[list[float]]:
    """Rates of every group used by the next ``n`` optimizer steps, stepping the scheduler after each."""
    out = []
    for i in range(n):
        out.append([float(g["lr"]) for g in opt.param_groups])
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[start + i])
    return out


def first(rates: list[list[float]]) -> list[float]:
    return [r[0] for r in rates]


def close(a: list[float], b: list[float], rel: float = 1e-9) -> bool:
    return len(a) == len(b) and all(math.isclose(x, y, rel_tol=rel, abs_tol=1e-15) for x, y in zip(a, b, strict=True))


def torch_run(make: Callable[[torch.optim.Optimizer], Any], n: int, lrs: tuple[float, ...] = (1.0,)) -> list[float]:
    opt = make_opt(lrs)
    return first(run(opt, make(opt), n))


def weekly(t: float, base: float, a: float, period: float, phase: float = 0.0) -> float:
    return base * (1 + a * math.cos(2 * math.pi * (t + phase) / period))


def restarts(t: int, base: float, t0: int, mult: int, eta: float, decay: float) -> float:
    """Cosine restarts with decaying peaks, written out independently of the library."""
    i, start, length = 0, 0, t0
    while t >= start + length:
        start, length, i = start + length, length * mult, i + 1
    peak = max(base * decay**i, eta)
    return eta + (peak - eta) * (1 + math.cos(math.pi * (t - start) / length)) / 2


def ramp(t: int, steps: int, start: float = 0.0) -> float:
    return start + (1 - start) * min(t, steps) / steps


def half_cosine(k: int, length: int) -> float:
    return (1 + math.cos(math.pi * k / length)) / 2


def one_cycle(t: int, total: int, pct: float = 0.3, div: float = 25.0, final: float = 1e4) -> float:
    """The two-phase cosine 1cycle for a peak of 1, written out independently of torch."""
    start, top_step = 1 / div, pct * total - 1
    low = start / final
    if t <= top_step:
        return start + (1 - start) * (1 - math.cos(math.pi * t / top_step)) / 2
    return low + (1 - low) * (1 + math.cos(math.pi * (t - top_step) / (total - 1 - top_step))) / 2


def trending_losses(n: int) -> list[float]:
    """A loss that falls, rises, then falls again, with a little deterministic noise."""
    return [2.0 + math.sin(i / 9.0) + 0.05 * math.sin(i * 1.7) for i in range(n)]


Member = Callable[[torch.optim.Optimizer], LRScheduler]


def _kind(kind: str, total: int = 100, **params: Any) -> Member:
    """A factory-built scheduler of ``kind`` for ``total`` steps, to be built on an optimizer later."""
    config = SchedulerConfig(kind=kind, params=params)  # type: ignore[arg-type]
    return lambda o: build_scheduler(o, config, total_steps=total, steps_per_epoch=1).scheduler


def _sequence(opt: torch.optim.Optimizer, members: list[Member], milestones: list[int],
              reverse: bool = False) -> SequentialLR:
    """torch's SequentialLR of ``members`` (built in list order, or last one first when ``reverse``)."""
    order = list(reversed(range(len(members)))) if reverse else list(range(len(members)))
    built: dict[int, LRScheduler] = {i: members[i](opt) for i in order}
    return SequentialLR(opt, [built[i] for i in range(len(members))], milestones=milestones)


# ----------------------------------------------------------------------------- exact rates


def test_linear_warmup_from_zero_then_hold() -> None:
    opt = make_opt((2.0,))
    assert first(run(opt, WarmupScheduler(opt, warmup_steps=4), 7)) == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0, 2.0]


def test_linear_warmup_start_factor_matches_torch_linear_lr() -> None:
    ours = torch_run(lambda o: LinearWarmup(o, warmup_steps=5, start_factor=0.2), 9)
    theirs = torch_run(lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=5), 9)
    assert close(ours, theirs)
    assert close(ours, [0.2 + 0.8 * min(t, 5) / 5 for t in range(9)])


def test_warmup_then_cosine_equals_formula() -> None:
    opt = make_opt((1.0,))
    sched = WarmupScheduler(opt, 3, after=CosineAnnealingLR(opt, T_max=5, eta_min=0.1))
    expected = [t / 3 for t in range(3)] + [0.1 + 0.9 * (1 + math.cos(math.pi * k / 5)) / 2 for k in range(6)]
    assert close(first(run(opt, sched, 9)), expected)


@pytest.mark.parametrize("t_mult", [1, 2, 3])
def test_restarts_without_decay_equal_torch(t_mult: int) -> None:
    ours = torch_run(lambda o: CosineAnnealingWarmRestartsAdvanced(o, T_0=3, T_mult=t_mult, eta_min=0.05), 40)
    theirs = torch_run(lambda o: CosineAnnealingWarmRestarts(o, T_0=3, T_mult=t_mult, eta_min=0.05), 40)
    assert close(ours, theirs, rel=1e-12)


def test_restarts_with_decay_hand_recorded() -> None:
    opt = make_opt((1.0,))
    rates = first(run(opt, CosineAnnealingWarmRestartsAdvanced(opt, T_0=2, T_mult=2, restart_decay=0.5), 7))
    c1, c3 = (1 + math.cos(math.pi / 4)) / 2, (1 + math.cos(3 * math.pi / 4)) / 2
    assert close(rates, [1.0, 0.5, 0.5, 0.5 * c1, 0.25, 0.5 * c3, 0.25])


@pytest.mark.parametrize(("t0", "mult", "eta", "decay"), [(4, 1, 0.0, 0.7), (3, 2, 0.1, 0.5), (1, 3, 0.2, 0.9)])
def test_restarts_closed_form(t0: int, mult: int, eta: float, decay: float) -> None:
    opt = make_opt((1.0,))
    sched = CosineAnnealingWarmRestartsAdvanced(opt, T_0=t0, T_mult=mult, eta_min=eta, restart_decay=decay)
    expected = [restarts(t, 1.0, t0, mult, eta, decay) for t in range(60)]
    assert close(first(run(opt, sched, 60)), expected)
    assert close([sched.rates_at(t)[0] for t in range(60)], expected)


CYCLES = {
    "triangular": [1, 2, 3, 2, 1, 2, 3, 2, 1, 2],
    "triangular2": [1, 2, 3, 2, 1, 1.5, 2, 1.5, 1, 1.25],
}


@pytest.mark.parametrize("mode", ["triangular", "triangular2"])
def test_cyclical_hand_recorded(mode: str) -> None:
    opt = make_opt((1.0,), adam=True)
    assert close(first(run(opt, CyclicalLearningRate(opt, 1.0, 3.0, step_size_up=2, mode=mode), 10)), CYCLES[mode])


def test_cyclical_exp_range_formula() -> None:
    opt = make_opt((1.0,), adam=True)
    rates = first(run(opt, CyclicalLearningRate(opt, 1.0, 3.0, step_size_up=2, mode="exp_range", gamma=0.9), 12))
    triangle = [0, 0.5, 1, 0.5] * 3
    assert close(rates, [1.0 + 2.0 * x * 0.9**t for t, x in enumerate(triangle)])


@pytest.mark.parametrize(("mode", "gamma"), [("triangular", 1.0), ("triangular2", 1.0), ("exp_range", 0.97)])
def test_cyclical_equals_torch_cycliclr(mode: str, gamma: float) -> None:
    kw = {"step_size_up": 3, "step_size_down": 5, "mode": mode, "gamma": gamma}
    ours = torch_run(lambda o: CyclicalLearningRate(o, 0.1, 0.7, **kw), 40)
    theirs = torch_run(lambda o: CyclicLR(o, 0.1, 0.7, cycle_momentum=False, **kw), 40)
    assert ours == theirs


def test_cyclical_keeps_adam_betas_and_can_cycle_momentum() -> None:
    opt = make_opt((1e-3,), adam=True)
    run(opt, CyclicalLearningRate(opt, None, 1e-2, step_size_up=2), 3)
    assert opt.param_groups[0]["betas"][0] == 0.9
    opt = make_opt((1e-3,), adam=True)
    run(opt, CyclicalLearningRate(opt, None, 1e-2, step_size_up=2, cycle_momentum=True), 3)
    assert opt.param_groups[0]["betas"][0] != 0.9


def test_adaptive_hand_recorded() -> None:
    opt = make_opt((1.0,))
    sched = AdaptiveScheduler(opt, window=3, factor=0.5, increase=1.5, min_lr=0.3, max_lr=1.2)
    losses = [1, 2, 3, 3, 2, 1, 1, 1, 1, 5, 6, 7, 1, 2, 3, float("nan"), 1.0]
    rates = first(run(opt, sched, len(losses), losses))
    # rising -> 0.5; falling -> 0.75; flat; rising -> 0.375; rising -> 0.1875, clipped to 0.3; NaN: clipped
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.75, 0.75, 0.75, 0.75, 0.75, 0.75, 0.375, 0.375, 0.375, 0.3, 0.3]
    assert sched.last_trend == "diverged" and sched.losses == [1.0]


def test_adaptive_clips_at_both_bounds() -> None:
    opt = make_opt((1.0,))
    sched = AdaptiveScheduler(opt, window=2, factor=0.1, increase=3.0, min_lr=0.05, max_lr=2.0)
    rates = first(run(opt, sched, 9, [2, 1, 2, 1, 1, 2, 1, 2, 0]))
    assert rates == [1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 0.2, 0.2, 0.05]


@given(st.lists(st.floats(-100, 100), min_size=2, max_size=30), st.floats(0, 0.5))
@PROPERTY
def test_window_trend_agrees_with_polyfit(losses: list[float], tolerance: float) -> None:
    slope = np.polyfit(np.arange(len(losses)), np.array(losses), 1)[0]
    scale = float(np.mean(np.abs(losses)))
    change = slope * (len(losses) - 1) / scale if scale > 0 else 0.0
    trend = window_trend(losses, tolerance)
    if abs(abs(change) - tolerance) > 1e-6 * max(1.0, tolerance):  # away from the decision boundary
        assert trend == ("rising" if change > tolerance else "falling" if change < -tolerance else "flat")


@given(st.lists(st.floats(0.0, 10.0), min_size=5, max_size=40), st.integers(0, 3), st.integers(0, 2),
       st.sampled_from(["min", "max"]))
@PROPERTY
def test_performance_lowering_equals_reduce_lr_on_plateau(metrics: list[float], patience: int, cooldown: int,
                                                          mode: str) -> None:
    kw = {"mode": mode, "factor": 0.5, "patience": patience, "cooldown": cooldown, "min_lr": 0.01}
    opt_a, opt_b = make_opt((1.0,)), make_opt((1.0,))
    ours = first(run(opt_a, PerformanceBasedScheduler(opt_a, **kw), len(metrics), metrics))
    theirs = first(run(opt_b, ReduceLROnPlateau(opt_b, **kw), len(metrics), metrics))
    assert ours == theirs


def test_performance_raises_after_improving_streak_hand_recorded() -> None:
    opt = make_opt((0.4,))
    sched = PerformanceBasedScheduler(opt, factor=0.5, patience=1, cooldown=1, increase_factor=2.0, patience_up=2,
                                      max_lr=1.0)
    metrics = [10, 9, 8, 7, 6, 5, 4, 3, 3, 3, 3, 3]
    rates = first(run(opt, sched, len(metrics), metrics))
    # 10 is the baseline; 9, 8 -> raise to 0.8 (the cooldown swallows 7); 6, 5 -> 1.6, capped at 1.0;
    # 4 cooling; 3 improves; 3, 3 are bad: more than patience=1 of them -> cut to 0.5
    assert rates == [0.4, 0.4, 0.4, 0.8, 0.8, 0.8, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5]


def test_multiphase_every_phase_type() -> None:
    opt = make_opt((1.0,))
    phases = [{"type": "constant", "lr": 0.5, "steps": 2},
              {"type": "linear", "lr": 1.0, "end_lr": 0.5, "steps": 3},
              {"type": "cosine", "lr": 0.8, "eta_min": 0.2, "steps": 3},
              {"type": "exponential", "lr": 0.4, "gamma": 0.5, "steps": 3},
              {"type": "exponential", "lr": 0.4, "end_lr": 0.1, "steps": 3}]
    sched = MultiPhaseScheduler(opt, phases)
    expected = [0.5, 0.5, 1.0, 0.75, 0.5, 0.8, 0.5, 0.2, 0.4, 0.2, 0.1, 0.4, 0.2, 0.1, 0.1, 0.1]
    assert close(first(run(opt, sched, 16)), expected)
    assert sched.total_steps == 14


def test_multiphase_seed_example_in_epochs() -> None:
    seed = [{"type": "constant", "lr": 0.0005, "epochs": 5}, {"type": "cosine", "lr": 0.001, "epochs": 15},
            {"type": "exponential", "lr": 0.0005, "epochs": 10, "gamma": 0.9}]
    opt = make_opt((1e-3,))
    sched = MultiPhaseScheduler(opt, seed, steps_per_epoch=2)
    rates = first(run(opt, sched, 62))
    cosine = [0.001 * (1 + math.cos(math.pi * k / 29)) / 2 for k in range(30)]
    expected = [0.0005] * 10 + cosine + [0.0005 * 0.9**k for k in range(20)] + [0.0005 * 0.9**19] * 2
    assert close(rates, expected)


def test_crypto_weekly_formula_and_hand_recorded() -> None:
    opt = make_opt((1.0,))
    assert close(first(run(opt, CryptoWeeklyScheduler(opt, amplitude=0.5, period=4), 6)), [1.5, 1, 0.5, 1, 1.5, 1])
    opt = make_opt((3e-4,))
    sched = CryptoWeeklyScheduler(opt, amplitude=0.3, period=168, phase=12)
    assert close(first(run(opt, sched, 400)), [weekly(t, 3e-4, 0.3, 168, 12) for t in range(400)])


def test_crypto_weekly_base_lr_overrides_groups() -> None:
    opt = make_opt((1.0, 1.0))
    sched = CryptoWeeklyScheduler(opt, base_lr=[0.2, 0.1], amplitude=0.0, period=7)
    assert run(opt, sched, 2) == [[0.2, 0.1], [0.2, 0.1]]


def test_one_cycle_equals_torch() -> None:
    params = {"max_lr": 0.01, "pct_start": 0.25, "anneal_strategy": "linear"}
    opt = make_opt((1e-3,))
    handle = build_scheduler(opt, SchedulerConfig(kind="one_cycle", params=params), total_steps=40, steps_per_epoch=4)
    theirs = torch_run(lambda o: OneCycleLR(o, total_steps=40, cycle_momentum=False, **params), 40)
    assert first(run(opt, handle.scheduler, 40)) == theirs


@pytest.mark.parametrize(("three_phase", "anneal", "momentum"), [(False, "cos", True), (True, "linear", False),
                                                              (True, "cos", True)])
def test_one_cycle_scheduler_equals_torch_step_for_step(three_phase: bool, anneal: str, momentum: bool) -> None:
    kw = {"max_lr": [1e-2, 4e-3], "total_steps": 30, "pct_start": 0.3, "anneal_strategy": anneal,
          "three_phase": three_phase, "cycle_momentum": momentum}
    curves = []
    for cls in (OneCycleScheduler, OneCycleLR):
        opt = make_opt(LRS, adam=True)
        sched = cls(opt, **kw)
        curve = []
        for _ in range(30):
            curve.append([(g["lr"], g["betas"]) for g in opt.param_groups])
            opt.step()
            sched.step()
        curves.append(curve)
    assert curves[0] == curves[1]


def test_one_cycle_scheduler_leaves_the_groups_base_rates() -> None:
    opt = make_opt(LRS)
    sched = OneCycleScheduler(opt, max_lr=[1e-2, 4e-3], total_steps=20)
    assert [g["initial_lr"] for g in opt.param_groups] == list(LRS)  # torch's OneCycleLR: max_lr / 25
    assert not any("max_lr" in g or "min_lr" in g for g in opt.param_groups)
    assert close(sched.start_lrs, [4e-4, 1.6e-4]) and close([g["lr"] for g in opt.param_groups], sched.start_lrs)
    assert ExponentialLR(opt, gamma=0.9).base_lrs == list(LRS)  # a neighbour built later keeps the real base
    opt = make_opt(LRS)
    opt.param_groups[0]["initial_lr"] = 5e-3  # a base that an earlier scheduler recorded is kept as it is
    OneCycleScheduler(opt, max_lr=1e-2, total_steps=20)
    assert [g["initial_lr"] for g in opt.param_groups] == [5e-3, 4e-4]


def test_one_cycle_scheduler_past_total_steps_is_an_error() -> None:
    opt = make_opt()
    sched = OneCycleScheduler(opt, max_lr=1.0, total_steps=5)
    run(opt, sched, 5)
    with pytest.raises(ValueError, match=r"OneCycleScheduler: stepped 6 times but total_steps=5"):
        run(opt, sched, 1)


# ----------------------------------------------------------------------------- resume

LRS = (1e-3, 4e-4)


def _warmup_cosine(o: torch.optim.Optimizer) -> LRScheduler:
    return WarmupScheduler(o, 5, after=CosineAnnealingLR(o, T_max=20, eta_min=1e-5))


def _sequential(o: torch.optim.Optimizer) -> LRScheduler:
    return SequentialLR(o, [LinearWarmup(o, 4, 0.1), CryptoWeeklyScheduler(o, amplitude=0.4, period=7)], [4])


def _chained(o: torch.optim.Optimizer) -> LRScheduler:
    return ChainedScheduler([CryptoWeeklyScheduler(o, amplitude=0.4, period=7), ExponentialLR(o, gamma=0.97)])


PHASES = [{"type": "constant", "lr": 5e-4, "steps": 4}, {"type": "cosine", "lr": 1e-3, "steps": 10, "eta_min": 1e-4},
          {"type": "linear", "lr": 8e-4, "end_lr": 1e-4, "steps": 6}, {"type": "exponential", "lr": 1e-4,
                                                                        "end_lr": 1e-5, "steps": 5}]

#: name -> (build on an optimizer, metric per step or None)
RESUMABLE: dict[str, tuple[Callable[[torch.optim.Optimizer], Any], list[float] | None]] = {
    "warmup": (_warmup_cosine, None),
    "warmup_weekly": (lambda o: WarmupScheduler(o, 6, after=CryptoWeeklyScheduler(o, period=5)), None),
    "cosine_restarts": (lambda o: CosineAnnealingWarmRestartsAdvanced(o, 3, 2, 1e-5, 0.6), None),
    "adaptive": (lambda o: AdaptiveScheduler(o, window=4, increase=1.3, max_lr=2e-3), trending_losses(40)),
    "cyclical": (lambda o: CyclicalLearningRate(o, None, [5e-3, 2e-3], step_size_up=3, mode="triangular2"), None),
    "exp_range": (lambda o: CyclicalLearningRate(o, None, 5e-3, step_size_up=4, mode="exp_range", gamma=0.95), None),
    "performance": (lambda o: PerformanceBasedScheduler(o, patience=1, cooldown=1, increase_factor=1.5,
                                                        patience_up=2), trending_losses(40)),
    "multiphase": (lambda o: MultiPhaseScheduler(o, PHASES), None),
    "crypto_weekly": (lambda o: CryptoWeeklyScheduler(o, amplitude=0.3, period=7, phase=2), None),
    "one_cycle": (lambda o: OneCycleScheduler(o, max_lr=[1e-2, 4e-3], total_steps=40), None),
    "sequential": (_sequential, None),
    "sequential_warmup_then_one_cycle": (lambda o: _sequence(o, [_kind("warmup", warmup_steps=3, decay="constant"),
                                                                 _kind("one_cycle", total=30)], [3]), None),
    "sequential_one_cycle_then_warmup": (lambda o: _sequence(o, [_kind("one_cycle", total=10),
                                                                 _kind("warmup", total=25, warmup_steps=4)], [10]), None),
    "chained": (_chained, None),
}


@pytest.mark.parametrize("name", sorted(RESUMABLE))
@pytest.mark.parametrize("k", [1, 13])
def test_interrupt_and_resume_continues_the_same_curve(name: str, k: int) -> None:
    make, metrics = RESUMABLE[name]
    n = 30
    opt = make_opt(LRS, adam=True)
    straight = run(opt, make(opt), n, metrics)

    opt = make_opt(LRS, adam=True)
    sched = make(opt)
    before = run(opt, sched, k, metrics)
    buffer = io.BytesIO()
    torch.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer, weights_only=True)  # plain values only: safe to load

    opt = make_opt(LRS, adam=True)
    sched = make(opt)
    opt.load_state_dict(checkpoint["optimizer"])
    sched.load_state_dict(checkpoint["scheduler"])
    after = run(opt, sched, n - k, metrics, start=k)
    assert before + after == straight
    assert len({tuple(r) for r in straight}) > 1, "the schedule should change the rate in this test"


# ----------------------------------------------------------------------------- bounds (hypothesis)

rates_st = st.floats(1e-5, 1.0)


@given(rates_st, st.integers(1, 30), st.floats(0.0, 1.0))
@PROPERTY
def test_warmup_bounded_and_non_decreasing(base: float, steps: int, start: float) -> None:
    opt = make_opt((base,))
    rates = first(run(opt, WarmupScheduler(opt, steps, start_factor=start), steps + 10))
    assert all(start * base * (1 - TOL) <= r <= base * (1 + TOL) for r in rates)
    assert all(b >= a * (1 - TOL) for a, b in pairwise(rates))
    assert math.isclose(rates[-1], base, rel_tol=TOL)


@given(rates_st, st.integers(1, 12), st.integers(1, 3), st.floats(0.0, 1.0), st.floats(0.01, 1.0))
@PROPERTY
def test_restarts_bounded_and_falling_within_cycles(base: float, t0: int, mult: int, eta_share: float,
                                                    decay: float) -> None:
    eta = base * eta_share
    opt = make_opt((base,))
    sched = CosineAnnealingWarmRestartsAdvanced(opt, t0, mult, eta, decay)
    rates = first(run(opt, sched, 120))
    assert all(eta * (1 - TOL) <= r <= base * (1 + TOL) for r in rates)
    for t in range(1, 120):
        if sched.cycle_of(t)[1] > 0:  # not a restart
            assert rates[t] <= rates[t - 1] * (1 + TOL)


@given(rates_st, st.floats(1.0, 20.0), st.integers(1, 20), st.integers(1, 20),
       st.sampled_from(["triangular", "triangular2", "exp_range"]), st.floats(0.5, 1.0))
@PROPERTY
def test_cyclical_bounded(base: float, ratio: float, up: int, down: int, mode: str, gamma: float) -> None:
    opt = make_opt((base,))
    sched = CyclicalLearningRate(opt, base, base * ratio, up, down, mode, gamma if mode == "exp_range" else 1.0)
    assert all(base * (1 - TOL) <= r <= base * ratio * (1 + TOL) for r in first(run(opt, sched, 100)))


@given(rates_st, st.floats(0.0, 0.99), st.floats(0.5, 400.0), st.floats(-200, 200))
@PROPERTY
def test_crypto_weekly_bounded(base: float, amplitude: float, period: float, phase: float) -> None:
    opt = make_opt((base,))
    rates = first(run(opt, CryptoWeeklyScheduler(opt, amplitude=amplitude, period=period, phase=phase), 200))
    assert all(base * (1 - amplitude) * (1 - TOL) <= r <= base * (1 + amplitude) * (1 + TOL) for r in rates)


losses_st = st.lists(st.one_of(st.floats(0.0, 10.0), st.just(float("nan"))), min_size=1, max_size=80)


@given(losses_st, st.integers(2, 6), st.floats(0.05, 0.95), st.floats(1.0, 3.0), st.floats(0.0, 0.5),
       st.floats(1.0, 4.0))
@PROPERTY
def test_adaptive_bounded(losses: list[float], window: int, factor: float, increase: float, low_share: float,
                          high_share: float) -> None:
    opt = make_opt((0.1,))
    sched = AdaptiveScheduler(opt, window, factor, increase, 0.1 * low_share, 0.1 * high_share)
    for r in first(run(opt, sched, len(losses), losses)) + [opt.param_groups[0]["lr"]]:
        assert 0.1 * low_share * (1 - TOL) <= r <= 0.1 * high_share * (1 + TOL)


@given(st.lists(st.floats(0.0, 10.0), min_size=1, max_size=60), st.integers(0, 3), st.integers(0, 3),
       st.floats(1.0, 3.0), st.integers(1, 3), st.floats(0.05, 0.95))
@PROPERTY
def test_performance_bounded(metrics: list[float], patience: int, cooldown: int, up: float, patience_up: int,
                             factor: float) -> None:
    opt = make_opt((0.1,))
    sched = PerformanceBasedScheduler(opt, factor=factor, patience=patience, cooldown=cooldown, min_lr=0.01,
                                      max_lr=0.3, increase_factor=up, patience_up=patience_up)
    for r in first(run(opt, sched, len(metrics), metrics)) + [opt.param_groups[0]["lr"]]:
        assert 0.01 * (1 - TOL) <= r <= 0.3 * (1 + TOL)


phase_st = st.fixed_dictionaries({
    "type": st.sampled_from(["constant", "cosine", "linear", "exponential"]),
    "lr": st.floats(1e-4, 1.0), "steps": st.integers(1, 15), "end": st.floats(1e-4, 1.0)})


def _phase(spec: dict[str, Any]) -> dict[str, Any]:
    phase = {"type": spec["type"], "lr": spec["lr"], "steps": spec["steps"]}
    end = min(spec["end"], spec["lr"]) if spec["type"] == "cosine" else spec["end"]
    key = {"constant": None, "cosine": "eta_min", "linear": "end_lr", "exponential": "end_lr"}[spec["type"]]
    return phase | ({key: end} if key else {})


@given(st.lists(phase_st, min_size=1, max_size=5))
@PROPERTY
def test_multiphase_bounded_and_holds_the_last_rate(specs: list[dict[str, Any]]) -> None:
    phases = [_phase(s) for s in specs]
    values = [v for p in phases for k, v in p.items() if k in ("lr", "eta_min", "end_lr")]
    opt = make_opt((1e-3,))
    sched = MultiPhaseScheduler(opt, phases)
    rates = first(run(opt, sched, sched.total_steps + 5))
    assert all(min(values) * (1 - 1e-7) <= r <= max(values) * (1 + 1e-7) for r in rates)
    assert len(set(rates[sched.total_steps - 1:])) == 1


# ----------------------------------------------------------------------------- composition and groups


def _ramp_then(make: Callable[[torch.optim.Optimizer], Any], warm: int = 4) -> Callable[..., Any]:
    return lambda o: SequentialLR(o, [LinearWarmup(o, warm, 0.25), make(o)], milestones=[warm])


STEP_DRIVEN: dict[str, Callable[[torch.optim.Optimizer], Any]] = {
    "crypto_weekly": lambda o: CryptoWeeklyScheduler(o, amplitude=0.5, period=6),
    "multiphase": lambda o: MultiPhaseScheduler(o, PHASES),
    "cosine_restarts": lambda o: CosineAnnealingWarmRestartsAdvanced(o, 3, 2, 0.0, 0.5),
    "cyclical": lambda o: CyclicalLearningRate(o, None, 3e-3, step_size_up=3),
    "one_cycle": lambda o: OneCycleScheduler(o, max_lr=1e-2, total_steps=40),
}


def _check_ramp_then(opt: torch.optim.Optimizer, sched: Any, make: Callable[..., Any]) -> None:
    """4 ramp steps from 0.25 * the optimizer's rate 1e-3, then the rates of ``make`` run alone from its step 0."""
    rates = first(run(opt, sched, 24))
    assert close(rates[:4], [1e-3 * (0.25 + 0.75 * t / 4) for t in range(4)])
    assert close(rates[4:], torch_run(make, 20, (1e-3,)))


@pytest.mark.parametrize("name", sorted(STEP_DRIVEN))
def test_sequential_warmup_then_each_scheduler(name: str) -> None:
    opt = make_opt((1e-3,))
    _check_ramp_then(opt, _ramp_then(STEP_DRIVEN[name])(opt), STEP_DRIVEN[name])


@pytest.mark.parametrize("name", sorted(STEP_DRIVEN))
def test_warmup_scheduler_with_each_scheduler_after(name: str) -> None:
    opt = make_opt((1e-3,))
    sched = WarmupScheduler(opt, 4, after=STEP_DRIVEN[name](opt), start_factor=0.25)
    _check_ramp_then(opt, sched, STEP_DRIVEN[name])


def test_warmup_then_weekly_closed_form() -> None:
    opt = make_opt((1.0,))
    sched = WarmupScheduler(opt, 10, after=CryptoWeeklyScheduler(opt, amplitude=0.2, period=7))
    expected = [t / 10 for t in range(10)] + [weekly(t, 1.0, 0.2, 7) for t in range(30)]
    assert close(first(run(opt, sched, 40)), expected)


@pytest.mark.parametrize("name", ["crypto_weekly", "multiphase", "linear_warmup"])
def test_chained_multiplies_chainable_schedulers(name: str) -> None:
    make = {**STEP_DRIVEN, "linear_warmup": lambda o: LinearWarmup(o, 5, 0.1)}[name]
    alone = torch_run(make, 30, (1e-3,))
    opt = make_opt((1e-3,))
    chained = ChainedScheduler([make(opt), ExponentialLR(opt, gamma=0.9)])
    assert close(first(run(opt, chained, 30)), [r * 0.9**t for t, r in enumerate(alone)])
    opt = make_opt((1e-3,))
    reversed_order = ChainedScheduler([ExponentialLR(opt, gamma=0.9), make(opt)])
    assert close(first(run(opt, reversed_order, 30)), [r * 0.9**t for t, r in enumerate(alone)])


@pytest.mark.parametrize("name", ["cosine_restarts", "cyclical"])
def test_chained_closed_form_schedulers_write_their_rate(name: str) -> None:
    """Documented: like torch's classes they write the closed-form rate; members before them fade."""
    make = STEP_DRIVEN[name]
    alone = torch_run(make, 30, (1e-3,))
    opt = make_opt((1e-3,))
    assert close(first(run(opt, ChainedScheduler([ExponentialLR(opt, gamma=0.9), make(opt)]), 30)), alone)
    opt = make_opt((1e-3,))
    assert close(first(run(opt, ChainedScheduler([make(opt), ExponentialLR(opt, gamma=0.9)]), 30))[1:],
                 [r * 0.9 for r in alone[1:]])


#: name -> (members of a SequentialLR, milestones, rate / base rate at step t, steps)
SEQUENCES: dict[str, tuple[list[Member], list[int], Callable[[int], float], int]] = {
    # the review's case: step 29 runs at 29/30 of the base rate (a nested SequentialLR gave the base rate)
    "warmup_first": ([_kind("warmup", warmup_steps=30, decay="constant"), lambda o: ExponentialLR(o, gamma=0.9)],
                     [40], lambda t: ramp(t, 30) if t < 40 else 0.9 ** (t - 40), 50),
    "warmup_cosine_first": ([_kind("warmup", total=12, warmup_steps=4),
                             lambda o: ConstantLR(o, factor=0.5, total_iters=100)], [12],
                            lambda t: ramp(t, 4) if t < 4 else half_cosine(t - 4, 8) if t < 12 else 0.5, 20),
    # a nested SequentialLR raised NotImplementedError at the milestone
    "warmup_second": ([lambda o: ConstantLR(o, factor=0.5, total_iters=100),
                       _kind("warmup", total=15, warmup_steps=5, start_factor=0.2)], [6],
                      lambda t: 0.5 if t < 6 else ramp(t - 6, 5, 0.2) if t < 11 else half_cosine(t - 11, 10), 21),
    # torch's OneCycleLR: the neighbour ran at 1/25 of its rate
    "one_cycle_first": ([_kind("one_cycle", total=20), lambda o: ExponentialLR(o, gamma=0.9)], [20],
                        lambda t: one_cycle(t, 20) if t < 20 else 0.9 ** (t - 20), 30),
    "one_cycle_second": ([lambda o: LinearWarmup(o, 4, 0.25), _kind("one_cycle", total=20)], [4],
                         lambda t: ramp(t, 4, 0.25) if t < 4 else one_cycle(t - 4, 20), 24),
    "warmup_then_one_cycle": ([_kind("warmup", warmup_steps=3, decay="constant"), _kind("one_cycle", total=20)],
                              [3], lambda t: ramp(t, 3) if t < 3 else one_cycle(t - 3, 20), 23),
    "one_cycle_then_warmup": ([_kind("one_cycle", total=10), _kind("warmup", warmup_steps=4, decay="constant")],
                              [10], lambda t: one_cycle(t, 10) if t < 10 else ramp(t - 10, 4), 20),
}


@pytest.mark.parametrize("reverse", [False, True], ids=["built_in_order", "built_last_first"])
@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_factory_kinds_as_first_and_later_sequential_lr_members(name: str, reverse: bool) -> None:
    members, milestones, shape, n = SEQUENCES[name]
    opt = make_opt(LRS)
    rates = run(opt, _sequence(opt, members, milestones, reverse), n)
    for g, base in enumerate(LRS):
        assert close([r[g] for r in rates], [base * shape(t) for t in range(n)]), f"group {g}"


def test_warmup_refuses_an_after_without_closed_form() -> None:
    opt = make_opt()
    inner = SequentialLR(opt, [LinearWarmup(opt, 2), ExponentialLR(opt, gamma=0.9)], milestones=[2])
    with pytest.raises(ParamsError, match=r"WarmupScheduler: after=SequentialLR has no closed form, so it cannot "
                                          r"restart at the end of the warmup.*SequentialLR\(opt, \[LinearWarmup"):
        WarmupScheduler(opt, 3, after=inner)
    with pytest.raises(ParamsError, match=r"after=ChainedScheduler has no closed form"):
        WarmupScheduler(opt, 3, after=ChainedScheduler([ExponentialLR(opt, gamma=0.9)]))


def test_warmup_loads_a_state_dict_of_the_sequential_lr_version() -> None:
    """Checkpoints saved when WarmupScheduler was SequentialLR([LinearWarmup, after]) resume the same curve."""
    def make(o: torch.optim.Optimizer) -> LRScheduler:
        return WarmupScheduler(o, 5, after=CosineAnnealingLR(o, T_max=20, eta_min=1e-5), start_factor=0.1)

    opt = make_opt(LRS, adam=True)
    straight = run(opt, make(opt), 25)
    for k in (3, 9):
        opt = make_opt(LRS, adam=True)
        after = CosineAnnealingLR(opt, T_max=20, eta_min=1e-5)
        legacy = SequentialLR(opt, [LinearWarmup(opt, 5, 0.1), after], milestones=[5])
        before = run(opt, legacy, k)
        state, opt_state = legacy.state_dict(), opt.state_dict()
        opt = make_opt(LRS, adam=True)
        sched = make(opt)
        opt.load_state_dict(opt_state)
        sched.load_state_dict(state)
        assert all(close(a, b) for a, b in zip(before + run(opt, sched, 25 - k), straight, strict=True))


def test_warmup_state_dict_needs_the_same_after() -> None:
    opt = make_opt()
    state = WarmupScheduler(opt, 3).state_dict()
    opt = make_opt()
    with pytest.raises(ParamsError, match=r"saved without an after scheduler but this warmup has one"):
        WarmupScheduler(opt, 3, after=ExponentialLR(opt, gamma=0.9)).load_state_dict(state)


def test_metric_driven_schedulers_refuse_to_be_sequenced() -> None:
    opt = make_opt()
    with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
        ChainedScheduler([PerformanceBasedScheduler(opt)])
    with pytest.raises(ParamsError, match="after=AdaptiveScheduler is metric-driven"):
        WarmupScheduler(opt, 3, after=AdaptiveScheduler(opt))
    with pytest.raises(ParamsError, match="after=PerformanceBasedScheduler is metric-driven"):
        WarmupScheduler(opt, 3, after=PerformanceBasedScheduler(opt))
    with pytest.raises(TypeError, match="needs the training loss"):
        ChainedScheduler([AdaptiveScheduler(opt)]).step()


TWO_GROUPS: dict[str, tuple[Callable[[torch.optim.Optimizer], Any], list[float] | None]] = {
    "warmup": (lambda o: WarmupScheduler(o, 5, after=CosineAnnealingLR(o, 20)), None),
    "cosine_restarts": (lambda o: CosineAnnealingWarmRestartsAdvanced(o, 3, 2, 0.0, 0.7), None),
    "adaptive": (lambda o: AdaptiveScheduler(o, window=4, increase=1.2, max_lr=[2.0, 0.5]), trending_losses(60)),
    "cyclical": (lambda o: CyclicalLearningRate(o, None, [3.0, 0.75], step_size_up=4, mode="triangular2"), None),
    "performance": (lambda o: PerformanceBasedScheduler(o, patience=1, increase_factor=1.5, patience_up=2,
                                                        max_lr=[2.0, 0.5]), trending_losses(60)),
    "multiphase": (lambda o: MultiPhaseScheduler(o, PHASES), None),
    "crypto_weekly": (lambda o: CryptoWeeklyScheduler(o, amplitude=0.5, period=9), None),
    "one_cycle": (lambda o: build_scheduler(o, SchedulerConfig(kind="one_cycle"), total_steps=60,
                                            steps_per_epoch=6).scheduler, None),
}


@pytest.mark.parametrize("name", sorted(TWO_GROUPS))
def test_two_groups_keep_their_ratio(name: str) -> None:
    make, metrics = TWO_GROUPS[name]
    opt = make_opt((1.0, 0.25))
    rates = run(opt, make(opt), 60, metrics)
    assert all(math.isclose(a, 4 * b, rel_tol=1e-9) for a, b in rates)
    assert len({a for a, _ in rates}) > 2


def test_multiphase_rates_are_the_first_groups() -> None:
    opt = make_opt((7.0, 3.5))
    rates = run(opt, MultiPhaseScheduler(opt, [{"type": "constant", "lr": 0.2, "steps": 2}]), 2)
    assert close([r[0] for r in rates], [0.2, 0.2]) and close([r[1] for r in rates], [0.1, 0.1])


# ----------------------------------------------------------------------------- errors


def _opt() -> torch.optim.Optimizer:
    return make_opt((1e-3,))


ERRORS: list[tuple[Callable[[], Any], str]] = [
    (lambda: LinearWarmup(_opt(), 0), r"LinearWarmup: warmup_steps=0 must be >= 1"),
    (lambda: LinearWarmup(_opt(), 2.5), r"warmup_steps=2.5 must be a whole number"),
    (lambda: WarmupScheduler(_opt(), 3, start_factor=1.5), r"start_factor=1.5 is outside \[0, 1\]"),
    (lambda: WarmupScheduler(_opt(), 3, after=CosineAnnealingLR(_opt(), 5)), r"belongs to another optimizer"),
    (lambda: CosineAnnealingWarmRestartsAdvanced(_opt(), 0), r"T_0=0 must be >= 1"),
    (lambda: CosineAnnealingWarmRestartsAdvanced(_opt(), 5, T_mult=0), r"T_mult=0 must be >= 1"),
    (lambda: CosineAnnealingWarmRestartsAdvanced(_opt(), 5, eta_min=-1.0), r"eta_min=-1.0 is outside \[0, inf\]"),
    (lambda: CosineAnnealingWarmRestartsAdvanced(_opt(), 5, eta_min=0.1), r"eta_min=0.1 is above the base rate"),
    (lambda: CosineAnnealingWarmRestartsAdvanced(_opt(), 5, restart_decay=0), r"restart_decay=0 is outside \(0, 1\]"),
    (lambda: AdaptiveScheduler(_opt(), window=1), r"window=1 must be >= 2"),
    (lambda: AdaptiveScheduler(_opt(), factor=1.0), r"factor=1.0 is outside \(0, 1\)"),
    (lambda: AdaptiveScheduler(_opt(), increase=0.9), r"increase=0.9 is outside \[1, inf\]"),
    (lambda: AdaptiveScheduler(_opt(), min_lr=-1e-3), r"min_lr=-0.001 is outside \[0, inf\]"),
    (lambda: AdaptiveScheduler(_opt(), max_lr=1e-4), r"initial rate 0.001 is outside \[min_lr, max_lr\]"),
    (lambda: AdaptiveScheduler(_opt(), min_lr=[0.0, 0.0]), r"min_lr has 2 values but the optimizer has 1"),
    (lambda: AdaptiveScheduler(_opt(), tolerance=-0.1), r"tolerance=-0.1 is outside"),
    (lambda: CyclicalLearningRate(_opt(), 1e-3, 1e-4), r"max_lr=0.0001 is below base_lr=0.001"),
    (lambda: CyclicalLearningRate(_opt(), -1e-3, 1e-2), r"base_lr=-0.001 is outside \[0, inf\]"),
    (lambda: CyclicalLearningRate(_opt(), None, 1e-2, step_size_up=0), r"step_size_up=0 must be >= 1"),
    (lambda: CyclicalLearningRate(_opt(), None, 1e-2, step_size_down=0), r"step_size_down=0 must be >= 1"),
    (lambda: CyclicalLearningRate(_opt(), None, 1e-2, mode="sine"), r"unknown mode='sine'; use one of 'triangular'"),
    (lambda: CyclicalLearningRate(_opt(), None, 1e-2, gamma=0.9), r"gamma=0.9 only acts in mode='exp_range'"),
    (lambda: CyclicalLearningRate(_opt(), None, 1e-2, mode="exp_range", gamma=1.5), r"gamma=1.5 is outside \(0, 1\]"),
    (lambda: CyclicalLearningRate(torch.optim.Adagrad([torch.zeros(1, requires_grad=True)]), None, 1.0,
                                  cycle_momentum=True), r"cycle_momentum=True needs an optimizer with momentum"),
    (lambda: PerformanceBasedScheduler(_opt(), mode="best"), r"unknown mode='best'"),
    (lambda: PerformanceBasedScheduler(_opt(), factor=1.5), r"factor=1.5 is outside \(0, 1\)"),
    (lambda: PerformanceBasedScheduler(_opt(), patience=-1), r"patience=-1 must be >= 0"),
    (lambda: PerformanceBasedScheduler(_opt(), cooldown=-1), r"cooldown=-1 must be >= 0"),
    (lambda: PerformanceBasedScheduler(_opt(), increase_factor=0.5), r"increase_factor=0.5 is outside \[1, inf\]"),
    (lambda: PerformanceBasedScheduler(_opt(), patience_up=0), r"patience_up=0 must be >= 1"),
    (lambda: PerformanceBasedScheduler(_opt(), threshold_mode="pct"), r"unknown threshold_mode='pct'"),
    (lambda: PerformanceBasedScheduler(_opt(), min_lr=0.01), r"initial rate 0.001 is outside \[min_lr, max_lr\]"),
    (lambda: MultiPhaseScheduler(_opt(), []), r"phases=\[\] must be a non-empty list"),
    (lambda: MultiPhaseScheduler(_opt(), [{"type": "step", "lr": 1e-3, "steps": 2}]), r"phase 0: unknown type='step'"),
    (lambda: MultiPhaseScheduler(_opt(), [{"type": "constant", "lr": 1e-3, "epochs": 5}]),
     r"phase 0: epochs=5 needs steps_per_epoch, because the schedule counts optimizer steps"),
    (lambda: MultiPhaseScheduler(_opt(), [{"type": "constant", "lr": 1e-3, "epochs": 5, "steps": 5}]),
     r"give exactly one of steps \(optimizer steps\) or epochs"),
    (lambda: MultiPhaseScheduler(_opt(), [{"type": "constant", "lr": 1e-3}]), r"got neither"),
    (lambda: MultiPhaseScheduler(_opt(), [{"type": "constant", "lr": -1e-3, "steps": 2}]),
     r"phase 0: lr=-0.001 is outside \[0, inf\]: a learning rate cannot be negative"),
    (lambda: MultiPhaseScheduler(_opt(), [{"type": "constant", "steps": 2}]), r"a constant phase needs lr"),
    (lambda: MultiPhaseScheduler(_opt(), [{"type": "constant", "lr": 1e-3, "steps": 0}]), r"steps=0 must be >= 1"),
    (lambda: MultiPhaseScheduler(_opt(), [{"type": "constant", "lr": 1e-3, "steps": 2, "gamma": 0.9}]),
     r"unknown key\(s\) \['gamma'\] for a constant phase; accepted: type, lr, steps, epochs"),
    (lambda: MultiPhaseScheduler(_opt(), [{"type": "linear", "lr": 1e-3, "steps": 2}]), r"linear phase needs end_lr"),
    (lambda: MultiPhaseScheduler(_opt(), [{"type": "exponential", "lr": 1e-3, "steps": 2}]),
     r"exactly one of gamma \(per-step factor\) or end_lr"),
    (lambda: MultiPhaseScheduler(_opt(), [{"type": "exponential", "lr": 1e-3, "steps": 3, "end_lr": 0.0}]),
     r"end_lr=0.0 is outside \(0, inf\]: an exponential reaches 0 only in the limit"),
    (lambda: MultiPhaseScheduler(_opt(), [{"type": "cosine", "lr": 1e-3, "steps": 3, "eta_min": 1e-2}]),
     r"eta_min=0.01 is outside \[0, 0.001\]"),
    (lambda: MultiPhaseScheduler(_opt(), ["constant"]), r"phase 0 is 'constant'; each phase is a mapping"),
    (lambda: MultiPhaseScheduler(_opt(), [{"type": "constant", "lr": "1e-3", "steps": 2}]),
     r"lr='1e-3' must be a finite number \(it is text: write it unquoted, and exponents as 1.0e-3"),
    (lambda: MultiPhaseScheduler(make_opt((0.0,)), [{"type": "constant", "lr": 1e-3, "steps": 2}]),
     r"first parameter group's rate is 0.0; it must be > 0"),
    (lambda: CryptoWeeklyScheduler(_opt(), amplitude=1.0), r"amplitude=1.0 is outside \[0, 1\)"),
    (lambda: CryptoWeeklyScheduler(_opt(), amplitude=-0.1), r"amplitude=-0.1 is outside \[0, 1\)"),
    (lambda: CryptoWeeklyScheduler(_opt(), period=0), r"period=0 is outside \(0, inf\]: steps per cycle, e.g. 168"),
    (lambda: CryptoWeeklyScheduler(_opt(), base_lr=-1.0), r"base_lr=-1.0 is outside \[0, inf\]"),
    (lambda: CryptoWeeklyScheduler(_opt(), phase=float("nan")), r"phase=nan must be a finite number"),
    (lambda: CryptoWeeklyScheduler(_opt(), period=True), r"period=True must be a finite number"),
]


@pytest.mark.parametrize(("make", "match"), ERRORS, ids=[m for _, m in ERRORS])
def test_documented_errors(make: Callable[[], Any], match: str) -> None:
    with pytest.raises(ParamsError, match=match):
        make()


def test_adaptive_step_without_loss_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"AdaptiveScheduler.step needs the training loss: call step\(loss\)"):
        AdaptiveScheduler(_opt()).step()


# ----------------------------------------------------------------------------- factory

FACTORY_PARAMS: dict[str, tuple[dict[str, Any], type, str | None]] = {
    "constant": ({}, torch.optim.lr_scheduler.ConstantLR, None),
    "warmup": ({"warmup_fraction": 0.2, "eta_min": 1e-5}, WarmupScheduler, None),
    "cosine_restarts": ({"T_0": 10, "T_mult": 2, "restart_decay": 0.8}, CosineAnnealingWarmRestartsAdvanced, None),
    "adaptive": ({"window": 10, "factor": 0.7}, AdaptiveScheduler, "train_loss"),
    "cyclical": ({"max_lr": 1e-2, "mode": "triangular2"}, CyclicalLearningRate, None),
    "performance": ({"patience": 2, "increase_factor": 1.2}, PerformanceBasedScheduler, "val_loss"),
    "multiphase": ({"phases": [{"type": "constant", "lr": 5e-4, "epochs": 2},
                               {"type": "cosine", "lr": 1e-3, "steps": 30}]}, MultiPhaseScheduler, None),
    "crypto_weekly": ({"amplitude": 0.3, "period": 24}, CryptoWeeklyScheduler, None),
    "one_cycle": ({"pct_start": 0.4}, OneCycleScheduler, None),
}


def test_kinds_equal_the_params_literal() -> None:
    assert SCHEDULER_KINDS == get_args(SchedulerKind)
    assert set(SCHEDULER_PARAMS) == set(SCHEDULER_KINDS) == set(FACTORY_PARAMS)


@pytest.mark.parametrize("kind", SCHEDULER_KINDS)
def test_factory_builds_every_kind(kind: str) -> None:
    params, cls, needs = FACTORY_PARAMS[kind]
    opt = make_opt((1e-3,), adam=True)
    handle = build_scheduler(opt, SchedulerConfig(kind=kind, params=params), total_steps=100, steps_per_epoch=10)
    assert isinstance(handle, ScheduleHandle) and isinstance(handle.scheduler, LRScheduler)
    assert type(handle.scheduler) is cls and handle.needs == needs
    assert opt.param_groups[0]["betas"] == (0.9, 0.999), "the factory must not cycle Adam's beta1 by default"
    metrics = trending_losses(100) if needs else None
    rates = first(run(opt, handle.scheduler, 100 if needs != "val_loss" else 10, metrics))
    assert all(r >= 0 for r in rates)
    with pytest.raises(AttributeError):
        handle.needs = None  # type: ignore[misc]


def test_factory_default_train_config_is_constant() -> None:
    opt = make_opt((1e-3,))
    handle = build_scheduler(opt, TrainConfig().scheduler, total_steps=5, steps_per_epoch=5)
    assert handle.needs is None and first(run(opt, handle.scheduler, 5)) == [1e-3] * 5


def test_factory_warmup_defaults_to_a_tenth_then_cosine() -> None:
    opt = make_opt((1.0,))
    handle = build_scheduler(opt, SchedulerConfig(kind="warmup"), total_steps=50, steps_per_epoch=5)
    expected = [t / 5 for t in range(5)] + [(1 + math.cos(math.pi * k / 45)) / 2 for k in range(45)]
    assert close(first(run(opt, handle.scheduler, 50)), expected)


def test_factory_multiphase_converts_epochs_with_steps_per_epoch() -> None:
    opt = make_opt((1e-3,))
    params = {"phases": [{"type": "constant", "lr": 5e-4, "epochs": 2}, {"type": "constant", "lr": 1e-4, "steps": 1}]}
    handle = build_scheduler(opt, SchedulerConfig(kind="multiphase", params=params), total_steps=20, steps_per_epoch=3)
    assert close(first(run(opt, handle.scheduler, 8)), [5e-4] * 6 + [1e-4] * 2)


def _build(kind: str, params: dict[str, Any], total: int = 100, per_epoch: int = 10) -> ScheduleHandle:
    return build_scheduler(make_opt((1e-3,)), SchedulerConfig(kind=kind, params=params), total_steps=total,
                           steps_per_epoch=per_epoch)


FACTORY_ERRORS: list[tuple[str, dict[str, Any], str]] = [
    ("constant", {"lr": 1e-3}, r"kind='constant'\): unknown parameter\(s\) \['lr'\]; it takes no parameters"),
    ("warmup", {"warmup": 5}, r"unknown parameter\(s\) \['warmup'\]; accepted: warmup_steps, warmup_fraction, "
                              r"start_factor, decay, eta_min"),
    ("crypto_weekly", {"base_lr": 1e-3}, r"accepted: amplitude, period, phase"),
    ("warmup", {"warmup_steps": 5, "warmup_fraction": 0.1}, r"give warmup_steps or warmup_fraction, not both"),
    ("warmup", {"warmup_steps": 0}, r"warmup_steps=0 must be >= 1"),
    ("warmup", {"warmup_fraction": 1.0}, r"warmup_fraction=1.0 is outside \(0, 1\)"),
    ("warmup", {"warmup_steps": 100}, r"warmup_steps=100 leaves no steps for the cosine decay within total_steps=100"),
    ("warmup", {"decay": "linear"}, r"unknown decay='linear'; use one of 'cosine', 'constant'"),
    ("warmup", {"decay": "constant", "eta_min": 0.0}, r"eta_min only acts with decay='cosine'"),
    ("warmup", {"eta_min": -1e-4}, r"eta_min=-0.0001 is outside \[0, 0.001\]"),
    ("warmup", {"start_factor": -0.5}, r"start_factor=-0.5 is outside \[0, 1\]"),
    ("cosine_restarts", {"T_0": -4}, r"kind='cosine_restarts'\): CosineAnnealingWarmRestartsAdvanced: T_0=-4 must be"),
    ("adaptive", {"window": 0}, r"window=0 must be >= 2"),
    ("cyclical", {}, r"cyclical needs max_lr \(the top of the cycle"),
    ("cyclical", {"max_lr": 1e-2, "mode": "sawtooth"}, r"unknown mode='sawtooth'"),
    ("cyclical", {"max_lr": -1e-2}, r"max_lr=-0.01 is outside \[0, inf\]"),
    ("performance", {"mode": "lowest"}, r"unknown mode='lowest'"),
    ("multiphase", {}, r"multiphase needs phases"),
    ("multiphase", {"phases": [{"type": "cosine", "lr": 1e-3, "steps": 0}]}, r"steps=0 must be >= 1"),
    ("crypto_weekly", {"amplitude": 2.0}, r"amplitude=2.0 is outside \[0, 1\)"),
    ("crypto_weekly", {"period": -168}, r"period=-168 is outside \(0, inf\]"),
    ("crypto_weekly", {"period": "168"}, r"period='168' must be a finite number"),
    ("one_cycle", {"max_lr": 0.0}, r"max_lr=\[0.0\] must be > 0"),
    ("one_cycle", {"max_lr": -1.0}, r"max_lr=-1.0 is outside \[0, inf\]"),
    ("one_cycle", {"pct_start": 1.2}, r"pct_start=1.2 is outside \(0, 1\)"),
    ("one_cycle", {"anneal_strategy": "exp"}, r"unknown anneal_strategy='exp'; use one of 'cos', 'linear'"),
    ("one_cycle", {"three_phase": "yes"}, r"three_phase='yes' must be true or false"),
    ("one_cycle", {"three_phase": True, "pct_start": 0.6}, r"three_phase needs pct_start < 0.5"),
    ("one_cycle", {"div_factor": 0.5}, r"div_factor=0.5 is outside \[1, inf\]"),
    ("one_cycle", {"final_div_factor": 0}, r"final_div_factor=0 is outside \[1, inf\]"),
]


@pytest.mark.parametrize(("kind", "params", "match"), FACTORY_ERRORS, ids=[m for _, _, m in FACTORY_ERRORS])
def test_factory_errors(kind: str, params: dict[str, Any], match: str) -> None:
    with pytest.raises(ParamsError, match=match):
        _build(kind, params)


def test_factory_errors_on_run_length_and_sgd_momentum() -> None:
    with pytest.raises(ParamsError, match=r"total_steps=0 must be >= 1"):
        _build("constant", {}, total=0)
    with pytest.raises(ParamsError, match=r"steps_per_epoch=0 must be >= 1"):
        _build("constant", {}, per_epoch=0)
    with pytest.raises(ParamsError, match=r"pct_start=0.3 \* total_steps=5 gives under 2 rising steps"):
        _build("one_cycle", {}, total=5)
    adagrad = torch.optim.Adagrad([torch.zeros(1, requires_grad=True)], lr=1e-3)
    with pytest.raises(ParamsError, match=r"cycle_momentum=true needs an optimizer with momentum or betas"):
        build_scheduler(adagrad, SchedulerConfig(kind="one_cycle", params={"cycle_momentum": True}),
                        total_steps=50, steps_per_epoch=5)


# ----------------------------------------------------------------------------- preview


@pytest.mark.parametrize("kind", SCHEDULER_KINDS)
def test_preview_returns_one_rate_per_step(kind: str) -> None:
    params = FACTORY_PARAMS[kind][0]
    if kind == "multiphase":
        params = {"phases": [{"type": "cosine", "lr": 1e-3, "steps": 30}]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # preview steps the optimizer first: no ordering warning
        rates = preview(kind, params, steps=50)
    assert len(rates) == 50 and all(isinstance(r, float) and r >= 0 for r in rates)


def test_preview_metric_driven_kinds() -> None:
    assert preview("adaptive", {"window": 3}, steps=6, base_lr=1.0) == [1.0] * 6  # flat default: no change
    assert preview("adaptive", {"window": 3}, 5, 1.0, [1, 2, 3, 3, 3]) == [1.0, 1.0, 1.0, 0.5, 0.5]
    assert preview("performance", {"patience": 1}, steps=5, base_lr=1.0) == [1.0, 1.0, 1.0, 0.5, 0.5]
    with pytest.raises(ParamsError, match=r"2 metrics for steps=5; give one metric per step"):
        preview("performance", {}, steps=5, metrics=[1.0, 2.0])
    with pytest.raises(ParamsError, match=r"kind 'constant' is step-driven and takes no metrics"):
        preview("constant", {}, steps=5, metrics=[1.0] * 5)


def test_preview_errors() -> None:
    with pytest.raises(ParamsError, match=r"unknown kind='cosine'; use one of constant, warmup"):
        preview("cosine", {}, steps=5)
    with pytest.raises(ParamsError, match=r"steps=0 must be >= 1"):
        preview("constant", {}, steps=0)
    with pytest.raises(ParamsError, match=r"base_lr=0.0 is outside \(0, inf\]"):
        preview("constant", {}, steps=3, base_lr=0.0)
    with pytest.raises(ParamsError, match=r"kind='crypto_weekly'\): unknown parameter\(s\) \['periods'\]"):
        preview("crypto_weekly", {"periods": 7}, steps=3)


def test_docstring_examples_run() -> None:
    modules = [schedulers_pkg] + [importlib.import_module(f"cryptexlab.schedulers.{m.name}")
                                  for m in pkgutil.iter_modules(schedulers_pkg.__path__)]
    for module in modules:
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__
    assert sum(doctest.testmod(m).attempted for m in modules) > 30
