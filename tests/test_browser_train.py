"""The Train page in Chromium: train a small model live, save it, find it on the Latent map page."""

import re

import pytest
from playwright.sync_api import expect

from browser import open_page, screenshot, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PROGRESS = '[data-testid="stProgress"]'
NAME = "browser_test_model"
EPOCHS = 30  # on the 8×8 digits with batch 32: ~7 s, so the page refreshes (every 1 s) several times mid-run
MID_RUN = re.compile(rf"Epoch (\d+) of {EPOCHS} · (about \d+ s|estimating time) left")


def choose(page, label: str, option: str) -> None:
    page.locator('[data-testid="stSelectbox"]', has_text=label).click()
    page.get_by_role("option", name=option).click()
    wait_idle(page)


def options_of(page, label: str) -> list[str]:
    page.locator('[data-testid="stSelectbox"]', has_text=label).click()
    page.get_by_role("option").first.wait_for()
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return options


LOSS_POINTS = '.st-key-train_loss .scatterlayer .point'


def loss_points(page) -> int:
    return page.locator(LOSS_POINTS).count()


def test_train_live_save_and_open_on_the_map(app_url, page):
    open_page(page, f"{app_url}/train")
    expect(page.locator("h1", has_text="Train")).to_have_count(1, timeout=30_000)
    choose(page, "Dataset", "digits, 1,797 (8×8, quick)")
    epochs = page.locator('[data-testid="stSlider"]', has_text="Epochs").get_by_role("slider")
    epochs.focus()
    page.keyboard.press("Home")
    for _ in range(EPOCHS - 1):  # from 1; enough epochs that the page shows the run before it ends
        page.keyboard.press("ArrowRight")
    wait_idle(page)
    expect(epochs).to_have_value(str(EPOCHS), timeout=30_000)
    batch = page.locator('[data-testid="stSlider"]', has_text="Batch size").get_by_role("slider")
    batch.focus()
    page.keyboard.press("Home")  # 32
    wait_idle(page)
    assert page.locator(PROGRESS).count() == 0

    page.get_by_role("button", name="Start training").click()
    # The job is on the page at once (waiting, running or measuring), then refreshes itself until done.
    page.locator(PROGRESS).filter(has_text=re.compile("Epoch|measuring|Waiting|Done")).wait_for(timeout=60_000)
    page.wait_for_url(lambda url: "job=" in url, timeout=30_000)
    seen_points, seen_texts = set(), set()
    for _ in range(480):
        seen_points.add(loss_points(page))
        text = page.locator(PROGRESS).first.inner_text()
        seen_texts.add(text)
        if "Done" in text:
            break
        page.wait_for_timeout(125)
    page.get_by_text("How good is it?").wait_for(timeout=30_000)
    wait_idle(page)
    expect(page.locator(PROGRESS).first).to_have_text(re.compile(f"^Done: {EPOCHS} epochs"),
                                                      use_inner_text=True, timeout=30_000)
    # train and test × total, recon, KL, per epoch (Plotly redraws the curve after the rerun)
    expect(page.locator(LOSS_POINTS)).to_have_count(6 * EPOCHS, timeout=30_000)
    # Mid-run the bar said which epoch and how long is left, and the curve grew: it was on the page
    # with some epochs but not all of them.
    mid_run = [int(m.group(1)) for m in map(MID_RUN.search, seen_texts) if m]
    assert mid_run and min(mid_run) < EPOCHS, seen_texts
    assert [p for p in seen_points if 0 < p < 6 * EPOCHS], seen_points
    assert page.locator('[data-testid="stException"]').count() == 0

    page.get_by_label("Save as", exact=True).fill(NAME)
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text(f"Saved as {NAME}").wait_for(timeout=30_000)
    page.get_by_role("heading", name="Latent space").scroll_into_view_if_needed()
    page.set_viewport_size({"width": 1400, "height": 1600})
    page.locator("h1", has_text="Train").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    screenshot(page, "train")

    open_page(page, app_url)  # the Latent map, the default page
    assert NAME in options_of(page, "Model")
