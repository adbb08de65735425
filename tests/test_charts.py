"""ui.charts.FrozenFigure: converted once, drawn by st.plotly_chart exactly as the figure it froze."""

import numpy as np
import plotly.graph_objects as go
from streamlit.testing.v1 import AppTest

from ui.charts import FrozenFigure


def figure() -> go.Figure:
    rng = np.random.default_rng(0)
    fig = go.Figure(go.Scatter(x=rng.normal(size=200), y=rng.normal(size=200), mode="markers"))
    fig.update_layout(title="codes", height=300)
    return fig


def chart_spec(script: str) -> str:
    app = AppTest.from_string(script).run()
    assert not app.exception
    return app.get("plotly_chart")[0].proto.spec


def test_st_plotly_chart_draws_a_frozen_figure_as_the_figure_itself():
    drawn = "import streamlit as st\nfrom tests.test_charts import figure\n"
    plain = chart_spec(drawn + "st.plotly_chart(figure(), key='c')")
    frozen = chart_spec(drawn + "from ui.charts import FrozenFigure\nst.plotly_chart(FrozenFigure(figure()), key='c')")
    assert frozen == plain and '"codes"' in plain


def test_a_frozen_figure_converts_once_and_ignores_later_changes_to_the_original():
    original = figure()
    frozen = FrozenFigure(original)
    first = frozen.to_dict()
    original.update_layout(title="changed")
    assert frozen.to_dict() is first and first["layout"]["title"]["text"] == "codes"
