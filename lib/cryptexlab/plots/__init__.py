"""Plotly figures used by the notebooks (each function returns a ``go.Figure``)."""
