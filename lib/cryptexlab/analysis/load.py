"""Finding stored studies and reading their trials into one table.

A storage is a journal file (``studies/NAME.journal``) or an SQLAlchemy URL. With no storage given
every journal in ``studies/`` is read. :func:`trials_frame` reads a study's trials once
(``get_trials(deepcopy=False)``) into a plain ``DataFrame``; every analysis works on that table, so
a 5,000-trial study is read from its storage once.

Example:
    >>> refs = find_studies(None, ["quick"])  # doctest: +SKIP
    >>> frame = trials_frame(refs[0].load())  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from cryptexlab.errors import ParamsError
from cryptexlab.paths import STUDIES_DIR

#: user attributes copied into the trials table (when a trial has them)
ATTRIBUTES = ("duration_s", "memory_estimate_mib", "trainable_params", "stop_reason", "failure_reason",
              "pruned_at_epoch")


@dataclass(frozen=True)
class StudyRef:
    """One study in one storage."""

    name: str
    storage: str  # the journal path or URL, as optuna-dashboard opens it

    def load(self) -> optuna.Study:
        """The study (read-only use)."""
        return optuna.load_study(study_name=self.name, storage=open_storage(self.storage))


def open_storage(target: str) -> optuna.storages.BaseStorage:
    """A journal file or an RDB URL as an Optuna storage.

    Raises:
        ParamsError: a journal path that does not exist.
    """
    if "://" in target:
        if target.startswith("sqlite:///") and not Path(target.removeprefix("sqlite:///")).is_file():
            raise ParamsError(f"no SQLite database at {target.removeprefix('sqlite:///')} ({target}); give the URL "
                              "of the database a search wrote, e.g. sqlite:///studies/optuna.db")
        return optuna.storages.RDBStorage(target, skip_table_creation=True)
    if not Path(target).is_file():
        raise ParamsError(f"no study storage at {target}: give a journal file written by a search "
                          f"(studies/NAME.journal) or an SQLAlchemy URL such as sqlite:///studies.db")
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    return JournalStorage(JournalFileBackend(target))


def find_studies(storage: str | None, names: Sequence[str] = ()) -> list[StudyRef]:
    """The named studies (all when ``names`` is empty) in ``storage``, or in every journal of ``studies/``.

    Raises:
        ParamsError: no storage or no study found, or a name not held there (naming what is held).
    """
    targets = [storage] if storage else sorted(str(p) for p in STUDIES_DIR.glob("*.journal"))
    if not targets:
        raise ParamsError(f"no journal in {STUDIES_DIR}: run a search first (./workbench run) or pass a storage")
    held: list[StudyRef] = []
    for target in targets:
        held += [StudyRef(s.study_name, target) for s in optuna.get_all_study_summaries(open_storage(target),
                                                                                        include_best_trial=False)]
    if not names:
        if not held:
            raise ParamsError(f"no study in {', '.join(targets)}: run a search first")
        return held
    by_name: dict[str, StudyRef] = {}
    for r in held:
        if r.name in by_name and r.name in names:
            raise ParamsError(f"study {r.name!r} is in two storages, {by_name[r.name].storage} and {r.storage}; "
                              "pass the one to read as the storage (--storage, 05_analysis.storage)")
        by_name.setdefault(r.name, r)
    unknown = [n for n in names if n not in by_name]
    if unknown:
        where = storage or f"the journals of {STUDIES_DIR}"
        raise ParamsError(f"no study named {', '.join(map(repr, unknown))} in {where}; it holds "
                          f"{', '.join(sorted(by_name)) or 'no study'}")
    return [by_name[n] for n in names]


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: ``number``, ``state``, ``value`` (or ``value_0``.. for several objectives), one
    ``params.NAME`` column per parameter, the :data:`ATTRIBUTES`, ``folds`` (cross-validated fold scores) and
    ``datetime_start``."""
    rows = []
    n_obj = len(study.directions)
    for t in study.get_trials(deepcopy=False):
        row: dict[str, object] = {"number": t.number, "state": t.state.name, "datetime_start": t.datetime_start}
        values = t.values if t.values is not None else [np.nan] * n_obj
        if n_obj == 1:
            row["value"] = values[0]
        else:
            row.update({f"value_{i}": v for i, v in enumerate(values)})
        row.update({f"params.{k}": v for k, v in t.params.items()})
        row.update({k: t.user_attrs[k] for k in ATTRIBUTES if k in t.user_attrs})
        if "cv_folds" in t.user_attrs:
            row["folds"] = [f.get("score") for f in t.user_attrs["cv_folds"]]
        rows.append(row)
    values = ["value"] if n_obj == 1 else [f"value_{i}" for i in range(n_obj)]
    frame = pd.DataFrame(rows) if rows else pd.DataFrame(columns=["number", "state", "datetime_start", *values])
    for col in ("duration_s", "memory_estimate_mib"):
        if col not in frame:
            frame[col] = np.nan
    return frame


def param_kinds(study: optuna.Study) -> dict[str, str]:
    """Each parameter's kind, from its distribution: ``log`` (log-scaled number), ``number``, ``ordinal``
    (categorical with numeric choices) or ``categorical`` (text or mixed choices)."""
    kinds: dict[str, str] = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        for name, dist in t.distributions.items():
            if name in kinds:
                continue
            if isinstance(dist, CategoricalDistribution):
                numeric = all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in dist.choices)
                kinds[name] = "ordinal" if numeric else "categorical"
            elif isinstance(dist, (FloatDistribution, IntDistribution)):
                kinds[name] = "log" if dist.log else "number"
    return kinds


def metric_names(study: optuna.Study) -> list[str]:
    """The objectives' names: the study's metric names, its ``objectives`` attribute, or ``objective N``."""
    if study.metric_names:
        return list(study.metric_names)
    named = study.user_attrs.get("objectives")
    if named and len(named) == len(study.directions):
        return list(named)
    return [f"objective {i}" for i in range(len(study.directions))]


def completed(frame: pd.DataFrame, column: str = "value") -> pd.DataFrame:
    """The completed trials whose ``column`` (an objective) is finite, in trial order."""
    ok = (frame["state"] == "COMPLETE") & np.isfinite(pd.to_numeric(frame[column], errors="coerce"))
    return frame[ok].sort_values("number")


#: points one scatter figure draws at most: the report keeps every figure's data, and a 5,000-trial
#: study would otherwise push a page past its size limit (statistics always use every trial)
MAX_POINTS = 1000


def thin(frame: pd.DataFrame, cap: int = MAX_POINTS, seed: int = 0) -> pd.DataFrame:
    """At most ``cap`` rows, a seeded random sample in the original order (all rows when fewer)."""
    if len(frame) <= cap:
        return frame
    return frame.sample(n=cap, random_state=seed).sort_index()
