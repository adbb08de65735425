"""Latent Lab's Streamlit pages: layout, widgets and session state. Computation lives in explorer/."""
