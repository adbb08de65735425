"""Shareable views: page settings live in the URL (`st.query_params`).

Each page reads its parameters once per session (so a copied link reproduces the view),
keeps them in session state as widget values, and writes them back on every run. Unknown
or malformed values fall back to defaults and leave a notice the page shows.
"""

from __future__ import annotations

from typing import Callable

import streamlit as st

from ui.plain_text import code, escape

NOTICES = "_url_notices"
MAX_SHOWN_VALUE = 80  # characters of a bad link value quoted in its notice
MAX_LINK_IDS = 500  # selected ids kept in a link: about 2.5k characters, which browsers and chat apps keep


def _note(message: str) -> None:
    st.session_state.setdefault(NOTICES, []).append(message)


def seed_widget(key: str, param: str, parse: Callable[[str], object], default, valid: Callable[[object], bool] = lambda v: True):
    """Put the URL's value (or the default) into session_state[key] once per session and page.

    `parse` turns the text into a value (raising ValueError on garbage), `valid` checks it.
    """
    if key in st.session_state:
        return
    raw = st.query_params.get(param)
    value = default
    if raw is not None:
        try:
            parsed = parse(raw)
            if not valid(parsed):
                raise ValueError
            value = parsed
        except (ValueError, TypeError):
            # The value is the link's, so anyone's: shown as text, never as Markdown (ui/plain_text.py).
            _note(f"Ignored {code(f'{param}={raw}', limit=MAX_SHOWN_VALUE)} in the link: not a valid value here; "
                  f"using {escape(repr(default))}.")
    st.session_state[key] = value


def ignore_unless_valid(param: str, why: str) -> None:
    """Name the link's `param` in a notice (once per session) when it cannot apply, saying `why`."""
    raw = st.query_params.get(param)
    seen = st.session_state.setdefault("_url_ignored", set())
    if raw is not None and param not in seen:
        seen.add(param)
        _note(f"Ignored {code(f'{param}={raw}', limit=MAX_SHOWN_VALUE)} in the link: {escape(why)}.")


def keep_while_hidden(*keys: str) -> None:
    """Keep these widgets' values while the widgets are not shown (Streamlit forgets the state of a
    widget that is not drawn in a run, e.g. the path settings while fewer than two digits are
    selected). Re-assigning a value makes it plain session state until the widget returns."""
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def parse_ids(text: str) -> list[int]:
    """'12,40' -> [12, 40]; rejects negatives and garbage."""
    ids = [int(part) for part in text.split(",") if part.strip()]
    if any(i < 0 for i in ids):
        raise ValueError("negative id")
    return ids


def parse_flag(text: str) -> bool:
    """'1' -> True, '0' -> False; anything else is garbage (so the link gets a notice)."""
    if text not in ("0", "1"):
        raise ValueError("not 0 or 1")
    return text == "1"


def write(params: dict) -> None:
    """Mirror the page's current state in the URL (only what changed, to avoid needless history)."""
    for name, value in params.items():
        text = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
        if value in (None, "", [], ()):
            if name in st.query_params:
                del st.query_params[name]
        elif st.query_params.get(name) != text:
            st.query_params[name] = text


def show_notices() -> None:
    for message in st.session_state.pop(NOTICES, []):
        st.warning(message, icon=":material/link:")
