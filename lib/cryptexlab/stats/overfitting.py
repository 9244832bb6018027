"""Backtest overfitting: the Deflated Sharpe Ratio and the Probability of Backtest Overfitting.

No maintained package computes these (FACTS.md: mlfinlab is proprietary; ``purgedcv`` is young),
so they are written here from the papers and checked in the tests against the papers' worked
numbers:

* Bailey and Lopez de Prado, "The Deflated Sharpe Ratio" (2014). The probabilistic Sharpe ratio
  of an observed per-bar Sharpe ratio SR over T bars, against a threshold SR0, with the returns'
  skewness g3 and (non-excess) kurtosis g4, is
  ``PSR = Phi((SR - SR0) sqrt(T - 1) / sqrt(1 - g3 SR + (g4 - 1) / 4 SR^2))``; the DSR is the PSR
  against the Sharpe ratio the best of N independent trials would reach by luck,
  ``SR0 = sqrt(V) ((1 - gamma) Phi^-1(1 - 1/N) + gamma Phi^-1(1 - 1/(N e)))``, V the variance of the
  trials' Sharpe ratios and gamma the Euler-Mascheroni constant. N is the number of trials actually run.
* Bailey, Borwein, Lopez de Prado and Zhu, "The Probability of Backtest Overfitting" (2017),
  combinatorially symmetric cross-validation (CSCV): the T x N matrix of per-bar returns of N
  strategies is cut into S blocks; for each of the C(S, S/2) halves, the best strategy in-sample
  is ranked out-of-sample, omega = rank / (N + 1), lambda = log(omega / (1 - omega)); PBO is the
  share of lambda <= 0 (the in-sample winner lands in the bottom half out of sample).

Example:
    >>> round(expected_max_sharpe(100, 0.5 / 250), 4)
    0.1132
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
from scipy import stats as sps

from cryptexlab.errors import ParamsError

EULER_GAMMA = 0.5772156649015329


def probabilistic_sharpe(sr: float, sr0: float, n_obs: int, skew: float, kurtosis: float) -> float:
    """P(true Sharpe > sr0) given the observed per-bar ``sr`` over ``n_obs`` bars (``kurtosis`` non-excess)."""
    denom = 1 - skew * sr + (kurtosis - 1) / 4 * sr**2
    if n_obs < 2 or denom <= 0:
        return float("nan")
    return float(sps.norm.cdf((sr - sr0) * math.sqrt(n_obs - 1) / math.sqrt(denom)))


def expected_max_sharpe(n_trials: int, variance: float) -> float:
    """The expected maximum per-bar Sharpe ratio of ``n_trials`` skill-less trials whose Sharpe ratios
    have ``variance`` (0 for one trial)."""
    if n_trials < 1:
        raise ParamsError(f"n_trials={n_trials} must be at least 1 (the trials the search actually ran)")
    if n_trials == 1 or variance <= 0:
        return 0.0
    z1 = sps.norm.ppf(1 - 1 / n_trials)
    z2 = sps.norm.ppf(1 - 1 / (n_trials * math.e))
    return float(math.sqrt(variance) * ((1 - EULER_GAMMA) * z1 + EULER_GAMMA * z2))


def deflated_sharpe(returns: np.ndarray, n_trials: int, sr_variance: float) -> dict[str, float]:
    """The Deflated Sharpe Ratio of one strategy's per-bar returns, after ``n_trials`` trials.

    Returns ``sr`` (per bar), ``sr0`` (the luck threshold), ``dsr`` (a probability; above 0.95
    rejects "no skill" at 5%), ``skew``, ``kurtosis`` (non-excess) and ``n_obs``.
    """
    r = np.asarray(returns, dtype=float)
    sd = r.std(ddof=1) if len(r) > 1 else 0.0
    sr = float(r.mean() / sd) if sd > 0 else 0.0
    skew = float(sps.skew(r)) if sd > 0 else 0.0
    kurt = float(sps.kurtosis(r, fisher=False)) if sd > 0 else 3.0
    sr0 = expected_max_sharpe(n_trials, sr_variance)
    return {"sr": sr, "sr0": sr0, "dsr": probabilistic_sharpe(sr, sr0, len(r), skew, kurt),
            "skew": skew, "kurtosis": kurt, "n_obs": float(len(r)), "n_trials": float(n_trials)}


def pbo_cscv(returns: pd.DataFrame | np.ndarray, n_blocks: int = 16) -> dict[str, float | np.ndarray]:
    """The Probability of Backtest Overfitting by CSCV over a (T, N) matrix of per-bar strategy returns.

    Performance is the (per-bar) Sharpe ratio of each half. Returns ``pbo``, the ``logits`` of every
    combination and ``n_combinations``.

    Raises:
        ParamsError: an odd or too small ``n_blocks``, fewer than two strategies, or fewer bars than blocks.
    """
    m = np.asarray(returns, dtype=float)
    if n_blocks < 2 or n_blocks % 2:
        raise ParamsError(f"n_blocks={n_blocks} must be an even number >= 2 (CSCV splits the blocks in halves)")
    if m.ndim != 2 or m.shape[1] < 2:
        raise ParamsError(f"PBO needs at least two strategies (columns), got shape {m.shape}")
    if m.shape[0] < n_blocks * 2:
        raise ParamsError(f"{m.shape[0]} bars are too few for {n_blocks} blocks; use fewer blocks")
    blocks = np.array_split(np.arange(m.shape[0]), n_blocks)
    n = m.shape[1]
    logits = []
    for chosen in itertools.combinations(range(n_blocks), n_blocks // 2):
        inside = np.concatenate([blocks[b] for b in chosen])
        outside = np.concatenate([blocks[b] for b in range(n_blocks) if b not in chosen])
        best = int(np.argmax(_sharpe(m[inside])))
        oos = _sharpe(m[outside])
        rank = float(sps.rankdata(oos)[best])  # 1 = worst, n = best
        omega = rank / (n + 1)
        logits.append(math.log(omega / (1 - omega)))
    lam = np.array(logits)
    return {"pbo": float((lam <= 0).mean()), "logits": lam, "n_combinations": float(len(lam))}


def _sharpe(m: np.ndarray) -> np.ndarray:
    sd = m.std(axis=0, ddof=1)
    return np.where(sd > 0, m.mean(axis=0) / np.where(sd > 0, sd, 1.0), 0.0)
