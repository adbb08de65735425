"""The job contract, run against every backend: child processes on this machine, and Ray on a local
cluster this module starts on 127.0.0.1 (and stops). The same cases for both: train, watch, save;
stop; a job whose process is killed; identical runs shared; one job per student; a full queue;
reattaching from a second server (Ray only: a local backend's jobs live in its server's process).
"""

import importlib.util
import time

import numpy as np
import pytest
import torch

from explorer import checkpoints, job_worker
from explorer.errors import ExplorerError
from explorer.job_queue import ActiveJobExists, QueueFull
from explorer.job_state import DIED_MESSAGE, JobSpec, merge
from explorer.jobs import LocalJobs
from explorer.models import ModelConfig
from explorer.train import TrainConfig

HAVE_RAY = importlib.util.find_spec("ray") is not None
BACKENDS = ["process", pytest.param("ray", marks=[pytest.mark.slow, pytest.mark.skipif(
    not HAVE_RAY, reason="ray is not installed (pip install -r requirements.txt)")])]


def spec(epochs=2, seed=0, name="tiny", lr=1e-2):
    model = ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=3, hidden=(16,), channels=(4,))
    return JobSpec("digits", model, TrainConfig(epochs=epochs, batch_size=64, lr=lr, seed=seed, report_every=5), name)


def wait_until(condition, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def private_checkpoints(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "DEFAULT_DIR", tmp_path / "checkpoints")


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """One local Ray for the module, on 127.0.0.1, stopped at the end."""
    from explorer import job_ray

    cluster = job_ray.start_local_cluster(tmp_path_factory.mktemp("ray"))
    yield cluster
    job_ray.stop_local_cluster(cluster)


@pytest.fixture
def make_backend(request, tmp_path):
    """make_backend(**options) -> a backend of this test's kind over one checkpoints folder; several
    calls give several "servers" sharing it (and, for Ray, the cluster). Every job is stopped after."""
    kind, made = request.param, []
    root = tmp_path / "checkpoints"

    def make(max_queued=3):
        if kind == "process":
            backend = LocalJobs(max_running=1, launch="process", max_queued=max_queued, checkpoints_root=root)
        else:
            from explorer import job_ray

            request.getfixturevalue("ray_cluster")
            backend = job_ray.RayJobs(max_running=1, max_queued=max_queued, checkpoints_root=root,
                                      namespace=f"test-{request.node.name[:40]}-{len(made)}"[:60] if not made
                                      else made[0].namespace)
        made.append(backend)
        return backend

    yield make
    for backend in made[:1]:
        for job_id in backend.job_ids():  # all asked first, so no queued job starts only to be stopped
            backend.stop(job_id)
        for job_id in backend.job_ids():
            backend.wait(job_id, timeout=60)
        getattr(backend, "shutdown", lambda: None)()


# One worker runs this module under pytest-xdist: its Ray cluster is one per module, and Ray's agents take fixed ports.
pytestmark = [pytest.mark.parametrize("make_backend", BACKENDS, indirect=True), pytest.mark.xdist_group("ray")]


def test_a_job_trains_streams_what_is_new_and_saves_under_a_name(make_backend, tmp_path):
    backend = make_backend()
    job_id = backend.submit(spec(epochs=3))
    held = None
    while held is None or held.phase != "finished":  # the page's loop: ask only for what is new
        delta = backend.snapshot(job_id, since=0 if held is None else len(held.reconstructions))
        assert held is None or delta.since in (0, len(held.reconstructions))
        held = merge(held, delta)
        time.sleep(0.05)
    full = backend.snapshot(job_id)
    assert full.status == "done" and [r["epoch"] for r in full.history] == [1, 2, 3]
    assert held.history == full.history and len(held.reconstructions) == len(full.reconstructions) == 4
    np.testing.assert_allclose(held.latent_frames[-1], full.latent_frames[-1])
    np.testing.assert_array_equal(held.reconstructions[2], full.reconstructions[2])
    assert held.originals.shape == (8, 1, 8, 8) and full.metrics and full.savable

    path = backend.save(job_id, "mine")
    loaded = checkpoints.load(path)
    assert loaded.info["history"] == full.history and loaded.config == spec().model
    listed = [item.name for item in checkpoints.list_checkpoints(path.parent)]
    assert listed == ["mine"]  # the staging folder .jobs is hidden
    assert (path.parent / job_worker.STAGING_FOLDER / job_id).is_dir()
    with pytest.raises(ExplorerError, match="already exists"):
        backend.save(job_id, "mine")


def test_stop_ends_a_running_job_and_keeps_what_it_learned(make_backend):
    backend = make_backend()
    job_id = backend.submit(spec(epochs=1000))
    wait_until(lambda: backend.snapshot(job_id).epoch >= 1)
    assert backend.stop(job_id) is True
    result = backend.wait(job_id, timeout=120)
    assert result.status == "stopped" and result.savable and 1 <= result.epoch < 1000
    assert checkpoints.load(backend.save(job_id, "cut_short")).info["history"] == result.history


def test_a_job_whose_process_is_killed_fails_alone_and_frees_its_slot(make_backend, monkeypatch):
    backend = make_backend()
    monkeypatch.setenv(job_worker.TEST_HOOK_ENV, "kill")  # read when a job is submitted: this one dies
    doomed = backend.submit(spec(epochs=5, seed=1))
    monkeypatch.delenv(job_worker.TEST_HOOK_ENV)
    healthy = backend.submit(spec(epochs=1, seed=2))  # queued behind it, in the only slot
    failed = backend.wait(doomed, timeout=120)
    assert failed.status == "failed" and failed.error == DIED_MESSAGE and not failed.savable
    with pytest.raises(ExplorerError, match="failed"):
        backend.save(doomed, "never")
    assert backend.wait(healthy, timeout=120).status == "done"


def test_identical_runs_share_one_job_and_each_student_saves_it(make_backend):
    backend = make_backend()
    first = backend.submit(spec(epochs=2, name="alice_vae"), owner="alice")
    second = backend.submit(spec(epochs=2, name="bob_vae"), owner="bob")
    other = backend.submit(spec(epochs=2, seed=7), owner="carol")  # another seed: another model
    assert first == second != other
    assert backend.snapshot(first).sharers == 2
    assert backend.wait(first, timeout=120).status == "done"
    late = backend.submit(spec(epochs=2), owner="dave")  # finished, saved by nobody yet: joins, no retraining
    assert late == first and backend.snapshot(late).status == "done" and backend.snapshot(late).sharers == 3
    alice, bob = (checkpoints.load(backend.save(first, name)) for name in ("alice_vae", "bob_vae"))
    assert all(torch.equal(a, b) for a, b in zip(alice.model.state_dict().values(), bob.model.state_dict().values()))
    assert backend.submit(spec(epochs=2), owner="eve") != first  # saved: a new Start trains anew


def test_a_sharer_who_stops_leaves_the_run_going_for_the_others(make_backend):
    backend = make_backend()
    job_id = backend.submit(spec(epochs=1000), owner="alice")
    assert backend.submit(spec(epochs=1000), owner="bob") == job_id
    assert backend.stop(job_id, owner="alice") is False  # alice leaves; bob still trains
    assert backend.snapshot(job_id).active and backend.snapshot(job_id).sharers == 1
    backend.submit(spec(epochs=1, seed=3), owner="alice")  # free to start something else
    assert backend.stop(job_id, owner="bob") is True
    assert backend.wait(job_id, timeout=120).status == "stopped"


def test_one_active_job_per_student(make_backend):
    backend = make_backend()
    first = backend.submit(spec(epochs=1000), owner="alice")
    with pytest.raises(ActiveJobExists) as refused:
        backend.submit(spec(epochs=1, seed=5), owner="alice")
    assert refused.value.job_id == first and "Stop it first" in str(refused.value)
    assert backend.submit(spec(epochs=1000), owner="alice") == first  # pressing Start again: the same run
    assert backend.stop(first, owner="alice") is True  # ... and her Stop still stops it: she was never two watchers
    assert backend.wait(first, timeout=120).status == "stopped"
    assert backend.submit(spec(epochs=1, seed=5), owner="alice") != first


def test_a_full_queue_refuses_with_a_clear_message(make_backend):
    backend = make_backend(max_queued=2)
    running = backend.submit(spec(epochs=1000, seed=10))
    wait_until(lambda: backend.snapshot(running).status == "running")
    queued = [backend.submit(spec(epochs=1, seed=seed)) for seed in (11, 12)]
    assert [backend.queue_position(job_id) for job_id in queued] == [1, 2]
    with pytest.raises(QueueFull, match="queue is full"):
        backend.submit(spec(epochs=1, seed=13))
    assert backend.submit(spec(epochs=1, seed=12)) == queued[1]  # joining a queued run takes no place
    backend.stop(queued[0])
    assert backend.queue_position(queued[1]) == 1
    backend.submit(spec(epochs=1, seed=13))  # a place is free again


def test_a_second_server_finds_the_job_by_its_id(make_backend, request):
    if "process" in request.node.name:
        pytest.skip("a local backend's jobs live in the process of the server that started them")
    first, second = make_backend(), make_backend()
    job_id = first.submit(spec(epochs=1000), owner="alice")
    assert job_id in second
    wait_until(lambda: second.snapshot(job_id).epoch >= 1)
    with pytest.raises(ActiveJobExists):  # the cap holds across servers
        second.submit(spec(epochs=1, seed=4), owner="alice")
    second.stop(job_id)
    assert first.wait(job_id, timeout=120).status == "stopped"
    saved = second.save(job_id, "from_the_other_server")
    assert "from_the_other_server" in [item.name for item in checkpoints.list_checkpoints(saved.parent)]
