"""The design's Ray Tune method (``02_search.method: ray``): the same spaces and runner, scheduled by Ray Tune.

    cryptexlab optimize --method ray --n-trials 4

* **Search**: Ray's ``OptunaSearch`` runs the mode's space function (a define-by-run space) with
  a seeded TPE or random sampler (``02_search.ray.sampler``);
* **Stopping**: ``ASHAScheduler`` is fed the same reports as Optuna's pruners (the validation
  loss after every epoch, or the running cross-validated mean after every fold). ``pruner: none``
  runs every trial to the end;
* **Concurrency**: ``max_concurrent`` trials at once (default: CPUs / ``cpus_per_trial``), each
  with ``cpus_per_trial`` torch threads; a local Ray on 127.0.0.1, or the cluster at ``address``
  (``auto`` on a node of the cluster, or the head's host:port; not a Ray Client ``ray://`` address,
  whose remote driver could not write the study);
* **Results**: every finished Ray trial is written into the Optuna study of ``study_name``, as it
  finishes, with the user attributes, intermediate values and states that an Optuna search gives
  (an ASHA stop is PRUNED). 02_search, 05_analysis and the verdict read it like any other study,
  and an interrupted run keeps what finished.

Inside a Ray trial the objective of :func:`cryptexlab.search.objective.make_objective` runs on a
:class:`RayTrial`: Optuna's ``FixedTrial`` holding the sampled values, which forwards each report
to Ray and keeps the attributes for the study.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import time
import warnings
from typing import Any, cast

import numpy as np
import optuna
from optuna.distributions import distribution_to_json, json_to_distribution
from optuna.trial import TrialState

from cryptexlab.errors import ParamsError
from cryptexlab.params import OBJECTIVE_DIRECTIONS, SearchConfig
from cryptexlab.search.config import InvalidConfiguration, TrialConfig
from cryptexlab.search.objective import make_objective
from cryptexlab.search.samplers import make_sampler
from cryptexlab.search.spaces import space_for
from cryptexlab.search.trial import TrialFailed
from cryptexlab.training import Runner

# Read by Ray when it is imported: with _node_ip_address="127.0.0.1" a local Ray then stays on loopback (else it
# binds to the machine's external address); no TensorBoard/CSV files (the study holds everything); the old output.
for _key, _value in (("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0"), ("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1"),
                     ("RAY_AIR_NEW_OUTPUT", "0")):
    os.environ.setdefault(_key, _value)

#: Keys that Ray's results carry besides the parameters.
DISTRIBUTIONS, ATTRS, FINAL = "__distributions", "attrs", "final"
#: Environment that Ray's worker processes need: the model hub stays offline, Ray on loopback.
WORKER_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "CRYPTEXLAB_DATA")


class RayTrial(optuna.trial.FixedTrial):
    """A trial inside a Ray trainable: fixed sampled values, reports sent to Ray (whose ASHA stops it)."""

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.intermediate: dict[int, float] = {}

    def report(self, value: float, step: int) -> None:
        from ray import tune

        self.intermediate[step] = float(value)
        tune.report({"objective": float(value), ATTRS: self.record()})

    def record(self) -> str:
        """User attributes and intermediate values as one JSON string (Ray keeps flat results)."""
        return json.dumps({"user_attrs": self.user_attrs, "intermediate": self.intermediate}, default=str)


def run_ray_trials(study: optuna.Study, base: TrialConfig, search: SearchConfig, runner: Runner, n: int,
                   show_progress_bar: bool = True) -> None:
    """Run ``n`` more trials of ``study`` through Ray Tune (see the module's description; called by
    :func:`cryptexlab.search.tuner.run_search` for ``method: ray``)."""
    try:
        import ray
    except ImportError:
        raise ParamsError("method ray needs Ray Tune, which is not installed: pip install -e '.[ray]' "
                          "(or choose another 02_search.method, e.g. tpe)") from None
    if n <= 0:
        return
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.optuna import OptunaSearch

    mode = "min" if OBJECTIVE_DIRECTIONS[search.objectives[0]] == "minimize" else "max"
    sampler = make_sampler(search.model_copy(update={"method": search.ray.sampler}))
    started = _start_ray(search)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    limit = search.ray.max_concurrent or max(1, cpus // search.ray.cpus_per_trial)
    searcher = ConcurrencyLimiter(OptunaSearch(space=DefineByRun(base, search), metric="objective", mode=mode, sampler=sampler),
                                  max_concurrent=limit)
    scheduler = FIFOScheduler() if search.pruner == "none" else ASHAScheduler(
        metric="objective", mode=mode, max_t=10_000, grace_period=search.ray.grace_period,
        reduction_factor=search.ray.reduction_factor)
    trainable = tune.with_resources(tune.with_parameters(_trainable, base=base, search=search, runner=runner),
                                    {"cpu": search.ray.cpus_per_trial})
    try:
        with tempfile.TemporaryDirectory(prefix="cryptexlab-ray-") as results:
            tuner = tune.Tuner(
                trainable,
                tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler, num_samples=n,
                                            time_budget_s=search.timeout_s, reuse_actors=True),
                run_config=tune.RunConfig(storage_path=results, name=study.study_name, verbose=0,
                                          callbacks=[_recorder(study, n, show_progress_bar)]))
            with np.errstate(invalid="ignore"):  # ASHA's quantiles meet the infinite value of a failed trial
                tuner.fit()
    finally:
        if started:
            ray.shutdown()


class DefineByRun:
    """The mode's space function as Ray's define-by-run space (a class: Ray pickles its searcher's state)."""

    def __init__(self, base: TrialConfig, search: SearchConfig) -> None:
        self.base, self.search = base, search

    def __call__(self, trial: optuna.Trial) -> dict[str, Any]:
        """Sample on Ray's trial; return the distributions, which the study's records need."""
        try:
            space_for(self.search.mode)(trial, self.base, self.search)
        except InvalidConfiguration:
            pass  # the trainable meets the same refusal and records it as the trial's failure
        return {DISTRIBUTIONS: {k: distribution_to_json(d) for k, d in trial.distributions.items()}}


def _start_ray(search: SearchConfig) -> bool:
    """Connect to ``ray.address`` or start a local Ray on 127.0.0.1; True when this call started it."""
    import ray

    if ray.is_initialized():
        return False
    env = {k: os.environ[k] for k in WORKER_ENV if k in os.environ}
    if search.ray.address is None:
        env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.ERROR, "log_to_driver": False,
                              "runtime_env": {"env_vars": env}}
    if search.ray.address is None:
        kwargs.update(num_cpus=os.cpu_count() or 1, _node_ip_address="127.0.0.1")
    elif search.ray.address.startswith("ray://"):
        raise ParamsError(f"02_search.ray.address {search.ray.address!r} is a Ray Client address, where Tune's driver "
                          "runs remotely and could not write this study; run the search on a node of the cluster "
                          "with address: auto, or give the head's host:port")
    else:
        kwargs["address"] = search.ray.address
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Ray's start-up deprecation notices are not the user's business
        ray.init(**kwargs)
    return True


def _trainable(config: dict[str, Any], *, base: TrialConfig, search: SearchConfig, runner: Runner) -> None:
    """One Ray trial: the workbench's objective on the sampled values; the last report holds the outcome."""
    import torch
    from ray import tune

    torch.set_num_threads(search.ray.cpus_per_trial)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trial = RayTrial({k: v for k, v in config.items() if k != DISTRIBUTIONS})
    search = search.model_copy(update={"devices": "none"})  # Ray gives each trial its resources (CPUs, GPUs)
    try:
        value = float(make_objective(base, search, runner)(cast(optuna.Trial, trial)))  # type: ignore[arg-type]
    except TrialFailed:  # the reason is in the attributes (the study records FAIL); Ray's searcher and ASHA
        value = math.inf if OBJECTIVE_DIRECTIONS[search.objectives[0]] == "minimize" else -math.inf  # see the worst
    tune.report({"objective": value, ATTRS: trial.record(), FINAL: True})


#: The study and progress bar of each running Ray search, by key: Ray pickles the Tuner's callbacks,
#: and a notebook's progress bar (an ipywidget bound to the kernel's session) cannot be pickled.
_RUNS: dict[str, tuple[optuna.Study, Any]] = {}


def _recorder(study: optuna.Study, n: int, show_progress_bar: bool) -> Any:
    """A Ray Tune callback (in the driver) that writes each finished trial into the study and moves the bar."""
    from ray import tune
    from tqdm.auto import tqdm

    key = f"{study.study_name}-{os.getpid()}-{time.monotonic_ns()}"
    _RUNS[key] = (study, tqdm(total=n, desc=study.study_name, unit="trial", disable=not show_progress_bar))

    class Recorder(tune.Callback):
        def __init__(self) -> None:
            self.key = key

        def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
            run, bar = _RUNS[self.key]
            write_trial(run, trial.config, trial.last_result or {}, error=None)
            bar.update()

        def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
            run, bar = _RUNS[self.key]
            error = trial.get_pickled_error() or trial.get_error()
            write_trial(run, trial.config, trial.last_result or {}, error=f"{type(error).__name__}: {error}")
            bar.update()

        def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
            _RUNS.pop(self.key)[1].close()

        def __reduce__(self) -> tuple[type, tuple[()]]:
            # the Tuner pickles its state for a later restore; this callback lives in this process only
            return object, ()

    return Recorder()


def write_trial(study: optuna.Study, config: dict[str, Any], result: dict[str, Any], error: str | None) -> None:
    """Add one finished Ray trial to the study: COMPLETE, PRUNED (stopped by ASHA before its last report)
    or FAIL (with the objective's recorded reason, or Ray's error)."""
    record = json.loads(result.get(ATTRS) or "{}")
    attrs = dict(record.get("user_attrs", {}))
    distributions = {k: json_to_distribution(d) for k, d in config.get(DISTRIBUTIONS, {}).items()}
    params = {k: config[k] for k in distributions if k in config}
    value = result.get("objective")
    if error is not None:
        state = TrialState.FAIL
        attrs.setdefault("failure_reason", f"error: Ray trial failed ({error})")
    elif not result.get(FINAL):  # stopped by ASHA; its value is the last report, as Optuna keeps for a pruned trial
        state = TrialState.PRUNED
        attrs.setdefault("stop_reason", "asha")
        attrs["pruned_at_step"] = result.get("training_iteration")
    elif "failure_reason" in attrs or value is None or not math.isfinite(value):
        state = TrialState.FAIL
    else:
        state = TrialState.COMPLETE
    attrs["ray"] = {"trial_id": result.get("trial_id"), "iterations": result.get("training_iteration"),
                    "node_ip": result.get("node_ip")}
    study.add_trial(optuna.trial.create_trial(
        state=state, value=value if state in (TrialState.COMPLETE, TrialState.PRUNED) else None, params=params,
        distributions=distributions, user_attrs=attrs,
        intermediate_values={int(k): v for k, v in record.get("intermediate", {}).items()}))
