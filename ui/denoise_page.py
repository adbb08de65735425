"""Placeholder until this page is written (work in progress on this branch)."""

import streamlit as st


def render() -> None:
    st.title("denoise")
    st.info("This page is being built.")
