"""Serving Latent Lab: `streamlit run app.py` processes (servers.py) and the two-server layout behind HAProxy
(two_servers.py). Standard library only: nothing here imports the app, torch or Streamlit."""
