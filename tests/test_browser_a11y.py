"""axe-core on every registered page, and on pages with their main view open (a selection on the map, a revealed
lesson, presentation mode): no serious or critical accessibility violation. axe-core 4.14 comes from npm
(`.ci/install` puts it in .cache/axe-core/)."""

from pathlib import Path

import pytest

from browser import open_page, wait_idle
from ui import pages

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / ".cache" / "axe-core" / "node_modules" / "axe-core" / "axe.min.js"
pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not AXE.exists(), reason=f"axe-core is not installed in {AXE.parent} (bash .ci/install "
                                                          "runs npm install axe-core@4.14.1 there)")]
SEVERE = ("serious", "critical")
RUN_AXE = """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(v =>
    ({rule: v.id, impact: v.impact, where: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.html.slice(0, 160))}))"""
# Each view, and the element that says it is complete (its main view is drawn).
VIEWS = {f"/{info.url_path}": "h1" for info in pages.PAGES}
VIEWS.update({
    "/?ids=3,400": "text=Interpolation #3 → #400",  # a selection on the map: its panel open
    "/compare?ids=3,400": "text=Interpolation #3 → #400",
    "/lessons?lesson=3&answer=same&reveal=1": '[data-testid="stAlertContentWarning"], [data-testid="stAlertContentSuccess"]',
    "/lessons?lesson=1&answer=worse&reveal=1&present=1": '[data-testid="stAlertContentWarning"], [data-testid="stAlertContentSuccess"]',
})


def severe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return [v for v in page.evaluate(RUN_AXE) if v["impact"] in SEVERE]


@pytest.mark.parametrize("path", list(VIEWS))
def test_no_serious_or_critical_accessibility_violation(app_url, page, path):
    open_page(page, f"{app_url}{path}")
    page.locator(VIEWS[path]).first.wait_for(timeout=60_000)
    wait_idle(page)
    assert severe_violations(page) == []


def test_tabbing_into_the_menu_shows_a_focus_ring_on_each_link(app_url, page):
    open_page(page, app_url)
    links = page.locator('[data-testid="stSidebar"] [data-testid="stPageLink-NavLink"]')
    links.first.wait_for(timeout=60_000)
    on_link = """() => document.activeElement && document.activeElement.matches('[data-testid="stPageLink-NavLink"]')"""
    for _ in range(40):  # Tab from the top of the page until the keyboard reaches the menu
        page.keyboard.press("Tab")
        if page.evaluate(on_link):
            break
    page.wait_for_function(on_link, timeout=10_000)
    for _ in range(3):  # the first links in turn
        ring = page.evaluate("() => { const s = getComputedStyle(document.activeElement); "
                             "return [s.outlineStyle, s.outlineWidth]; }")
        assert ring == ["solid", "2px"]
        page.keyboard.press("Tab")
        page.wait_for_function(on_link, timeout=10_000)
