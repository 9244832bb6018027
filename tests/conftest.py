"""Shared fixtures: offline model hub, the real Cryptex files, one smoke run of the pipeline."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from cryptexlab.paths import SHARED_DATA_DIR  # noqa: E402

HEADER = "timestamp,open,close,high,low,volume"


@pytest.fixture
def real_hourly() -> Path:
    """The real hourly BTC file beside the repository (always present in CI)."""
    path = SHARED_DATA_DIR / "candlesticks-h.csv"
    if not path.is_file():
        pytest.skip(f"real Cryptex data not found at {path}")
    return path


@pytest.fixture
def write_csv(tmp_path: Path):
    """Write CSV text (header added unless given) to a temp file and return its path."""

    def _write(body: str, header: str | None = HEADER, name: str = "candles.csv") -> Path:
        path = tmp_path / name
        text = (header + "\n" if header is not None else "") + body.strip("\n") + ("\n" if body else "")
        path.write_text(text)
        return path

    return _write


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory: pytest.TempPathFactory):
    """One run of the smoke profile into a temporary reports folder (shared by several tests)."""
    from cryptexlab.pipeline import run_profile
    from cryptexlab.profiles import load_profile

    reports = tmp_path_factory.mktemp("reports")
    studies = tmp_path_factory.mktemp("studies")
    lines: list[str] = []
    journal = studies / "smoke.journal"
    profile = load_profile("smoke", overrides=[f"02_search.storage={journal}", f"03_cv.storage={journal}",
                                               f"04_schedules.storage={journal}", f"05_analysis.storage={journal}",
                                               f"06_verdict.storage={journal}"])
    result = run_profile(profile, profile_name="smoke", reports_dir=reports, echo=lines.append)
    return result, lines


@pytest.fixture(scope="session")
def smoke_run_real(tmp_path_factory: pytest.TempPathFactory):
    """One run of the smoke profile on the real hourly file (40,555 bars), as a user would start it."""
    from cryptexlab.pipeline import run_profile
    from cryptexlab.profiles import load_profile

    path = SHARED_DATA_DIR / "candlesticks-h.csv"
    if not path.is_file():
        pytest.skip(f"real Cryptex data not found at {path}")
    reports = tmp_path_factory.mktemp("reports-real")
    journal = tmp_path_factory.mktemp("studies-real") / "smoke.journal"
    profile = load_profile("smoke", overrides=[f"data.path={path}", f"02_search.storage={journal}",
                                               f"03_cv.storage={journal}", f"04_schedules.storage={journal}",
                                               f"05_analysis.storage={journal}", f"06_verdict.storage={journal}"])
    lines: list[str] = []
    result = run_profile(profile, profile_name="smoke-real", reports_dir=reports, echo=lines.append)
    return result, lines


def hours(n: int, start: str = "2024-01-01") -> list[int]:
    """n consecutive hourly Unix timestamps in seconds."""
    idx = pd.date_range(start, periods=n, freq="1h", tz="UTC")
    return [int(t.timestamp()) for t in idx]


def public_names(module: object) -> set[str]:
    """Names a module defines at its top level (classes, functions, assignments), not those it imports,
    without a leading underscore: what a package's ``__init__`` is to re-export."""
    import ast
    import inspect

    names: set[str] = set()
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_")}
