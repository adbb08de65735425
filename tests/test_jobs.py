"""The training job registry: runs, progress, stopping, queueing, failures, saving."""

import dataclasses
import logging
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch

from explorer import ExplorerError, checkpoints, jobs, kinds, projection, runs
from explorer.jobs import JobRegistry, JobSpec
from explorer.models import ModelConfig
from explorer.train import TrainConfig

_seeds = iter(range(1000, 10**6))


def spec(kind="vae", epochs=1, name="tiny", lr=1e-2, autosave=False, seed=None):
    """A tiny run on the 8×8 digits. Without a seed each call gets its own, so runs are not identical
    (identical runs share one job: tests/test_job_backends.py)."""
    seed = next(_seeds) if seed is None else seed
    model = ModelConfig(kind=kind, image_shape=(1, 8, 8), latent_dim=3, hidden=(16,), channels=(4,))
    training = TrainConfig(epochs=epochs, batch_size=64, lr=lr, seed=seed, report_every=5)
    return JobSpec("digits", model, training, name, autosave)


def wait_until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def stop_all(registry):
    for job_id in registry.job_ids():  # leave no thread training after a test
        registry.stop(job_id)
        registry.wait(job_id, timeout=30)


@pytest.fixture(autouse=True)
def private_checkpoints(tmp_path_factory, monkeypatch):
    """Jobs stage their models in <checkpoints>/.jobs: a private folder, apart from each test's tmp_path."""
    monkeypatch.setattr(checkpoints, "DEFAULT_DIR", tmp_path_factory.mktemp("checkpoints"))


@pytest.fixture
def registry():
    registry = JobRegistry(max_running=1)
    yield registry
    stop_all(registry)


class Trainings:
    """Stands between the jobs and the trainer (runs.train), telling runs apart by their seed: records
    the order they start in and the most that train at once, and can hold a run at its start until
    released, so a test knows a slot is taken for as long as it looks, without sleeping."""

    def __init__(self, real_train):
        self._real_train = real_train
        self._lock = threading.Lock()
        self._began: dict[int, threading.Event] = {}
        self._held: dict[int, threading.Event] = {}
        self.order: list[int] = []
        self.peak = 0
        self._running = 0

    def began(self, seed: int) -> threading.Event:
        with self._lock:
            return self._began.setdefault(seed, threading.Event())

    def hold(self, seed: int) -> None:
        self._held[seed] = threading.Event()

    def release(self, seed: int) -> None:
        self._held[seed].set()

    def release_all(self) -> None:
        for held in self._held.values():
            held.set()

    def __call__(self, model, x_train, config, **kwargs):
        with self._lock:
            self.order.append(config.seed)
            self._running += 1
            self.peak = max(self.peak, self._running)
        self.began(config.seed).set()
        try:
            if config.seed in self._held:
                assert self._held[config.seed].wait(60), "never released"
            return self._real_train(model, x_train, config, **kwargs)
        finally:
            with self._lock:
                self._running -= 1


@pytest.fixture
def trainings(monkeypatch):
    watcher = Trainings(runs.train)
    monkeypatch.setattr(runs, "train", watcher)
    yield watcher
    watcher.release_all()  # before the registry fixtures stop the jobs


@pytest.fixture
def make_registry():
    """JobRegistry(**kwargs) for tests that need other settings; every job is stopped afterwards."""
    made = []
    yield lambda **kwargs: made.append(JobRegistry(**kwargs)) or made[-1]
    for registry in made:
        stop_all(registry)


def test_a_job_trains_to_done_with_history_reconstructions_and_latent_frames(registry):
    # Every kind trains as a job in test_kinds.py; here, what a job records along the way.
    job_id = registry.submit(spec("vae", epochs=2))
    result = registry.wait(job_id, timeout=60)
    assert result.status == "done" and result.error is None
    assert [r["epoch"] for r in result.history] == [1, 2] and result.history[-1]["test"]["recon"] > 0
    assert result.fraction == 1.0 and result.epoch == 2 and result.savable
    # epoch 0 (untrained) plus one per epoch, always the same 8 test digits
    assert len(result.reconstructions) == 3 and result.reconstructions[0].shape == (8, 1, 8, 8)
    assert result.originals.shape == (8, 1, 8, 8)
    assert len(result.latent_frames) == 3 and {f.shape for f in result.latent_frames} == {(360, 2)}
    assert result.latent_labels.shape == (360,)
    assert {"mse", "bce", "psnr", "linear_probe", "neg_elbo"} <= set(result.metrics)


def test_same_seed_gives_the_same_run(registry, make_registry):
    first = registry.wait(registry.submit(spec("dae", epochs=2, seed=0)), timeout=60)
    other = make_registry(max_running=1)  # on one registry the second would join the first's job
    second = other.wait(other.submit(spec("dae", epochs=2, seed=0)), timeout=60)
    assert [r["train"] for r in first.history] == [r["train"] for r in second.history]
    np.testing.assert_array_equal(first.latent_frames[-1], second.latent_frames[-1])


def test_progress_is_visible_while_training_and_stop_ends_it_early(registry):
    job_id = registry.submit(spec(epochs=1000))
    wait_until(lambda: registry.snapshot(job_id).epoch >= 2)
    live = registry.snapshot(job_id)
    assert live.status == "running" and live.active and not live.savable
    assert 0 < live.fraction < 1 and live.seconds_left is not None
    assert len(live.reconstructions) == len(live.latent_frames) >= 3
    live.history.clear()  # a snapshot is a copy
    assert registry.snapshot(job_id).history

    registry.stop(job_id)
    result = registry.wait(job_id, timeout=60)
    assert result.status == "stopped" and result.savable
    assert 2 <= len(result.history) < 1000 and result.metrics is not None


def test_jobs_beyond_max_running_wait_in_fifo_order(registry, trainings):
    trainings.hold(1)  # the first job keeps its slot, in training, until released
    first = registry.submit(spec(epochs=1000, seed=1))
    second = registry.submit(spec(epochs=1, seed=2))
    third = registry.submit(spec(epochs=1, seed=3))
    assert trainings.began(1).wait(60)
    assert registry.snapshot(first).status == "running"
    assert registry.snapshot(second).status == "queued"  # waiting while the first trains
    assert registry.queue_position(second) == 1 and registry.queue_position(third) == 2
    assert registry.snapshot(third).queue_position == 2 and registry.queue_position(first) is None

    registry.stop(first)
    trainings.release(1)
    assert registry.wait(second, timeout=60).status == "done"
    assert registry.wait(third, timeout=60).status == "done"
    assert registry.snapshot(first).status == "stopped"
    assert trainings.order == [1, 2, 3] and trainings.peak == 1  # in turn, never two at once


def test_with_two_slots_two_jobs_train_at_once_and_the_third_waits(make_registry, trainings):
    registry = make_registry(max_running=2)
    trainings.hold(1)
    trainings.hold(2)
    first, second, third = (registry.submit(spec(epochs=1000, seed=1)), registry.submit(spec(epochs=1000, seed=2)),
                            registry.submit(spec(epochs=1, seed=3)))
    assert trainings.began(1).wait(60) and trainings.began(2).wait(60)  # both in training at once
    assert registry.snapshot(first).status == registry.snapshot(second).status == "running"
    waiting = registry.snapshot(third)
    assert waiting.status == "queued" and waiting.queue_position == 1 and registry.queue_position(first) is None

    registry.stop(first)
    trainings.release(1)
    assert registry.wait(third, timeout=60).status == "done"
    assert registry.snapshot(second).status == "running"  # the other slot kept training meanwhile
    # The first two start in either order (two threads at once); the third only after a slot freed.
    assert sorted(trainings.order[:2]) == [1, 2] and trainings.order[2:] == [3] and trainings.peak == 2


@pytest.mark.parametrize("cpus, expected", [(2, 1), (1, 1), (4, 2), (8, 4)])
def test_max_running_defaults_to_half_the_cores(monkeypatch, caplog, cpus, expected):
    monkeypatch.delenv(jobs.MAX_JOBS_ENV, raising=False)
    monkeypatch.setattr(jobs, "available_cores", lambda: cpus)
    assert jobs.configured_max_running() == expected
    assert JobRegistry().max_running == expected and JobRegistry(max_running=None).max_running == expected
    assert not caplog.records


def test_available_cores_follow_the_affinity_mask_not_the_host(monkeypatch):
    monkeypatch.setattr(jobs.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    monkeypatch.setattr(jobs.os, "cpu_count", lambda: 32)
    assert jobs.available_cores() == 3  # e.g. a container limited to 3 of the host's 32 cores
    monkeypatch.delattr(jobs.os, "sched_getaffinity")  # macOS, Windows
    assert jobs.available_cores() == 32
    monkeypatch.setattr(jobs.os, "cpu_count", lambda: None)
    assert jobs.available_cores() == 2


@pytest.mark.parametrize("value, expected", [("3", 3), (" 2 ", 2), ("1", 1), ("", 1)])
def test_max_running_comes_from_the_environment(monkeypatch, caplog, value, expected):
    monkeypatch.setattr(jobs, "available_cores", lambda: 2)
    monkeypatch.setenv(jobs.MAX_JOBS_ENV, value)
    assert jobs.configured_max_running() == expected and JobRegistry().max_running == expected
    assert not caplog.records
    assert JobRegistry(max_running=5).max_running == 5  # an explicit value wins


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5", "1e3", "4 jobs"])
def test_a_bad_max_jobs_setting_falls_back_to_the_default_with_a_warning(monkeypatch, caplog, value):
    monkeypatch.setattr(jobs, "available_cores", lambda: 8)
    monkeypatch.setenv(jobs.MAX_JOBS_ENV, value)
    with caplog.at_level(logging.WARNING, logger="explorer.jobs"):
        assert JobRegistry().max_running == 4
    assert jobs.MAX_JOBS_ENV in caplog.text and "positive whole number" in caplog.text


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2"])
def test_an_explicit_bad_max_running_is_refused(bad):
    with pytest.raises(ExplorerError, match="max_running"):
        JobRegistry(max_running=bad)


@pytest.mark.parametrize("cpus, max_running, expected", [(1, 1, 1), (2, 1, 1), (2, 2, 1), (2, 3, 1), (8, 2, 3), (9, 2, 4)])
def test_threads_per_job_share_out_the_cores(monkeypatch, cpus, max_running, expected):
    monkeypatch.setattr(jobs, "available_cores", lambda: cpus)
    assert jobs.threads_per_job(max_running) == expected


def test_each_job_thread_trains_on_its_share_of_the_cores_and_leaves_other_threads_alone(make_registry, monkeypatch):
    monkeypatch.setattr(jobs, "available_cores", lambda: 2)
    real_train, seen = runs.train, []

    def recording_train(*args, **kwargs):
        seen.append(torch.get_num_threads())  # in the job's thread
        return real_train(*args, **kwargs)

    def count_in_a_new_thread() -> int:
        counts = []
        thread = threading.Thread(target=lambda: counts.append(torch.get_num_threads()))
        thread.start()
        thread.join()
        return counts[0]

    monkeypatch.setattr(runs, "train", recording_train)
    # What this thread and new threads get depends on what ran before in this process (page threads
    # set it too), so compare with what they had, not with a fixed number.
    before, new_before = torch.get_num_threads(), count_in_a_new_thread()
    registry = make_registry(max_running=2)
    for job_id in [registry.submit(spec()) for _ in range(2)]:
        assert registry.wait(job_id, timeout=60).status == "done"
    assert seen == [1, 1]
    assert torch.get_num_threads() == before and count_in_a_new_thread() == new_before


def stop_after(point):
    """A train() that sets the job's stop event once it reports `point` ("mid-epoch 2" or "end of epoch 1")."""
    real_train = runs.train

    def train_then_stop(model, x_train, config, x_test=None, on_progress=None, stop=None, **labels):
        def watching(progress):
            on_progress(progress)
            if point == "mid-epoch 2" and progress.epoch == 2 and not progress.epoch_done:
                stop.set()
            if point == "end of epoch 1" and progress.epoch_done:
                stop.set()
        return real_train(model, x_train, config, x_test, on_progress=watching, stop=stop, **labels)

    return train_then_stop


def test_a_stop_mid_epoch_counts_only_complete_epochs_and_marks_the_partial_one(registry, monkeypatch, tmp_path):
    monkeypatch.setattr(runs, "train", stop_after("mid-epoch 2"))
    result = registry.wait(registry.submit(spec(epochs=5)), timeout=60)  # 23 steps an epoch, reports every 5
    assert result.status == "stopped" and result.savable
    assert result.epoch == 1  # "Stopped after 1 of 5 epochs", not 2
    assert [record.get("partial", False) for record in result.history] == [False, True]
    assert result.history[0]["epoch"] == 1 and 1 < result.history[1]["epoch"] < 2  # where epoch 2 was cut
    assert len(result.reconstructions) == len(result.latent_frames) == 3  # untrained, epoch 1, the cut
    saved = checkpoints.load(registry.save(result.job_id, "cut_short", root=tmp_path))
    assert saved.info["history"] == result.history


def test_a_stop_at_the_end_of_an_epoch_counts_that_epoch(registry, monkeypatch):
    monkeypatch.setattr(runs, "train", stop_after("end of epoch 1"))
    result = registry.wait(registry.submit(spec(epochs=5)), timeout=60)
    assert result.status == "stopped" and result.epoch == 1
    assert result.history[0]["epoch"] == 1 and "partial" not in result.history[0] and len(result.history) == 1


def test_reserved_names_are_those_of_active_and_unsaved_jobs(registry, tmp_path):
    registry.wait(registry.submit(spec(name="finished_unsaved")), timeout=60)
    saved = registry.submit(spec(name="saved_one"))
    registry.wait(saved, timeout=60)
    registry.save(saved, root=tmp_path)
    running = registry.submit(spec(epochs=1000, name="running_one"))
    queued = registry.submit(spec(name="queued_one"))
    never = registry.submit(spec(name="never_started"))
    registry.stop(never)
    wait_until(lambda: registry.snapshot(running).status == "running")
    assert registry.reserved_names() == {"finished_unsaved", "running_one", "queued_one"}
    registry.stop(queued)
    registry.stop(running)
    registry.wait(running, timeout=60)
    assert registry.reserved_names() == {"finished_unsaved", "running_one"}  # stopped, but its model is unsaved


def test_stopping_a_queued_job_means_it_never_starts(registry, tmp_path):
    first = registry.submit(spec(epochs=1000))
    second = registry.submit(spec(epochs=1))
    registry.stop(second)
    assert registry.snapshot(second).status == "stopped" and registry.queue_position(second) is None
    with pytest.raises(ExplorerError, match="before it trained anything"):
        registry.save(second, "never", root=tmp_path)
    registry.stop(first)


def test_a_diverging_job_fails_frees_the_slot_and_saves_nothing(registry, monkeypatch, tmp_path):
    real_train = runs.train
    calls = []

    def train_with_nan_loss(model, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:  # only the first job's model blows up
            model.loss = lambda x, labels=None, generator=None: {"total": torch.tensor(float("nan")), "recon": torch.tensor(0.0)}
        return real_train(model, *args, **kwargs)

    monkeypatch.setattr(runs, "train", train_with_nan_loss)
    failing = registry.submit(spec(epochs=3))
    healthy = registry.submit(spec(epochs=1))
    failed = registry.wait(failing, timeout=60)
    assert failed.status == "failed" and "diverged" in failed.error and not failed.savable
    assert registry.wait(healthy, timeout=60).status == "done"
    with pytest.raises(ExplorerError, match="failed"):
        registry.save(failing, "nan_model", root=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_crash_fails_the_job_with_its_message(registry, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("out of memory (pretend)")

    monkeypatch.setattr(runs, "train", crash)
    result = registry.wait(registry.submit(spec()), timeout=60)
    assert result.status == "failed" and result.error == "RuntimeError: out of memory (pretend)"
    monkeypatch.undo()
    assert registry.wait(registry.submit(spec()), timeout=60).status == "done"


@pytest.mark.parametrize("bad", [dict(name="../x"), dict(name="a/b"), dict(name=""), dict(lr=1e3), dict(epochs=0)])
def test_submit_refuses_bad_settings(registry, bad):
    with pytest.raises(ExplorerError):
        registry.submit(spec(**bad))
    assert registry.job_ids() == []


def test_submit_refuses_a_model_built_for_other_images(registry):
    wrong = JobSpec("digits", ModelConfig(kind="ae", latent_dim=3), TrainConfig(epochs=1), "wrong")
    with pytest.raises(ExplorerError, match="image_shape"):
        registry.submit(wrong)


@pytest.mark.parametrize("name", ["../x", "a/b", "", "has space", ".hidden"])
def test_save_refuses_bad_names_and_writes_nothing(registry, tmp_path, name):
    job_id = registry.submit(spec())
    registry.wait(job_id, timeout=60)
    with pytest.raises(ExplorerError, match="not a valid checkpoint name"):
        registry.save(job_id, name, root=tmp_path)
    assert list(tmp_path.iterdir()) == [] and not (tmp_path.parent / "x").exists()


def test_save_refuses_a_running_job(registry, tmp_path):
    job_id = registry.submit(spec(epochs=1000))
    wait_until(lambda: registry.snapshot(job_id).status == "running")
    with pytest.raises(ExplorerError, match="still training"):
        registry.save(job_id, "early", root=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_saved_model_loads_with_the_cli_info_layout_and_is_not_overwritten(registry, tmp_path):
    job_id = registry.submit(spec("conv_vae", epochs=2))
    result = registry.wait(job_id, timeout=60)
    path = registry.save(job_id, "my_model", root=tmp_path)
    assert path == tmp_path / "my_model"
    loaded = checkpoints.load(path)
    assert set(loaded.info) == {"format_version", "dataset", "training", "history", "metrics", "model"}
    assert loaded.info["dataset"] == "digits" and loaded.info["training"]["epochs"] == 2
    assert "seconds" in loaded.info["training"] and loaded.info["history"] == result.history
    assert loaded.info["metrics"] == result.metrics and loaded.config.kind == "conv_vae"
    assert [item.name for item in checkpoints.list_checkpoints(tmp_path)] == ["my_model"]
    assert registry.snapshot(job_id).saved_as == ("my_model",)

    with pytest.raises(ExplorerError, match="already exists"):
        registry.save(job_id, "my_model", root=tmp_path)
    registry.save(job_id, "my_model", root=tmp_path, overwrite=True)


def test_save_defaults_to_the_checkpoints_folder_and_the_spec_name(registry, tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "DEFAULT_DIR", tmp_path)
    job_id = registry.submit(spec(name="named_in_spec"))
    registry.wait(job_id, timeout=60)
    assert registry.save(job_id) == tmp_path / "named_in_spec"


def test_autosave_writes_the_checkpoint_when_training_completes(registry, tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "DEFAULT_DIR", tmp_path)
    job_id = registry.submit(spec(name="vae_beta_1", autosave=True))
    assert registry.wait(job_id, timeout=60).saved_as == ("vae_beta_1",)
    assert checkpoints.load(tmp_path / "vae_beta_1").config.kind == "vae"
    assert registry.active_job_for("vae_beta_1") is None


def test_an_autosaving_job_is_on_disk_by_the_time_it_stops_counting_as_active(registry, tmp_path, monkeypatch):
    """The β ladder polls: 'not active' must mean 'saved', or it shows a finished rung as missing."""
    monkeypatch.setattr(checkpoints, "DEFAULT_DIR", tmp_path)
    real_write = registry._write
    writing, looked = threading.Event(), threading.Event()

    def slow_write(*args, **kwargs):  # a slow disk: the save lasts until the test has looked
        writing.set()
        assert looked.wait(60)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(registry, "_write", slow_write)
    job_id = registry.submit(spec(name="vae_beta_1", autosave=True))
    assert writing.wait(60)
    assert registry.active_job_for("vae_beta_1") == job_id  # trained, not saved yet: still active
    looked.set()
    registry.wait(job_id, timeout=60)
    assert registry.active_job_for("vae_beta_1") is None
    assert (tmp_path / "vae_beta_1" / checkpoints.CONFIG_FILE).is_file()


def test_jobs_started_together_build_their_models_from_the_same_seeded_weights(make_registry, monkeypatch):
    """Torch's generator is per process: parallel jobs must not draw from it while another builds."""
    real_train, initial = runs.train, []

    def recording_train(model, *args, **kwargs):
        initial.append(torch.cat([p.detach().flatten() for p in model.parameters()]).clone())
        return real_train(model, *args, **kwargs)

    real_build_model, arrived, all_arrived = runs.build_model, [], threading.Event()

    def counting_build_model(config, seed=None):
        arrived.append(seed)
        if len(arrived) == 3:
            all_arrived.set()
        return real_build_model(config, seed=seed)

    vae = kinds.KINDS["vae"]

    def slow_init(config):
        # Seeded, not yet built, until every job has come to build its model: without the seed lock
        # the others would seed and draw from torch's generator meanwhile.
        assert all_arrived.wait(60)
        return vae.build(config)

    monkeypatch.setitem(kinds.KINDS, "vae", dataclasses.replace(vae, build=slow_init))
    monkeypatch.setattr(runs, "build_model", counting_build_model)
    monkeypatch.setattr(runs, "train", recording_train)
    registry = make_registry(max_running=3)
    # the same seed, so the same initial weights; different learning rates, so three jobs, not one shared
    ids = [registry.submit(spec(epochs=1, seed=0, lr=lr)) for lr in (1e-2, 2e-2, 3e-2)]
    for job_id in ids:
        assert registry.wait(job_id, timeout=60).status == "done"
    assert len(initial) == 3 and all(torch.equal(initial[0], other) for other in initial[1:])


def test_unknown_job_ids_raise_a_helpful_error(registry):
    with pytest.raises(ExplorerError, match="No training job"):
        registry.snapshot("nope")


def test_old_finished_jobs_are_forgotten(tmp_path):
    registry = JobRegistry(keep_finished=2)
    ids = [registry.submit(spec()) for _ in range(3)]
    for job_id in ids:
        registry.wait(job_id, timeout=60)
    registry.wait(registry.submit(spec()), timeout=60)
    assert ids[0] not in registry and ids[1] in registry and ids[2] in registry


@pytest.mark.parametrize("nothing_to_lose", ["saved", "failed", "stopped before training"])
def test_jobs_with_nothing_to_lose_are_forgotten_before_unsaved_models(make_registry, monkeypatch, tmp_path,
                                                                        nothing_to_lose):
    registry = make_registry(max_running=1, keep_finished=2)
    oldest_unsaved = registry.submit(spec())
    registry.wait(oldest_unsaved, timeout=60)
    newer_unsaved = None
    if nothing_to_lose == "saved":
        disposable = registry.submit(spec())
        registry.wait(disposable, timeout=60)
        registry.save(disposable, root=tmp_path)
    elif nothing_to_lose == "failed":
        with monkeypatch.context() as patch:
            patch.setattr(runs, "train", lambda *args, **kwargs: 1 / 0)
            disposable = registry.submit(spec())
            assert registry.wait(disposable, timeout=60).status == "failed"
    else:
        newer_unsaved = registry.submit(spec(epochs=1000))  # keeps the slot busy so the next one waits
        disposable = registry.submit(spec())
        registry.stop(disposable)
        registry.stop(newer_unsaved)
        assert registry.wait(newer_unsaved, timeout=60).savable
    if newer_unsaved is None:
        newer_unsaved = registry.submit(spec())
        registry.wait(newer_unsaved, timeout=60)

    latest = registry.submit(spec())  # three finished, two kept
    assert disposable not in registry and oldest_unsaved in registry and newer_unsaved in registry
    registry.wait(latest, timeout=60)
    registry.submit(spec())  # only unsaved models left to forget: the oldest goes
    assert oldest_unsaved not in registry and newer_unsaved in registry and latest in registry


def test_procrustes_undoes_a_rotation_and_a_reflection():
    points = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    angle = 0.7
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = (points @ rotation @ np.diag([1, -1])).astype(np.float32)
    np.testing.assert_allclose(projection.procrustes_align(moved, points), points, atol=1e-5)


def test_shown_digits_are_one_per_class():
    labels = np.array([3, 1, 0, 1, 2, 0, 3, 2])
    rows = jobs.shown_digit_rows(labels, n=6)
    assert labels[rows].tolist() == [0, 1, 2, 3, 0, 1]


def test_importing_jobs_does_not_import_streamlit():
    code = "import sys, explorer.jobs; assert 'streamlit' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=jobs.__file__.rsplit("/explorer/", 1)[0])


def test_the_default_backends_do_not_import_ray():
    code = ("import sys, explorer.jobs; explorer.jobs.open_jobs('threads'); explorer.jobs.LocalJobs(launch='process'); "
            "assert 'ray' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=jobs.__file__.rsplit("/explorer/", 1)[0])


def test_an_unknown_backend_is_refused_with_the_choices(monkeypatch):
    monkeypatch.setenv(jobs.BACKEND_ENV, "celery")
    with pytest.raises(ExplorerError, match="process, threads, ray"):
        jobs.open_jobs()


def test_the_wait_estimate_shares_the_work_ahead_over_the_slots():
    from explorer.job_queue import Scheduler

    scheduler = Scheduler(max_running=2, max_queued=10)
    for job_id, epochs in (("a", 10), ("b", 10), ("c", 20), ("d", 5)):
        scheduler.admit(job_id, key=job_id, epochs=epochs, owner=None)
    assert scheduler.start_next(now=0.0) == ["a", "b"]
    assert scheduler.estimated_wait("d", now=1.0) is None  # nothing measured yet
    scheduler.finished("a", now=20.0, shareable=True, measured=True)  # 2 s an epoch
    assert scheduler.start_next(now=20.0) == ["c"]
    # ahead of d: nothing queued; running: b (20 s expected, 20 s gone), c (40 s expected, 5 s gone)
    assert scheduler.estimated_wait("d", now=25.0) == pytest.approx((0 + 35) / 2)
    assert scheduler.position("d") == 1 and scheduler.estimated_wait("c", now=25.0) is None


@pytest.mark.parametrize("value, expected", [("5", 5), ("", 60), ("0", 60), ("many", 60)])
def test_the_queue_cap_comes_from_the_environment(monkeypatch, value, expected):
    from explorer.job_queue import Scheduler

    monkeypatch.setenv("LATENT_LAB_MAX_QUEUED", value)
    assert Scheduler(max_running=1).max_queued == expected


@pytest.mark.parametrize("status, sharers, expected", [
    ("running", 1, 1.0), ("running", 10, 1.0), ("running", 11, 2.0), ("running", 30, 3.0),
    ("queued", 1, 3.0), ("queued", 30, 3.0),
])
def test_a_page_looks_at_a_shared_run_less_often_so_a_class_costs_the_server_what_ten_students_do(
        status, sharers, expected):
    from explorer.job_queue import refresh_seconds

    assert refresh_seconds(status, sharers) == expected
    if status == "running":  # all its watchers together: ten looks a second at most
        assert sharers / refresh_seconds(status, sharers) <= 10
