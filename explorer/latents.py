"""Run a trained model over many images: codes, reconstructions, reconstruction errors.

Every function works in batches under `torch.inference_mode()` on the model's own device and
returns numpy arrays on the CPU. The caller puts the model in `eval()` once (models are shared
read-only between sessions, so nothing here changes their state).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import torch

from explorer.errors import ExplorerError

DEFAULT_BATCH_SIZE = 1024
T = TypeVar("T")


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


def run_batches(model, fn: Callable[..., T], *tensors: torch.Tensor | None,
                batch_size: int = DEFAULT_BATCH_SIZE) -> list[T]:
    """fn(*batches) for consecutive batches of `tensors` -> the results in order.

    The tensors (N, ...) are sliced alike along their first dimension and each batch is moved to
    the model's device (a None stays None, e.g. absent labels); everything runs under
    `torch.inference_mode()`. The one batched inference loop: every pass over many images uses it.
    """
    if batch_size < 1:
        raise ExplorerError(f"batch_size must be at least 1; got {batch_size}.")
    device = model_device(model)
    n = len(tensors[0])
    with torch.inference_mode():
        return [fn(*(None if t is None else t[start : start + batch_size].to(device) for t in tensors))
                for start in range(0, n, batch_size)]


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts).astype(np.float32, copy=False)


def encode_dataset(model, x, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """Codes for images x (N, C, H, W) in [0, 1] -> (N, latent) float32. A VAE gives μ."""
    x = as_image_batch(x)
    parts = run_batches(model, lambda xb: model.encode(xb).float().cpu().numpy(), x, batch_size=batch_size)
    if not parts:
        return np.zeros((0, model.config.latent_dim), dtype=np.float32)
    return _joined(parts)  # (N, latent)


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
    return _joined(run_batches(model, lambda zb: model.decode(zb).float().cpu().numpy(), z, batch_size=batch_size))


def reconstruct(model, x, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """decode(encode(x)) for images x (N, C, H, W) -> (N, C, H, W) float32.

    A VAE decodes μ, so the same image always gives the same reconstruction.
    """
    x = as_image_batch(x)
    parts = run_batches(model, lambda xb: model.decode(model.encode(xb)).float().cpu().numpy(), x,
                        batch_size=batch_size)
    if not parts:
        return np.zeros(tuple(x.shape), dtype=np.float32)
    return _joined(parts)


def per_image_mse(x, x_hat):
    """Mean squared error per pixel of each image: x, x_hat (N, C, H, W), both numpy or both torch -> (N,)."""
    return ((x - x_hat) ** 2).reshape(len(x), math.prod(x.shape[1:])).mean(1)


def reconstruction_errors(model, x, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """Mean squared error per pixel of each image's reconstruction: x (N, C, H, W) -> (N,) float32."""
    x = as_image_batch(x)
    return per_image_mse(x.cpu().numpy(), reconstruct(model, x, batch_size))
