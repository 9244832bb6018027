"""Dotted configuration keys (``data.windows.seq_len``): which exist, and setting one in a nested dict."""

from __future__ import annotations

import difflib
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from cryptexlab.errors import ParamsError
from cryptexlab.params._base import Section
from cryptexlab.params._data import DataConfig
from cryptexlab.params._model import ModelConfig
from cryptexlab.params._train import TrainConfig

#: The configuration slices a trial is built from, by the first part of a dotted key.
SLICES: dict[str, type[Section]] = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


def config_keys() -> list[str]:
    """Every dotted key a search may set: the fields of the data, model and train slices, nested.

    A section (``data.windows``) is a key too, set as a whole mapping; a free mapping
    (``train.loss_params``, ``train.scheduler.params``) also takes one name below it.

    Example:
        >>> {"model.d_model", "data.windows.seq_len", "train.scheduler.kind"} <= set(config_keys())
        True
    """
    def walk(prefix: str, model: type[BaseModel]) -> list[str]:
        keys = []
        for name, field in model.model_fields.items():
            key = f"{prefix}.{name}"
            sub = _section_type(field.annotation)
            keys += [key, *walk(key, sub)] if sub else [key]
        return keys

    return [k for prefix, model in SLICES.items() for k in walk(prefix, model)]


def config_key_problem(name: str) -> str | None:
    """Why ``name`` is not a dotted configuration key (see :func:`config_keys`), or None if it is one.

    Example:
        >>> config_key_problem("model.d_model") is None
        True
        >>> config_key_problem("data.windowz.seq_len").split(";")[0]
        "'data.windowz.seq_len' is not a configuration key: data has no key 'windowz'"
    """
    parts = name.split(".")
    if parts[0] not in SLICES:
        return f"{name!r} must start with data., model. or train. (a configuration key such as model.d_model)"
    model: type[BaseModel] = SLICES[parts[0]]
    for i, part in enumerate(parts[1:], start=1):
        where, field = ".".join(parts[:i]), model.model_fields.get(part)
        if field is None:
            close = difflib.get_close_matches(name, config_keys(), n=3, cutoff=0.7)
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            return (f"{name!r} is not a configuration key: {where} has no key {part!r}; {hint}"
                    f"the keys of {where}: {', '.join(model.model_fields)}")
        sub = _section_type(field.annotation)
        if sub is not None:
            model = sub
            continue
        below = len(parts) - i - 1
        if below == 0 or (below == 1 and get_origin(field.annotation) is dict):
            return None
        return f"{name!r} is not a configuration key: {'.'.join(parts[:i + 1])} is a value, not a section"
    return None


def _section_type(annotation: Any) -> type[BaseModel] | None:
    """The section class of a field (also of ``Section | None``), or None for a value (a list of sections too)."""
    optional = get_origin(annotation) in (Union, UnionType)
    for candidate in (annotation, *(get_args(annotation) if optional else ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def set_dotted(doc: dict[str, Any], key: str, value: Any) -> None:
    """Set ``value`` at the dotted ``key`` of the nested dict ``doc``, adding the sections on the way.

    The one place a dotted key is written (profile overrides, search spaces); it does not check the key
    against the schemas (:func:`config_key_problem` does), validation of the result does.

    Example:
        >>> doc = {"data": {"windows": {"pred_len": 24}}}
        >>> set_dotted(doc, "data.windows.seq_len", 48)
        >>> doc
        {'data': {'windows': {'pred_len': 24, 'seq_len': 48}}}

    Raises:
        ParamsError: a part before the last one holds a value, not a section (``data.path.x``).
    """
    parts = key.split(".")
    node = doc
    for i, part in enumerate(parts[:-1]):
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ParamsError(f"{'.'.join(parts[:i + 1])} is a value, not a section, so {key} cannot be set")
    node[parts[-1]] = value
