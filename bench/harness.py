"""What every benchmark shares: timing statistics, result tables, bench/results.md, a server, a browser.

Each benchmark writes one section of bench/results.md (between `<!-- NAME -->` markers), so
they can run alone or all together (`python bench/run_all.py`); the summary at the top is rebuilt
from the sections every time one is written.
"""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from browser import CHROMIUM, CHROMIUM_ARGS, IDLE  # noqa: E402  (tests/browser.py)

RESULTS = ROOT / "bench" / "results.md"


# ---------------------------------------------------------------- numbers and tables


def ms(samples_s) -> tuple[float, float]:
    """(p50, p95) in milliseconds of durations in seconds."""
    p50, p95 = np.percentile(np.asarray(samples_s, dtype=float) * 1000, [50, 95])
    return float(p50), float(p95)


def verdict(value: float, limit: float) -> str:
    """MET when value <= limit."""
    return "MET" if value <= limit else "MISSED"


def table(rows, header=("measure", "measured", "target", "")) -> str:
    """A markdown table of rows (tuples of cells)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def timed(function, repeats: int, warmup: int = 3, between=None) -> list[float]:
    """Durations (s) of `repeats` calls of function(i), after `warmup` untimed calls."""
    for i in range(warmup):
        function(i)
    samples = []
    for i in range(repeats):
        start = time.perf_counter()
        function(i)
        samples.append(time.perf_counter() - start)
        if between:
            between()
    return samples


def load_note() -> str:
    """Cores and load averages: the figures mean little without them."""
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {one:.1f} (1 min) / {five:.1f} (5 min)"


def server_settings(blas_threads: int | None = None) -> str:
    """Apply the server's process-wide settings (explorer.serving: torch's and BLAS's thread counts),
    optionally with another BLAS thread count, and describe the result."""
    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")  # no "no runtime" warnings outside a server
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    from explorer.serving import limit_threads_for_serving

    limit_threads_for_serving()

    if blas_threads:
        threadpool_limits(blas_threads, user_api="blas")
    blas = sorted({f"{pool['internal_api']} {pool['num_threads']}" for pool in threadpool_info() if pool["user_api"] == "blas"})
    return f"torch threads {torch.get_num_threads()}, numpy BLAS threads: {', '.join(blas) or 'none found'}"


def checkpoints_dir() -> Path:
    return Path(os.environ.get("LATENT_LAB_CHECKPOINTS", ROOT / "checkpoints"))


# ---------------------------------------------------------------- bench/results.md


def write_section(name: str, title: str, body: str, path: Path = RESULTS) -> None:
    """Put `## title` + body into the results file as section `name`, replacing an older one."""
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    block = f"<!-- {name} -->\n## {title}\n\n_Measured {stamp}; {load_note()} at the end._\n\n{body.strip()}\n<!-- /{name} -->"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"<!-- {re.escape(name)} -->.*?<!-- /{re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.write_text(with_summary(text))
    print(f"\n## {title}\n\n{body.strip()}\n", flush=True)


def summary(text: str | None = None) -> str:
    """Every row of the results file (or `text`) that carries a verdict (MET / MISSED), under its section."""
    rows, section = [], ""
    for line in (RESULTS.read_text() if text is None else text).splitlines():
        if line.startswith("## "):
            section = line[3:]
        if not line.startswith("|") or section == "Summary":
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        for i, cell in enumerate(cells[1:], 1):
            # A verdict in its own cell, or at the end of the target's (bench/train_speed.py).
            found = re.search(r"(?:^|\s)(MET|MISSED)$", cell)
            if found:
                measured = [c for c in cells[1:i] if c] + ([cell[:found.start()].strip()] if found.start() else [])
                rows.append((section, cells[0], " / ".join(measured), found.group(1)))
                break
    return table(rows, ("section", "measure", "measured / target", ""))


def with_summary(text: str) -> str:
    """`text` with its summary block (if it has one) rebuilt from its sections: a bench run alone must not
    leave the summary at the top saying what an older run measured."""
    return re.sub(r"<!-- summary -->.*?<!-- /summary -->",
                  lambda _: f"<!-- summary -->\n## Summary\n\n{summary(text)}\n<!-- /summary -->", text, flags=re.S)


# ---------------------------------------------------------------- a streamlit server and a browser


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


# A Plotly chart or latent map is drawn: its SVG layer and, for Scattergl, its WebGL canvas exist, and the app is idle.
CHART_RENDERED_JS = """() => {
  const chart = document.querySelector('[data-testid="stPlotlyChart"], .latent-map[data-drawn]');
  return !!(chart && chart.querySelector('.main-svg') && chart.querySelector('canvas')
            && document.querySelector('%s'));
}""" % IDLE.replace("'", "\\'")


def rss_mb(pid: int) -> float:
    """Resident memory (MB) of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(status.parent.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
        todo += children.get(current, [])
    return total / 1024


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
