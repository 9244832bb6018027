"""Stale trials: RUNNING trials of workers that died, failed and tried again; what counts as finished.

A worker records its host and pid on every trial it starts (user attribute ``worker``). On the
next start, :func:`recover_stale_trials` marks a RUNNING trial whose worker on this host no longer
exists as failed ("stale: worker died") and enqueues its parameters again; :func:`finished_trials`
does not count such failures towards ``n_trials``.
"""

from __future__ import annotations

import os
import socket

import optuna
from optuna.trial import FrozenTrial, TrialState

from cryptexlab.errors import ParamsError


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


def ranked_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Completed single-objective trials, best first (by the study's direction)."""
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.values is not None and len(t.values) == 1]
    sign = 1.0 if study.directions[0].name == "MINIMIZE" else -1.0
    return sorted(done, key=lambda t: sign * float(t.values[0]))


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
