"""The ``cryptexlab`` command line.

    cryptexlab data validate PATH [--freq 1h] [--repair] [--json]
    cryptexlab data synth --kind default|martingale|planted --hours N --seed S --out PATH

Every command exits 0 on success, 2 on bad input (with the reason on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from cryptexlab.errors import CryptexError

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="cryptexlab", description="Cryptex HPO workbench")
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="candle files: validate, generate")
    data_cmds = data.add_subparsers(dest="data_command", required=True)

    validate = data_cmds.add_parser("validate", help="validate (and optionally repair) a Cryptex CSV")
    validate.add_argument("path", help="Cryptex-format CSV file")
    validate.add_argument("--freq", default="1h", choices=["1h", "4h", "1d"], help="declared step")
    validate.add_argument("--repair", action="store_true", help="fill missing bars as no-trade bars")
    validate.add_argument("--json", action="store_true", help="print the summary as JSON")
    validate.set_defaults(handler=_data_validate)

    synth = data_cmds.add_parser("synth", help="write the synthetic series as a Cryptex CSV")
    synth.add_argument("--kind", default="default", choices=["default", "martingale", "planted"])
    synth.add_argument("--hours", type=int, default=8760)
    synth.add_argument("--seed", type=int, default=7)
    synth.add_argument("--out", required=True, help="output CSV path")
    synth.set_defaults(handler=_data_synth)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cryptexlab`` script; returns the exit status."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except CryptexError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _data_validate(args: argparse.Namespace) -> int:
    from cryptexlab.data.candles import load_candles

    report = load_candles(args.path, freq=args.freq, repair=args.repair).report
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    print(f"{report.source}: valid")
    print(f"  rows            {report.rows:,} (file: {report.rows_in_file:,})")
    print(f"  period          {report.start} to {report.end}, step {report.freq}")
    print(f"  timestamps      Unix {'milliseconds' if report.timestamp_unit == 'ms' else 'seconds'}")
    print(f"  no-trade bars   {report.no_trade_bars} (longest run {report.longest_no_trade_run}; "
          f"filled with the last close, volume 0)")
    if report.leading_no_trade_dropped:
        print(f"  dropped         {report.leading_no_trade_dropped} no-trade bars before the first trade")
    print(f"  gaps            {report.gaps} ({report.missing_bars} missing bars, "
          f"{report.repaired_bars} repaired)")
    return 0


def _data_synth(args: argparse.Namespace) -> int:
    from cryptexlab.data.synthetic import synthetic_frame, write_cryptex_csv

    frame = synthetic_frame(kind=args.kind, hours=args.hours, seed=args.seed)
    path = write_cryptex_csv(frame, args.out)
    print(f"wrote {len(frame):,} synthetic {args.kind} bars (seed {args.seed}) to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
