"""Accuracy against the random walk: error ratios per step, Diebold-Mariano, Pesaran-Timmermann.

Overlapping windows. Consecutive test windows share all but one of their target bars, so the
errors of a multi-step forecast averaged over its horizon are autocorrelated up to lag H - 1.
The tests here use one loss per window at one horizon step (``step``, the first by default):
consecutive windows' first-step targets are consecutive bars, so they do not overlap, and the
Diebold-Mariano test runs with ``horizon=1``. Scoring the mean over all H steps instead
(``step=None``) is supported and passes ``horizon=H`` to statsmodels, whose Newey-West variance
then uses at least H - 1 lags and whose Harvey-Leybourne-Newbold factor is for an H-step forecast.
The first step is the default because it is where a short-memory signal lives and because a
test on non-overlapping targets needs no assumption about the correlation of overlapping ones.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.cumsum(rng.standard_normal(500))
    >>> last, target = y[:-1], y[1:, None]
    >>> walk = last[:, None]
    >>> noisy = walk + rng.normal(0, 0.5, walk.shape)  # worse than the random walk
    >>> bool(diebold_mariano(target, noisy, walk).p_value > 0.05)
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.tsa.stattools import diebold_mariano_test

from cryptexlab.errors import ParamsError
from cryptexlab.stats.bootstrap import percentile_interval, replicate

LOSSES = ("mae", "mse")


@dataclass(frozen=True)
class TestResult:
    """A test's statistic and its one-sided p-value for the alternative "the model is better"."""

    name: str
    statistic: float
    p_value: float
    detail: str = ""

    def to_dict(self) -> dict[str, float | str]:
        """``{statistic, p_value, detail}`` (JSON-ready)."""
        return {"statistic": self.statistic, "p_value": self.p_value, "detail": self.detail}


def window_losses(pred: np.ndarray, target: np.ndarray, loss: str = "mae", step: int | None = 1) -> np.ndarray:
    """One loss per window: at horizon step ``step`` (1-based), or the mean over all steps when None.

    Raises:
        ParamsError: an unknown loss, a step outside 1..H, or shapes that differ.
    """
    pred, target = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    if loss not in LOSSES:
        raise ParamsError(f"unknown loss {loss!r} for the tests; use one of {', '.join(LOSSES)}")
    if pred.shape != target.shape or pred.ndim != 2:
        raise ParamsError(f"forecast {pred.shape} and target {target.shape} must both be (windows, steps)")
    if step is not None and not 1 <= step <= target.shape[1]:
        raise ParamsError(f"step={step} is outside the horizon 1..{target.shape[1]}; use a step in it or null")
    err = pred - target if step is None else pred[:, step - 1:step] - target[:, step - 1:step]
    e = np.abs(err) if loss == "mae" else err**2
    return e.mean(axis=1)


def step_ratios(pred: np.ndarray, target: np.ndarray, last: np.ndarray) -> pd.DataFrame:
    """Per horizon step: the model's MAE over the random walk's, and Theil's U (RMSE ratio, U2)."""
    walk = np.repeat(np.asarray(last, dtype=float)[:, None], target.shape[1], axis=1)
    e_model, e_walk = pred - target, walk - target
    mae = np.abs(e_model).mean(axis=0) / np.abs(e_walk).mean(axis=0)
    theil = np.sqrt((e_model**2).mean(axis=0) / (e_walk**2).mean(axis=0))
    return pd.DataFrame({"step": np.arange(1, target.shape[1] + 1), "mae_ratio": mae, "theil_u": theil})


def diebold_mariano(target: np.ndarray, pred: np.ndarray, benchmark: np.ndarray, *, loss: str = "mae",
                    step: int | None = 1) -> TestResult:
    """Diebold-Mariano with the Harvey-Leybourne-Newbold correction (statsmodels), one-sided.

    The loss differential is benchmark loss - model loss per window (:func:`window_losses`), so a
    positive statistic means the model's loss is lower; the p-value is one-sided, from Student's t
    with n - 1 degrees of freedom (the HLN reference distribution). ``horizon`` is 1 at one step
    and H for the mean over all H steps (see the module docstring).
    """
    d_model = window_losses(pred, target, loss, step)
    d_bench = window_losses(benchmark, target, loss, step)
    horizon = 1 if step is not None else target.shape[1]
    # statsmodels scores each forecast with the criterion; given the losses already, it is the identity
    res = diebold_mariano_test(np.zeros_like(d_model), d_bench, d_model, criterion=_given_losses,
                               harvey_adj=True, horizon=horizon)
    stat = float(res.statistic)
    n = len(d_model)
    p = float(sps.t.sf(stat, df=n - 1)) if np.isfinite(stat) else float("nan")
    where = f"step {step}" if step is not None else f"mean over {horizon} steps, horizon {horizon}"
    return TestResult("diebold_mariano", stat, p, f"HLN-corrected, {loss}, {where}, {n} windows")


def _given_losses(y: np.ndarray, losses: np.ndarray) -> np.ndarray:
    return np.asarray(losses, dtype=float)


def pesaran_timmermann(realised: np.ndarray, forecast: np.ndarray) -> TestResult:
    """Pesaran and Timmermann's (1992) test that forecast signs predict realised signs, one-sided.

    With P the share of correct signs, Py and Px the shares of positive realised and forecast
    moves, and n observations:

        P* = Py Px + (1 - Py)(1 - Px)
        V(P) = P*(1 - P*) / n
        V(P*) = (2Py - 1)^2 Px(1 - Px) / n + (2Px - 1)^2 Py(1 - Py) / n + 4 Py Px (1 - Py)(1 - Px) / n^2
        PT = (P - P*) / sqrt(V(P) - V(P*))  ~  N(0, 1) under independence

    Pairs where either move is zero are dropped (no direction). A forecast that always calls the
    same sign has V(P) = V(P*) and no test (NaN): it cannot show directional skill.
    """
    y, x = np.sign(np.asarray(realised, dtype=float)), np.sign(np.asarray(forecast, dtype=float))
    keep = (y != 0) & (x != 0)
    y, x = y[keep] > 0, x[keep] > 0
    n = len(y)
    if n < 2:
        return TestResult("pesaran_timmermann", float("nan"), float("nan"), f"{n} directional pairs")
    p_hat = float((y == x).mean())
    py, px = float(y.mean()), float(x.mean())
    p_star = py * px + (1 - py) * (1 - px)
    v_p = p_star * (1 - p_star) / n
    v_star = ((2 * py - 1) ** 2 * px * (1 - px) / n + (2 * px - 1) ** 2 * py * (1 - py) / n
              + 4 * py * px * (1 - py) * (1 - px) / n**2)
    denom = v_p - v_star
    stat = (p_hat - p_star) / np.sqrt(denom) if denom > 0 else float("nan")
    p = float(sps.norm.sf(stat)) if np.isfinite(stat) else float("nan")
    return TestResult("pesaran_timmermann", float(stat), p, f"{n} directional pairs, hit rate {p_hat:.3f}")


def error_ratio_interval(model_losses: np.ndarray, benchmark_losses: np.ndarray, *, level: float = 0.95,
                         reps: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """The ratio mean(model loss) / mean(benchmark loss) with a stationary-bootstrap interval (arch).

    Both series are resampled with the same blocks (paired), the block length chosen from the
    loss differential. Returns (ratio, low, high).
    """
    a, b = np.asarray(model_losses, dtype=float), np.asarray(benchmark_losses, dtype=float)
    if a.shape != b.shape:
        raise ParamsError(f"model losses {a.shape} and benchmark losses {b.shape} must be the same windows")
    reps_ = replicate(len(a), lambda i: float(a[i].mean() / b[i].mean()), reps=reps, seed=seed, series=b - a)
    lo, hi = percentile_interval(reps_, level)
    return float(a.mean() / b.mean()), lo, hi
