"""Two servers behind HAProxy (deploy/two_servers.py): bench/load.py's students through the balancer, then
one server killed mid-run.

The layout starts as a deployment runs it, on a private copy of the checkpoints. Each server is warmed
up directly (first load of models, data and caches, not measured), then `--sessions` students browse
through the balancer exactly as in bench/load.py (map links, AE vs VAE, Generate, Denoise; each a
tab speaking Streamlit's protocol, bench/tab.py, that keeps the balancer's cookie as a browser does),
while `--uploaders` teachers add a checkpoint zip on the Models page every few seconds (writes into
the shared folder while a server dies). Halfway (`--kill-at`), server b gets SIGKILL:

- a tab whose server was killed loses its connection; as Streamlit's page does, it reconnects (with
  its old cookie: HAProxy redispatches it) and reopens its page from its link on the other server.
  Those are counted as reconnects, with the time until the view was back; anything that goes wrong
  anywhere else, or after reconnecting, is an error;
- the checkpoints folder is listed before and after: every checkpoint readable before is readable
  after, and every one added is complete (a save is a rename of a finished folder).

    python bench/two_servers.py                              # 30 sessions, 180 s, b killed at 90 s
    python bench/two_servers.py --sessions 10 --duration 60  # a quick check

Prints a table with the targets and writes bench/results_two_servers.md. Only 127.0.0.1; every loop ends.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from harness import load_note, table, verdict  # noqa: E402  (bench/harness.py)
from load import REQUEST_TIMEOUT, Record, Student, percentile, rss_bytes  # noqa: E402  (bench/load.py)
from tab import Tab  # noqa: E402  (bench/tab.py)

from deploy.two_servers import COOKIE, Layout, two_servers  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results_two_servers.md"
TARGET_P95 = 1.0
KILLED = "b"
UPLOAD_EVERY = (6.0, 10.0)  # seconds between a teacher's uploads
MAX_UPLOADS = 8  # per teacher: the model lists stay short


@dataclass
class Timeline(Record):
    """bench/load.py's record, with when each latency and error happened, the tabs each server got, the
    reconnects of tabs whose server died, and the kill."""

    timed: list[tuple[float, float]] = field(default_factory=list)  # (when, seconds)
    timed_errors: list[tuple[float, str]] = field(default_factory=list)
    tabs: dict[str, int] = field(default_factory=dict)  # server -> tabs (sessions) it got while both were up
    on_killed: int = 0  # tabs open on the killed server when it died
    reconnects: list[tuple[float, float, str]] = field(default_factory=list)  # (when, seconds until back, new server)
    uploads: int = 0
    killed_at: float | None = None  # time.monotonic() of the kill
    peak_rss: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, seconds: float) -> None:
        super().add(kind, seconds)
        with self.lock:
            self.timed.append((time.monotonic(), seconds))

    def error(self, message: str) -> None:
        super().error(message)
        with self.lock:
            self.timed_errors.append((time.monotonic(), message))


class BalancedStudent(Student):
    """A load.py student whose tab, when its server dies, reconnects as Streamlit's page does."""

    record: Timeline

    def act(self, kind: str, action):
        tab = self.tab
        server = tab.cookies.get(COOKIE) if tab is not None else None

        def guarded():
            try:
                run = action()
            except Exception as error:
                if not self.lost_with_server(server):
                    raise
                self.reconnect(tab, error)
                return None
            if self.tab is not None and self.tab is not tab and self.record.killed_at is None:  # a new session
                with self.record.lock:
                    name = self.tab.cookies.get(COOKIE, "?")
                    self.record.tabs[name] = self.record.tabs.get(name, 0) + 1
            return run

        return super().act(kind, guarded)

    def lost_with_server(self, server: str | None) -> bool:
        return self.record.killed_at is not None and server == KILLED

    def reconnect(self, lost: Tab, error: Exception) -> None:
        """Back on a live server: a new websocket (old cookies sent, as a browser does), the page reopened from
        its link. A reconnect that fails is an error."""
        page, query, cookies = lost.page, lost.query, dict(lost.cookies)
        self.close()
        started = time.perf_counter()
        try:
            self.tab = Tab(self.url, REQUEST_TIMEOUT, cookies=cookies)
            run = self.tab.open(page, query)
        except Exception as again:
            self.record.error(f"reconnecting after {type(error).__name__}: {type(again).__name__}: {again}")
            self.close()
            return
        for problem in run.problems:
            self.record.error(f"reopened page after reconnecting: {problem}")
        with self.record.lock:
            self.record.reconnects.append((time.monotonic(), time.perf_counter() - started,
                                           self.tab.cookies.get(COOKIE, "?")))


def upload_checkpoints(url: str, record: Timeline, rng: random.Random, deadline: float, zipped: bytes) -> None:
    """A teacher adding a checkpoint zip on the Models page every few seconds until the deadline."""
    teacher = BalancedStudent(url, record, rng, measure=False)
    for _ in range(MAX_UPLOADS):
        if time.monotonic() >= deadline:
            break
        if teacher.open("models: open", "models", new_tab=True) is not None:
            tab = teacher.tab
            if teacher.act("models: upload", lambda: tab.upload("models_upload", "vae_2.zip", zipped,
                                                                "application/zip")):
                if teacher.set("models: add", models_add=True) is not None:
                    with record.lock:
                        record.uploads += 1
        time.sleep(min(rng.uniform(*UPLOAD_EVERY), max(0.0, deadline - time.monotonic())))
    teacher.close()


def readable(folder: Path) -> tuple[set[str], set[str]]:
    """(readable, unreadable) checkpoint names in the folder, as every page lists them."""
    from explorer import checkpoints

    listings = checkpoints.list_checkpoints(folder)
    return ({item.name for item in listings if item.problem is None},
            {item.name for item in listings if item.problem is not None})


def warm_up(layout: Layout, seed: int) -> float:
    """One pass through every visit on each server directly: models, data and caches load, as for a first student."""
    started = time.monotonic()
    for name, server in layout.servers.items():
        warm = Student(server.url, Record(), random.Random(seed), measure=False, think=(0.0, 0.0))
        for visit in (warm.shared_map_link, warm.compare, warm.generate, warm.denoise):
            visit()
        if warm.record.errors:
            raise RuntimeError(f"warming up server {name}: {warm.record.errors[:3]}")
    return time.monotonic() - started


def sample_rss(layout: Layout, record: Timeline) -> None:
    for name, server in layout.servers.items():
        value = rss_bytes(server.process.pid) if server.process.poll() is None else None
        if value:
            record.peak_rss[name] = max(record.peak_rss.get(name, 0), value)


@dataclass
class Outcome:
    sessions: int
    duration: float
    kill_after: float | None
    warm_up: float
    record: Timeline
    marked_down: float | None  # seconds from the kill until HAProxy saw the server down
    before: tuple[set[str], set[str]]
    after: tuple[set[str], set[str]]
    start: float


def run(sessions: int, duration: float, kill_at: float | None, uploaders: int, seed: int,
        think: tuple[float, float]) -> Outcome:
    from explorer import archive, checkpoints

    with tempfile.TemporaryDirectory(prefix="latent-lab-two-servers-bench-") as tmp:
        folder = Path(tmp) / "checkpoints"
        shutil.copytree(ROOT / "checkpoints", folder, ignore=shutil.ignore_patterns(".*", "*.sh"))
        zipped = archive.export_archive(checkpoints.resolve("vae_2", root=folder))
        with two_servers(folder) as layout:
            print(layout.describe(), flush=True)
            warm = warm_up(layout, seed)
            before = readable(folder)
            record = Timeline()
            start = time.monotonic()
            deadline = start + duration
            threads = [threading.Thread(target=upload_checkpoints, daemon=True, name=f"teacher-{i}",
                                        args=(layout.url, record, random.Random(seed + 500 + i), deadline, zipped))
                       for i in range(uploaders)]
            students = [BalancedStudent(layout.url, record, random.Random(seed + i), think=think)
                        for i in range(sessions)]
            for i, student in enumerate(students):
                threads.append(threading.Thread(target=student.browse, args=(deadline,), daemon=True,
                                                name=f"student-{i}"))
            for thread in threads:
                thread.start()
                time.sleep(0.1)  # students arrive over a few seconds
            marked_down = None
            kill_time = start + duration * kill_at if kill_at is not None else None
            while any(t.is_alive() for t in threads) and time.monotonic() < deadline + REQUEST_TIMEOUT * 3:
                sample_rss(layout, record)
                if kill_time is not None and record.killed_at is None and time.monotonic() >= kill_time:
                    layout.servers[KILLED].process.kill()  # SIGKILL: a crash, nothing cleaned up
                    record.killed_at = time.monotonic()
                    record.on_killed = sum(1 for student in students
                                           if student.tab is not None and student.tab.cookies.get(COOKIE) == KILLED)
                    print(f"  {record.killed_at - start:5.0f} s  server {KILLED} killed", flush=True)
                    layout.wait_states({KILLED: "DOWN"}, timeout=60)
                    marked_down = time.monotonic() - record.killed_at
                    print(f"  HAProxy marked it down after {marked_down:.1f} s", flush=True)
                print(f"  {time.monotonic() - start:5.0f} s  {len(record.timed):5d} interactions  "
                      f"{len(record.errors)} errors  {len(record.reconnects)} reconnects", flush=True)
                time.sleep(5)
            if any(t.is_alive() for t in threads):
                record.error("a session was still waiting for an answer long after the end")
            after = readable(folder)
    return Outcome(sessions, duration, kill_at and duration * kill_at, warm, record, marked_down, before, after, start)


# ---------------------------------------------------------------- the report


def split(outcome: Outcome) -> tuple[list[float], list[float], list[str], list[str]]:
    """Latencies and errors before the kill, and after it."""
    killed = outcome.record.killed_at or float("inf")
    return ([s for when, s in outcome.record.timed if when < killed],
            [s for when, s in outcome.record.timed if when >= killed],
            [e for when, e in outcome.record.timed_errors if when < killed],
            [e for when, e in outcome.record.timed_errors if when >= killed])


def rows(outcome: Outcome) -> list[tuple]:
    record = outcome.record
    up, down, errors_up, errors_down = split(outcome)
    tabs = ", ".join(f"{name}: {count}" for name, count in sorted(record.tabs.items()))
    spread = len([name for name in record.tabs if name in ("a", "b")]) == 2
    out = [
        ("errors, both servers up", len(errors_up), "0", verdict(len(errors_up), 0)),
        ("latency p50 / p95, both servers up", f"{percentile(up, 50):.2f} / {percentile(up, 95):.2f} s "
         f"({len(up)} interactions)", f"p95 ≤ {TARGET_P95:g} s", verdict(percentile(up, 95), TARGET_P95)),
        ("tabs (sessions) each server got", tabs, "both servers", "MET" if spread else "MISSED"),
    ]
    if record.killed_at is not None:
        back = [seconds for _, seconds, _ in record.reconnects]
        landed = {server for _, _, server in record.reconnects}
        out += [
            (f"server {KILLED} killed (SIGKILL)", f"{record.killed_at - outcome.start:.0f} s into the run", "—", ""),
            ("HAProxy marked it down after", f"{outcome.marked_down:.1f} s" if outcome.marked_down else "never",
             "—", ""),
            (f"tabs that lost server {KILLED} and reconnected", f"{record.on_killed} students' tabs were on "
             f"{KILLED} when it died; {len(record.reconnects)} tabs (teachers' included) reconnected at their next "
             "click (a click that opens a new link needs none), all to "
             f"{', '.join(sorted(landed)) or '—'}; back after p50 {percentile(back, 50):.2f} s, max "
             f"{max(back, default=float('nan')):.2f} s", "every lost tab, to a live server",
             "MET" if record.reconnects and landed <= {"a"} else "MISSED"),
            ("errors after the kill (reconnected tabs included)", len(errors_down), "0", verdict(len(errors_down), 0)),
            ("latency p50 / p95 after the kill (one server)", f"{percentile(down, 50):.2f} / "
             f"{percentile(down, 95):.2f} s ({len(down)} interactions)", f"p95 ≤ {TARGET_P95:g} s",
             verdict(percentile(down, 95), TARGET_P95)),
        ]
    (ok_before, _), (ok_after, bad_after) = outcome.before, outcome.after
    # An upload cut off by the kill may have been added without its page saying so: at least the confirmed ones.
    kept = ok_before <= ok_after and not bad_after and len(ok_after - ok_before) >= record.uploads
    out += [
        ("checkpoints readable before → after", f"{len(ok_before)} → {len(ok_after)} ({record.uploads} uploads "
         f"confirmed by their page during the run; unreadable after: {len(bad_after)})",
         "none lost, none half-written", "MET" if kept else "MISSED"),
        ("server memory, peak", ", ".join(f"{n}: {v / 1e6:.0f} MB" for n, v in sorted(record.peak_rss.items())),
         "—", ""),
    ]
    return out


def report(outcome: Outcome, note: str = "") -> str:
    record = outcome.record
    kill = (f"server {KILLED} killed {outcome.kill_after:.0f} s in" if outcome.kill_after is not None
            else "no server killed")
    lines = [f"## {outcome.sessions} sessions through HAProxy, {outcome.duration:.0f} s, {kill}", "",
             f"`python bench/two_servers.py --sessions {outcome.sessions} --duration {outcome.duration:.0f}`: "
             "deploy/two_servers.py's layout (two `streamlit run app.py` behind HAProxy with cookie affinity, one "
             "checkpoints folder) on 127.0.0.1; each session a tab speaking Streamlit's websocket protocol "
             "(bench/tab.py) doing bench/load.py's visits with 2–6 s think time; teachers upload a checkpoint on "
             f"the Models page every {UPLOAD_EVERY[0]:g}–{UPLOAD_EVERY[1]:g} s. Warm-up of both servers (not "
             f"measured): {outcome.warm_up:.1f} s. {load_note()} at the end (other work included).", ""]
    if note:
        lines += [note, ""]
    lines += [table(rows(outcome), header=("measure", "measured", "target", "")), ""]
    errors = record.errors
    if errors:
        distinct = sorted(set(errors))
        lines += [f"Errors ({len(errors)}, {len(distinct)} distinct):", ""] + [f"- {e}" for e in distinct[:20]] + [""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--duration", type=float, default=180, help="seconds of measured browsing")
    parser.add_argument("--kill-at", type=float, default=0.5,
                        help=f"kill server {KILLED} at this fraction of the run (default 0.5)")
    parser.add_argument("--no-kill", action="store_true", help="keep both servers up")
    parser.add_argument("--uploaders", type=int, default=2, help="teachers uploading checkpoints (default 2)")
    parser.add_argument("--think", type=float, nargs=2, default=(2.0, 6.0), metavar=("MIN", "MAX"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--note", default="", help="a sentence added to the results (e.g. why a smaller run)")
    parser.add_argument("--append", action="store_true", help="add this run to bench/results_two_servers.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if not (1 <= args.sessions <= 200 and 10 <= args.duration <= 3600 and 0 < args.kill_at < 1):
        parser.error("use 1-200 sessions, 10-3600 s and a kill point between 0 and 1")
    outcome = run(args.sessions, args.duration, None if args.no_kill else args.kill_at, args.uploaders, args.seed,
                  tuple(args.think))
    section = report(outcome, args.note)
    print("\n" + section)
    if not args.no_write:
        header = "# Two servers behind a balancer\n\n"
        previous = RESULTS.read_text()[len(header):] if args.append and RESULTS.exists() else ""
        RESULTS.write_text(header + previous + ("\n" if previous else "") + section)
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0 if not outcome.record.errors else 1


if __name__ == "__main__":
    sys.exit(main())
