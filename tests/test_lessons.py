"""explorer/lessons.py and explorer/lesson_figures.py: what the lessons reveal, on tiny hand-made data."""

import numpy as np
import pytest
import torch

from explorer import lesson_figures, lessons
from explorer.models import ModelConfig, build_model


def images(rows) -> torch.Tensor:
    """Rows of 4 pixels as (N, 1, 2, 2) images."""
    return torch.tensor(rows, dtype=torch.float32).reshape(-1, 1, 2, 2)


def test_similarity_to_the_nearest_real_digit_ignores_brightness_and_picks_the_best_match():
    reference = images([[1, 0, 0, 0], [0, 1, 1, 0]])
    query = images([[0.5, 0, 0, 0], [0, 0, 0, 1], [0, 1, 0.9, 0]])
    similarity = lessons.nearest_real_similarity(query, reference, chunk=1)  # chunks must not change the answer
    assert similarity[0] == pytest.approx(1.0)  # a dimmer copy is the same pattern
    assert similarity[1] == pytest.approx(0.0)  # matches nothing
    assert similarity[2] == pytest.approx(1.9 / np.sqrt(2 * 1.81))


def test_the_likeness_threshold_is_what_most_real_digits_reach_and_shares_count_against_it():
    train = images([[1, 0, 0, 0], [0, 1, 0, 0]])
    test = images([[1, 0, 0, 0]] * 9 + [[1, 1, 0, 0]])  # nine exact matches, one at cosine 1/sqrt(2)
    threshold = lessons.digit_likeness_threshold(test, train, quantile=0.05)
    assert 1 / np.sqrt(2) < threshold <= 1.0
    assert lessons.share_like_digits(test, train, threshold) == pytest.approx(0.9)


@pytest.mark.parametrize("small, large, expected", [(0.04, 0.01, "worse"), (0.0105, 0.01, "same"), (0.005, 0.01, "better")])
def test_the_bottleneck_answer_compares_the_two_errors(small, large, expected):
    assert lessons.bottleneck_answer(small, large) == expected


@pytest.mark.parametrize("a, b, expected", [(0.9, 0.2, "a"), (0.2, 0.9, "b"), (0.5, 0.55, "same")])
def test_closer_choice_names_the_larger_unless_within_the_tolerance(a, b, expected):
    assert lessons.closer_choice(a, b, "a", "b", "same", tolerance=0.1) == expected


@pytest.mark.parametrize("ae, vae, expected", [(0.9, 0.8, "both"), (0.1, 0.8, "vae"), (0.8, 0.1, "ae"), (0.1, 0.2, "neither")])
def test_the_prior_answer_says_whose_random_codes_mostly_look_like_digits(ae, vae, expected):
    assert lessons.prior_answer(ae, vae) == expected


def three_clusters():
    """Classes 0, 1, 2 at x = 0, 10 and 3 (so 2 sits next to 0), 20 points each."""
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [3, 0]], dtype=float)
    labels = np.repeat(np.arange(3), 20)
    return centres[labels] + rng.normal(scale=0.3, size=(60, 2)), labels


def test_a_click_among_the_digits_class_is_a_hit_and_a_click_elsewhere_names_who_is_there():
    xy, labels = three_clusters()
    hit = lessons.landing_result(xy, labels, 3, digit=1, clicked=25, k=10)  # row 25 is a 1
    assert hit["share"] == 1.0 and hit["majority"] == 1
    assert np.allclose(hit["centre"], np.median(xy[labels == 1], axis=0))
    miss = lessons.landing_result(xy, labels, 3, digit=1, clicked=3, k=10)  # row 3 is a 0
    assert miss["share"] == 0.0 and miss["majority"] == 0
    assert lessons.landing_result(xy, labels, 3, digit=0, clicked=3)["neighbour"] == 2


def tiny_ae(seed: int):
    torch.manual_seed(seed)
    return build_model(ModelConfig(kind="ae", image_shape=(1, 8, 8), latent_dim=2, hidden=(16,))).eval()


def test_the_denoising_quiz_shuffles_the_models_by_its_seed_and_scores_each(tiny_images):
    from explorer import denoise, latents

    models = {"first": tiny_ae(0), "second": tiny_ae(1)}
    quiz = lessons.denoising_quiz(models, tiny_images, "gaussian", 0.3, seed=4)
    assert sorted(quiz["order"]) == ["first", "second"]
    assert quiz["order"] == lessons.denoising_quiz(models, tiny_images, "gaussian", 0.3, seed=4)["order"]
    orders = {tuple(lessons.denoising_quiz(models, tiny_images, "gaussian", 0.3, seed=s)["order"]) for s in range(8)}
    assert len(orders) == 2  # the seed decides which model is A: the answer is not always the same letter
    noisy = denoise.add_noise(tiny_images, "gaussian", 0.3, 4)
    for name, shown in zip(quiz["order"], quiz["images"]):
        assert np.allclose(shown, latents.reconstruct(models[name], noisy))
        assert quiz["psnr"][name] == pytest.approx(denoise.psnr(tiny_images, shown).mean())


def test_the_threshold_result_counts_flags_and_finds_the_best_f1():
    normal, odd = np.array([1.0, 2.0, 3.0, 4.0]), np.array([3.5, 5.0, 6.0])
    outcome = lessons.threshold_result(normal, odd, 2.5, options=[0.5, 2.5, 3.2, 4.5])
    assert outcome["precision"] == pytest.approx(3 / 5) and outcome["recall"] == 1.0
    assert outcome["f1"] == pytest.approx(2 * 0.6 / 1.6)
    assert outcome["best"] == 3.2 and outcome["best_f1"] == pytest.approx(2 * 0.75 / 1.75)


def test_the_blank_map_hides_the_classes_and_the_landing_map_shows_them():
    xy, labels = three_clusters()
    blank = lesson_figures.blank_map(xy, np.arange(60), ["UMAP-1", "UMAP-2"])
    assert len(blank.data) == 1 and len(blank.data[0].x) == 60
    assert np.asarray(blank.data[0].customdata).shape == (60, 1)  # ids only: hovering says nothing of the class
    assert "class" not in blank.data[0].hovertemplate
    assert len(set(np.atleast_1d(blank.data[0].marker.color))) == 1
    revealed = lesson_figures.landing_map(xy, labels, ["0", "1", "2"], 25, np.array([10.0, 0.0]), "1",
                                          ["UMAP-1", "UMAP-2"])
    names = [trace.name for trace in revealed.data]
    assert "highlighted" in names and "where the 1s are" in names
    assert list(revealed.data[names.index("highlighted")].customdata[0])[0] == 25


def test_sample_spread_counts_samples_inside_the_ellipses_and_names_the_pattern():
    from explorer.lessons import sample_spread

    mu, sigma = np.array([1.0, -1.0]), np.array([0.5, 2.0])
    samples = mu + sigma * np.array([[0.5, 0.0], [0.0, 1.5], [3.0, 0.0], [0.0, 0.0]])  # radii 0.5, 1.5, 3, 0
    codes = np.random.default_rng(0).normal(0, 10, size=(500, 2))
    spread = sample_spread(mu, sigma, samples, codes)
    assert spread["within_1"] == 0.5 and spread["within_2"] == 0.75 and spread["answer"] == "near_mu"
    assert sample_spread(mu, sigma, np.repeat(mu[None], 4, axis=0), codes)["answer"] == "at_mu"
    tight_map = np.random.default_rng(0).normal(0, 0.01, size=(500, 2))
    assert sample_spread(mu, sigma, samples, tight_map)["answer"] == "anywhere"
