"""Digit pictures on a page: sent at their own pixel size, enlarged by the browser without smoothing.

A 28×28 digit enlarged on the server costs the PNG encoder (and the network) the square of the
enlargement on every rerun; the browser enlarges it for free. `image-rendering: pixelated` keeps
each pixel a sharp square instead of a blur, which is also how a teacher wants digits projected.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np
import streamlit as st

from explorer import figures

PIXELATED = "<style>[data-testid='stImage'] img { image-rendering: pixelated; }</style>"
PNG_CACHE_SIZE = 512  # encoded pictures kept, ~10-60 KB each
_png_cache: OrderedDict[tuple, bytes] = OrderedDict()
_png_lock = threading.Lock()


def use_sharp_pixels() -> None:
    """Once per run, before any picture: the style rule above (a style-only st.html takes no space)."""
    st.html(PIXELATED)


def show(where, image: np.ndarray, *, alt: str | list[str], scale: int | None = None, caption=None) -> None:
    """A uint8 image (H, W) or (H, W, 3), or a list of them, in `where` (st or a container):
    `scale` times its size in CSS pixels, or stretched to the container's width when scale is None.

    `alt` says in words what the picture shows (one text per image of a list), for a screen reader and
    for anyone whose picture did not load: "reconstruction of test digit 412 (a 7) by vae_32"."""
    images = image if isinstance(image, list) else [image]
    texts = alt if isinstance(alt, list) else [alt]
    if len(texts) != len(images) or not all(isinstance(text, str) and text.strip() for text in texts):
        raise ValueError(f"every picture needs its own alt text: {len(images)} pictures, alt {alt!r}")
    width = "stretch" if scale is None else int(images[0].shape[1] * scale)
    data = [png(im) for im in images]
    where.image(data if isinstance(image, list) else data[0], caption=caption, width=width, output_format="PNG",
                alt=texts if isinstance(image, list) else texts[0])


def png(image: np.ndarray) -> bytes:
    """figures.png, remembered by the pixels' hash: most pictures of a rerun are the same as the
    last run's (only one control changed), and hashing is ~20x cheaper than encoding."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    key = (image.shape, hashlib.blake2b(image.data, digest_size=16).digest())
    with _png_lock:
        if key in _png_cache:
            _png_cache.move_to_end(key)
            return _png_cache[key]
    data = figures.png(image)
    with _png_lock:
        _png_cache[key] = data
        while len(_png_cache) > PNG_CACHE_SIZE:
            _png_cache.popitem(last=False)
    return data
