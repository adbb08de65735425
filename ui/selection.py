"""Turn map selections into digit ids that stick across reruns and live in the URL."""

from __future__ import annotations

import streamlit as st

from ui import url_state

MAX_HIGHLIGHTS = 50  # ringed on a map; a box around thousands of digits would just repaint the map


def chart_selection(chart_key: str) -> list[int]:
    """Digit ids selected on a latent map (ui.latent_map), in selection order, without repeats."""
    state = st.session_state.get(chart_key) or {}
    ids = (state.get("selection") or {}).get("point_indices") or []
    if not all(type(i) is int for i in ids):  # as the map sends them, ints: no conversion (a box may hold 30,000)
        ids = [int(i) for i in ids if i is not None]
    return list(dict.fromkeys(ids))


def selected_ids(chart_keys: tuple[str, ...], state_key: str, param: str, n: int, scope: tuple) -> list[int]:
    """One selection for one or more charts of the same digits: seeded from the URL, replaced by
    each new selection on any of them.

    A new selection on one map replaces the selection of all, so the ids are kept in session
    state, not read from the maps. Each map's last selection is remembered, so only a map whose
    selection *changed* counts; a rerun changes one map at a time, so that one is the newest.
    Ids are row numbers within the shown digits, so they mean other digits once `scope` (the
    dataset and split) changes: then the selection is dropped, not silently moved to other digits.
    """
    url_state.seed_widget(state_key, param, url_state.parse_ids, [], lambda ids: all(i < n for i in ids))
    if st.session_state.setdefault(f"{state_key}_scope", scope) != scope:
        st.session_state[f"{state_key}_scope"] = scope
        st.session_state[state_key] = []
    for chart_key in chart_keys:
        new = chart_selection(chart_key)
        if new and new != st.session_state.get(f"{chart_key}_last"):
            st.session_state[state_key] = new
        st.session_state[f"{chart_key}_last"] = new
    ids = [i for i in st.session_state[state_key] if i < n]
    st.session_state[state_key] = ids
    return ids

