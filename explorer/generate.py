"""Make new images from a latent space: interpolations, prior samples, traversals, grids.

Conventions: codes are numpy float32 (N, latent); images are numpy float32 (N, C, H, W) in
[0, 1]; functions that return both return `(codes, images)` in that order. Everything random
takes a seed (int) or a `torch.Generator`, so a rerun of the app shows the same pictures.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.special import ndtri  # the standard normal's quantile; scipy.stats costs ~1.4 s to import

from explorer.errors import ExplorerError
from explorer.latents import as_image_batch, decode_codes, encode_dataset, run_batches
from explorer.models import kl_divergence
from explorer.projection import k_nearest

MIN_STEPS, MAX_STEPS = 2, 50
METHODS = ("linear", "spherical")
SPACINGS = ("normal", "even")


# ---------------------------------------------------------------- paths between two codes


def _check_steps(steps: int, low: int = MIN_STEPS, high: int | None = None) -> None:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise ExplorerError(f"The number of steps must be a whole number; got {steps!r}.")
    if steps < low or (high is not None and steps > high):
        upper = f" and at most {high}" if high is not None else ""
        raise ExplorerError(
            f"The number of steps must be at least {low}{upper} (both ends included); got {steps}."
        )


def _pair(z0, z1) -> tuple[np.ndarray, np.ndarray, np.dtype]:
    a, b = np.asarray(z0), np.asarray(z1)
    if a.ndim != 1 or a.shape != b.shape:
        raise ExplorerError(
            f"Both ends of a path must be single codes of the same length; "
            f"got shapes {a.shape} and {b.shape}."
        )
    dtype = np.result_type(a, b, np.float32)  # float32 stays float32, float64 stays float64
    return a.astype(np.float64), b.astype(np.float64), dtype


def lerp(z0, z1, steps: int) -> np.ndarray:
    """Straight line from z0 to z1 (latent,) -> (steps, latent), both ends included exactly."""
    _check_steps(steps)
    a, b, dtype = _pair(z0, z1)
    t = np.linspace(0.0, 1.0, steps)[:, None]  # (steps, 1)
    return ((1.0 - t) * a + t * b).astype(dtype)


def slerp(z0, z1, steps: int) -> np.ndarray:
    """Great-circle path from z0 to z1 (latent,) -> (steps, latent), both ends included.

    Keeps the norm when both ends have the same norm, which matters for Gaussian latents:
    the straight line between two typical samples passes through the low-norm middle that the
    decoder rarely saw. For a zero end or (anti)parallel ends the great circle is undefined,
    so this falls back to `lerp` (for antiparallel ends that path runs through the origin).
    """
    _check_steps(steps)
    a, b, dtype = _pair(z0, z1)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-12 or nb < 1e-12:
        return lerp(z0, z1, steps)
    omega = np.arccos(np.clip(np.dot(a / na, b / nb), -1.0, 1.0))
    sin_omega = np.sin(omega)
    if sin_omega < 1e-6:
        return lerp(z0, z1, steps)
    t = np.linspace(0.0, 1.0, steps)[:, None]  # (steps, 1)
    path = (np.sin((1.0 - t) * omega) * a + np.sin(t * omega) * b) / sin_omega
    path[0], path[-1] = a, b  # exact ends, whatever the rounding of sin(omega)/sin(omega)
    return path.astype(dtype)


def interpolate(
    model, x_a, x_b, steps: int = 10, method: str = "linear"
) -> tuple[np.ndarray, np.ndarray]:
    """Decode a path between the codes of two images (C, H, W) -> (codes (S, latent), images (S, C, H, W)).

    `method` is "linear" (lerp) or "spherical" (slerp); steps counts both ends (2 to 50).
    A VAE interpolates between the μ of the two images.
    """
    _check_steps(steps, MIN_STEPS, MAX_STEPS)
    if method not in METHODS:
        raise ExplorerError(f"Interpolation method must be one of {METHODS}; got {method!r}.")
    x = torch.cat([as_image_batch(x_a, "x_a"), as_image_batch(x_b, "x_b")])
    if x.shape[0] != 2:
        raise ExplorerError("Interpolate between exactly two images: pass one image as x_a and one as x_b.")
    z = encode_dataset(model, x)  # (2, latent)
    path = (lerp if method == "linear" else slerp)(z[0], z[1], steps)
    return path, decode_codes(model, path)


# ---------------------------------------------------------------- sampling and editing codes


def _generator(seed: int | torch.Generator) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    # A CPU generator gives the same numbers whatever device the model is on.
    return torch.Generator().manual_seed(int(seed))


def sample_prior(
    model, n: int, seed: int | torch.Generator = 0, temperature: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Draw n codes from N(0, temperature² I) and decode them -> (codes (n, latent), images).

    The prior is only meaningful for a VAE; for a plain AE the codes are not organised around
    N(0, I), which is itself worth showing.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ExplorerError(f"The number of samples must be a whole number of at least 1; got {n!r}.")
    if not np.isfinite(temperature) or temperature < 0:
        raise ExplorerError(f"Temperature must be zero or positive; got {temperature}.")
    z = torch.randn(int(n), model.config.latent_dim, generator=_generator(seed)) * float(temperature)
    codes = z.numpy().astype(np.float32) + np.float32(0.0)  # + 0 turns -0.0 into 0.0
    return codes, decode_codes(model, codes)


def _one_code(model, code) -> np.ndarray:
    c = np.asarray(code, dtype=np.float32).reshape(-1)
    latent = model.config.latent_dim
    if c.shape[0] != latent:
        raise ExplorerError(f"This model's codes have {latent} numbers; got {c.shape[0]}.")
    return c


def _check_dim(model, dim) -> int:
    latent = model.config.latent_dim
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not 0 <= dim < latent:
        raise ExplorerError(f"Latent dimension must be a whole number from 0 to {latent - 1}; got {dim!r}.")
    return int(dim)


def traverse(model, code, dim: int, values) -> np.ndarray:
    """Decode copies of one code (latent,) with dimension `dim` set to each of `values` -> (len(values), C, H, W)."""
    c = _one_code(model, code)
    dim = _check_dim(model, dim)
    values = np.asarray(values, dtype=np.float32).reshape(-1)
    if values.size == 0:
        raise ExplorerError("Give at least one value to set the latent dimension to.")
    codes = np.tile(c, (values.size, 1))  # (V, latent)
    codes[:, dim] = values
    return decode_codes(model, codes)


def edit_code(model, code, changes: dict[int, float]) -> np.ndarray:
    """Decode one code (latent,) after setting dimensions {dim: value} -> one image (C, H, W)."""
    c = _one_code(model, code).copy()
    for dim, value in changes.items():
        c[_check_dim(model, dim)] = value
    return decode_codes(model, c[None])[0]


# ---------------------------------------------------------------- which dimensions matter


def kl_per_dimension(model, x, batch_size: int = 1024) -> np.ndarray:
    """Mean over images x (N, C, H, W) of KL(q(z_d|x) || N(0, 1)) per dimension, in nats -> (latent,).

    Only a VAE has a posterior q(z|x); for a plain autoencoder this raises ExplorerError
    (callers that want an ordering for any model use `dimension_order`).
    """
    if not getattr(model, "is_variational", False):
        raise ExplorerError(
            "KL per dimension needs a variational autoencoder (VAE); this model is a plain "
            "autoencoder. Choose a VAE checkpoint, or rank dimensions by code variance instead."
        )
    x = as_image_batch(x)
    if x.shape[0] == 0:
        raise ExplorerError("Give at least one image to measure the KL divergence on.")

    def kl_sums(xb: torch.Tensor) -> torch.Tensor:  # (latent,) float64: the batch's KL summed over its images
        mu, logvar = model.encode_distribution(xb)
        return kl_divergence(mu.double(), logvar.double()).sum(dim=0).cpu()

    total = torch.zeros(model.config.latent_dim, dtype=torch.float64)
    for part in run_batches(model, kl_sums, x, batch_size=batch_size):
        total += part
    return (total / x.shape[0]).numpy().astype(np.float32)


def active_units(kl, threshold: float = 0.01) -> int:
    """How many dimensions carry information: those whose mean KL (nats) exceeds `threshold`.

    Collapsed dimensions have a posterior equal to the prior, so their KL is ~0. (Burda et al.
    2016 count active units by the variance of μ across images instead; both agree on clearly
    collapsed dimensions.)
    """
    return int(np.count_nonzero(np.asarray(kl) > threshold))


def dimension_order(model, x) -> np.ndarray:
    """Latent dimensions, most informative first -> (latent,) int.

    A VAE is ranked by mean KL per dimension, a plain AE by the variance of its codes over x.
    Ties keep the lower dimension first.
    """
    if getattr(model, "is_variational", False):
        score = kl_per_dimension(model, x)
    else:
        score = encode_dataset(model, x).astype(np.float64).var(axis=0)
    return np.argsort(-score, kind="stable")


# ---------------------------------------------------------------- grids over a 2-D slice


def grid_coordinates(n: int, span: float, spacing: str = "normal") -> np.ndarray:
    """n coordinates from -span to +span, ascending -> (n,) float64.

    "even": `linspace(-span, span, n)`.
    "normal": quantiles of N(0, 1) at the probabilities (i + 0.5) / n, scaled so the outermost
    values are exactly ±span. Gaps are narrow near 0 and wider at the edges, so a VAE's grid
    spends its cells where the prior puts its mass; both spacings cover the same range.
    n = 1 gives [0].
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ExplorerError(f"The grid needs a whole number of at least 1 point per side; got {n!r}.")
    if not np.isfinite(span) or span <= 0:
        raise ExplorerError(f"The grid span must be a positive number; got {span}.")
    if spacing not in SPACINGS:
        raise ExplorerError(f"Grid spacing must be one of {SPACINGS}; got {spacing!r}.")
    if n == 1:
        return np.zeros(1)
    if spacing == "even":
        return np.linspace(-span, span, n)
    q = ndtri((np.arange(n) + 0.5) / n)
    q = (q - q[::-1]) / 2.0  # exactly antisymmetric, whatever ppf's rounding
    return q / q[-1] * span


def _unit(v, latent: int, name: str) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    if v.shape[0] != latent:
        raise ExplorerError(f"Direction {name} must have {latent} numbers; got {v.shape[0]}.")
    length = np.linalg.norm(v)
    if not np.isfinite(length) or length < 1e-12:
        raise ExplorerError(f"Direction {name} is zero; pick a direction with some length.")
    return v / length


def manifold_grid(
    model,
    n: int = 15,
    span: float = 2.0,
    spacing: str = "normal",
    center=None,
    directions=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Decode an n×n grid over a plane of the latent space -> (codes (n*n, latent), images (n*n, C, H, W)).

    The grid point (a, b) is `center + a*u + b*v` with a, b from `grid_coordinates(n, span,
    spacing)` and `directions = (u, v)` (normalised to unit length; e.g. two PCA axes, or two
    one-hot dimensions). Defaults: center = the origin, directions = latent dimensions 0 and 1,
    so for a 2-D latent the codes are exactly the grid. `span` is in code units: fine for a VAE
    (prior N(0, 1)); for a plain AE pick it from the spread of the codes.
    Row-major order with the top row at the highest b, so the mosaic reads like a plot (a grows
    to the right, b grows upwards).
    """
    latent = model.config.latent_dim
    coords = grid_coordinates(n, span, spacing)  # (n,) ascending
    if center is None:
        c = np.zeros(latent)
    else:
        c = np.asarray(center, dtype=np.float64).reshape(-1)
        if c.shape[0] != latent:
            raise ExplorerError(f"The grid center must have {latent} numbers; got {c.shape[0]}.")
    if directions is None:
        if latent < 2:
            raise ExplorerError("A 2-D grid needs a latent space with at least 2 dimensions.")
        u, v = np.eye(latent)[0], np.eye(latent)[1]
    else:
        if len(directions) != 2:
            raise ExplorerError("Give exactly two directions (u, v) for the grid's plane.")
        u, v = _unit(directions[0], latent, "u"), _unit(directions[1], latent, "v")
        if abs(np.dot(u, v)) > 0.999:
            raise ExplorerError("The two grid directions are (nearly) parallel; pick two different directions.")
    a = np.tile(coords, n)  # (n*n,) columns: left to right
    b = np.repeat(coords[::-1], n)  # (n*n,) rows: top (highest b) to bottom
    codes = (c + a[:, None] * u + b[:, None] * v).astype(np.float32)  # (n*n, latent)
    return codes, decode_codes(model, codes)


# ---------------------------------------------------------------- does a path stay on the data?


def interpolation_smoothness(
    model, x_pairs_a, x_pairs_b, reference_x, steps: int = 10, method: str = "linear"
) -> float:
    """Mean distance from interpolated images to the nearest real image (lower = stays on the data).

    For each pair (x_pairs_a[i], x_pairs_b[i]) (P, C, H, W) the codes are interpolated in
    `steps` points (ends included) and the `steps - 2` intermediate ones decoded; each is
    compared to every image of reference_x (R, C, H, W), and the distance to the nearest one is
    measured as RMSE per pixel. Returns the mean over all pairs and intermediate steps.
    The ends are left out: they are reconstructions, close to real images for any model.
    """
    _check_steps(steps, MIN_STEPS + 1, MAX_STEPS)
    if method not in METHODS:
        raise ExplorerError(f"Interpolation method must be one of {METHODS}; got {method!r}.")
    xa, xb = as_image_batch(x_pairs_a, "x_pairs_a"), as_image_batch(x_pairs_b, "x_pairs_b")
    ref = as_image_batch(reference_x, "reference_x")
    if xa.shape != xb.shape or xa.shape[0] == 0:
        raise ExplorerError("Give the same number (at least one) of start and end images, all the same size.")
    if ref.shape[0] == 0 or ref.shape[1:] != xa.shape[1:]:
        raise ExplorerError("The reference images must be non-empty and the same size as the pair images.")
    za, zb = encode_dataset(model, xa), encode_dataset(model, xb)  # (P, latent) each
    path_fn = lerp if method == "linear" else slerp
    codes = np.concatenate([path_fn(a, b, steps)[1:-1] for a, b in zip(za, zb)])  # (P*(S-2), latent)
    images = decode_codes(model, codes).reshape(len(codes), -1)  # (M, D)
    _, nearest = k_nearest(images, ref.flatten(1).cpu().numpy(), 1)  # (M, 1) Euclidean distances
    # ||x - r||_2 / sqrt(D) is the RMSE per pixel.
    return float((nearest[:, 0] / np.sqrt(images.shape[1])).mean())


def dimension_stats(model, x: torch.Tensor, codes: np.ndarray) -> dict:
    """Per latent dimension, measured on images x (N, C, H, W) whose codes (N, latent) are given: `order`
    (most used first), `kl` (VAEs, else None), `variance`, and the `centre` and `sigma` that slider ranges
    and traversal strips use: the prior's N(0, 1) for a VAE, the codes' own mean and spread for a plain
    AE, whose codes can live anywhere."""
    variational = getattr(model, "is_variational", False)
    latent = codes.shape[1]
    return dict(
        order=dimension_order(model, x),
        kl=kl_per_dimension(model, x) if variational else None,
        variance=codes.var(axis=0),
        centre=np.zeros(latent) if variational else codes.mean(axis=0),
        sigma=np.ones(latent) if variational else np.maximum(codes.std(axis=0), 1e-3),
    )


def slider_range(stats: dict, dim: int, value: float, sigmas: float = 3.0) -> tuple[float, float]:
    """±sigmas·σ around dimension `dim`'s centre (dimension_stats), widened to hold `value`, a digit's own."""
    lo = stats["centre"][dim] - sigmas * stats["sigma"][dim]
    hi = stats["centre"][dim] + sigmas * stats["sigma"][dim]
    return float(min(lo, value)), float(max(hi, value))
