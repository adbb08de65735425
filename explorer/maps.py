"""Latent maps for a checkpoint: PCA at once, UMAP from disk or from a background thread.

A UMAP map is deterministic for given weights and data, so it is stored beside the
checkpoint (`umap_<dataset>.npz`) keyed by the weights' hash: shipped checkpoints carry
theirs, and a new model's map is computed once, in the background, while the page shows PCA.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

import numpy as np

from .projection import PCAProjector, UMAPProjector, load_projection, save_projection

log = logging.getLogger(__name__)


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


class UMAPService:
    """Server-wide: hands out stored UMAP maps and computes missing ones in background threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._running: dict[str, threading.Thread] = {}
        self._failed: dict[str, str] = {}

    def get(self, checkpoint_path: Path, dataset: str, codes: np.ndarray) -> UMAPProjector | None:
        """The fitted map if it exists; otherwise start computing it (once) and return None."""
        key = weights_fingerprint(checkpoint_path, dataset)
        embedding = load_projection(umap_path(checkpoint_path, dataset), key)
        if embedding is not None and len(embedding) == len(codes):
            return UMAPProjector.from_embedding(codes, embedding)
        with self._lock:
            if key not in self._running and key not in self._failed:
                thread = threading.Thread(target=self._compute, args=(key, checkpoint_path, dataset, codes),
                                          name=f"umap-{key}", daemon=True)
                self._running[key] = thread
                thread.start()
        return None

    def problem(self, checkpoint_path: Path, dataset: str) -> str | None:
        return self._failed.get(weights_fingerprint(checkpoint_path, dataset))

    def _compute(self, key, checkpoint_path, dataset, codes) -> None:
        try:
            compute_umap(checkpoint_path, dataset, codes)
        except Exception as error:  # a background thread must report, not die silently
            log.exception("UMAP for %s failed", checkpoint_path)
            self._failed[key] = str(error)
        finally:
            with self._lock:
                self._running.pop(key, None)


def warm_up_umap() -> threading.Thread:
    """Compile umap's numba code in a background thread, so the first real map is fast."""

    def fit_a_tiny_map():
        try:
            UMAPProjector(random_state=0).fit(np.random.default_rng(0).normal(size=(64, 4)))
        except Exception:
            log.exception("UMAP warm-up failed")

    thread = threading.Thread(target=fit_a_tiny_map, name="umap-warm-up", daemon=True)
    thread.start()
    return thread
