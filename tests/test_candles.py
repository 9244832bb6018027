"""Candle loader: the real file's facts, no-trade handling, repair, resampling, every error."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptexlab.data.candles import load_candles, resample_candles, validate_candles
from cryptexlab.errors import DataError
from conftest import hours


def rows(ts: list[int], body: list[str]) -> str:
    return "\n".join(f"{t},{b}" for t, b in zip(ts, body))


GOOD = ["100,101,102,99,5", "101,100,103,99,6", "100,104,105,100,7"]


# ------------------------------------------------------------------ the real file


def test_real_hourly_file_facts(real_hourly) -> None:
    data = load_candles(real_hourly)
    r = data.report
    assert r.rows_in_file == 40_555 and r.rows == 40_555
    assert r.no_trade_bars == 77
    assert r.longest_no_trade_run == 28
    assert r.start == "2019-09-23T08:00:00+00:00"
    assert r.end == "2024-05-09T02:00:00+00:00"
    assert r.timestamp_unit == "s" and r.gaps == 0
    assert not data.frame.isna().any().any()
    # no-trade hours carry the last close, volume 0
    nt = data.frame[data.no_trade]
    assert (nt["volume"] == 0).all()
    assert (nt[["open", "high", "low"]].to_numpy() == nt[["close"]].to_numpy()).all()
    assert data.frame.loc["2019-09-23 09:00", "close"].item() == 9930.13


def test_real_daily_file(real_hourly) -> None:
    data = load_candles(real_hourly.parent / "candlesticks-D.csv", freq="1d")
    assert data.report.rows == 1691
    assert data.report.start.startswith("2019-09-23")


# ------------------------------------------------------------------ format handling


def test_columns_read_by_name_in_any_order(write_csv) -> None:
    ts = hours(2)
    path = write_csv(f"1,{ts[0]},100,102,99,101\n2,{ts[1]},101,103,100,102", header="volume,timestamp,open,high,low,close")
    frame = load_candles(path).frame
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert frame["close"].tolist() == [101.0, 102.0]
    assert frame["volume"].tolist() == [1.0, 2.0]


def test_milliseconds_detected(write_csv) -> None:
    ts = [t * 1000 for t in hours(3)]
    data = load_candles(write_csv(rows(ts, GOOD)))
    assert data.report.timestamp_unit == "ms"
    assert data.frame.index[0] == pd.Timestamp("2024-01-01", tz="UTC")


def test_seconds_give_real_dates(write_csv) -> None:
    data = load_candles(write_csv(rows(hours(3), GOOD)))
    assert data.frame.index[0].year == 2024 and str(data.frame.index.tz) == "UTC"


def test_leading_no_trade_bars_dropped(write_csv) -> None:
    ts = hours(4)
    path = write_csv(rows(ts, ["NaN,NaN,NaN,NaN,0", *GOOD]))
    data = load_candles(path)
    assert data.report.leading_no_trade_dropped == 1 and data.report.rows == 3


def test_missing_hours_repaired_as_no_trade(write_csv) -> None:
    ts = hours(5)
    path = write_csv(rows([ts[0], ts[1], ts[4]], GOOD))
    data = load_candles(path, repair=True)
    r = data.report
    assert (r.gaps, r.missing_bars, r.repaired_bars, r.rows) == (1, 2, 2, 5)
    assert data.no_trade.tolist() == [False, False, True, True, False]
    assert data.frame["close"].tolist() == [101.0, 100.0, 100.0, 100.0, 104.0]
    assert data.frame["volume"].tolist() == [5.0, 6.0, 0.0, 0.0, 7.0]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(50, 150), st.floats(50, 150), st.floats(0, 5), st.floats(0, 5),
                       st.booleans(), st.booleans()), min_size=2, max_size=40)
)
def test_ohlc_consistent_after_repair(bars) -> None:
    """Property: whatever rows are no-trade or missing, repaired bars keep low <= open, close <= high."""
    ts = hours(len(bars))
    keep = [i for i, b in enumerate(bars) if not b[5] or i in (0, len(bars) - 1)]
    lines = []
    for i in keep:
        o, c, up, down, no_trade, _ = bars[i]
        if no_trade and i != 0:
            lines.append(f"{ts[i]},NaN,NaN,NaN,NaN,0")
        else:
            lines.append(f"{ts[i]},{o},{c},{max(o, c) + up},{min(o, c) - down},1")
    raw = pd.read_csv(pd.io.common.StringIO("timestamp,open,close,high,low,volume\n" + "\n".join(lines)), dtype=str,
                      keep_default_na=False)
    data = validate_candles(raw, source="prop", repair=True)
    f = data.frame
    assert not f.isna().any().any()
    assert (f["low"] <= f[["open", "close"]].min(axis=1)).all()
    assert (f["high"] >= f[["open", "close"]].max(axis=1)).all()
    assert len(f) == len(bars)


# ------------------------------------------------------------------ every documented error

ERRORS = [
    ("missing column", "timestamp,open,close,high,low", None, r"missing required column\(s\) volume; the Cryptex format needs"),
    ("non-numeric", None, "abc", r"line 3, column close: value 'abc' is not a number"),
    ("duplicate", None, "dup", r"line 3, column timestamp: .* duplicates line 2; each bar must appear once"),
    ("unsorted", None, "unsorted", r"line 3, column timestamp: .* is earlier than line 2 .*increasing time order"),
    ("off step", None, "offstep", r"line 3, column timestamp: step of 30min from line 2 is not a multiple of the declared frequency 1h"),
    ("gap", None, "gap", r"line 3, column timestamp: 2 bar\(s\) missing between .* Use --repair"),
    ("zero price", None, "zero", r"line 3, column open: price 0.0 must be positive"),
    ("negative price", None, "negative", r"line 2, column low: price -1.0 must be positive"),
    ("high below", None, "highlow", r"line 3, column high: high 100.5 is below max\(open, close\) = 101.0"),
    ("low above", None, "lowhigh", r"line 3, column low: low 100.5 is above min\(open, close\) = 100.0"),
    ("partial nan", None, "partial", r"line 3: prices partly missing \(close empty\); only whole no-trade rows"),
    ("no-trade with volume", None, "ntvol", r"line 3: all prices are NaN but volume is 3.0; a no-trade row must have volume 0"),
    ("negative volume", None, "negvol", r"line 3, column volume: volume -2.0 is negative"),
]


def _body(kind: str | None) -> str:
    t = hours(4)
    table = {
        None: rows(t[:3], GOOD),
        "abc": rows(t[:3], [GOOD[0], "101,abc,103,99,6", GOOD[2]]),
        "dup": rows([t[0], t[0], t[1]], GOOD),
        "unsorted": rows([t[1], t[0], t[2]], GOOD),
        "offstep": rows([t[0], t[0] + 1800, t[1]], GOOD),
        "gap": rows([t[0], t[3]], GOOD[:2]),
        "zero": rows(t[:3], [GOOD[0], "0,100,103,99,6", GOOD[2]]),
        "negative": rows(t[:3], ["100,101,102,-1,5", *GOOD[1:]]),
        "highlow": rows(t[:3], [GOOD[0], "101,100,100.5,99,6", GOOD[2]]),
        "lowhigh": rows(t[:3], [GOOD[0], "101,100,103,100.5,6", GOOD[2]]),
        "partial": rows(t[:3], [GOOD[0], "101,NaN,103,99,6", GOOD[2]]),
        "ntvol": rows(t[:3], [GOOD[0], "NaN,NaN,NaN,NaN,3", GOOD[2]]),
        "negvol": rows(t[:3], [GOOD[0], "101,100,103,99,-2", GOOD[2]]),
    }
    return table[kind]


@pytest.mark.parametrize("label,header,kind,pattern", ERRORS, ids=[e[0] for e in ERRORS])
def test_documented_errors(write_csv, label, header, kind, pattern) -> None:
    path = write_csv(_body(kind), header=header or "timestamp,open,close,high,low,volume")
    with pytest.raises(DataError, match=pattern) as err:
        load_candles(path)
    assert str(path) in str(err.value)


def test_empty_file(write_csv) -> None:
    path = write_csv("", header=None)
    with pytest.raises(DataError, match=r"the file is empty; a Cryptex CSV needs a header"):
        load_candles(path)


def test_header_only(write_csv) -> None:
    with pytest.raises(DataError, match=r"has a header but no data rows"):
        load_candles(write_csv(""))


def test_missing_file(tmp_path) -> None:
    with pytest.raises(DataError, match=r"no such file"):
        load_candles(tmp_path / "none.csv")


def test_unknown_frequency(write_csv) -> None:
    with pytest.raises(DataError, match=r"unknown frequency '2h'; use one of 1h, 4h, 1d"):
        load_candles(write_csv(_body(None)), freq="2h")


def test_all_no_trade(write_csv) -> None:
    t = hours(2)
    with pytest.raises(DataError, match=r"every row is a no-trade bar"):
        load_candles(write_csv(rows(t, ["NaN,NaN,NaN,NaN,0"] * 2)))


# ------------------------------------------------------------------ resampling


def test_resample_ohlcv_rules() -> None:
    idx = pd.date_range("2024-01-01 00:00", periods=9, freq="1h", tz="UTC")
    close = np.arange(1, 10, dtype=float) * 10
    frame = pd.DataFrame({"open": close - 1, "high": close + 5, "low": close - 5, "close": close,
                          "volume": np.ones(9)}, index=idx)
    out = resample_candles(frame, "4h")
    assert out.index.tolist() == [pd.Timestamp("2024-01-01 00:00", tz="UTC"), pd.Timestamp("2024-01-01 04:00", tz="UTC")]
    first = out.iloc[0]
    assert (first["open"], first["high"], first["low"], first["close"], first["volume"]) == (9.0, 45.0, 5.0, 40.0, 4.0)
    assert len(out) == 2  # the incomplete bin (one bar at 08:00) is dropped


def test_resample_daily_matches_real_daily_file(real_hourly) -> None:
    hourly = load_candles(real_hourly).frame
    daily = resample_candles(hourly, "1d")
    real = load_candles(real_hourly.parent / "candlesticks-D.csv", freq="1d").frame
    day = pd.Timestamp("2023-06-01", tz="UTC")
    for col in ("high", "low", "close"):
        assert daily.loc[day, col] == pytest.approx(real.loc[day, col])
    assert daily.loc[day, "volume"] == pytest.approx(real.loc[day, "volume"], rel=1e-6)


def test_resample_refuses_finer_target() -> None:
    idx = pd.date_range("2024-01-01", periods=3, freq="4h", tz="UTC")
    frame = pd.DataFrame({c: [1.0, 1.0, 1.0] for c in ("open", "high", "low", "close", "volume")}, index=idx)
    with pytest.raises(DataError, match=r"cannot resample bars of 0 days 04:00:00 to 1h"):
        resample_candles(frame, "1h")


def test_report_is_json_serialisable(write_csv) -> None:
    report = load_candles(write_csv(_body(None))).report
    assert json.loads(json.dumps(report.to_dict()))["rows"] == 3
