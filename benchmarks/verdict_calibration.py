"""Known-answer calibration of the verdict: its size on martingales, its power on planted signals.

Each series is a synthetic variant with a known answer (cryptexlab.data.synthetic): ``martingale``
(nothing can beat the random walk; a "beats" verdict is a false positive) and ``planted`` (an AR(1)
signal of strength phi in the hourly returns). On each series the calibration profile runs what
06_verdict runs: a small search (its own study), the selection, the retraining on train + validation,
and the verdict's rule (StepM over every candidate). The oracle (the true AR coefficient's forecast)
is judged by the same rule on the same test windows, as the one candidate, to show that the planted
signal is detectable at all. Planted series run under both output parameterisations (persistence,
the default, and direct, the reference) to compare their power.

Resumable: each series' outcome is written to the JSON as it finishes; a rerun skips the done ones.

    python benchmarks/verdict_calibration.py [--martingale 40] [--planted 20] [--outputs persistence direct]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import beta

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import versions, write  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from cryptexlab.data.source import load_features  # noqa: E402
from cryptexlab.profiles import load_profile  # noqa: E402
from cryptexlab.search.config import TrialConfig  # noqa: E402
from cryptexlab.stages.verdict import judge  # noqa: E402
from cryptexlab.stats import multiple_tests, window_losses  # noqa: E402

NAME = "verdict_calibration"
NOTES = [
    "Each series: six DLinear trials (learning rate, MSE/MAE loss), 12 epochs x 2,048 windows, seq_len 48, pred_len 4, "
    "4,000 hourly bars split 60/20/20, the verdict's rule at 5% on the first step's MAE.",
    "planted: phi = 0.35 (returns' AR(1)); the oracle knows phi and forecasts last * exp(phi * last return).",
    "Where the selected model is not counted superior but SPA rejects, another candidate (a trial trained on train "
    "only, or the ensemble) beat the random walk: retraining on train + validation for the validation run's epochs "
    "does not always keep what the trial learned.",
]
RESULT = Path(__file__).resolve().parent / "results" / f"{NAME}.json"


def clopper_pearson(k: int, n: int, level: float = 0.95) -> list[float]:
    """The exact binomial interval of k successes in n."""
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return [lo, hi]


def run_series(kind: str, seed: int, output: str, extra: tuple[str, ...] = ()) -> dict:
    """One series: search, select, retrain, verdict; and the oracle under the same rule (``extra``: more
    ``-p`` style overrides, e.g. shorter series in the test)."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        storage = str(Path(tmp) / "study.journal")
        overrides = [f"data.synthetic.kind={kind}", f"data.synthetic.seed={seed}", f"model.output={output}",
                     f"02_search.storage={storage}", f"06_verdict.storage={storage}"]
        if kind == "martingale":
            overrides.append("data.synthetic.phi=null")
        profile = load_profile("calibration", overrides=[*overrides, *extra])
        base = TrialConfig(profile.data, profile.model, profile.train)
        verdict = judge(base, profile.search, profile.verdict_notebook, progress=False)
    out = {"kind": kind, "seed": seed, "output": output, "beats": verdict.beats_random_walk,
           "test_mae_ratio": verdict.test_mae_ratio, "spa_p": verdict.tests["spa"].p_value,
           "dm_p": verdict.tests["diebold_mariano"].p_value, "n_candidates": int(verdict.table["in_correction"].sum()),
           "seconds": round(time.perf_counter() - start, 1)}
    if kind == "planted":
        out["oracle_beats"] = oracle_detected(profile, verdict)
    return out


def oracle_detected(profile, verdict) -> bool:
    """The true AR(1) forecast judged by the verdict's rule (StepM, one candidate) on the same windows."""
    phi = profile.data.synthetic.phi if profile.data.synthetic.phi is not None else 0.10
    close = load_features(profile.data)[1].frame["close"]
    first, last_t = pd.Timestamp(verdict.period[0]), pd.Timestamp(verdict.period[1])
    pos = np.flatnonzero((close.index >= first) & (close.index <= last_t))
    c = close.to_numpy()
    last, prev, target = c[pos - 1], c[pos - 2], c[pos][:, None]
    oracle = (last * np.exp(phi * np.log(last / prev)))[:, None]
    settings = profile.verdict_notebook
    bench = window_losses(last[:, None], target, settings.loss, 1)
    model = pd.DataFrame({"oracle": window_losses(oracle, target, settings.loss, 1)})
    return "oracle" in multiple_tests(bench, model, alpha=settings.alpha, reps=settings.reps).superior


def summarize(runs: list[dict]) -> dict:
    out: dict = {}
    mart = [r for r in runs if r["kind"] == "martingale" and r["output"] == "persistence"]
    if mart:
        k = sum(r["beats"] for r in mart)
        out["martingale"] = {"n_series": len(mart), "beats": k, "share": k / len(mart), "ci": clopper_pearson(k, len(mart)),
                             "target": "at most 4 of 40 (a 5% size)"}
    for output in ("persistence", "direct"):
        plant = [r for r in runs if r["kind"] == "planted" and r["output"] == output]
        if plant:
            k = sum(r["beats"] for r in plant)
            o = sum(r["oracle_beats"] for r in plant)
            key = "planted" if output == "persistence" else "planted_direct"
            out[key] = {"n_series": len(plant), "beats": k, "power": k / len(plant), "power_ci": clopper_pearson(k, len(plant)),
                        "oracle_power": o / len(plant), "output": output,
                        "target": "power >= 0.80 where the oracle's is >= 0.95"}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--martingale", type=int, default=40)
    parser.add_argument("--planted", type=int, default=20)
    parser.add_argument("--outputs", nargs="+", default=["persistence", "direct"])
    args = parser.parse_args()
    doc = json.loads(RESULT.read_text()) if RESULT.exists() else {}
    runs: list[dict] = doc.get("runs", [])
    done = {(r["kind"], r["seed"], r["output"]) for r in runs}
    profile = load_profile("calibration")
    plan = [("planted", s, o) for s in range(args.planted) for o in args.outputs]
    plan += [("martingale", 1000 + s, "persistence") for s in range(args.martingale)]
    # interleave so that a stopped run has some of each
    plan.sort(key=lambda x: (x[1] % 1000, x[0]))
    for kind, seed, output in plan:
        if (kind, seed, output) in done:
            continue
        runs.append(run_series(kind, seed, output))
        print(json.dumps(runs[-1]), flush=True)
        doc = {"versions": versions("cryptexlab", "optuna", "torch", "arch", "statsmodels", "numpy"),
            "configuration": {"profile": "params/calibration.yaml", **profile.model_dump(by_alias=True, mode="json",
                                                                                          include={"data", "model", "train",
                                                                                                   "search", "verdict_notebook"})},
            "rule": "StepM over every candidate of the search (see cryptexlab.stages.verdict)", "notes": NOTES,
            **summarize(runs), "runs": runs}
        write(NAME, doc)


if __name__ == "__main__":
    main()
