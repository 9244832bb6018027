"""The experiment runner: determinism, early stopping, timeout, NaN, hooks, every window, the random walk."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import cryptexlab.training as training
import cryptexlab.training.runner as runner
from cryptexlab.data.prepare import load_windows
from cryptexlab.models.build import build_model
from cryptexlab.params import DataConfig, ModelConfig, TrainConfig
from cryptexlab.training import predict, run_experiment

DATA = DataConfig.model_validate({"synthetic": {"hours": 1500, "seed": 3}, "windows": {"seq_len": 32, "pred_len": 8}})
TINY = ModelConfig(llm_layers=1, d_model=8, d_ff=16, n_heads=2, patch_len=8, stride=4, num_tokens=16)
FAST = TrainConfig(epochs=2, batch_size=16, max_train_windows=64, learning_rate=1e-3)


@pytest.fixture(scope="module")
def windows():
    return load_windows(DATA)


def test_same_seed_same_metrics_timellm(windows) -> None:
    a = run_experiment(DATA, TINY, FAST, windows=windows)
    b = run_experiment(DATA, TINY, FAST, windows=windows)
    assert a.val == b.val and a.test == b.test
    assert [c["val_loss"] for c in a.curve] == [c["val_loss"] for c in b.curve]


def test_other_seed_other_metrics(windows) -> None:
    a = run_experiment(DATA, ModelConfig(kind="dlinear"), FAST, windows=windows)
    b = run_experiment(DATA, ModelConfig(kind="dlinear"), FAST.model_copy(update={"seed": 1}), windows=windows)
    assert a.val != b.val


def test_result_fields(windows) -> None:
    r = run_experiment(DATA, TINY, FAST, windows=windows)
    assert r.stop_reason == "completed" and len(r.curve) == 2 and r.best_epoch in (1, 2)
    assert r.trainable_params > 0 and r.frozen_params > 10_000_000  # MiniLM's frozen weights
    assert set(r.val) == {"mae", "mse", "mape", "directional_accuracy", "sharpe"}
    assert r.seconds > 0 and r.peak_memory_mib > 0 and r.device == "cpu"
    assert r.curve[0]["lr"] == 1e-3


def test_random_walk_model_equals_the_reported_random_walk(windows) -> None:
    r = run_experiment(DATA, ModelConfig(kind="random_walk"), FAST, windows=windows)
    assert r.curve == [] and r.trainable_params == 0
    assert r.val["mae"] == pytest.approx(r.val_random_walk["mae"], rel=1e-6)
    assert r.test["mse"] == pytest.approx(r.test_random_walk["mse"], rel=1e-6)
    assert math.isnan(r.val_random_walk["directional_accuracy"])  # a flat forecast calls no direction


def test_every_window_is_evaluated(windows) -> None:
    net = build_model(ModelConfig(kind="drift"), windows)
    pred, target, last = predict(net, windows, windows.test)
    assert pred.shape == target.shape == (len(windows.test), 8) and last.shape == (len(windows.test),)
    close = windows.inverse_target(windows.test.values[:, windows.target_position])
    np.testing.assert_allclose(target[-1], close[-8:], rtol=1e-5)  # the last rows of the period are targets


def test_report_hook_each_epoch_and_can_stop_the_run(windows) -> None:
    seen: list[tuple[int, float]] = []
    run_experiment(DATA, ModelConfig(kind="dlinear"), FAST, windows=windows, report=lambda e, v: seen.append((e, v)))
    assert [e for e, _ in seen] == [1, 2]

    class Prune(Exception):
        pass

    def prune(epoch: int, value: float) -> None:
        raise Prune

    with pytest.raises(Prune):
        run_experiment(DATA, ModelConfig(kind="dlinear"), FAST, windows=windows, report=prune)


def test_early_stopping_keeps_best_weights(windows) -> None:
    cfg = TrainConfig(epochs=30, patience=1, batch_size=16, max_train_windows=32, learning_rate=0.5)
    r = run_experiment(DATA, ModelConfig(kind="dlinear"), cfg, windows=windows)
    assert r.stop_reason == "early_stopping" and len(r.curve) < 30
    best = min(c["val_loss"] for c in r.curve)
    assert r.curve[r.best_epoch - 1]["val_loss"] == best


def test_timeout_stops_with_reason(windows) -> None:
    r = run_experiment(DATA, TINY, TrainConfig(epochs=50, timeout_s=0.01, max_train_windows=64), windows=windows)
    assert r.stop_reason == "timeout" and len(r.curve) == 1
    assert np.isfinite(r.val["mae"])


def test_nan_loss_stops_with_reason(windows, monkeypatch) -> None:
    class NaNLoss(torch.nn.Module):
        needs_prices = False

        def forward(self, pred, target, last=None):
            return (pred - target).pow(2).mean() * float("nan")

    monkeypatch.setattr(runner, "build_loss", lambda name, **kw: NaNLoss())
    r = run_experiment(DATA, ModelConfig(kind="dlinear"), FAST, windows=windows)
    assert r.stop_reason == "nan_loss" and r.curve == []
    assert np.isfinite(r.test_random_walk["mae"])


@pytest.mark.parametrize("loss", ["SHARPE_LOSS", "TRADING_LOSS", "QUANTILE", "ROBUST"])
def test_every_loss_family_trains(windows, loss) -> None:
    r = run_experiment(DATA, TINY, FAST.model_copy(update={"loss": loss, "epochs": 1}), windows=windows)
    assert r.stop_reason == "completed" and np.isfinite(r.curve[0]["val_loss"])


def test_log_return_target(windows) -> None:
    data = DataConfig.model_validate({"synthetic": {"hours": 1500, "seed": 3},
                                      "windows": {"seq_len": 32, "pred_len": 8, "target_kind": "log_return"}})
    r = run_experiment(data, ModelConfig(kind="random_walk"), FAST)
    assert r.val["mae"] == pytest.approx(r.val_random_walk["mae"], rel=1e-5)
    assert r.val["mae"] < 0.05  # returns, not prices


@pytest.mark.parametrize("cuda,mps,expected", [(False, False, "cpu"), (True, False, "cuda"), (False, True, "mps"),
                                               (True, True, "cuda")])
def test_auto_device_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert training.pick_device("auto") == torch.device(expected)
    assert training.pick_device() == torch.device(expected)  # auto is the default


@pytest.mark.parametrize("choice", ["cpu", "cuda", "cuda:1", "mps", "meta"])
def test_explicit_device_is_returned_as_given(monkeypatch, choice) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # an explicit choice is not second-guessed
    assert training.pick_device(choice) == torch.device(choice)


def test_one_default_epoch_on_the_default_data_trains(tmp_path) -> None:
    """The default configuration (Time-LLM, MiniLM, 2 layers) on the embedded default, one epoch."""
    r = run_experiment(DataConfig(), ModelConfig(), TrainConfig(epochs=1))
    assert r.stop_reason == "completed" and len(r.curve) == 1
    assert np.isfinite(r.test["mae"])


def test_schedules_drive_the_learning_rate(windows) -> None:
    from cryptexlab.params import SchedulerConfig

    cfg = FAST.model_copy(update={"epochs": 3, "scheduler": SchedulerConfig(kind="warmup", params={"warmup_steps": 8})})
    r = run_experiment(DATA, ModelConfig(kind="dlinear"), cfg, windows=windows)
    lrs = [c["lr"] for c in r.curve]  # the rate of each epoch's last step: 4 steps per epoch
    assert lrs[0] == pytest.approx(1e-3 * 3 / 8) and lrs[1] == pytest.approx(1e-3 * 7 / 8)


@pytest.mark.parametrize("kind,params", [("performance", {"patience": 0, "factor": 0.5}), ("adaptive", {"window": 2})])
def test_metric_driven_schedules_train(windows, kind, params) -> None:
    from cryptexlab.params import SchedulerConfig

    cfg = FAST.model_copy(update={"epochs": 3, "scheduler": SchedulerConfig(kind=kind, params=params)})
    r = run_experiment(DATA, ModelConfig(kind="dlinear"), cfg, windows=windows)
    assert r.stop_reason in ("completed", "early_stopping") and len(r.curve) >= 2


def test_compare_schedules(windows) -> None:
    from cryptexlab.params import SchedulerConfig
    from cryptexlab.search.config import TrialConfig
    from cryptexlab.stages.schedules import compare_schedules, schedule_curves
    from cryptexlab.training import steps_per_epoch

    config = TrialConfig(DATA, ModelConfig(kind="dlinear"), FAST.model_copy(update={"epochs": 3}))
    plans = [SchedulerConfig(kind="constant"), SchedulerConfig(kind="crypto_weekly", params={"period": 4})]
    table, curves = compare_schedules(config, plans, windows)
    assert list(curves.columns) == ["constant", "crypto_weekly"] and len(curves) == 3
    for kind in table.index:
        assert table.loc[kind, "final_val_loss"] == curves[kind].iloc[-1]
        assert table.loc[kind, "best_val_loss"] == curves[kind].min()
        assert 1 <= table.loc[kind, "epochs_to_within_1pct"] <= 3
    per_epoch = steps_per_epoch(config.train, windows)
    assert per_epoch == 4
    rates = schedule_curves(plans, 12, 1e-3, per_epoch)
    assert rates.shape == (12, 2) and (rates["constant"] == 1e-3).all()


def test_epochs_to_within_1pct_of_known_curves(windows, monkeypatch) -> None:
    """Convergence speed: the first epoch whose validation loss is within 1% of the final one."""
    import cryptexlab.stages.schedules as se
    from cryptexlab.params import SchedulerConfig
    from cryptexlab.search.config import TrialConfig
    from cryptexlab.training import ExperimentResult

    losses = {"constant": [1.0, 0.5, 0.201, 0.203, 0.2],  # 0.201 <= 0.202: epoch 3, although epoch 4 is above
              "warmup": [0.5, 0.2122, 0.2119, 0.21],  # 0.2122 is just outside 1% of 0.21: epoch 3
              "crypto_weekly": [0.3, 0.25, 0.3]}  # the final loss is not the best: epoch 1 is already within
    seen = []

    def known_curve(data, model, train, windows=None, evaluate_test=True):
        seen.append((train.scheduler.kind, evaluate_test))
        curve = [{"epoch": i + 1, "val_loss": v} for i, v in enumerate(losses[train.scheduler.kind])]
        return ExperimentResult(val={"mae": 0.1}, test={}, val_random_walk={}, test_random_walk={}, curve=curve)

    monkeypatch.setattr(se, "run_experiment", known_curve)
    config = TrialConfig(DATA, ModelConfig(kind="dlinear"), FAST)
    plans = [SchedulerConfig(kind=k) if k != "warmup" else SchedulerConfig(kind=k, params={"warmup_steps": 2})
             for k in losses]
    table, curves = se.compare_schedules(config, plans, windows)
    assert seen == [("constant", False), ("warmup", False), ("crypto_weekly", False)]  # the test period is never scored
    assert table["epochs_to_within_1pct"].to_dict() == {"constant": 3, "warmup": 3, "crypto_weekly": 1}
    assert list(table.index) == ["constant", "warmup", "crypto_weekly"]  # sorted by final loss: 0.2, 0.21, 0.3
    assert table.loc["crypto_weekly", "best_val_loss"] == 0.25 and table.loc["crypto_weekly", "final_val_loss"] == 0.3
    assert curves["constant"].tolist() == losses["constant"] and curves["crypto_weekly"].isna().sum() == 2


def test_best_or_default(tmp_path) -> None:
    from cryptexlab.params import SearchConfig
    from cryptexlab.search.config import TrialConfig
    from cryptexlab.search.tuner import run_search
    from cryptexlab.stages.schedules import best_or_default
    from fake_runner import fake_runner

    base = TrialConfig(DATA, TINY, FAST)
    search = SearchConfig(study_name="b", storage=str(tmp_path / "b.journal"), n_trials=3, pruner="none")
    config, origin = best_or_default(base, search)
    assert config is base and "no study 'b'" in origin
    result = run_search(base, search, runner=fake_runner, show_progress_bar=False)
    config, origin = best_or_default(base, search)
    assert origin.startswith(f"trial {result.study.best_trial.number} of study 'b'")
    assert config.model.d_model == result.study.best_trial.params["model.d_model"]
    assert config.train.epochs == FAST.epochs  # the notebook's budget, not the trial's


@pytest.fixture(scope="module")
def ci_windows():
    data = DATA.model_copy(update={"windows": DATA.windows.model_copy(update={"mode": "channel_independent"})})
    return data, load_windows(data)


def test_channel_independent_mode_runs_and_scores_the_target(windows, ci_windows) -> None:
    data, ci = ci_windows
    assert ci.train.channels > 1 and len(ci.train) == ci.train.n_windows * ci.train.channels
    train = TrainConfig(epochs=1, max_train_windows=32)
    r = run_experiment(data, ModelConfig(kind="dlinear"), train, windows=ci)
    multi = run_experiment(DATA, ModelConfig(kind="dlinear"), train, windows=windows)
    assert r.stop_reason == "completed" and len(r.curve) == 1 and r.windows_trained == 32
    assert all(np.isfinite(v) for v in [*r.val.values(), *r.test.values(), r.curve[0]["val_loss"]])
    # scored on the target's samples of the same windows, so the random walk cannot depend on the mode
    assert r.val_windows == multi.val_windows and r.windows_evaluated == multi.windows_evaluated
    assert r.val_random_walk == pytest.approx(multi.val_random_walk, nan_ok=True, rel=1e-12)
    assert r.test_random_walk == pytest.approx(multi.test_random_walk, nan_ok=True, rel=1e-12)


def test_channel_independent_predict_is_one_target_sample_per_window(windows, ci_windows) -> None:
    _, ci = ci_windows
    net = build_model(ModelConfig(kind="drift"), ci)
    pred, target, last = predict(net, ci, ci.test)
    ref_pred, ref_target, ref_last = predict(build_model(ModelConfig(kind="drift"), windows), windows,
                                             windows.test)
    assert pred.shape == target.shape == (ci.test.n_windows, 8)
    np.testing.assert_array_equal(target, ref_target)
    np.testing.assert_array_equal(last, ref_last)
    np.testing.assert_allclose(pred, ref_pred, rtol=1e-6)  # drift sees the same target column either way


def test_channel_independent_model_sees_the_samples_own_feature(ci_windows) -> None:
    _, ci = ci_windows
    c = (ci.target_position + 1) % ci.train.channels  # a feature other than the target
    x, y = ci.train[3 * ci.train.channels + c]
    seen = training.model_input(ci, x[None])
    assert seen.shape == (1, 32, 1)
    np.testing.assert_array_equal(seen[0, :, 0].numpy(), ci.train.values[3:35, c])


@pytest.mark.parametrize("loss", ["SHARPE_LOSS", "TRADING_LOSS"])
def test_channel_independent_mode_refuses_trading_losses(ci_windows, loss) -> None:
    from cryptexlab.errors import ParamsError

    data, ci = ci_windows
    with pytest.raises(ParamsError, match="channel_independent"):
        run_experiment(data, ModelConfig(kind="dlinear"), FAST.model_copy(update={"loss": loss}), windows=ci)
