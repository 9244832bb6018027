"""pyproject.toml and environment.yml list the same packages and constraints; torch stays on 2.13."""

from __future__ import annotations

import tomllib

import yaml
from packaging.requirements import Requirement

from cryptexlab.paths import REPO_ROOT


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    return {Requirement(r).name.lower(): str(Requirement(r).specifier) for r in reqs}


def _environment() -> dict[str, str]:
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return {Requirement(r).name.lower(): str(Requirement(r).specifier) for r in pip}


def test_environment_yml_matches_pyproject() -> None:
    assert _environment() == _pyproject()


def test_environment_python_version() -> None:
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]


def test_torch_pinned_below_214() -> None:
    spec = Requirement(f"torch{_pyproject()['torch']}").specifier
    assert "2.13.0" in spec and "2.14.0" not in spec and "2.14.1" not in spec
