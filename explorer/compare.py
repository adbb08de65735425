"""Putting two models side by side: the same seeded test pairs for both, and one metrics table.

The smoothness score asks whether a straight walk between two codes stays among real-looking
digits: every intermediate decoded image is compared with its nearest real training digit.
A model whose codes leave empty space between clusters decodes that space into blends that
match no real digit, so its score is higher (worse).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .data import Dataset
from .errors import ExplorerError
from .generate import interpolation_smoothness

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
    from . import judge
    from .generate import sample_prior
    from .latents import decode_codes, encode_dataset

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
