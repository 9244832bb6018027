"""What does fold-wise pruning save in a cross-validated search, and what does it cost in the best score?

    python benchmarks/cv_pruning.py                  # resumes; --seeds N, --trials N, --folds K [K ...], --fresh
    python benchmarks/cv_pruning.py --folds 5 10     # also with ten folds (``by_folds`` in the JSON)

On the real hourly file (the quick profile's data section), a TPE search of the ``training``
space (learning rate, batch size, epochs, schedule, loss, weight decay, gradient clipping) tunes
DLinear, scored by purged K-fold cross-validation (one model per fold). The same search runs
three times per sampler seed: without pruning, with the median pruner on the running mean of the
fold scores, and with Optuna's WilcoxonPruner on the per-fold scores. Figures per pruner:

* ``saved_share``: 1 - fold trainings run / fold trainings of the unpruned search (summed over
  seeds; target at least 0.5);
* ``best_ratio``: the pruned search's final best CV MAE over the unpruned one's (mean over seeds;
  lower is better; target at most 1.01), with the per-seed values and the worst seed.

``pruners`` holds the figures of the first fold count given (5 by default); ``by_folds`` those of
every fold count run. The number of folds bounds the saving: a trial stopped after fold k of K saves
(K - k - 1) / K of its trainings, and Wilcoxon's exact test cannot reach p < 0.1 before four folds.

DLinear stands in for Time-LLM because the unpruned arm alone trains seeds x trials x folds
models (here 5 x 40 x 5 = 1,000); on this 2-core machine a Time-LLM fold takes about 13 s, a DLinear
fold well under one. The pruning logic does not depend on the model. Results are written after
every search, so a stopped run resumes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import TrialState

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, versions, write  # noqa: E402
from cryptexlab.params import CVConfig, ModelConfig, SearchConfig  # noqa: E402
from cryptexlab.paths import SHARED_DATA_DIR  # noqa: E402
from cryptexlab.profiles import load_profile  # noqa: E402
from cryptexlab.search.config import TrialConfig  # noqa: E402
from cryptexlab.search.tuner import run_search  # noqa: E402

NAME = "cv_pruning"
DATA = SHARED_DATA_DIR / "candlesticks-h.csv"
PRUNERS = ("none", "median", "wilcoxon")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--folds", type=int, nargs="+", default=[5])
    parser.add_argument("--fresh", action="store_true", help="ignore earlier partial results")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = RESULTS / f"{NAME}.json"
    earlier = json.loads(path.read_text()) if path.is_file() and not args.fresh else {}
    runs: dict[str, dict] = earlier.get("runs", {})
    notes = earlier.get("notes", "")
    profile = load_profile("quick", overrides=[f"data.path={DATA}"])
    base = TrialConfig(profile.data, ModelConfig(kind="dlinear"), profile.train)
    config = {"data": str(DATA.name), "model": "dlinear", "space": "training", "sampler": "tpe", "cv_kind": "purged",
              "folds": args.folds, "trials": args.trials, "seeds": args.seeds, "objective": "val_mae",
              "train": {"max_train_windows": base.train.max_train_windows, "eval_cap": base.train.eval_cap()},
              "median_pruner": "MedianPruner(n_startup_trials=3, n_warmup_steps=0) on the running mean",
              "wilcoxon_pruner": "WilcoxonPruner(p_threshold=0.1) on the per-fold scores"}
    with tempfile.TemporaryDirectory() as tmp:
        for folds in args.folds:
            cv = CVConfig(kind="purged", n_splits=folds)
            for seed in range(args.seeds):
                for pruner in PRUNERS:
                    key = f"k{folds}/{pruner}-{seed}"
                    if key in runs:
                        continue
                    search = SearchConfig(mode="training", method="tpe", pruner=pruner, n_trials=args.trials,
                                          seed=seed, study_name=f"k{folds}-{pruner}-{seed}",
                                          storage=f"{tmp}/k{folds}-{pruner}-{seed}.journal", cv=cv)
                    start = time.perf_counter()
                    result = run_search(base, search, show_progress_bar=False)
                    runs[key] = _describe(result.study, time.perf_counter() - start)
                    print(f"{key}: best {runs[key]['best']:.3f}, {runs[key]['fold_trainings']} fold trainings, "
                          f"{runs[key]['seconds']:.0f} s", flush=True)
                    _save(config, runs, args, notes)


def _describe(study: optuna.Study, seconds: float) -> dict:
    trials = study.get_trials(deepcopy=False)
    folds = [int(t.user_attrs.get("windows", {}).get("folds_trained", 0)) for t in trials]
    return {"best": float(study.best_value), "best_trial": study.best_trial.number, "fold_trainings": sum(folds),
            "pruned": sum(t.state == TrialState.PRUNED for t in trials),
            "complete": sum(t.state == TrialState.COMPLETE for t in trials),
            "failed": sum(t.state == TrialState.FAIL for t in trials),
            "pruned_after_fold": [t.user_attrs.get("cv_pruned_after_fold") for t in trials
                                  if t.state == TrialState.PRUNED],
            "seconds": seconds}


def _save(config: dict, runs: dict, args: argparse.Namespace, notes: str) -> None:
    by_folds = {str(k): _summary(runs, k, args.trials) for k in args.folds}
    by_folds = {k: v for k, v in by_folds.items() if v}
    primary = by_folds.get(str(args.folds[0]), {})
    targets = {"saved_share_at_least": 0.5, "best_ratio_at_most": 1.01}
    met = {k: {p: {"saved_share": v["saved_share"] >= 0.5, "best_ratio": v["best_ratio"] <= 1.01}
               for p, v in pruners.items()} for k, pruners in by_folds.items()}
    write(NAME, {"configuration": config, "versions": versions("cryptexlab", "optuna", "torch", "numpy"),
                 "pruners": primary, "by_folds": by_folds, "targets": targets, "targets_met": met, "notes": notes, "runs": runs})


def _summary(runs: dict, folds: int, trials: int) -> dict:
    """Per pruner: fold trainings saved and final best relative to the unpruned search, over paired seeds."""
    prefix = f"k{folds}/"
    seeds = sorted({int(k.rsplit("-", 1)[1]) for k in runs if k.startswith(prefix + "none-")})
    pruners = {}
    for pruner in PRUNERS[1:]:
        paired = [s for s in seeds if f"{prefix}{pruner}-{s}" in runs]
        if not paired:
            continue
        mine = [runs[f"{prefix}{pruner}-{s}"] for s in paired]
        none = [runs[f"{prefix}none-{s}"] for s in paired]
        ratios = [a["best"] / b["best"] for a, b in zip(mine, none, strict=True)]
        pruners[pruner] = {"saved_share": 1 - sum(a["fold_trainings"] for a in mine) / sum(b["fold_trainings"] for b in none),
                           "best_ratio": float(np.mean(ratios)), "best_ratio_worst_seed": float(max(ratios)),
                           "best_ratio_per_seed": ratios,
                           "seconds_ratio": sum(a["seconds"] for a in mine) / sum(b["seconds"] for b in none),
                           "seeds": paired, "trials_pruned": sum(a["pruned"] for a in mine),
                           "trials": len(paired) * trials}
    return pruners


if __name__ == "__main__":
    main()
