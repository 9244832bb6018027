"""One study name per run: every notebook's study names derive from the top-level ``study`` key (default: the
profile's name, with the data file's stem when ``data.path`` is set), and a study of other data is refused before
01_data runs, naming that key."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import optuna
import pytest

from cryptexlab.errors import ParamsError
from cryptexlab.params import SearchConfig, parse_profile, study_name
from cryptexlab.paths import REPO_ROOT, STUDIES_DIR
from cryptexlab.search.config import TrialConfig
from cryptexlab.search.study import check_stored_data, open_study, studies_written

REAL = "../shared/data/cryptex/candlesticks-h.csv"


def names(profile) -> tuple:
    return (profile.search.study_name, profile.cv_notebook.study_name, profile.cv_notebook.cv_study_name,
            profile.schedules_notebook.study_name, profile.analysis_notebook.studies, profile.verdict_notebook.study_name)


def test_every_study_name_derives_from_the_run_name() -> None:
    assert names(parse_profile("quick")) == ("quick", "quick", "quick-cv", "quick", ["quick", "quick-cv"], "quick")
    assert names(parse_profile("quick", [f"data.path={REAL}"]))[:3] == (
        "quick-candlesticks-h", "quick-candlesticks-h", "quick-candlesticks-h-cv")
    assert names(parse_profile("smoke", ["study=mine", f"data.path={REAL}"])) == (
        "mine", "mine", "mine-cv", "mine", ["mine", "mine-cv"], "mine")
    assert parse_profile("cv").search.study_name == "cv" and parse_profile("cv").cv_notebook.study_name == "cv"


def test_a_notebook_key_stays_an_override() -> None:
    profile = parse_profile("quick", ["study=mine", "06_verdict.study_name=other", "05_analysis.studies=[a]"])
    assert names(profile) == ("mine", "mine", "mine-cv", "mine", ["a"], "other")
    assert parse_profile("calibration").search.study_name == "calibration"  # named in the profile
    assert parse_profile("analyze").analysis_notebook.studies == []  # 05 alone: every study in the storage


def test_study_name_rules() -> None:
    assert study_name({}, "quick") == "quick"
    assert study_name({"data": {"path": "/x/My Candles (2024).csv"}}, "quick") == "quick-My-Candles-2024"
    with pytest.raises(ParamsError, match=r"study = 'a b' is invalid: String should match pattern"):
        parse_profile("quick", ["study=a b"])


def test_studies_written_by_a_run() -> None:
    profile = parse_profile("quick")
    assert [s.study_name for s in studies_written(profile)] == ["quick", "quick-cv", "quick"]
    assert [s.study_name for s in studies_written(profile, ["01_data", "02_search"])] == ["quick"]


def test_a_study_of_other_data_is_refused_and_names_the_key(tmp_path) -> None:
    base = TrialConfig.from_dict({"data": {"synthetic": {"hours": 1500}}, "model": {"kind": "dlinear"}, "train": {}})
    other = TrialConfig.from_dict({"data": {"synthetic": {"hours": 2000}}, "model": {"kind": "dlinear"}, "train": {}})
    search = SearchConfig(study_name="s", storage=str(tmp_path / "s.journal"))
    check_stored_data(base, [search])  # no journal: nothing to compare, and none is created
    assert not (tmp_path / "s.journal").exists()
    open_study(base, search)
    check_stored_data(base, [search])  # the same data
    message = (r"study 's' was run on other data or windows \(fingerprint \w+, now \w+\); set the run's study name to "
               r"another one \(the top-level key study, e.g. -p study=s-2\), or restore the data section")
    with pytest.raises(ParamsError, match=message):
        check_stored_data(other, [search])
    with pytest.raises(ParamsError, match=message):
        open_study(other, search)
    assert optuna.load_study(study_name="s", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "s.journal")))).user_attrs["data_fingerprint"] == \
        base.fingerprint()


def run_all(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO_ROOT / "run_all.py"), *args], capture_output=True, text=True,
                          timeout=900, cwd=REPO_ROOT)


@pytest.mark.slow
def test_quick_start_then_the_real_file_then_a_refused_name(tmp_path, real_hourly) -> None:
    """The README's order: a run on the default data, then the same profile on the real file (both succeed, two
    studies side by side), then an explicit name on other data, refused before any notebook runs."""
    name = f"fresh-{uuid.uuid4().hex[:8]}"  # a profile of its own: its studies cannot meet another test's
    profile = tmp_path / f"{name}.yaml"
    shutil.copy(REPO_ROOT / "params" / "smoke.yaml", profile)
    journals = [STUDIES_DIR / f"{name}.journal", STUDIES_DIR / f"{name}-candlesticks-h.journal"]
    try:
        first = run_all("--profile", str(profile), "--only", "01_data,02_search", "--reports", str(tmp_path / "r"))
        assert first.returncode == 0, first.stdout + first.stderr
        second = run_all("--profile", str(profile), "--only", "01_data,02_search", "--reports", str(tmp_path / "r"),
                         "-p", f"data.path={real_hourly}")
        assert second.returncode == 0, second.stdout + second.stderr
        assert all(j.is_file() for j in journals)
        refused = run_all("--profile", str(profile), "--reports", str(tmp_path / "r2"), "-p", f"study={name}",
                          "-p", f"data.path={real_hourly}")
        assert refused.returncode == 2
        assert f"set the run's study name to another one (the top-level key study, e.g. -p study={name}-2)" in \
            refused.stderr
        assert "[1/" not in refused.stdout and not (tmp_path / "r2").exists()  # no notebook ran
        verdict = subprocess.run([sys.executable, "-m", "cryptexlab.cli", "verdict", "--profile", str(profile),
                                  "-p", f"study={name}", "-p", f"data.path={real_hourly}"],
                                 capture_output=True, text=True, timeout=600, cwd=REPO_ROOT)
        assert verdict.returncode == 2 and "the top-level key study" in verdict.stderr
    finally:
        for journal in journals:
            journal.unlink(missing_ok=True)
            Path(f"{journal}.lock").unlink(missing_ok=True)
