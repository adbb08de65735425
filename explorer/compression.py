"""Compression lab: autoencoder codes, PCA and JPEG on the same test digits, in bytes per digit and PSNR.

Codes (and PCA coefficients) are quantized to b bits per number, each dimension over the range
it takes on the training split, then entropy-coded with a standard compressor: LZMA (raw LZMA2
stream, no container header) over the symbols of all test digits at once, one byte per symbol,
dimension by dimension, so the compressor learns each dimension's distribution as it goes. The
bytes per digit are that real compressed length divided by the number of digits: what a stream of
many digits pays. The decoder's weights (and PCA's components, and the quantizer's ranges) are
shared knowledge, like JPEG's tables: they are not counted per digit, and the page shows their size.

JPEG is Pillow's encoder at a quality setting, counted two ways: the whole file, and only the
entropy-coded scan data between the headers and the end marker (what a stream of many digits
with shared tables would pay). PNG (lossless) and raw 8-bit pixels are references.
"""

from __future__ import annotations

import io
import lzma
import math
from dataclasses import dataclass, replace

import numpy as np
import torch

from .errors import ExplorerError
from .latents import decode_codes, encode_dataset, per_image_mse
from .metrics import psnr_from_mse

BITS = tuple(range(1, 9))  # 0 bits would send nothing; more than 8 never helps 8-bit pictures
JPEG_QUALITIES = tuple(range(5, 100, 10))  # 5, 15, ..., 95
PCA_COMPONENTS = (1, 2, 4, 8, 16, 32, 64, 128)
LZMA_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 6}]  # preset 9 "extreme" was 3x slower for the same bytes
BUDGETS = (16, 32, 64, 128)  # bytes per digit the summary and the benchmark compare at
PSNR_TARGETS = (15.0, 18.0, 20.0)
JPEG_FILE, JPEG_SCAN, PCA = "JPEG (whole file)", "JPEG (no headers)", "PCA"


@dataclass
class Quantizer:
    """Uniform b-bit quantizer, one range per dimension (fitted on training values)."""

    low: np.ndarray  # (D,)
    high: np.ndarray  # (D,)

    @classmethod
    def fit(cls, values: np.ndarray) -> "Quantizer":
        """Ranges from the min and max of each column of values (N, D)."""
        return cls(values.min(0).astype(np.float64), values.max(0).astype(np.float64))

    def step(self, bits: int) -> np.ndarray:
        """Distance between neighbouring levels, (D,); a dimension that never varies gets step 0."""
        check_bits(bits)
        return (self.high - self.low) / (2**bits - 1)

    def quantize(self, values: np.ndarray, bits: int) -> np.ndarray:
        """values (N, D) -> symbols (N, D) uint8 in 0 .. 2^bits - 1 (values outside the range are clipped)."""
        step = self.step(bits)
        safe = np.where(step > 0, step, 1.0)
        symbols = np.rint((np.clip(values, self.low, self.high) - self.low) / safe)
        return symbols.astype(np.uint8)

    def dequantize(self, symbols: np.ndarray, bits: int) -> np.ndarray:
        """symbols (N, D) -> values (N, D) float32 at the levels' centres."""
        return (self.low + symbols.astype(np.float64) * self.step(bits)).astype(np.float32)


def check_bits(bits: int) -> None:
    if bits not in BITS:
        raise ExplorerError(f"Bits per number must be a whole number from {BITS[0]} to {BITS[-1]}, got {bits!r}.")


def stream_bytes(symbols: np.ndarray) -> int:
    """Length of the LZMA stream of symbols (N, D) uint8, dimension by dimension (all N of the first
    dimension, then the second, ...): a real compressed length, in bytes."""
    return len(lzma.compress(np.ascontiguousarray(symbols.T).tobytes(), format=lzma.FORMAT_RAW, filters=LZMA_FILTERS))


def to_uint8(x: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(x, 0, 1) * 255).astype(np.uint8)


def jpeg_bytes(image: np.ndarray, quality: int) -> bytes:
    """Pillow's JPEG file of one grayscale image (H, W) in [0, 1], standard tables (no per-image optimization)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image), mode="L").save(buffer, format="JPEG", quality=int(quality))
    return buffer.getvalue()


def jpeg_scan_length(data: bytes) -> int:
    """Bytes of entropy-coded data in a baseline JPEG: after the start-of-scan header, before the end marker."""
    start = data.find(b"\xff\xda")
    if start < 0 or not data.endswith(b"\xff\xd9"):
        raise ExplorerError("Not a baseline JPEG: no start-of-scan or end marker found.")
    header = int.from_bytes(data[start + 2:start + 4], "big")
    return len(data) - (start + 2 + header) - 2


def png_bytes(image: np.ndarray) -> bytes:
    """Lossless PNG of one grayscale image (H, W) in [0, 1] as 8-bit, at the smallest Pillow makes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image), mode="L").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def decode_image(data: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)), dtype=np.float32) / 255


def jpeg_roundtrip(x: np.ndarray, quality: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x (N, 1, H, W) -> (decoded (N, 1, H, W), file bytes (N,), scan bytes (N,)) at one quality."""
    files = [jpeg_bytes(image[0], quality) for image in x]
    decoded = np.stack([decode_image(data) for data in files])[:, None]
    return decoded, np.array([len(d) for d in files]), np.array([jpeg_scan_length(d) for d in files])


def psnr_per_image(x: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """(N,) PSNR in dB of each reconstruction against its image (peak 1, capped at 100 dB)."""
    return psnr_from_mse(per_image_mse(np.asarray(x, np.float64), np.asarray(recon, np.float64)))


def mean_ssim(x: np.ndarray, recon: np.ndarray) -> float:
    """Mean SSIM (scikit-image's structural_similarity, data range 1) over images (N, 1, H, W):
    the N images as channels, each compared with its own, then averaged."""
    from skimage.metrics import structural_similarity

    a = np.moveaxis(np.asarray(x, np.float64)[:, 0], 0, -1)
    b = np.moveaxis(np.asarray(recon, np.float64)[:, 0], 0, -1)
    side = min(a.shape[0], a.shape[1])
    window = min(7, side if side % 2 else side - 1)  # odd and inside the image: 8×8 digits get 7
    return float(structural_similarity(a, b, data_range=1.0, channel_axis=-1, win_size=window))


class LatentCodec:
    """An autoencoder's codes (a VAE's μ) quantized to b bits, decoded by its decoder."""

    family = "latent"

    def __init__(self, name: str, model, codes_train: np.ndarray):
        self.name = name
        self.model = model
        self.quantizer = Quantizer.fit(codes_train)

    def encode(self, x) -> np.ndarray:
        """Images (N, C, H, W) -> codes (N, latent)."""
        return encode_dataset(self.model, x)

    def symbols(self, codes: np.ndarray, bits: int) -> np.ndarray:
        return self.quantizer.quantize(codes, bits)

    def decode(self, symbols: np.ndarray, bits: int) -> np.ndarray:
        return decode_codes(self.model, self.quantizer.dequantize(symbols, bits))


class PCACodec:
    """The first k principal axes of the training digits; coefficients quantized like the codes."""

    family = "pca"
    name = PCA

    def __init__(self, x_train, max_components: int):
        from sklearn.decomposition import PCA as SkPCA

        flat = np.asarray(x_train, np.float32).reshape(len(x_train), -1)
        # Axes are nested: the first k of one fit are what a fit with k components would find.
        # The covariance solver: 1.2 s for 4,500 digits here where the full SVD took 11 s.
        self.pca = SkPCA(max_components, svd_solver="covariance_eigh").fit(flat)
        self.image_shape = tuple(np.asarray(x_train).shape[1:])
        self.quantizer = Quantizer.fit(self.pca.transform(flat))

    def encode(self, x) -> np.ndarray:
        """Images (N, C, H, W) -> all coefficients (N, max components)."""
        return self.pca.transform(np.asarray(x, np.float32).reshape(len(x), -1))

    def _part(self, components: int) -> Quantizer:
        return Quantizer(self.quantizer.low[:components], self.quantizer.high[:components])

    def symbols(self, coefficients: np.ndarray, components: int, bits: int) -> np.ndarray:
        return self._part(components).quantize(coefficients[:, :components], bits)

    def decode(self, symbols: np.ndarray, components: int, bits: int) -> np.ndarray:
        coefficients = self._part(components).dequantize(symbols, bits)
        flat = coefficients @ self.pca.components_[:components] + self.pca.mean_
        return np.clip(flat, 0, 1).reshape(len(symbols), *self.image_shape).astype(np.float32)


def pca_components(pixels: int, n_train: int) -> tuple[int, ...]:
    """The component counts offered: never more than the pixels or the training digits."""
    return tuple(k for k in PCA_COMPONENTS if k <= min(pixels, n_train))


@dataclass(frozen=True)
class RatePoint:
    """One method at one setting, measured on all test digits."""

    method: str  # the curve: a checkpoint name, "PCA", "JPEG (whole file)", "JPEG (no headers)"
    family: str  # "latent", "pca" or "jpeg"
    bytes_per_digit: float
    psnr: float  # mean over digits, dB
    ssim: float | None = None  # mean over digits, measured on demand (with_ssim): ~0.25 s a setting here
    bits: int | None = None
    components: int | None = None
    quality: int | None = None

    @property
    def setting(self) -> str:
        if self.family == "jpeg":
            return f"quality {self.quality}"
        if self.family == "pca":
            return f"{self.components} components, {self.bits} bits"
        return f"{self.bits} bit{'s' if self.bits > 1 else ''}"

    @property
    def key(self) -> str:
        """A short id for links: "vae_32:b4", "PCA:k16b6", "JPEG (no headers):q45"."""
        knob = {"jpeg": f"q{self.quality}", "pca": f"k{self.components}b{self.bits}"}.get(self.family, f"b{self.bits}")
        return f"{self.method}:{knob}"


def reconstruct(point: RatePoint, codecs: dict, x) -> np.ndarray:
    """The images (N, C, H, W) of the digits x at a point's setting: what the receiver sees."""
    if point.family == "jpeg":
        return jpeg_roundtrip(np.asarray(x), point.quality)[0]
    codec = codecs[point.method]
    values = codec.encode(x)
    if point.family == "pca":
        return codec.decode(codec.symbols(values, point.components, point.bits), point.components, point.bits)
    return codec.decode(codec.symbols(values, point.bits), point.bits)


def latent_points(codec: LatentCodec, x, bits=BITS) -> list[RatePoint]:
    x_np = np.asarray(x)
    codes = codec.encode(x)
    points = []
    for b in bits:
        symbols = codec.symbols(codes, b)
        psnr = float(psnr_per_image(x_np, codec.decode(symbols, b)).mean())
        points.append(RatePoint(codec.name, "latent", stream_bytes(symbols) / len(x_np), psnr, bits=b))
    return points


def pca_points(codec: PCACodec, x, components, bits=BITS) -> list[RatePoint]:
    x_np = np.asarray(x)
    coefficients = codec.encode(x_np)
    points = []
    for k in components:
        for b in bits:
            symbols = codec.symbols(coefficients, k, b)
            psnr = float(psnr_per_image(x_np, codec.decode(symbols, k, b)).mean())
            points.append(RatePoint(PCA, "pca", stream_bytes(symbols) / len(x_np), psnr, bits=b, components=k))
    return points


def jpeg_points(x, qualities=JPEG_QUALITIES) -> list[RatePoint]:
    """Two points per quality: the whole file and the scan data only (same pictures, same PSNR)."""
    x_np = np.asarray(x)
    points = []
    for q in qualities:
        decoded, files, scans = jpeg_roundtrip(x_np, q)
        psnr = float(psnr_per_image(x_np, decoded).mean())
        points.append(RatePoint(JPEG_FILE, "jpeg", float(files.mean()), psnr, quality=q))
        points.append(RatePoint(JPEG_SCAN, "jpeg", float(scans.mean()), psnr, quality=q))
    return points


def lossless_references(x) -> dict[str, float]:
    """Bytes per digit that keep every 8-bit pixel: PNG files and raw bytes."""
    x_np = np.asarray(x)
    return {"PNG (lossless)": float(np.mean([len(png_bytes(image[0])) for image in x_np])),
            "raw 8-bit": float(math.prod(x_np.shape[1:]))}


def frontier(points: list[RatePoint]) -> list[RatePoint]:
    """The settings no other setting of the same list beats: fewest bytes for their PSNR, by bytes."""
    best, result = -math.inf, []
    for point in sorted(points, key=lambda p: (p.bytes_per_digit, -p.psnr)):
        if point.psnr > best:
            result.append(point)
            best = point.psnr
    return result


def with_ssim(points: list[RatePoint], codecs: dict, x) -> list[RatePoint]:
    """The points with their mean SSIM over the digits x measured (each setting's pictures made again)."""
    x_np = np.asarray(x)
    return [p if p.ssim is not None else replace(p, ssim=mean_ssim(x_np, reconstruct(p, codecs, x)))
            for p in points]


def curves(points: list[RatePoint]) -> dict[str, list[RatePoint]]:
    """Each method's frontier, by method, in first-seen order."""
    methods = dict.fromkeys(p.method for p in points)
    return {m: frontier([p for p in points if p.method == m]) for m in methods}


def psnr_at_budget(points: list[RatePoint], budget: float) -> RatePoint | None:
    """The best PSNR reachable within `budget` bytes per digit (None if no setting fits)."""
    fitting = [p for p in points if p.bytes_per_digit <= budget]
    return max(fitting, key=lambda p: p.psnr) if fitting else None


def bytes_for_psnr(points: list[RatePoint], target: float) -> RatePoint | None:
    """The fewest bytes per digit reaching `target` dB (None if no setting does)."""
    reaching = [p for p in points if p.psnr >= target]
    return min(reaching, key=lambda p: p.bytes_per_digit) if reaching else None


def winners(by_method: dict[str, list[RatePoint]], budgets=BUDGETS) -> list[tuple[float, RatePoint | None]]:
    """For each budget, the point of the method with the best PSNR within it (None if none fits)."""
    result = []
    for budget in budgets:
        best = [p for p in (psnr_at_budget(pts, budget) for pts in by_method.values()) if p is not None]
        result.append((budget, max(best, key=lambda p: p.psnr) if best else None))
    return result


def summary(by_method: dict[str, list[RatePoint]], budgets=BUDGETS) -> str:
    """One or two sentences, from the measured numbers, on which method wins at which budget."""
    found = winners(by_method, budgets)
    groups: list[tuple[str, list[tuple[float, RatePoint]]]] = []
    for budget, point in found:
        if point is None:
            continue
        if groups and groups[-1][0] == point.method:
            groups[-1][1].append((budget, point))
        else:
            groups.append((point.method, [(budget, point)]))
    if not groups:
        return f"No method fits in {max(budgets):g} bytes per digit."
    parts = []
    for method, items in groups:
        budgets_text = " and ".join(f"{b:g}" for b, _ in items) if len(items) <= 2 else \
            ", ".join(f"{b:g}" for b, _ in items[:-1]) + f" and {items[-1][0]:g}"
        reached = ", ".join(f"{p.psnr:.1f} dB" for _, p in items)
        parts.append(f"at {budgets_text} bytes per digit **{method}** gives the sharpest digits ({reached})")
    text = "; ".join(parts)
    text = text[0].upper() + text[1:] + "."
    empty = [b for b, p in found if p is None]
    if empty:
        text += f" Nothing fits in {' or '.join(f'{b:g}' for b in empty)} bytes."
    jpeg = by_method.get(JPEG_SCAN) or by_method.get(JPEG_FILE)
    if jpeg:
        smallest = min(jpeg, key=lambda p: p.bytes_per_digit)
        text += (f" JPEG's smallest output here ({smallest.method}, {smallest.setting}) takes "
                 f"{smallest.bytes_per_digit:.0f} bytes for {smallest.psnr:.1f} dB.")
    return text


@dataclass
class LabResult:
    """Every method's frontier on the same test digits (PSNR and bytes; SSIM on demand, see with_ssim),
    and what each receiver must already hold."""

    curves: dict[str, list[RatePoint]]
    lossless: dict[str, float]  # name -> bytes per digit
    n_digits: int
    shared_bytes: dict[str, int]  # method -> bytes of knowledge both sides hold (weights as float32)

    @property
    def points(self) -> list[RatePoint]:
        return [p for pts in self.curves.values() for p in pts]


def build_codecs(models: dict, x_train, codes_train: dict | None = None) -> dict:
    """{checkpoint name: LatentCodec, "PCA": PCACodec}, ranges fitted on the training digits.
    codes_train: name -> the model's codes of x_train, when already computed (else encoded here)."""
    x_np = np.asarray(x_train)
    pixels = math.prod(x_np.shape[1:])
    codes_train = codes_train or {}
    codecs = {name: LatentCodec(name, model, codes_train[name] if name in codes_train
                                else encode_dataset(model, x_train)) for name, model in models.items()}
    codecs[PCA] = PCACodec(x_np, max(pca_components(pixels, len(x_np))))
    return codecs


def run_lab(codecs: dict, x_test, qualities=JPEG_QUALITIES) -> LabResult:
    """Measure every method on x_test (N, 1, H, W): frontiers in bytes per digit and PSNR, lossless
    references, and the shared knowledge of each (decoder weights or PCA axes, as float32)."""
    x_np = np.asarray(x_test)
    if x_np.shape[1] != 1:
        raise ExplorerError("The compression lab takes grayscale digits (one channel).")
    points: list[RatePoint] = []
    shared = {}
    for name, codec in codecs.items():
        if codec.family == "latent":
            points += latent_points(codec, x_test)
            shared[name] = 4 * sum(p.numel() for p in codec.model.decoder.parameters())
        else:
            pca = codec.pca
            points += pca_points(codec, x_np, pca_components(pca.n_features_in_, pca.n_components_))
            shared[name] = 4 * (pca.components_.size + pca.mean_.size)
    points += jpeg_points(x_np, qualities)
    return LabResult(curves(points), lossless_references(x_np), len(x_np), shared)
