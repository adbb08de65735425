"""The network drawn layer by layer: sizes, parameter counts and activations come from the model itself."""

import math

import numpy as np
import pytest
import torch

from explorer import anatomy
from explorer.errors import ExplorerError
from explorer.models import ModelConfig, build_model

CONFIGS = {
    "ae": dict(kind="ae", hidden=(24, 12)),
    "dae": dict(kind="dae", hidden=(24, 12)),
    "vae": dict(kind="vae", hidden=(24, 12)),
    "conv_ae": dict(kind="conv_ae", channels=(4, 8)),
    "conv_vae": dict(kind="conv_vae", channels=(4, 8), convs_per_scale=2),
}


def model_of(kind: str, shape=(1, 8, 8), latent=3):
    model = build_model(ModelConfig(image_shape=shape, latent_dim=latent, **CONFIGS[kind]), seed=0)
    return model.eval()


@pytest.fixture
def digit():
    return torch.rand(1, 8, 8, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("kind", CONFIGS)
def test_parameter_counts_add_up_to_the_models_own(kind, digit):
    model = model_of(kind)
    result = anatomy.anatomy(model, digit)
    own = sum(p.numel() for p in model.parameters())
    assert result.total_parameters == own
    assert sum(stage.parameters for stage in result.stages) == own
    assert sum(row["parameters"] for row in anatomy.layer_table(result)) == own
    # Every stage's count is its weight layer's own parameters.
    modules = dict(model.named_modules())
    for stage in result.stages:
        assert stage.parameters == sum(p.numel() for p in modules[stage.name].parameters())


@pytest.mark.parametrize("kind", CONFIGS)
def test_activations_are_what_the_layers_output(kind, digit):
    model = model_of(kind)
    result = anatomy.anatomy(model, digit)
    x = digit[None]
    with torch.no_grad():
        code = model.encode(x)[0].numpy()
        logits = model.decode_logits(model.encode(x))[0].numpy()
    assert result.code_stage.shape == (3,)
    np.testing.assert_allclose(result.code_stage.activation, code, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.reconstruction, 1 / (1 + np.exp(-logits)), rtol=1e-5, atol=1e-6)
    for stage in result.stages:
        assert stage.activation.shape == stage.shape
    parts = [stage.part for stage in result.stages]
    assert parts == sorted(parts, key=["encoder", "bottleneck", "decoder"].index)
    assert parts.count("bottleneck") == (2 if model.is_variational else 1)


def test_mlp_shapes_follow_the_hidden_widths(digit):
    result = anatomy.anatomy(model_of("ae"), digit)
    assert [s.shape for s in result.stages] == [(24,), (12,), (3,), (12,), (24,), (64,)]
    assert result.compression_ratio == 64 / 3
    # ReLU layers are folded into their stage: the activations passed on are never negative.
    assert all(s.activation.min() >= 0 for s in result.stages if s.part != "bottleneck" and s is not result.stages[-1])


def test_conv_shapes_are_channels_by_height_by_width(digit):
    result = anatomy.anatomy(model_of("conv_ae"), digit)
    encoder = [s for s in result.stages if s.part == "encoder"]
    assert [s.shape for s in encoder] == [(4, 4, 4), (8, 2, 2)]
    assert encoder[1].shape_text == "8×2×2"
    assert result.stages[-1].shape == (1, 8, 8)


def test_a_digit_of_the_wrong_size_is_refused_with_a_message():
    with pytest.raises(ExplorerError, match="8×8"):
        anatomy.anatomy(model_of("ae"), np.zeros((1, 28, 28)))


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_digit_loss_is_the_trainers_loss(kind, digit):
    model = model_of(kind)
    terms = anatomy.digit_loss(model, digit, seed=3)
    expected = model.loss(digit[None], generator=torch.Generator().manual_seed(3))
    assert set(terms) == set(expected)
    for name, value in expected.items():
        assert terms[name] == pytest.approx(float(value.detach()))
    if kind == "vae":
        assert terms["total"] == pytest.approx(terms["recon"] + model.config.beta * terms["kl"])


def test_activation_grid_lays_out_vectors_and_channels():
    image = np.arange(784, dtype=np.float32)
    np.testing.assert_array_equal(anatomy.activation_grid(image), image.reshape(28, 28))
    vector = anatomy.activation_grid(np.arange(10, dtype=np.float32))
    assert vector.shape == (3, 4) and np.isnan(vector).sum() == 2
    maps = np.random.default_rng(0).random((20, 3, 3)).astype(np.float32)
    grid = anatomy.activation_grid(maps)
    assert grid.shape == (4 * 4 - 1, 4 * 4 - 1)  # 16 channels shown, a blank line between them
    np.testing.assert_array_equal(grid[4:7, 0:3], maps[4])
    assert np.isnan(grid[3]).all()
    assert math.isclose(np.nansum(grid), maps[:16].sum(), rel_tol=1e-5)


def test_the_code_is_found_in_a_model_whose_children_are_named_otherwise(digit):
    model = model_of("ae")
    result = anatomy.anatomy(model, digit)
    renamed = [anatomy.Stage(s.name, s.kind, "head" if s.part == "bottleneck" else s.part, s.shape, s.parameters,
                             s.activation) for s in result.stages]
    other = anatomy.Anatomy(result.image, renamed, result.reconstruction, result.total_parameters, 3)
    np.testing.assert_array_equal(other.code_stage.activation, result.code_stage.activation)
