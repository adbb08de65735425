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
# What Markdown, GFM or Streamlit give a meaning to anywhere in a line: links and images ([ ]),
# emphasis and code (* _ ~ `), HTML, autolinks and entities (< &), formulas ($), escapes (\\).
# Dots, dashes, brackets ( ) and quotes stay as typed: without [ ] or a line start they mean nothing.
_INLINE = re.compile(r"([\\`*\[\]<&$~])")
# Underscores between two letters or digits never emphasize (CommonMark's rule for `_`): `vae_32` stays.
_EDGE_UNDERSCORES = re.compile(r"(?<![A-Za-z0-9])_+|_+(?![A-Za-z0-9])")
# What means something only where a block starts: a heading, quote, list item or setext underline.
_BLOCK_START = re.compile(r"\A(\s*(?:\d+(?=[.)]))?)([#>+\-=.)])")
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
    plain = _EDGE_UNDERSCORES.sub(lambda run: "\\_" * len(run.group()), _INLINE.sub(r"\\\1", plain))
    return _BLOCK_START.sub(r"\1\\\2", plain)


def code(text: object, limit: int | None = None) -> str:
    """`text` as an inline code span: shown literally in monospace, whatever it holds (no Markdown,
    autolink or emoji acts inside code). The fence is longer than any run of backticks inside, and
    padded when the text starts or ends with one."""
    plain = _CONTROL.sub(" ", str(text))
    if limit is not None and len(plain) > limit:
        plain = plain[:limit] + "…"
    plain = _JOIN_AT.sub(WORD_JOINER, plain)  # Streamlit rewrites `:material/…:` even inside code
    fence = "`" * (max((len(run) for run in re.findall("`+", plain)), default=0) + 1)
    padded = f" {plain} " if plain.startswith("`") or plain.endswith("`") or not plain.strip() else plain
    return f"{fence}{padded}{fence}"


def for_plotly(text: object) -> str:
    """`text` for a Plotly title, label or hover text: its pseudo-HTML (`<a href>`, `<b>`, `<br>`)
    shown as typed, not rendered."""
    return html.escape(_CONTROL.sub(" ", str(text)), quote=False)
