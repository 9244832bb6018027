"""03_cv's library: the top trials of a holdout study cross-validated, a CV study read, the fallback to the
profile's configuration, pruning savings, the fold diagram; quick_cv_hpo; the cv mode of the command line."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from cryptexlab.cli import main
from cryptexlab.cv.validator import CrossValidator
from cryptexlab.errors import ParamsError
from cryptexlab.params import CVConfig, CVNotebook, DataConfig, ModelConfig, SearchConfig, TrainConfig
from cryptexlab.plots.cv import fold_diagram, fold_parts, fold_scores_figure, pruning_figure, regimes_figure
from cryptexlab.search import api
from cryptexlab.search.config import TrialConfig
from cryptexlab.search.storage import storage_for
from cryptexlab.search.tuner import run_search
from cryptexlab.stages.cv_study import (
    cross_validate_top,
    findings,
    folds_table,
    pruning_summary,
    regimes_table,
    scores_table,
    trials_folds,
)
from cryptexlab.stages.search_report import trials_table
from fake_runner import fake_cv_runner, fake_runner, fold_bias

DATA = DataConfig.model_validate({"synthetic": {"hours": 3000}, "feature_set": "CRYPTEX_BASIC",
                                  "windows": {"seq_len": 32, "pred_len": 6}})
BASE = TrialConfig(DATA, ModelConfig(kind="dlinear"), TrainConfig(epochs=1, max_train_windows=32, max_eval_windows=64))
CV = {"kind": "purged", "n_splits": 3, "n_regimes": 2, "bootstrap_reps": 100}


@pytest.fixture
def patched_runner(monkeypatch):
    """Every run of the tuner trains with the fake CV runner (instant, exact fold scores)."""
    import cryptexlab.search.tuner as tuner

    monkeypatch.setattr(tuner, "run_experiment", fake_cv_runner)


def holdout_study(tmp_path, n: int = 5) -> optuna.Study:
    search = SearchConfig(mode="training", n_trials=n, pruner="none", study_name="hold", storage=str(tmp_path / "s.journal"))
    return run_search(BASE, search, runner=fake_runner, show_progress_bar=False).study


def test_top_trials_of_a_holdout_study_are_scored_on_every_fold(tmp_path, patched_runner) -> None:
    source = holdout_study(tmp_path)
    ranked = sorted((t for t in source.trials if t.state == TrialState.COMPLETE), key=lambda t: t.value)
    section = CVNotebook(study_name="hold", storage=str(tmp_path / "s.journal"), cv_study_name="hold-cv", top_k=3,
                         cv=CVConfig.model_validate(CV))
    result = cross_validate_top(BASE, section)
    assert result.study.study_name == "hold-cv" and "3 best trials of study 'hold'" in result.origin
    cv_trials = result.study.trials
    assert [t.params for t in cv_trials] == [t.params for t in ranked[:3]]  # enqueued in holdout order
    assert all(t.state == TrialState.COMPLETE and len(t.user_attrs["cv_folds"]) == 3 for t in cv_trials)
    table = scores_table(result)
    assert list(table.index) == [1, 2, 3] and table["cv_mean"].is_monotonic_increasing
    for _, row in table.iterrows():
        trial = result.study.trials[int(row["trial"])]
        assert row["holdout_value"] == pytest.approx(ranked[int(row["trial"])].value)
        starts = [int(s[1][0]) for s in result.validator.splits]
        config = TrialConfig.from_trial(trial)
        expected = np.mean([fold_bias(config.model, config.train, s) for s in starts])
        assert row["cv_mean"] == pytest.approx(expected, rel=1e-6)
    folds = folds_table(result)
    assert len(folds) == 9 and set(folds["fold"]) == {0, 1, 2}
    regimes = regimes_table(result)
    assert set(regimes["regime"]) <= {0, 1} and (regimes["windows"] > 0).all()
    assert (regimes["ratio_low"] <= regimes["ratio"] + 1e-9).all() and (regimes["ratio_high"] >= regimes["ratio"] - 1e-9).all()
    summary = pruning_summary(result.study)
    assert summary["trials"] == 3 and summary["pruned"] == 0 and summary["saved_share"] == 0.0
    assert summary["fold_trainings_planned"] == summary["fold_trainings_run"] == 9
    text = findings(result)
    assert f"trial {int(table.iloc[0]['trial'])}" in text and "0 of 3 trials stopped early" in text
    for fig in (fold_diagram(result.validator), fold_scores_figure(folds, "mae"), regimes_figure(regimes, "mae"),
                pruning_figure(trials_folds(result.study))):
        assert fig.data


def test_extra_trials_are_pruned_fold_by_fold_and_the_savings_counted(tmp_path, patched_runner) -> None:
    holdout_study(tmp_path)
    section = CVNotebook(study_name="hold", storage=str(tmp_path / "s.journal"), cv_study_name="more", top_k=3,
                         extra_trials=8, space="training", cv=CVConfig.model_validate(CV))
    result = cross_validate_top(BASE, section)
    table = trials_folds(result.study)
    assert len(table) == 11
    summary = pruning_summary(result.study)
    assert summary["pruned"] == int((table["state"] == "PRUNED").sum()) > 0
    assert summary["fold_trainings_planned"] == 33 and summary["fold_trainings_run"] == int(table["folds_trained"].sum())
    assert summary["saved_share"] == pytest.approx(1 - summary["fold_trainings_run"] / 33)
    assert sum(summary["pruned_after_fold"].values()) == summary["pruned"]
    table = trials_table(result.study)  # 02_search's table: folds trained instead of the epoch pruned at
    assert "folds_trained" in table and "pruned_at_epoch" not in table
    assert table["folds_trained"].tolist() == trials_folds(result.study)["folds_trained"].tolist()
    assert "folds_trained" not in trials_table(optuna.load_study(study_name="hold", storage=storage_for(
        SearchConfig(study_name="hold", storage=str(tmp_path / "s.journal")))[0]))


def test_a_cross_validated_study_is_read_not_trained_again(tmp_path, patched_runner) -> None:
    search = SearchConfig(mode="training", n_trials=4, study_name="cvs", storage=str(tmp_path / "s.journal"),
                          cv=CVConfig.model_validate(CV))
    run_search(BASE, search, show_progress_bar=False)
    before = (tmp_path / "s.journal").read_bytes()
    result = cross_validate_top(BASE, CVNotebook(study_name="cvs", storage=str(tmp_path / "s.journal"), top_k=2))
    assert result.origin == "read from the cross-validated study 'cvs'" and len(result.top) == 2
    assert result.validator.cv == CVConfig.model_validate(CV)  # the study's own folds, not the section's default
    assert (tmp_path / "s.journal").read_bytes() == before


def test_without_a_study_the_profiles_own_configuration_is_cross_validated(tmp_path, patched_runner) -> None:
    base = TrialConfig(DATA, ModelConfig(), TrainConfig(epochs=1, learning_rate=0.002, max_train_windows=32))
    section = CVNotebook(study_name="none-yet", storage=str(tmp_path / "s.journal"), cv_study_name="own",
                         cv=CVConfig.model_validate(CV))
    result = cross_validate_top(base, section)
    assert result.origin.startswith("the profile's own configuration (no study 'none-yet'")
    (trial,) = result.study.trials
    assert trial.params["train.learning_rate"] == 0.002 and trial.params["model.d_model"] == base.model.d_model


def test_multi_objective_study_is_refused(tmp_path) -> None:
    optuna.create_study(study_name="two", storage=f"sqlite:///{tmp_path}/two.db", directions=["minimize", "minimize"])
    with pytest.raises(ParamsError, match=r"03_cv ranks by one objective, but study 'two' has 2"):
        cross_validate_top(BASE, CVNotebook(study_name="two", storage=f"sqlite:///{tmp_path}/two.db"))


def test_resuming_a_study_with_another_scoring_is_refused(tmp_path) -> None:
    run_search(BASE, SearchConfig(mode="training", n_trials=1, study_name="s", storage=str(tmp_path / "s.journal")),
               runner=fake_runner, show_progress_bar=False)
    cv = SearchConfig(mode="training", n_trials=2, study_name="s", storage=str(tmp_path / "s.journal"),
                      cv=CVConfig.model_validate(CV))
    with pytest.raises(ParamsError, match=r"study 's' scored its trials on the validation period, but this search "
                                          r"scores them by cross-validation"):
        run_search(BASE, cv, runner=fake_cv_runner, show_progress_bar=False)


def test_fold_parts_count_every_window_once() -> None:
    cv = CrossValidator(DATA, CVConfig(n_splits=3, embargo=4))
    parts = fold_parts(cv)
    n = cv.dev.n_windows
    per_fold = parts.groupby("fold")["windows"].sum()
    assert (per_fold == n).all()
    middle = parts[parts["fold"] == "fold 1"].set_index("part")["windows"].groupby(level=0).sum()
    assert middle["purge"] == 2 * 37 and middle["embargo"] == 4  # both sides of the middle block, then the embargo
    assert middle["test"] == len(cv.splits[1][1]) and middle["train"] == len(cv.splits[1][0])
    expanding = fold_parts(CrossValidator(DATA, CVConfig(kind="expanding", n_splits=3)))
    first = expanding[expanding["fold"] == "fold 0"].set_index("part")["windows"]
    assert first["purge"] == 37 and "embargo" not in first.index  # no training after the test block: nothing to purge


def test_quick_cv_hpo_ranks_configurations_with_intervals() -> None:
    params = [{"train.learning_rate": 1e-2}, {"train.learning_rate": 1e-3}, {"train.learning_rate": 3e-3}]
    out = api.quick_cv_hpo(DATA, params, cv_splits=3, runner=fake_cv_runner)
    ranking = out["ranking"]
    assert [p["train.learning_rate"] for p in ranking["parameters"]] == [1e-3, 3e-3, 1e-2]
    assert out["best_parameters"] == {"train.learning_rate": 1e-3} and out["best_value"] == ranking["cv_mean"].iloc[0]
    assert {"fold_0", "fold_1", "fold_2", "ci_low", "ci_high", "random_walk"} <= set(ranking.columns)
    assert (ranking["ci_low"] <= ranking["cv_mean"] * (1 + 1e-9)).all()
    assert len(out["results"]) == 3 and all(r.complete for r in out["results"])


@pytest.mark.parametrize("params,message", [
    ([], r"quick_cv_hpo needs at least one configuration"),
    ([{"train.learning_rat": 1e-3}], r"learning_rat"),
])
def test_quick_cv_hpo_errors(params, message) -> None:
    with pytest.raises(ParamsError, match=message):
        api.quick_cv_hpo(DATA, params, runner=fake_cv_runner)


SMALL = ["-p", "data.synthetic.hours=1500", "-p", "data.windows.seq_len=32", "-p", "data.windows.pred_len=8",
         "-p", "model.d_model=8", "-p", "model.d_ff=16", "-p", "model.n_heads=2", "-p", "model.num_tokens=32",
         "-p", "train.epochs=1", "-p", "train.max_train_windows=16", "-p", "train.max_eval_windows=32"]


def test_optimize_mode_cv_command(tmp_path, capsys) -> None:
    code = main(["optimize", "--mode", "cv", "--n-trials", "2", "--cv-splits", "2", "--cv-kind", "expanding",
                 "--storage", str(tmp_path / "cv.journal"), *SMALL])
    out = capsys.readouterr().out
    assert code == 0
    assert "study cv: 2 trials" in out and "cross-validated mae of trial" in out and "over 2 folds" in out
    study = optuna.load_study(study_name="cv", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "cv.journal"))))
    assert study.user_attrs["cv"]["kind"] == "expanding" and study.user_attrs["cv"]["n_splits"] == 2
    assert all(len(t.user_attrs["cv_folds"]) == 2 for t in study.trials if t.state == TrialState.COMPLETE)


def test_optimize_mode_cv_on_the_real_file(tmp_path, capsys, real_hourly) -> None:
    code = main(["optimize", "--mode", "cv", "--n-trials", "1", "--cv-splits", "2", "--json", "--data-path",
                 str(real_hourly), "--storage", str(tmp_path / "cv.journal"), *SMALL[6:]])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["studies"]["CRYPTEX_ENHANCED"]["states"] == {"COMPLETE": 1} and doc["best_value"] > 0


def test_optimize_cv_kind_refused_by_argparse(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["optimize", "--mode", "cv", "--cv-kind", "kfold"])
    assert "invalid choice: 'kfold'" in capsys.readouterr().err
