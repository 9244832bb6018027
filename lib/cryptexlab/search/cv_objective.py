"""A search trial scored by cross-validation, pruned after each fold.

With ``search.cv`` set, every trial trains one model per fold in fold order
(:class:`cryptexlab.cv.validator.CrossValidator`; the folds are built once per data specification
(:func:`cryptexlab.cv.validator.cross_validator`) and shared by every trial, so step k means the same fold for all of them). After fold k the
trial reports to Optuna at step k:

* ``median`` (and the other pruners but Wilcoxon): the running mean of the fold scores so far,
  compared with the other trials' running means after the same folds;
* ``wilcoxon``: fold k's own score, so that Optuna's ``WilcoxonPruner`` pairs this trial's fold
  scores with the best trial's on the same folds.

Optuna cannot report several values at one step (optuna#4373), hence one report per fold. The
last fold is reported but never pruned: the work is done by then. Per-fold results (score,
random walk, interval, regimes, windows, seconds) are stored in the user attribute ``cv_folds``
after every fold, so a pruned trial's partial folds stay visible; ``cv`` holds the mean, the
standard deviation, the bootstrap interval of the mean and the per-regime scores, and
``cv_pruned_after_fold`` the fold a pruned trial stopped after.

Optuna's documentation warns that the Wilcoxon test repeated at every step inflates false
positives; ``benchmarks/results/cv_pruning.json`` measures what either pruner costs in the final
best score and saves in fold trainings.
"""

from __future__ import annotations

import optuna

from cryptexlab.cv.validator import CVResult, cross_validator
from cryptexlab.params import SearchConfig
from cryptexlab.search.config import TrialConfig
from cryptexlab.search.trial import Evaluator, fail
from cryptexlab.training import Runner


def cv_evaluator(search: SearchConfig, runner: Runner) -> Evaluator:
    """The evaluator of :func:`cryptexlab.search.objective.make_objective` for a cross-validated search."""
    assert search.cv is not None
    cv, objective = search.cv, search.objectives[0]

    def evaluate(trial: optuna.Trial, config: TrialConfig) -> tuple[float, ...]:
        validator = cross_validator(config.data, cv, objective)
        trial.set_user_attr("cv_planned_folds", validator.n_folds)
        trial.set_user_attr("cv_splitter", repr(validator.splitter))

        def report(k: int, partial: CVResult) -> None:
            record(trial, partial)
            fold = partial.folds[-1]
            if fold.stop_reason in ("nan_loss", "timeout"):
                fail(trial, f"{fold.stop_reason} in fold {k}")
            trial.report(fold.score if search.pruner == "wilcoxon" else partial.mean, k)
            if k < partial.planned - 1 and trial.should_prune():
                trial.set_user_attr("cv_pruned_after_fold", k)
                raise optuna.TrialPruned(f"pruned after fold {k} of {partial.planned}")

        result = validator.run(config.model, config.train, report=report, runner=runner)
        trial.set_user_attr("val", result.mean_metrics())  # fold means: what the holdout trials store, per fold
        trial.set_user_attr("val_random_walk", result.mean_metrics(walk=True))
        trial.set_user_attr("device", result.folds[-1].device)
        trial.set_user_attr("stop_reason", "completed")
        return (result.mean,)

    return evaluate


def record(trial: optuna.Trial, result: CVResult) -> None:
    """Store the folds so far on the trial (``cv_folds``, ``cv``, ``windows``)."""
    summary = result.summary()
    trial.set_user_attr("cv_folds", summary.pop("folds"))
    trial.set_user_attr("cv", summary)
    trial.set_user_attr("windows", {"trained": sum(f.windows_trained for f in result.folds),
                                    "folds_trained": len(result.folds)})
