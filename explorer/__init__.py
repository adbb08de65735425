"""Latent Lab's computation: datasets, autoencoders, training, checkpoints and analysis.

The public API for a notebook (see the README):

    import explorer
    checkpoint = explorer.load_checkpoint("vae_32.zip")   # a downloaded zip, a folder, or a shipped name
    digits = explorer.load_dataset("mnist5k").x_test[:8]  # (8, 1, 28, 28) in [0, 1]
    codes = explorer.encode(checkpoint.model, digits)     # (8, 32)
    images = explorer.decode(checkpoint.model, codes)     # (8, 1, 28, 28)
    codes, images = explorer.sample(checkpoint.model, 16, seed=0)
    codes, images = explorer.interpolate(checkpoint.model, digits[0], digits[1], steps=8)

Codes and images come back as numpy float32 arrays; images go in as (N, C, H, W) or one (C, H, W)
image, tensors or arrays. Nothing heavy happens at import time (torch is imported by the first
call that needs it), and nothing here imports Streamlit.
"""

from __future__ import annotations

from .errors import CheckpointError, ExplorerError, TrainingDiverged

__all__ = ["CheckpointError", "ExplorerError", "TrainingDiverged", "decode", "encode", "interpolate",
           "list_checkpoints", "load_checkpoint", "load_dataset", "sample"]


def load_checkpoint(source, device: str = "cpu"):
    """A checkpoint -> `Checkpoint` with `.model` (in eval mode), `.config` and `.info` (its config.json).

    `source` is a zip downloaded from the app's Models page, a checkpoint folder, or the bare name of
    a shipped checkpoint ("vae_32"). Every file is checked first; nothing is ever unpickled.
    """
    from pathlib import Path

    from . import archive, checkpoints

    path = Path(source)
    if path.suffix.lower() == ".zip" and path.is_file():
        return archive.load_archive(path, device)
    if path.is_dir():
        return checkpoints.load(path, device)
    return checkpoints.load(checkpoints.resolve(str(source)), device)


def list_checkpoints(folder=None) -> list[str]:
    """Names of the readable checkpoints in `folder` (default: the shipped ones, or $LATENT_LAB_CHECKPOINTS)."""
    from . import checkpoints

    return [item.name for item in checkpoints.list_checkpoints(folder) if item.info is not None]


def load_dataset(name: str = "mnist5k"):
    """A dataset with `.x_train`, `.y_train`, `.x_test`, `.y_test` (images (N, C, H, W) in [0, 1]) and `.classes`."""
    from .data import load_dataset as load

    return load(name)


def encode(model, images):
    """Images (N, C, H, W) in [0, 1] -> codes (N, latent); a VAE gives the mean μ of q(z|x)."""
    from .latents import encode_dataset

    return encode_dataset(model, images)


def decode(model, codes):
    """Codes (N, latent) -> images (N, C, H, W) in [0, 1]."""
    from .latents import decode_codes

    return decode_codes(model, codes)


def sample(model, n: int, seed: int = 0, temperature: float = 1.0):
    """n codes drawn from N(0, temperature² I) with `seed`, and their images -> (codes (n, latent), images)."""
    from .generate import sample_prior

    return sample_prior(model, n, seed=seed, temperature=temperature)


def interpolate(model, image_a, image_b, steps: int = 10, method: str = "linear"):
    """The path between two images' codes ("linear" or "spherical"), both ends included, decoded
    -> (codes (steps, latent), images (steps, C, H, W))."""
    from .generate import interpolate as walk

    return walk(model, image_a, image_b, steps, method)
