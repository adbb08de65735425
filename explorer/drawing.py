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
NOISE_MARGIN = 8          # ink must also rise this many times the paper's wobble (3×3-averaged) above it
WORK_SIDE = 384           # the ink is judged at this size at most: the digit ends up 20 px anyway
MIN_WORK_SIDE = 56        # tiny pictures are enlarged to this first, so the morphology has room
BACKGROUND_SPAN = 0.4     # side of the square the paper's light is estimated over, a share of the picture's
                          # shorter side: wider than any stroke, so strokes are never taken for paper
LINE_SPAN = 0.8           # a straight mark crossing this share of the picture is a ruled line, not the digit
MAX_LINE_HALF_WIDTH = 4  # pixels at the working size: thicker straight marks are strokes
LINE_CLEAR = 0.7          # and the paper beside a ruled line is clear along this share of its length
MIN_LEFT_BY_LINES = 0.05  # a lone line is kept if removing it would leave less than this share of the ink
MARK_GAP = 0.02           # marks closer than this share of the picture's side are one mark
MARK_REACH = 0.1          # marks within this share of the main mark's size belong to the digit
BOX = 20
SIZE = 28
CENTRE = 14.0

NO_DIGIT_IN_PICTURE = ("No digit found in the picture: no ink stands out from the paper. Try a picture of one "
                       "digit written large and dark (or light on dark), filling most of the frame, in even light.")
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


class NoDigitFound(ExplorerError):
    """No ink stands out from the paper. The message speaks of a picture; the drawing pad says its own."""


@dataclass
class FoundDigit:
    """A digit found in a picture: the MNIST-style result and the part of the picture it came from."""

    digit: np.ndarray                   # (28, 28) float32 in [0, 1], bright ink on black
    box: tuple[int, int, int, int]      # (top, left, bottom, right) of the crop, in the input's pixels, bottom/right excluded


def _resized(image: np.ndarray, size: tuple[int, int], resample) -> np.ndarray:
    """A float image (H, W) resized by PIL to size (width, height), as float64."""
    from PIL import Image

    return np.asarray(Image.fromarray(image.astype(np.float32), mode="F").resize(size, resample), dtype=np.float64)


def _work_copy(image: np.ndarray) -> np.ndarray:
    """The picture at the size its ink is judged at: big photos shrunk (anti-aliased) to WORK_SIDE, tiny
    pictures (sklearn's 8×8 digits) enlarged to MIN_WORK_SIDE so the morphology below has room."""
    from PIL import Image

    h, w = image.shape
    scale = min(1.0, WORK_SIDE / max(h, w))
    scale = max(scale, MIN_WORK_SIDE / min(h, w))
    if scale == 1.0:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    resample = Image.Resampling.BILINEAR if scale > 1 else Image.Resampling.LANCZOS
    return np.clip(_resized(image, size, resample), 0.0, 1.0)


def _border(image: np.ndarray) -> np.ndarray:
    width = max(1, min(image.shape) // 20)
    mask = np.ones(image.shape, bool)
    mask[width:-width, width:-width] = False
    return image[mask] if mask.any() else image.ravel()


def _robust_level(values: np.ndarray) -> tuple[float, float]:
    """(median, robust standard deviation from the MAD): neither moves when some values are ink."""
    median = float(np.median(values))
    return median, 1.4826 * float(np.median(np.abs(values - median)))


def is_dark_ink(image: np.ndarray) -> bool:
    """Whether the ink is darker than the paper, for a grayscale (H, W) picture in [0, 1].

    Most of a picture is paper. Dark ink makes the paper the bright end of its surroundings, light ink
    the dark end; so the picture's rise above the darkest pixel around each point is compared with its
    drop below the brightest (windows as wide as the picture, on a 64-px copy). A lighting gradient adds
    as much to both and cancels out; so dark ink on dim grey paper counts as dark ink, though the paper
    is below mid-grey, and a dark desk around the sheet does not pass for the paper.
    """
    from PIL import Image
    from scipy.ndimage import maximum_filter, minimum_filter

    h, w = image.shape
    scale = min(1.0, 64 / max(h, w))
    small = _resized(image, (max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BOX)
    window = min(small.shape) | 1
    above = (small - minimum_filter(small, size=window, mode="nearest")).sum()
    below = (maximum_filter(small, size=window, mode="nearest") - small).sum()
    if np.isclose(above, below):  # a uniform picture: fall back on the paper's shade; it is refused as empty anyway
        return float(np.median(small)) > 0.5
    return bool(above > below)


def ink_strength(image: np.ndarray) -> np.ndarray:
    """Grayscale (H, W) in [0, 1] -> (H, W) how far each pixel stands out from the paper, towards the ink
    (see `_ink_and_gain`)."""
    return _ink_and_gain(image)[0]


def _ink_and_gain(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grayscale (H, W) in [0, 1] -> (how far each pixel stands out from the paper towards the ink (H, W),
    how much dim light was made up for there (H, W), 1 where none; the paper's noise grows by as much).

    The paper's illumination is estimated and removed first (scikit-image's grey closing, or opening for
    light ink, with a square wider than any stroke: it takes away every narrower mark and keeps gradients
    and soft shadows, which are monotone across the square). Dark ink is measured as the share of the
    light it absorbs (paper - pixel) / paper, the same under bright and dim light, then scaled to the
    brightest paper; light ink as pixel - paper. The paper comes out near 0, pixels beyond it negative.
    """
    from skimage.filters import gaussian
    from skimage.morphology import closing, footprint_rectangle, opening

    side = max(3, round(BACKGROUND_SPAN * min(image.shape))) | 1
    square = footprint_rectangle((side, side), decomposition="separable")
    smooth = gaussian(image, sigma=1.0, mode="nearest", preserve_range=True)  # sensor noise out of the paper's level
    # The picture is extended flat past its edges first, by a whole square: a gradient then stays monotone there,
    # so its dim end is not filled in like a valley (the morphology's own edge modes pad each pass apart, which does).
    padded = np.pad(smooth, side, mode="edge")
    inside = (slice(side, -side), slice(side, -side))
    if is_dark_ink(image):
        paper = closing(padded, square)[inside]
        brightest = float(paper.max())
        # Deep shadow (under a quarter of the brightest paper) is not amplified further: there it is mostly noise.
        gain = brightest / np.maximum(paper, brightest / 4 + 1e-6)
        return (paper - image) * gain, gain
    return image - opening(padded, square)[inside], np.ones_like(image)


def _ruled_lines(ink: np.ndarray) -> tuple[np.ndarray, int]:
    """(boolean (H, W), how many): straight lines running (almost) across the whole picture, within 4° of level or
    upright (ruled or squared paper, a margin), found by a Hough transform of the ink (H, W) > 0.

    Where a stroke of the digit crosses a line (ink just beyond both sides of it), the crossing is kept.
    """
    from skimage.transform import hough_line, hough_line_peaks

    mask = ink > 0
    h, w = mask.shape
    tilts = np.deg2rad(np.arange(-4.0, 4.01, 0.5))
    angles = np.concatenate([tilts, np.pi / 2 + tilts])  # normals: upright lines, then level ones
    votes, thetas, rhos = hough_line(mask, theta=angles)
    rows, cols = np.indices(mask.shape)
    bands = []  # (band (H, W), (row, col) step across the line to just beyond it)
    for count, theta, rho in zip(*hough_line_peaks(votes, thetas, rhos, min_distance=3, min_angle=1,
                                                   threshold=LINE_SPAN * min(h, w))):
        span = w if abs(np.sin(theta)) > 0.5 else h  # a level line crosses the width, an upright one the height
        if count < LINE_SPAN * span:
            continue
        distance = cols * np.cos(theta) + rows * np.sin(theta) - rho  # signed, in pixels
        half = _line_half_width(_inked_across(mask, distance))
        if half is None:
            continue  # a thick band, or ink all along beside it: a stroke or a blob, not a ruled line
        # from anywhere in the band to past its far side
        step = np.round((2 * half + 3) * np.array([np.sin(theta), np.cos(theta)])).astype(int)
        bands.append((np.abs(distance) <= half + 1, step))  # + 1: the line's anti-aliased edge
    lines = np.zeros_like(mask)
    for band, _ in bands:
        lines |= band
    strokes = mask & ~lines  # a crossing is kept where a stroke, not another line, goes on beyond both sides
    kept = np.zeros_like(mask)
    for band, step in bands:
        kept |= band & np.roll(strokes, tuple(step), axis=(0, 1)) & np.roll(strokes, tuple(-step), axis=(0, 1))
    return lines & ~kept, len(bands)


def _inked_across(mask: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """(2R + 1,) share of a line's length that is ink at each whole-pixel offset -R..R across it,
    R = MAX_LINE_HALF_WIDTH + 2, from the mask (H, W) and each pixel's signed distance (H, W) to the line."""
    reach = MAX_LINE_HALF_WIDTH + 2
    offset = np.rint(distance).astype(np.int64) + reach
    near = (offset >= 0) & (offset <= 2 * reach)
    pixels = np.bincount(offset[near], minlength=2 * reach + 1)
    inked = np.bincount(offset[near], weights=mask[near], minlength=2 * reach + 1)
    return inked / np.maximum(pixels, 1)


def _line_half_width(inked: np.ndarray) -> int | None:
    """Half the thickness of a line from its profile across (`_inked_across`): the offsets inked along at
    least half its length. None if it is not a ruled line: thicker than MAX_LINE_HALF_WIDTH, or without
    clear paper just beside it along LINE_CLEAR of its length."""
    reach = len(inked) // 2
    for half in range(MAX_LINE_HALF_WIDTH + 1):
        if max(inked[reach + half + 1], inked[reach - half - 1]) < 0.5:
            beside = (inked[reach + half + 2], inked[reach - half - 2])
            return half if max(beside) <= 1 - LINE_CLEAR else None
    return None


def _main_ink(ink: np.ndarray) -> np.ndarray:
    """Boolean (H, W): the digit among the ink (H, W) >= 0, as the biggest mark near the centre with the
    marks close to it (a stroke drawn apart, a stroke cut by a removed line); far marks are left out."""
    from scipy.ndimage import distance_transform_edt, uniform_filter
    from skimage.measure import label, regionprops

    # Strokes a few pixels apart are one mark (a 3×3 average ignores lone noisy pixels, as in the crop).
    solid = uniform_filter(ink, size=3, mode="constant") > 2 * INK_FLOOR
    if not solid.any():
        return solid
    h, w = ink.shape
    gap = max(1, round(MARK_GAP * min(h, w)))
    labels = label(distance_transform_edt(~solid) <= gap) * solid  # each mark's own pixels: its box is its ink's
    centre = np.array([h, w]) / 2
    regions = regionprops(labels, intensity_image=ink)
    # Mass counts, discounted with distance from the centre: a scribble in a corner loses to the digit.
    scores = [r.image_intensity.sum() * np.exp(-(np.linalg.norm(np.array(r.centroid) - centre)
                                                 / (0.5 * min(h, w))) ** 2) for r in regions]
    main = regions[int(np.argmax(scores))]
    top, left, bottom, right = main.bbox
    reach = MARK_REACH * max(bottom - top, right - left)
    keep = np.isin(labels, [r.label for r in regions if _box_gap(r.bbox, main.bbox) <= reach])
    return keep & solid


def _box_gap(a: tuple, b: tuple) -> float:
    """Distance between two (top, left, bottom, right) boxes, 0 if they overlap."""
    rows = max(0, a[0] - b[2], b[0] - a[2])
    cols = max(0, a[1] - b[3], b[1] - a[3])
    return float(np.hypot(rows, cols))


def find_digit(image: np.ndarray) -> FoundDigit:
    """Grayscale (H, W) in [0, 1] -> the digit in it, MNIST-style (28, 28), and the box it was cropped from.

    1. Judge the ink at a working size (`_work_copy`); estimate the paper's illumination and remove it
       (`ink_strength`), whichever way the ink differs from the paper: the result is bright ink on black.
    2. The paper's wobble (sensor noise, JPEG artefacts) is measured on the border, by median and MAD,
       which stay put when a stroke runs into the border, and grows where dim light was made up for;
       ink must rise above it by INK_FLOOR (of the brightest paper's light) and by NOISE_MARGIN times
       the wobble, or NoDigitFound is raised (a blank page, a plain surface, a smooth gradient, noise).
    3. Ruled lines across the picture are removed; the digit is the main ink near the centre (`_main_ink`).
    4. Crop to it, scale (anti-aliased, aspect kept) so its longer side is 20 px, stretch so the peak is
       1 as in MNIST, and paste into 28×28 with the centre of mass at (14, 14), to the nearest pixel.
    """
    from scipy.ndimage import uniform_filter

    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"find_digit expects a grayscale (H, W) image, got shape {image.shape}")
    image = np.nan_to_num(np.clip(image, 0.0, 1.0))
    work = _work_copy(image)
    strength, gain = _ink_and_gain(work)  # (h, w), ~0 on the paper, positive towards the ink
    # The wobble is measured before dim light was made up for (strength / gain), where it is the same everywhere.
    level, wobble = _robust_level(_border(strength / gain))
    excess = strength - (level + 3 * wobble) * gain
    contrast = float(excess.max())
    smooth = uniform_filter(strength / gain, size=3, mode="nearest")
    smooth_level, smooth_wobble = _robust_level(_border(smooth))
    if contrast < INK_FLOOR or float(smooth.max()) - smooth_level < NOISE_MARGIN * smooth_wobble:
        raise NoDigitFound(NO_DIGIT_IN_PICTURE)
    ink = np.clip(excess / contrast, 0.0, 1.0)
    ink[ink < INK_FLOOR] = 0.0
    lines, found = _ruled_lines(ink)
    # One "line" that is nearly all the ink is the digit: a 1 cropped tight. More than one are a blank ruled page.
    if found > 1 or (ink[~lines] > 2 * INK_FLOOR).sum() >= MIN_LEFT_BY_LINES * (ink > 2 * INK_FLOOR).sum():
        ink[lines] = 0.0
    digit_mask = _main_ink(ink)
    if not digit_mask.any():
        raise NoDigitFound(NO_DIGIT_IN_PICTURE)
    rows, cols = np.flatnonzero(digit_mask.any(axis=1)), np.flatnonzero(digit_mask.any(axis=0))
    crop = np.where(_grow(digit_mask), ink, 0.0)[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    scale_rows, scale_cols = image.shape[0] / work.shape[0], image.shape[1] / work.shape[1]
    box = (int(rows[0] * scale_rows), int(cols[0] * scale_cols),
           min(image.shape[0], int(np.ceil((rows[-1] + 1) * scale_rows))),
           min(image.shape[1], int(np.ceil((cols[-1] + 1) * scale_cols))))
    return FoundDigit(digit=_mnist_field(crop), box=box)


def _grow(mask: np.ndarray) -> np.ndarray:
    """The mask and its 8 neighbours: the 3×3-averaged mask trims a stroke's faint anti-aliased edge."""
    from scipy.ndimage import binary_dilation

    return binary_dilation(mask, np.ones((3, 3), bool))


def _mnist_field(crop: np.ndarray) -> np.ndarray:
    """Ink (h, w) cropped to the digit -> (28, 28): longer side scaled to 20 px, peak 1, centre of mass at (14, 14).

    If the mass is so lopsided that the digit would leave the field, it stops at the edge.
    """
    from PIL import Image

    h, w = crop.shape
    scale = BOX / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    resample = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BILINEAR
    patch = _resized(crop, (new_w, new_h), resample)
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


def to_mnist(image: np.ndarray) -> np.ndarray:
    """Grayscale (H, W) in [0, 1] -> (28, 28) float32 in [0, 1], the way MNIST was made (see `find_digit`).

    Raises NoDigitFound (an ExplorerError) when no ink stands out from the paper.
    """
    return find_digit(image).digit


def crop_preview(image: np.ndarray, box: tuple[int, int, int, int], side: int = 280,
                 color: tuple[int, int, int] = (255, 200, 0)) -> np.ndarray:
    """The picture (H, W) in [0, 1] shrunk to fit `side` px, as (h, w, 3) uint8, with `box` (top, left,
    bottom, right, in the picture's pixels, as `find_digit` gives it) outlined: what was read."""
    from PIL import Image, ImageDraw

    h, w = image.shape
    scale = min(1.0, side / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    picture = Image.fromarray((np.clip(image, 0, 1) * 255).round().astype(np.uint8)).resize(
        size, Image.Resampling.LANCZOS).convert("RGB")
    top, left, bottom, right = (round(v * scale) for v in box)
    line = max(2, round(max(size) / 100))
    ImageDraw.Draw(picture).rectangle((left - line, top - line, right + line - 1, bottom + line - 1),
                                      outline=color, width=line)
    return np.asarray(picture)


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
