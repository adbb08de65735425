"""The AE vs VAE page under AppTest: two maps sharing one selection, two strips, prior mosaics, scores, URL."""

import pytest

from chart_json import array, chart, keyed_specs

MAPS = ("cmp_left_chart", "cmp_right_chart")


def map_specs(app) -> list[dict]:
    """The two latent maps' figures, left then right (the page's other charts are not maps)."""
    return [spec for key, spec in keyed_specs(app) if key in MAPS]


def defaults() -> tuple[str, str]:
    from ui import resources

    return resources.DEFAULT_COMPARE


def selection(indices):
    return {"selection": {"points": [], "point_indices": indices, "box": [], "lasso": []}}


def chart_traces(app) -> list[list[str]]:
    """Trace names of each latent map on the page, left then right."""
    return [[trace.get("name") for trace in spec["data"]] for spec in map_specs(app)]


def highlighted_ids(app) -> list[list[int]]:
    """Ids of the "highlighted" trace of each map ([] where there is none)."""
    out = []
    for spec in map_specs(app):
        traces = spec["data"]
        out.append([int(row[0]) for t in traces if t.get("name") == "highlighted" for row in array(t["customdata"])])
    return out


PAGE = "compare_page"  # the conftest fixture `app` runs this page


def test_renders_both_default_models_with_their_planes_prior_samples_and_scores(app):
    app.run()
    assert not app.exception
    assert app.title[0].value == "AE vs VAE"
    ae, vae = defaults()
    assert (app.selectbox(key="cmp_left").value, app.selectbox(key="cmp_right").value) == (ae, vae)
    assert chart_traces(app) == [["digits"], ["digits"]]
    assert [s.value for s in app.subheader] == ["Every point of the plane, decoded", "Random codes from N(0, I)",
                                                "Scores on the test digits"]
    assert len(app.get("image")) == 4  # the two decoded planes, the two prior mosaics
    table = app.table[0].value
    assert list(table.columns) == [ae, vae]
    assert table.loc["Negative ELBO, nats per image (test) ↓", ae] == "—"
    assert table.loc["Negative ELBO, nats per image (test) ↓", vae] != "—"
    if "N(0, I) samples: Fréchet distance to test digits ↓" in table.index:  # with a shipped digit judge
        frechet = table.loc["N(0, I) samples: Fréchet distance to test digits ↓"].astype(float)
        assert frechet[vae] < frechet[ae]  # random codes decode to digits like the test digits through the VAE


def test_two_code_planes_are_decoded_judged_and_encoded_again_with_a_verdict_from_their_numbers(app):
    import numpy as np

    from explorer import checkpoints, compare, data, latents

    app.run()
    ds_x = data.load_dataset("mnist5k").split("all")[0]
    judge = checkpoints.load(checkpoints.DEFAULT_DIR / "digit_judge").model
    scans = []
    for side, name in zip(("left", "right"), defaults()):
        model = checkpoints.load(checkpoints.DEFAULT_DIR / name).model
        scan = compare.scan_plane(model, latents.encode_dataset(model, ds_x), judge)
        scans.append((name, scan))
        [heat, crosses] = chart(app, f"cmp_plane_{side}")["data"]
        assert np.allclose(array(heat["z"]), scan.confidence)
        assert len(array(crosses["x"])) == int((scan.drift > 1).sum())
    text = " ".join(m.value for m in app.markdown)
    assert compare.plane_verdict(*scans) in text
    for name, scan in scans:
        assert f"**{scan.confident_share():.0%}** of `{name}`'s" in text
        assert f"**{1 - scan.returned_share():.0%}** of `{name}`'s" in text
        width = float(np.max(np.subtract(*compare.code_extent(latents.encode_dataset(
            checkpoints.load(checkpoints.DEFAULT_DIR / name).model, ds_x))[::-1])))
        assert f"`{name}`'s are {width:.1f} units across" in text or f"`{name}`'s {width:.1f}" in text


def test_models_with_larger_codes_get_no_plane_and_a_look_for_text_that_blames_the_projection(app):
    app.query_params.update({"left": "ae_32", "right": "vae_32"})
    app.run()
    assert not app.exception
    assert "Every point of the plane, decoded" not in [s.value for s in app.subheader]
    assert len(keyed_specs(app)) == 2
    text = " ".join(m.value for m in app.markdown)
    assert "`ae_32`'s 32 numbers and `vae_32`'s 32 into two" in text
    ae, vae = defaults()
    assert f"(?left={ae}&right={vae})" in text


@pytest.mark.parametrize("chart", ["cmp_left_chart", "cmp_right_chart"])
def test_a_selection_on_either_map_highlights_both_and_walks_with_both_models(app, chart):
    app.run()
    app.session_state[chart] = selection([3, 4])
    app.run()
    assert not app.exception
    assert "Interpolation #3 → #4" in [s.value for s in app.subheader]
    assert chart_traces(app) == [["digits", "highlighted", "path"]] * 2
    assert highlighted_ids(app) == [[3, 4], [3, 4]]
    assert len(app.get("image")) == 6  # two strips, two decoded planes, two prior mosaics
    assert app.slider(key="cmp_steps").value == 10
    assert app.query_params["ids"] == "3,4"
    app.session_state["cmp_steps"] = 7
    app.run()  # the strips come over the old maps, then both maps are redrawn with 7-step paths
    paths = [t for spec in map_specs(app) for t in spec["data"] if t.get("name") == "path"]
    assert [len(array(t["x"])) for t in paths] == [7, 7]


def test_the_newest_selection_wins_and_clear_empties_it(app):
    app.run()
    app.session_state["cmp_left_chart"] = selection([3, 4])
    app.run()
    app.session_state["cmp_right_chart"] = selection([7, 8, 9])
    app.run()
    assert highlighted_ids(app) == [[7, 8, 9]] * 2
    app.run()  # the left chart's old selection does not come back on a rerun
    assert highlighted_ids(app) == [[7, 8, 9]] * 2
    app.button(key="cmp_clear").click().run()
    assert not app.exception
    assert highlighted_ids(app) == [[], []]
    assert "ids" not in app.query_params


def test_url_parameters_round_trip(app):
    app.query_params.update({"left": "conv_ae_32", "right": "conv_vae_32", "proj": "pca", "ids": "5,7",
                             "steps": "7", "interp": "spherical", "seed": "3"})
    app.run()
    assert not app.exception
    assert app.selectbox(key="cmp_left").value == "conv_ae_32"
    assert app.selectbox(key="cmp_right").value == "conv_vae_32"
    assert app.slider(key="cmp_steps").value == 7
    assert app.radio(key="cmp_method").value == "spherical"
    assert app.number_input(key="cmp_seed").value == 3
    assert "Interpolation #5 → #7" in [s.value for s in app.subheader]
    assert highlighted_ids(app) == [[5, 7], [5, 7]]
    assert dict(app.query_params) == {"left": "conv_ae_32", "right": "conv_vae_32", "proj": "pca", "ids": "5,7",
                                      "steps": "7", "interp": "spherical", "seed": "3"}


def test_the_same_model_on_both_sides_gets_distinct_columns(app):
    app.query_params.update({"left": "vae_32", "right": "vae_32"})
    app.run()
    assert not app.exception
    assert list(app.table[0].value.columns) == ["vae_32 (left)", "vae_32 (right)"]


def test_a_broken_checkpoint_is_not_offered_and_the_page_keeps_working(app, app_env):
    import shutil

    broken = app_env / "broken_vae"
    shutil.copytree(app_env / "vae_32", broken)
    (broken / "model.safetensors").write_bytes(b"not weights")
    try:
        app.query_params.update({"right": "broken_vae"})
        app.run()
        assert not app.exception and not app.error
        assert any("right=broken_vae" in w.value for w in app.warning)
        assert "broken_vae" not in app.selectbox(key="cmp_right").options
        assert app.selectbox(key="cmp_right").value == defaults()[1]
        assert len(map_specs(app)) == 2
    finally:
        shutil.rmtree(broken)


def test_prior_samples_are_the_same_codes_decoded_by_both_models_and_the_page_says_why_the_ae_fails(app, monkeypatch):
    import numpy as np

    from explorer import checkpoints, figures, generate
    from ui import compare_page, pictures

    shown = {}
    real_show = pictures.show

    def recording_show(where, image, **kwargs):
        shown[kwargs.get("caption")] = image
        real_show(where, image, **kwargs)

    monkeypatch.setattr(pictures, "show", recording_show)
    app.run()
    app.number_input(key="cmp_seed").set_value(7).run()
    assert not app.exception
    for name in defaults():
        model = checkpoints.load(checkpoints.DEFAULT_DIR / name).model
        _, images = generate.sample_prior(model, compare_page.PRIOR_SAMPLES, seed=7)
        expected = figures.tile_images(images, ncols=compare_page.PRIOR_COLUMNS, scale=1)
        [caption] = [c for c in shown if c and c.startswith(f"{name} · ")]
        assert np.array_equal(shown[caption], expected)
    assert app.query_params["seed"] == "7"
    text = " ".join(m.value for m in app.markdown)
    assert "same 24 random codes" in text and "never pushed toward N(0, I)" in text


def test_the_score_table_matches_the_stored_metrics_and_the_smoothness_measure(app):
    from explorer import checkpoints, compare, data

    app.run()
    table = app.table[0].value
    ds = data.load_dataset("mnist5k")
    for name in defaults():
        ckpt = checkpoints.load(checkpoints.DEFAULT_DIR / name)
        stored = ckpt.info["metrics"]
        assert table.loc["Reconstruction MSE per pixel (test) ↓", name] == f"{stored['mse']:.4f}"
        assert table.loc["Linear-probe accuracy (test) ↑", name] == f"{stored['linear_probe']:.1%}"
        smoothness = compare.smoothness_score(ckpt.model, ds)
        assert table.loc["Interpolation: distance to nearest real digit ↓", name] == f"{smoothness:.4f}"


def test_the_random_codes_can_be_placed_on_both_maps_without_refitting_them(app):
    import numpy as np

    from explorer import checkpoints, generate, latents, maps
    from ui import compare_page

    app.run()
    assert chart_traces(app) == [["digits"], ["digits"]]
    app.toggle(key="cmp_prior_on_maps").set_value(True).run()
    assert not app.exception
    assert chart_traces(app) == [["digits", "random codes"]] * 2
    assert app.query_params["prior"] == "1"
    from explorer import data

    ds_x = data.load_dataset("mnist5k").split("all")[0]
    for spec, name in zip(map_specs(app), defaults()):
        model = checkpoints.load(checkpoints.DEFAULT_DIR / name).model
        pca = maps.fit_pca(latents.encode_dataset(model, ds_x), 2)
        codes, _ = generate.sample_prior(model, compare_page.PRIOR_SAMPLES, seed=0)
        placed = np.stack([array(spec["data"][1]["x"]), array(spec["data"][1]["y"])], 1)
        assert np.allclose(placed, pca.transform(codes), atol=1e-4)
        digits = np.stack([array(spec["data"][0]["x"]), array(spec["data"][0]["y"])], 1)
        assert np.allclose(digits, pca.transform(latents.encode_dataset(model, ds_x)), atol=1e-4)  # not refitted
    before = array(map_specs(app)[0]["data"][1]["x"])
    app.number_input(key="cmp_seed").set_value(3).run()  # a new seed moves the codes on the maps too
    assert len(array(map_specs(app)[0]["data"][1]["x"])) == compare_page.PRIOR_SAMPLES
    assert not np.allclose(array(map_specs(app)[0]["data"][1]["x"]), before)
    app.toggle(key="cmp_prior_on_maps").set_value(False).run()
    assert chart_traces(app) == [["digits"], ["digits"]]
    assert "prior" not in app.query_params


# --- selecting without a mouse (ui.selection.keyboard_selection, shared with the latent map page) -------------


def type_ids(app, text: str):
    app.text_input(key="cmp_ids_typed").input(text)
    return app.button(key="cmp_ids_select_typed").click().run()


def shown_selection(app) -> tuple:
    """What a selection changes: the headings, the selection bar, the ringed ids on both maps, the link's ids."""
    bar = [m.value for m in app.markdown if " selected**" in m.value]
    return [s.value for s in app.subheader], bar, highlighted_ids(app), app.query_params.get("ids")


def test_typed_ids_select_the_same_digits_on_both_maps_as_a_box_on_one(app, page_app):
    app.run()
    app.session_state["cmp_left_chart"] = selection([3, 400])
    app.run()
    boxed = shown_selection(app)
    typed = page_app(PAGE)
    typed.run()
    type_ids(typed, "3, 400")
    assert not typed.exception and not typed.error
    assert shown_selection(typed) == boxed
    assert boxed[2:] == ([[3, 400], [3, 400]], "3,400")
    assert "Interpolation #3 → #400" in boxed[0] and boxed[1][0].startswith("**2 selected**")


def test_a_class_pick_rings_that_classs_digits_on_both_maps_and_bad_input_changes_nothing(app):
    import numpy as np

    from explorer import data
    from ui.plain_text import escape

    labels = data.load_dataset("mnist5k").split("all")[1].numpy()
    threes = np.flatnonzero(labels == 3)[5:9].tolist()
    app.run()
    app.selectbox(key="cmp_ids_class").set_value(3)
    app.number_input(key="cmp_ids_count").set_value(4)
    app.number_input(key="cmp_ids_skip").set_value(5)
    app.button(key="cmp_ids_select_class").click().run()
    assert not app.exception and not app.error
    before = shown_selection(app)
    assert before[2:] == ([threes, threes], ",".join(map(str, threes)))
    assert before[1][0].startswith("**4 selected**")
    type_ids(app, "3, 400, 9000")
    assert [e.value for e in app.error] == [escape("There is no digit #9000 here: the ids go from 0 to 4999.")]
    assert shown_selection(app) == before
    app.button(key="cmp_ids_keyboard_clear").click().run()
    assert shown_selection(app)[2:] == ([[], []], None)
