"""Anomaly detection by reconstruction error: what the model can't rebuild, it hasn't seen.

Scores are "higher = more anomalous"; the anomalous set is the positive class in every metric.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .data import Dataset
from .denoise import add_noise
from .latents import DEFAULT_BATCH_SIZE, reconstruct, reconstruction_errors
from .errors import ExplorerError
from .models import Autoencoder, ModelConfig
from .runs import check_settings, fit
from .train import Progress, TrainConfig

OOD_LABELS = {
    "heavy_noise": "Heavy noise (σ = 0.5)",
    "inverted": "Inverted (1 − x)",
    "rotated_90": "Rotated 90°",
    "digits_8x8": "sklearn 8×8 digits, upscaled",
    "random_strokes": "Random strokes",
}


def error_maps(model: torch.nn.Module, x: torch.Tensor, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """Per-pixel squared error (x − model(x))², averaged over channels: x (N, C, H, W) -> (N, H, W)."""
    return ((np.asarray(x, dtype=np.float32) - reconstruct(model, x, batch_size)) ** 2).mean(axis=1)


def reconstruction_scores(model: torch.nn.Module, x: torch.Tensor, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """Anomaly scores: the mean squared reconstruction error per image, x (N, C, H, W) -> (N,)."""
    return reconstruction_errors(model, x, batch_size)


# --- out-of-distribution sets: (N, 1, 28, 28) float32 in [0, 1] --------------------------------

def heavy_noise(x: torch.Tensor, seed: int = 0, sigma: float = 0.5) -> torch.Tensor:
    """x (N, C, H, W) buried under Gaussian noise of std `sigma`, clipped to [0, 1]."""
    return add_noise(x, "gaussian", sigma, seed)


def inverted(x: torch.Tensor) -> torch.Tensor:
    """1 − x: dark digits on a bright background."""
    return 1.0 - x


def rotated(x: torch.Tensor, degrees: float = 90) -> torch.Tensor:
    """x (N, C, H, W) rotated counter-clockwise as displayed.

    Multiples of 90° are exact (torch.rot90); other angles use bilinear resampling with zeros
    filling the corners.
    """
    degrees = float(degrees)
    if not np.isfinite(degrees):
        raise ExplorerError(f"The rotation angle must be a number of degrees, got {degrees}.")
    if degrees % 90 == 0:
        return torch.rot90(x, k=int(degrees // 90) % 4, dims=(2, 3))
    theta = np.deg2rad(degrees)
    cos, sin = float(np.cos(theta)), float(np.sin(theta))
    # affine_grid maps output positions to input positions (x right, y down); for a
    # counter-clockwise turn on screen, each output pixel samples the input turned clockwise.
    matrix = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], dtype=x.dtype, device=x.device)
    grid = F.affine_grid(matrix.expand(len(x), 2, 3), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False).clamp(0.0, 1.0)


def digits_8x8_resized(n: int, seed: int = 0) -> torch.Tensor:
    """n digits from sklearn's 8×8 set, preprocessed like MNIST (20×20 box, centred by mass)."""
    from sklearn.datasets import load_digits

    from .drawing import to_mnist

    images = load_digits().images / 16.0  # (1797, 8, 8) in [0, 1]
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(images), size=n, replace=n > len(images))
    out = np.stack([to_mnist(images[i]) for i in picks]) if n else np.zeros((0, 28, 28), np.float32)
    return torch.from_numpy(out).unsqueeze(1)


def random_strokes(n: int, seed: int = 0) -> torch.Tensor:
    """n scribbles of 2–4 thick random line segments, kept inside the central 20×20 box
    where digits live (so the border alone doesn't give them away)."""
    from PIL import Image, ImageDraw

    scale = 4  # draw at 112×112, then shrink: anti-aliased edges like MNIST's
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 28, 28), np.float32)
    for i in range(n):
        canvas = Image.new("L", (28 * scale, 28 * scale), 0)
        draw = ImageDraw.Draw(canvas)
        width = int(rng.integers(6, 13))
        points = rng.uniform(4 * scale, 24 * scale, size=(int(rng.integers(2, 5)), 2, 2))
        for (x0, y0), (x1, y1) in points:
            draw.line([(x0, y0), (x1, y1)], fill=255, width=width)
            for cx, cy in ((x0, y0), (x1, y1)):  # round caps
                draw.ellipse([cx - width / 2, cy - width / 2, cx + width / 2, cy + width / 2], fill=255)
        out[i] = np.asarray(canvas.resize((28, 28), Image.Resampling.BOX), np.float32) / 255.0
    return torch.from_numpy(out).unsqueeze(1)


def ood_sets(x_test: torch.Tensor, n: int = 100, seed: int = 0) -> dict[str, torch.Tensor]:
    """Out-of-distribution batches keyed like OOD_LABELS, each (n, 1, 28, 28) in [0, 1].

    The transformed sets start from the same n test digits (drawn with `seed`).
    """
    if x_test.ndim != 4 or tuple(x_test.shape[1:]) != (1, 28, 28):
        raise ExplorerError(
            f"The out-of-distribution sets are made for 28×28 grayscale digits, but this dataset's "
            f"images are {tuple(x_test.shape[1:])}. Pick a 28×28 dataset such as mnist5k."
        )
    if n < 1 or len(x_test) == 0:
        raise ExplorerError("Need at least one test image and n ≥ 1 to build out-of-distribution sets.")
    rng = np.random.default_rng(seed)
    picks = torch.from_numpy(rng.choice(len(x_test), size=n, replace=n > len(x_test)))
    x = x_test[picks].float().cpu()
    return {
        "heavy_noise": heavy_noise(x, seed),
        "inverted": inverted(x),
        "rotated_90": rotated(x, 90),
        "digits_8x8": digits_8x8_resized(n, seed),
        "random_strokes": random_strokes(n, seed),
    }


# --- metrics ------------------------------------------------------------------------------------

def _scores(values, what: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        raise ExplorerError(f"There are no {what} scores: this needs at least one {what} image.")
    if not np.all(np.isfinite(values)):
        raise ExplorerError(f"Some {what} scores are NaN or infinite: the model is broken; retrain or reload it.")
    return values


def auroc(scores_normal, scores_anomalous) -> float:
    """Area under the ROC curve = P(anomalous score > normal score), ties counting ½.

    Computed from ranks (Mann–Whitney U with averaged ties); equals sklearn's roc_auc_score.
    """
    normal = _scores(scores_normal, "normal")
    anomalous = _scores(scores_anomalous, "anomalous")
    from scipy.stats import rankdata  # imported here: scipy.stats adds ~1.4 s to the app's start

    ranks = rankdata(np.concatenate([normal, anomalous]))  # ties get their average rank
    u = ranks[len(normal):].sum() - len(anomalous) * (len(anomalous) + 1) / 2
    return float(u / (len(normal) * len(anomalous)))


def roc_curve_points(scores_normal, scores_anomalous) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, tpr), both (T + 1,), from (0, 0) to (1, 1), flagging "score ≥ t" for each distinct
    score t from high to low. The trapezoid area under it equals `auroc`."""
    normal = np.sort(_scores(scores_normal, "normal"))
    anomalous = np.sort(_scores(scores_anomalous, "anomalous"))
    thresholds = np.unique(np.concatenate([normal, anomalous]))[::-1]
    # count of scores ≥ t = size − (number strictly below t)
    fpr = (len(normal) - np.searchsorted(normal, thresholds, side="left")) / len(normal)
    tpr = (len(anomalous) - np.searchsorted(anomalous, thresholds, side="left")) / len(anomalous)
    return np.concatenate([[0.0], fpr]), np.concatenate([[0.0], tpr])


def precision_recall_at(scores_normal, scores_anomalous, threshold: float) -> tuple[float, float]:
    """(precision, recall) when images with score > threshold are flagged as anomalous.

    If nothing is flagged, precision is 1.0 (no false alarms), as in sklearn's PR curves.
    """
    normal = _scores(scores_normal, "normal")
    anomalous = _scores(scores_anomalous, "anomalous")
    true_pos = int((anomalous > threshold).sum())
    false_pos = int((normal > threshold).sum())
    flagged = true_pos + false_pos
    precision = true_pos / flagged if flagged else 1.0
    return float(precision), true_pos / len(anomalous)


def auroc_per_class(scores, labels, normal_classes) -> dict[int, float]:
    """AUROC of each class not in `normal_classes` against all normal-class images.

    scores, labels (N,) for one test set -> {class: auroc}, classes in ascending order.
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel()
    if scores.shape != labels.shape:
        raise ValueError(f"scores and labels must have the same length, got {scores.shape} and {labels.shape}")
    is_normal = np.isin(labels, list(normal_classes))
    if not is_normal.any():
        raise ExplorerError(
            f"None of the test images belong to the normal classes {sorted(normal_classes)}; "
            "pick normal classes that appear in the dataset."
        )
    normal = scores[is_normal]
    return {int(c): auroc(normal, scores[labels == c]) for c in np.unique(labels[~is_normal])}


# --- one-class mode: train on the "normal" classes only, score everything else ----------------------

# A narrow MLP AE: it can only rebuild what the normal classes have in common. On mnist5k, with one
# digit as normal, this scores a mean AUROC of 0.959 after 120 epochs (bench/anomaly.py, ~2 min).
# Tried there too: 30 epochs 0.931, 60 epochs 0.947; a conv AE with the same 8-unit code reached
# 0.940 at 30 epochs but took about twice as long per epoch.
ONE_CLASS_MODEL = dict(kind="ae", latent_dim=8, hidden=(128, 64))
# Small batches: one digit of mnist5k is only 450 images, 4 steps an epoch at batch size 128.
ONE_CLASS_TRAINING = TrainConfig(epochs=120, batch_size=32)


def train_one_class(
    dataset: Dataset,
    normal_classes,
    model_config: ModelConfig | None = None,
    train_config: TrainConfig | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    stop=None,
) -> Autoencoder:
    """A new autoencoder trained only on the training images whose label is in `normal_classes`.

    model_config defaults to ONE_CLASS_MODEL for the dataset's image shape, train_config to
    ONE_CLASS_TRAINING; a batch size larger than the normal training set is cut down to it.
    on_progress and stop are passed to `train`. The model comes back in eval mode.
    """
    normal = sorted({int(c) for c in normal_classes})
    n_classes = len(dataset.classes)
    if not normal:
        raise ExplorerError("Pick at least one class as 'normal' to train the one-class model on.")
    if normal[0] < 0 or normal[-1] >= n_classes:
        raise ExplorerError(f"Normal classes must be class numbers from 0 to {n_classes - 1}, got {normal}.")
    if len(normal) == n_classes:
        raise ExplorerError("Leave at least one class out of 'normal': those are the anomalies to detect.")
    x = dataset.x_train[torch.isin(dataset.y_train, torch.tensor(normal))]
    if len(x) == 0:
        raise ExplorerError(f"The training split has no images of classes {normal}; pick other normal classes.")
    if model_config is None:
        model_config = ModelConfig(**ONE_CLASS_MODEL, image_shape=dataset.image_shape)
    train_config = train_config or ONE_CLASS_TRAINING
    if train_config.batch_size > len(x):
        train_config = dataclasses.replace(train_config, batch_size=len(x))
    check_settings(model_config, train_config, dataset, n_train=len(x))
    return fit(model_config, train_config, x, on_progress=on_progress, stop=stop).model


@dataclass(frozen=True)
class OneClassReport:
    """How a one-class model separates its normal classes from the rest of the test split."""
    normal_classes: tuple[int, ...]
    scores: np.ndarray               # (N,) reconstruction score of every test image
    labels: np.ndarray               # (N,) their classes
    auroc: float                     # normal classes vs all other classes
    auroc_per_class: dict[int, float]  # each held-out class vs the normal classes

    @property
    def is_normal(self) -> np.ndarray:
        return np.isin(self.labels, self.normal_classes)


def one_class_report(model: torch.nn.Module, dataset: Dataset, normal_classes) -> OneClassReport:
    """Score the whole test split with `model` and measure AUROC, overall and per held-out class."""
    normal = tuple(sorted({int(c) for c in normal_classes}))
    scores = reconstruction_scores(model, dataset.x_test)
    labels = dataset.y_test.numpy()
    is_normal = np.isin(labels, normal)
    return OneClassReport(
        normal_classes=normal,
        scores=scores,
        labels=labels,
        auroc=auroc(scores[is_normal], scores[~is_normal]),
        auroc_per_class=auroc_per_class(scores, labels, normal),
    )


# --- the Anomalies page's threshold slider and uploads -------------------------------------------

N_THRESHOLDS = 160  # threshold slider stops, spaced evenly on a log scale


def threshold_options(all_scores: np.ndarray, n: int = N_THRESHOLDS) -> list[float]:
    """Slider stops from just below the lowest score to just above the highest, log-spaced, 3 digits."""
    lo, hi = float(all_scores.min()) * 0.9, float(all_scores.max()) * 1.1
    return sorted({float(f"{v:.3g}") for v in np.geomspace(max(lo, 1e-6), max(hi, 2e-6), n)})


def nearest_threshold(options: list[float], value: float) -> float:
    """The stop closest to `value` on the log scale the stops are spaced on."""
    return min(options, key=lambda o: abs(np.log(o) - np.log(value)) if value > 0 else o)


def read_uploads(files: list[tuple[str, bytes]]) -> tuple[list[np.ndarray], list[str], list[tuple[str, str]]]:
    """Uploaded (name, bytes) pairs -> (28×28 images, their names, (name, problem) for each bad file).
    A bad file never raises: the others are still read."""
    from .drawing import load_image, to_mnist

    images, names, problems = [], [], []
    for name, content in files:
        try:
            images.append(to_mnist(load_image(content)))
            names.append(name)
        except ExplorerError as error:
            problems.append((name, str(error)))
    return images, names, problems
