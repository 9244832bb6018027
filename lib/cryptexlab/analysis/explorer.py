"""An interactive explorer of stored studies (ipywidgets): pick a study, a parameter pair and a trial.

In JupyterLab the widgets react: the scatter of the two parameters (coloured by the objective,
the chosen trial ringed) and the chosen trial's parameters and attributes follow the pickers. In a
rendered HTML report, which has no kernel, the same output carries a static fallback: the figure
and table of the initial choice (``text/html`` beside the widget view; the report keeps it and
drops the view, see :func:`cryptexlab.reports.render_html`).

Example:
    >>> explorer = StudyExplorer(report.studies)  # doctest: +SKIP
    >>> explorer  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from cryptexlab.analysis.compare import LoadedStudy
from cryptexlab.analysis.load import completed, thin
from cryptexlab.errors import ParamsError


class StudyExplorer:
    """Pickers (study, x, y, trial), a figure and a trial table; ``figure`` and ``trial_table`` hold the
    current view, so a test can drive the pickers and read what a user would see."""

    def __init__(self, studies: list[LoadedStudy]) -> None:
        named = [s.name for s in studies]
        studies = [s for s in studies if any(c.startswith("params.") for c in s.frame.columns)]
        if not studies:
            raise ParamsError(f"the explorer needs a study with sampled parameters, and {named or 'no study'} has "
                              "none; run a search first (or pick its study in 05_analysis.studies)")
        self.studies = {s.name: s for s in studies}
        first = studies[0]
        self.study = widgets.Dropdown(options=list(self.studies), value=first.name, description="study")
        self.x = widgets.Dropdown(description="x")
        self.y = widgets.Dropdown(description="y")
        # a number box, not a dropdown that would list every trial number (thousands in a large study)
        self.trial = widgets.BoundedIntText(description="trial", min=0, max=0)
        self.out = widgets.Output()
        self.figure = go.Figure()
        self.trial_table = pd.DataFrame()
        self._drawing = False
        self._sync_study()
        self.study.observe(lambda _: self._sync_study(), names="value")
        for picker in (self.x, self.y, self.trial):
            picker.observe(lambda _: self._draw(), names="value")
        self.widget = widgets.VBox([widgets.HBox([self.study, self.trial]), widgets.HBox([self.x, self.y]), self.out])

    @property
    def current(self) -> LoadedStudy:
        """The study picked."""
        return self.studies[self.study.value]

    def _sync_study(self) -> None:
        s = self.current
        params = [c.removeprefix("params.") for c in s.frame.columns if c.startswith("params.")]
        done = completed(s.frame, s.column)
        best = int(done.loc[done[s.column].idxmin() if s.direction == "minimize" else done[s.column].idxmax(), "number"]) \
            if not done.empty else None
        self._drawing = True  # the pickers change one by one: draw once, when they agree
        self.x.options = params
        self.x.value = params[0] if params else None
        self.y.options = [*params, s.metric]
        self.y.value = params[1] if len(params) > 1 else s.metric
        self.trial.max = int(s.frame["number"].max()) if len(s.frame) else 0
        self.trial.value = best if best is not None else 0
        self._drawing = False
        self._draw()

    def _draw(self) -> None:
        if self._drawing:
            return
        s = self.current
        done = completed(s.frame, s.column)
        ycol = s.column if self.y.value == s.metric else f"params.{self.y.value}"
        dots = thin(done)
        fig = go.Figure(go.Scatter(x=dots[f"params.{self.x.value}"], y=dots[ycol], mode="markers",
                                   marker=dict(size=6, color=dots[s.column], colorscale="Viridis_r" if s.direction == "minimize" else "Viridis",
                                               colorbar=dict(title=s.metric), showscale=True),
                                   text=[f"trial {n}" for n in dots["number"]], name="completed trials"))
        chosen = done[done["number"] == self.trial.value]
        if not chosen.empty:
            fig.add_trace(go.Scatter(x=chosen[f"params.{self.x.value}"], y=chosen[ycol], mode="markers",
                                     marker=dict(size=16, color="rgba(0,0,0,0)", line=dict(color="#d62728", width=3)),
                                     name=f"trial {self.trial.value}"))
        drawn = f"; {len(dots):,} of {len(done):,} trials drawn" if len(dots) < len(done) else ""
        fig.update_layout(title=f"{s.name}: {self.x.value} against {self.y.value} (colour: {s.metric}{drawn})",
                          xaxis_title=self.x.value, yaxis_title=self.y.value, height=460)
        self.figure = fig
        row = s.frame[s.frame["number"] == self.trial.value]
        self.trial_table = row.drop(columns=[c for c in row if row[c].isna().all()]).T.rename(columns=lambda _: "value") \
            if not row.empty else pd.DataFrame()
        # the view is set as the Output widget's state, not printed inside ``with self.out``: that capture
        # path can block a headless run (nbclient issue 312), and a report run never interacts anyway
        self.out.outputs = ()
        self.out.append_display_data(fig)
        self.out.append_display_data(self.trial_table)

    def static_html(self) -> str:
        """The current view as HTML (the report's fallback): figure, then the trial's table."""
        return (f"<p><b>Study explorer</b> (interactive in JupyterLab: pick a study, a parameter pair and a "
                f"trial). Shown: study {self.study.value}, trial {self.trial.value}.</p>"
                + pio.to_html(self.figure, full_html=False, include_plotlyjs=False)
                + self.trial_table.to_html(border=0))

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(**kwargs) or {}
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        return {**data, "text/html": self.static_html(), "text/plain": "Study explorer (ipywidgets)"}
