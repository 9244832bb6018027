"""Models that read the feature set: covariate-aware Time-LLM, LightGBM and ridge; the planted_exog known answer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptexlab.data.prepare import load_windows
from cryptexlab.data.source import load_features
from cryptexlab.data.windows import WindowDataset, Windows
from cryptexlab.errors import ParamsError
from cryptexlab.models import tabular
from cryptexlab.models.build import build_model, return_zero
from cryptexlab.params import DataConfig, ModelConfig, TrainConfig
from cryptexlab.profiles import load_profile
from cryptexlab.training import model_input, run_experiment

SMALL = dict(llm_layers=1, d_model=8, d_ff=16, n_heads=2, patch_len=8, stride=4, num_tokens=16)


def planted(kind: str = "planted_exog", hours: int = 4000, feature_set: str = "CRYPTEX_EXTERNAL") -> DataConfig:
    return DataConfig(synthetic={"kind": kind, "hours": hours, "seed": 0}, feature_set=feature_set,
                      split={"train": 0.6, "val": 0.2, "test": 0.2},
                      windows={"seq_len": 24, "pred_len": 2, "target_kind": "log_return"})


@pytest.fixture(scope="module")
def exog_windows() -> Windows:
    return load_windows(planted())


def step1_ratio(result) -> float:
    pred, target, last = result.test_predictions
    return float(np.abs(pred[:, 0] - target[:, 0]).mean() / np.abs(last - target[:, 0]).mean())


def test_planted_exog_leads_the_next_return_with_the_stated_r2():
    _, feats = load_features(planted(hours=20_000))
    frame = feats.frame
    nxt = frame["log_return"].shift(-1)
    ok = nxt.notna()
    r2 = np.corrcoef(frame["exog_signal"][ok], nxt[ok])[0, 1] ** 2
    assert r2 == pytest.approx(0.10, abs=0.02)
    same_bar = np.corrcoef(frame["exog_signal"], frame["log_return"])[0, 1] ** 2
    assert same_bar < 0.002  # it leads: the value visible at t says nothing about the bar that ended at t
    _, noise = load_features(planted("noise_exog", hours=20_000))
    nxt = noise.frame["log_return"].shift(-1)
    assert np.corrcoef(noise.frame["exog_signal"][nxt.notna()], nxt[nxt.notna()])[0, 1] ** 2 < 0.002


def test_exog_series_only_in_the_external_set_and_exog_r2_only_for_planted_exog():
    _, basic = load_features(planted(feature_set="CRYPTEX_BASIC"))
    assert "exog_signal" not in basic.names
    with pytest.raises(ValueError, match="exog_r2=0.2 only applies to kind planted_exog"):
        DataConfig(synthetic={"kind": "martingale", "exog_r2": 0.2})


@pytest.mark.parametrize("kind", ["ridge", "lightgbm"])
def test_tabular_models_use_the_exogenous_column_and_not_noise(kind, exog_windows):
    # 4,000 hours cover five months: the test period's month encodings lie outside the training
    # period's, which a lightly penalised ridge extrapolates into a bias; alpha 100 (inside the
    # searched range) keeps that small, as a search would find
    model = ModelConfig(kind=kind, tabular={"alpha": 100.0} if kind == "ridge" else {})
    result = run_experiment(planted(), model, TrainConfig(), windows=exog_windows)
    assert step1_ratio(result) < 0.98  # the oracle's ratio is about sqrt(1 - 0.1) = 0.95
    assert set(result.test) == set(result.test_random_walk) and result.fitted is not None
    noise = run_experiment(planted("noise_exog"), model, TrainConfig())
    assert step1_ratio(noise) > 0.98


def test_feature_importance_ranks_the_exogenous_column_first(exog_windows):
    result = run_experiment(planted(), ModelConfig(kind="lightgbm"), TrainConfig(), windows=exog_windows)
    val = tabular.make_table(exog_windows, exog_windows.val, 3, return_zero(exog_windows))
    table = tabular.importance(result.fitted, val, repeats=2)
    assert table["feature"].iloc[0] == "exog_signal"
    assert table.set_index("feature")["gain"].idxmax() == "exog_signal"
    # close is left out, open/high/low enter relative to it, and three lags join
    assert len(table) == len(exog_windows.columns) - 1 + 3
    assert {"log_open_to_close", "log_high_to_close", "log_low_to_close", "log_return_change_3"} <= set(table["feature"])


def test_covariate_timellm_untrained_equals_channel_independent_and_trained_uses_the_series(exog_windows):
    torch.manual_seed(0)
    plain = build_model(ModelConfig(**SMALL), exog_windows)
    torch.manual_seed(0)
    cov = build_model(ModelConfig(**SMALL, covariates=True), exog_windows)
    x, _ = next(iter(torch.utils.data.DataLoader(exog_windows.val, batch_size=16)))
    plain.eval(), cov.eval()
    with torch.no_grad():
        a = plain(model_input(exog_windows, x))
        b = cov(model_input(exog_windows, x, covariates=True))
    torch.testing.assert_close(a, b)
    # seed-fragile, as benchmarks/results/covariates.json measures (2 of 3 seeds beat the random walk):
    # with today's packages seed 0 stops early after epoch 1 (ratio 1.076), seeds 1 and 2 reach 0.965 and 0.972
    ratios = []
    for seed in range(3):
        train = TrainConfig(epochs=4, max_train_windows=1024, batch_size=32, learning_rate=3e-3, seed=seed)
        result = run_experiment(planted(), ModelConfig(**SMALL, covariates=True), train, windows=exog_windows)
        ratios.append(step1_ratio(result))
        if sum(r < 0.985 for r in ratios) == 2:
            break
    assert sum(r < 0.985 for r in ratios) == 2, ratios


def test_model_input_puts_the_target_first():
    w = load_windows(DataConfig(synthetic={"hours": 1500}, windows={"seq_len": 24, "pred_len": 2}))
    x, _ = w.train[0]
    k = w.target_position
    got = model_input(w, x[None], covariates=True)[0]
    assert torch.equal(got[:, 0], x[:, k]) and got.shape == x.shape
    assert torch.equal(got[:, 1:], torch.cat([x[:, :k], x[:, k + 1:]], dim=1))


def _forecasts(net_or_fitted, windows: Windows, values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    t = windows.test
    ds = WindowDataset(values, t.period, t.seq_len, t.pred_len, t.target, t.mode, starts=starts)
    if isinstance(net_or_fitted, tabular.DirectForecaster):
        return tabular.forecast(net_or_fitted, tabular.make_table(windows, ds, 3, None))
    x = torch.stack([ds[i][0] for i in range(len(ds))])
    with torch.no_grad():
        return net_or_fitted(model_input(windows, x, covariates=True)).numpy()


@pytest.fixture(scope="module")
def causal_models():
    data = DataConfig(synthetic={"hours": 1500}, feature_set="CRYPTEX_ENHANCED", windows={"seq_len": 24, "pred_len": 2})
    windows = load_windows(data)
    models = {kind: run_experiment(data, ModelConfig(kind=kind), TrainConfig(), windows=windows,
                                   evaluate_test=False).fitted for kind in ("ridge", "lightgbm")}
    torch.manual_seed(0)
    net = build_model(ModelConfig(**SMALL, covariates=True, output="direct"), windows)
    for p in net.covariates.parameters():  # non-zero covariate path, so that it could leak if it looked ahead
        torch.nn.init.normal_(p, std=0.1)
    models["timellm_covariates"] = net.eval()
    return windows, models


@settings(max_examples=10, deadline=None)
@given(cut=st.integers(min_value=30, max_value=150), kind=st.sampled_from(["ridge", "lightgbm", "timellm_covariates"]))
def test_a_forecast_made_at_t_never_changes_when_everything_after_t_changes(causal_models, cut, kind):
    windows, models = causal_models
    t = windows.test
    first = t.period.start
    starts = np.arange(first, first + cut - t.seq_len + 1)  # windows whose last input row is before first + cut
    values = t.values.copy()
    changed = values.copy()
    changed[first + cut:] = np.random.default_rng(cut).normal(size=changed[first + cut:].shape) * 5
    before = _forecasts(models[kind], windows, values, starts)
    after = _forecasts(models[kind], windows, changed, starts)
    np.testing.assert_array_equal(before, after)


def test_documented_errors(exog_windows):
    with pytest.raises(ParamsError, match="ridge fits least squares, but train.loss=MAE"):
        run_experiment(planted(), ModelConfig(kind="ridge"), TrainConfig(loss="MAE"), windows=exog_windows)
    with pytest.raises(ParamsError, match="lightgbm fits the losses MSE, MAE, ROBUST, not train.loss=MAPE"):
        run_experiment(planted(), ModelConfig(kind="lightgbm"), TrainConfig(loss="MAPE"), windows=exog_windows)
    with pytest.raises(ParamsError, match="model.tabular.lags=30 needs more than 30 input bars, but seq_len=24"):
        run_experiment(planted(), ModelConfig(kind="ridge", tabular={"lags": 30}), TrainConfig(), windows=exog_windows)
    ci = DataConfig(synthetic={"hours": 1500}, windows={"seq_len": 24, "pred_len": 2, "mode": "channel_independent"})
    with pytest.raises(ParamsError, match="model.covariates: true reads every column of a window"):
        run_experiment(ci, ModelConfig(**SMALL, covariates=True), TrainConfig(epochs=1))
    with pytest.raises(ParamsError, match="lightgbm and ridge read every feature of a window"):
        run_experiment(ci, ModelConfig(kind="ridge"), TrainConfig())
    only = DataConfig(synthetic={"hours": 1500}, windows={"seq_len": 24, "pred_len": 2, "features": ["close"]})
    with pytest.raises(ParamsError, match="the windows hold only the target 'close'"):
        run_experiment(only, ModelConfig(**SMALL, covariates=True), TrainConfig(epochs=1))
    with pytest.raises(ValueError, match="kind='ridge' is a tabular model and ignores the Time-LLM field.s. d_model=4; remove them, or choose one of the kinds timellm"):
        ModelConfig(kind="ridge", d_model=4)
    with pytest.raises(ValueError, match="kind='dlinear' is a baseline and ignores the tabular field.s. tabular; remove them, or choose one of the kinds lightgbm, ridge"):
        ModelConfig(kind="dlinear", tabular={"lags": 1})


def test_an_override_of_the_kind_drops_the_profiles_timellm_fields():
    profile = load_profile("smoke", ["model.kind=lightgbm"])
    assert profile.model.kind == "lightgbm" and profile.model.d_model == ModelConfig().d_model
    with pytest.raises(ParamsError, match="ignores the Time-LLM field.s. d_model=3"):
        load_profile("smoke", ["model.kind=ridge", "model.d_model=3"])
