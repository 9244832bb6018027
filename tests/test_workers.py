"""Many workers on one study, and faults injected into them: kill -9 mid-trial, a PostgreSQL restart, a lost server.

Every worker is a real ``cryptexlab worker`` process training DLinear trials of about a second on
the synthetic series (``FAULT_PROFILE``); PostgreSQL is a real server started from Debian's
binaries (:mod:`postgres_server`). After each fault the study must hold exactly ``n_trials``
counted trials, keep every trial completed before the fault, and have tried the killed trial
again exactly once with its parameters.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from cryptexlab.errors import ParamsError
from cryptexlab.params import SearchConfig
from cryptexlab.search.recovery import claimed_trials, trials_counted
from cryptexlab.search.storage import Reconnect, StorageLost, safe_url, storage_for
from cryptexlab.search.worker import join_spec, threads_for
from postgres_server import PostgresServer

CLI = str(Path(sys.executable).with_name("cryptexlab"))
FAULT_PROFILE = """notebooks: [02_search]
data:
  synthetic: {{kind: default, hours: 1500, seed: 7}}
  windows: {{seq_len: 32, pred_len: 8}}
model: {{kind: dlinear}}
train: {{epochs: {epochs}, batch_size: 32, patience: 1000, max_train_windows: 512}}
02_search:
  mode: custom
  method: random
  pruner: none
  n_trials: {n_trials}
  custom:
    - {{name: train.learning_rate, type: float, low: 0.0001, high: 0.01, log: true}}
  heartbeat_interval_s: 1
  grace_period_s: 3
  storage_timeout_s: {timeout}
"""


@pytest.fixture
def postgres():
    server = PostgresServer()
    server.start()
    server.create_database()
    yield server
    server.remove()


def profile(tmp_path: Path, n_trials: int, epochs: int = 200, timeout: float = 30) -> str:
    path = tmp_path / "fault.yaml"
    path.write_text(FAULT_PROFILE.format(n_trials=n_trials, epochs=epochs, timeout=timeout))
    return str(path)


def worker(storage: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([CLI, "worker", "--study", "w", "--storage", storage, "--host-workers", "2", "--json", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def load(storage: str) -> optuna.Study:
    return optuna.load_study(study_name="w", storage=storage_for(SearchConfig(study_name="w", storage=storage))[0])


def wait_until(condition, what: str, timeout: float = 120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            found = condition()
        except KeyError:  # the study is not created yet
            found = None
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def running_trial_of(storage: str, pid: int, completed: int) -> FrozenTrial | None:
    """A trial that ``pid`` is training (its configuration recorded), once ``completed`` trials are done."""
    trials = load(storage).get_trials(deepcopy=False)
    if sum(t.state == TrialState.COMPLETE for t in trials) < completed:
        return None
    return next((t for t in trials if t.state == TrialState.RUNNING and "config" in t.user_attrs
                 and t.user_attrs.get("worker", {}).get("pid") == pid), None)


def finish(*procs: subprocess.Popen[str], timeout: float = 240) -> None:
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        assert p.returncode == 0, f"worker exited {p.returncode}: {err[-2000:]}"


def check_study(storage: str, n_trials: int, killed: FrozenTrial, before: dict[int, dict]) -> FrozenTrial:
    """Exactly n_trials counted, none lost, none duplicated, the killed trial failed and retried once."""
    trials = load(storage).trials
    assert len(trials_counted(trials)) == n_trials
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == n_trials  # every counted trial completed: none failed for another reason
    assert {t.number: t.params for t in complete if t.number in before} == before  # nothing lost
    assert len({t.params["train.learning_rate"] for t in complete}) == n_trials  # nothing duplicated
    assert [t.state for t in trials if t.number == killed.number] == [TrialState.FAIL]
    retries = [t for t in trials if t.user_attrs.get("retry_of") == killed.number]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE and retries[0].params == killed.params
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    return retries[0]


def kill_one_of_two(storage: str, tmp_path: Path, n_trials: int) -> tuple[subprocess.Popen[str], FrozenTrial, dict]:
    """Start two workers on a new study, kill -9 the second one while it trains a trial."""
    prof = profile(tmp_path, n_trials)
    a = worker(storage, "--profile", prof)
    b = worker(storage, "--profile", prof)
    killed = wait_until(lambda: running_trial_of(storage, b.pid, completed=2), "a running trial of worker b")
    b.send_signal(signal.SIGKILL)
    b.wait(timeout=30)
    before = {t.number: t.params for t in load(storage).trials if t.state == TrialState.COMPLETE}
    return a, killed, before


def test_two_workers_on_a_journal_lose_nothing_when_one_is_killed(tmp_path) -> None:
    storage = str(tmp_path / "w.journal")
    a, killed, before = kill_one_of_two(storage, tmp_path, n_trials=8)
    restarted = worker(storage)  # joins with the stored configuration alone
    finish(a, restarted)
    retry = check_study(storage, 8, killed, before)
    failed = next(t for t in load(storage).trials if t.number == killed.number)
    assert failed.user_attrs["failure_reason"] == "stale: worker died"  # found by the pid check
    assert retry.number > killed.number


def test_two_workers_on_postgresql_lose_nothing_when_one_is_killed(tmp_path, postgres) -> None:
    a, killed, before = kill_one_of_two(postgres.url, tmp_path, n_trials=10)
    # the survivor fails the silent trial after grace_period_s (heartbeat) or by its pid, and retries it
    wait_until(lambda: [t for t in load(postgres.url).trials if t.number == killed.number
                        and t.state == TrialState.FAIL], "the killed trial failed")
    restarted = worker(postgres.url)
    finish(a, restarted)
    check_study(postgres.url, 10, killed, before)


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used with Study.optimize")
def test_a_dead_worker_on_another_machine_is_found_by_its_heartbeat(tmp_path, postgres) -> None:
    from cryptexlab.search.study import open_study
    from cryptexlab.search.tuner import run_search

    base, search = join_spec("w", postgres.url, profile=profile(tmp_path, 3, epochs=5))
    storage = storage_for(search)[0]
    study = open_study(base, search, storage)
    lost = study.ask({"train.learning_rate": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)})
    lost.set_user_attr("worker", {"host": "another-machine", "pid": 1})
    storage.record_heartbeat(storage.get_trial_id_from_study_id_trial_number(
        storage.get_study_id_from_name("w"), lost.number))  # it ran there, then went silent
    time.sleep(search.grace_period_s + 1)
    result = run_search(base, search, show_progress_bar=False)
    trials = result.study.trials
    assert trials[lost.number].state == TrialState.FAIL
    retry = [t for t in trials if t.system_attrs.get("failed_trial") == lost.number]
    assert len(retry) == 1 and retry[0].params == lost.params and retry[0].user_attrs["retry_of"] == lost.number
    assert "worker" in retry[0].user_attrs and retry[0].user_attrs["worker"]["host"] != "another-machine"
    assert len(trials_counted(trials)) == 3
    assert result.study.user_attrs["spec"]["base"] == base.to_dict()  # the configuration the study stored
    assert (base.model.kind, base.train.epochs, base.train.batch_size, base.data.windows.seq_len,
            base.data.windows.pred_len) == ("dlinear", 5, 32, 32, 8)  # the profile's sections


def test_workers_survive_a_postgresql_restart(tmp_path, postgres) -> None:
    prof = profile(tmp_path, 8)
    a, b = worker(postgres.url, "--profile", prof), worker(postgres.url, "--profile", prof)
    wait_until(lambda: sum(t.state == TrialState.COMPLETE for t in load(postgres.url).trials) >= 2, "2 trials")
    before = {t.number: t.params for t in load(postgres.url).trials if t.state == TrialState.COMPLETE}
    postgres.restart()
    finish(a, b)
    trials = load(postgres.url).trials
    assert len(trials_counted(trials)) == 8
    assert {t.number: t.params for t in trials if t.number in before} == before
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len({t.params["train.learning_rate"] for t in complete}) == len(complete) == 8


def test_a_worker_that_loses_its_storage_stops_with_a_clear_error(tmp_path, postgres) -> None:
    proc = worker(postgres.url, "--profile", profile(tmp_path, 50, timeout=3))
    wait_until(lambda: running_trial_of(postgres.url, proc.pid, completed=1), "a running trial")
    postgres.stop()
    out, err = proc.communicate(timeout=120)  # not a hang
    assert proc.returncode == 3, err[-3000:]
    assert f"lost the study storage postgresql+psycopg2://optuna@127.0.0.1:{postgres.port}/optuna: no connection " \
           "for 3 s (storage_timeout_s)" in err
    assert "restart the worker" in err and "Traceback" not in err
    assert err.count("lost the study storage") == 1  # one report: no second wait on its way out
    postgres.start()  # what the worker left: completed trials and at most its one running trial, none failed
    states = [t.state for t in load(postgres.url).trials]
    assert set(states) <= {TrialState.COMPLETE, TrialState.RUNNING} and states.count(TrialState.RUNNING) <= 1
    assert 1 <= states.count(TrialState.COMPLETE) < 50  # it stopped long before its 50 trials


def test_workers_creating_the_tables_of_a_new_database_at_once(postgres) -> None:
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    barrier = Barrier(4)

    def open_storage(_: int) -> str:
        barrier.wait()
        return type(storage_for(SearchConfig(study_name="w", storage=postgres.url))[0]).__name__

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(open_storage, range(4))) == ["ResilientRDBStorage"] * 4


def test_reconnect_waits_for_the_server_then_gives_up(postgres, monkeypatch) -> None:
    import psycopg2

    attempts: list[int] = []
    waits: list[float] = []
    real_connect, real_sleep = psycopg2.connect, time.sleep
    monkeypatch.setattr(psycopg2, "connect", lambda *a, **k: attempts.append(1) or real_connect(*a, **k))
    monkeypatch.setattr(time, "sleep", lambda s: waits.append(s) or real_sleep(s))
    connect = Reconnect(postgres.url.replace(str(postgres.port), str(postgres.port + 1)), timeout_s=0.5, wait_s=0.1)
    with pytest.raises(StorageLost, match="no connection for 0.5 s"):
        connect()
    assert len(attempts) >= 2 and waits == [0.1] * (len(attempts) - 1)  # tried again after each wait_s
    tried = len(attempts)
    with pytest.raises(StorageLost, match="no connection for 0.5 s"):  # the same report, without a second wait
        connect()
    assert len(attempts) == tried and len(waits) == tried - 1  # no attempt, no wait
    Reconnect(postgres.url, timeout_s=1)().close()


def test_a_trial_started_after_the_budget_was_claimed_is_surplus_and_gives_its_retry_back(tmp_path) -> None:
    from cryptexlab.search.trial import TrialFailed
    from cryptexlab.search.tuner import _within_budget

    search = SearchConfig(study_name="s", storage=str(tmp_path / "s.journal"), n_trials=2)
    study = optuna.create_study(study_name="s", storage=storage_for(search)[0])
    dist = {"x": optuna.distributions.FloatDistribution(0, 1)}
    study.ask(dist), study.ask(dist)  # two RUNNING trials claim the budget
    study.enqueue_trial({"x": 0.25}, user_attrs={"retry_of": 0})
    late = study.ask()  # pops the retry: it must not be lost
    with pytest.raises(TrialFailed, match="surplus: trials below 2 already claim the 2 of the budget"):
        _within_budget(study, search, lambda trial: 1.0)(late)
    study.tell(late, state=TrialState.FAIL)
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert len(waiting) == 1 and waiting[0].user_attrs["retry_of"] == 0
    assert trials_counted(study.trials) == [] and late.number == 2
    assert [claimed_trials(study, before=k) for k in (0, 1, 2, 4)] == [0, 1, 2, 2]  # RUNNING claim, WAITING not


def test_a_running_trial_that_no_worker_took_is_failed_and_gives_back_its_configuration(tmp_path) -> None:
    from cryptexlab.search.recovery import recover_stale_trials

    search = SearchConfig(study_name="o", storage=str(tmp_path / "o.journal"), n_trials=2)
    storage = storage_for(search)[0]
    study = optuna.create_study(study_name="o", storage=storage)
    study.enqueue_trial({"x": 0.5})
    held, bare = study.ask(), study.ask()  # created, then their process died before any worker marked them
    assert recover_stale_trials(study, storage) == 0  # younger than ORPHAN_AFTER_S: perhaps just starting
    assert recover_stale_trials(study, storage, orphan_after_s=0) == 2
    trials = study.get_trials()
    assert [trials[n].user_attrs["failure_reason"] for n in (held.number, bare.number)] == ["stale: no worker took it"] * 2
    waiting = study.get_trials(states=(TrialState.WAITING,))  # the enqueued configuration is back; the bare one had none
    assert len(waiting) == 1 and waiting[0].user_attrs["retry_of"] == held.number
    assert claimed_trials(study) == 0


def test_worker_errors_name_the_fix(tmp_path) -> None:
    storage = str(tmp_path / "e.journal")
    with pytest.raises(ParamsError, match=r"no study named 'w' in .*e.journal \(it holds none\); pass --profile"):
        join_spec("w", storage)
    join_spec("w", storage, profile=profile(tmp_path, 2))
    from cryptexlab.search.study import open_study

    base, search = join_spec("w", storage, profile=profile(tmp_path, 2))
    open_study(base, search)
    with pytest.raises(ParamsError, match="runs its stored configuration, so --profile and -p do not apply"):
        join_spec("w", storage, profile="smoke")
    joined, joined_search = join_spec("w", storage, n_trials=7)
    assert joined == base and joined_search.n_trials == 7 and joined.to_dict() == load(storage).user_attrs["spec"]["base"]
    assert (joined.model.kind, joined.train.epochs, joined.data.windows.seq_len) == ("dlinear", 200, 32)  # the profile's
    with pytest.raises(ParamsError, match="--host-workers 0"):
        threads_for(0)
    done = subprocess.run([CLI, "worker", "--study", "nope", "--storage", storage], capture_output=True, text=True)
    assert done.returncode == 2 and "error: no study named 'nope'" in done.stderr and "Traceback" not in done.stderr


def test_a_storage_url_that_cannot_be_opened() -> None:
    for url in ("postgresql+nodriver://u:secret@h/db", "postgres ql://u@h/db"):
        with pytest.raises(ParamsError, match=r"storage '.*' cannot be opened .*e.g. postgresql\+psycopg2://"):
            storage_for(SearchConfig(storage=url))
    with pytest.raises(ParamsError, match=r"'postgresql\+nodriver://u:\*\*\*@h/db'"):  # no password in messages
        storage_for(SearchConfig(storage="postgresql+nodriver://u:secret@h/db"))


def test_threads_per_worker_and_settings() -> None:
    assert [threads_for(k, cores=16) for k in (1, 2, 3, 16, 32)] == [16, 8, 5, 1, 1]
    assert safe_url("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    with pytest.raises(ValueError, match=r"grace_period_s \(5\) must exceed heartbeat_interval_s \(5\)"):
        SearchConfig(heartbeat_interval_s=5, grace_period_s=5)


@pytest.mark.skipif(os.cpu_count() == 1, reason="needs two cores")
def test_host_workers_set_the_torch_threads(tmp_path) -> None:
    code = ("import torch, cryptexlab.search.worker as w; from unittest import mock\n"
            "with mock.patch.object(w, 'run_search'), mock.patch.object(w, 'join_spec', "
            "return_value=(None, mock.MagicMock())):\n    w.run_worker('s', 'x', host_workers=2)\nprint(torch.get_num_threads())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert int(out) == os.cpu_count() // 2
