"""Turn Plotly chart selections into digit ids that stick across reruns and live in the URL."""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from explorer import generate
from ui import url_state

MAX_HIGHLIGHTS = 50  # ringed on a map; a box around thousands of digits would just repaint the map
PAINT_PAUSE_S = 0.1  # a few frames: enough to fetch and paint small PNGs from the same server


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


def selected_ids(chart_keys: tuple[str, ...], state_key: str, param: str, n: int, scope: tuple) -> list[int]:
    """One selection for one or more charts of the same digits: seeded from the URL, replaced by
    each new selection on any of them.

    A chart's own selection is cleared by Plotly whenever the figure changes (for example when
    the interpolation path is drawn), so the ids are kept in session state, not read from the
    charts. Each chart's last selection is remembered, so only a chart whose selection *changed*
    counts; a rerun changes one chart at a time, so that one is the newest.
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


def pause_if_maps_change(state_key: str, wanted: dict) -> None:
    """Call between a page's new pictures and its charts: if the maps are about to change, wait a moment.

    A changed figure makes Plotly rebuild a 5,000-point map from scratch (0.3-0.5 s of the browser's
    main thread per map in software WebGL, a bar chart 0.1 s), and pictures that arrive with it are
    painted only after. Streamlit sends each element as soon as the script writes it, so pausing
    here lets the browser fetch and paint the pictures first. Measured in Chromium: the pictures of a
    box-select arrive at p95 0.4 s instead of 0.8 s, the map 0.1 s later than it would.
    Only when the view is the same (same models, split, projection) and the overlays changed:
    `wanted` is built from plain values (ids, steps), so it compares.
    """
    on_screen = st.session_state.get(state_key)
    st.session_state[state_key] = wanted
    if on_screen is not None and on_screen["view"] == wanted["view"] and on_screen != wanted:
        time.sleep(PAINT_PAUSE_S)


def path_on_map(model, x, lmap, path: tuple | None) -> np.ndarray | None:
    """The interpolation `path` = (first id, last id, steps, method) placed on the map (2-D or 3-D)
    without refitting it; None without a path."""
    if path is None:
        return None
    first, last, steps, method = path
    codes, _ = generate.interpolate(model, x[first], x[last], steps, method)
    return lmap.projector.transform(codes)
