"""Load, validate and repair candles in the Cryptex CSV format.

The format is ``timestamp, open, close, high, low, volume`` (columns are read by name, in
any order; the real files put CLOSE before high and low). ``timestamp`` is Unix time in
seconds or milliseconds (values above 1e11 are taken as milliseconds), or ISO 8601 text
such as ``2024-01-01T00:00:00Z`` or ``2024-01-01 01:00:00+01:00``. **ISO times without a
zone are taken as UTC** (the report says so: ``naive_timestamps_as_utc``). Every row must use
the same form: all seconds, all milliseconds, or all ISO 8601 (all zoned or all naive).

Other vendors' layouts load without editing the file: ``columns`` maps the loader's names to
the file's headers (``{"timestamp": "unix", "volume": "Volume BTC"}``) and ``skip_rows`` skips
banner lines before the header (CryptoDataDownload files have one).

What is normal in real data is accepted and reported with counts:

* **No-trade bars**: all four prices NaN with volume 0 (the real hourly file has 77). For
  modelling they are filled by carrying the last close into open/high/low/close with
  volume 0. No-trade bars before the first trade have no close to carry and are dropped.
* **Missing bars** (a step of k > 1 declared periods) are an error, unless ``repair`` is on:
  then the index is completed and the new bars are filled as no-trade bars.
* **Newest-first files** (timestamps strictly decreasing) are reversed into increasing order
  (``sorted_newest_first`` in the report); duplicates and gaps are then checked as usual.

Everything else is an error naming the line of the file (the header is line 1, or the line
after the skipped banner), the column and the rule: a binary or non-UTF-8 file, missing
columns, non-numeric or non-finite values, timestamps that are unparseable or of mixed
forms, duplicate or unsorted timestamps, a step that is not a multiple of the declared
frequency, prices that are zero or negative, a high below max(open, close) or a low above
min(open, close), prices partly missing, an empty file.

The cells are read by :mod:`cryptexlab.data.csv_parse` and the rules between rows are
checked by :mod:`cryptexlab.data.candle_checks`; this module puts them together.

Example:
    >>> data = load_candles(SHARED_DATA_DIR / "candlesticks-h.csv")  # doctest: +SKIP
    >>> data.report.no_trade_bars  # doctest: +SKIP
    77
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cryptexlab.data.candle_checks import check_order, check_rows, check_steps
from cryptexlab.data.csv_parse import (
    PRICE_COLUMNS,
    REQUIRED_COLUMNS,
    norm,
    numeric,
    read_text,
    select_columns,
    timestamps,
)
from cryptexlab.errors import DataError

FREQS: dict[str, pd.Timedelta] = {
    "1h": pd.Timedelta(hours=1),
    "4h": pd.Timedelta(hours=4),
    "1d": pd.Timedelta(days=1),
}


@dataclass(frozen=True)
class CandleReport:
    """What loading found and did, for reports and the ``data validate`` command.

    ``timestamp_unit`` is ``"s"``, ``"ms"`` or ``"iso8601"``; ``naive_timestamps_as_utc`` is
    True when ISO times had no zone and were taken as UTC. ``columns`` holds the mapping used
    (loader name to file header) and ``skipped_lines`` the banner lines skipped before the header.
    """

    source: str
    freq: str
    rows_in_file: int
    rows: int
    start: str
    end: str
    timestamp_unit: str
    no_trade_bars: int
    longest_no_trade_run: int
    leading_no_trade_dropped: int
    gaps: int
    missing_bars: int
    repaired_bars: int
    synthetic: bool = False
    naive_timestamps_as_utc: bool = False
    sorted_newest_first: bool = False
    skipped_lines: int = 0
    columns: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return dataclasses.asdict(self)

    def to_frame(self) -> pd.DataFrame:
        """One row per field, for display in a notebook."""
        return pd.DataFrame({"value": [str(v) for v in self.to_dict().values()]}, index=list(self.to_dict()))


@dataclass(frozen=True)
class CandleData:
    """Validated candles ready for modelling.

    Attributes:
        frame: UTC ``DatetimeIndex`` named ``timestamp``; float columns open, high, low,
            close, volume; no NaN (no-trade bars filled as documented).
        no_trade: boolean Series on the same index, True where the bar had no trade
            (in the file, or added by repair).
        report: counts of what was found and done.
    """

    frame: pd.DataFrame
    no_trade: pd.Series
    report: CandleReport


def load_candles(
    path: str | Path,
    freq: str = "1h",
    repair: bool = False,
    columns: Mapping[str, str] | None = None,
    skip_rows: int = 0,
) -> CandleData:
    """Read a Cryptex CSV (or a vendor layout, with ``columns``), validate every row, fill no-trade bars.

    Args:
        path: The CSV file (UTF-8 text).
        freq: The declared step: ``"1h"``, ``"4h"`` or ``"1d"``.
        repair: Reindex missing bars and fill them as no-trade bars instead of failing.
        columns: The file's header for each loader name that differs, e.g.
            ``{"timestamp": "unix", "volume": "Volume BTC"}``; headers match ignoring case
            and surrounding spaces. Other columns of the file are ignored.
        skip_rows: Lines before the header to skip (a vendor's banner line).

    Raises:
        DataError: naming the file, the line, the column and the rule that was broken.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; pass the path of a Cryptex-format CSV")
    if isinstance(skip_rows, bool) or not isinstance(skip_rows, int) or skip_rows < 0:
        raise DataError(f"skip_rows must be a whole number of lines >= 0 but got {skip_rows!r}")
    text = read_text(path)
    skipped = f" after skipping {skip_rows} line(s)" if skip_rows else ""
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skiprows=skip_rows)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty{skipped}; a Cryptex CSV needs a header "
                        f"({', '.join(REQUIRED_COLUMNS)}) and at least one row") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: not a well-formed CSV{skipped} ({exc}); if banner lines come "
                        "before the header, skip them with data.skip_rows (--skip-rows)") from None
    return validate_candles(raw, source=str(path), freq=freq, repair=repair, columns=columns,
                            header_line=skip_rows + 1)


def validate_candles(
    raw: pd.DataFrame,
    source: str,
    freq: str = "1h",
    repair: bool = False,
    synthetic: bool = False,
    columns: Mapping[str, str] | None = None,
    header_line: int = 1,
) -> CandleData:
    """Validate a frame of raw string (or numeric) cells in the Cryptex layout.

    Row ``i`` of ``raw`` is reported as line ``header_line + 1 + i`` of the file.
    ``columns`` maps loader names to the frame's headers, as in :func:`load_candles`.
    """
    step = _freq(freq)
    mapping = dict(columns or {})
    raw = select_columns(raw, mapping, source)
    if raw.empty:
        raise DataError(f"{source}: the file has a header but no data rows")
    lines = np.arange(len(raw)) + header_line + 1

    index, unit, naive = timestamps(raw["timestamp"], source, lines)
    num = pd.DataFrame({c: numeric(raw[c], c, source, lines, index) for c in (*PRICE_COLUMNS, "volume")})
    newest_first = check_order(index, source, lines)

    prices = num[list(PRICE_COLUMNS)]
    nan_count = prices.isna().sum(axis=1).to_numpy()
    volume = num["volume"].to_numpy()
    check_rows(prices, volume, nan_count, source, lines)

    frame = pd.DataFrame({c: num[c].to_numpy(dtype=float) for c in (*PRICE_COLUMNS, "volume")}, index=index)
    no_trade = pd.Series(nan_count == 4, index=index, name="no_trade")
    if newest_first:
        frame, no_trade, lines = frame.iloc[::-1], no_trade.iloc[::-1], lines[::-1]
        index = frame.index

    missing_bars, gaps = check_steps(index, step, source, repair, lines)
    if missing_bars:
        full = pd.date_range(index[0], index[-1], freq=step, name="timestamp")
        frame = frame.reindex(full)
        frame.loc[frame["close"].isna() & frame["volume"].isna(), "volume"] = 0.0
        no_trade = no_trade.reindex(full, fill_value=True)

    leading = int(np.argmax(~no_trade.to_numpy())) if (~no_trade).any() else len(no_trade)
    if leading == len(no_trade):
        raise DataError(f"{source}: every row is a no-trade bar (all prices NaN); no price to model")
    frame, no_trade = frame.iloc[leading:].copy(), no_trade.iloc[leading:].copy()
    _fill_no_trade(frame)

    report = CandleReport(
        source=source,
        freq=freq,
        rows_in_file=len(raw),
        rows=len(frame),
        start=frame.index[0].isoformat(),
        end=frame.index[-1].isoformat(),
        timestamp_unit=unit,
        no_trade_bars=int(no_trade.sum()),
        longest_no_trade_run=_longest_run(no_trade.to_numpy()),
        leading_no_trade_dropped=leading,
        gaps=gaps,
        missing_bars=missing_bars,
        repaired_bars=missing_bars,
        synthetic=synthetic,
        naive_timestamps_as_utc=naive,
        sorted_newest_first=newest_first,
        skipped_lines=header_line - 1,
        columns={k: v for k, v in mapping.items() if norm(v) != k},
    )
    return CandleData(frame=frame, no_trade=no_trade, report=report)


def resample_candles(frame: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Aggregate candles to a coarser step with OHLCV rules.

    open = first, high = max, low = min, close = last, volume = sum. Bins are labelled by
    their start and aligned to the Unix epoch (daily bins start at 00:00 UTC). Incomplete
    bins at either end (fewer bars than the bin holds) are dropped, so every bar is whole.

    Raises:
        DataError: if ``freq`` is unknown or not coarser than the frame's own step.
    """
    target = _freq(freq)
    source_step = frame.index[1] - frame.index[0] if len(frame) > 1 else target
    if target <= source_step or target % source_step:
        raise DataError(
            f"cannot resample bars of {source_step} to {freq}: the target must be a whole "
            f"multiple of the source step; choose one of {[k for k, v in FREQS.items() if v > source_step]}"
        )
    rule = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    grouped = frame.resample(target, origin="epoch", label="left", closed="left")
    out = grouped.agg(rule)
    complete = grouped["close"].count() == int(target / source_step)
    return out[complete]


# ----------------------------------------------------------------------------- helpers


def _freq(freq: str) -> pd.Timedelta:
    if freq not in FREQS:
        raise DataError(f"unknown frequency {freq!r}; use one of {', '.join(FREQS)}")
    return FREQS[freq]


def _fill_no_trade(frame: pd.DataFrame) -> None:
    """Carry the last close into open/high/low/close of no-trade bars; volume 0."""
    close = frame["close"].ffill()
    for col in PRICE_COLUMNS:
        frame[col] = frame[col].fillna(close)
    frame["volume"] = frame["volume"].fillna(0.0)


def _longest_run(mask: np.ndarray) -> int:
    best = run = 0
    for flag in mask:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best
