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
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, get_args

from cryptexlab.errors import CryptexError, DataError, ParamsError, StorageLost

if TYPE_CHECKING:
    from pydantic import BaseModel

Handler = Callable[[argparse.Namespace], int]


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
    # the schemas (pydantic, no pandas or torch) give the choices; the handlers import the rest lazily
    from cryptexlab.params import (
        CVConfig,
        DataConfig,
        FeatureSetName,
        SchedulerConfig,
        SearchConfig,
        SyntheticConfig,
        available_profiles,
    )
    from cryptexlab.search.api import METHODS

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
    validate.set_defaults(handler=_data_validate)

    synth = data_cmds.add_parser("synth", help="write the synthetic series as a Cryptex CSV")
    synth.add_argument("--kind", default=_default(SyntheticConfig, "kind"), choices=_choices(SyntheticConfig, "kind"))
    synth.add_argument("--hours", type=int, default=_default(SyntheticConfig, "hours"))
    synth.add_argument("--seed", type=int, default=_default(SyntheticConfig, "seed"))
    synth.add_argument("--out", required=True, help="output CSV path")
    synth.set_defaults(handler=_data_synth)

    feats = data_cmds.add_parser("features", help="build a feature set and list its features")
    feats.add_argument("path", nargs="?", help="Cryptex CSV; omitted = the embedded synthetic default")
    # no choices=: an unknown set is answered by the handler (exit 2, the valid names on stderr)
    feats.add_argument("--feature-set", default=_default(DataConfig, "feature_set"),
                       help=f"one of {', '.join(get_args(FeatureSetName))}")
    feats.add_argument("--freq", default=_default(DataConfig, "freq"), choices=freqs)
    feats.add_argument("--repair", action="store_true")
    feats.add_argument("--json", action="store_true")
    feats.set_defaults(handler=_data_features)

    fetch = data_cmds.add_parser("fetch", help="download candles from an exchange (ccxt), resumable")
    fetch.add_argument("--exchange", default="binanceus")
    fetch.add_argument("--symbol", default="BTC/USDT")
    fetch.add_argument("--timeframe", default="1h")
    fetch.add_argument("--since", default="2019-09-23", help="UTC date or time of the first bar")
    fetch.add_argument("--out", required=True, help="Cryptex CSV to write or extend")
    fetch.set_defaults(handler=_data_fetch)

    train = commands.add_parser("train", help="train one configuration and compare it with the random walk")
    train.add_argument("--profile", default="quick", help="profile whose data/model/train sections are used")
    train.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                       help="override, e.g. -p model.llm_layers=1 -p train.epochs=2")
    train.add_argument("--json", action="store_true")
    train.set_defaults(handler=_train)

    opt = commands.add_parser("optimize", help="run or resume a hyperparameter search (the seed's modes)")
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
    opt.set_defaults(handler=_optimize)

    verdict = commands.add_parser("verdict", help="does the profile's tuned model beat the random walk on the test "
                                  "period, after correcting for the trials tried?")
    verdict.add_argument("--profile", default="quick", help="profile whose study (06_verdict.study_name) is judged")
    verdict.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                         help="override, e.g. -p 06_verdict.alpha=0.01 -p data.path=FILE.csv")
    verdict.add_argument("--json", action="store_true", help="print the verdict as JSON")
    verdict.set_defaults(handler=_verdict)

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
    work.set_defaults(handler=_worker)

    dash = commands.add_parser("dashboard", help="serve optuna-dashboard on 127.0.0.1 for a study storage")
    dash.add_argument("--port", type=int, default=8080)
    dash.add_argument("--storage", help="journal file or URL (default: the newest journal in studies/)")
    dash.set_defaults(handler=_dashboard)

    sched = commands.add_parser("schedule", help="preview a learning-rate schedule step by step")
    # no choices=: an unknown kind is answered by the handler (exit 2, the known kinds on stderr)
    sched.add_argument("--kind", required=True, help=f"one of {', '.join(_choices(SchedulerConfig, 'kind'))}")
    sched.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="a parameter of the kind (YAML value), e.g. --param T_0=50 --param restart_decay=0.7")
    sched.add_argument("--steps", type=int, required=True)
    sched.add_argument("--lr", type=float, default=1e-3, help="base learning rate")
    sched.add_argument("--json", action="store_true")
    sched.add_argument("--plot", help="also write an HTML plot of the curve to this file")
    sched.set_defaults(handler=_schedule)
    return parser


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


def _data_validate(args: argparse.Namespace) -> int:
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


def _data_synth(args: argparse.Namespace) -> int:
    from cryptexlab.data.synthetic import synthetic_frame, write_cryptex_csv

    frame = synthetic_frame(kind=args.kind, hours=args.hours, seed=args.seed)
    path = write_cryptex_csv(frame, args.out)
    print(f"wrote {len(frame):,} synthetic {args.kind} bars (seed {args.seed}) to {path}")
    return 0


def _data_features(args: argparse.Namespace) -> int:
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


def _data_fetch(args: argparse.Namespace) -> int:
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


def _train(args: argparse.Namespace) -> int:
    from cryptexlab.params import TIMELLM_KINDS, load_profile
    from cryptexlab.training import run_experiment

    profile = load_profile(args.profile, overrides=args.param)
    result = run_experiment(profile.data, profile.model, profile.train)
    if args.json:
        print(json.dumps({"model": profile.model.model_dump(), "train": profile.train.model_dump(),
                          **result.to_dict()}, indent=2, default=str))
        return 0
    llm = f" ({profile.model.llm_model}, {profile.model.llm_layers} layers)" if profile.model.kind in TIMELLM_KINDS else ""
    print(f"{profile.model.kind}{llm} "
          f"{result.stop_reason} after {len(result.curve)} epoch(s) in {result.seconds:.1f} s on {result.device}; "
          f"{result.trainable_params:,} trainable, {result.frozen_params:,} frozen parameters")
    print(f"{'':8s}{'metric':22s}{'model':>14s}{'random walk':>14s}{'ratio':>8s}")
    for period, mine, walk in (("val", result.val, result.val_random_walk), ("test", result.test, result.test_random_walk)):
        for key in ("mae", "mse", "mape", "directional_accuracy"):
            a, b = mine[key], walk[key]
            ratio = f"{a / b:8.3f}" if key != "directional_accuracy" and b else f"{'':8s}"
            print(f"{period:8s}{key:22s}{a:14.6g}{b:14.6g}{ratio}")
    return 0


def _verdict(args: argparse.Namespace) -> int:
    from cryptexlab.params import load_profile
    from cryptexlab.search.spaces import TrialConfig
    from cryptexlab.verdict import judge

    profile = load_profile(args.profile, overrides=args.param)
    base = TrialConfig(profile.data, profile.model, profile.train)
    result = judge(base, profile.search, profile.verdict_notebook, progress=not args.json)
    if args.json:
        print(json.dumps(result.to_json(), indent=2, default=str))
        return 0
    print(result.paragraph.replace("**", ""))
    print()
    cols = ["model", "role", "mae_ratio", "dm_p_value", "stepm_superior", "in_mcs"]
    print(result.table[cols].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    return 0


def _analyze(args: argparse.Namespace) -> int:
    """``optimize --mode analyze``: the analysis of existing studies; with --create-plots the 05_analysis report."""
    from cryptexlab.analysis import generate_comprehensive_report
    from cryptexlab.analysis.findings import findings_markdown
    from cryptexlab.analysis.load import find_studies

    find_studies(args.storage, args.studies or ())  # a clear error naming what the storage holds, before anything runs
    if args.create_plots:
        from cryptexlab.params import load_profile
        from cryptexlab.pipeline import run_profile
        from cryptexlab.reports import read_metrics

        overrides = [*args.param, f"05_analysis.studies=[{', '.join(args.studies or [])}]"]
        if args.storage:
            overrides.append(f"05_analysis.storage={args.storage}")
        profile = load_profile("analyze", overrides=overrides)
        echo = (lambda line: print(line, file=sys.stderr)) if args.json else print
        from pathlib import Path

        from cryptexlab.paths import REPORTS_DIR

        result = run_profile(profile, profile_name="analyze", echo=echo,
                             reports_dir=Path(args.reports) if args.reports else REPORTS_DIR)
        if not result.ok:
            return 1
        summary = read_metrics(result.run_dir / "05_analysis.metrics.json")["details"]
        text = None
    else:
        report = generate_comprehensive_report(args.studies or (), args.storage, figures=False)
        summary, text = report.summary, findings_markdown(report)
    if args.json:  # the summary is plain JSON already (NaN as null)
        print(json.dumps(summary, indent=2, allow_nan=False))
    elif text is not None:
        print(text.replace("**", "").replace("`", ""))
    return 0


def _optimize(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cryptexlab.search.api import METHODS, optimize

    if args.mode == "analyze":
        return _analyze(args)
    if args.studies or args.create_plots or args.reports:
        raise ParamsError("--studies, --create-plots and --reports belong to --mode analyze (the analysis of existing studies); "
                          f"drop them or use --mode analyze instead of --mode {args.mode}")
    overrides = list(args.param)
    for flag, key in (("n_trials", "n_trials"), ("storage", "storage"), ("study_name", "study_name"),
                      ("timeout", "timeout_s")):
        if getattr(args, flag) is not None:
            overrides.append(f"02_search.{key}={getattr(args, flag)}")
    if args.method:
        overrides.append(f"02_search.method={METHODS[args.method]}")
    if args.cv_kind:
        overrides.append(f"02_search.cv.kind={args.cv_kind}")
    if args.cv_splits is not None:
        overrides.append(f"02_search.cv.n_splits={args.cv_splits}")
    if args.data_path:
        overrides.append(f"data.path={Path(args.data_path).resolve()}")
    out = optimize(args.mode, datasets=args.datasets, overrides=overrides, show_progress_bar=not args.json)
    summaries = {name: r.summary for name, r in out["per_dataset"].items()}
    if args.json:
        print(json.dumps({"best_parameters": out["best_parameters"], "best_value": out["best_value"],
                          "studies": summaries}, indent=2, default=str))
        return 0
    for name, summary in summaries.items():
        print(f"{name}: study {summary['study']}: {summary['trials']} trials {summary['states']}; "
              f"failures {summary['failures'] or 'none'}")
    print(f"best value {out['best_value']} with {out['best_parameters']}")
    best = out["study"].best_trials[0] if out["study"].best_trials else None
    if best is not None and "cv" in best.user_attrs:
        cv = best.user_attrs["cv"]
        lo, hi = cv["interval"]
        print(f"cross-validated {cv['metric']} of trial {best.number}: {cv['mean']:.4g} over {cv['done']} folds "
              f"({100 * cv['level']:.0f}% interval {lo:.4g} to {hi:.4g}, std {cv['std']:.3g}); random walk "
              f"{cv['random_walk_mean']:.4g} on the same windows")
    return 0


def _worker(args: argparse.Namespace) -> int:
    import threading

    from cryptexlab.search.worker import run_worker

    default_hook = threading.excepthook

    def quiet_lost_storage(hook_args: threading.ExceptHookArgs) -> None:
        # the heartbeat thread meets a lost storage too; the main thread reports it once, as an error
        if not isinstance(hook_args.exc_value, StorageLost):
            default_hook(hook_args)

    threading.excepthook = quiet_lost_storage

    result = run_worker(args.study, args.storage, n_trials=args.n_trials, profile=args.profile, overrides=args.param,
                        host_workers=args.host_workers, threads=args.threads, storage_timeout_s=args.storage_timeout,
                        show_progress_bar=not args.json)
    if args.json:
        print(json.dumps({"ran": result.ran, "seconds": result.seconds, **result.summary}, indent=2, default=str))
    else:
        print(result.summary_line)
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    import shutil
    import subprocess
    from pathlib import Path

    from cryptexlab.paths import STUDIES_DIR

    storage = args.storage
    if storage is None:
        journals = sorted(STUDIES_DIR.glob("*.journal"), key=lambda p: p.stat().st_mtime)
        if not journals:
            raise DataError(f"no study in {STUDIES_DIR}; run cryptexlab optimize first or pass --storage")
        storage = str(journals[-1])
    exe = shutil.which("optuna-dashboard") or str(Path(sys.executable).with_name("optuna-dashboard"))
    print(f"optuna-dashboard for {storage} at http://127.0.0.1:{args.port}/ (Ctrl-C stops it)", flush=True)
    return subprocess.call([exe, storage, "--host", "127.0.0.1", "--port", str(args.port)])


def _schedule(args: argparse.Namespace) -> int:
    import yaml

    from cryptexlab.params import SchedulerConfig
    from cryptexlab.schedulers import preview

    params = {}
    for item in args.param:
        name, sep, text = item.partition("=")
        if not sep:
            raise ParamsError(f"--param {item!r} must look like name=value, e.g. --param T_0=50")
        params[name.strip()] = yaml.safe_load(text)
    if args.steps < 1:
        raise ParamsError(f"--steps must be at least 1, got {args.steps}")
    try:
        SchedulerConfig(kind=args.kind, params=params)
    except ValueError:
        from cryptexlab.schedulers import SCHEDULER_KINDS

        raise ParamsError(f"unknown schedule kind {args.kind!r}; use one of {', '.join(SCHEDULER_KINDS)}") from None
    rates = preview(args.kind, params, args.steps, base_lr=args.lr)
    if args.plot:
        import plotly.graph_objects as go

        fig = go.Figure(go.Scatter(y=rates, mode="lines"))
        fig.update_layout(title=f"{args.kind} {params}", xaxis_title="optimizer step", yaxis_title="learning rate")
        fig.write_html(args.plot, include_plotlyjs=True)
    if args.json:
        print(json.dumps({"kind": args.kind, "params": params, "base_lr": args.lr, "rates": rates}))
    else:
        for i, rate in enumerate(rates):
            print(f"{i:6d}  {rate:.6g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
