"""Ensemble weights (the design's "ensemble weight optimization"), fit on validation only.

Given validation forecasts of several models, find non-negative weights that sum to one and
minimise a validation loss (scipy's SLSQP on the simplex); then report the ensemble's test error
separately, so the weights never see the test period.

Example:
    >>> import numpy as np
    >>> y = np.linspace(0, 1, 50)[:, None]
    >>> fit = fit_weights({"a": y + 0.1, "b": y - 0.1}, y)
    >>> np.round(fit.weights, 3).tolist()
    [0.5, 0.5]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from cryptexlab.errors import ParamsError

LOSSES = {"mse": lambda e: float(np.mean(e**2)), "mae": lambda e: float(np.mean(np.abs(e)))}


@dataclass(frozen=True)
class EnsembleFit:
    """Weights per model (in the order of ``names``) and the validation loss they reach."""

    names: list[str]
    weights: np.ndarray
    loss: str
    val_error: float

    def combine(self, forecasts: dict[str, np.ndarray]) -> np.ndarray:
        """The weighted forecast of the same models on other windows."""
        _check(forecasts, self.names)
        return sum(w * np.asarray(forecasts[n], dtype=float) for n, w in zip(self.names, self.weights, strict=True))

    def error(self, forecasts: dict[str, np.ndarray], target: np.ndarray) -> float:
        """The ensemble's loss on other windows (the test period, once)."""
        return LOSSES[self.loss](self.combine(forecasts) - np.asarray(target, dtype=float))


def fit_weights(forecasts: dict[str, np.ndarray], target: np.ndarray, loss: str = "mse") -> EnsembleFit:
    """Non-negative weights summing to one that minimise ``loss`` on the validation forecasts.

    Raises:
        ParamsError: unknown loss, fewer than two models, or shapes that differ from the target.
    """
    if loss not in LOSSES:
        raise ParamsError(f"unknown ensemble loss {loss!r}; use one of {', '.join(LOSSES)}")
    names = list(forecasts)
    if len(names) < 2:
        raise ParamsError(f"an ensemble needs at least two models, got {names}")
    target = np.asarray(target, dtype=float)
    _check(forecasts, names, target.shape)
    stack = np.stack([np.asarray(forecasts[n], dtype=float) for n in names])
    score = LOSSES[loss]

    def objective(w: np.ndarray) -> float:
        return score(np.tensordot(w, stack, axes=1) - target)

    k = len(names)
    res = minimize(objective, np.full(k, 1 / k), method="SLSQP", bounds=[(0.0, 1.0)] * k,
                   constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0}], options={"ftol": 1e-12, "maxiter": 500})
    weights = np.clip(res.x, 0, None)
    weights = weights / weights.sum()
    return EnsembleFit(names, weights, loss, objective(weights))


def _check(forecasts: dict[str, np.ndarray], names: list[str], shape: tuple[int, ...] | None = None) -> None:
    missing = [n for n in names if n not in forecasts]
    if missing:
        raise ParamsError(f"forecasts of {missing} are missing; the ensemble was fit on {names}")
    shapes = {n: np.shape(forecasts[n]) for n in names}
    want = shape or next(iter(shapes.values()))
    bad = {n: s for n, s in shapes.items() if s != want}
    if bad:
        raise ParamsError(f"forecast shapes {bad} differ from {want}; every model must forecast the same windows")
