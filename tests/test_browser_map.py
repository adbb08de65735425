"""The real app in Chromium: box-select digits on the map with the mouse, see the interpolation."""

import pytest

from browser import box_select, open_page, screenshot, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_box_select_on_the_map_shows_the_panel_and_interpolation(app_url, page):
    open_page(page, app_url)
    assert page.get_by_role("heading", name="Latent map").is_visible()
    box_select(page, 0, (0.02, 0.02), (0.98, 0.98))  # most of the map: many digits
    wait_idle(page)
    page.get_by_text("Interpolation #").wait_for(timeout=30_000)
    assert page.get_by_text("selected").first.is_visible()
    images = page.locator('[data-testid="stImage"] img')
    images.nth(1).wait_for(timeout=30_000)  # the panel's digits and the interpolation strip
    assert images.count() >= 2
    assert "ids=" in page.url  # the selection is in the shareable link
    screenshot(page, "map")


def test_a_shared_link_reproduces_the_view(app_url, page):
    open_page(page, f"{app_url}/?model=ae_32&proj=pca&ids=3,400&steps=12&interp=spherical")
    page.get_by_text("Interpolation #3 → #400 (spherical)").wait_for(timeout=30_000)
    screenshot(page, "map_shared_link")


PAGES = ["", "compare", "generate", "denoise", "anomaly", "draw", "train"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_without_an_exception(app_url, page, path):
    open_page(page, f"{app_url}/{path}")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator("h1").count() >= 1
    screenshot(page, f"page_{path or 'map'}")
