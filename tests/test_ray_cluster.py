"""The Ray backend as a deployment runs it: a `ray start --head` cluster on 127.0.0.1 (deploy/two_servers.py's
start_ray_head), and web servers that are separate processes joining it through $RAY_ADDRESS.

A "server" here is a short Python process that opens the job backend exactly as the app does
(explorer.jobs.open_jobs() with LATENT_LAB_JOB_BACKEND=ray): the first submits a run and exits, as a
web server that is restarted or crashes would; a second one, started afterwards, finds the run by its
id, waits for it and saves it.
"""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from explorer import checkpoints

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray"),  # one Ray head at a time: its agents take fixed ports
              pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")]
ROOT = Path(__file__).resolve().parent.parent

SUBMIT = """
from explorer import jobs
from explorer.job_state import JobSpec
from explorer.models import ModelConfig
from explorer.train import TrainConfig
model = ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=3, hidden=(16,))
spec = JobSpec("digits", model, TrainConfig(epochs=40, batch_size=64, lr=1e-2, seed=0, report_every=5), "tiny")
print(jobs.open_jobs().submit(spec, owner="alice"))
"""

REATTACH = """
import json, sys
from explorer import jobs
backend = jobs.open_jobs()
job_id = sys.argv[1]
known = job_id in backend
snap = backend.wait(job_id, timeout=240)
path = backend.save(job_id, "after_restart") if snap.status == "done" else None
print(json.dumps({"known": known, "status": snap.status, "epochs": len(snap.history), "path": str(path)}))
"""


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory):
    """A Ray head on 127.0.0.1 with its own token, as deploy/two_servers.py starts it: the environment a
    server needs to join it. Stopped, with every worker, at the end."""
    from deploy.two_servers import local_ray_head

    log_path = tmp_path_factory.mktemp("ray") / "ray.log"
    with open(log_path, "wb") as log, local_ray_head(log, log_path) as (_, ray_env):
        yield ray_env


def run_server(script: str, ray_env: dict, folder: Path, *args: str) -> list[str]:
    """What a "server" process running `script` printed, line by line."""
    env = {**os.environ, **ray_env, "LATENT_LAB_CHECKPOINTS": str(folder),
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()


def test_a_job_outlives_the_server_that_started_it_and_another_server_saves_it(ray_head, tmp_path):
    folder = tmp_path / "checkpoints"
    job_id = run_server(SUBMIT, ray_head, folder)[-1]  # this "server" exits right after submitting
    assert len(job_id) == 12
    result = json.loads(run_server(REATTACH, ray_head, folder, job_id)[-1])
    assert result["known"] and result["status"] == "done" and result["epochs"] == 40
    saved = checkpoints.load(Path(result["path"]))
    assert saved.config.latent_dim == 3 and len(saved.info["history"]) == 40
    assert [item.name for item in checkpoints.list_checkpoints(folder)] == ["after_restart"]


def test_a_second_server_refuses_the_same_students_second_run_across_processes(ray_head, tmp_path):
    folder = tmp_path / "checkpoints"
    first = run_server(SUBMIT.replace("epochs=40", "epochs=1000"), ray_head, folder)[-1]
    clash, status = run_server("""
        from explorer import jobs
        from explorer.job_queue import ActiveJobExists
        from explorer.job_state import JobSpec
        from explorer.models import ModelConfig
        from explorer.train import TrainConfig
        import sys
        backend = jobs.open_jobs()
        model = ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=3, hidden=(16,))
        other = JobSpec("digits", model, TrainConfig(epochs=1, batch_size=64, lr=1e-2, seed=9), "other")
        try:
            backend.submit(other, owner="alice")
            print("accepted")
        except ActiveJobExists as clash:
            print(clash.job_id)
        backend.stop(sys.argv[1])
        print(backend.wait(sys.argv[1], timeout=120).status)
    """, ray_head, folder, first)
    assert clash == first  # refused, naming alice's run on the other server
    assert status == "stopped"  # and the second server stopped it


# Ray tries to connect about 20 times, a second apart (a head may be restarting); 2 tries say the same sooner.
QUICK_GIVE_UP = {"RAY_gcs_server_port_wait_time_s": "2"}


def test_a_server_that_cannot_join_the_cluster_says_why_in_plain_words(ray_head, tmp_path):
    unauthenticated = {name: value for name, value in ray_head.items() if not name.startswith("RAY_AUTH")}
    lines = run_server("""
        from explorer import jobs
        from explorer.errors import ExplorerError
        try:
            jobs.open_jobs()
        except ExplorerError as error:
            print(error)
    """, {**unauthenticated, "RAY_AUTH_MODE": "disabled", **QUICK_GIVE_UP}, tmp_path / "checkpoints")
    assert lines[-1].startswith("Training is unavailable: this server could not start or join the Ray cluster at")
    assert "RAY_AUTH_TOKEN_PATH" in lines[-1]


def test_the_cli_submits_to_the_cluster_detached_and_another_cli_watches_and_saves(ray_head, tmp_path):
    folder = tmp_path / "checkpoints"
    env = {**os.environ, **ray_head, "LATENT_LAB_CHECKPOINTS": str(folder), "PYTHONPATH": str(ROOT)}

    def cli(*args: str) -> list[str]:
        done = subprocess.run([sys.executable, "-m", "explorer", *args], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.strip().splitlines()

    submitted = cli("train", "--model", "ae", "--dataset", "digits", "--latent-dim", "3", "--hidden", "16",
                    "--epochs", "5", "--batch-size", "64", "--out", str(folder / "from_cli"), "--job", "--detach")
    job_id = submitted[0].split()[1]
    assert submitted[0] == f"job {job_id} submitted (ray backend)"
    assert any(job_id in line for line in cli("jobs", "list"))
    watched = cli("jobs", "watch", job_id)  # another process: reattached by the id alone
    assert [line.split(" · ")[0] for line in watched if line.startswith("Epoch ")][-1] == "Epoch 5 of 5"
    assert watched[-1] == "done"
    assert cli("jobs", "save", job_id, "from_cli") == [f"saved {folder / 'from_cli'}"]
    assert checkpoints.load(folder / "from_cli").config.latent_dim == 3
