"""Plotly figures that many sessions draw again and again, unchanged."""

from __future__ import annotations

import plotly.graph_objects as go


class FrozenFigure(go.Figure):
    """A figure converted for the browser once, for st.plotly_chart.

    st.plotly_chart calls `figure.to_dict()` on every call, which copies the figure and turns each
    numpy array into base64: 20-70 ms for the Train page's latent replay. A class of 30 watching one
    shared run redraws the same figure 30 times a second, so the web server did little else
    (bench/class_burst.py). This one answers to_dict() with the dict made when it was frozen; it holds
    nothing else, so freeze a figure only once it is finished and use it only to be drawn.
    """

    def __init__(self, figure: go.Figure):
        super().__init__()
        self._frozen = figure.to_dict()

    def to_dict(self) -> dict:
        return self._frozen
