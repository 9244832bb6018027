"""Where a study lives, and how its workers survive a database that goes away for a while.

* a **journal file** (the default, ``studies/<name>.journal``): several worker processes on one
  host; a dead worker's trial is found by its pid (:mod:`cryptexlab.search.recovery`);
* an **RDB URL** (PostgreSQL for several machines, SQLite for one): Optuna's heartbeat. Every
  running trial writes a heartbeat every ``heartbeat_interval_s``; a trial silent for
  ``grace_period_s`` is failed by the next worker that starts a trial, and
  ``RetryHeartbeatStaleTrialCallback`` (the name of ``RetryFailedTrialCallback`` since Optuna 4.9)
  enqueues its parameters again, at most ``max_retry`` times.

A server restart must not end a study:

* SQLAlchemy's ``pool_pre_ping`` replaces a pooled connection that the restart closed;
* the connections are opened by :class:`Reconnect`, which tries again for up to ``storage_timeout_s`` seconds;
* a storage call cut off by the restart is made again (:class:`ResilientRDBStorage`).

After ``storage_timeout_s`` the worker stops with :class:`StorageLost`, which names the storage
and the fix, instead of hanging. Its running trial stays RUNNING, and the heartbeat or the pid
check fails and retries it later.

Written here rather than taken from a library: SQLAlchemy retries no statement by itself, and
Optuna has no retry for a lost connection.
"""

from __future__ import annotations

import copy
import functools
import os
import re
import time
import warnings
from collections.abc import Callable
from typing import Any

import optuna

from cryptexlab.errors import ParamsError, StorageLost
from cryptexlab.params import SearchConfig
from cryptexlab.paths import STUDIES_DIR


def storage_for(search: SearchConfig) -> tuple[optuna.storages.BaseStorage, str]:
    """(storage, the string optuna-dashboard opens). Default: a journal file in ``studies/``."""
    target = search.storage or str(STUDIES_DIR / f"{search.study_name}.journal")
    if "://" in target:
        return rdb_storage(target, search), target
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    return JournalStorage(JournalFileBackend(target)), target


def rdb_storage(url: str, search: SearchConfig) -> optuna.storages.RDBStorage:
    """An RDBStorage with heartbeats and retries of stale trials; with reconnection too, except for SQLite
    files (no connection to lose).

    Raises:
        ParamsError: ``url`` is no SQLAlchemy URL, or its database driver is not installed.
    """
    from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, ProgrammingError

    engine_kwargs: dict[str, Any] = {}
    try:
        if not url.startswith("sqlite"):
            engine_kwargs = {"pool_pre_ping": True, "creator": Reconnect(url, search.storage_timeout_s)}
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise ParamsError(f"storage {safe_url(url)!r} cannot be opened ({type(exc).__name__}: {exc}); give a journal file path "
                          "or a SQLAlchemy URL whose driver is installed, e.g. "
                          "postgresql+psycopg2://user:password@host:5432/database") from None

    for attempt in range(3):
        try:
            with warnings.catch_warnings():  # heartbeat_interval and the retry callback are marked experimental
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return ResilientRDBStorage(
                    search.storage_timeout_s, url, engine_kwargs=engine_kwargs,
                    heartbeat_interval=search.heartbeat_interval_s, grace_period=search.grace_period_s,
                    heartbeat_stale_trial_callback=Retry(max_retry=search.max_retry))
        except (IntegrityError, ProgrammingError):
            # two workers creating Optuna's tables in a new database at once: one of them wins, the other
            # meets its types or tables half made; the next attempt finds them made
            if attempt == 2:
                raise
            time.sleep(0.5 + attempt)
    raise AssertionError("unreachable")


class Retry(optuna.storages.RetryHeartbeatStaleTrialCallback):
    """Optuna's retry of a heartbeat-stale trial, marked like the journal's retries (``retry_of``).

    The retry gets the failed trial's user attributes without ``worker``: the dead worker's pid
    on the retry would make the pid check fail it while it runs.
    """

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        trial = copy.copy(trial)
        trial.user_attrs = {**{k: v for k, v in trial.user_attrs.items() if k != "worker"}, "retry_of": trial.number}
        super().__call__(study, trial)


def lost_in(exc: BaseException) -> StorageLost | None:
    """The :class:`StorageLost` behind ``exc``, if any: Optuna's trial runner can raise another error
    while it handles one (its final write meets the same lost storage)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, StorageLost):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def safe_url(url: str) -> str:
    """The URL without its password, for messages (also when SQLAlchemy cannot parse it).

    Example:
        >>> safe_url("postgresql+psycopg2://optuna:secret@db:5432/studies")
        'postgresql+psycopg2://optuna:***@db:5432/studies'
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", url)


class Reconnect:
    """SQLAlchemy's ``creator``: open a DBAPI connection for ``url``, trying again for up to ``timeout_s``.

    Once the storage has been unreachable for longer than ``timeout_s``, every later call fails at
    once with the same message: a worker that lost its storage stops, and does not wait again at
    every storage call on its way out.
    """

    def __init__(self, url: str, timeout_s: float, wait_s: float = 0.5) -> None:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        dialect = parsed.get_dialect()
        self._dbapi = dialect.import_dbapi()
        self._args, self._kwargs = dialect().create_connect_args(parsed)
        self.url, self.timeout_s, self.wait_s = safe_url(url), timeout_s, wait_s
        self.lost: str | None = None

    def __call__(self) -> Any:
        start = time.monotonic()
        while True:
            if self.lost is not None:  # the first report, again: the heartbeat thread may have met it first
                raise StorageLost(self.lost)
            try:
                return self._dbapi.connect(*self._args, **self._kwargs)
            except self._dbapi.OperationalError as exc:
                if time.monotonic() - start > self.timeout_s:
                    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    self.lost = (
                        f"lost the study storage {self.url}: no connection for {self.timeout_s:g} s "
                        f"(storage_timeout_s) ({reason}). The worker stops; its running trial stays RUNNING and "
                        "is failed and retried once a worker runs again. Check that the database server is up "
                        "and reachable, then restart the worker (or raise 02_search.storage_timeout_s)")
                    raise StorageLost(self.lost) from None
                time.sleep(self.wait_s)


#: The RDBStorage methods that Optuna's cache, studies and heartbeat call: each is made again when the
#: connection broke under it.
RETRIED = ("create_new_study", "delete_study", "set_study_user_attr", "set_study_system_attr", "get_study_id_from_name",
           "get_study_name_from_id", "get_study_directions", "get_study_user_attrs", "get_study_system_attrs",
           "get_all_studies", "create_new_trial", "_create_new_trial", "set_trial_param", "_set_trial_param",
           "get_trial_id_from_study_id_trial_number", "get_trial_number_from_id", "get_trial_param",
           "set_trial_state_values", "set_trial_intermediate_value", "set_trial_user_attr", "set_trial_system_attr",
           "get_trial", "get_all_trials", "_get_trials", "get_best_trial", "_get_best_trial_id", "record_heartbeat",
           "_get_stale_trial_ids")


def _disconnected(exc: BaseException) -> bool:
    """Whether a storage error is a lost connection (rather than bad data, which no retry mends)."""
    from sqlalchemy import exc as sa

    cause = exc.__cause__ if isinstance(exc, optuna.exceptions.StorageInternalError) else exc
    return isinstance(cause, sa.DBAPIError) and (cause.connection_invalidated or isinstance(cause, sa.OperationalError))


def _retrying(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: ResilientRDBStorage, *args: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        while True:
            try:
                return method(self, *args, **kwargs)
            except Exception as exc:  # narrowed at once: only a lost connection is retried
                if not _disconnected(exc) or time.monotonic() - start > self.storage_timeout_s:
                    raise
                time.sleep(0.2)

    return call


class ResilientRDBStorage(optuna.storages.RDBStorage):
    """Optuna's RDBStorage whose calls cut off by a lost connection are made again, for up to ``storage_timeout_s``.

    A write whose commit reached the server just before the connection broke is then made twice;
    Optuna's writes set values (states, attributes), so only a new trial could be doubled that way.
    """

    def __init__(self, storage_timeout_s: float, *args: Any, **kwargs: Any) -> None:
        self.storage_timeout_s = storage_timeout_s
        super().__init__(*args, **kwargs)


for _name in RETRIED:
    setattr(ResilientRDBStorage, _name, _retrying(getattr(optuna.storages.RDBStorage, _name)))
