"""The verdict: the rule on known answers, the retraining windows, persistence-anchored outputs,
the command, the notebook's JSON, and the calibration machinery."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from cryptexlab.data.prepare import load_windows
from cryptexlab.data.windows import refit_windows
from cryptexlab.errors import PipelineError
from cryptexlab.models.build import build_model
from cryptexlab.params import DataConfig, ModelConfig, VerdictNotebook
from cryptexlab.profiles import load_profile
from cryptexlab.search.config import TrialConfig
from cryptexlab.stages.verdict import Forecast, _decide, judge
from cryptexlab.training import predict

SMALL = DataConfig.model_validate({"synthetic": {"hours": 1500}, "feature_set": "CRYPTEX_BASIC",
                                   "windows": {"seq_len": 32, "pred_len": 4}})


def _forecasts(signal: float, n_trials: int = 4, n: int = 1200, seed: int = 0) -> list[Forecast]:
    """Forecasts of an AR(1) price-change series: trials that know ``signal`` of the next change."""
    rng = np.random.default_rng(seed)
    change = rng.standard_normal(n + 1)
    price = 1000 + np.cumsum(change)
    last, target = price[:-1], price[1:, None]
    index = pd.date_range("2024-01-01", periods=n, freq="1h", tz="UTC")
    out = []
    for k in range(n_trials):
        noise = rng.standard_normal(n) * 0.3
        pred = (last + signal * change[1:] + noise * (signal > 0))[:, None]
        role = "selected" if k == 0 else "trial"
        out.append(Forecast("selected" if k == 0 else f"trial {k}", role, pred, target, last, index, trial=k))
    out.append(Forecast("trial 0", "trial", out[0].pred, target, last, index, trial=0))
    return out


def test_a_real_signal_beats_the_random_walk_after_the_correction() -> None:
    v = _decide(_forecasts(0.5), VerdictNotebook(reps=300), n_trials=4, config=None, selected_trial=0,
                periods_per_year=8760, notes=[])
    assert v.beats_random_walk and "selected" in v.superior
    assert v.tests["diebold_mariano"].p_value < 0.01 and v.tests["spa"].p_value < 0.05
    assert v.test_mae_ratio < 1 and "yes" in v.paragraph.split("**")[1]


def test_forecasts_that_are_the_random_walk_do_not_beat_it() -> None:
    v = _decide(_forecasts(0.0), VerdictNotebook(reps=300), n_trials=4, config=None, selected_trial=0,
                periods_per_year=8760, notes=[])
    assert not v.beats_random_walk and v.superior == []
    assert v.test_mae_ratio == pytest.approx(1.0)
    assert ": no.**" in v.paragraph
    assert "StepM at size 0.05" in v.rule and "5 candidates" in v.rule


def test_too_few_common_windows_are_refused() -> None:
    with pytest.raises(PipelineError, match="only 20 test windows are common to every model; the tests need at least 30"):
        _decide(_forecasts(0.5, n=20), VerdictNotebook(reps=300), n_trials=4, config=None, selected_trial=0,
                periods_per_year=8760, notes=[])


def test_refit_windows_cover_train_and_validation_and_never_the_test_period() -> None:
    w = load_windows(SMALL)
    r = refit_windows(w)
    train, val, test = w.periods
    assert r.train.starts[0] == train.start
    assert r.train.starts[-1] + r.train.seq_len + r.train.pred_len == val.stop
    assert r.train.n_windows > w.train.n_windows + w.val.n_windows
    assert r.train.starts[-1] + r.train.seq_len + r.train.pred_len <= test.start - r.train.pred_len
    assert np.array_equal(r.test.starts, w.test.starts) and r.scaler is w.scaler


@pytest.mark.parametrize("kind", ["dlinear", "timellm", "timellm_no_llm"])
@pytest.mark.parametrize("target_kind", ["price", "log_return"])
def test_an_untrained_persistence_anchored_model_is_exactly_the_random_walk(kind, target_kind) -> None:
    data = SMALL.model_copy(update={"windows": SMALL.windows.model_copy(update={"target_kind": target_kind})})
    w = load_windows(data)
    cfg = ModelConfig(kind=kind, llm_layers=1, d_model=8, d_ff=16, n_heads=2, patch_len=8, stride=4, num_tokens=16) \
        if kind.startswith("timellm") else ModelConfig(kind=kind)
    pred, _, last = predict(build_model(cfg, w), w, w.test)
    assert np.abs(pred - last[:, None]).max() < 1e-6 * max(1.0, np.abs(last).max())
    direct = build_model(cfg.model_copy(update={"output": "direct"}), w)
    pred_d, _, _ = predict(direct, w, w.test)
    assert np.abs(pred_d - last[:, None]).max() > 1e-3 * max(1.0, np.abs(last).std())


def test_a_persistence_anchored_head_learns_after_its_first_step() -> None:
    w = load_windows(SMALL)
    net = build_model(ModelConfig(kind="timellm_no_llm", llm_layers=1, d_model=8, d_ff=16, n_heads=2, patch_len=8,
                                  stride=4, num_tokens=16), w)
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-2)
    x, y = next(iter(torch.utils.data.DataLoader(w.train, batch_size=16)))
    for _ in range(2):
        opt.zero_grad()
        loss = (net(x[..., w.target_position:w.target_position + 1])[:, :, 0] - y).pow(2).mean()
        loss.backward()
        grad = net.patch_embedding.conv.weight.grad
        opt.step()
    assert grad is not None and grad.abs().sum() > 0  # the second step reaches the layers before the head


@pytest.fixture()
def calibration_overrides(tmp_path) -> list[str]:
    storage = tmp_path / "verdict.journal"
    return ["data.synthetic.hours=1500", "02_search.n_trials=3", "06_verdict.reps=200",
            f"02_search.storage={storage}", f"06_verdict.storage={storage}", "06_verdict.baselines=[drift, linear]"]


def test_judge_runs_the_search_and_reports_every_test(calibration_overrides) -> None:
    profile = load_profile("calibration", overrides=calibration_overrides)
    base = TrialConfig(profile.data, profile.model, profile.train)
    v = judge(base, profile.search, profile.verdict_notebook, progress=False)
    doc = v.to_json()
    assert isinstance(doc["beats_random_walk"], bool) and doc["alpha"] == 0.05 and doc["n_trials"] == 3
    assert set(doc["tests"]) == {"diebold_mariano", "pesaran_timmermann", "spa", "reality_check", "deflated_sharpe"}
    assert all(set(t) == {"statistic", "p_value"} for t in doc["tests"].values())
    assert doc["model"]["model"]["kind"] == "dlinear" and doc["rule"].startswith("the selected configuration")
    roles = v.table.set_index("model")["role"]
    assert roles["selected"] == "selected" and (roles == "trial").sum() == 3 and roles["drift"] == "baseline"
    assert v.table.set_index("model").loc["drift", "in_correction"] == False  # noqa: E712
    assert {"buy_and_hold", "flat", "selected"} <= set(v.trading.index)
    assert isinstance(v.returns.index, pd.DatetimeIndex) and len(v.returns) == v.n_windows


def test_judge_without_a_study_says_what_to_do(tmp_path) -> None:
    profile = load_profile("calibration", overrides=[f"06_verdict.storage={tmp_path / 'none.journal'}",
                                                     "06_verdict.run_search=false"])
    with pytest.raises(PipelineError, match="no study 'calibration' in .*none.journal; run 02_search first"):
        judge(TrialConfig(profile.data, profile.model, profile.train), profile.search, profile.verdict_notebook)


def test_a_step_beyond_the_horizon_is_refused_before_training(calibration_overrides) -> None:
    from cryptexlab.errors import ParamsError

    profile = load_profile("calibration", overrides=[*calibration_overrides, "06_verdict.step=9"])
    base = TrialConfig(profile.data, profile.model, profile.train)
    with pytest.raises(ParamsError, match=r"06_verdict.step=9 is beyond the selected trial's horizon \(pred_len 4\)"):
        judge(base, profile.search, profile.verdict_notebook, progress=False)


def test_verdict_command_prints_the_json(calibration_overrides, capsys) -> None:
    from cryptexlab.cli import main

    args = ["verdict", "--profile", "calibration", "--json"]
    for o in calibration_overrides:
        args += ["-p", o]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    for key in ("beats_random_walk", "alpha", "n_trials", "rule", "tests", "test_mae_ratio", "model"):
        assert key in doc
    assert main(["verdict", "--profile", "calibration", "-p", "06_verdict.alpha=0.9"]) == 2
    assert "06_verdict.alpha" in capsys.readouterr().err


def test_calibration_machinery_on_three_and_three_short_series(monkeypatch) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import verdict_calibration as vc

    extra = ("data.synthetic.hours=1500", "02_search.n_trials=2", "06_verdict.reps=200")
    runs = [vc.run_series("martingale", 1000 + s, "persistence", extra) for s in range(3)]
    runs += [vc.run_series("planted", s, "persistence", extra) for s in range(3)]
    summary = vc.summarize(runs)
    assert summary["martingale"]["n_series"] == 3 and summary["planted"]["n_series"] == 3
    assert 0 <= summary["martingale"]["ci"][0] <= summary["martingale"]["share"] <= summary["martingale"]["ci"][1] <= 1
    assert {"beats", "power", "oracle_power"} <= set(summary["planted"])
    assert all(isinstance(r["oracle_beats"], bool) for r in runs if r["kind"] == "planted")
    assert vc.clopper_pearson(0, 40)[0] == 0.0 and vc.clopper_pearson(4, 40)[1] == pytest.approx(0.2366, abs=1e-3)
