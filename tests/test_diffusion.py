"""The diffusion prior: its schedule, the forward process in closed form, the seeded sampler, and its base codes."""

import numpy as np
import pytest
import torch
from standins import tiny_config

from explorer import checkpoints, diffusion
from explorer.errors import ExplorerError
from explorer.models import build_model


@pytest.fixture
def prior():
    model = build_model(tiny_config("latent_diffusion", latent_dim=3), seed=0).eval()
    return model.fit_scale(torch.randn(50, 3) * torch.tensor([1.0, 5.0, 0.1]) + 2)


def test_the_schedule_runs_from_clean_to_pure_noise():
    alpha_bar = diffusion.cosine_alpha_bar(1000)
    assert alpha_bar[0] == 1 and alpha_bar[-1] < 1e-4
    assert torch.all(alpha_bar[1:] < alpha_bar[:-1])


def test_forward_noising_step_by_step_matches_the_closed_form(prior):
    # Running q(x_t | x_{t-1}) = N(√(1-β_t) x_{t-1}, β_t I) t times lands where the closed form says:
    # mean √ᾱ_t x₀ and variance 1 - ᾱ_t.
    alpha_bar = prior.alpha_bar.double()
    x0 = torch.tensor([1.5, -0.5, 0.25], dtype=torch.float64)
    x = x0.repeat(200_000, 1)
    generator = torch.Generator().manual_seed(0)
    t = 60
    for step in range(1, t + 1):
        beta = 1 - alpha_bar[step] / alpha_bar[step - 1]
        x = (1 - beta).sqrt() * x + beta.sqrt() * torch.randn(x.shape, generator=generator, dtype=x.dtype)
    torch.testing.assert_close(x.mean(0), alpha_bar[t].sqrt() * x0, atol=0.01, rtol=0)
    torch.testing.assert_close(x.var(0), (1 - alpha_bar[t]).expand(3), atol=0.01, rtol=0)
    closed = prior.noisy(x0.float().repeat(4, 1), torch.full((4,), t), torch.zeros(4, 3))
    torch.testing.assert_close(closed, (alpha_bar[t].sqrt() * x0).float().repeat(4, 1))


def test_the_sampler_is_seeded_and_returns_the_whole_path(prior):
    path = prior.sample(5, steps=10, seed=3)
    assert path.shape == (11, 5, 3)
    torch.testing.assert_close(path, prior.sample(5, steps=10, seed=3))
    assert not torch.allclose(path, prior.sample(5, steps=10, seed=4))
    # The path starts at N(0, I) noise in standardized units, put back in the base's units.
    start = torch.randn(5, 3, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(path[0], prior.unstandardize(start))
    stochastic = prior.sample(5, steps=10, seed=3, eta=1.0)
    torch.testing.assert_close(stochastic, prior.sample(5, steps=10, seed=3, eta=1.0))
    assert not torch.allclose(stochastic[-1], path[-1])


@pytest.mark.parametrize("steps", [0, 1, 1001, 2.5, True])
def test_bad_step_counts_are_refused(prior, steps):
    with pytest.raises(ExplorerError, match="Sampling steps"):
        prior.sample(2, steps=steps)


def test_a_prior_trains_on_its_base_autoencoders_codes(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "DEFAULT_DIR", tmp_path)
    base = build_model(tiny_config("ae", latent_dim=3), seed=0)
    checkpoints.save(base, tmp_path / "tiny_ae")
    x = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    train_codes, test_codes = diffusion.base_codes(tiny_config("latent_diffusion", latent_dim=3, base="tiny_ae"), x, x[:2])
    with torch.no_grad():
        torch.testing.assert_close(train_codes, base.encode(x))
    assert test_codes.shape == (2, 3)
    with pytest.raises(ExplorerError, match="--latent-dim 3"):
        diffusion.base_codes(tiny_config("latent_diffusion", latent_dim=4, base="tiny_ae"), x)
