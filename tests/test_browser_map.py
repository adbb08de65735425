"""The real app in Chromium: box-select digits on the map with the mouse, see the interpolation."""

import pytest

from browser import box_select, box_select_points, isolated_pair, open_page, points_on_screen, screenshot, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_box_selecting_two_digits_shows_their_interpolation_and_path(app_url, page):
    open_page(page, app_url)
    assert page.get_by_role("heading", name="Latent map").is_visible()
    page.locator('[data-testid="stPlotlyChart"] .nsewdrag').first.scroll_into_view_if_needed()
    first, second = isolated_pair(points_on_screen(page, 0))
    box_select_points(page, 0, (first, second))
    wait_idle(page)
    page.get_by_role("heading", name="2 selected").wait_for(timeout=30_000)
    heading = page.get_by_role("heading", name="Interpolation #")
    heading.wait_for(timeout=30_000)
    assert sorted(int(part) for part in heading.inner_text().split("(")[0].replace("Interpolation", "")
                  .replace("#", "").split("→")) == sorted((first, second))
    strip = page.locator('[data-testid="stImage"]', has_text="Decoded codes along the path").locator("img")
    strip.wait_for(timeout=30_000)
    assert strip.evaluate("img => img.complete && img.naturalWidth > 0")  # the strip's pixels arrived
    page.wait_for_function("""() => {  // the path is drawn on the map: 10 steps by default
        const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
        return gd._fullData.some(t => t.name === "path" && t._length === 10);
    }""", timeout=30_000)
    assert f"ids={first}%2C{second}" in page.url or f"ids={second}%2C{first}" in page.url  # shareable
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "map")


def test_box_selecting_many_digits_shows_the_panel(app_url, page):
    open_page(page, app_url)
    box_select(page, 0, (0.02, 0.02), (0.98, 0.98))  # most of the map: many digits
    wait_idle(page)
    page.get_by_text("Interpolation #").wait_for(timeout=30_000)
    assert page.get_by_text("selected").first.is_visible()
    assert page.get_by_text("more selected (the panel shows the first 4)").is_visible()


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


def test_a_model_without_a_stored_umap_shows_pca_then_its_umap_without_a_click(tmp_path, page):
    """The map is computed in a background process while the page shows PCA and says so; once it is
    ready a 1 s fragment timer reruns the page, so UMAP replaces PCA with no user action."""
    import shutil

    from browser import ROOT, streamlit_server

    shutil.copytree(ROOT / "checkpoints" / "vae_2", tmp_path / "vae_2_fresh")
    (tmp_path / "vae_2_fresh" / "umap_mnist5k.npz").unlink()
    with streamlit_server(tmp_path) as server:
        open_page(page, f"{server.url}/?model=vae_2_fresh&proj=umap")
        x_title = page.locator('[data-testid="stPlotlyChart"] .g-xtitle').first
        assert x_title.text_content().startswith("PC1")
        assert page.get_by_text("UMAP for this model is being computed").is_visible()
        # numba compiles UMAP once per machine (its cache may be cold here): allow for it
        page.wait_for_function("""() => {
            const t = document.querySelector('[data-testid="stPlotlyChart"] .g-xtitle');
            return t && t.textContent === "UMAP-1";
        }""", timeout=170_000)
        wait_idle(page)
        assert page.get_by_text("UMAP for this model is being computed").count() == 0
        assert (tmp_path / "vae_2_fresh" / "umap_mnist5k.npz").is_file()  # stored for next time
        assert page.locator('[data-testid="stException"]').count() == 0
