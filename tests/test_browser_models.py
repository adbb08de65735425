"""The Models page in Chromium: download a checkpoint, upload that file again, and get the same model."""

import shutil

import pytest
import torch
from playwright.sync_api import expect

from browser import open_page, screenshot, wait_idle
from explorer import archive, checkpoints

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_download_then_upload_gives_the_same_model(app_url, page, checkpoint_copy, tmp_path):
    open_page(page, f"{app_url}/models")
    expect(page.locator("h1", has_text="Models")).to_have_count(1, timeout=30_000)
    readable = [item.name for item in checkpoints.list_checkpoints(checkpoint_copy) if item.info]
    expect(page.locator('[data-testid="stDownloadButton"]')).to_have_count(len(readable), timeout=30_000)
    screenshot(page, "models_page")

    with page.expect_download() as download:
        page.locator(".st-key-models_download_vae_2 button").first.click()
    file = tmp_path / download.value.suggested_filename
    download.value.save_as(file)
    assert file.name == "vae_2.zip"
    assert file.read_bytes() == archive.export_archive(checkpoint_copy / "vae_2")

    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(file))
    page.get_by_text("passed every check").wait_for(timeout=60_000)
    wait_idle(page)
    expect(page.get_by_label("Add as", exact=True)).to_have_value("vae_2_2", timeout=30_000)
    screenshot(page, "models_page_upload")
    try:
        page.get_by_role("button", name="Add", exact=True).click()
        page.get_by_text("Added as").wait_for(timeout=60_000)
        original, added = (checkpoints.load(checkpoint_copy / name).model for name in ("vae_2", "vae_2_2"))
        z = torch.randn(6, 2, generator=torch.Generator().manual_seed(0))
        assert torch.equal(original.decode(z), added.decode(z))
        open_page(page, f"{app_url}/?model=vae_2_2")  # and it is a model on every page
        assert "model=vae_2_2" in page.url and not page.locator('[data-testid="stAlertContentWarning"]').count()
    finally:
        shutil.rmtree(checkpoint_copy / "vae_2_2", ignore_errors=True)
