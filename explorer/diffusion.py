"""A denoising diffusion prior over an autoencoder's codes: the "latent diffusion" recipe, small.

A frozen AE or VAE turns digits into codes; this model learns to turn Gaussian noise into codes like
them, step by step, and the autoencoder's decoder draws the result. Training (Ho et al. 2020, DDPM):
take a code x₀, a time t and noise ε, form x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε (the forward process in closed
form) and teach an MLP to predict ε from (x_t, t). Sampling runs the process backwards over a chosen
number of the T training times (DDIM's update, Song et al. 2021; `eta` = 1 adds DDPM's fresh noise).

Codes are standardized per dimension before diffusion (an AE's codes have any scale), so N(0, I) is
where the reverse process starts whichever autoencoder the prior belongs to.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .errors import ExplorerError

MIN_SAMPLE_STEPS, MAX_SAMPLE_STEPS = 2, 1000
DEFAULT_SAMPLE_STEPS = 50
TIME_FEATURES = 64
X0_RANGE = 5.0  # standardized codes: the sampler's estimate of x₀ is kept within ±5 σ of the codes' mean


def cosine_alpha_bar(timesteps: int, offset: float = 0.008) -> torch.Tensor:
    """ᾱ_t for t = 0..T (T + 1 values, ᾱ_0 = 1): Nichol & Dhariwal's cosine schedule, whose noise grows
    slowly at both ends, so few steps are wasted on pure noise. Each β_t is capped at 0.999."""
    s = torch.linspace(0, 1, timesteps + 1, dtype=torch.float64)
    f = torch.cos((s + offset) / (1 + offset) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    betas = (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999)
    return torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1 - betas, 0)])


def time_embedding(t: torch.Tensor, timesteps: int, features: int = TIME_FEATURES) -> torch.Tensor:
    """Sinusoidal features of times t (B,) in 0..T -> (B, features), as a transformer embeds positions."""
    half = features // 2
    frequencies = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device) / half)
    angles = (t.float() / timesteps * 1000)[:, None] * frequencies[None]  # (B, half)
    return torch.cat([angles.sin(), angles.cos()], 1)


class ResidualBlock(nn.Module):
    """h + MLP(h, time): the time enters every block, so each layer knows how noisy its input is."""

    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.inner = nn.Linear(width, width)
        self.time = nn.Linear(width, width)
        self.outer = nn.Linear(width, width)

    def forward(self, h: torch.Tensor, t_features: torch.Tensor) -> torch.Tensor:
        return h + self.outer(nn.functional.silu(self.inner(nn.functional.silu(self.norm(h))) + self.time(t_features)))


class LatentDiffusion(nn.Module):
    """ε-prediction MLP over standardized codes. config: latent_dim (the base's), hidden (one residual block
    per entry, width hidden[0]), timesteps (T), base (the autoencoder checkpoint whose codes it models)."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        width, latent = config.hidden[0], config.latent_dim
        self.time = nn.Sequential(nn.Linear(TIME_FEATURES, width), nn.SiLU(), nn.Linear(width, width), nn.SiLU())
        self.inp = nn.Linear(latent, width)
        self.blocks = nn.ModuleList(ResidualBlock(width) for _ in config.hidden)
        self.out = nn.Sequential(nn.LayerNorm(width), nn.SiLU(), nn.Linear(width, latent))
        # The codes' mean and spread, measured on the training codes and saved with the weights.
        self.register_buffer("code_mean", torch.zeros(latent))
        self.register_buffer("code_std", torch.ones(latent))
        self.register_buffer("alpha_bar", cosine_alpha_bar(config.timesteps).float(), persistent=False)  # from T alone

    @property
    def is_variational(self) -> bool:
        return False

    def fit_scale(self, codes: torch.Tensor) -> "LatentDiffusion":
        """Remember the per-dimension mean and spread of the training codes (N, latent)."""
        codes = torch.as_tensor(codes, dtype=torch.float32)
        self.code_mean.copy_(codes.mean(0))
        self.code_std.copy_(codes.std(0).clamp(min=1e-4))
        return self

    def standardize(self, codes: torch.Tensor) -> torch.Tensor:
        return (codes - self.code_mean) / self.code_std

    def unstandardize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.code_std + self.code_mean

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Predicted noise ε̂ (B, latent) in standardized noisy codes x_t (B, latent) at times t (B,)."""
        t_features = self.time(time_embedding(t, self.config.timesteps))
        h = self.inp(x_t)
        for block in self.blocks:
            h = block(h, t_features)
        return self.out(h)

    def noisy(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """The forward process in closed form: x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε, for x₀ (B, latent), t (B,)."""
        alpha_bar = self.alpha_bar[t][:, None]
        return alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise

    def loss(self, x: torch.Tensor, labels: torch.Tensor | None = None,
             generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """DDPM's simple loss on codes x (B, latent): squared error of the predicted noise, summed over the
        code's dimensions, mean over the batch (times drawn uniformly from 1..T)."""
        x0 = self.standardize(x)
        t = torch.randint(1, self.config.timesteps + 1, (len(x0),), generator=generator, device=x0.device)
        noise = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
        error = (self(self.noisy(x0, t, noise), t) - noise).pow(2).sum(1).mean()
        return {"total": error}

    @torch.inference_mode()
    def sample(self, n: int, steps: int = DEFAULT_SAMPLE_STEPS, seed: int | torch.Generator = 0,
               eta: float = 0.0) -> torch.Tensor:
        """The reverse process from N(0, I) over `steps` evenly spaced times -> path (steps + 1, n, latent)
        of codes in the base autoencoder's units; path[0] is the noise, path[-1] the samples.

        Seeded (an int or a CPU torch.Generator): the same seed, steps and eta give the same path.
        """
        steps = check_sample_steps(steps)
        generator = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(int(seed))
        device = self.alpha_bar.device
        times = torch.linspace(self.config.timesteps, 0, steps + 1).round().long().tolist()  # T ... 0
        x = torch.randn(int(n), self.config.latent_dim, generator=generator).to(device)
        path = [x]
        for t, t_next in zip(times, times[1:]):
            x = self._step(x, t, t_next, eta, generator)
            path.append(x)
        return self.unstandardize(torch.stack(path)).cpu()

    def _step(self, x: torch.Tensor, t: int, t_next: int, eta: float, generator: torch.Generator) -> torch.Tensor:
        """One DDIM update from time t to the earlier time t_next (standardized codes (n, latent))."""
        a, a_next = self.alpha_bar[t], self.alpha_bar[t_next]
        eps = self(x, torch.full((len(x),), t, device=x.device))
        # Near t = T, √ᾱ_t is ~0.003: dividing by it magnifies the noise estimate's error ~300 times and throws
        # the code far off the data. Keep the estimate of x₀ where standardized codes live (as DDPM clips
        # images to [-1, 1]) and take the noise that goes with it.
        x0 = ((x - (1 - a).sqrt() * eps) / a.sqrt()).clamp(-X0_RANGE, X0_RANGE)
        eps = (x - a.sqrt() * x0) / (1 - a).sqrt()
        sigma = eta * ((1 - a_next) / (1 - a) * (1 - a / a_next)).clamp(min=0).sqrt()
        direction = (1 - a_next - sigma ** 2).clamp(min=0).sqrt() * eps
        noise = torch.randn(x.shape, generator=generator).to(x.device) if eta > 0 and t_next > 0 else 0
        return a_next.sqrt() * x0 + direction + sigma * noise


def check_sample_steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) \
            or not MIN_SAMPLE_STEPS <= steps <= MAX_SAMPLE_STEPS:
        raise ExplorerError(f"Sampling steps must be a whole number from {MIN_SAMPLE_STEPS} to {MAX_SAMPLE_STEPS}; "
                            f"got {steps!r}.")
    return int(steps)


def path_points(path: torch.Tensor | np.ndarray, count: int) -> np.ndarray:
    """Indices of `count` evenly spaced points along a path of length L (first and last included)."""
    length = len(path)
    return np.unique(np.linspace(0, length - 1, min(count, length)).round().astype(int))


def base_autoencoder(config):
    """The autoencoder checkpoint a prior belongs to (config.base, a name in the checkpoints folder), loaded."""
    from . import checkpoints

    base = checkpoints.load(checkpoints.resolve(checkpoints.check_name(config.base)))
    if not base.config.spec.is_plain_autoencoder:
        raise ExplorerError(f"{config.base} is a {base.config.spec.description}, not an autoencoder: "
                            "a diffusion prior models an AE's or VAE's codes.")
    if base.config.latent_dim != config.latent_dim:
        raise ExplorerError(f"{config.base} has {base.config.latent_dim}-number codes; train the prior with "
                            f"--latent-dim {base.config.latent_dim}.")
    return base


def base_codes(config, x_train: torch.Tensor, x_test: torch.Tensor | None = None):
    """What a prior trains on: its base autoencoder's codes (μ for a VAE) of the training and test images."""
    from .latents import encode_dataset

    model = base_autoencoder(config).model
    codes = [None if x is None else torch.from_numpy(encode_dataset(model, x)) for x in (x_train, x_test)]
    return codes[0], codes[1]


def evaluate(prior: LatentDiffusion, dataset) -> dict[str, float]:
    """The denoising loss on the test digits' codes (squared error of the predicted noise, summed over
    the code; lower is better). How good its samples look is bench/generation_quality.py's question."""
    from .train import evaluate_loss

    _, test_codes = base_codes(prior.config, dataset.x_train[:1], dataset.x_test)
    return {"noise_error": evaluate_loss(prior, test_codes)["total"]}


def route_codes(latent_dim: int, n: int, seed: int, prior: LatentDiffusion | None = None,
                steps: int = DEFAULT_SAMPLE_STEPS) -> np.ndarray:
    """n codes (n, latent) from N(0, I) (prior None) or from the diffusion prior, both from `seed`:
    the same noise starts both routes, so their pictures can be compared one by one."""
    if prior is None:
        return torch.randn(int(n), latent_dim, generator=torch.Generator().manual_seed(int(seed))).numpy()
    return prior.sample(n, steps, seed)[-1].numpy()
