"""Raw Cryptex CSV text read into typed columns: the file's bytes, its headers, timestamps and numbers.

The first step of :func:`cryptexlab.data.candles.load_candles`: the file is decoded as UTF-8
(binary and non-UTF-8 files are named for what they look like), the six loader columns are
found by their mapped or own headers, timestamps (Unix seconds, Unix milliseconds or ISO 8601,
naive = UTC, one form per file) become a UTC index and the price and volume cells become
floats (empty cells NaN). Each broken rule is a :class:`~cryptexlab.errors.DataError` naming
the line and the column; the rules between rows and bars are in
:mod:`cryptexlab.data.candle_checks`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from cryptexlab.errors import DataError

REQUIRED_COLUMNS: tuple[str, ...] = ("timestamp", "open", "close", "high", "low", "volume")
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
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


def read_text(path: Path) -> str:
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


def norm(name: object) -> str:
    return str(name).strip().lower()


def select_columns(raw: pd.DataFrame, mapping: dict[str, str], source: str) -> pd.DataFrame:
    """The six loader columns of ``raw``, each found by its mapped header (or its own name)."""
    found = ", ".join(map(str, raw.columns))
    unknown = sorted(set(mapping) - set(REQUIRED_COLUMNS))
    if unknown:
        raise DataError(
            f"{source}: unknown column name(s) {', '.join(unknown)} in the column mapping (data.columns); "
            f"its keys are the loader's names {', '.join(REQUIRED_COLUMNS)} and its values the file's "
            f"headers. Found in the file: {found}"
        )
    headers = {norm(c): c for c in raw.columns}
    absent = [f"{k} -> {v!r}" for k, v in mapping.items() if norm(v) not in headers]
    if absent:
        raise DataError(
            f"{source}: mapped column(s) not in the file: {', '.join(absent)} (data.columns). "
            f"Found in the file: {found}"
        )
    wanted = {c: norm(mapping.get(c, c)) for c in REQUIRED_COLUMNS}
    missing = [c for c in REQUIRED_COLUMNS if wanted[c] not in headers]
    if missing:
        raise DataError(
            f"{source}: missing required column(s) {', '.join(missing)}; the Cryptex format "
            f"needs {', '.join(REQUIRED_COLUMNS)} (any order). Found: {found}. Map other header "
            "names with data.columns, and skip banner lines before the header with data.skip_rows"
        )
    return pd.DataFrame({c: raw[headers[wanted[c]]] for c in REQUIRED_COLUMNS})


def timestamps(col: pd.Series, source: str, lines: np.ndarray) -> tuple[pd.DatetimeIndex, str, bool]:
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


def numeric(col: pd.Series, name: str, source: str, lines: np.ndarray, index: pd.DatetimeIndex) -> pd.Series:
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
