"""What a student waits for in the browser: box-select → interpolation images (map page and AE vs VAE
page), slider → edited image.

Drives the real app (`streamlit run app.py`) in headless Chromium with the helpers of
tests/browser.py. Each figure runs from the user's action (mouse button released, key pressed)
until the new image has loaded and the app is idle again.

    python bench/browser_latency.py [--repeats 30] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from harness import checkpoints_dir, ms, table, verdict, write_section  # noqa: E402

from browser import IDLE, open_page, streamlit_server, wait_idle  # noqa: E402  (tests/browser.py)

TARGET_SELECT_S = 0.5
TARGET_SLIDER_S = 0.3
# Two boxes (corners as fractions of the plot area) holding different digits, used in turn so
# that every selection changes the interpolation. They start below the top edge, where the chart's
# hover toolbar would catch the mouse once the pointer is already over the chart.
BOXES = (((0.03, 0.15), (0.48, 0.97)), ((0.52, 0.15), (0.97, 0.97)))
EDITED_IMAGE = '.st-key-gen_edited [data-testid="stImage"] img'

# In-page clock: when the user acted (mouseup / keydown, seen first in the capture phase) and each
# change of the app's script state, so a figure splits into "until the script starts", "script
# running" and the rest (deltas, images, drawing).
INSTRUMENT_JS = """() => {
  if (window.__bench) return;
  const bench = window.__bench = {action: 0, states: [], done: 0};
  const app = document.querySelector('[data-testid="stApp"]');
  new MutationObserver(() => bench.states.push([performance.now(), app.getAttribute('data-test-script-state')]))
    .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  const acted = () => { bench.action = performance.now(); bench.states = []; bench.done = 0; };
  document.addEventListener('mouseup', acted, true);
  document.addEventListener('keydown', acted, true);
}"""

# The interpolation heading differs from `old` and the strip image after it has loaded: what the
# student came for. (The map is redrawn after it; the table reports when the rerun has ended too.)
INTERPOLATION_SHOWN_JS = """([old]) => {
  const heading = [...document.querySelectorAll('h3')].find(h => h.textContent.startsWith('Interpolation #'));
  if (!heading || heading.textContent === old) return false;
  const after = [...document.querySelectorAll('[data-testid="stImage"] img')]
    .filter(img => heading.compareDocumentPosition(img) & Node.DOCUMENT_POSITION_FOLLOWING);
  const shown = after.length > 0 && after[0].complete && after[0].naturalWidth > 0;
  if (shown && !window.__bench.done) window.__bench.done = performance.now();
  return shown;
}"""

# The edited image's source differs from `old` and has loaded, and the app is idle.
IMAGE_CHANGED_JS = """([selector, old, idle]) => {
  const img = document.querySelector(selector);
  const shown = !!(img && img.getAttribute('src') !== old && img.complete && img.naturalWidth > 0
                   && document.querySelector(idle));
  if (shown && !window.__bench.done) window.__bench.done = performance.now();
  return shown;
}"""


def phases(page) -> dict:
    """Seconds from the user's action to: the script starting, the script done, the picture shown."""
    bench = page.evaluate("() => window.__bench")
    running = next((t for t, state in bench["states"] if state == "running"), None)
    finished = next((t for t, state in bench["states"] if state == "notRunning" and running and t > running), None)
    return {"total": (bench["done"] - bench["action"]) / 1000,
            "to_start": (running - bench["action"]) / 1000 if running else float("nan"),
            "script": (finished - running) / 1000 if running and finished else float("nan"),
            "settled": (finished - bench["action"]) / 1000 if finished else float("nan")}


def interpolation_heading(page) -> str:
    heading = page.locator("h3", has_text="Interpolation #")
    return heading.first.inner_text() if heading.count() else ""


def select_to_images(page, repeats: int) -> list[dict]:
    """From releasing the mouse after a box-select to the interpolation strip shown (phases)."""
    area = page.locator('[data-testid="stPlotlyChart"] .nsewdrag').first
    page.evaluate(INSTRUMENT_JS)
    samples = []
    for i in range(repeats + 1):  # the first one is untimed (it also scrolls and warms caches)
        (x0, y0), (x1, y1) = BOXES[i % 2]
        area.scroll_into_view_if_needed()
        box = area.bounding_box()
        old = interpolation_heading(page)
        page.mouse.move(box["x"] + box["width"] * x0, box["y"] + box["height"] * y0)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * x1, box["y"] + box["height"] * y1, steps=10)
        page.mouse.up()
        page.wait_for_function(INTERPOLATION_SHOWN_JS, arg=[old], timeout=60_000, polling=10)
        wait_idle(page)
        if i:
            samples.append(phases(page))
    return samples


def slider_to_image(page, repeats: int) -> list[dict] | None:
    """From one key press on the first traversal slider to the edited digit redrawn (phases)."""
    sliders = page.locator('[data-testid="stSlider"]', has_text="KL")
    try:
        page.locator(EDITED_IMAGE).wait_for(timeout=60_000)  # the page's lower half may still be arriving
    except Exception:
        return None
    if sliders.count() == 0:
        return None
    thumb = sliders.first.locator('input[type="range"], [role="slider"]').first
    thumb.scroll_into_view_if_needed()
    page.evaluate(INSTRUMENT_JS)
    samples = []
    for i in range(repeats + 1):
        old = page.locator(EDITED_IMAGE).get_attribute("src")
        thumb.focus()
        page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        page.wait_for_function(IMAGE_CHANGED_JS, arg=[EDITED_IMAGE, old, IDLE], timeout=60_000, polling=10)
        if i:
            samples.append(phases(page))
        wait_idle(page)
    return samples


def row(label: str, samples: list[dict], target: float) -> tuple:
    p50, p95 = (v / 1000 for v in ms([s["total"] for s in samples]))
    start, script, settled = (np.nanmedian([s[k] for s in samples]) for k in ("to_start", "script", "settled"))
    detail = (f"median: {start:.2f} s until the rerun starts; the rerun (the script, and the browser drawing what "
              f"it sends) ends after {script:.2f} s, {settled:.2f} s after the action")
    return label, f"{p50:.2f} s", f"{p95:.2f} s", f"≤ {target} s", verdict(p95, target), detail


def server_rerun_after_selection(repeats: int) -> list[float]:
    """Seconds of the map page's script alone for a new two-box selection, run by AppTest (no browser)."""
    import os

    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")
    os.environ["LATENT_LAB_CHECKPOINTS"] = str(checkpoints_dir())
    from streamlit.testing.v1 import AppTest

    from harness import ROOT

    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    app.run()
    rng = np.random.default_rng(0)
    samples = []
    for i in range(repeats + 1):
        ids = [int(j) for j in rng.choice(5000, size=2000, replace=False)]
        app.session_state["map_chart"] = {"selection": {"points": [], "point_indices": ids, "box": [], "lasso": []}}
        started = time.perf_counter()
        app.run()
        if i:
            samples.append(time.perf_counter() - started)
    if app.exception:
        raise RuntimeError(f"the map page raised: {app.exception[0].value}")
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=None, help="default 30 (a p95 needs them); 3 with --quick")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 30)

    from playwright.sync_api import sync_playwright

    from harness import launch_chromium

    rows = []
    with streamlit_server(checkpoints_dir()) as server, sync_playwright() as playwright:
        url = server.url
        browser = launch_chromium(playwright)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
            open_page(page, url)
            rows.append(row("map page: box-select → interpolation images (vae_32, PCA)",
                            select_to_images(page, repeats), TARGET_SELECT_S))
            open_page(page, f"{url}/compare")
            rows.append(row("AE vs VAE page: box-select on the left map → the interpolation strips (ae_32, vae_32, PCA)",
                            select_to_images(page, repeats), TARGET_SELECT_S))
            open_page(page, f"{url}/generate")
            samples = slider_to_image(page, repeats)
            if samples is None:
                rows.append(("generate page: slider step → edited image", "page not built yet", "", f"≤ {TARGET_SLIDER_S} s", "", ""))
            else:
                rows.append(row("generate page: traversal slider step → edited image (vae_32)", samples, TARGET_SLIDER_S))
        finally:
            browser.close()
    p50, p95 = ms(server_rerun_after_selection(repeats))
    rows.append(("(of which) the map page's script for a new selection, alone, its 0.1 s pause included "
                 "(AppTest, no browser)",
                 f"{p50 / 1000:.2f} s", f"{p95 / 1000:.2f} s", "", "", "server side only"))
    body = (f"{repeats} repetitions each after one untimed; headless Chromium (software WebGL) and the server share "
            "the machine. Timed on the page's clock from the mouse button released / key pressed to the new image "
            "loaded (what the student waits for); the last column says when the whole rerun had ended, including "
            "the map redrawn with the new path. When a selection changes the maps, the page "
            "pauses 0.1 s between sending the pictures and sending the charts, so the browser paints the pictures "
            "before it rebuilds the maps (ui/selection.py: pause_if_maps_change).\n\n"
            + table(rows, ("action → result", "p50", "p95", "target (p95)", "", "where the time goes")))
    write_section("browser", "Browser: action to picture", body)


if __name__ == "__main__":
    main()
