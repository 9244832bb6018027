"""The experiment runner: train and evaluate one configuration, beside the random walk.

Which columns a model sees: Time-LLM and the baselines see only the target channel (they are
channel-independent: another channel cannot change the target's forecast, so feeding them would
only cost time); Time-LLM with ``model.covariates: true`` sees the target first and then every
other column of the window (:func:`model_input`); ``lightgbm`` and ``ridge`` are fitted on tables
of the same windows (:mod:`cryptexlab.models.tabular`, no epochs: every training window, boosting
rounds chosen by early stopping on the validation budget) and scored exactly like the others.

With ``data.windows.mode: channel_independent`` each sample already holds one feature's window
(:mod:`cryptexlab.data.windows`): training then learns from every feature's windows, each
forecast from its own past, and ``max_train_windows`` counts such samples. Validation and test
score only the target's own samples (one per window, the same windows as in multivariate mode),
because the metrics are in the target's units and are compared with the random walk on the
target; another feature's forecast, un-scaled with the target's statistics, would mean nothing.
The trading losses (SHARPE_LOSS, TRADING_LOSS) price positions on the target in time order, so
they refuse that mode.

Training samples ``max_train_windows`` random training windows per epoch (seeded; for the
trading losses, whose turnover term needs time order, a random run of consecutive windows in
order). After each epoch it scores the validation windows of the evaluation budget
(:mod:`cryptexlab.training.budget`: at most ``max_eval_windows`` windows spread evenly over the
period, by default eight per training window of an epoch, which costs about what the epoch's
training does), stops early on validation loss with patience, keeps the best weights, and
reports validation metrics on the same budgeted windows (``ExperimentResult.val_windows`` says
which). The test period, evaluated once at the end, is never budgeted: every window counts.
Inference runs in batches of ``eval_batch_size``, independent of the training batch. Metrics are
computed in price units (the inverse of the training-period scaler); the random walk is scored
on exactly the same windows.

Failures do not raise: a NaN or infinite loss, or the wall-clock timeout, stops the run with
``stop_reason`` set ("nan_loss", "timeout"); the weights of the best epoch so far are kept.
A per-epoch hook ``report(epoch, val_loss)`` lets a search prune (it may raise to stop).

Example:
    >>> from cryptexlab.params import TABULAR_KINDS, TIMELLM_KINDS, TIMELLM_VARIANTS, DataConfig, ModelConfig, TrainConfig
    >>> result = run_experiment(DataConfig(), ModelConfig(kind="dlinear"), TrainConfig(epochs=1))  # doctest: +SKIP
    >>> result.test["mae"] < result.test_random_walk["mae"]  # doctest: +SKIP
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from cryptexlab.data.prepare import load_windows
from cryptexlab.data.windows import Windows
from cryptexlab.errors import ParamsError
from cryptexlab.losses import build_loss
from cryptexlab.metrics import bars_per_year, forecast_metrics
from cryptexlab.models import tabular
from cryptexlab.models.build import build_model, return_zero
from cryptexlab.params import TABULAR_KINDS, DataConfig, ModelConfig, TrainConfig
from cryptexlab.training.budget import validation_budget
from cryptexlab.training.device import batch_size_for, peak_memory_mib, pick_device
from cryptexlab.training.loop import batch_of, fit, predict
from cryptexlab.training.result import ExperimentResult, Report


def run_experiment(data: DataConfig, model: ModelConfig, train: TrainConfig, *,
                   windows: Windows | None = None, report: Report | None = None,
                   evaluate_test: bool = True, select_best: bool = True) -> ExperimentResult:
    """Train one configuration and evaluate it (and the random walk) on validation and test.

    A search passes ``evaluate_test=False``: the test period stays untouched until the verdict.
    ``select_best=False`` trains all ``train.epochs`` and keeps the last weights, without early
    stopping: the verdict's retraining on train + validation (:func:`cryptexlab.data.windows.refit_windows`),
    whose validation windows are inside its training data and so cannot choose anything.
    """
    torch.manual_seed(train.seed)
    np.random.seed(train.seed)
    start = time.perf_counter()
    if windows is None:
        windows = load_windows(data)
    if model.kind in TABULAR_KINDS:
        return _run_tabular(windows, model, train, report, evaluate_test, select_best, start)
    device = pick_device(train.device)
    w = data.windows
    train = train.model_copy(update={"batch_size": batch_size_for(train, model, w.seq_len, w.pred_len,
                                                                  len(windows.train), str(device))})
    quantiles = tuple(train.loss_params.get("quantiles", (0.1, 0.5, 0.9))) if train.loss == "QUANTILE" else ()
    net = build_model(model, windows, n_outputs=max(1, len(quantiles))).to(device)
    loss_fn = build_loss(train.loss, **train.loss_params)
    if getattr(loss_fn, "needs_prices", False) and windows.train.mode == "channel_independent":
        raise ParamsError(f"loss {train.loss} trades the target's prices in time order, but data.windows.mode="
                          "channel_independent trains on every feature's windows; use mode multivariate")
    trainable = [p for p in net.parameters() if p.requires_grad]
    budget = validation_budget(windows, train)
    val_set = budget.subset(windows.val.target_samples())  # one sample per kept window, the target's
    result = ExperimentResult({}, {}, {}, {}, device=str(device), batch_size=batch_of(train),
                              trainable_params=sum(p.numel() for p in trainable),
                              frozen_params=_frozen_count(net), val_windows=budget.describe())
    if trainable:
        fit(net, windows, val_set, train, loss_fn, device, result, report, start, select_best)
    result.val_predictions = predict(net, windows, val_set, device, quantiles, train.eval_batch_size)
    result.val, result.val_random_walk = _scores(windows, *result.val_predictions)
    result.windows_evaluated += len(val_set)
    if evaluate_test:
        test_set = windows.test.target_samples()
        result.test_predictions = predict(net, windows, test_set, device, quantiles, train.eval_batch_size)
        result.test, result.test_random_walk = _scores(windows, *result.test_predictions)
        result.windows_evaluated += len(test_set)
    result.seconds = time.perf_counter() - start
    result.peak_memory_mib = peak_memory_mib(device)
    return result


def _run_tabular(windows: Windows, model: ModelConfig, train: TrainConfig, report: Report | None,
                 evaluate_test: bool, select_best: bool, start: float) -> ExperimentResult:
    """Fit a tabular model on every training window and score it like the torch models."""
    budget = validation_budget(windows, train)
    val_set = budget.subset(windows.val.target_samples())
    level, lags = return_zero(windows), model.tabular.lags
    fit, val = (tabular.make_table(windows, s, lags, level) for s in (windows.train, val_set))
    forecaster = tabular.fit_tabular(model, train, fit, val if select_best else None)
    result = ExperimentResult({}, {}, {}, {}, val_windows=budget.describe(), fitted=forecaster,
                              windows_trained=len(fit.y), best_epoch=forecaster.rounds)
    loss_fn = build_loss(train.loss, **train.loss_params)

    def scored(table: tabular.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pred = torch.from_numpy(tabular.forecast(forecaster, table))
        target = torch.from_numpy(table.anchor[:, None] + table.y)
        last = np.zeros(len(table.y)) if windows.target == "log_return" else windows.inverse_target(table.anchor)
        return windows.inverse_target(pred), windows.inverse_target(target), last

    def table_loss(table: tabular.Table) -> float:  # in scaled units, as the torch models' losses
        return float(loss_fn(torch.from_numpy(tabular.forecast(forecaster, table)), torch.from_numpy(table.anchor[:, None] + table.y)))

    train_loss, val_loss = table_loss(fit), table_loss(val)
    result.val_predictions = scored(val)
    result.curve.append({"epoch": 1, "train_loss": train_loss, "val_loss": val_loss, "lr": model.tabular.learning_rate,
                         "seconds": time.perf_counter() - start})
    result.val, result.val_random_walk = _scores(windows, *result.val_predictions)
    result.windows_evaluated = len(val.y)
    if report is not None:
        report(1, val_loss)
    if evaluate_test:
        result.test_predictions = scored(tabular.make_table(windows, windows.test.target_samples(), lags, level))
        result.test, result.test_random_walk = _scores(windows, *result.test_predictions)
        result.windows_evaluated += len(result.test_predictions[0])
    result.seconds = time.perf_counter() - start
    result.peak_memory_mib = peak_memory_mib(torch.device("cpu"))
    return result


def _scores(windows: Windows, pred: np.ndarray, target: np.ndarray, last: np.ndarray
            ) -> tuple[dict[str, float], dict[str, float]]:
    walk = np.repeat(last[:, None], target.shape[1], axis=1)
    returns = windows.target == "log_return"
    per_year = bars_per_year(windows.index)  # Sharpe annualised for the data's own bar size
    return (forecast_metrics(pred, target, last, returns=returns, periods_per_year=per_year),
            forecast_metrics(walk, target, last, returns=returns, periods_per_year=per_year))


def _frozen_count(net: nn.Module) -> int:
    frozen = sum(p.numel() for p in net.parameters() if not p.requires_grad)
    backbone = getattr(net, "backbone", None)
    if backbone is not None:
        frozen += sum(p.numel() for p in backbone.model.parameters())
    return frozen

