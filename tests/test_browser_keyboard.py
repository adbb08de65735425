"""The real app in Chromium with the keyboard only: Tab reaches every control of the "Select without a mouse"
panel under the map, each focused control shows a ring, and typing ids selects what a box around them would."""

import io

import numpy as np
import pytest
from browser import open_page, screenshot, wait_idle, wait_loaded
from playwright.sync_api import expect
from test_browser_map import OVERLAYS_JS, assert_rings_on, wait_drawn

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PANEL = '[data-testid="stExpander"]:has(summary:has-text("Select without a mouse"))'
# The control Tab stopped on and the box its ring goes around: a text, number or select field's ring is on the
# frame that carries its border (the <input> sits inside it), a button's or the panel's title's on the element.
FOCUSED_JS = """(stop) => {
    const e = document.activeElement;
    const frame = e.closest('[data-testid="stTextInputRootElement"], [data-testid="stNumberInputContainer"], '
                            + '[data-testid="stSelectbox"] [role="group"]') || e;
    frame.dataset.tabStop = stop;  // to find it again unfocused
    return {name: e.getAttribute('aria-label') || e.innerText.trim(),
            inPanel: !!e.closest('[data-testid="stExpander"]'), framed: e.tagName !== "INPUT" || frame !== e};
}"""
SETTLED_JS = """(stop) => document.querySelector(`[data-tab-stop="${stop}"]`).getAnimations({subtree: true})
    .every(a => a.playState !== "running")"""  # the border's and the ring's transitions have ended
BOX_JS = """(stop) => {
    const box = document.querySelector(`[data-tab-stop="${stop}"]`).getBoundingClientRect();
    return {x: box.x, y: box.y, width: box.width, height: box.height};
}"""
RING = 2  # px: the ring's width, drawn 2 px outside its control (ui.selection.FOCUS_RING)


def open_panel(page) -> None:
    """Focus the panel's title and press Enter: it opens, and has finished opening (about 0.5 s, while its
    controls still move)."""
    summary = page.locator(f"{PANEL} summary")
    summary.wait_for(timeout=60_000)
    focus(page, summary)
    page.keyboard.press("Enter")
    expect(page.locator(PANEL).get_by_label("Digit ids", exact=True)).to_be_visible(timeout=10_000)
    page.wait_for_function("(panel) => panel.getAnimations({subtree: true}).length === 0",
                           arg=page.locator(PANEL).element_handle(), timeout=10_000)


def focus(page, control) -> None:
    """Move the keyboard's focus to `control` (a locator) as Tab would, and wait out the scroll that brings it
    into view: its scroll event comes a frame later, and a field's list that opened before it closes on it."""
    control.focus()
    expect(control).to_be_focused()
    expect(control).to_be_in_viewport()
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def picture(page, box: dict, margin: float) -> np.ndarray:
    """The page's pixels (H, W, 3) in `box` grown by `margin` on every side."""
    from PIL import Image

    clip = {"x": box["x"] - margin, "y": box["y"] - margin, "width": box["width"] + 2 * margin,
            "height": box["height"] + 2 * margin}
    return np.asarray(Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB"), dtype=int)


def ring_pixels(focused: np.ndarray, unfocused: np.ndarray, margin: int) -> int:
    """Pixels that change with focus in the band just outside the control (margin px wide): a ring's, not the
    control's own border or caret."""
    changed = np.abs(focused - unfocused).sum(axis=2) > 60
    changed[margin:-margin, margin:-margin] = False
    return int(changed.sum())


def test_tab_reaches_every_control_of_the_panel_and_each_shows_a_ring(app_url, page):
    page.set_viewport_size({"width": 1400, "height": 1800})  # the open panel fits: no control scrolls the page
    open_page(page, app_url)
    wait_drawn(page)
    open_panel(page)
    margin = RING + 4
    stops, focused = [], []  # each control Tab stops on, and its pixels while focused
    while not stops or stops[-1]["name"] != "Clear" and len(stops) < 15:
        if stops:
            page.keyboard.press("Tab")
        stops.append(page.evaluate(FOCUSED_JS, len(stops)))
        page.wait_for_function(SETTLED_JS, arg=len(stops) - 1, timeout=10_000)
        stops[-1]["box"] = page.evaluate(BOX_JS, len(stops) - 1)
        focused.append(picture(page, stops[-1]["box"], margin))
    names = [stop["name"] for stop in stops]
    assert all(stop["inPanel"] for stop in stops), names  # from the panel's title to Clear, Tab stays in it
    assert all(stop["framed"] for stop in stops), names  # each field's ring is looked for around its frame
    for control in ["Digit ids", "Select these ids", "Class", "How many", "Skip the first", "Select from this class",
                    "Clear"]:
        assert control in names, names
    page.evaluate("() => document.activeElement.blur()")  # the same pixels with nothing focused
    for index, stop in enumerate(stops):
        page.wait_for_function(SETTLED_JS, arg=index, timeout=10_000)
        assert page.evaluate(BOX_JS, index) == stop["box"]  # in the same place
        assert ring_pixels(focused[index], picture(page, stop["box"], margin), margin) >= stop["box"]["width"], \
            f"no focus ring around {stop['name']!r}"


def test_typing_ids_and_enter_selects_them_as_a_box_would(app_url, page):
    open_page(page, app_url)
    wait_drawn(page)
    open_panel(page)
    field = page.locator(PANEL).get_by_label("Digit ids", exact=True)
    focus(page, field)
    page.keyboard.type("3, [x](https://example.org)")  # no id: refused, shown as typed, nothing selected
    page.keyboard.press("Enter")
    alert = page.locator(PANEL).locator('[data-testid="stAlertContentError"]')
    # As typed, cut at 20 characters; the word joiner (invisible) after "https:" keeps it from being a link.
    expect(alert.locator("p")).to_have_text("“[x](https:\u2060//example.…” is not a digit id: type whole numbers "
                                            "from 0 to 4999, separated by commas (a range such as 10-19 works "
                                            "too).", timeout=30_000)
    expect(alert.locator("a")).to_have_count(0)
    wait_idle(page)
    assert "ids=" not in page.url
    expect(page.get_by_text("Select digits on the map")).to_be_visible()
    screenshot(page, "map_keyboard_refused")

    focus(page, field)
    page.keyboard.press("Control+A")
    page.keyboard.type("3, 400")
    page.keyboard.press("Enter")
    # What a box around digits 3 and 400 gives (tests/test_browser_map.py): the panel, the path, rings, the link.
    page.get_by_role("heading", name="2 selected").wait_for(timeout=30_000)
    page.get_by_role("heading", name="Interpolation #3 → #400 (linear)").wait_for(timeout=30_000)
    wait_loaded(page.locator('[data-testid="stImage"]', has_text="Decoded codes along the path").locator("img"))
    page.wait_for_function(f"""() => {{
        const gd = document.querySelector('.latent-map');
        const drawn = ({OVERLAYS_JS})(gd);
        return gd.dataset.drawn === gd.dataset.wanted && drawn.rings.length === 2 && drawn.lines === 1
               && drawn.dots.length === 8 && drawn.labels === "start,end";
    }}""", timeout=30_000)
    page.wait_for_url(lambda url: "ids=3%2C400" in url, timeout=30_000)
    expect(alert).to_have_count(0, timeout=30_000)  # the old message went with the new selection
    wait_drawn(page)
    assert_rings_on(page, 0, (3, 400))
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "map_keyboard")

    focus(page, page.locator(PANEL).get_by_role("button", name="Clear", exact=True))
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="2 selected").wait_for(state="detached", timeout=30_000)
    page.wait_for_url(lambda url: "ids=" not in url, timeout=30_000)
    wait_drawn(page)
    page.wait_for_function(f"() => ({OVERLAYS_JS})(document.querySelector('.latent-map')).rings.length === 0",
                           timeout=30_000)


def test_on_the_compare_page_a_class_picked_with_the_keyboard_is_ringed_on_both_maps(app_url, page):
    from explorer import data

    labels = data.load_dataset("mnist5k").split("all")[1].numpy()
    sevens = np.flatnonzero(labels == 7)[:3].tolist()
    open_page(page, f"{app_url}/compare")
    wait_drawn(page)
    open_panel(page)
    focus(page, page.locator(PANEL).get_by_label("Class", exact=True))
    page.keyboard.type("7")
    expect(page.get_by_role("option")).to_have_text(["7"], timeout=10_000)  # the list, filtered to what was typed
    page.keyboard.press("Enter")
    expect(page.get_by_role("option")).to_have_count(0)  # the list closed on the option chosen
    expect(page.locator(PANEL).get_by_label("Class", exact=True)).to_have_value("7")
    page.keyboard.press("Tab")
    expect(page.locator(PANEL).get_by_label("How many", exact=True)).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    page.keyboard.press("Enter")
    page.get_by_text("3 selected").wait_for(timeout=30_000)
    page.wait_for_url(lambda url: "ids=" + "%2C".join(map(str, sevens)) in url, timeout=30_000)
    wait_drawn(page)
    for chart in range(2):
        assert_rings_on(page, chart, sevens)
