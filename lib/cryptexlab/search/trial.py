"""What a trial is made of besides its configuration: the failure that Optuna records and the evaluator's shape.

A trial that raises, produces NaN, times out or would exceed a budget is recorded with its reason
(user attribute ``failure_reason``) and the study goes on: :class:`TrialFailed` is the only exception
the tuner lets Optuna catch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

import optuna

from cryptexlab.errors import CryptexError
from cryptexlab.search.config import TrialConfig

#: Packages whose versions every trial records (provenance).
VERSIONED = ("cryptexlab", "optuna", "torch", "transformers", "numpy", "pandas")

#: Scores one sampled configuration for a trial: the holdout evaluator of :mod:`cryptexlab.search.objective`
#: or the cross-validated one of :mod:`cryptexlab.search.cv_objective`; returns one value per objective.
Evaluator = Callable[[optuna.Trial, TrialConfig], tuple[float, ...]]


class TrialFailed(CryptexError):
    """A trial that failed for a recorded reason; the study goes on."""


def fail(trial: optuna.Trial, reason: str) -> NoReturn:
    """Record why the trial failed and stop it (the study goes on)."""
    trial.set_user_attr("failure_reason", reason)
    raise TrialFailed(reason)
