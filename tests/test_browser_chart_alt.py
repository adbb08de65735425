"""The real app in Chromium: a latent map and an st.plotly_chart are figures named by their text summaries, as
the browser's accessibility tree gives them to a screen reader; the map's name follows a selection made with
the mouse (the map stays interactive), and axe-core finds nothing wrong with either."""

import re
from pathlib import Path

import pytest
from browser import box_select_points, isolated_pair, open_page, points_on_screen, wait_idle
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / ".cache" / "axe-core" / "node_modules" / "axe-core" / "axe.min.js"
pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Every map on the page shows what the last rerun sent it (ui/latent_map.js marks it).
DRAWN = """() => {
    const maps = [...document.querySelectorAll('.latent-map')];
    return maps.length > 0 && maps.every(m => m.dataset.drawn && m.dataset.drawn === m.dataset.wanted);
}"""


def violations_in(page, selector: str) -> list[dict]:
    """axe-core's violations (any impact) inside the elements `selector` names."""
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed in {AXE.parent} (bash .ci/install runs npm install axe-core@4.14.1)")
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""async (selector) => (await axe.run({include: [[selector]]}, {resultTypes: ['violations']}))
        .violations.map(v => ({rule: v.id, impact: v.impact, where: v.nodes.map(n => n.target.join(' '))}))""",
                         selector)


def test_the_map_is_a_figure_named_by_its_summary_and_the_name_follows_a_selection(app_url, page):
    open_page(page, app_url)
    figure = page.get_by_role("figure", name=re.compile(r"^Latent map: 5,000 digits plotted by UMAP-1 against UMAP-2, "
                                                        r"one colour per class \(10 classes, 0 to 9\)\.$"))
    expect(figure).to_have_count(1, timeout=60_000)
    expect(figure).to_have_class(re.compile(r"\blatent-map\b"))
    wait_idle(page)
    page.wait_for_function(DRAWN, timeout=60_000)
    first, second = isolated_pair(points_on_screen(page, 0))
    box_select_points(page, 0, (first, second))
    selected = page.get_by_role("figure", name=re.compile(
        rf"Drawn over them: highlighted \(2\): #({first}|{second}) \(class \d\), #({first}|{second}) \(class \d\); "
        r"path: a line through 10 points from start to end\.$"))
    expect(selected).to_have_count(1, timeout=30_000)
    page.get_by_role("heading", name="2 selected").wait_for(timeout=30_000)
    wait_idle(page)
    assert violations_in(page, ".latent-map") == []


def test_a_plotly_chart_is_a_figure_named_by_its_alt(app_url, page):
    open_page(page, f"{app_url}/anomaly")
    roc = page.get_by_role("figure", name=re.compile(r"^ROC curve of ae_32's reconstruction error as an anomaly score: "
                                                     r".*area under the curve 0\.\d{3}"))
    expect(roc).to_have_count(1, timeout=60_000)
    expect(roc).to_have_attribute("data-testid", "stPlotlyChart")
    scores = page.get_by_role("figure", name=re.compile(r"^ae_32's anomaly scores .* recall \d+%, precision \d+%\.$"))
    expect(scores).to_have_count(1, timeout=30_000)
    wait_idle(page)
    assert violations_in(page, '[data-testid="stPlotlyChart"]') == []
