"""run_all.py and the pipeline: a real smoke run, a failing notebook, refused parameters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from cryptexlab.paths import REPO_ROOT

RUN_ALL = REPO_ROOT / "run_all.py"


def _notebook(folder: Path, name: str, params: str, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


ALL_PARAMS = "data = {}\ncandles_shown = 1\nacf_lags = 1\nmetrics_path = None"



def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(RUN_ALL), *args], capture_output=True, text=True, timeout=300)


def test_smoke_run_writes_reports(smoke_run) -> None:
    result, lines = smoke_run
    assert result.ok, result.results
    run_dir = result.run_dir
    for suffix in (".ipynb", ".html", ".metrics.json"):
        assert (run_dir / f"01_data{suffix}").is_file()
    index = (run_dir / "index.html").read_text()
    assert 'href="01_data.html"' in index and 'href="01_data.ipynb"' in index
    assert "SYNTHETIC" in index and "smoke" in index
    assert "hourly_return_std" in index  # headline metrics shown
    metrics = json.loads((run_dir / "01_data.metrics.json").read_text())
    assert metrics["headline"]["bars"] == 1500 and metrics["headline"]["source"] == "synthetic"
    assert [p["name"] for p in metrics["details"]["periods"]] == ["train", "val", "test"]
    assert (run_dir.parent / "latest").resolve() == run_dir.resolve()
    assert [line.split(":")[0] for line in lines] == ["[1/6] 01_data", "[2/6] 02_search", "[3/6] 03_cv",
                                                      "[4/6] 04_schedules", "[5/6] 05_analysis", "[6/6] 06_verdict"]
    verdict = json.loads((run_dir / "06_verdict.metrics.json").read_text())
    assert isinstance(verdict["headline"]["beats_random_walk"], bool) and verdict["headline"]["n_trials"] == 2
    assert verdict["details"]["rule"].startswith("the selected configuration beats the random walk")
    assert all(": ok in " in line for line in lines)
    cv = json.loads((run_dir / "03_cv.metrics.json").read_text())["headline"]
    assert cv["study"] == "smoke-cv" and cv["folds"] == 2 and cv["ci_low"] <= cv["cv_mae"] <= cv["ci_high"]
    for name in ("02_search", "03_cv", "04_schedules", "05_analysis"):
        assert (run_dir / f"{name}.metrics.json").is_file() and f'href="{name}.html"' in index
    analysis = json.loads((run_dir / "05_analysis.metrics.json").read_text())
    assert analysis["headline"]["studies"] == 2 and analysis["headline"]["first_study"] == "smoke"
    assert set(analysis["details"]["studies"]) == {"smoke", "smoke-cv"}
    assert analysis["details"]["comparison"]["table"][1]["cross_validated"] is True


def test_executed_notebook_has_outputs_and_injected_parameters(smoke_run) -> None:
    result, _ = smoke_run
    nb = nbformat.read(result.run_dir / "01_data.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert "'hours': 1500" in injected[0].source or '"hours": 1500' in injected[0].source
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_failing_notebook_is_reported_and_exits_nonzero(tmp_path) -> None:
    notebooks = tmp_path / "nb"
    _notebook(notebooks, "01_data", ALL_PARAMS, "raise ZeroDivisionError('deliberate failure')")
    proc = _run("--profile", "smoke", "--only", "01_data", "--notebooks", str(notebooks), "--reports", str(tmp_path / "rep"))
    assert proc.returncode == 1
    assert "run failed: notebook 01_data, cell 3" in proc.stderr
    assert "ZeroDivisionError: deliberate failure" in proc.stderr
    assert "[1/1] 01_data: failed in" in proc.stdout
    run_dir = (tmp_path / "rep" / "latest").resolve()
    index = (run_dir / "index.html").read_text()
    assert '<tr class="failed"><td>01_data</td><td>failed</td>' in index
    page = (run_dir / "01_data.html").read_text()
    assert "ZeroDivisionError" in page and "deliberate failure" in page  # traceback visible
    assert (run_dir / "01_data.ipynb").is_file()


def test_kernels_are_quiet_on_the_console(tmp_path) -> None:
    """Kernels talk over local IPC sockets: ipykernel's "running over TCP without encryption" never prints."""
    notebooks = tmp_path / "nb"
    body = ("import sys; print('to the notebook', file=sys.stderr)\n"
            "from ipykernel.kernelapp import IPKernelApp\n"
            "IPKernelApp.instance().log.error('kernel console probe')  # as 'KeyboardInterrupt caught in kernel' is")
    _notebook(notebooks, "01_data", ALL_PARAMS, body)
    proc = _run("--profile", "smoke", "--only", "01_data", "--notebooks", str(notebooks), "--reports", str(tmp_path / "rep"))
    assert proc.returncode == 0, proc.stderr
    assert "without encryption" not in proc.stderr and "TCP" not in proc.stderr
    assert "kernel console probe" not in proc.stderr  # the kernel's own log stays off the console
    run_dir = (tmp_path / "rep" / "latest").resolve()
    page = (run_dir / "01_data.html").read_text()
    assert "[cell 4] to the notebook" in page  # (cell 2 is papermill's injected parameters) the notebook's own stderr went to the page's log section
    assert 'data-mime-type="application/vnd.jupyter.stderr"' not in page


def test_notebooks_after_a_failure_are_skipped(tmp_path) -> None:
    from cryptexlab.pipeline import run_profile
    from cryptexlab.profiles import load_profile

    notebooks = tmp_path / "nb"
    _notebook(notebooks, "01_data", ALL_PARAMS, "1/0")
    result = run_profile(load_profile("smoke"), notebooks_dir=notebooks, reports_dir=tmp_path / "r",
                         echo=lambda s: None, only=["01_data"])
    assert not result.ok and result.failure is not None and result.failure.name == "01_data"
    assert "ZeroDivisionError" in result.failure.error


def test_undeclared_parameter_is_refused_before_running(tmp_path) -> None:
    notebooks = tmp_path / "nb"
    _notebook(notebooks, "01_data", "data = {}\nmetrics_path = None", "print('ran')")
    proc = _run("--profile", "smoke", "--only", "01_data", "--notebooks", str(notebooks), "--reports", str(tmp_path / "rep"))
    assert proc.returncode == 2
    assert "01_data.ipynb does not declare parameter(s) ['acf_lags', 'candles_shown']" in proc.stderr
    assert not (tmp_path / "rep").exists()  # nothing ran


def test_notebook_without_parameters_cell(tmp_path) -> None:
    notebooks = tmp_path / "nb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    notebooks.mkdir()
    nbformat.write(nb, notebooks / "01_data.ipynb")
    proc = _run("--profile", "smoke", "--only", "01_data", "--notebooks", str(notebooks), "--reports", str(tmp_path / "rep"))
    assert proc.returncode == 2 and "has no cell tagged 'parameters'" in proc.stderr


def test_bad_override_exits_2_with_message(tmp_path) -> None:
    proc = _run("--profile", "smoke", "-p", "data.synthetic.hours=ten", "--reports", str(tmp_path))
    assert proc.returncode == 2
    assert "data.synthetic.hours = 'ten' is invalid: Input should be a valid integer" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_only_unknown_notebook(tmp_path) -> None:
    proc = _run("--profile", "smoke", "--only", "07_nothing", "--reports", str(tmp_path))
    assert proc.returncode == 2 and "--only names ['07_nothing'], which the profile does not run" in proc.stderr


def test_missing_notebook_file(tmp_path) -> None:
    proc = _run("--profile", "smoke", "--notebooks", str(tmp_path / "none"), "--reports", str(tmp_path))
    assert proc.returncode == 2 and "does not exist" in proc.stderr


@pytest.mark.slow
def test_run_all_cli_on_real_data(tmp_path, real_hourly) -> None:
    """The data notebook on the real hourly file, through the command line."""
    proc = _run("--profile", "smoke", "--only", "01_data", "-p", f"data.path={real_hourly}", "--reports", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "[1/1] 01_data: ok" in proc.stdout  # --only 01_data
    metrics = json.loads(((tmp_path / "latest").resolve() / "01_data.metrics.json").read_text())
    assert metrics["headline"] == {**metrics["headline"], "bars": 40_555, "no_trade_bars": 77, "source": "file"}
    assert os.path.basename(str(real_hourly)) in ((tmp_path / "latest") / "index.html").read_text()
