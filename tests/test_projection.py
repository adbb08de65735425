"""projection.py: PCA and UMAP maps of codes, placing new codes, caching maps on disk."""

import subprocess
import sys

import numpy as np
import pytest

from explorer.errors import ExplorerError
from explorer import projection
from explorer.projection import (
    PCAProjector,
    UMAPProjector,
    codes_fingerprint,
    k_nearest,
    load_projection,
    save_projection,
)


@pytest.fixture
def codes():
    rng = np.random.default_rng(0)
    # Anisotropic codes so the principal axes are well separated.
    return (rng.normal(size=(300, 5)) * [5.0, 3.0, 1.0, 0.5, 0.1] + 2.0).astype(np.float32)


def test_importing_projection_does_not_import_umap():
    # `import umap` takes seconds; it belongs inside UMAPProjector.fit only.
    script = "import sys, explorer.projection; print('umap' in sys.modules, 'streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------- PCA


def test_pca_shapes_and_explained_variance(codes):
    pca = PCAProjector().fit(codes)
    xy = pca.transform(codes)
    assert xy.shape == (300, 2) and xy.dtype == np.float32
    ratio = pca.explained_variance_ratio_
    assert ratio.shape == (2,) and ratio.sum() <= 1.0 and ratio[0] >= ratio[1] > 0
    np.testing.assert_allclose(PCAProjector(n_components=5).fit(codes).explained_variance_ratio_.sum(), 1.0)
    np.testing.assert_allclose(xy.mean(axis=0), 0.0, atol=1e-4)  # centred
    np.testing.assert_allclose(PCAProjector().fit_transform(codes), xy)


def test_pca_axes_are_the_top_eigenvectors_of_the_covariance(codes):
    pca = PCAProjector().fit(codes)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(codes.astype(np.float64), rowvar=False))
    top = eigenvectors[:, ::-1][:, :2].T  # (2, latent), largest eigenvalue first
    np.testing.assert_allclose(np.abs(pca.components_), np.abs(top), atol=1e-6)
    np.testing.assert_allclose(pca.explained_variance_, eigenvalues[::-1][:2], rtol=1e-6)
    np.testing.assert_allclose(pca.explained_variance_ratio_, eigenvalues[::-1][:2] / eigenvalues.sum(), rtol=1e-6)


def test_pca_sign_is_deterministic(codes):
    pca = PCAProjector().fit(codes)
    for axis in pca.components_:
        assert axis[np.abs(axis).argmax()] > 0  # largest loading positive
    shuffled = codes[np.random.default_rng(1).permutation(len(codes))]
    np.testing.assert_allclose(PCAProjector().fit(shuffled).components_, pca.components_, atol=1e-8)
    # Flipping the data does not flip the axes, so the map does not mirror between runs.
    np.testing.assert_allclose(PCAProjector().fit(-codes).components_, pca.components_, atol=1e-8)


def test_pca_axis_titles(codes):
    pca = PCAProjector().fit(codes)
    titles = pca.axis_titles()
    assert titles == [f"PC{i + 1} ({100 * r:.1f}% var)" for i, r in enumerate(pca.explained_variance_ratio_)]
    assert titles[0].startswith("PC1 (") and titles[0].endswith("% var)")


def test_pca_of_collapsed_codes_explains_nothing():
    pca = PCAProjector().fit(np.ones((10, 4)))
    np.testing.assert_array_equal(pca.explained_variance_ratio_, [0.0, 0.0])
    np.testing.assert_array_equal(pca.transform(np.ones((3, 4))), np.zeros((3, 2)))


def test_pca_errors(codes):
    with pytest.raises(ExplorerError, match="components"):
        PCAProjector(n_components=6).fit(codes)
    with pytest.raises(ExplorerError, match="fit"):
        PCAProjector().transform(codes)
    with pytest.raises(ExplorerError, match="recompute the map"):
        PCAProjector().fit(codes).transform(codes[:, :3])
    with pytest.raises(ExplorerError, match="NaN"):
        PCAProjector().fit(np.full((5, 3), np.nan))


# ---------------------------------------------------------------- UMAP placement (no umap needed)


def fake_embedding(codes):
    """A stand-in map: any fixed (N, 2) positions will do for testing placement."""
    return np.stack([codes[:, 0] + codes[:, 1], codes[:, 2] * codes[:, 3]], axis=1)


def test_reference_codes_land_on_their_own_position(codes):
    emb = fake_embedding(codes)
    projector = UMAPProjector.from_embedding(codes, emb)
    placed = projector.transform(codes[:10])
    assert placed.shape == (10, 2) and placed.dtype == np.float32
    np.testing.assert_allclose(placed, emb[:10], atol=1e-3)
    np.testing.assert_allclose(projector.transform(codes[0]), emb[:1], atol=1e-3)  # one code (latent,)


def test_placement_is_the_distance_weighted_mean_of_the_nearest_neighbours(codes):
    emb = fake_embedding(codes).astype(np.float32)
    new = np.random.default_rng(2).normal(size=(700, 5)).astype(np.float32) * 3  # > one chunk of queries
    projector = UMAPProjector.from_embedding(codes, emb, placement_neighbors=4)
    d = np.linalg.norm(new[:, None, :].astype(np.float64) - codes[None].astype(np.float64), axis=2)  # (700, 300)
    nearest = np.argsort(d, axis=1)[:, :4]
    w = 1.0 / (np.take_along_axis(d, nearest, axis=1) + 1e-8)
    expected = (w[:, :, None] * emb[nearest]).sum(axis=1) / w.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(projector.transform(new), expected, rtol=1e-4, atol=1e-4)


def test_placement_between_two_references_lies_between_them():
    ref = np.array([[0.0, 0.0], [10.0, 0.0]])
    projector = UMAPProjector.from_embedding(ref, [[0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(projector.transform([[5.0, 0.0]]), [[0.5, 0.5]], atol=1e-6)  # k capped at N
    np.testing.assert_allclose(projector.transform([[2.0, 0.0]]), [[0.2, 0.2]], atol=1e-6)  # weights 1/d
    assert projector.axis_titles() == ["UMAP-1", "UMAP-2"]


def test_umap_projector_errors(codes):
    with pytest.raises(ExplorerError, match="fit"):
        UMAPProjector().transform(codes)
    with pytest.raises(ExplorerError, match="one 2-D position per code"):
        UMAPProjector.from_embedding(codes, np.zeros((10, 2)))
    with pytest.raises(ExplorerError, match="recompute the map"):
        UMAPProjector.from_embedding(codes, fake_embedding(codes)).transform(codes[:, :4])


# ---------------------------------------------------------------- exact neighbours, and what fit hands to umap


@pytest.mark.parametrize("block", [10_000_000, 700])  # one block, or many blocks of 2 query rows
def test_k_nearest_matches_brute_force(codes, monkeypatch, block):
    monkeypatch.setattr(projection, "_DISTANCE_BLOCK", block)
    queries = np.random.default_rng(3).normal(size=(25, 5)).astype(np.float32) * 3
    indices, distances = k_nearest(queries, codes, 6)
    d = np.linalg.norm(queries[:, None].astype(np.float64) - codes[None].astype(np.float64), axis=2)
    expected = np.argsort(d, axis=1, kind="stable")[:, :6]
    assert indices.shape == distances.shape == (25, 6)
    assert indices.dtype == np.int32 and distances.dtype == np.float32
    np.testing.assert_array_equal(indices, expected)
    np.testing.assert_allclose(distances, np.take_along_axis(d, expected, axis=1), rtol=1e-5)


def test_k_nearest_of_the_reference_itself_starts_with_each_row(codes):
    indices, distances = k_nearest(codes, codes, 15)
    np.testing.assert_array_equal(indices[:, 0], np.arange(len(codes)))
    np.testing.assert_allclose(distances[:, 0], 0.0, atol=1e-3)
    assert (np.diff(distances, axis=1) >= 0).all()  # nearest first
    assert k_nearest(codes[:5], codes[:3], 10)[0].shape == (5, 3)  # k capped at the reference size


class FakeUMAP:
    """Records what UMAPProjector.fit asks of umap.UMAP."""

    last = None

    def __init__(self, **params):
        self.params = params
        FakeUMAP.last = self

    def fit_transform(self, codes):
        return codes[:, :2] * 2


@pytest.mark.parametrize("n", [4, 300])
def test_fit_hands_umap_the_exact_neighbours(codes, monkeypatch, n):
    monkeypatch.setattr(projection, "_import_umap", lambda: type("umap", (), {"UMAP": FakeUMAP}))
    projector = UMAPProjector(n_neighbors=15, n_epochs=123, init="pca", random_state=7).fit(codes[:n])
    params = FakeUMAP.last.params
    indices, distances, index = params["precomputed_knn"]
    k = min(15, n - 1)  # umap counts the point itself among its neighbours
    assert params["n_neighbors"] == k and indices.shape == (n, k) and index is None
    np.testing.assert_array_equal(indices, k_nearest(codes[:n], codes[:n], k)[0])
    assert (params["n_epochs"], params["init"], params["random_state"], params["n_jobs"]) == (123, "pca", 7, 1)
    np.testing.assert_allclose(projector.embedding_, codes[:n, :2] * 2)


def test_fit_leaves_big_sets_to_umaps_own_neighbour_search(codes, monkeypatch):
    monkeypatch.setattr(projection, "_import_umap", lambda: type("umap", (), {"UMAP": FakeUMAP}))
    monkeypatch.setattr(projection, "EXACT_NEIGHBORS_MAX", 100)
    UMAPProjector().fit(codes)
    assert FakeUMAP.last.params["precomputed_knn"] == (None, None, None)


@pytest.mark.slow
def test_umaps_numba_functions_are_cached_on_disk():
    from numba.core.caching import NullCache

    umap = projection._import_umap()
    for function in (umap.umap_.smooth_knn_dist, umap.umap_.compute_membership_strengths,
                     umap.layouts._nb_optimize_layout_euclidean_single_epoch):
        assert not isinstance(function._cache, NullCache)


@pytest.mark.slow
def test_real_umap_fit_on_a_small_set():
    # One small fit: the first fit in a process spends ~40 s compiling numba code.
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 6)) * 6
    codes = (centres.repeat(50, axis=0) + rng.normal(size=(200, 6))).astype(np.float32)
    projector = UMAPProjector(n_neighbors=10, random_state=0).fit(codes)
    assert projector.embedding_.shape == (200, 2) and np.isfinite(projector.embedding_).all()
    np.testing.assert_allclose(projector.transform(codes[:10]), projector.embedding_[:10], atol=1e-3)
    # Well separated clusters stay apart: each point's nearest map neighbour is in its own cluster.
    e = projector.embedding_
    d = np.linalg.norm(e[:, None] - e[None], axis=2) + np.eye(200) * 1e9
    assert (d.argmin(axis=1) // 50 == np.arange(200) // 50).mean() > 0.95


# ---------------------------------------------------------------- fingerprints and the map cache


def test_fingerprint_identifies_codes(codes):
    fp = codes_fingerprint(codes)
    assert len(fp) == 16 and int(fp, 16) >= 0
    assert codes_fingerprint(codes.copy()) == fp
    assert codes_fingerprint(codes.astype(np.float64)) == fp  # same values, other dtype
    assert codes_fingerprint(codes + 1e-3) != fp
    assert codes_fingerprint(codes.reshape(150, 10)) != fp


def test_fingerprint_ignores_noise_below_the_rounding_and_signed_zero():
    codes = np.array([[0.12340, -0.00001, 0.0]])
    assert codes_fingerprint(codes) == codes_fingerprint(np.array([[0.1234001, 0.0, -0.0]]))


def test_save_and_load_round_trip(tmp_path, codes):
    emb = fake_embedding(codes).astype(np.float32)
    fp = codes_fingerprint(codes)
    path = tmp_path / "maps" / "umap.npz"  # the folder is created
    save_projection(path, fp, emb)
    np.testing.assert_array_equal(load_projection(path, fp), emb)
    save_projection(path, fp, emb * 2)  # overwrite in place
    np.testing.assert_array_equal(load_projection(path, fp), emb * 2)
    assert [p.name for p in path.parent.iterdir()] == ["umap.npz"]  # no temp files left behind


def test_load_returns_none_for_a_missing_or_stale_map(tmp_path, codes):
    path = tmp_path / "umap.npz"
    assert load_projection(path, "0" * 16) is None
    save_projection(path, codes_fingerprint(codes), fake_embedding(codes))
    assert load_projection(path, codes_fingerprint(codes + 1.0)) is None


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "pickle", "wrong_keys"])
def test_load_returns_none_for_an_unreadable_map(tmp_path, codes, damage, caplog):
    path = tmp_path / "umap.npz"
    fp = codes_fingerprint(codes)
    save_projection(path, fp, fake_embedding(codes))
    if damage == "garbage":
        path.write_bytes(b"not a zip file at all")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "pickle":  # an object array needs pickle, which is never allowed
        np.savez(path, embedding=np.array([object()], dtype=object), fingerprint=np.array(fp))
    elif damage == "wrong_keys":
        np.savez(path, something=np.zeros(3))
    assert load_projection(path, fp) is None
    assert "recomputed" in caplog.text
