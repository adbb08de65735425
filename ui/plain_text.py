"""Text from outside the code, shown literally: the one place that defuses Markdown and Plotly markup.

Link parameters, uploaded file names, checkpoint names and the fields of uploaded configs reach
elements that render Markdown (`st.warning`, `st.info`, `st.error`, `st.caption`, `st.markdown`,
headings, `st.table` cells). There a `[text](url)` becomes a working link and an `![](url)` an image
the browser fetches, from any address. Every such value goes through `escape` before it is put
into Markdown; Plotly titles, hover and tick texts (which render `<a href>`) go through `for_plotly`.

Backslash escapes are not enough on their own: Streamlit's renderer (remark-gfm) also turns bare
`https://…`, `www.…` and `name@host.org` in the *decoded* text into links, escapes or not (checked
in Chromium). A word joiner (U+2060, invisible and zero-width) inside `://`, after `www` and after `@`
breaks those patterns while the text reads the same.
"""

from __future__ import annotations

import html
import re
import string

WORD_JOINER = "\u2060"
_PUNCTUATION = re.compile("([%s])" % re.escape(string.punctuation))  # CommonMark escapes every ASCII punctuation mark
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # a newline would start a new block: a heading, a list, a table row
_AUTOLINK_STARTS = re.compile(r"(?<=:)(?=//)|(?<=[wW])(?=[wW]{2}\.)|(?<=@)", re.IGNORECASE)


def escape(text: object) -> str:
    """`text` as Markdown that renders exactly as the text: no link, image, emphasis, heading,
    table, icon (`:material/…:`), colour directive (`:red[…]`), emoji shortcode or formula.
    Control characters (newlines, tabs) become spaces."""
    plain = _CONTROL.sub(" ", str(text))
    plain = _AUTOLINK_STARTS.sub(WORD_JOINER, plain)
    return _PUNCTUATION.sub(r"\\\1", plain)


def for_plotly(text: object) -> str:
    """`text` for a Plotly title, label or hover text: its pseudo-HTML (`<a href>`, `<b>`, `<br>`)
    shown as typed, not rendered."""
    return html.escape(_CONTROL.sub(" ", str(text)), quote=False)
