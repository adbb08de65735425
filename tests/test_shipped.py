"""The shipped checkpoints give exactly the outputs they gave before the model registry (issue 12):
codes, reconstructions and the seeded loss of four test digits, pinned per model. Retraining a
checkpoint with checkpoints/rebuild.sh changes its numbers: update them here in the same commit."""

from pathlib import Path

import pytest
import torch

from explorer import checkpoints
from explorer.data import load_dataset

SHIPPED = Path(__file__).resolve().parent.parent / "checkpoints"

PINNED = {  # name: (sum of the 4 codes, code[0, 0], mean reconstructed pixel, seeded loss total)
    "ae_32": (171.1185, 0.42996, 0.168577, 88.42),
    "conv_ae_32": (34.861, 0.23673, 0.173709, 72.733),
    "conv_vae_32": (-1.271, 0.03384, 0.174139, 108.5),
    "dae_32": (-62.6236, 1.64676, 0.173517, 112.459),
    "vae_2": (11.1207, 1.74657, 0.174912, 149.933),
    "vae_32": (-14.589, 0.00107, 0.178124, 115.404),
    "vae_beta_0p5": (-6.2184, -0.04187, 0.178649, 108.47),
    "vae_beta_1": (-11.5416, -0.00311, 0.189542, 123.57),
    "vae_beta_4": (-3.5825, -0.04048, 0.177549, 173.846),
}


@pytest.fixture(scope="module")
def four_digits():
    return load_dataset("mnist5k").x_test[:4]


@pytest.mark.parametrize("name", PINNED)
def test_shipped_checkpoint_gives_its_pinned_outputs(name, four_digits):
    model = checkpoints.load(SHIPPED / name).model.eval()
    with torch.no_grad():
        codes = model.encode(four_digits)
        recon = model.decode(codes)
        total = model.loss(four_digits, generator=torch.Generator().manual_seed(0))["total"]
    code_sum, first_code, mean_pixel, loss = PINNED[name]
    assert float(codes.sum()) == pytest.approx(code_sum, abs=2e-3)
    assert float(codes[0, 0]) == pytest.approx(first_code, abs=2e-5)
    assert float(recon.mean()) == pytest.approx(mean_pixel, abs=2e-6)
    assert float(total) == pytest.approx(loss, abs=2e-3)
