"""Set-up shared by every notebook: plotly renderer that draws offline, display options, and the
notebook's own settings validated from its parameters.

Example (first code cell after the parameters)::

    from cryptexlab.stages.notebook import notebook_settings, setup
    setup()
    settings = notebook_settings(VerdictNotebook, globals())

Every notebook builds its section (:data:`cryptexlab.params.NOTEBOOK_SECTIONS`) the same way:
:func:`notebook_settings` with the schema and the notebook's ``globals()``, which reads the schema's
fields from the parameters cell (papermill's injected values included). The shared sections
(``data``, ``model``, ``train``, ``search``) are dict parameters validated by their own schemas.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd
import plotly.io as pio
from pydantic import ValidationError

from cryptexlab.data.source import describe_source
from cryptexlab.errors import ParamsError
from cryptexlab.params import NOTEBOOK_SECTIONS, DataConfig, SearchConfig, Section, TrainConfig

if TYPE_CHECKING:
    from cryptexlab.search.config import TrialConfig

S = TypeVar("S", bound=Section)

#: ``plotly_mimetype`` draws in JupyterLab; ``notebook`` embeds plotly.js once per page so the
#: HTML rendered by nbconvert draws with no network (``notebook_connected`` would use a CDN).
RENDERER = "plotly_mimetype+notebook"


def setup() -> None:
    """Select the offline-safe plotly renderer, readable pandas output, quiet model loading."""
    import warnings

    import transformers
    from tqdm import TqdmExperimentalWarning, TqdmWarning

    pio.renderers.default = RENDERER
    transformers.logging.disable_progress_bar()  # "Loading weights" bars of every trial
    # tqdm.auto wants ipywidgets for a widget bar; without them it prints a text bar, which is fine
    warnings.filterwarnings("ignore", category=TqdmWarning)
    warnings.filterwarnings("ignore", category=TqdmExperimentalWarning)
    pd.set_option("display.max_columns", 40)
    pd.set_option("display.width", 160)
    pd.set_option("display.float_format", lambda v: f"{v:,.6g}")


def source_banner(config: DataConfig) -> str:
    """Markdown line naming the data source; a warning when it is the synthetic default."""
    label = describe_source(config)
    if config.path is None:
        return (f"> **Synthetic data** - {label}. Figures here describe the generator, not Bitcoin; "
                "set `data.path` to a Cryptex CSV for real conclusions.")
    return f"**Data:** {label}"


def search_budget_text(base: TrialConfig, search: SearchConfig) -> str:
    """Markdown stating the search's budgets, so a reader knows what the numbers cost."""
    t, w = base.train, base.data.windows
    objectives = ", ".join(search.objectives)
    pruning = "off (multi-objective)" if len(search.objectives) > 1 else search.pruner
    return (f"**Budget:** {search.n_trials} trials of the `{search.mode}` space with `{search.method}` "
            f"(seed {search.seed}), pruner {pruning}, objective(s) {objectives}; each trial trains at most "
            f"{t.epochs} epoch(s) of {t.max_train_windows or 'all'} windows (batch {t.batch_size}), "
            f"windows of {w.seq_len} -> {w.pred_len} bars; {eval_budget_text(t)}; study `{search.study_name}`"
            + (f", trial timeout {search.trial_timeout_s:.0f} s" if search.trial_timeout_s else "") + "."
            + (cv_text(search) if search.cv is not None else ""))


def cv_text(search: SearchConfig) -> str:
    """Markdown: how a cross-validated search scores and prunes its trials."""
    cv = search.cv
    assert cv is not None
    steps = "its running mean" if search.pruner != "wilcoxon" else "each fold's score"
    return (f" **Cross-validated:** every trial trains {cv.folds()} model(s), one per fold of a `{cv.kind}` split of "
            f"the development period (the test period untouched), the evaluation budget applying per fold; after "
            f"each fold the pruner sees {steps}.")


def eval_budget_text(train: TrainConfig) -> str:
    """Which validation windows score a run (the evaluation budget), in words."""
    cap = train.eval_cap()
    spacing = "" if train.eval_stride == 1 else f" (candidates {train.eval_stride} bars apart)"
    which = f"at most {cap:,} windows" if cap is not None else "every window"
    return (f"validation scores {which}{spacing}, spread evenly over the period, the same windows for every "
            "trial and baseline")


def notebook_settings(schema: type[S], namespace: Mapping[str, Any] | None = None, /, **values: Any) -> S:
    """A notebook's own section, validated from its parameters: one call per notebook.

    Args:
        schema: The section's schema, e.g. :class:`cryptexlab.params.SearchConfig` for 02_search.
        namespace: The notebook's ``globals()``: every field of ``schema`` is read from it (other
            names in it are ignored).
        values: Explicit parameters (beside or instead of ``namespace``, and taking precedence);
            each must be a field of ``schema``.

    Raises:
        ParamsError: a field of the schema that is not given (a parameter missing from the
            notebook's parameters cell), a keyword that is no field, or an invalid value; the
            message names the notebook, the parameter and what is allowed.

    Example:
        >>> from cryptexlab.params import DataNotebook
        >>> notebook_settings(DataNotebook, {"candles_shown": 48, "acf_lags": 12, "data": {}}).acf_lags
        12
        >>> notebook_settings(DataNotebook, candles_shown=48)
        Traceback (most recent call last):
        ...
        cryptexlab.errors.ParamsError: 01_data: parameter 'acf_lags' is missing; the parameters cell must define acf_lags, candles_shown
    """
    where = _notebook_name(schema)
    fields = list(schema.model_fields)
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ParamsError(f"{where}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
                          f"{schema.__name__} takes {', '.join(sorted(fields))}")
    given = {name: namespace[name] for name in fields if namespace is not None and name in namespace}
    given.update(values)
    missing = [name for name in fields if name not in given]
    if missing:
        noun = "parameter" if len(missing) == 1 else "parameters"
        raise ParamsError(f"{where}: {noun} {', '.join(map(repr, missing))} {'is' if len(missing) == 1 else 'are'} "
                          f"missing; the parameters cell must define {', '.join(sorted(fields))}")
    try:
        return schema.model_validate(given)
    except ValidationError as exc:
        raise ParamsError("\n".join(_describe(where, err) for err in exc.errors())) from None


def _notebook_name(schema: type[Section]) -> str:
    """The notebook whose section ``schema`` is (its class name when it is no notebook's section)."""
    return next((name for name, s in NOTEBOOK_SECTIONS.items() if s is schema), schema.__name__)


def _describe(where: str, err: Any) -> str:
    """One readable line per pydantic error: notebook, parameter, value, rule."""
    dotted = ".".join(str(p) for p in err["loc"]) or "(settings)"
    rule = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return f"{where}: unknown key '{dotted}'"
    if err["type"] == "missing":
        return f"{where}: required key '{dotted}' is missing"
    if not err["loc"]:  # a rule across the section's parameters: it names them
        return f"{where}: {rule}"
    return f"{where}: parameter {dotted} = {err.get('input')!r} is invalid: {rule}"
