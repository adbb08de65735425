"""What a student waits for in the browser: box-select → interpolation images and → the whole view
(images, rings and path on the map) on the map page and AE vs VAE, slider → edited image; a 70,000-point
map against a 5,000-point one (bench/big_map_app.py); bytes the browser receives per click.

Drives the real app (`streamlit run app.py`) in headless Chromium with the helpers of
tests/browser.py. Each figure runs from the user's action (mouse button released, key pressed)
until the new image has loaded (or every map shows what the rerun sent it) and the app is idle again.

    python bench/browser_latency.py [--repeats 30] [--quick] [--before DIR]

--before DIR: also count the bytes per click of the app in DIR (e.g. an older commit's files from
`git archive`), on the same checkpoints.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from harness import checkpoints_dir, ms, table, verdict, write_section  # noqa: E402

from browser import IDLE, open_page, start_server, streamlit_server, wait_healthy, wait_idle  # noqa: E402  (tests/browser.py)

TARGET_PICTURES_S = 0.25
TARGET_WHOLE_VIEW_S = {"map": 0.15, "compare": 0.25}
TARGET_SLIDER_S = 0.3
TARGET_BIG_RATIO = 1.5  # a 70,000-point map's figures against a 5,000-point one's
BYTES_REPEATS = 10  # box-selects whose bytes are counted (on a page of their own, untimed)
BIG_N = 70_000
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
  const bench = window.__bench = {action: 0, states: [], done: 0, whole: 0};
  const app = document.querySelector('[data-testid="stApp"]');
  new MutationObserver(() => bench.states.push([performance.now(), app.getAttribute('data-test-script-state')]))
    .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  // On the window, capturing: first to hear of it (a map holds a box's release back from Plotly), and timed
  // from the event's own time stamp, so a busy page's delay in handling it counts too.
  const acted = (event) => { bench.action = event.timeStamp; bench.states = []; bench.done = 0; bench.whole = 0; };
  window.addEventListener('mouseup', acted, true);
  window.addEventListener('keydown', acted, true);
  // What is awaited (armed by watch()) is checked the moment the page changes: on every DOM change and every
  // image loaded, so the time stamp is when it happened, not when Playwright next polls (every 10 ms, which
  // also cost the page's main thread and the browser a round trip each time).
  bench.check = null;
  const check = () => { if (bench.check) bench.check(); };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, attributes: true,
                                                      characterData: true});
  document.addEventListener('load', check, true);
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

# Every latent map shows what the last rerun sent it, and that differs from `old` (the maps' keys before
# the action): the rings and the path are on the map (ui/latent_map.js marks a map drawn once its SVG
# overlay layer, or on a 3-D map Plotly, shows them).
MAPS_DRAWN_JS = """([old]) => {
  const maps = [...document.querySelectorAll('.latent-map')];
  const keys = maps.map(m => m.dataset.drawn || '');
  return maps.length > 0 && maps.every(m => m.dataset.drawn === m.dataset.wanted) && keys.join() !== old.join();
}"""

# The whole view: the interpolation strip shown (as above) and every map drawn anew.
WHOLE_VIEW_JS = """([old, keys]) => {
  const shown = (%s)([old]) && (%s)([keys]);
  if (shown && !window.__bench.whole) window.__bench.whole = performance.now();
  return shown;
}""" % (INTERPOLATION_SHOWN_JS, MAPS_DRAWN_JS)

# The edited image's source differs from `old` and has loaded, and the app is idle.
IMAGE_CHANGED_JS = """([selector, old, idle]) => {
  const img = document.querySelector(selector);
  const shown = !!(img && img.getAttribute('src') !== old && img.complete && img.naturalWidth > 0
                   && document.querySelector(idle));
  if (shown && !window.__bench.done) window.__bench.done = performance.now();
  return shown;
}"""


def watch(page, check_js: str, arg) -> None:
    """Time stamp `check_js(arg)` (one of the *_JS checks below, which stamp window.__bench) in the page itself
    as soon as it holds; then wait for it with Playwright, whose polling no longer decides the time."""
    page.evaluate("([source, arg]) => { const check = eval(source); window.__bench.check = () => check(arg); }",
                  [check_js, arg])


def wait_watched(page, check_js: str, arg, timeout: int = 60_000) -> None:
    page.wait_for_function(check_js, arg=arg, timeout=timeout, polling=50)
    page.evaluate("() => { window.__bench.check = null; }")


def phases(page) -> dict:
    """Seconds from the user's action to: the script starting, the script done, the picture shown, the whole view."""
    bench = page.evaluate("() => window.__bench")
    running = next((t for t, state in bench["states"] if state == "running"), None)
    finished = next((t for t, state in bench["states"] if state == "notRunning" and running and t > running), None)
    return {"total": (bench["done"] - bench["action"]) / 1000,
            "whole": (bench["whole"] - bench["action"]) / 1000 if bench["whole"] else float("nan"),
            "to_start": (running - bench["action"]) / 1000 if running else float("nan"),
            "script": (finished - running) / 1000 if running and finished else float("nan"),
            "settled": (finished - bench["action"]) / 1000 if finished else float("nan")}


def map_keys(page) -> list[str]:
    return page.evaluate("() => [...document.querySelectorAll('.latent-map')].map(m => m.dataset.drawn || '')")


class ByteCounter:
    """Bytes the page receives: websocket frames (Streamlit's deltas) and HTTP bodies (pictures, map files)."""

    def __init__(self, page):
        self.total = 0
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))
        page.on("requestfinished", self._request)

    def _frame(self, payload) -> None:
        self.total += len(payload)

    def _request(self, request) -> None:
        sizes = request.sizes()
        self.total += sizes.get("responseBodySize", 0) + sizes.get("responseHeadersSize", 0)


def interpolation_heading(page) -> str:
    heading = page.locator("h3", has_text="Interpolation #")
    return heading.first.inner_text() if heading.count() else ""


def drag_box(page, area, corners) -> None:
    (x0, y0), (x1, y1) = corners
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    page.mouse.move(box["x"] + box["width"] * x0, box["y"] + box["height"] * y0)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * x1, box["y"] + box["height"] * y1, steps=10)
    page.mouse.up()


def select_to_images(page, repeats: int, counter: ByteCounter | None = None) -> tuple[list[dict], list[int]]:
    """From releasing the mouse after a box-select to the interpolation strip shown and to the whole
    view (phases); and the bytes received for each click, until the app is idle again."""
    area = page.locator(".latent-map .nsewdrag").first
    page.evaluate(INSTRUMENT_JS)
    samples, sizes = [], []
    for i in range(repeats + 1):  # the first one is untimed (it also scrolls and warms caches)
        old, keys = interpolation_heading(page), map_keys(page)
        before = counter.total if counter else 0
        watch(page, WHOLE_VIEW_JS, [old, keys])
        drag_box(page, area, BOXES[i % 2])
        wait_watched(page, WHOLE_VIEW_JS, [old, keys])
        wait_idle(page)
        if i:
            samples.append(phases(page))
            if counter:
                sizes.append(counter.total - before)
    return samples, sizes


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
        watch(page, IMAGE_CHANGED_JS, [EDITED_IMAGE, old, IDLE])
        page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        wait_watched(page, IMAGE_CHANGED_JS, [EDITED_IMAGE, old, IDLE])
        if i:
            samples.append(phases(page))
        wait_idle(page)
    return samples


def row(label: str, samples: list[dict], target: float, key: str = "total") -> tuple:
    p50, p95 = (v / 1000 for v in ms([s[key] for s in samples]))
    start, script, settled = (np.nanmedian([s[k] for s in samples]) for k in ("to_start", "script", "settled"))
    detail = (f"median: {start:.2f} s until the rerun starts; the rerun (the script, and the browser drawing what "
              f"it sends) ends after {script:.2f} s, {settled:.2f} s after the action")
    return label, f"{p50:.2f} s", f"{p95:.2f} s", f"≤ {target} s", verdict(p95, target), detail


def page_rows(name: str, label: str, samples: list[dict]) -> list[tuple]:
    return [row(f"{label}: box-select → interpolation images", samples, TARGET_PICTURES_S),
            row(f"{label}: whole view — box-select → images, rings and path on the map(s)", samples,
                TARGET_WHOLE_VIEW_S[name], key="whole")]


def bytes_row(label: str, sizes: list[int], before: list[int] | None) -> tuple:
    after = f"{np.median(sizes) / 1000:.1f} kB"
    was = f"{np.median(before) / 1000:.1f} kB" if before else "not measured"
    return (f"{label}: bytes received per box-select (median)", after, "", "", "",
            f"before this component (st.plotly_chart): {was}")


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
        app.session_state["map_chart"] = {"selection": {"point_indices": ids}}
        started = time.perf_counter()
        app.run()
        if i:
            samples.append(time.perf_counter() - started)
    if app.exception:
        raise RuntimeError(f"the map page raised: {app.exception[0].value}")
    return samples


BIG_DRAWN_JS = """([old]) => {
  const shown = (%s)([old]);
  if (shown && window.__bench && !window.__bench.whole) window.__bench.whole = performance.now();
  return shown;
}""" % MAPS_DRAWN_JS


def first_draw(browser, url: str) -> float:
    """Seconds from navigating to `url` in a new browser context (nothing cached) to its map drawn."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_function(MAPS_DRAWN_JS, arg=[[]], timeout=300_000, polling=10)
        return page.evaluate("() => performance.now()") / 1000  # from the navigation's start
    finally:
        context.close()


def select_on_big_map(page, repeats: int) -> list[float]:
    """Seconds from releasing the mouse after a box-select to the rings and path drawn on the map."""
    area = page.locator(".latent-map .nsewdrag").first
    page.evaluate(INSTRUMENT_JS)
    samples = []
    for i in range(repeats + 1):
        keys = map_keys(page)
        watch(page, BIG_DRAWN_JS, [keys])
        drag_box(page, area, BOXES[i % 2])
        wait_watched(page, BIG_DRAWN_JS, [keys], timeout=120_000)
        wait_idle(page)
        if i:
            bench = page.evaluate("() => window.__bench")
            samples.append((bench["whole"] - bench["action"]) / 1000)
    return samples


def big_map_rows(browser, repeats: int) -> list[tuple]:
    """First draw and whole view after a selection: 70,000 synthetic points against 5,000."""
    from harness import ROOT

    server = start_server(ROOT / "bench" / "big_map_app.py")
    wait_healthy(server)
    try:
        figures = {}
        for n in (5_000, BIG_N):
            url = f"{server.url}/?n={n}"
            draws = [first_draw(browser, url) for _ in range(max(3, repeats // 3))]  # noisy: 2.8-3.3 s for the same map
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            open_page(page, url)
            page.wait_for_function(MAPS_DRAWN_JS, arg=[[]], timeout=300_000, polling=50)
            figures[n] = (float(np.median(draws)), float(np.percentile(select_on_big_map(page, repeats), 95)))
            page.context.close()
    finally:
        server.stop()
    rows = []
    for i, what in enumerate(("first draw (median, new browser context)", "whole view after a box-select (p95)")):
        small, big = figures[5_000][i], figures[BIG_N][i]
        ratio = big / small
        rows.append((f"{BIG_N:,}-point synthetic map: {what}", f"{big:.2f} s", f"{ratio:.2f}×",
                     f"≤ {TARGET_BIG_RATIO}× the 5,000-point map", verdict(ratio, TARGET_BIG_RATIO),
                     f"5,000 points: {small:.2f} s (bench/big_map_app.py)"))
    return rows


HEADING_CHANGED_JS = """([old]) => {
  const heading = [...document.querySelectorAll('h3')].find(h => h.textContent.startsWith('Interpolation #'));
  return heading && heading.textContent !== old;
}"""


def bytes_before(app_dir: Path, repeats: int) -> list[int]:
    """Bytes received per box-select on the map page of the app in app_dir (its maps: st.plotly_chart)."""
    from playwright.sync_api import sync_playwright

    from harness import launch_chromium

    server = start_server(app_dir / "app.py", checkpoints_dir=checkpoints_dir(), cwd=app_dir)
    wait_healthy(server)
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
            counter = ByteCounter(page)
            open_page(page, server.url)
            area = page.locator('[data-testid="stPlotlyChart"] .nsewdrag').first
            sizes = []
            for i in range(repeats + 1):
                old, before = interpolation_heading(page), counter.total
                drag_box(page, area, BOXES[i % 2])
                page.wait_for_function(HEADING_CHANGED_JS, arg=[old], timeout=60_000)
                wait_idle(page)
                page.wait_for_timeout(500)  # the map arrives after the pictures
                if i:
                    sizes.append(counter.total - before)
            browser.close()
    finally:
        server.stop()
    return sizes


def app_rows(browser, url: str, repeats: int, before: list[int] | None) -> list[tuple]:
    """Times on a page that counts nothing, then bytes on another: Playwright reports every websocket frame and
    request of a counted page to this process, work that would be timed too."""
    page = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
    rows = []
    for name, label, path in (("map", "map page (vae_32, PCA)", ""),
                              ("compare", "AE vs VAE page, on the left map (ae_32, vae_32, PCA)",
                               "compare?left=ae_32&right=vae_32")):
        open_page(page, f"{url}/{path}")
        page.wait_for_function(MAPS_DRAWN_JS, arg=[[]], timeout=120_000, polling=50)
        samples, _ = select_to_images(page, repeats)
        counted = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
        counter = ByteCounter(counted)
        open_page(counted, f"{url}/{path}")
        counted.wait_for_function(MAPS_DRAWN_JS, arg=[[]], timeout=120_000, polling=50)
        _, sizes = select_to_images(counted, min(repeats, BYTES_REPEATS), counter)
        counted.context.close()
        rows += page_rows(name, label, samples)
        rows.append(bytes_row(label, sizes, before if name == "map" else None))
    open_page(page, f"{url}/generate")
    samples = slider_to_image(page, repeats)
    if samples is None:
        rows.append(("generate page: slider step → edited image", "page not built yet", "", f"≤ {TARGET_SLIDER_S} s",
                     "", ""))
    else:
        rows.append(row("generate page: traversal slider step → edited image (vae_32)", samples, TARGET_SLIDER_S))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=None, help="default 30 (a p95 needs them); 3 with --quick")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--before", type=Path, default=None, help="an older copy of the app, for its bytes per click")
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 30)

    from playwright.sync_api import sync_playwright

    from harness import launch_chromium

    before = bytes_before(args.before.resolve(), min(repeats, 10)) if args.before else None
    with streamlit_server(checkpoints_dir()) as server, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            rows = app_rows(browser, server.url, repeats, before)
            rows += big_map_rows(browser, repeats)
        finally:
            browser.close()
    p50, p95 = ms(server_rerun_after_selection(repeats))
    rows.append(("(of which) the map page's script for a new selection, alone (AppTest, no browser)",
                 f"{p50 / 1000:.2f} s", f"{p95 / 1000:.2f} s", "", "", "server side only"))
    body = (f"{repeats} repetitions each after one untimed; headless Chromium (software WebGL) and the server share "
            "the machine. Timed on the page's clock from the mouse button released / key pressed (the event's time stamp) to the new image "
            "loaded (what the student waits for) and, for the whole view, until every map on the page also shows "
            "what the rerun sent it (its rings and path). The page stamps that moment itself, on the DOM change or "
            "image load that completes it (before 2026-12-04: at Playwright's next 10 ms poll). Maps are ui/latent_map.py: the digits are fetched once "
            "per model, dataset and projection, a click sends only the overlays, drawn in the map's own SVG "
            "layer over the untouched WebGL points (no Plotly call); a box selection is the map's own (drawn in that layer, "
            "its digits found in the base arrays and sent on release), so Plotly never restyles the WebGL points for it. "
            f"Bytes: websocket frames and HTTP bodies the page received from the click until "
            f"the app was idle (pictures included), over {BYTES_REPEATS} box-selects on a second page that is not timed.\n\n"
            + table(rows, ("action → result", "p50 / figure", "p95 / ratio", "target", "", "where the time goes")))
    write_section("browser", "Browser: action to picture", body)


if __name__ == "__main__":
    main()
