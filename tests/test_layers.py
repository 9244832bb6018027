"""The layout rules of ARCHITECTURE.md: import-linter's contracts hold and catch an upward import, imports inside
functions only where the rules allow them, no module over 400 lines, and ``params`` refuses bad values without torch."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lib" / "cryptexlab"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
#: The top layer: the command line imports each command's library module when the command runs (``--help`` stays
#: fast); everywhere else a project import sits at the top of its module.
LAZY_PROJECT_IMPORTS = ("cryptexlab.cli",)


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def lint(config: Path | None = None, cwd: Path = ROOT, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(pythonpath or PACKAGE.parent), "LC_ALL": "C.UTF-8"}
    args = [str(LINT_IMPORTS), "--no-cache", *(["--config", str(config)] if config else [])]
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_contracts_are_kept() -> None:
    proc = lint()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("cryptexlab layers: imports point down KEPT", "no cycles between the modules of any package KEPT",
                 "plots draw from arrays and frames: they never train or search KEPT",
                 "params is the leaf every layer reads: no torch, no transformers KEPT"):
        assert name in proc.stdout


@pytest.mark.parametrize(("module", "line", "broken"), [
    ("params/_base.py", "import cryptexlab.search.spaces", "cryptexlab layers: imports point down BROKEN"),
    ("search/trial.py", "from cryptexlab.search import tuner", "search: the tuner on top of its plug-ins"),
    ("plots/verdict.py", "from cryptexlab.training import run_experiment", "plots draw from arrays and frames"),
])
def test_an_upward_import_breaks_a_contract(tmp_path, module, line, broken) -> None:
    """A copy of the package with one deliberate upward import, linted with the project's own contracts."""
    shutil.copytree(PACKAGE, tmp_path / "lib" / "cryptexlab", ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "lib" / "cryptexlab" / module
    target.write_text(target.read_text() + f"\n{line}  # deliberate: an upward import\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    proc = lint(cwd=tmp_path, pythonpath=tmp_path / "lib")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert broken in proc.stdout
    assert f"cryptexlab.{module.removesuffix('.py').replace('/', '.')} ->" in proc.stdout  # names the import


def test_every_top_level_module_has_a_layer() -> None:
    """``exhaustive = true`` makes lint-imports refuse an unplaced module; this names the places to look."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c for c in config if c["id"] == "layers")["layers"]
    placed = {name.strip() for layer in layers for name in layer.replace(":", "|").split("|")}
    top = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
           if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
    assert top == placed


def test_project_imports_inside_functions_only_in_the_command_line() -> None:
    """Imports inside functions are for optional or heavy third-party packages (torch, ray, transformers); a
    project module is imported at the top of the module that needs it, so every dependency is visible to the
    contracts and none reaches upward. The command line (the top layer) is the exception."""
    found = []
    for name, path in modules().items():
        if name.startswith(LAZY_PROJECT_IMPORTS):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("cryptexlab") or (
                            isinstance(inner, ast.Import) and any(a.name.startswith("cryptexlab") for a in inner.names)):
                        found.append(f"{name}:{inner.lineno}")
    assert found == []


def test_no_module_over_400_lines() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in modules().items()}
    assert {n: s for n, s in sizes.items() if s > 400} == {}


def test_a_bad_value_is_refused_without_importing_torch() -> None:
    code = ("import sys\n"
            "from cryptexlab.errors import ParamsError\n"
            "from cryptexlab.params import parse_profile\n"
            "try:\n"
            "    parse_profile('quick', overrides=['train.epochs=three'])\n"
            "except ParamsError as exc:\n"
            "    print(exc)\n"
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'params imported torch'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "train.epochs = 'three' is invalid: Input should be a valid integer" in proc.stdout


def test_run_all_refuses_a_bad_value_before_the_library_loads() -> None:
    proc = subprocess.run([sys.executable, "-X", "importtime", str(ROOT / "run_all.py"), "-p", "train.epochs=three"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "train.epochs = 'three' is invalid" in proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "cryptexlab.params" in imported and "torch" not in imported and "cryptexlab.pipeline" not in imported
