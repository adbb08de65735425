"""Turn Plotly chart selections into digit ids that stick across reruns and live in the URL."""

from __future__ import annotations

import streamlit as st

from ui import url_state


def chart_selection(chart_key: str) -> list[int]:
    """Ids selected on the chart's trace 0 (the digits), in selection order, without repeats.

    Plotly's point indices are per trace, so points from overlay traces (highlights, paths)
    are dropped by their curve number; their ids are already among trace 0's anyway.
    """
    event = st.session_state.get(chart_key) or {}
    selection = event.get("selection") or {}
    points = selection.get("points") or []
    if points and all("curve_number" in p for p in points):
        indices = [p.get("point_index", p.get("point_number")) for p in points if p["curve_number"] == 0]
    else:
        indices = selection.get("point_indices") or []
    return list(dict.fromkeys(int(i) for i in indices if i is not None))


def selected_ids(chart_key: str, state_key: str, param: str, n: int) -> list[int]:
    """The current selection: seeded from the URL, replaced by each new chart selection.

    A chart's own selection is cleared by Plotly whenever the figure changes (for example when
    the interpolation path is drawn), so the ids are kept in session state, not read from the chart.
    """
    url_state.seed_widget(state_key, param, url_state.parse_ids, [], lambda ids: all(i < n for i in ids))
    new = chart_selection(chart_key)
    if new and new != st.session_state.get(f"{state_key}_last"):
        st.session_state[state_key] = new
    st.session_state[f"{state_key}_last"] = new
    ids = [i for i in st.session_state[state_key] if i < n]
    st.session_state[state_key] = ids
    return ids
