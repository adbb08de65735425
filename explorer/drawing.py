"""Turn a drawing or an uploaded picture into a digit "as MNIST was made".

MNIST's recipe (LeCun et al.): bright ink on a dark background, the digit scaled with
anti-aliasing to fit a 20×20 box keeping its aspect ratio, then placed in a 28×28 field so
that its centre of mass sits at the centre. On the MNIST digits themselves the centre of mass
(row, column in pixel indices) averages (14.0, 14.0), so that is our target.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from .errors import ExplorerError

MAX_BYTES = 20_000_000
MAX_PIXELS = 25_000_000   # e.g. 5000 × 5000; a phone photo (12 MP) fits
MAX_SIDE = 1024           # bigger pictures are shrunk first: the digit ends up 20 px tall anyway
MIN_SIDE = 8
ALLOWED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
INK_FLOOR = 0.1           # after removing the background, values below this are noise, not ink
BOX = 20
SIZE = 28
CENTRE = 14.0

_NOT_AN_IMAGE = "That file is not an image we can read (PNG, JPEG, GIF, BMP or WebP). Try exporting it again."


def load_image(data: bytes, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_BYTES,
               max_side: int = MAX_SIDE) -> np.ndarray:
    """Decode an uploaded image into grayscale (H, W) float32 in [0, 1], safely.

    - The pixel count is checked from the header, before any pixel is decoded.
    - Animated GIFs: the first frame is used.
    - Transparency is flattened onto a background that contrasts with the ink (see
      `_flatten_alpha`), so dark ink on a transparent PNG stays visible.
    - 16-bit images are scaled from their full range; JPEG rotation tags are applied.
    - Pictures with a side over `max_side` are shrunk to fit (aspect kept).
    Every problem raises ExplorerError with a message for the user.
    """
    from PIL import Image, ImageOps

    if not data:
        raise ExplorerError("The file is empty. Choose an image file (PNG or JPEG) of a digit.")
    if len(data) > max_bytes:
        raise ExplorerError(
            f"The file is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB. "
            "Crop or shrink the picture and try again."
        )
    try:
        # Only reads the header. Restricting formats keeps PIL away from plugins we don't need
        # (EPS, for one, would call Ghostscript). PIL itself refuses sizes over twice its
        # MAX_IMAGE_PIXELS here with DecompressionBombError, caught below.
        img = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError:
        raise ExplorerError(
            f"The image is too large to open safely. Use a picture of at most {max_pixels:,} pixels "
            "(a few megapixels is plenty for one digit)."
        ) from None
    except Exception:  # PIL signals unknown or garbled headers in many ways
        raise ExplorerError(_NOT_AN_IMAGE) from None
    width, height = img.size
    if width * height > max_pixels:
        raise ExplorerError(
            f"The image is {width}×{height} pixels; the limit is {max_pixels:,} pixels. "
            "Crop it around the digit or shrink it, then upload again."
        )
    if min(width, height) < MIN_SIDE:
        raise ExplorerError(
            f"The image is {width}×{height} pixels: too small to contain a digit. "
            f"Use a picture at least {MIN_SIDE} pixels on each side."
        )
    try:
        if img.format == "JPEG":
            img.draft("L", (max_side, max_side))  # decode big JPEGs at a reduced scale: much cheaper
        img.load()  # the real decode: truncated or corrupt data fails here
        img = ImageOps.exif_transpose(img)
        if max(img.size) > max_side:
            if img.mode in ("1", "P"):  # PIL would shrink these without anti-aliasing
                img = img.convert("RGBA" if "transparency" in img.info else "L")
            img.thumbnail((max_side, max_side))
        gray = _to_gray(img)
    except Exception:  # truncated files raise OSError, broken chunks SyntaxError, and more
        raise ExplorerError(
            "The image file is damaged or incomplete, so it cannot be read. Try saving or exporting it again."
        ) from None
    return gray


def _to_gray(img) -> np.ndarray:
    """Any PIL mode -> (H, W) float32 in [0, 1], with transparency flattened."""
    mode = img.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        values = np.asarray(img, dtype=np.float64)
        if mode.startswith("I;16"):
            peak = 65535.0
        elif mode == "I":  # 16-bit PNGs can arrive as "I" too; guess the range from the data
            peak = 65535.0 if values.max() > 255 else 255.0
        else:
            peak = max(1.0, float(values.max()))
        return np.clip(values / peak, 0.0, 1.0).astype(np.float32)
    has_alpha = "A" in img.getbands() or "transparency" in img.info
    if has_alpha:
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
        return _flatten_alpha(_luminance(rgba[..., :3]), rgba[..., 3])
    return (np.asarray(img.convert("L"), dtype=np.float32) / 255.0)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    # ITU-R 601-2 luma, the weights PIL uses for convert("L")
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _flatten_alpha(gray: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Composite gray (H, W) with alpha (H, W), both in [0, 1], onto a plain background.

    Which background? If little of the picture is opaque, the opaque part is the ink: put it
    on the opposite shade (dark ink -> white, light ink -> black) so it stays visible. If most
    of it is opaque, the opaque part is paper with ink on it: extend the paper's shade.
    """
    coverage = float(alpha.mean())
    if coverage == 0.0:
        return np.zeros_like(gray, dtype=np.float32)
    opaque_shade = float((gray * alpha).sum() / alpha.sum())
    if coverage < 0.5:
        background = 1.0 if opaque_shade < 0.5 else 0.0
    else:
        background = 1.0 if opaque_shade >= 0.5 else 0.0
    return (gray * alpha + background * (1.0 - alpha)).astype(np.float32)


def canvas_to_gray(rgba: np.ndarray) -> np.ndarray:
    """streamlit-drawable-canvas `image_data` (H, W, 4) uint8 -> (H, W) float32 in [0, 1].

    The canvas returns strokes in RGB with alpha over a transparent (or black) background;
    any stroke colour works, the result is flattened like an uploaded transparent PNG.
    """
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"canvas_to_gray expects (H, W, 4) RGBA data, got shape {rgba.shape}")
    rgba = rgba.astype(np.float32) / 255.0
    return _flatten_alpha(_luminance(rgba[..., :3]), rgba[..., 3])


def _border(image: np.ndarray) -> np.ndarray:
    width = max(1, min(image.shape) // 20)
    mask = np.ones(image.shape, bool)
    mask[width:-width, width:-width] = False
    return image[mask] if mask.any() else image.ravel()


def ink_strength(image: np.ndarray) -> np.ndarray:
    """Grayscale (H, W) in [0, 1] -> (H, W) how far each pixel stands out from the paper, towards the ink.

    The paper is the border's median; the ink is whichever side of it reaches farther (judged on a
    3×3-averaged copy, so lone noisy pixels don't decide). So dark ink on dim grey paper (an
    underexposed photo: ink 0.1 on paper 0.45) counts as dark ink, though the paper is below mid-grey.
    Pixels on the paper's other side come out negative.
    """
    from scipy.ndimage import uniform_filter

    paper = float(np.median(_border(image)))
    smooth = uniform_filter(image, size=3, mode="nearest")
    darker, lighter = paper - float(smooth.min()), float(smooth.max()) - paper
    # A tie (a uniform picture) falls back to the paper's shade; it is rejected as empty anyway.
    dark_ink = darker > lighter or (darker == lighter and paper > 0.5)
    return paper - image if dark_ink else image - paper


def to_mnist(image: np.ndarray) -> np.ndarray:
    """Grayscale (H, W) in [0, 1] -> (28, 28) float32 in [0, 1], the way MNIST was made.

    1. Ink bright on a dark background, whatever the picture: the paper level is the border's
       median, and the ink is whichever way the picture departs farthest from it (`ink_strength`).
    2. Remove the background (the paper's level and noise) and stretch so the strongest ink
       is 1; what stays below INK_FLOOR is noise and becomes 0.
    3. Crop to the ink's bounding box (lone noisy pixels ignored), scale it (anti-aliased, aspect
       kept) so the longer side is 20 px, and stretch again so the peak is 1, as in MNIST.
    4. Paste into 28×28 with the centre of mass at (14, 14), to the nearest pixel; if the mass is
       so lopsided that the digit would leave the field, it stops at the edge.
    Raises ExplorerError when no ink stands out from the paper (a blank or uniformly noisy picture).
    """
    from PIL import Image
    from scipy.ndimage import uniform_filter

    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"to_mnist expects a grayscale (H, W) image, got shape {image.shape}")
    image = np.nan_to_num(np.clip(image, 0.0, 1.0))
    strength = ink_strength(image)  # (H, W), 0 on the paper, positive towards the ink
    # The border also tells how much the paper wobbles (sensor noise, JPEG artefacts): 3 robust
    # standard deviations from the MAD. Median and MAD stay put when a stroke runs into the
    # border, where a percentile would not.
    border = _border(strength)
    background = float(np.median(border)) + 3 * 1.4826 * float(np.median(np.abs(border - np.median(border))))
    contrast = float(strength.max()) - background
    if contrast < INK_FLOOR:
        raise ExplorerError("The drawing is empty — draw a digit first.")
    ink = np.clip((strength - background) / contrast, 0.0, 1.0)
    ink[ink < INK_FLOOR] = 0.0
    # Crop box from a 3×3-averaged copy: a lone noisy pixel drops below 2·INK_FLOOR there,
    # a 1-pixel-wide stroke does not.
    solid = uniform_filter(ink, size=3, mode="constant") > 2 * INK_FLOOR
    rows, cols = np.flatnonzero(solid.any(axis=1)), np.flatnonzero(solid.any(axis=0))
    if rows.size == 0:
        raise ExplorerError("The drawing is empty — draw a digit first.")
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]

    h, w = crop.shape
    scale = BOX / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    resample = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BILINEAR
    patch = np.asarray(Image.fromarray(crop.astype(np.float32), mode="F").resize((new_w, new_h), resample))
    patch = np.clip(patch, 0.0, 1.0)  # LANCZOS rings slightly outside [0, 1]
    patch = patch / patch.max()  # MNIST digits peak at 1 (their mean maximum is 0.9997)

    total = patch.sum()
    com_row = (patch.sum(axis=1) * np.arange(new_h)).sum() / total
    com_col = (patch.sum(axis=0) * np.arange(new_w)).sum() / total
    top = int(np.clip(round(CENTRE - com_row), 0, SIZE - new_h))
    left = int(np.clip(round(CENTRE - com_col), 0, SIZE - new_w))
    out = np.zeros((SIZE, SIZE), np.float32)
    out[top:top + new_h, left:left + new_w] = patch
    return out


def nearest_neighbours(codes_ref: np.ndarray, code: np.ndarray, k: int = 5) -> np.ndarray:
    """Indices (k,) of the rows of codes_ref (M, D) closest to code (D,), nearest first (Euclidean).

    Returns fewer than k if M < k.
    """
    codes_ref = np.asarray(codes_ref, dtype=np.float64)
    code = np.asarray(code, dtype=np.float64).reshape(-1)
    if codes_ref.ndim != 2 or codes_ref.shape[1] != code.size:
        raise ValueError(f"codes_ref (M, D) and code (D,) don't match: {codes_ref.shape} vs {code.shape}")
    if k < 1:
        raise ExplorerError(f"The number of neighbours must be at least 1, got {k}.")
    k = min(int(k), len(codes_ref))
    distances = np.sum((codes_ref - code) ** 2, axis=1)
    nearest = np.argpartition(distances, k - 1)[:k] if k < len(codes_ref) else np.arange(len(codes_ref))
    return nearest[np.argsort(distances[nearest], kind="stable")]


@dataclass
class DigitReading:
    """What one model makes of one digit."""

    code: np.ndarray            # (latent,) the encoder's code (a VAE's μ)
    reconstruction: np.ndarray  # (28, 28) in [0, 1], decoded from the code
    error: float                # mean squared error per pixel between the digit and its reconstruction
    neighbours: np.ndarray      # (k,) rows of the reference codes closest to the code, nearest first


def read_digit(model, digit: np.ndarray, reference_codes: np.ndarray, k: int = 5) -> DigitReading:
    """Encode a to_mnist digit (28, 28), decode it back, and find its k nearest reference codes (M, latent).

    The model must read 1×28×28 images (MNIST, Fashion-MNIST, KMNIST); other shapes raise ExplorerError.
    """
    from . import latents  # torch: only where a model runs, so the image helpers stay light to import

    shape = tuple(model.config.image_shape)
    if shape != (1, SIZE, SIZE):
        raise ExplorerError(
            f"This model reads {'×'.join(map(str, shape))} images, but a drawing becomes a 1×{SIZE}×{SIZE} digit. "
            "Pick a model trained on 28×28 grayscale images (MNIST, Fashion-MNIST or KMNIST)."
        )
    x = np.asarray(digit, dtype=np.float32).reshape(1, *shape)  # (1, 1, 28, 28)
    code = latents.encode_dataset(model, x)[0]
    reconstruction = latents.decode_codes(model, code)[0, 0]
    return DigitReading(
        code=code,
        reconstruction=reconstruction,
        error=float(((reconstruction - x[0, 0]) ** 2).mean()),
        neighbours=nearest_neighbours(reference_codes, code, k),
    )
