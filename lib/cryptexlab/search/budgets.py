"""A trial's memory and parameter budgets, and its place on this host's GPUs.

Every trial records its memory estimate and trainable parameters (the analysis plots them); with a
budget (``memory_budget_mib``, ``max_trainable_params``) the constraint values are set for TPE and GP
(<= 0 feasible) and an infeasible configuration fails before it trains. With GPUs visible, the
:class:`~cryptexlab.devices.DeviceLedger` pins the trial to the device with the most room.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import optuna

from cryptexlab.devices import DeviceLedger, visible_devices
from cryptexlab.errors import CryptexError, ParamsError
from cryptexlab.memory import backbone_facts, estimate_memory
from cryptexlab.models.backbones import load_backbone
from cryptexlab.models.baselines import build_baseline
from cryptexlab.params import TABULAR_KINDS, TIMELLM_KINDS, SearchConfig
from cryptexlab.search.config import TrialConfig
from cryptexlab.search.trial import fail
from cryptexlab.training import batch_size_for, pick_device


def device_ledger(search: SearchConfig) -> DeviceLedger | None:
    """The ledger that packs this host's trials onto its GPUs (``search.devices: auto`` and a GPU present), or None."""
    if search.devices == "none":
        return None
    devices = visible_devices()
    if not devices:
        return None
    path = Path(tempfile.gettempdir()) / f"cryptexlab-devices-{os.getuid()}.json"  # shared by this host's workers
    return DeviceLedger(path, devices, margin=search.device_margin)


def slot_key(trial: optuna.Trial) -> str:
    return f"{trial.study.study_name}#{trial.number}"


def place(trial: optuna.Trial, config: TrialConfig, estimate_mib: float | None,
           ledger: DeviceLedger | None) -> str | None:
    """Pin the trial to the GPU with the most room for its memory estimate (waiting for room); None: no placement."""
    if ledger is None or not estimate_mib or config.train.device not in ("auto", "cuda"):
        return None
    try:
        device = ledger.acquire(slot_key(trial), estimate_mib)
    except ParamsError as exc:
        fail(trial, f"memory_budget: {exc}")
    trial.set_user_attr("placed_on", {"device": device.name, "estimate_mib": estimate_mib,
                                      "capacity_mib": ledger.capacity_mib(device)})
    return device.name


def check_budgets(trial: optuna.Trial, config: TrialConfig, search: SearchConfig) -> float | None:
    """Record the memory estimate and trainable parameters (every trial: the analysis plots them), and
    with a budget the constraint values (<= 0 feasible); refuse to train an infeasible configuration.
    Returns the estimate in MiB (None when it could not be made)."""
    budgeted = bool(search.memory_budget_mib or search.max_trainable_params)
    try:
        total_mib, params = _estimate(config)
    except (CryptexError, OSError, ValueError):
        if budgeted:  # the budget cannot be checked: the run's own error says why
            raise
        return None  # without a budget the estimate is only shown; the run reports the real problem
    trial.set_user_attr("memory_estimate_mib", total_mib)
    trial.set_user_attr("trainable_params", params)
    if not budgeted:
        return total_mib
    over_memory = total_mib - search.memory_budget_mib if search.memory_budget_mib else -1.0
    over_params = params - search.max_trainable_params if search.max_trainable_params else -1.0
    trial.set_user_attr("constraint", [float(over_memory), float(over_params)])
    trial.set_constraint("memory_over_budget_mib", float(over_memory))  # <= 0 feasible, read by TPE and GP
    trial.set_constraint("params_over_limit", float(over_params))
    if over_memory > 0:
        fail(trial, f"memory_budget: estimate {total_mib:.0f} MiB > budget {search.memory_budget_mib:.0f} MiB")
    if over_params > 0:
        fail(trial, f"param_limit: {params:,} trainable > limit {search.max_trainable_params:,}")
    return total_mib


def _estimate(config: TrialConfig) -> tuple[float, int]:
    """(estimated training memory in MiB, trainable parameters) of a Time-LLM configuration.

    Baselines are small: their parameters are counted by building them, their memory is not
    estimated (0).
    """
    w = config.data.windows
    if config.model.kind in TABULAR_KINDS:  # fitted on tables: neither torch parameters nor an activation model
        return 0.0, 0
    if config.model.kind not in TIMELLM_KINDS:
        net = build_baseline(config.model.kind, w.seq_len, w.pred_len)
        return 0.0, sum(p.numel() for p in net.parameters() if p.requires_grad)
    facts = backbone_facts(load_backbone(config.model.llm_model, config.model.llm_layers))
    batch = batch_size_for(config.train, config.model, w.seq_len, w.pred_len, config.train.max_train_windows or 4096,
                           str(pick_device(config.train.device)))
    est = estimate_memory(config.model, w.seq_len, w.pred_len, batch, facts)
    return est.total / 2**20, est.trainable_params
