"""What one training run produced (:class:`ExperimentResult`), and the shapes of the callables around it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

#: The per-epoch hook ``report(epoch, val_loss)`` (a search prunes through it; it may raise to stop).
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
    #: per-window scores for intervals and regimes (:mod:`cryptexlab.cv.validator`); not in :meth:`to_dict`.
    val_predictions: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    #: the same for every test window (when the test period was evaluated): what the verdict tests
    test_predictions: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    #: the fitted tabular model (:class:`cryptexlab.models.tabular.DirectForecaster`), for feature importance
    fitted: Any = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready), without the predictions and the fitted model."""
        skip = ("val_predictions", "test_predictions", "fitted")
        return asdict(type(self)(**{k: v for k, v in vars(self).items() if k not in skip}))

#: Trains one configuration: :func:`cryptexlab.training.runner.run_experiment` or a stand-in with its
#: signature (``runner(data, model, train, *, windows=..., report=..., evaluate_test=...)``), which the
#: search, the cross-validator, the schedules and the verdict accept so that tests can train instantly.
Runner = Callable[..., ExperimentResult]
