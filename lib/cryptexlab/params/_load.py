"""Parsing a profile: YAML, ``-p`` overrides, schema validation, and errors that name key, value, rule and file.

The checks that need the library (losses, schedules, backbones, enqueued names) run after this, in
:func:`cryptexlab.profiles.load_profile`; parsing alone imports nothing heavier than pydantic and YAML.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, overload

import yaml
from pydantic import BaseModel, ValidationError

from cryptexlab.errors import ParamsError
from cryptexlab.params._keys import set_dotted
from cryptexlab.params._model import kind_fields
from cryptexlab.params._profile import NOTEBOOK_SECTIONS, Profile
from cryptexlab.paths import PARAMS_DIR, resolve


def available_profiles() -> list[str]:
    """Names of the profiles in ``params/``."""
    return sorted(p.stem for p in PARAMS_DIR.glob("*.yaml"))


def profile_path(name_or_path: str | Path) -> Path:
    """``quick`` -> ``params/quick.yaml``; a path to a YAML file is returned resolved."""
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")) or "/" in text:
        path = resolve(text)
    else:
        path = PARAMS_DIR / f"{text}.yaml"
    if not path.is_file():
        raise ParamsError(
            f"no profile {text!r} (looked for {path}); available profiles: "
            f"{', '.join(available_profiles())}"
        )
    return path


@overload
def parse_profile(name_or_path: str | Path, overrides: list[str] | tuple[str, ...] = (),
                  with_source: Literal[False] = False) -> Profile: ...


@overload
def parse_profile(name_or_path: str | Path, overrides: list[str] | tuple[str, ...] = (), *,
                  with_source: Literal[True]) -> tuple[Profile, str]: ...


def parse_profile(name_or_path: str | Path, overrides: list[str] | tuple[str, ...] = (),
                  with_source: bool = False) -> Profile | tuple[Profile, str]:
    """Read, override and validate a profile against the schemas (keys, types, ranges, rules across sections).

    This is the fast half of :func:`cryptexlab.profiles.load_profile`, which also runs the checks that need
    the library; a run loads with that one.

    Args:
        name_or_path: A profile name in ``params/`` (``"quick"``) or a YAML path.
        overrides: ``"dotted.key=value"`` strings; values are parsed as YAML scalars.
        with_source: Also return the source line the errors name (the file, with its ``-p`` overrides).

    Raises:
        ParamsError: naming the file or override, the key, the value and the rule.

    Example:
        >>> parse_profile("smoke", overrides=["data.synthetic.hours=2000"]).data.synthetic.hours
        2000
    """
    path = profile_path(name_or_path)
    raw = _read_yaml(path)
    source = str(path)
    profile = _validate(with_study_names(raw, path.stem), source=source)
    if overrides:
        merged = copy.deepcopy(raw)
        for item in overrides:
            _apply_override(merged, item)
        _drop_unused_model_fields(merged, raw, overrides)
        source = f"{path} with -p {' -p '.join(overrides)}"
        profile = _validate(with_study_names(merged, path.stem), source=source)
    return (profile, source) if with_source else profile


#: The study-name keys each notebook derives from the run's ``study`` NAME when the profile leaves them out.
DERIVED_STUDY_NAMES: dict[str, dict[str, str]] = {
    "02_search": {"study_name": "{name}"},
    "03_cv": {"study_name": "{name}", "cv_study_name": "{name}-cv"},
    "04_schedules": {"study_name": "{name}"},
    "06_verdict": {"study_name": "{name}"},
}


def study_name(raw: dict[str, Any], profile_name: str) -> str:
    """The run's study NAME: the top-level ``study`` key, else the profile's name, with the data file's stem
    when ``data.path`` is set, so that studies of different data stay apart without renaming.

    Example:
        >>> study_name({"data": {"path": "../shared/data/cryptex/candlesticks-h.csv"}}, "quick")
        'quick-candlesticks-h'
        >>> study_name({"study": "mine", "data": {"path": "x.csv"}}, "quick")
        'mine'
    """
    if raw.get("study") is not None:
        return str(raw["study"])
    data = raw.get("data") if isinstance(raw.get("data"), dict) else {}
    path = data.get("path") if data else None
    if not path:
        return profile_name
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(str(path)).stem).strip("-.") or "data"
    return f"{profile_name}-{stem}"


def with_study_names(raw: dict[str, Any], profile_name: str) -> dict[str, Any]:
    """``raw`` with every study name a notebook of the run uses and the profile leaves out derived from the run's
    NAME (:func:`study_name`): ``NAME`` for the search, the schedules and the verdict, ``NAME-cv`` for 03_cv's
    study, and 05_analysis's ``studies`` the search's and the CV study's. A key the profile sets stays as it is."""
    listed = raw.get("notebooks")
    notebooks: list[Any] = listed if isinstance(listed, list) else []
    name = study_name(raw, profile_name)
    out = copy.deepcopy(raw)
    for section in [s for s in (*DERIVED_STUDY_NAMES, "05_analysis") if s in notebooks and out.get(s, "") is None]:
        out[section] = {}  # a section written with no keys (its study names derived)
    for section, keys in DERIVED_STUDY_NAMES.items():
        if section not in notebooks or not isinstance(out.get(section, {}), dict):
            continue
        values = out.setdefault(section, {})
        for key, pattern in keys.items():
            values.setdefault(key, pattern.format(name=name))
    if "05_analysis" in notebooks and "02_search" in notebooks and isinstance(out.get("05_analysis", {}), dict):
        written = [name] + ([f"{name}-cv"] if "03_cv" in notebooks else [])
        out.setdefault("05_analysis", {}).setdefault("studies", written)
    return out


def _drop_unused_model_fields(merged: dict[str, Any], raw: dict[str, Any], overrides: list[str] | tuple[str, ...]
                              ) -> None:
    """An override that changes ``model.kind`` drops the profile's model fields the new kind does not use
    (``-p model.kind=lightgbm`` on a Time-LLM profile); fields the overrides themselves set are kept, so a
    contradiction on the command line is still refused."""
    model, before = merged.get("model"), raw.get("model")
    if not isinstance(model, dict) or not isinstance(before, dict) or model.get("kind") == before.get("kind"):
        return
    named = {item.partition("=")[0].strip().split(".")[1] for item in overrides
             if item.partition("=")[0].strip().startswith("model.")}
    for name in [n for n in model if n not in kind_fields(str(model.get("kind"))) and n not in named]:
        del model[name]


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: a profile must be a mapping of keys, got {type(raw).__name__}")
    return raw


def _apply_override(raw: dict[str, Any], item: str) -> None:
    """Set ``a.b.c=value`` in the nested dict ``raw`` (value parsed as YAML)."""
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise ParamsError(
            f"override {item!r} must look like key=value, e.g. -p data.path=data/candles.csv"
        )
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        raise ParamsError(f"override {item!r}: value {text!r} is not a YAML scalar: {exc}") from None
    try:
        set_dotted(raw, key.strip(), value)
    except ParamsError as exc:
        raise ParamsError(f"override {item!r}: {exc}") from None


def _validate(raw: dict[str, Any], source: str) -> Profile:
    try:
        profile = Profile.model_validate(raw)
    except ValidationError as exc:
        raise ParamsError("\n".join(_describe(err, source) for err in exc.errors())) from None
    explicit = {a for f in profile.model_fields_set if (a := Profile.model_fields[f].alias)} & set(NOTEBOOK_SECTIONS)
    stray = sorted(explicit - set(profile.notebooks))
    if stray:
        raise ParamsError(
            f"{source}: section(s) {stray} are set but those notebooks are not in "
            f"notebooks={profile.notebooks}; add them to notebooks or remove the sections"
        )
    return profile


def _describe(err: Any, source: str) -> str:
    """One readable line per pydantic error: key, value, rule, file."""
    loc = tuple(err["loc"])
    dotted = ".".join(str(p) for p in loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        where = f" under '{'.'.join(map(str, loc[:-1]))}'" if loc[:-1] else ""
        return f"{source}: unknown key '{dotted}'. Allowed keys{where}: {', '.join(allowed)}"
    rule = err["msg"].removeprefix("Value error, ")
    if err["type"] == "missing":
        return f"{source}: required key '{dotted}' is missing"
    if err["type"] == "value_error" and not loc:  # a rule across sections: it names its keys and values
        return f"{source}: {rule}"
    if err["type"] == "value_error" and isinstance(err.get("input"), dict):  # a rule across a section's keys
        return f"{source}: {dotted}: {rule}"
    return f"{source}: {dotted} = {err.get('input')!r} is invalid: {rule}"


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Keys accepted at a location of the profile (aliases where fields have them)."""
    model: Any = Profile
    for part in loc:
        if isinstance(part, int):  # an item of a list section, e.g. data.external.0
            continue
        fields = {f.alias or n: f for n, f in model.model_fields.items()}
        annotation = fields[part].annotation if part in fields else None
        if get_origin(annotation) is list:
            annotation = get_args(annotation)[0]
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return [f.alias or n for n, f in model.model_fields.items()]
