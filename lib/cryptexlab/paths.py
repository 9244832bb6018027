"""Locations of the repository's folders, resolved from this file, never from the cwd."""

from __future__ import annotations

import os
from pathlib import Path

#: ``lib/cryptexlab/paths.py`` -> repository root (two levels above the package).
REPO_ROOT: Path = Path(
    os.environ.get("CRYPTEXLAB_ROOT", Path(__file__).resolve().parents[2])
)
PARAMS_DIR: Path = REPO_ROOT / "params"
NOTEBOOKS_DIR: Path = REPO_ROOT / "notebooks"
REPORTS_DIR: Path = REPO_ROOT / "reports"
STUDIES_DIR: Path = REPO_ROOT / "studies"
#: Real Cryptex candles shipped beside the repository (never copied into it).
SHARED_DATA_DIR: Path = REPO_ROOT.parent / "shared" / "data" / "cryptex"


def resolve(path: str | os.PathLike[str]) -> Path:
    """Resolve a user-given path: ``~`` expanded, relative paths taken from the repo root.

    Args:
        path: An absolute path, or one relative to the repository root.

    Example:
        >>> resolve("params/quick.yaml") == REPO_ROOT / "params" / "quick.yaml"
        True
    """
    p = Path(path).expanduser()
    return p if p.is_absolute() else (REPO_ROOT / p)
