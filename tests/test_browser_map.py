"""The real app in Chromium: box-select digits on the map with the mouse, see the interpolation."""

import re

import numpy as np
import pytest
from browser import (MAP, PLOTLY_CHART, box_select, box_select_points, isolated_pair, open_page, points_on_screen, screenshot,
                     wait_idle, wait_loaded)
from playwright.sync_api import expect

from ui import pages

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_box_selecting_two_digits_shows_their_interpolation_and_path(app_url, page):
    open_page(page, app_url)
    page.get_by_role("heading", name="Latent map").wait_for(timeout=30_000)
    wait_drawn(page)  # the map's digits are drawn and it listens to the mouse
    page.locator(f"{MAP} .nsewdrag").first.scroll_into_view_if_needed()
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
    wait_loaded(strip)  # the strip's pixels arrived
    page.wait_for_function(f"""() => {{  // the path is drawn on the map: 10 steps by default, its ends labelled
        const gd = document.querySelector('.latent-map');
        const drawn = ({OVERLAYS_JS})(gd);
        return gd.dataset.drawn === gd.dataset.wanted && drawn.lines === 1 && drawn.dots.length === 8
               && drawn.labels === "start,end";
    }}""", timeout=30_000)
    page.wait_for_url(lambda url: f"ids={first}%2C{second}" in url or f"ids={second}%2C{first}" in url,
                      timeout=30_000)  # shareable
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "map")


def test_box_selecting_many_digits_shows_the_panel(app_url, page):
    open_page(page, app_url)
    wait_drawn(page)  # the map's digits are drawn and it listens to the mouse
    box_select(page, 0, (0.02, 0.02), (0.98, 0.98))  # most of the map: many digits
    wait_idle(page)
    page.get_by_text("Interpolation #").wait_for(timeout=30_000)
    page.get_by_text("selected").first.wait_for(timeout=30_000)
    # drawn about a second after the interpolation's heading: wait for it, never look once
    page.get_by_text("more selected (the panel shows the first 4)").wait_for(timeout=30_000)


def test_a_shared_link_reproduces_the_view(app_url, page):
    open_page(page, f"{app_url}/?model=ae_32&proj=pca&ids=3,400&steps=12&interp=spherical")
    page.get_by_text("Interpolation #3 → #400 (spherical)").wait_for(timeout=30_000)
    screenshot(page, "map_shared_link")


PAGES = [info.url_path for info in pages.PAGES]  # every registered page


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_without_an_exception(app_url, page, path):
    open_page(page, f"{app_url}/{path}")
    assert page.locator('[data-testid="stException"]').count() == 0
    page.locator("h1").first.wait_for(state="attached", timeout=30_000)
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
        x_title = page.locator(f"{MAP} .g-xtitle").first
        expect(x_title).to_have_text(re.compile("^PC1"), timeout=60_000)
        page.get_by_text("UMAP for this model is being computed").wait_for(timeout=30_000)
        # numba compiles UMAP once per machine (its cache may be cold here): allow for it
        page.wait_for_function("""() => {
            const t = document.querySelector('.latent-map .g-xtitle');
            return t && t.textContent === "UMAP-1";
        }""", timeout=170_000)
        wait_idle(page)
        assert page.get_by_text("UMAP for this model is being computed").count() == 0
        assert (tmp_path / "vae_2_fresh" / "umap_mnist5k.npz").is_file()  # stored for next time
        assert page.locator('[data-testid="stException"]').count() == 0


# --- the map component (ui/latent_map.js) --------------------------------------------------

# What a map's overlay layer (ui/latent_map.js: an SVG of its own over Plotly's plot) shows, in page pixels:
# the rings (circles with a 2.5-px outline), the path's dots (white circles), its lines and its text labels.
OVERLAYS_JS = """(gd) => {
    const layer = gd.querySelector('svg.latent-overlays');
    if (!layer) return {rings: [], dots: [], lines: 0, labels: ""};
    const box = layer.getBoundingClientRect();
    const at = (c) => [box.left + Number(c.getAttribute('cx')), box.top + Number(c.getAttribute('cy'))];
    const circles = [...layer.querySelectorAll('circle')];
    return {rings: circles.filter(c => c.getAttribute('stroke-width') === '2.5').map(at),
            dots: circles.filter(c => c.getAttribute('fill') === '#ffffff').map(at),
            lines: layer.querySelectorAll('path[fill="none"]').length,
            labels: [...layer.querySelectorAll('text')].map(t => t.textContent).join(),
            mouse: getComputedStyle(layer).pointerEvents};
}"""


def overlays_on_screen(page, chart_index: int) -> dict:
    """The overlays the chart_index-th map shows (OVERLAYS_JS), ring and dot positions as (K, 2) arrays."""
    drawn = page.evaluate(f"(i) => ({OVERLAYS_JS})(document.querySelectorAll('.latent-map')[i])", chart_index)
    return {**drawn, "rings": np.asarray(drawn["rings"], dtype=float).reshape(-1, 2),
            "dots": np.asarray(drawn["dots"], dtype=float).reshape(-1, 2)}


def assert_rings_on(page, chart_index: int, rows) -> None:
    """The chart's rings sit on the digits `rows`, to the pixel, one ring each, wherever the axes are now."""
    rings = overlays_on_screen(page, chart_index)["rings"]
    expected = points_on_screen(page, chart_index)[list(rows)]
    assert len(rings) == len(expected)
    assert np.abs(np.sort(rings, axis=0) - np.sort(expected, axis=0)).max() < 1.0

# At least one map (before the map component has mounted there is none, and `every` of nothing is true).
DRAWN = """() => {
    const maps = [...document.querySelectorAll('.latent-map')];
    return maps.length > 0 && maps.every(m => m.dataset.drawn && m.dataset.drawn === m.dataset.wanted);
}"""


def wait_drawn(page) -> None:
    """Until the page has its maps and every one shows what the last rerun sent it."""
    wait_idle(page)
    page.wait_for_function(DRAWN, timeout=60_000)


def test_a_selection_redraws_the_overlays_and_leaves_the_digits_in_place(app_url, page):
    open_page(page, app_url)
    wait_drawn(page)
    page.evaluate("() => { window.__canvas = document.querySelector('.latent-map canvas'); }")
    first, second = isolated_pair(points_on_screen(page, 0))
    box_select_points(page, 0, (first, second))
    page.get_by_role("heading", name="2 selected").wait_for(timeout=30_000)
    wait_drawn(page)
    state = page.evaluate("""() => {
        const gd = document.querySelector('.latent-map');
        return {traces: gd._fullData.length, points: gd._fullData[0]._length,
                shapes: (gd.layout.shapes || []).length, sameCanvas: gd.querySelector('canvas') === window.__canvas,
                bases: performance.getEntriesByType('resource').filter(e => e.name.endsWith('.json')).length};
    }""")
    # One WebGL trace, the same canvas, nothing added to Plotly's figure: the rings and the path are in the
    # map's own SVG layer over it, which lets the mouse through; the base was fetched once.
    assert state == {"traces": 1, "points": 5000, "shapes": 0, "sameCanvas": True, "bases": 1}
    assert overlays_on_screen(page, 0)["mouse"] == "none"
    assert_rings_on(page, 0, (first, second))


def test_the_rings_follow_their_digits_when_the_map_is_zoomed(app_url, page):
    open_page(page, f"{app_url}/?ids=3,400")
    wait_drawn(page)
    assert_rings_on(page, 0, (3, 400))
    before = points_on_screen(page, 0)[[3, 400]]
    centre = before.mean(axis=0)
    page.evaluate("""(c) => {  // zoom in on the two digits, as the zoom buttons or a drag-zoom would
        const gd = document.querySelector('.latent-map');
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        const area = gd.querySelector('.nsewdrag').getBoundingClientRect();
        const x = xa.p2l(c[0] - area.left), y = ya.p2l(c[1] - area.top);
        const dx = (xa.range[1] - xa.range[0]) / 4, dy = (ya.range[1] - ya.range[0]) / 4;
        return Plotly.relayout(gd, {'xaxis.range': [x - dx, x + dx], 'yaxis.range': [y - dy, y + dy]});
    }""", centre.tolist())
    page.wait_for_timeout(500)
    after = points_on_screen(page, 0)[[3, 400]]
    assert np.linalg.norm(after[0] - after[1]) > 1.5 * np.linalg.norm(before[0] - before[1])  # zoomed in
    assert_rings_on(page, 0, (3, 400))
    screenshot(page, "map_zoomed")


def test_three_selections_in_a_row_each_select_their_own_digits(app_url, page):
    """Plotly keeps a finished box as an editable selection: a drag that started inside an old box
    would move it instead of selecting. The map now draws its own box (ui/latent_map.js): each box must
    still select exactly the digits inside it, and replace the last one."""
    open_page(page, app_url)
    wait_drawn(page)
    xy = points_on_screen(page, 0)
    half = 14.0  # px: a 28-px box around each centre
    for centre_row in np.argsort(xy[:, 0])[[len(xy) // 4, len(xy) // 2, 3 * len(xy) // 4]]:
        xy = points_on_screen(page, 0)  # the plot area may have shifted (the colour bar's margin)
        centre = xy[centre_row]
        page.mouse.move(*(centre - half))
        page.mouse.down()
        page.mouse.move(*(centre + half), steps=10)
        page.mouse.up()
        page.wait_for_function("""(row) => {
            const shown = (new URLSearchParams(location.search).get("ids") || "").split(",").map(Number);
            return shown.includes(row);
        }""", arg=int(centre_row), timeout=30_000)
        wait_drawn(page)
        selected = {int(v) for v in page.url.split("ids=")[1].split("&")[0].split("%2C")}
        distance = np.abs(xy - centre).max(axis=1)  # a box's own distance
        surely_in = set(np.flatnonzero(distance <= half - 4).tolist())
        maybe_in = set(np.flatnonzero(distance <= half + 4).tolist())  # a marker touching the edge counts
        assert surely_in <= selected <= maybe_in
        expect(page.locator(".latent-map .selection-box")).to_have_count(1, timeout=30_000)  # this box, drawn; the last one gone


def test_clicking_a_digit_selects_it_and_hovering_names_it(app_url, page):
    open_page(page, app_url)
    wait_drawn(page)
    xy = points_on_screen(page, 0)
    row, _ = isolated_pair(xy, min_gap=12.0)
    page.mouse.move(*xy[row])
    hover = page.locator(".latent-map .hoverlayer .hovertext")
    hover.first.wait_for(timeout=10_000)
    expect(hover.first).to_contain_text(f"id {row}", timeout=10_000)
    expect(hover.first).to_contain_text("class", timeout=10_000)
    page.mouse.click(*xy[row])
    page.get_by_role("heading", name="1 selected").wait_for(timeout=30_000)
    wait_idle(page)
    page.wait_for_url(lambda url: url.endswith(f"ids={row}"), timeout=30_000)


def test_the_3d_map_draws_its_rings_and_path_in_the_scene(app_url, page):
    open_page(page, f"{app_url}/?proj=pca3&ids=3,400")
    wait_drawn(page)
    names = page.evaluate("() => document.querySelector('.latent-map')._fullData.map(t => t.type + ':' + t.name)")
    assert names == ["scatter3d:digits", "scatter3d:highlighted", "scatter3d:path"]
    screenshot(page, "map_3d")


def test_selecting_on_one_compare_map_rings_the_digits_on_both(app_url, page):
    open_page(page, f"{app_url}/compare")
    wait_drawn(page)
    first, second = isolated_pair(points_on_screen(page, 0))
    box_select_points(page, 0, (first, second))
    page.get_by_text("2 selected").wait_for(timeout=30_000)
    wait_drawn(page)
    for chart in range(2):
        assert overlays_on_screen(page, chart)["labels"] == "start,end"
        assert_rings_on(page, chart, (first, second))
    screenshot(page, "compare")
    page.get_by_role("button", name="Clear selection").click()
    page.get_by_text("2 selected").wait_for(state="detached", timeout=30_000)
    wait_drawn(page)
    left = page.evaluate("""() => [...document.querySelectorAll('.latent-map')].map(gd =>
        (gd.layout.selections || []).length + gd.querySelectorAll('svg.latent-overlays circle').length)""")
    assert left == [0, 0]  # no rings, and Plotly's box of the old selection gone too


def test_the_compare_page_decodes_both_2_d_planes_and_marks_where_digits_come_back_elsewhere(app_url, page):
    open_page(page, f"{app_url}/compare")
    page.get_by_role("heading", name="Every point of the plane, decoded").wait_for(timeout=60_000)
    heat_maps = page.locator(f"{PLOTLY_CHART} .heatmaplayer image")
    heat_maps.nth(1).wait_for(timeout=60_000)  # both planes drawn as heat maps
    assert heat_maps.count() == 2
    crosses = page.locator(f"{PLOTLY_CHART} .scatterlayer .point")
    crosses.first.wait_for(timeout=30_000)
    page.get_by_text("lands more than a grid step from where it was drawn").wait_for(timeout=30_000)
    screenshot(page, "compare_planes")


WEBGL_COUNTER = """() => {  // every canvas that gets a WebGL context, counted while it is on the page
  window.__webgl = new Set();
  const original = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
    const context = original.call(this, kind, ...rest);
    if (context && /webgl/.test(kind)) window.__webgl.add(this);
    return context;
  };
}"""


@pytest.mark.parametrize("path", ["?ids=3,400", "?proj=pca3&ids=3,400", "compare?ids=3,400&prior=1", "denoise",
                                  "anomaly"])
def test_no_page_holds_more_than_four_webgl_charts(app_url, page, path):
    page.add_init_script(f"({WEBGL_COUNTER})()")
    open_page(page, f"{app_url}/{path}")
    wait_drawn(page)
    page.wait_for_function("() => [...window.__webgl].some(c => c.isConnected)", timeout=60_000)
    page.wait_for_timeout(1000)
    # Counted per chart, as tests/test_app_webgl.py does: Plotly gives a 2-D WebGL chart two contexts.
    charts = page.evaluate("""() => new Set([...window.__webgl].filter(c => c.isConnected)
                                           .map(c => c.closest('.js-plotly-plot'))).size""")
    assert 1 <= charts <= 4
