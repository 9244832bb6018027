"""A stand-in for run_experiment in search tests: instant, deterministic, reports every epoch.

Its validation MAE is a smooth function of the sampled configuration (lower learning-rate error
and mid-size d_model are better), so samplers have something to find; ``SLEEP`` seconds per
epoch let a test kill a worker mid-trial.
"""

from __future__ import annotations

import math
import os
import time

from cryptexlab.training import ExperimentResult

SLEEP = float(os.environ.get("FAKE_RUNNER_SLEEP", "0"))


def score(model, train) -> float:
    return (abs(math.log10(train.learning_rate) + 3) + abs(model.d_model - 16) / 16 + model.dropout
            + 0.01 * model.patch_len)


def fake_runner(data, model, train, *, windows=None, report=None, evaluate_test=True) -> ExperimentResult:
    base = score(model, train)
    curve = []
    for epoch in range(1, train.epochs + 1):
        time.sleep(SLEEP)
        value = base + 1.0 / epoch
        curve.append({"epoch": epoch, "train_loss": value, "val_loss": value, "lr": train.learning_rate, "seconds": 0.0})
        if report is not None:
            report(epoch, value)
    metrics = {"mae": base, "mse": base**2, "mape": base, "directional_accuracy": 0.5, "sharpe": 1.0 - base}
    walk = {"mae": 1.0, "mse": 1.0, "mape": 1.0, "directional_accuracy": float("nan"), "sharpe": float("nan")}
    return ExperimentResult(val=metrics, test={}, val_random_walk=walk, test_random_walk={}, curve=curve,
                            seconds=0.01 * model.d_model)


def fake_cv_runner(data, model, train, *, windows, report=None, evaluate_test=False) -> ExperimentResult:
    """For cross-validated searches: forecasts = targets + a bias that grows with the configuration's
    score and with the fold's position in time, so fold k's MAE is exactly that bias."""
    import numpy as np

    from cryptexlab.metrics import forecast_metrics
    from cryptexlab.training import validation_budget

    positions = validation_budget(windows, train).positions
    k = windows.target_position
    xs, ys = zip(*(windows.val[int(i)] for i in positions), strict=True)
    target = windows.inverse_target(np.stack([y.numpy() for y in ys]))
    last = windows.inverse_target(np.stack([x.numpy()[-1, k] for x in xs]))
    bias = fold_bias(model, train, int(windows.val.starts[0]))
    pred = target + bias
    walk = np.repeat(last[:, None], target.shape[1], axis=1)
    if report is not None:
        report(1, bias)
    return ExperimentResult(val=forecast_metrics(pred, target, last), test={},
                            val_random_walk=forecast_metrics(walk, target, last), test_random_walk={},
                            windows_trained=10, val_predictions=(pred, target, last))


def fold_bias(model, train, first_test_row: int) -> float:
    return score(model, train) * (1 + first_test_row / 1000)
