"""The conditional VAE: the class goes in beside the image and the code, and any code can be written as any class."""

import numpy as np
import pytest
import torch
from standins import tiny_config

from explorer import checkpoints, cvae
from explorer.data import load_dataset
from explorer.errors import ExplorerError
from explorer.models import build_model

SHIPPED = checkpoints.DEFAULT_DIR / "cvae_16"
JUDGE = checkpoints.DEFAULT_DIR / "digit_judge"


@pytest.fixture
def model():
    return build_model(tiny_config("cvae"), seed=0).eval()


def test_the_class_changes_the_code_and_the_drawing(model):
    x = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert not torch.allclose(model.encode(x, torch.tensor([1, 1, 1])), model.encode(x, torch.tensor([2, 2, 2])))
        z = torch.zeros(3, model.config.latent_dim)
        assert not torch.allclose(model.decode(z, torch.tensor([0, 0, 0])), model.decode(z, torch.tensor([5, 5, 5])))


def test_every_code_written_as_every_class(model):
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    grid = cvae.all_classes_grid(model, x, np.array([0, 1, 2, 3]))
    assert grid.shape == (4, 10, 1, 8, 8) and grid.min() >= 0 and grid.max() <= 1
    codes = cvae.style_codes(model, x, [0, 1, 2, 3])
    with torch.no_grad():  # row i, column k is code i decoded with class k
        expected = model.decode(torch.from_numpy(codes[2:3]), torch.tensor([7])).numpy()
    np.testing.assert_allclose(grid[2, 7], expected[0], atol=1e-6)


def test_loss_is_the_negative_elbo_and_needs_labels(model):
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    terms = model.loss(x, torch.tensor([0, 1, 2, 3]), torch.Generator().manual_seed(0))
    assert set(terms) == {"total", "recon", "kl"} and terms["kl"] >= 0
    assert terms["total"].item() == pytest.approx((terms["recon"] + terms["kl"]).item())
    with pytest.raises(ExplorerError, match="labelled"):
        model.loss(x)
    with pytest.raises(ExplorerError, match="one class per image"):
        model.encode(x, torch.tensor([0, 1]))
    with pytest.raises(ExplorerError, match="Classes must be 0 to 9"):
        model.decode(torch.zeros(1, model.config.latent_dim), torch.tensor([10]))


@pytest.mark.skipif(not (SHIPPED.exists() and JUDGE.exists()), reason="shipped cVAE or judge missing")
def test_the_shipped_cvae_writes_the_requested_class_and_its_code_forgets_the_class():
    from explorer import judge

    model, reader = checkpoints.load(SHIPPED).model, checkpoints.load(JUDGE).model
    data = load_dataset("mnist5k")
    grid = cvae.all_classes_grid(model, data.x_test[:100], data.y_test[:100].numpy())  # (100, 10, 1, 28, 28)
    read = judge.read(reader, grid.reshape(-1, 1, 28, 28)).classes.reshape(100, 10)
    assert (read == np.arange(10)).mean() >= 0.9
    assert model.config.latent_dim in range(8, 17)


def stroke(width: int, lean: int) -> torch.Tensor:
    """A 28×28 digit '1': a 3-pixel stroke, 16 rows tall, `width` pixels wide at the foot, leaning `lean` pixels
    to the right at its top."""
    image = torch.zeros(1, 28, 28)
    for i, row in enumerate(range(6, 22)):
        centre = 14 + round(lean * (21 - row) / 15)
        image[0, row, centre - 1:centre + 2] = 1.0
    image[0, 21, 14 - width // 2:14 + width // 2 + 1] = 1.0
    return image


def test_handwriting_measures_see_width_height_and_slant():
    upright, leaning, wide = (cvae.handwriting_measures(stroke(w, lean)[None])[0]
                              for w, lean in [(3, 0), (3, 6), (11, 0)])
    names = dict(zip(cvae.HANDWRITING_MEASURES, zip(upright, leaning, wide)))
    assert names["height"] == (16, 16, 16)
    assert names["width"][0] == 3 < names["width"][2] == 11
    assert abs(names["slant"][0]) < 1e-9 and names["slant"][1] < -0.2  # the top (small row) leans right: x falls as y grows
    assert names["ink"][2] > names["ink"][0] and names["horizontal spread"][1] > names["horizontal spread"][0]


def test_handwriting_measures_tell_the_class_above_chance_without_any_model():
    from explorer.metrics import linear_probe_accuracy

    ds = load_dataset("digits")
    measures = cvae.handwriting_measures(ds.x_train), cvae.handwriting_measures(ds.x_test)
    assert measures[0].shape == (len(ds.x_train), len(cvae.HANDWRITING_MEASURES))
    accuracy = linear_probe_accuracy(measures[0], ds.y_train.numpy(), measures[1], ds.y_test.numpy())
    assert 0.2 < accuracy < 0.9  # style goes with the class, but is not the class


@pytest.mark.parametrize("style, measured, says", [
    (0.12, 0.58, "no better than guessing"),
    (0.38, 0.58, "already tell the class 58% of the time. The style code tells it less often"),
    (0.70, 0.58, "some of the class has stayed in the code beyond what style explains"),
    (0.95, 0.58, "has not learned to leave the class to its label"),
])
def test_the_probe_verdict_follows_the_figures(style, measured, says):
    verdict = cvae.probe_verdict(style, plain_code=0.9, measured=measured, chance=0.1)
    assert says in verdict
    if style < 0.9:
        assert f"{style:.0%} of the time against 90%" in verdict
