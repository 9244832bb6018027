"""Sample efficiency of TPE (the default) against random search at equal budgets, 10 seeds.

    .venv/bin/python benchmarks/sample_efficiency.py   # writes benchmarks/results/sample_efficiency.json

The objective is cheap but real: the validation MAE of the DLinear baseline (behind RevIN)
trained for one epoch on the real hourly file's last 6,000 bars through the
project's own data path and experiment runner; the space is learning rate, weight decay, batch
size and loss. Each method gets BUDGET trials per seed; best-so-far curves are recorded and
summarised by their mean and the share of seeds where TPE ends ahead.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import versions, write  # noqa: E402
from cryptexlab.data.candles import load_candles  # noqa: E402
from cryptexlab.data.synthetic import write_cryptex_csv  # noqa: E402
from cryptexlab.params import DataConfig, ModelConfig, SearchConfig, SearchParam, TrainConfig  # noqa: E402
from cryptexlab.paths import SHARED_DATA_DIR  # noqa: E402
from cryptexlab.search.config import TrialConfig  # noqa: E402
from cryptexlab.search.tuner import run_search  # noqa: E402

SEEDS, BUDGET = 10, 20
SPACE = [SearchParam(name="train.learning_rate", type="float", low=1e-5, high=1e-1, log=True),
         SearchParam(name="train.weight_decay", type="float", low=1e-7, high=1e-1, log=True),
         SearchParam(name="train.batch_size", type="categorical", choices=[16, 32, 64, 128]),
         SearchParam(name="train.loss", type="categorical", choices=["MSE", "MAE", "ROBUST"])]


def main() -> None:
    candles = load_candles(SHARED_DATA_DIR / "candlesticks-h.csv").frame.iloc[-6000:]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "last6000.csv"
        raw = candles.reset_index()
        raw["timestamp"] = (raw["timestamp"] - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta(seconds=1)
        write_cryptex_csv(raw, path)
        base = TrialConfig(DataConfig.model_validate({"path": str(path), "windows": {"seq_len": 48, "pred_len": 24}}),
                           ModelConfig(kind="dlinear"), TrainConfig(epochs=1, max_train_windows=512))
        curves: dict[str, list[list[float]]] = {"tpe": [], "random": []}
        for seed in range(SEEDS):
            for method in curves:
                search = SearchConfig(mode="custom", custom=SPACE, method=method, n_trials=BUDGET, pruner="none",
                                      seed=seed, study_name=f"{method}-{seed}", storage=f"{tmp}/{method}-{seed}.journal")
                study = run_search(base, search, show_progress_bar=False).study
                values = [t.value if t.value is not None else np.inf for t in study.trials]
                curves[method].append(list(np.minimum.accumulate(values)))
            print(f"seed {seed}: tpe {curves['tpe'][-1][-1]:.3f}  random {curves['random'][-1][-1]:.3f}")
    mean = {m: list(np.mean(c, axis=0)) for m, c in curves.items()}
    finals = {m: [c[-1] for c in cs] for m, cs in curves.items()}
    ahead = sum(t < r for t, r in zip(finals["tpe"], finals["random"], strict=True)) / SEEDS
    write("sample_efficiency", {
        "configuration": {"seeds": SEEDS, "budget": BUDGET, "objective": "val MAE of DLinear baseline, 1 epoch, real "
                          "hourly file (last 6000 bars), seq 48 -> 24", "space": [p.model_dump() for p in SPACE]},
        "versions": versions("optuna", "torch"),
        "best_so_far_mean": mean, "final_best": finals,
        "final_mean": {m: statistics.mean(v) for m, v in finals.items()},
        "tpe_over_random_final_mean": statistics.mean(finals["tpe"]) / statistics.mean(finals["random"]),
        "share_of_seeds_tpe_ahead": ahead,
    })
    print(f"TPE ahead in {ahead:.0%} of seeds; mean final {statistics.mean(finals['tpe']):.3f} vs "
          f"{statistics.mean(finals['random']):.3f}")


if __name__ == "__main__":
    main()
