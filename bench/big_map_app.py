"""One latent map of N synthetic digits (`?n=70000`), for bench/browser_latency.py: the app's map
component and figure builders on a full dataset's worth of points, without a model.

    streamlit run bench/big_map_app.py   # then open /?n=70000

Ten Gaussian blobs stand in for the classes (seeded). A selection rings its first 50 digits and, for two or
more, draws a 10-step straight path between the first two, as the map page does.
"""

import sys
from pathlib import Path

import numpy as np
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from explorer import figures  # noqa: E402
from ui.latent_map import latent_map  # noqa: E402
from ui.selection import MAX_HIGHLIGHTS, chart_selection  # noqa: E402

CLASSES = [str(d) for d in range(10)]


@st.cache_data
def synthetic_map(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, len(CLASSES), size=n)
    centres = rng.normal(scale=4.0, size=(len(CLASSES), 2))
    return centres[labels] + rng.normal(size=(n, 2)), labels


st.set_page_config(page_title="Big map", layout="wide")
n = int(st.query_params.get("n", 5000))
xy, labels = synthetic_map(n)
rows = np.arange(n)
ids = chart_selection("big_map")
st.subheader(f"{n:,} synthetic digits, {len(ids)} selected")
overlays = [figures.highlight_points(xy, labels, rows, CLASSES, ids[:MAX_HIGHLIGHTS])]
if len(ids) >= 2:
    overlays.append(figures.path_line(np.linspace(xy[ids[0]], xy[ids[1]], 10)))
latent_map(figures.digit_points(xy, labels, rows, CLASSES), figures.map_layout(("dim 1", "dim 2")), overlays,
           key="big_map")
