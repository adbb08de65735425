"""The two-server layout (deploy/two_servers.py) as a deployment runs it: `python -m deploy.two_servers`, two
`streamlit run app.py` behind HAProxy. Tabs (bench/tab.py, Streamlit's own protocol) open pages through the
balancer: they spread over both servers and stay on theirs, their pictures and an upload go through (in
Chromium too), a checkpoint added on one server is listed by the other, a tab whose server is gone lands on the
other, and Ctrl-C stops every child. With Ray installed, --ray hands both servers a local head's address.
Last, bench/two_servers.py's verdicts on made-up outcomes."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.servers import ROOT, free_port
from deploy.two_servers import COOKIE, accepts, haproxy_binary, haproxy_config, server_states, stats_command

sys.path.insert(0, str(ROOT / "bench"))
from tab import Tab  # noqa: E402  (bench/tab.py)

try:
    HAPROXY = haproxy_binary()
except RuntimeError:
    HAPROXY = None
needs_haproxy = pytest.mark.skipif(HAPROXY is None, reason="HAProxy is not installed (apt-get install haproxy; "
                                                           ".ci/install installs it)")
pytestmark = pytest.mark.xdist_group("ray")  # under pytest-xdist, beside the other Ray tests: one head at a time
STARTUP = 240.0  # seconds for both servers and the balancer on a busy 2-core machine
TAB_TIMEOUT = 120.0
SESSIONS = 4


@needs_haproxy
def test_the_generated_config_is_valid_and_listens_on_loopback_only(tmp_path):
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy_config(free_port(), {"a": free_port(), "b": free_port()}, tmp_path / "haproxy.sock"))
    checked = subprocess.run([HAPROXY, "-c", "-f", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    addresses = re.findall(r"^\s*(?:bind|server \w+) (\S+)", config.read_text(), re.MULTILINE)
    assert len(addresses) == 3 and all(address.startswith("127.0.0.1:") for address in addresses)


@dataclass
class Running:
    """`python -m deploy.two_servers` started by the test, and what it printed."""

    process: subprocess.Popen
    url: str
    servers: dict[str, int]  # name -> port
    logs: Path

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        return self.process.returncode


def start_script(checkpoints: Path, logs: Path) -> Running:
    """Run the script as an operator would and wait (bounded) for it to print its URL."""
    port = free_port()
    output = logs.parent / "two_servers.out"
    with open(output, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "deploy.two_servers", "--port", str(port), "--checkpoints",
                                    str(checkpoints), "--logs", str(logs)], cwd=ROOT, stdout=out,
                                   stderr=subprocess.STDOUT)
    deadline = time.monotonic() + STARTUP
    while "Ctrl-C stops everything" not in (text := output.read_text()):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the layout did not start:\n{text[-3000:]}")
        time.sleep(0.5)
    servers = {name: int(port) for name, port in re.findall(r"\b([a-h]) http://127\.0\.0\.1:(\d+)", text)}
    return Running(process, f"http://127.0.0.1:{port}", servers, logs)


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    folder = tmp_path_factory.mktemp("two_servers")
    checkpoints = folder / "checkpoints"  # a private copy: the upload test adds a checkpoint
    shutil.copytree(ROOT / "checkpoints", checkpoints, ignore=shutil.ignore_patterns(".*", "*.sh"))
    running = start_script(checkpoints, folder / "logs")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def tabs(layout):
    """SESSIONS tabs on the Generate page through the balancer, each with its own seed (its own pictures)."""
    opened = []
    for i in range(SESSIONS):
        tab = Tab(layout.url, TAB_TIMEOUT)
        opened.append((tab, tab.open("generate", f"seed={1000 + i}")))
    yield opened
    for tab, _ in opened:
        tab.close()


@needs_haproxy
@pytest.mark.slow
def test_both_servers_are_up_behind_the_balancer(layout):
    assert set(layout.servers) == {"a", "b"}
    states = server_states(layout.logs / "haproxy.sock")
    assert {name: state.split()[0] for name, state in states.items()} == {"a": "UP", "b": "UP"}


@needs_haproxy
@pytest.mark.slow
def test_sessions_spread_over_both_servers_and_their_pictures_load(tabs):
    for tab, run in tabs:
        assert run.problems == [] and run.images, "each tab's page ran and its pictures downloaded"
    assert {tab.cookies[COOKIE] for tab, _ in tabs} == {"a", "b"}


@needs_haproxy
@pytest.mark.slow
def test_each_session_sticks_to_its_server(tabs):
    """A later rerun of each tab stays on its server: same cookie, its new pictures load from there."""
    for i, (tab, _) in enumerate(tabs):
        server = tab.cookies[COOKIE]
        run = tab.set(gen_seed=2000 + i)
        assert run is not None and run.problems == [] and run.images
        assert tab.cookies[COOKIE] == server


@needs_haproxy
@pytest.mark.slow
def test_a_picture_is_only_served_by_the_server_that_holds_the_session(tabs, layout):
    """Why affinity matters: a tab's picture asked for with the other server's cookie is not there."""
    runs = [(tab, tab.refresh()) for tab, _ in tabs]  # the pictures each session shows now
    tab, run = next((tab, run) for tab, run in runs if tab.cookies[COOKIE] == "a")
    elsewhere = {url for other, other_run in runs if other.cookies[COOKIE] == "b" for url in other_run.images}
    url = next(url for url in run.images if url not in elsewhere)
    assert tab.fetch(url)  # with its own cookie: served
    wrong_server = urllib.request.Request(layout.url + url, headers={"Cookie": f"{COOKIE}=b"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(wrong_server, timeout=TAB_TIMEOUT)
    assert refused.value.code in (400, 404)


@needs_haproxy
@pytest.mark.slow
def test_an_upload_through_the_balancer_is_listed_by_the_other_server(layout):
    from explorer import archive, checkpoints

    folder = layout.logs.parent / "checkpoints"
    before = {path.name for path in folder.iterdir()}
    tab = Tab(layout.url, TAB_TIMEOUT)
    try:
        assert tab.open("models").problems == []
        zipped = archive.export_archive(checkpoints.resolve("vae_2", root=folder))
        assert tab.upload("models_upload", "vae_2.zip", zipped, "application/zip").problems == []
        added = tab.set(models_add=True)
        assert added is not None and added.problems == []
        other = "b" if tab.cookies[COOKIE] == "a" else "a"
    finally:
        tab.close()
    [new] = {path.name for path in folder.iterdir()} - before
    assert checkpoints.verify(folder / new)["model"]["latent_dim"] == 2
    there = Tab(layout.url, TAB_TIMEOUT, cookies={COOKIE: other})  # a new tab that the balancer sends to the other
    try:
        assert there.open("models").problems == []
        assert there.cookies[COOKIE] == other
        assert f"models_download_{new}" in there.widgets
    finally:
        there.close()


@needs_haproxy
@pytest.mark.slow
@pytest.mark.browser
def test_chromium_through_the_balancer_uploads_a_photo_and_sees_every_picture(layout, page):
    """A real browser: the page's websocket, its pictures and a photo upload on the Draw page all pass HAProxy."""
    from browser import open_page, screenshot, wait_idle
    from test_browser_draw import RECONSTRUCTION, picture_of_a_four

    open_page(page, f"{layout.url}/draw")
    page.get_by_role("tab", name="Upload").click()
    wait_idle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files=[{"name": "four.png", "mimeType": "image/png", "buffer": picture_of_a_four()}])
    page.locator(RECONSTRUCTION).nth(2).wait_for(timeout=90_000)
    wait_idle(page)
    assert page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count() == 0
    pictures = page.locator('[data-testid="stImage"] img')
    assert pictures.count() >= 3
    assert page.evaluate("() => [...document.querySelectorAll('[data-testid=\"stImage\"] img')]"
                         ".every(img => img.complete && img.naturalWidth > 0)")
    assert {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}.get(COOKIE) in ("a", "b")
    screenshot(page, "two_servers_draw_upload")


@needs_haproxy
@pytest.mark.slow
def test_a_tab_whose_server_is_gone_lands_on_the_other_with_a_new_cookie(layout):
    """Server b taken out (maintenance, as HAProxy does with a dead one): a tab still carrying b's cookie
    reconnects to a, gets a's cookie, and its pictures load from there."""
    stats_command(layout.logs / "haproxy.sock", "disable server streamlit/b")
    try:
        tab = Tab(layout.url, TAB_TIMEOUT, cookies={COOKIE: "b"})
        try:
            run = tab.open("generate", "seed=77")
            assert run.problems == [] and run.images and tab.cookies[COOKIE] == "a"
        finally:
            tab.close()
    finally:
        stats_command(layout.logs / "haproxy.sock", "enable server streamlit/b")


def test_without_ray_installed_the_layout_says_so_and_starts_nothing(tmp_path, monkeypatch):
    from deploy.two_servers import two_servers

    which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: None if name == "ray" else which(name))
    with pytest.raises(RuntimeError, match="Ray is not installed"):
        with two_servers(tmp_path / "checkpoints", ray=True, folder=tmp_path / "logs"):
            pass
    assert not (tmp_path / "logs" / "a.log").exists()


@needs_haproxy
@pytest.mark.slow
def test_ctrl_c_stops_every_child(layout):
    ports = [int(layout.url.rsplit(":", 1)[1]), *layout.servers.values()]
    assert all(accepts(port) for port in ports)
    assert layout.stop(signal.SIGINT) == 0
    assert not any(accepts(port) for port in ports)


def environment_of(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(pair.decode(errors="replace").split("=", 1) for pair in pairs if b"=" in pair)


@needs_haproxy
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("ray") is None, reason="Ray is not installed (pip install ray)")
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads a server's environment from /proc")
def test_with_ray_both_servers_get_the_local_heads_address_and_it_stops_with_them(tmp_path):
    from deploy.two_servers import two_servers

    with two_servers(tmp_path / "checkpoints", ray=True, folder=tmp_path / "logs") as layout:
        host, port = layout.ray_address.split(":")
        assert host == "127.0.0.1" and accepts(int(port))  # the head's GCS answers there
        for server in layout.servers.values():
            environment = environment_of(server.process.pid)
            assert environment["LATENT_LAB_JOB_BACKEND"] == "ray"
            assert environment["RAY_ADDRESS"] == layout.ray_address
            assert environment["LATENT_LAB_CHECKPOINTS"] == str((tmp_path / "checkpoints").resolve())
        head = layout.ray_head
    assert head.poll() is not None and not accepts(int(port))


def bench_outcome(**changes):
    """A bench/two_servers.py outcome in which everything went well, with `changes` applied."""
    from bench import two_servers as bench

    record = bench.Timeline(killed_at=100.0, uploads=1, tabs={"a": 3, "b": 2})
    record.timed = [(50.0, 0.2), (150.0, 0.3)]
    record.reconnects = [(101.0, 0.5, "a")]
    outcome = bench.Outcome(sessions=2, duration=200, kill_after=100, warm_up=1.0, record=record, marked_down=1.5,
                            before=({"ae_32", "vae_2"}, set()), after=({"ae_32", "vae_2", "vae_2_2"}, set()),
                            start=0.0)
    for name, value in changes.items():
        setattr(outcome if hasattr(outcome, name) else record, name, value)
    return {row[0]: row[3] for row in bench.rows(outcome)}


@pytest.mark.parametrize("changes, missed", [
    ({}, set()),
    ({"timed_errors": [(160.0, "open Generate: st.error boom")]},
     {"errors after the kill (reconnected tabs included)"}),
    ({"timed_errors": [(60.0, "open Generate: no answer")]}, {"errors, both servers up"}),
    ({"reconnects": [(101.0, 0.5, "b")]}, {"tabs that lost server b and reconnected"}),
    ({"after": ({"ae_32", "vae_2_2"}, set())}, {"checkpoints readable before → after"}),
    ({"after": ({"ae_32", "vae_2"}, {"vae_2_2"})}, {"checkpoints readable before → after"}),
    ({"timed": [(50.0, 2.0), (150.0, 0.3)]}, {"latency p50 / p95, both servers up"}),
])
def test_the_two_server_bench_misses_what_went_wrong(changes, missed):
    verdicts = bench_outcome(**changes)
    assert {name for name, verdict in verdicts.items() if verdict == "MISSED"} == missed
    assert "errors after the kill (reconnected tabs included)" in verdicts
