"""Latent Lab: see how autoencoders learn compressed representations.

Run with `streamlit run app.py`. This file only declares the pages; each page is one
function in ui/, and every computation is a call into explorer/.
"""

import streamlit as st

from ui import map_page

st.set_page_config(page_title="Latent Lab", page_icon="🧭", layout="wide")

PAGES = [
    st.Page(map_page.render, title="Latent map", icon="🗺️", url_path="map", default=True),
]

st.navigation(PAGES).run()
