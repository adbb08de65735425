"""Process-wide settings of a server that answers many small interactive calls (the app, and the
benchmarks that measure it without a browser)."""

from __future__ import annotations

import hashlib


def limit_threads_for_serving() -> None:
    """One torch thread and one BLAS thread per calling thread.

    Interactive calls are many and small: one thread each serves concurrent users better. numpy's
    OpenBLAS too: with 2 threads a (10, 32) @ (32, 5000) product took 8 ms instead of 0.15 ms on a
    busy 2-core machine (waking the second thread), and every map placement does one.
    """
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1, user_api="blas")


def browser_id(xsrf_cookie: object) -> str | None:
    """A stable id for one browser, from the value of Streamlit's `_streamlit_xsrf` cookie, or None.

    The cookie is Tornado's XSRF token, "2|<mask>|<token xor mask>|<time>": every page load re-masks
    it, so a second tab of the same browser carries another value for the same token. The id is a
    digest of the unmasked token (never the token itself, which guards the browser's form posts)."""
    if not isinstance(xsrf_cookie, str):
        return None
    parts = xsrf_cookie.split("|")
    try:
        if len(parts) != 4 or parts[0] != "2":
            raise ValueError
        mask, masked = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
    except ValueError:
        return None
    if not mask or not masked:
        return None
    token = bytes(m ^ mask[i % len(mask)] for i, m in enumerate(masked))
    return hashlib.sha256(token + parts[3].encode()).hexdigest()[:24]
