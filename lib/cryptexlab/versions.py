"""Installed package versions, for provenance in trial records and benchmark results.

Example:
    >>> "optuna" in package_versions("optuna")
    True
"""

from __future__ import annotations

from importlib import metadata


def package_versions(*names: str) -> dict[str, str]:
    """Version of each named distribution, or 'not installed'."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
