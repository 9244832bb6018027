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
(:mod:`cryptexlab.evaluation`: at most ``max_eval_windows`` windows spread evenly over the
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

import copy
import math
import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from cryptexlab.data.prepare import load_windows
from cryptexlab.data.windows import Samples, WindowDataset, Windows, make_loader
from cryptexlab.errors import ParamsError
from cryptexlab.evaluation import EvalBudget, make_budget
from cryptexlab.losses import build_loss
from cryptexlab.metrics import bars_per_year, forecast_metrics
from cryptexlab.models.baselines import build_baseline
from cryptexlab.params import TABULAR_KINDS, TIMELLM_KINDS, TIMELLM_VARIANTS, DataConfig, ModelConfig, TrainConfig
from cryptexlab.schedulers import build_scheduler

Report = Callable[[int, float], None]


@dataclass
class ExperimentResult:
    """Everything one training run produced."""

    val: dict[str, float]
    test: dict[str, float]
    val_random_walk: dict[str, float]
    test_random_walk: dict[str, float]
    curve: list[dict[str, float]] = field(default_factory=list)
    stop_reason: str = "completed"
    best_epoch: int = 0
    seconds: float = 0.0
    peak_memory_mib: float = 0.0
    trainable_params: int = 0
    frozen_params: int = 0
    device: str = "cpu"
    batch_size: int = 0  #: the batch trained with (``auto`` resolved)
    val_windows: dict[str, Any] = field(default_factory=dict)
    windows_trained: int = 0
    windows_evaluated: int = 0
    #: (forecast, target, last observed) of the scored validation windows, in the target's units:
    #: per-window scores for intervals and regimes (:mod:`cryptexlab.crossval`); not in :meth:`to_dict`.
    val_predictions: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    #: the same for every test window (when the test period was evaluated): what the verdict tests
    test_predictions: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    #: the fitted tabular model (:class:`cryptexlab.models.tabular.DirectForecaster`), for feature importance
    fitted: Any = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready), without the predictions and the fitted model."""
        skip = ("val_predictions", "test_predictions", "fitted")
        return asdict(type(self)(**{k: v for k, v in vars(self).items() if k not in skip}))


def pick_device(choice: str = "auto") -> torch.device:
    """cuda, then mps, then cpu for ``auto``; otherwise the named device."""
    if choice != "auto":
        return torch.device(choice)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def build_model(config: ModelConfig, windows: Windows, n_outputs: int = 1) -> nn.Module:
    """Time-LLM (or an ablation) or a baseline, for the windows' lengths."""
    seq_len, pred_len = windows.train.seq_len, windows.train.pred_len
    if config.kind in TIMELLM_VARIANTS:
        from cryptexlab.models.backbones import load_backbone
        from cryptexlab.models.timellm import TimeLLM

        backbone = load_backbone(config.llm_model, config.llm_layers)
        n_cov = len(windows.columns) - 1 if config.covariates else 0
        if config.covariates and windows.train.mode == "channel_independent":
            raise ParamsError("model.covariates: true reads every column of a window, but data.windows.mode="
                              "channel_independent gives one column per sample; use mode multivariate")
        if config.covariates and n_cov == 0:
            raise ParamsError(f"model.covariates: true, but the windows hold only the target {windows.target!r}; "
                              "use a feature set with more columns or leave data.windows.features null")
        return TimeLLM(config, seq_len, pred_len, backbone, variant=TIMELLM_VARIANTS[config.kind], n_outputs=n_outputs,
                       anchor_level=return_zero(windows), n_covariates=n_cov)
    if config.kind in TABULAR_KINDS:
        raise ParamsError(f"kind {config.kind!r} is a tabular model, fitted by run_experiment, not a torch module")
    params: dict[str, Any] = {}
    if config.kind == "random_walk" and windows.target == "log_return":
        params["return_zero"] = return_zero(windows)
    baseline = build_baseline(config.kind, seq_len, pred_len, channels=1, **params)
    if not getattr(baseline, "trainable", False):
        return baseline
    persistence = config.output == "persistence" and not getattr(baseline, "anchored", False)
    return InstanceNormalized(baseline, persistence=persistence, anchor_level=return_zero(windows))


def return_zero(windows: Windows) -> float | None:
    """The scaled value of a zero return when the target is a log return (the random walk's forecast), else None."""
    if windows.target != "log_return":
        return None
    k = windows.target_position
    return float(-windows.scaler.mean_[k] / windows.scaler.scale_[k])


class InstanceNormalized(nn.Module):
    """A trainable baseline seen through the same RevIN as Time-LLM, so the comparison is fair:
    each window is standardised by its own mean and std and the forecast de-standardised.

    With ``persistence`` the baseline forecasts the change from the random walk (the last observed
    value, or ``anchor_level`` for return inputs), and its layers start at zero.
    """

    def __init__(self, inner: nn.Module, persistence: bool = False, anchor_level: float | None = None) -> None:
        super().__init__()
        from cryptexlab.models.timellm import RevIN

        self.inner, self.revin = inner, RevIN()
        self.trainable = True
        self.persistence, self.anchor_level = persistence, anchor_level
        if persistence:  # a linear baseline's layers are all last layers: every map from input to output
            for layer in inner.modules():
                if isinstance(layer, nn.Linear):
                    nn.init.zeros_(layer.weight)
                    nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from cryptexlab.models.timellm import anchor

        z, mean, std = self.revin.norm(x)
        out = self.inner(z)
        if self.persistence:  # (B, H, C) + the anchor of each (window, channel)
            b, t, c = z.shape
            series = z.permute(0, 2, 1).reshape(b * c, t)
            level = anchor(series, mean.permute(0, 2, 1).reshape(b * c, 1), std.permute(0, 2, 1).reshape(b * c, 1),
                           self.anchor_level)
            out = out + level.view(b, c, 1).permute(0, 2, 1)
        return self.revin.denorm(out, mean, std)


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
    result = ExperimentResult({}, {}, {}, {}, device=str(device), batch_size=_batch(train),
                              trainable_params=sum(p.numel() for p in trainable),
                              frozen_params=_frozen_count(net), val_windows=budget.describe())
    if trainable:
        _fit(net, windows, val_set, train, loss_fn, device, result, report, start, select_best)
    result.val_predictions = predict(net, windows, val_set, device, quantiles, train.eval_batch_size)
    result.val, result.val_random_walk = _scores(windows, *result.val_predictions)
    result.windows_evaluated += len(val_set)
    if evaluate_test:
        test_set = windows.test.target_samples()
        result.test_predictions = predict(net, windows, test_set, device, quantiles, train.eval_batch_size)
        result.test, result.test_random_walk = _scores(windows, *result.test_predictions)
        result.windows_evaluated += len(test_set)
    result.seconds = time.perf_counter() - start
    result.peak_memory_mib = _peak_memory_mib(device)
    return result


def _run_tabular(windows: Windows, model: ModelConfig, train: TrainConfig, report: Report | None,
                 evaluate_test: bool, select_best: bool, start: float) -> ExperimentResult:
    """Fit a tabular model on every training window and score it like the torch models."""
    from cryptexlab.models import tabular

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
    result.peak_memory_mib = _peak_memory_mib(torch.device("cpu"))
    return result


def validation_budget(windows: Windows, train: TrainConfig) -> EvalBudget:
    """The validation windows a run with this training configuration is scored on."""
    return make_budget(windows.val.n_windows, train.eval_stride, train.eval_cap())


def steps_per_epoch(train: TrainConfig, windows: Windows) -> int:
    """Optimizer steps in one epoch: ``max_train_windows`` training samples (all when null or fewer), in
    batches of ``batch_size``, the last one possibly smaller.

    Example:
        >>> from types import SimpleNamespace
        >>> steps_per_epoch(TrainConfig(max_train_windows=100, batch_size=32), SimpleNamespace(train=range(1000)))
        4
        >>> steps_per_epoch(TrainConfig(max_train_windows=None, batch_size=32), SimpleNamespace(train=range(40)))
        2
    """
    n = min(train.max_train_windows or len(windows.train), len(windows.train))
    return math.ceil(n / _batch(train))


def batch_size_for(train: TrainConfig, model: ModelConfig, seq_len: int, pred_len: int, n_windows: int,
                   device: str) -> int:
    """``train.batch_size``, with ``auto`` resolved (:func:`cryptexlab.devices.auto_batch_size`) on ``device``.

    ``auto`` is for the Time-LLM models, whose memory is estimated; any other model trains with 32.
    The batch never exceeds one epoch's windows (``n_windows`` capped by ``max_train_windows``).
    """
    if train.batch_size != "auto":
        return train.batch_size
    if model.kind not in TIMELLM_KINDS:
        return 32
    from cryptexlab.devices import auto_batch_size, available_memory_mib

    cap = max(1, min(train.max_train_windows or n_windows, n_windows, 4096))
    return auto_batch_size(model, seq_len, pred_len, available_memory_mib(device), train.memory_margin, cap)


def _batch(train: TrainConfig) -> int:
    if train.batch_size == "auto":  # resolved by run_experiment before anything trains
        raise ParamsError("train.batch_size is still 'auto' here; resolve it with batch_size_for(...) first")
    return train.batch_size


def _fit(net: nn.Module, windows: Windows, val_set: Samples, cfg: TrainConfig,
         loss_fn: nn.Module, device: torch.device, result: ExperimentResult, report: Report | None,
         start: float, select_best: bool = True) -> None:
    # fused Adam: one kernel over all parameters (the 30M-weight prototype mapping dominates)
    optimizer = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=cfg.learning_rate,
                                 weight_decay=cfg.weight_decay, fused=device.type in ("cpu", "cuda"))
    per_epoch = steps_per_epoch(cfg, windows)
    schedule = build_scheduler(optimizer, cfg.scheduler, total_steps=cfg.epochs * per_epoch,
                               steps_per_epoch=per_epoch)
    best, best_state, stale = math.inf, None, 0
    generator = torch.Generator().manual_seed(cfg.seed)
    for epoch in range(1, cfg.epochs + 1):
        net.train()
        ordered = getattr(loss_fn, "needs_prices", False)  # trading losses need time-ordered batches
        subset = _epoch_subset(windows.train, cfg.max_train_windows, generator, contiguous=ordered)
        losses = []
        for x, y in make_loader(subset, _batch(cfg), train=not ordered, seed=cfg.seed + epoch):
            loss = _batch_loss(net, windows, x, y, loss_fn, device)
            if not torch.isfinite(loss):
                result.stop_reason = "nan_loss"
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
            lr = optimizer.param_groups[0]["lr"]  # the rate this step used
            optimizer.step()
            losses.append(loss.item())
            result.windows_trained += len(y)
            if schedule.needs is None:
                schedule.scheduler.step()
            elif schedule.needs == "train_loss":
                schedule.scheduler.step(loss.item())  # type: ignore[arg-type]  # metric-driven: step(metric); the handle is typed LRScheduler
            if cfg.timeout_s is not None and time.perf_counter() - start > cfg.timeout_s:
                result.stop_reason = "timeout"
                break
        if result.stop_reason == "nan_loss" or not losses:
            break
        val_loss = _mean_loss(net, windows, val_set, loss_fn, device, cfg.eval_batch_size)
        result.windows_evaluated += len(val_set)
        result.curve.append({"epoch": epoch, "train_loss": float(np.mean(losses)), "val_loss": val_loss,
                             "lr": lr, "seconds": time.perf_counter() - start})
        if schedule.needs == "val_loss":
            schedule.scheduler.step(val_loss)  # type: ignore[arg-type]  # metric-driven: step(metric); the handle is typed LRScheduler
        if val_loss < best:
            best, stale, result.best_epoch = val_loss, 0, epoch
            best_state = copy.deepcopy({k: v for k, v in net.state_dict().items()})
        else:
            stale += 1
        if report is not None:
            report(epoch, val_loss)
        if result.stop_reason == "timeout":
            break
        if stale >= cfg.patience and select_best:
            result.stop_reason = "early_stopping"
            break
    if best_state is not None and select_best:
        net.load_state_dict(best_state)
    elif not select_best:
        result.best_epoch = len(result.curve)


def _batch_loss(net: nn.Module, windows: Windows, x: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
                device: torch.device) -> torch.Tensor:
    k = windows.target_position
    x_t = model_input(windows, x, bool(getattr(net, "n_covariates", 0))).to(device)
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        out = net(x_t)
    pred = out[:, :, 0].float()
    y = y.to(device)
    if getattr(loss_fn, "needs_prices", False):
        mean, scale = float(windows.scaler.mean_[k]), float(windows.scaler.scale_[k])
        last = None if windows.target == "log_return" else x_t[:, -1, 0] * scale + mean
        return loss_fn(pred * scale + mean, y * scale + mean, last)
    return loss_fn(pred, y)


def _mean_loss(net: nn.Module, windows: Windows, dataset: Samples, loss_fn: nn.Module,
               device: torch.device, batch_size: int) -> float:
    net.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for x, y in make_loader(dataset, batch_size, train=False):
            total += _batch_loss(net, windows, x, y, loss_fn, device).item() * len(y)
            count += len(y)
    return total / count


def _scores(windows: Windows, pred: np.ndarray, target: np.ndarray, last: np.ndarray
            ) -> tuple[dict[str, float], dict[str, float]]:
    walk = np.repeat(last[:, None], target.shape[1], axis=1)
    returns = windows.target == "log_return"
    per_year = bars_per_year(windows.index)  # Sharpe annualised for the data's own bar size
    return (forecast_metrics(pred, target, last, returns=returns, periods_per_year=per_year),
            forecast_metrics(walk, target, last, returns=returns, periods_per_year=per_year))


def predict(net: nn.Module, windows: Windows, dataset: Samples,
            device: torch.device | None = None, quantiles: tuple[float, ...] = (), batch_size: int = 256
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(forecast, target, last observed value), each in the target's own units, for every window given.

    For a log-return target the last observed value is a zero return, which is the random walk.
    A :class:`WindowDataset` in channel_independent mode is reduced to the target's samples (one per
    window); any other dataset given (a ``Subset``) must hold target samples only, as the runner's do.
    """
    device = device or pick_device("cpu")
    if isinstance(dataset, WindowDataset):
        dataset = dataset.target_samples()
    net.eval()
    preds, targets, lasts = [], [], []
    with torch.no_grad():
        for x, y in make_loader(dataset, batch_size, train=False):
            x_t = model_input(windows, x, bool(getattr(net, "n_covariates", 0)))
            out = net(x_t.to(device)).float().cpu()
            point = out[:, :, 0, len(quantiles) // 2] if out.dim() == 4 else out[:, :, 0]
            preds.append(windows.inverse_target(point))
            targets.append(windows.inverse_target(y))
            lasts.append(windows.inverse_target(x_t[:, -1, 0]))
    pred, target, last = (np.concatenate(a) for a in (preds, targets, lasts))
    if windows.target == "log_return":
        last = np.zeros_like(last)
    return pred, target, last


def model_input(windows: Windows, x: torch.Tensor, covariates: bool = False) -> torch.Tensor:
    """The columns a model sees: (B, seq_len, 1), the target's in multivariate mode (in
    channel_independent mode the sample's own and only feature); with ``covariates`` (B, seq_len, C),
    the target first and then every other column in the windows' order."""
    k = 0 if windows.train.mode == "channel_independent" else windows.target_position
    if covariates:
        return torch.cat([x[..., k:k + 1], x[..., :k], x[..., k + 1:]], dim=-1)
    return x[..., k:k + 1]


def _epoch_subset(dataset: WindowDataset, limit: int | None, generator: torch.Generator,
                  contiguous: bool = False) -> Samples:
    """``limit`` random training windows; a random run of consecutive windows when ``contiguous``."""
    if limit is None or limit >= len(dataset):
        return dataset
    if contiguous:
        start = int(torch.randint(0, len(dataset) - limit + 1, (1,), generator=generator))
        return torch.utils.data.Subset(dataset, list(range(start, start + limit)))
    idx = torch.randperm(len(dataset), generator=generator)[:limit].sort().values.tolist()
    return torch.utils.data.Subset(dataset, idx)


def _frozen_count(net: nn.Module) -> int:
    frozen = sum(p.numel() for p in net.parameters() if not p.requires_grad)
    backbone = getattr(net, "backbone", None)
    if backbone is not None:
        frozen += sum(p.numel() for p in backbone.model.parameters())
    return frozen


def _peak_memory_mib(device: torch.device) -> float:
    """Peak GPU memory allocated (cuda), else the process's peak resident set size."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
