"""The Reparameterization page under AppTest: the plane shows vae_2's real μ, σ and seeded samples."""

import json

import numpy as np
import pytest
import torch

from chart_json import array
from explorer import checkpoints, data, reparam


PAGE = "reparam_page"  # the conftest fixture `app` runs this page


def chart(app, key: str) -> dict:
    [found] = [c for c in app.get("plotly_chart") if c.proto.id.endswith(f"-{key}")]
    return json.loads(found.proto.spec)


def trace_xy(spec: dict, name: str) -> np.ndarray:
    [t] = [t for t in spec["data"] if t.get("name") == name]
    return np.column_stack([array(t["x"]).astype(float), array(t["y"]).astype(float)])


def true_posterior(app_env, name: str, digit: int):
    model = checkpoints.load(app_env / name).model
    image = data.load_dataset("mnist5k").x_test[digit]
    with torch.no_grad():
        mu, logvar = model.encode_distribution(image[None])
    return mu[0].numpy(), torch.exp(0.5 * logvar[0]).numpy()


def test_the_plane_uses_the_models_mu_sigma_and_seeded_samples(app, app_env):
    app.query_params["digit"] = "5"
    app.run()
    assert not app.exception and not app.error
    assert app.selectbox(key="rp_model").value == "vae_2"
    mu, sigma = true_posterior(app_env, "vae_2", 5)
    spec = chart(app, "rp_plane")
    ring = trace_xy(spec, "μ ± 1σ")
    np.testing.assert_allclose((ring.max(0) + ring.min(0)) / 2, mu, atol=1e-4)
    np.testing.assert_allclose(ring.max(0) - ring.min(0), 2 * sigma, rtol=1e-3)
    samples = trace_xy(spec, "z = μ + σ·ε")
    np.testing.assert_allclose(samples, mu + sigma * reparam.draw_epsilon(2, 8, 0), rtol=1e-4, atol=1e-6)
    assert len(trace_xy(spec, "digits")) == 5000  # every digit's μ under the ellipse


def test_draw_again_draws_new_epsilon_and_keeps_the_seed_in_the_link(app):
    app.run()
    before = trace_xy(chart(app, "rp_plane"), "z = μ + σ·ε")
    app.button(key="rp_again").click().run()
    assert not app.exception
    assert app.number_input(key="rp_seed").value == 1
    assert app.query_params["seed"] == "1"
    after = trace_xy(chart(app, "rp_plane"), "z = μ + σ·ε")
    assert not np.allclose(before, after)


def test_the_gradients_are_computed_and_the_direct_sample_has_none(app):
    app.run()
    graphs = [g.proto.spec for g in app.get("graphviz_chart")]
    assert len(graphs) == 2
    assert "∂L/∂μ = (" in graphs[0] and "∂L/∂μ: none" in graphs[1]
    sentence = next(m.value for m in app.markdown if m.value.startswith("Autograd's"))
    assert "**no path**" in sentence
    table = app.dataframe[0].value
    np.testing.assert_allclose(table["∂L/∂μ (via z)"], table["∂L/∂z"], rtol=1e-5)


def test_decoding_mu_shows_one_picture_samples_show_all(app):
    app.run()
    app.slider(key="rp_count").set_value(5).run()
    captions = lambda: [i.caption for el in app.image for i in el.proto.imgs]  # noqa: E731
    assert [c for c in captions() if c.startswith("z")] == ["z0", "z1", "z2", "z3", "z4"]
    app.radio(key="rp_decode").set_value("μ (the mean)").run()
    assert "decoded μ" in captions() and not any(c.startswith("z") for c in captions())


def test_a_plain_autoencoder_gets_a_sentence(app):
    app.query_params["model"] = "ae_32"
    app.run()
    assert not app.exception and not app.error
    assert "no variational head" in app.info[0].value
    assert not app.get("plotly_chart")


def test_a_32_dimensional_vae_gets_the_per_dimension_view(app, app_env):
    app.query_params["model"] = "vae_32"
    app.run()
    assert not app.exception and not app.error
    keys = [c.proto.id.split("-", 2)[-1] for c in app.get("plotly_chart")]
    assert "rp_plane" not in keys and "rp_dims" in keys
    mu, sigma = true_posterior(app_env, "vae_32", 0)
    dims = chart(app, "rp_dims")
    mine = next(t for t in dims["data"] if t.get("name") == "this digit: μ ± σ")
    np.testing.assert_allclose(array(mine["y"]), mu, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(array(mine["error_y"]["array"]), sigma, rtol=1e-4)
