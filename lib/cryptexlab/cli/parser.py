"""The argument parser of every ``cryptexlab`` command, its choices and defaults read from the schemas.

The schemas of :mod:`cryptexlab.params` (pydantic, no pandas or torch) give the choices and defaults, so
``--help`` and a bad argument answer in well under a second; each command's handler imports its library
module when it runs (:mod:`cryptexlab.cli.data_commands`, :mod:`cryptexlab.cli.run_commands`).
"""

from __future__ import annotations

import argparse
from typing import Any, get_args

from pydantic import BaseModel

from cryptexlab.cli import data_commands, run_commands
from cryptexlab.params import API_METHODS as METHODS
from cryptexlab.params import (
    CVConfig,
    DataConfig,
    FeatureSetName,
    SchedulerConfig,
    SearchConfig,
    SyntheticConfig,
    available_profiles,
)


def _choices(schema: type[BaseModel], field: str) -> list[str]:
    """The values a schema's field takes: the arguments of its Literal annotation.

    Example:
        >>> from cryptexlab.params import DataConfig
        >>> _choices(DataConfig, "freq")
        ['1h', '4h', '1d']
    """
    return list(get_args(schema.model_fields[field].annotation))


def _default(schema: type[BaseModel], field: str) -> Any:
    return schema.model_fields[field].default


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    freqs = _choices(DataConfig, "freq")
    parser = argparse.ArgumentParser(prog="cryptexlab", description="Cryptex HPO workbench")
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="candle files: validate, generate")
    data_cmds = data.add_subparsers(dest="data_command", required=True)

    validate = data_cmds.add_parser("validate", help="validate (and optionally repair) a Cryptex CSV")
    validate.add_argument("path", help="Cryptex-format CSV file")
    validate.add_argument("--freq", default=_default(DataConfig, "freq"), choices=freqs, help="declared step")
    validate.add_argument("--repair", action="store_true", help="fill missing bars as no-trade bars")
    validate.add_argument("--column", action="append", default=[], metavar="NAME=HEADER",
                          help="the file's header of a loader column, e.g. --column timestamp=unix "
                               "--column 'volume=Volume BTC'")
    validate.add_argument("--skip-rows", type=int, default=0, metavar="N", help="banner lines before the header")
    validate.add_argument("--json", action="store_true", help="print the summary as JSON")
    validate.set_defaults(handler=data_commands.data_validate)

    synth = data_cmds.add_parser("synth", help="write the synthetic series as a Cryptex CSV")
    synth.add_argument("--kind", default=_default(SyntheticConfig, "kind"), choices=_choices(SyntheticConfig, "kind"))
    synth.add_argument("--hours", type=int, default=_default(SyntheticConfig, "hours"))
    synth.add_argument("--seed", type=int, default=_default(SyntheticConfig, "seed"))
    synth.add_argument("--out", required=True, help="output CSV path")
    synth.set_defaults(handler=data_commands.data_synth)

    feats = data_cmds.add_parser("features", help="build a feature set and list its features")
    feats.add_argument("path", nargs="?", help="Cryptex CSV; omitted = the embedded synthetic default")
    # no choices=: an unknown set is answered by the handler (exit 2, the valid names on stderr)
    feats.add_argument("--feature-set", default=_default(DataConfig, "feature_set"),
                       help=f"one of {', '.join(get_args(FeatureSetName))}")
    feats.add_argument("--freq", default=_default(DataConfig, "freq"), choices=freqs)
    feats.add_argument("--repair", action="store_true")
    feats.add_argument("--json", action="store_true")
    feats.set_defaults(handler=data_commands.data_features)

    fetch = data_cmds.add_parser("fetch", help="download candles from an exchange (ccxt), resumable")
    fetch.add_argument("--exchange", default="binanceus")
    fetch.add_argument("--symbol", default="BTC/USDT")
    fetch.add_argument("--timeframe", default="1h")
    fetch.add_argument("--since", default="2019-09-23", help="UTC date or time of the first bar")
    fetch.add_argument("--out", required=True, help="Cryptex CSV to write or extend")
    fetch.set_defaults(handler=data_commands.data_fetch)

    train = commands.add_parser("train", help="train one configuration and compare it with the random walk")
    train.add_argument("--profile", default="quick", help="profile whose data/model/train sections are used")
    train.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                       help="override, e.g. -p model.llm_layers=1 -p train.epochs=2")
    train.add_argument("--json", action="store_true")
    train.set_defaults(handler=run_commands.train)

    opt = commands.add_parser("optimize", help="run or resume a hyperparameter search (the design's modes)")
    opt.add_argument("--mode", default=_default(SearchConfig, "mode"),
                     choices=[m for m in [*_choices(SearchConfig, "mode"), "cv", "analyze"] if m in available_profiles()],
                     help="a search mode; it runs the profile of the same name in params/ (cv: every trial scored "
                          "by cross-validation, pruned after each fold; analyze: only the analysis of existing "
                          "studies, nothing trained)")
    opt.add_argument("--cv-splits", type=int, metavar="K", help="folds of a cross-validated search (any mode)")
    opt.add_argument("--cv-kind", choices=_choices(CVConfig, "kind"),
                     help="splitter of a cross-validated search (any mode; default of --mode cv: purged)")
    opt.add_argument("--n-trials", type=int)
    aliases = ", ".join(f"{alias} = {method}" for alias, method in METHODS.items() if alias != method)
    opt.add_argument("--method", choices=list(METHODS), help=f"a sampler ({aliases})")
    opt.add_argument("--datasets", nargs="+", metavar="FEATURE_SET", help="one study per feature set")
    opt.add_argument("--data-path", help="Cryptex CSV (default: the profile's data.path)")
    opt.add_argument("--storage", help="journal file or SQLAlchemy URL (default studies/<study>.journal)")
    opt.add_argument("--study-name")
    opt.add_argument("--studies", nargs="+", metavar="NAME", help="analyze: the studies (default: every one in the storage)")
    opt.add_argument("--create-plots", action="store_true",
                     help="analyze: also run notebooks/05_analysis.ipynb and write its HTML report")
    opt.add_argument("--reports", metavar="DIR", help="analyze --create-plots: the reports folder (default reports/)")
    opt.add_argument("--timeout", type=float, help="seconds for the whole study")
    opt.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE")
    opt.add_argument("--json", action="store_true")
    opt.set_defaults(handler=run_commands.optimize)

    verdict = commands.add_parser("verdict", help="does the profile's tuned model beat the random walk on the test "
                                  "period, after correcting for the trials tried?")
    verdict.add_argument("--profile", default="quick", help="profile whose study (06_verdict.study_name) is judged")
    verdict.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                         help="override, e.g. -p 06_verdict.alpha=0.01 -p data.path=FILE.csv")
    verdict.add_argument("--json", action="store_true", help="print the verdict as JSON")
    verdict.set_defaults(handler=run_commands.verdict)

    work = commands.add_parser("worker", help="join a study (journal file on this machine, PostgreSQL URL from any) "
                                              "and run its trials until it holds --n-trials")
    work.add_argument("--study", required=True, help="study name")
    work.add_argument("--storage", required=True, help="journal file (workers on one machine) or SQLAlchemy URL, "
                                                       "e.g. postgresql+psycopg2://user:pw@host:5432/db")
    work.add_argument("--n-trials", type=int, help="trials the study should hold in the end (default: its own n_trials)")
    work.add_argument("--host-workers", type=int, default=1, metavar="K",
                      help="workers started on this machine: each trains with cores/K torch threads")
    work.add_argument("--threads", type=int, help="torch threads of this worker (overrides --host-workers)")
    work.add_argument("--storage-timeout", type=float, metavar="S",
                      help="stop with an error after S seconds without the storage (default 60)")
    work.add_argument("--profile", help="a new study only: the profile whose sections it runs")
    work.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                      help="a new study only: override a profile value")
    work.add_argument("--json", action="store_true", help="print the study's summary as JSON (no progress bar)")
    work.set_defaults(handler=run_commands.worker)

    dash = commands.add_parser("dashboard", help="serve optuna-dashboard on 127.0.0.1 for a study storage")
    dash.add_argument("--port", type=int, default=8080)
    dash.add_argument("--storage", help="journal file or URL (default: the newest journal in studies/)")
    dash.set_defaults(handler=run_commands.dashboard)

    sched = commands.add_parser("schedule", help="preview a learning-rate schedule step by step")
    # no choices=: an unknown kind is answered by the handler (exit 2, the known kinds on stderr)
    sched.add_argument("--kind", required=True, help=f"one of {', '.join(_choices(SchedulerConfig, 'kind'))}")
    sched.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="a parameter of the kind (YAML value), e.g. --param T_0=50 --param restart_decay=0.7")
    sched.add_argument("--steps", type=int, required=True)
    sched.add_argument("--lr", type=float, default=1e-3, help="base learning rate")
    sched.add_argument("--json", action="store_true")
    sched.add_argument("--plot", help="also write an HTML plot of the curve to this file")
    sched.set_defaults(handler=run_commands.schedule)
    return parser
