"""The feature set in the search: the tabular spaces, data.feature_set and its families in the
comprehensive space for the models that read them, and feature importance in 02_search."""

from __future__ import annotations

import json

import optuna
import pytest
from optuna.trial import FixedTrial

from cryptexlab.data.features import BASIC_COLUMNS, build_features
from cryptexlab.data.indicators import ENHANCED_FEATURES
from cryptexlab.data.prepare import load_windows
from cryptexlab.data.synthetic import synthetic_candles
from cryptexlab.errors import ParamsError
from cryptexlab.params import (
    FAMILY_PREFIX,
    FEATURE_FAMILIES,
    DataConfig,
    ModelConfig,
    SearchConfig,
    TrainConfig,
    parameter_names,
)
from cryptexlab.plots.feature_importance import importance_figure
from cryptexlab.profiles import check_profile, load_profile
from cryptexlab.search import spaces
from cryptexlab.search.config import TrialConfig
from cryptexlab.stages.search_report import (
    FOLD_COLUMNS,
    BestTrialSummary,
    best_trial_importance,
    importance_finding,
    summarize_best,
)

DATA = DataConfig.model_validate({"synthetic": {"hours": 1500}, "windows": {"seq_len": 32, "pred_len": 4}})
LIGHTGBM = TrialConfig(DATA, ModelConfig(kind="lightgbm"), TrainConfig())
RIDGE = TrialConfig(DATA, ModelConfig(kind="ridge"), TrainConfig())
T = "model.tabular."
LGBM_PARAMS = {T + "num_leaves": 16, T + "learning_rate": 0.1, T + "n_estimators": 200, T + "min_child_samples": 10,
               T + "feature_fraction": 0.5, T + "bagging_fraction": 0.8, T + "lambda_l1": 0.01, T + "lambda_l2": 1.0,
               T + "lags": 2}
FAMILIES_ON = {FAMILY_PREFIX + f: f in ("trend", "volume") for f in FEATURE_FAMILIES}


def sample(mode: str, base: TrialConfig, enqueue: dict | None = None) -> tuple[optuna.trial.Trial, TrialConfig]:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial(enqueue or {})
    trial = study.ask()
    return trial, spaces.space_for(mode)(trial, base, SearchConfig(mode=mode))


def test_lightgbm_space_sets_its_nine_parameters() -> None:
    cfg = spaces.quick(FixedTrial(LGBM_PARAMS), LIGHTGBM, SearchConfig())
    t = cfg.model.tabular
    assert (t.num_leaves, t.learning_rate, t.n_estimators, t.min_child_samples, t.feature_fraction,
            t.bagging_fraction, t.lambda_l1, t.lambda_l2, t.lags) == (16, 0.1, 200, 10, 0.5, 0.8, 0.01, 1.0, 2)
    assert cfg.data.feature_set == "CRYPTEX_BASIC"  # fixed modes do not search the feature set
    for mode in ("quick", "architecture", "training"):
        trial, _ = sample(mode, LIGHTGBM)
        assert set(trial.params) == {T + n for n in ("num_leaves", "learning_rate", "n_estimators", "min_child_samples",
                                                     "feature_fraction", "bagging_fraction", "lambda_l1", "lambda_l2",
                                                     "lags")}


def test_ridge_space_has_alpha_and_lags() -> None:
    trial, cfg = sample("quick", RIDGE)
    assert set(trial.params) == {T + "alpha", T + "lags"}
    assert cfg.model.tabular.alpha == trial.params[T + "alpha"] and 1e-3 <= cfg.model.tabular.alpha <= 1e3
    assert parameter_names(SearchConfig(), RIDGE.model) == {T + "alpha", T + "lags"}


def test_comprehensive_searches_the_feature_set_and_enhanceds_families() -> None:
    params = {**LGBM_PARAMS, "data.feature_set": "CRYPTEX_ENHANCED", **FAMILIES_ON}
    cfg = spaces.comprehensive(FixedTrial(params), LIGHTGBM, SearchConfig(mode="comprehensive"))
    assert cfg.data.feature_set == "CRYPTEX_ENHANCED" and cfg.data.feature_families == ["trend", "volume"]
    cfg = spaces.comprehensive(FixedTrial({**LGBM_PARAMS, "data.feature_set": "CRYPTEX_MULTISCALE"}), LIGHTGBM,
                               SearchConfig(mode="comprehensive"))
    assert cfg.data.feature_set == "CRYPTEX_MULTISCALE" and cfg.data.feature_families is None
    trial, cfg = sample("comprehensive", LIGHTGBM, {"data.feature_set": "CRYPTEX_ENHANCED"})
    assert {FAMILY_PREFIX + f for f in FEATURE_FAMILIES} <= set(trial.params)
    assert cfg.data.feature_families == [f for f in FEATURE_FAMILIES if trial.params[FAMILY_PREFIX + f]]
    names = parameter_names(SearchConfig(mode="comprehensive"), LIGHTGBM.model)
    assert set(trial.params) <= names and "data.feature_set" in names


def test_the_feature_set_is_searched_only_for_models_that_read_it() -> None:
    timellm = TrialConfig(DATA, ModelConfig(llm_layers=1), TrainConfig())
    trial, cfg = sample("comprehensive", timellm, {"model.d_layers": 1})
    assert "data.feature_set" not in trial.params and cfg.data.feature_set == "CRYPTEX_BASIC"
    covariates = TrialConfig(DATA, ModelConfig(llm_layers=1, covariates=True), TrainConfig())
    trial, _ = sample("comprehensive", covariates, {"model.d_layers": 1})
    assert "data.feature_set" in trial.params
    assert "data.feature_set" in parameter_names(SearchConfig(mode="comprehensive"), covariates.model)
    assert "data.feature_set" not in parameter_names(SearchConfig(mode="comprehensive"), timellm.model)


def test_external_is_a_choice_only_where_there_is_an_external_series() -> None:
    def choices(data: DataConfig) -> list[str]:
        study = optuna.create_study()
        trial = study.ask()
        spaces.tabular(trial, TrialConfig(data, ModelConfig(kind="ridge"), TrainConfig()), SearchConfig(mode="comprehensive"))
        return list(study.trials[0].distributions["data.feature_set"].choices)

    assert "CRYPTEX_EXTERNAL" not in choices(DATA)
    exog = DATA.model_copy(update={"synthetic": DATA.synthetic.model_copy(update={"kind": "planted_exog"})})
    assert choices(exog) == ["CRYPTEX_BASIC", "CRYPTEX_ENHANCED", "CRYPTEX_EXTERNAL", "CRYPTEX_MULTISCALE",
                             "CRYPTEX_REGIME_AWARE"]


def test_feature_families_keep_exactly_their_columns() -> None:
    candles = synthetic_candles("default", 600, 0).frame
    frame = build_features(candles, "CRYPTEX_ENHANCED", options=_families(("momentum", "calendar"))).frame
    momentum = [s.name for s in ENHANCED_FEATURES if s.family == "momentum"]
    calendar = ["hour_sin", "hour_cos", "dow_sin", "dow_cos", "month_sin", "month_cos", "is_weekend"]
    assert list(frame.columns) == [*BASIC_COLUMNS, *momentum, *calendar]
    assert list(build_features(candles, "CRYPTEX_ENHANCED", options=_families(())).frame.columns) == BASIC_COLUMNS
    full = build_features(candles, "CRYPTEX_ENHANCED").frame
    assert full[momentum].equals(frame[momentum])  # the same values as in the full set
    windows = load_windows(DataConfig(synthetic={"hours": 1500}, feature_set="CRYPTEX_ENHANCED",
                                      feature_families=["candle"], windows={"seq_len": 24, "pred_len": 2}))
    assert windows.columns == [*BASIC_COLUMNS, *(s.name for s in ENHANCED_FEATURES if s.family == "candle")]


def _families(families: tuple[str, ...]):
    from cryptexlab.data.features import FeatureOptions

    return FeatureOptions(families=families)


def test_feature_families_outside_enhanced_are_refused() -> None:
    with pytest.raises(ValueError, match=r"feature_families=\['trend'\] selects columns of CRYPTEX_ENHANCED, but "
                                         r"feature_set is CRYPTEX_BASIC; set data.feature_set: CRYPTEX_ENHANCED or "
                                         r"feature_families: null"):
        DataConfig(feature_families=["trend"])
    with pytest.raises(ValueError, match="feature_families.0"):
        DataConfig(feature_set="CRYPTEX_ENHANCED", feature_families=["trends"])


def test_enqueued_tabular_parameters_are_checked_against_the_tabular_space() -> None:
    profile = load_profile("smoke", overrides=["model.kind=lightgbm", '02_search.enqueue=[{"model.tabular.num_leaves": 8}]'])
    check_profile(profile)  # a lightgbm parameter is a parameter of the lightgbm space
    with pytest.raises(ParamsError, match=r"\['model.tabular.num_leave'\] are not parameters of the quick space, so the "
                                          r"trial would ignore them \(model.tabular.num_leave: did you mean "
                                          r"model.tabular.num_leaves\?\)"):
        load_profile("smoke", overrides=["model.kind=lightgbm", '02_search.enqueue=[{"model.tabular.num_leave": 8}]'])


# ------------------------------------------------------------------ feature importance


@pytest.fixture(scope="module")
def enhanced() -> TrialConfig:
    data = DataConfig(synthetic={"hours": 1500}, feature_set="CRYPTEX_ENHANCED", windows={"seq_len": 24, "pred_len": 2})
    return TrialConfig(data, ModelConfig(kind="lightgbm", tabular={"n_estimators": 40}), TrainConfig())


def test_best_trial_importance_ranks_every_input(enhanced) -> None:
    windows = load_windows(enhanced.data)
    table = best_trial_importance(enhanced.data, enhanced.model, enhanced.train, windows, repeats=2)
    assert len(table) == len(windows.columns) - 1 + 3 and table["permutation"].is_monotonic_decreasing
    assert table["gain_share"].sum() == pytest.approx(1.0)
    text = importance_finding(table, "lightgbm")
    assert text.startswith(f"**Feature importance (lightgbm, validation windows).** Shuffling `{table['feature'][0]}`")
    assert f"the most of the {len(table)} inputs" in text
    fig = importance_figure(table, top=10)
    assert [t.name for t in fig.data] == ["permutation", "gain share"] and len(fig.data[0].y) == 10
    assert list(fig.data[0].y)[::-1] == list(table["feature"][:10])  # most important at the top


def test_importance_of_a_timellm_model_is_refused(enhanced) -> None:
    with pytest.raises(ParamsError, match="feature importance is computed for the tabular kinds lightgbm, ridge, "
                                          "not model.kind=timellm"):
        best_trial_importance(enhanced.data, ModelConfig(), enhanced.train, load_windows(enhanced.data))


@pytest.mark.slow
def test_02_search_shows_the_importance_of_a_lightgbm_search(tmp_path) -> None:
    from cryptexlab.pipeline import run_profile

    profile = load_profile("smoke", overrides=["model.kind=lightgbm", "data.feature_set=CRYPTEX_ENHANCED",
                                               f"02_search.storage={tmp_path / 's.journal'}"])
    result = run_profile(profile, profile_name="lgbm", only=["02_search"], reports_dir=tmp_path, echo=lambda _: None)
    assert result.ok, result
    run = (tmp_path / "latest").resolve()
    page = (run / "02_search.html").read_text()
    assert "Feature importance (lightgbm, validation windows).** Shuffling" not in page  # rendered, not raw markdown
    assert "Feature importance (lightgbm, validation windows)." in page and "Which inputs the model uses (top 20 of" in page
    details = json.loads((run / "02_search.metrics.json").read_text())["details"]
    assert len(details["importance"]) == 20 and {"feature", "gain", "permutation"} <= set(details["importance"][0])


def fake_study(*trials: dict) -> optuna.Study:
    """An in-memory study holding completed trials with the given values, parameters and user attributes."""
    study = optuna.create_study(direction="minimize")
    for t in trials:
        study.add_trial(optuna.trial.create_trial(
            value=t["value"], params=t.get("params", {"lr": 0.01}),
            distributions={"lr": optuna.distributions.FloatDistribution(1e-4, 1.0, log=True)},
            user_attrs=t["attrs"]))
    return study


HOLDOUT_ATTRS = {"val": {"mae": 3.0, "rmse": 4.0}, "val_random_walk": {"mae": 2.0, "rmse": 2.5},
                 "config": RIDGE.to_dict()}
FOLD = {"fold": 0, "score": 1.5, "random_walk": 2.0, "interval": [1.2, 1.8], "test_first": "2024-01-02",
        "test_last": "2024-01-03", "scored_windows": 40, "seconds": 1.0, "device": "cpu"}
CV_ATTRS = {"val": {"mae": 1.5}, "val_random_walk": {"mae": 2.0},
            "cv": {"metric": "mae", "mean": 1.5, "done": 2, "random_walk_mean": 2.0, "planned": 2},
            "cv_folds": [FOLD, {**FOLD, "fold": 1, "score": 1.5}]}


def test_summary_of_a_holdout_best_trial() -> None:
    study = fake_study({"value": 9.0, "attrs": {**HOLDOUT_ATTRS, "val": {"mae": 9.0}}},
                       {"value": 3.0, "params": {"lr": 0.5}, "attrs": HOLDOUT_ATTRS})
    s = summarize_best(study)
    assert s.found and s.number == 1 and s.params == {"lr": 0.5} and not s.cross_validated
    assert s.val == {"mae": 3.0, "rmse": 4.0} and s.val_random_walk == {"mae": 2.0, "rmse": 2.5}
    assert s.mae_vs_random_walk == 1.5 and s.cv is None and s.folds is None
    assert s.headline() == "Best trial 1: `{'lr': 0.5}`"
    assert s.config == RIDGE
    assert s.tables() == [] and s.figures() == [] and s.comparison_records() is None  # no baselines trained yet


def test_a_holdout_summary_with_baselines_shows_the_comparison() -> None:
    s = summarize_best(fake_study({"value": 3.0, "attrs": HOLDOUT_ATTRS})).with_baselines(TrainConfig(),
                                                                                          kinds=("random_walk",))
    assert s.comparison is not None and [t is s.comparison for t in s.tables()] == [True]
    assert len(s.figures()) == 1
    assert s.comparison_records() == [{"model": "best trial", "mae": 3.0, "rmse": 4.0, "mae_vs_random_walk": 1.5},
                                      {"model": "random_walk", "mae": 2.0, "rmse": 2.5, "mae_vs_random_walk": 1.0}]


def test_summary_of_a_cross_validated_best_trial() -> None:
    s = summarize_best(fake_study({"value": 1.5, "attrs": CV_ATTRS}))
    assert s.cross_validated and s.number == 0 and s.cv == CV_ATTRS["cv"]
    assert s.folds is not None and list(s.folds.columns) == list(FOLD_COLUMNS)
    assert s.folds["fold"].tolist() == [0, 1] and s.folds["scored_windows"].tolist() == [40, 40]
    assert s.mae_vs_random_walk == 0.75
    assert s.headline() == ("Best trial 0: cross-validated mae 1.5 over 2 folds against the random walk's 2 on the "
                            "same windows; folds, regimes and pruning in 03_cv. `{'lr': 0.01}`")
    assert s.with_baselines(TrainConfig()) is s  # its folds compare it with the random walk: nothing is trained
    assert [t is s.folds for t in s.tables()] == [True] and s.figures() == [] and s.comparison_records() is None


def test_summary_without_a_completed_trial() -> None:
    study = optuna.create_study()
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL, user_attrs={"failure_reason": "x"}))
    s = summarize_best(study)
    assert s == BestTrialSummary(None) and not s.found and s.number is None and s.config is None
    assert s.mae_vs_random_walk is None and s.params == {}
    assert s.headline() == "No trial completed: see the failures above."
    assert s.with_baselines(TrainConfig()) is s and s.tables() == [] and s.figures() == []
