"""Per-trial overhead of sampling plus storage: SQLite vs the journal file, side by side.

    .venv/bin/python benchmarks/search_overhead.py   # writes benchmarks/results/search_overhead.json

A trivial objective (a quadratic in 5 parameters, no training) runs 1,000 TPE trials per storage,
so the time per trial is what Optuna's sampling and the storage cost. Seeded, same sampler.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import optuna
from optuna.storages.journal import JournalFileBackend, JournalStorage

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import versions, write  # noqa: E402

TRIALS = 1000


def objective(trial: optuna.Trial) -> float:
    return sum((trial.suggest_float(f"x{i}", -5, 5) - i) ** 2 for i in range(5))


def run(storage, label: str) -> dict[str, float]:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=storage, study_name=label, sampler=optuna.samplers.TPESampler(seed=0))
    marks = {}
    start = time.perf_counter()
    for n in (100, 500, 1000):
        study.optimize(objective, n_trials=n - len(study.trials))
        marks[n] = time.perf_counter() - start
    return {"seconds_total": marks[1000], "ms_per_trial_all": 1000 * marks[1000] / TRIALS,
            "ms_per_trial_last_500": 1000 * (marks[1000] - marks[500]) / 500,
            "ms_per_trial_first_100": 10 * marks[100], "best_value": study.best_value}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            "journal_file": run(JournalStorage(JournalFileBackend(f"{tmp}/s.journal")), "journal"),
            "sqlite": run(optuna.storages.RDBStorage(f"sqlite:///{tmp}/s.db"), "sqlite"),
            "in_memory": run(None, "memory"),
        }
    ratio = results["sqlite"]["ms_per_trial_all"] / results["journal_file"]["ms_per_trial_all"]
    for k, v in results.items():
        print(f"{k:12s} {v['ms_per_trial_all']:7.1f} ms/trial (last 500: {v['ms_per_trial_last_500']:.1f})")
    print(f"sqlite / journal time per trial: {ratio:.2f}")
    write("search_overhead", {"configuration": {"trials": TRIALS, "sampler": "TPESampler(seed=0)", "parameters": 5,
                                                "objective": "quadratic, no training"},
                              "versions": versions("optuna", "sqlalchemy"), "results": results,
                              "sqlite_over_journal": ratio, "default_storage": "journal_file"})


if __name__ == "__main__":
    main()
