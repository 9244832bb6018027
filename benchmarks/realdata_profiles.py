"""The quick and smoke profiles on the real hourly file: seconds per notebook, trials, windows, page sizes.

    python benchmarks/realdata_profiles.py --phase after                         # this checkout
    python benchmarks/realdata_profiles.py --phase before --code /tmp/before     # an older checkout
    python benchmarks/realdata_profiles.py --phase after --embedded --profiles quick   # the embedded default

``after_issue_9`` keeps the figures measured when the evaluation budget landed (before 03_cv existed).

Each (phase, profile) runs ``run_all.py`` of the given code tree as a subprocess (its ``lib/``
first on PYTHONPATH, a fresh study journal in a temporary folder) and is written to
``results/realdata_profiles.json`` as soon as it finishes, so a stopped benchmark resumes where
it was; ``--force`` runs an entry again. Windows trained and evaluated are counted from the
profile and the data (the largest a run can use: pruning and early stopping only lower them),
with the evaluation budget where the code has one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, versions, write  # noqa: E402
from cryptexlab.data.prepare import load_windows  # noqa: E402
from cryptexlab.paths import REPO_ROOT, SHARED_DATA_DIR  # noqa: E402
from cryptexlab.profiles import load_profile  # noqa: E402

NAME = "realdata_profiles"
DATA = SHARED_DATA_DIR / "candlesticks-h.csv"
LINE = re.compile(r"\[\d+/\d+\] (\S+): (\w+) in ([\d.]+) s")


def planned_windows(profile_name: str, budgeted: bool) -> dict[str, Any]:
    """Windows one training run of the profile trains on and scores, before and with the budget."""
    profile = load_profile(profile_name, overrides=[f"data.path={DATA}"])
    w = load_windows(profile.data)
    train = profile.train
    n_val = w.val.n_windows
    if budgeted:
        cap = train.eval_cap()
        per_eval = min(math.ceil(n_val / train.eval_stride), cap or n_val)
    else:
        per_eval = n_val
    trained = min(train.max_train_windows or w.train.n_windows, w.train.n_windows)
    return {"train_windows_in_period": w.train.n_windows, "val_windows_in_period": n_val,
            "search_trial": {"trained": train.epochs * trained, "evaluated": (train.epochs + 1) * per_eval,
                             "epochs": train.epochs}}


def run_once(code: Path, profile: str, timeout_s: float, embedded: bool = False) -> dict[str, Any]:
    """One run_all.py of the code tree; seconds per notebook, the run folder's page sizes."""
    with tempfile.TemporaryDirectory() as tmp:
        journal = Path(tmp) / "bench.journal"
        reports = Path(tmp) / "reports"
        cmd = [sys.executable, str(code / "run_all.py"), "--profile", profile, "--reports", str(reports),
               "-p", f"02_search.storage={journal}", "-p", f"04_schedules.storage={journal}"]
        if (code / "notebooks" / "03_cv.ipynb").is_file():  # 03_cv (issue 11 on) reads and writes the same journal
            cmd += ["-p", f"03_cv.storage={journal}"]
        if (code / "notebooks" / "06_verdict.ipynb").is_file():  # 06_verdict (issue 12 on) judges the same study
            cmd += ["-p", f"06_verdict.storage={journal}"]
        if (code / "notebooks" / "05_analysis.ipynb").is_file():  # 05_analysis (issue 14 on) reads the same studies
            cmd += ["-p", f"05_analysis.storage={journal}"]
        if not embedded:
            cmd += ["-p", f"data.path={DATA}"]
        env = {**os.environ, "PYTHONPATH": str(code / "lib"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        start = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=code, env=env, capture_output=True, text=True, timeout=timeout_s)
            out, rc = proc.stdout + proc.stderr, proc.returncode
        except subprocess.TimeoutExpired as exc:
            out, rc = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or ""), "timeout"
        seconds = time.perf_counter() - start
        notebooks = {m[1]: {"status": m[2], "seconds": float(m[3])} for m in LINE.finditer(out)}
        sizes: dict[str, float] = {}
        trials = None
        for run_dir in reports.glob("*-*"):
            if run_dir.is_dir() and not run_dir.is_symlink():
                for f in sorted(run_dir.glob("*.ipynb")) + sorted(run_dir.glob("*.html")):
                    sizes[f.name] = round(f.stat().st_size / 2**20, 2)
                metrics = run_dir / "02_search.metrics.json"
                if metrics.is_file():
                    trials = json.loads(metrics.read_text())["headline"].get("trials")
        return {"seconds": round(seconds, 1), "exit": rc, "notebooks": notebooks, "trials": trials,
                "sizes_mib": sizes, "tail": out[-600:] if rc not in (0,) else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase", choices=["before", "after"], required=True)
    parser.add_argument("--code", type=Path, default=REPO_ROOT, help="checkout whose run_all.py and lib/ to run")
    parser.add_argument("--profiles", nargs="+", default=["smoke", "quick"])
    parser.add_argument("--timeout", type=float, default=5400, help="seconds before a run is stopped")
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--embedded", action="store_true", help="the embedded default data instead of the real file")
    args = parser.parse_args()
    path = RESULTS / f"{NAME}.json"
    doc = json.loads(path.read_text()) if path.is_file() else {}
    doc.setdefault("before", {})
    doc.setdefault("after", {})
    for profile in args.profiles:
        key = f"{profile}_embedded_default" if args.embedded else profile
        if key in doc[args.phase] and not args.force:
            print(f"{args.phase} {key}: done already ({doc[args.phase][key]['seconds']} s)")
            continue
        print(f"{args.phase} {key}: running {args.code}", flush=True)
        entry = run_once(args.code.resolve(), profile, args.timeout, embedded=args.embedded)
        if not args.embedded:
            entry["windows"] = planned_windows(profile, budgeted=args.phase == "after")
        entry["code"] = str(args.code)
        doc[args.phase][key] = entry
        print(f"{args.phase} {key}: {entry['seconds']} s, exit {entry['exit']}", flush=True)
        doc["configuration"] = {"file": DATA.name, "rows": 40_555, "profiles": args.profiles,
                                "what": "run_all.py --profile P -p data.path=<real hourly file>, fresh study journal; "
                                        "*_embedded_default: the same without data.path"}
        doc["versions"] = versions("torch", "optuna", "papermill", "nbconvert", "plotly", "transformers")
        ratios = {p: round(doc["before"][p]["seconds"] / doc["after"][p]["seconds"], 2)
                  for p in doc["after"] if p in doc["before"]}
        doc["speedup_before_over_after"] = ratios
        for key in ("benchmark", "date", "commit", "machine"):
            doc.pop(key, None)
        write(NAME, doc)


if __name__ == "__main__":
    main()
