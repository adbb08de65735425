"""generate.py: paths between codes, prior samples, traversals, KL, grids, smoothness."""

import numpy as np
import pytest
import torch

from explorer.errors import ExplorerError
from explorer.generate import (
    active_units,
    dimension_order,
    edit_code,
    grid_coordinates,
    interpolate,
    interpolation_smoothness,
    kl_per_dimension,
    lerp,
    manifold_grid,
    sample_prior,
    slerp,
    traverse,
)

from standins import SIDE, TinyAE, TinyVAE


class FixedPosteriorVAE(TinyAE):
    """A VAE whose q(z|x) is the same N(mu, exp(logvar)) for every image."""

    is_variational = True

    def __init__(self, mu, logvar):
        super().__init__(latent_dim=len(mu))
        self.mu = torch.tensor(mu, dtype=torch.float32)
        self.logvar = torch.tensor(logvar, dtype=torch.float32)

    def encode_distribution(self, x):
        b = x.shape[0]
        return self.mu.expand(b, -1), self.logvar.expand(b, -1)

    def encode(self, x):
        return self.encode_distribution(x)[0]


class ScaledAE(TinyAE):
    """An AE whose code dimensions have known spreads: pixels 0..2 times (1, 3, 2)."""

    def encode(self, x):
        return x.flatten(1)[:, :3] * torch.tensor([1.0, 3.0, 2.0])


def rand_images(n, seed=1):
    return torch.rand(n, 1, SIDE, SIDE, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- lerp / slerp / interpolate


@pytest.mark.parametrize("path_fn", [lerp, slerp])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_paths_include_both_ends_exactly(path_fn, dtype):
    z0, z1 = np.array([1.0, -2.0, 0.5], dtype), np.array([0.3, 1.5, -1.0], dtype)
    path = path_fn(z0, z1, 7)
    assert path.shape == (7, 3) and path.dtype == dtype
    np.testing.assert_array_equal(path[0], z0)
    np.testing.assert_array_equal(path[-1], z1)


def test_lerp_is_evenly_spaced():
    path = lerp(np.zeros(2), np.array([4.0, -8.0]), 5)
    np.testing.assert_allclose(path, [[0, 0], [1, -2], [2, -4], [3, -6], [4, -8]])


def test_slerp_keeps_the_norm_of_equal_norm_ends():
    rng = np.random.default_rng(0)
    z0, z1 = rng.normal(size=16), rng.normal(size=16)
    z1 *= np.linalg.norm(z0) / np.linalg.norm(z1)
    path = slerp(z0, z1, 11)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(z0), rtol=1e-6)
    # ...where the straight line dips towards the origin.
    assert np.linalg.norm(lerp(z0, z1, 11)[5]) < np.linalg.norm(z0)


@pytest.mark.parametrize(
    "z0, z1",
    [([1.0, 2.0], [2.0, 4.0]), ([1.0, 2.0], [-1.0, -2.0]), ([0.0, 0.0], [1.0, 1.0])],
    ids=["parallel", "antiparallel", "zero"],
)
def test_slerp_falls_back_to_lerp(z0, z1):
    np.testing.assert_allclose(slerp(np.array(z0), np.array(z1), 5), lerp(np.array(z0), np.array(z1), 5))


@pytest.mark.parametrize("method", ["linear", "spherical"])
def test_interpolate_decodes_the_path_between_two_images(model, method):
    x = rand_images(2)
    codes, images = interpolate(model, x[0], x[1], steps=6, method=method)
    assert codes.shape == (6, 3) and images.shape == (6, 1, SIDE, SIDE)
    with torch.no_grad():
        ends = model.encode(x).numpy()
    np.testing.assert_allclose(codes[[0, -1]], ends, atol=1e-6)
    np.testing.assert_allclose(model.last_z.numpy(), codes, atol=1e-6)


@pytest.mark.parametrize("steps", [1, 0, 51, 2.5, True])
def test_interpolate_rejects_bad_step_counts(model, steps):
    x = rand_images(2)
    with pytest.raises(ExplorerError, match="steps"):
        interpolate(model, x[0], x[1], steps=steps)


def test_interpolate_rejects_unknown_method(model):
    x = rand_images(2)
    with pytest.raises(ExplorerError, match="linear"):
        interpolate(model, x[0], x[1], method="cubic")


# ---------------------------------------------------------------- sampling and editing


def test_sample_prior_is_seeded(model):
    codes, images = sample_prior(model, 5, seed=3)
    assert codes.shape == (5, 3) and images.shape == (5, 1, SIDE, SIDE)
    again_codes, again_images = sample_prior(model, 5, seed=3)
    np.testing.assert_array_equal(codes, again_codes)
    np.testing.assert_array_equal(images, again_images)
    assert not np.allclose(codes, sample_prior(model, 5, seed=4)[0])
    gen_codes, _ = sample_prior(model, 5, seed=torch.Generator().manual_seed(3))
    np.testing.assert_array_equal(codes, gen_codes)


def test_sample_prior_temperature_scales_the_codes(model):
    codes, _ = sample_prior(model, 4, seed=0)
    np.testing.assert_allclose(sample_prior(model, 4, seed=0, temperature=0.5)[0], codes * 0.5, rtol=1e-6)
    zero, _ = sample_prior(model, 4, seed=0, temperature=0.0)
    np.testing.assert_array_equal(zero, np.zeros((4, 3), np.float32))
    assert not np.signbit(zero).any()  # no -0.0 either


@pytest.mark.parametrize("kwargs", [{"n": 0}, {"n": 2, "temperature": -1.0}])
def test_sample_prior_rejects_bad_arguments(model, kwargs):
    with pytest.raises(ExplorerError):
        sample_prior(model, **kwargs)


@pytest.mark.parametrize("dim", [0, 2])
def test_traverse_changes_only_the_chosen_dimension(model, dim):
    code = np.array([0.5, -1.0, 2.0], np.float32)
    values = [-2.0, 0.0, 1.5, 3.0]
    images = traverse(model, code, dim, values)
    assert images.shape == (4, 1, SIDE, SIDE)
    decoded = model.last_z.numpy()
    np.testing.assert_array_equal(decoded[:, dim], values)
    others = [d for d in range(3) if d != dim]
    np.testing.assert_array_equal(decoded[:, others], np.tile(code[others], (4, 1)))


def test_traverse_rejects_a_dimension_out_of_range(model):
    with pytest.raises(ExplorerError, match="from 0 to 2"):
        traverse(model, np.zeros(3), 3, [0.0])


def test_edit_code_sets_the_given_dimensions(model):
    code = np.array([0.5, -1.0, 2.0], np.float32)
    image = edit_code(model, code, {0: 1.0, 2: -3.0})
    assert image.shape == (1, SIDE, SIDE)
    np.testing.assert_array_equal(model.last_z.numpy(), [[1.0, -1.0, -3.0]])
    np.testing.assert_array_equal(code, [0.5, -1.0, 2.0])  # the caller's code is not modified


# ---------------------------------------------------------------- KL and dimension ranking


def test_kl_matches_the_closed_form():
    mu, logvar = [0.0, 1.0, -2.0, 0.0], [0.0, 0.0, 0.5, -1.0]
    vae = FixedPosteriorVAE(mu, logvar)
    kl = kl_per_dimension(vae, rand_images(7))
    m, lv = np.array(mu), np.array(logvar)
    expected = 0.5 * (m**2 + np.exp(lv) - 1.0 - lv)
    assert kl.shape == (4,)
    np.testing.assert_allclose(kl, expected, rtol=1e-6, atol=1e-7)
    assert kl[0] == 0.0  # posterior == prior


def test_kl_batches_average_over_all_images():
    vae = TinyVAE().eval()
    x = rand_images(23)
    np.testing.assert_allclose(kl_per_dimension(vae, x, batch_size=4), kl_per_dimension(vae, x), rtol=1e-6)


def test_kl_needs_a_vae():
    with pytest.raises(ExplorerError, match="VAE"):
        kl_per_dimension(TinyAE().eval(), rand_images(3))


def test_active_units_counts_dimensions_above_the_threshold():
    kl = np.array([0.0, 0.005, 0.02, 1.3, 0.01])
    assert active_units(kl) == 2
    assert active_units(kl, threshold=0.001) == 4
    assert active_units(np.zeros(5)) == 0


def test_dimension_order_uses_kl_for_a_vae():
    vae = FixedPosteriorVAE([0.1, 2.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(dimension_order(vae, rand_images(5)), [1, 3, 0, 2])


def test_dimension_order_uses_code_variance_for_an_ae():
    np.testing.assert_array_equal(dimension_order(ScaledAE().eval(), rand_images(200)), [1, 2, 0])


# ---------------------------------------------------------------- grids


def test_even_grid_is_equally_spaced():
    g = grid_coordinates(5, 2.0, "even")
    np.testing.assert_allclose(g, [-2, -1, 0, 1, 2])


@pytest.mark.parametrize("n", [2, 7, 15])
def test_normal_grid_is_symmetric_with_wider_gaps_at_the_edges(n):
    g = grid_coordinates(n, 2.5, "normal")
    assert g.shape == (n,)
    assert g[0] == -2.5 and g[-1] == 2.5
    np.testing.assert_array_equal(g, -g[::-1])
    gaps = np.diff(g)
    assert (gaps > 0).all()
    half = gaps[: (n - 1) // 2]  # left half: gaps shrink towards the middle
    assert (np.diff(half) < 0).all()


def test_grid_of_one_point_is_the_center():
    np.testing.assert_array_equal(grid_coordinates(1, 2.0, "normal"), [0.0])


@pytest.mark.parametrize("args", [(0, 2.0, "even"), (5, 0.0, "even"), (5, 2.0, "log")])
def test_grid_rejects_bad_arguments(args):
    with pytest.raises(ExplorerError):
        grid_coordinates(*args)


@pytest.mark.parametrize("spacing", ["normal", "even"])
def test_manifold_grid_of_a_2d_model_is_exactly_the_grid(spacing):
    model = TinyVAE(latent_dim=2).eval()
    codes, images = manifold_grid(model, n=4, span=1.5, spacing=spacing)
    assert codes.shape == (16, 2) and images.shape == (16, 1, SIDE, SIDE)
    g = grid_coordinates(4, 1.5, spacing).astype(np.float32)
    grid = codes.reshape(4, 4, 2)  # (row, column, latent)
    np.testing.assert_array_equal(grid[:, :, 0], np.tile(g, (4, 1)))  # x grows to the right
    np.testing.assert_array_equal(grid[:, :, 1], np.tile(g[::-1, None], (1, 4)))  # top row = highest y
    np.testing.assert_array_equal(model.last_z.numpy(), codes)


def test_manifold_grid_slices_a_larger_latent_through_a_center():
    model = TinyAE(latent_dim=3).eval()
    center = np.array([1.0, -1.0, 0.5])
    u, v = np.array([2.0, 0.0, 0.0]), np.array([0.0, 1.0, 1.0])  # normalised inside
    codes, images = manifold_grid(model, n=3, span=1.0, spacing="even", center=center, directions=(u, v))
    assert codes.shape == (9, 3) and images.shape == (9, 1, SIDE, SIDE)
    offsets = codes - center
    a = offsets @ (u / np.linalg.norm(u))
    b = offsets @ (v / np.linalg.norm(v))
    np.testing.assert_allclose(a.reshape(3, 3), np.tile([-1, 0, 1], (3, 1)), atol=1e-6)
    np.testing.assert_allclose(b.reshape(3, 3), np.tile([[1], [0], [-1]], (1, 3)), atol=1e-6)
    np.testing.assert_allclose(codes[4], center, atol=1e-6)  # the middle cell is the center


def test_manifold_grid_rejects_parallel_directions():
    model = TinyAE(latent_dim=3).eval()
    with pytest.raises(ExplorerError, match="parallel"):
        manifold_grid(model, n=3, directions=([1.0, 0, 0], [-2.0, 0, 0]))


# ---------------------------------------------------------------- smoothness


def test_smoothness_is_zero_when_the_path_is_made_of_reference_images(model):
    xa, xb = rand_images(3, seed=1), rand_images(3, seed=2)
    reference = np.concatenate(
        [interpolate(model, a, b, steps=5)[1][1:-1] for a, b in zip(xa, xb)] + [rand_images(50, 3).numpy()]
    )
    assert interpolation_smoothness(model, xa, xb, reference, steps=5) == pytest.approx(0.0, abs=1e-3)


def test_smoothness_is_the_mean_rmse_to_the_nearest_reference(model):
    xa, xb, reference = rand_images(2, 1), rand_images(2, 2), rand_images(9, 3).numpy()
    inner = np.concatenate([interpolate(model, a, b, steps=4)[1][1:-1] for a, b in zip(xa, xb)])
    rmse = np.sqrt(((inner[:, None] - reference[None]) ** 2).mean(axis=(2, 3, 4)))  # (4, 9)
    expected = rmse.min(axis=1).mean()
    assert interpolation_smoothness(model, xa, xb, reference, steps=4) == pytest.approx(expected, rel=1e-4)


def test_smoothness_needs_an_intermediate_step(model):
    x = rand_images(2)
    with pytest.raises(ExplorerError, match="steps"):
        interpolation_smoothness(model, x[:1], x[1:], x, steps=2)


# ---------------------------------------------------------------- the Generate page's per-dimension statistics


def test_dimension_stats_use_the_prior_for_a_vae_and_the_codes_own_spread_for_an_ae(model):
    from explorer.generate import dimension_stats, kl_per_dimension

    x = rand_images(40)
    codes = model.encode(x).detach().numpy()
    stats = dimension_stats(model, x, codes)
    np.testing.assert_array_equal(stats["order"], dimension_order(model, x))
    np.testing.assert_allclose(stats["variance"], codes.var(axis=0))
    if model.is_variational:
        np.testing.assert_allclose(stats["kl"], kl_per_dimension(model, x))
        assert (stats["centre"] == 0).all() and (stats["sigma"] == 1).all()
    else:
        assert stats["kl"] is None
        np.testing.assert_allclose(stats["centre"], codes.mean(axis=0))
        np.testing.assert_allclose(stats["sigma"], np.maximum(codes.std(axis=0), 1e-3))


def test_slider_range_spans_three_sigma_and_widens_to_hold_the_digit():
    from explorer.generate import slider_range

    stats = {"centre": np.array([1.0]), "sigma": np.array([2.0])}
    assert slider_range(stats, 0, 1.5) == (-5.0, 7.0)
    assert slider_range(stats, 0, 9.0) == (-5.0, 9.0)
    assert slider_range(stats, 0, -8.0, sigmas=1.0) == (-8.0, 3.0)
