"""The draw page in a real browser: draw a 4 with the mouse, see each model's reconstruction and map;
upload a broken file and a good one."""

import io

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from browser import open_page, screenshot, wait_idle

pytestmark = pytest.mark.browser

PAD = "canvas.upper-canvas"  # Fabric's event layer inside the component's (open) shadow root
RECONSTRUCTION = '[data-testid="stImage"]:has-text("reconstruction")'
CHART = ".latent-map"  # the maps (ui/latent_map.js)
# A "4" as two strokes, in fractions of the pad's size.
STROKES = [[(0.38, 0.15), (0.26, 0.58), (0.74, 0.58)], [(0.62, 0.22), (0.62, 0.9)]]


def drag(page, box: dict, points: list[tuple[float, float]]) -> None:
    page.mouse.move(box["x"] + points[0][0] * box["width"], box["y"] + points[0][1] * box["height"])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=12)
    page.mouse.up()


def watch_console(page) -> list[str]:
    messages = []
    page.on("console", lambda m: messages.append(m.text))
    page.on("pageerror", lambda e: messages.append(str(e)))
    return messages


def draw_a_four(page, models: int) -> None:
    """Draw the 4 on the pad and wait until each of the `models` columns shows its reconstruction and map."""
    pad = page.locator(PAD)
    pad.wait_for(timeout=60_000)
    box = pad.bounding_box()
    for stroke in STROKES:
        drag(page, box, stroke)  # each mouse-up sends the drawing: the app reruns
        wait_idle(page)
    page.locator(RECONSTRUCTION).nth(models - 1).wait_for(timeout=90_000)
    page.locator(CHART).nth(models - 1).wait_for(timeout=60_000)  # Plotly's script loads lazily, after the images
    wait_idle(page)


def overlaps(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def assert_pictures_clear_of_numbers(page, models: int) -> None:
    """No reconstruction covers a metric (the error or the nearest digits' answer), and each stays in its column."""
    pictures = page.locator(f"{RECONSTRUCTION} img")
    metrics = page.locator('[data-testid="stMetric"]')
    expect(pictures).to_have_count(models, timeout=30_000)
    expect(metrics).to_have_count(2 * models, timeout=30_000)
    metric_boxes = [metrics.nth(i).bounding_box() for i in range(metrics.count())]
    for i in range(models):
        picture = pictures.nth(i).bounding_box()
        assert picture["width"] >= 100  # still big enough to read on a projector
        assert not [box for box in metric_boxes if overlaps(picture, box)], f"reconstruction {i} covers a metric"
        column = pictures.nth(i).locator('xpath=ancestor::div[@data-testid="stColumn"][1]').bounding_box()
        assert column["x"] <= picture["x"] and picture["x"] + picture["width"] <= column["x"] + column["width"] + 0.5


def test_drawing_a_digit_shows_what_each_model_makes_of_it(app_url, page):
    console = watch_console(page)
    open_page(page, f"{app_url}/draw")
    page.get_by_text("Draw a digit on the black pad").wait_for(timeout=30_000)
    draw_a_four(page, 3)

    expect(page.locator(RECONSTRUCTION)).to_have_count(3, timeout=30_000)
    expect(page.locator(CHART)).to_have_count(3, timeout=30_000)
    page.get_by_text("Your digit as MNIST was made").wait_for(timeout=30_000)
    expect(page.locator('[data-testid="stMetricLabel"]:has-text("Error (MSE)")')).to_have_count(3, timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert not [m for m in console if "WebGL" in m and ("context" in m.lower() or "lost" in m.lower())]
    page.wait_for_url(lambda url: "models=ae_32%2Cvae_32%2Cdae_32" in url or "models=ae_32,vae_32,dae_32" in url,
                      timeout=30_000)
    assert_pictures_clear_of_numbers(page, 3)
    screenshot(page, "draw")


@pytest.mark.parametrize("models", ["vae_32", "ae_32,vae_32"])
def test_fewer_models_leave_the_numbers_clear_too(app_url, page, models):
    open_page(page, f"{app_url}/draw?models={models}")
    count = len(models.split(","))
    draw_a_four(page, count)
    expect(page.locator(CHART)).to_have_count(count, timeout=30_000)
    assert_pictures_clear_of_numbers(page, count)


def picture_of_a_four() -> bytes:
    image = Image.new("L", (400, 400), 235)  # dark ink on light paper, like a phone photo
    pen = ImageDraw.Draw(image)
    pen.line([(140, 60), (100, 230), (290, 230)], fill=30, width=26)
    pen.line([(240, 90), (240, 350)], fill=30, width=26)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_uploads_a_broken_file_then_a_picture(app_url, page):
    open_page(page, f"{app_url}/draw")
    page.get_by_role("tab", name="Upload").click()
    wait_idle(page)
    chooser = page.locator('[data-testid="stFileUploaderDropzoneInput"]')

    chooser.set_input_files(files=[{"name": "digit.png", "mimeType": "image/png", "buffer": b"just some text\n"}])
    page.locator('[data-testid="stAlertContentError"]').wait_for(timeout=60_000)
    wait_idle(page)
    expect(page.locator('[data-testid="stAlertContentError"]')).to_contain_text("not an image we can read", timeout=30_000)
    assert page.locator(CHART).count() == 0

    chooser.set_input_files(files=[{"name": "four.png", "mimeType": "image/png", "buffer": picture_of_a_four()}])
    page.locator(RECONSTRUCTION).nth(2).wait_for(timeout=90_000)
    page.locator(CHART).nth(2).wait_for(timeout=60_000)  # Plotly's script loads lazily, after the images
    wait_idle(page)
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    expect(page.locator(CHART)).to_have_count(3, timeout=30_000)
    assert_pictures_clear_of_numbers(page, 3)
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "draw_upload")


def photo_of_a_four_under_a_lamp() -> bytes:
    """A phone-like JPEG: a dark pen 4 on lined paper lit from one side (the far edge half as bright), a
    second mark in a corner (issue 19)."""
    from bench import photos
    from test_drawing import mnist_like_four

    condition = photos.Condition("lamp, lined paper", gradient=2.0, ruled=True, scribble=True, jpeg_quality=80)
    return photos.photograph(mnist_like_four(), condition, seed=5)


def test_a_photo_under_a_lamp_is_read_and_the_crop_shown(app_url, page):
    open_page(page, f"{app_url}/draw")
    page.get_by_role("tab", name="Upload").click()
    wait_idle(page)
    chooser = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    chooser.set_input_files(files=[{"name": "lamp.jpg", "mimeType": "image/jpeg",
                                    "buffer": photo_of_a_four_under_a_lamp()}])
    page.locator(RECONSTRUCTION).nth(2).wait_for(timeout=90_000)
    page.locator(CHART).nth(2).wait_for(timeout=60_000)
    wait_idle(page)
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    crop = page.locator('[data-testid="stImage"]:has-text("The part of your picture that was read")')
    expect(crop).to_have_count(1, timeout=30_000)
    assert crop.locator("img").bounding_box()["width"] >= 200
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "draw_photo_lamp")
