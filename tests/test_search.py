"""Search spaces and the tuner: valid configurations, every method and pruner, multi-objective,
failures with reasons, resume after a killed worker, the optuna-dashboard server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna
import pytest
from optuna.trial import FixedTrial, TrialState

from cryptexlab.errors import ParamsError
from cryptexlab.params import DataConfig, ModelConfig, SearchConfig, SearchParam, TrainConfig
from cryptexlab.search import spaces
from cryptexlab.search.config import InvalidConfiguration, TrialConfig, with_values
from cryptexlab.search.recovery import recover_stale_trials
from cryptexlab.search.storage import storage_for
from cryptexlab.search.tuner import run_search
from fake_runner import fake_runner

TESTS = Path(__file__).resolve().parent
BASE = TrialConfig(DataConfig.model_validate({"synthetic": {"hours": 1500}, "windows": {"seq_len": 32, "pred_len": 8}}),
                   ModelConfig(), TrainConfig(epochs=3))


def search(tmp_path, **kw) -> SearchConfig:
    kw.setdefault("study_name", "t")
    kw.setdefault("storage", str(tmp_path / "s.journal"))
    return SearchConfig(**kw)


# ------------------------------------------------------------------ spaces

QUICK = {"train.learning_rate": 1e-3, "model.d_model": 16, "model.d_ff": 32, "model.n_heads": 4,
         "model.patch_len": 16, "model.stride": 8, "model.dropout": 0.1}
ARCH = {"model.d_model": 8, "model.d_ff": 16, "model.n_heads": 2, "model.e_layers": 2, "model.d_layers": 2,
        "model.activation": "relu", "model.dropout": 0.2, "model.patch_len": 8, "model.stride": 4, "model.llm_layers": 1}
TRAIN = {"train.learning_rate": 1e-3, "train.batch_size": 16, "train.epochs": 2, "train.scheduler.kind": "warmup",
         "train.scheduler.warmup_fraction": 0.1, "train.loss": "MAE", "train.weight_decay": 1e-4, "train.grad_clip": 1.0}


def sample(mode: str, enqueue: dict, search: SearchConfig | None = None) -> tuple[optuna.trial.Trial, TrialConfig]:
    """One trial of a real study (``enqueue`` fixes the branches) run through the mode's space function."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial(enqueue)
    trial = study.ask()
    return trial, spaces.space_for(mode)(trial, BASE, search or SearchConfig())


BOTH_BRANCHES = {"model.d_layers": 2, "train.scheduler.kind": "warmup"}  # activation and a schedule parameter exist
COMPREHENSIVE = set(ARCH) | set(TRAIN) | {"data.windows.seq_len", "model.llm_model", "model.num_tokens"}


def test_quick_space_has_7_parameters() -> None:
    trial, cfg = sample("quick", {})
    assert set(trial.params) == set(QUICK) and len(trial.params) == 7
    assert cfg.model.d_model == trial.params["model.d_model"] and cfg.model.stride == trial.params["model.stride"]
    cfg = spaces.quick(FixedTrial(QUICK), BASE, SearchConfig())
    assert cfg.model.d_model == 16 and cfg.train.learning_rate == 1e-3


def test_architecture_space_has_10_parameters() -> None:
    trial, cfg = sample("architecture", BOTH_BRANCHES)
    assert set(trial.params) == set(ARCH) and len(trial.params) == 10
    assert cfg.model.activation == trial.params["model.activation"] and cfg.model.llm_layers == trial.params["model.llm_layers"]
    trial, cfg = sample("architecture", {"model.d_layers": 1})
    assert set(trial.params) == set(ARCH) - {"model.activation"} and cfg.model.activation is None
    cfg = spaces.architecture(FixedTrial(ARCH), BASE, SearchConfig())
    assert cfg.model.e_layers == 2 and cfg.model.activation == "relu"


def test_training_space_has_8_parameters() -> None:
    trial, cfg = sample("training", BOTH_BRANCHES)
    assert set(trial.params) == set(TRAIN) and len(trial.params) == 8
    assert cfg.train.scheduler.params == {"warmup_fraction": trial.params["train.scheduler.warmup_fraction"]}
    trial, cfg = sample("training", {"train.scheduler.kind": "constant"})
    assert set(trial.params) == set(TRAIN) - {"train.scheduler.warmup_fraction"} and cfg.train.scheduler.params == {}
    cfg = spaces.training(FixedTrial(TRAIN), BASE, SearchConfig())
    assert cfg.train.scheduler.kind == "warmup" and cfg.train.scheduler.params == {"warmup_fraction": 0.1}


def test_comprehensive_space_has_21_parameters() -> None:
    trial, cfg = sample("comprehensive", BOTH_BRANCHES)
    assert set(trial.params) == COMPREHENSIVE and len(trial.params) == 21
    assert cfg.data.windows.seq_len == trial.params["data.windows.seq_len"] in (48, 96)
    trial, cfg = sample("comprehensive", BOTH_BRANCHES, SearchConfig(pred_len_choices=[12, 24]))
    assert set(trial.params) == COMPREHENSIVE | {"data.windows.pred_len"} and len(trial.params) == 22
    assert cfg.data.windows.pred_len == trial.params["data.windows.pred_len"] in (12, 24)
    params = {**ARCH, **TRAIN, "data.windows.seq_len": 48, "model.llm_model": "MINILM", "model.num_tokens": 100}
    cfg = spaces.comprehensive(FixedTrial(params), BASE, SearchConfig())
    assert cfg.data.windows.seq_len == 48
    with_pred = spaces.comprehensive(FixedTrial({**params, "data.windows.pred_len": 12}), BASE,
                                     SearchConfig(pred_len_choices=[12, 24]))
    assert with_pred.data.windows.pred_len == 12


def test_conditional_activation_only_with_two_head_layers() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(30):
        trial = study.ask()
        cfg = spaces.architecture(trial, BASE, SearchConfig())
        assert ("model.activation" in trial.params) == (cfg.model.d_layers > 1)
        assert cfg.model.stride <= cfg.model.patch_len <= BASE.data.windows.seq_len
        study.tell(trial, 0.0)


def test_patch_len_never_exceeds_seq_len() -> None:
    short = TrialConfig(DataConfig.model_validate({"windows": {"seq_len": 12, "pred_len": 4}}), BASE.model, BASE.train)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(20):
        trial = study.ask()
        assert spaces.quick(trial, short, SearchConfig()).model.patch_len <= 12
        study.tell(trial, 0.0)


def test_custom_space_with_condition() -> None:
    custom = [SearchParam(name="model.d_layers", type="int", low=1, high=2),
              SearchParam(name="model.activation", type="categorical", choices=["relu", "tanh"],
                          condition={"model.d_layers": 2}),
              SearchParam(name="train.learning_rate", type="float", low=1e-4, high=1e-2, log=True)]
    cfg = spaces.custom(FixedTrial({"model.d_layers": 1, "train.learning_rate": 0.001}), BASE, SearchConfig(mode="custom", custom=custom))
    assert cfg.model.d_layers == 1 and cfg.model.activation is None
    cfg = spaces.custom(FixedTrial({"model.d_layers": 2, "model.activation": "tanh", "train.learning_rate": 0.001}),
                        BASE, SearchConfig(mode="custom", custom=custom))
    assert cfg.model.activation == "tanh"


def test_invalid_combination_is_rejected_with_reason() -> None:
    with pytest.raises(InvalidConfiguration, match=r"stride=12 must be at most patch_len=8"):
        with_values(BASE, {"model.patch_len": 8, "model.stride": 12})


def test_unknown_mode() -> None:
    with pytest.raises(ParamsError, match=r"unknown search mode 'huge'"):
        spaces.space_for("huge")


def test_search_config_rules() -> None:
    with pytest.raises(ValueError, match=r"pruning does not support multi-objective studies"):
        SearchConfig(objectives=["val_mae", "train_seconds"], pruner="median")
    with pytest.raises(ValueError, match=r"mode custom needs search.custom"):
        SearchConfig(mode="custom")
    with pytest.raises(ValueError, match=r"method grid needs search.grid"):
        SearchConfig(method="grid")
    with pytest.raises(ValueError, match=r"log-scaled parameter train.learning_rate needs low > 0"):
        SearchParam(name="train.learning_rate", type="float", low=0, high=1, log=True)


@pytest.mark.parametrize("config", [
    BASE,
    TrialConfig(DataConfig.model_validate({"split": {"train_end": "2020-06-01", "val_end": "2020-09-01"}}),
                ModelConfig(kind="dlinear"), TrainConfig(loss="ASYMMETRIC", loss_params={"q": 0.6})),
], ids=["timellm", "baseline_date_split"])
def test_trial_config_round_trips_through_a_trial(config) -> None:
    trial = optuna.trial.create_trial(value=1.0, user_attrs={"config": config.to_dict()})
    rebuilt = TrialConfig.from_trial(trial)
    assert rebuilt == config and rebuilt.to_dict() == config.to_dict()
    assert TrialConfig.from_dict(config.to_dict()) == config


def test_trial_config_from_a_stored_trial(tmp_path) -> None:
    r = run_search(BASE, search(tmp_path, n_trials=2, pruner="none"), runner=fake_runner, show_progress_bar=False)
    stored = optuna.load_study(study_name="t", storage=storage_for(search(tmp_path))[0]).best_trial
    config = TrialConfig.from_trial(stored)
    assert config.to_dict() == stored.user_attrs["config"]
    assert config.model.d_model == r.study.best_trial.params["model.d_model"]
    assert config.fingerprint() == stored.user_attrs["data_fingerprint"]


def test_trial_config_errors() -> None:
    with pytest.raises(ParamsError, match=r"trial -1 has no 'config' user attribute \(failure reason: invalid: x\)"):
        TrialConfig.from_trial(optuna.trial.create_trial(state=TrialState.FAIL, user_attrs={"failure_reason": "invalid: x"}))
    with pytest.raises(ParamsError, match=r"has the keys data, model, train, but got \['data', 'model'\]"):
        TrialConfig.from_dict({"data": {}, "model": {}})


# ------------------------------------------------------------------ tuner


@pytest.mark.parametrize("method", ["tpe", "gp", "cmaes", "random", "qmc"])
def test_every_method_runs_a_seeded_study(tmp_path, method) -> None:
    a = run_search(BASE, search(tmp_path, method=method, n_trials=6, pruner="none"), runner=fake_runner,
                   show_progress_bar=False)
    b = run_search(BASE, search(tmp_path, method=method, n_trials=6, pruner="none", study_name="t2"),
                   runner=fake_runner, show_progress_bar=False)
    assert a.summary["states"] == {"COMPLETE": 6}
    assert [t.params for t in a.study.trials] == [t.params for t in b.study.trials]  # seeded


def test_grid_method(tmp_path) -> None:
    grid = {"model.d_model": [8, 16], "train.learning_rate": [1e-3, 1e-2]}
    r = run_search(BASE, search(tmp_path, method="grid", grid=grid, n_trials=4, pruner="none"), runner=fake_runner,
                   show_progress_bar=False)
    assert sorted((t.params["model.d_model"], t.params["train.learning_rate"]) for t in r.study.trials) == \
        [(8, 1e-3), (8, 1e-2), (16, 1e-3), (16, 1e-2)]


@pytest.mark.parametrize("pruner", ["median", "hyperband", "successive_halving", "wilcoxon", "none"])
def test_every_pruner_runs(tmp_path, pruner) -> None:
    r = run_search(BASE, search(tmp_path, pruner=pruner, n_trials=8), runner=fake_runner, show_progress_bar=False)
    assert r.summary["trials"] == 8
    assert set(r.summary["states"]) <= {"COMPLETE", "PRUNED"}
    first = r.study.trials[0]
    assert sorted(first.intermediate_values) == [1, 2, 3]  # one report per epoch
    assert first.intermediate_values[3] == pytest.approx(first.value + 1 / 3)


def test_median_pruner_prunes_bad_trials(tmp_path) -> None:
    r = run_search(BASE, search(tmp_path, pruner="median", n_trials=25, method="random"), runner=fake_runner,
                   show_progress_bar=False)
    assert r.summary["states"].get("PRUNED", 0) > 0


def test_multi_objective_returns_a_non_dominated_front(tmp_path) -> None:
    r = run_search(BASE, search(tmp_path, objectives=["val_mae", "train_seconds"], pruner="none", n_trials=12),
                   runner=fake_runner, show_progress_bar=False)
    front = r.best_trials
    assert front
    done = [t for t in r.study.trials if t.state == TrialState.COMPLETE]
    for f in front:
        assert not any(t.values[0] <= f.values[0] and t.values[1] <= f.values[1] and t.values != f.values for t in done)


def test_failures_are_recorded_and_the_study_goes_on(tmp_path) -> None:
    calls = {"n": 0}

    def flaky(data, model, train, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("out of memory (simulated)")
        result = fake_runner(data, model, train, **kw)
        if calls["n"] == 3:
            result.stop_reason = "nan_loss"
        if calls["n"] == 4:
            result.stop_reason = "timeout"
        return result

    r = run_search(BASE, search(tmp_path, n_trials=6, pruner="none"), runner=flaky, show_progress_bar=False)
    assert r.summary["states"] == {"COMPLETE": 3, "FAIL": 3}
    assert r.summary["failures"] == {"error": 1, "nan_loss": 1, "timeout": 1}
    reasons = [t.user_attrs.get("failure_reason") for t in r.study.trials]
    assert reasons[1] == "error: RuntimeError: out of memory (simulated)"


def test_trial_records_configuration_and_provenance(tmp_path) -> None:
    r = run_search(BASE, search(tmp_path, n_trials=1, pruner="none"), runner=fake_runner, show_progress_bar=False)
    attrs = r.study.trials[0].user_attrs
    assert attrs["config"]["model"]["d_model"] == r.study.trials[0].params["model.d_model"]
    assert set(attrs) >= {"config", "data_fingerprint", "versions", "seed", "device", "duration_s", "stop_reason", "worker"}
    assert "optuna" in attrs["versions"] and "val" in attrs and "test" not in attrs


def test_memory_budget_and_param_limit_fail_before_training(tmp_path) -> None:
    trained = []

    def runner(*a, **kw):
        trained.append(1)
        return fake_runner(*a, **kw)

    r = run_search(BASE, search(tmp_path, n_trials=2, pruner="none", max_trainable_params=10), runner=runner,
                   show_progress_bar=False)
    assert r.summary["failures"] == {"param_limit": 2} and not trained
    assert r.study.trials[0].user_attrs["constraint"][1] > 0
    constraints = r.study.trials[0].constraints  # Trial.set_constraint, which TPE and GP read
    assert constraints["memory_over_budget_mib"] == -1.0 and constraints["params_over_limit"] > 0


@pytest.mark.parametrize("method", ["tpe", "gp"])
def test_constrained_samplers_use_no_deprecated_api(method) -> None:
    import warnings

    from cryptexlab.search.samplers import make_sampler

    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # Optuna 5 deprecates constraints_func
        sampler = make_sampler(SearchConfig(method=method, memory_budget_mib=100.0, max_trainable_params=10))
    assert getattr(sampler, "_constraints_func", None) is None


def test_resume_runs_only_the_missing_trials(tmp_path) -> None:
    cfg = search(tmp_path, n_trials=3, pruner="none")
    run_search(BASE, cfg, runner=fake_runner, show_progress_bar=False)
    r = run_search(BASE, cfg.model_copy(update={"n_trials": 5}), runner=fake_runner, show_progress_bar=False)
    assert r.summary["trials"] == 5


def test_warm_start_enqueue_and_import(tmp_path) -> None:
    first = run_search(BASE, search(tmp_path, n_trials=3, pruner="none", study_name="a"), runner=fake_runner,
                       show_progress_bar=False)
    enq = {**QUICK, "model.d_model": 32}
    r = run_search(BASE, search(tmp_path, n_trials=4, pruner="none", study_name="b", import_from="a", enqueue=[enq]),
                   runner=fake_runner, show_progress_bar=False)
    params = [t.params for t in r.study.trials]
    assert params[:3] == [t.params for t in first.study.trials]  # imported
    assert params[3]["model.d_model"] == 32  # enqueued runs first


def test_other_data_under_the_same_study_name_is_refused(tmp_path) -> None:
    run_search(BASE, search(tmp_path, n_trials=1, pruner="none"), runner=fake_runner, show_progress_bar=False)
    other = TrialConfig(DataConfig.model_validate({"synthetic": {"hours": 2000}}), BASE.model, BASE.train)
    with pytest.raises(ParamsError, match=r"study 't' was run on other data or windows"):
        run_search(other, search(tmp_path, n_trials=2, pruner="none"), runner=fake_runner, show_progress_bar=False)


WORKER = """
import sys
sys.path.insert(0, {tests!r})
from fake_runner import fake_runner
from cryptexlab.params import SearchConfig, DataConfig, TrainConfig, ModelConfig
from cryptexlab.search.config import TrialConfig
from cryptexlab.search.tuner import run_search
base = TrialConfig(DataConfig.model_validate({{"synthetic": {{"hours": 1500}}, "windows": {{"seq_len": 32, "pred_len": 8}}}}),
                   ModelConfig(), TrainConfig(epochs=3))
run_search(base, SearchConfig(study_name="k", storage={storage!r}, n_trials=6, pruner="none"), runner=fake_runner,
           show_progress_bar=False)
"""


def test_killed_worker_loses_nothing_and_the_stale_trial_is_retried(tmp_path) -> None:
    storage = str(tmp_path / "k.journal")
    code = WORKER.format(tests=str(TESTS), storage=storage)
    proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "FAKE_RUNNER_SLEEP": "0.4"})
    cfg = SearchConfig(study_name="k", storage=storage, n_trials=6, pruner="none")
    deadline = time.time() + 120
    study = None
    while time.time() < deadline:
        time.sleep(0.3)
        if not Path(storage).exists():
            continue
        study = optuna.load_study(study_name="k", storage=storage_for(cfg)[0])
        trials = study.get_trials(deepcopy=False)
        states = [t.state for t in trials]
        # kill only once the running trial has all its parameters (its config is recorded after sampling),
        # so the retry's parameters are the stale trial's, not a superset of a half-sampled one
        if states.count(TrialState.COMPLETE) >= 2 and states[-1] == TrialState.RUNNING \
                and "config" in trials[-1].user_attrs:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    study = optuna.load_study(study_name="k", storage=storage_for(cfg)[0])
    before = {t.number: t.params for t in study.trials if t.state == TrialState.COMPLETE}
    stale = [t for t in study.trials if t.state == TrialState.RUNNING]
    assert len(before) >= 2 and len(stale) == 1
    r = run_search(BASE, cfg, runner=fake_runner, show_progress_bar=False)
    trials = r.study.trials
    after = {t.number: t.params for t in trials if t.state == TrialState.COMPLETE}
    assert all(after[n] == p for n, p in before.items())  # nothing lost
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert [t.number for t in failed] == [stale[0].number]
    assert failed[0].user_attrs["failure_reason"] == "stale: worker died"
    retry = [t for t in trials if t.user_attrs.get("retry_of") == stale[0].number]
    assert len(retry) == 1 and retry[0].params == stale[0].params and retry[0].state == TrialState.COMPLETE
    assert len(after) == 6  # n_trials finished, none duplicated
    assert recover_stale_trials(r.study) == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dashboard_serves_the_study(tmp_path) -> None:
    cfg = search(tmp_path, n_trials=2, pruner="none", study_name="dash")
    run_search(BASE, cfg, runner=fake_runner, show_progress_bar=False)
    port = _free_port()
    exe = Path(sys.executable).with_name("optuna-dashboard")
    proc = subprocess.Popen([str(exe), cfg.storage, "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        body = None
        for _ in range(120):
            time.sleep(0.5)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=2) as resp:
                    body = json.loads(resp.read())
                    break
            except OSError:
                continue
        assert body is not None, "optuna-dashboard did not answer within 60 s"
        assert [s["study_name"] for s in body["study_summaries"]] == ["dash"]
        study_id = body["study_summaries"][0]["study_id"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies/{study_id}", timeout=10) as resp:
            detail = json.loads(resp.read())
        assert detail["objective_names"] == ["val_mae"]  # not "Objective 0"
        attrs = {a["key"]: a["value"] for a in detail["trials"][0]["user_attrs"]}
        assert attrs["stop_reason"] == "completed" and attrs["configuration"].startswith("timellm (MINILM, ")
        assert " | CRYPTEX_BASIC, 32 -> 8 bars | " in attrs["configuration"] and len(attrs["configuration"]) < 1024
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_memory_budget_of_a_timellm_configuration(tmp_path) -> None:
    r = run_search(BASE, search(tmp_path, n_trials=1, pruner="none", memory_budget_mib=1.0), runner=fake_runner,
                   show_progress_bar=False)
    trial = r.study.trials[0]
    assert r.summary["failures"] == {"memory_budget": 1}
    assert trial.user_attrs["memory_estimate_mib"] > 60  # MiniLM's frozen weights alone are ~60 MiB
    assert trial.user_attrs["failure_reason"].startswith("memory_budget: estimate ")


def test_trial_timeout_reaches_the_runner(tmp_path) -> None:
    seen = []

    def runner(data, model, train, **kw):
        seen.append(train.timeout_s)
        return fake_runner(data, model, train, **kw)

    run_search(BASE, search(tmp_path, n_trials=2, pruner="none", trial_timeout_s=7.5), runner=runner,
               show_progress_bar=False)
    assert seen == [7.5, 7.5]


def test_terminator_can_stop_a_study_early(tmp_path, monkeypatch) -> None:
    from optuna.terminator import StaticErrorEvaluator, Terminator, TerminatorCallback

    import cryptexlab.search.tuner as tuner

    # an error estimate larger than any possible improvement: the terminator stops at its first check
    monkeypatch.setattr(tuner, "terminator", lambda: TerminatorCallback(
        Terminator(error_evaluator=StaticErrorEvaluator(1e9), min_n_trials=3)))
    r = run_search(BASE, search(tmp_path, n_trials=12, pruner="none", terminator=True), runner=fake_runner,
                   show_progress_bar=False)
    assert 3 <= r.summary["trials"] < 12


def test_sqlalchemy_url_storage(tmp_path) -> None:
    """Any SQLAlchemy URL works (SQLite here; PostgreSQL the same way), and resumes like the journal."""
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    cfg = SearchConfig(study_name="rdb", storage=url, n_trials=2, pruner="none")
    run_search(BASE, cfg, runner=fake_runner, show_progress_bar=False)
    r = run_search(BASE, cfg.model_copy(update={"n_trials": 3}), runner=fake_runner, show_progress_bar=False)
    assert r.summary["states"] == {"COMPLETE": 3}
    assert storage_for(cfg)[1] == url


# ------------------------------------------------------------------ stale trials and the terminator (public Optuna API)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=60)
    return proc.pid


def _journal_study(tmp_path, sampler: optuna.samplers.BaseSampler) -> tuple[optuna.Study, optuna.storages.BaseStorage]:
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    storage = JournalStorage(JournalFileBackend(str(tmp_path / "stale.journal")))
    return optuna.create_study(study_name="stale", storage=storage, sampler=sampler), storage


def _left_running(study: optuna.Study, worker: dict) -> int:
    """A trial that a worker started and never finished."""
    trial = study.ask()
    trial.suggest_categorical("x", [1, 2, 3])
    trial.set_user_attr("worker", worker)
    return trial.number


def test_recover_stale_trials_fails_only_dead_workers_on_this_host(tmp_path) -> None:
    from cryptexlab.search.recovery import finished_trials

    study, storage = _journal_study(tmp_path, optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: float(t.suggest_categorical("x", [1, 2, 3])), n_trials=1)
    host = socket.gethostname()
    dead = _left_running(study, {"pid": _dead_pid(), "host": host})
    live = _left_running(study, {"pid": os.getpid(), "host": host})
    elsewhere = _left_running(study, {"pid": _dead_pid(), "host": host + "-elsewhere"})
    assert recover_stale_trials(study, storage) == 1
    trials = study.get_trials()
    assert trials[dead].state == TrialState.FAIL and trials[dead].user_attrs["failure_reason"] == "stale: worker died"
    assert trials[live].state == trials[elsewhere].state == TrialState.RUNNING
    assert finished_trials(study) == 1  # the stale failure does not count
    assert recover_stale_trials(study, storage) == 0 and len(study.get_trials(states=(TrialState.WAITING,))) == 1
    study.optimize(lambda t: float(t.suggest_categorical("x", [1, 2, 3])), n_trials=1)  # runs the enqueued retry
    retry = study.get_trials()[-1]
    assert retry.state == TrialState.COMPLETE and retry.user_attrs == {"retry_of": dead}
    assert retry.params == trials[dead].params and finished_trials(study) == 2


def test_recover_stale_trials_on_a_grid_study_does_not_stop_it(tmp_path) -> None:
    """The stale trial holds the last grid point: study.tell would run GridSampler.after_trial -> study.stop()."""
    study, storage = _journal_study(tmp_path, optuna.samplers.GridSampler({"x": [1, 2]}, seed=0))
    study.optimize(lambda t: float(t.suggest_categorical("x", [1, 2])), n_trials=1)
    trial = study.ask()
    x = trial.suggest_categorical("x", [1, 2])
    trial.set_user_attr("worker", {"pid": _dead_pid(), "host": socket.gethostname()})
    assert recover_stale_trials(study, storage) == 1
    study.optimize(lambda t: float(t.suggest_categorical("x", [1, 2])), n_trials=1)
    retry = study.get_trials()[-1]
    assert retry.state == TrialState.COMPLETE and retry.params == {"x": x}
    assert retry.user_attrs["retry_of"] == trial.number


def test_recover_stale_trials_without_storage_is_an_error(tmp_path) -> None:
    study, _ = _journal_study(tmp_path, optuna.samplers.RandomSampler(seed=0))
    number = _left_running(study, {"pid": _dead_pid(), "host": socket.gethostname()})
    with pytest.raises(ParamsError, match=rf"has stale trial\(s\) \[{number}\] but storage=None; pass the storage "
                                          r"the study was opened on"):
        recover_stale_trials(study)
    assert study.get_trials()[number].state == TrialState.RUNNING


def test_terminator_is_imported_and_warns_only_when_used() -> None:
    code = ("import sys, warnings\n"
            "with warnings.catch_warnings(record=True) as seen:\n"
            "    warnings.simplefilter('always')\n"
            "    import cryptexlab.search.tuner\n"
            "assert 'optuna.terminator' not in sys.modules\n"
            "assert not [w for w in seen if 'terminator' in str(w.message)], [str(w.message) for w in seen]\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
    from optuna.terminator import TerminatorCallback

    from cryptexlab.search.samplers import terminator

    with pytest.warns(FutureWarning, match=r"optuna\.terminator"):
        callback = terminator()
    assert isinstance(callback, TerminatorCallback)
