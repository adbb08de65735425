"""A judge for generated digits: a small CNN classifier and the Fréchet distance in its features.

The classifier is trained on the dataset's training split like any other model (`loss(x, labels)`),
then reads any set of images: the class each looks like and how confidently, and its penultimate
features. The Fréchet distance between the features of two sets is "FID on MNIST": the same formula
as the Fréchet Inception Distance (Heusel et al. 2017), but in *this classifier's* 128 features, not
Inception's, so its values are comparable only with each other, never with published FIDs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import ExplorerError
from .latents import as_image_batch, model_device

CONFIDENT = 0.9  # a reading at least this sure counts as "confidently a digit"
DEFAULT_BATCH_SIZE = 1024


class DigitClassifier(nn.Module):
    """Two conv + max-pool stages, then a hidden layer (the features the judge compares) and the class scores.

    config.channels gives the conv widths, config.hidden[0] the feature width, config.num_classes the classes.
    """

    def __init__(self, config):
        super().__init__()
        self.config = config
        c, h, w = config.image_shape
        layers, width = [], c
        for out in config.channels:
            layers += [nn.Conv2d(width, out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            width, h, w = out, h // 2, w // 2
        self.body = nn.Sequential(*layers, nn.Flatten(), nn.Dropout(0.3), nn.Linear(width * h * w, config.hidden[0]),
                                  nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(config.hidden[0], config.num_classes))

    @property
    def is_variational(self) -> bool:
        return False

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) -> penultimate features (B, hidden[0])."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) -> class logits (B, classes)."""
        return self.head(self.body(x))

    def loss(self, x: torch.Tensor, labels: torch.Tensor | None = None,
             generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Cross-entropy in nats per image (mean over the batch); a classifier needs the labels."""
        if labels is None:
            raise ExplorerError("A classifier trains on labelled digits: pass the labels.")
        ce = F.cross_entropy(self(x), labels.to(x.device))
        return {"total": ce, "ce": ce}


@dataclass
class Reading:
    """What the judge makes of a set of images."""

    classes: np.ndarray  # (N,) the class each image looks like most
    confidence: np.ndarray  # (N,) the classifier's probability for that class
    features: np.ndarray  # (N, F) penultimate features

    def histogram(self, num_classes: int = 10) -> np.ndarray:
        """How many images were read as each class -> (num_classes,) int."""
        return np.bincount(self.classes, minlength=num_classes)

    def confident_share(self, threshold: float = CONFIDENT) -> float:
        """The share of images the classifier reads as some digit with probability >= threshold."""
        return float((self.confidence >= threshold).mean()) if len(self.confidence) else float("nan")


@torch.inference_mode()
def read(classifier: DigitClassifier, images, batch_size: int = DEFAULT_BATCH_SIZE) -> Reading:
    """Class, confidence and features for images (N, C, H, W) in [0, 1]."""
    x = as_image_batch(images, "images")
    if tuple(x.shape[1:]) != tuple(classifier.config.image_shape):
        raise ExplorerError(f"The judge reads {'×'.join(map(str, classifier.config.image_shape))} images; "
                            f"got {'×'.join(map(str, x.shape[1:]))}.")
    was_training = classifier.training
    classifier.eval()
    device = model_device(classifier)
    classes, confidence, features = [], [], []
    for start in range(0, len(x), batch_size):
        feats = classifier.features(x[start:start + batch_size].to(device))  # (b, F)
        probs = classifier.head(feats).softmax(1)
        best = probs.max(1)
        classes.append(best.indices.cpu())
        confidence.append(best.values.cpu())
        features.append(feats.cpu())
    classifier.train(was_training)
    if not features:
        raise ExplorerError("There are no images to judge.")
    return Reading(torch.cat(classes).numpy(), torch.cat(confidence).numpy(),
                   torch.cat(features).double().numpy())


def accuracy(classifier: DigitClassifier, images, labels) -> float:
    """The share of images whose reading is their label."""
    return float((read(classifier, images).classes == np.asarray(labels)).mean())


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, F) and (M, F):

    ‖μa − μb‖² + Tr(Σa + Σb − 2 (Σa Σb)^½). Tr((Σa Σb)^½) is computed as the sum of square roots of the
    eigenvalues of Σa^½ Σb Σa^½, which is symmetric, so no complex square roots appear.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ExplorerError(f"Fréchet distance needs two sets of at least 2 feature rows of one width; "
                            f"got shapes {a.shape} and {b.shape}.")
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root_a = _psd_sqrt(cov_a)
    cross = np.linalg.eigvalsh(root_a @ cov_b @ root_a).clip(min=0)
    distance = ((mean_a - mean_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.sqrt(cross).sum()
    return float(max(distance, 0.0))  # rounding can leave -1e-12 for identical sets


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(values.clip(min=0))) @ vectors.T


def classifier_frechet(classifier: DigitClassifier, images, reference) -> float:
    """Fréchet distance between images and reference images in the classifier's features (lower = closer)."""
    return frechet_distance(read(classifier, images).features, read(classifier, reference).features)


def evaluate(classifier: DigitClassifier, dataset) -> dict[str, float]:
    """Test accuracy and mean cross-entropy (nats per image) on the dataset's test split."""
    from .train import evaluate_loss

    return {"accuracy": accuracy(classifier, dataset.x_test, dataset.y_test.numpy()),
            "ce": evaluate_loss(classifier, dataset.x_test, y=dataset.y_test)["ce"]}


@dataclass
class Verdict:
    """The judge's summary of one set of generated images."""

    frechet: float  # to the reference set, in this classifier's features
    histogram: np.ndarray  # (classes,) images read as each class
    confident_share: float  # share read as some digit with probability >= CONFIDENT


def verdict(classifier: DigitClassifier, images, reference_features: np.ndarray) -> Verdict:
    """Judge images (N, C, H, W) against reference features (e.g. read(classifier, test digits).features)."""
    reading = read(classifier, images)
    return Verdict(frechet_distance(reading.features, reference_features),
                   reading.histogram(classifier.config.num_classes), reading.confident_share())
