"""The ``cryptexlab`` commands that train, search, judge or serve: train, optimize, worker, verdict, dashboard,
schedule and ``optimize --mode analyze``.

Each handler imports its library module when the command runs (the command line is the top layer:
these imports point down, and keep ``--help`` fast); each returns the exit status.
"""

from __future__ import annotations

import argparse
import json
import sys

from cryptexlab.errors import DataError, ParamsError, StorageLost


def train(args: argparse.Namespace) -> int:
    from cryptexlab.params import TIMELLM_KINDS
    from cryptexlab.profiles import load_profile
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


def verdict(args: argparse.Namespace) -> int:
    from cryptexlab.profiles import load_profile
    from cryptexlab.search.config import TrialConfig
    from cryptexlab.search.study import check_profile_studies
    from cryptexlab.stages.verdict import judge

    profile = load_profile(args.profile, overrides=args.param)
    base = TrialConfig(profile.data, profile.model, profile.train)
    check_profile_studies(profile, ["06_verdict"])  # a study of other data is refused before anything trains
    result = judge(base, profile.search, profile.verdict_notebook, progress=not args.json)
    if args.json:
        print(json.dumps(result.to_json(), indent=2, default=str))
        return 0
    print(result.paragraph.replace("**", ""))
    print()
    cols = ["model", "role", "mae_ratio", "dm_p_value", "stepm_superior", "in_mcs"]
    print(result.table[cols].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    return 0


def analyze(args: argparse.Namespace) -> int:
    """``optimize --mode analyze``: the analysis of existing studies; with --create-plots the 05_analysis report."""
    from cryptexlab.analysis import generate_comprehensive_report
    from cryptexlab.analysis.findings import findings_markdown
    from cryptexlab.analysis.load import find_studies

    find_studies(args.storage, args.studies or ())  # a clear error naming what the storage holds, before anything runs
    if args.create_plots:
        from cryptexlab.pipeline import run_profile
        from cryptexlab.profiles import load_profile
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


def optimize(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cryptexlab.search.api import METHODS, optimize

    if args.mode == "analyze":
        return analyze(args)
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


def worker(args: argparse.Namespace) -> int:
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


def dashboard(args: argparse.Namespace) -> int:
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


def schedule(args: argparse.Namespace) -> int:
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
