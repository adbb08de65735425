"""The Train page's settings as configs, and the β ladder's bookkeeping (explorer/presets.py)."""

from types import SimpleNamespace

import pytest

from explorer import kinds
from explorer.presets import (DEFAULTS, ROLE_SIZES, default_base, default_name, free_name,
                              ladder_differences, ladder_name, page_configs, prior_bases, trainable_kinds)


PRIOR_SETTINGS = {"base": "ae_32", "base_latent": 32}


@pytest.mark.parametrize("kind", [k.name for k in trainable_kinds()])
def test_every_offered_kind_gets_only_the_settings_it_uses(kind):
    settings = {**DEFAULTS, "kind": kind, "beta": 4.0, "noise_kind": "mask", "noise": 0.5, **PRIOR_SETTINGS}
    model, training = page_configs(settings, (1, 28, 28))
    spec = kinds.get_kind(kind)
    assert model.kind == kind and model.image_shape == (1, 28, 28)
    assert (model.beta == 4.0) == ("beta" in spec.fields)
    assert (model.noise, model.noise_level) == (("mask", 0.5) if "noise" in spec.fields else ("gaussian", 0.3))
    if "hidden" in spec.fields:  # each role its own widths: an autoencoder's MLP, a classifier's feature layer
        assert model.hidden == ROLE_SIZES[spec.role]["hidden"]
    assert (model.base == "ae_32") == ("base" in spec.fields)
    assert (training.epochs, training.batch_size, training.lr, training.seed) == (
        DEFAULTS["epochs"], DEFAULTS["batch"], DEFAULTS["lr"], 0)


@pytest.mark.parametrize("kind", [k.name for k in trainable_kinds()])
def test_the_code_size_is_the_page_s_for_autoencoders_the_base_s_for_a_prior_and_fixed_for_a_classifier(kind):
    spec = kinds.get_kind(kind)
    sizes = {page_configs({**DEFAULTS, "kind": kind, "latent": latent, **PRIOR_SETTINGS}, (1, 28, 28))[0].latent_dim
             for latent in (4, 16)}
    if "base" in spec.fields:
        assert sizes == {32}
    elif spec.has_code:
        assert sizes == {4, 16}
    else:  # one value, so two students' classifier runs with different latent sliders still share one job
        assert len(sizes) == 1


def test_the_page_offers_every_registered_kind():
    assert [k.name for k in trainable_kinds()] == list(kinds.KINDS)


def test_default_names_say_what_was_trained():
    names = {kind: default_name(page_configs({**DEFAULTS, "kind": kind, **PRIOR_SETTINGS}, (1, 28, 28))[0])
             for kind in ("vae", "classifier", "latent_diffusion")}
    assert names == {"vae": "my_vae_16", "classifier": "my_classifier", "latent_diffusion": "my_latent_diffusion_ae_32"}


def listing(name, kind, dataset=None):
    info = {"model": {"kind": kind}, **({"dataset": dataset} if dataset else {})}
    return SimpleNamespace(name=name, info=info)


def test_a_prior_is_offered_the_plain_autoencoders_of_its_dataset_with_ae_32_first():
    listings = [listing("ae_32", "ae"), listing("a_vae", "vae", "mnist5k"), listing("small", "ae", "digits"),
                listing("cvae_16", "cvae"), listing("digit_judge", "classifier"),
                listing("diffusion_ae_32", "latent_diffusion"), SimpleNamespace(name="broken", info=None)]
    assert prior_bases(listings, "mnist5k") == ["ae_32", "a_vae"]  # no dataset stated: MNIST, as everywhere
    assert prior_bases(listings, "digits") == ["small"]
    assert default_base(["a_vae", "ae_32"]) == "ae_32"
    assert default_base(["small"]) == "small" and default_base([]) is None


def test_ladder_configs_differ_in_beta_alone():
    low, high = (page_configs(DEFAULTS, (1, 28, 28), kind="vae", beta=b)[0] for b in (0.5, 4.0))
    assert {k: v for k, v in low.to_dict().items() if k != "beta"} == {k: v for k, v in high.to_dict().items() if k != "beta"}
    assert (low.beta, high.beta) == (0.5, 4.0)


def test_names():
    assert [ladder_name(b) for b in (0.5, 1.0, 4.0)] == ["vae_beta_0p5", "vae_beta_1", "vae_beta_4"]
    assert free_name("my_vae_16", set()) == "my_vae_16"
    assert free_name("my_vae_16", {"my_vae_16", "my_vae_16_2"}) == "my_vae_16_3"


def test_ladder_differences_names_every_setting_but_beta():
    base = {"dataset": "mnist5k", "model": {"kind": "vae", "latent_dim": 16, "beta": 1.0},
            "training": {"epochs": 40, "lr": 0.002, "seed": 0, "seconds": 12.0}}
    other_beta = {**base, "model": {**base["model"], "beta": 4.0}, "training": {**base["training"], "seconds": 9.0}}
    assert ladder_differences([base, other_beta]) == []
    longer = {**other_beta, "training": {**other_beta["training"], "epochs": 15}}
    smaller = {**base, "model": {**base["model"], "latent_dim": 8}}
    assert ladder_differences([base, longer, smaller]) == ["latent_dim", "epochs"]


def test_a_ladder_of_old_and_new_checkpoints_differs_in_beta_alone():
    # Checkpoints saved before the registry hold every field; new ones only the fields their kind uses.
    new = {"dataset": "mnist5k", "model": page_configs(DEFAULTS, (1, 28, 28), kind="vae", beta=4.0)[0].to_dict()}
    old = {"dataset": "mnist5k", "model": {**new["model"], "beta": 1.0, "channels": [32, 64], "convs_per_scale": 1,
                                          "noise": "gaussian", "noise_level": 0.3}}
    assert ladder_differences([old, new]) == []
