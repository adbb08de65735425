"""Browsers give a page only a handful of WebGL contexts (Chromium: 16 per process, fewer on phones;
older ones are dropped, blanking their charts), and each Plotly chart with a WebGL trace takes one:
no page may show more than four, in its busiest state reachable without a browser. The Draw page
(maps appear once a digit is drawn) and the Train page (a live map and the β ladder's three) are
counted in their own tests."""

import pytest
from chart_json import specs

WEBGL_TRACES = {"scattergl", "scatter3d", "heatmapgl", "splom", "pointcloud"}
MAX_WEBGL_CHARTS = 4


def webgl_charts(app) -> int:
    return sum(any(trace.get("type") in WEBGL_TRACES for trace in spec["data"]) for spec in specs(app))


def selection(indices):
    return {"selection": {"points": [], "point_indices": indices, "box": [], "lasso": []}}


@pytest.mark.parametrize("page, params, chart, ids", [
    ("map_page", {}, "map_chart", [3, 4]),
    ("map_page", {"proj": "pca3"}, "map_chart", [3, 4]),
    ("compare_page", {}, "cmp_left_chart", [3, 4]),
    ("generate_page", {}, None, None),
    ("generate_page", {"model": "vae_2"}, None, None),
    ("denoise_page", {}, None, None),
    ("anomaly_page", {}, None, None),
])
def test_no_page_shows_more_than_four_webgl_charts(page_app, page, params, chart, ids):
    app = page_app(page)
    app.query_params.update(params)
    app.run()
    if chart:
        app.session_state[chart] = selection(ids)
        app.run()
    assert not app.exception
    assert specs(app), "the page should show charts: the count below would be vacuous"
    assert webgl_charts(app) <= MAX_WEBGL_CHARTS
