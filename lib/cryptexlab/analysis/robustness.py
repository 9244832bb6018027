"""Robustness of the best configuration: its score when one parameter moves to a neighbouring value.

The design's sensitivity analysis, from existing trials only (no new training): for each parameter,
the completed trials that are *near the best trial in every other parameter* (within ``tol`` of
each parameter's range, on the log scale for log parameters, by choice index for categorical ones;
a conditional parameter, present in some trials only, must equal the best trial's)
and differ in this one are its neighbours: the closest one below and the closest one above the
best trial's value. Their scores, and the change from the best, show how sharply the best point
sits in its neighbourhood. A parameter without such trials says so (``None``), rather than
guessing. The best value's own bootstrap interval (:func:`cryptexlab.analysis.compare.bootstrap_best`)
comes with it.

Example:
    >>> table = robustness_table(loaded, kinds)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cryptexlab.analysis.compare import LoadedStudy, bootstrap_best
from cryptexlab.analysis.distribution import completed_values
from cryptexlab.analysis.load import completed


def _coordinates(done: pd.DataFrame, params: list[str], kinds: dict[str, str]) -> pd.DataFrame:
    """Each parameter mapped to [0, 1]: log10 for log parameters, choice index for categorical ones."""
    out = {}
    for p in params:
        x = done[f"params.{p}"]
        if kinds.get(p) in ("categorical", "ordinal"):
            order = {v: i for i, v in enumerate(sorted(x.dropna().unique(), key=lambda v: (str(type(v)), v)))}
            z = x.map(order).astype(float)
        else:
            z = np.log10(x.astype(float)) if kinds.get(p) == "log" else x.astype(float)
        span = z.max() - z.min()
        out[p] = (z - z.min()) / span if span > 0 else z * 0.0
    return pd.DataFrame(out, index=done.index)


def robustness_table(study: LoadedStudy, kinds: dict[str, str], tol: float = 0.15) -> pd.DataFrame:
    """One row per parameter: the best trial's value, its neighbours below and above (trial, value, score)
    and the largest score change (see the module docstring)."""
    done = completed(study.frame, study.column)
    columns = [c for c in done.columns if c.startswith("params.")]
    params = [c.removeprefix("params.") for c in columns if done[c].notna().all() and done[c].nunique() > 1]
    conditional = [c for c in columns if not done[c].notna().all()]  # on a branch: a neighbour must share it
    if done.empty or not params:
        return pd.DataFrame()
    minimize = study.direction == "minimize"
    best = done[study.column].idxmin() if minimize else done[study.column].idxmax()
    z = _coordinates(done, params, kinds)
    same_branch = pd.Series(True, index=done.index)
    for c in conditional:
        b = done.loc[best, c]
        same_branch &= done[c].isna() if pd.isna(b) else (done[c] == b)
    rows = []
    for p in params:
        others = [q for q in params if q != p]
        near = (z[others].sub(z.loc[best, others]).abs().max(axis=1) <= tol) if others else pd.Series(True, index=z.index)
        cand = done[near & same_branch & (z[p] != z.loc[best, p])]
        row: dict[str, Any] = {"parameter": p, "best_value": done.loc[best, f"params.{p}"], "neighbours": len(cand)}
        for side, mask in (("below", z.loc[cand.index, p] < z.loc[best, p]), ("above", z.loc[cand.index, p] > z.loc[best, p])):
            side_c = cand[mask]
            if side_c.empty:
                row.update({f"{side}_trial": None, f"{side}_value": None, f"{side}_score": None})
                continue
            nearest = (z.loc[side_c.index, p] - z.loc[best, p]).abs().idxmin()
            row.update({f"{side}_trial": int(done.loc[nearest, "number"]), f"{side}_value": done.loc[nearest, f"params.{p}"],
                        f"{side}_score": float(done.loc[nearest, study.column])})
        changes = [row[f"{s}_score"] - float(done.loc[best, study.column]) for s in ("below", "above")
                   if row[f"{s}_score"] is not None]
        row["worst_change"] = (max(changes) if minimize else min(changes)) if changes else None
        rows.append(row)
    table = pd.DataFrame(rows)
    table.attrs.update(best_trial=int(done.loc[best, "number"]), best_score=float(done.loc[best, study.column]), tol=tol)
    return table


def robustness_summary(study: LoadedStudy, table: pd.DataFrame) -> dict[str, Any]:
    """The best value's bootstrap interval and the parameter whose neighbour costs most."""
    lo, hi = bootstrap_best(completed_values(study.frame, study.column), study.direction)
    known = table.dropna(subset=["worst_change"]) if not table.empty else table
    sensitive = None
    if not known.empty:
        idx = known["worst_change"].abs().idxmax()
        sensitive = {"parameter": known.loc[idx, "parameter"], "worst_change": float(known.loc[idx, "worst_change"])}
    return {"best_trial": table.attrs.get("best_trial"), "best": table.attrs.get("best_score"),
            "best_ci": [lo, hi], "tol": table.attrs.get("tol"), "most_sensitive": sensitive,
            "without_neighbours": [] if table.empty else list(table.loc[table["neighbours"] == 0, "parameter"]),
            "table": [] if table.empty else table.to_dict(orient="records")}
