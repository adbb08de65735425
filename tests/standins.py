"""Tiny stand-ins for the model contract (encode / decode / is_variational / config.latent_dim),
so explorer functions can be tested on models whose every number we control."""

from types import SimpleNamespace

import torch
from torch import nn

SIDE = 8


class TinyAE(nn.Module):
    """Stand-in for the models.py contract: a linear AE on 1x8x8 images.

    It remembers the last codes it decoded, so tests can check what was asked of the decoder.
    """

    is_variational = False

    def __init__(self, latent_dim=3):
        super().__init__()
        self.config = SimpleNamespace(latent_dim=latent_dim)
        with torch.random.fork_rng():  # seeded weights without touching the global RNG
            torch.manual_seed(0)
            self.enc = nn.Linear(SIDE * SIDE, latent_dim * (2 if self.is_variational else 1))
            self.dec = nn.Linear(latent_dim, SIDE * SIDE)
        self.last_z = None

    def encode(self, x):  # (B, 1, 8, 8) -> (B, latent)
        return self.enc(x.flatten(1))[:, : self.config.latent_dim]

    def decode(self, z):  # (B, latent) -> (B, 1, 8, 8)
        self.last_z = z.clone()
        return torch.sigmoid(self.dec(z)).view(-1, 1, SIDE, SIDE)


class TinyVAE(TinyAE):
    is_variational = True

    def encode_distribution(self, x):
        return self.enc(x.flatten(1)).chunk(2, dim=1)  # (mu, logvar), each (B, latent)

    def encode(self, x):
        return self.encode_distribution(x)[0]


# Small values for every optional ModelConfig field, so a tiny model of any registered kind trains in
# well under a second. A new kind with new fields adds its values here (its "test parameters").
TINY_FIELDS = {"hidden": (16,), "channels": (4, 8), "convs_per_scale": 1, "beta": 1.0, "noise": "gaussian",
               "noise_level": 0.3, "num_classes": 10, "timesteps": 100, "base": "tiny_base"}


def tiny_config(kind: str, image_shape=(1, SIDE, SIDE), latent_dim: int = 3, **overrides):
    """A ModelConfig of a tiny model of `kind`, setting only the fields that kind uses."""
    from explorer.kinds import get_kind
    from explorer.models import ModelConfig

    fields = {name: TINY_FIELDS[name] for name in get_kind(kind).fields}
    return ModelConfig(kind=kind, image_shape=tuple(image_shape), latent_dim=latent_dim, **{**fields, **overrides})


def png_bytes(image) -> bytes:
    """A grey image (H, W) in [0, 1] as the bytes of a PNG file, as a user would upload it."""
    import io

    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray((np.asarray(image) * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def autoencoder_kinds() -> list[str]:
    """The registered kinds with encode(x) / decode(z) and no label: what the autoencoder tests run on
    (the conditional VAE, the classifier and the prior have their own tests and test_kinds.py)."""
    from explorer.kinds import kinds

    return [kind.name for kind in kinds() if kind.is_plain_autoencoder]
