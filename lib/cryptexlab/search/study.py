"""A study in its storage: created or resumed (refusing to mix data or scoring under one name), found by name,
warm-started, summarised."""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from cryptexlab.errors import ParamsError
from cryptexlab.params import OBJECTIVE_DIRECTIONS, Profile, SearchConfig
from cryptexlab.paths import STUDIES_DIR
from cryptexlab.search.config import TrialConfig
from cryptexlab.search.samplers import make_pruner, make_sampler
from cryptexlab.search.storage import storage_for


def open_study(base: TrialConfig, search: SearchConfig, storage: optuna.storages.BaseStorage | None = None
               ) -> optuna.Study:
    """Create or load the study; refuse to mix data specifications under one name.

    A new study records its configuration (user attribute ``spec``: the base configuration and the
    search section), so that ``cryptexlab worker`` on another machine joins it with the study name
    and the storage alone.
    """
    storage = storage or storage_for(search)[0]
    study = optuna.create_study(study_name=search.study_name, storage=storage, load_if_exists=True,
                                directions=[OBJECTIVE_DIRECTIONS[o] for o in search.objectives],
                                sampler=make_sampler(search), pruner=make_pruner(search))
    if not study.metric_names:  # optuna-dashboard (and the analysis) name the objectives, not "Objective 0"
        with warnings.catch_warnings():  # marked experimental since Optuna 3.2
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(list(search.objectives))
    fingerprint = base.fingerprint()
    known = study.user_attrs.get("data_fingerprint")
    if known is None:
        study.set_user_attr("data_fingerprint", fingerprint)
        study.set_user_attr("objectives", list(search.objectives))
        study.set_user_attr("mode", search.mode)
        study.set_user_attr("spec", {"base": base.to_dict(),
                                     "search": search.model_dump(mode="json", exclude={"storage", "study_name"})})
        if search.cv is not None:
            study.set_user_attr("cv", search.cv.model_dump())
    elif known != fingerprint and search.mode != "comprehensive":
        raise ParamsError(other_data_message(search.study_name, known, fingerprint))
    else:
        scored = study.user_attrs.get("cv")
        now = search.cv.model_dump() if search.cv is not None else None
        if scored != now:
            raise ParamsError(f"study {search.study_name!r} scored its trials {_scoring(scored)}, but this search "
                              f"scores them {_scoring(now)}: their values would not compare; choose another "
                              "study_name or restore the cv setting")
    return study


def other_data_message(name: str, known: str, now: str) -> str:
    """Why a study is refused for this data, and the one key that fixes it."""
    return (f"study {name!r} was run on other data or windows (fingerprint {known}, now {now}); set the run's "
            f"study name to another one (the top-level key study, e.g. -p study={name}-2), or restore the data section")


def check_stored_data(base: TrialConfig, searches: list[SearchConfig]) -> None:
    """Refuse, before anything runs, a run whose studies already hold trials of other data or windows.

    Only studies that exist are read (a journal file that is not there holds none, and is not created here);
    a comprehensive search varies the data per trial, so its study is not compared.

    Raises:
        ParamsError: naming the study, both fingerprints and the key to set (``study``).
    """
    fingerprint = base.fingerprint()
    for search in searches:
        target = search.storage or str(STUDIES_DIR / f"{search.study_name}.journal")
        if search.mode == "comprehensive" or ("://" not in target and not Path(target).is_file()):
            continue
        study, _ = find_study(search)
        known = None if study is None else study.user_attrs.get("data_fingerprint")
        if known is not None and known != fingerprint:
            raise ParamsError(other_data_message(search.study_name, known, fingerprint))


def studies_written(profile: Profile, notebooks: list[str] | None = None) -> list[SearchConfig]:
    """The studies a profile's run (or its ``notebooks``) writes: 02_search's, 03_cv's CV study (same storage),
    and the verdict's when it runs its search first; each as the search section that opens it."""
    names = profile.notebooks if notebooks is None else notebooks
    out = [profile.search] if "02_search" in names else []
    if "03_cv" in names:
        cv = profile.cv_notebook
        out.append(profile.search.model_copy(update={"study_name": cv.cv_study_name, "storage": cv.storage}))
    if "06_verdict" in names and profile.verdict_notebook.run_search:
        verdict = profile.verdict_notebook
        out.append(profile.search.model_copy(update={"study_name": verdict.study_name, "storage": verdict.storage}))
    return out


def check_profile_studies(profile: Profile, notebooks: list[str] | None = None) -> None:
    """:func:`check_stored_data` for every study the profile's run writes (``run_all.py``, ``cryptexlab verdict``
    and ``cryptexlab optimize`` call it once the profile is loaded)."""
    check_stored_data(TrialConfig(profile.data, profile.model, profile.train), studies_written(profile, notebooks))


def _scoring(cv: dict[str, Any] | None) -> str:
    return "on the validation period" if cv is None else f"by cross-validation {cv}"


def find_study(search: SearchConfig) -> tuple[optuna.Study | None, str]:
    """The stored study ``search.study_name`` (None when its storage holds no such study) and where it was
    looked for, for the caller's message (03_cv and 04_schedules fall back to the profile's configuration,
    the verdict refuses)."""
    storage, where = storage_for(search)
    try:
        return optuna.load_study(study_name=search.study_name, storage=storage), where
    except KeyError:
        return None, where


def warm_start(study: optuna.Study, search: SearchConfig) -> None:
    if study.user_attrs.get("warm_started"):
        return
    if search.import_from:
        storage, _ = storage_for(search.model_copy(update={"study_name": search.import_from}))
        try:
            source = optuna.load_study(study_name=search.import_from, storage=storage)
        except KeyError:
            raise ParamsError(f"import_from: no study {search.import_from!r} in {storage_for(search)[1]}") from None
        study.add_trials([t for t in source.get_trials(states=(TrialState.COMPLETE,))])
    for params in search.enqueue:
        study.enqueue_trial(params, skip_if_exists=True)
    study.set_user_attr("warm_started", True)


def summarize(study: optuna.Study) -> dict[str, Any]:
    """Counts by state, failures by reason, the best value(s)."""
    trials = study.get_trials(deepcopy=False)
    failures = Counter(str(t.user_attrs.get("failure_reason", "unknown")).split(":")[0]
                       for t in trials if t.state == TrialState.FAIL)
    best = [{"number": t.number, "values": t.values, "params": t.params} for t in study.best_trials] \
        if any(t.state == TrialState.COMPLETE for t in trials) else []
    return {"study": study.study_name, "trials": len(trials),
            "states": dict(Counter(t.state.name for t in trials)), "failures": dict(failures), "best": best}
