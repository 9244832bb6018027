"""Feature-aware models: the planted_exog known answer and the real hourly file, beside the random walk.

known_answer: on synthetic planted_exog (an exogenous series, delivered through CRYPTEX_EXTERNAL with
a 1 h publication lag, explains 10% of the next return's variance) and noise_exog (the same series,
independent of the returns), each model is trained once per seed and "beats" the random walk when
the one-sided Diebold-Mariano test (HLN, MAE, first forecast step) on the test period has p < 0.05.
Channel-independent Time-LLM cannot see the series and is the control.

real: validation MAE ratio against the random walk on the real hourly file (every bar) for LightGBM
and ridge on each feature set and for covariate-aware Time-LLM on BASIC and ENHANCED, with training
seconds. CRYPTEX_EXTERNAL needs an external series, which the real file does not come with: skipped.

Resumable: every finished run is written at once and skipped on the next start.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/covariates.py [--seeds 3] [--real PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, versions, write  # noqa: E402
from cryptexlab.data.prepare import load_windows  # noqa: E402
from cryptexlab.params import DataConfig, ModelConfig, TrainConfig  # noqa: E402
from cryptexlab.stats import diebold_mariano  # noqa: E402
from cryptexlab.training import run_experiment  # noqa: E402

NAME = "covariates"
RESULT = RESULTS / f"{NAME}.json"
TIMELLM = dict(kind="timellm", llm_layers=1, d_model=16, d_ff=32, n_heads=4, patch_len=16, stride=8, num_tokens=100)
MODELS: dict[str, dict[str, Any]] = {
    "timellm_covariates": {**TIMELLM, "covariates": True},
    "timellm": TIMELLM,
    "lightgbm": {"kind": "lightgbm"},
    "ridge": {"kind": "ridge"},
}
TRAIN = dict(epochs=6, max_train_windows=2048, batch_size=32, learning_rate=3e-3, max_eval_windows=512)
REAL_SETS = ("CRYPTEX_BASIC", "CRYPTEX_ENHANCED", "CRYPTEX_MULTISCALE", "CRYPTEX_REGIME_AWARE")


def synthetic(kind: str, seed: int) -> DataConfig:
    return DataConfig(synthetic={"kind": kind, "hours": 4000, "seed": seed}, feature_set="CRYPTEX_EXTERNAL",
                      split={"train": 0.6, "val": 0.2, "test": 0.2},
                      windows={"seq_len": 48, "pred_len": 4, "target_kind": "log_return"})


def known_answer_run(model: str, kind: str, seed: int) -> dict[str, Any]:
    data = synthetic(kind, seed)
    start = time.perf_counter()
    res = run_experiment(data, ModelConfig(**MODELS[model]), TrainConfig(**TRAIN, seed=seed))
    pred, target, last = res.test_predictions
    walk = np.repeat(last[:, None], target.shape[1], axis=1)
    dm = diebold_mariano(target, pred, walk)
    ratio = float(np.abs(pred[:, 0] - target[:, 0]).mean() / np.abs(walk[:, 0] - target[:, 0]).mean())
    return {"model": model, "kind": kind, "seed": seed, "step1_test_mae_ratio": ratio, "dm_p": dm.p_value,
            "beats": bool(dm.p_value < 0.05), "seconds": time.perf_counter() - start}


def real_run(path: str, model: str, feature_set: str) -> dict[str, Any]:
    data = DataConfig(path=path, feature_set=feature_set, windows={"seq_len": 48, "pred_len": 4})
    windows = load_windows(data)
    start = time.perf_counter()
    res = run_experiment(data, ModelConfig(**MODELS[model]), TrainConfig(**TRAIN), windows=windows, evaluate_test=False)
    return {"model": model, "feature_set": feature_set, "val_mae_ratio": res.val["mae"] / res.val_random_walk["mae"],
            "seconds": time.perf_counter() - start, "val_windows": res.val_windows.get("used"),
            "train_windows": len(windows.train), "columns": len(windows.columns)}


def summarize(runs: list[dict[str, Any]], real: list[dict[str, Any]]) -> dict[str, Any]:
    known: dict[str, Any] = {}
    for model in MODELS:
        mine = [r for r in runs if r["model"] == model]
        if not mine:
            continue
        share = {k: float(np.mean([r["beats"] for r in mine if r["kind"] == k])) if any(r["kind"] == k for r in mine)
                 else None for k in ("planted_exog", "noise_exog")}
        known[model] = {"planted_exog_beats_share": share["planted_exog"], "noise_beats_share": share["noise_exog"],
                        "seeds": sorted({r["seed"] for r in mine})}
    table: dict[str, Any] = {}
    for r in real:
        table.setdefault(r["model"], {})[r["feature_set"]] = {"val_mae_ratio": r["val_mae_ratio"],
                                                              "seconds": r["seconds"]}
    return {"known_answer": known, "real": table}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--real", default=str(Path(__file__).resolve().parents[2] / "shared/data/cryptex/candlesticks-h.csv"))
    args = parser.parse_args()
    doc = json.loads(RESULT.read_text()) if RESULT.exists() else {}
    runs, real = doc.get("runs", []), doc.get("real_runs", [])
    plan: list[tuple[str, ...]] = [("known", m, k, str(s)) for s in range(args.seeds) for k in ("planted_exog", "noise_exog")
                                   for m in MODELS]
    plan += [("real", m, f) for f in REAL_SETS for m in ("lightgbm", "ridge")]
    plan += [("real", "timellm_covariates", f) for f in ("CRYPTEX_BASIC", "CRYPTEX_ENHANCED")]
    done = {("known", r["model"], r["kind"], str(r["seed"])) for r in runs}
    done |= {("real", r["model"], r["feature_set"]) for r in real}
    for item in plan:
        if item in done:
            continue
        if item[0] == "known":
            runs.append(known_answer_run(item[1], item[2], int(item[3])))
            print(json.dumps(runs[-1]), flush=True)
        else:
            if not Path(args.real).is_file():
                continue
            real.append(real_run(args.real, item[1], item[2]))
            print(json.dumps(real[-1]), flush=True)
        write(NAME, {"versions": versions("cryptexlab", "torch", "lightgbm", "scikit-learn", "numpy"),
                     "configuration": {"models": MODELS, "train": TRAIN, "synthetic": synthetic("planted_exog", 0).model_dump(),
                                       "beats": "one-sided Diebold-Mariano (HLN, MAE, step 1) p < 0.05 on the test period",
                                       "real_file": Path(args.real).name, "real_sets": list(REAL_SETS),
                                       "external_skipped": "the real file has no external series"},
                     **summarize(runs, real), "runs": runs, "real_runs": real})


if __name__ == "__main__":
    main()
