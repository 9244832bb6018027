"""Convergence of a study: the best-so-far curve, an exponential-decay fit and a convergence point.

The best value after n completed trials (n = 1, 2, ...) is fitted by ``a + c exp(-(n - 1) / tau)``
(``scipy.optimize.curve_fit``) on 60 log-spaced points of the curve, so that the early
improvements weigh as much as the long flat tail: ``a`` is the value the search is heading for,
``c`` the improvement it has left behind, ``tau`` how many trials one e-fold of improvement takes.
A fit is refused (and the empirical rule used) when its asymptote lies outside the curve's own
range by more than that range, or its tau is over ten times the trials run.

Rule for the convergence point: the completed trial at which the fitted curve has made 95% of its
improvement, ``n95 = 1 + tau ln 20``; the study has ``converged`` when it has at least 5 completed
trials and ran past n95. Without a usable fit (fewer than 5 completed trials, a refused fit) the
empirical rule applies: the first trial at which the best-so-far made 95% of its improvement. A
flat curve (no improvement) has no convergence point (``method`` "flat"). ``late_improvement_share``
(the share of the total improvement made in the last 20% of trials) says whether it still moves.

Example:
    >>> c = convergence(frame, "minimize")  # doctest: +SKIP
    >>> c.point, c.converged  # doctest: +SKIP
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cryptexlab.analysis.load import completed, thin

RULE = ("the completed trial at which the fitted decay a + c exp(-(n-1)/tau) has made 95% of its "
        "improvement (n95 = 1 + tau ln 20); converged when the study ran past it with at least 5 completed trials")


@dataclass(frozen=True)
class Convergence:
    """The best-so-far curve (``curve``: n, number, value, best), the fit and the convergence point."""

    curve: pd.DataFrame
    fit: dict[str, float] | None  # a, c, tau, r2
    point: int | None  # the trial number at the convergence point (None: not reached)
    point_n: float | None  # the completed-trial count at it
    converged: bool
    method: str  # "fit", "empirical" or "flat" (no improvement at all)
    late_improvement_share: float = 0.0
    rule: str = field(default=RULE)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the curve)."""
        return {"fit": self.fit, "point_trial": self.point, "point_n": self.point_n, "converged": self.converged,
                "method": self.method, "late_improvement_share": self.late_improvement_share, "rule": self.rule, "completed": len(self.curve),
                "best": float(self.curve["best"].iloc[-1]) if len(self.curve) else None}


def check_direction(direction: str) -> None:
    """Refuse anything but the two words Optuna uses (a typo would silently flip an analysis)."""
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"direction must be 'minimize' or 'maximize', not {direction!r}")


def best_so_far(frame: pd.DataFrame, direction: str, column: str = "value") -> pd.DataFrame:
    """Completed trials in order with their value and the best value so far.

    Raises:
        ValueError: ``direction`` is not minimize or maximize.
    """
    check_direction(direction)
    done = completed(frame, column)
    values = done[column].to_numpy(dtype=float)
    best = np.minimum.accumulate(values) if direction == "minimize" else np.maximum.accumulate(values)
    return pd.DataFrame({"n": np.arange(1, len(values) + 1), "number": done["number"].to_numpy(),
                         "value": values, "best": best})


def convergence(frame: pd.DataFrame, direction: str, column: str = "value") -> Convergence:
    """Fit the decay and find the convergence point (see the module docstring for the rule)."""
    curve = best_so_far(frame, direction, column)
    n, best = curve["n"].to_numpy(dtype=float), curve["best"].to_numpy()
    total = abs(best[0] - best[-1]) if len(best) else 0.0
    fit = _fit(n, best) if len(best) >= 5 and total > 0 else None
    point_n: float | None
    if fit is not None:
        point_n = 1 + fit["tau"] * math.log(20)
        method = "fit"
    elif total > 0:
        point_n = float(n[np.argmax(np.abs(best - best[0]) >= 0.95 * total)])
        method = "empirical"
    else:  # flat (or empty): nothing improved, so there is no convergence to speak of
        point_n, method = None, "flat"
    reached = point_n is not None and point_n < len(best) and len(best) >= 5
    late = best[max(int(0.8 * len(best)) - 1, 0)] if len(best) else 0.0
    late_share = float(abs(late - best[-1]) / total) if total else 0.0
    point = int(curve["number"].iloc[max(int(math.ceil(point_n)), 1) - 1]) if reached and point_n else None
    return Convergence(curve, fit, point, point_n, bool(reached), method, late_share)


def _fit(n: np.ndarray, best: np.ndarray) -> dict[str, float] | None:
    from scipy.optimize import OptimizeWarning, curve_fit

    def decay(x: np.ndarray, a: float, c: float, tau: float) -> np.ndarray:
        return a + c * np.exp(-(x - 1) / tau)

    idx = np.unique(np.geomspace(1, len(n), 60).astype(int)) - 1
    p0 = (best[-1], best[0] - best[-1], max(len(n) / 5, 1.0))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            (a, c, tau), _ = curve_fit(decay, n[idx], best[idx], p0=p0, maxfev=5000,
                                       bounds=([-np.inf, -np.inf, 1e-3], [np.inf, np.inf, 1e6]))
    except (RuntimeError, ValueError):
        return None
    span = float(np.ptp(best))
    if not (best.min() - span <= a <= best.max() + span) or tau > 10 * len(n):
        return None
    resid = best - decay(n, a, c, tau)
    ss = float(np.sum((best - best.mean()) ** 2))
    return {"a": float(a), "c": float(c), "tau": float(tau), "r2": 1 - float(np.sum(resid**2)) / ss if ss else 1.0}


def convergence_figure(results: dict[str, Convergence], metric: str, direction: str = "minimize") -> go.Figure:
    """Best-so-far curves (one per study) with their fits dashed and convergence points marked; the
    y range leaves out the worst 10% of trials, which would flatten the curves."""
    fig = go.Figure()
    for name, c in results.items():
        cur = c.curve
        if cur.empty:
            fig.add_annotation(text=f"{name}: no completed trial", showarrow=False, xref="paper", yref="paper",
                               x=0.5, y=0.5)
            continue
        dots = thin(cur)
        fig.add_trace(go.Scatter(x=dots["n"], y=dots["value"], mode="markers", legendgroup=name,
                                 name=f"{name}: trials" + (f" ({len(dots):,} of {len(cur):,} drawn)" if len(dots) < len(cur) else ""),
                                 marker=dict(size=4, opacity=0.35)))
        steps = cur[cur["best"].ne(cur["best"].shift()) | (cur.index == cur.index[-1])]  # where the best changes
        fig.add_trace(go.Scatter(x=steps["n"], y=steps["best"], mode="lines", name=f"{name}: best so far",
                                 line=dict(shape="hv", width=2), legendgroup=name))
        if c.fit is not None:
            x = np.linspace(1, max(len(cur), 2), 200)
            y = c.fit["a"] + c.fit["c"] * np.exp(-(x - 1) / c.fit["tau"])
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines", line=dict(dash="dash"), legendgroup=name,
                                     name=f"{name}: fit, tau {c.fit['tau']:.3g}"))
        if c.point_n is not None and c.point_n <= len(cur):
            fig.add_vline(x=c.point_n, line_dash="dot", line_color="#555",
                          annotation_text=f"{name}: 95% at n={c.point_n:.0f}", annotation_position="top right")
    curves = [c.curve for c in results.values() if len(c.curve)]
    if curves:
        minimize = direction == "minimize"
        best = [cur["best"].min() if minimize else cur["best"].max() for cur in curves]
        worst = [cur["value"].quantile(0.9 if minimize else 0.1) for cur in curves]
        lo, hi = (min(best), max(worst)) if minimize else (min(worst), max(best))
        pad = 0.05 * ((hi - lo) or 1)
        fig.update_yaxes(range=[lo - pad, hi + pad])
    fig.update_layout(title="Convergence: best value so far by completed trial",
                      xaxis_title="completed trials", yaxis_title=metric, height=440)
    return fig
