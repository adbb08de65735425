"""ui.pictures: the PNG cache returns the same bytes for the same pixels and tells apart different ones."""

import numpy as np

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
