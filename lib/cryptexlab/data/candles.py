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

Example:
    >>> data = load_candles(SHARED_DATA_DIR / "candlesticks-h.csv")  # doctest: +SKIP
    >>> data.report.no_trade_bars  # doctest: +SKIP
    77
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
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
_EMPTY = ["", "nan", "null", "na"]
# a zone designator after a time: Z, +01, +0100 or +01:00 (a date alone has no zone)
_ZONE = re.compile(r"[T\s]\d{2}(?::?\d{2}){0,2}(?:[.,]\d+)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)
# the first bytes of files that are often given by mistake, and what to do instead
_MAGIC: dict[bytes, str] = {
    b"\x1f\x8b": "a gzip archive; decompress it first (gunzip)",
    b"PK\x03\x04": "a zip archive or an Excel .xlsx workbook; extract the CSV or export the sheet as CSV",
    b"\xd0\xcf\x11\xe0": "a legacy Excel workbook; export the sheet as CSV (UTF-8)",
    b"PAR1": "a Parquet file; convert it to CSV",
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
    text = _read_text(path)
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
    raw = _select_columns(raw, mapping, source)
    if raw.empty:
        raise DataError(f"{source}: the file has a header but no data rows")
    lines = np.arange(len(raw)) + header_line + 1

    index, unit, naive = _timestamps(raw["timestamp"], source, lines)
    num = pd.DataFrame({c: _numeric(raw[c], c, source, lines, index) for c in (*PRICE_COLUMNS, "volume")})
    newest_first = _check_order(index, source, lines)

    prices = num[list(PRICE_COLUMNS)]
    nan_count = prices.isna().sum(axis=1).to_numpy()
    volume = num["volume"].to_numpy()
    _check_rows(prices, volume, nan_count, source, lines)

    frame = pd.DataFrame({c: num[c].to_numpy(dtype=float) for c in (*PRICE_COLUMNS, "volume")}, index=index)
    no_trade = pd.Series(nan_count == 4, index=index, name="no_trade")
    if newest_first:
        frame, no_trade, lines = frame.iloc[::-1], no_trade.iloc[::-1], lines[::-1]
        index = frame.index

    missing_bars, gaps = _check_steps(index, step, source, repair, lines)
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
        columns={k: v for k, v in mapping.items() if _norm(v) != k},
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


# ----------------------------------------------------------------------------- reading


def _read_text(path: Path) -> str:
    """The file as text; a binary or non-UTF-8 file is a DataError saying what it looks like."""
    data = path.read_bytes()
    kind = next((what for magic, what in _MAGIC.items() if data.startswith(magic)), None)
    nul = data.find(b"\x00", 0, 8192)
    if kind is None and nul >= 0:
        kind = f"a NUL byte at offset {nul}; CSV text has none"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"{path}: not UTF-8 text (its byte-order mark says UTF-16); save the file as "
                        "UTF-8, e.g. iconv -f utf-16 -t utf-8 in.csv > out.csv")
    if kind is not None:
        raise DataError(f"{path}: looks binary, not a CSV text file: {kind}. The loader reads UTF-8 "
                        "CSV text with the header timestamp,open,close,high,low,volume")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{path}: not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line}) "
            "cannot be decoded; save the file as UTF-8, e.g. iconv -f latin1 -t utf-8 in.csv > out.csv"
        ) from None


def _norm(name: object) -> str:
    return str(name).strip().lower()


def _select_columns(raw: pd.DataFrame, mapping: dict[str, str], source: str) -> pd.DataFrame:
    """The six loader columns of ``raw``, each found by its mapped header (or its own name)."""
    found = ", ".join(map(str, raw.columns))
    unknown = sorted(set(mapping) - set(REQUIRED_COLUMNS))
    if unknown:
        raise DataError(
            f"{source}: unknown column name(s) {', '.join(unknown)} in the column mapping (data.columns); "
            f"its keys are the loader's names {', '.join(REQUIRED_COLUMNS)} and its values the file's "
            f"headers. Found in the file: {found}"
        )
    headers = {_norm(c): c for c in raw.columns}
    absent = [f"{k} -> {v!r}" for k, v in mapping.items() if _norm(v) not in headers]
    if absent:
        raise DataError(
            f"{source}: mapped column(s) not in the file: {', '.join(absent)} (data.columns). "
            f"Found in the file: {found}"
        )
    wanted = {c: _norm(mapping.get(c, c)) for c in REQUIRED_COLUMNS}
    missing = [c for c in REQUIRED_COLUMNS if wanted[c] not in headers]
    if missing:
        raise DataError(
            f"{source}: missing required column(s) {', '.join(missing)}; the Cryptex format "
            f"needs {', '.join(REQUIRED_COLUMNS)} (any order). Found: {found}. Map other header "
            "names with data.columns, and skip banner lines before the header with data.skip_rows"
        )
    return pd.DataFrame({c: raw[headers[wanted[c]]] for c in REQUIRED_COLUMNS})


# ----------------------------------------------------------------------------- checks


def _freq(freq: str) -> pd.Timedelta:
    if freq not in FREQS:
        raise DataError(f"unknown frequency {freq!r}; use one of {', '.join(FREQS)}")
    return FREQS[freq]


def _timestamps(col: pd.Series, source: str, lines: np.ndarray) -> tuple[pd.DatetimeIndex, str, bool]:
    """Parse Unix seconds, Unix milliseconds or ISO 8601 (naive = UTC); one form for every row.

    Returns the UTC index, the unit (``"s"``, ``"ms"`` or ``"iso8601"``) and whether the ISO
    times were naive.
    """
    text = col.astype(str).str.strip()
    empty = text.str.lower().isin(_EMPTY).to_numpy()
    if empty.any():
        line = lines[np.flatnonzero(empty)[0]]
        raise DataError(f"{source} line {line}, column timestamp: empty timestamp; every row needs one")
    numbers = col.astype(float) if pd.api.types.is_numeric_dtype(col) else pd.to_numeric(text, errors="coerce")
    numbers = numbers.to_numpy(dtype=float)
    finite = np.isfinite(numbers)
    iso = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns, UTC]")
    parsed = zoned = np.zeros(len(col), dtype=bool)
    if not finite.all():  # ISO 8601 text (Z in upper case, as pandas wants it)
        iso = pd.to_datetime(text.str.upper().where(~finite), utc=True, format="ISO8601", errors="coerce")
        parsed, zoned = iso.notna().to_numpy(), text.str.contains(_ZONE).to_numpy()
    forms = np.select(
        [finite & (np.abs(numbers) > _MS_THRESHOLD), finite, parsed & zoned, parsed],
        ["Unix milliseconds", "Unix seconds", "ISO 8601 with a zone", "ISO 8601 without a zone"],
        default="",
    )
    bad = (forms == "") | (forms != forms[0])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where = f"{source} line {lines[i]}, column timestamp: value {col.iloc[i]!r}"
        if forms[i] == "":
            raise DataError(f"{where} is not a timestamp; use Unix seconds, Unix milliseconds or "
                            "ISO 8601 (e.g. 2024-01-01T00:00:00Z; without a zone = UTC)")
        raise DataError(
            f"{where} is {forms[i]} but line {lines[0]} ({col.iloc[0]!r}) is {forms[0]}; every "
            "timestamp of a file must have the same form: Unix seconds, Unix milliseconds or ISO 8601 "
            "(all with a zone, or all without = UTC)"
        )
    if forms[0].startswith("Unix"):
        unit = "ms" if forms[0] == "Unix milliseconds" else "s"
        stamps = pd.to_datetime(numbers.astype("int64"), unit=unit, utc=True)
        return pd.DatetimeIndex(stamps, name="timestamp").as_unit("ns"), unit, False
    naive = forms[0] == "ISO 8601 without a zone"
    return pd.DatetimeIndex(iso, name="timestamp").as_unit("ns"), "iso8601", naive


def _numeric(col: pd.Series, name: str, source: str, lines: np.ndarray, index: pd.DatetimeIndex) -> pd.Series:
    """Convert one column to float; empty cells and 'NaN' become NaN, other text and inf are errors."""
    if pd.api.types.is_numeric_dtype(col):
        values = col.astype(float)
    else:
        col = col.astype(str)
        text = col.str.strip()
        empty = text.str.lower().isin(_EMPTY)
        values = pd.to_numeric(text.where(~empty), errors="coerce")
        bad = values.isna() & ~empty
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{source} line {lines[i]}, column {name}: value {col.iloc[i]!r} is not a number"
            )
    infinite = np.isinf(values.to_numpy(dtype=float))
    if infinite.any():
        i = int(np.flatnonzero(infinite)[0])
        raise DataError(
            f"{source} line {lines[i]} ({index[i]}), column {name}: value {col.iloc[i]!r} is not finite; "
            "prices and volume must be finite numbers (NaN prices with volume 0 for no trade). Fix or remove the row"
        )
    return values.astype(float)


def _check_order(index: pd.DatetimeIndex, source: str, lines: np.ndarray) -> bool:
    """Return True for a newest-first file (strictly decreasing); raise on any other disorder."""
    deltas = np.diff(index.asi8)
    if len(deltas) and (deltas < 0).all():
        return True
    if (deltas == 0).any():
        i = int(np.flatnonzero(deltas == 0)[0]) + 1
        raise DataError(
            f"{source} line {lines[i]}, column timestamp: {index[i]} duplicates line {lines[i - 1]}; "
            "each bar must appear once. Remove the duplicate row"
        )
    if (deltas < 0).any():
        i = int(np.flatnonzero(deltas < 0)[0]) + 1
        raise DataError(
            f"{source} line {lines[i]}, column timestamp: {index[i]} is earlier than line {lines[i - 1]} "
            f"({index[i - 1]}); rows must be in increasing time order. Sort the file by timestamp"
        )
    return False


def _check_rows(
    prices: pd.DataFrame, volume: np.ndarray, nan_count: np.ndarray, source: str, lines: np.ndarray
) -> None:
    partial = (nan_count > 0) & (nan_count < 4)
    if partial.any():
        i = int(np.flatnonzero(partial)[0])
        gone = [c for c in PRICE_COLUMNS if np.isnan(prices[c].iloc[i])]
        raise DataError(
            f"{source} line {lines[i]}: prices partly missing ({', '.join(gone)} empty); only "
            "whole no-trade rows (all four prices NaN, volume 0) are allowed. Fix or remove the row"
        )
    empty_vol = np.isnan(volume)
    if empty_vol.any():
        i = int(np.flatnonzero(empty_vol)[0])
        raise DataError(f"{source} line {lines[i]}, column volume: volume is empty; use 0 for no trade")
    traded_no_price = (nan_count == 4) & (volume != 0)
    if traded_no_price.any():
        i = int(np.flatnonzero(traded_no_price)[0])
        raise DataError(
            f"{source} line {lines[i]}: all prices are NaN but volume is {volume[i]}; a no-trade "
            "row must have volume 0"
        )
    if (volume < 0).any():
        i = int(np.flatnonzero(volume < 0)[0])
        raise DataError(f"{source} line {lines[i]}, column volume: volume {volume[i]} is negative")
    for col in PRICE_COLUMNS:
        values = prices[col].to_numpy()
        bad = values <= 0
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{source} line {lines[i]}, column {col}: price {values[i]} must be positive"
            )
    o, h, lo, c = (prices[k].to_numpy() for k in ("open", "high", "low", "close"))
    high_low = h < np.maximum(o, c)
    if high_low.any():
        i = int(np.flatnonzero(high_low)[0])
        raise DataError(
            f"{source} line {lines[i]}, column high: high {h[i]} is below max(open, close) = "
            f"{max(o[i], c[i])}; a bar's high must be at least its open and close"
        )
    low_high = lo > np.minimum(o, c)
    if low_high.any():
        i = int(np.flatnonzero(low_high)[0])
        raise DataError(
            f"{source} line {lines[i]}, column low: low {lo[i]} is above min(open, close) = "
            f"{min(o[i], c[i])}; a bar's low must be at most its open and close"
        )


def _check_steps(
    index: pd.DatetimeIndex, step: pd.Timedelta, source: str, repair: bool, lines: np.ndarray
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
            f"{source} line {lines[i]}, column timestamp: step of {_span(deltas[i - 1])} from line "
            f"{lines[i - 1]} is not a multiple of the declared frequency {_span(step_ns)}; check --freq"
        )
    jumps = deltas // step_ns - 1
    gaps = int((jumps > 0).sum())
    missing = int(jumps.sum())
    if gaps and not repair:
        i = int(np.flatnonzero(jumps > 0)[0]) + 1
        raise DataError(
            f"{source} line {lines[i]}, column timestamp: {int(jumps[i - 1])} bar(s) missing between "
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
