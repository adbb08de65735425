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


# ---------------------------------------------------------------- a 2-D code plane, decoded everywhere


def plane_model_and_judge():
    from standins import tiny_config

    from explorer.models import build_model as build

    return build(tiny_config("ae", latent_dim=2), seed=0).eval(), build(tiny_config("classifier"), seed=0).eval()


def test_a_plane_scan_decodes_judges_and_encodes_again_every_point_of_a_grid_over_the_codes():
    from explorer import compare, judge
    from explorer.latents import decode_codes, encode_dataset

    model, classifier = plane_model_and_judge()
    codes = np.random.default_rng(0).normal(size=(500, 2)) * [3.0, 1.0] + [1.0, -2.0]
    scan = compare.scan_plane(model, codes, classifier, cells=5)
    low, high = np.quantile(codes, compare.PLANE_QUANTILES, axis=0)
    assert np.allclose(scan.xs, np.linspace(low[0], high[0], 5)) and np.allclose(scan.ys, np.linspace(low[1], high[1], 5))
    assert scan.images.shape == (25, 1, 8, 8) and scan.confidence.shape == scan.drift.shape == (5, 5)
    # mosaic order: the top row (highest y) first, left to right; heat maps: row 0 at the lowest y
    top_left, bottom_right = np.array([[scan.xs[0], scan.ys[-1]]]), np.array([[scan.xs[-1], scan.ys[0]]])
    assert np.allclose(scan.images[0], decode_codes(model, top_left)[0], atol=1e-6)
    assert np.allclose(scan.images[-1], decode_codes(model, bottom_right)[0], atol=1e-6)
    step = np.hypot(scan.xs[1] - scan.xs[0], scan.ys[1] - scan.ys[0])
    for cell, (row, col) in ((top_left, (4, 0)), (bottom_right, (0, 4))):
        back = encode_dataset(model, decode_codes(model, cell))
        assert scan.drift[row, col] == pytest.approx(np.hypot(*(back - cell)[0]) / step, rel=1e-4)
        assert scan.confidence[row, col] == pytest.approx(judge.read(classifier, decode_codes(model, cell)).confidence[0])
    assert scan.confident_share(0.0) == 1.0 and scan.returned_share(np.inf) == 1.0


def test_a_plane_scan_needs_a_two_number_code():
    from standins import tiny_config

    from explorer import compare

    _, classifier = plane_model_and_judge()
    with pytest.raises(ExplorerError, match="2-number code; this one has 3"):
        compare.scan_plane(build_model(tiny_config("ae", latent_dim=3), seed=0), np.zeros((10, 3)), classifier)


def scan_with(confident: float, returned: float, cells: int = 10):
    """A PlaneScan whose shares are exactly `confident` and `returned` (row-major first cells)."""
    from explorer import compare, judge

    flags = lambda share: (np.arange(cells * cells) < round(share * cells * cells)).reshape(cells, cells)  # noqa: E731
    axis = np.arange(cells, dtype=float)
    return compare.PlaneScan(axis, axis, np.zeros((cells * cells, 1, 8, 8)),
                             np.where(flags(confident), judge.CONFIDENT, 0.5), np.where(flags(returned), 0.5, 3.0))


def test_the_plane_verdict_is_written_from_the_two_scans_numbers():
    from explorer import compare, lessons

    even = compare.plane_verdict(("a", scan_with(0.72, 0.65)), ("b", scan_with(0.66, 0.84)))
    assert "**72%** of `a`'s plane and **66%** of `b`'s as a digit" in even
    assert "neither plane has more holes" in even
    assert "**35%** of `a`'s grid and **16%** of `b`'s lands more than a grid step" in even
    assert "So `a`'s plane has more places" in even
    holes = compare.plane_verdict(("a", scan_with(0.4, 0.8)), ("b", scan_with(0.9, 0.8)))
    assert "`a`'s plane has more holes" in holes and "about as many such places" in holes
    assert lessons.plane_answer(scan_with(0.4, 0.8), scan_with(0.9, 0.8)) == "ae"
    assert lessons.plane_answer(scan_with(0.9, 0.8), scan_with(0.4, 0.8)) == "vae"
    assert lessons.plane_answer(scan_with(0.72, 0.8), scan_with(0.66, 0.8)) == "same"
