"""The training loop of a torch model: epochs of sampled windows, validation, early stopping, prediction.

:func:`fit` trains ``max_train_windows`` random training windows per epoch (seeded; for the trading
losses, whose turnover term needs time order, a random run of consecutive windows in order), steps
the schedule, scores the validation budget after each epoch, stops early with patience and keeps
the best weights. :func:`predict` gives (forecast, target, last observed) in the target's units.
"""

from __future__ import annotations

import copy
import math
import time

import numpy as np
import torch
from torch import nn

from cryptexlab.data.windows import Samples, WindowDataset, Windows, make_loader
from cryptexlab.errors import ParamsError
from cryptexlab.params import TrainConfig
from cryptexlab.schedulers import build_scheduler
from cryptexlab.training.device import pick_device
from cryptexlab.training.result import ExperimentResult, Report


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
    return math.ceil(n / batch_of(train))


def batch_of(train: TrainConfig) -> int:
    if train.batch_size == "auto":  # resolved by run_experiment before anything trains
        raise ParamsError("train.batch_size is still 'auto' here; resolve it with batch_size_for(...) first")
    return train.batch_size


def fit(net: nn.Module, windows: Windows, val_set: Samples, cfg: TrainConfig,
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
        for x, y in make_loader(subset, batch_of(cfg), train=not ordered, seed=cfg.seed + epoch):
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

