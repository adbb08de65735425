"""Digits selected without a mouse: ids a student types ("3, 400", "10-19") or a class and a count, turned into
the row ids a box selection on a latent map gives, after checking them once.

Ids are row numbers of the digits a page shows (0 to n - 1), as in the captions (#3) and the map's hover (id 3).
Messages are plain text that may quote what was typed: a page shows them literally, never as Markdown.
"""

from __future__ import annotations

import re

import numpy as np

from explorer.errors import ExplorerError

MAX_IDS = 500  # a typed selection: as many as a shared link keeps, so the link reproduces all of it
MAX_QUOTED = 20  # characters of a bad part of the text quoted in its message

_DASHES = re.compile(r"\s*[-\u2013\u2014]\s*")  # "10 - 19" and "10–19" are the range 10-19
_SEPARATORS = re.compile(r"[,;\s]+")
_ID_OR_RANGE = re.compile(r"#?([0-9]{1,9})(?:-#?([0-9]{1,9}))?")  # longer numbers are no id of any dataset


def _quoted(part: str) -> str:
    return f"“{part[:MAX_QUOTED]}…”" if len(part) > MAX_QUOTED else f"“{part}”"


def ids_from_text(text: str, n: int, limit: int = MAX_IDS) -> list[int]:
    """The ids in `text`, in the order typed and without repeats: "3, 400" -> [3, 400]; commas, semicolons or
    spaces separate them, "#3" is 3, "10-19" is the ten ids 10 to 19. Raises ExplorerError (nothing is
    selected) for text with no ids, a part that is no id, an id outside 0 to n - 1, or more than `limit` ids."""
    parts = [part for part in _SEPARATORS.split(_DASHES.sub("-", text.strip())) if part]
    if not parts:
        raise ExplorerError("Type one or more digit ids, for example 3, 400.")
    ids: dict[int, None] = {}  # ordered and without repeats, as a map's selection
    for part in parts:
        match = _ID_OR_RANGE.fullmatch(part)
        if match is None:
            raise ExplorerError(f"{_quoted(part)} is not a digit id: type whole numbers from 0 to {n - 1}, "
                                "separated by commas (a range such as 10-19 works too).")
        first = int(match.group(1))
        last = first if match.group(2) is None else int(match.group(2))
        for end in (first, last):
            if end >= n:
                raise ExplorerError(f"There is no digit #{end} here: the ids go from 0 to {n - 1}.")
        if last < first:
            raise ExplorerError(f"{_quoted(part)} runs backwards: write the smaller id first, "
                                f"for example {last}-{first}.")
        ids.update(dict.fromkeys(range(first, last + 1)))
        if len(ids) > limit:
            raise ExplorerError(f"That is more than {limit} digits: select at most {limit} at a time.")
    return list(ids)


def class_rows(labels: np.ndarray, label: int, count: int, skip: int = 0, *, class_name: str | None = None,
               limit: int = MAX_IDS) -> list[int]:
    """Ids of `count` digits of class `label` in the page's order (row order), after skipping its first `skip`:
    "the first 10 of class 7" is class_rows(labels, 7, 10). Fewer when the class ends sooner. `labels` (N,)
    are the shown digits' classes. Raises ExplorerError for a count outside 1 to `limit`, a negative skip, or
    a skip past the class's last digit."""
    name = str(label) if class_name is None else class_name
    if not 1 <= count <= limit:
        raise ExplorerError(f"Select from 1 to {limit} digits at a time, not {count}.")
    if skip < 0:
        raise ExplorerError(f"Skip 0 or more digits, not {skip}.")
    rows = np.flatnonzero(np.asarray(labels) == label)
    if not len(rows):
        raise ExplorerError(f"There are no digits of class {name} here.")
    if skip >= len(rows):
        raise ExplorerError(f"There are only {len(rows)} digits of class {name} here: skip fewer than {len(rows)}.")
    return rows[skip:skip + count].tolist()
