"""ui.pictures: the PNG cache returns the same bytes for the same pixels and tells apart different ones; no picture
goes out without its own alt text."""

import numpy as np
import pytest

from explorer import figures
from ui import pictures


def test_cached_png_matches_a_fresh_encoding_and_depends_on_shape_and_pixels():
    image = (np.arange(24 * 10) % 256).astype(np.uint8).reshape(24, 10)
    first = pictures.png(image)
    assert first == figures.png(image)
    assert pictures.png(image.copy()) is first  # the same pixels: remembered, not re-encoded
    assert pictures.png(image.reshape(10, 24)) != first  # same bytes, other shape
    changed = image.copy()
    changed[0, 0] ^= 1
    assert pictures.png(changed) != first


class Recorder:
    """Stands in for `st` or a container: records what st.image was given."""

    def __init__(self):
        self.calls = []

    def image(self, data, **kwargs):
        self.calls.append((data, kwargs))


def test_every_picture_goes_out_with_its_own_alt_text():
    from ui import pictures

    digit = np.zeros((28, 28), np.uint8)
    where = Recorder()
    pictures.show(where, digit, alt="test digit #3, a 7", caption="#3")
    pictures.show(where, [digit, digit], alt=["digit #3", "its reconstruction"])
    assert [kwargs["alt"] for _, kwargs in where.calls] == ["test digit #3, a 7", ["digit #3", "its reconstruction"]]
    for alt in ("", "  ", ["only one"], None):
        with pytest.raises(ValueError, match="every picture needs its own alt text"):
            pictures.show(where, [digit, digit] if isinstance(alt, list) else digit, alt=alt)
    assert len(where.calls) == 2  # nothing was sent without its text
