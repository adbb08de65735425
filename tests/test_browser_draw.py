"""The draw page in a real browser: draw a 4 with the mouse, see each model's reconstruction and map;
upload a broken file and a good one."""

import io

import pytest
from PIL import Image, ImageDraw

from browser import open_page, screenshot, wait_idle

pytestmark = pytest.mark.browser

PAD = "canvas.upper-canvas"  # Fabric's event layer inside the component's (open) shadow root
RECONSTRUCTION = '[data-testid="stImage"]:has-text("reconstruction")'
CHART = '[data-testid="stPlotlyChart"]'
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


def test_drawing_a_digit_shows_what_each_model_makes_of_it(app_url, page):
    console = watch_console(page)
    open_page(page, f"{app_url}/draw")
    pad = page.locator(PAD)
    pad.wait_for(timeout=60_000)
    assert page.get_by_text("Draw a digit on the black pad").is_visible()

    box = pad.bounding_box()
    for stroke in STROKES:
        drag(page, box, stroke)  # each mouse-up sends the drawing: the app reruns
        wait_idle(page)
    page.locator(RECONSTRUCTION).nth(2).wait_for(timeout=90_000)
    page.locator(CHART).nth(2).wait_for(timeout=60_000)  # Plotly's script loads lazily, after the images

    assert page.locator(RECONSTRUCTION).count() == 3
    assert page.locator(CHART).count() == 3
    assert page.get_by_text("Your digit as MNIST was made").is_visible()
    assert page.locator('[data-testid="stMetricLabel"]:has-text("Error (MSE)")').count() == 3
    assert page.locator('[data-testid="stException"]').count() == 0
    assert not [m for m in console if "WebGL" in m and ("context" in m.lower() or "lost" in m.lower())]
    assert "models=ae_32%2Cvae_32%2Cdae_32" in page.url or "models=ae_32,vae_32,dae_32" in page.url
    screenshot(page, "draw")


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
    assert "not an image we can read" in page.locator('[data-testid="stAlertContentError"]').inner_text()
    assert page.locator(CHART).count() == 0

    chooser.set_input_files(files=[{"name": "four.png", "mimeType": "image/png", "buffer": picture_of_a_four()}])
    page.locator(RECONSTRUCTION).nth(2).wait_for(timeout=90_000)
    page.locator(CHART).nth(2).wait_for(timeout=60_000)  # Plotly's script loads lazily, after the images
    wait_idle(page)
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    assert page.locator(CHART).count() == 3
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "draw_upload")
