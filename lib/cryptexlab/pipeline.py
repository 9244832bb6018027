"""Execute a profile's notebooks with papermill and write ``reports/<run-id>/``.

Each notebook runs in a fresh kernel (papermill starts one per notebook) but all of them are
driven from this one process, which saves the 5-7 s that papermill's CLI spends importing per
notebook. Parameters are checked against what each notebook declares before anything runs,
because papermill itself only warns on an unknown parameter.

Example:
    >>> result = run_profile(load_profile("smoke"))  # doctest: +SKIP
    >>> result.ok, result.run_dir.name  # doctest: +SKIP
    (True, '20261128-231500-smoke')
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import papermill
import yaml
from jupyter_client import AsyncKernelManager
from papermill.exceptions import PapermillExecutionError
from traitlets import default

from cryptexlab.data.source import describe_source
from cryptexlab.errors import PipelineError
from cryptexlab.params import Profile
from cryptexlab.paths import NOTEBOOKS_DIR, REPO_ROOT, REPORTS_DIR
from cryptexlab.reports import NotebookResult, read_metrics, render_html, write_index
from cryptexlab.search.study import check_profile_studies

#: Parameters every notebook receives from the pipeline besides its own section.
PIPELINE_PARAMETERS = ("metrics_path",)


@dataclass(frozen=True)
class RunResult:
    """What a run produced."""

    run_dir: Path
    results: list[NotebookResult]

    @property
    def ok(self) -> bool:
        """True when no notebook failed."""
        return all(r.status == "ok" for r in self.results)

    @property
    def failure(self) -> NotebookResult | None:
        """The notebook that failed, if any."""
        return next((r for r in self.results if r.status == "failed"), None)


class LocalKernelManager(AsyncKernelManager):
    """Kernels reached over local (IPC) sockets beside their connection file, not over TCP ports.

    Nothing listens on the network, and ipykernel has no reason to warn "Kernel is running over
    TCP without encryption" on the console at every notebook.
    """

    @default("transport")
    def _transport_default(self) -> str:
        return "ipc"

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        """The kernel's command line, with its own console log limited to critical messages.

        jupyter_client interrupts (SIGINT) every kernel it shuts down; a kernel busy with a widget's
        comm message at that moment logs "KeyboardInterrupt caught in kernel" to the console. What a
        notebook prints and every error of its cells still reach the notebook; a dead kernel is
        still reported by papermill.
        """
        return super().format_kernel_cmd([*(extra_arguments or []), "--IPKernelApp.log_level=CRITICAL"])


def check_parameters(profile: Profile, names: list[str], notebooks_dir: Path) -> None:
    """Refuse any parameter a notebook does not declare in its ``parameters`` cell.

    Raises:
        PipelineError: naming the notebook, the undeclared parameters and the declared ones.
    """
    for name in names:
        path = notebooks_dir / f"{name}.ipynb"
        if not path.is_file():
            raise PipelineError(f"notebook {name!r} is in the profile but {path} does not exist")
        declared = set(papermill.inspect_notebook(str(path)))
        if not declared:
            raise PipelineError(f"{path} has no cell tagged 'parameters'; tag its parameter cell")
        given = set(profile.notebook_parameters(name)) | set(PIPELINE_PARAMETERS)
        unknown = sorted(given - declared)
        if unknown:
            raise PipelineError(
                f"{path.name} does not declare parameter(s) {unknown}; it declares "
                f"{sorted(declared)}. Add them to its parameters cell or remove them from the profile"
            )


def run_profile(
    profile: Profile,
    *,
    profile_name: str = "profile",
    only: list[str] | None = None,
    notebooks_dir: Path = NOTEBOOKS_DIR,
    reports_dir: Path = REPORTS_DIR,
    echo: Callable[[str], None] = print,
) -> RunResult:
    """Run the profile's notebooks in order; stop at the first failure.

    Args:
        profile: A validated profile.
        profile_name: Its name, for the run id and the index page.
        only: Run just these notebooks (in profile order).
        notebooks_dir: Where the ``.ipynb`` files are.
        reports_dir: Where ``<run-id>/`` and the ``latest`` link are written.
        echo: Receives one progress line per notebook.
    """
    names = _select(profile.notebooks, only)
    check_parameters(profile, names, notebooks_dir)
    check_profile_studies(profile, names)  # a study of other data is refused before 01_data, naming the key to set
    run_dir = _new_run_dir(reports_dir, profile_name)
    results: list[NotebookResult] = []
    failed = False
    for i, name in enumerate(names, 1):
        if failed:
            results.append(NotebookResult(name, "skipped"))
            continue
        result = _run_one(profile, name, notebooks_dir, run_dir)
        results.append(result)
        line = f"[{i}/{len(names)}] {name}: {result.status} in {result.seconds:.1f} s"
        echo(line + (f" - {result.error}" if result.error else ""))
        failed = result.status == "failed"
    params_yaml = yaml.safe_dump(profile.model_dump(by_alias=True), sort_keys=False)
    write_index(
        run_dir,
        profile=profile_name,
        parameters_yaml=params_yaml,
        data_source=describe_source(profile.data),
        results=results,
    )
    _point_latest(reports_dir, run_dir)
    return RunResult(run_dir, results)


def _run_one(profile: Profile, name: str, notebooks_dir: Path, run_dir: Path) -> NotebookResult:
    out = run_dir / f"{name}.ipynb"
    metrics = run_dir / f"{name}.metrics.json"
    parameters = {**profile.notebook_parameters(name), "metrics_path": str(metrics)}
    start = time.perf_counter()
    error = ""
    try:
        papermill.execute_notebook(
            str(notebooks_dir / f"{name}.ipynb"),
            str(out),
            parameters=parameters,
            kernel_name="python3",
            cwd=str(REPO_ROOT),
            progress_bar=False,
            log_output=False,
            kernel_manager_class=LocalKernelManager,
        )
    except PapermillExecutionError as exc:
        error = f"cell {exc.cell_index} (execution count {exc.exec_count}): {exc.ename}: {exc.evalue}"
    except Exception as exc:  # a dead kernel or a timeout must still produce a report
        error = f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - start
    if out.is_file():
        render_html(out, run_dir / f"{name}.html", headline=read_metrics(metrics)["headline"])
    else:
        (run_dir / f"{name}.html").write_text(f"<pre>{error}</pre>", encoding="utf-8")
    status = "failed" if error else "ok"
    return NotebookResult(name, status, seconds, error, read_metrics(metrics)["headline"])


def _select(names: list[str], only: list[str] | None) -> list[str]:
    if not only:
        return list(names)
    unknown = [n for n in only if n not in names]
    if unknown:
        raise PipelineError(f"--only names {unknown}, which the profile does not run; it runs {names}")
    return [n for n in names if n in only]


def _new_run_dir(reports_dir: Path, profile_name: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for suffix in [""] + [f"-{k}" for k in range(2, 100)]:
        run_dir = reports_dir / f"{stamp}-{profile_name}{suffix}"
        try:
            run_dir.mkdir(parents=True)
            return run_dir
        except FileExistsError:
            continue
    raise PipelineError(f"could not create a new run folder under {reports_dir}")


def _point_latest(reports_dir: Path, run_dir: Path) -> None:
    """Atomically point ``reports/latest`` at the run folder (a relative symlink)."""
    link = reports_dir / "latest"
    tmp = reports_dir / f".latest-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(run_dir.name)
    os.replace(tmp, link)


def main_exit_code(result: RunResult) -> int:
    """0 when all notebooks ran, 1 otherwise (with the failure printed to stderr)."""
    if result.ok:
        return 0
    failure = result.failure
    if failure is not None:
        print(f"run failed: notebook {failure.name}, {failure.error}", file=sys.stderr)
        print(f"partial report: {result.run_dir / failure.html_name}", file=sys.stderr)
    return 1
