"""Windows: shapes, counts, every evaluation window, errors, and leakage properties (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptexlab.data.splits import data_periods, default_gap, periods_records, periods_table
from cryptexlab.data.windows import make_loader, make_windows
from cryptexlab.errors import DataError
from cryptexlab.params import DataConfig


def frame(n: int, cols: int = 3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2024-01-01", periods=n, freq="1h", tz="UTC")
    data = rng.normal(size=(n, cols)).cumsum(axis=0) + 100
    names = ["close", *[f"f{i}" for i in range(1, cols)]]
    return pd.DataFrame(data, index=idx, columns=names)


def config(**windows) -> DataConfig:
    split = windows.pop("split", {})
    return DataConfig.model_validate({"windows": {"seq_len": 10, "pred_len": 3, **windows}, "split": split})


def test_multivariate_shapes_and_counts() -> None:
    w = make_windows(frame(200), config())
    periods = [(p.start, p.stop) for p in w.periods]
    assert periods == [(0, 140), (143, 170), (173, 200)]  # gap = pred_len = 3
    assert len(w.train) == 140 - 10 - 3 + 1 and len(w.val) == 27 - 12 and len(w.test) == 27 - 12
    x, y = w.train[0]
    assert x.shape == (10, 3) and y.shape == (3,) and x.dtype == torch.float32
    values = w.scaler.transform(frame(200).to_numpy())
    np.testing.assert_allclose(x.numpy(), values[0:10], rtol=1e-6)
    np.testing.assert_allclose(y.numpy(), values[10:13, 0], rtol=1e-6)


def test_channel_independent_mode() -> None:
    w = make_windows(frame(200), config(mode="channel_independent"))
    assert len(w.train) == 128 * 3
    x, y = w.train[4]  # window 1, channel 1
    values = w.scaler.transform(frame(200).to_numpy())
    np.testing.assert_allclose(x.numpy()[:, 0], values[1:11, 1], rtol=1e-6)
    np.testing.assert_allclose(y.numpy(), values[11:14, 1], rtol=1e-6)


def test_log_return_target() -> None:
    f = frame(200)
    f["log_return"] = np.log(f["close"]).diff().fillna(0)
    w = make_windows(f, config(target_kind="log_return"))
    assert w.target == "log_return"
    _, y = w.train[0]
    np.testing.assert_allclose(w.inverse_target(y), f["log_return"].to_numpy()[10:13], rtol=1e-5)


def test_selected_features_and_target_added() -> None:
    w = make_windows(frame(200), config(features=["f1"]))
    assert w.columns == ["f1", "close"] and w.target_position == 1


def test_scaler_fit_on_training_rows_only() -> None:
    f = frame(200)
    w = make_windows(f, config())
    np.testing.assert_allclose(w.scaler.mean_, f.iloc[:140].mean().to_numpy())


def test_every_evaluation_window_is_loaded() -> None:
    w = make_windows(frame(200), config())
    loader = make_loader(w.val, batch_size=4, train=False)
    assert sum(len(y) for _, y in loader) == len(w.val) == 15  # 15 is not a multiple of 4


def test_drop_last_refused_for_evaluation() -> None:
    w = make_windows(frame(200), config())
    with pytest.raises(DataError, match=r"drop_last is only allowed for training"):
        make_loader(w.test, batch_size=4, train=False, drop_last=True)


def test_training_loader_is_seeded() -> None:
    w = make_windows(frame(200), config())
    first = [next(iter(make_loader(w.train, 8, train=True, seed=3)))[1] for _ in range(2)]
    assert torch.equal(first[0], first[1])


def test_split_by_dates() -> None:
    f = frame(200)
    cfg = config(split={"train_end": "2024-01-05", "val_end": "2024-01-07"})
    w = make_windows(f, cfg)
    assert w.periods[0].stop == 96 and w.periods[1].start == 99 and w.periods[2].start == 147


def test_window_longer_than_a_period() -> None:
    with pytest.raises(DataError, match=r"a window of seq_len \+ pred_len = 10 \+ 3 = 13 rows is longer than the val period \(6 rows\)"):
        make_windows(frame(60), config())


def test_gap_below_pred_len() -> None:
    with pytest.raises(DataError, match=r"split.gap=1 is below pred_len=3"):
        make_windows(frame(200), config(split={"gap": 1}))


def test_unknown_target() -> None:
    with pytest.raises(DataError, match=r"no column\(s\) \['price'\]"):
        make_windows(frame(200), config(target="price"))


def test_index_out_of_range() -> None:
    w = make_windows(frame(200), config())
    with pytest.raises(IndexError):
        w.val[len(w.val)]


def test_dataset_holds_one_array_not_windows() -> None:
    w = make_windows(frame(2000), config())
    assert w.train.values is w.val.values is w.test.values
    assert w.train.values.nbytes == 2000 * 3 * 4


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(80, 400),
    seq_len=st.integers(2, 24),
    pred_len=st.integers(1, 12),
    extra_gap=st.integers(0, 5),
    train=st.floats(0.4, 0.8),
)
def test_no_training_target_reaches_the_validation_period(n, seq_len, pred_len, extra_gap, train) -> None:
    val = (1 - train) / 2
    cfg = DataConfig.model_validate({
        "windows": {"seq_len": seq_len, "pred_len": pred_len},
        "split": {"train": train, "val": val, "test": 1 - train - val, "gap": pred_len + extra_gap},
    })
    try:
        w = make_windows(frame(n), cfg)
    except DataError:
        return  # too short for these windows: refused, never silently shortened
    val_start, test_start = w.periods[1].start, w.periods[2].start
    assert max(w.train.target_rows(len(w.train) - 1)) < val_start
    assert max(w.val.target_rows(len(w.val) - 1)) < test_start
    assert w.val.window_start(0) >= val_start and w.test.window_start(0) >= test_start
    assert max(w.test.target_rows(len(w.test) - 1)) == n - 1  # the last row is a target: nothing skipped


@settings(max_examples=40, deadline=None)
@given(n=st.integers(130, 300), factor=st.floats(0.1, 10), shift=st.floats(-50, 50), seed=st.integers(0, 10))
def test_scaler_and_training_windows_ignore_validation_and_test_data(n, factor, shift, seed) -> None:
    f = frame(n, seed=seed)
    cfg = config()
    a = make_windows(f, cfg)
    g = f.copy()
    g.iloc[a.periods[0].stop:] = g.iloc[a.periods[0].stop:] * factor + shift
    b = make_windows(g, cfg)
    np.testing.assert_array_equal(a.scaler.mean_, b.scaler.mean_)
    np.testing.assert_array_equal(a.scaler.scale_, b.scaler.scale_)
    for i in (0, len(a.train) // 2, len(a.train) - 1):
        assert torch.equal(a.train[i][0], b.train[i][0]) and torch.equal(a.train[i][1], b.train[i][1])


def test_default_gap_is_pred_len_unless_set() -> None:
    assert default_gap(config()) == 3
    assert default_gap(config(pred_len=24)) == 24
    assert default_gap(config(split={"gap": 7})) == 7
    assert default_gap(config(split={"gap": 0}, pred_len=5)) == 0  # 0 is a gap, not "unset" (make_windows refuses it)


def test_the_windows_and_the_folds_cut_the_periods_of_the_default_gap() -> None:
    from cryptexlab.cv.folds import development

    f = frame(200)
    periods = data_periods(f.index, config())
    assert [(p.name, p.start, p.stop) for p in periods] == [("train", 0, 140), ("val", 143, 170), ("test", 173, 200)]
    assert make_windows(f, config()).periods == periods
    assert len(development(f, config()).frame) == 173 - 3  # the rows before the test period's gap
    assert [(p.start, p.stop) for p in data_periods(f.index, config(split={"gap": 5}))] == [(0, 140), (145, 170),
                                                                                            (175, 200)]


def test_periods_table_and_records() -> None:
    periods = data_periods(frame(200).index, config())
    table = periods_table(periods)
    assert list(table.columns) == ["period", "first", "last", "bars"]
    assert table["period"].tolist() == ["train", "val", "test"] and table["bars"].tolist() == [140, 27, 27]
    assert table["first"].iloc[1] == pd.Timestamp("2024-01-06 23:00", tz="UTC")
    assert periods_records(periods)[0] == {"name": "train", "first": "2024-01-01 00:00:00+00:00",
                                           "last": "2024-01-06 19:00:00+00:00", "bars": 140}
