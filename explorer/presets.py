"""The Train page's settings turned into configs, and the β ladder's bookkeeping: pure functions
that the page, its tests and bench/train_page_defaults.py share."""

from __future__ import annotations

from .data import DEFAULT_DATASET
from .kinds import ModelKind, get_kind, kinds
from .models import ModelConfig
from .train import TrainConfig

# Under a minute for every kind on 2 CPU cores with mnist5k (bench/train_page_defaults.py).
DEFAULTS = dict(dataset="mnist5k", kind="vae", latent=16, beta=1.0, noise_kind="gaussian", noise=0.3, epochs=20,
                lr=2e-3, batch=64)
# MLP widths: the default 256-128-64 squeezes a 16-D code through 64 units; 384-192 reconstructs
# far better in the same time (20 epochs: VAE MSE 0.023 vs 0.035, AE 0.016 vs 0.026, ~9 s each).
MLP_HIDDEN = (384, 192)
# The sizes the page trains of each role, for the fields its kind uses (explorer.kinds). Measured on one
# core with mnist5k: the judge's 8-16 convs ~1.1 s an epoch (20 epochs ~97% test accuracy), the prior's two
# 128-wide blocks ~0.5 s an epoch plus its samples.
ROLE_SIZES = {"autoencoder": dict(hidden=MLP_HIDDEN), "classifier": dict(channels=(8, 16), hidden=(64,)),
              "prior": dict(hidden=(128, 128))}
PRIOR_BASE = "ae_32"  # the base a prior is offered first, when it is saved and fits the dataset
LADDER_BETAS = (0.5, 1.0, 4.0)
LADDER_KIND = "vae"


def trainable_kinds() -> list[ModelKind]:
    """The kinds the Train page offers: every registered one. Its live view fits each role: an autoencoder's
    reconstructions and latent map, a classifier's readings and accuracy, a prior's decoded samples."""
    return [kind for kind in kinds() if kind.role in ROLE_SIZES]


def prior_bases(listings, dataset: str) -> list[str]:
    """Names of the saved checkpoints a prior trained on `dataset` can model: plain autoencoders (they make
    codes from images alone) of that dataset. listings: checkpoints.list_checkpoints()' items."""
    autoencoders = {kind.name for kind in kinds(is_plain_autoencoder=True)}
    return [item.name for item in listings if item.info is not None and item.info["model"].get("kind") in autoencoders
            and item.info.get("dataset", DEFAULT_DATASET) == dataset]


def default_base(bases: list[str]) -> str | None:
    return PRIOR_BASE if PRIOR_BASE in bases else (bases[0] if bases else None)


def page_configs(settings: dict, image_shape: tuple, *, kind: str | None = None, beta: float | None = None,
                 classes: int = 10) -> tuple[ModelConfig, TrainConfig]:
    """The model and training configs of the page's settings (DEFAULTS' keys, and `base` and its `base_latent`
    for a prior). Each kind takes only the settings it uses (explorer.kinds), so the β ladder's configs differ
    in β alone; a prior's codes are its base's size, and a classifier has no code at all."""
    spec = get_kind(kind or settings["kind"])
    offered = dict(ROLE_SIZES[spec.role], beta=beta if beta is not None else settings.get("beta", 1.0),
                   noise=settings.get("noise_kind", DEFAULTS["noise_kind"]),
                   noise_level=settings.get("noise", DEFAULTS["noise"]), num_classes=classes, base=settings.get("base"))
    latent = settings.get("base_latent") if spec.role == "prior" else settings["latent"]
    model = ModelConfig(kind=spec.name, image_shape=image_shape,
                        latent_dim=latent if spec.has_code else ModelConfig.latent_dim,
                        **{k: v for k, v in offered.items() if k in spec.fields})
    training = TrainConfig(epochs=settings["epochs"], batch_size=settings["batch"], lr=settings["lr"], seed=0,
                           report_every=5)
    return model, training


def default_name(model: ModelConfig) -> str:
    """The name a run is offered to be saved as (before free_name): my_vae_16, my_classifier, my_latent_diffusion_ae_32."""
    if model.spec.role == "prior":
        return f"my_{model.kind}_{model.base}"
    return f"my_{model.kind}_{model.latent_dim}" if model.spec.has_code else f"my_{model.kind}"


def ladder_name(beta: float) -> str:
    """Checkpoint name of the β ladder's VAE: vae_beta_0p5, vae_beta_1, vae_beta_4 (no dots in names)."""
    return "vae_beta_" + f"{beta:g}".replace(".", "p")


def free_name(base: str, taken: set[str]) -> str:
    """base, or base_2, base_3, ... whichever is not taken."""
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def ladder_differences(configs: list[dict]) -> list[str]:
    """Settings (model and training) in which the ladder's checkpoints differ, β aside: the
    comparison is only about β if this is empty. configs: each checkpoint's config.json dict."""
    ignored_training = ("seed", "report_every", "seconds", "device")
    # Through ModelConfig: configs saved before the registry hold fields their kind does not use.
    models = [ModelConfig.from_dict(c["model"]).to_dict() if "model" in c else {} for c in configs]
    flat = [{**{f"model.{k}": v for k, v in model.items() if k != "beta"},
             **{f"training.{k}": v for k, v in (c.get("training") or {}).items() if k not in ignored_training},
             "dataset": c.get("dataset")} for c, model in zip(configs, models)]
    keys = sorted(set().union(*flat)) if flat else []
    return [k.split(".")[-1] for k in keys if len({repr(f.get(k)) for f in flat}) > 1]
