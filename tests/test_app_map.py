"""The latent map page under AppTest: renders, turns a selection into a panel and a path, keeps the URL."""

import base64

import pytest
from chart_json import array, specs


def selection(indices):
    return {"selection": {"points": [], "point_indices": indices, "box": [], "lasso": []}}


PAGE = "map_page"  # the conftest fixture `app` runs this page


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
    app.run()
    traces = map_traces(app)
    assert sorted(array(traces["highlighted"]["customdata"])[:, 0].tolist()) == [3, 4]
    assert len(array(traces["path"]["x"])) == 10
    app.session_state["map_steps"] = 7
    app.run()
    assert len(array(map_traces(app)["path"]["x"])) == 7


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


def test_changing_the_split_drops_the_selection_instead_of_moving_it_to_other_digits(app):
    """Ids are rows of the shown split: row 3 of "all" and row 3 of "test" are different digits."""
    app.run()
    app.session_state["map_chart"] = selection([3, 4])
    app.run()
    assert "Interpolation #3 → #4 (linear)" in [s.value for s in app.subheader]
    app.selectbox(key="map_split").select("test").run()
    assert not app.exception
    assert not [s.value for s in app.subheader if s.value.startswith("Interpolation")]
    assert "ids" not in app.query_params
    app.selectbox(key="map_model").select("ae_32").run()  # same digits, other model: nothing to drop
    app.session_state["map_chart"] = selection([8, 9])
    app.run()
    app.selectbox(key="map_model").select("vae_32").run()
    assert "Interpolation #8 → #9 (linear)" in [s.value for s in app.subheader]


def test_a_link_keeps_a_big_selection(app):
    app.run()
    app.session_state["map_chart"] = selection(list(range(600)))
    app.run()
    assert not app.exception
    kept = app.query_params["ids"].split(",")
    assert len(kept) == 500 and kept[:3] == ["0", "1", "2"]
    assert "600 selected" in [s.value for s in app.subheader]
    traces = map_traces(app)
    assert len(array(traces["highlighted"]["customdata"])) == 50  # ringed: the first 50 only


def test_pca_caption_gives_the_explained_variance_of_the_codes(app):
    import numpy as np

    from explorer import checkpoints, data, latents

    app.query_params["proj"] = "pca"  # the map opens on the stored UMAP otherwise
    app.run()
    [caption] = [c.value for c in app.caption if c.value.startswith("Explained variance")]
    ckpt = checkpoints.load(checkpoints.DEFAULT_DIR / "vae_32")
    ds = data.load_dataset("mnist5k")
    codes = latents.encode_dataset(ckpt.model, ds.split("all")[0])
    centred = codes - codes.mean(0)
    variance = np.linalg.svd(centred, compute_uv=False) ** 2
    ratios = variance[:2] / variance.sum()
    assert caption.startswith(f"Explained variance: PC1 {ratios[0]:.1%}, PC2 {ratios[1]:.1%}")


def test_pca_3d_draws_the_path_in_three_dimensions(app):
    app.query_params.update({"proj": "pca3", "ids": "3,4"})
    app.run()
    assert not app.exception
    traces = map_traces(app)
    assert traces["digits"]["type"] == "scatter3d"
    assert len(array(traces["digits"]["z"])) == 5000
    assert len(array(traces["path"]["z"])) == 10
    assert any(c.value.startswith("Explained variance: PC1") and "PC3" in c.value for c in app.caption)


def test_thumbnails_draw_digit_images_on_a_2d_map_and_say_why_not_on_a_3d_one(app):
    app.run()
    app.toggle(key="map_thumbnails").set_value(True).run()
    assert not app.exception
    [spec] = [spec for spec in specs(app) if spec["data"][0]["name"] == "digits"]
    assert 200 <= len(spec["layout"]["images"]) <= 300
    assert app.query_params["thumbs"] == "1"
    app.selectbox(key="map_projection").select("pca3").run()
    assert any("2-D maps only" in c.value for c in app.caption)


def test_umap_shows_the_stored_map_at_once(app):
    app.query_params.update({"proj": "umap"})
    app.run()
    assert not app.exception
    [spec] = [spec for spec in specs(app) if spec["data"][0]["name"] == "digits"]
    assert spec["layout"]["xaxis"]["title"]["text"] == "UMAP-1"
    assert not app.info or all("being computed" not in i.value for i in app.info)


def test_a_model_without_a_stored_umap_shows_pca_meanwhile_then_umap(app, app_env, monkeypatch):
    """The fit runs in the background (here a stand-in that waits for the test); the page shows PCA with a
    note, and the next run after the fit shows UMAP, which a fragment timer triggers in a browser."""
    import shutil
    import threading

    import numpy as np

    from explorer import maps
    from ui import resources

    shutil.copytree(app_env / "vae_2", app_env / "vae_2_copy")
    (app_env / "vae_2_copy" / "umap_mnist5k.npz").unlink()
    release = threading.Event()

    def slow_fit(codes):
        release.wait(60)
        return np.asarray(codes, dtype=np.float32)[:, :2] * 10

    monkeypatch.setattr(maps, "fit_umap_in_subprocess", slow_fit)
    resources.umap_service.clear()
    try:
        app.query_params.update({"proj": "umap", "model": "vae_2_copy"})
        app.run()
        assert not app.exception
        assert any("being computed" in i.value for i in app.info)
        [spec] = [spec for spec in specs(app) if spec["data"][0]["name"] == "digits"]
        assert spec["layout"]["xaxis"]["title"]["text"].startswith("PC1")
        release.set()
        assert resources.umap_service().wait(app_env / "vae_2_copy", "mnist5k", timeout=60)
        app.run()
        [spec] = [spec for spec in specs(app) if spec["data"][0]["name"] == "digits"]
        assert spec["layout"]["xaxis"]["title"]["text"] == "UMAP-1"
        assert all("being computed" not in i.value for i in app.info)
    finally:
        release.set()
        resources.umap_service.clear()
        shutil.rmtree(app_env / "vae_2_copy")


def test_path_settings_survive_a_selection_of_one(app):
    app.run()
    app.session_state["map_chart"] = selection([3, 4])
    app.run()
    app.slider(key="map_steps").set_value(7).run()
    app.radio(key="map_method").set_value("spherical").run()
    app.session_state["map_chart"] = selection([5])
    app.run()
    assert "map_steps" not in [s.key for s in app.slider]  # hidden with one digit selected
    app.session_state["map_chart"] = selection([5, 6])
    app.run()
    assert app.slider(key="map_steps").value == 7
    assert "Interpolation #5 → #6 (spherical)" in [s.value for s in app.subheader]


def test_the_panel_gives_each_digits_error_and_code(app):
    import numpy as np

    from explorer import checkpoints, data, figures, latents

    app.session_state["map_chart"] = selection([3, 4])
    app.run()
    ckpt = checkpoints.load(checkpoints.DEFAULT_DIR / "vae_32")
    ds = data.load_dataset("mnist5k")
    x, y = ds.split("all")
    batch = x[[3, 4]]
    errors = ((latents.reconstruct(ckpt.model, batch) - batch.numpy()) ** 2).reshape(2, -1).mean(1)
    [pairs] = [img.proto.imgs for img in app.image if img.proto.imgs[0].caption.startswith("#")]  # one element
    captions = [pair.caption for pair in pairs]
    assert captions == [f"#{row} · {ds.classes[int(y[row])]} · MSE {err:.4f}" for row, err in zip((3, 4), errors)]
    svgs = [base64.b64decode(img.proto.imgs[0].url.split(",", 1)[1]).decode() for img in app.image
            if img.proto.imgs[0].url.startswith("data:image/svg+xml;base64,")]
    codes = latents.encode_dataset(ckpt.model, batch)
    assert svgs == [figures.code_bars_svg(codes, titles=["#3", "#4"])]  # the two digits' own codes


# --- selecting without a mouse (ui.selection.keyboard_selection) --------------------------------------------


def type_ids(app, text: str):
    """Type `text` into the keyboard form's id field and press its Select button (Enter does the same)."""
    app.text_input(key="map_ids_typed").input(text)
    return app.button(key="map_ids_select_typed").click().run()


def pick_class(app, label: int, count: int, skip: int = 0):
    app.selectbox(key="map_ids_class").set_value(label)
    app.number_input(key="map_ids_count").set_value(count)
    app.number_input(key="map_ids_skip").set_value(skip)
    return app.button(key="map_ids_select_class").click().run()


def shown_selection(app) -> tuple:
    """What a selection changes: the panel's headings, the ringed ids on the map, the link's ids."""
    traces = map_traces(app)
    ringed = array(traces["highlighted"]["customdata"])[:, 0].tolist() if "highlighted" in traces else []
    return [s.value for s in app.subheader], ringed, app.query_params.get("ids")


def test_typed_ids_select_the_same_digits_as_a_box_around_them(app, page_app):
    app.run()
    app.session_state["map_chart"] = selection([3, 400])
    app.run()
    boxed = shown_selection(app)
    typed = page_app(PAGE)
    typed.run()
    type_ids(typed, "3, 400")
    assert not typed.exception and not typed.error
    assert shown_selection(typed) == boxed
    assert boxed == (["Interpolation #3 → #400 (linear)", "2 selected"], [3, 400], "3,400")


def test_a_typed_selection_replaces_a_box_and_a_new_box_replaces_it(app):
    app.run()
    app.session_state["map_chart"] = selection([3, 4])
    app.run()
    type_ids(app, "#12 7-9")
    assert shown_selection(app)[1:] == ([12, 7, 8, 9], "12,7,8,9")
    assert "4 selected" in [s.value for s in app.subheader]
    app.run()  # the map's old box does not come back on a rerun
    assert shown_selection(app)[1:] == ([12, 7, 8, 9], "12,7,8,9")
    app.session_state["map_chart"] = selection([20, 21])
    app.run()
    assert shown_selection(app)[1:] == ([20, 21], "20,21")
    app.button(key="map_ids_keyboard_clear").click().run()
    assert shown_selection(app) == ([], [], None)


def test_a_class_pick_selects_that_classs_digits_in_the_pages_order(app):
    import numpy as np

    from explorer import data

    labels = data.load_dataset("mnist5k").split("all")[1].numpy()
    sevens = np.flatnonzero(labels == 7)
    app.run()
    pick_class(app, 7, 10)
    assert not app.exception and not app.error
    assert "10 selected" in [s.value for s in app.subheader]
    assert shown_selection(app)[1:] == (sevens[:10].tolist(), ",".join(map(str, sevens[:10])))
    pick_class(app, 7, 3, skip=10)  # the next three
    assert shown_selection(app)[1:] == (sevens[10:13].tolist(), ",".join(map(str, sevens[10:13])))
    assert f"Interpolation #{sevens[10]} → #{sevens[11]} (linear)" in [s.value for s in app.subheader]


BAD_TEXT = {
    "3, four": "“four” is not a digit id: type whole numbers from 0 to 4999, separated by commas (a range such as "
               "10-19 works too).",
    "3, 5000": "There is no digit #5000 here: the ids go from 0 to 4999.",
    "0-600": "That is more than 500 digits: select at most 500 at a time.",
    "": "Type one or more digit ids, for example 3, 400.",
    "[x](https://example.org) **b**": "“[x](https://example.…” is not a digit id: type whole numbers from 0 to "
                                      "4999, separated by commas (a range such as 10-19 works too).",
}


def test_typed_text_that_is_no_selection_says_why_in_plain_words_and_changes_nothing(app):
    from ui.plain_text import escape

    app.run()
    app.session_state["map_chart"] = selection([3, 4])
    app.run()
    before = shown_selection(app)
    for text, message in BAD_TEXT.items():
        type_ids(app, text)
        assert not app.exception
        assert [e.value for e in app.error] == [escape(message)], text  # literally: no link, no bold
        assert shown_selection(app) == before, text
    app.run()  # the message goes with the next run
    assert not app.error and shown_selection(app) == before


def test_a_class_pick_past_the_classs_last_digit_says_so_and_changes_nothing(app):
    app.run()
    type_ids(app, "3, 4")
    before = shown_selection(app)
    pick_class(app, 7, 10, skip=600)
    assert [e.value for e in app.error] == ["There are only 500 digits of class 7 here: skip fewer than 500."]
    assert shown_selection(app) == before
