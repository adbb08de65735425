"""Placeholder until this page is written (work in progress on this branch)."""

import streamlit as st


def render() -> None:
    st.title("anomaly")
    st.info("This page is being built.")
