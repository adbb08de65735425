"""The reparameterization trick: the model's real μ and σ, seeded ε, and gradients from autograd."""

import numpy as np
import pytest
import torch

from explorer import bottleneck_figures, checkpoints, reparam
from explorer.errors import ExplorerError
from explorer.models import ModelConfig, build_model


def small_vae(latent=2):
    return build_model(ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=latent, hidden=(16,)), seed=0).eval()


@pytest.fixture
def digit():
    return torch.rand(1, 8, 8, generator=torch.Generator().manual_seed(2))


@pytest.fixture(scope="module")
def vae_2():
    from conftest import ROOT

    return checkpoints.load(ROOT / "checkpoints" / "vae_2").model


def true_posterior(model, image):
    with torch.no_grad():
        mu, logvar = model.encode_distribution(torch.as_tensor(image).reshape(1, *model.config.image_shape))
    return mu[0].numpy(), torch.exp(0.5 * logvar[0]).numpy()


def test_posterior_is_the_encoders_mu_and_sigma(digit):
    model = small_vae(3)
    post = reparam.posterior(model, digit)
    mu, sigma = true_posterior(model, digit)
    np.testing.assert_allclose(post.mu, mu, rtol=1e-6)
    np.testing.assert_allclose(post.sigma, sigma, rtol=1e-6)
    np.testing.assert_allclose(post.kl, 0.5 * (mu**2 + sigma**2 - 1 - np.log(sigma**2)), rtol=1e-4, atol=1e-6)


def test_epsilon_draws_are_seeded():
    a, b, c = (reparam.draw_epsilon(4, 6, seed) for seed in (5, 5, 6))
    assert a.shape == (6, 4)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_samples_are_mu_plus_sigma_epsilon(digit):
    post = reparam.posterior(small_vae(), digit)
    eps = reparam.draw_epsilon(2, 5, 0)
    np.testing.assert_allclose(reparam.reparameterize(post, eps), post.mu + post.sigma * eps, rtol=1e-6)


def test_ellipse_is_centred_on_mu_with_sigma_half_widths():
    mu, sigma = np.array([1.0, -2.0]), np.array([0.5, 0.1])
    outline = reparam.ellipse(mu, sigma, radius=2.0)
    np.testing.assert_allclose(outline.max(0) - outline.min(0), 4 * sigma, rtol=1e-3)
    np.testing.assert_allclose((outline.max(0) + outline.min(0)) / 2, mu, atol=1e-3)
    with pytest.raises(ExplorerError, match="2-D"):
        reparam.ellipse(np.zeros(3), np.ones(3))


def test_the_gradient_reaches_mu_and_sigma_through_z(digit):
    model = small_vae(3)
    grads = reparam.reparameterized_gradients(model, digit, seed=1)
    np.testing.assert_allclose(grads.z, grads.mu + grads.sigma * grads.epsilon, rtol=1e-6)
    np.testing.assert_allclose(grads.epsilon, reparam.draw_epsilon(3, 1, 1)[0])
    np.testing.assert_allclose(grads.grad_mu_recon, grads.grad_z, rtol=1e-5)  # ∂z/∂μ = 1
    np.testing.assert_allclose(grads.grad_sigma_recon, grads.grad_z * grads.epsilon, rtol=1e-5, atol=1e-6)  # ∂z/∂σ = ε
    np.testing.assert_allclose(grads.grad_mu_kl, grads.mu, rtol=1e-5)
    np.testing.assert_allclose(grads.grad_sigma_kl, grads.sigma - 1 / grads.sigma, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grads.grad_mu, grads.grad_mu_recon + grads.grad_mu_kl, rtol=1e-5)
    assert np.abs(grads.grad_z).sum() > 0  # a real signal, not zeros
    # The loss is the decoder's Bernoulli NLL at that z: the same number model.loss gives with the same seed.
    expected = model.loss(digit[None], generator=torch.Generator().manual_seed(1))
    assert grads.recon == pytest.approx(float(expected["recon"].detach()), rel=1e-5)


def test_a_direct_sample_has_no_gradient_path(digit):
    direct = reparam.direct_sample_gradients(small_vae(), digit, seed=0)
    assert direct.requires_grad is False and direct.grad_fn is None
    assert direct.grad_mu is None and direct.grad_sigma is None
    assert direct.z.shape == (2,)


def test_a_plain_autoencoder_gets_a_sentence_not_a_traceback(digit):
    ae = build_model(ModelConfig(kind="ae", image_shape=(1, 8, 8), latent_dim=2, hidden=(16,)), seed=0)
    with pytest.raises(ExplorerError, match="no variational head"):
        reparam.posterior(ae, digit)


def test_the_plane_draws_vae_2s_real_mu_sigma_and_samples(vae_2):
    from explorer import data

    image = data.load_dataset("mnist5k").x_test[7]
    mu, sigma = true_posterior(vae_2, image)
    post = reparam.posterior(vae_2, image)
    samples = reparam.reparameterize(post, reparam.draw_epsilon(2, 8, 3))
    others = np.random.default_rng(0).normal(size=(50, 2))
    fig = bottleneck_figures.posterior_figure(others, np.zeros(50, int), [str(i) for i in range(10)], post, samples,
                                              zoom=True)
    traces = {t.name: t for t in fig.data}
    ring = np.column_stack([traces["μ ± 1σ"].x, traces["μ ± 1σ"].y])
    np.testing.assert_allclose(ring.max(0) - ring.min(0), 2 * sigma, rtol=1e-3)
    np.testing.assert_allclose((ring.max(0) + ring.min(0)) / 2, mu, atol=1e-4)
    np.testing.assert_allclose([traces["μ"].x[0], traces["μ"].y[0]], mu, rtol=1e-6)
    drawn = np.column_stack([traces["z = μ + σ·ε"].x, traces["z = μ + σ·ε"].y])
    np.testing.assert_allclose(drawn, mu + sigma * reparam.draw_epsilon(2, 8, 3), rtol=1e-5)
    # Zoomed around the digit: the axes hold the 2σ ellipse, not the whole map.
    x_range = fig.layout.xaxis.range
    assert x_range[0] < mu[0] - 2 * sigma[0] and x_range[1] > mu[0] + 2 * sigma[0]
    assert x_range[1] - x_range[0] < np.ptp(others[:, 0])


def test_dimension_figure_and_graphs_carry_the_computed_numbers(digit):
    model = small_vae(4)
    post = reparam.posterior(model, digit)
    fig = bottleneck_figures.dimension_figure(post)
    mine = next(t for t in fig.data if t.name == "this digit: μ ± σ")
    np.testing.assert_allclose(mine.y, post.mu)
    np.testing.assert_allclose(mine.error_y.array, post.sigma)
    np.testing.assert_allclose(next(t for t in fig.data if t.name == "KL (nats)").y, post.kl)
    grads = reparam.reparameterized_gradients(model, digit, seed=0)
    dot = bottleneck_figures.gradient_graph(grads)
    assert f"{grads.grad_z[0]:.3g}" in dot and f"{grads.grad_sigma_recon[1]:.3g}" in dot
    direct = bottleneck_figures.direct_graph(reparam.direct_sample_gradients(model, digit, seed=0))
    assert "∂L/∂μ: none" in direct and "grad_fn: none" in direct
