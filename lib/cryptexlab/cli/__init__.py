"""The ``cryptexlab`` command line.

    cryptexlab data validate PATH [--freq FREQ] [--repair] [--column timestamp=unix ...] [--skip-rows N] [--json]
    cryptexlab data synth [--kind KIND] [--hours N] [--seed S] --out PATH
    cryptexlab data features [PATH] [--feature-set NAME] [--json]
    cryptexlab data fetch --exchange binanceus --symbol BTC/USDT --timeframe 1h --since 2019-09-23 --out PATH
    cryptexlab train [--profile smoke] [-p model.llm_layers=1 ...] [--json]
    cryptexlab optimize [--mode MODE] [--n-trials N] [--method M] [--cv-splits K] [--cv-kind KIND] ...
    cryptexlab worker --study NAME --storage URL_OR_JOURNAL [--n-trials N] [--host-workers K] [--profile P -p ...]
    cryptexlab dashboard [--port P] [--storage PATH_OR_URL]
    cryptexlab verdict [--profile quick] [-p key=value ...] [--json]
    cryptexlab schedule --kind KIND [--param name=value ...] --steps N [--lr 1e-3] [--json] [--plot FILE.html]

Every command exits 0 on success, 2 on bad input (with the reason on stderr, no traceback), and 3
when a worker lost its study storage for longer than ``storage_timeout_s`` (restart it later).
The choices and defaults that a profile also has (bar steps, synthetic kinds, feature sets, search
modes and methods, schedule kinds) are read from the schemas of :mod:`cryptexlab.params`, so the
command line offers exactly what a profile accepts (``--help`` lists them).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from cryptexlab.cli.parser import build_parser
from cryptexlab.errors import CryptexError, StorageLost

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cryptexlab`` script; returns the exit status."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except StorageLost as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except CryptexError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


__all__ = ["build_parser", "main"]
