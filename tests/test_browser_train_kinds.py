"""The Train page in Chromium with the kinds that are not plain autoencoders: a conditional VAE, the digit
classifier and a diffusion prior each train to the end with the live view of their role, and are saved."""

import re

import pytest
from playwright.sync_api import expect

from browser import open_page, screenshot, wait_idle
from test_browser_train import PROGRESS, choose
from test_browser_train_jobs import set_slider

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MID_RUN = re.compile(r"Epoch ([3-9]|\d\d) of")


# (model label, dataset or None for the default MNIST, epochs, batch slider presses from 32, headings of its view)
KINDS = {
    "cvae": ("cVAE", "digits, 1,797 (8×8, quick)", 30, 0, ("Reconstructions", "Latent space")),
    "classifier": ("Classifier", "digits, 1,797 (8×8, quick)", 20, 0, ("Test accuracy", "What it reads")),
    # On MNIST, the base the page offers first is the shipped ae_32.
    "latent_diffusion": ("Diffusion prior", None, 12, 1, ("Loss (noise-prediction error)",
                                                          "Samples, drawn by ae_32's decoder")),
}


@pytest.fixture
def saved_in_copy(checkpoint_copy):
    """Names saved into the checkpoint copy the server serves, removed after the test: later browser tests
    (and their default models) see the shipped checkpoints only."""
    import shutil

    names = []
    yield names
    for name in names:
        shutil.rmtree(checkpoint_copy / name, ignore_errors=True)


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_trains_live_to_the_end_and_is_saved(app_url, page, kind, saved_in_copy):
    label, dataset, epochs, batch_presses, headings = KINDS[kind]
    # Tall from the start: a screenshot that grew the window mid-run would catch the charts re-laying out.
    page.set_viewport_size({"width": 1400, "height": 3000})
    open_page(page, f"{app_url}/train")
    if dataset:
        choose(page, "Dataset", dataset)
    choose(page, "Model", label)
    set_slider(page, "Epochs", "train_epochs", epochs - 1)
    set_slider(page, "Batch size", "train_batch", batch_presses)
    page.get_by_role("button", name="Start training").click()
    page.locator(PROGRESS).filter(has_text=re.compile("Epoch|measuring|Waiting|Done")).wait_for(timeout=60_000)

    during = None
    for _ in range(1200):
        text = page.locator(PROGRESS).first.inner_text()
        if during is None and MID_RUN.search(text):
            wait_idle(page)  # the refresh that moved the bar has drawn the rest of the view too
            during = screenshot(page, f"train_{kind}_during")  # the live view, mid-run
        if "Done" in text:
            break
        page.wait_for_timeout(250)
    page.get_by_text("How good is it?").wait_for(timeout=60_000)
    wait_idle(page)
    expect(page.locator(PROGRESS).first).to_have_text(re.compile(f"^Done: {epochs} epochs"),
                                                      use_inner_text=True, timeout=30_000)
    for heading in headings:
        expect(page.get_by_role("heading", name=heading), heading).to_have_count(1, timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, f"train_{kind}_done")

    name = f"browser_{kind}"
    saved_in_copy.append(name)
    page.get_by_label("Save as", exact=True).fill(name)
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text(f"Saved as {name}").wait_for(timeout=30_000)
    open_page(page, f"{app_url}/models")
    page.get_by_text(name, exact=True).first.wait_for(state="attached", timeout=30_000)  # the Models page lists it from its saved config
