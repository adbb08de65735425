"""compare.py: seeded test pairs, the smoothness score on them, the side-by-side metrics table."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from standins import autoencoder_kinds
import torch

from explorer.compare import MISSING, METRIC_ROWS, metrics_table, random_pairs, smoothness_score
from explorer.data import Dataset
from explorer.errors import ExplorerError
from explorer.generate import interpolation_smoothness
from explorer.models import ModelConfig, build_model


@pytest.fixture(params=autoencoder_kinds())
def kind_model(request):
    """An untrained model of every plain autoencoder kind, for 8×8 images."""
    torch.manual_seed(0)
    config = ModelConfig(kind=request.param, image_shape=(1, 8, 8), latent_dim=3, hidden=(16,), channels=(4, 8))
    return build_model(config).eval()


@pytest.fixture
def tiny_dataset():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(40, 1, 8, 8, generator=g)
    y = torch.arange(40) % 4
    return Dataset("tiny", x[:30], y[:30], x[30:], y[30:], ("a", "b", "c", "d"))


# ---------------------------------------------------------------- pairs


def test_pairs_are_in_range_and_never_a_digit_with_itself():
    pairs = random_pairs(7, 200, seed=3)
    assert pairs.shape == (200, 2)
    assert pairs.min() >= 0 and pairs.max() < 7
    assert (pairs[:, 0] != pairs[:, 1]).all()


def test_pairs_are_seeded():
    assert np.array_equal(random_pairs(100, 20, seed=1), random_pairs(100, 20, seed=1))
    assert not np.array_equal(random_pairs(100, 20, seed=1), random_pairs(100, 20, seed=2))


@pytest.mark.parametrize("n, count", [(1, 5), (0, 5), (10, 0), (10, 2.5), (True, 3)])
def test_pairs_reject_bad_arguments(n, count):
    with pytest.raises(ExplorerError):
        random_pairs(n, count)


# ---------------------------------------------------------------- smoothness


def test_smoothness_interpolates_test_pairs_against_the_train_digits(kind_model, tiny_dataset):
    score = smoothness_score(kind_model, tiny_dataset, pairs=5, steps=6, seed=4)
    index = random_pairs(len(tiny_dataset.x_test), 5, seed=4)
    expected = interpolation_smoothness(kind_model, tiny_dataset.x_test[index[:, 0]],
                                        tiny_dataset.x_test[index[:, 1]], tiny_dataset.x_train, 6, "linear")
    assert np.isfinite(score) and score >= 0
    assert score == pytest.approx(expected)


def test_smoothness_is_the_same_on_a_rerun(kind_model, tiny_dataset):
    assert smoothness_score(kind_model, tiny_dataset, pairs=4) == smoothness_score(kind_model, tiny_dataset, pairs=4)


# ---------------------------------------------------------------- table


def test_table_has_a_row_per_metric_and_a_column_per_model():
    table = metrics_table([
        ("AE", {"mse": 0.01234, "linear_probe": 0.9, "smoothness": 0.2}),
        ("VAE", {"mse": 0.02, "neg_elbo": 101.26, "linear_probe": 0.85, "smoothness": 0.1}),
    ])
    assert list(table) == ["metric", "AE", "VAE"]
    assert table["metric"] == [label for _, label, _ in METRIC_ROWS]
    assert table["AE"] == ["0.0123", MISSING, "90.0%", "0.2000"] + [MISSING] * 3  # no judge's rows given
    assert table["VAE"] == ["0.0200", "101.3", "85.0%", "0.1000"] + [MISSING] * 3


def test_table_shows_non_finite_values_as_missing():
    assert metrics_table([("m", {"mse": float("nan"), "neg_elbo": float("inf")})])["m"] == [MISSING] * len(METRIC_ROWS)


@pytest.mark.parametrize("titles", [("same", "same"), ("metric", "other")])
def test_table_rejects_clashing_titles(titles):
    with pytest.raises(ExplorerError):
        metrics_table([(t, {}) for t in titles])


def test_importing_compare_leaves_streamlit_out():
    code = "import sys, explorer.compare; assert 'streamlit' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parent.parent)
