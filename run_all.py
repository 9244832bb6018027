#!/usr/bin/env python3
"""Run a profile's notebooks headlessly and render reports/<run-id>/.

    python run_all.py                          # the quick profile, the main job
    python run_all.py --profile smoke          # tiny budgets (what the tests use)
    python run_all.py --only 01_data -p data.path=../shared/data/cryptex/candlesticks-h.csv

Exit status 0 when every notebook ran, 1 when one failed (named on stderr), 2 when the
profile or a parameter is invalid (nothing ran).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from cryptexlab.errors import CryptexError
from cryptexlab.params import parse_profile
from cryptexlab.paths import NOTEBOOKS_DIR, REPORTS_DIR


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, validate the profile, run it; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="quick", help="profile name in params/ or a YAML path")
    parser.add_argument("--only", default="", help="comma-separated notebooks to run, e.g. 01_data")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                        help="override a profile value, e.g. -p data.synthetic.hours=2000")
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS_DIR, help="folder of the notebooks")
    parser.add_argument("--reports", type=Path, default=REPORTS_DIR, help="folder for reports/<run-id>/")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        profile, source = parse_profile(args.profile, overrides=args.param, with_source=True)
        # a wrong key, type or range is refused above without torch; the library's checks and the run import it
        from cryptexlab.pipeline import main_exit_code, run_profile
        from cryptexlab.profiles import check_profile

        check_profile(profile, source)
        only = [n.strip() for n in args.only.split(",") if n.strip()] or None
        name = args.profile.removesuffix(".yaml").rsplit("/", 1)[-1]
        print(f"profile {name}: notebooks {', '.join(only or profile.notebooks)}", flush=True)
        result = run_profile(profile, profile_name=name, only=only, notebooks_dir=args.notebooks,
                             reports_dir=args.reports, echo=lambda line: print(line, flush=True))
    except CryptexError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"report: {result.run_dir / 'index.html'} ({time.perf_counter() - start:.1f} s)")
    return main_exit_code(result)


if __name__ == "__main__":
    sys.exit(main())
