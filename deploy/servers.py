"""`streamlit run app.py` as a child process on a loopback port: what the tests, the benchmarks and the
two-server layout all start, with the same flags."""

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

ROOT = Path(__file__).resolve().parent.parent

# The flags every server starts with: no browser, no file watcher, loopback only.
SERVER_FLAGS = ("--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
                "--server.fileWatcherType", "none")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
                 env: dict | None = None, extra_flags=(), port: int | None = None,
                 log: IO[bytes] | None = None) -> Server:
    """Spawn `streamlit run script` on `port` (default: a free one) of 127.0.0.1; see wait_healthy.
    Its stderr goes to `log` (a binary file open for writing and reading; default: an anonymous temp file)."""
    port = port or free_port()
    environment = {**os.environ, **({"LATENT_LAB_CHECKPOINTS": str(checkpoints_dir)} if checkpoints_dir else {}),
                   **(env or {})}
    log = log or tempfile.TemporaryFile()
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
