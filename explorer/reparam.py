"""The reparameterization trick made visible, with the real model's numbers.

A VAE's encoder gives μ and σ of q(z|x). Training needs a sample z from N(μ, σ²) *and* the
gradient of the loss with respect to μ and σ. Writing the sample as z = μ + σ·ε with
ε ~ N(0, I) drawn outside the graph makes z a differentiable function of μ and σ
(Kingma & Welling 2014, section 2.4): ∂z/∂μ = 1 and ∂z/∂σ = ε. Sampling z "directly" from
N(μ, σ²) gives a number with no path back to μ and σ. Everything here is computed by autograd.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .errors import ExplorerError
from .models import bernoulli_nll, kl_divergence

NOT_VARIATIONAL = ("This model has no variational head: its encoder gives one code per digit, not a distribution "
                   "(μ, σ), so there is nothing to sample and no reparameterization. Pick a VAE to see it.")


def _batch(model, image) -> torch.Tensor:
    return torch.as_tensor(np.asarray(image), dtype=torch.float32).reshape(1, *model.config.image_shape)


def check_variational(model) -> None:
    if not model.is_variational:
        raise ExplorerError(NOT_VARIATIONAL)


@dataclass
class Posterior:
    """q(z|x) = N(μ, diag σ²) of one digit, with each dimension's KL to N(0, 1)."""

    mu: np.ndarray  # (latent,)
    sigma: np.ndarray  # (latent,)
    kl: np.ndarray  # (latent,) nats, KL(N(μ_i, σ_i²) || N(0, 1))


@torch.no_grad()
def posterior(model, image) -> Posterior:
    """The encoder's μ, σ = exp(½ log σ²) and per-dimension KL for one image (C, H, W)."""
    check_variational(model)
    mu, logvar = model.encode_distribution(_batch(model, image))
    return Posterior(mu[0].numpy().copy(), torch.exp(0.5 * logvar[0]).numpy().copy(),
                     kl_divergence(mu, logvar)[0].numpy().copy())


def draw_epsilon(latent_dim: int, count: int, seed: int) -> np.ndarray:
    """`count` draws of ε ~ N(0, I), (count, latent), from a torch generator seeded with `seed`."""
    generator = torch.Generator().manual_seed(int(seed))
    return torch.randn(count, latent_dim, generator=generator).numpy()


def reparameterize(post: Posterior, epsilon: np.ndarray) -> np.ndarray:
    """z = μ + σ·ε for each row of ε (count, latent) -> (count, latent)."""
    return post.mu[None, :] + post.sigma[None, :] * epsilon


def ellipse(mu: np.ndarray, sigma: np.ndarray, radius: float = 1.0, points: int = 100) -> np.ndarray:
    """(points, 2) outline of {μ + radius·σ ⊙ (cos t, sin t)}: q(z|x)'s contour at `radius` standard
    deviations (its axes are the latent axes: the covariance is diagonal). Latent-2 only."""
    if len(mu) != 2:
        raise ExplorerError(f"An ellipse on the latent plane needs a 2-D latent; this model has {len(mu)}.")
    t = np.linspace(0, 2 * np.pi, points)
    return np.column_stack([mu[0] + radius * sigma[0] * np.cos(t), mu[1] + radius * sigma[1] * np.sin(t)])


@dataclass
class Gradients:
    """One seeded step of the VAE's loss for one digit, with every gradient autograd gives."""

    mu: np.ndarray
    sigma: np.ndarray
    epsilon: np.ndarray
    z: np.ndarray  # μ + σ·ε
    recon: float  # Bernoulli NLL of the digit decoded from z (nats)
    kl: float  # KL(q(z|x) || N(0, I)) summed over dimensions (nats)
    grad_z: np.ndarray  # ∂recon/∂z
    grad_mu_recon: np.ndarray  # ∂recon/∂μ through z: equals grad_z (∂z/∂μ = 1)
    grad_sigma_recon: np.ndarray  # ∂recon/∂σ through z: equals grad_z·ε (∂z/∂σ = ε)
    grad_mu_kl: np.ndarray  # ∂KL/∂μ = μ
    grad_sigma_kl: np.ndarray  # ∂KL/∂σ = σ - 1/σ
    grad_mu: np.ndarray  # ∂(recon + β·KL)/∂μ
    grad_sigma: np.ndarray  # ∂(recon + β·KL)/∂σ
    beta: float


def _leaves(post_mu, post_sigma) -> tuple[torch.Tensor, torch.Tensor]:
    mu = torch.tensor(post_mu, dtype=torch.float32, requires_grad=True)
    sigma = torch.tensor(post_sigma, dtype=torch.float32, requires_grad=True)
    return mu, sigma


def reparameterized_gradients(model, image, seed: int) -> Gradients:
    """Autograd through z = μ + σ·ε for one image: the loss reaches μ and σ. μ and σ are taken as
    leaves (the encoder's outputs for this digit), so the numbers are the gradients that flow on
    into the encoder's weights."""
    post = posterior(model, image)
    x = _batch(model, image)
    eps = torch.as_tensor(draw_epsilon(len(post.mu), 1, seed)[0])
    mu, sigma = _leaves(post.mu, post.sigma)
    z = mu + sigma * eps
    z.retain_grad()
    recon = bernoulli_nll(model.decode_logits(z[None]), x)
    grad_z, grad_mu_recon, grad_sigma_recon = torch.autograd.grad(recon, [z, mu, sigma], retain_graph=True)
    kl = kl_divergence(mu, 2 * torch.log(sigma)).sum()
    grad_mu_kl, grad_sigma_kl = torch.autograd.grad(kl, [mu, sigma], retain_graph=True)
    beta = float(model.config.beta)
    grad_mu, grad_sigma = torch.autograd.grad(recon + beta * kl, [mu, sigma])
    as_np = lambda t: t.detach().numpy().copy()  # noqa: E731
    return Gradients(post.mu, post.sigma, as_np(eps), as_np(z), float(recon.detach()), float(kl.detach()), as_np(grad_z),
                     as_np(grad_mu_recon), as_np(grad_sigma_recon), as_np(grad_mu_kl), as_np(grad_sigma_kl),
                     as_np(grad_mu), as_np(grad_sigma), beta)


@dataclass
class DirectSample:
    """z drawn straight from N(μ, σ²), and what autograd makes of it."""

    z: np.ndarray
    requires_grad: bool  # does z remember where it came from?
    grad_fn: str | None  # the op autograd would differentiate through (None: no path)
    grad_mu: np.ndarray | None  # ∂recon/∂μ, None when μ is not reached at all
    grad_sigma: np.ndarray | None


def direct_sample_gradients(model, image, seed: int) -> DirectSample:
    """Sample z ~ N(μ, σ²) the way torch.distributions.Normal(μ, σ).sample() does (torch.normal
    under no_grad: what "just draw z" means), seeded, and ask autograd for ∂recon/∂μ and ∂recon/∂σ:
    the sample is a fresh tensor with no path back."""
    post = posterior(model, image)
    mu, sigma = _leaves(post.mu, post.sigma)
    with torch.no_grad():
        z = torch.normal(mu, sigma, generator=torch.Generator().manual_seed(int(seed)))
    recon = bernoulli_nll(model.decode_logits(z[None]), _batch(model, image))
    grads = (None, None)
    if recon.requires_grad:
        grads = torch.autograd.grad(recon, [mu, sigma], allow_unused=True)
    grad_mu, grad_sigma = (None if g is None else g.numpy().copy() for g in grads)
    return DirectSample(z.numpy().copy(), bool(z.requires_grad),
                        type(z.grad_fn).__name__ if z.grad_fn is not None else None, grad_mu, grad_sigma)
