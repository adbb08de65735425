"""Project latent codes (N, latent) to 2-D maps, place new points on them, cache UMAP maps.

Estimators follow scikit-learn: hyper-parameters are stored in `__init__` untouched, `fit`
validates and returns self, learned state ends in `_`, `transform` places new codes.
umap is imported inside `UMAPProjector.fit` only: importing it takes seconds.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

from explorer.errors import ExplorerError

log = logging.getLogger(__name__)


def _as_codes(codes, name: str = "codes", n_features: int | None = None) -> np.ndarray:
    c = np.asarray(codes, dtype=np.float32)
    if c.ndim == 1 and n_features is not None and c.shape[0] == n_features:
        c = c[None]  # one code
    if c.ndim != 2:
        raise ExplorerError(f"{name} must be shaped (N, latent); got shape {c.shape}.")
    if n_features is not None and c.shape[1] != n_features:
        raise ExplorerError(
            f"{name} have {c.shape[1]} dimensions but this map was fitted on {n_features}-dimensional "
            "codes; recompute the map for this model."
        )
    if not np.isfinite(c).all():
        raise ExplorerError(f"{name} contain NaN or infinite values; the model may have diverged.")
    return c


def _check_fitted(estimator, attribute: str) -> None:
    if not hasattr(estimator, attribute):
        raise ExplorerError(f"{type(estimator).__name__} is not fitted yet; call fit(codes) first.")


class PCAProjector:
    """Linear projection onto the top principal axes of the codes.

    Deterministic: full SVD, and each axis is signed so its largest-magnitude loading is
    positive, so the map never mirrors between runs or machines.
    """

    def __init__(self, n_components: int = 2):
        self.n_components = n_components

    def fit(self, codes) -> PCAProjector:
        """Learn mean and axes from codes (N, latent)."""
        c = _as_codes(codes).astype(np.float64)
        k = self.n_components
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ExplorerError(f"n_components must be a whole number of at least 1; got {k!r}.")
        if k > min(c.shape):
            raise ExplorerError(
                f"PCA with {k} components needs at least {k} codes of at least {k} dimensions; "
                f"got {c.shape[0]} codes of {c.shape[1]} dimensions."
            )
        self.mean_ = c.mean(axis=0)  # (latent,)
        _, s, vt = np.linalg.svd(c - self.mean_, full_matrices=False)  # vt (r, latent)
        signs = np.sign(vt[np.arange(vt.shape[0]), np.abs(vt).argmax(axis=1)])
        vt *= np.where(signs == 0, 1.0, signs)[:, None]
        variance = s**2 / max(c.shape[0] - 1, 1)
        total = variance.sum()
        self.components_ = vt[:k]  # (k, latent)
        self.explained_variance_ = variance[:k]
        # All-identical codes (a fully collapsed encoder) explain nothing rather than NaN.
        self.explained_variance_ratio_ = variance[:k] / total if total > 0 else np.zeros(k)
        self.n_features_in_ = c.shape[1]
        return self

    def transform(self, codes) -> np.ndarray:
        """Coordinates of codes (N, latent) on the fitted axes -> (N, n_components) float32."""
        _check_fitted(self, "components_")
        c = _as_codes(codes, n_features=self.n_features_in_).astype(np.float64)
        return ((c - self.mean_) @ self.components_.T).astype(np.float32)

    def fit_transform(self, codes) -> np.ndarray:
        return self.fit(codes).transform(codes)

    def axis_titles(self) -> list[str]:
        """["PC1 (23.1% var)", "PC2 (...)", ...]."""
        _check_fitted(self, "explained_variance_ratio_")
        return [f"PC{i + 1} ({100 * r:.1f}% var)" for i, r in enumerate(self.explained_variance_ratio_)]


# ---------------------------------------------------------------- UMAP

EXACT_NEIGHBORS_MAX = 20_000  # codes; above this the O(N^2) exact search costs more than umap's NN-descent
_DISTANCE_BLOCK = 2_500_000  # distances per block: 2.5 M float64 = 20 MB, whatever the reference size


def k_nearest(queries, reference, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact Euclidean k nearest reference rows of each query, nearest first.

    queries (M, latent), reference (N, latent) -> indices (M, k) int32, distances (M, k) float32.
    A query that is also a reference row finds itself first, at distance ~0. Computed in float64
    blocks of about 20 MB, as ||q||^2 - 2 q.r + ||r||^2: one matrix product per block.
    """
    r = np.asarray(reference, dtype=np.float64)
    q = np.asarray(queries, dtype=np.float64)
    k = min(int(k), r.shape[0])
    r_sq = np.einsum("ij,ij->i", r, r)  # (N,)
    indices = np.empty((q.shape[0], k), dtype=np.int32)
    distances = np.empty((q.shape[0], k), dtype=np.float32)
    rows = max(1, _DISTANCE_BLOCK // max(r.shape[0], 1))
    for start in range(0, q.shape[0], rows):
        qb = q[start : start + rows]
        d2 = np.einsum("ij,ij->i", qb, qb)[:, None] - 2.0 * qb @ r.T + r_sq  # (b, N)
        near = np.argpartition(d2, k - 1, axis=1)[:, :k] if k < r.shape[0] else np.tile(np.arange(k), (len(qb), 1))
        near_d2 = np.take_along_axis(d2, near, axis=1)
        order = np.argsort(near_d2, axis=1, kind="stable")
        indices[start : start + rows] = np.take_along_axis(near, order, axis=1)
        distances[start : start + rows] = np.sqrt(np.maximum(np.take_along_axis(near_d2, order, axis=1), 0.0))
    return indices, distances


def _import_umap():
    """`import umap` (seconds), with umap's numba functions cached on disk.

    umap-learn declares its numba functions without cache=True, so every new process compiled them
    again (tens of seconds); turning caching on before their first call lets the next process load
    the machine code instead. numba picks the folder: $NUMBA_CACHE_DIR if set, else `__pycache__`
    beside umap's sources, else ~/.cache/numba (pynndescent, which caches itself, uses the same).
    """
    import umap
    import umap.layouts
    import umap.umap_
    import umap.utils
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher

    for module in (umap.umap_, umap.layouts, umap.utils):
        for function in vars(module).values():
            if isinstance(function, Dispatcher) and isinstance(function._cache, NullCache):
                try:
                    function.enable_caching()
                except Exception as error:  # e.g. no cache folder usable: compile in memory as before
                    log.debug("numba cache off for %s: %s", function.py_func.__qualname__, error)
    return umap


class UMAPProjector:
    """UMAP map of the codes; new codes are placed without umap's (slow) transform.

    `fit` finds each code's neighbours exactly (up to EXACT_NEIGHBORS_MAX codes) and hands them to
    umap, so umap's approximate NN-descent, and the ~60 s of numba compilation it needs in every
    new process, is skipped.

    `transform` puts a new code at the distance-weighted mean (weights 1 / (d + 1e-8)) of the map
    positions of its `placement_neighbors` nearest reference codes (Euclidean, in code space).
    A reference code lands on its own position. Placed points never move the map, and a point
    far from all references lands among its nearest ones rather than somewhere "new": it is a
    placement, not an embedding.
    """

    _EPS = 1e-8

    def __init__(
        self,
        n_neighbors: int = 15,
        min_dist: float = 0.1,
        random_state: int | None = 0,
        placement_neighbors: int = 10,
        n_epochs: int | None = 200,
        init: str = "spectral",
    ):
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.random_state = random_state
        self.placement_neighbors = placement_neighbors
        self.n_epochs = n_epochs
        self.init = init

    def fit(self, codes) -> UMAPProjector:
        """Run UMAP on codes (N, latent); seconds, plus numba compilation the first time on a machine."""
        c = _as_codes(codes)
        if c.shape[0] < 3:
            raise ExplorerError(f"A UMAP map needs at least 3 codes; got {c.shape[0]}.")
        if self.placement_neighbors < 1:
            raise ExplorerError("placement_neighbors must be at least 1.")
        umap = _import_umap()  # slow import: only where a map is actually computed

        n_neighbors = min(self.n_neighbors, c.shape[0] - 1)
        neighbors = (None, None, None)
        if c.shape[0] <= EXACT_NEIGHBORS_MAX:
            neighbors = (*k_nearest(c, c, n_neighbors), None)
        reducer = umap.UMAP(
            n_components=2,
            n_neighbors=n_neighbors,
            min_dist=self.min_dist,
            n_epochs=self.n_epochs,
            init=self.init,
            random_state=self.random_state,
            # A seed forces one thread anyway; saying so avoids umap's warning about it.
            n_jobs=1 if self.random_state is not None else -1,
            precomputed_knn=neighbors,
        )
        with warnings.catch_warnings():
            # "no NNDescent index, so umap's transform is unavailable": we place points ourselves.
            warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]", category=UserWarning)
            embedding = reducer.fit_transform(c)
        return self._set_reference(c, embedding)

    @classmethod
    def from_embedding(cls, codes, embedding, **params) -> UMAPProjector:
        """A fitted projector from stored arrays: codes (N, latent) and their map embedding (N, 2)."""
        projector = cls(**params)
        if projector.placement_neighbors < 1:
            raise ExplorerError("placement_neighbors must be at least 1.")
        return projector._set_reference(_as_codes(codes), embedding)

    def _set_reference(self, codes: np.ndarray, embedding) -> UMAPProjector:
        e = np.asarray(embedding, dtype=np.float32)
        if e.ndim != 2 or e.shape != (codes.shape[0], 2):
            raise ExplorerError(
                f"The map must hold one 2-D position per code: expected shape ({codes.shape[0]}, 2), "
                f"got {e.shape}. Recompute the map."
            )
        self.codes_ = codes  # (N, latent) float32
        self.embedding_ = e  # (N, 2) float32
        self.n_features_in_ = codes.shape[1]
        return self

    def transform(self, codes) -> np.ndarray:
        """Place codes (M, latent) on the fitted map -> (M, 2) float32 (k-NN, milliseconds)."""
        _check_fitted(self, "embedding_")
        q = _as_codes(codes, n_features=self.n_features_in_)
        # float64 distances keep the cancellation in ||q||^2 - 2 q.r + ||r||^2 small, so a reference
        # code finds itself at distance ~0 and lands exactly on its own position.
        near, d = k_nearest(q, self.codes_, self.placement_neighbors)  # (M, k)
        w = 1.0 / (d.astype(np.float64) + self._EPS)
        w /= w.sum(axis=1, keepdims=True)
        return np.einsum("mk,mkj->mj", w, self.embedding_[near].astype(np.float64)).astype(np.float32)

    def fit_transform(self, codes) -> np.ndarray:
        """Fit, then return the UMAP embedding itself (not the k-NN placement) -> (N, 2)."""
        return self.fit(codes).embedding_

    def axis_titles(self) -> list[str]:
        return ["UMAP-1", "UMAP-2"]


# ---------------------------------------------------------------- caching maps on disk


def codes_fingerprint(codes) -> str:
    """A short id (16 hex digits of sha256) for a set of codes (N, latent): shape plus values rounded to 1e-4.

    Rounding makes the id ignore noise that stays on one side of a rounding boundary, but it
    is NOT robust in general: noise of ~1e-7 (another BLAS, another batch size, GPU vs CPU)
    still flips a few of many thousand rounded values, and then the id changes. A changed id
    only costs a recomputed map (the cache reports "stale"); two really different code sets
    never share an id. To ship maps that must match on other machines, key them by what
    produced the codes (checkpoint hash + dataset split) rather than by the codes.
    """
    c = np.asarray(codes)
    if not np.isfinite(c).all():
        raise ExplorerError("The codes contain NaN or infinite values; the model may have diverged.")
    # Integers in units of 1e-4: no -0.0 vs 0.0 byte difference, same bytes on every platform.
    q = np.ascontiguousarray(np.rint(c.astype(np.float64) * 1e4).astype("<i8"))
    h = hashlib.sha256(repr(tuple(c.shape)).encode())
    h.update(q.tobytes())
    return h.hexdigest()[:16]


def save_projection(path, codes_fingerprint: str, embedding) -> None:
    """Write a map embedding (N, 2) with the fingerprint of its codes to `path` (.npz), atomically.

    The file is written next to its destination and then renamed over it, so a reader never
    sees half a file and a crash leaves the old file in place.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    e = np.asarray(embedding, dtype=np.float32)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, embedding=e, fingerprint=np.array(str(codes_fingerprint)))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_projection(path, codes_fingerprint: str) -> np.ndarray | None:
    """The stored embedding (N, 2) float32 if `path` holds one for these codes, else None.

    None means "compute the map": the file is missing, was made for other codes (stale
    fingerprint), or cannot be read (corrupt or truncated; logged as a warning). A cache
    that cannot be read is not the user's problem, so this never raises for it.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            stored = str(data["fingerprint"])
            embedding = np.asarray(data["embedding"], dtype=np.float32)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("Ignoring unreadable map cache %s (%s); it will be recomputed.", path, exc)
        return None
    if stored != codes_fingerprint:
        return None
    if embedding.ndim != 2 or embedding.shape[1] != 2:
        log.warning("Ignoring map cache %s with embedding shape %s.", path, embedding.shape)
        return None
    return embedding


# ---------------------------------------------------------------- the Train page's replay of the latent map
#
# The Train page's replay: each epoch's codes of the same test digits are projected with their own PCA
# (2 axes), then every epoch's map is rotated/reflected onto the latest epoch's map by
# orthogonal Procrustes (same digits in both, so the best-fitting rotation is one SVD of a 2x2
# matrix). Rotation and reflection only, no scaling: PCA signs and axis order are arbitrary
# per epoch, so without this the replay would flip and spin; the spread of the codes is kept
# as it is, so a map that shrinks under a strong KL term is shown shrinking.


def project_2d(codes: np.ndarray) -> np.ndarray:
    """Codes (P, latent) -> (P, 2) on their own top two principal axes (1-D codes get y = 0)."""
    if codes.shape[1] == 1:
        centred = codes - codes.mean(0)
        return np.concatenate([centred, np.zeros_like(centred)], axis=1).astype(np.float32)
    return PCAProjector(2).fit_transform(codes)


def procrustes_align(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotate/reflect source (P, 2) onto target (P, 2), rows paired: the orthogonal R minimising ||source R - target||."""
    u, _, vt = np.linalg.svd(source.T.astype(np.float64) @ target.astype(np.float64))  # (2, 2)
    return (source @ (u @ vt)).astype(np.float32)
