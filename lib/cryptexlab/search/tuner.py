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
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import optuna
from optuna.trial import FrozenTrial, TrialState

from cryptexlab.data.prepare import load_windows
from cryptexlab.data.windows import Windows
from cryptexlab.errors import CryptexError, ParamsError
from cryptexlab.params import OBJECTIVE_DIRECTIONS, TIMELLM_KINDS, SearchConfig
from cryptexlab.paths import STUDIES_DIR
from cryptexlab.search.spaces import InvalidConfiguration, TrialConfig, apply, space_for
from cryptexlab.training import ExperimentResult, run_experiment
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
    if search.method == "tpe":
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
        "wilcoxon": lambda: optuna.pruners.WilcoxonPruner(p_threshold=0.1),
    }[search.pruner]()


def storage_for(search: SearchConfig) -> tuple[optuna.storages.BaseStorage, str]:
    """(storage, the string optuna-dashboard opens). Default: a journal file in ``studies/``."""
    target = search.storage or str(STUDIES_DIR / f"{search.study_name}.journal")
    if "://" in target:
        return optuna.storages.RDBStorage(target), target
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    return JournalStorage(JournalFileBackend(target)), target


def open_study(base: TrialConfig, search: SearchConfig) -> optuna.Study:
    """Create or load the study; refuse to mix data specifications under one name."""
    storage, _ = storage_for(search)
    study = optuna.create_study(study_name=search.study_name, storage=storage, load_if_exists=True,
                                directions=[OBJECTIVE_DIRECTIONS[o] for o in search.objectives],
                                sampler=make_sampler(search), pruner=make_pruner(search))
    fingerprint = base.fingerprint()
    known = study.user_attrs.get("data_fingerprint")
    if known is None:
        study.set_user_attr("data_fingerprint", fingerprint)
        study.set_user_attr("objectives", list(search.objectives))
        study.set_user_attr("mode", search.mode)
    elif known != fingerprint and search.mode != "comprehensive":
        raise ParamsError(f"study {search.study_name!r} was run on other data or windows (fingerprint {known}, "
                          f"now {fingerprint}); choose another study_name or restore the data section")
    return study


def recover_stale_trials(study: optuna.Study, storage: optuna.storages.BaseStorage | None = None) -> int:
    """Mark RUNNING trials of dead workers (on this host) failed and enqueue their parameters again.

    A trial is stale when its ``worker`` user attribute names this host and a process that no
    longer exists. It is marked FAIL with ``failure_reason`` "stale: worker died" (so
    :func:`finished_trials` does not count it), and its parameters are enqueued with the user
    attribute ``retry_of`` = its number.

    No private Optuna attribute is used. The Study API cannot set a user attribute of a trial
    that this process did not start, so the reason and the state go through the documented
    methods of ``storage`` (a BaseStorage, the trial looked up by study name and trial number),
    as Optuna's own ``optuna.storages.fail_stale_trials`` does; that helper only acts on
    heartbeat storages, which a journal file is not. ``study.tell`` is not used: it runs the
    sampler's ``after_trial``, and GridSampler's calls ``study.stop()``, a RuntimeError outside
    ``optimize``, when the stale trial held the last grid point. When two workers recover at
    once, only the one whose write fails the trial enqueues the retry.

    Args:
        study: The study.
        storage: The storage the study was opened on (``storage_for(search)[0]``); needed only
            when there is a stale trial to recover.

    Returns:
        The number of trials marked failed and enqueued again.

    Raises:
        ParamsError: a stale trial was found but no storage was given.
    """
    host = socket.gethostname()
    stale = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = t.user_attrs.get("worker", {})
        if worker.get("host") == host and not _alive(int(worker.get("pid", -1))):
            stale.append(t)
    if not stale:
        return 0
    if storage is None:
        raise ParamsError(f"recover_stale_trials: study {study.study_name!r} has stale trial(s) "
                          f"{[t.number for t in stale]} but storage=None; pass the storage the study was opened "
                          "on, e.g. recover_stale_trials(study, storage_for(search)[0])")
    study_id = storage.get_study_id_from_name(study.study_name)
    count = 0
    for t in stale:
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, t.number)
        try:
            storage.set_trial_user_attr(trial_id, "failure_reason", "stale: worker died")
            if not storage.set_trial_state_values(trial_id, TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:  # another worker failed it (or it finished) meanwhile
            continue
        study.enqueue_trial(t.params, user_attrs={"retry_of": t.number}, skip_if_exists=False)
        count += 1
    return count


def finished_trials(study: optuna.Study) -> int:
    """Trials that count towards n_trials (stale failures are retried, so they do not count)."""
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL))
    return sum(1 for t in done if not str(t.user_attrs.get("failure_reason", "")).startswith("stale"))


def run_search(base: TrialConfig, search: SearchConfig, *, runner: Runner | None = None,
               show_progress_bar: bool = True) -> SearchResult:
    """Run or resume a study until ``n_trials`` trials have finished (or ``timeout_s``).

    ``runner`` trains one configuration (default: :func:`cryptexlab.training.run_experiment`).
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    start = time.perf_counter()
    study = open_study(base, search)
    recover_stale_trials(study, storage_for(search)[0])
    _warm_start(study, search)
    before = finished_trials(study)
    remaining = search.n_trials - before
    if remaining > 0:
        callbacks = [_terminator()] if search.terminator and len(search.objectives) == 1 else []
        study.optimize(make_objective(base, search, runner or run_experiment), n_trials=remaining, timeout=search.timeout_s,
                       catch=(TrialFailed,), callbacks=callbacks, show_progress_bar=show_progress_bar)
    return SearchResult(study, summarize(study), ran=finished_trials(study) - before,
                        seconds=time.perf_counter() - start)


def make_objective(base: TrialConfig, search: SearchConfig, runner: Runner = run_experiment
                   ) -> Callable[[optuna.Trial], float | tuple[float, ...]]:
    """The objective: sample, check budgets, train, return the objective values."""
    space = _grid_space if search.method == "grid" else space_for(search.mode)
    windows_cache: dict[str, Windows] = {}
    single = len(search.objectives) == 1

    def objective(trial: optuna.Trial) -> float | tuple[float, ...]:
        start = time.perf_counter()
        trial.set_user_attr("worker", {"pid": os.getpid(), "host": socket.gethostname()})
        trial.set_user_attr("versions", package_versions(*VERSIONED))
        try:
            config = space(trial, base, search)
        except InvalidConfiguration as exc:
            _fail(trial, f"invalid: {exc}")
        if search.trial_timeout_s:
            config = apply(config, {"train.timeout_s": search.trial_timeout_s})
        trial.set_user_attr("config", config.to_dict())
        trial.set_user_attr("data_fingerprint", config.fingerprint())
        trial.set_user_attr("seed", config.train.seed)
        _check_budgets(trial, config, search)
        try:
            windows = _windows(windows_cache, config)

            def report(epoch: int, value: float) -> None:
                if single:  # Wilcoxon pairs the epochs of this trial with the best trial's
                    trial.report(value, epoch)
                    if trial.should_prune():
                        trial.set_user_attr("pruned_at_epoch", epoch)
                        raise optuna.TrialPruned(f"pruned after epoch {epoch}")

            result = runner(config.data, config.model, config.train, windows=windows, report=report,
                            evaluate_test=False)
        except optuna.TrialPruned:
            raise
        except (CryptexError, RuntimeError, ValueError, MemoryError) as exc:
            _fail(trial, f"error: {type(exc).__name__}: {exc}")
        trial.set_user_attr("device", result.device)
        trial.set_user_attr("duration_s", time.perf_counter() - start)
        trial.set_user_attr("stop_reason", result.stop_reason)
        trial.set_user_attr("val", result.val)
        trial.set_user_attr("val_random_walk", result.val_random_walk)
        trial.set_user_attr("val_windows", result.val_windows)
        trial.set_user_attr("windows", {"trained": result.windows_trained, "evaluated": result.windows_evaluated})
        trial.set_user_attr("curve", result.curve)
        if result.stop_reason in ("nan_loss", "timeout"):
            _fail(trial, result.stop_reason)
        values = tuple(_objective_value(o, result) for o in search.objectives)
        if any(not math.isfinite(v) for v in values):
            _fail(trial, f"non-finite objective {dict(zip(search.objectives, values, strict=True))}")
        return values[0] if single else values

    return objective


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


def _fail(trial: optuna.Trial, reason: str) -> NoReturn:
    trial.set_user_attr("failure_reason", reason)
    raise TrialFailed(reason)


def _check_budgets(trial: optuna.Trial, config: TrialConfig, search: SearchConfig) -> None:
    """Record constraint values (<= 0 feasible) and refuse to train an infeasible configuration."""
    if not (search.memory_budget_mib or search.max_trainable_params):
        return
    total_mib, params = _estimate(config)
    over_memory = total_mib - search.memory_budget_mib if search.memory_budget_mib else -1.0
    over_params = params - search.max_trainable_params if search.max_trainable_params else -1.0
    trial.set_user_attr("memory_estimate_mib", total_mib)
    trial.set_user_attr("trainable_params", params)
    trial.set_user_attr("constraint", [float(over_memory), float(over_params)])
    trial.set_constraint("memory_over_budget_mib", float(over_memory))  # <= 0 feasible, read by TPE and GP
    trial.set_constraint("params_over_limit", float(over_params))
    if over_memory > 0:
        _fail(trial, f"memory_budget: estimate {total_mib:.0f} MiB > budget {search.memory_budget_mib:.0f} MiB")
    if over_params > 0:
        _fail(trial, f"param_limit: {params:,} trainable > limit {search.max_trainable_params:,}")


def _estimate(config: TrialConfig) -> tuple[float, int]:
    """(estimated training memory in MiB, trainable parameters) of a Time-LLM configuration.

    Baselines are small: their parameters are counted by building them, their memory is not
    estimated (0).
    """
    w = config.data.windows
    if config.model.kind not in TIMELLM_KINDS:
        from cryptexlab.models.baselines import build_baseline

        net = build_baseline(config.model.kind, w.seq_len, w.pred_len)
        return 0.0, sum(p.numel() for p in net.parameters() if p.requires_grad)
    from cryptexlab.memory import backbone_facts, estimate_memory
    from cryptexlab.models.backbones import load_backbone

    facts = backbone_facts(load_backbone(config.model.llm_model, config.model.llm_layers))
    est = estimate_memory(config.model, w.seq_len, w.pred_len, config.train.batch_size, facts)
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


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
