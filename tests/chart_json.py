"""Plotly charts and latent maps as AppTest sees them: the JSON spec Streamlit sends (for a latent map, the
base it serves once plus the overlays of this run), numpy arrays as base64."""

import base64
import json

import numpy as np


def keyed_specs(app) -> list[tuple[str, dict]]:
    """(widget key, figure (data + layout)) of each plotly chart and latent map on the page, in page order.
    AppTest's element ids end in "-<key>"."""
    from ui import latent_map

    def walk(node):
        for child in getattr(node, "children", {}).values():
            if child.type == "plotly_chart":
                yield child.proto.id.split("-", 2)[-1], json.loads(child.proto.spec)
            elif child.type == "bidi_component" and child.proto.component_name == latent_map.COMPONENT:
                yield child.proto.id.split("-", 2)[-1], latent_map.figure(json.loads(child.proto.json))
            else:
                yield from walk(child)

    return list(walk(app._tree))


def specs(app) -> list[dict]:
    """The figure (data + layout) of each plotly chart and latent map on the page, in page order."""
    return [spec for _, spec in keyed_specs(app)]


def chart(app, key: str) -> dict:
    """The figure of the plotly chart or latent map with this widget key."""
    found = [spec for k, spec in keyed_specs(app) if k == key]
    assert len(found) == 1, f"expected one chart with key {key!r}"
    return found[0]


def array(value) -> np.ndarray:
    """A trace property from a figure's JSON: plotly sends numpy arrays as base64 typed arrays."""
    if isinstance(value, dict) and "bdata" in value:
        shape = [int(n) for n in str(value.get("shape", "-1")).split(",")]
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).reshape(shape)
    return np.asarray(value)
