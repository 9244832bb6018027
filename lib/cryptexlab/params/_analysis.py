"""The ``05_analysis`` section: which stored studies the optimisation analysis reads."""

from __future__ import annotations

from pydantic import Field

from cryptexlab.params._base import Section


class AnalysisNotebook(Section):
    """Section ``05_analysis``: the studies analysed (nothing is trained).

    ``storage`` null reads every journal in ``studies/``; ``studies`` empty takes every study the
    storage holds. ``create_plots`` false keeps the tables and the summary JSON only (a quick look at
    a large study); ``explorer`` adds the interactive picker (JupyterLab; a static view in the report).
    """

    studies: list[str] = Field(default_factory=list, description="study names; empty = every study in the storage")
    storage: str | None = Field(None, description="journal file or SQLAlchemy URL; null = every journal in studies/")
    create_plots: bool = Field(True, description="draw the figures (false: tables and the summary JSON only)")
    explorer: bool = Field(True, description="the interactive explorer (static in the HTML report)")
    top_params: int = Field(6, ge=1, le=30, description="parameters shown in the attribute plots (by importance)")
