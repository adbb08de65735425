"""The network drawn layer by layer: every layer's output size, parameters and activations for one digit.

The layers are found by walking the model's modules, not by knowing its kind: a forward hook on
every leaf module records what it outputs while one image goes through the encoder and decoder,
so an MLP, a conv coder or any model with the same encode/decode interface is listed alike.
A *stage* is one layer with weights together with the element-wise activation after it (ReLU):
what the next layer receives. Reshapes (Flatten, Unflatten) are recorded but start no stage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .errors import ExplorerError

# The top-level children of explorer.models.Autoencoder, by the part of the network they are.
PARTS = {"body": "encoder", "to_mu": "bottleneck", "to_logvar": "bottleneck", "decoder": "decoder"}


@dataclass
class Layer:
    """One leaf module as one image passed through it."""

    name: str  # dotted module path, e.g. "body.1.0"
    kind: str  # the module's class name, e.g. "Linear", "Conv2d", "ReLU"
    part: str  # "encoder", "bottleneck" or "decoder"
    shape: tuple[int, ...]  # output shape for one image, without the batch axis
    parameters: int  # weights and biases of this module itself
    output: np.ndarray  # (*shape) the module's output for the traced image


@dataclass
class Stage:
    """A layer with weights and the activation that follows it: one column of the drawing."""

    name: str
    kind: str
    part: str
    shape: tuple[int, ...]
    parameters: int
    activation: np.ndarray  # (*shape) after the following ReLU, if any

    @property
    def size(self) -> int:
        """How many numbers this stage passes on."""
        return math.prod(self.shape)

    @property
    def shape_text(self) -> str:
        """"256" for a vector, "32×14×14" for conv feature maps (channels × height × width)."""
        return "×".join(str(s) for s in self.shape)


def _part(name: str) -> str:
    top = name.split(".")[0]
    return PARTS.get(top, top)


def _leaves(model: nn.Module) -> dict[nn.Module, str]:
    return {module: name for name, module in model.named_modules() if name and not list(module.children())}


@torch.no_grad()
def trace_layers(model: nn.Module, image: torch.Tensor) -> list[Layer]:
    """Every leaf module in the order it runs while `image` (C, H, W) goes through the encoder
    (both heads for a VAE) and the decoder from μ. The model is left as it was."""
    leaves = _leaves(model)
    layers: list[Layer] = []

    def record(module, _inputs, output):
        name = leaves[module]
        own = sum(p.numel() for p in module.parameters(recurse=False))
        out = output[0].detach().float().cpu().numpy()
        layers.append(Layer(name, type(module).__name__, _part(name), tuple(out.shape), own, out))

    handles = [module.register_forward_hook(record) for module in leaves]
    try:
        batch = image.reshape(1, *model.config.image_shape).float()
        if model.is_variational:
            mu, _ = model.encode_distribution(batch)
        else:
            mu = model.encode(batch)
        model.decode_logits(mu)
    finally:
        for handle in handles:
            handle.remove()
    return layers


def stages(layers: list[Layer]) -> list[Stage]:
    """Group leaf layers into stages: each layer with weights, updated by the same-shaped
    element-wise layers after it (its activation), in running order."""
    result: list[Stage] = []
    for layer in layers:
        if layer.parameters:
            result.append(Stage(layer.name, layer.kind, layer.part, layer.shape, layer.parameters, layer.output))
        elif result and layer.shape == result[-1].shape and layer.part == result[-1].part:
            result[-1].activation = layer.output  # ReLU after a Linear/Conv: what the next layer gets
    return result


@dataclass
class Anatomy:
    """The model's stages for one digit, with the input and its reconstruction."""

    image: np.ndarray  # (C, H, W) the digit fed in
    stages: list[Stage]
    reconstruction: np.ndarray  # (C, H, W) sigmoid of the decoder's output
    total_parameters: int  # sum(p.numel()) over the whole model
    latent_dim: int

    @property
    def input_size(self) -> int:
        return int(self.image.size)

    @property
    def compression_ratio(self) -> float:
        """Input numbers ÷ code numbers, e.g. 784 / 32 = 24.5."""
        return self.input_size / self.latent_dim

    @property
    def code_stage(self) -> Stage:
        """The bottleneck: the μ head (the code every page plots); for a model whose children are named
        otherwise, the first stage that outputs exactly the code's numbers."""
        named = [s for s in self.stages if s.part == "bottleneck"]
        return named[0] if named else next(s for s in self.stages if s.shape == (self.latent_dim,))


def anatomy(model: nn.Module, image) -> Anatomy:
    """Trace one image (C, H, W) or (1, C, H, W) in [0, 1] through the model."""
    image = torch.as_tensor(np.asarray(image), dtype=torch.float32)
    expected = tuple(model.config.image_shape)
    if image.numel() != math.prod(expected):
        raise ExplorerError(f"This model reads {'×'.join(map(str, expected))} images; the digit given is "
                            f"{'×'.join(map(str, image.shape))}. Pick a model of the digit's dataset.")
    image = image.reshape(expected)
    found = stages(trace_layers(model, image))
    logits = found[-1].activation  # the decoder's last layer: logits of the pixels
    reconstruction = 1 / (1 + np.exp(-logits.reshape(expected)))
    total = sum(p.numel() for p in model.parameters())
    return Anatomy(image.numpy(), found, reconstruction.astype(np.float32), total, model.config.latent_dim)


def layer_table(result: Anatomy) -> list[dict]:
    """One row per stage for a table: part, layer, output size, parameters."""
    rows = [{"part": "input", "layer": "image", "output": "×".join(map(str, result.image.shape)),
             "numbers": result.input_size, "parameters": 0}]
    for stage in result.stages:
        rows.append({"part": stage.part, "layer": f"{stage.kind} ({stage.name})", "output": stage.shape_text,
                     "numbers": stage.size, "parameters": stage.parameters})
    return rows


@torch.no_grad()
def digit_loss(model: nn.Module, image, seed: int = 0) -> dict[str, float]:
    """The loss terms the trainer optimises, for one image (C, H, W), in nats: "recon" (Bernoulli
    negative log-likelihood summed over pixels), and for a VAE "kl" and "total" = recon + β·kl,
    with z sampled once by a generator seeded with `seed` (as the trainer samples it). Shared models
    are in eval mode, so a DAE gets the digit uncorrupted."""
    batch = torch.as_tensor(np.asarray(image), dtype=torch.float32).reshape(1, *model.config.image_shape)
    terms = model.loss(batch, generator=torch.Generator().manual_seed(seed))
    return {name: float(value) for name, value in terms.items()}


MAX_CHANNELS_SHOWN = 16  # conv feature maps drawn per layer: a 4×4 tile stays readable in a narrow column


def activation_grid(activation: np.ndarray) -> np.ndarray:
    """A layer's activation laid out as one 2-D picture, NaN where nothing is (drawn blank).

    (C, H, W) conv maps: the first MAX_CHANNELS_SHOWN channels tiled in a square grid with a
    blank pixel between them. A vector of n numbers: a near-square grid, row by row, so 784
    output logits come back as the 28×28 picture they are.
    """
    a = np.asarray(activation, dtype=np.float32)
    if a.ndim == 3:
        c, h, w = a.shape
        shown = min(c, MAX_CHANNELS_SHOWN)
        cols = math.ceil(math.sqrt(shown))
        rows = math.ceil(shown / cols)
        grid = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan, dtype=np.float32)
        for i in range(shown):
            r, col = divmod(i, cols)
            grid[r * (h + 1):r * (h + 1) + h, col * (w + 1):col * (w + 1) + w] = a[i]
        return grid
    flat = a.reshape(-1)
    cols = math.ceil(math.sqrt(flat.size))
    rows = math.ceil(flat.size / cols)
    grid = np.full(rows * cols, np.nan, dtype=np.float32)
    grid[:flat.size] = flat
    return grid.reshape(rows, cols)
