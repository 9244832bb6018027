"""Stale trials: RUNNING trials of workers that died, failed and tried again; what counts towards n_trials.

A worker records its host and pid on every trial it starts (user attribute ``worker``). At its
start and after each trial, :func:`recover_stale_trials` marks a RUNNING trial whose worker on this host no longer
exists as failed ("stale: worker died") and enqueues its parameters again. On an RDB storage the
heartbeat does the same across machines (:mod:`cryptexlab.search.storage`).

:func:`finished_trials` counts what a study has done towards ``n_trials``: a failure that was tried
again does not count (its retry does), nor does a surplus trial. :func:`claimed_trials` adds the
trials running now; several workers on one study stop when the claims reach ``n_trials``, so
the study ends with exactly ``n_trials`` finished trials however many workers ran it.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime

import optuna
from optuna.trial import FrozenTrial, TrialState

from cryptexlab.errors import ParamsError
from cryptexlab.processes import pid_alive

#: Seconds after which a RUNNING trial that no worker has marked as its own (user attribute ``worker``,
#: written within milliseconds of its start) is an orphan: its process died between creating it and
#: starting it, or a storage write that was cut off and made again created it twice.
ORPHAN_AFTER_S = 60.0


def recover_stale_trials(study: optuna.Study, storage: optuna.storages.BaseStorage | None = None, *,
                         orphan_after_s: float = ORPHAN_AFTER_S) -> int:
    """Mark RUNNING trials of dead workers (on this host) and orphans failed, and enqueue their parameters again.

    A trial is stale when its ``worker`` user attribute names this host and a process that no
    longer exists ("stale: worker died"), or when no worker marked it as its own within
    ``orphan_after_s`` seconds of its start ("stale: no worker took it"). It is marked FAIL with
    that ``failure_reason`` (so :func:`finished_trials` does not count it), and its parameters
    (for an orphan: the enqueued ones it held, if any) are enqueued with the user attribute
    ``retry_of`` = its number.

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
        orphan_after_s: Seconds after its start at which a trial without ``worker`` is an orphan.

    Returns:
        The number of trials marked failed.

    Raises:
        ParamsError: a stale trial was found but no storage was given.
    """
    host, now = socket.gethostname(), datetime.now()  # Optuna stores naive local start times
    stale: list[tuple[FrozenTrial, str, dict]] = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = t.user_attrs.get("worker")
        if worker is None:
            if t.datetime_start is not None and (now - t.datetime_start).total_seconds() > orphan_after_s:
                stale.append((t, "stale: no worker took it", dict(t.system_attrs.get("fixed_params", {}))))
        elif worker.get("host") == host and not pid_alive(int(worker.get("pid", -1))):
            stale.append((t, "stale: worker died", t.params))
    if not stale:
        return 0
    if storage is None:
        raise ParamsError(f"recover_stale_trials: study {study.study_name!r} has stale trial(s) "
                          f"{[t.number for t, _, _ in stale]} but storage=None; pass the storage the study was opened "
                          "on, e.g. recover_stale_trials(study, storage_for(search)[0])")
    study_id = storage.get_study_id_from_name(study.study_name)
    count = 0
    for t, reason, params in stale:
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, t.number)
        try:
            storage.set_trial_user_attr(trial_id, "failure_reason", reason)
            if not storage.set_trial_state_values(trial_id, TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:  # another worker failed it (or it finished) meanwhile
            continue
        if params or reason == "stale: worker died":
            study.enqueue_trial(params, user_attrs={"retry_of": t.number}, skip_if_exists=False)
        count += 1
    return count


#: Failure reasons of trials that do not count towards n_trials: "stale" ones are retried, and a "surplus"
#: trial started when other workers had already claimed the whole budget (it trained nothing).
UNCOUNTED = ("stale", "surplus")


def trials_counted(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    """The finished trials among ``trials`` that count towards n_trials.

    A failure counts unless its reason is in :data:`UNCOUNTED` or a later trial retries it (Optuna's
    heartbeat retries record the trials they retry in the system attribute ``retry_history``).
    """
    retried = {n for t in trials for n in t.system_attrs.get("retry_history", [])}
    return [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED) or (
        t.state == TrialState.FAIL and t.number not in retried
        and not str(t.user_attrs.get("failure_reason", "")).startswith(UNCOUNTED))]


def finished_trials(study: optuna.Study) -> int:
    """Trials that count towards n_trials (:func:`trials_counted`)."""
    return len(trials_counted(study.get_trials(deepcopy=False)))


def claimed_trials(study: optuna.Study, before: int | None = None) -> int:
    """Trials that count towards n_trials plus those running now (only numbers below ``before`` if given)."""
    trials = study.get_trials(deepcopy=False)
    if before is not None:
        trials = [t for t in trials if t.number < before]
    return len(trials_counted(trials)) + sum(1 for t in trials if t.state == TrialState.RUNNING)


def running_elsewhere(study: optuna.Study, heartbeat: bool) -> list[int]:
    """Numbers of RUNNING trials worth waiting for: a live worker's on this host, or any on a heartbeat
    storage (one of a dead worker is failed after the grace period). A journal trial of another host
    has no way to tell whether its worker lives, so it is not waited for."""
    host = socket.gethostname()
    out = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = t.user_attrs.get("worker", {})
        here = worker.get("host") == host
        if (here and pid_alive(int(worker.get("pid", -1))) and int(worker.get("pid", -1)) != os.getpid()) or (
                heartbeat and not here):
            out.append(t.number)
    return out


def ranked_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Completed single-objective trials, best first (by the study's direction)."""
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.values is not None and len(t.values) == 1]
    sign = 1.0 if study.directions[0].name == "MINIMIZE" else -1.0
    return sorted(done, key=lambda t: sign * float(t.values[0]))
