"""Loading a profile for a run: :func:`load_profile` = the schemas' parse (:func:`cryptexlab.params.parse_profile`)
+ the checks that need the library (loss and schedule parameters, backbones, enqueued trials).

:mod:`cryptexlab.params` is the leaf that every layer reads: it parses YAML and ``-p`` overrides and
refuses a wrong key, type or range without importing torch. The checks here build a loss, a
schedule on a dummy optimizer and read a backbone's config, so they sit above the losses, the
schedulers and the models; they run once when a profile loads, not per trial. A caller that wants
a bad value refused fast parses first (``run_all.py`` does) and checks after.

Example:
    >>> profile = load_profile("smoke", overrides=["data.synthetic.hours=2000"])
    >>> profile.data.synthetic.hours
    2000
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import torch

from cryptexlab.errors import ParamsError
from cryptexlab.losses import build_loss, loss_parameters
from cryptexlab.models.backbones import REGISTRY, backbone_shape, resolve_backbone
from cryptexlab.params import (
    TIMELLM_KINDS,
    ModelConfig,
    Profile,
    SchedulerConfig,
    SearchConfig,
    TrainConfig,
    parameter_names,
    parse_profile,
)
from cryptexlab.schedulers import SCHEDULER_PARAMS, build_scheduler


def load_profile(name_or_path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Profile:
    """Load, override and validate a profile: parse (keys, types, ranges, rules across sections), then
    the checks that need the library (:func:`check_profile`).

    Args:
        name_or_path: A profile name in ``params/`` (``"quick"``) or a YAML path.
        overrides: ``"dotted.key=value"`` strings; values are parsed as YAML scalars.

    Raises:
        ParamsError: naming the file or override, the key, the value and the rule.
    """
    profile, source = parse_profile(name_or_path, overrides, with_source=True)
    check_profile(profile, source)
    return profile


def check_profile(profile: Profile, source: str = "profile") -> None:
    """The checks that need the library, run once when a profile loads (not per trial).

    The loss takes ``train.loss_params``; every schedule (``train.scheduler``, ``04_schedules``)
    builds on a dummy optimizer at the profile's learning rate (a check that depends on the run's
    length is left to the run); ``model.llm_model`` and ``02_search.llm_choices`` name a backbone,
    whose config (read offline, no weights) has room for ``d_ff`` and ``llm_layers``; enqueued
    configurations name parameters of the search space.

    Raises:
        ParamsError: one line per problem, each naming the file, the key, the value, the rule and a fix.
    """
    problems = [*_loss_problems(profile.train), *_schedule_problems(profile.train.scheduler, "train.scheduler",
                                                                      profile.train.learning_rate)]
    if "04_schedules" in profile.notebooks:
        for i, schedule in enumerate(profile.schedules_notebook.schedules):
            problems += _schedule_problems(schedule, f"04_schedules.schedules.{i}", profile.train.learning_rate)
    if profile.model.kind in TIMELLM_KINDS:
        problems += _backbone_problems(profile.model)
    if "02_search" in profile.notebooks:
        problems += _search_problems(profile.search, profile.model)
    if problems:
        raise ParamsError("\n".join(f"{source}: {p}" for p in problems))


#: Optimizer steps of the dummy run a schedule is checked on: long, so that only values wrong for
#: every run length are refused (e.g. a warmup longer than the run is caught when it runs).
_CHECK_STEPS, _CHECK_STEPS_PER_EPOCH = 1_000_000, 1_000


def _loss_problems(train: TrainConfig) -> list[str]:
    given, accepted = train.loss_params, loss_parameters(train.loss)
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        takes = f"it takes {', '.join(accepted)}" if accepted else "it takes none, so leave loss_params out"
        return [f"train.loss_params = {given!r} is invalid: loss {train.loss} takes no parameter(s) {unknown}; {takes}"]
    try:
        build_loss(train.loss, **given)
    except (ParamsError, TypeError, ValueError) as exc:
        return [f"train.loss_params = {given!r} is invalid: {exc}"]
    return []


def _schedule_problems(schedule: SchedulerConfig, key: str, learning_rate: float) -> list[str]:
    given, accepted = schedule.params, SCHEDULER_PARAMS[schedule.kind]
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        takes = f"it takes {', '.join(accepted)}" if accepted else "it takes none, so leave params out"
        return [f"{key}.params = {given!r} is invalid: scheduler kind {schedule.kind} takes no parameter(s) "
                f"{unknown}; {takes}"]
    optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=learning_rate)  # as training builds it
    try:
        build_scheduler(optimizer, schedule, total_steps=_CHECK_STEPS, steps_per_epoch=_CHECK_STEPS_PER_EPOCH)
    except (ParamsError, TypeError, ValueError) as exc:
        return [f"{key}.params = {given!r} is invalid: {exc} (at train.learning_rate = {learning_rate})"]
    return []


#: A hub id: ``owner/name`` (what resolve_backbone passes to the hub when no folder is there).
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def _backbone_problems(model: ModelConfig) -> list[str]:
    name = model.llm_model
    problem = _backbone_name_problem(name)
    if problem:
        return [f"model.llm_model = {name!r} is invalid: {problem}"]
    try:
        shape = backbone_shape(name)
    except ParamsError as exc:
        return [f"model.llm_model = {name!r} is invalid: {exc}"]
    if shape is None:  # a hub id not cached here: its width is checked when it loads
        return []
    width, layers = shape
    problems = []
    if model.d_ff > width:
        problems.append(f"model.d_ff = {model.d_ff} is invalid: the head reads the first d_ff features of the "
                        f"backbone's output, and {name} has {width}; set model.d_ff <= {width}")
    if model.llm_layers > layers:
        problems.append(f"model.llm_layers = {model.llm_layers} is invalid: {name} has {layers} layers; "
                        f"set model.llm_layers <= {layers}")
    return problems


def _backbone_name_problem(name: str) -> str | None:
    """Why ``name`` names no backbone (not a registry name, an existing folder or a hub id), or None."""
    if name.upper() in REGISTRY or Path(name).expanduser().exists() or _HUB_ID.fullmatch(name):
        return None
    try:
        resolve_backbone(name)
    except ParamsError as exc:
        return str(exc)
    return (f"no folder at {Path(name).expanduser()} and not a hub id (owner/name); give one of "
            f"{', '.join(REGISTRY)}, a hub id such as 'openai-community/gpt2', or an existing folder written by "
            "save_pretrained")


def _search_problems(search: SearchConfig, model: ModelConfig) -> list[str]:
    problems = [f"02_search.llm_choices.{i} = {name!r} is invalid: {problem}"
                for i, name in enumerate(search.llm_choices) if (problem := _backbone_name_problem(name))]
    if search.enqueue:
        names = parameter_names(search, model)
        space = "grid" if search.method == "grid" else f"{search.mode} space"
        for i, entry in enumerate(search.enqueue):
            unknown = sorted(set(entry) - names)
            if unknown:
                close = {u: difflib.get_close_matches(u, names, n=1, cutoff=0.7) for u in unknown}
                hint = "".join(f" ({u}: did you mean {c[0]}?)" for u, c in close.items() if c)
                problems.append(f"02_search.enqueue.{i} = {entry!r} is invalid: {unknown} are not parameters of "
                                f"the {space}, so the trial would ignore them{hint}; its parameters: "
                                f"{', '.join(sorted(names))}")
    return problems
