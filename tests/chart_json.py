"""Plotly charts as AppTest sees them: the JSON spec Streamlit sends, numpy arrays as base64."""

import base64
import json

import numpy as np


def specs(app) -> list[dict]:
    """The figure (data + layout) of each plotly chart on the page, in page order."""
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def array(value) -> np.ndarray:
    """A trace property from a figure's JSON: plotly sends numpy arrays as base64 typed arrays."""
    if isinstance(value, dict) and "bdata" in value:
        shape = [int(n) for n in str(value.get("shape", "-1")).split(",")]
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).reshape(shape)
    return np.asarray(value)
