"""Corrections for having tried many configurations: SPA, Reality Check, StepM, Model Confidence Set.

A search that tries N configurations and reports the best one's test score overstates it; the
question "does any of them beat the random walk?" is a joint test over all N (Hansen's Superior
Predictive Ability test, and White's Reality Check, its non-studentised predecessor), and "which
do?" is Romano and Wolf's StepM, which controls the family-wise error rate. The Model Confidence
Set (Hansen, Lunde and Nason) is the set of models, the random walk among them, that cannot be
told apart from the best at the given size. All four are ``arch.bootstrap``'s, with the stationary
bootstrap; the losses are one per test window (:func:`cryptexlab.stats.accuracy.window_losses`).

Example:
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> bench = rng.standard_normal(500) ** 2
    >>> models = pd.DataFrame({"a": bench * 0.5, "b": bench + rng.standard_normal(500) ** 2})
    >>> multiple_tests(bench, models, reps=200).superior
    ['a']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from arch.bootstrap import MCS, SPA, StepM

from cryptexlab.errors import ParamsError
from cryptexlab.stats.accuracy import TestResult
from cryptexlab.stats.bootstrap import block_length


@dataclass(frozen=True)
class MultipleTests:
    """SPA and Reality Check p-values, StepM's superior models, and what the bootstrap used."""

    spa: TestResult
    reality_check: TestResult
    superior: list[str]
    n_models: int
    block_size: int
    reps: int
    alpha: float
    spa_pvalues: dict[str, float] = field(default_factory=dict)


def _block(reference: np.ndarray, models: pd.DataFrame, block_size: int | None) -> int:
    """The given block length, else the stationary bootstrap's for reference minus the models' mean loss."""
    if block_size is not None:
        return block_size
    return max(1, math.ceil(block_length(reference - models.to_numpy().mean(axis=1))))


def multiple_tests(benchmark: np.ndarray, models: pd.DataFrame, *, alpha: float = 0.05, reps: int = 1000,
                   block_size: int | None = None, seed: int = 0) -> MultipleTests:
    """SPA (studentised, consistent p-value), Reality Check (not studentised, upper p-value) and StepM.

    Args:
        benchmark: the random walk's loss per window, (T,).
        models: one column of losses per model, (T, N), the same windows.
        block_size: the stationary bootstrap's mean block length; None chooses it from the mean
            loss differential (Politis and White, via arch).

    Raises:
        ParamsError: no models, or lengths that differ.
    """
    bench = np.asarray(benchmark, dtype=float)
    if models.shape[1] == 0 or len(models) != len(bench):
        raise ParamsError(f"need at least one model with {len(bench)} losses, got a {models.shape} table; "
                          "every model must be scored on the benchmark's windows")
    models = models.astype(float)
    n_all = models.shape[1]
    # a model whose losses equal the benchmark's (an untrained persistence-anchored model is the random walk)
    # cannot be superior, and its zero-variance differential would divide by zero in the studentisation
    same = [c for c in models.columns if np.ptp(bench - models[c].to_numpy()) == 0 and (bench - models[c]).mean() <= 0]
    models = models.drop(columns=same)
    if models.shape[1] == 0:
        none = TestResult("spa", 0.0, 1.0, f"all {n_all} models equal the benchmark")
        return MultipleTests(none, TestResult("reality_check", 0.0, 1.0, none.detail), [], n_all, 1, reps, alpha)
    block = _block(bench, models, block_size)
    spa = SPA(bench, models, block_size=block, reps=reps, bootstrap="stationary", studentize=True,
              seed=np.random.default_rng(seed))
    spa.compute()
    rc = SPA(bench, models, block_size=block, reps=reps, bootstrap="stationary", studentize=False,
             seed=np.random.default_rng(seed))
    rc.compute()
    step = StepM(bench, models, size=alpha, block_size=block, reps=reps, bootstrap="stationary",
                 studentize=True, seed=np.random.default_rng(seed))
    try:
        step.compute()
        superior = [str(c) for c in (step.superior_models or [])]
    except ValueError as err:  # arch 8.0's StepM takes the max over an empty set once every model is rejected
        if "zero-size array" not in str(err):
            raise
        superior = [str(c) for c in models.columns]
    diff = bench[:, None] - models.to_numpy()  # positive = the model's loss is lower
    n = len(bench)
    t_stats = np.sqrt(n) * diff.mean(axis=0) / np.maximum(diff.std(axis=0), 1e-300)
    spa_stat = float(max(0.0, t_stats.max()))
    rc_stat = float(max(0.0, np.sqrt(n) * diff.mean(axis=0).max()))
    pvals = {str(k): float(v) for k, v in spa.pvalues.items()}
    return MultipleTests(
        TestResult("spa", spa_stat, pvals["consistent"], f"Hansen's SPA, {n_all} models, block {block}"),
        TestResult("reality_check", rc_stat, float(rc.pvalues["upper"]),
                   f"White's Reality Check, {n_all} models, block {block}"),
        superior, n_all, block, reps, alpha, pvals)


def model_confidence_set(losses: pd.DataFrame, *, alpha: float = 0.05, reps: int = 1000,
                         block_size: int | None = None, seed: int = 0) -> pd.DataFrame:
    """The Model Confidence Set (arch's MCS, range statistic) of the models in ``losses``.

    Returns one row per model with its MCS p-value and whether it is in the set at ``alpha``. Models
    with identical losses (e.g. a model that is the random walk) are one model to the MCS and share
    its row values.
    """
    if losses.shape[1] < 2:
        raise ParamsError(f"the model confidence set needs at least two models, got {list(losses.columns)}")
    losses = losses.astype(float)
    keys = {c: losses[c].to_numpy().tobytes() for c in losses.columns}
    first: dict[bytes, str] = {}
    for c, k in keys.items():
        first.setdefault(k, c)
    unique = losses[list(dict.fromkeys(first.values()))]
    if unique.shape[1] < 2:
        return pd.DataFrame({"model": [str(c) for c in losses.columns], "mcs_p_value": 1.0, "in_set": True})
    rows = _mcs(unique, alpha, reps, block_size, seed).set_index("model")
    return pd.DataFrame({"model": [str(c) for c in losses.columns],
                         "mcs_p_value": [rows.loc[str(first[keys[c]]), "mcs_p_value"] for c in losses.columns],
                         "in_set": [bool(rows.loc[str(first[keys[c]]), "in_set"]) for c in losses.columns]})


def _mcs(losses: pd.DataFrame, alpha: float, reps: int, block_size: int | None, seed: int) -> pd.DataFrame:
    block = _block(losses.to_numpy()[:, 0], losses, block_size)
    mcs = MCS(losses, size=alpha, reps=reps, block_size=block, method="R", bootstrap="stationary",
              seed=np.random.default_rng(seed))
    mcs.compute()
    p = mcs.pvalues.iloc[:, 0]
    included = set(map(str, mcs.included))
    return pd.DataFrame({"model": [str(i) for i in p.index], "mcs_p_value": p.to_numpy(dtype=float),
                         "in_set": [str(i) in included for i in p.index]})
