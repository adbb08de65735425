from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from explorer.denoise import (NOISE_KINDS, DenoiseReport, add_noise, denoise_report, latent_shift, psnr,
                              segment_coordinates)
from explorer.errors import ExplorerError
from explorer.metrics import PSNR_CAP_DB


class TinyAE(nn.Module):
    """A linear stand-in for the project's models: same encode / decode / forward contract."""

    def __init__(self, shape=(1, 8, 8), latent_dim=3):
        super().__init__()
        torch.manual_seed(0)
        self.shape, self.config = shape, SimpleNamespace(latent_dim=latent_dim)
        size = int(np.prod(shape))
        self.enc, self.dec = nn.Linear(size, latent_dim), nn.Linear(latent_dim, size)

    def encode(self, x):
        return self.enc(x.flatten(1))  # (B, latent)

    def decode(self, z):
        return torch.sigmoid(self.dec(z)).view(-1, *self.shape)  # (B, C, H, W)

    def forward(self, x):
        return self.decode(self.encode(x))


class IdentityAE(nn.Module):
    """Reconstructs perfectly; its code is the flattened image."""

    def __init__(self, shape=(1, 8, 8)):
        super().__init__()
        self.shape, self.config = shape, SimpleNamespace(latent_dim=int(np.prod(shape)))
        self.unused = nn.Parameter(torch.zeros(1))  # so the model has a device

    def encode(self, x):
        return x.flatten(1)

    def decode(self, z):
        return z.view(-1, *self.shape)

    def forward(self, x):
        return self.decode(self.encode(x))


def grey(n=32, c=1, h=28, w=28):
    return torch.full((n, c, h, w), 0.5)


def digits(n=6, c=1, h=8, w=8, seed=0):
    return torch.rand((n, c, h, w), generator=torch.Generator().manual_seed(seed))


# --- add_noise ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", NOISE_KINDS)
@pytest.mark.parametrize("channels", [1, 3])
def test_noise_keeps_shape_and_range(kind, channels):
    x = digits(c=channels)
    noisy = add_noise(x, kind, 0.4, seed=1)
    assert noisy.shape == x.shape and noisy.dtype == x.dtype
    assert noisy.min() >= 0 and noisy.max() <= 1


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_same_seed_same_noise_other_seed_other_noise(kind):
    x = digits()
    assert torch.equal(add_noise(x, kind, 0.3, seed=5), add_noise(x, kind, 0.3, seed=5))
    assert not torch.equal(add_noise(x, kind, 0.3, seed=5), add_noise(x, kind, 0.3, seed=6))


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_noise_does_not_touch_global_rng_or_input(kind):
    x = digits()
    before = x.clone()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    add_noise(x, kind, 0.3, seed=0)
    assert torch.equal(torch.rand(3), expected)
    assert torch.equal(x, before)


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_level_zero_changes_nothing(kind):
    x = digits()
    assert torch.equal(add_noise(x, kind, 0.0), x)


def test_gaussian_level_is_sigma():
    x = grey()  # 0.5 ± 0.1 is clipped almost never (5 σ away)
    noise = add_noise(x, "gaussian", 0.1, seed=0) - x
    assert noise.std().item() == pytest.approx(0.1, rel=0.03)
    assert abs(noise.mean().item()) < 0.005


def test_salt_pepper_level_is_fraction_changed():
    x = grey(c=3)
    noisy = add_noise(x, "salt_pepper", 0.2, seed=0)
    changed = noisy != 0.5
    assert changed.float().mean().item() == pytest.approx(0.2, abs=0.01)
    assert set(noisy[changed].unique().tolist()) == {0.0, 1.0}
    assert (noisy[changed] == 1).float().mean().item() == pytest.approx(0.5, abs=0.03)
    assert torch.equal(changed[:, 0], changed[:, 2])  # a pixel position is hit in every channel


def test_mask_zeroes_one_box_of_the_right_size():
    x = torch.ones(20, 1, 28, 28)
    noisy = add_noise(x, "mask", 0.25, seed=0)  # side = round(0.25 * 28) = 7
    corners = set()
    for image in noisy[:, 0]:
        rows, cols = torch.nonzero(image == 0, as_tuple=True)
        assert len(rows) == 49
        assert rows.max() - rows.min() + 1 == 7 and cols.max() - cols.min() + 1 == 7
        corners.add((rows.min().item(), cols.min().item()))
    assert len(corners) > 10  # positions drawn per image


@pytest.mark.parametrize("kind, level", [("blur", 0.1), ("gaussian", -0.1), ("salt_pepper", 1.5),
                                         ("mask", float("nan")), ("gaussian", "lots")])
def test_bad_noise_settings_are_explained(kind, level):
    with pytest.raises(ExplorerError, match="noise"):
        add_noise(digits(), kind, level)


# --- psnr -------------------------------------------------------------------------------------------

def test_psnr_of_identical_images_is_the_cap():
    x = digits()
    np.testing.assert_array_equal(psnr(x, x), np.full(len(x), PSNR_CAP_DB))


def test_psnr_known_value():
    clean = torch.zeros(3, 1, 8, 8)
    other = clean.clone()
    other[0] += 0.1   # mse 0.01 -> 20 dB
    other[1] += 0.01  # mse 1e-4 -> 40 dB
    result = psnr(clean, other)
    assert result.shape == (3,)
    np.testing.assert_allclose(result, [20.0, 40.0, PSNR_CAP_DB], rtol=1e-6)
    np.testing.assert_allclose(psnr(clean.numpy(), other.numpy()), result)


# --- models on noisy input ------------------------------------------------------------------------

def test_denoise_report():
    clean = digits(n=5)
    report = denoise_report({"identity": IdentityAE(), "tiny": TinyAE()}, clean, "salt_pepper", 0.2, seed=3)
    assert isinstance(report, DenoiseReport)
    assert torch.equal(report.noisy, add_noise(clean, "salt_pepper", 0.2, seed=3))
    assert set(report.reconstructions) == set(report.psnr) == set(report.mean_psnr) == {"identity", "tiny"}
    assert report.reconstructions["tiny"].shape == clean.shape
    assert report.psnr_noisy.shape == report.psnr["tiny"].shape == (5,)
    # a perfect copier reproduces the noise, so it scores exactly like the noisy input
    np.testing.assert_allclose(report.psnr["identity"], report.psnr_noisy)
    assert report.mean_psnr["identity"] == pytest.approx(report.mean_psnr_noisy)


def test_denoise_report_needs_a_model():
    with pytest.raises(ExplorerError, match="model"):
        denoise_report({}, digits(), "gaussian", 0.1)


def test_latent_shift():
    clean = digits(n=4)
    noisy = add_noise(clean, "gaussian", 0.2, seed=0)
    shift = latent_shift(IdentityAE(), clean, noisy)
    assert shift.codes_clean.shape == shift.codes_noisy.shape == (4, 64)
    np.testing.assert_allclose(shift.distance, (clean - noisy).flatten(1).norm(dim=1).numpy(), rtol=1e-5)
    assert np.all(shift.relative > 0) and np.isfinite(shift.mean_relative)

    same = latent_shift(TinyAE(), clean, clean)
    np.testing.assert_array_equal(same.distance, np.zeros(4))
    assert np.isnan(latent_shift(TinyAE(), clean[:1], noisy[:1]).relative).all()  # no spread from one image


def test_segment_coordinates_break_lines_with_nan():
    start = np.array([[0.0, 0.0], [1.0, 1.0]])
    end = np.array([[2.0, 0.0], [1.0, 3.0]])
    out = segment_coordinates(start, end)
    assert out.shape == (6, 2)
    np.testing.assert_array_equal(out[[0, 1, 3, 4]], [[0, 0], [2, 0], [1, 1], [1, 3]])
    assert np.isnan(out[[2, 5]]).all()
    assert segment_coordinates(np.zeros((0, 3)), np.zeros((0, 3))).shape == (0, 3)
    with pytest.raises(ValueError, match="shape"):
        segment_coordinates(start, end[:1])
