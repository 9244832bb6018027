"""Notebook rules: no committed outputs, no def/class, a parameters cell of literals only, the notebook's
settings built one way (``notebook_settings(Schema, globals())``)."""

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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_own_section_is_built_with_notebook_settings(path: Path) -> None:
    """A notebook that builds its section builds it with notebook_settings(<its schema>, globals()), never by
    calling the schema or its model_validate itself."""
    schema = NOTEBOOK_SECTIONS[path.stem].__name__
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        allowed = {id(call.args[0]) for call in ast.walk(tree) if isinstance(call, ast.Call)
                   and isinstance(call.func, ast.Name) and call.func.id == "notebook_settings"
                   and len(call.args) == 2 and isinstance(call.args[1], ast.Call)
                   and isinstance(call.args[1].func, ast.Name) and call.args[1].func.id == "globals"}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id == schema and isinstance(node.ctx, ast.Load):
                assert id(node) in allowed, (f"{path.name} cell {i}: build {schema} with "
                                             f"notebook_settings({schema}, globals())")


@pytest.mark.parametrize("profile", available_profiles())
def test_profiles_only_pass_declared_parameters(profile: str) -> None:
    from cryptexlab.pipeline import check_parameters

    p = load_profile(profile)
    check_parameters(p, p.notebooks, NOTEBOOKS_DIR)
