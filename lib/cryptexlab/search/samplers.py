"""Samplers, pruners and the stopping rule of a search, from its ``02_search`` section."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import optuna
from optuna.trial import FrozenTrial

from cryptexlab.params import SearchConfig


def make_sampler(search: SearchConfig) -> optuna.samplers.BaseSampler:
    """The seeded sampler of ``search.method``.

    TPE and GP read the budgets' constraints that each trial sets (``Trial.set_constraint``, Optuna 5;
    ``constraints_func`` is deprecated there); the other methods ignore them, and an infeasible
    configuration is never trained whatever the method.
    """
    seed = search.seed
    if search.method in ("tpe", "ray"):  # ray: the study's own sampler is unused (Ray's OptunaSearch samples)
        return optuna.samplers.TPESampler(seed=seed)
    if search.method == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if search.method == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if search.method == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if search.method == "qmc":
        return optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)
    return optuna.samplers.GridSampler(search.grid, seed=seed)


def make_pruner(search: SearchConfig) -> optuna.pruners.BasePruner:
    """The pruner of ``search.pruner`` (always ``NopPruner`` for multi-objective studies)."""
    if search.pruner == "none" or len(search.objectives) > 1:
        return optuna.pruners.NopPruner()
    return {
        "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0),
        "hyperband": lambda: optuna.pruners.HyperbandPruner(min_resource=1),
        "successive_halving": lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=1),
        "wilcoxon": _wilcoxon,
    }[search.pruner]()


def _wilcoxon() -> optuna.pruners.BasePruner:
    """Optuna's WilcoxonPruner (p < 0.1), without its ExperimentalWarning (experimental since Optuna 3.6)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.pruners.WilcoxonPruner(p_threshold=0.1)


def terminator() -> Callable[[optuna.Study, FrozenTrial], None]:
    """Optuna's TerminatorCallback, for ``search.terminator``.

    ``optuna.terminator`` is deprecated since Optuna 4.9 (removal planned for 6.0) and its classes
    raise a FutureWarning when built. It is imported here, not with this module: ``import optuna``
    does not load it (so ``optuna.terminator`` alone is an AttributeError), and the warning then
    appears only in a search that asks for a terminator, never at import.
    """
    from optuna.terminator import Terminator, TerminatorCallback

    return TerminatorCallback(Terminator())
