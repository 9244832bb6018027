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

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState
from tqdm.auto import tqdm

from cryptexlab.params import SearchConfig
from cryptexlab.search.config import TrialConfig
from cryptexlab.search.objective import make_objective
from cryptexlab.search.ray_tune import run_ray_trials
from cryptexlab.search.recovery import claimed_trials, finished_trials, recover_stale_trials, running_elsewhere
from cryptexlab.search.samplers import terminator
from cryptexlab.search.storage import lost_in, storage_for
from cryptexlab.search.study import open_study, summarize, warm_start
from cryptexlab.search.trial import TrialFailed, fail
from cryptexlab.training import Runner, run_experiment


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
        before = finished_trials(study)
        run_ray_trials(study, base, search, runner or run_experiment, search.n_trials - before, show_progress_bar)
    else:
        recover_stale_trials(study, storage)
        warm_start(study, search)
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
    stop_rule = terminator() if search.terminator and len(search.objectives) == 1 else None

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
