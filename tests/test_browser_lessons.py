"""The real app in Chromium: from the start page into the lessons, three lessons completed by clicking
(one prediction is a click on the map), and every lesson screenshotted in presentation mode."""

import re

import numpy as np
import pytest
from playwright.sync_api import expect

from browser import PLOTLY_CHART, open_page, points_on_screen, screenshot, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def revealed_text(page, says: str | None = None) -> str:
    """The verdict's text. With `says`: once the verdict says it, and fails if it never does (a verdict of the
    lesson shown before may still be on the page while this one's rerun draws)."""
    alert = page.locator('[data-testid="stAlertContentSuccess"], [data-testid="stAlertContentWarning"]').first
    if says is not None:
        expect(alert).to_contain_text(says, timeout=60_000)
    alert.wait_for(timeout=60_000)
    return alert.inner_text()


def reveal(page, says: str | None = None) -> str:
    page.get_by_role("button", name="Reveal").click()
    wait_idle(page)
    return revealed_text(page, says)


def open_lesson_from_the_menu(page, title: str) -> None:
    page.locator('[data-testid="stRadio"]').first.get_by_text(title).click()
    wait_idle(page)
    page.get_by_role("heading", name=title).wait_for(timeout=30_000)


def test_three_lessons_completed_by_clicking_from_the_start_page(app_url, page):
    open_page(page, app_url)
    page.get_by_role("heading", name="Latent map").wait_for()
    page.get_by_role("link", name="Lessons").click()  # click 1: the navigation's first entry
    wait_idle(page)
    page.get_by_role("heading", name="1. Compression through a bottleneck").wait_for(timeout=60_000)

    page.get_by_text("Clearly worse (blurrier, details lost)").click()
    wait_idle(page)
    reveal(page, says="Reconstruction error per pixel")
    # the page writes its link at the end of its rerun, after the verdict
    page.wait_for_url(lambda url: "lesson=1" in url and "answer=worse" in url and "reveal=1" in url, timeout=30_000)

    open_lesson_from_the_menu(page, "2. What the latent map shows")  # click 2: any lesson from the menu
    page.locator('[data-testid="stPlotlyChart"] .nsewdrag').first.scroll_into_view_if_needed()
    xy = points_on_screen(page, 0, PLOTLY_CHART)
    target = int(np.argmin(np.hypot(*(xy - np.median(xy, axis=0)).T)))  # a dot near the middle of the map
    page.mouse.click(*xy[target])
    wait_idle(page)
    page.get_by_text("Your guess: the dot at #").wait_for(timeout=30_000)
    reveal(page, says="of the 50 digits nearest to your dot are 7s")
    page.wait_for_url(lambda url: "answer=7%40" in url or "answer=7@" in url, timeout=30_000)
    page.wait_for_function("""() => document.querySelectorAll('[data-testid="stPlotlyChart"]').length >= 2""")

    open_lesson_from_the_menu(page, "7. Denoising")
    page.get_by_text("B", exact=True).click()
    wait_idle(page)
    reveal(page, says="came from the denoising AE")
    wait_idle(page)  # the reveal's rerun has finished: the last lesson's elements are gone
    assert page.locator('[data-testid="stException"]').count() == 0
    explore = page.get_by_role("link", name="Explore this yourself")
    expect(explore).to_have_attribute("href", re.compile(r"denoise\?"), timeout=30_000)
    with page.context.expect_page() as opened:  # a new tab: the lesson stays open behind it
        explore.click()
    full = opened.value
    full.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=120_000)
    full.get_by_role("heading", name="Denoise").first.wait_for(timeout=60_000)
    full.wait_for_url(lambda url: "models=dae_32%2Cae_32" in url and "level=0.4" in url, timeout=30_000)
    assert full.locator('[data-testid="stException"]').count() == 0


LINKS = {1: "answer=worse", 2: "answer=7@2500", 3: "answer=vae", 4: "answer=vae", 5: "answer=near_mu",
         6: "answer=5", 7: "answer=A", 8: "answer=0.05", 9: "answer=0.5", 10: "answer=prior"}


@pytest.mark.parametrize("number", list(LINKS))
def test_each_lesson_revealed_in_presentation_mode(app_url, page, number):
    open_page(page, f"{app_url}/lessons?lesson={number}&{LINKS[number]}&reveal=1&present=1")
    assert page.locator('[data-testid="stException"]').count() == 0
    if LINKS[number]:
        revealed_text(page)
        page.wait_for_timeout(1500)  # charts and pictures finish drawing
    font_size = """() => {
        const p = document.querySelector('[data-testid="stMain"] [data-testid="stMarkdownContainer"] p');
        return p ? parseFloat(getComputedStyle(p).fontSize) : 0;
    }"""
    page.wait_for_function(f"() => ({font_size})() >= 22", timeout=30_000)  # presentation mode: ~1.45rem
    size = page.evaluate(font_size)
    assert size >= 22  # presentation mode: ~1.45rem
    screenshot(page, f"lesson_{number}_presentation")


def test_lesson_3_reveals_both_planes_as_heat_maps_after_a_click(app_url, page):
    open_page(page, f"{app_url}/lessons?lesson=3")
    page.get_by_text("About the same").click()
    wait_idle(page)
    assert "of the AE's plane" in reveal(page)
    heat_maps = page.locator(f"{PLOTLY_CHART} .heatmaplayer image")
    heat_maps.nth(1).wait_for(timeout=60_000)
    page.get_by_text("lands more than a grid step from where it was drawn").wait_for(timeout=30_000)
    page.wait_for_url(lambda url: "answer=same" in url and "reveal=1" in url, timeout=30_000)
    screenshot(page, "lesson_3_planes")
