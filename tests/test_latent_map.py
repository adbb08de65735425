"""The latent map component's Python side: what it sends for a base map (once) and for each rerun
(overlays only), without a browser; and, under AppTest, that a page re-sends its base only when the view changes."""

import json

import numpy as np
from chart_json import array

from explorer import figures
from ui import latent_map

CLASSES = [str(d) for d in range(10)]


def base_of(n, seed=0):
    rng = np.random.default_rng(seed)
    xy = rng.normal(size=(n, 2))
    labels = rng.integers(0, 10, size=n)
    return xy, labels, figures.digit_points(xy, labels, np.arange(n), CLASSES)


def test_the_base_payload_holds_every_digit_as_typed_arrays():
    xy, labels, trace = base_of(500)
    sent = json.loads(latent_map.base_payload(trace, {"images": []}))
    assert sent["layout"] == {"images": []}
    got = sent["trace"]
    np.testing.assert_allclose(np.column_stack([array(got["x"]), array(got["y"])]), xy, rtol=1e-6)
    assert array(got["customdata"])[:, 0].tolist() == list(range(500))
    assert array(got["customdata"])[:, 1].tolist() == labels.tolist()
    assert all("bdata" in got[k] for k in ("x", "y", "customdata"))  # base64, not lists of numbers


def test_the_base_costs_a_few_bytes_a_digit():
    # float32 x and y, 16-bit id and label (32-bit ids past 65,535) and colour: 14 bytes, 18 past 65,535;
    # 4/3 of that as base64
    for n, raw in ((5_000, 14), (70_000, 18)):
        assert len(latent_map.base_payload(base_of(n)[2])) / n < raw * 4 / 3 + 3


def test_a_base_is_built_once_and_anew_when_any_of_its_values_changes():
    xy, labels, trace = base_of(500)
    payload, name = latent_map._base_file(trace, None)
    assert (payload, name) == latent_map._base_file(figures.digit_points(xy, labels, np.arange(500), CLASSES), None)
    assert payload == latent_map.base_payload(trace, None)
    moved = xy.copy()
    moved[123, 1] += 1e-3  # one digit, a little
    changes = [figures.digit_points(moved, labels, np.arange(500), CLASSES),
               figures.digit_points(xy, labels, np.arange(500), CLASSES, opacity=0.2),
               figures.digit_points(xy, labels, np.arange(500), [f"class {c}" for c in CLASSES])]
    for changed in changes:
        new_payload, new_name = latent_map._base_file(changed, None)
        assert new_name != name and new_payload == latent_map.base_payload(changed, None)
    assert latent_map._base_file(trace, {"images": []})[1] != name  # its layout too


def test_a_rerun_message_is_small_whatever_the_map_size():
    overlay = figures.path_line(np.linspace([0, 0], [1, 1], 10))
    layout = figures.map_layout(("PC1", "PC2"))
    small = latent_map.message("/media/a.json", [overlay], layout, plotly_url="/media/p.js")
    # The base travels by URL: a 70,000-point map's message differs only in that URL.
    big = latent_map.message("/media/b.json", [overlay], layout, plotly_url="/media/p.js")
    assert abs(len(json.dumps(small)) - len(json.dumps(big))) <= 2
    assert len(json.dumps(small)) < 3_000
    assert small["base"] == "/media/a.json" and small["plotly"] == "/media/p.js"
    assert small["overlays"][0]["name"] == "path" and len(small["overlays"][0]["x"]) == 10


def test_the_message_key_names_exactly_what_is_drawn():
    layout = figures.map_layout(("PC1", "PC2"))
    ring = figures.overlay(np.array([[0.0, 1.0]]), "ring")
    key = latent_map.message("/m/a.json", [ring], layout, plotly_url="/p.js")["key"]
    assert latent_map.message("/m/a.json", [ring], layout, plotly_url="/p.js")["key"] == key
    assert latent_map.message("/m/a.json", [], layout, plotly_url="/p.js")["key"] != key
    assert latent_map.message("/m/b.json", [ring], layout, plotly_url="/p.js")["key"] != key


def test_overlays_travel_as_plain_json_with_breaks_as_null():
    lines = figures.overlay(np.array([[0, 0], [1, 1], [np.nan, np.nan], [2, 2]]), "shift", mode="lines")
    sent = latent_map.message("/m/a.json", [lines], figures.map_layout(("a", "b")), plotly_url="/p.js")
    text = json.dumps(sent, allow_nan=False)  # JSON has no NaN: the browser's parser would fail on one
    assert json.loads(text)["overlays"][0]["x"] == [0.0, 1.0, None, 2.0]


def test_plain_turns_numpy_into_json_values():
    out = latent_map.plain({"a": np.arange(3, dtype=np.uint16), "b": (np.float32(0.5), float("inf")),
                            "c": [np.int64(4)]})
    assert out == {"a": [0, 1, 2], "b": [0.5, None], "c": [4]}
    assert json.dumps(out)


# --- on a page (AppTest) -----------------------------------------------------------------

def sent_maps(app) -> list[dict]:
    return [json.loads(e.proto.json) for e in app.get("bidi_component")
            if e.proto.component_name == latent_map.COMPONENT]


def test_a_selection_sends_new_overlays_over_the_same_base(page_app):
    app = page_app("map_page")
    app.run()
    [before] = sent_maps(app)
    assert before["overlays"] == [] and before["selectable"]
    app.session_state["map_chart"] = {"selection": {"point_indices": [3, 4]}}
    app.run()
    assert not app.exception
    [after] = sent_maps(app)
    assert after["base"] == before["base"]  # the browser has it already: nothing to fetch or redraw
    assert [o["name"] for o in after["overlays"]] == ["highlighted", "path"]
    assert after["key"] != before["key"]
    drawn = latent_map.figure(after)
    assert len(array(drawn["data"][0]["x"])) == 5000 and drawn["data"][2]["text"][0] == "start"
    app.selectbox(key="map_model").select("ae_32").run()
    [other] = sent_maps(app)
    assert other["base"] != before["base"]  # another model: another base


def test_the_thumbnail_view_sends_its_pictures_with_the_base(page_app):
    app = page_app("map_page")
    app.query_params.update({"thumbs": "1"})
    app.run()
    [sent] = sent_maps(app)
    assert "images" not in sent["layout"]  # not on every rerun
    assert len(latent_map.figure(sent)["layout"]["images"]) > 100
