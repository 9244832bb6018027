"""``cryptexlab worker``: one more process on a shared study, from this machine or any other.

    cryptexlab worker --study btc --storage postgresql://optuna@db/studies --n-trials 200 --host-workers 4

The worker reads the study's configuration from the storage (the ``spec`` user attribute that
:func:`cryptexlab.search.tuner.open_study` records), so the study name and the storage are all
it needs. A study that does not exist yet is created from ``--profile``. Several workers on one
study stop together at exactly ``n_trials`` (:func:`cryptexlab.search.tuner.run_search`); a dead
worker's trial is failed and tried again by the others (heartbeat on an RDB storage, pid check on
one host with the journal file).

Each worker trains with its share of this machine's cores: ``cores // host_workers`` torch threads.
Each samples with its own seed (:func:`worker_seed`): workers sharing one seed would propose the
same configurations.
"""

from __future__ import annotations

import os
import socket
import zlib
from collections.abc import Sequence

import optuna
import torch

from cryptexlab.errors import ParamsError
from cryptexlab.params import SearchConfig
from cryptexlab.profiles import load_profile
from cryptexlab.search.config import TrialConfig
from cryptexlab.search.storage import storage_for
from cryptexlab.search.tuner import SearchResult, run_search


def threads_for(host_workers: int, cores: int | None = None) -> int:
    """Torch threads of one of ``host_workers`` workers sharing ``cores`` (default: this machine's).

    Example:
        >>> threads_for(2, cores=16), threads_for(3, cores=2)
        (8, 1)
    """
    if host_workers < 1:
        raise ParamsError(f"--host-workers {host_workers}: give the number of workers on this machine, at least 1")
    return max(1, (cores or os.cpu_count() or 1) // host_workers)


def worker_seed(seed: int, host: str | None = None, pid: int | None = None) -> int:
    """The sampler seed of the worker ``pid`` on ``host`` (default: this process): the study's seed
    plus a number drawn from both, so that no two workers share a seed and each is reproducible.

    Example:
        >>> worker_seed(0, "node-1", 100) != worker_seed(0, "node-1", 101)
        True
    """
    key = f"{host or socket.gethostname()}:{pid if pid is not None else os.getpid()}"
    return seed + zlib.crc32(key.encode()) % 2**31


def join_spec(study: str, storage: str, *, n_trials: int | None = None, profile: str | None = None,
              overrides: Sequence[str] = (), storage_timeout_s: float | None = None) -> tuple[TrialConfig, SearchConfig]:
    """The base configuration and search section of ``study`` in ``storage``.

    An existing study's are read from the storage; a new study's come from ``profile``.

    Raises:
        ParamsError: the study does not exist and no profile was given; it exists and a profile
            or overrides were given as well (they would not apply); it holds no stored configuration.
    """
    fixed = {"study_name": study, "storage": storage,
             **({"n_trials": n_trials} if n_trials is not None else {}),
             **({"storage_timeout_s": storage_timeout_s} if storage_timeout_s is not None else {})}
    handle, where = storage_for(SearchConfig.model_validate(fixed))
    names = optuna.get_all_study_names(handle)
    spec = optuna.load_study(study_name=study, storage=handle).user_attrs.get("spec") if study in names else None
    if spec is None:
        if profile is None and study not in names:
            raise ParamsError(f"no study named {study!r} in {where} (it holds {', '.join(names) or 'none'}); pass "
                              "--profile NAME to create it from a profile's data, model, train and 02_search sections")
        if profile is None:
            raise ParamsError(f"study {study!r} in {where} holds no configuration (it was created before workers "
                              "existed); pass --profile with the profile that created it")
        p = load_profile(profile, overrides=[*overrides, *(f"02_search.{k}={v}" for k, v in fixed.items())])
        return TrialConfig(p.data, p.model, p.train), p.search
    if profile is not None or overrides:
        raise ParamsError(f"study {study!r} exists in {where}: a worker runs its stored configuration, so --profile "
                          "and -p do not apply; drop them, or choose a new --study to start another search")
    return TrialConfig.from_dict(spec["base"]), SearchConfig.model_validate({**spec["search"], **fixed})


def run_worker(study: str, storage: str, *, n_trials: int | None = None, profile: str | None = None,
               overrides: Sequence[str] = (), host_workers: int = 1, threads: int | None = None,
               storage_timeout_s: float | None = None, show_progress_bar: bool = True) -> SearchResult:
    """Join ``study`` and run its trials until it holds ``n_trials`` (:func:`join_spec`, :func:`threads_for`)."""
    torch.set_num_threads(threads or threads_for(host_workers))
    base, search = join_spec(study, storage, n_trials=n_trials, profile=profile, overrides=overrides,
                             storage_timeout_s=storage_timeout_s)
    return run_search(base, search.model_copy(update={"seed": worker_seed(search.seed)}),
                      show_progress_bar=show_progress_bar)
