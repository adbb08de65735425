"""The Network page under AppTest: the layer list is the model's own, any model kind and dataset works."""

import json

import numpy as np
import pytest

from chart_json import array
from explorer import checkpoints
from ui import draw_page


PAGE = "network_page"  # the conftest fixture `app` runs this page


def chart(app, key: str) -> dict:
    [found] = [c for c in app.get("plotly_chart") if c.proto.id.endswith(f"-{key}")]
    return json.loads(found.proto.spec)


def metric(app, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


@pytest.mark.parametrize("name", ["vae_32", "conv_vae_32", "ae_32"])
def test_layers_and_parameters_are_the_models_own(app, app_env, name):
    app.query_params["model"] = name
    app.run()
    assert not app.exception and not app.error
    model = checkpoints.load(app_env / name).model
    own = sum(p.numel() for p in model.parameters())
    assert metric(app, "Parameters") == f"{own:,}"
    assert metric(app, "Compression") == f"{784 / model.config.latent_dim:.1f}×"
    table = app.dataframe[0].value
    assert table["parameters"].sum() == own
    bars = chart(app, "net_layers")["data"]
    assert sum(len(b["x"]) for b in bars) == len(table)  # one bar per row: the input and every stage
    heatmaps = chart(app, "net_activations")["data"]
    assert len(heatmaps) == len(table) - 1
    code = next(b for b in chart(app, "net_code")["data"])
    assert len(array(code["y"])) == model.config.latent_dim


def test_the_digit_id_changes_the_numbers_and_lives_in_the_link(app):
    app.run()
    before = app.metric[-1].value
    app.number_input(key="net_digit").set_value(42).run()
    assert not app.exception
    assert app.query_params["digit"] == "42"
    assert app.metric[-1].value != before
    assert [m.label for m in app.metric][-3:] == ["Reconstruction (nats)", "KL (nats)", "Total = recon + 1·KL"]


def test_a_plain_ae_has_a_reconstruction_term_only(app):
    app.query_params["model"] = "dae_32"
    app.run()
    assert not app.exception
    labels = [m.label for m in app.metric]
    assert "Reconstruction (nats)" in labels and "KL (nats)" not in labels


def test_the_digit_drawn_on_the_draw_page_can_be_used(app, app_env):
    import torch

    app.run()
    assert app.radio(key="net_source").options == ["test digit"]  # nothing drawn yet
    drawn = np.zeros((28, 28), np.float32)
    drawn[6:22, 12:16] = 1.0  # a "1"
    app.session_state[draw_page.DRAWN_DIGIT] = drawn
    app.run()
    assert app.radio(key="net_source").options == ["test digit", "your drawing"]
    app.radio(key="net_source").set_value("your drawing").run()
    assert not app.exception and not app.error
    model = checkpoints.load(app_env / "vae_32").model
    with torch.no_grad():
        expected = model.encode(torch.from_numpy(drawn)[None, None])[0].numpy()
    np.testing.assert_allclose(array(chart(app, "net_code")["data"][0]["y"]), expected, rtol=1e-4, atol=1e-5)


def test_an_8x8_model_works(app, digits_model):
    app.query_params["model"] = digits_model
    app.run()
    assert not app.exception and not app.error
    assert metric(app, "Compression") == "32.0×"  # 64 pixels / a 2-number code
