"""Drive the real app: `streamlit run app.py` on a free port, Chromium through Playwright."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks import this module with only bench/ and tests/ on the path
    sys.path.insert(0, str(ROOT))

# Starting `streamlit run` lives in deploy/servers.py (the two-server layout starts its servers the same way).
from deploy.servers import SERVER_FLAGS, Server, free_port, start_server, streamlit_server, wait_healthy  # noqa: E402,F401

SCREENSHOTS = ROOT / "tests" / "screenshots"
CHROMIUM = os.environ.get("LATENT_LAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
PLOTLY_CHART = '[data-testid="stPlotlyChart"] .js-plotly-plot'  # an st.plotly_chart's Plotly plot
MAP = ".latent-map"  # a latent map's Plotly plot (ui/latent_map.js); data-drawn names the view it shows


def wait_idle(page, timeout: float = 90_000) -> None:
    """Wait until the script has finished rerunning (a short pause first lets a rerun begin)."""
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=timeout)


def open_page(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(IDLE, timeout=120_000)
    wait_idle(page)


def wait_loaded(picture, timeout: float = 30_000) -> None:
    """Wait until the <img> that the locator `picture` names has its pixels: loaded (`complete`) and not
    broken (`naturalWidth` > 0). An <img> is on the page (and visible) before its picture has arrived."""
    from playwright.sync_api import expect

    expect(picture).to_have_js_property("complete", True, timeout=timeout)
    expect(picture).not_to_have_js_property("naturalWidth", 0, timeout=timeout)


def show_whole_page(page) -> None:
    """Grow the viewport to the app's height: Streamlit scrolls inside its own container, so a
    full-page screenshot alone would stop at the viewport's bottom."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    if height > page.viewport_size["height"]:
        page.set_viewport_size({"width": page.viewport_size["width"], "height": int(height) + 40})
        page.wait_for_timeout(1500)  # Plotly re-lays out its charts on resize


def screenshot(page, name: str) -> Path:
    """Save the whole page as tests/screenshots/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    show_whole_page(page)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def points_on_screen(page, chart_index: int, charts: str = MAP) -> np.ndarray:
    """(N, 2) page pixel positions of the trace-0 points (the digits) of the chart_index-th chart
    matching `charts` (a latent map by default; PLOTLY_CHART for an st.plotly_chart), in row order."""
    xy = page.evaluate("""([i, charts]) => {
        const gd = document.querySelectorAll(charts)[i];
        const area = gd.querySelector('.nsewdrag').getBoundingClientRect();
        // _fullData: plotly has decoded the base64 arrays of the base map into typed arrays there
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, t = gd._fullData[0];
        return [Array.from(t.x).map(v => area.left + xa.l2p(v)), Array.from(t.y).map(v => area.top + ya.l2p(v))];
    }""", [chart_index, charts])
    return np.asarray(xy, dtype=float).T


MIN_BOX = 16.0  # px: Plotly takes a box thinner than 12 px in x or y as a band over the whole other axis


def box_around(points: np.ndarray, pad: float) -> tuple[np.ndarray, np.ndarray]:
    """Corners of the box around `points` (K, 2), padded, at least MIN_BOX wide and high."""
    low, high = points.min(0) - pad, points.max(0) + pad
    grow = np.maximum(MIN_BOX - (high - low), 0) / 2
    return low - grow, high + grow


def isolated_pair(xy: np.ndarray, pad: float = 3.0, min_gap: float = 8.0) -> tuple[int, int]:
    """Two points whose box (box_around) holds no other point: a box drawn around them selects
    exactly those two. Prefers the closest such pair at least min_gap apart."""
    order = np.argsort(xy[:, 0])
    for i in order:
        distance = np.hypot(*(xy - xy[i]).T)
        for j in np.argsort(distance)[1:6]:
            if distance[j] < min_gap:
                continue
            low, high = box_around(xy[[i, j]], pad)
            low, high = low - 2, high + 2  # Plotly picks points whose marker touches the box, not just centres
            inside = np.all((xy >= low) & (xy <= high), axis=1)
            if inside.sum() == 2:
                return int(i), int(j)
    raise AssertionError("no isolated pair of points on the map")


def box_select_points(page, chart_index: int, rows: tuple[int, int], pad: float = 3.0) -> None:
    """Drag a selection box tightly around two points of the chart (see isolated_pair)."""
    low, high = box_around(points_on_screen(page, chart_index)[list(rows)], pad)
    page.mouse.move(*low)
    page.mouse.down()
    page.mouse.move(*high, steps=10)
    page.mouse.up()


def box_select(page, chart_index: int, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Drag a selection box across the chart's plot area; corners as fractions of its size."""
    area = page.locator(f"{MAP} .nsewdrag").nth(chart_index)
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    page.mouse.move(box["x"] + box["width"] * start[0], box["y"] + box["height"] * start[1])
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * end[0], box["y"] + box["height"] * end[1], steps=10)
    page.mouse.up()
