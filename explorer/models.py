"""Autoencoders with one interface: encode(x) -> z, decode(z) -> x̂, loss(x) -> dict of terms.

Every model is rebuilt from its `ModelConfig` alone (see checkpoints.py), so the config
holds every architectural choice. Images are (B, C, H, W) floats in [0, 1].
"""

from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from .errors import ExplorerError

MODEL_KINDS = ("ae", "dae", "vae", "conv_ae", "conv_vae")
NOISE_KINDS = ("gaussian", "mask")
MAX_LATENT = 512


@dataclass
class ModelConfig:
    kind: str = "vae"
    image_shape: tuple[int, int, int] = (1, 28, 28)
    latent_dim: int = 32
    hidden: tuple[int, ...] = (256, 128, 64)  # MLP widths; mirrored in the decoder
    channels: tuple[int, ...] = (32, 64)  # conv widths, each a stride-2 conv
    convs_per_scale: int = 1  # conv layers at each resolution: the stride-2 one plus extra 3x3 stride-1 ones
    beta: float = 1.0  # weight of the KL term (VAEs); 1 is the textbook ELBO
    noise: str = "gaussian"  # corruption applied in training (DAE)
    noise_level: float = 0.3  # Gaussian σ, or the fraction of pixels masked

    def __post_init__(self):
        self.image_shape = tuple(int(s) for s in self.image_shape)
        self.hidden = tuple(int(h) for h in self.hidden)
        self.channels = tuple(int(c) for c in self.channels)
        self.validate()

    def validate(self) -> None:
        """All architecture checks live here, with messages that say what to change."""
        if self.kind not in MODEL_KINDS:
            raise ExplorerError(f"Unknown model kind {self.kind!r}. Choose one of: {', '.join(MODEL_KINDS)}.")
        if not isinstance(self.latent_dim, int) or not 1 <= self.latent_dim <= MAX_LATENT:
            raise ExplorerError(f"Latent size must be a whole number from 1 to {MAX_LATENT}, got {self.latent_dim!r}.")
        c, h, w = self.image_shape
        if len(self.image_shape) != 3 or not (1 <= c <= 4 and 4 <= h <= 256 and 4 <= w <= 256):
            raise ExplorerError(f"Image shape {self.image_shape} is not a (channels, height, width) we support.")
        if not self.hidden or any(not 1 <= n <= 8192 for n in self.hidden):
            raise ExplorerError(f"Hidden widths must be 1..8192, got {self.hidden}.")
        if self.is_conv:
            if not self.channels or any(not 1 <= n <= 1024 for n in self.channels):
                raise ExplorerError(f"Conv channels must be 1..1024, got {self.channels}.")
            if not isinstance(self.convs_per_scale, int) or not 1 <= self.convs_per_scale <= 4:
                raise ExplorerError(f"Convs per scale must be 1-4, got {self.convs_per_scale!r}.")
            if min(h, w) >> len(self.channels) < 1:
                raise ExplorerError(f"{len(self.channels)} stride-2 convs are too many for {h}x{w} images.")
        if not (math.isfinite(self.beta) and 0 <= self.beta <= 1000):
            raise ExplorerError(f"β must be between 0 and 1000, got {self.beta}.")
        if self.noise not in NOISE_KINDS:
            raise ExplorerError(f"Unknown noise {self.noise!r}. Choose one of: {', '.join(NOISE_KINDS)}.")
        if not 0 <= self.noise_level <= 1:
            raise ExplorerError(f"Noise level must be between 0 and 1, got {self.noise_level}.")

    @property
    def is_variational(self) -> bool:
        return self.kind in ("vae", "conv_vae")

    @property
    def is_conv(self) -> bool:
        return self.kind.startswith("conv")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ExplorerError(f"Model config has unknown fields {sorted(unknown)}.")
        return cls(**data)


def mlp(widths: list[int]) -> nn.Sequential:
    """Linear layers with ReLU between them (none after the last)."""
    layers = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class MLPCoder(nn.Module):
    """Encoder body and decoder for the MLP models: pixels -> features, latent -> logits."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        pixels = math.prod(config.image_shape)
        self.body = nn.Sequential(nn.Flatten(), mlp([pixels, *config.hidden]), nn.ReLU())
        self.features = config.hidden[-1]
        self.decoder = nn.Sequential(
            mlp([config.latent_dim, *reversed(config.hidden), pixels]), nn.Unflatten(1, config.image_shape)
        )


class ConvCoder(nn.Module):
    """Stride-2 convs (each halves H and W) down, transposed convs back up.

    With `convs_per_scale` > 1, each resolution also gets 3x3 stride-1 convs (after the
    downsampling conv in the encoder, before the upsampling one in the decoder): more depth
    where the decoder paints strokes, at the same code size.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        c, h, w = config.image_shape
        widths = [c, *config.channels]
        extra = config.convs_per_scale - 1
        # Record each level's size so odd sizes (28 -> 14 -> 7 -> 4) come back exactly.
        sizes = [(h, w)]
        down = []
        for a, b in zip(widths, widths[1:]):
            down += [nn.Conv2d(a, b, 3, stride=2, padding=1), nn.ReLU()]
            down += same_size_convs(b, extra)
            sizes.append(((sizes[-1][0] + 1) // 2, (sizes[-1][1] + 1) // 2))
        self.body = nn.Sequential(*down, nn.Flatten())
        bottom = (widths[-1], *sizes[-1])
        self.features = math.prod(bottom)
        up = [nn.Linear(config.latent_dim, self.features), nn.ReLU(), nn.Unflatten(1, bottom)]
        for i, (a, b) in enumerate(zip(widths[::-1], widths[::-1][1:])):
            target_h, target_w = sizes[-2 - i]
            bigger_h, bigger_w = sizes[-1 - i]
            output_padding = (target_h - (2 * bigger_h - 1), target_w - (2 * bigger_w - 1))
            up += same_size_convs(a, extra)
            up.append(nn.ConvTranspose2d(a, b, 3, stride=2, padding=1, output_padding=output_padding))
            if i < len(widths) - 2:
                up.append(nn.ReLU())
        self.decoder = nn.Sequential(*up)


def same_size_convs(channels: int, count: int) -> list[nn.Module]:
    """`count` 3x3 stride-1 convs with ReLU, keeping channels and size."""
    layers = []
    for _ in range(count):
        layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU()]
    return layers


class Autoencoder(nn.Module):
    """AE, denoising AE and VAE, with an MLP or convolutional coder chosen by config.kind."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        coder = ConvCoder(config) if config.is_conv else MLPCoder(config)
        self.body = coder.body
        self.to_mu = nn.Linear(coder.features, config.latent_dim)
        # A VAE's second head gives log σ² of q(z|x); a plain AE has none.
        self.to_logvar = nn.Linear(coder.features, config.latent_dim) if config.is_variational else None
        self.decoder = coder.decoder

    @property
    def is_variational(self) -> bool:
        return self.config.is_variational

    def encode_distribution(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, C, H, W) -> (μ, log σ²), each (B, latent). VAEs only."""
        h = self.body(x)
        return self.to_mu(h), self.to_logvar(h)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) -> z (B, latent); a VAE returns μ, so codes don't jitter."""
        return self.to_mu(self.body(x))

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, latent) -> x̂ (B, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.decoder(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    @staticmethod
    def reparameterize(mu, logvar, generator: torch.Generator | None = None) -> torch.Tensor:
        """z = μ + σ·ε with ε ~ N(0, I): sampling that gradients can flow through (Kingma & Welling 2014)."""
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def corrupt(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The denoising AE's training corruption: Gaussian noise or random pixel masking."""
        draw = dict(generator=generator, device=x.device, dtype=x.dtype)
        if self.config.noise == "gaussian":
            return (x + self.config.noise_level * torch.randn(x.shape, **draw)).clamp(0, 1)
        return x * (torch.rand(x.shape, **draw) >= self.config.noise_level)

    def loss(self, x: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Loss terms, each a mean over the batch of per-image sums (nats per image).

        `recon` is the Bernoulli negative log-likelihood (BCE summed over pixels). VAEs add
        `kl` = KL(q(z|x) || N(0, I)) and total = recon + β·kl; with β = 1 that is the negative
        ELBO (Kingma & Welling 2014, appendix B). A VAE always samples z, in eval mode too, so
        the test loss is an honest one-sample ELBO estimate; pass `generator` to make it repeatable.
        The DAE's corruption and the VAE's sampling draw from `generator` (default: torch's global one).
        """
        source = self.corrupt(x, generator) if self.config.kind == "dae" and self.training else x
        if self.is_variational:
            mu, logvar = self.encode_distribution(source)
            z = self.reparameterize(mu, logvar, generator)
            kl = kl_divergence(mu, logvar).sum(1).mean()
        else:
            z = self.encode(source)
        logits = self.decode_logits(z)
        recon = bernoulli_nll(logits, x) / len(x)
        if not self.is_variational:
            return {"total": recon, "recon": recon}
        return {"total": recon + self.config.beta * kl, "recon": recon, "kl": kl}


class BernoulliNLL(torch.autograd.Function):
    """Σ BCE(σ(logits), targets): what F.binary_cross_entropy_with_logits(reduction="sum") computes, 3x faster.

    Torch's version goes through log1p, which runs without SIMD on this CPU build: forward and
    backward take 1.35 ms for a batch of 128 MNIST digits, a sixth of a VAE training step. Here
    softplus(x) = max(x, 0) - log σ(|x|), whose ops are vectorized, and the gradient σ(x) - y is
    written out (0.41 ms). σ(|x|) lies in [½, 1), so the log is well conditioned; the result differs
    from torch's by at most ~1e-7 nats per pixel.
    """

    @staticmethod
    def forward(ctx, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(logits, targets)
        return (logits.clamp(min=0) - logits * targets - torch.log(torch.sigmoid(logits.abs()))).sum()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        logits, targets = ctx.saved_tensors
        grad_logits = (torch.sigmoid(logits) - targets) * grad if ctx.needs_input_grad[0] else None
        grad_targets = -logits * grad if ctx.needs_input_grad[1] else None
        return grad_logits, grad_targets


def bernoulli_nll(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Bernoulli negative log-likelihood of targets in [0, 1] under σ(logits), summed (nats)."""
    return BernoulliNLL.apply(logits, targets)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Per-dimension KL(N(μ, σ²) || N(0, 1)) = -½(1 + log σ² - μ² - σ²), shape like μ."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())


_SEED_LOCK = threading.Lock()


def build_model(config: ModelConfig, seed: int | None = None) -> Autoencoder:
    """The model `config` describes. With a seed its initial weights are the seed's: torch's global
    generator (one per process, which weight init draws from) is seeded and used under a lock, so
    models built at once in several threads, e.g. training jobs, each get exactly the seed's weights."""
    config.validate()
    if seed is None:
        return Autoencoder(config)
    with _SEED_LOCK:
        torch.manual_seed(seed)
        return Autoencoder(config)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
