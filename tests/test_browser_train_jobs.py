"""The Train page's class features in Chromium: a shared run, one run per student, the queue, and a
training process that dies. Each student is a browser context of its own (its own cookie)."""

import re
import shutil

import pytest
from playwright.sync_api import expect

from browser import open_page, screenshot, start_server, wait_healthy, wait_idle
from test_browser_train import PROGRESS, choose

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def set_slider(page, label: str, key: str, presses: int) -> None:
    slider = page.locator('[data-testid="stSlider"]', has_text=label).get_by_role("slider")
    slider.focus()
    page.keyboard.press("Home")
    for _ in range(presses):
        page.keyboard.press("ArrowRight")
    wait_idle(page)


def open_train(chromium, url: str, epochs: int, context=None):
    """A page on the Train tab with the 8×8 digits, batch 32 and `epochs` epochs chosen."""
    context = context or chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    open_page(page, f"{url}/train")
    choose(page, "Dataset", "digits, 1,797 (8×8, quick)")
    set_slider(page, "Epochs", "train_epochs", epochs - 1)
    set_slider(page, "Batch size", "train_batch", 0)
    return context, page


def press_start(page) -> None:
    page.get_by_role("button", name="Start training").click()
    wait_idle(page)


@pytest.fixture
def server(checkpoint_copy, tmp_path, request):
    root = tmp_path / "checkpoints"
    shutil.copytree(checkpoint_copy, root)
    running = start_server(checkpoints_dir=root, env={"LATENT_LAB_MAX_JOBS": "1", **getattr(request, "param", {})})
    try:
        wait_healthy(running, 180)
        yield running
    finally:
        running.stop()


# "slow": every epoch waits 2 s, so a run lasts until the test has seen what it needs (a quick run on the 8×8
# digits could end before the next student presses Start) and ends at once when it is stopped.
SLOW_JOBS = {"LATENT_LAB_TEST_JOB_HOOK": "slow"}


@pytest.mark.parametrize("server", [SLOW_JOBS], indirect=True)
def test_shared_run_one_run_per_student_and_the_queue(server, chromium):
    alice, alice_page = open_train(chromium, server.url, 50)
    press_start(alice_page)
    bob, bob_page = open_train(chromium, server.url, 50)  # the same settings
    press_start(bob_page)
    bob_page.get_by_text("2 students started exactly these settings").wait_for(timeout=30_000)
    for page in (alice_page, bob_page):
        page.wait_for_url(lambda url: "job=" in url, timeout=30_000)
    assert bob_page.url.split("job=")[1] == alice_page.url.split("job=")[1]
    screenshot(bob_page, "train_shared_run")

    carol, carol_page = open_train(chromium, server.url, 40)
    press_start(carol_page)
    carol_page.locator(PROGRESS).filter(has_text=re.compile("Waiting in line: 1 job to go")).wait_for(timeout=30_000)
    screenshot(carol_page, "train_queue")
    for page in (carol_page, bob_page, alice_page):
        page.get_by_role("button", name="Stop", exact=True).click()
        wait_idle(page)
    for context in (alice, bob, carol):
        context.close()


@pytest.mark.parametrize("server", [{"LATENT_LAB_TEST_JOB_HOOK": "kill"}], indirect=True)
def test_a_training_process_that_dies_says_so_and_the_page_goes_on(server, chromium):
    context, page = open_train(chromium, server.url, 5)
    press_start(page)
    page.get_by_text("The training process stopped unexpectedly").wait_for(timeout=90_000)
    expect(page.locator(PROGRESS).first).to_have_text(re.compile("^Failed"), use_inner_text=True, timeout=30_000)
    expect(page.get_by_role("button", name="Start training")).to_be_enabled(timeout=30_000)
    screenshot(page, "train_child_died")
    context.close()


@pytest.mark.parametrize("server", [SLOW_JOBS], indirect=True)
def test_a_second_tab_of_the_same_browser_is_offered_to_stop_the_first_run(server, chromium):
    alice, first_tab = open_train(chromium, server.url, 50)
    press_start(first_tab)
    _, second_tab = open_train(chromium, server.url, 40, context=alice)  # the same cookie
    press_start(second_tab)
    second_tab.get_by_text("You already have a training run going").wait_for(timeout=30_000)
    expect(second_tab.get_by_role("button", name="Stop my other run")).to_have_count(1, timeout=30_000)
    screenshot(second_tab, "train_one_run_per_student")
    second_tab.get_by_role("button", name="Stop my other run").click()
    wait_idle(second_tab)
    first_tab.locator(PROGRESS).filter(has_text=re.compile(r"Stopped after \d+ of 50 epochs")).wait_for(timeout=30_000)
    press_start(second_tab)  # the first run is stopped: this one starts
    second_tab.locator(PROGRESS).filter(has_text=re.compile(r"of 40")).wait_for(timeout=30_000)
    wait_idle(second_tab)  # the run that started it has finished: the refused Start's warning is cleared
    assert second_tab.get_by_text("You already have a training run going").count() == 0
    second_tab.get_by_role("button", name="Stop", exact=True).click()
    alice.close()
