"""Digits selected by typing: ids and ranges in the order typed, a class's rows in the page's order, and a plain
message for every input that selects nothing."""

import numpy as np
import pytest

from explorer import selection_text
from explorer.errors import ExplorerError
from explorer.selection_text import class_rows, ids_from_text


@pytest.mark.parametrize("text, ids", [
    ("3, 400", [3, 400]),
    ("400,3", [400, 3]),  # the order typed: the first two are the ends of the path
    ("3 400", [3, 400]),
    ("  #3; #400  ", [3, 400]),
    ("3, 3, 400, 3", [3, 400]),  # no repeats, as a map's selection
    ("10-13", [10, 11, 12, 13]),
    ("10 - 12, 0", [10, 11, 12, 0]),
    ("7\u20139", [7, 8, 9]),  # an en dash, as word processors write ranges
    ("#5-#6", [5, 6]),
    ("0, 4999", [0, 4999]),
    ("42", [42]),
])
def test_typed_ids_and_ranges_become_ids_in_the_order_typed(text, ids):
    assert ids_from_text(text, 5000) == ids


@pytest.mark.parametrize("text, message", [
    ("", "Type one or more digit ids, for example 3, 400."),
    (" , ; ", "Type one or more digit ids, for example 3, 400."),
    ("3, four", "“four” is not a digit id: type whole numbers from 0 to 4999, separated by commas (a range such as "
                "10-19 works too)."),
    ("-3", "“-3” is not a digit id"),
    ("3.5", "“3.5” is not a digit id"),
    ("1e3", "“1e3” is not a digit id"),
    ("[x](https://example.org)", "“[x](https://example.…” is not a digit id"),  # quoted, cut at 20 characters
    ("12345678901", "“12345678901” is not a digit id"),
    ("3, 5000", "There is no digit #5000 here: the ids go from 0 to 4999."),
    ("4990-5010", "There is no digit #5010 here"),
    ("19-10", "“19-10” runs backwards: write the smaller id first, for example 10-19."),
    ("0-500", "That is more than 500 digits: select at most 500 at a time."),
    ("0-250, 300-550", "That is more than 500 digits"),
])
def test_text_that_is_no_selection_is_refused_with_a_message_that_says_what_to_type(text, message):
    with pytest.raises(ExplorerError) as raised:
        ids_from_text(text, 5000)
    assert str(raised.value).startswith(message)


def test_the_limit_is_as_many_ids_as_a_link_keeps():
    from ui import url_state

    assert selection_text.MAX_IDS == url_state.MAX_LINK_IDS
    assert len(ids_from_text("0-499", 5000)) == 500
    assert ids_from_text("9-10", 11) == [9, 10]
    with pytest.raises(ExplorerError, match="the ids go from 0 to 10"):
        ids_from_text("11", 11)


LABELS = np.array([7, 1, 7, 7, 2, 7, 1, 7])


@pytest.mark.parametrize("count, skip, rows", [
    (2, 0, [0, 2]),  # the first two of class 7, in row order
    (10, 0, [0, 2, 3, 5, 7]),  # fewer when the class ends sooner
    (2, 2, [3, 5]),
    (5, 4, [7]),
])
def test_a_class_gives_its_rows_in_the_pages_order(count, skip, rows):
    assert class_rows(LABELS, 7, count, skip) == rows


@pytest.mark.parametrize("label, count, skip, message", [
    (7, 0, 0, "Select from 1 to 500 digits at a time, not 0."),
    (7, 501, 0, "Select from 1 to 500 digits at a time, not 501."),
    (7, 3, -1, "Skip 0 or more digits, not -1."),
    (7, 3, 5, "There are only 5 digits of class seven here: skip fewer than 5."),
    (3, 3, 0, "There are no digits of class seven here."),
])
def test_a_class_pick_that_selects_nothing_is_refused(label, count, skip, message):
    with pytest.raises(ExplorerError) as raised:
        class_rows(LABELS, label, count, skip, class_name="seven")
    assert str(raised.value) == message


def test_the_module_leaves_streamlit_out():
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys, explorer.selection_text; print('streamlit' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert run.stdout.strip() == "False"
