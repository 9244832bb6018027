"""Exchange download: paging, overlap, open bar, retries, resume, errors (a fake exchange, no network)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ccxt
import numpy as np
import pandas as pd
import pytest

from cryptexlab.data.candles import load_candles
from cryptexlab.data.fetch import HEADER, FetchSummary, fetch_candles, make_exchange
from cryptexlab.errors import DataError

HOUR = 3600
T0 = 1_699_999_200  # 2023-11-14 22:00 UTC, on the hour
N = 250
FAR = pd.Timestamp("2100-01-01", tz="UTC")


def source_rows(n: int = N) -> list[list[float]]:
    """Deterministic hourly ccxt rows [ms, open, high, low, close, volume] with valid OHLC."""
    rng = np.random.default_rng(7)
    close = np.round(30000 + np.cumsum(rng.normal(0, 50, n)), 2)
    open_ = np.round(np.r_[30000.0, close[:-1]], 2)
    high = np.round(np.maximum(open_, close) + rng.uniform(0, 20, n), 2)
    low = np.round(np.minimum(open_, close) - rng.uniform(0, 20, n), 2)
    volume = np.round(rng.uniform(0, 100, n), 4)
    return [
        [(T0 + i * HOUR) * 1000, float(open_[i]), float(high[i]), float(low[i]), float(close[i]), float(volume[i])]
        for i in range(n)
    ]


class FakeExchange:
    """Mimics ccxt's ``fetch_ohlcv`` over an in-memory hourly series.

    Only bars opened at or before ``clock`` exist (the last one may still be open). Pages hold
    at most ``limit`` rows from ``since`` (or ``overlap`` bars before it); past the end a page
    is empty. ``fail_on`` holds 1-based attempt numbers that raise ``error``;
    ``fail_from`` makes every attempt from that number on raise.
    """

    id = "fakex"
    timeframes = {"1h": "1h", "4h": "4h", "1d": "1d"}

    def __init__(
        self, rows: list[list[float]] | None = None, *, overlap: int = 0, clock: pd.Timestamp = FAR,
        fail_on: set[int] | None = None, fail_from: int | None = None,
        error: type[Exception] = ccxt.RateLimitExceeded,
    ) -> None:
        self.rows = rows if rows is not None else source_rows()
        self.overlap, self.clock = overlap, clock
        self.fail_on, self.fail_from, self.error = fail_on or set(), fail_from, error
        self.attempts = 0
        self.calls: list[tuple[str, str, int, int]] = []

    def parse_timeframe(self, timeframe: str) -> int:
        return int(ccxt.Exchange.parse_timeframe(timeframe))

    def fetch_ohlcv(self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None) -> list:
        self.attempts += 1
        if self.attempts in self.fail_on or (self.fail_from is not None and self.attempts >= self.fail_from):
            raise self.error(f"{self.id} 429 Too Many Requests")
        if symbol != "BTC/USDT":
            raise ccxt.BadSymbol(f"{self.id} does not have market symbol {symbol}")
        self.calls.append((symbol, timeframe, int(since or 0), int(limit or 0)))
        live = [r for r in self.rows if r[0] <= self.clock.value // 1_000_000]
        start = next((i for i, r in enumerate(live) if r[0] >= (since or 0)), len(live))
        start = max(0, start - self.overlap) if start < len(live) else start
        return [list(r) for r in live[start:start + (limit or 500)]]


class FakeSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def at(hours: float) -> pd.Timestamp:
    """The UTC time ``hours`` after the first bar opens."""
    return pd.Timestamp(T0, unit="s", tz="UTC") + pd.Timedelta(hours=hours)


def fetch(ex: FakeExchange, out: Path, now: pd.Timestamp = FAR, **kw: Any) -> FetchSummary:
    kw.setdefault("sleep", FakeSleep())
    return fetch_candles(ex, "BTC/USDT", "1h", at(0), out, limit=100, now=lambda: now, **kw)


def expected_frame(rows: list[list[float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {"timestamp": [int(r[0]) // 1000 for r in rows], "open": [r[1] for r in rows],
         "close": [r[4] for r in rows], "high": [r[2] for r in rows], "low": [r[3] for r in rows],
         "volume": [r[5] for r in rows]}
    )


def read(out: Path) -> pd.DataFrame:
    return pd.read_csv(out)


# ----------------------------------------------------------------------------- downloading


def test_full_download_equals_source(tmp_path: Path) -> None:
    out = tmp_path / "btc.csv"
    ex = FakeExchange()
    summary = fetch(ex, out)
    assert out.read_text().splitlines()[0] == HEADER == "timestamp,open,close,high,low,volume"
    pd.testing.assert_frame_equal(read(out), expected_frame(ex.rows))
    assert summary == FetchSummary(
        rows_written=N, first=at(0), last=at(N - 1), pages=4, retries=0, resumed=False
    )
    # seconds, from the ms the exchange gave; each next page starts one bar after the last
    assert [c[2] for c in ex.calls] == [(T0 + k * HOUR) * 1000 for k in (0, 100, 200, 250)]
    assert all(c[3] == 100 for c in ex.calls)
    data = load_candles(out)
    assert data.report.rows == N and data.report.timestamp_unit == "s"
    assert data.frame.index[0] == at(0) and data.frame.index[-1] == at(N - 1)


def test_overlapping_pages_give_no_duplicates(tmp_path: Path) -> None:
    out = tmp_path / "btc.csv"
    ex = FakeExchange(overlap=3)
    summary = fetch(ex, out)
    frame = read(out)
    assert frame["timestamp"].is_unique and frame["timestamp"].is_monotonic_increasing
    pd.testing.assert_frame_equal(frame, expected_frame(ex.rows))
    assert summary.rows_written == N
    load_candles(out)


def test_since_between_bars_starts_at_next_bar(tmp_path: Path) -> None:
    out = tmp_path / "btc.csv"
    ex = FakeExchange(overlap=1)
    summary = fetch_candles(ex, "BTC/USDT", "1h", str(at(2.5).tz_localize(None)), out, limit=100,
                            now=lambda: FAR, sleep=FakeSleep())
    assert summary.first == at(3)
    pd.testing.assert_frame_equal(read(out), expected_frame(ex.rows[3:]))


def test_open_bar_is_not_written(tmp_path: Path) -> None:
    out = tmp_path / "btc.csv"
    now = at(10.5)  # bar 10 opened at 10h and closes at 11h: still open
    ex = FakeExchange(clock=now)
    summary = fetch(ex, out, now=now)
    assert any(r[0] == (T0 + 10 * HOUR) * 1000 for r in ex.rows if r[0] <= now.value // 10**6)
    pd.testing.assert_frame_equal(read(out), expected_frame(ex.rows[:10]))
    assert summary.last == at(9) and summary.rows_written == 10


def test_bar_closing_exactly_now_is_written(tmp_path: Path) -> None:
    out = tmp_path / "btc.csv"
    summary = fetch(FakeExchange(clock=at(10)), out, now=at(10))
    assert summary.last == at(9) and summary.rows_written == 10


def test_progress_reports_each_page(tmp_path: Path) -> None:
    seen: list[tuple[int, pd.Timestamp]] = []
    fetch(FakeExchange(), tmp_path / "btc.csv", progress=lambda n, ts: seen.append((n, ts)))
    assert seen == [(100, at(99)), (200, at(199)), (250, at(249))]


def test_output_folder_is_created(tmp_path: Path) -> None:
    out = tmp_path / "new" / "dir" / "btc.csv"
    assert fetch(FakeExchange(), out).rows_written == N and out.is_file()


# ----------------------------------------------------------------------------- retries


def test_rate_limit_is_retried_with_backoff(tmp_path: Path) -> None:
    out = tmp_path / "btc.csv"
    sleep = FakeSleep()
    ex = FakeExchange(fail_on={2, 3, 4})  # the second page fails three times, then succeeds
    summary = fetch(ex, out, sleep=sleep)
    assert sleep.waits == [1.0, 2.0, 4.0]
    assert summary.retries == 3 and summary.rows_written == N
    pd.testing.assert_frame_equal(read(out), expected_frame(ex.rows))


def test_network_error_is_retried(tmp_path: Path) -> None:
    sleep = FakeSleep()
    summary = fetch(FakeExchange(fail_on={1}, error=ccxt.RequestTimeout), tmp_path / "b.csv", sleep=sleep)
    assert sleep.waits == [1.0] and summary.retries == 1 and summary.rows_written == N


def test_persistent_rate_limit_raises_after_max_retries(tmp_path: Path) -> None:
    sleep = FakeSleep()
    ex = FakeExchange(fail_from=1)
    with pytest.raises(DataError, match=r"BTC/USDT.*after 4 attempts.*RateLimitExceeded.*429") as info:
        fetch(ex, tmp_path / "btc.csv", sleep=sleep, max_retries=3)
    assert "max_retries" in str(info.value) and "resume" in str(info.value)
    assert sleep.waits == [1.0, 2.0, 4.0] and ex.attempts == 4


def test_interrupted_download_keeps_pages_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "btc.csv"
    with pytest.raises(DataError, match="after 3 attempts"):
        fetch(FakeExchange(fail_from=3), out, max_retries=2)
    pd.testing.assert_frame_equal(read(out), expected_frame(source_rows()[:200]))
    summary = fetch(FakeExchange(), out)
    assert summary.resumed and summary.rows_written == N - 200 and summary.first == at(200)
    pd.testing.assert_frame_equal(read(out), expected_frame(source_rows()))


# ----------------------------------------------------------------------------- resume


@pytest.mark.parametrize("overlap", [0, 2])
def test_resume_appends_and_equals_one_shot(tmp_path: Path, overlap: int) -> None:
    part, whole = tmp_path / "part.csv", tmp_path / "whole.csv"
    first = fetch(FakeExchange(clock=at(120.5), overlap=overlap), part, now=at(120.5))
    assert first.rows_written == 120 and not first.resumed
    before = part.read_bytes()

    ex = FakeExchange(overlap=overlap)
    second = fetch(ex, part)
    assert second.resumed and second.rows_written == N - 120
    assert second.first == at(120) and second.last == at(N - 1)
    assert ex.calls[0][2] == (T0 + 120 * HOUR) * 1000  # starts one bar after the stored last
    assert part.read_bytes().startswith(before)  # appended, not rewritten

    fetch(FakeExchange(), whole)
    assert part.read_bytes() == whole.read_bytes()
    assert read(part)["timestamp"].is_unique
    load_candles(part)


def test_resume_with_nothing_new_leaves_file_unchanged(tmp_path: Path) -> None:
    out = tmp_path / "btc.csv"
    fetch(FakeExchange(), out)
    before = out.read_bytes()
    summary = fetch(FakeExchange(overlap=1), out)
    assert summary == FetchSummary(rows_written=0, first=None, last=None, pages=1, retries=0, resumed=True)
    assert out.read_bytes() == before


def test_resume_from_header_only_file(tmp_path: Path) -> None:
    out = tmp_path / "btc.csv"
    out.write_text(HEADER + "\n")
    summary = fetch(FakeExchange(), out)
    assert not summary.resumed and summary.rows_written == N
    assert out.read_text().count(HEADER) == 1


def test_resume_refuses_other_layout(tmp_path: Path) -> None:
    out = tmp_path / "btc.csv"
    out.write_text("timestamp,open,high,low,close,volume\n1699999200,1,2,0.5,1.5,3\n")
    with pytest.raises(DataError, match=r"header 'timestamp,open,high,low,close,volume' is not.*new output"):
        fetch(FakeExchange(), out)


def test_resume_refuses_milliseconds(tmp_path: Path) -> None:
    out = tmp_path / "btc.csv"
    out.write_text(f"{HEADER}\n1699999200000,1,1.5,2,0.5,3\n")
    with pytest.raises(DataError, match=r"'1699999200000' is not Unix seconds"):
        fetch(FakeExchange(), out)


def test_resume_refuses_incomplete_last_line(tmp_path: Path) -> None:
    out = tmp_path / "btc.csv"
    out.write_text(f"{HEADER}\n1699999200,1,1.5,2,0.5,3\n1700002800,1,1.")
    with pytest.raises(DataError, match="last line is incomplete"):
        fetch(FakeExchange(), out)


# ----------------------------------------------------------------------------- errors


def test_make_exchange_builds_rate_limited_exchange() -> None:
    ex = make_exchange("binance")  # constructing does not touch the network
    assert ex.id == "binance" and ex.enableRateLimit is True


@pytest.mark.parametrize("name", ["binanse", "Binance", "", "Exchange"])
def test_unknown_exchange_name(name: str) -> None:
    with pytest.raises(DataError, match=r"unknown exchange .*ccxt\.exchanges") as info:
        make_exchange(name)
    message = str(info.value)
    assert repr(name) in message
    assert any(e in message for e in ccxt.exchanges)


def test_bad_symbol(tmp_path: Path) -> None:
    out = tmp_path / "btc.csv"
    with pytest.raises(DataError, match=r"'BTC/XYZ' is not a market on fakex.*BTC/USDT.*load_markets"):
        fetch_candles(FakeExchange(), "BTC/XYZ", "1h", at(0), out, sleep=FakeSleep(), now=lambda: FAR)
    assert read(out).empty  # nothing but the header


def test_other_exchange_error_is_not_retried(tmp_path: Path) -> None:
    sleep = FakeSleep()
    ex = FakeExchange(fail_from=1, error=ccxt.ExchangeError)
    with pytest.raises(DataError, match=r"fakex refused OHLCV for BTC/USDT 1h: ExchangeError.*Check"):
        fetch(ex, tmp_path / "btc.csv", sleep=sleep)
    assert sleep.waits == [] and ex.attempts == 1


@pytest.mark.parametrize("timeframe", ["1x", "hour", "", "1M", "0h"])
def test_unknown_timeframe(tmp_path: Path, timeframe: str) -> None:
    out = tmp_path / "btc.csv"
    with pytest.raises(DataError, match=rf"unknown timeframe {timeframe!r}.*'1h'"):
        fetch_candles(FakeExchange(), "BTC/USDT", timeframe, at(0), out, sleep=FakeSleep())
    assert not out.exists()


def test_bad_since(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="since 'yesterday-ish' is not a date"):
        fetch_candles(FakeExchange(), "BTC/USDT", "1h", "yesterday-ish", tmp_path / "b.csv")
