"""Cold start: `streamlit run app.py` until the first map is drawn in headless Chromium, against a baseline.

The baseline is the least a Streamlit app that shows a map can do: one page that imports torch and
draws a 5,000-point Plotly Scattergl (written to a temporary file here). "Drawn" means the Plotly
chart's SVG layer and WebGL canvas exist and the app is idle. The browser is started once,
before the clock; each run spawns a new server and opens a new browser context. App and baseline
runs alternate, so a change in machine load hits both.

    python bench/cold_start.py [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import CHART_RENDERED_JS, ROOT, launch_chromium, table, write_section  # noqa: E402

from browser import start_server, wait_healthy  # noqa: E402  (tests/browser.py, on the path via harness)

TARGET_RATIO = 1.3

BASELINE_APP = '''
import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

st.set_page_config(page_title="Baseline", layout="wide")
st.title("Baseline")
rng = np.random.default_rng(0)
xy = torch.from_numpy(rng.normal(size=(5000, 2))).numpy()
labels = rng.integers(0, 10, 5000)
fig = go.Figure(go.Scattergl(x=xy[:, 0], y=xy[:, 1], mode="markers", customdata=np.arange(5000)[:, None],
                             marker=dict(color=labels, colorscale="Turbo", size=6)))
fig.update_layout(template="plotly_white", height=600, dragmode="select")
st.plotly_chart(fig, key="map", on_select="rerun", selection_mode=("points", "box", "lasso"))
'''


# app.py plus a UMAP warm-up started once per server, before the first page: to try that change.
WARM_UP_LINES = """
import streamlit as _st
from explorer import maps as _maps


@_st.cache_resource(show_spinner=False)
def _umap_warm_up():
    return _maps.warm_up_umap()


_umap_warm_up()
"""


def one_run(browser, script: Path, cwd: Path) -> dict:
    """Seconds from spawning the server to: health ok, chart drawn."""
    server = start_server(script, cwd=cwd)
    try:
        healthy = wait_healthy(server)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.goto(server.url)
        page.wait_for_function(CHART_RENDERED_JS, timeout=300_000, polling=50)
        drawn = time.perf_counter() - server.started
        errors = page.locator('[data-testid="stException"]').count()
        context.close()
        return {"healthy": healthy, "drawn": drawn, "errors": errors}
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=None, help="runs of each app (default 3; 1 with --quick)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--with-warm-up", action="store_true",
                        help="also time app.py with the UMAP warm-up started at server start")
    args = parser.parse_args()
    repeats = args.repeats or (1 if args.quick else 3)

    from playwright.sync_api import sync_playwright

    # Read the libraries once, so the first timed run does not pay for a cold disk cache alone.
    subprocess.run([sys.executable, "-c", "import torch, streamlit, plotly.graph_objects"], check=True)
    results = {"app": [], "baseline": []}
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as folder, sync_playwright() as playwright:
        baseline = Path(folder) / "baseline_app.py"
        baseline.write_text(BASELINE_APP)
        apps = [("app", ROOT / "app.py", ROOT), ("baseline", baseline, Path(folder))]
        if args.with_warm_up:
            warm = Path(folder) / "app_with_warm_up.py"
            app_text = (ROOT / "app.py").read_text()
            last = app_text.rindex("st.navigation(")
            warm.write_text(app_text[:last] + WARM_UP_LINES + "\n" + app_text[last:])
            apps.append(("app + warm-up", warm, ROOT))
            results["app + warm-up"] = []
        browser = launch_chromium(playwright)
        try:
            for i in range(repeats):
                for name, script, cwd in apps:
                    results[name].append(one_run(browser, script, cwd))
                    print(name, i + 1, {k: round(v, 2) for k, v in results[name][-1].items()}, flush=True)
        finally:
            browser.close()

    med = {name: {k: statistics.median(r[k] for r in runs) for k in ("healthy", "drawn")} for name, runs in results.items()}
    ratio = med["app"]["drawn"] / med["baseline"]["drawn"]
    errors = sum(r["errors"] for r in results["app"])

    def runs(name, key):
        return ", ".join(f"{r[key]:.1f}" for r in results[name])

    rows = [
        ("baseline: server answers /_stcore/health", f"{med['baseline']['healthy']:.2f} s", f"runs: {runs('baseline', 'healthy')}", "", ""),
        ("baseline: 5k Scattergl drawn", f"{med['baseline']['drawn']:.2f} s", f"runs: {runs('baseline', 'drawn')}", "", ""),
        ("Latent Lab: server answers /_stcore/health", f"{med['app']['healthy']:.2f} s", f"runs: {runs('app', 'healthy')}", "", ""),
        ("Latent Lab: first map drawn (vae_32, PCA, 5,000 digits)", f"{med['app']['drawn']:.2f} s", f"runs: {runs('app', 'drawn')}", "", ""),
        ("Latent Lab / baseline", f"{ratio:.2f}×", "", f"≤ {TARGET_RATIO}×", "MET" if ratio <= TARGET_RATIO else "MISSED"),
    ]
    if "app + warm-up" in med:
        warm_ratio = med["app + warm-up"]["drawn"] / med["baseline"]["drawn"]
        rows.append(("(trial) app.py + UMAP warm-up at server start: first map drawn", f"{med['app + warm-up']['drawn']:.2f} s",
                     f"runs: {runs('app + warm-up', 'drawn')}; {warm_ratio:.2f}× baseline", "", ""))
    body = (f"Median of {repeats} cold starts each (new server process, new browser context; Chromium started "
            f"before the clock). Timed from spawning `streamlit run` to the chart's `.main-svg` and WebGL canvas "
            f"present with the app idle.{' **The app showed an exception.**' if errors else ''}\n\n"
            + table(rows, ("measure", "median", "each run", "target", "")))
    write_section("cold_start", "Cold start", body)


if __name__ == "__main__":
    main()
