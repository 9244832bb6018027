"""The Optuna tuner: samplers, pruners, storage, failures, stale-trial recovery, resume.

A study lives in a storage: by default a journal file ``studies/<name>.journal`` (safe for
several worker processes on one machine; ``optuna-dashboard studies/<name>.journal`` opens it),
or any SQLAlchemy URL (PostgreSQL for several machines). Re-running the same search resumes the
study up to ``n_trials`` finished trials. A trial left RUNNING by a worker that died (Ctrl-C,
a killed process) is marked failed on the next start and its configuration is tried again.

Every trial records in its user attributes its full configuration, the data fingerprint, the
package versions, its seed, device, duration, stop reason and, when it failed, why. A trial that
raises, produces NaN, times out or would exceed the memory or parameter budget is recorded with
its reason and the study goes on (:class:`TrialFailed` is the only exception Optuna catches).

Example:
    >>> result = run_search(TrialConfig.default(), SearchConfig(n_trials=3))  # doctest: +SKIP
    >>> result.summary["states"]  # doctest: +SKIP
    {'COMPLETE': 3}
"""

from __future__ import annotations

import math
import os
import socket
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import optuna
from optuna.trial import FrozenTrial, TrialState
from tqdm.auto import tqdm

from cryptexlab.data.prepare import load_windows
from cryptexlab.data.windows import Windows
from cryptexlab.devices import DeviceLedger, visible_devices
from cryptexlab.errors import CryptexError, ParamsError
from cryptexlab.params import OBJECTIVE_DIRECTIONS, TABULAR_KINDS, TIMELLM_KINDS, SearchConfig
from cryptexlab.search.recovery import claimed_trials, finished_trials, recover_stale_trials, running_elsewhere
from cryptexlab.search.spaces import InvalidConfiguration, TrialConfig, apply, space_for
from cryptexlab.search.storage import StorageLost, lost_in, storage_for
from cryptexlab.training import ExperimentResult, batch_size_for, pick_device, run_experiment
from cryptexlab.versions import package_versions

VERSIONED = ("cryptexlab", "optuna", "torch", "transformers", "numpy", "pandas")
Runner = Callable[..., ExperimentResult]


class TrialFailed(CryptexError):
    """A trial that failed for a recorded reason; the study goes on."""


@dataclass
class SearchResult:
    """What a search produced."""

    study: optuna.Study
    summary: dict[str, Any]
    ran: int = 0
    seconds: float = 0.0

    @property
    def summary_line(self) -> str:
        """One line for a report: what this call ran and what the study now holds (the progress bar's last word)."""
        states = ", ".join(f"{n} {s.lower()}" for s, n in sorted(self.summary["states"].items()))
        return (f"Ran {self.ran} trial(s) in {self.seconds:.0f} s; study `{self.study.study_name}` holds "
                f"{self.summary['trials']} trial(s): {states or 'none'}.")

    @property
    def best_trials(self) -> list[FrozenTrial]:
        """The best trial (single objective) or the Pareto front (several objectives)."""
        return self.study.best_trials

    @property
    def best_params(self) -> dict[str, Any]:
        """Parameters of the best trial (of the first Pareto trial when multi-objective)."""
        return self.best_trials[0].params if self.best_trials else {}

    @property
    def best_value(self) -> float | list[float] | None:
        """Best objective value(s)."""
        if not self.best_trials:
            return None
        values = self.best_trials[0].values
        return values[0] if len(values) == 1 else values


def make_sampler(search: SearchConfig) -> optuna.samplers.BaseSampler:
    """The seeded sampler of ``search.method``.

    TPE and GP read the budgets' constraints that each trial sets (``Trial.set_constraint``, Optuna 5;
    ``constraints_func`` is deprecated there); the other methods ignore them, and an infeasible
    configuration is never trained whatever the method.
    """
    seed = search.seed
    if search.method in ("tpe", "ray"):  # ray: the study's own sampler is unused (Ray's OptunaSearch samples)
        return optuna.samplers.TPESampler(seed=seed)
    if search.method == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if search.method == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if search.method == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if search.method == "qmc":
        return optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)
    return optuna.samplers.GridSampler(search.grid, seed=seed)


def make_pruner(search: SearchConfig) -> optuna.pruners.BasePruner:
    """The pruner of ``search.pruner`` (always ``NopPruner`` for multi-objective studies)."""
    if search.pruner == "none" or len(search.objectives) > 1:
        return optuna.pruners.NopPruner()
    return {
        "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0),
        "hyperband": lambda: optuna.pruners.HyperbandPruner(min_resource=1),
        "successive_halving": lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=1),
        "wilcoxon": _wilcoxon,
    }[search.pruner]()


def _wilcoxon() -> optuna.pruners.BasePruner:
    """Optuna's WilcoxonPruner (p < 0.1), without its ExperimentalWarning (experimental since Optuna 3.6)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.pruners.WilcoxonPruner(p_threshold=0.1)


def open_study(base: TrialConfig, search: SearchConfig, storage: optuna.storages.BaseStorage | None = None
               ) -> optuna.Study:
    """Create or load the study; refuse to mix data specifications under one name.

    A new study records its configuration (user attribute ``spec``: the base configuration and the
    search section), so that ``cryptexlab worker`` on another machine joins it with the study name
    and the storage alone.
    """
    storage = storage or storage_for(search)[0]
    study = optuna.create_study(study_name=search.study_name, storage=storage, load_if_exists=True,
                                directions=[OBJECTIVE_DIRECTIONS[o] for o in search.objectives],
                                sampler=make_sampler(search), pruner=make_pruner(search))
    if not study.metric_names:  # optuna-dashboard (and the analysis) name the objectives, not "Objective 0"
        with warnings.catch_warnings():  # marked experimental since Optuna 3.2
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(list(search.objectives))
    fingerprint = base.fingerprint()
    known = study.user_attrs.get("data_fingerprint")
    if known is None:
        study.set_user_attr("data_fingerprint", fingerprint)
        study.set_user_attr("objectives", list(search.objectives))
        study.set_user_attr("mode", search.mode)
        study.set_user_attr("spec", {"base": base.to_dict(),
                                     "search": search.model_dump(mode="json", exclude={"storage", "study_name"})})
        if search.cv is not None:
            study.set_user_attr("cv", search.cv.model_dump())
    elif known != fingerprint and search.mode != "comprehensive":
        raise ParamsError(f"study {search.study_name!r} was run on other data or windows (fingerprint {known}, "
                          f"now {fingerprint}); choose another study_name or restore the data section")
    else:
        scored = study.user_attrs.get("cv")
        now = search.cv.model_dump() if search.cv is not None else None
        if scored != now:
            raise ParamsError(f"study {search.study_name!r} scored its trials {_scoring(scored)}, but this search "
                              f"scores them {_scoring(now)}: their values would not compare; choose another "
                              "study_name or restore the cv setting")
    return study


def _scoring(cv: dict[str, Any] | None) -> str:
    return "on the validation period" if cv is None else f"by cross-validation {cv}"


def run_search(base: TrialConfig, search: SearchConfig, *, runner: Runner | None = None,
               show_progress_bar: bool = True) -> SearchResult:
    """Run or resume a study until ``n_trials`` trials have finished (or ``timeout_s``).

    Any number of processes may run this on one study at once (``cryptexlab worker``): each stops
    when finished and running trials together reach ``n_trials``, then waits for the other workers'
    running trials, so that a trial whose worker dies is failed and retried here. A trial that
    starts after the budget was claimed (two workers started one at the same moment) is failed as
    "surplus" before it trains and does not count. ``runner`` trains one configuration (default:
    :func:`cryptexlab.training.run_experiment`). ``method: ray`` runs the trials through Ray Tune
    (:mod:`cryptexlab.search.ray_tune`) into the same study.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    start = time.perf_counter()
    storage, _ = storage_for(search)
    study = open_study(base, search, storage)
    if search.method == "ray":
        from cryptexlab.search.ray_tune import run_ray_trials

        before = finished_trials(study)
        run_ray_trials(study, base, search, runner or run_experiment, search.n_trials - before, show_progress_bar)
    else:
        recover_stale_trials(study, storage)
        _warm_start(study, search)
        before = finished_trials(study)
        objective = _within_budget(study, search, make_objective(base, search, runner or run_experiment))
        with tqdm(total=search.n_trials, initial=before, desc=study.study_name, unit="trial",
                  disable=not show_progress_bar) as bar:
            _drive(study, storage, search, objective, bar)
    return SearchResult(study, summarize(study), ran=finished_trials(study) - before,
                        seconds=time.perf_counter() - start)


#: Seconds between two looks at the other workers' running trials once the budget is claimed.
POLL_S = 1.0


def _drive(study: optuna.Study, storage: optuna.storages.BaseStorage, search: SearchConfig,
           objective: Callable[[optuna.Trial], float | tuple[float, ...]], bar: tqdm) -> None:
    """Run trials while the budget is not claimed; then wait for the other workers' running trials."""
    deadline = None if search.timeout_s is None else time.monotonic() + search.timeout_s
    heartbeat = isinstance(storage, optuna.storages.RDBStorage)
    stop_rule = _terminator() if search.terminator and len(search.objectives) == 1 else None

    def after_trial(study: optuna.Study, trial: FrozenTrial) -> None:
        recover_stale_trials(study, storage)  # a worker on this host that died meanwhile
        bar.n = min(finished_trials(study), search.n_trials)
        bar.refresh()
        if claimed_trials(study) >= search.n_trials:
            study.stop()
        elif stop_rule is not None:
            stop_rule(study, trial)

    while True:
        recover_stale_trials(study, storage)
        if claimed_trials(study) < search.n_trials:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return
            try:
                study.optimize(objective, timeout=left, catch=(TrialFailed,), callbacks=[after_trial])
            except Exception as exc:
                lost = lost_in(exc)
                if lost is None:
                    raise
                raise lost from None
            if claimed_trials(study) < search.n_trials:  # stopped by the timeout, the terminator or an exhausted grid
                return
            continue
        if not running_elsewhere(study, heartbeat) or (deadline is not None and time.monotonic() > deadline):
            bar.n = min(finished_trials(study), search.n_trials)
            bar.refresh()
            return
        time.sleep(POLL_S)
        if heartbeat:
            with warnings.catch_warnings():  # experimental since Optuna 2.9
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(study)


def _within_budget(study: optuna.Study, search: SearchConfig,
                   objective: Callable[[optuna.Trial], float | tuple[float, ...]]
                   ) -> Callable[[optuna.Trial], float | tuple[float, ...]]:
    """The objective, refusing a trial whose lower-numbered trials already claim ``n_trials``.

    Trial numbers are given out one at a time by the storage, so this count is exact however many
    workers started a trial at once. A refused trial that held an enqueued configuration (a retry)
    puts it back in the queue.
    """

    def guarded(trial: optuna.Trial) -> float | tuple[float, ...]:
        claimed = claimed_trials(study, before=trial.number)
        if claimed >= search.n_trials:
            frozen = next(t for t in study.get_trials(deepcopy=False) if t.number == trial.number)
            if "fixed_params" in frozen.system_attrs:
                study.add_trial(optuna.trial.create_trial(state=TrialState.WAITING, system_attrs=frozen.system_attrs,
                                                          user_attrs=frozen.user_attrs))
            fail(trial, f"surplus: trials below {trial.number} already claim the {search.n_trials} of the budget")
        return objective(trial)

    return guarded


def make_objective(base: TrialConfig, search: SearchConfig, runner: Runner = run_experiment
                   ) -> Callable[[optuna.Trial], float | tuple[float, ...]]:
    """The objective: sample, check budgets, then score the configuration on the validation period
    (or, with ``search.cv``, by cross-validation: :mod:`cryptexlab.search.cv_objective`)."""
    space = _grid_space if search.method == "grid" else space_for(search.mode)
    if search.cv is not None:
        from cryptexlab.search.cv_objective import cv_evaluator

        evaluate = cv_evaluator(search, runner)
    else:
        evaluate = _holdout_evaluator(search, runner)
    ledger = device_ledger(search)

    def objective(trial: optuna.Trial) -> float | tuple[float, ...]:
        start = time.perf_counter()
        trial.set_user_attr("worker", {"pid": os.getpid(), "host": socket.gethostname()})
        trial.set_user_attr("versions", package_versions(*VERSIONED))
        try:
            config = space(trial, base, search)
        except InvalidConfiguration as exc:
            fail(trial, f"invalid: {exc}")
        if search.trial_timeout_s:
            config = apply(config, {"train.timeout_s": search.trial_timeout_s})
        trial.set_user_attr("config", config.to_dict())
        trial.set_user_attr("configuration", config.describe())  # readable in optuna-dashboard
        trial.set_user_attr("data_fingerprint", config.fingerprint())
        trial.set_user_attr("seed", config.train.seed)
        estimate_mib = _check_budgets(trial, config, search)
        slot = _place(trial, config, estimate_mib, ledger)
        try:
            values = evaluate(trial, config if slot is None else apply(config, {"train.device": slot}))
        except (optuna.TrialPruned, TrialFailed, StorageLost):
            raise
        except (CryptexError, RuntimeError, ValueError, MemoryError) as exc:
            fail(trial, f"error: {type(exc).__name__}: {exc}")
        finally:
            if slot is not None and ledger is not None:
                ledger.release(_slot_key(trial))
        trial.set_user_attr("duration_s", time.perf_counter() - start)
        if any(not math.isfinite(v) for v in values):
            fail(trial, f"non-finite objective {dict(zip(search.objectives, values, strict=True))}")
        return values[0] if len(values) == 1 else values

    return objective


Evaluator = Callable[[optuna.Trial, TrialConfig], tuple[float, ...]]


def _holdout_evaluator(search: SearchConfig, runner: Runner) -> Evaluator:
    """Train once, score on the validation period; pruned per epoch (single objective)."""
    windows_cache: dict[str, Windows] = {}
    single = len(search.objectives) == 1

    def evaluate(trial: optuna.Trial, config: TrialConfig) -> tuple[float, ...]:
        windows = _windows(windows_cache, config)

        def report(epoch: int, value: float) -> None:
            if single:  # Wilcoxon pairs the epochs of this trial with the best trial's
                trial.report(value, epoch)
                if trial.should_prune():
                    trial.set_user_attr("pruned_at_epoch", epoch)
                    raise optuna.TrialPruned(f"pruned after epoch {epoch}")

        result = runner(config.data, config.model, config.train, windows=windows, report=report, evaluate_test=False)
        trial.set_user_attr("device", result.device)
        trial.set_user_attr("stop_reason", result.stop_reason)
        trial.set_user_attr("val", result.val)
        trial.set_user_attr("val_random_walk", result.val_random_walk)
        trial.set_user_attr("val_windows", result.val_windows)
        trial.set_user_attr("windows", {"trained": result.windows_trained, "evaluated": result.windows_evaluated})
        trial.set_user_attr("curve", result.curve)
        if result.stop_reason in ("nan_loss", "timeout"):
            fail(trial, result.stop_reason)
        return tuple(_objective_value(o, result) for o in search.objectives)

    return evaluate


def summarize(study: optuna.Study) -> dict[str, Any]:
    """Counts by state, failures by reason, the best value(s)."""
    trials = study.get_trials(deepcopy=False)
    failures = Counter(str(t.user_attrs.get("failure_reason", "unknown")).split(":")[0]
                       for t in trials if t.state == TrialState.FAIL)
    best = [{"number": t.number, "values": t.values, "params": t.params} for t in study.best_trials] \
        if any(t.state == TrialState.COMPLETE for t in trials) else []
    return {"study": study.study_name, "trials": len(trials),
            "states": dict(Counter(t.state.name for t in trials)), "failures": dict(failures), "best": best}


# ----------------------------------------------------------------------------- helpers


def _objective_value(name: str, result: ExperimentResult) -> float:
    if name == "train_seconds":
        return float(result.seconds)
    return float(result.val[name.removeprefix("val_")])


def fail(trial: optuna.Trial, reason: str) -> NoReturn:
    """Record why the trial failed and stop it (the study goes on)."""
    trial.set_user_attr("failure_reason", reason)
    raise TrialFailed(reason)


def device_ledger(search: SearchConfig) -> DeviceLedger | None:
    """The ledger that packs this host's trials onto its GPUs (``search.devices: auto`` and a GPU present), or None."""
    if search.devices == "none":
        return None
    devices = visible_devices()
    if not devices:
        return None
    path = Path(tempfile.gettempdir()) / f"cryptexlab-devices-{os.getuid()}.json"  # shared by this host's workers
    return DeviceLedger(path, devices, margin=search.device_margin)


def _slot_key(trial: optuna.Trial) -> str:
    return f"{trial.study.study_name}#{trial.number}"


def _place(trial: optuna.Trial, config: TrialConfig, estimate_mib: float | None,
           ledger: DeviceLedger | None) -> str | None:
    """Pin the trial to the GPU with the most room for its memory estimate (waiting for room); None: no placement."""
    if ledger is None or not estimate_mib or config.train.device not in ("auto", "cuda"):
        return None
    try:
        device = ledger.acquire(_slot_key(trial), estimate_mib)
    except ParamsError as exc:
        fail(trial, f"memory_budget: {exc}")
    trial.set_user_attr("placed_on", {"device": device.name, "estimate_mib": estimate_mib,
                                      "capacity_mib": ledger.capacity_mib(device)})
    return device.name


def _check_budgets(trial: optuna.Trial, config: TrialConfig, search: SearchConfig) -> float | None:
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
        from cryptexlab.models.baselines import build_baseline

        net = build_baseline(config.model.kind, w.seq_len, w.pred_len)
        return 0.0, sum(p.numel() for p in net.parameters() if p.requires_grad)
    from cryptexlab.memory import backbone_facts, estimate_memory
    from cryptexlab.models.backbones import load_backbone

    facts = backbone_facts(load_backbone(config.model.llm_model, config.model.llm_layers))
    batch = batch_size_for(config.train, config.model, w.seq_len, w.pred_len, config.train.max_train_windows or 4096,
                           str(pick_device(config.train.device)))
    est = estimate_memory(config.model, w.seq_len, w.pred_len, batch, facts)
    return est.total / 2**20, est.trainable_params



def _windows(cache: dict[str, Windows], config: TrialConfig) -> Windows:
    key = config.fingerprint()
    if key not in cache:
        if len(cache) >= 4:
            cache.pop(next(iter(cache)))
        cache[key] = load_windows(config.data)
    return cache[key]


def _grid_space(trial: optuna.Trial, base: TrialConfig, search: SearchConfig) -> TrialConfig:
    return apply(base, {k: trial.suggest_categorical(k, v) for k, v in search.grid.items()})


def _warm_start(study: optuna.Study, search: SearchConfig) -> None:
    if study.user_attrs.get("warm_started"):
        return
    if search.import_from:
        storage, _ = storage_for(search.model_copy(update={"study_name": search.import_from}))
        try:
            source = optuna.load_study(study_name=search.import_from, storage=storage)
        except KeyError:
            raise ParamsError(f"import_from: no study {search.import_from!r} in {storage_for(search)[1]}") from None
        study.add_trials([t for t in source.get_trials(states=(TrialState.COMPLETE,))])
    for params in search.enqueue:
        study.enqueue_trial(params, skip_if_exists=True)
    study.set_user_attr("warm_started", True)


def _terminator() -> Callable[[optuna.Study, FrozenTrial], None]:
    """Optuna's TerminatorCallback, for ``search.terminator``.

    ``optuna.terminator`` is deprecated since Optuna 4.9 (removal planned for 6.0) and its classes
    raise a FutureWarning when built. It is imported here, not with this module: ``import optuna``
    does not load it (so ``optuna.terminator`` alone is an AttributeError), and the warning then
    appears only in a search that asks for a terminator, never at import.
    """
    from optuna.terminator import Terminator, TerminatorCallback

    return TerminatorCallback(Terminator())
