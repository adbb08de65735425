"""Corrupt images on purpose and see how well each model cleans them up.

Everything random takes a seed and uses its own `torch.Generator`, so the same slider
settings always show the same noisy digits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .errors import ExplorerError
from .kinds import KINDS, get_kind
from .latents import encode_dataset, per_image_mse, reconstruct
from .metrics import psnr_from_mse

NOISE_KINDS = ("gaussian", "salt_pepper", "mask")
NOISE_LEVEL_RANGE = {"gaussian": (0.0, 1.0), "salt_pepper": (0.0, 1.0), "mask": (0.0, 1.0)}


def _check_noise(kind: str, level: float) -> float:
    if kind not in NOISE_KINDS:
        raise ExplorerError(f"Unknown noise kind {kind!r}. Choose one of: {', '.join(NOISE_KINDS)}.")
    low, high = NOISE_LEVEL_RANGE[kind]
    try:
        level = float(level)
    except (TypeError, ValueError):
        raise ExplorerError(f"The noise level must be a number between {low} and {high}, got {level!r}.") from None
    if not (math.isfinite(level) and low <= level <= high):
        raise ExplorerError(f"The {kind} noise level must be between {low} and {high}, got {level}. Move the slider back into range.")
    return level


def add_noise(x: torch.Tensor, kind: str, level: float, seed: int = 0) -> torch.Tensor:
    """A corrupted copy of x (N, C, H, W) in [0, 1], same shape, clipped to [0, 1].

    kind "gaussian":    add N(0, level²) noise to every value (level = σ).
    kind "salt_pepper": a `level` fraction of pixel positions become 0 or 1 (same in every channel).
    kind "mask":        one square box of side round(level · min(H, W)) set to 0; its position is
                        drawn per image.
    """
    level = _check_noise(kind, level)
    if x.ndim != 4:
        raise ValueError(f"add_noise expects images (N, C, H, W), got shape {tuple(x.shape)}")
    gen = torch.Generator().manual_seed(int(seed))
    n, _, h, w = x.shape
    # Noise is drawn on the CPU so a seed means the same noise on every device.
    if kind == "gaussian":
        noise = torch.randn(x.shape, generator=gen) * level
        return (x + noise.to(x.device, x.dtype)).clamp(0.0, 1.0)
    if kind == "salt_pepper":
        hit = torch.rand((n, 1, h, w), generator=gen) < level
        salt = torch.rand((n, 1, h, w), generator=gen) < 0.5
        value = salt.to(x.device, x.dtype).expand_as(x)
        return torch.where(hit.to(x.device).expand_as(x), value, x)
    out = x.clone()
    side = round(level * min(h, w))
    if side == 0:
        return out
    tops = torch.randint(0, h - side + 1, (n,), generator=gen).tolist()
    lefts = torch.randint(0, w - side + 1, (n,), generator=gen).tolist()
    for i, (top, left) in enumerate(zip(tops, lefts)):
        out[i, :, top:top + side, left:left + side] = 0.0
    return out


def _as_numpy(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().double().numpy()
    return np.asarray(a, dtype=np.float64)


def psnr(clean, other) -> np.ndarray:
    """Per-image PSNR in dB with peak 1.0: clean, other (N, ...) -> (N,).

    10·log10(1 / MSE). Identical images (MSE ≤ 1e-10) get metrics.PSNR_CAP_DB = 100 dB instead of infinity.
    """
    clean, other = _as_numpy(clean), _as_numpy(other)
    if clean.shape != other.shape:
        raise ValueError(f"psnr needs equal shapes, got {clean.shape} and {other.shape}")
    return psnr_from_mse(per_image_mse(clean, other))


@dataclass(frozen=True)
class DenoiseReport:
    """What the denoising page shows; N images, one entry per model name."""
    kind: str
    level: float
    seed: int
    noisy: torch.Tensor                      # (N, C, H, W) the corrupted inputs
    reconstructions: dict[str, torch.Tensor]  # name -> (N, C, H, W) model(noisy)
    psnr_noisy: np.ndarray                   # (N,) noisy vs clean, the baseline to beat
    psnr: dict[str, np.ndarray]              # name -> (N,) reconstruction vs clean

    @property
    def mean_psnr(self) -> dict[str, float]:
        """Mean PSNR (dB) per model name."""
        return {name: float(values.mean()) for name, values in self.psnr.items()}

    @property
    def mean_psnr_noisy(self) -> float:
        return float(self.psnr_noisy.mean())


def denoise_report(models: dict, clean: torch.Tensor, kind: str, level: float, seed: int = 0) -> DenoiseReport:
    """Corrupt clean (N, C, H, W) once, feed the same noisy batch to every model, score against clean."""
    if not models:
        raise ExplorerError("No model to compare: train or load at least one model first.")
    noisy = add_noise(clean, kind, level, seed)
    reconstructions = {name: torch.from_numpy(reconstruct(model, noisy)) for name, model in models.items()}
    return DenoiseReport(
        kind=kind,
        level=float(level),
        seed=int(seed),
        noisy=noisy,
        reconstructions=reconstructions,
        psnr_noisy=psnr(clean, noisy),
        psnr={name: psnr(clean, x_hat) for name, x_hat in reconstructions.items()},
    )


@dataclass(frozen=True)
class LatentShift:
    """How far noise moves each image's code."""
    codes_clean: np.ndarray  # (N, latent)
    codes_noisy: np.ndarray  # (N, latent)
    distance: np.ndarray     # (N,) Euclidean ‖z_clean − z_noisy‖
    relative: np.ndarray     # (N,) distance / spread of the clean codes; NaN if N < 2

    @property
    def mean_relative(self) -> float:
        return float(np.mean(self.relative))


def latent_shift(model: torch.nn.Module, clean: torch.Tensor, noisy: torch.Tensor) -> LatentShift:
    """Encode clean and noisy (N, C, H, W) versions of the same images and measure the move.

    Raw distances can't be compared between models (each latent space has its own scale), so
    `relative` divides by the spread of the clean codes: the RMS distance to their mean.
    A robust encoder keeps `relative` well below 1.
    """
    if clean.shape != noisy.shape:
        raise ValueError(f"clean and noisy must have the same shape, got {tuple(clean.shape)} and {tuple(noisy.shape)}")
    z_clean = encode_dataset(model, clean).astype(np.float64)
    z_noisy = encode_dataset(model, noisy).astype(np.float64)
    distance = np.linalg.norm(z_clean - z_noisy, axis=1)
    spread = np.sqrt(((z_clean - z_clean.mean(axis=0)) ** 2).sum(axis=1).mean()) if len(z_clean) > 1 else 0.0
    relative = distance / spread if spread > 0 else np.full_like(distance, np.nan)
    return LatentShift(z_clean, z_noisy, distance, relative)


def segment_coordinates(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Line segments start[i] → end[i] as one polyline broken by NaN rows, for a single Plotly trace.

    start, end (N, D) -> (3N, D): start[0], end[0], NaN, start[1], end[1], NaN, ...
    (Plotly leaves a gap at a NaN, so N segments cost one trace instead of N.)
    """
    start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    if start.shape != end.shape or start.ndim != 2:
        raise ValueError(f"start and end must both have shape (N, D), got {start.shape} and {end.shape}")
    out = np.full((3 * len(start), start.shape[1]), np.nan)
    out[0::3], out[1::3] = start, end
    return out


def same_dataset(datasets: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """Split chosen models into those that can share one batch of test images and the rest.

    datasets maps model name -> the dataset it was trained on, in the order chosen. The first
    model's dataset decides: returns (names trained on it, in order; {other name: its dataset}).
    Another dataset's images may not even fit a model (8×8 digits vs 28×28 MNIST), and if they
    did, the model would be scored on pictures it never learned.
    """
    if not datasets:
        return [], {}
    first = next(iter(datasets.values()))
    kept = [name for name, dataset in datasets.items() if dataset == first]
    return kept, {name: dataset for name, dataset in datasets.items() if dataset != first}


# ---------------------------------------------------------------- the Denoise page's words, from its numbers

CLEAR_GAIN_DB = 3.0  # "by a wide margin": the gain the DAE should show on the noise it was trained on
LEVEL_DB = 1.0  # a difference smaller than this is "about level"


def training_noise(noise: str, level: float) -> str:
    """How a DAE was corrupted in training (its config's noise and noise_level), in words."""
    if noise == "gaussian":
        return f"Gaussian noise σ = {level:g}"
    return f"random masking of {level:.0%} of the pixels"


def seen_in_training(noise: str, noise_level: float, kind: str, level: float) -> bool:
    """Is the page's corruption the one the DAE was trained on? (Its pixel masking is neither the
    masked box nor salt and pepper.)"""
    return noise == kind == "gaussian" and abs(noise_level - level) < 1e-9


def is_plain_ae(kind) -> bool:
    """An autoencoder with no noise in training and no prior: what a DAE is compared with."""
    return kind.is_plain_autoencoder and not kind.denoising and not kind.variational


def _judged(gain: float, other: str) -> str:
    gain = round(gain, 1)  # judged as shown, so the words never contradict the number beside them
    if gain >= CLEAR_GAIN_DB:
        return f"beats {other} by a wide margin"
    if gain >= LEVEL_DB:
        return f"beats {other}"
    if gain > -LEVEL_DB:
        return f"is about level with {other}"
    return f"does worse than {other}"


def verdict(summaries: dict[str, dict], kinds: dict[str, str], noisy_psnr: float,
            trained_on: str | None = None, seen: bool = False) -> str | None:
    """How the denoising AE did against the noisy input and the plain AE, worded from the numbers.

    summaries: name -> {"psnr": mean dB}; kinds: name -> model kind (explorer.kinds); trained_on: the
    DAE's training noise in words, named when the DAE does not clearly win; seen: whether the page's
    noise is that training noise. None when no DAE is chosen.
    """
    dae = next((m for m in summaries if get_kind(kinds[m]).denoising), None)
    if dae is None:
        return None
    value = summaries[dae]["psnr"]
    gain = value - noisy_psnr
    text = f"Here **{dae}** reaches {value:.1f} dB, {gain:+.1f} dB against the noisy input"
    judged = [_judged(gain, "the noisy input")]
    plain = next((m for m in summaries if is_plain_ae(get_kind(kinds[m]))), None)
    won = round(gain, 1) >= CLEAR_GAIN_DB
    if plain is not None:
        plain_gain = value - summaries[plain]["psnr"]
        text += f" and {plain_gain:+.1f} dB against **{plain}**"
        judged.append(_judged(plain_gain, f"**{plain}**"))
        won = won and round(plain_gain, 1) >= LEVEL_DB
    text += ": it " + " and ".join(judged) + "."
    if not won and trained_on:
        text += (f" It was trained on exactly this noise ({trained_on})." if seen else
                 f" It was trained to remove {trained_on}, not this: here you see what it did not learn.")
    return text


def offered_dae(listings, preferred=()) -> tuple[str, str] | None:
    """(name, training noise in words) of a DAE among readable checkpoint listings: the first of
    `preferred` names that is one, else the first in the listing."""
    rank = {name: i for i, name in enumerate(preferred)}
    for item in sorted(listings, key=lambda item: rank.get(item.name, len(rank))):
        model = item.info.get("model", {})
        if model.get("kind") in KINDS and KINDS[model["kind"]].denoising:
            return item.name, training_noise(model.get("noise", "gaussian"), float(model.get("noise_level", 0.0)))
    return None
