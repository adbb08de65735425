"""One way to train a model, used by the CLI, the Train page's jobs and one-class anomaly training:
check the settings against the data, build the model from its seed, train, measure, save.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from . import checkpoints
from .data import Dataset
from .errors import ExplorerError
from .metrics import evaluate
from .models import ModelConfig, build_model
from .train import History, Progress, TrainConfig, train


@dataclass
class TrainedModel:
    model: torch.nn.Module
    history: History
    seconds: float  # training time alone, without building or measuring


def check_settings(model_config: ModelConfig, training: TrainConfig, dataset: Dataset, n_train: int | None = None) -> None:
    """Raise ExplorerError, before any training, when the settings do not fit the data."""
    if tuple(model_config.image_shape) != tuple(dataset.image_shape):
        raise ExplorerError(
            f"The model expects images of shape {model_config.image_shape} but {dataset.name!r} has "
            f"{dataset.image_shape}; build the ModelConfig with image_shape=dataset.image_shape."
        )
    model_config.validate()
    training.validate(len(dataset.x_train) if n_train is None else n_train)
    if model_config.spec.inputs:  # a prior trains on its base autoencoder's codes: that base must fit
        check_prior_base(model_config, dataset)


def check_prior_base(model_config: ModelConfig, dataset: Dataset) -> None:
    """A prior's base (config.base) must be a saved plain autoencoder of this dataset's images, with codes of
    the prior's size; else an ExplorerError that says which of these is wrong."""
    name = checkpoints.check_name(model_config.base)
    path = checkpoints.resolve(name)
    if not (path / checkpoints.CONFIG_FILE).is_file():
        raise ExplorerError(f"The base autoencoder {name} is not among the saved models: train and save it first, "
                            "or pick another base.")
    info = checkpoints.read_info(path)
    base = checkpoints.model_config(info, name)
    if not base.spec.is_plain_autoencoder:
        raise ExplorerError(f"{name} is a {base.spec.description}, not an autoencoder: a diffusion prior models "
                            "the codes of an AE or a VAE.")
    trained_on = info.get("dataset")
    if tuple(base.image_shape) != tuple(dataset.image_shape) or trained_on not in (None, dataset.name):
        raise ExplorerError(f"{name} was trained on {trained_on or 'other images'}, not on {dataset.name}: a prior "
                            f"learns the codes of the digits it trains on. Pick a base trained on {dataset.name}.")
    if base.latent_dim != model_config.latent_dim:
        raise ExplorerError(f"{name} makes {base.latent_dim}-number codes, so its prior needs latent size "
                            f"{base.latent_dim}, not {model_config.latent_dim}.")


def fit(model_config: ModelConfig, training: TrainConfig, x_train: torch.Tensor, x_test: torch.Tensor | None = None,
        *, y_train: torch.Tensor | None = None, y_test: torch.Tensor | None = None,
        on_built: Callable[[torch.nn.Module], None] | None = None,
        on_progress: Callable[[Progress], None] | None = None, stop=None) -> TrainedModel:
    """Build the model from `training.seed` (the seed reproduces the initial weights too) and train it.
    `on_built(model)` sees the untrained model first, e.g. to record epoch 0. Labels go to the kinds
    that need them (explorer.kinds); the model comes back in eval mode."""
    if model_config.spec.inputs:  # e.g. a prior trains on its base autoencoder's codes, not on images
        x_train, x_test = model_config.spec.inputs(model_config, x_train, x_test)
    model = build_model(model_config, seed=training.seed)
    if hasattr(model, "fit_scale"):  # a model that standardizes its inputs measures them first
        model.fit_scale(x_train)
    if on_built:
        on_built(model)
    if not model_config.spec.needs_labels:
        y_train = y_test = None
    started = time.perf_counter()
    history = train(model, x_train, training, x_test=x_test, on_progress=on_progress, stop=stop, y_train=y_train,
                    y_test=y_test)
    return TrainedModel(model, history, time.perf_counter() - started)


def checkpoint_info(dataset_name: str, training: TrainConfig, trained: TrainedModel, metrics: dict) -> dict:
    """The sections of config.json beside the model config: the same for the CLI and the Train page."""
    return {
        "dataset": dataset_name,
        "training": {**training.to_dict(), "seconds": round(trained.seconds, 2)},
        "history": [dict(record) for record in trained.history.epochs],
        "metrics": dict(metrics),
    }


def save_trained(model: torch.nn.Module, path: str | Path, info: dict) -> Path:
    """Save a trained model atomically, refusing weights that hold NaN or infinities."""
    if not all(torch.isfinite(p).all() for p in model.parameters()):
        raise ExplorerError("The model's weights contain NaN or infinite values; it was not saved. "
                            "Lower the learning rate and train again.")
    return checkpoints.save(model, path, info)


def train_evaluate_save(dataset: Dataset, model_config: ModelConfig, training: TrainConfig, out: str | Path,
                        on_built: Callable[[torch.nn.Module], None] | None = None,
                        on_progress: Callable[[Progress], None] | None = None) -> tuple[Path, dict]:
    """The whole run of `python -m explorer train`: returns the checkpoint's path and its test metrics."""
    check_settings(model_config, training, dataset)
    out = Path(out)
    checkpoints.check_name(out.name)
    checkpoints.check_writable(out.parent)  # fail before minutes of training, not after
    trained = fit(model_config, training, dataset.x_train, dataset.x_test, y_train=dataset.y_train,
                  y_test=dataset.y_test, on_built=on_built, on_progress=on_progress)
    metrics = evaluate(trained.model.cpu(), dataset)
    return save_trained(trained.model, out, checkpoint_info(dataset.name, training, trained, metrics)), metrics
