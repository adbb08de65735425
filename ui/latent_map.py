"""A latent map that keeps its digits in the browser: the base map is sent once, a click sends only what it changes.

st.plotly_chart sends the whole figure on every rerun and Plotly rebuilds a changed 5,000-point WebGL map
from scratch (0.3-0.5 s in software WebGL, seconds for 70,000 points). This component (Streamlit
Components v2, no front-end build) sends three things, each only when needed:

- plotly.js itself (from the plotly package, so offline), loaded by the browser once per page load;
- the base map (the trace of every digit, plus layout that goes with it, e.g. thumbnails) as a JSON file
  the browser fetches once per URL; the URL is a hash of its content, so it changes exactly when the
  model, dataset or projection does;
- on every rerun, a small message: the base's URL, the overlay traces (rings, paths, placed points) and
  the layout. latent_map.js draws 2-D overlays in an SVG layer of its own over the untouched WebGL points.

A selection (box, lasso or click on the digits) comes back in session state under the component's key
as {"selection": {"point_indices": [digit ids, in order]}}, the shape ui.selection reads.

The map says what it shows in words (`alt`, by default figure_text.map_summary of what it draws): the browser puts
it on the map as role="figure" and aria-label, as Streamlit does for an st.plotly_chart given `alt`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import plotly
import streamlit as st

from explorer import figure_text

HERE = Path(__file__).resolve().parent
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
COMPONENT = "latent_lab.latent_map"
KEPT_BASES = 32  # base payloads remembered by URL, for figure() (tests read what a page sent)

_sent: OrderedDict[str, bytes] = OrderedDict()
_payloads: OrderedDict[bytes, tuple[bytes, str]] = OrderedDict()  # fingerprint -> (base payload, its file name)
_sent_lock = threading.Lock()


def typed_arrays(value):
    """numpy number arrays as plotly.js typed-array specs ({dtype, bdata, shape}: base64 of the raw bytes,
    a third of the size of their digits as JSON text, and decoded without parsing); the rest as it is."""
    if isinstance(value, dict):
        return {k: typed_arrays(v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.dtype.kind in "uif" and value.size:
        if value.dtype.itemsize == 8:  # plotly.js reads no 64-bit integers; floats keep their precision
            value = value.astype(np.float64 if value.dtype.kind == "f" else np.int32)
        array = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<"))
        return {"dtype": array.dtype.str[1:], "bdata": base64.b64encode(array.tobytes()).decode("ascii"),
                "shape": ", ".join(map(str, array.shape))}
    return value


def base_payload(trace: dict, layout: dict | None = None) -> bytes:
    """The base map as the browser fetches it: JSON {"trace": the digits' trace, "layout": layout entries
    that belong to it (thumbnails, axis ranges)}; numpy number arrays travel as typed arrays."""
    payload = plain({"trace": typed_arrays(trace), "layout": layout or {}})
    return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()


def fingerprint(trace: dict, layout: dict | None) -> bytes:
    """A hash of a base map's arrays' raw bytes and its other values: 1.5 ms for 70,000 points, where building
    the payload (JSON, base64) and hashing that took 10 ms on every rerun."""
    digest = hashlib.blake2b(digest_size=16)

    def feed(value) -> None:
        if isinstance(value, dict):
            for key in sorted(value):
                digest.update(f"\x00{key}=".encode())
                feed(value[key])
        elif isinstance(value, np.ndarray):
            digest.update(f"\x01{value.dtype.str}{value.shape}".encode())
            digest.update(np.ascontiguousarray(value).data)
        elif isinstance(value, (list, tuple)):
            digest.update(f"\x02{len(value)}".encode())
            for item in value:
                feed(item)
        else:
            digest.update(f"\x03{value!r}".encode())

    feed({"trace": trace, "layout": layout or {}})
    return digest.digest()


def _base_file(trace: dict, layout: dict | None) -> tuple[bytes, str]:
    """The base payload and its file name (a hash of it), built once per distinct base."""
    key = fingerprint(trace, layout)
    with _sent_lock:
        if key in _payloads:
            _payloads.move_to_end(key)
            return _payloads[key]
    payload = base_payload(trace, layout)
    made = payload, hashlib.blake2b(payload, digest_size=16).hexdigest() + ".json"
    with _sent_lock:
        _payloads[key] = made
        while len(_payloads) > KEPT_BASES:
            _payloads.popitem(last=False)
    return made


def plain(value):
    """Plain JSON values: numpy arrays and scalars as lists and numbers, NaN as None (JSON has no NaN;
    a None breaks a line into pieces, as NaN does in Plotly)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def message(base_url: str, overlays: Sequence[dict], layout: dict, *, plotly_url: str, selectable: bool = True,
            modebar: bool = True, alt: str = "") -> dict:
    """What one rerun sends to the browser: small, whatever the map's size. `key` names this exact view
    (the browser marks a map with it once drawn); `alt` is the map's text alternative (its aria-label)."""
    out = {"plotly": plotly_url, "base": base_url, "overlays": plain(list(overlays)), "layout": plain(layout),
           "selectable": selectable, "modebar": modebar, "alt": alt}
    out["key"] = hashlib.blake2b(json.dumps(out, sort_keys=True).encode(), digest_size=8).hexdigest()
    return out


def figure(sent: dict) -> dict:
    """The map a message draws, as {"data": [base trace, *overlays], "layout": ...} with arrays as the
    browser gets them: what the page shows, for tests. The base must have been sent by this process."""
    with _sent_lock:
        base = json.loads(_sent[sent["base"]])
    layout = {**base["layout"], **sent["layout"]}
    return {"data": [base["trace"], *sent["overlays"]], "layout": layout}


@cache
def _plotly_js() -> tuple[bytes, str]:
    """plotly.js and its file name, read and hashed once: it is 4.8 MB, and hashing it took 7 ms a map."""
    data = PLOTLY_JS.read_bytes()
    return data, hashlib.blake2b(data, digest_size=16).hexdigest() + ".js"


def _serve(data: bytes, mimetype: str, where: str, name: str | None = None) -> str:
    """A URL the browser fetches `data` from: Streamlit's media files, kept while a rerun refers to them."""
    from streamlit import runtime

    if name is None:
        name = hashlib.blake2b(data, digest_size=16).hexdigest() + (".json" if mimetype == "application/json" else ".js")
    return runtime.get_instance().media_file_mgr.add(data, mimetype, where, file_name=name)


@cache
def _renderer():
    # Not isolated in a shadow root: Plotly puts its styles (modebar, hover labels) in the page's head.
    return st.components.v2.component(COMPONENT, js=(HERE / "latent_map.js").read_text(),
                                      css=(HERE / "latent_map.css").read_text(), isolate_styles=False)


def _ignore() -> None:
    """A selection needs no callback: the rerun it causes reads it (ui.selection)."""


def latent_map(base: dict, layout: dict, overlays: Sequence[dict | None] = (), *, key: str,
               base_layout: dict | None = None, selectable: bool = True, modebar: bool = True,
               alt: str | None = None) -> None:
    """Show a latent map: `base` the digits' trace (figures.digit_points), `layout` (figures.map_layout),
    overlays drawn over it in order (None skipped), `base_layout` layout that changes only with the base.
    `alt` says in words what the map shows, for a screen reader; by default figure_text.map_summary of the digits,
    the axis titles and the overlays (e.g. "Latent map: 5,000 digits plotted by UMAP-1 against UMAP-2, ...").
    Never put text a user typed in it.

    Its selection is read with ui.selection.chart_selection(key)."""
    if not alt or not alt.strip():
        alt = figure_text.map_summary([base, *overlays], {**(base_layout or {}), **layout})
    payload, name = _base_file(base, base_layout)
    base_url = _serve(payload, "application/json", f"{key}.base", name)
    with _sent_lock:
        _sent[base_url] = payload
        _sent.move_to_end(base_url)
        while len(_sent) > KEPT_BASES:
            _sent.popitem(last=False)
    script, script_name = _plotly_js()
    sent = message(base_url, [o for o in overlays if o is not None], layout,
                   plotly_url=_serve(script, "text/javascript", "latent_map.plotly", script_name),
                   selectable=selectable, modebar=modebar, alt=alt.strip())
    _renderer()(key=key, data=sent, on_selection_change=_ignore, height=int(layout.get("height", 560)))
