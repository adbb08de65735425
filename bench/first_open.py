"""Every page's first open on a fresh server, and its second open, as a student in a lecture meets them.

    python bench/first_open.py [--repeats 3] [--pages compare,compression]

For each page and repeat: a new `streamlit run app.py` on the shipped checkpoints; Chromium (started once,
before the clock) opens the start page and waits for it to be idle; then the clock runs from the click on the
page's link in the sidebar until the page is idle with nothing left running (`data-test-script-state` is
"notRunning" and stays so for 0.5 s), which is the *first open*; the start page's link, then the page's link
again, gives the *second open*. The start page itself (the latent map) is timed from `goto` on the fresh server.
Targets (the accessibility issue): first open ≤ 5 s, second ≤ 1 s, median over repeats.
Writes bench/results_first_open.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ROOT, checkpoints_dir, launch_chromium, load_note  # noqa: E402

from browser import IDLE, start_server, wait_healthy  # noqa: E402  (tests/browser.py, on the path via harness)

sys.path.insert(0, str(ROOT))
from ui import pages  # noqa: E402

FIRST_TARGET, SECOND_TARGET = 5.0, 1.0
SETTLED_MS = 500  # idle this long after the click's rerun: a page that reruns itself (a fragment, a timer) is not done


def wait_settled(page, timeout_ms: float = 180_000) -> None:
    """Until the script has started after the click, then been idle for SETTLED_MS."""
    page.wait_for_timeout(100)  # the click's rerun begins
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        page.wait_for_selector(IDLE, timeout=timeout_ms)
        page.wait_for_timeout(SETTLED_MS)
        if page.locator(IDLE).count():
            return
    raise TimeoutError("the page never settled")


def open_by_link(page, title: str) -> float:
    started = time.perf_counter()
    page.locator('[data-testid="stSidebar"] a', has_text=title).first.click()
    wait_settled(page)
    return time.perf_counter() - started - SETTLED_MS / 1000


def one_server(browser, info: pages.PageInfo) -> tuple[float, float]:
    """(first, second) open of one page on a new server, in seconds."""
    server = start_server(checkpoints_dir=checkpoints_dir())
    try:
        wait_healthy(server)
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        started = time.perf_counter()
        page.goto(server.url)
        wait_settled(page)
        start_page = time.perf_counter() - started - SETTLED_MS / 1000
        if not info.url_path:
            first = start_page
        else:
            first = open_by_link(page, info.title)
        open_by_link(page, pages.PAGES[1].title if not info.url_path else pages.PAGES[0].title)
        second = open_by_link(page, info.title)
        page.context.close()
        return first, second
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pages", default="", help="comma-separated url paths (map for the start page); all by default")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results_first_open.md")))
    args = parser.parse_args()
    wanted = {p.strip() for p in args.pages.split(",") if p.strip()}
    chosen = [info for info in pages.PAGES if not wanted or (info.url_path or "map") in wanted]
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        for info in chosen:
            times = [one_server(browser, info) for _ in range(args.repeats)]
            first, second = (statistics.median(t[i] for t in times) for i in (0, 1))
            rows.append((info.title, first, max(t[0] for t in times), second))
            print(f"{info.title}: first {first:.1f} s, second {second:.2f} s", flush=True)
        browser.close()
    lines = [f"## First and second open of every page ({args.repeats} fresh servers each; {load_note()})", "",
             "| page | first open (median) | first open (worst) | target | second open (median) | target |",
             "|---|---|---|---|---|---|"]
    for title, first, worst, second in rows:
        lines.append(f"| {title} | {first:.1f} s | {worst:.1f} s | ≤ {FIRST_TARGET:.0f} s "
                     f"{'MET' if first <= FIRST_TARGET else 'MISSED'} | {second:.2f} s | ≤ {SECOND_TARGET:.0f} s "
                     f"{'MET' if second <= SECOND_TARGET else 'MISSED'} |")
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
