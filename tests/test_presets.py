"""The Train page's settings as configs, and the β ladder's bookkeeping (explorer/presets.py)."""

import pytest

from explorer import kinds
from explorer.presets import (DEFAULTS, MLP_HIDDEN, free_name, ladder_differences, ladder_name, page_configs,
                              trainable_kinds)


@pytest.mark.parametrize("kind", [k.name for k in trainable_kinds()])
def test_every_offered_kind_gets_only_the_settings_it_uses(kind):
    settings = {**DEFAULTS, "kind": kind, "beta": 4.0, "noise_kind": "mask", "noise": 0.5}
    model, training = page_configs(settings, (1, 28, 28))
    spec = kinds.get_kind(kind)
    assert model.kind == kind and model.latent_dim == DEFAULTS["latent"] and model.image_shape == (1, 28, 28)
    assert (model.beta == 4.0) == ("beta" in spec.fields)
    assert (model.noise, model.noise_level) == (("mask", 0.5) if "noise" in spec.fields else ("gaussian", 0.3))
    assert (model.hidden == MLP_HIDDEN) == ("hidden" in spec.fields)
    assert (training.epochs, training.batch_size, training.lr, training.seed) == (
        DEFAULTS["epochs"], DEFAULTS["batch"], DEFAULTS["lr"], 0)


def test_the_page_offers_every_plain_autoencoder_kind_and_nothing_else():
    offered = {k.name for k in trainable_kinds()}
    assert offered == {k.name for k in kinds.KINDS.values() if k.role == "autoencoder" and not k.conditional}


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
