"""Notebook rules: no committed outputs, no def/class, a parameters cell of literals only."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from cryptexlab.params import NOTEBOOK_SECTIONS, available_profiles
from cryptexlab.paths import NOTEBOOKS_DIR
from cryptexlab.profiles import load_profile

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def test_every_section_has_a_notebook() -> None:
    assert {p.stem for p in NOTEBOOKS} == set(NOTEBOOK_SECTIONS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"{path.name} cell {i} has outputs: clear them before committing"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_function_or_class_definitions(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            assert not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)), (
                f"{path.name} cell {i} defines {type(node).__name__}: move it to lib/cryptexlab"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_holds_literals_only(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"
    names = set()
    for node in ast.parse(tagged[0].source).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, f"{path.name}: only 'name = literal' lines"
        ast.literal_eval(node.value)  # raises if not a literal
        names.add(node.targets[0].id)  # type: ignore[attr-defined]
    assert "metrics_path" in names


@pytest.mark.parametrize("profile", available_profiles())
def test_profiles_only_pass_declared_parameters(profile: str) -> None:
    from cryptexlab.pipeline import check_parameters

    p = load_profile(profile)
    check_parameters(p, p.notebooks, NOTEBOOKS_DIR)
