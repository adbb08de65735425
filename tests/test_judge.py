"""The digit judge: a classifier trained like any model, its readings, and the Fréchet distance in its features."""

import numpy as np
import pytest
import torch
from standins import tiny_config

from explorer import checkpoints, judge
from explorer.data import load_dataset
from explorer.errors import ExplorerError
from explorer.models import build_model

SHIPPED = checkpoints.DEFAULT_DIR / "digit_judge"


def test_frechet_distance_of_a_set_with_itself_is_zero_and_grows_with_noise():
    features = np.random.default_rng(0).normal(size=(400, 8)) @ np.diag(np.arange(1, 9))
    assert judge.frechet_distance(features, features) == pytest.approx(0, abs=1e-6)
    noise = np.random.default_rng(1).normal(size=features.shape)
    distances = [judge.frechet_distance(features, features + level * noise) for level in (0.5, 1.0, 2.0, 4.0)]
    assert distances[0] > 0 and all(a < b for a, b in zip(distances, distances[1:]))


def test_frechet_distance_of_two_gaussians_matches_the_formula():
    # N(0, I) and N(m, 4 I) in 2-D: ‖m‖² + Tr(I + 4I - 2·2I) = ‖m‖² + 2.
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200_000, 2))
    b = 2 * rng.normal(size=(200_000, 2)) + np.array([3.0, 4.0])
    assert judge.frechet_distance(a, b) == pytest.approx(25 + 2, rel=0.01)


def test_frechet_distance_refuses_sets_of_different_widths():
    with pytest.raises(ExplorerError, match="Fréchet"):
        judge.frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))


def test_a_reading_gives_class_confidence_features_and_histogram():
    model = build_model(tiny_config("classifier"), seed=0)
    images = torch.rand(12, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    reading = judge.read(model, images)
    assert reading.classes.shape == (12,) and reading.features.shape == (12, 16)
    assert np.all((reading.confidence > 0) & (reading.confidence <= 1))
    histogram = reading.histogram(10)
    assert histogram.sum() == 12 and histogram.shape == (10,)
    assert reading.confident_share(0.0) == 1.0
    with pytest.raises(ExplorerError, match="reads 1×8×8"):
        judge.read(model, torch.rand(2, 1, 28, 28))


def test_a_classifier_needs_labels_to_train():
    model = build_model(tiny_config("classifier"), seed=0)
    with pytest.raises(ExplorerError, match="labels"):
        model.loss(torch.rand(4, 1, 8, 8))


@pytest.mark.skipif(not SHIPPED.exists(), reason="the shipped judge is not in checkpoints/")
def test_the_shipped_judge_reads_test_digits_above_its_floor():
    model = checkpoints.load(SHIPPED).model
    data = load_dataset("mnist5k")
    assert judge.accuracy(model, data.x_test, data.y_test.numpy()) >= 0.97
    # Real test digits are closer to the test digits than the same digits blurred by noise.
    noisy = (data.x_test + 0.5 * torch.randn(data.x_test.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    # The training split is sorted by class, so the 500 real digits are drawn across it.
    real = data.x_train[torch.randperm(len(data.x_train), generator=torch.Generator().manual_seed(0))[:500]]
    assert judge.classifier_frechet(model, real, data.x_test) < \
        judge.classifier_frechet(model, noisy, data.x_test)


def test_the_compare_rows_from_the_judge_are_shares_and_a_distance():
    from explorer.compare import judged_generation

    data = load_dataset("digits")
    model = build_model(tiny_config("vae"), seed=0).eval()
    judged = judged_generation(model, data, build_model(tiny_config("classifier"), seed=0).eval())
    assert set(judged) == {"prior_confident", "midpoint_confident", "prior_frechet"}
    assert 0 <= judged["prior_confident"] <= 1 and 0 <= judged["midpoint_confident"] <= 1
    assert judged["prior_frechet"] > 0
