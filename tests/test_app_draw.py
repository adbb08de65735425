"""The draw page under AppTest: the hint on an empty pad, a drawing or an upload read by each model,
clear messages for bad input, settings in the URL."""

import base64
import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from bench.photos import png_header_only
from chart_json import array, specs
from explorer.errors import ExplorerError
from ui import draw_page


def four(size=280, ink=(255, 255, 255, 255), paper=(0, 0, 0, 255)) -> Image.Image:
    """A drawn "4": two strokes like a student's, RGBA."""
    image = Image.new("RGBA", (size, size), paper)
    pen = ImageDraw.Draw(image)
    s = size / 280
    pen.line([(100 * s, 40 * s), (70 * s, 160 * s), (200 * s, 160 * s)], fill=ink, width=round(18 * s), joint="curve")
    pen.line([(170 * s, 60 * s), (170 * s, 250 * s)], fill=ink, width=round(18 * s))
    return image


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def canvas_value(image: Image.Image, strokes: int = 2) -> dict:
    """What streamlit-drawable-canvas 0.13 stores under its key: Fabric's JSON and a PNG data URL."""
    url = "data:image/png;base64," + base64.b64encode(png(image)).decode("ascii")
    return {"drawing": {"raw": {"objects": [{"type": "path"}] * strokes, "background": "#000"}, "data": url},
            "backgroundFit": None}


def image_captions(app) -> list[str]:
    return [caption for image in app.get("image") for caption in image.captions]


PAGE = "draw_page"  # the conftest fixture `app` runs this page


def draw(app, image: Image.Image, strokes: int = 2):
    app.run()
    app.session_state["draw_canvas"] = canvas_value(image, strokes)
    return app.run()


def upload(app, name: str, data: bytes, mime: str = "image/png"):
    app.run()
    app.session_state["draw_source"] = draw_page.UPLOAD_TAB
    app.run()
    app.file_uploader(key="draw_upload").set_value((name, data, mime))
    return app.run()


def assert_models_read_the_digit(app, models=draw_page.DEFAULT_MODELS):
    assert not app.exception
    assert [s.value for s in app.subheader] == list(models)
    charts = specs(app)
    assert len(charts) == len(models) <= 4  # browsers give a page only a few WebGL contexts
    for chart in charts:
        star = [t for t in chart["data"] if t.get("name") == "your digit"]
        assert len(star) == 1 and star[0]["marker"]["symbol"] == "star" and len(array(star[0]["x"])) == 1
        assert [t["name"] for t in chart["data"]][:2] == ["digits", "highlighted"]  # the 5 neighbours ringed
    assert [m.label for m in app.metric][:2] == ["Error (MSE)", "Nearest digits say"]
    assert all(float(m.value) >= 0 for m in app.metric if m.label == "Error (MSE)")
    captions = image_captions(app)
    assert captions.count("reconstruction") == len(models)
    assert any(c.startswith("Your digit as MNIST was made") for c in captions)
    assert sum(len(c) == 1 and c.isdigit() for c in captions) == draw_page.NEIGHBOURS * len(models)


def test_empty_pad_shows_the_hint(app):
    app.run()
    assert not app.exception
    assert app.title[0].value == "Draw a digit"
    assert any("Draw a digit" in i.value for i in app.info)
    assert app.multiselect(key="draw_models").value == list(draw_page.DEFAULT_MODELS)
    assert app.radio(key="draw_projection").value == "pca"
    assert not app.get("plotly_chart") and not app.error and not app.warning


def test_a_drawing_is_read_by_every_model(app):
    draw(app, four())
    assert_models_read_the_digit(app)
    assert app.query_params["models"] == "ae_32,vae_32,dae_32" and app.query_params["proj"] == "pca"


def test_a_cleared_pad_shows_the_hint_again(app):
    draw(app, four())
    app.session_state["draw_canvas"] = canvas_value(Image.new("RGBA", (280, 280), (0, 0, 0, 255)), strokes=0)
    app.run()
    assert not app.exception and not app.get("plotly_chart")
    assert any("Draw a digit" in i.value for i in app.info)


def test_strokes_without_ink_are_explained(app):
    draw(app, Image.new("RGBA", (280, 280), (0, 0, 0, 255)), strokes=1)  # e.g. a black stroke on black
    assert not app.exception and not app.get("plotly_chart")
    assert [w.value for w in app.warning] == ["The drawing is empty — draw a digit first."]


def test_fewer_models_give_fewer_columns_and_none_asks_for_one(app):
    app.run()
    app.multiselect(key="draw_models").set_value(["vae_2"])
    app.session_state["draw_canvas"] = canvas_value(four())
    app.run()
    assert_models_read_the_digit(app, ["vae_2"])
    assert app.query_params["models"] == "vae_2"
    app.multiselect(key="draw_models").set_value([])
    app.run()
    assert not app.exception and not app.get("plotly_chart")
    assert any("at least one model" in i.value for i in app.info)


@pytest.mark.parametrize("picture", [
    four(),
    four(ink=(20, 20, 120, 255), paper=(240, 235, 220, 255)).convert("RGB"),  # blue ink on cream paper
    four(size=1500),  # bigger than a canvas, shrunk on load
], ids=["canvas-like", "ink-on-paper", "big"])
def test_a_good_upload_is_read_by_every_model(app, picture):
    upload(app, "digit.png", png(picture))
    assert_models_read_the_digit(app)


def test_a_jpeg_photo_is_read(app):
    buffer = io.BytesIO()
    four(ink=(30, 30, 30, 255), paper=(250, 250, 250, 255)).convert("RGB").save(buffer, "JPEG", quality=70)
    upload(app, "photo.jpg", buffer.getvalue(), "image/jpeg")
    assert_models_read_the_digit(app)


@pytest.mark.parametrize("ink, paper", [(25, 115), (20, 100), (30, 125)])
def test_an_underexposed_photo_is_read(app, ink, paper):
    """Dark ink on paper below mid-grey, with sensor noise: still a digit, not "looks blank"."""
    grey = np.asarray(four(ink=(ink, ink, ink, 255), paper=(paper, paper, paper, 255)).convert("L"), np.float64)
    grey += np.random.default_rng(0).normal(0, 5, grey.shape)
    upload(app, "dim.png", png(Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8))))
    assert not app.error
    assert_models_read_the_digit(app)


@pytest.mark.parametrize("level", [0, 115, 128, 200])
def test_a_uniform_noisy_photo_finds_no_digit(app, level):
    grey = np.random.default_rng(0).normal(level, 5, (200, 200))
    upload(app, "grey.png", png(Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8))))
    assert not app.exception and not app.get("plotly_chart")
    assert len(app.error) == 1 and app.error[0].value.startswith("No digit found in the picture")
    assert "draw" not in app.error[0].value.lower()  # an upload is never told to draw
    assert not app.warning


def photo_under_a_lamp(ratio=2 / 3) -> bytes:
    """A JPEG of a dark pen 4 on white paper lit from the left: the right edge `ratio` as bright (issue 19)."""
    ink = np.asarray(four(size=400).convert("L"), np.float64) / 255.0
    paper = 0.92 * np.linspace(1.0, ratio, 400)[None, :]
    photo = paper * (1 - 0.7 * ink) + np.random.default_rng(0).normal(0, 0.02, ink.shape)
    buffer = io.BytesIO()
    Image.fromarray((np.clip(photo, 0, 1) * 255).astype(np.uint8)).convert("RGB").save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


@pytest.mark.parametrize("ratio", [2 / 3, 1 / 2])
def test_a_photo_under_a_lamp_is_read_and_the_crop_shown(app, ratio):
    upload(app, "lamp.jpg", photo_under_a_lamp(ratio), "image/jpeg")
    assert not app.error
    assert_models_read_the_digit(app)
    assert draw_page.CROP_CAPTION in image_captions(app)


def test_the_crop_leaves_out_a_second_mark():
    """The picture's other marks (here a scribble in a corner) stay outside the box the page shows."""
    image = four(size=400, ink=(30, 30, 30, 255), paper=(240, 240, 240, 255)).convert("L")
    ImageDraw.Draw(image).line([(12, 350), (40, 370), (20, 390)], fill=30, width=8)  # left of the 4, 50 px apart
    digit, crop = draw_page.digit_from_upload(png(image))
    gold = (crop[..., 0] > 200) & (crop[..., 1] > 150) & (crop[..., 2] < 80)  # the box's outline
    rows, cols = np.flatnonzero(gold.any(axis=1)), np.flatnonzero(gold.any(axis=0))
    scale = crop.shape[0] / 400
    assert cols[0] > 46 * scale  # the box starts right of the scribble
    assert digit.shape == (28, 28)


def test_the_pad_keeps_its_own_message_and_an_upload_gets_the_picture_one():
    with pytest.raises(ExplorerError, match="^The drawing is empty — draw a digit first.$"):
        draw_page.digit_from_canvas(np.zeros((280, 280, 4), np.uint8) + np.array([0, 0, 0, 255], np.uint8))
    with pytest.raises(ExplorerError, match="^No digit found in the picture"):
        draw_page.digit_from_upload(png(Image.new("L", (64, 64), 255)))


@pytest.mark.parametrize("name, data, message", [
    ("digit.png", b"hello, I am a text file with an image's name\n", "not an image"),
    ("digit.png", b"", "empty"),
    ("dot.png", png(Image.new("L", (1, 1), 255)), "too small to contain a digit"),
    ("huge.png", png_header_only(6000, 6000), "limit"),
    ("blank.png", png(Image.new("L", (64, 64), 255)), "No digit found in the picture"),
], ids=["text-named-png", "empty-file", "1x1", "huge", "blank-paper"])
def test_bad_uploads_get_a_clear_message(app, name, data, message):
    upload(app, name, data)
    assert not app.exception
    assert len(app.error) == 1 and message in app.error[0].value
    assert not app.get("plotly_chart")


def test_the_open_tab_is_the_input(app):
    draw(app, four())
    assert len(specs(app)) == 3
    app.session_state["draw_source"] = draw_page.UPLOAD_TAB
    app.run()  # nothing uploaded yet: the drawing in the other tab is not used
    assert not app.exception and not app.get("plotly_chart")
    assert any("Draw a digit" in i.value for i in app.info)
    app.session_state["draw_source"] = draw_page.DRAW_TAB
    app.run()  # back on the pad: the drawing is still there
    assert len(specs(app)) == 3


def test_url_parameters_round_trip(app):
    app.query_params.update({"models": "vae_2,ae_32", "proj": "pca"})
    draw(app, four())
    assert app.multiselect(key="draw_models").value == ["vae_2", "ae_32"]
    assert_models_read_the_digit(app, ["vae_2", "ae_32"])
    assert app.query_params["models"] == "vae_2,ae_32"


def test_digit_from_canvas_reads_a_synthetic_stroke():
    rgba = np.zeros((280, 280, 4), np.uint8)  # transparent, as a pad without background colour returns
    rgba[60:220, 130:148] = (255, 255, 255, 255)  # one vertical stroke: a "1"
    digit = draw_page.digit_from_canvas(rgba)
    assert digit.shape == (28, 28) and digit.max() == pytest.approx(1.0)
    assert draw_page.digit_from_canvas(None) is None
