"""Run a trained model over many images: codes, reconstructions, reconstruction errors.

Every function works in batches under `torch.inference_mode()` on the model's own device and
returns numpy arrays on the CPU. The caller puts the model in `eval()` once (models are shared
read-only between sessions, so nothing here changes their state).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from explorer.errors import ExplorerError

DEFAULT_BATCH_SIZE = 1024


def model_device(model: torch.nn.Module) -> torch.device:
    """The device the model's weights live on (CPU for a model without parameters)."""
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def as_image_batch(x, name: str = "x") -> torch.Tensor:
    """Images as a float32 tensor (N, C, H, W); a single image (C, H, W) becomes (1, C, H, W)."""
    t = torch.as_tensor(x, dtype=torch.float32)
    if t.ndim == 3:
        t = t.unsqueeze(0)
    if t.ndim != 4:
        raise ExplorerError(
            f"{name} must be images shaped (N, C, H, W) or one image (C, H, W); "
            f"got shape {tuple(t.shape)}."
        )
    return t


def _batches(x: torch.Tensor, batch_size: int, device: torch.device) -> Iterator[torch.Tensor]:
    if batch_size < 1:
        raise ExplorerError(f"batch_size must be at least 1; got {batch_size}.")
    for start in range(0, x.shape[0], batch_size):
        yield x[start : start + batch_size].to(device)


def encode_dataset(model, x, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """Codes for images x (N, C, H, W) in [0, 1] -> (N, latent) float32. A VAE gives μ."""
    x = as_image_batch(x)
    device = model_device(model)
    parts = []
    with torch.inference_mode():
        for xb in _batches(x, batch_size, device):
            parts.append(model.encode(xb).float().cpu().numpy())  # (b, latent)
    if not parts:
        return np.zeros((0, model.config.latent_dim), dtype=np.float32)
    return np.concatenate(parts).astype(np.float32, copy=False)


def decode_codes(model, codes, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """Images for codes (N, latent) -> (N, C, H, W) float32 in [0, 1]."""
    z = torch.as_tensor(codes, dtype=torch.float32)
    if z.ndim == 1:
        z = z.unsqueeze(0)
    latent = model.config.latent_dim
    if z.ndim != 2 or z.shape[1] != latent:
        raise ExplorerError(
            f"Codes must be shaped (N, {latent}) for this model; got shape {tuple(z.shape)}."
        )
    device = model_device(model)
    parts = []
    with torch.inference_mode():
        for zb in _batches(z, batch_size, device):
            parts.append(model.decode(zb).float().cpu().numpy())  # (b, C, H, W)
    return np.concatenate(parts).astype(np.float32, copy=False)


def reconstruct(model, x, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """decode(encode(x)) for images x (N, C, H, W) -> (N, C, H, W) float32.

    A VAE decodes μ, so the same image always gives the same reconstruction.
    """
    x = as_image_batch(x)
    device = model_device(model)
    parts = []
    with torch.inference_mode():
        for xb in _batches(x, batch_size, device):
            parts.append(model.decode(model.encode(xb)).float().cpu().numpy())
    if not parts:
        return np.zeros(tuple(x.shape), dtype=np.float32)
    return np.concatenate(parts).astype(np.float32, copy=False)


def reconstruction_errors(model, x, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """Mean squared error per pixel of each image's reconstruction: x (N, C, H, W) -> (N,)."""
    x = as_image_batch(x)
    device = model_device(model)
    parts = []
    with torch.inference_mode():
        for xb in _batches(x, batch_size, device):
            x_hat = model.decode(model.encode(xb)).float()
            parts.append(((x_hat - xb) ** 2).flatten(1).mean(dim=1).cpu().numpy())  # (b,)
    if not parts:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(parts).astype(np.float32, copy=False)
