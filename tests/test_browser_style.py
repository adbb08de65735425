"""The Style page in a real browser: draw a 4 on the pad and see it written as all ten digits."""

import pytest
from playwright.sync_api import expect
from test_browser_draw import STROKES, drag

from browser import open_page, screenshot, wait_idle, wait_loaded

pytestmark = pytest.mark.browser

TEN = '[data-testid="stImage"]:has-text("0 to 9 in this hand")'


def test_a_drawn_digit_is_written_as_ten_digits(app_url, page):
    open_page(page, f"{app_url}/style?source=draw")
    pad = page.locator("canvas.upper-canvas")
    pad.wait_for(timeout=60_000)
    box = pad.bounding_box()
    for stroke in STROKES:
        drag(page, box, stroke)
        wait_idle(page)
    picture = page.locator(f"{TEN} img")
    picture.wait_for(timeout=90_000)
    wait_idle(page)
    # One mosaic of ten 28-pixel digits, each with a 2-pixel border: 10 × 32 pixels wide, one row high.
    wait_loaded(picture)  # its natural size is 0 × 0 until the picture has arrived
    assert picture.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [320, 32]
    page.get_by_text("This 4's style, written as every digit").wait_for(timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "style")


def test_the_diffusion_page_shows_four_routes_and_the_paths(app_url, page):
    open_page(page, f"{app_url}/diffusion")
    page.locator('[data-testid="stPlotlyChart"]').nth(4).wait_for(timeout=120_000)
    wait_idle(page)
    expect(page.locator('[data-testid="stMetricLabel"]:has-text("Fréchet")')).to_have_count(4, timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "diffusion")
