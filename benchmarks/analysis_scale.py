"""Analysis of a large study: a 5,000-trial study analysed in under 30 s, and its report's size.

A synthetic study (``cryptexlab.analysis.fake``: 5,000 trials with the state mix of a real search,
a known answer for the importances) is written to a journal file; then, timed:

* ``generate_comprehensive_report`` on it, each part separately (load, convergence, importance,
  distribution, correlation, attributes, robustness, figures) and in total (target: under 30 s);
* beside it, Optuna's own ``study.trials_dataframe()`` against the workbench's ``trials_frame`` (the
  table every part reads), and fANOVA on 300 completed trials (the workbench's cap) against 1,000;
* the 05_analysis notebook on the same study through ``run_all.py --profile analyze``: its seconds
  and the HTML page's and executed notebook's sizes against the report size limit (6 MiB,
  ``tests/test_reports_browser.py``).

    .venv/bin/python benchmarks/analysis_scale.py [--trials 5000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import versions, write  # noqa: E402
from cryptexlab.analysis import generate_comprehensive_report  # noqa: E402
from cryptexlab.analysis.fake import synthetic_study  # noqa: E402
from cryptexlab.analysis.load import trials_frame  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIZE_LIMIT_MIB = 6.0


def timed(fn):  # noqa: ANN001, ANN201
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5000)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        journal = str(Path(tmp) / "large.journal")
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        _, create_s = timed(lambda: synthetic_study(args.trials, JournalStorage(JournalFileBackend(journal)), name="large"))
        report, total = timed(lambda: generate_comprehensive_report(["large"], journal))
        study = report.studies[0].study
        _, ours = timed(lambda: trials_frame(study))
        _, theirs = timed(lambda: study.trials_dataframe())
        done = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
        fan = {}
        for n in (300, 1000):
            small = optuna.create_study()
            small.add_trials(done[:n])
            _, fan[n] = timed(lambda s=small: optuna.importance.get_param_importances(
                s, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0)))
        reports = Path(tmp) / "reports"
        cmd = [sys.executable, str(ROOT / "run_all.py"), "--profile", "analyze", "--reports", str(reports),
               "-p", f"05_analysis.storage={journal}"]
        proc, nb_s = timed(lambda: subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900,
                                                  env={**os.environ, "HF_HUB_OFFLINE": "1"}))
        page = next(reports.glob("*/05_analysis.html"), None)
        size = page.stat().st_size / 2**20 if page else None
        ipynb = page.with_suffix(".ipynb").stat().st_size / 2**20 if page else None
        summary = report.summary["studies"]["large"]
    parts = {k: round(v, 3) for k, v in report.summary["seconds"].items() if k != "total"}
    out = write("analysis_scale", {
        "versions": versions("optuna", "scipy", "plotly", "pandas"),
        "configuration": {"trials": args.trials, "study": "cryptexlab.analysis.fake.synthetic_study (seed 0)",
                          "fanova_max_trials": summary["importance"]["fanova_trials"],
                          "notebook": "run_all.py --profile analyze"},
        "trials": args.trials,
        "seconds_total": round(total, 3),
        "seconds_by_part": parts,
        "target_seconds": 30,
        "meets_target": total < 30,
        "create_study_seconds": round(create_s, 3),
        "trials_frame_over_optuna_trials_dataframe": round(ours / theirs, 3),
        "fanova_seconds": {str(k): round(v, 3) for k, v in fan.items()},
        "fanova_300_over_1000": round(fan[300] / fan[1000], 3),
        "notebook": {"ok": proc.returncode == 0, "seconds": round(nb_s, 1),
                     "html_mib": round(size, 2) if size else None, "size_limit_mib": SIZE_LIMIT_MIB,
                     "ipynb_mib": round(ipynb, 2) if ipynb else None,
                     "under_limit": bool(size and ipynb and max(size, ipynb) < SIZE_LIMIT_MIB),
                     "stderr_tail": proc.stderr[-500:] if proc.returncode else ""},
        "answer": {"importance_top": summary["importance"]["top"], "converged": summary["convergence"]["converged"]},
    })
    print(out.read_text())


if __name__ == "__main__":
    main()
