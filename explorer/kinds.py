"""The one registry of model kinds: what each kind is, which settings it uses, which class builds it.

Everything that differs between kinds is read from here: the CLI's `--model` choices and flags,
the Train page's choices, the labels pages show, which metrics and views apply (a KL term, a
prior to sample from, a denoising verdict), and what a checkpoint's config holds. A new kind is
one entry in `KINDS` (its class lives in its own module), its test parameters, and a README line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .errors import ExplorerError
from . import cvae, diffusion, judge
from .models import NOISE_KINDS, Autoencoder, DenoisingAutoencoder, VariationalAutoencoder

ROLES = ("autoencoder", "classifier", "prior")


@dataclass(frozen=True)
class Metric:
    """A test metric a checkpoint of some role stores in its config, and how a table shows it."""

    key: str  # in config.json's "metrics"
    header: str  # "MSE/pixel ↓": the arrow says which way is better
    format: str  # "{:.4f}"


# What each role is scored by, in table order (`evaluate` in train.py, judge.py and diffusion.py writes them).
ROLE_METRICS: dict[str, tuple[Metric, ...]] = {
    "autoencoder": (Metric("mse", "MSE/pixel ↓", "{:.4f}"), Metric("neg_elbo", "neg. ELBO ↓", "{:.1f}"),
                    Metric("psnr", "PSNR ↑", "{:.1f} dB"), Metric("linear_probe", "linear probe ↑", "{:.1%}")),
    "classifier": (Metric("accuracy", "accuracy ↑", "{:.1%}"), Metric("ce", "cross-entropy ↓", "{:.3f}")),
    "prior": (Metric("noise_error", "noise error ↓", "{:.2f}"),),
}


@dataclass(frozen=True)
class ModelKind:
    name: str  # the id in configs, links and on the command line: "conv_vae"
    label: str  # short, for pickers and tables: "ConvVAE"
    description: str  # for sentences: "convolutional VAE"
    build: Callable  # ModelConfig -> nn.Module
    fields: tuple[str, ...]  # ModelConfig fields it uses beyond kind, image_shape, latent_dim
    variational: bool = False  # q(z|x) is a Gaussian with a KL term to an N(0, I) prior: samplable
    conditional: bool = False  # encoder and decoder also take the class label
    conv: bool = False  # convolutional coder (else MLP)
    denoising: bool = False  # trained to remove noise from its input
    role: str = "autoencoder"  # "autoencoder" (encode/decode), "classifier" or "prior"
    # (config, x_train, x_test) -> what the model trains on, when that is not the images (a prior: its base's codes)
    inputs: Callable | None = None
    evaluate: Callable | None = None  # (model, dataset) -> test metrics, when not the autoencoder's

    @property
    def needs_labels(self) -> bool:
        """Training and loss take the digits' labels."""
        return self.conditional or self.role == "classifier"

    @property
    def has_code(self) -> bool:
        """Its config's latent_dim means something: the size of a code it makes or models."""
        return self.role != "classifier"

    @property
    def is_plain_autoencoder(self) -> bool:
        """encode(x) / decode(z) with no label: what the map, interpolation, denoise and draw pages use."""
        return self.role == "autoencoder" and not self.conditional


def _kind(name, label, description, build, fields, **flags) -> ModelKind:
    return ModelKind(name, label, description, build, tuple(fields), **flags)


MLP, CONV = ("hidden",), ("channels", "convs_per_scale")
KINDS: dict[str, ModelKind] = {k.name: k for k in (
    _kind("ae", "AE", "autoencoder (AE)", Autoencoder, MLP),
    _kind("dae", "DAE", "denoising autoencoder (DAE)", DenoisingAutoencoder, (*MLP, "noise", "noise_level"),
          denoising=True),
    _kind("vae", "VAE", "variational autoencoder (VAE)", VariationalAutoencoder, (*MLP, "beta"), variational=True),
    _kind("conv_ae", "ConvAE", "convolutional AE", Autoencoder, CONV, conv=True),
    _kind("conv_vae", "ConvVAE", "convolutional VAE", VariationalAutoencoder, (*CONV, "beta"), variational=True,
          conv=True),
    _kind("cvae", "cVAE", "conditional VAE (cVAE)", cvae.ConditionalVAE, (*MLP, "beta", "num_classes"),
          variational=True, conditional=True, evaluate=cvae.evaluate),
    _kind("classifier", "Classifier", "digit classifier (CNN)", judge.DigitClassifier,
          ("channels", "hidden", "num_classes"), conv=True, role="classifier", evaluate=judge.evaluate),
    _kind("latent_diffusion", "Diffusion prior", "diffusion prior over an autoencoder's codes",
          diffusion.LatentDiffusion, (*MLP, "timesteps", "base"), role="prior", inputs=diffusion.base_codes,
          evaluate=diffusion.evaluate),
)}


def get_kind(name: str) -> ModelKind:
    """The registered kind called `name`, or an ExplorerError naming the known ones."""
    try:
        return KINDS[name]
    except (KeyError, TypeError):
        raise ExplorerError(f"Unknown model kind {name!r}. Choose one of: {', '.join(KINDS)}.") from None


def kinds(**flags) -> list[ModelKind]:
    """Registered kinds whose attributes equal `flags`, e.g. kinds(role="autoencoder", variational=True)."""
    return [k for k in KINDS.values() if all(getattr(k, flag) == value for flag, value in flags.items())]


def label(name: str) -> str:
    """A kind's short label; an unregistered name (e.g. from an old or foreign checkpoint) as it is."""
    return KINDS[name].label if name in KINDS else str(name)


def widths(text: str) -> tuple[int, ...]:
    """ "256,128,64" -> (256, 128, 64)."""
    return tuple(int(part) for part in text.split(","))


@dataclass(frozen=True)
class Flag:
    """How one ModelConfig field is set on the command line (`--convs-per-scale 2`)."""

    parse: Callable
    help: str
    choices: tuple | None = None


FLAGS: dict[str, Flag] = {
    "hidden": Flag(widths, "MLP widths, e.g. 256,128,64"),
    "channels": Flag(widths, "conv widths, e.g. 32,64"),
    "convs_per_scale": Flag(int, "conv layers at each resolution (1: just the stride-2 one)"),
    "beta": Flag(float, "KL weight for VAEs"),
    "noise": Flag(str, "DAE corruption", NOISE_KINDS),
    "noise_level": Flag(float, "Gaussian σ, or the fraction of pixels masked (DAE)"),
    "num_classes": Flag(int, "classes the model knows"),
    "timesteps": Flag(int, "noise levels of the diffusion process"),
    "base": Flag(str, "the autoencoder checkpoint whose codes the prior models, e.g. ae_32"),
}
