"""The Style page under AppTest: a test digit's style as every class, a drawn digit, the analogy grid,
the probe evidence, and settings in the link."""

import pytest
from test_app_draw import canvas_value, four, image_captions

from explorer import checkpoints

pytestmark = pytest.mark.skipif(not (checkpoints.DEFAULT_DIR / "cvae_16").exists(), reason="no shipped cVAE")


@pytest.fixture
def app(page_app):
    return page_app("style_page")


def metric(app, starts: str) -> str:
    return next(m.value for m in app.metric if m.label.startswith(starts))


def test_a_test_digit_is_written_as_every_class_and_the_probe_says_the_class_left_the_code(app):
    app.run()
    assert not app.exception and not app.error
    assert app.subheader[0].value.endswith("style, written as every digit")
    captions = image_captions(app)
    assert any(c.startswith("0 to 9 in this hand · the judge reads:") for c in captions)
    assert any(c.startswith("First column: the writer's own digit") for c in captions)
    assert len(app.slider) == 16  # one per style dimension of cvae_16
    cvae_probe = float(metric(app, "cvae_16").rstrip("%"))
    plain_probe = float(metric(app, "vae_32").rstrip("%"))
    assert cvae_probe < 50 < plain_probe  # computed from the models: the class is in the VAE's code, not the cVAE's
    measured = float(metric(app, "6 handwriting measures").rstrip("%"))
    assert 20 < measured < 90
    verdict = next(m.value for m in app.markdown if m.value.startswith("The style code tells the class"))
    assert f"{cvae_probe / 100:.0%}" in verdict and f"{measured / 100:.0%}" in verdict


def test_a_slider_changes_the_ten_digits(app):
    app.run()
    before = [image.value for image in app.get("image")]
    app.slider(key="style_z0").set_value(2.5).run()
    assert not app.exception
    assert [image.value for image in app.get("image")][0] != before[0]


def test_a_drawn_digit_is_read_by_the_judge_and_written_as_every_class(app):
    app.run()
    app.radio(key="style_source").set_value("draw").run()
    assert any("Draw a digit" in info.value for info in app.info)
    app.session_state["style_pad_canvas"] = canvas_value(four())
    app.run()
    assert not app.exception and not app.error
    assert any(c.value.startswith("The judge reads it as 4 ·") for c in app.caption)
    assert app.subheader[0].value == "This 4's style, written as every digit"


def test_link_state_and_a_bad_link(page_app):
    app = page_app("style_page")
    app.query_params["digit"] = "7"
    app.query_params["seed"] = "banana"
    app.run()
    assert app.number_input(key="style_digit").value == 7
    assert any("seed=banana" in w.value for w in app.warning)
    assert app.query_params["digit"] == ["7"] or app.query_params["digit"] == "7"
