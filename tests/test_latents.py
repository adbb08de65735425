"""latents.py: encoding, reconstructing and scoring many images in batches."""

import numpy as np
import pytest
import torch

from explorer.errors import ExplorerError
from explorer.latents import decode_codes, encode_dataset, reconstruct, reconstruction_errors

from standins import SIDE, TinyVAE


@pytest.fixture
def images():
    return torch.rand(37, 1, SIDE, SIDE, generator=torch.Generator().manual_seed(1))


def test_encode_dataset_shape_dtype_and_batching(model, images):
    codes = encode_dataset(model, images)
    assert codes.shape == (37, 3) and codes.dtype == np.float32
    # Batch size only changes how the work is split, not the result.
    np.testing.assert_allclose(encode_dataset(model, images, batch_size=5), codes, atol=1e-6)
    # numpy input works the same as a tensor.
    np.testing.assert_allclose(encode_dataset(model, images.numpy()), codes, atol=1e-6)


def test_vae_codes_are_mu(images):
    vae = TinyVAE().eval()
    with torch.no_grad():
        mu, _ = vae.encode_distribution(images)
    np.testing.assert_allclose(encode_dataset(vae, images), mu.numpy(), atol=1e-6)


def test_reconstruct_and_errors(model, images):
    x_hat = reconstruct(model, images, batch_size=10)
    assert x_hat.shape == (37, 1, SIDE, SIDE) and x_hat.dtype == np.float32
    with torch.no_grad():
        expected = model.decode(model.encode(images)).numpy()
    np.testing.assert_allclose(x_hat, expected, atol=1e-6)

    errors = reconstruction_errors(model, images, batch_size=10)
    assert errors.shape == (37,)
    np.testing.assert_allclose(errors, ((expected - images.numpy()) ** 2).mean(axis=(1, 2, 3)), rtol=1e-5)


def test_decode_codes_checks_latent_size(model):
    assert decode_codes(model, np.zeros((4, 3))).shape == (4, 1, SIDE, SIDE)
    with pytest.raises(ExplorerError, match="Codes must be shaped"):
        decode_codes(model, np.zeros((4, 5)))


def test_empty_input_gives_empty_arrays(model):
    empty = torch.zeros(0, 1, SIDE, SIDE)
    assert encode_dataset(model, empty).shape == (0, 3)
    assert reconstruct(model, empty).shape == (0, 1, SIDE, SIDE)
    assert reconstruction_errors(model, empty).shape == (0,)


def test_wrong_image_shape_is_explained(model):
    with pytest.raises(ExplorerError, match=r"\(N, C, H, W\)"):
        encode_dataset(model, np.zeros((4, 64)))


def test_model_state_is_left_alone(model, images):
    encode_dataset(model, images)
    assert not model.training
    assert all(p.grad is None for p in model.parameters())
