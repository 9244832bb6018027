"""Every module's docstring examples run and print what they say (examples that train are +SKIP)."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import doctest  # noqa: E402
import importlib  # noqa: E402
import pkgutil  # noqa: E402

import pytest  # noqa: E402

import cryptexlab  # noqa: E402

MODULES = ["cryptexlab", *sorted(m.name for m in pkgutil.walk_packages(cryptexlab.__path__, "cryptexlab."))]


def test_every_module_is_collected() -> None:
    assert {"cryptexlab.training", "cryptexlab.search.spaces", "cryptexlab.data.regimes",
            "cryptexlab.schedulers._warmup", "cryptexlab.models.backbones"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests_pass(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, report=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest examples failed in {name} (output above)"
