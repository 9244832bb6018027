"""The design's Python API and the optimize/schedule commands (training replaced by the fake runner)."""

from __future__ import annotations

import json
import re

import optuna
import pytest
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.trial import TrialState

import cryptexlab.search.tuner as tuner
from cryptexlab.cli import main
from cryptexlab.errors import ParamsError
from cryptexlab.search.api import HyperparameterOptimizer, OptimizationConfig, comprehensive_optimize, quick_optimize
from fake_runner import fake_runner


@pytest.fixture(autouse=True)
def fast_training(monkeypatch):
    monkeypatch.setattr(tuner, "run_experiment", fake_runner)


def test_quick_optimize(tmp_path) -> None:
    out = quick_optimize(datasets=["CRYPTEX_BASIC"], n_trials=3, storage=str(tmp_path / "q.journal"))
    assert out["summary"]["states"] == {"COMPLETE": 3}
    assert set(out["best_parameters"]) == {"train.learning_rate", "model.d_model", "model.d_ff", "model.n_heads",
                                           "model.patch_len", "model.stride", "model.dropout"}
    storage = JournalStorage(JournalFileBackend(str(tmp_path / "q.journal")))
    (name,) = optuna.get_all_study_names(storage)  # one dataset: one study in the file
    stored = optuna.load_study(study_name=name, storage=storage)
    done = stored.get_trials(states=(TrialState.COMPLETE,))
    assert stored.direction.name == "MINIMIZE" and len(done) == 3
    best = min(done, key=lambda t: t.value)
    assert out["best_value"] == best.value and out["best_parameters"] == best.params


def test_several_datasets_give_one_study_each(tmp_path) -> None:
    out = quick_optimize(datasets=["CRYPTEX_BASIC", "CRYPTEX_MULTISCALE"], n_trials=2, storage=str(tmp_path / "m.journal"))
    assert sorted(r.study.study_name for r in out["per_dataset"].values()) == ["quick-CRYPTEX_BASIC", "quick-CRYPTEX_MULTISCALE"]


def test_comprehensive_optimize(tmp_path) -> None:
    out = comprehensive_optimize(n_trials=2, storage=str(tmp_path / "c.journal"))
    params = out["best_parameters"]
    assert len(params) == (21 if "model.activation" in params else 20)  # activation only with two head layers


def test_hyperparameter_optimizer(tmp_path) -> None:
    config = OptimizationConfig(method="optuna", n_trials=3, primary_metric="sharpe_ratio", direction="maximize",
                                enable_pruning=True, study_name="sharpe", storage=str(tmp_path / "h.journal"))
    out = HyperparameterOptimizer(config).optimize("quick")
    assert out["study"].direction.name == "MAXIMIZE" and out["study"].study_name == "sharpe"


@pytest.mark.parametrize("kwargs,pattern", [
    ({"method": "hyperopt"}, r"unknown method 'hyperopt'; use one of tpe, gp, cmaes, random, grid, qmc, ray, optuna"),
    ({"primary_metric": "accuracy"}, r"unknown primary_metric 'accuracy'"),
    ({"primary_metric": "sharpe_ratio", "direction": "minimize"}, r"sharpe_ratio is to maximize, not minimize"),
])
def test_optimization_config_errors(kwargs, pattern) -> None:
    with pytest.raises(ParamsError, match=pattern):
        OptimizationConfig(**kwargs).overrides()


def test_optimize_command_json(tmp_path, capsys) -> None:
    assert main(["optimize", "--mode", "quick", "--n-trials", "2", "--method", "random", "--storage",
                 str(tmp_path / "cli.journal"), "--study-name", "cli", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["studies"]["CRYPTEX_ENHANCED"]["states"] == {"COMPLETE": 2}


def test_optimize_command_resumes(tmp_path, capsys) -> None:
    args = ["optimize", "--mode", "architecture", "--storage", str(tmp_path / "r.journal"), "--study-name", "r"]
    assert main([*args, "--n-trials", "2"]) == 0
    assert main([*args, "--n-trials", "3"]) == 0
    assert "r: 3 trials" in capsys.readouterr().out


def test_optimize_command_bad_value(capsys) -> None:
    assert main(["optimize", "--mode", "quick", "--n-trials", "0"]) == 2
    assert "02_search.n_trials = 0 is invalid" in capsys.readouterr().err


def test_schedule_command_text_and_json(capsys, tmp_path) -> None:
    assert main(["schedule", "--kind", "warmup", "--param", "warmup_steps=2", "--steps", "4", "--lr", "0.01"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and lines[0].split() == ["0", "0"] and lines[1].split() == ["1", "0.005"]
    plot = tmp_path / "s.html"
    assert main(["schedule", "--kind", "crypto_weekly", "--param", "period=4", "--steps", "8", "--json", "--plot", str(plot)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["rates"]) == 8 and doc["rates"][0] == pytest.approx(1.5e-3) and doc["rates"][2] == pytest.approx(0.5e-3)
    assert plot.stat().st_size > 1_000_000  # plotly.js embedded: opens offline


@pytest.mark.parametrize("args,pattern", [
    (["--kind", "nope", "--steps", "3"], r"unknown schedule kind 'nope'"),
    (["--kind", "warmup", "--param", "bogus=1", "--steps", "3"], r"unknown parameter\(s\) \['bogus'\]"),
    (["--kind", "cyclical", "--param", "max_lr=0.01", "--param", "mode=sideways", "--steps", "3"], r"unknown mode='sideways'"),
    (["--kind", "warmup", "--param", "warmup_steps", "--steps", "3"], r"must look like name=value"),
    (["--kind", "constant", "--steps", "0"], r"--steps must be at least 1"),
])
def test_schedule_command_errors(capsys, args, pattern) -> None:
    assert main(["schedule", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and re.search(pattern, err)
