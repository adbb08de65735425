"""What each guided lesson reveals, computed from the shipped models (never written down).

Every function takes models and data and returns plain numbers and images, so a lesson's answer
stays true when a checkpoint is retrained. "Looks like a digit" is judged without a classifier:
an image *looks like a digit* when it is as similar to its nearest training digit as 90 % of the real
test digits are to theirs (`digit_likeness_threshold`).
"""

from __future__ import annotations

import numpy as np
import torch

from explorer import anomaly, denoise, generate, latents
from explorer.compare import PLANE_GAP
from explorer.latents import as_image_batch


# --------------------------------------------------------------- shared: does an image look like a real digit?


def nearest_real_similarity(images, reference, chunk: int = 2048) -> np.ndarray:
    """Cosine similarity of each image (M, C, H, W) to its most similar reference image (R, C, H, W) -> (M,).

    Cosine, not pixel distance: a blurred blob is close in RMSE to many thin digits (it sits near their
    average), but its pixel pattern matches none of them; cosine also ignores overall brightness."""
    def unit(x) -> torch.Tensor:
        flat = as_image_batch(x).flatten(1).double()
        return flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-12)

    queries, ref = unit(images), unit(reference)
    best = torch.full((queries.shape[0],), -1.0, dtype=torch.float64)
    with torch.inference_mode():
        for start in range(0, ref.shape[0], chunk):
            best = torch.maximum(best, (queries @ ref[start:start + chunk].T).max(dim=1).values)
    return best.numpy()


def digit_likeness_threshold(x_test, x_train, quantile: float = 0.1) -> float:
    """The similarity to the nearest training digit that all but `quantile` of the real test digits reach:
    an image at least this similar looks as much like a digit as 90 % of real ones do."""
    return float(np.quantile(nearest_real_similarity(x_test, x_train), quantile))


def share_like_digits(images, x_train, threshold: float) -> float:
    """Share of images (M, C, H, W) at least `threshold`-similar to some real training digit."""
    return float((nearest_real_similarity(images, x_train) >= threshold).mean())


def closer_choice(value_a: float, value_b: float, a: str, b: str, same: str, tolerance: float) -> str:
    """`a` or `b`, whichever value is larger, or `same` when they differ by at most `tolerance`."""
    if abs(value_a - value_b) <= tolerance:
        return same
    return a if value_a > value_b else b


# --------------------------------------------------------------- lesson 1: compression through a bottleneck


def reconstruction_mse(model, x) -> float:
    """Mean reconstruction MSE per pixel over images x (N, C, H, W)."""
    return float(latents.reconstruction_errors(model, x).mean())


def bottleneck_answer(mse_small: float, mse_large: float, tolerance: float = 0.1) -> str:
    """"worse", "same" or "better": the small code's error against the large one's, the same within 10 %."""
    ratio = mse_small / mse_large
    return "same" if abs(ratio - 1) <= tolerance else ("worse" if ratio > 1 else "better")


# --------------------------------------------------------------- lesson 2: where a digit lands on the map


def neighbour_labels(xy: np.ndarray, labels: np.ndarray, point: np.ndarray, k: int = 50) -> np.ndarray:
    """Labels of the k digits nearest to `point` on the map (xy (N, 2)) -> (k,)."""
    order = np.argsort(np.hypot(*(np.asarray(xy) - np.asarray(point)).T), kind="stable")
    return np.asarray(labels)[order[:k]]


def class_centres(xy: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Median map position of each class -> (n_classes, 2) (the median is not pulled by a few strays)."""
    return np.stack([np.median(xy[labels == c], axis=0) for c in range(n_classes)])


def nearest_class(centres: np.ndarray, digit: int) -> int:
    """The class whose centre sits closest to `digit`'s centre on the map."""
    distance = np.hypot(*(centres - centres[digit]).T)
    distance[digit] = np.inf
    return int(np.argmin(distance))


def landing_result(xy: np.ndarray, labels: np.ndarray, n_classes: int, digit: int, clicked: int, k: int = 50) -> dict:
    """Where `digit` really lands against the clicked row: the share of `digit`s among the click's k
    nearest digits, the class most common there, the digit's centre and its nearest neighbour class."""
    near = neighbour_labels(xy, labels, xy[clicked], k)
    centres = class_centres(xy, labels, n_classes)
    return dict(share=float((near == digit).mean()), majority=int(np.bincount(near, minlength=n_classes).argmax()),
                centre=centres[digit], neighbour=nearest_class(centres, digit), k=k)


# --------------------------------------------------------------- lesson 3: holes in a 2-D code plane


def plane_answer(ae_scan, vae_scan, tolerance: float = PLANE_GAP) -> str:
    """"ae", "vae" or "same": whose plane scan (compare.PlaneScan) the judge finds more holes in (points it
    does not read as a digit), "same" when the two shares are within `tolerance`."""
    return closer_choice(1 - ae_scan.confident_share(), 1 - vae_scan.confident_share(), "ae", "vae", "same", tolerance)


# --------------------------------------------------------------- lesson 4: prior samples


def prior_images(model, count: int = 64, seed: int = 0) -> np.ndarray:
    """`count` codes from N(0, I), decoded -> (count, C, H, W)."""
    return generate.sample_prior(model, count, seed=seed)[1]


def which_mostly(first: float, second: float, names: tuple[str, str], enough: float = 0.5) -> str:
    """"both", one of `names` or "neither": which of two shares reach `enough`."""
    return {(True, True): "both", (True, False): names[0], (False, True): names[1], (False, False): "neither"}[
        (first >= enough, second >= enough)]


def prior_answer(share_ae: float, share_vae: float, enough: float = 0.5) -> str:
    """"both", "vae", "ae" or "neither": which models' random codes mostly decode to digit-like images."""
    return which_mostly(share_ae, share_vae, ("ae", "vae"), enough)


# --------------------------------------------------------------- lesson 6: β and active units


def active_unit_count(model, x) -> tuple[int, int]:
    """(active units, latent size) of a VAE over images x: units whose mean KL exceeds 0.01 nats."""
    return generate.active_units(generate.kl_per_dimension(model, x)), model.config.latent_dim


# --------------------------------------------------------------- lesson 7: which reconstruction came from the DAE


def denoising_quiz(models: dict, clean: torch.Tensor, kind: str, level: float, seed: int = 0) -> dict:
    """The noisy digits and each model's reconstructions in a seeded order ("A", "B", ...), with the mean PSNR
    each reached: {"noisy": (N, C, H, W), "order": [model names], "images": [...], "psnr": {name: dB}}."""
    noisy = denoise.add_noise(clean, kind, level, seed)
    names = list(models)
    order = [names[i] for i in np.random.default_rng(seed).permutation(len(names))]
    images = [latents.reconstruct(models[name], noisy) for name in order]
    return dict(noisy=noisy.numpy(), order=order, images=images,
                psnr={name: float(denoise.psnr(clean, image).mean()) for name, image in zip(order, images)})


# --------------------------------------------------------------- lesson 8: a threshold that catches odd inputs


def threshold_result(normal: np.ndarray, odd: np.ndarray, threshold: float, options: list[float]) -> dict:
    """Precision, recall and F1 at `threshold`, and the threshold among `options` with the best F1."""
    def f1(t: float) -> float:
        p, r = anomaly.precision_recall_at(normal, odd, t)
        return 2 * p * r / (p + r) if p + r else 0.0

    precision, recall = anomaly.precision_recall_at(normal, odd, threshold)
    best = max(options, key=f1)
    return dict(precision=precision, recall=recall, f1=f1(threshold), best=best, best_f1=f1(best))


# --------------------------------------------------------------- 5: where the samples of z fall around μ

SAMPLE_ANSWERS = ("at_mu", "near_mu", "anywhere")


def sample_spread(mu: np.ndarray, sigma: np.ndarray, samples: np.ndarray, codes: np.ndarray) -> dict:
    """How samples z = μ + σ·ε (S, latent) of one digit's posterior N(μ, σ²) lie: the share within 1σ and 2σ
    of μ (Mahalanobis distance), their spread against the spread of every digit's μ in `codes` (N, latent),
    and which of SAMPLE_ANSWERS describes them: all at μ (no spread), near μ (most within 2σ and a cloud
    smaller than the map's), or anywhere."""
    radius = np.sqrt((((samples - mu) / sigma) ** 2).sum(axis=1))  # (S,)
    spread = float(np.sqrt(((samples - mu) ** 2).sum(axis=1).mean()))
    map_spread = float(np.sqrt(((codes - codes.mean(axis=0)) ** 2).sum(axis=1).mean()))
    within_2 = float((radius <= 2).mean())
    if spread == 0:
        answer = "at_mu"
    elif within_2 >= 0.5 and spread < map_spread:
        answer = "near_mu"
    else:
        answer = "anywhere"
    return {"within_1": float((radius <= 1).mean()), "within_2": within_2, "spread": spread,
            "map_spread": map_spread, "answer": answer}


# --------------------------------------------------------------- 9: is the class still in the cVAE's code?

PROBE_TOLERANCE = 0.15  # a prediction of the probe's accuracy within 15 points counts as right


def probe_prediction_right(predicted: float, measured: float, tolerance: float = PROBE_TOLERANCE) -> bool:
    return abs(predicted - measured) <= tolerance
