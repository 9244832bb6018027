"""The Ray Tune method: the workbench's spaces and runner under Ray's OptunaSearch and ASHA, into an Optuna study.

Each test starts a local Ray on 127.0.0.1 (about 7 s) and trains DLinear trials of a fraction of
a second on the synthetic series.
"""

from __future__ import annotations

import importlib.util
import math

import optuna
import pytest
from optuna.trial import TrialState

from cryptexlab.analysis import generate_comprehensive_report
from cryptexlab.errors import ParamsError
from cryptexlab.params import SearchConfig
from cryptexlab.profiles import load_profile
from cryptexlab.search.api import METHODS, OptimizationConfig
from cryptexlab.search.config import TrialConfig, with_values
from cryptexlab.search.tuner import run_search

if importlib.util.find_spec("ray") is None:  # in the dev extra: CI always has it (not imported here: see ray_tune)
    pytest.skip("Ray Tune is not installed (pip install -e '.[ray]')", allow_module_level=True)

PROFILE = """notebooks: [02_search]
data:
  synthetic: {kind: default, hours: 1500, seed: 7}
  windows: {seq_len: 32, pred_len: 8}
model: {kind: dlinear}
train: {epochs: 6, batch_size: 32, patience: 1000, max_train_windows: 256}
02_search:
  mode: custom
  method: ray
  pruner: median
  n_trials: 4
  study_name: r
  custom:
    - {name: train.learning_rate, type: float, low: 0.0001, high: 0.01, log: true}
"""


def configs(tmp_path, *overrides: str) -> tuple[TrialConfig, SearchConfig]:
    path = tmp_path / "ray.yaml"
    path.write_text(PROFILE)
    p = load_profile(str(path), overrides=[f"02_search.storage={tmp_path / 'r.journal'}", *overrides])
    return TrialConfig(p.data, p.model, p.train), p.search


def test_ray_search_writes_an_optuna_study_with_asha_stops(tmp_path) -> None:
    base, search = configs(tmp_path)
    result = run_search(base, search, show_progress_bar=False)
    trials = result.study.trials
    assert len(trials) == 4 and result.ran == 4
    assert {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
    assert TrialState.COMPLETE in {t.state for t in trials}
    for t in trials:
        assert 1e-4 <= t.params["train.learning_rate"] <= 1e-2
        assert t.user_attrs["config"]["train"]["learning_rate"] == t.params["train.learning_rate"]
        assert t.user_attrs["ray"]["node_ip"] == "127.0.0.1"  # Ray stayed on loopback
        assert list(t.intermediate_values) == list(range(1, len(t.intermediate_values) + 1))
        assert t.value == t.intermediate_values[max(t.intermediate_values)] or t.state == TrialState.COMPLETE
    for t in trials:
        if t.state == TrialState.COMPLETE:
            assert len(t.intermediate_values) == 6 and t.user_attrs["stop_reason"] == "completed"
            assert math.isclose(t.value, t.user_attrs["val"]["mae"])
        else:
            assert t.user_attrs["stop_reason"] == "asha" and len(t.intermediate_values) < 6
    report = generate_comprehensive_report(["r"], storage=str(tmp_path / "r.journal"), figures=False)
    assert report.summary["studies"]["r"]["trials"] == 4  # the analysis reads it like any study
    best = result.study.best_trial  # the verdict and 04_schedules rebuild a trial's configuration from it
    assert TrialConfig.from_trial(best) == with_values(base, best.params)
    again = run_search(base, search, show_progress_bar=False)  # resumed: the study is full
    assert again.ran == 0 and len(again.study.trials) == 4


def test_ray_search_by_cross_validation_and_failures(tmp_path) -> None:
    base, search = configs(tmp_path, "02_search.cv={kind: expanding, n_splits: 3}", "02_search.n_trials=2",
                           "02_search.pruner=none")
    trials = run_search(base, search, show_progress_bar=False).study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    assert all(sorted(t.intermediate_values) == [0, 1, 2] and len(t.user_attrs["cv_folds"]) == 3 for t in trials)
    assert all(math.isclose(t.value, t.user_attrs["cv"]["mean"]) for t in trials)
    base, search = configs(tmp_path, "02_search.max_trainable_params=1", "02_search.study_name=f", "02_search.n_trials=2")
    failed = run_search(base, search, show_progress_bar=False).study.trials
    assert [t.state for t in failed] == [TrialState.FAIL] * 2
    assert all(t.user_attrs["failure_reason"].startswith("param_limit:") for t in failed)


def test_ray_method_settings() -> None:
    assert METHODS["ray"] == "ray"
    assert "02_search.method=ray" in OptimizationConfig(method="ray").overrides()
    with pytest.raises(ValueError, match="method ray tunes one objective"):
        SearchConfig(method="ray", objectives=["val_mae", "train_seconds"], pruner="none")
    assert SearchConfig(method="ray").ray.address is None
    from cryptexlab.search.ray_tune import _start_ray

    with pytest.raises(ParamsError, match="is a Ray Client address"):
        _start_ray(SearchConfig(method="ray", ray={"address": "ray://head:10001"}))
    assert optuna.__version__ >= "4.9"
