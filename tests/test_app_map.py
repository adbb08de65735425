"""The latent map page under AppTest: renders, turns a selection into a panel and a path, keeps the URL."""

import pytest
from chart_json import array, specs


def selection(indices):
    return {"selection": {"points": [], "point_indices": indices, "box": [], "lasso": []}}


@pytest.fixture
def app(page_app):
    return page_app("map_page")


def test_the_app_opens_on_the_map_with_navigation(whole_app):
    whole_app.run()
    assert not whole_app.exception
    assert whole_app.title[0].value == "Latent map"


def test_map_renders_without_exception(app):
    app.run()
    assert not app.exception
    assert app.title[0].value == "Latent map"
    assert app.selectbox(key="map_model").value == "vae_32"


def test_selecting_two_digits_shows_panel_and_interpolation(app):
    app.run()
    app.session_state["map_chart"] = selection([3, 4])
    app.run()
    assert not app.exception
    assert [s.value for s in app.subheader] == ["Interpolation #3 → #4 (linear)", "2 selected"]
    assert app.slider(key="map_steps").value == 10
    assert app.query_params["ids"] == "3,4"


def map_traces(app) -> dict:
    """The map's traces by name (the chart whose first trace is the digits)."""
    [spec] = [spec for spec in specs(app) if spec["data"][0]["name"] == "digits"]
    return {trace["name"]: trace for trace in spec["data"]}


def test_a_new_selection_ends_with_its_path_and_highlights_on_the_map(app):
    app.run()
    assert set(map_traces(app)) == {"digits"}
    app.session_state["map_chart"] = selection([3, 4])
    app.run()  # the panel comes over the old map, then a second run redraws the map
    traces = map_traces(app)
    assert sorted(array(traces["highlighted"]["customdata"])[:, 0].tolist()) == [3, 4]
    assert len(array(traces["path"]["x"])) == 10
    app.session_state["map_steps"] = 7
    app.run()
    assert len(array(map_traces(app)["path"]["x"])) == 7
    assert app.session_state["map_on_screen"]["path"] == (3, 4, 7, "linear")


def test_the_page_pauses_for_its_pictures_only_when_a_selection_changes_the_map(app, monkeypatch):
    import types

    from ui import selection as selection_module

    pauses = []
    monkeypatch.setattr(selection_module, "time", types.SimpleNamespace(sleep=pauses.append))
    app.run()
    app.run()
    assert pauses == []  # the first map, and the same map again: no pictures to put first
    app.session_state["map_chart"] = selection([3, 4])
    app.run()
    assert pauses == [selection_module.PAINT_PAUSE_S]
    app.run()
    assert len(pauses) == 1  # nothing changed
    app.selectbox(key="map_model").select("ae_32").run()
    assert not app.exception
    assert len(pauses) == 1  # a new model is a new map: everything is drawn at once


def test_url_parameters_round_trip(app):
    app.query_params.update({"model": "ae_32", "split": "test", "proj": "pca", "ids": "5,7", "steps": "7",
                             "interp": "spherical"})
    app.run()
    assert not app.exception
    assert app.selectbox(key="map_model").value == "ae_32"
    assert app.selectbox(key="map_split").value == "test"
    assert app.slider(key="map_steps").value == 7
    assert app.radio(key="map_method").value == "spherical"
    assert "Interpolation #5 → #7 (spherical)" in [s.value for s in app.subheader]
    assert app.query_params["model"] == "ae_32" and app.query_params["ids"] == "5,7"


@pytest.mark.parametrize("params", [
    {"model": "no_such_model"}, {"ids": "999999"}, {"ids": "-3,4"}, {"steps": "-2"}, {"steps": "many"},
    {"proj": "tsne"}, {"split": "../../etc"},
])
def test_bad_url_parameters_fall_back_with_a_notice(app, params):
    app.query_params.update(params)
    app.run()
    assert not app.exception
    assert any("Ignored" in w.value for w in app.warning)
    assert app.selectbox(key="map_model").value in ("vae_32", "ae_32")
