"""Autoencoders with one interface: encode(x) -> z, decode(z) -> x̂, loss(x) -> dict of terms.

One class per family (AE, denoising AE, VAE), each with its own loss, built from shared
blocks: an MLP or a convolutional coder. Which class and coder a kind uses, and which config
fields it reads, is said once, in `explorer.kinds`. Every model is rebuilt from its
`ModelConfig` alone (see checkpoints.py). Images are (B, C, H, W) floats in [0, 1].
"""

from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from .errors import ExplorerError

NOISE_KINDS = ("gaussian", "mask")
MAX_LATENT = 512
BASE_FIELDS = ("kind", "image_shape", "latent_dim")  # every kind has these


@dataclass
class ModelConfig:
    """Every architectural choice of one model. A kind uses `BASE_FIELDS` and its own `fields`
    (explorer.kinds); only those are validated and saved, the rest keep their defaults."""

    kind: str = "vae"
    image_shape: tuple[int, int, int] = (1, 28, 28)
    latent_dim: int = 32
    hidden: tuple[int, ...] = (256, 128, 64)  # MLP widths; mirrored in the decoder
    channels: tuple[int, ...] = (32, 64)  # conv widths, each a stride-2 conv
    convs_per_scale: int = 1  # conv layers at each resolution: the stride-2 one plus extra 3x3 stride-1 ones
    beta: float = 1.0  # weight of the KL term (VAEs); 1 is the textbook ELBO
    noise: str = "gaussian"  # corruption applied in training (DAE)
    noise_level: float = 0.3  # Gaussian σ, or the fraction of pixels masked
    num_classes: int = 10  # classes a conditional model or a classifier knows
    timesteps: int = 1000  # diffusion prior: noise levels T of the forward process
    base: str = ""  # diffusion prior: the autoencoder checkpoint (a name in the checkpoints folder) whose codes it models

    def __post_init__(self):
        used = (*BASE_FIELDS, *self.spec.fields)
        for f in fields(self):
            if f.name not in used:  # unused settings do not change the model: keep them at their defaults,
                setattr(self, f.name, f.default)  # so two configs of the same model are equal
        self.image_shape = tuple(int(s) for s in self.image_shape)
        self.hidden = tuple(int(h) for h in self.hidden)
        self.channels = tuple(int(c) for c in self.channels)
        self.validate()

    @property
    def spec(self):
        """This config's entry in the registry of model kinds (explorer.kinds.ModelKind)."""
        from .kinds import get_kind  # the registry imports the model classes: import it late

        return get_kind(self.kind)

    def validate(self) -> None:
        """All architecture checks live here, with messages that say what to change."""
        spec = self.spec  # an unknown kind fails here, naming the known ones
        if not isinstance(self.latent_dim, int) or not 1 <= self.latent_dim <= MAX_LATENT:
            raise ExplorerError(f"Latent size must be a whole number from 1 to {MAX_LATENT}, got {self.latent_dim!r}.")
        c, h, w = self.image_shape
        if len(self.image_shape) != 3 or not (1 <= c <= 4 and 4 <= h <= 256 and 4 <= w <= 256):
            raise ExplorerError(f"Image shape {self.image_shape} is not a (channels, height, width) we support.")
        for name in spec.fields:
            FIELD_CHECKS[name](self)

    @property
    def is_variational(self) -> bool:
        return self.spec.variational

    @property
    def is_conv(self) -> bool:
        return self.spec.conv

    def to_dict(self) -> dict:
        """The fields this kind uses (what config.json holds and pages show)."""
        used = (*BASE_FIELDS, *self.spec.fields)
        return {name: value for name, value in asdict(self).items() if name in used}

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        """Rebuild from `to_dict()`'s output; older checkpoints that saved every field load too."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ExplorerError(f"Model config has unknown fields {sorted(unknown)}.")
        return cls(**data)


def _check_hidden(config: ModelConfig) -> None:
    if not config.hidden or any(not 1 <= n <= 8192 for n in config.hidden):
        raise ExplorerError(f"Hidden widths must be 1..8192, got {config.hidden}.")


def _check_channels(config: ModelConfig) -> None:
    if not config.channels or any(not 1 <= n <= 1024 for n in config.channels):
        raise ExplorerError(f"Conv channels must be 1..1024, got {config.channels}.")
    _, h, w = config.image_shape
    if min(h, w) >> len(config.channels) < 1:
        raise ExplorerError(f"{len(config.channels)} stride-2 convs are too many for {h}x{w} images.")


def _check_convs_per_scale(config: ModelConfig) -> None:
    if not isinstance(config.convs_per_scale, int) or not 1 <= config.convs_per_scale <= 4:
        raise ExplorerError(f"Convs per scale must be 1-4, got {config.convs_per_scale!r}.")


def _check_beta(config: ModelConfig) -> None:
    if not (isinstance(config.beta, (int, float)) and math.isfinite(config.beta) and 0 <= config.beta <= 1000):
        raise ExplorerError(f"β must be between 0 and 1000, got {config.beta}.")


def _check_noise(config: ModelConfig) -> None:
    if config.noise not in NOISE_KINDS:
        raise ExplorerError(f"Unknown noise {config.noise!r}. Choose one of: {', '.join(NOISE_KINDS)}.")


def _check_noise_level(config: ModelConfig) -> None:
    if not (isinstance(config.noise_level, (int, float)) and 0 <= config.noise_level <= 1):
        raise ExplorerError(f"Noise level must be between 0 and 1, got {config.noise_level}.")


def _check_num_classes(config: ModelConfig) -> None:
    if isinstance(config.num_classes, bool) or not isinstance(config.num_classes, int) or not 2 <= config.num_classes <= 1000:
        raise ExplorerError(f"The number of classes must be a whole number from 2 to 1000, got {config.num_classes!r}.")


def _check_timesteps(config: ModelConfig) -> None:
    if isinstance(config.timesteps, bool) or not isinstance(config.timesteps, int) or not 10 <= config.timesteps <= 10_000:
        raise ExplorerError(f"Diffusion timesteps must be a whole number from 10 to 10000, got {config.timesteps!r}.")


def _check_base(config: ModelConfig) -> None:
    if not isinstance(config.base, str) or not config.base:
        raise ExplorerError("A diffusion prior needs the autoencoder whose codes it models: give --base, e.g. ae_32.")


# One check per optional field; a kind's `fields` say which of them apply to it.
FIELD_CHECKS = {
    "hidden": _check_hidden,
    "channels": _check_channels,
    "convs_per_scale": _check_convs_per_scale,
    "beta": _check_beta,
    "noise": _check_noise,
    "noise_level": _check_noise_level,
    "num_classes": _check_num_classes,
    "timesteps": _check_timesteps,
    "base": _check_base,
}


# ---------------------------------------------------------------- shared building blocks


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


# ---------------------------------------------------------------- the model families


class Autoencoder(nn.Module):
    """The plain autoencoder: x -> z -> x̂, trained to reconstruct x. The coder (MLP or conv)
    is the kind's (explorer.kinds); subclasses change only what they add and their loss."""

    is_variational = False

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        coder = ConvCoder(config) if config.is_conv else MLPCoder(config)
        self.body = coder.body
        self.to_mu = nn.Linear(coder.features, config.latent_dim)
        self.decoder = coder.decoder

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

    def loss(self, x: torch.Tensor, labels: torch.Tensor | None = None,
             generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Loss terms, each a mean over the batch of per-image sums (nats per image). `recon` is the
        Bernoulli negative log-likelihood (BCE summed over pixels). Labels are not used."""
        recon = bernoulli_nll(self.decode_logits(self.encode(x)), x) / len(x)
        return {"total": recon, "recon": recon}


class DenoisingAutoencoder(Autoencoder):
    """Trained to rebuild the clean x from a corrupted copy (Vincent et al. 2008)."""

    def corrupt(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The training corruption: Gaussian noise of σ = noise_level, or that fraction of pixels masked."""
        draw = dict(generator=generator, device=x.device, dtype=x.dtype)
        if self.config.noise == "gaussian":
            return (x + self.config.noise_level * torch.randn(x.shape, **draw)).clamp(0, 1)
        return x * (torch.rand(x.shape, **draw) >= self.config.noise_level)

    def loss(self, x, labels=None, generator=None):
        """As the AE's, but in training the input is corrupted (drawn from `generator`); the target stays clean."""
        source = self.corrupt(x, generator) if self.training else x
        recon = bernoulli_nll(self.decode_logits(self.encode(source)), x) / len(x)
        return {"total": recon, "recon": recon}


class VariationalAutoencoder(Autoencoder):
    """q(z|x) = N(μ, σ²) with a second head for log σ², and a N(0, I) prior (Kingma & Welling 2014)."""

    is_variational = True

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        # Made after the coder and μ head, as before the registry: a seed gives the same initial weights.
        self.to_logvar = nn.Linear(self.to_mu.in_features, config.latent_dim)

    def encode_distribution(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, C, H, W) -> (μ, log σ²), each (B, latent)."""
        h = self.body(x)
        return self.to_mu(h), self.to_logvar(h)

    @staticmethod
    def reparameterize(mu, logvar, generator: torch.Generator | None = None) -> torch.Tensor:
        """z = μ + σ·ε with ε ~ N(0, I): sampling that gradients can flow through (Kingma & Welling 2014)."""
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def loss(self, x, labels=None, generator=None):
        """recon + β·kl, with `kl` = KL(q(z|x) || N(0, I)); with β = 1 the total is the negative ELBO
        (Kingma & Welling 2014, appendix B). z is always sampled, in eval mode too, so the test loss is
        an honest one-sample ELBO estimate; pass `generator` to make it repeatable."""
        mu, logvar = self.encode_distribution(x)
        z = self.reparameterize(mu, logvar, generator)
        kl = kl_divergence(mu, logvar).sum(1).mean()
        recon = bernoulli_nll(self.decode_logits(z), x) / len(x)
        return {"total": recon + self.config.beta * kl, "recon": recon, "kl": kl}


# ---------------------------------------------------------------- loss terms


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
    """Per-dimension KL(N(μ, σ²) || N(0, 1)) = -½(1 + log σ² - μ² - σ²), shape like μ.

    The closed form of Kingma & Welling 2014, appendix B."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())


_SEED_LOCK = threading.Lock()


def build_model(config: ModelConfig, seed: int | None = None) -> nn.Module:
    """The model `config` describes (its kind's class, from explorer.kinds). With a seed its initial
    weights are the seed's: torch's global generator (one per process, which weight init draws from)
    is seeded and used under a lock, so models built at once in several threads, e.g. training jobs,
    each get exactly the seed's weights."""
    config.validate()
    if seed is None:
        return config.spec.build(config)
    with _SEED_LOCK:
        torch.manual_seed(seed)
        return config.spec.build(config)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
