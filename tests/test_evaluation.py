"""The evaluation budget: exact windows, the cap, the same windows for every run, the test period whole."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cryptexlab.data.prepare import load_windows
from cryptexlab.errors import ParamsError
from cryptexlab.params import EVAL_WINDOWS_PER_TRAIN_WINDOW, DataConfig, ModelConfig, TrainConfig
from cryptexlab.profiles import load_profile
from cryptexlab.training import predict, run_experiment, validation_budget
from cryptexlab.training.budget import budget_windows, make_budget

DATA = DataConfig.model_validate({"synthetic": {"hours": 1500, "seed": 3}, "windows": {"seq_len": 32, "pred_len": 8}})


@pytest.fixture(scope="module")
def windows():
    return load_windows(DATA)


@pytest.mark.parametrize("n,stride,cap,expected", [
    (20, 4, None, [0, 4, 8, 12, 16]),
    (20, 4, 3, [0, 8, 16]),
    (20, 4, 5, [0, 4, 8, 12, 16]),       # the cap is not reached: every strided window
    (20, 4, 100, [0, 4, 8, 12, 16]),
    (20, 1, 4, [0, 6, 13, 19]),          # thinned evenly, both ends kept
    (10, 3, 1, [0]),
    (7, 8, None, [0]),                   # a stride longer than the period keeps the first window
    (0, 4, None, []),
])
def test_exact_windows(n, stride, cap, expected) -> None:
    assert budget_windows(n, stride, cap).tolist() == expected


@given(n=st.integers(0, 5000), stride=st.integers(1, 200), cap=st.one_of(st.none(), st.integers(1, 3000)))
@settings(max_examples=300, deadline=None)
def test_budget_never_exceeds_the_cap_and_stays_on_the_stride(n, stride, cap) -> None:
    pos = budget_windows(n, stride, cap)
    candidates = -(-n // stride) if n > 0 else 0
    assert len(pos) == (candidates if cap is None else min(cap, candidates))
    assert np.all(np.diff(pos) > 0) and np.all(pos % stride == 0)
    assert (pos < n).all() and (len(pos) == 0 or pos[0] == 0)


@pytest.mark.parametrize("stride,cap,message", [
    (0, None, "evaluation stride must be at least 1 bar, got 0"),
    (4, 0, "max_eval_windows must be at least 1, got 0"),
])
def test_bad_budget_is_refused(stride, cap, message) -> None:
    with pytest.raises(ParamsError, match=message):
        budget_windows(10, stride, cap)


def test_config_defaults_and_auto_cap() -> None:
    train = TrainConfig(max_train_windows=128)
    assert train.max_eval_windows == "auto" and train.eval_stride == 1 and train.eval_batch_size == 256
    assert train.eval_cap() == EVAL_WINDOWS_PER_TRAIN_WINDOW * 128 == 1024
    assert TrainConfig(max_train_windows=None).eval_cap() is None
    assert TrainConfig(max_eval_windows=50).eval_cap() == 50
    assert TrainConfig(max_eval_windows=None).eval_cap() is None
    with pytest.raises(ValidationError, match=r"max_eval_windows\.constrained-int\n  Input should be greater than or equal to 1"):
        TrainConfig(max_eval_windows=0)
    with pytest.raises(ValidationError, match=r"max_eval_windows\.literal\['auto'\]\n  Input should be 'auto'"):
        TrainConfig(max_eval_windows="all")
    with pytest.raises(ParamsError, match=r"with -p train\.eval_stride=0: train\.eval_stride = 0 is invalid: Input should be greater than or equal to 1"):
        load_profile("smoke", overrides=["train.eval_stride=0"])


def test_run_scores_the_budgeted_windows_and_says_which(windows) -> None:
    train = TrainConfig(epochs=2, batch_size=4, max_train_windows=2)  # auto cap: 16 windows
    result = run_experiment(DATA, ModelConfig(kind="dlinear"), train, windows=windows)
    n_val = windows.val.n_windows
    assert result.val_windows == {"used": 16, "of": n_val, "stride": 1, "cap": 16,
                                  "rule": "16 windows spread evenly over the period"}
    # 2 epochs x 2 training windows; 2 validations + the final one on 16 windows, the test on all of them
    assert result.windows_trained == 4
    assert result.windows_evaluated == 3 * 16 + len(windows.test)
    strided = run_experiment(DATA, ModelConfig(kind="dlinear"), train.model_copy(update={"eval_stride": 8,
                                                                                        "max_eval_windows": 10}),
                             windows=windows)
    assert strided.val_windows["rule"] == "windows 8 bars apart, thinned evenly to 10"
    untouched = run_experiment(DATA, ModelConfig(kind="dlinear"),
                               train.model_copy(update={"eval_stride": 8, "max_eval_windows": None}), windows=windows)
    assert untouched.val_windows["used"] == -(-n_val // 8) and untouched.val_windows["rule"] == "windows 8 bars apart"


def test_budgeted_metrics_are_the_metrics_of_those_windows(windows) -> None:
    """The reported validation MAE equals the MAE over exactly the budget's windows (drift: no training)."""
    from cryptexlab.metrics import forecast_metrics
    from cryptexlab.models.build import build_model

    train = TrainConfig(max_train_windows=4)
    result = run_experiment(DATA, ModelConfig(kind="drift"), train, windows=windows)
    budget = validation_budget(windows, train)
    assert 0 < budget.used == 32 < windows.val.n_windows
    net = build_model(ModelConfig(kind="drift"), windows)
    pred, target, last = predict(net, windows, windows.val)
    picked = budget.positions
    expected = forecast_metrics(pred[picked], target[picked], last[picked])
    assert result.val["mae"] == pytest.approx(expected["mae"], rel=1e-6)
    walk = np.repeat(last[picked, None], target.shape[1], axis=1)
    assert result.val_random_walk["mae"] == pytest.approx(np.abs(walk - target[picked]).mean(), rel=1e-6)


def test_the_test_period_is_never_budgeted(windows) -> None:
    from cryptexlab.models.build import build_model

    train = TrainConfig(max_train_windows=16, max_eval_windows=4)
    result = run_experiment(DATA, ModelConfig(kind="drift"), train, windows=windows)
    net = build_model(ModelConfig(kind="drift"), windows)
    pred, target, _ = predict(net, windows, windows.test)
    assert len(pred) == len(windows.test)
    assert result.test["mae"] == pytest.approx(np.abs(pred - target).mean(), rel=1e-6)


def test_every_window_when_asked(windows) -> None:
    train = TrainConfig(epochs=1, max_train_windows=16, eval_stride=1, max_eval_windows=None)
    result = run_experiment(DATA, ModelConfig(kind="dlinear"), train, windows=windows)
    assert result.val_windows["used"] == result.val_windows["of"] == windows.val.n_windows
    assert result.val_windows["rule"] == "every window"


def test_same_windows_for_every_run_and_channel_independent_mode() -> None:
    a = make_budget(1000, 1, 40)
    b = make_budget(1000, 1, 40)
    assert a.positions.tolist() == b.positions.tolist()
    data = DATA.model_copy(update={"windows": DATA.windows.model_copy(update={"mode": "channel_independent"})})
    w = load_windows(data)
    budget = make_budget(w.val.n_windows, 8, 5)
    sub = budget.subset(w.val, w.val.channels)
    assert len(sub) == 5 * w.val.channels
    first_x, _ = sub[0]
    np.testing.assert_array_equal(first_x.numpy(), w.val[0][0].numpy())
