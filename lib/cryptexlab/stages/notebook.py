"""Set-up shared by every notebook: plotly renderer that draws offline, display options.

Example (first code cell after the parameters)::

    from cryptexlab.stages.notebook import setup
    setup()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import plotly.io as pio

from cryptexlab.data.source import describe_source
from cryptexlab.params import DataConfig, SearchConfig, TrainConfig

if TYPE_CHECKING:
    from cryptexlab.search.config import TrialConfig

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
