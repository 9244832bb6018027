"""Load, validate and repair candles in the Cryptex CSV format.

The format is ``timestamp, open, close, high, low, volume`` (columns are read by name, in
any order; the real files put CLOSE before high and low). ``timestamp`` is Unix time in
seconds or milliseconds: values above 1e11 are taken as milliseconds.

What is normal in real data is accepted and reported with counts:

* **No-trade bars**: all four prices NaN with volume 0 (the real hourly file has 77). For
  modelling they are filled by carrying the last close into open/high/low/close with
  volume 0. No-trade bars before the first trade have no close to carry and are dropped.
* **Missing bars** (a step of k > 1 declared periods) are an error, unless ``repair`` is on:
  then the index is completed and the new bars are filled as no-trade bars.

Everything else is an error naming the line of the file (the header is line 1), the column
and the rule: missing columns, non-numeric values, duplicate or unsorted timestamps, a step
that is not a multiple of the declared frequency, prices that are zero or negative, a high
below max(open, close) or a low above min(open, close), prices partly missing, an empty file.

Example:
    >>> data = load_candles(SHARED_DATA_DIR / "candlesticks-h.csv")  # doctest: +SKIP
    >>> data.report.no_trade_bars
    77
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cryptexlab.errors import DataError

REQUIRED_COLUMNS: tuple[str, ...] = ("timestamp", "open", "close", "high", "low", "volume")
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
FREQS: dict[str, pd.Timedelta] = {
    "1h": pd.Timedelta(hours=1),
    "4h": pd.Timedelta(hours=4),
    "1d": pd.Timedelta(days=1),
}
_MS_THRESHOLD = 1e11  # Unix seconds stay below 1e11 until the year 5138


@dataclass(frozen=True)
class CandleReport:
    """What loading found and did, for reports and the ``data validate`` command."""

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


def load_candles(path: str | Path, freq: str = "1h", repair: bool = False) -> CandleData:
    """Read a Cryptex CSV, validate every row and fill no-trade bars.

    Args:
        path: The CSV file.
        freq: The declared step: ``"1h"``, ``"4h"`` or ``"1d"``.
        repair: Reindex missing bars and fill them as no-trade bars instead of failing.

    Raises:
        DataError: naming the file, the line, the column and the rule that was broken.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; pass the path of a Cryptex-format CSV")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty; a Cryptex CSV needs a header "
                        f"({', '.join(REQUIRED_COLUMNS)}) and at least one row") from None
    return validate_candles(raw, source=str(path), freq=freq, repair=repair)


def validate_candles(
    raw: pd.DataFrame, source: str, freq: str = "1h", repair: bool = False, synthetic: bool = False
) -> CandleData:
    """Validate a frame of raw string (or numeric) cells in the Cryptex layout.

    Row ``i`` of ``raw`` is reported as line ``i + 2`` of the file (line 1 is the header).
    """
    step = _freq(freq)
    raw = raw.rename(columns=lambda c: str(c).strip().lower())
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(
            f"{source}: missing required column(s) {', '.join(missing)}; the Cryptex format "
            f"needs {', '.join(REQUIRED_COLUMNS)} (any order). Found: {', '.join(map(str, raw.columns))}"
        )
    if raw.empty:
        raise DataError(f"{source}: the file has a header but no data rows")

    num = pd.DataFrame({c: _numeric(raw[c], c, source) for c in REQUIRED_COLUMNS})
    ts = num["timestamp"]
    if ts.isna().any():
        line = int(np.flatnonzero(ts.isna().to_numpy())[0]) + 2
        raise DataError(f"{source} line {line}, column timestamp: empty timestamp; every row needs one")
    unit = "ms" if ts.abs().max() > _MS_THRESHOLD else "s"
    index = pd.DatetimeIndex(
        pd.to_datetime(ts.astype("int64"), unit=unit, utc=True), name="timestamp"
    ).as_unit("ns")
    _check_order(index, source)

    prices = num[list(PRICE_COLUMNS)]
    nan_count = prices.isna().sum(axis=1).to_numpy()
    volume = num["volume"].to_numpy()
    _check_rows(prices, volume, nan_count, source)

    frame = pd.DataFrame(
        {c: num[c].to_numpy(dtype=float) for c in (*PRICE_COLUMNS, "volume")}, index=index
    )
    no_trade = pd.Series(nan_count == 4, index=index, name="no_trade")

    missing_bars, gaps = _check_steps(index, step, source, repair)
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


# ----------------------------------------------------------------------------- checks


def _freq(freq: str) -> pd.Timedelta:
    if freq not in FREQS:
        raise DataError(f"unknown frequency {freq!r}; use one of {', '.join(FREQS)}")
    return FREQS[freq]


def _numeric(col: pd.Series, name: str, source: str) -> pd.Series:
    """Convert one column to float; empty cells and 'NaN' become NaN, other text is an error."""
    if pd.api.types.is_numeric_dtype(col):
        return col.astype(float)
    col = col.astype(str)
    text = col.str.strip()
    values = pd.to_numeric(text.where(~text.str.lower().isin(["", "nan", "null", "na"])), errors="coerce")
    bad = values.isna() & ~text.str.lower().isin(["", "nan", "null", "na"])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{source} line {i + 2}, column {name}: value {col.iloc[i]!r} is not a number"
        )
    return values.astype(float)


def _check_order(index: pd.DatetimeIndex, source: str) -> None:
    deltas = np.diff(index.asi8)
    if (deltas == 0).any():
        i = int(np.flatnonzero(deltas == 0)[0]) + 1
        raise DataError(
            f"{source} line {i + 2}, column timestamp: {index[i]} duplicates line {i + 1}; "
            "each bar must appear once. Remove the duplicate row"
        )
    if (deltas < 0).any():
        i = int(np.flatnonzero(deltas < 0)[0]) + 1
        raise DataError(
            f"{source} line {i + 2}, column timestamp: {index[i]} is earlier than line {i + 1} "
            f"({index[i - 1]}); rows must be in increasing time order. Sort the file by timestamp"
        )


def _check_rows(prices: pd.DataFrame, volume: np.ndarray, nan_count: np.ndarray, source: str) -> None:
    partial = (nan_count > 0) & (nan_count < 4)
    if partial.any():
        i = int(np.flatnonzero(partial)[0])
        gone = [c for c in PRICE_COLUMNS if np.isnan(prices[c].iloc[i])]
        raise DataError(
            f"{source} line {i + 2}: prices partly missing ({', '.join(gone)} empty); only "
            "whole no-trade rows (all four prices NaN, volume 0) are allowed. Fix or remove the row"
        )
    empty_vol = np.isnan(volume)
    if empty_vol.any():
        i = int(np.flatnonzero(empty_vol)[0])
        raise DataError(f"{source} line {i + 2}, column volume: volume is empty; use 0 for no trade")
    traded_no_price = (nan_count == 4) & (volume != 0)
    if traded_no_price.any():
        i = int(np.flatnonzero(traded_no_price)[0])
        raise DataError(
            f"{source} line {i + 2}: all prices are NaN but volume is {volume[i]}; a no-trade "
            "row must have volume 0"
        )
    if (volume < 0).any():
        i = int(np.flatnonzero(volume < 0)[0])
        raise DataError(f"{source} line {i + 2}, column volume: volume {volume[i]} is negative")
    for col in PRICE_COLUMNS:
        values = prices[col].to_numpy()
        bad = values <= 0
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{source} line {i + 2}, column {col}: price {values[i]} must be positive"
            )
    o, h, lo, c = (prices[k].to_numpy() for k in ("open", "high", "low", "close"))
    high_low = h < np.maximum(o, c)
    if high_low.any():
        i = int(np.flatnonzero(high_low)[0])
        raise DataError(
            f"{source} line {i + 2}, column high: high {h[i]} is below max(open, close) = "
            f"{max(o[i], c[i])}; a bar's high must be at least its open and close"
        )
    low_high = lo > np.minimum(o, c)
    if low_high.any():
        i = int(np.flatnonzero(low_high)[0])
        raise DataError(
            f"{source} line {i + 2}, column low: low {lo[i]} is above min(open, close) = "
            f"{min(o[i], c[i])}; a bar's low must be at most its open and close"
        )


def _check_steps(
    index: pd.DatetimeIndex, step: pd.Timedelta, source: str, repair: bool
) -> tuple[int, int]:
    """Return (missing bars, gaps); raise on off-grid steps, or on gaps without repair."""
    if len(index) < 2:
        return 0, 0
    deltas = np.diff(index.asi8)
    step_ns = step.value
    off_grid = deltas % step_ns != 0
    if off_grid.any():
        i = int(np.flatnonzero(off_grid)[0]) + 1
        raise DataError(
            f"{source} line {i + 2}, column timestamp: step of {_span(deltas[i - 1])} from line "
            f"{i + 1} is not a multiple of the declared frequency {_span(step_ns)}; check --freq"
        )
    jumps = deltas // step_ns - 1
    gaps = int((jumps > 0).sum())
    missing = int(jumps.sum())
    if gaps and not repair:
        i = int(np.flatnonzero(jumps > 0)[0]) + 1
        raise DataError(
            f"{source} line {i + 2}, column timestamp: {int(jumps[i - 1])} bar(s) missing between "
            f"{index[i - 1]} and {index[i]} ({gaps} gap(s), {missing} missing bar(s) in all) at "
            f"declared frequency {_span(step_ns)}. Use --repair (data.repair: true) to fill them as no-trade bars"
        )
    return missing, gaps


def _span(ns: int) -> str:
    """'1h', '30min', '1d 2h' style text of a nanosecond step."""
    td = pd.Timedelta(int(ns))
    return td.isoformat() if td.components.seconds or td.components.milliseconds else (
        " ".join(f"{v}{u}" for v, u in ((td.days, "d"), (td.components.hours, "h"),
                                          (td.components.minutes, "min")) if v) or "0"
    )


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
