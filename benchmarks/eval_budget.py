"""Does the evaluation budget rank trials as validating on every window does, and what does it save?

    python benchmarks/eval_budget.py            # resumes; --trials N, --fresh to start over

On the real hourly file, with the quick profile's base configuration, a seeded random sampler
draws configurations of the quick space (a study of ``--trials`` trials). Each configuration is
trained twice with the same seed: once validated on the budget (the default: windows ``pred_len``
bars apart, at most ``max_train_windows`` of them) and once on every validation window after
every epoch and at the end (``eval_stride=1, max_eval_windows=null``: the old behaviour). The
training itself is identical (validation draws no random numbers); only the epoch whose weights
are kept may differ. The figures: the Spearman rank correlation between the trials' budgeted
validation MAE and their all-window validation MAE (target >= 0.9), the seconds of both, and the
cost of one scored window against one trained window (what ``max_eval_windows: auto`` rests on).
Results are written after every trial, so a stopped run resumes. ``rejected_defaults`` keeps the
figures of an earlier default (128 windows ``pred_len`` bars apart) that failed the target.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import optuna
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, versions, write  # noqa: E402
from cryptexlab.data.prepare import load_windows  # noqa: E402
from cryptexlab.params import SearchConfig  # noqa: E402
from cryptexlab.paths import SHARED_DATA_DIR  # noqa: E402
from cryptexlab.profiles import load_profile  # noqa: E402
from cryptexlab.search.config import InvalidConfiguration, TrialConfig, with_values  # noqa: E402
from cryptexlab.search.spaces import space_for
from cryptexlab.training import run_experiment  # noqa: E402

NAME = "eval_budget"
DATA = SHARED_DATA_DIR / "candlesticks-h.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--fresh", action="store_true", help="ignore earlier partial results")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = RESULTS / f"{NAME}.json"
    earlier = json.loads(path.read_text()) if path.is_file() else {}
    done = [] if args.fresh else earlier.get("per_trial", [])
    rejected = earlier.get("rejected_defaults", [])
    profile = load_profile("quick", overrides=[f"data.path={DATA}"])
    base = TrialConfig(profile.data, profile.model, profile.train)
    windows = load_windows(base.data)
    space = space_for("quick")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    number = 0
    while sum(1 for d in done) < args.trials:
        trial = study.ask()
        try:
            config = space(trial, base, SearchConfig(mode="quick"))
        except InvalidConfiguration:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        number += 1
        if any(d["params"] == trial.params for d in done):
            study.tell(trial, next(d["val_mae_budgeted"] for d in done if d["params"] == trial.params))
            continue
        budgeted = run_experiment(config.data, config.model, config.train, windows=windows, evaluate_test=False)
        every = with_values(config, {"train.eval_stride": 1, "train.max_eval_windows": None})
        full = run_experiment(every.data, every.model, every.train, windows=windows, evaluate_test=False)
        study.tell(trial, budgeted.val["mae"])
        done.append({"params": trial.params, "val_mae_budgeted": budgeted.val["mae"], "val_mae_all": full.val["mae"],
                     "best_epoch_budgeted": budgeted.best_epoch, "best_epoch_all": full.best_epoch,
                     "seconds_budgeted": round(budgeted.seconds, 2), "seconds_all": round(full.seconds, 2),
                     "windows_evaluated_budgeted": budgeted.windows_evaluated,
                     "windows_evaluated_all": full.windows_evaluated, "windows_trained": budgeted.windows_trained,
                     "val_windows_budgeted": budgeted.val_windows})
        print(f"trial {len(done)}: budgeted {budgeted.val['mae']:.2f} in {budgeted.seconds:.1f} s, "
              f"all {full.val['mae']:.2f} in {full.seconds:.1f} s", flush=True)
        save(done, base, windows, complete=len(done) >= args.trials, rejected=rejected)


def save(done: list[dict], base: TrialConfig, windows, complete: bool, rejected: list[dict]) -> None:
    """Write the figures so far (``complete`` false while the study is still running)."""
    a = [d["val_mae_budgeted"] for d in done]
    b = [d["val_mae_all"] for d in done]
    rho = float(stats.spearmanr(a, b).statistic) if len(done) >= 3 else None
    seconds_all = round(sum(d["seconds_all"] for d in done), 1)
    seconds_budgeted = round(sum(d["seconds_budgeted"] for d in done), 1)
    best_same = min(range(len(a)), key=a.__getitem__) == min(range(len(b)), key=b.__getitem__)
    extra_eval = sum(d["windows_evaluated_all"] - d["windows_evaluated_budgeted"] for d in done)
    eval_per_window = (seconds_all - seconds_budgeted) / extra_eval if extra_eval else None
    budget_eval = sum(d["windows_evaluated_budgeted"] for d in done)
    trained = sum(d["windows_trained"] for d in done)
    # the budgeted runs' seconds less their scoring: training plus model building, an upper bound per window
    train_per_window = (seconds_budgeted - eval_per_window * budget_eval) / trained if eval_per_window else None
    write(NAME, {
        "complete": complete,
        "configuration": {"file": DATA.name, "profile": "quick", "space": "quick", "sampler": "random, seed 0",
                          "epochs": base.train.epochs, "max_train_windows": base.train.max_train_windows,
                          "batch_size": base.train.batch_size, "eval_batch_size": base.train.eval_batch_size,
                          "seq_len": base.data.windows.seq_len, "pred_len": base.data.windows.pred_len,
                          "val_windows_in_period": windows.val.n_windows,
                          "budget": done[0]["val_windows_budgeted"] if done else None,
                          "model": f"{base.model.kind} {base.model.llm_model} x{base.model.llm_layers}"},
        "versions": versions("torch", "optuna", "transformers", "numpy"),
        "trials": len(done),
        "spearman": rho,
        "target_spearman": 0.9,
        "same_best_trial": best_same,
        "seconds_all": seconds_all,
        "seconds_budgeted": seconds_budgeted,
        "all_over_budgeted_seconds": round(seconds_all / seconds_budgeted, 2) if seconds_budgeted else None,
        "seconds_per_scored_window": round(eval_per_window, 5) if eval_per_window else None,
        "seconds_per_trained_window_upper_bound": round(train_per_window, 5) if train_per_window else None,
        "per_trial": done,
        "rejected_defaults": rejected,
    })


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"done in {time.perf_counter() - started:.0f} s")
