import pytest
from standins import autoencoder_kinds
import torch

from explorer import ExplorerError
from explorer.models import ModelConfig, build_model, kl_divergence

SHAPES = [(1, 28, 28), (1, 8, 8)]


def make(kind, shape=(1, 8, 8), latent=4, **overrides):
    torch.manual_seed(0)
    return build_model(ModelConfig(kind=kind, image_shape=shape, latent_dim=latent, hidden=(32, 16), channels=(8, 16), **overrides))


@pytest.mark.parametrize("kind", autoencoder_kinds())
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("latent", [2, 64])
def test_encode_decode_shapes_and_range(kind, shape, latent):
    model = make(kind, shape, latent)
    x = torch.rand(5, *shape)
    z = model.encode(x)
    assert z.shape == (5, latent)
    x_hat = model.decode(z)
    assert x_hat.shape == x.shape
    assert 0 <= x_hat.min() and x_hat.max() <= 1
    assert torch.equal(model(x), x_hat)


@pytest.mark.parametrize("kind", autoencoder_kinds())
def test_loss_terms(kind):
    model = make(kind)
    terms = model.loss(torch.rand(6, 1, 8, 8))
    assert {"total", "recon"} <= set(terms)
    assert terms["recon"] > 0
    if model.is_variational:
        assert terms["kl"] >= 0
        assert torch.allclose(terms["total"], terms["recon"] + model.config.beta * terms["kl"])
    else:
        assert "kl" not in terms and torch.equal(terms["total"], terms["recon"])


def test_beta_weights_the_kl_term():
    x = torch.rand(6, 1, 8, 8)
    g = lambda: torch.Generator().manual_seed(0)
    terms = make("vae", beta=4.0).loss(x, generator=g())
    assert torch.allclose(terms["total"], terms["recon"] + 4.0 * terms["kl"])


def test_kl_is_zero_at_the_prior_and_positive_elsewhere():
    zeros = torch.zeros(3, 5)
    assert torch.equal(kl_divergence(zeros, zeros), torch.zeros(3, 5))
    assert (kl_divergence(torch.randn(3, 5), torch.randn(3, 5)) > 0).all()
    # closed form for one dimension: μ=1, σ²=1 -> ½
    assert torch.isclose(kl_divergence(torch.ones(1, 1), torch.zeros(1, 1)), torch.tensor(0.5)).all()


def test_vae_encode_returns_mu_deterministically():
    model = make("vae").eval()
    x = torch.rand(4, 1, 8, 8)
    mu, _ = model.encode_distribution(x)
    assert torch.equal(model.encode(x), mu) and torch.equal(model.encode(x), model.encode(x))


def test_vae_loss_is_repeatable_with_a_generator():
    model = make("vae").eval()
    x = torch.rand(4, 1, 8, 8)
    a = model.loss(x, generator=torch.Generator().manual_seed(1))["total"]
    b = model.loss(x, generator=torch.Generator().manual_seed(1))["total"]
    assert torch.equal(a, b)


@pytest.mark.parametrize("noise, level", [("gaussian", 0.5), ("mask", 0.5)])
def test_dae_corrupts_its_input_only_in_training(noise, level):
    model = make("dae", noise=noise, noise_level=level)
    x = torch.full((4, 1, 8, 8), 0.5)
    corrupted = model.corrupt(x)
    assert corrupted.shape == x.shape and not torch.equal(corrupted, x) and 0 <= corrupted.min() and corrupted.max() <= 1
    if noise == "mask":
        assert 0.3 < (corrupted == 0).float().mean() < 0.7
    model.eval()
    assert torch.equal(model.loss(x)["total"], model.loss(x)["total"])  # no noise in eval


def test_mlp_ae_has_the_documented_bottleneck():
    model = build_model(ModelConfig(kind="ae", latent_dim=32))
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(l.in_features, l.out_features) for l in linears] == [
        (784, 256), (256, 128), (128, 64), (64, 32), (32, 64), (64, 128), (128, 256), (256, 784)]


@pytest.mark.parametrize("bad, message", [
    (dict(kind="gan"), "Unknown model kind"),
    (dict(latent_dim=0), "Latent size"),
    (dict(latent_dim=100000), "Latent size"),
    (dict(beta=float("nan")), "β"),
    (dict(kind="dae", noise="pink"), "noise"),
    (dict(kind="dae", noise_level=2.0), "Noise level"),
    (dict(kind="conv_ae", image_shape=(1, 8, 8), channels=(4, 4, 4, 4, 4)), "too many"),
    (dict(kind="conv_vae", convs_per_scale=0), "Convs per scale"),
])
def test_bad_configs_raise_a_clear_error(bad, message):
    with pytest.raises(ExplorerError, match=message):
        ModelConfig(**bad)


@pytest.mark.parametrize("shape", SHAPES)
def test_extra_convs_per_scale_keep_sizes_and_add_stride_1_layers(shape):
    plain, deeper = (make("conv_vae", shape, convs_per_scale=n) for n in (1, 2))
    x = torch.rand(3, *shape)
    assert deeper(x).shape == x.shape
    assert deeper.encode(x).shape == (3, 4)

    def stride_1_convs(model):
        return [m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.stride == (1, 1)]

    assert stride_1_convs(plain) == []
    # one extra conv per resolution in the encoder (8, 16 channels) and in the decoder (16, 8)
    assert [m.out_channels for m in stride_1_convs(deeper)] == [8, 16, 16, 8]


def test_configs_saved_before_convs_per_scale_load_as_one_conv_per_scale():
    saved = ModelConfig(kind="conv_vae", channels=(4, 8)).to_dict()
    del saved["convs_per_scale"]
    assert ModelConfig.from_dict(saved).convs_per_scale == 1


def test_config_round_trips_through_a_dict():
    config = ModelConfig(kind="conv_vae", latent_dim=7, beta=2.5, channels=(4, 8))
    assert ModelConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ExplorerError, match="unknown fields"):
        ModelConfig.from_dict({**config.to_dict(), "dropout": 0.1})


def test_bernoulli_nll_matches_torch_in_value_and_gradient():
    import torch.nn.functional as F

    from explorer.models import bernoulli_nll

    generator = torch.Generator().manual_seed(0)
    logits = torch.cat([torch.randn(500, generator=generator) * 6,
                        torch.tensor([-200.0, -30.0, -1e-4, 0.0, 1e-4, 30.0, 200.0])])
    targets = torch.rand(len(logits), generator=generator)
    targets[:100] = (targets[:100] > 0.5).float()  # binary targets too
    ours_logits, ours_targets = logits.clone().requires_grad_(), targets.clone().requires_grad_()
    torch_logits, torch_targets = logits.clone().requires_grad_(), targets.clone().requires_grad_()
    ours = bernoulli_nll(ours_logits, ours_targets)
    reference = F.binary_cross_entropy_with_logits(torch_logits, torch_targets, reduction="sum")
    (2 * ours).backward()
    (2 * reference).backward()
    assert torch.allclose(ours, reference, rtol=1e-6, atol=len(logits) * 2e-7)
    assert torch.allclose(ours_logits.grad, torch_logits.grad, atol=1e-6)
    assert torch.allclose(ours_targets.grad, torch_targets.grad, atol=1e-5)
