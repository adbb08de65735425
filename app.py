"""Latent Lab: see how autoencoders learn compressed representations.

Run with `streamlit run app.py`. This file only declares the pages; each page is one
function in ui/, and every computation is a call into explorer/.
"""

import streamlit as st

from ui import anomaly_page, compare_page, denoise_page, draw_page, generate_page, map_page, train_page

st.set_page_config(page_title="Latent Lab", page_icon="🧭", layout="wide")

PAGES = {
    "Explore": [
        st.Page(map_page.render, title="Latent map", icon="🗺️", default=True),
        st.Page(compare_page.render, title="AE vs VAE", icon="⚖️", url_path="compare"),
        st.Page(generate_page.render, title="Generate", icon="🎲", url_path="generate"),
    ],
    "Use": [
        st.Page(denoise_page.render, title="Denoise", icon="🧽", url_path="denoise"),
        st.Page(anomaly_page.render, title="Anomalies", icon="🚨", url_path="anomaly"),
        st.Page(draw_page.render, title="Draw a digit", icon="✏️", url_path="draw"),
    ],
    "Learn": [
        st.Page(train_page.render, title="Train", icon="🏋️", url_path="train"),
    ],
}

st.navigation(PAGES).run()
