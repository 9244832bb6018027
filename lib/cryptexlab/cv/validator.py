"""Cross-validation of one configuration: one model per fold, in time order, scored per regime.

The development period (every row before the test period) is cut into folds by a splitter of
:mod:`cryptexlab.cv` (:mod:`cryptexlab.cv.folds` builds each fold's windows, with a scaler fit
on the fold's training rows only). For each fold in turn, :func:`cryptexlab.training.run_experiment`
trains a fresh model on the fold's training windows and scores it on the fold's test block
(early stopping, the evaluation budget and the random walk exactly as in a holdout trial), and
a ``report(fold, result)`` hook sees the folds so far, so that a search can stop a poor
configuration after its early folds (:mod:`cryptexlab.search.cv_objective`).

Each fold's score is the objective's metric on the fold's scored windows. Its interval comes
from the stationary bootstrap of those windows (:mod:`cryptexlab.stats.bootstrap`); the interval of the
mean over folds resamples every fold on its own and averages replication by replication.
Every scored window is also labelled with its market regime (the HMM fit on the fold's training
rows, the filtered label of the window's last input bar), and the metric is reported per regime,
per fold and pooled, beside the random walk's on the same windows: a configuration that wins in
one regime only shows it.

Example:
    >>> from cryptexlab.params import CVConfig, DataConfig, ModelConfig, TrainConfig
    >>> cv = CrossValidator(DataConfig(), CVConfig(n_splits=3))  # doctest: +SKIP
    >>> result = cv.run(ModelConfig(kind="dlinear"), TrainConfig(epochs=1))  # doctest: +SKIP
    >>> len(result.folds), result.mean < result.random_walk_mean  # doctest: +SKIP
    (3, True)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from cryptexlab.cv.folds import Development, development, fold_regimes, fold_windows, make_splitter
from cryptexlab.data.source import load_features
from cryptexlab.data.windows import Windows
from cryptexlab.errors import DataError, ParamsError
from cryptexlab.metrics import metric
from cryptexlab.params import CVConfig, DataConfig, ModelConfig, TrainConfig
from cryptexlab.stats.bootstrap import percentile_interval, replicate
from cryptexlab.training import ExperimentResult, Runner, run_experiment, validation_budget

#: Objectives a cross-validation can score (one per fold); training time is not a forecast score.
CV_OBJECTIVES = ("val_mae", "val_mse", "val_mape", "val_directional_accuracy", "val_sharpe")


@dataclass
class FoldResult:
    """One fold's score, interval, random walk and regimes, and what it cost."""

    fold: int
    score: float
    random_walk: float
    val: dict[str, float]  # every metric of the model on the fold's scored windows
    val_random_walk: dict[str, float]
    interval: tuple[float, float]
    regimes: list[dict[str, Any]]
    train_windows: int
    test_windows: int
    scored_windows: int
    test_first: str
    test_last: str
    seconds: float
    stop_reason: str
    best_epoch: int
    windows_trained: int
    device: str
    replications: np.ndarray = field(repr=False)
    scored: dict[str, np.ndarray] = field(repr=False)  # pred, target, last, regime of the scored windows

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (a trial's ``cv_folds`` entry), without the arrays."""
        return {k: v for k, v in vars(self).items() if k not in ("replications", "scored")}


@dataclass
class CVResult:
    """The folds done so far (all of them unless a search stopped the configuration)."""

    metric: str
    planned: int
    level: float
    returns: bool = False  # a log-return target (the random walk forecasts a zero return)
    reps: int = 1000  # bootstrap replications of the intervals
    folds: list[FoldResult] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every planned fold was trained."""
        return len(self.folds) == self.planned

    @property
    def scores(self) -> list[float]:
        """The fold scores in fold order."""
        return [f.score for f in self.folds]

    @property
    def mean(self) -> float:
        """Mean fold score (the search's objective value)."""
        return float(np.mean(self.scores))

    @property
    def std(self) -> float:
        """Standard deviation of the fold scores (ddof 1; 0 for one fold)."""
        return float(np.std(self.scores, ddof=1)) if len(self.folds) > 1 else 0.0

    @property
    def random_walk_mean(self) -> float:
        """Mean fold score of the random walk on the same windows."""
        return float(np.mean([f.random_walk for f in self.folds]))

    @property
    def interval(self) -> tuple[float, float]:
        """Bootstrap interval of the mean: each fold resampled on its own, averaged per replication."""
        return percentile_interval(np.mean([f.replications for f in self.folds], axis=0), self.level)

    def mean_metrics(self, walk: bool = False) -> dict[str, float]:
        """Every metric averaged over the folds (the model's, or the random walk's with ``walk``)."""
        rows = [f.val_random_walk if walk else f.val for f in self.folds]
        return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}

    def regimes(self) -> list[dict[str, Any]]:
        """The metric per regime over every fold's scored windows, beside the random walk's."""
        pooled = {k: np.concatenate([f.scored[k] for f in self.folds]) for k in ("pred", "target", "last", "regime")}
        return _regime_scores(pooled, self.metric, self.returns, self.reps, self.level)

    def summary(self) -> dict[str, Any]:
        """JSON-ready: per-fold results, mean, std, interval, per-regime scores."""
        return {"metric": self.metric, "planned": self.planned, "done": len(self.folds), "mean": self.mean,
                "std": self.std, "interval": list(self.interval), "level": self.level,
                "random_walk_mean": self.random_walk_mean, "regimes": self.regimes(),
                "folds": [f.to_dict() for f in self.folds]}


class CrossValidator:
    """The folds of one data specification, built once and reused for every configuration.

    Args:
        data: The data section (the folds are cut from its development period).
        cv: The splitter and the interval settings.
        objective: What a fold scores (one of :data:`CV_OBJECTIVES`).
        frame: The feature frame, when the caller has it already (else loaded from ``data``).

    Raises:
        ParamsError: an objective that is not a forecast score, or a splitter that does not fit
            the data (too many folds, a leaky purge), before anything is trained.
    """

    def __init__(self, data: DataConfig, cv: CVConfig, *, objective: str = "val_mae",
                 frame: pd.DataFrame | None = None) -> None:
        if objective not in CV_OBJECTIVES:
            raise ParamsError(f"cross-validation scores a forecast per fold; objective {objective!r} is not one of "
                              f"{', '.join(CV_OBJECTIVES)}")
        if frame is None:
            frame = load_features(data)[1].frame
        self.data, self.cv, self.metric = data, cv, objective.removeprefix("val_")
        self.dev: Development = development(frame, data)
        self.splitter = make_splitter(cv, self.dev)
        self.splits = list(self.splitter.split(range(self.dev.n_windows)))
        self._windows: dict[int, Windows] = {}
        self._regimes: dict[int, np.ndarray] = {}
        self.regime_notes: dict[int, str] = {}
        for k in range(len(self.splits)):  # refuse an empty fold now, not after training the others
            self.windows(k)

    @property
    def n_folds(self) -> int:
        """Models trained per configuration."""
        return len(self.splits)

    def windows(self, k: int) -> Windows:
        """Fold k's windows, scaled on its training rows (cached)."""
        if k not in self._windows:
            self._windows[k] = fold_windows(self.dev, *self.splits[k])
        return self._windows[k]

    def regimes(self, k: int) -> np.ndarray:
        """Regime label of every development row, from fold k's HMM (cached; NaN in warm-up).

        A fold whose training part is too short or too flat for the HMM gets no labels (all NaN, so
        no per-regime scores); why is kept in :attr:`regime_notes`. Its score is unaffected.
        """
        if k not in self._regimes:
            try:
                labels = fold_regimes(self.dev, self.splits[k][0], self.cv.n_regimes).to_numpy()
            except DataError as exc:
                labels = np.full(len(self.dev.frame), np.nan)
                self.regime_notes[k] = str(exc)
            self._regimes[k] = labels
        return self._regimes[k]

    def run(self, model: ModelConfig, train: TrainConfig, *, report: Callable[[int, CVResult], None] | None = None,
            runner: Runner = run_experiment) -> CVResult:
        """Train and score one model per fold, in fold order; ``report(k, result)`` after fold k may raise to stop."""
        result = CVResult(self.metric, self.n_folds, self.cv.ci_level, returns=self.dev.target == "log_return",
                          reps=self.cv.bootstrap_reps)
        for k in range(self.n_folds):
            windows = self.windows(k)
            run = runner(self.data, model, train, windows=windows, evaluate_test=False)
            result.folds.append(self._score(k, run, windows, train))
            if report is not None:
                report(k, result)
        return result

    def _score(self, k: int, run: ExperimentResult, windows: Windows, train: TrainConfig) -> FoldResult:
        if run.val_predictions is None:
            raise ParamsError("the runner returned no validation predictions (ExperimentResult.val_predictions); "
                              "cross-validation needs them to score folds and regimes")
        pred, target, last = run.val_predictions
        starts = windows.val.starts[validation_budget(windows, train).positions]
        regime = self.regimes(k)[starts + self.dev.seq_len - 1]
        returns = windows.target == "log_return"
        score = run.val[self.metric]
        errors = np.abs(pred - target).mean(axis=1)
        reps = replicate(len(pred), lambda i: metric(self.metric, pred[i], target[i], last[i], returns=returns),
                         reps=self.cv.bootstrap_reps, seed=k, series=errors)
        scored = {"pred": pred, "target": target, "last": last, "regime": regime}
        index = self.dev.frame.index
        return FoldResult(
            fold=k, score=float(score), random_walk=float(run.val_random_walk[self.metric]),
            val=dict(run.val), val_random_walk=dict(run.val_random_walk),
            interval=percentile_interval(reps, self.cv.ci_level), regimes=_regime_scores(scored, self.metric, returns, self.cv.bootstrap_reps, self.cv.ci_level),
            train_windows=windows.train.n_windows, test_windows=windows.val.n_windows, scored_windows=len(pred),
            test_first=str(index[int(windows.val.starts[0])]),
            test_last=str(index[int(windows.val.starts[-1]) + self.dev.span - 1]),
            seconds=run.seconds, stop_reason=run.stop_reason, best_epoch=run.best_epoch,
            windows_trained=run.windows_trained, device=run.device, replications=reps, scored=scored)


#: Validators built in this process, newest last (at most :data:`KEPT` of them).
_VALIDATORS: dict[str, CrossValidator] = {}
KEPT = 4


def cross_validator(data: DataConfig, cv: CVConfig, objective: str = "val_mae") -> CrossValidator:
    """The :class:`CrossValidator` of these settings, built once per process and shared: a search's
    trials and the notebook that reads the study use the same folds without loading the features again."""
    source = os.stat(data.path) if data.path and os.path.isfile(data.path) else None  # a rewritten file: new folds
    version = (source.st_mtime_ns, source.st_size) if source else None
    key = json.dumps([data.model_dump(mode="json"), cv.model_dump(mode="json"), objective, version], sort_keys=True)
    if key not in _VALIDATORS:
        if len(_VALIDATORS) >= KEPT:
            _VALIDATORS.pop(next(iter(_VALIDATORS)))
        _VALIDATORS[key] = CrossValidator(data, cv, objective=objective)
    return _VALIDATORS[key]


def _regime_scores(scored: dict[str, np.ndarray], name: str, returns: bool, reps: int, level: float
                   ) -> list[dict[str, Any]]:
    """Per regime label: windows, the model's metric, the random walk's, their ratio, and bootstrap
    intervals of the score and of the ratio (both resampled together, the windows kept in time order;
    NaN-labelled windows skipped)."""
    out = []
    labels = scored["regime"]
    for r in sorted({int(v) for v in labels[~np.isnan(labels)]}):
        m = labels == r
        pred, target, last = scored["pred"][m], scored["target"][m], scored["last"][m]
        walk = np.repeat(last[:, None], target.shape[1], axis=1)
        model_score = metric(name, pred, target, last, returns=returns)
        walk_score = metric(name, walk, target, last, returns=returns)
        both = replicate(len(pred), partial(_pair, name, pred, walk, target, last, returns), reps=reps, seed=r,
                         series=np.abs(pred - target).mean(axis=1), width=2)
        out.append({"regime": r, "windows": int(m.sum()), "score": model_score, "random_walk": walk_score,
                    "ratio": model_score / walk_score if walk_score and math.isfinite(walk_score) else math.nan,
                    "interval": percentile_interval(both[:, 0], level),
                    "ratio_interval": percentile_interval(both[:, 0] / both[:, 1], level)})
    return out


def _pair(name: str, pred: np.ndarray, walk: np.ndarray, target: np.ndarray, last: np.ndarray, returns: bool,
          i: np.ndarray) -> np.ndarray:
    """(model, random walk) metric on the windows at positions ``i``."""
    return np.array([metric(name, pred[i], target[i], last[i], returns=returns),
                     metric(name, walk[i], target[i], last[i], returns=returns)])
