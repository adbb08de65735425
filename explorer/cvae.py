"""A conditional VAE (Sohn et al. 2015): the class goes to the encoder and the decoder, so the code keeps the style.

The decoder is told which digit to draw, so spending code capacity on the class earns nothing while
the KL term charges for every nat in the code: what stays in z is how the digit is written (slant,
width, thickness). Decoding one digit's code with another class writes that class in the same hand.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import ExplorerError
from .latents import as_image_batch, model_device
from .models import VariationalAutoencoder, bernoulli_nll, kl_divergence, mlp


class ConditionalVAE(nn.Module):
    """MLP encoder q(z | x, y) and decoder p(x | z, y); y enters both as a one-hot vector."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        pixels, classes = math.prod(config.image_shape), config.num_classes
        self.body = nn.Sequential(mlp([pixels + classes, *config.hidden]), nn.ReLU())
        self.to_mu = nn.Linear(config.hidden[-1], config.latent_dim)
        self.to_logvar = nn.Linear(config.hidden[-1], config.latent_dim)
        self.decoder = nn.Sequential(mlp([config.latent_dim + classes, *reversed(config.hidden), pixels]),
                                     nn.Unflatten(1, config.image_shape))

    @property
    def is_variational(self) -> bool:
        return True

    def one_hot(self, labels, batch: int, device) -> torch.Tensor:
        labels = torch.as_tensor(labels, dtype=torch.long, device=device).reshape(-1)
        if labels.numel() == 1 and batch > 1:
            labels = labels.expand(batch)
        if labels.numel() != batch:
            raise ExplorerError(f"Give one class per image: {batch} images, {labels.numel()} classes.")
        if labels.min() < 0 or labels.max() >= self.config.num_classes:
            raise ExplorerError(f"Classes must be 0 to {self.config.num_classes - 1}.")
        return F.one_hot(labels, self.config.num_classes).float()

    def encode_distribution(self, x: torch.Tensor, labels) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, C, H, W), labels (B,) -> (μ, log σ²), each (B, latent)."""
        h = self.body(torch.cat([x.flatten(1), self.one_hot(labels, len(x), x.device)], 1))
        return self.to_mu(h), self.to_logvar(h)

    def encode(self, x: torch.Tensor, labels) -> torch.Tensor:
        """x (B, C, H, W), labels (B,) -> the style code μ (B, latent)."""
        return self.encode_distribution(x, labels)[0]

    def decode_logits(self, z: torch.Tensor, labels) -> torch.Tensor:
        return self.decoder(torch.cat([z, self.one_hot(labels, len(z), z.device)], 1))

    def decode(self, z: torch.Tensor, labels) -> torch.Tensor:
        """z (B, latent), labels (B,) or one class for all -> images (B, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z, labels))

    reparameterize = staticmethod(VariationalAutoencoder.reparameterize)

    def loss(self, x: torch.Tensor, labels: torch.Tensor | None = None,
             generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Negative ELBO terms in nats per image (as the VAE's): recon + β·KL, z sampled from `generator`."""
        if labels is None:
            raise ExplorerError("A conditional VAE trains on labelled digits: pass the labels.")
        mu, logvar = self.encode_distribution(x, labels)
        z = self.reparameterize(mu, logvar, generator)
        kl = kl_divergence(mu, logvar).sum(1).mean()
        recon = bernoulli_nll(self.decode_logits(z, labels), x) / len(x)
        return {"total": recon + self.config.beta * kl, "recon": recon, "kl": kl}


@torch.inference_mode()
def style_codes(model: ConditionalVAE, images, labels, batch_size: int = 1024) -> np.ndarray:
    """The style code μ of each image given its class: images (N, C, H, W), labels (N,) -> (N, latent)."""
    x = as_image_batch(images, "images")
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long).reshape(-1)
    device = model_device(model)
    parts = [model.encode(x[s:s + batch_size].to(device), y[s:s + batch_size].to(device)).cpu()
             for s in range(0, len(x), batch_size)]
    if not parts:
        return np.zeros((0, model.config.latent_dim), np.float32)
    return torch.cat(parts).numpy().astype(np.float32)


@torch.inference_mode()
def decode_as(model: ConditionalVAE, codes, classes) -> np.ndarray:
    """Each code (N, latent) written as each class in `classes` -> images (N, K, C, H, W)."""
    z = torch.as_tensor(np.asarray(codes, np.float32)).reshape(-1, model.config.latent_dim)
    classes = list(classes)
    device = model_device(model)
    zz = z.repeat_interleave(len(classes), 0).to(device)  # (N*K, latent): code 0 as every class, then code 1...
    yy = torch.tensor(classes * len(z), device=device)
    images = model.decode(zz, yy).cpu().numpy().astype(np.float32)
    return images.reshape(len(z), len(classes), *images.shape[1:])


def all_classes_grid(model: ConditionalVAE, images, labels) -> np.ndarray:
    """Each image's style written as every class 0..K-1 -> (N, K, C, H, W): the analogy grid."""
    return decode_as(model, style_codes(model, images, labels), range(model.config.num_classes))


@torch.inference_mode()
def evaluate(model: ConditionalVAE, dataset, seed: int = 0) -> dict[str, float]:
    """Test metrics, each image encoded and decoded with its own class: MSE per pixel, BCE and the negative
    ELBO per image (nats, one seeded sample of z), PSNR, and the linear-probe accuracy of the style codes
    (fitted on the train split): how much of the class the code still holds (chance is 1 / classes)."""
    from .metrics import linear_probe_accuracy, psnr_from_mse

    model.eval()
    x, y = dataset.x_test, dataset.y_test
    logits = model.decode_logits(model.encode(x, y), y)
    mse = ((torch.sigmoid(logits) - x) ** 2).flatten(1).mean(1).double()
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    neg_elbo = model.loss(x, y, torch.Generator().manual_seed(seed))
    return {
        "mse": float(mse.mean()),
        "bce": float(bce.mean()),
        "neg_elbo": float(neg_elbo["recon"] + neg_elbo["kl"]),  # β = 1: the ELBO itself, whatever β trained it
        "psnr": float(psnr_from_mse(mse).mean()),
        "linear_probe": linear_probe_accuracy(style_codes(model, dataset.x_train, dataset.y_train), dataset.y_train.numpy(),
                                              style_codes(model, x, y), y.numpy()),
    }


HANDWRITING_MEASURES = ("ink", "width", "height", "horizontal spread", "vertical spread", "slant")


def handwriting_measures(images) -> np.ndarray:
    """Six plain measurements of how each digit is written, (N, 6) in HANDWRITING_MEASURES' order: ink
    (total intensity), width and height of the inked box (pixels above 0.5), the ink's spread across and
    down (standard deviations around its centre), and slant (the ink's x-y covariance over its y variance).

    A baseline for the style code: style that goes with the class (a 1 is narrow, a 0 round) lets these
    tell the class too, so a style code read above chance is not, by that alone, a code that knows the label."""
    x = as_image_batch(images, "images")[:, 0].double().numpy()  # (N, H, W): grey digits have one channel
    height, width = x.shape[-2:]
    rows, cols = np.mgrid[0:height, 0:width]
    ink = x.sum(axis=(1, 2))
    mass = np.maximum(ink, 1e-8)
    cx = (x * cols).sum(axis=(1, 2)) / mass
    cy = (x * rows).sum(axis=(1, 2)) / mass
    dx, dy = cols[None] - cx[:, None, None], rows[None] - cy[:, None, None]
    var_x, var_y = (x * dx**2).sum(axis=(1, 2)) / mass, (x * dy**2).sum(axis=(1, 2)) / mass
    slant = (x * dx * dy).sum(axis=(1, 2)) / mass / np.maximum(var_y, 1e-8)
    inked = x > 0.5
    box_width, box_height = inked.any(axis=1).sum(axis=1), inked.any(axis=2).sum(axis=1)
    return np.stack([ink, box_width, box_height, np.sqrt(var_x), np.sqrt(var_y), slant], axis=1)


def probe_verdict(style: float, plain_code: float, measured: float, chance: float) -> str:
    """What the four probe figures say, in words that stay true whatever the models score."""
    if style >= plain_code:
        return ("**Here the style code tells the class as well as the plain code does**: this conditional VAE "
                "has not learned to leave the class to its label. Retrain it with a larger β.")
    base = (f"The style code tells the class {style:.0%} of the time against {plain_code:.0%} for the plain "
            f"code: most of what said *which* digit is gone. ")
    if style <= chance + 0.05:
        return base + "What is left is no better than guessing."
    if style <= measured:
        return base + (f"It is still above chance ({chance:.0%}), because how a digit is written goes with which "
                       f"digit it is (a 1 is narrow, a 0 round): six plain measurements of the handwriting, with "
                       f"no model at all, already tell the class {measured:.0%} of the time. The style code tells "
                       "it less often than they do.")
    return base + (f"It is still above chance ({chance:.0%}) and above six plain handwriting measurements "
                   f"({measured:.0%}): some of the class has stayed in the code beyond what style explains.")
