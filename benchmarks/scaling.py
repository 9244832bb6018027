"""Scale-out on this machine: trials per hour with 1 and 2 workers at equal total cores, and Ray Tune against Optuna.

    python benchmarks/scaling.py                # resumes; --trials N, --repeats R, --fresh

Every trial trains the same small Time-LLM (MiniLM, 1 layer, d_model 8, 4 epochs of 128 windows,
the synthetic series); the space is the learning rate alone, so every trial costs the same and
the only difference between the arms is how the trials are run:

* ``one_worker``: one ``cryptexlab worker`` with 2 torch threads (this machine's 2 cores);
* ``two_workers``: two workers with 1 thread each on one study (the journal file), and the same on
  a PostgreSQL server (``two_workers_postgres``);
* ``optuna_pruned`` and ``ray_pruned``: the same budget searched with pruning, by two Optuna workers
  (TPE and the median pruner, 1 thread each) and by Ray Tune (OptunaSearch's TPE and ASHA, 2 trials at
  once with 1 CPU each).

Trials per hour are counted over each arm's wall time, from launching the workers (or calling the
search) to the last exit, start-up included. For the worker arms, ``span_trials_per_hour`` also counts
from the first trial's start to the last trial's end (without process start-up).
``efficiency_2_workers`` = two workers' trials per hour / one worker's (wall time, journal). Each
arm runs ``--repeats`` times and the figures are the medians; results are written after every run,
so a stopped benchmark resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))  # the PostgreSQL test server
from _common import RESULTS, versions, write  # noqa: E402
from cryptexlab.params import SearchConfig  # noqa: E402
from cryptexlab.profiles import load_profile  # noqa: E402
from cryptexlab.search.config import TrialConfig  # noqa: E402
from cryptexlab.search.storage import storage_for  # noqa: E402
from cryptexlab.search.tuner import run_search  # noqa: E402
from postgres_server import PostgresServer  # noqa: E402

NAME = "scaling"
CLI = str(Path(sys.executable).with_name("cryptexlab"))
PROFILE = """notebooks: [02_search]
data:
  synthetic: {{kind: default, hours: 1500, seed: 7}}
  windows: {{seq_len: 32, pred_len: 8}}
model: {{kind: timellm, llm_layers: 1, d_model: 8, d_ff: 16, n_heads: 2, patch_len: 8, stride: 4, num_tokens: 32}}
train: {{epochs: 4, batch_size: 32, patience: 1000, max_train_windows: 128}}
02_search:
  mode: custom
  method: {method}
  pruner: {pruner}
  n_trials: {n_trials}
  seed: {seed}
  custom:
    - {{name: train.learning_rate, type: float, low: 0.0001, high: 0.01, log: true}}
  ray: {{cpus_per_trial: 1, max_concurrent: 2}}
"""
ARMS = ("one_worker", "two_workers", "two_workers_postgres", "optuna_pruned", "ray_pruned")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--fresh", action="store_true", help="ignore earlier partial results")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = RESULTS / f"{NAME}.json"
    runs: dict[str, list[dict[str, Any]]] = {}
    if path.exists() and not args.fresh:
        old = json.loads(path.read_text())
        if old.get("configuration", {}).get("trials") == args.trials:
            runs = old.get("runs", {})
    for repeat in range(args.repeats):
        for arm in ARMS:
            if len(runs.get(arm, [])) > repeat:
                continue
            print(f"{arm} (repeat {repeat + 1}/{args.repeats})", flush=True)
            runs.setdefault(arm, []).append(run_arm(arm, args.trials, seed=repeat))
            save(args, runs)


def run_arm(arm: str, n: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cryptexlab-scaling-") as tmp:
        pruned = arm.endswith("pruned")
        method = "ray" if arm == "ray_pruned" else ("tpe" if pruned else "random")
        profile = Path(tmp) / "profile.yaml"
        profile.write_text(PROFILE.format(method=method, pruner="median" if pruned else "none", n_trials=n, seed=seed))
        if arm == "ray_pruned":
            p = load_profile(str(profile), overrides=[f"02_search.storage={tmp}/s.journal", "02_search.study_name=s"])
            start = time.perf_counter()
            study = run_search(TrialConfig(p.data, p.model, p.train), p.search, show_progress_bar=False).study
            return figures(study, time.perf_counter() - start, n)
        server = PostgresServer() if arm == "two_workers_postgres" else None
        try:
            if server is not None:
                server.start()
                server.create_database()
            storage = server.url if server is not None else f"{tmp}/s.journal"
            workers, threads = (1, 2) if arm == "one_worker" else (2, 1)
            start = time.perf_counter()
            procs = [subprocess.Popen([CLI, "worker", "--study", "s", "--storage", storage, "--profile", str(profile),
                                       "--threads", str(threads), "--json"], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True) for _ in range(workers)]
            for proc in procs:
                _, err = proc.communicate(timeout=3600)
                if proc.returncode != 0:
                    raise RuntimeError(f"{arm}: a worker exited {proc.returncode}: {err[-2000:]}")
            wall = time.perf_counter() - start
            study = optuna.load_study(study_name="s", storage=storage_for(SearchConfig(study_name="s", storage=storage))[0])
            return figures(study, wall, n)
        finally:
            if server is not None:
                server.remove()


def figures(study: optuna.Study, wall: float, n: int) -> dict[str, Any]:
    trials = study.get_trials(deepcopy=False)
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    out: dict[str, Any] = {
        "wall_s": round(wall, 2), "trials": len(finished), "trials_per_hour": round(len(finished) / wall * 3600, 1),
        "states": {s.name: sum(t.state == s for t in trials) for s in TrialState if any(t.state == s for t in trials)},
        "best_value": min((t.value for t in trials if t.state == TrialState.COMPLETE and t.value is not None),
                          default=None),
        "train_seconds": round(sum(float(t.user_attrs.get("duration_s", 0.0)) for t in trials), 2)}
    starts = [t.datetime_start for t in finished if t.datetime_start is not None]
    ends = [t.datetime_complete for t in finished if t.datetime_complete is not None]
    if starts and ends and "ray" not in finished[0].user_attrs:  # Ray's trials are written when they end
        span = (max(ends) - min(starts)).total_seconds()
        out["span_s"] = round(span, 2)
        out["span_trials_per_hour"] = round(len(finished) / span * 3600, 1)
    assert len(finished) == n, f"expected {n} finished trials, got {len(finished)}: {out['states']}"
    return out


def save(args: argparse.Namespace, runs: dict[str, list[dict[str, Any]]]) -> None:
    med = {arm: {k: statistics.median(r[k] for r in rs) for k in ("trials_per_hour", "wall_s")}
           for arm, rs in runs.items() if rs}
    for arm, rs in runs.items():
        if rs and all("span_trials_per_hour" in r for r in rs):
            med[arm]["span_trials_per_hour"] = statistics.median(r["span_trials_per_hour"] for r in rs)
        bests = [r["best_value"] for r in rs if r["best_value"] is not None]
        if rs and bests:
            med[arm]["best_value"] = statistics.median(bests)
    doc: dict[str, Any] = {
        "versions": versions("cryptexlab", "optuna", "ray", "torch", "psycopg2-binary", "sqlalchemy"),
        "configuration": {"trials": args.trials, "repeats": args.repeats, "total_cores": os.cpu_count(),
                          "model": "timellm MiniLM 1 layer, d_model 8, seq 32 -> 8, 4 epochs x 128 windows",
                          "space": "train.learning_rate (log-uniform 1e-4..1e-2)",
                          "arms": {"one_worker": "1 worker x 2 threads, journal", "two_workers": "2 workers x 1 thread, journal",
                                   "two_workers_postgres": "2 workers x 1 thread, PostgreSQL",
                                   "optuna_pruned": "2 Optuna workers x 1 thread, TPE + median pruner, journal",
                                   "ray_pruned": "Ray Tune local, OptunaSearch TPE + ASHA, 2 trials x 1 CPU"}},
        "median": med, "runs": runs}
    if "one_worker" in med and "two_workers" in med:
        doc["efficiency_2_workers"] = round(med["two_workers"]["trials_per_hour"] / med["one_worker"]["trials_per_hour"], 3)
        if "span_trials_per_hour" in med["one_worker"] and "span_trials_per_hour" in med["two_workers"]:
            doc["efficiency_2_workers_span"] = round(
                med["two_workers"]["span_trials_per_hour"] / med["one_worker"]["span_trials_per_hour"], 3)
    if "one_worker" in med and "two_workers_postgres" in med:
        doc["efficiency_2_workers_postgres"] = round(
            med["two_workers_postgres"]["trials_per_hour"] / med["one_worker"]["trials_per_hour"], 3)
    if "optuna_pruned" in med and "ray_pruned" in med:
        doc["ray_over_optuna_trials_per_hour"] = round(
            med["ray_pruned"]["trials_per_hour"] / med["optuna_pruned"]["trials_per_hour"], 3)
        if "best_value" in med["ray_pruned"] and "best_value" in med["optuna_pruned"]:
            doc["ray_over_optuna_best_value"] = round(med["ray_pruned"]["best_value"] / med["optuna_pruned"]["best_value"], 4)
    print(json.dumps({k: v for k, v in doc.items() if k not in ("runs", "versions", "configuration")}), flush=True)
    write(NAME, doc)


if __name__ == "__main__":
    main()
