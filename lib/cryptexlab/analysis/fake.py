"""A stored study with a known answer, for the analysis tests and its scale benchmark.

The objective is ``1 + 0.5 (log10(lr) + 3)^2 + 0.1 [d_model = 8] + noise`` (noise: normal, std
``noise``): the learning rate matters most, ``d_model`` a little, ``dropout`` and ``n_heads`` not at
all. Parameters are drawn at random; 10% of the trials are pruned (with two intermediate values) and
3% fail with a reason, as in a real search (single-objective studies only: Optuna keeps no
intermediate values for several objectives). With ``multi`` the second objective is the duration.

Example:
    >>> study = synthetic_study(50, None, seed=0)
    >>> len(study.trials), study.metric_names
    (50, ['val_mae'])
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

DISTRIBUTIONS = {
    "train.learning_rate": FloatDistribution(1e-4, 1e-2, log=True),
    "model.d_model": CategoricalDistribution([8, 16, 32]),
    "model.n_heads": CategoricalDistribution([2, 4, 8]),
    "model.dropout": FloatDistribution(0.0, 0.3),
    "train.loss": CategoricalDistribution(["MSE", "MAE"]),
}


def synthetic_study(n_trials: int, storage: optuna.storages.BaseStorage | str | None, *, seed: int = 0,
                    name: str = "synthetic", noise: float = 0.02, multi: bool = False) -> optuna.Study:
    """Create a study of ``n_trials`` finished trials (see the module docstring) in one batch."""
    rng = np.random.default_rng(seed)
    study = optuna.create_study(study_name=name, storage=storage,
                                directions=["minimize", "minimize"] if multi else ["minimize"])
    with warnings.catch_warnings():  # set_metric_names is marked experimental since Optuna 3.2
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["val_mae", "train_seconds"] if multi else ["val_mae"])
    study.set_user_attr("mode", "quick")
    start = dt.datetime(2026, 1, 1)
    trials = []
    for i in range(n_trials):
        lr = float(10 ** rng.uniform(-4, -2))
        d_model = int(rng.choice([8, 16, 32]))
        params = {"train.learning_rate": lr, "model.d_model": d_model,
                  "model.n_heads": int(rng.choice([2, 4, 8])), "model.dropout": float(rng.uniform(0, 0.3)),
                  "train.loss": str(rng.choice(["MSE", "MAE"]))}
        value = 1 + 0.5 * (np.log10(lr) + 3) ** 2 + 0.1 * (d_model == 8) + rng.normal(0, noise)
        duration = 5.0 * d_model / 16 + rng.uniform(0, 1)
        u = rng.uniform()
        state = TrialState.FAIL if u < 0.03 else TrialState.PRUNED if u < 0.13 else TrialState.COMPLETE
        attrs: dict[str, object] = {"duration_s": duration, "memory_estimate_mib": 60 + 2.0 * d_model}
        if state == TrialState.FAIL:
            attrs["failure_reason"] = "error: RuntimeError: synthetic failure"
        elif state == TrialState.PRUNED:
            attrs.update(stop_reason="pruned", pruned_at_epoch=2)
        else:
            attrs["stop_reason"] = "completed"
        values = None if state != TrialState.COMPLETE else ([float(value), duration] if multi else [float(value)])
        inter = {1: float(value) + 0.2, 2: float(value) + 0.1} if state != TrialState.FAIL else {}
        begin = start + dt.timedelta(seconds=10 * i)
        trials.append(create_trial(state=state, values=values, params=params, distributions=DISTRIBUTIONS,
                                   user_attrs=attrs, intermediate_values=inter if not multi else {}))
        trials[-1].datetime_start, trials[-1].datetime_complete = begin, begin + dt.timedelta(seconds=duration)
    study.add_trials(trials)
    return study
