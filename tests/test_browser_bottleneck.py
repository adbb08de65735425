"""The inside-the-model pages in a real browser: a point clicked on the rate–distortion chart shows its
digits; the Network and Reparameterization pages render (screenshots in tests/screenshots/)."""

import re

import pytest
from playwright.sync_api import expect

from browser import open_page, screenshot, wait_idle

DIGITS = ".st-key-lab_digits [data-testid='stImage'] img"
EXCEPTION = '[data-testid="stException"]'


def point_on_screen(page, trace_name: str, index: int) -> tuple[float, float]:
    """Page pixel position of one point of the named trace of the first Plotly chart (log x axis)."""
    return tuple(page.evaluate("""([name, i]) => {
        const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
        const area = gd.querySelector('.nsewdrag').getBoundingClientRect();
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        const t = gd._fullData.find(d => d.name === name);
        return [area.left + xa.l2p(xa.d2l(t.x[i])), area.top + ya.l2p(ya.d2l(t.y[i]))];
    }""", [trace_name, index]))


@pytest.mark.browser
def test_clicking_a_point_on_the_rate_distortion_chart_shows_its_digits(app_url, page):
    page.set_default_timeout(240_000)  # the first visit compresses 500 digits every way (cached after)
    open_page(page, f"{app_url}/compression")
    page.wait_for_selector('[data-testid="stPlotlyChart"] .nsewdrag', timeout=240_000)
    wait_idle(page, timeout=240_000)
    expect(page.locator("h1", has_text="Compression lab")).to_have_count(1, timeout=30_000)
    assert page.locator(EXCEPTION).count() == 0
    assert page.locator(DIGITS).count() == 0
    page.locator('[data-testid="stPlotlyChart"]').first.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.mouse.click(*point_on_screen(page, "conv_ae_32", 3))
    page.wait_for_selector(DIGITS, timeout=60_000)
    wait_idle(page)
    expect(page.locator("h3", has_text="bytes per digit").first).to_have_text(
        re.compile("^conv_ae_32, 4 bits"), use_inner_text=True, timeout=30_000)
    page.locator(DIGITS).nth(2 * 8 - 1).wait_for(state="attached", timeout=60_000)  # the originals and the chosen setting, at least
    page.wait_for_url(lambda url: "point=conv_ae_32" in url, timeout=30_000)
    assert page.locator(EXCEPTION).count() == 0
    screenshot(page, "compression")


@pytest.mark.browser
def test_network_page_renders_the_layers(app_url, page):
    open_page(page, f"{app_url}/network?model=conv_vae_32&digit=3")
    expect(page.locator("h1", has_text="Network")).to_have_count(1, timeout=30_000)
    assert page.locator(EXCEPTION).count() == 0
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg')
    expect(page.locator('[data-testid="stPlotlyChart"]')).to_have_count(3, timeout=60_000)
    screenshot(page, "network")


@pytest.mark.browser
def test_reparam_page_draws_the_graphs_and_draws_again(app_url, page):
    open_page(page, f"{app_url}/reparam?digit=3")
    assert page.locator(EXCEPTION).count() == 0
    # Graphviz draws each chart in the browser on its own: wait for both, not just the first.
    page.wait_for_function("""() => document.querySelectorAll('[data-testid="stGraphVizChart"] svg').length === 2""",
                           timeout=60_000)
    page.get_by_role("button", name="Draw again").click()
    wait_idle(page)
    page.wait_for_url(lambda url: "seed=1" in url, timeout=30_000)
    wait_idle(page)  # the rerun of the click has finished: nothing more is coming
    assert page.locator(EXCEPTION).count() == 0
    screenshot(page, "reparam")
