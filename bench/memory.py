"""Server memory: resident set (RSS, the server process and its children) after start, with one
session, and with 30 sessions, each a headless Chromium browser context on the latent map page.

Sessions are opened one after another (each waits for its map to be drawn) and all stay
connected until the last measurement. RSS is read from /proc/PID/status (VmRSS), also sampled
every 0.5 s throughout to report the peak.

    python bench/memory.py [--sessions 30] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (  # noqa: E402
    CHART_RENDERED_JS,
    ROOT,
    launch_chromium,
    rss_mb,
    table,
    verdict,
    write_section,
)

from browser import start_server, wait_healthy  # noqa: E402  (tests/browser.py, on the path via harness)

TARGET_MB = 1024.0
SETTLE_S = 3.0  # let the server finish sending and collect garbage before reading RSS


class PeakSampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0.0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.5)


def open_session(browser, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(CHART_RENDERED_JS, timeout=300_000, polling=100)
    return context


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=None, help="default 30; 5 with --quick")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sessions = args.sessions or (5 if args.quick else 30)

    from playwright.sync_api import sync_playwright

    server = start_server(ROOT / "app.py")
    contexts, rows = [], []
    try:
        wait_healthy(server)
        pid = server.process.pid
        time.sleep(SETTLE_S)
        after_start = rss_mb(pid)
        sampler = PeakSampler(pid)
        sampler.start()
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                started = time.perf_counter()
                contexts.append(open_session(browser, server.url))
                time.sleep(SETTLE_S)
                one = rss_mb(pid)
                for i in range(1, sessions):
                    contexts.append(open_session(browser, server.url))
                    if (i + 1) % 10 == 0:
                        print(f"{i + 1} sessions: {rss_mb(pid):.0f} MB", flush=True)
                opened = time.perf_counter() - started
                time.sleep(SETTLE_S)
                many = rss_mb(pid)
            finally:
                for context in contexts:
                    context.close()
                browser.close()
        sampler.running = False
        sampler.join()
    finally:
        server.stop()

    rows = [
        ("after start (no session)", f"{after_start:.0f} MB", "", ""),
        ("1 session on the map page (vae_32, PCA)", f"{one:.0f} MB", "", ""),
        (f"{sessions} sessions on the map page", f"{many:.0f} MB", f"≤ {TARGET_MB:.0f} MB", verdict(many, TARGET_MB)),
        (f"peak while opening them ({opened:.0f} s)", f"{sampler.peak:.0f} MB", f"≤ {TARGET_MB:.0f} MB", verdict(sampler.peak, TARGET_MB)),
        ("per extra session", f"{(many - one) / max(sessions - 1, 1):.1f} MB", "", ""),
    ]
    body = (f"RSS of the `streamlit run app.py` process and its children; {sessions} headless Chromium contexts "
            "opened one after another, each waiting for its map, all connected at the last reading.\n\n"
            + table(rows, ("server state", "RSS", "target", "")))
    write_section("memory", "Memory", body)


if __name__ == "__main__":
    main()
