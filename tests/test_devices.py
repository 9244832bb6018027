"""Accelerators simulated with fake devices: trials pinned and packed by memory estimate, batch_size auto."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys

import pytest
from optuna.trial import TrialState

from cryptexlab.devices import Device, DeviceLedger, auto_batch_size
from cryptexlab.errors import ParamsError
from cryptexlab.memory import MIB, backbone_facts, max_batch_size
from cryptexlab.models.backbones import load_backbone
from cryptexlab.params import DataConfig, ModelConfig, SearchConfig, TrainConfig
from cryptexlab.search.config import TrialConfig
from cryptexlab.search.tuner import run_search
from cryptexlab.training import batch_size_for, run_experiment
from cryptexlab.training import device as training_device

GPUS = [Device("cuda:0", total_mib=1000, free_mib=1000), Device("cuda:1", total_mib=500, free_mib=500)]
SMALL = ModelConfig(llm_layers=1, d_model=8, d_ff=16, n_heads=2, patch_len=8, stride=4, num_tokens=32)


def test_trials_go_to_the_device_with_most_room_and_pack_under_the_capacity(tmp_path) -> None:
    ledger = DeviceLedger(tmp_path / "l.json", GPUS, margin=0.2)  # capacities 800 and 400 MiB
    assert [ledger.capacity_mib(d) for d in GPUS] == [800, 400]
    placed = [ledger.acquire(f"t{i}", 300).name for i in range(3)]
    assert placed == ["cuda:0", "cuda:0", "cuda:1"]  # 800 | 400 -> 500 | 400 -> 200 | 400 -> 200 | 100
    assert ledger.placed() == {"cuda:0": {f"{os.getpid()}:t0": 300, f"{os.getpid()}:t1": 300},
                               "cuda:1": {f"{os.getpid()}:t2": 300}}
    with pytest.raises(ParamsError, match="no device had 300 MiB free for trial t3 within 0.2 s"):
        ledger.acquire("t3", 300, wait_s=0.05, timeout_s=0.2)  # 200 and 100 MiB left: it waits, then gives up
    ledger.release("t0")
    assert ledger.acquire("t3", 300).name == "cuda:0"
    for key in ("t1", "t2", "t3"):
        ledger.release(key)
    assert ledger.placed() == {"cuda:0": {}, "cuda:1": {}}


def test_an_estimate_larger_than_every_device_and_bad_settings_are_refused(tmp_path) -> None:
    ledger = DeviceLedger(tmp_path / "l.json", GPUS, margin=0.2)
    with pytest.raises(ParamsError, match=r"estimate 900 MiB exceeds every device's capacity \(largest 800 MiB = 80%"):
        ledger.acquire("big", 900)
    with pytest.raises(ParamsError, match="torch sees no CUDA device"):
        DeviceLedger(tmp_path / "l.json", [])
    with pytest.raises(ParamsError, match="margin=1"):
        DeviceLedger(tmp_path / "l.json", GPUS, margin=1)


def _hold(path: str, ready, done) -> None:
    DeviceLedger(path, GPUS).acquire("held", 700)
    ready.set()
    done.wait(30)


def test_the_ledger_is_shared_by_processes_and_forgets_dead_ones(tmp_path) -> None:
    path = str(tmp_path / "l.json")
    ctx = multiprocessing.get_context("spawn")
    ready, done = ctx.Event(), ctx.Event()
    other = ctx.Process(target=_hold, args=(path, ready, done))
    other.start()
    assert ready.wait(60)
    ledger = DeviceLedger(path, GPUS)
    assert ledger.acquire("mine", 300).name == "cuda:1"  # cuda:0 holds the other process's 700 of 800 MiB
    done.set()
    other.join(30)
    assert ledger.acquire("next", 700).name == "cuda:0"  # the dead process's trial no longer counts
    assert list(ledger.placed()["cuda:0"]) == [f"{os.getpid()}:next"]


def test_batch_size_auto_is_the_largest_batch_that_fits(monkeypatch) -> None:
    facts = backbone_facts(load_backbone("MINILM", 1))
    want = max_batch_size(0.8 * 400 * MIB, SMALL, 32, 8, facts)
    assert auto_batch_size(SMALL, 32, 8, free_mib=400, margin=0.2, cap=100_000) == want > 1
    assert auto_batch_size(SMALL, 32, 8, free_mib=400, margin=0.2, cap=7) == 7  # never more than an epoch
    assert max_batch_size(0.5 * 400 * MIB, SMALL, 32, 8, facts) < want  # a larger margin, a smaller batch
    with pytest.raises(ParamsError, match="batch_size auto: not even one window fits 80% of the 1 MiB free"):
        auto_batch_size(SMALL, 32, 8, free_mib=1, margin=0.2, cap=64)
    monkeypatch.setattr(training_device, "available_memory_mib", lambda device: 400.0)  # as training reads it
    auto = TrainConfig(batch_size="auto", max_train_windows=10_000)
    assert batch_size_for(auto, SMALL, 32, 8, n_windows=5000, device="cuda:0") == want
    assert batch_size_for(auto, ModelConfig(kind="dlinear"), 32, 8, n_windows=5000, device="cpu") == 32
    assert batch_size_for(TrainConfig(batch_size=16), SMALL, 32, 8, n_windows=5000, device="cpu") == 16
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size="largest")


def test_batch_size_auto_trains_on_the_cpu() -> None:
    data = DataConfig.model_validate({"synthetic": {"hours": 1500}, "windows": {"seq_len": 32, "pred_len": 8}})
    result = run_experiment(data, SMALL, TrainConfig(batch_size="auto", epochs=1, max_train_windows=48),
                            evaluate_test=False)
    assert result.batch_size == 48  # the RAM holds far more: one epoch's windows, the cap


def test_search_pins_each_trial_to_a_fake_gpu(tmp_path, monkeypatch) -> None:
    from cryptexlab.search import budgets

    seen: list[str] = []

    def runner(data, model, train, **kw):
        from fake_runner import fake_runner

        seen.append(train.device)
        return fake_runner(data, model, train, **kw)

    monkeypatch.setattr(budgets, "visible_devices", lambda: GPUS)
    monkeypatch.setattr(budgets.tempfile, "gettempdir", lambda: str(tmp_path))  # a ledger of this test's own
    base = TrialConfig(DataConfig.model_validate({"synthetic": {"hours": 1500}, "windows": {"seq_len": 32, "pred_len": 8}}),
                       SMALL, TrainConfig(epochs=1))
    search = SearchConfig(study_name="g", storage=str(tmp_path / "g.journal"), n_trials=3, pruner="none", mode="training")
    trials = run_search(base, search, runner=runner, show_progress_bar=False).study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
    assert seen == ["cuda:0"] * 3  # one at a time: always the device with the most room
    assert all(t.user_attrs["placed_on"]["device"] == "cuda:0" and t.user_attrs["placed_on"]["capacity_mib"] == 800
               and t.user_attrs["placed_on"]["estimate_mib"] == t.user_attrs["memory_estimate_mib"] for t in trials)
    assert DeviceLedger(tmp_path / f"cryptexlab-devices-{os.getuid()}.json", GPUS).placed()["cuda:0"] == {}
    seen.clear()
    run_search(base, search.model_copy(update={"study_name": "n", "devices": "none"}), runner=runner,
               show_progress_bar=False)
    assert seen == ["auto"] * 3  # no placement: train.device as configured


def test_without_a_gpu_nothing_is_placed() -> None:
    code = "from cryptexlab.search.budgets import device_ledger; from cryptexlab.params import SearchConfig; " \
           "print(device_ledger(SearchConfig()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "None"  # this machine has no CUDA device
