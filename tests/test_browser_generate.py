"""The Generate page in a real browser: a traversal slider moved with the keyboard redraws the edited digit."""

import pytest
from playwright.sync_api import expect

from browser import open_page, screenshot, wait_idle

EDITED_IMAGE = '.st-key-gen_edited [data-testid="stImage"] img'


@pytest.mark.browser
def test_moving_a_traversal_slider_changes_the_decoded_image(app_url, page):
    open_page(page, f"{app_url}/generate")
    expect(page.locator("h1", has_text="Generate")).to_have_count(1, timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    before = page.locator(EDITED_IMAGE).get_attribute("src")

    # The first traversal slider is the most informative dimension; 15 steps right is a clear change.
    thumb = page.locator('[data-testid="stSlider"]', has_text="KL").first.locator('input[type="range"]')
    thumb.scroll_into_view_if_needed()
    start = float(thumb.input_value())
    thumb.focus()
    for _ in range(15):
        page.keyboard.press("ArrowRight")
    wait_idle(page)
    page.wait_for_function(
        "([selector, old]) => document.querySelector(selector)?.getAttribute('src') !== old",
        arg=[EDITED_IMAGE, before], timeout=30_000,
    )
    wait_idle(page)  # the rerun that drew the new picture has finished: its captions are final
    assert float(thumb.input_value()) > start
    assert page.locator(EDITED_IMAGE).get_attribute("src") != before
    assert "no number changed" not in page.locator(".st-key-gen_edited").inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0

    # Frame the traversal section (its heading at the top) for the screenshot.
    page.locator("h3", has_text="Latent traversal").evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    screenshot(page, "generate")
