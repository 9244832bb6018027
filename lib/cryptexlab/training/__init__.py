"""Training one configuration and scoring it beside the random walk.

=============  ===============================================================================
module         what it holds
=============  ===============================================================================
``result``     :class:`ExperimentResult` (what a run produced), ``Report`` and ``Runner``
``budget``     the evaluation budget: which validation windows score a run
``device``     the device, ``batch_size: auto``, peak memory
``loop``       the torch training loop (epochs, validation, early stopping) and :func:`predict`
``runner``     :func:`run_experiment`: windows, model, loss, the loop or a tabular fit, metrics
=============  ===============================================================================

The runner's public names are re-exported here.
"""

from cryptexlab.training.budget import validation_budget
from cryptexlab.training.device import batch_size_for, pick_device
from cryptexlab.training.loop import model_input, predict, steps_per_epoch
from cryptexlab.training.result import ExperimentResult, Report, Runner
from cryptexlab.training.runner import run_experiment

__all__ = ["ExperimentResult", "Report", "Runner", "batch_size_for", "model_input", "pick_device", "predict",
           "run_experiment", "steps_per_epoch", "validation_budget"]
