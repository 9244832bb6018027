"""Candle loader: the real file's facts, no-trade handling, repair, resampling, every error."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import hours
from cryptexlab.data.candles import load_candles, resample_candles, validate_candles
from cryptexlab.errors import DataError


def rows(ts: list[int], body: list[str]) -> str:
    return "\n".join(f"{t},{b}" for t, b in zip(ts, body, strict=True))


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


# ------------------------------------------------------------------ files that are not CSV text

BINARY = [
    ("NUL bytes", b"\x00\x01\x02\x03timestamp", r"looks binary, not a CSV text file: a NUL byte at offset 0; CSV text has "
                                                r"none\. The loader reads UTF-8 CSV text with the header timestamp,open"),
    ("gzip", b"\x1f\x8b\x08\x00\x00", r"looks binary, not a CSV text file: a gzip archive; decompress it first \(gunzip\)"),
    ("xlsx", b"PK\x03\x04\x14\x00", r"looks binary, not a CSV text file: a zip archive or an Excel \.xlsx workbook"),
    ("latin-1", b"timestamp,open,close,high,low,volume\n1704067200,100,101,102,99,5 \xe9\n",
     r"not UTF-8 text: byte 0xe9 at offset 65 \(line 2\) cannot be decoded; save the file as UTF-8, e\.g\. iconv"),
    ("utf-16", "timestamp,open\n".encode("utf-16"), r"not UTF-8 text \(its byte-order mark says UTF-16\); save the file as UTF-8"),
]


@pytest.mark.parametrize("label,data,pattern", BINARY, ids=[b[0] for b in BINARY])
def test_binary_or_non_utf8_file(tmp_path, label, data, pattern) -> None:
    path = tmp_path / "candles.csv"
    path.write_bytes(data)
    with pytest.raises(DataError, match=pattern) as err:
        load_candles(path)
    assert str(err.value).startswith(f"{path}: ")


def test_utf8_byte_order_mark_is_accepted(tmp_path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(("\ufefftimestamp,open,close,high,low,volume\n" + rows(hours(3), GOOD)).encode())
    assert load_candles(path).report.rows == 3


# ------------------------------------------------------------------ non-finite values


@pytest.mark.parametrize("column,row,value", [
    ("high", "101,100,inf,99,6", "inf"),
    ("open", "-inf,100,103,99,6", "-inf"),
    ("low", "101,100,103,-Infinity,6", "-Infinity"),
    ("volume", "101,100,103,99,inf", "inf"),
])
def test_non_finite_value(write_csv, column, row, value) -> None:
    """inf is named as such (column, line, timestamp, value), not as a broken high/low rule."""
    path = write_csv(rows(hours(3), [GOOD[0], row, GOOD[2]]))
    pattern = (rf"line 3 \(2024-01-01 01:00:00\+00:00\), column {column}: value '{value}' is not finite; "
               r"prices and volume must be finite numbers")
    with pytest.raises(DataError, match=pattern):
        load_candles(path)


# ------------------------------------------------------------------ ISO 8601 timestamps


ISO = [
    ("naive T", ["2024-01-01T00:00:00", "2024-01-01T01:00:00", "2024-01-01T02:00:00"], True),
    ("naive space", ["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 02:00"], True),
    ("Z suffix", ["2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z", "2024-01-01T02:00:00Z"], False),
    ("offset", ["2024-01-01T01:00:00+01:00", "2024-01-01T02:00:00+01:00", "2024-01-01T03:00:00+01:00"], False),
    ("mixed offsets", ["2024-01-01T00:00:00Z", "2023-12-31T20:00:00-05:00", "2024-01-01T02:00:00+0000"], False),
]


@pytest.mark.parametrize("label,stamps,naive", ISO, ids=[i[0] for i in ISO])
def test_iso_timestamps_equal_unix_seconds(write_csv, label, stamps, naive) -> None:
    """ISO 8601 with or without a zone gives the same UTC bars as Unix seconds; naive means UTC."""
    unix = load_candles(write_csv(rows(hours(3), GOOD), name="unix.csv"))
    iso = load_candles(write_csv(rows(stamps, GOOD), name="iso.csv"))
    pd.testing.assert_frame_equal(iso.frame, unix.frame)
    assert iso.report.timestamp_unit == "iso8601"
    assert iso.report.naive_timestamps_as_utc is naive
    assert unix.report.naive_timestamps_as_utc is False and unix.report.timestamp_unit == "s"


TIMESTAMP_ERRORS = [
    ("unix then ISO", [str(hours(2)[0]), "2024-01-01T01:00:00Z"],
     r"line 3, column timestamp: value '2024-01-01T01:00:00Z' is ISO 8601 with a zone but line 2 \('1704067200'\) "
     r"is Unix seconds; every timestamp of a file must have the same form"),
    ("ISO then unix", ["2024-01-01T00:00:00", str(hours(2)[1])],
     r"line 3, column timestamp: value '1704070800' is Unix seconds but line 2 \('2024-01-01T00:00:00'\) "
     r"is ISO 8601 without a zone"),
    ("seconds then ms", [str(hours(2)[0]), str(hours(2)[1] * 1000)],
     r"line 3, column timestamp: value '1704070800000' is Unix milliseconds but line 2 \('1704067200'\) is Unix seconds"),
    ("zoned then naive", ["2024-01-01T00:00:00Z", "2024-01-01T01:00:00"],
     r"line 3, column timestamp: value '2024-01-01T01:00:00' is ISO 8601 without a zone but line 2 "
     r"\('2024-01-01T00:00:00Z'\) is ISO 8601 with a zone; .*\(all with a zone, or all without = UTC\)"),
    ("unparseable", ["2024-01-01T00:00:00Z", "2024-13-01T01:00:00Z"],
     r"line 3, column timestamp: value '2024-13-01T01:00:00Z' is not a timestamp; use Unix seconds, "
     r"Unix milliseconds or ISO 8601 \(e\.g\. 2024-01-01T00:00:00Z; without a zone = UTC\)"),
    ("text first", ["yesterday", "2024-01-01T01:00:00Z"], r"line 2, column timestamp: value 'yesterday' is not a timestamp"),
    ("inf", [str(hours(2)[0]), "inf"], r"line 3, column timestamp: value 'inf' is not a timestamp"),
]


@pytest.mark.parametrize("label,stamps,pattern", TIMESTAMP_ERRORS, ids=[t[0] for t in TIMESTAMP_ERRORS])
def test_mixed_or_unparseable_timestamps(write_csv, label, stamps, pattern) -> None:
    path = write_csv(rows(stamps, GOOD[:2]))
    with pytest.raises(DataError, match=pattern) as err:
        load_candles(path)
    assert str(path) in str(err.value)


# ------------------------------------------------------------------ newest-first files


def test_newest_first_file_is_sorted_with_notice(write_csv) -> None:
    t = hours(4)
    body = [*GOOD, "NaN,NaN,NaN,NaN,0"]
    oldest_first = load_candles(write_csv(rows(t, body), name="up.csv"))
    newest_first = load_candles(write_csv(rows(t[::-1], body[::-1]), name="down.csv"))
    pd.testing.assert_frame_equal(newest_first.frame, oldest_first.frame)
    pd.testing.assert_series_equal(newest_first.no_trade, oldest_first.no_trade)
    assert newest_first.report.sorted_newest_first is True
    assert oldest_first.report.sorted_newest_first is False
    assert newest_first.report.to_dict()["sorted_newest_first"] is True


def test_newest_first_gap_is_the_usual_gap_error(write_csv) -> None:
    """Reversing hides nothing: the gap is reported with the file's own line numbers."""
    t = hours(5)
    path = write_csv(rows([t[4], t[1], t[0]], GOOD))
    with pytest.raises(DataError, match=r"line 2, column timestamp: 2 bar\(s\) missing between "
                                        r"2024-01-01 01:00:00\+00:00 and 2024-01-01 04:00:00\+00:00 .* Use --repair"):
        load_candles(path)
    repaired = load_candles(path, repair=True)
    assert repaired.report.sorted_newest_first and repaired.report.repaired_bars == 2
    assert repaired.frame["close"].tolist() == [104.0, 100.0, 100.0, 100.0, 101.0]


def test_newest_first_duplicate_is_the_usual_duplicate_error(write_csv) -> None:
    t = hours(2)
    path = write_csv(rows([t[1], t[1], t[0]], GOOD))
    with pytest.raises(DataError, match=r"line 3, column timestamp: 2024-01-01 01:00:00\+00:00 duplicates line 2"):
        load_candles(path)


def test_newest_first_row_error_names_the_file_line(write_csv) -> None:
    t = hours(3)
    path = write_csv(rows(t[::-1], [GOOD[2], "101,100,100.5,99,6", GOOD[0]]))
    with pytest.raises(DataError, match=r"line 3, column high: high 100.5 is below max\(open, close\) = 101.0"):
        load_candles(path)


# ------------------------------------------------------------------ vendor layouts: column mapping, banner lines

CDD_HEADER = "unix,date,symbol,open,high,low,close,Volume BTC,Volume USDT"
CDD_COLUMNS = {"timestamp": "unix", "volume": "Volume BTC"}


def cdd_text(unit: str) -> str:
    """GOOD as a CryptoDataDownload file: banner line, vendor header, newest-first rows."""
    lines = []
    for t, bar in zip(hours(3), GOOD, strict=True):
        o, c, h, lo, v = bar.split(",")
        stamp = t * 1000 if unit == "ms" else t
        date = pd.Timestamp(t, unit="s").strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"{stamp},{date},BTCUSDT,{o},{h},{lo},{c},{v},{float(v) * float(c):.2f}")
    return "https://www.CryptoDataDownload.com\n" + CDD_HEADER + "\n" + "\n".join(lines[::-1]) + "\n"


@pytest.mark.parametrize("unit", ["s", "ms"])
def test_cryptodatadownload_layout_equals_cryptex_file(write_csv, unit) -> None:
    cryptex = load_candles(write_csv(rows(hours(3), GOOD), name="cryptex.csv"))
    cdd_path = write_csv(cdd_text(unit), header=None, name="Binance_BTCUSDT_1h.csv")
    cdd = load_candles(cdd_path, columns=CDD_COLUMNS, skip_rows=1)
    pd.testing.assert_frame_equal(cdd.frame, cryptex.frame)
    pd.testing.assert_series_equal(cdd.no_trade, cryptex.no_trade)
    r = cdd.report
    assert (r.timestamp_unit, r.sorted_newest_first, r.skipped_lines) == (unit, True, 1)
    assert r.columns == CDD_COLUMNS


def test_mapping_to_the_iso_date_column(write_csv) -> None:
    """The vendor's naive 'date' column works too (taken as UTC)."""
    path = write_csv(cdd_text("ms"), header=None)
    data = load_candles(path, columns={"timestamp": "date", "volume": "volume btc"}, skip_rows=1)
    assert data.report.naive_timestamps_as_utc and data.frame.index[0] == pd.Timestamp("2024-01-01", tz="UTC")


def test_skip_rows_keeps_file_line_numbers(write_csv) -> None:
    """With one banner line the header is line 2, so the first data row is line 3."""
    text = cdd_text("s").replace("BTCUSDT,101,103,99,100,", "BTCUSDT,101,103,99,abc,")  # GOOD[1], line 4
    path = write_csv(text, header=None)
    with pytest.raises(DataError, match=r"line 4, column close: value 'abc' is not a number"):
        load_candles(path, columns=CDD_COLUMNS, skip_rows=1)


def test_banner_without_skip_rows_says_how_to_fix(write_csv) -> None:
    path = write_csv(cdd_text("s"), header=None)
    with pytest.raises(DataError, match=r"missing required column\(s\) timestamp, open, close, high, low, volume; .* "
                                        r"Found: https://www.CryptoDataDownload.com\. Map other header names with "
                                        r"data.columns, and skip banner lines before the header with data.skip_rows"):
        load_candles(path)


@pytest.mark.parametrize("columns,pattern", [
    ({"timestamp": "unix", "vol": "Volume BTC", "adj": "x"},
     r"unknown column name\(s\) adj, vol in the column mapping \(data.columns\); its keys are the loader's names "
     r"timestamp, open, close, high, low, volume .* Found in the file: unix, date, symbol, open, high, low, close, "
     r"Volume BTC, Volume USDT"),
    ({"timestamp": "unix_ms", "volume": "Volume BTC"},
     r"mapped column\(s\) not in the file: timestamp -> 'unix_ms' \(data.columns\)\. Found in the file: unix, date, "
     r"symbol, open, high, low, close, Volume BTC, Volume USDT"),
    ({"timestamp": "unix"},
     r"missing required column\(s\) volume; .* Found: unix, date, symbol, open, high, low, close, Volume BTC, Volume USDT"),
])
def test_column_mapping_errors(write_csv, columns, pattern) -> None:
    path = write_csv(cdd_text("s"), header=None)
    with pytest.raises(DataError, match=pattern):
        load_candles(path, columns=columns, skip_rows=1)


def test_bad_skip_rows(write_csv) -> None:
    with pytest.raises(DataError, match=r"skip_rows must be a whole number of lines >= 0 but got -1"):
        load_candles(write_csv(_body(None)), skip_rows=-1)
    with pytest.raises(DataError, match=r"the file is empty after skipping 5 line\(s\)"):
        load_candles(write_csv(_body(None)), skip_rows=5)


def test_vendor_layout_through_data_config(write_csv) -> None:
    from cryptexlab.data.source import describe_source, load_data
    from cryptexlab.params import DataConfig

    cryptex = load_candles(write_csv(rows(hours(3), GOOD), name="cryptex.csv"))
    path = write_csv(cdd_text("ms"), header=None, name="cdd.csv")
    config = DataConfig(path=str(path), columns=CDD_COLUMNS, skip_rows=1)
    pd.testing.assert_frame_equal(load_data(config).frame, cryptex.frame)
    assert describe_source(config) == f"{path} (freq 1h, columns timestamp=unix, volume=Volume BTC, 1 banner line(s) skipped)"


def test_data_config_refuses_unknown_column_names() -> None:
    from cryptexlab.errors import ParamsError
    from cryptexlab.profiles import load_profile

    with pytest.raises(ParamsError, match=r"with -p data.columns.unixx=unix: data.columns: unknown column name\(s\) "
                                          r"unixx; the keys of data.columns are the loader's names timestamp, open, "
                                          r"high, low, close, volume"):
        load_profile("smoke", overrides=["data.columns.unixx=unix"])
    with pytest.raises(ParamsError, match=r"data.skip_rows = -1 is invalid"):
        load_profile("smoke", overrides=["data.skip_rows=-1"])


def test_validate_command_takes_the_layout_options(write_csv, capsys) -> None:
    from cryptexlab.cli import main

    path = write_csv(cdd_text("ms"), header=None)
    args = ["data", "validate", str(path), "--column", "timestamp=unix", "--column", "volume=Volume BTC", "--skip-rows", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "timestamps      Unix milliseconds; the file was newest-first, sorted oldest-first" in out
    assert "layout          columns mapped: timestamp=unix, volume=Volume BTC; 1 banner line(s) skipped" in out
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sorted_newest_first"] is True
    assert main(["data", "validate", str(path), "--column", "timestamp"]) == 2
    assert "--column 'timestamp' must look like NAME=HEADER" in capsys.readouterr().err
