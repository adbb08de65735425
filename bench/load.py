"""Load test: a classroom of concurrent sessions browsing one `streamlit run app.py`.

Each simulated student is one browser tab without the browser (bench/tab.py: Streamlit's
websocket protocol, widget states in, the page's messages out, its images downloaded), and loops
over a mix of what students do, looking at each result for a few seconds (`--think`, default
2–6 s) before the next click:

- open a shared link to the latent map with two digits selected (`?ids=a,b`, a new tab: a
  selection lives in the link), then change the interpolation's steps and path;
- open AE vs VAE with the same digits, change its steps and the prior samples' seed;
- on Generate, draw new prior samples, move the temperature and one latent slider;
- on Denoise, change the noise kind, level and seed.

Counted as errors: lost connections and timeouts, runs that show an exception, and `st.error`
messages. Latency is one action: from sending the change (opening a link: from connecting) until
the run has finished and its images have downloaded. The server's resident memory is sampled
throughout.

With `--train-jobs 2`, two more sessions start training jobs on the Train page first (one trains,
one waits: one job at a time per server) and keep watching them, while the others browse.

    python bench/load.py                                   # 30 sessions, 180 s
    python bench/load.py --sessions 20 --train-jobs 2      # browsing while two jobs train or wait
    python bench/load.py --sessions 5 --duration 30        # a quick check

Prints a table with the targets and writes it to bench/results_load.md (one section per mode).
Only ever talks to 127.0.0.1; every loop ends at its deadline.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser import streamlit_server  # noqa: E402  (tests/browser.py)
from tab import Run, Tab  # noqa: E402  (bench/tab.py)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ui.pages import page  # noqa: E402  (the page registry: plain data, no Streamlit)


def path(module: str) -> str:
    return page(module).url_path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results_load.md"
TARGET_P95 = 1.0  # seconds per interaction
RSS_GROWTH_LIMIT = 0.10  # second half of the run may add at most 10% (or 50 MB) to the server's memory
RSS_GROWTH_FLOOR = 50e6
REQUEST_TIMEOUT = 90.0
TRAIN_EPOCHS = 50  # the Train page's most; when a job finishes its teacher starts the next
N_DIGITS = 5000  # rows of mnist5k's "all" split


# ---------------------------------------------------------------- the server


def rss_bytes(pid: int) -> int | None:
    """Resident memory of a process (Linux /proc), or None where that is not available."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


# ---------------------------------------------------------------- one simulated student


@dataclass
class Record:
    """Everything the run measured; shared by all threads under one lock."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    rss: list[tuple[float, int]] = field(default_factory=list)
    training_seen: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


class Student:
    """One browser tab (bench/tab.py) on the app; every rerun is timed and checked."""

    def __init__(self, url: str, record: Record, rng: random.Random, measure: bool = True,
                 think: tuple[float, float] = (2.0, 6.0)):
        self.url, self.record, self.rng, self.measure, self.think_time = url, record, rng, measure, think
        self.tab: Tab | None = None

    def act(self, kind: str, action) -> Run | None:
        """Run one user action (a callable returning a Run); time it and collect what went wrong."""
        try:
            run = action()
        except Exception as error:  # a closed socket, a timeout, an HTTP error fetching an image
            self.record.error(f"{kind}: no answer ({type(error).__name__}: {error})")
            self.close()
            return None
        if run is None:
            return None
        if self.measure:
            self.record.add(kind, run.seconds)
        for problem in run.problems:
            self.record.error(f"{kind}: {problem}")
        return run

    def close(self) -> None:
        if self.tab is not None:
            try:
                self.tab.close()
            except Exception:
                pass
        self.tab = None

    def open(self, kind: str, page: str, params: dict[str, str] | None = None, new_tab: bool = False) -> Run | None:
        """Go to a page; a new tab (a fresh session) when asked or when none is open, connecting included."""
        if new_tab:
            self.close()

        def go() -> Run:
            started = time.perf_counter()
            if self.tab is None:
                self.tab = Tab(self.url, REQUEST_TIMEOUT)
            run = self.tab.open(page, urllib.parse.urlencode(params or {}))
            run.seconds = time.perf_counter() - started
            return run

        return self.act(kind, go)

    def set(self, kind: str, **values) -> Run | None:
        tab = self.tab
        return self.act(kind, lambda: tab.set(**values)) if tab is not None else None

    def widget(self, key: str):
        return self.tab.widgets.get(key) if self.tab is not None else None

    def option(self, key: str) -> str | None:
        """A random option of a selectbox or radio, as the widget shows it (its format_func applied)."""
        widget = self.widget(key)
        return self.rng.choice(widget.options) if widget is not None and widget.options else None

    def slider_value(self, key: str) -> float | None:
        """A random legal value of a slider, on its step."""
        widget = self.widget(key)
        if widget is None:
            return None
        lo, hi, step = widget.proto.min, widget.proto.max, widget.proto.step or 0.01
        return round(lo + step * self.rng.randint(0, int(round((hi - lo) / step))), 6)

    # -------------------------------------------------------- what students do

    def pair(self) -> str:
        a, b = self.rng.sample(range(N_DIGITS), 2)
        return f"{a},{b}"

    def shared_map_link(self) -> None:
        """A new tab on a link with two digits selected: a new session."""
        self.open("open map link", path("map_page"), {"ids": self.pair(), "model": self.rng.choice(["vae_32", "ae_32"])},
                  new_tab=True)
        self.think()
        self.set("map: interpolation steps", map_steps=self.rng.randint(5, 20))
        self.think()
        self.set("map: path", map_method=self.option("map_method"))

    def compare(self) -> None:
        self.open("open AE vs VAE", path("compare_page"), {"ids": self.pair()})
        self.think()
        self.set("compare: interpolation steps", cmp_steps=self.rng.randint(5, 20))
        self.think()
        self.set("compare: prior seed", cmp_seed=self.rng.randint(0, 9999))

    def generate(self) -> None:
        self.open("open Generate", path("generate_page"))
        self.think()
        self.set("generate: seed", gen_seed=self.rng.randint(0, 10_000))
        self.think()
        self.set("generate: temperature", gen_temp=self.slider_value("gen_temp"))
        self.think()
        sliders = [key for key in (self.tab.widgets if self.tab else {}) if key.startswith("gen_z")]
        if sliders:
            key = self.rng.choice(sliders[:8])
            self.set("generate: latent slider", **{key: self.slider_value(key)})

    def denoise(self) -> None:
        self.open("open Denoise", path("denoise_page"))
        self.think()
        self.set("denoise: noise", dn_kind=self.option("dn_kind"))
        self.think()
        self.set("denoise: level", dn_level=self.slider_value("dn_level"))
        self.think()
        self.set("denoise: seed", dn_seed=self.rng.randint(0, 9999))

    def think(self) -> None:
        time.sleep(self.rng.uniform(*self.think_time))

    def browse(self, deadline: float) -> None:
        """Visit pages at random until the deadline (bounded: every step ends, every loop checks it)."""
        visits = [self.shared_map_link, self.compare, self.generate, self.denoise]
        self.shared_map_link()
        while time.monotonic() < deadline:
            self.rng.choice(visits)()
            self.think()
        self.close()


def train(url: str, record: Record, rng: random.Random, deadline: float, index: int) -> None:
    """A teacher starts a long training job and keeps its page open: the page's own timer
    (a fragment's run_every) refreshes the progress, as in a browser."""
    teacher = Student(url, record, rng, measure=False)
    teacher.open("open Train", path("train_page"))
    teacher.set("train: settings", train_epochs=TRAIN_EPOCHS)  # the default model and dataset: an MLP VAE on mnist5k
    teacher.set("train: start", train_start=True)
    while time.monotonic() < deadline and teacher.tab is not None:
        interval = teacher.tab.timer[0] if teacher.tab.timer else 5.0
        time.sleep(interval)
        run = teacher.act("train: watch", teacher.tab.tick) if teacher.tab.timer else None
        if run is None and teacher.tab is not None and teacher.tab.timer is None:
            run = teacher.act("train: watch", teacher.tab.refresh)  # no live refresh: look again, as a teacher would
        if run is not None:
            text = run.texts[0] if run.texts else "no progress bar"
            with record.lock:
                record.training_seen.append(f"{index}:{text}")
            if not text.startswith(("Epoch", "Waiting")):  # finished: the teacher trains the next model
                teacher.set("train: start again", train_start=True)
    teacher.close()


# ---------------------------------------------------------------- the run


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * (len(ordered) - 1)))))] if ordered else float("nan")


@dataclass
class Result:
    sessions: int
    duration: float
    train_jobs: int
    warm_up: float
    think: tuple[float, float]
    record: Record

    @property
    def all_latencies(self) -> list[float]:
        return [s for values in self.record.latencies.values() for s in values]

    @property
    def interactions(self) -> int:
        return len(self.all_latencies)

    def rss_summary(self) -> tuple[int, int, int, bool]:
        """(first, peak, last, bounded) of the server's memory over the measured period."""
        samples = self.record.rss
        if not samples:
            return 0, 0, 0, True
        values = [v for _, v in samples]
        half = values[len(values) // 2]
        bounded = values[-1] - half <= max(RSS_GROWTH_FLOOR, RSS_GROWTH_LIMIT * half)
        return values[0], max(values), values[-1], bounded


def run_load(sessions: int = 30, duration: float = 180, train_jobs: int = 0, seed: int = 0,
             checkpoints_dir: Path | None = None, think: tuple[float, float] = (2.0, 6.0),
             progress: bool = False) -> Result:
    """Start a private server, warm it up, run `sessions` students for `duration` seconds; return what was measured."""
    source = Path(checkpoints_dir or os.environ.get("LATENT_LAB_CHECKPOINTS", ROOT / "checkpoints"))
    with tempfile.TemporaryDirectory(prefix="latent-lab-load-") as tmp:
        private = Path(tmp) / "checkpoints"  # training jobs and maps never touch the real folder
        shutil.copytree(source, private, ignore=shutil.ignore_patterns(".*", "*.sh"))
        with streamlit_server(private) as server:
            url, pid = server.url, server.process.pid
            record = Record()
            started = time.monotonic()
            # One pass through every visit first: loads models, data and caches, as the first student would.
            warm = Student(url, record, random.Random(seed), measure=False, think=(0.0, 0.0))
            for visit in (warm.shared_map_link, warm.compare, warm.generate, warm.denoise):
                visit()
            warm_up = time.monotonic() - started
            deadline = time.monotonic() + duration
            threads = [threading.Thread(target=train, args=(url, record, random.Random(seed + 1000 + i), deadline, i),
                                        name=f"teacher-{i}", daemon=True) for i in range(train_jobs)]
            for i in range(sessions):
                student = Student(url, record, random.Random(seed + i), think=think)
                threads.append(threading.Thread(target=student.browse, args=(deadline,), name=f"student-{i}", daemon=True))
            for thread in threads:
                thread.start()
                time.sleep(0.1)  # students arrive over a few seconds, not in one instant
            t0 = time.monotonic()
            while any(t.is_alive() for t in threads) and time.monotonic() < deadline + REQUEST_TIMEOUT * 3:
                value = rss_bytes(pid)
                if value is not None and time.monotonic() <= deadline:
                    record.rss.append((time.monotonic() - t0, value))
                if progress and len(record.rss) % 15 == 1:
                    print(f"  {time.monotonic() - t0:5.0f} s  {sum(map(len, record.latencies.values())):5d} "
                          f"interactions  {len(record.errors)} errors  RSS {value / 1e6 if value else 0:.0f} MB",
                          flush=True)
                time.sleep(2)
            if any(t.is_alive() for t in threads):
                record.error("a session was still waiting for an answer long after the end")
            return Result(sessions, duration, train_jobs, warm_up, think, record)


# ---------------------------------------------------------------- the report


def mode_title(result: Result) -> str:
    if result.train_jobs:
        return f"{result.sessions} sessions browsing while {result.train_jobs} training jobs run or wait"
    return f"{result.sessions} sessions browsing"


def report(result: Result) -> str:
    latencies = result.all_latencies
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    first, peak, last, bounded = result.rss_summary()
    errors = result.record.errors
    ok = lambda good: "yes" if good else "**no**"  # noqa: E731
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        f"## {mode_title(result)}",
        "",
        f"{result.sessions} sessions for {result.duration:.0f} s (think time {result.think[0]:g}–"
        f"{result.think[1]:g} s between clicks) against `streamlit run app.py` on 127.0.0.1, each a tab "
        f"speaking Streamlit's websocket protocol (bench/tab.py); {os.cpu_count()} CPU cores, load average {load:.1f} when the run ended (other work included). "
        f"Warm-up (first load of models, data and caches, not measured): {result.warm_up:.1f} s.",
        "",
        "| measure | target | result | met |",
        "|---|---|---|---|",
        f"| errors (lost connections, timeouts, exceptions, `st.error`) | 0 | {len(errors)} | {ok(not errors)} |",
        f"| interactions measured | — | {len(latencies)} | |",
        f"| latency p50, all interactions | — | {p50:.2f} s | |",
        f"| latency p95, all interactions | ≤ {TARGET_P95:g} s | {p95:.2f} s | {ok(p95 <= TARGET_P95)} |",
        f"| server memory (RSS) first / peak / last | bounded: the second half adds ≤ "
        f"{RSS_GROWTH_LIMIT:.0%} or {RSS_GROWTH_FLOOR / 1e6:.0f} MB | {first / 1e6:.0f} / {peak / 1e6:.0f} / "
        f"{last / 1e6:.0f} MB | {ok(bounded)} |",
    ]
    if result.train_jobs:
        seen = [s.split(":", 1)[1] for s in result.record.training_seen]
        running = sum(text.startswith("Epoch") for text in seen)
        waiting = sum(text.startswith("Waiting") for text in seen)
        finished = len(seen) - running - waiting
        lines.append(f"| training jobs, as their pages showed them | {result.train_jobs} running or queued | "
                     f"{running} looks saw a job training, {waiting} saw one waiting, {finished} saw one just "
                     f"finished (its teacher then started the next) | {ok(running > 0 and waiting > 0)} |")
    lines += ["", "| interaction | n | p50 | p95 | max |", "|---|---:|---:|---:|---:|"]
    for kind, values in sorted(result.record.latencies.items()):
        lines.append(f"| {kind} | {len(values)} | {percentile(values, 50):.2f} s | {percentile(values, 95):.2f} s | "
                     f"{max(values):.2f} s |")
    samples = result.record.rss
    if samples:
        step = max(1, len(samples) // 8)
        lines += ["", "Server RSS over time: " + ", ".join(f"{t:.0f} s {v / 1e6:.0f} MB" for t, v in samples[::step])
                  + f", {samples[-1][0]:.0f} s {samples[-1][1] / 1e6:.0f} MB."]
    if errors:
        distinct = sorted(set(errors))
        lines += ["", f"Errors ({len(errors)}, {len(distinct)} distinct):", ""] + [f"- {e}" for e in distinct[:20]]
    return "\n".join(lines) + "\n"


def write_results(section: str, path: Path = RESULTS) -> None:
    """Replace this mode's section of the results file, keeping the other mode's."""
    title = section.splitlines()[0]
    kind = "training" if "training jobs" in title else "browsing"
    sections = {}
    if path.exists():
        for chunk in path.read_text().split("\n## ")[1:]:
            chunk = "## " + chunk.rstrip() + "\n"
            sections["training" if "training jobs" in chunk.splitlines()[0] else "browsing"] = chunk
    sections[kind] = section
    header = ("# Load: concurrent sessions\n\n`python bench/load.py` (browsing) and "
              "`python bench/load.py --sessions 20 --train-jobs 2` (browsing during training).\n\n")
    path.write_text(header + "\n".join(sections[k] for k in ("browsing", "training") if k in sections))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--duration", type=float, default=180, help="seconds of measured browsing")
    parser.add_argument("--train-jobs", type=int, default=0, help="training jobs started on the Train page first")
    parser.add_argument("--think", type=float, nargs=2, default=(2.0, 6.0), metavar=("MIN", "MAX"),
                        help="seconds a student looks at the result before the next click (default 2-6)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/results_load.md alone")
    args = parser.parse_args(argv)
    if not (1 <= args.sessions <= 200 and 1 <= args.duration <= 3600 and 0 <= args.train_jobs <= 4):
        parser.error("use 1-200 sessions, 1-3600 s and 0-4 training jobs")
    print(f"{args.sessions} sessions, {args.duration:.0f} s, {args.train_jobs} training jobs: starting the server…",
          flush=True)
    result = run_load(args.sessions, args.duration, args.train_jobs, args.seed, think=tuple(args.think), progress=True)
    section = report(result)
    print("\n" + section)
    if not args.no_write:
        write_results(section)
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0 if not result.record.errors else 1


if __name__ == "__main__":
    sys.exit(main())
