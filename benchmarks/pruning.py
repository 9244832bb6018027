"""Epochs saved by pruning, and the best value reached, with and without the median pruner.

    .venv/bin/python benchmarks/pruning.py   # writes benchmarks/results/pruning.json

Same objective family as sample_efficiency.py (the DLinear baseline on the real hourly file's last
6,000 bars) with 5 epochs per trial, 30 trials, 5 seeds, TPE; one study per (seed, pruner).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pandas as pd  # noqa: E402

from _common import versions, write  # noqa: E402
from cryptexlab.data.candles import load_candles  # noqa: E402
from cryptexlab.data.synthetic import write_cryptex_csv  # noqa: E402
from cryptexlab.params import DataConfig, ModelConfig, SearchConfig, TrainConfig  # noqa: E402
from cryptexlab.paths import SHARED_DATA_DIR  # noqa: E402
from cryptexlab.search.config import TrialConfig  # noqa: E402
from cryptexlab.search.tuner import run_search  # noqa: E402
from sample_efficiency import SPACE  # noqa: E402

SEEDS, TRIALS, EPOCHS = 5, 30, 5


def main() -> None:
    candles = load_candles(SHARED_DATA_DIR / "candlesticks-h.csv").frame.iloc[-6000:]
    rows = {"median": [], "none": []}
    with tempfile.TemporaryDirectory() as tmp:
        raw = candles.reset_index()
        raw["timestamp"] = (raw["timestamp"] - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta(seconds=1)
        path = write_cryptex_csv(raw, Path(tmp) / "last6000.csv")
        base = TrialConfig(DataConfig.model_validate({"path": str(path), "windows": {"seq_len": 48, "pred_len": 24}}),
                           ModelConfig(kind="dlinear"), TrainConfig(epochs=EPOCHS, max_train_windows=256, patience=EPOCHS))
        for seed in range(SEEDS):
            for pruner in rows:
                search = SearchConfig(mode="custom", custom=SPACE, n_trials=TRIALS, pruner=pruner, seed=seed,
                                      study_name=f"{pruner}-{seed}", storage=f"{tmp}/{pruner}-{seed}.journal")
                study = run_search(base, search, show_progress_bar=False).study
                epochs = sum(len(t.intermediate_values) for t in study.trials)
                pruned = sum(t.state.name == "PRUNED" for t in study.trials)
                rows[pruner].append({"seed": seed, "epochs": epochs, "pruned": pruned, "best": study.best_value})
                print(f"seed {seed} {pruner:6s}: {epochs} epochs, {pruned} pruned, best {study.best_value:.3f}")
    epochs = {p: statistics.mean(r["epochs"] for r in rs) for p, rs in rows.items()}
    best = {p: statistics.mean(r["best"] for r in rs) for p, rs in rows.items()}
    write("pruning", {
        "configuration": {"seeds": SEEDS, "trials": TRIALS, "epochs_per_trial": EPOCHS, "sampler": "tpe",
                          "pruner": "MedianPruner(n_startup_trials=3)", "objective": "val MAE, DLinear baseline"},
        "versions": versions("optuna", "torch"), "runs": rows,
        "mean_epochs": epochs, "epochs_saved_share": 1 - epochs["median"] / epochs["none"],
        "mean_best": best, "best_ratio_pruned_over_unpruned": best["median"] / best["none"],
    })
    print(f"epochs saved {1 - epochs['median'] / epochs['none']:.0%}; best ratio {best['median'] / best['none']:.3f}")


if __name__ == "__main__":
    main()
