"""Test-split metrics: reconstruction error, negative ELBO, PSNR, linear-probe accuracy, PCA baseline."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .latents import encode_dataset, model_device, per_image_mse, run_batches
from .models import kl_divergence

PSNR_CAP_DB = 100.0  # the PSNR of a perfect copy is infinite; this is reported instead


@torch.inference_mode()
def reconstruction_metrics(model, x: torch.Tensor, batch_size: int = 1000, seed: int = 0) -> dict[str, float]:
    """Per-image means over x (N, C, H, W): MSE per pixel, BCE summed per image (nats), PSNR (dB);
    for VAEs also the negative ELBO per image in nats (one seeded sample of z per image)."""
    model.eval()
    generator = torch.Generator(device=model_device(model)).manual_seed(seed)

    def measure(batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:  # each (b,)
        logits = model.decode_logits(model.encode(batch))
        mse = per_image_mse(batch, torch.sigmoid(logits))
        bce = F.binary_cross_entropy_with_logits(logits, batch, reduction="none").flatten(1).sum(1)
        if not model.is_variational:
            return mse, bce, None
        mu, logvar = model.encode_distribution(batch)
        z = model.reparameterize(mu, logvar, generator)
        sampled = F.binary_cross_entropy_with_logits(model.decode_logits(z), batch, reduction="none")
        return mse, bce, sampled.flatten(1).sum(1) + kl_divergence(mu, logvar).sum(1)

    mse, bce, neg_elbo = zip(*run_batches(model, measure, x, batch_size=batch_size))
    mse = torch.cat(mse).cpu().double()
    result = {
        "mse": float(mse.mean()),
        "bce": float(torch.cat(bce).mean()),
        "psnr": float(psnr_from_mse(mse).mean()),
    }
    if model.is_variational:
        result["neg_elbo"] = float(torch.cat(neg_elbo).mean())
    return result


def psnr_from_mse(mse) -> np.ndarray:
    """PSNR in dB of images with peak 1 from their MSE per pixel (N,) -> (N,) float64: 10·log10(1 / MSE),
    PSNR_CAP_DB for a perfect copy (MSE ≤ 1e-10) instead of infinity."""
    mse = np.asarray(mse, dtype=np.float64)
    return 10.0 * np.log10(1.0 / np.maximum(mse, 10.0 ** (-PSNR_CAP_DB / 10.0)))


def linear_probe_accuracy(codes_train: np.ndarray, y_train: np.ndarray, codes_test: np.ndarray, y_test: np.ndarray) -> float:
    """Accuracy of a logistic regression from codes to labels: how linearly readable the classes are."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    probe.fit(codes_train, y_train)
    return float(probe.score(codes_test, y_test))


def pca_baseline_mse(x_train: torch.Tensor, x_test: torch.Tensor, components: int = 32) -> float:
    """Test MSE per pixel of PCA with `components` axes fitted on x_train: the linear baseline."""
    from sklearn.decomposition import PCA

    train, test = x_train.flatten(1).numpy(), x_test.flatten(1).numpy()
    pca = PCA(components, svd_solver="full").fit(train)
    recon = pca.inverse_transform(pca.transform(test))
    return float(((recon - test) ** 2).mean())


def evaluate(model, dataset) -> dict[str, float]:
    """All metrics of `model` on the dataset's test split (the probe is fitted on the train split).
    Kinds that are not plain autoencoders (a classifier, a prior, a conditional VAE) measure themselves."""
    own = model.config.spec.evaluate
    if own is not None:
        return own(model, dataset)
    metrics = reconstruction_metrics(model, dataset.x_test)
    metrics["linear_probe"] = linear_probe_accuracy(
        encode_dataset(model, dataset.x_train), dataset.y_train.numpy(), encode_dataset(model, dataset.x_test), dataset.y_test.numpy()
    )
    return metrics
