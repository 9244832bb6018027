"""The project's own exception types.

Every error that a user can cause (a bad profile, a bad data file, a bad
command-line value) is raised as a subclass of :class:`CryptexError`, with a
message that names the bad value, the rule it broke and how to fix it.
"""

from __future__ import annotations


class CryptexError(Exception):
    """Base class of every error this workbench raises on purpose."""


class ParamsError(CryptexError, ValueError):
    """A parameter profile (YAML file or ``-p`` override) is invalid."""


class DataError(CryptexError, ValueError):
    """A candle file or a data configuration is invalid."""


class PipelineError(CryptexError, RuntimeError):
    """A notebook of a run failed, or a run could not start."""


class StorageLost(CryptexError, RuntimeError):
    """A study's database could not be reached for longer than ``storage_timeout_s`` (the worker stops)."""
