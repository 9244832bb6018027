"""Cross-validation inside the search: fold windows and scalers, regimes per fold, scores and intervals,
fold-wise pruning with the median and Wilcoxon pruners, and the errors."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from optuna.trial import TrialState

from cryptexlab.cv.folds import development, fold_regimes, fold_windows, make_splitter, training_rows
from cryptexlab.cv.validator import CrossValidator
from cryptexlab.data.source import load_features
from cryptexlab.data.splits import split_periods
from cryptexlab.errors import CryptexError, ParamsError
from cryptexlab.metrics import metric
from cryptexlab.params import CVConfig, DataConfig, ModelConfig, SearchConfig, TrainConfig
from cryptexlab.profiles import load_profile
from cryptexlab.search.config import TrialConfig
from cryptexlab.search.tuner import run_search
from fake_runner import fake_cv_runner, fold_bias

DATA = DataConfig.model_validate({"synthetic": {"hours": 3000}, "feature_set": "CRYPTEX_BASIC",
                                  "windows": {"seq_len": 32, "pred_len": 6}})
TRAIN = TrainConfig(epochs=1, max_train_windows=32, max_eval_windows=64)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return load_features(DATA)[1].frame


def test_development_period_stops_before_the_test_period(frame) -> None:
    dev = development(frame, DATA)
    test = split_periods(frame.index, DATA.split, gap=DATA.windows.pred_len)[2]
    assert len(dev.frame) == test.start - DATA.windows.pred_len  # the gap before the test period is left out too
    assert dev.n_windows == len(dev.frame) - 38 + 1
    assert dev.bar == "1h" and dev.target == "close"


def test_each_folds_scaler_is_fit_on_its_training_rows_only(frame) -> None:
    dev = development(frame, DATA)
    splits = list(make_splitter(CVConfig(n_splits=3), dev).split(range(dev.n_windows)))
    means = []
    for train, test in splits:
        w = fold_windows(dev, train, test)
        rows = training_rows(dev, train)
        np.testing.assert_allclose(w.scaler.mean_, dev.raw[rows].mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(w.scaler.scale_, dev.raw[rows].std(axis=0), rtol=1e-12)
        tested = np.zeros(len(dev.frame), dtype=bool)
        for s in test:
            tested[s:s + dev.span] = True
        assert not (rows & tested).any()  # no row of a test window ever reaches the scaler
        assert w.train.starts.tolist() == train.tolist() and w.val.starts.tolist() == test.tolist()
        x, y = w.val[0]
        start = int(test[0])
        np.testing.assert_allclose(x.numpy(), w.scaler.transform(dev.raw[start:start + 32]).astype(np.float32))
        means.append(w.scaler.mean_[dev.columns.index("close")])
    assert len(set(means)) == 3  # three folds, three different scalers
    assert not np.isclose(means[0], dev.raw[:, dev.columns.index("close")].mean())


@given(n=st.integers(60, 400), k=st.integers(2, 5), seq_len=st.integers(2, 10), pred_len=st.integers(1, 5),
       kind=st.sampled_from(["purged", "expanding", "blocked", "cpcv"]))
@settings(max_examples=100, deadline=None)
def test_training_rows_never_include_a_test_windows_row(n, k, seq_len, pred_len, kind) -> None:
    idx = pd.date_range("2024-01-01", periods=n, freq="1h", tz="UTC")
    frame = pd.DataFrame({"close": np.arange(n, dtype=float), "log_return": np.ones(n)}, index=idx)
    data = DataConfig.model_validate({"windows": {"seq_len": seq_len, "pred_len": pred_len},
                                      "split": {"train": 0.7, "val": 0.2, "test": 0.1}})
    try:
        dev = development(frame, data)
        splits = list(make_splitter(CVConfig(kind=kind, n_splits=k, n_test_groups=1), dev).split(range(dev.n_windows)))
    except CryptexError:
        return  # too little data for this split: refused, never a leaky fold
    for train, test in splits:
        rows = training_rows(dev, train)
        tested = {r for s in test.tolist() for r in range(s, s + dev.span)}
        assert not set(np.flatnonzero(rows).tolist()) & tested


def test_fold_regimes_are_fit_on_training_rows_only(frame) -> None:
    dev = development(frame, DATA)
    train, test = next(make_splitter(CVConfig(n_splits=3), dev).split(range(dev.n_windows)))
    labels = fold_regimes(dev, train, n_regimes=2).to_numpy()
    tested = np.zeros(len(dev.frame), dtype=bool)
    for s in test:
        tested[s:s + dev.span] = True
    shaken = frame.copy()  # the development period starts at the frame's first row
    col = shaken.columns.get_loc("close")
    shaken.iloc[np.flatnonzero(tested), col] *= np.exp(np.random.default_rng(0).normal(0, 0.05, tested.sum()))
    again = fold_regimes(development(shaken, DATA), train, n_regimes=2).to_numpy()
    before = np.flatnonzero(tested)[0]
    # the HMM never saw the test block: labels up to it are identical however the block's prices change
    np.testing.assert_array_equal(labels[:before], again[:before])
    assert not np.array_equal(labels[tested], again[tested])


def test_fold_scores_intervals_and_regimes(frame) -> None:
    model = ModelConfig(kind="dlinear")
    cv = CrossValidator(DATA, CVConfig(n_splits=3, n_regimes=2, bootstrap_reps=200), frame=frame)
    seen = []
    result = cv.run(model, TRAIN, report=lambda k, r: seen.append((k, len(r.folds))), runner=fake_cv_runner)
    assert seen == [(0, 1), (1, 2), (2, 3)] and result.complete
    for k, fold in enumerate(result.folds):
        start = int(cv.splits[k][1][0])
        assert fold.score == pytest.approx(fold_bias(model, TRAIN, start), rel=1e-6)
        assert fold.scored_windows == 64 and fold.test_windows == len(cv.splits[k][1])
        lo, hi = fold.interval
        assert lo == pytest.approx(fold.score, rel=1e-5) and hi == pytest.approx(fold.score, rel=1e-5)  # constant error
        s = fold.scored
        labelled = int(np.isfinite(s["regime"]).sum())  # the first bars are the HMM's warm-up: no regime yet
        assert sum(r["windows"] for r in fold.regimes) == labelled and labelled >= 60
        for r in fold.regimes:
            m = s["regime"] == r["regime"]
            assert r["score"] == pytest.approx(metric("mae", s["pred"][m], s["target"][m], s["last"][m]))
            assert r["interval"][0] == pytest.approx(r["score"], rel=1e-5)  # constant error: a point interval
            assert r["ratio_interval"][0] <= r["ratio"] * (1 + 1e-9) and r["ratio_interval"][1] >= r["ratio"] * (1 - 1e-9)
    assert result.mean == pytest.approx(np.mean(result.scores)) and result.std == pytest.approx(np.std(result.scores, ddof=1))
    summary = result.summary()
    assert summary["done"] == 3 and len(summary["folds"]) == 3 and "replications" not in summary["folds"][0]
    assert sum(r["windows"] for r in summary["regimes"]) == sum(np.isfinite(f.scored["regime"]).sum() for f in result.folds)


def test_real_training_per_fold_scores_the_model_beside_the_random_walk(frame) -> None:
    cv = CrossValidator(DATA, CVConfig(n_splits=2, n_regimes=2, bootstrap_reps=200), frame=frame)
    result = cv.run(ModelConfig(kind="dlinear"), TRAIN)
    for fold in result.folds:
        s = fold.scored
        assert fold.score == pytest.approx(metric("mae", s["pred"], s["target"], s["last"]), rel=1e-6)
        assert fold.interval[0] <= fold.score <= fold.interval[1]
        assert fold.random_walk == pytest.approx(np.abs(s["target"] - s["last"][:, None]).mean(), rel=1e-6)
        assert fold.windows_trained == 32


def test_errors_come_before_any_training(frame) -> None:
    with pytest.raises(ParamsError, match=r"objective 'train_seconds' is not one of val_mae"):
        CrossValidator(DATA, CVConfig(), objective="train_seconds", frame=frame)
    with pytest.raises(ParamsError, match=r"too many splits=50 for \d+ windows with test_size=\d+ and gap=1000"):
        CrossValidator(DATA, CVConfig(n_splits=50, kind="expanding", purge=1000), frame=frame)
    with pytest.raises(ParamsError, match=r"purge=3 \(3 windows\) is below seq_len \+ pred_len - 1 = 32 \+ 6 - 1 = 37"):
        CrossValidator(DATA, CVConfig(purge=3), frame=frame)


@pytest.mark.parametrize("doc,message", [
    ({"02_search.cv.purge": "'soon'"}, r"'soon' is neither a number of bars nor a duration"),
    ({"02_search.cv.kind": "cpcv", "02_search.cv.n_splits": "3", "02_search.cv.n_test_groups": "3"},
     r"cpcv needs 1 <= n_test_groups < n_splits, got n_test_groups=3 with n_splits=3"),
    ({"02_search.cv.kind": "purged", "02_search.objectives": "[val_mae, train_seconds]", "02_search.pruner": "none"},
     r"a cross-validated search scores one objective per fold"),
    ({"02_search.cv.kind": "kfold"}, r"kind"),
])
def test_profile_errors(doc, message) -> None:
    with pytest.raises(ParamsError, match=message):
        load_profile("quick", overrides=[f"{k}={v}" for k, v in doc.items()])


def cv_search(tmp_path, pruner: str, n_splits: int = 4, trials: int = 8) -> optuna.Study:
    search = SearchConfig(mode="training", n_trials=trials, pruner=pruner, study_name=pruner,
                          storage=str(tmp_path / f"{pruner}.journal"),
                          cv=CVConfig(n_splits=n_splits, n_regimes=2, bootstrap_reps=100))
    base = TrialConfig(DATA, ModelConfig(kind="dlinear"), TRAIN)
    return run_search(base, search, runner=fake_cv_runner, show_progress_bar=False).study


def test_median_pruner_stops_on_the_running_mean_and_keeps_partial_folds(tmp_path) -> None:
    study = cv_search(tmp_path, "median")
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert pruned and len(done) >= 3
    splitters = {t.user_attrs["cv_splitter"] for t in study.trials}
    assert len(splitters) == 1  # every trial is scored on the same folds
    for t in study.trials:
        folds = t.user_attrs["cv_folds"]
        scores = [f["score"] for f in folds]
        running = {k: float(np.mean(scores[:k + 1])) for k in range(len(scores))}
        assert t.intermediate_values == pytest.approx(running)
        if t.state == TrialState.PRUNED:
            assert len(folds) == t.user_attrs["cv_pruned_after_fold"] + 1 < 4
            assert t.user_attrs["windows"]["folds_trained"] == len(folds)
        else:
            assert len(folds) == 4 and t.value == pytest.approx(np.mean(scores))
            cv = t.user_attrs["cv"]
            assert cv["done"] == 4 and cv["std"] == pytest.approx(np.std(scores, ddof=1))
            assert cv["interval"][0] <= t.value <= cv["interval"][1] * (1 + 1e-9)
            assert {r["regime"] for r in cv["regimes"]} <= {0, 1}


def test_wilcoxon_pruner_pairs_per_fold_scores_and_never_prunes_the_last_fold(tmp_path) -> None:
    study = cv_search(tmp_path, "wilcoxon", n_splits=5, trials=8)
    for t in study.trials:
        scores = [f["score"] for f in t.user_attrs["cv_folds"]]
        assert t.intermediate_values == pytest.approx(dict(enumerate(scores)))
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert pruned  # a worse trial loses on every fold against the best: p = 1/16 < 0.1 after four folds
    assert all(t.user_attrs["cv_pruned_after_fold"] == 3 for t in pruned)


def test_unpruned_search_trains_every_fold(tmp_path) -> None:
    study = cv_search(tmp_path, "none", n_splits=3, trials=4)
    assert all(t.state == TrialState.COMPLETE and len(t.user_attrs["cv_folds"]) == 3 for t in study.trials)


def test_a_fold_too_short_for_the_regime_hmm_is_scored_without_regimes(frame) -> None:
    cv = CrossValidator(DATA, CVConfig(kind="expanding", n_splits=6, n_regimes=8, bootstrap_reps=100), frame=frame)
    result = cv.run(ModelConfig(kind="dlinear"), TRAIN, runner=fake_cv_runner)
    first = result.folds[0]
    assert first.regimes == [] and np.isfinite(first.score)
    assert "too few to fit 8 regimes" in cv.regime_notes[0]
    assert result.folds[-1].regimes  # later folds train on enough rows


def test_validators_are_shared_per_settings_and_rebuilt_for_a_rewritten_file(tmp_path, real_hourly) -> None:
    from cryptexlab.cv.validator import cross_validator

    cv = CVConfig(n_splits=2)
    assert cross_validator(DATA, cv) is cross_validator(DATA, cv)
    assert cross_validator(DATA, CVConfig(n_splits=3)) is not cross_validator(DATA, cv)
    path = tmp_path / "h.csv"
    path.write_bytes(real_hourly.read_bytes())
    data = DataConfig.model_validate({"path": str(path), "feature_set": "CRYPTEX_BASIC",
                                      "windows": {"seq_len": 32, "pred_len": 6}})
    first = cross_validator(data, cv)
    assert cross_validator(data, cv) is first
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-500]))  # the same path, 500 bars fewer
    again = cross_validator(data, cv)
    assert again is not first and again.dev.n_windows < first.dev.n_windows
