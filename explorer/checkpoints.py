"""Checkpoints: a folder per model holding `model.safetensors` and `config.json`.

The JSON holds the model config (enough to rebuild the model), how it was trained, its
history and test metrics. Weights are safetensors: nothing is ever unpickled. A save
writes a hidden temporary folder and renames it into place, so a crash mid-save leaves
the old checkpoint intact and nothing half-written that `list_checkpoints` would show.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .errors import CheckpointError, ExplorerError
from .models import Autoencoder, ModelConfig, build_model

FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
DEFAULT_DIR = Path(os.environ.get("LATENT_LAB_CHECKPOINTS", Path(__file__).resolve().parent.parent / "checkpoints"))
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")


@dataclass
class Checkpoint:
    path: Path
    model: Autoencoder
    info: dict  # the whole config.json: "model", "training", "dataset", "history", "metrics", ...

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config(self) -> ModelConfig:
        return self.model.config


def check_name(name: str) -> str:
    """A checkpoint name is one plain folder name: letters, digits, '-' and '_' (no paths)."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ExplorerError(
            f"{name!r} is not a valid checkpoint name: use 1-64 letters, digits, '-' or '_' "
            "(no spaces, dots or slashes), starting with a letter or digit."
        )
    return name


def resolve(name_or_path: str | Path, root: Path | None = None) -> Path:
    """A bare name means a folder inside `root` (the checkpoints folder); a path is taken as given."""
    text = str(name_or_path)
    if os.sep in text or "/" in text:
        return Path(text)
    return Path(root or DEFAULT_DIR) / check_name(text)


def save(model: Autoencoder, path: str | Path, info: dict | None = None) -> Path:
    """Write model weights and a JSON config (with `info` merged in) to the folder `path`, atomically."""
    path = Path(path)
    check_name(path.name)
    document = {"format_version": FORMAT_VERSION, **(info or {}), "model": model.config.to_dict()}
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".saving", dir=path.parent))
    except OSError as error:
        raise ExplorerError(f"Cannot write to {path.parent}: {error.strerror}. Pick a writable folder.") from None
    try:
        save_file(state, staging / WEIGHTS_FILE, metadata={"format_version": str(FORMAT_VERSION)})
        with open(staging / CONFIG_FILE, "w") as f:
            json.dump(document, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        # Keep the previous version until the new one is in place, then drop it.
        retired = path.parent / f".{path.name}.old"
        if path.exists():
            shutil.rmtree(retired, ignore_errors=True)
            os.replace(path, retired)
        os.replace(staging, path)
        shutil.rmtree(retired, ignore_errors=True)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise ExplorerError(f"Saving {path.name} failed: {error.strerror or error}. Nothing was changed.") from None
    return path


def read_info(path: str | Path) -> dict:
    """The checkpoint's config.json, validated enough to rebuild the model."""
    path = Path(path)
    config_path = path / CONFIG_FILE
    if not config_path.is_file():
        raise CheckpointError(f"No checkpoint at {path}: {CONFIG_FILE} is missing.")
    try:
        info = json.loads(config_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{config_path} is not valid JSON ({error}). Retrain or restore this checkpoint.") from None
    if not isinstance(info, dict) or info.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path.name}: unsupported checkpoint format {info.get('format_version') if isinstance(info, dict) else None!r}"
            f" (this app reads version {FORMAT_VERSION}). Retrain it with this version."
        )
    if not isinstance(info.get("model"), dict):
        raise CheckpointError(f"{path.name}: the config has no 'model' section.")
    return info


def load(path: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Rebuild the model from config.json and load its safetensors weights, checking every tensor."""
    path = Path(path)
    info = read_info(path)
    try:
        config = ModelConfig.from_dict(info["model"])
    except (ExplorerError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path.name}: bad model config: {error}") from None
    model = build_model(config)
    weights_path = path / WEIGHTS_FILE
    if not weights_path.is_file():
        raise CheckpointError(f"{path.name}: {WEIGHTS_FILE} is missing.")
    try:
        state = load_file(weights_path)
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise CheckpointError(
            f"{path.name}: {WEIGHTS_FILE} is truncated or corrupt ({error}). Retrain or restore it."
        ) from None
    expected = model.state_dict()
    if set(state) != set(expected):
        missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
        raise CheckpointError(f"{path.name}: weights do not match the config (missing {missing[:3]}, unexpected {extra[:3]}).")
    for key, tensor in expected.items():
        if state[key].shape != tensor.shape:
            raise CheckpointError(
                f"{path.name}: weight {key} has shape {tuple(state[key].shape)}, the config needs {tuple(tensor.shape)}."
            )
    model.load_state_dict(state)
    model.to(device).eval()
    return Checkpoint(path, model, info)


@dataclass
class Listing:
    name: str
    path: Path
    info: dict | None  # None when unreadable
    problem: str | None = None


def list_checkpoints(root: str | Path | None = None) -> list[Listing]:
    """Every folder in `root` that looks like a checkpoint, with its config or the problem with it.

    Hidden folders (saves in progress) are skipped. Pickle files (.pt, .pth, .pkl) are listed
    as refused: this app never unpickles anything.
    """
    root = Path(root or DEFAULT_DIR)
    if not root.is_dir():
        return []
    _recover_interrupted_saves(root)
    listings = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix in (".pt", ".pth", ".pkl", ".ckpt"):
            listings.append(Listing(entry.name, entry, None, "pickle files are refused: they can run code when loaded"))
        elif entry.is_dir() and (entry / CONFIG_FILE).exists():
            try:
                listings.append(Listing(entry.name, entry, read_info(entry)))
            except CheckpointError as error:
                listings.append(Listing(entry.name, entry, None, str(error)))
    return listings


def _recover_interrupted_saves(root: Path) -> None:
    """A save killed between its two renames leaves only `.NAME.old`: put it back."""
    for retired in root.glob(".*.old"):
        original = root / retired.name[1:-len(".old")]
        if not original.exists():
            try:
                os.replace(retired, original)
            except OSError:
                pass
