"""Download OHLCV candles from an exchange (through ccxt) into the Cryptex CSV format.

The file written is what :func:`cryptexlab.data.candles.load_candles` reads: header
``timestamp,open,close,high,low,volume`` (close BEFORE high and low), timestamps in Unix
seconds, one row per closed bar, increasing, no duplicates. Each page is appended and
flushed as it arrives, so an interrupted download keeps what it got; running again on the
same file resumes after its last bar. Bars the exchange never sent (downtime) stay missing:
load such a file with ``repair=True``.

Example:
    >>> ex = make_exchange("binance")  # doctest: +SKIP
    >>> fetch_candles(ex, "BTC/USDT", "1h", "2024-01-01", Path("btc-h.csv"))  # doctest: +SKIP
    FetchSummary(rows_written=..., first=Timestamp('2024-01-01 00:00:00+0000', tz='UTC'), ...)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ccxt
import pandas as pd

from cryptexlab.errors import DataError

HEADER: str = "timestamp,open,close,high,low,volume"


@dataclass(frozen=True)
class FetchSummary:
    """What one :func:`fetch_candles` call did.

    Attributes:
        rows_written: Rows appended to the file by this call.
        first: Open time (UTC) of the first row written, or None if none was.
        last: Open time (UTC) of the last row written, or None if none was.
        pages: Successful ``fetch_ohlcv`` calls (the final empty or stale page included).
        retries: Requests repeated after a rate-limit or network error.
        resumed: True if the file already held bars and the download continued after them.
    """

    rows_written: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    pages: int
    retries: int
    resumed: bool


def make_exchange(name: str) -> Any:
    """Create a ccxt exchange with rate limiting on.

    Example:
        >>> make_exchange("kraken").id
        'kraken'

    Raises:
        DataError: if ``name`` is not one of ``ccxt.exchanges``.
    """
    if name not in ccxt.exchanges:
        close = [e for e in ccxt.exchanges if e.startswith(name[:3].lower())] if name else []
        examples = ", ".join((close or ccxt.exchanges)[:8])
        raise DataError(
            f"unknown exchange {name!r}: the name must be a ccxt exchange id (lower case), e.g. "
            f"{examples}. See them all with: python -c \"import ccxt; print(ccxt.exchanges)\""
        )
    return getattr(ccxt, name)({"enableRateLimit": True})


def fetch_candles(
    exchange: Any,
    symbol: str,
    timeframe: str,
    since: pd.Timestamp | str,
    out: Path,
    *,
    limit: int = 1000,
    max_retries: int = 5,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], pd.Timestamp] | None = None,
    progress: Callable[[int, pd.Timestamp], None] | None = None,
) -> FetchSummary:
    """Page through ``exchange.fetch_ohlcv`` from ``since`` and append closed bars to ``out``.

    Overlapping pages are deduplicated; the bar still open at ``now()`` (default: the clock)
    is not written. Stops on an empty page or a page with nothing new. Rate-limit and network
    errors are retried up to ``max_retries`` times, waiting ``sleep(1), sleep(2), sleep(4)...``.
    If ``out`` already holds bars, the download resumes one ``timeframe`` after its last bar
    (``since`` is then ignored). ``progress(rows so far, last bar)`` is called per page.

    Example:
        >>> fetch_candles(make_exchange("binance"), "BTC/USDT", "1h",  # doctest: +SKIP
        ...               "2024-01-01", Path("btc-h.csv")).rows_written
        8784

    Raises:
        DataError: on an unknown timeframe or bad ``since``, a file that is not a Cryptex CSV
            in seconds, persistent network errors, or an exchange error (bad symbol, ...).
    """
    out = Path(out)
    step = _timeframe_seconds(timeframe)
    clock = now or (lambda: pd.Timestamp.now(tz="UTC"))
    last = _last_stored(out)
    resumed = last is not None
    start = last + step if last is not None else int(_utc(since).timestamp())
    if not out.exists() or out.stat().st_size == 0:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(HEADER + "\n")

    written = pages = retries = 0
    span: list[int] = []  # first and last bar written by this call
    with out.open("a", newline="") as fh:
        while True:
            page, tries = _request(exchange, symbol, timeframe, start * 1000, limit, max_retries, sleep)
            pages, retries = pages + 1, retries + tries
            cutoff = int(_utc(clock()).timestamp()) - step  # bars opened after this are open
            floor = start - 1 if last is None else last
            bars = {int(r[0]) // 1000: r for r in page if int(r[0]) // 1000 > floor}
            new = [t for t in sorted(bars) if t <= cutoff]
            if not new:
                break
            fh.write("".join(_line(t, bars[t]) for t in new))
            fh.flush()
            last, written = new[-1], written + len(new)
            span = [span[0] if span else new[0], last]
            if progress is not None:
                progress(written, _ts(last))
            if len(new) < len(bars):  # the rest is still open: nothing more to get now
                break
            start = last + step
    return FetchSummary(
        rows_written=written,
        first=_ts(span[0]) if span else None,
        last=_ts(span[1]) if span else None,
        pages=pages,
        retries=retries,
        resumed=resumed,
    )


def _request(
    exchange: Any, symbol: str, timeframe: str, since_ms: int, limit: int,
    max_retries: int, sleep: Callable[[float], None],
) -> tuple[list[list[Any]], int]:
    """One page with retries; returns (rows, retries used)."""
    for attempt in range(max(max_retries, 0) + 1):
        try:
            return list(exchange.fetch_ohlcv(symbol, timeframe, since=since_ms, limit=limit) or []), attempt
        except ccxt.NetworkError as err:  # RateLimitExceeded is a NetworkError
            if attempt == max_retries:
                raise DataError(
                    f"{symbol}: giving up after {attempt + 1} attempts at {_ts(since_ms // 1000)}: "
                    f"{type(err).__name__}: {err}. Check the connection or try again later "
                    "(raise max_retries to wait longer); rerun on the same file to resume"
                ) from err
            sleep(float(2**attempt))
        except ccxt.BadSymbol as err:
            raise DataError(
                f"{symbol!r} is not a market on {getattr(exchange, 'id', exchange)}: {err}. Use the "
                "ccxt unified form BASE/QUOTE, e.g. 'BTC/USDT'; list them with exchange.load_markets()"
            ) from err
        except ccxt.BaseError as err:
            raise DataError(
                f"{getattr(exchange, 'id', exchange)} refused OHLCV for {symbol} {timeframe}: "
                f"{type(err).__name__}: {err}. Check the symbol, the timeframe and since"
            ) from err
    raise AssertionError("unreachable")


def _timeframe_seconds(timeframe: str) -> int:
    try:
        seconds = int(ccxt.Exchange.parse_timeframe(timeframe))
    except (ValueError, TypeError, IndexError, ccxt.BaseError):
        seconds = 0
    if seconds <= 0 or str(timeframe)[-1:] in ("M", "y"):
        raise DataError(
            f"unknown timeframe {timeframe!r}: use a fixed ccxt timeframe, a number and a unit "
            "s/m/h/d/w, e.g. '1h', '4h', '1d' (months and years have no fixed length)"
        )
    return seconds


def _utc(value: pd.Timestamp | str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        ts = pd.NaT
    if pd.isna(ts):
        raise DataError(f"since {value!r} is not a date; use e.g. '2024-01-01' or a pd.Timestamp")
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def _last_stored(out: Path) -> int | None:
    """Last timestamp (seconds) of an existing Cryptex CSV, None if it has no rows."""
    if not out.exists() or out.stat().st_size == 0:
        return None
    with out.open("rb") as fh:
        header = fh.readline().decode(errors="replace").strip()
        size = fh.seek(0, 2)
        fh.seek(max(0, size - 4096))
        tail = fh.read().decode(errors="replace")
    if header != HEADER:
        raise DataError(
            f"{out}: header {header!r} is not {HEADER!r}; cannot append to it. "
            "Choose a new output file or convert this one to the Cryptex layout"
        )
    if not tail.endswith("\n"):
        raise DataError(f"{out}: the last line is incomplete (interrupted write?); delete it and rerun")
    lines = [ln for ln in tail.splitlines() if ln.strip()]
    if not lines or lines[-1].strip() == HEADER:
        return None
    cell = lines[-1].split(",")[0].strip()
    if not cell.isdigit() or int(cell) > 1e11:
        raise DataError(
            f"{out}: last timestamp {cell!r} is not Unix seconds; resuming needs a Cryptex CSV "
            "in seconds. Choose a new output file"
        )
    return int(cell)


def _line(seconds: int, row: list[Any]) -> str:
    """ccxt row [ms, open, high, low, close, volume] as a Cryptex line (close before high)."""
    _, o, h, lo, c, v = row[:6]
    cells = ("" if x is None else repr(float(x)) for x in (o, c, h, lo, v))
    return f"{seconds},{','.join(cells)}\n"


def _ts(seconds: int) -> pd.Timestamp:
    return pd.Timestamp(seconds, unit="s", tz="UTC")
