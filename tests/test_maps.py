"""maps.py: stored UMAP maps are reused, missing or broken ones are computed once in the background."""

import subprocess
import sys
import threading

import numpy as np
import pytest

from explorer import maps
from explorer.errors import ExplorerError
from explorer.projection import UMAPProjector, save_projection

DATASET = "mnist5k"


@pytest.fixture
def checkpoint(tmp_path):
    """A checkpoint folder; the map only depends on the weights' bytes, so any bytes will do."""
    folder = tmp_path / "tiny_ae"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights v1")
    return folder


@pytest.fixture
def codes():
    return np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)


def fake_embedding(codes):
    return np.stack([codes[:, 0], codes[:, 1] - codes[:, 2]], axis=1).astype(np.float32)


class FakeFit:
    """Stands in for the UMAP fit (a child process, seconds) and lets a test decide when it finishes."""

    def __init__(self, fail: str | None = None):
        self.calls = 0
        self.release = threading.Event()
        self.fail = fail

    def __call__(self, codes):
        self.calls += 1
        self.release.wait(10)
        if self.fail:
            raise RuntimeError(self.fail)
        return fake_embedding(codes)


@pytest.fixture
def fake_fit():
    return FakeFit()


@pytest.fixture
def service(fake_fit):
    return maps.UMAPService(fit=fake_fit)


def store_map(checkpoint, codes, embedding=None):
    key = maps.weights_fingerprint(checkpoint, DATASET)
    save_projection(maps.umap_path(checkpoint, DATASET), key, fake_embedding(codes) if embedding is None else embedding)


# ---------------------------------------------------------------- computing a missing map


def test_a_missing_map_is_none_at_once_then_ready_after_the_background_thread(checkpoint, codes, fake_fit, service):
    assert service.get(checkpoint, DATASET, codes) is None  # returns while the fit is still running
    assert service.get(checkpoint, DATASET, codes) is None  # asked again meanwhile: still computing...
    fake_fit.release.set()
    assert service.wait(checkpoint, DATASET, timeout=10)
    projector = service.get(checkpoint, DATASET, codes)
    assert isinstance(projector, UMAPProjector)
    np.testing.assert_allclose(projector.embedding_, fake_embedding(codes))
    assert fake_fit.calls == 1  # ...but computed only once
    assert service.problem(checkpoint, DATASET) is None


def test_a_computed_map_is_stored_beside_the_checkpoint_for_the_next_server(checkpoint, codes, fake_fit, service):
    fake_fit.release.set()
    service.get(checkpoint, DATASET, codes)
    service.wait(checkpoint, DATASET, timeout=10)
    assert maps.umap_path(checkpoint, DATASET).is_file()
    projector = maps.UMAPService(fit=fake_fit).get(checkpoint, DATASET, codes)  # a restarted server
    np.testing.assert_allclose(projector.embedding_, fake_embedding(codes))
    assert fake_fit.calls == 1


def test_a_map_that_cannot_be_stored_is_still_served_from_memory(checkpoint, codes, fake_fit, service, monkeypatch):
    def read_only(*args, **kwargs):
        raise PermissionError("read-only folder")

    monkeypatch.setattr(maps, "save_projection", read_only)
    fake_fit.release.set()
    service.get(checkpoint, DATASET, codes)
    service.wait(checkpoint, DATASET, timeout=10)
    assert service.get(checkpoint, DATASET, codes) is not None
    assert service.problem(checkpoint, DATASET) is None


def test_a_failed_map_is_reported_and_not_retried(checkpoint, codes):
    fit = FakeFit(fail="the codes are all NaN")
    fit.release.set()
    service = maps.UMAPService(fit=fit)
    assert service.get(checkpoint, DATASET, codes) is None
    service.wait(checkpoint, DATASET, timeout=10)
    assert "NaN" in service.problem(checkpoint, DATASET)
    assert service.get(checkpoint, DATASET, codes) is None
    assert fit.calls == 1


# ---------------------------------------------------------------- reusing a stored map


def test_a_stored_map_is_used_without_computing(checkpoint, codes, fake_fit, service):
    store_map(checkpoint, codes)
    projector = service.get(checkpoint, DATASET, codes)
    np.testing.assert_allclose(projector.embedding_, fake_embedding(codes))
    np.testing.assert_allclose(projector.transform(codes[:3]), fake_embedding(codes)[:3], atol=1e-4)
    assert fake_fit.calls == 0


def test_a_map_is_kept_in_memory_after_the_first_read(checkpoint, codes, service):
    store_map(checkpoint, codes)
    first = service.get(checkpoint, DATASET, codes)
    maps.umap_path(checkpoint, DATASET).unlink()
    assert service.get(checkpoint, DATASET, codes) is first


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other_weights", "other_size"])
def test_a_broken_or_stale_stored_map_is_recomputed(checkpoint, codes, fake_fit, service, damage):
    path = maps.umap_path(checkpoint, DATASET)
    store_map(checkpoint, codes)
    if damage == "garbage":
        path.write_bytes(b"not a zip file")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "other_weights":  # the model was retrained and saved under the same name
        (checkpoint / "model.safetensors").write_bytes(b"weights v2")
    elif damage == "other_size":  # a map of another number of digits
        store_map(checkpoint, codes, fake_embedding(codes)[:10])
    assert service.get(checkpoint, DATASET, codes) is None
    fake_fit.release.set()
    service.wait(checkpoint, DATASET, timeout=10)
    assert service.get(checkpoint, DATASET, codes) is not None
    assert fake_fit.calls == 1
    assert maps.UMAPService(fit=fake_fit).get(checkpoint, DATASET, codes) is not None  # the file was repaired
    assert fake_fit.calls == 1


def test_re_saved_weights_are_noticed_by_a_running_server(checkpoint, codes, fake_fit, service):
    store_map(checkpoint, codes)
    assert service.get(checkpoint, DATASET, codes) is not None
    (checkpoint / "model.safetensors").write_bytes(b"weights v2, longer")
    assert service.get(checkpoint, DATASET, codes) is None  # the old map belongs to the old weights
    fake_fit.release.set()


# ---------------------------------------------------------------- the child process


def test_a_failing_child_process_becomes_a_readable_error(monkeypatch):
    monkeypatch.setattr(maps, "_run_worker", lambda args, timeout, **kw: subprocess.CompletedProcess(
        args, 1, "", "Traceback (most recent call last):\nValueError: bad codes"))
    with pytest.raises(ExplorerError, match="bad codes"):
        maps.fit_umap_in_subprocess(np.zeros((5, 2)))


def test_warm_up_runs_once_per_machine(tmp_path, monkeypatch):
    monkeypatch.setattr(maps, "WARM_MARKERS", tmp_path / "markers")
    started = []
    monkeypatch.setattr(maps, "_run_worker", lambda args, timeout, **kw: started.append(args) or
                        subprocess.CompletedProcess(args, 0, "", ""))
    maps.warm_up_umap().join(10)
    assert started == [["warm-up"]]
    maps._mark_warm()  # what the child process does after compiling
    assert maps.warm_up_umap() is None and len(started) == 1
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "another-cache"))  # another cache: warm it too
    maps.warm_up_umap().join(10)
    assert len(started) == 2


def test_the_worker_refuses_unknown_commands():
    with pytest.raises(SystemExit, match="usage"):
        maps._worker(["draw"])


# ---------------------------------------------------------------- the real thing


@pytest.mark.slow
def test_real_umap_in_a_child_process_then_warm_up(checkpoint):
    rng = np.random.default_rng(0)
    codes = (rng.normal(size=(4, 6)).repeat(50, axis=0) * 6 + rng.normal(size=(200, 6))).astype(np.float32)
    umap_was_imported = "umap" in sys.modules  # e.g. by another test in this process
    service = maps.UMAPService()
    assert service.get(checkpoint, DATASET, codes) is None
    assert service.wait(checkpoint, DATASET, timeout=600)
    assert service.problem(checkpoint, DATASET) is None
    projector = service.get(checkpoint, DATASET, codes)
    assert projector.embedding_.shape == (200, 2) and np.isfinite(projector.embedding_).all()
    # Same clusters stay apart: each point's nearest map neighbour is in its own cluster.
    e = projector.embedding_
    d = np.linalg.norm(e[:, None] - e[None], axis=2) + np.eye(200) * 1e9
    assert (d.argmin(axis=1) // 50 == np.arange(200) // 50).mean() > 0.95
    assert umap_was_imported or "umap" not in sys.modules  # the fit ran in a child process
    thread = maps.warm_up_umap()  # None: the map just fitted has already filled the cache
    assert thread is None or (thread.join(600) or not thread.is_alive())
