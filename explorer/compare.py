"""Putting two models side by side: the same seeded test pairs for both, and one metrics table.

The smoothness score asks whether a straight walk between two codes stays among real-looking
digits: every intermediate decoded image is compared with its nearest real training digit.
A model whose codes leave empty space between clusters decodes that space into blends that
match no real digit, so its score is higher (worse).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from . import judge
from .data import Dataset
from .errors import ExplorerError
from .generate import interpolation_smoothness, sample_prior
from .latents import decode_codes, encode_dataset

SMOOTHNESS_PAIRS = 20
SMOOTHNESS_STEPS = 10

# (metrics key, row label, format). Arrows say which way is better.
METRIC_ROWS = (
    ("mse", "Reconstruction MSE per pixel (test) ↓", "{:.4f}"),
    ("neg_elbo", "Negative ELBO, nats per image (test) ↓", "{:.1f}"),
    ("linear_probe", "Linear-probe accuracy (test) ↑", "{:.1%}"),
    ("smoothness", "Interpolation: distance to nearest real digit ↓", "{:.4f}"),
    ("prior_confident", "N(0, I) samples read confidently as a digit ↑", "{:.0%}"),
    ("midpoint_confident", "Interpolation midpoints read confidently as a digit ↑", "{:.0%}"),
    ("prior_frechet", "N(0, I) samples: Fréchet distance to test digits ↓", "{:.1f}"),
)
PLANE_CELLS = 24  # grid points along each axis of a 2-D code plane
PLANE_QUANTILES = (0.01, 0.99)  # the grid spans the middle 98% of the codes, so a few strays do not set its size
JUDGED_SAMPLES = 500  # prior samples per model, as many as the test digits they are compared with
JUDGED_PAIRS = 200
MISSING = "—"


def random_pairs(n: int, count: int = SMOOTHNESS_PAIRS, seed: int = 0) -> np.ndarray:
    """`count` seeded pairs of row indices below n -> (count, 2) int; the two rows of a pair differ."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ExplorerError(f"Pairs need at least 2 images to choose from; got {n!r}.")
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ExplorerError(f"The number of pairs must be a whole number of at least 1; got {count!r}.")
    rng = np.random.default_rng(seed)
    first = rng.integers(0, n, size=count)
    # Shift the second by 1..n-1 (mod n): uniform over the other rows, never the same row.
    second = (first + rng.integers(1, n, size=count)) % n
    return np.stack([first, second], axis=1).astype(np.int64)


def smoothness_score(
    model,
    dataset: Dataset,
    pairs: int = SMOOTHNESS_PAIRS,
    steps: int = SMOOTHNESS_STEPS,
    method: str = "linear",
    seed: int = 0,
) -> float:
    """Mean RMSE per pixel from each interpolated image to its nearest training digit (lower = smoother).

    Interpolates between `pairs` seeded random pairs of *test* digits, so every model is scored
    on the same pairs, and compares the intermediate steps with the *train* digits.
    """
    index = random_pairs(len(dataset.x_test), pairs, seed)  # (P, 2)
    return interpolation_smoothness(
        model, dataset.x_test[index[:, 0]], dataset.x_test[index[:, 1]], dataset.x_train, steps, method
    )


def judged_generation(model, dataset: Dataset, classifier, seed: int = 0) -> dict[str, float]:
    """What a digit classifier makes of a model's generated images: the share of N(0, I) samples and of
    interpolation midpoints (seeded test pairs) it reads as some digit with probability ≥ judge.CONFIDENT,
    and the Fréchet distance of the samples to the test digits in its features (explorer.judge)."""
    _, samples = sample_prior(model, JUDGED_SAMPLES, seed)
    index = random_pairs(len(dataset.x_test), JUDGED_PAIRS, seed)  # (P, 2)
    codes = encode_dataset(model, dataset.x_test)
    midpoints = decode_codes(model, (codes[index[:, 0]] + codes[index[:, 1]]) / 2)
    reading = judge.read(classifier, samples)
    reference = judge.read(classifier, dataset.x_test).features
    return {"prior_confident": reading.confident_share(),
            "midpoint_confident": judge.read(classifier, midpoints).confident_share(),
            "prior_frechet": judge.frechet_distance(reading.features, reference)}


def metrics_table(columns: Sequence[tuple[str, Mapping[str, float]]]) -> dict[str, list[str]]:
    """One row per METRIC_ROWS entry, one column per (title, metrics) -> {"metric": labels, title: cells}.

    Missing or non-finite values (e.g. the negative ELBO of a plain AE) show as "—".
    Titles must be distinct.
    """
    titles = [title for title, _ in columns]
    if len(set(titles)) != len(titles) or "metric" in titles:
        raise ExplorerError(f"Column titles must be distinct and not 'metric'; got {titles}.")
    table = {"metric": [label for _, label, _ in METRIC_ROWS]}
    for title, metrics in columns:
        cells = []
        for key, _, fmt in METRIC_ROWS:
            value = metrics.get(key)
            ok = value is not None and np.isfinite(value)
            cells.append(fmt.format(value) if ok else MISSING)
        table[title] = cells
    return table


# ---------------------------------------------------------------- a 2-D code plane, decoded everywhere


@dataclass(frozen=True)
class PlaneScan:
    """Every point of a regular grid over a 2-D code plane, decoded, judged and encoded again.

    Grids are (n, n) with row 0 at the *lowest* y, as a heat map draws them; `images` are in mosaic
    order (top row, the highest y, first), like `generate.manifold_grid`."""

    xs: np.ndarray  # (n,) ascending code values along dimension 0
    ys: np.ndarray  # (n,) ascending code values along dimension 1
    images: np.ndarray  # (n*n, C, H, W) the decoded grid, top row first
    confidence: np.ndarray  # (n, n) the judge's probability for the class it reads in each decode
    drift: np.ndarray  # (n, n) |encode(decode(z)) - z|, in grid steps (one step: the diagonal of a cell)

    def confident_share(self, threshold: float | None = None) -> float:
        """Share of the plane the judge reads as some digit with probability >= threshold (judge.CONFIDENT)."""
        return float((self.confidence >= (judge.CONFIDENT if threshold is None else threshold)).mean())

    def returned_share(self, steps: float = 1.0) -> float:
        """Share of the plane whose decode the encoder puts back within `steps` grid steps of where it was drawn."""
        return float((self.drift <= steps).mean())


def code_extent(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The box holding the middle of codes (N, latent) along each dimension -> (low, high), each (latent,)."""
    return tuple(np.quantile(np.asarray(codes, dtype=np.float64), PLANE_QUANTILES, axis=0))


def scan_plane(model, codes: np.ndarray, classifier, cells: int = PLANE_CELLS) -> PlaneScan:
    """Decode a cells×cells grid over the extent of a 2-D model's codes (N, 2) of real digits, have the
    judge read each decode, and encode each decode again.

    A hole is a part of the plane no digit was ever encoded to. Its decode can still look like a digit
    (a decoder extends its strokes past the data), so two questions are asked of every point: does the
    judge read a digit there, and would the encoder put that digit back there?"""
    if model.config.latent_dim != 2:
        raise ExplorerError(f"A plane scan needs a model with a 2-number code; this one has {model.config.latent_dim}.")
    low, high = code_extent(codes)
    xs, ys = np.linspace(low[0], high[0], cells), np.linspace(low[1], high[1], cells)
    grid = np.stack([np.tile(xs, cells), np.repeat(ys[::-1], cells)], axis=1).astype(np.float32)  # (n*n, 2) top row first
    images = decode_codes(model, grid)
    reading = judge.read(classifier, images)
    step = float(np.hypot(xs[1] - xs[0], ys[1] - ys[0]))
    drift = np.hypot(*(encode_dataset(model, images) - grid).T) / step  # (n*n,)
    as_heat_map = lambda values: np.asarray(values, dtype=np.float64).reshape(cells, cells)[::-1]  # noqa: E731
    return PlaneScan(xs, ys, images, as_heat_map(reading.confidence), as_heat_map(drift))


PLANE_GAP = 0.10  # two shares within 10 points of each other count as "about the same"


def plane_verdict(first: tuple[str, PlaneScan], second: tuple[str, PlaneScan], gap: float = PLANE_GAP) -> str:
    """What two plane scans show, in two sentences written from their numbers (Markdown, names in backticks).

    The first asks the judge (does each decode look like a digit?), the second the encoder (does each decode
    come back where it was drawn?); each says which plane has more holes, or that they are about even."""
    (name_a, scan_a), (name_b, scan_b) = first, second

    def worse(share_a: float, share_b: float) -> str | None:  # the name with the smaller share, unless they are close
        return None if abs(share_a - share_b) < gap else (name_a if share_a < share_b else name_b)

    sure_a, sure_b = scan_a.confident_share(), scan_b.confident_share()
    judged = (f"The judge reads **{sure_a:.0%}** of `{name_a}`'s plane and **{sure_b:.0%}** of `{name_b}`'s as a "
              f"digit (at least {judge.CONFIDENT:.0%} sure; dark cells are the rest). ")
    holes = worse(sure_a, sure_b)
    judged += (f"By that measure `{holes}`'s plane has more holes. " if holes else
               "By that measure neither plane has more holes: where no digit was encoded, a decoder still draws "
               "something, often a sharp digit that carries on its neighbours' strokes. ")
    away_a, away_b = 1 - scan_a.returned_share(), 1 - scan_b.returned_share()
    returned = (f"Encode each of those decodes again: **{away_a:.0%}** of `{name_a}`'s grid and **{away_b:.0%}** of "
                f"`{name_b}`'s lands more than a grid step from where it was drawn (×): a digit drawn there belongs to "
                "another part of the plane. ")
    borrowed = worse(1 - away_a, 1 - away_b)
    returned += (f"So `{borrowed}`'s plane has more places its decoder fills with digits its encoder would put "
                 "elsewhere." if borrowed else "The two planes have about as many such places.")
    return judged + returned
