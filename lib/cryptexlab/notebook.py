"""Set-up shared by every notebook: plotly renderer that draws offline, display options.

Example (first code cell after the parameters)::

    from cryptexlab.notebook import setup
    setup()
"""

from __future__ import annotations

import pandas as pd
import plotly.io as pio

from cryptexlab.data.source import describe_source
from cryptexlab.params import DataConfig

#: ``plotly_mimetype`` draws in JupyterLab; ``notebook`` embeds plotly.js once per page so the
#: HTML rendered by nbconvert draws with no network (``notebook_connected`` would use a CDN).
RENDERER = "plotly_mimetype+notebook"


def setup() -> None:
    """Select the offline-safe plotly renderer and readable pandas output."""
    pio.renderers.default = RENDERER
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
