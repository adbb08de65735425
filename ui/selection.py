"""Turn map selections, and digits picked with the keyboard, into digit ids that stick across reruns and live
in the URL."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import selection_text
from explorer.errors import ExplorerError
from ui import url_state
from ui.plain_text import escape

MAX_HIGHLIGHTS = 50  # ringed on a map; a box around thousands of digits would just repaint the map
# A focus ring on every control of the keyboard panel (KEY the panel's key), solid and 2 px in the theme's colour
# (4.6:1 against white): Streamlit marks a focused field only by turning its 1-px border blue, and a focused
# button by a half-transparent glow. Fixed text: nothing from a user or a link goes into it.
FOCUS_RING = """<style>
.st-key-KEY summary:focus-visible, .st-key-KEY button:focus-visible {
  outline: 2px solid #1f77b4; outline-offset: 2px; box-shadow: none; }
.st-key-KEY [data-testid="stTextInputRootElement"]:focus-within,
.st-key-KEY [data-testid="stNumberInputContainer"]:focus-within,
.st-key-KEY [data-testid="stSelectbox"] [role="group"]:focus-within { outline: 2px solid #1f77b4; outline-offset: 2px; }
</style>"""


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


def keyboard_selection(state_key: str, n: int, labels: np.ndarray, classes) -> None:
    """Select digits without a mouse, for the selection `selected_ids(..., state_key, ...)` keeps: type ids, or
    pick a class and a count (rows in the page's order), then Select (Enter submits); Clear empties it.

    The forms' callbacks run before the next run reaches `selected_ids`, so a typed selection replaces the
    kept ids exactly as a new box on a map does, and the rings, the panel and the link follow from there.
    Refused input changes nothing and gets its message, shown as plain text, under its form."""
    refused = st.session_state.pop(f"{state_key}_refused", None)  # (form, message) from this run's callback
    panel = f"{state_key}_keyboard"
    st.html(FOCUS_RING.replace("KEY", panel))  # a style-only st.html takes no space
    with st.expander("Select without a mouse: by id or by class", icon=":material/keyboard:", key=panel):
        with st.form(f"{state_key}_by_id", border=False):
            st.text_input("Digit ids", key=f"{state_key}_typed", max_chars=4000, placeholder="for example 3, 400",
                          help=f"The numbers after # in the captions, from 0 to {n - 1}, separated by commas; "
                               "10-19 is the ten ids from 10 to 19. The first two typed are the ends of the path.")
            st.form_submit_button("Select these ids", key=f"{state_key}_select_typed", on_click=_select_typed,
                                  args=(state_key, n))
            _show_refused(refused, "ids")
        with st.form(f"{state_key}_by_class", border=False):
            c1, c2, c3 = st.columns(3)
            c1.selectbox("Class", range(len(classes)), format_func=lambda label: str(classes[label]),
                         key=f"{state_key}_class")
            c2.number_input("How many", 1, selection_text.MAX_IDS, 10, key=f"{state_key}_count")
            c3.number_input("Skip the first", 0, max(n - 1, 0), 0, key=f"{state_key}_skip",
                            help="0 starts at the class's first digit, in the page's order of ids")
            st.form_submit_button("Select from this class", key=f"{state_key}_select_class", on_click=_select_class,
                                  args=(state_key, labels, classes))
            _show_refused(refused, "class")
        st.button("Clear", key=f"{state_key}_keyboard_clear", on_click=_clear, args=(state_key,))


def _show_refused(refused: tuple[str, str] | None, form: str) -> None:
    if refused is not None and refused[0] == form:
        st.error(escape(refused[1]), icon=":material/error:")  # it may quote what was typed: literally


def _select(state_key: str, form: str, pick) -> None:
    try:
        st.session_state[state_key] = pick()
    except ExplorerError as error:
        st.session_state[f"{state_key}_refused"] = (form, str(error))


def _select_typed(state_key: str, n: int) -> None:
    _select(state_key, "ids", lambda: selection_text.ids_from_text(st.session_state[f"{state_key}_typed"] or "", n))


def _select_class(state_key: str, labels: np.ndarray, classes) -> None:
    label = st.session_state[f"{state_key}_class"]
    _select(state_key, "class", lambda: selection_text.class_rows(
        labels, label, int(st.session_state[f"{state_key}_count"]), int(st.session_state[f"{state_key}_skip"]),
        class_name=str(classes[label])))


def _clear(state_key: str) -> None:
    st.session_state[state_key] = []
