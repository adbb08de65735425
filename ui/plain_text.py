"""Text from outside the code, shown literally: the one place that defuses Markdown and Plotly markup.

Link parameters, uploaded file names, checkpoint names and the fields of uploaded configs reach
elements that render Markdown (`st.warning`, `st.info`, `st.error`, `st.caption`, `st.markdown`,
headings, `st.table` cells). There a `[text](url)` becomes a working link and an `![](url)` an image
the browser fetches, from any address. Every such value goes through `escape` before it is put
into Markdown; Plotly titles, hover and tick texts (which render `<a href>`) go through `for_plotly`.

Backslash escapes are not enough on their own: Streamlit's renderer also turns bare `https://…`,
`www.…` and `name@host.org` into links, and `:smile:` / `:material/…:` into emoji and icons, in the
*decoded* text, escapes or not (checked in Chromium). A word joiner (U+2060, invisible and zero-width)
inside `://`, after `www`, after `@` and after such a colon breaks those patterns; the text reads the same.
"""

from __future__ import annotations

import html
import re

WORD_JOINER = "\u2060"
# What Markdown, GFM or Streamlit give a meaning to: links and images ([ ] ( ) !), emphasis and code
# (* _ ~ `), blocks (# + - . | >), HTML and autolinks (< & >) and formulas ($). Quotes and commas stay.
_SIGNIFICANT = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$&])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # a newline would start a new block: a heading, a list, a table row
# Where a word joiner goes: inside `://`, after the first w of `www.`, after `@`, and after a colon
# before a letter (`:smile:` emoji and `:material/…:` icons are also found in the decoded text).
_JOIN_AT = re.compile(r"(?<=:)(?=//|[A-Za-z])|(?<=[wW])(?=[wW]{2}\.)|(?<=@)")


def escape(text: object, limit: int | None = None) -> str:
    """`text` as Markdown that renders exactly as the text: no link, image, emphasis, heading,
    table, icon (`:material/…:`), colour directive (`:red[…]`), emoji shortcode or formula.
    Control characters (newlines, tabs) become spaces; beyond `limit` characters the text is cut (…)."""
    plain = _CONTROL.sub(" ", str(text))
    if limit is not None and len(plain) > limit:
        plain = plain[:limit] + "…"
    plain = _JOIN_AT.sub(WORD_JOINER, plain)
    return _SIGNIFICANT.sub(r"\\\1", plain)


def for_plotly(text: object) -> str:
    """`text` for a Plotly title, label or hover text: its pseudo-HTML (`<a href>`, `<b>`, `<br>`)
    shown as typed, not rendered."""
    return html.escape(_CONTROL.sub(" ", str(text)), quote=False)
