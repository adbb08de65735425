"""Latent maps for a checkpoint: PCA at once, UMAP from disk or from a background process.

A UMAP map is deterministic for given weights and data, so it is stored beside the
checkpoint (`umap_<dataset>.npz`) keyed by the weights' hash: shipped checkpoints carry
theirs, and a new model's map is computed once, in the background, while the page shows PCA.

The server never imports umap: a map is fitted by `python -m explorer.maps fit` in a child
process. umap and numba add ~270 MB to the process that imports them, and a fit holds the GIL
~10 ms at a time, which would stall every page of the server; a child costs ~3 s of `import
umap` and takes both with it when it exits. numba's compiled code is cached on disk (see
`projection._import_umap`), so only the first map on a machine compiles (~30 s);
`warm_up_umap` does that ahead of time, once per machine (a marker file remembers it).
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .errors import ExplorerError
from .projection import PCAProjector, UMAPProjector, load_projection, save_projection

log = logging.getLogger(__name__)

_PROJECT_ROOT = Path(__file__).resolve().parent.parent  # where `python -m explorer.maps` finds the package
FIT_TIMEOUT = 30 * 60  # s; 70,000 codes take about a minute


def weights_fingerprint(checkpoint_path: Path, dataset: str) -> str:
    """sha256 of the weights file plus the dataset name: what the map's codes depend on."""
    digest = hashlib.sha256(dataset.encode())
    with open(Path(checkpoint_path) / "model.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def umap_path(checkpoint_path: Path, dataset: str) -> Path:
    return Path(checkpoint_path) / f"umap_{dataset}.npz"


def fit_pca(codes: np.ndarray, dims: int = 2) -> PCAProjector:
    return PCAProjector(n_components=dims).fit(codes)


def compute_umap(checkpoint_path: Path, dataset: str, codes: np.ndarray) -> np.ndarray:
    """Fit UMAP on codes (N, latent) and store the embedding beside the checkpoint -> (N, 2)."""
    embedding = UMAPProjector(random_state=0).fit(codes).embedding_
    save_projection(umap_path(checkpoint_path, dataset), weights_fingerprint(checkpoint_path, dataset), embedding)
    return embedding


# One thread for everything in the worker: the seeded layout is single-threaded anyway, and the
# server's page threads keep the other cores.
_WORKER_THREADS = {name: "1" for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def _run_worker(args: list[str], timeout: float | None, **popen) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "explorer.maps", *args], cwd=_PROJECT_ROOT, timeout=timeout,
                          stdin=subprocess.DEVNULL, env={**os.environ, **_WORKER_THREADS}, **popen)


def fit_umap_in_subprocess(codes: np.ndarray) -> np.ndarray:
    """UMAP embedding (N, 2) of codes (N, latent), fitted in a child process (see the module notes)."""
    with tempfile.TemporaryDirectory(prefix="latent-lab-umap-") as folder:
        codes_file, embedding_file = Path(folder) / "codes.npy", Path(folder) / "embedding.npy"
        np.save(codes_file, np.asarray(codes, dtype=np.float32))
        done = _run_worker(["fit", str(codes_file), str(embedding_file)], FIT_TIMEOUT, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise ExplorerError(f"UMAP stopped with an error ({last}).")
        return np.load(embedding_file)


class UMAPService:
    """Server-wide: hands out stored UMAP maps and computes each missing one once, in a background
    thread (which waits for the child process doing the fit).

    Every map asked for is kept in memory, keyed by the weights' fingerprint, so a page rerun costs
    a file `stat`, not a hash of the weights and a read of the map. A map that cannot be stored
    (read-only checkpoint folder) is still served from memory.
    """

    def __init__(self, fit: Callable[[np.ndarray], np.ndarray] = fit_umap_in_subprocess):
        self._fit = fit  # codes (N, latent) -> embedding (N, 2); tests pass a fake
        self._lock = threading.Lock()
        self._running: dict[str, threading.Thread] = {}
        self._failed: dict[str, str] = {}
        self._fingerprints: dict[tuple, str] = {}  # (weights path, dataset, mtime, size) -> fingerprint
        self._maps: dict[str, UMAPProjector] = {}  # fingerprint -> fitted projector

    def _key(self, checkpoint_path: Path, dataset: str) -> str:
        weights = Path(checkpoint_path) / "model.safetensors"
        stat = weights.stat()
        stamp = (str(weights.resolve()), dataset, stat.st_mtime_ns, stat.st_size)
        key = self._fingerprints.get(stamp)
        if key is None:
            key = self._fingerprints[stamp] = weights_fingerprint(checkpoint_path, dataset)
        return key

    def get(self, checkpoint_path: Path, dataset: str, codes: np.ndarray) -> UMAPProjector | None:
        """The fitted map if it exists; otherwise start computing it (once) and return None.

        Never waits for a computation: calls made while a map is being computed return None at once.
        """
        key = self._key(checkpoint_path, dataset)
        projector = self._maps.get(key)
        if projector is not None and len(projector.embedding_) == len(codes):
            return projector
        embedding = load_projection(umap_path(checkpoint_path, dataset), key)
        if embedding is not None and len(embedding) == len(codes):
            projector = self._maps[key] = UMAPProjector.from_embedding(codes, embedding)
            return projector
        with self._lock:
            if key not in self._running and key not in self._failed:
                thread = threading.Thread(target=self._compute, args=(key, checkpoint_path, dataset, codes),
                                          name=f"umap-{key}", daemon=True)
                self._running[key] = thread
                thread.start()
        return None

    def problem(self, checkpoint_path: Path, dataset: str) -> str | None:
        """Why the map could not be computed, or None."""
        return self._failed.get(self._key(checkpoint_path, dataset))

    def wait(self, checkpoint_path: Path, dataset: str, timeout: float | None = None) -> bool:
        """Wait for a running computation of this map; True once none is running."""
        thread = self._running.get(self._key(checkpoint_path, dataset))
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _compute(self, key, checkpoint_path, dataset, codes) -> None:
        try:
            projector = UMAPProjector.from_embedding(codes, self._fit(codes))
            self._maps[key] = projector
            try:
                save_projection(umap_path(checkpoint_path, dataset), key, projector.embedding_)
            except OSError as error:  # e.g. a read-only checkpoint folder: keep serving it from memory
                log.warning("Could not store the UMAP map of %s (%s); it is kept in memory only.",
                            checkpoint_path, error)
        except Exception as error:  # a background thread must report, not die silently
            log.exception("UMAP for %s failed", checkpoint_path)
            self._failed[key] = str(error)
        finally:
            with self._lock:
                self._running.pop(key, None)


WARM_MARKERS = Path.home() / ".cache" / "latent-lab"


def _warm_marker() -> Path:
    """A file whose presence says numba's cache holds UMAP's compiled code for these library
    versions and this cache setting (reading versions is cheap; importing umap is not)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        versions = [version(name) for name in ("umap-learn", "numba", "pynndescent")]
    except PackageNotFoundError:
        versions = ["unknown"]
    key = "|".join([*versions, sys.version, os.environ.get("NUMBA_CACHE_DIR", "")])
    return WARM_MARKERS / f"umap-compiled-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def _mark_warm() -> None:
    try:
        WARM_MARKERS.mkdir(parents=True, exist_ok=True)
        _warm_marker().touch()
    except OSError:  # no writable home: the next server warms up again, nothing worse
        pass


def warm_up_umap() -> threading.Thread | None:
    """Fill numba's disk cache for UMAP in a low-priority child process, from a background thread.

    The first map on a machine then takes seconds instead of ~30 s of compilation. Returns the
    thread (join it to wait), or None when an earlier warm-up or map already filled the cache.
    """
    if _warm_marker().exists():
        return None

    def run():
        try:
            done = _run_worker(["warm-up"], FIT_TIMEOUT, capture_output=True, text=True)
            if done.returncode != 0:
                log.warning("UMAP warm-up failed: %s", done.stderr.strip()[-500:])
        except (OSError, subprocess.SubprocessError):
            log.exception("UMAP warm-up failed")

    thread = threading.Thread(target=run, name="umap-warm-up", daemon=True)
    thread.start()
    return thread


def _lower_priority(niceness: int) -> None:
    if hasattr(os, "nice"):  # not on Windows
        os.nice(niceness)


def _worker(args: list[str]) -> None:
    """`python -m explorer.maps fit CODES.npy OUT.npy` or `python -m explorer.maps warm-up`."""
    if args[:1] == ["fit"] and len(args) == 3:
        _lower_priority(10)  # pages being served come first; on an idle core this costs nothing
        codes = np.load(args[1])
        np.save(args[2], UMAPProjector(random_state=0).fit(codes).embedding_)
        _mark_warm()
    elif args == ["warm-up"]:
        _lower_priority(19)  # nobody waits for it
        # The same code path as a real map (exact neighbours, same dtypes), so the same numba
        # specialisations are compiled and cached.
        UMAPProjector(random_state=0).fit(np.random.default_rng(0).normal(size=(64, 4)))
        _mark_warm()
    else:
        raise SystemExit(f"usage: python -m explorer.maps fit CODES.npy OUT.npy | warm-up (got {args})")


if __name__ == "__main__":
    _worker(sys.argv[1:])
