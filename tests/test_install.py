"""Installable and usable from a notebook: the README's notebook lines run as written, `import explorer`
is light, `latent-lab app` serves the app, and `pip install .` into a fresh virtual environment gives
a `latent-lab` command that finds the shipped checkpoints from any folder."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from browser import SERVER_FLAGS, Server, free_port, wait_healthy
from explorer import archive, checkpoints

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(p.parent.name for p in (ROOT / "checkpoints").glob("*/config.json"))


def readme_notebook_lines() -> str:
    """The Python block under the README's "Take a model home" heading."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Take a model home"):]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def test_the_readme_notebook_lines_run_as_written(tmp_path, monkeypatch):
    (tmp_path / "vae_32.zip").write_bytes(archive.export_archive(checkpoints.DEFAULT_DIR / "vae_32"))
    monkeypatch.chdir(tmp_path)  # where a notebook would sit beside the downloaded zip
    names = {}
    exec(compile(readme_notebook_lines(), "README.md", "exec"), names)
    assert names["checkpoint"].name == "vae_32"
    assert names["codes"].shape == (16, 32) and names["samples"].shape == (16, 1, 28, 28)
    assert names["images"].shape == (8, 1, 28, 28) and names["walk"].shape == (8, 1, 28, 28)
    assert names["path"].shape == (8, 32)


def test_importing_explorer_loads_nothing_heavy():
    code = "import sys, explorer; print(sorted(m for m in ('torch', 'numpy', 'streamlit') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_command_shows_its_subcommands():
    done = subprocess.run([sys.executable, "-m", "explorer.console", "--help"], cwd=ROOT, capture_output=True,
                          text=True)
    assert done.returncode == 0 and "latent-lab app" in done.stdout and "train" in done.stdout


def serve(command: list[str], cwd: Path, env: dict) -> Server:
    """Start `command ... app` with the test flags on a free port; the Server to wait for and stop."""
    port = free_port()
    log = tempfile.TemporaryFile()
    process = subprocess.Popen([*command, "app", "--server.port", str(port), *SERVER_FLAGS], cwd=cwd, env=env,
                               stdout=subprocess.DEVNULL, stderr=log)
    return Server(process, f"http://127.0.0.1:{port}", 0.0, log)


def environment_without_settings() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("LATENT_LAB_") and k != "PYTHONPATH"}


@pytest.mark.slow
def test_the_app_command_starts_the_app(tmp_path):
    server = serve([sys.executable, "-m", "explorer.console"], ROOT, environment_without_settings())
    try:
        wait_healthy(server)  # raises with the server's output if /_stcore/health never answers ok
        assert server.process.poll() is None
    finally:
        server.stop()


def project_files() -> list[str]:
    """The files a fresh clone holds (tracked, plus new ones not ignored)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.splitlines()
    return [name for name in listed if (ROOT / name).is_file()]


@pytest.mark.slow
def test_pip_install_into_a_fresh_venv_finds_the_shipped_checkpoints(tmp_path):
    source = tmp_path / "source"
    for name in project_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    venv = tmp_path / "venv"
    # The dependencies come from this machine's packages (offline, and fast); pip and setuptools too, so
    # the venv gets no older copies of its own.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python, command = venv / "bin" / "python", venv / "bin" / "latent-lab"
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
                    str(source)], check=True, cwd=tmp_path, env=environment_without_settings())
    shutil.rmtree(source)  # the installed package must not need the source folder

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = environment_without_settings()
    where = subprocess.run([python, "-c", "import explorer; print(explorer.__file__)"], cwd=elsewhere, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert Path(where.strip()).is_relative_to(venv)
    listed = subprocess.run([command, "list"], cwd=elsewhere, env=env, capture_output=True, text=True, check=True)
    shown = [line.split()[0] for line in listed.stdout.splitlines()]
    assert shown == SHIPPED and "UNREADABLE" not in listed.stdout

    server = serve([str(command)], elsewhere, env)
    try:
        wait_healthy(server)
    finally:
        server.stop()


def test_ci_runs_exactly_the_test_command_of_the_readmes_quick_start():
    readme = (ROOT / "README.md").read_text()
    [quick_start] = [line for line in readme.splitlines() if line.endswith("(what CI runs)")]
    ci_run = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.startswith("bash .ci/install")]
    assert ci_run == [quick_start.split("#")[0].strip()]
