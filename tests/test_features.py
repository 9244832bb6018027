"""Feature sets: causality of every set, counts, definitions, external joins, multiscale alignment, regimes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cryptexlab.data.candles import load_candles
from cryptexlab.data.external import asof_join, load_external
from cryptexlab.data.features import (
    FEATURE_SETS,
    ExternalSource,
    FeatureOptions,
    build_features,
    multiscale_features,
)
from cryptexlab.data.indicators import ENHANCED_FEATURES, ENHANCED_WARMUP, feature_table
from cryptexlab.data.synthetic import synthetic_candles
from cryptexlab.errors import DataError

N = 3000
T = 2500  # changes start after this row; after the training period (70% = 2100) for the regimes


@pytest.fixture(scope="module")
def candles() -> pd.DataFrame:
    return synthetic_candles("default", N, seed=2).frame


def _external_csv(path: Path, index: pd.DatetimeIndex, scale: float = 1.0, after: pd.Timestamp | None = None) -> Path:
    """A series published at half past each hour; values after `after` multiplied by `scale`."""
    published = index + pd.Timedelta(minutes=30)
    values = np.sin(np.arange(len(index)) / 10.0) + 2
    if after is not None:
        values = np.where(published > after, values * scale, values)
    pd.DataFrame({"timestamp": (published.as_unit("s").asi8), "funding": values}).to_csv(path, index=False)
    return path


def _alter_after(frame: pd.DataFrame, t: int) -> pd.DataFrame:
    """Scale every price after row t by 1.1 and volume by 2 (OHLC stays consistent)."""
    out = frame.copy()
    out.iloc[t + 1:, :4] *= 1.1
    out.iloc[t + 1:, 4] *= 2.0
    return out


@pytest.mark.parametrize("feature_set", FEATURE_SETS)
def test_no_feature_at_or_before_t_changes_when_later_data_change(feature_set, candles, tmp_path) -> None:
    cut = candles.index[T]
    opts = FeatureOptions(train_end=candles.index[2099], n_regimes=2)
    opts_b = opts
    if feature_set == "CRYPTEX_EXTERNAL":
        a = _external_csv(tmp_path / "a.csv", candles.index)
        b = _external_csv(tmp_path / "b.csv", candles.index, scale=5.0, after=cut)
        opts = FeatureOptions(external=(ExternalSource(str(a), lag_hours=1, prefix="ext"),))
        opts_b = FeatureOptions(external=(ExternalSource(str(b), lag_hours=1, prefix="ext"),))
    before = build_features(candles, feature_set, opts).frame
    after = build_features(_alter_after(candles, T), feature_set, opts_b).frame
    pd.testing.assert_frame_equal(before.loc[:cut], after.loc[:cut], check_exact=False, rtol=1e-12)
    assert not before.loc[cut:].iloc[1:].equals(after.loc[cut:].iloc[1:])  # the change did reach later rows


def test_regime_labels_do_not_move_before_a_later_change(candles) -> None:
    opts = FeatureOptions(train_end=candles.index[2099], n_regimes=3)
    a = build_features(candles, "CRYPTEX_REGIME_AWARE", opts).regimes
    b = build_features(_alter_after(candles, T), "CRYPTEX_REGIME_AWARE", opts).regimes
    pd.testing.assert_series_equal(a.loc[:candles.index[T]], b.loc[:candles.index[T]])


@pytest.mark.parametrize("feature_set", FEATURE_SETS)
def test_no_nan_after_warmup_and_warmup_counted(feature_set, candles, tmp_path) -> None:
    opts = FeatureOptions(external=(ExternalSource(str(_external_csv(tmp_path / "e.csv", candles.index))),))
    feats = build_features(candles, feature_set, opts)
    assert not feats.frame.isna().any().any()
    assert len(feats.frame) == N - feats.warmup_rows
    assert feats.frame.index[0] == candles.index[feats.warmup_rows]


def test_basic_columns(candles) -> None:
    feats = build_features(candles, "CRYPTEX_BASIC")
    assert feats.names == ["open", "high", "low", "close", "volume", "log_return"]
    assert feats.warmup_rows == 1
    assert feats.frame["log_return"].iloc[0] == pytest.approx(np.log(candles["close"].iloc[1] / candles["close"].iloc[0]))


def test_enhanced_on_real_file_has_68_plus_features_without_nan(real_hourly) -> None:
    feats = build_features(load_candles(real_hourly).frame, "CRYPTEX_ENHANCED")
    assert len(feats.names) >= 68
    assert feats.warmup_rows == ENHANCED_WARMUP
    assert not feats.frame.isna().any().any()
    assert np.isfinite(feats.frame.to_numpy()).all()


def test_definition_table_covers_every_enhanced_feature(candles) -> None:
    table = feature_table()
    assert len(table) == len(ENHANCED_FEATURES) and table["name"].is_unique
    assert {"trend", "momentum", "volatility", "volume", "candle"} <= set(table["family"])
    assert table["definition"].str.len().min() > 3
    feats = build_features(candles, "CRYPTEX_ENHANCED")
    assert set(table["name"]) <= set(feats.names)
    for required in ("rsi_14", "macd", "bb_pband", "atr_ratio", "adx", "obv_z_168", "mfi", "cci", "williams_r",
                     "roc_12", "realised_vol_24", "stoch_k", "hour_sin", "dow_cos", "month_sin"):
        assert required in feats.names


def test_unknown_feature_set_lists_valid_names(candles) -> None:
    with pytest.raises(DataError, match=r"unknown feature set 'CRYPTEX_MAGIC'; valid names: CRYPTEX_BASIC, CRYPTEX_ENHANCED"):
        build_features(candles, "CRYPTEX_MAGIC")


# ---------------------------------------------------------------- external series


def test_value_published_later_is_never_visible_earlier() -> None:
    idx = pd.date_range("2024-01-01", periods=4, freq="1h", tz="UTC")
    ext = pd.DataFrame({"x": [1.0, 2.0, 3.0]},
                       index=pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-01 01:00:01", "2024-01-01 02:00"], tz="UTC"))
    assert asof_join(idx, ext, lag_hours=0)["x"].tolist() == [1.0, 1.0, 3.0, 3.0]
    assert asof_join(idx, ext, lag_hours=1)["x"].fillna(-1).tolist() == [-1.0, 1.0, 1.0, 3.0]


def test_external_set_uses_lag(candles, tmp_path) -> None:
    path = _external_csv(tmp_path / "fund.csv", candles.index)
    raw = load_external(path)
    feats = build_features(candles, "CRYPTEX_EXTERNAL", FeatureOptions(external=(ExternalSource(str(path), lag_hours=2),)))
    row = candles.index[100]
    expected = raw["funding"].loc[: row - pd.Timedelta(hours=2)].iloc[-1]  # published 97:30 -> visible 99:30
    assert feats.frame.loc[row, "fund_funding"] == expected
    assert {"hour_sin", "hour_cos", "dow_sin", "dow_cos", "month_sin", "month_cos", "is_weekend"} <= set(feats.names)


@pytest.mark.parametrize("rows,pattern", [
    ("timestamp,x\n2024-01-01T02:00Z,1\n2024-01-01T01:00Z,2\n", r"line 3: timestamp .* is earlier than the row before; sort the file"),
    ("timestamp,x\n2024-01-01T01:00Z,1\n2024-01-01T01:00Z,2\n", r"line 3: duplicate timestamp"),
    ("time,x\n2024-01-01T01:00Z,1\n", r"needs a 'timestamp' column"),
    ("timestamp,x\n2024-01-01T01:00Z,abc\n", r"no numeric column besides timestamp"),
])
def test_external_file_errors_name_file_and_rule(tmp_path, rows, pattern) -> None:
    path = tmp_path / "ext.csv"
    path.write_text(rows)
    with pytest.raises(DataError, match=pattern) as err:
        load_external(path)
    assert str(path) in str(err.value)


def test_external_without_overlap(candles, tmp_path) -> None:
    path = tmp_path / "old.csv"
    path.write_text("timestamp,x\n2001-01-01T00:00Z,1\n2001-01-02T00:00Z,2\n")
    with pytest.raises(DataError, match=r"old.csv: covers .* which does not overlap the candles"):
        build_features(candles, "CRYPTEX_EXTERNAL", FeatureOptions(external=(ExternalSource(str(path)),)))


def test_external_missing_column(candles, tmp_path) -> None:
    path = _external_csv(tmp_path / "e.csv", candles.index)
    with pytest.raises(DataError, match=r"no column\(s\) \['rate'\]; it has \['funding'\]"):
        build_features(candles, "CRYPTEX_EXTERNAL", FeatureOptions(external=(ExternalSource(str(path), columns=("rate",)),)))


# ---------------------------------------------------------------- multiscale


def test_coarse_bar_enters_when_it_has_closed(candles) -> None:
    feats = multiscale_features(candles, ["1h", "4h"])
    four = candles.resample("4h", origin="epoch").agg({"close": "last"})["close"]
    ret = np.log(four).diff()
    bar = four.index[50]  # a 4h bar starting at `bar`, covering bar .. bar+3h
    closes_at = bar + pd.Timedelta(hours=3)
    assert feats.loc[closes_at, "4h_ret"] == pytest.approx(ret.loc[bar])
    assert feats.loc[closes_at - pd.Timedelta(hours=1), "4h_ret"] == pytest.approx(ret.loc[four.index[49]])


def test_multiscale_unknown_timeframe(candles) -> None:
    with pytest.raises(DataError, match=r"unknown timeframe '2h'"):
        multiscale_features(candles, ["2h"])


# ---------------------------------------------------------------- regimes


def test_regimes_ordered_by_volatility_and_exposed(candles) -> None:
    feats = build_features(candles, "CRYPTEX_REGIME_AWARE", FeatureOptions(train_end=candles.index[2099], n_regimes=3))
    regimes = feats.regimes
    assert regimes is not None and regimes.index.equals(feats.frame.index)
    vol = feats.frame["regime_log_vol"].groupby(regimes).mean()
    assert list(vol.index) == [0.0, 1.0, 2.0] and vol.is_monotonic_increasing
    probs = feats.frame[["regime_p0", "regime_p1", "regime_p2"]].sum(axis=1)
    np.testing.assert_allclose(probs, 1.0)


def test_regime_fit_needs_enough_training_rows(candles) -> None:
    with pytest.raises(DataError, match=r"too few to fit 3 regimes"):
        build_features(candles, "CRYPTEX_REGIME_AWARE", FeatureOptions(train_end=candles.index[100], n_regimes=3))


def test_feature_sets_are_the_schemas_names() -> None:
    from typing import get_args

    from cryptexlab.params import DataConfig, FeatureSetName

    assert FEATURE_SETS == get_args(FeatureSetName) == get_args(DataConfig.model_fields["feature_set"].annotation)
