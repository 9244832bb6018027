"""Optimisation analysis (05_analysis): convergence, importance, distribution, correlation, Pareto,
comparison, trial attributes, robustness, the comprehensive report, the explorer and the analyze mode."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import FloatDistribution
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.trial import TrialState, create_trial

from cryptexlab import cli
from cryptexlab.analysis import convergence, generate_comprehensive_report
from cryptexlab.analysis.attributes import outcome_table, outcomes
from cryptexlab.analysis.compare import LoadedStudy, bootstrap_best
from cryptexlab.analysis.correlation import correlation_matrix, strongest_pairs
from cryptexlab.analysis.distribution import distribution_stats
from cryptexlab.analysis.explorer import StudyExplorer
from cryptexlab.analysis.fake import synthetic_study
from cryptexlab.analysis.findings import findings_markdown, headline
from cryptexlab.analysis.importance import correlation_importance, importance_table
from cryptexlab.analysis.load import find_studies, param_kinds, trials_frame
from cryptexlab.analysis.pareto import pareto_table
from cryptexlab.analysis.robustness import robustness_table
from cryptexlab.errors import ParamsError
from cryptexlab.reports import render_html


@pytest.fixture(scope="module")
def journal(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("analysis") / "a.journal")
    storage = JournalStorage(JournalFileBackend(path))
    synthetic_study(400, storage, name="known", seed=0)
    synthetic_study(120, storage, name="other", seed=1, noise=0.05)
    synthetic_study(150, storage, name="multi", seed=2, multi=True)
    return path


@pytest.fixture(scope="module")
def report(journal):
    return generate_comprehensive_report([], journal)


def loaded(study: optuna.Study) -> LoadedStudy:
    return LoadedStudy(study.study_name, "memory", study, trials_frame(study))


def test_convergence_fit_recovers_a_planted_decay() -> None:
    n = np.arange(1, 201)
    best = 1.0 + 0.5 * np.exp(-(n - 1) / 20.0)
    frame = pd.DataFrame({"number": n - 1, "state": "COMPLETE", "value": best})
    c = convergence.convergence(frame, "minimize")
    assert c.method == "fit" and c.fit["tau"] == pytest.approx(20.0, rel=1e-3) and c.fit["a"] == pytest.approx(1.0, abs=1e-4)
    assert c.point_n == pytest.approx(1 + 20.0 * np.log(20), rel=1e-3) and c.converged  # n95 = 60.9 of 200
    assert c.point == 60  # the 61st completed trial (numbers start at 0)
    short = convergence.convergence(frame.head(40), "minimize")
    assert not short.converged and short.point is None  # 40 trials: not past n95 yet


def test_convergence_without_a_fit_uses_the_empirical_rule() -> None:
    frame = pd.DataFrame({"number": range(4), "state": "COMPLETE", "value": [3.0, 2.0, 1.05, 1.0]})
    c = convergence.convergence(frame, "minimize")
    assert c.method == "empirical" and c.fit is None and c.point_n == 3.0  # 1.95 of 2.0 by trial 3
    assert not c.converged and c.point is None  # but 4 completed trials are too few to call it converged
    maximize = convergence.best_so_far(pd.DataFrame({"number": [0, 1, 2], "state": "COMPLETE", "value": [1.0, 3.0, 2.0]}),
                                       "maximize")
    assert list(maximize["best"]) == [1.0, 3.0, 3.0]


def test_importances_find_the_planted_parameter_and_flag_the_seeds_ranking(journal) -> None:
    study = optuna.load_study(study_name="known", storage=JournalStorage(JournalFileBackend(journal)))
    table = importance_table(study, trials_frame(study))
    assert table["fanova"].idxmax() == "train.learning_rate" and table["ped_anova"].idxmax() == "train.learning_rate"
    assert list(table.columns[:3]) == ["ped_anova", "fanova", "correlation"]
    assert table[["ped_anova", "fanova", "correlation"]].sum().round(6).tolist() == [1.0, 1.0, 1.0]
    # the learning rate's effect is U-shaped around 1e-3: Spearman misses it, and it is flagged
    assert table.loc["train.learning_rate", "disagree"] and table["correlation"].idxmax() != "train.learning_rate"
    assert not table.loc["model.dropout", "disagree"]  # no method finds anything in dropout
    assert table.attrs["fanova_trials"] == 300  # capped: 300 of the completed trials


def test_correlation_importance_exact_values() -> None:
    frame = pd.DataFrame({"state": "COMPLETE", "value": [1.0, 2.0, 3.0, 4.0], "params.x": [4, 3, 2, 1],
                          "params.c": ["a", "a", "b", "b"]})
    got = correlation_importance(frame, ["x", "c"])
    assert got["x"] == pytest.approx(1.0)  # |rho| = 1
    assert got["c"] == pytest.approx(np.sqrt(4 * 1.0**2 / 5.0))  # eta: between-group 4, total 5


def test_distribution_statistics(report) -> None:
    stats = distribution_stats(np.array([1.0, 2.0, 3.0, 4.0, 10.0]))
    assert stats["n"] == 5 and stats["mean"] == 4.0 and stats["median"] == 3.0 and stats["best"] == 1.0
    assert stats["q1"] == 2.0 and stats["q3"] == 4.0 and stats["skew"] > 1 and 0 < stats["shapiro_p"] < 0.2
    d = report.summary["studies"]["known"]["distribution"]
    assert d["n"] == report.summary["studies"]["known"]["states"]["COMPLETE"] and d["shapiro_p"] < 0.05


def test_correlation_matrix_codes_text_choices(journal) -> None:
    study = optuna.load_study(study_name="known", storage=JournalStorage(JournalFileBackend(journal)))
    corr = correlation_matrix(trials_frame(study))
    assert "train.loss=MSE" in corr.columns and "train.loss" not in corr.columns and corr.columns[-1] == "value"
    assert np.allclose(np.diag(corr), 1.0) and corr.loc["model.d_model", "value"] < 0  # d_model 8 costs 0.1
    pairs = strongest_pairs(corr, 3)
    assert len(pairs) == 3 and abs(pairs[0]["rho"]) >= abs(pairs[1]["rho"]) >= abs(pairs[2]["rho"])


def test_pareto_front_of_a_multi_objective_study(journal, report) -> None:
    study = optuna.load_study(study_name="multi", storage=JournalStorage(JournalFileBackend(journal)))
    front = pareto_table(study)
    assert list(front.columns[:3]) == ["trial", "val_mae", "train_seconds"] and len(front) == len(study.best_trials)
    values = front[["val_mae", "train_seconds"]].to_numpy()
    for a in values:  # no trial on the front is beaten on both objectives by another
        assert not ((values <= a).all(axis=1) & (values < a).any(axis=1)).any()
    assert report.summary["studies"]["multi"]["pareto"]["trials_on_front"] == len(front)
    assert "pareto" in report.figures["multi"] and "pareto" not in report.figures["known"]


def test_bootstrap_interval_of_the_best_value() -> None:
    values = np.arange(1.0, 101.0)
    lo, hi = bootstrap_best(values, "minimize", reps=2000)
    assert lo == 1.0 and 1.0 < hi <= 5.0  # the best of a resample is the minimum unless it was left out
    assert bootstrap_best(values, "maximize")[1] == 100.0
    assert np.isnan(bootstrap_best(np.array([]), "minimize")[0])


def test_comparison_table_and_finding(journal, report) -> None:
    table = report.tables["_comparison"]["table"].set_index("study")
    assert set(table.index) == {"known", "other", "multi"}
    assert table.loc["known", "trials"] == 400 and table.loc["known", "best_ci_low"] <= table.loc["known", "best"]
    assert table.loc["known", "best"] <= table.loc["known", "best_ci_high"]
    group = report.summary["comparison"]["groups"][0]
    storage = JournalStorage(JournalFileBackend(journal))
    bests = {name: min(t.values[0] for t in optuna.load_study(study_name=name, storage=storage).trials
                       if t.state == TrialState.COMPLETE) for name in ("known", "other", "multi")}
    assert sorted(bests, key=bests.__getitem__) == ["other", "multi", "known"]  # 0.943 < 0.967 < 0.974
    assert group["metric"] == "val_mae" and group["best_study"] == "other" and group["best"] == bests["other"]
    assert group["runner_up"] == "multi" and group["runner_up_best"] == bests["multi"]
    text = findings_markdown(report)
    assert f"**Comparison (val_mae):** `{group['best_study']}` has the best value" in text
    assert "**known** (val_mae, minimize; 400 trials:" in text


def test_outcomes_fold_failures_and_stops() -> None:
    frame = pd.DataFrame({"state": ["COMPLETE", "FAIL", "PRUNED", "FAIL", "COMPLETE"],
                          "stop_reason": ["completed", None, "pruned", None, "early_stopped"],
                          "failure_reason": [None, "invalid: d_model 7", None, "memory_budget: 900 MiB", None],
                          "duration_s": [1.0, 0.1, 0.5, 0.2, 3.0]})
    assert list(outcomes(frame)) == ["completed", "invalid", "pruned", "memory_budget", "early_stopped"]
    table = outcome_table(frame)
    assert table.loc["early_stopped", "mean_duration_s"] == 3.0 and table["trials"].sum() == 5


def test_robustness_reads_the_neighbours_from_existing_trials() -> None:
    dist = {"x": FloatDistribution(0.0, 1.0), "y": FloatDistribution(0.0, 1.0)}
    rows = [({"x": 0.5, "y": 0.5}, 1.0), ({"x": 0.4, "y": 0.52}, 1.3), ({"x": 0.7, "y": 0.48}, 1.1),
            ({"x": 0.9, "y": 0.9}, 2.0), ({"x": 0.5, "y": 0.0}, 1.6), ({"x": 0.0, "y": 1.0}, 3.0)]
    study = optuna.create_study()
    study.add_trials([create_trial(params=p, distributions=dist, value=v, state=TrialState.COMPLETE) for p, v in rows])
    table = robustness_table(loaded(study), param_kinds(study)).set_index("parameter")
    x = table.loc["x"]
    assert (x["below_trial"], x["below_score"], x["above_trial"], x["above_score"]) == (1, 1.3, 2, 1.1)
    assert x["worst_change"] == pytest.approx(0.3)
    y = table.loc["y"]  # near in x (within 15% of x's range 0..0.9): trials 1 (x 0.4) and 4 (x 0.5)
    assert (y["neighbours"], y["below_trial"], y["below_score"], y["above_trial"]) == (2, 4, 1.6, 1)
    assert table.loc["x", "neighbours"] == 2  # trials 3 and 5 are far from the best in y: neither counts


def test_report_json_holds_every_part_and_the_timings(journal, tmp_path) -> None:
    out = tmp_path / "summary.json"
    rep = generate_comprehensive_report(["known"], journal, json_path=out, figures=False)
    doc = json.loads(out.read_text())
    study = doc["studies"]["known"]
    assert set(study) >= {"convergence", "importance", "distribution", "correlation", "attributes", "robustness"}
    assert study["convergence"]["rule"] == convergence.RULE and study["trials"] == 400
    assert set(doc["seconds"]) >= {"load", "convergence", "importance", "robustness", "total"}
    assert rep.figures == {} and "comparison" not in doc  # one study: nothing to compare
    assert headline(rep)["first_study"] == "known" and headline(rep)["top_parameter"] == "train.learning_rate"


def test_unknown_study_names_the_storage_and_what_it_holds(journal, tmp_path) -> None:
    with pytest.raises(ParamsError, match=rf"no study named 'nope' in {journal}; it holds known, multi, other"):
        find_studies(journal, ["nope"])
    with pytest.raises(ParamsError, match="no study storage at .*missing.journal: give a journal file"):
        find_studies(str(tmp_path / "missing.journal"))


def test_explorer_builds_and_reacts(report) -> None:
    explorer = StudyExplorer(report.studies)
    assert explorer.study.value == "known" and explorer.x.value == "train.learning_rate"
    best = report.summary["studies"]["known"]["robustness"]["best_trial"]
    assert explorer.trial.value == best and explorer.figure.data[-1].name == f"trial {best}"
    explorer.y.value = "model.dropout"
    assert explorer.figure.layout.yaxis.title.text == "model.dropout"
    explorer.trial.value = 3
    assert explorer.trial_table.loc["number", "value"] == 3
    explorer.study.value = "other"
    assert explorer.current.name == "other" and explorer.figure.layout.title.text.startswith("other:")
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "Study explorer" in bundle["text/html"]


def test_report_keeps_the_explorers_static_view(tmp_path, report) -> None:
    import nbformat

    bundle = StudyExplorer(report.studies)._repr_mimebundle_()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("explorer", outputs=[
        nbformat.v4.new_output("display_data", data=bundle),
        nbformat.v4.new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "x"},
                                                     "text/plain": "HBox(...)"})])])
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    page = render_html(path, tmp_path / "nb.html").read_text()
    assert "Study explorer</b> (interactive in JupyterLab" in page and "HBox(...)" not in page


def test_analyze_mode_prints_json_and_refuses_unknown_studies(journal, capsys) -> None:
    assert cli.main(["optimize", "--mode", "analyze", "--storage", journal, "--studies", "known", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc["studies"]) == ["known"] and doc["studies"]["known"]["importance"]["top"]["fanova"] == "train.learning_rate"
    assert cli.main(["optimize", "--mode", "analyze", "--storage", journal, "--studies", "known", "other"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("known (val_mae, minimize; 400 trials:") and "Comparison (val_mae):" in text
    assert cli.main(["optimize", "--mode", "analyze", "--storage", journal, "--studies", "missing"]) == 2
    assert f"error: no study named 'missing' in {journal}; it holds known, multi, other" in capsys.readouterr().err
    assert cli.main(["optimize", "--mode", "quick", "--studies", "known"]) == 2
    assert "--studies, --create-plots and --reports belong to --mode analyze" in capsys.readouterr().err


@pytest.mark.slow
def test_analyze_mode_creates_the_report(journal, tmp_path, capsys) -> None:
    assert cli.main(["optimize", "--mode", "analyze", "--storage", journal, "--studies", "known", "multi",
                     "--create-plots", "--reports", str(tmp_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["studies"]) == {"known", "multi"} and "comparison" in doc
    page = next(tmp_path.glob("*/05_analysis.html")).read_text()
    assert "Study explorer</b> (interactive in JupyterLab" in page and "Pareto front" in page


def test_edge_studies_give_findings_not_tracebacks(tmp_path) -> None:
    storage = JournalStorage(JournalFileBackend(str(tmp_path / "edge.journal")))
    optuna.create_study(study_name="empty", storage=storage)
    failed = optuna.create_study(study_name="failed", storage=storage)
    failed.add_trials([create_trial(state=TrialState.FAIL, params={"x": 0.5}, distributions={"x": FloatDistribution(0, 1)},
                                    user_attrs={"failure_reason": "error: boom"})])
    flat = optuna.create_study(study_name="flat", storage=storage)
    flat.add_trials([create_trial(value=1.0, params={"x": x}, distributions={"x": FloatDistribution(0, 1)})
                     for x in np.linspace(0, 1, 6)])
    four = optuna.create_study(study_name="four", storage=storage, directions=["minimize"] * 4)
    four.add_trials([create_trial(values=[float(i), 1.0 - i, 2.0, 3.0], params={"x": i / 4},
                                  distributions={"x": FloatDistribution(0, 1)}) for i in range(4)])
    out = tmp_path / "edge.json"
    rep = generate_comprehensive_report([], str(tmp_path / "edge.journal"), json_path=out)
    doc = json.loads(out.read_text())  # strict JSON: no NaN
    assert doc["studies"]["failed"]["robustness"]["best_ci"] == [None, None]
    assert doc["studies"]["flat"]["convergence"]["method"] == "flat" and not doc["studies"]["flat"]["convergence"]["converged"]
    assert "pareto" not in rep.figures["four"] and doc["studies"]["four"]["pareto"]["trials_on_front"] >= 1
    text = findings_markdown(rep)
    # studies made by plain optuna name no metric: the documented fallback (analysis.load.metric_names) is "objective 0"
    assert "**failed** (objective 0; 1 trials: 1 fail): no completed trial, nothing to analyse." in text
    assert "never improved" in text
    with pytest.raises(ValueError, match="direction must be 'minimize' or 'maximize', not 'MINIMIZE'"):
        convergence.best_so_far(trials_frame(flat), "MINIMIZE")


def test_a_study_in_two_journals_must_be_chosen(tmp_path) -> None:
    from cryptexlab.analysis import load

    for name in ("a", "b"):
        synthetic_study(3, JournalStorage(JournalFileBackend(str(tmp_path / f"{name}.journal"))), name="same")
    original = load.STUDIES_DIR
    load.STUDIES_DIR = tmp_path
    try:
        with pytest.raises(ParamsError, match=r"study 'same' is in two storages, .*a.journal and .*b.journal; pass the one"):
            find_studies(None, ["same"])
    finally:
        load.STUDIES_DIR = original
