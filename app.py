"""Latent Lab: see how autoencoders learn compressed representations.

Run with `streamlit run app.py`. This file only declares the pages; each page is one
function in ui/, and every computation is a call into explorer/.
"""

import streamlit as st

from ui import (anomaly_page, compare_page, denoise_page, diffusion_page, draw_page, generate_page, map_page, pictures,
                resources, style_page, train_page)

st.set_page_config(page_title="Latent Lab", page_icon=":material/explore:", layout="wide")
pictures.use_sharp_pixels()  # digits are sent at their own size and enlarged by the browser, pixel-sharp
resources.show_checkpoint_problems()  # in the sidebar on every page: which checkpoints are left out, and why

PAGES = {
    "Explore": [
        st.Page(map_page.render, title="Latent map", icon=":material/scatter_plot:", default=True),
        st.Page(compare_page.render, title="AE vs VAE", icon=":material/compare:", url_path="compare"),
        st.Page(generate_page.render, title="Generate", icon=":material/casino:", url_path="generate"),
        st.Page(style_page.render, title="Style", icon=":material/brush:", url_path="style"),
        st.Page(diffusion_page.render, title="Diffusion", icon=":material/blur_on:", url_path="diffusion"),
    ],
    "Use": [
        st.Page(denoise_page.render, title="Denoise", icon=":material/blur_off:", url_path="denoise"),
        st.Page(anomaly_page.render, title="Anomalies", icon=":material/report:", url_path="anomaly"),
        st.Page(draw_page.render, title="Draw a digit", icon=":material/draw:", url_path="draw"),
    ],
    "Learn": [
        st.Page(train_page.render, title="Train", icon=":material/model_training:", url_path="train"),
    ],
}

resources.warm_up_umap()  # once per server: UMAP's numba code compiled/loaded in a background process
st.navigation(PAGES).run()
