"""Drive the real app: `streamlit run app.py` on a free port, Chromium through Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "tests" / "screenshots"
CHROMIUM = os.environ.get("LATENT_LAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
PLOTLY_CHART = '[data-testid="stPlotlyChart"] .js-plotly-plot'  # an st.plotly_chart's Plotly plot
MAP = ".latent-map"  # a latent map's Plotly plot (ui/latent_map.js); data-drawn names the view it shows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The flags every test and benchmark starts the app with: no browser, no file watcher, loopback only.
SERVER_FLAGS = ("--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
                "--server.fileWatcherType", "none")


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    started: float  # time.perf_counter() just before the process was spawned
    log: IO[bytes]  # the server's stderr, in a file: a pipe nobody reads would fill up and stall it

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(15)
        self.log.close()

    def stderr_tail(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-2000:]


def start_server(script: Path = ROOT / "app.py", checkpoints_dir: Path | None = None, cwd: Path = ROOT,
                 env: dict | None = None, extra_flags=()) -> Server:
    """Spawn `streamlit run script` on a free loopback port; see wait_healthy."""
    port = free_port()
    environment = {**os.environ, **({"LATENT_LAB_CHECKPOINTS": str(checkpoints_dir)} if checkpoints_dir else {}),
                   **(env or {})}
    log = tempfile.TemporaryFile()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port), *SERVER_FLAGS, *extra_flags],
        cwd=cwd, env=environment, stdout=subprocess.DEVNULL, stderr=log,
    )
    return Server(process, f"http://127.0.0.1:{port}", started, log)


def wait_healthy(server: Server, timeout: float = 180, poll: float = 0.05) -> float:
    """Seconds from spawning the server until /_stcore/health answers ok (stops it and raises if never)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            if urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2).read() == b"ok":
                return time.perf_counter() - server.started
        except OSError:
            pass
        if server.process.poll() is not None:
            break
        time.sleep(poll)
    tail = server.stderr_tail()
    server.stop()
    raise RuntimeError(f"streamlit did not start: {tail}")


@contextmanager
def streamlit_server(checkpoints_dir: Path, timeout: float = 180, extra_flags=()):
    """Yield a healthy `streamlit run app.py` (a Server) on the given checkpoints; stop it afterwards."""
    server = start_server(checkpoints_dir=checkpoints_dir, extra_flags=extra_flags)
    try:
        wait_healthy(server, timeout)
        yield server
    finally:
        server.stop()


def wait_idle(page, timeout: float = 90_000) -> None:
    """Wait until the script has finished rerunning (a short pause first lets a rerun begin)."""
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=timeout)


def open_page(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(IDLE, timeout=120_000)
    wait_idle(page)


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
