"""Turn Plotly chart selections into digit ids that stick across reruns and live in the URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import streamlit as st

from explorer import generate
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


@contextmanager
def map_changes_last(state_key: str, wanted: dict) -> Iterator[dict]:
    """Yield what the maps should show in this run: `wanted`, or what is on screen now.

    A changed figure makes Plotly rebuild a 5,000-point map from scratch, which holds the browser's
    main thread for ~0.3 s per map and would hold back the pictures a new selection brings. So when
    only the overlays changed (`wanted["view"]` is the same: same models, split, projection), this
    run redraws the maps as they are on screen, and a second run, started at the end of the block,
    draws them as wanted. `wanted` must be built from plain values (ids, steps), so it compares.
    """
    on_screen = st.session_state.get(state_key)
    deferred = on_screen is not None and on_screen["view"] == wanted["view"] and on_screen != wanted
    yield on_screen if deferred else wanted
    st.session_state[state_key] = wanted
    if deferred:
        st.rerun()


def path_on_map(model, x, lmap, path: tuple | None) -> np.ndarray | None:
    """The interpolation `path` = (first id, last id, steps, method) placed on a 2-D map without
    refitting it; None without a path or on a 3-D map."""
    if path is None or lmap.xy.shape[1] != 2:
        return None
    first, last, steps, method = path
    codes, _ = generate.interpolate(model, x[first], x[last], steps, method)
    return lmap.projector.transform(codes)
