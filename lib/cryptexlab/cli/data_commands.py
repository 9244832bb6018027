"""The ``cryptexlab data`` commands: validate, synth, features, fetch.

Each handler imports its library module when the command runs (the command line is the top layer:
these imports point down, and keep ``--help`` fast); each returns the exit status.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from cryptexlab.errors import DataError


def data_validate(args: argparse.Namespace) -> int:
    from cryptexlab.data.candles import load_candles

    columns: dict[str, str] = {}
    for item in args.column:
        name, sep, header = item.partition("=")
        if not sep or not name.strip() or not header.strip():
            raise DataError(f"--column {item!r} must look like NAME=HEADER, e.g. --column timestamp=unix")
        columns[name.strip()] = header.strip()
    report = load_candles(args.path, freq=args.freq, repair=args.repair, columns=columns,
                          skip_rows=args.skip_rows).report
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    print(f"{report.source}: valid")
    print(f"  rows            {report.rows:,} (file: {report.rows_in_file:,})")
    print(f"  period          {report.start} to {report.end}, step {report.freq}")
    forms = {"ms": "Unix milliseconds", "s": "Unix seconds", "iso8601": "ISO 8601"}
    naive = " without a zone, taken as UTC" if report.naive_timestamps_as_utc else ""
    newest = "; the file was newest-first, sorted oldest-first" if report.sorted_newest_first else ""
    print(f"  timestamps      {forms[report.timestamp_unit]}{naive}{newest}")
    if report.columns or report.skipped_lines:
        mapped = ", ".join(f"{k}={v}" for k, v in report.columns.items()) or "none"
        print(f"  layout          columns mapped: {mapped}; {report.skipped_lines} banner line(s) skipped")
    print(f"  no-trade bars   {report.no_trade_bars} (longest run {report.longest_no_trade_run}; "
          f"filled with the last close, volume 0)")
    if report.leading_no_trade_dropped:
        print(f"  dropped         {report.leading_no_trade_dropped} no-trade bars before the first trade")
    print(f"  gaps            {report.gaps} ({report.missing_bars} missing bars, "
          f"{report.repaired_bars} repaired)")
    return 0


def data_synth(args: argparse.Namespace) -> int:
    from cryptexlab.data.synthetic import synthetic_frame, write_cryptex_csv

    frame = synthetic_frame(kind=args.kind, hours=args.hours, seed=args.seed)
    path = write_cryptex_csv(frame, args.out)
    print(f"wrote {len(frame):,} synthetic {args.kind} bars (seed {args.seed}) to {path}")
    return 0


def data_features(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cryptexlab.data.source import load_features
    from cryptexlab.params import DataConfig

    try:
        path = str(Path(args.path).resolve()) if args.path else None  # relative to the shell's cwd
        config = DataConfig(path=path, freq=args.freq, repair=args.repair, feature_set=args.feature_set)
    except ValueError as exc:  # pydantic's ValidationError: an unknown feature set or a missing file
        from cryptexlab.data.features import FEATURE_SETS

        if args.feature_set not in FEATURE_SETS:
            raise DataError(f"unknown feature set {args.feature_set!r}; valid names: {', '.join(FEATURE_SETS)}") from None
        raise DataError(f"{args.path}: no such file; pass a Cryptex CSV path or omit it for the synthetic default") from exc
    candles, feats = load_features(config)
    doc = {"source": candles.report.source, "feature_set": feats.feature_set, "rows": len(feats.frame),
           "warmup_rows": feats.warmup_rows, "feature_count": len(feats.names), "features": feats.names}
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print(f"{doc['feature_set']} on {doc['source']}")
    print(f"  rows          {doc['rows']:,} (after dropping {doc['warmup_rows']} warm-up rows)")
    print(f"  features      {doc['feature_count']}")
    for name in feats.names:
        print(f"    {name}")
    return 0


def data_fetch(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from cryptexlab.data.fetch import fetch_candles, make_exchange

    exchange = make_exchange(args.exchange)
    with tqdm(desc=f"{args.exchange} {args.symbol} {args.timeframe}", unit=" bars") as bar:

        def progress(n: int, last: Any) -> None:
            bar.n = n
            bar.set_postfix_str(str(last))

        summary = fetch_candles(exchange, args.symbol, args.timeframe, args.since, Path(args.out), progress=progress)
    verb = "appended" if summary.resumed else "wrote"
    print(f"{verb} {summary.rows_written:,} bars ({summary.first} to {summary.last}) to {args.out} "
          f"in {summary.pages} pages, {summary.retries} retries")
    return 0
