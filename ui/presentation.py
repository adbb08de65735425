"""Presentation mode: one sidebar toggle, remembered in the link (?present=1), that makes text, pictures and
controls big enough to read from the back of a lecture room. The stylesheet is fixed text: nothing from a
user or a link ever goes into it."""

from __future__ import annotations

import streamlit as st

from ui import url_state

KEY = "presentation_mode"
PARAM = "present"
STYLESHEET = """<style>
[data-testid="stMain"] p, [data-testid="stMain"] li, [data-testid="stMain"] label p,
[data-testid="stMain"] [data-testid="stMarkdownContainer"] { font-size: 1.45rem !important; line-height: 1.5; }
[data-testid="stMain"] h1 { font-size: 3.2rem !important; }
[data-testid="stMain"] h2 { font-size: 2.4rem !important; }
[data-testid="stMain"] h3 { font-size: 2rem !important; }
[data-testid="stMain"] [data-testid="stCaptionContainer"] { font-size: 1.2rem !important; }
[data-testid="stMain"] button { min-height: 3.2rem; }
[data-testid="stMain"] button p { font-size: 1.45rem !important; }
[data-testid="stMain"] [data-baseweb="radio"] > div:first-child,
[data-testid="stMain"] [data-baseweb="checkbox"] > div:first-child { transform: scale(1.4); margin-right: 0.6rem; }
[data-testid="stMain"] [data-baseweb="select"] div { font-size: 1.4rem !important; }
[data-testid="stMain"] [data-testid="stImage"] img { min-width: 100%; height: auto; }
[data-testid="stMain"] .js-plotly-plot .xtick text, [data-testid="stMain"] .js-plotly-plot .ytick text,
[data-testid="stMain"] .js-plotly-plot .g-xtitle text,
[data-testid="stMain"] .js-plotly-plot .g-ytitle text { font-size: 20px !important; }
</style>"""


def presentation_toggle() -> bool:
    """The sidebar toggle (seeded from the link once per session); when on, the stylesheet for the page."""
    url_state.seed_widget(KEY, PARAM, url_state.parse_flag, False)
    on = st.sidebar.toggle("Presentation mode", key=KEY, help="Larger text, pictures and controls for a projector")
    if on:
        st.html(STYLESHEET)
    url_state.write({PARAM: "1" if on else None})
    return on
