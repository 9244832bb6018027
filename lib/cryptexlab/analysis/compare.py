"""Studies side by side: best-so-far curves on one axis, best values with bootstrap intervals, fold scores.

Studies compare when they minimise (or maximise) the same metric; the table says what differs
(search mode, sampler, data fingerprint). The interval of a study's best value resamples its
completed trials with replacement (2,000 times) and takes the best of each resample: it shows how
much the best value owes to luck in which configurations were tried. (A bootstrap of an extreme
is biased towards worse values; read the interval as a spread, not as exact coverage.)

Example:
    >>> table = comparison_table(loaded)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd
import plotly.graph_objects as go

from cryptexlab.analysis.convergence import best_so_far
from cryptexlab.analysis.load import completed, metric_names


@dataclass(frozen=True)
class LoadedStudy:
    """A study with its trials table, read once."""

    name: str
    storage: str
    study: optuna.Study
    frame: pd.DataFrame

    @property
    def direction(self) -> str:
        """``minimize`` or ``maximize`` of the first objective."""
        return "minimize" if self.study.directions[0] == optuna.study.StudyDirection.MINIMIZE else "maximize"

    @property
    def metric(self) -> str:
        """The first objective's name."""
        return metric_names(self.study)[0]

    @property
    def column(self) -> str:
        """The table column of the first objective."""
        return "value" if len(self.study.directions) == 1 else "value_0"


def bootstrap_best(values: np.ndarray, direction: str, reps: int = 2000, seed: int = 0,
                   level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the best value over resamples of the trials (see the module docstring)."""
    if len(values) == 0:
        return (np.nan, np.nan)
    rng = np.random.default_rng(seed)
    out = np.empty(reps)
    for start in range(0, reps, 200):  # chunks keep a 5,000-trial study's index array small
        idx = rng.integers(0, len(values), size=(min(200, reps - start), len(values)))
        draws = values[idx]
        out[start:start + len(idx)] = draws.min(axis=1) if direction == "minimize" else draws.max(axis=1)
    lo, hi = np.quantile(out, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def comparison_table(studies: list[LoadedStudy], reps: int = 2000) -> pd.DataFrame:
    """One row per study: trials by state, best value with its bootstrap interval, the best trial, and
    what tells the studies apart (mode, sampler, data fingerprint)."""
    rows = []
    for s in studies:
        done = completed(s.frame, s.column)
        values = done[s.column].to_numpy(dtype=float)
        states = s.frame["state"].value_counts()
        lo, hi = bootstrap_best(values, s.direction, reps)
        best_idx = (np.argmin(values) if s.direction == "minimize" else np.argmax(values)) if len(values) else None
        rows.append({"study": s.name, "metric": s.metric, "direction": s.direction, "trials": len(s.frame),
                     "complete": int(states.get("COMPLETE", 0)), "pruned": int(states.get("PRUNED", 0)),
                     "failed": int(states.get("FAIL", 0)),
                     "best": float(values[best_idx]) if best_idx is not None else np.nan,
                     "best_ci_low": lo, "best_ci_high": hi,
                     "best_trial": int(done["number"].iloc[best_idx]) if best_idx is not None else None,
                     "mode": s.study.user_attrs.get("mode"), "sampler": type(s.study.sampler).__name__,
                     "cross_validated": "cv" in s.study.user_attrs,
                     "data_fingerprint": s.study.user_attrs.get("data_fingerprint"), "storage": s.storage})
    return pd.DataFrame(rows)


def fold_scores(studies: list[LoadedStudy]) -> pd.DataFrame:
    """Cross-validated studies' best trials: one row per fold score (empty when no study has folds)."""
    rows = []
    for s in studies:
        if "folds" not in s.frame:
            continue
        done = s.frame[(s.frame["state"] == "COMPLETE") & s.frame["folds"].notna()]
        if done.empty:
            continue
        best = done.loc[done[s.column].idxmin() if s.direction == "minimize" else done[s.column].idxmax()]
        rows += [{"study": s.name, "trial": int(best["number"]), "fold": k, "score": v} for k, v in enumerate(best["folds"])]
    return pd.DataFrame(rows, columns=["study", "trial", "fold", "score"])


def comparison_figure(studies: list[LoadedStudy]) -> go.Figure:
    """Every study's best-so-far curve on one axis (by completed trial), one colour each."""
    fig = go.Figure()
    for s in studies:
        curve = best_so_far(s.frame, s.direction, s.column)
        steps = curve[curve["best"].ne(curve["best"].shift()) | (curve.index == curve.index[-1])] if len(curve) else curve
        fig.add_trace(go.Scatter(x=steps["n"], y=steps["best"], mode="lines", line=dict(shape="hv"), name=s.name))
    metrics = sorted({s.metric for s in studies})
    fig.update_layout(title="Best value so far, every study on one axis", xaxis_title="completed trials",
                      yaxis_title=" / ".join(metrics), height=420)
    return fig


def comparison_summary(table: pd.DataFrame) -> dict[str, Any]:
    """Which study is best, and whether its interval overlaps the runner-up's."""
    if len(table) < 2:
        return {"studies": len(table)}
    groups = table.groupby(["metric", "direction"])
    out: dict[str, Any] = {"studies": len(table), "groups": []}
    for (metric, direction), g in groups:
        g = g.dropna(subset=["best"]).sort_values("best", ascending=direction == "minimize")
        if len(g) < 2:
            continue
        a, b = g.iloc[0], g.iloc[1]
        overlap = not (a["best_ci_high"] < b["best_ci_low"] if direction == "minimize" else a["best_ci_low"] > b["best_ci_high"])
        out["groups"].append({"metric": metric, "best_study": a["study"], "runner_up": b["study"],
                              "best": a["best"], "runner_up_best": b["best"], "intervals_overlap": bool(overlap),
                              "same_data": (a["data_fingerprint"] == b["data_fingerprint"])
                              if a["data_fingerprint"] and b["data_fingerprint"] else None,
                              "mixed_scoring": bool(a["cross_validated"] != b["cross_validated"])})
    return out
