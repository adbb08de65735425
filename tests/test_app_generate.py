"""The Generate page under AppTest: prior samples, the 2-D manifold, traversal sliders, KL, URL state."""

import re

import pytest

from explorer import checkpoints, data, generate
from ui import generate_page


PAGE = "generate_page"  # the conftest fixture `app` runs this page


def image_url(app, caption_start: str) -> str:
    """The media URL of the image whose caption starts with caption_start (changes with the pixels)."""
    urls = [img.proto.imgs[0].url for img in app.image if img.proto.imgs[0].caption.startswith(caption_start)]
    assert len(urls) == 1, f"expected one image captioned {caption_start!r}"
    return urls[0]


def traversal_keys(app) -> list[str]:
    """Keys of the traversal sliders: the top ones (column by column, the first is the most
    informative dimension), then the rest from the expander."""
    return [s.key for s in app.slider if re.fullmatch(r"gen_z\d+", s.key or "")]


def markdown_text(app) -> str:
    return "\n".join(m.value for m in app.markdown)


@pytest.mark.parametrize("model, latent", [("vae_32", 32), ("vae_2", 2), ("ae_32", 32)])
def test_page_renders_every_section(app, model, latent):
    app.query_params["model"] = model
    app.run()
    assert not app.exception
    assert not app.error
    assert app.title[0].value == "Generate"
    assert [s.value for s in app.subheader] == [
        "Samples from the prior", "The 2-D manifold", "Latent traversal: change one number of a code",
        "Which dimensions carry information?"]
    assert app.selectbox(key="gen_model").value == model
    assert len(traversal_keys(app)) == latent
    image_url(app, "32 samples")
    image_url(app, "15×15 grid")
    image_url(app, "edited code")


def test_the_default_model_is_vae_32_and_the_url_records_the_view(app):
    app.run()
    assert app.selectbox(key="gen_model").value == "vae_32"
    assert dict(app.query_params) == {"model": "vae_32", "seed": "0", "temp": "1.0", "digit": "0"}


def test_changing_the_seed_changes_the_samples(app):
    app.run()
    before = image_url(app, "32 samples")
    app.number_input(key="gen_seed").set_value(5).run()
    assert not app.exception
    assert image_url(app, "32 samples") != before
    assert app.query_params["seed"] == "5"


def test_new_samples_button_moves_to_the_next_seed(app):
    app.run()
    before = image_url(app, "32 samples")
    app.button(key="gen_new").click().run()
    assert app.number_input(key="gen_seed").value == 1
    assert image_url(app, "32 samples") != before


def test_temperature_zero_decodes_the_origin_every_time(app):
    app.run()
    app.slider(key="gen_temp").set_value(0.0).run()
    assert not app.exception
    zero = image_url(app, "32 samples")
    app.number_input(key="gen_seed").set_value(9).run()
    assert image_url(app, "32 samples") == zero  # z = 0·noise whatever the seed


@pytest.mark.parametrize("model, latent", [("vae_32", 32), ("vae_2", 2)])
def test_kl_section_counts_active_units_for_a_vae(app, app_env, model, latent):
    # Counted here, from the checkpoint and the test split, not by the page: units whose mean KL
    # over the test digits exceeds the page's threshold.
    vae = checkpoints.load(app_env / model).model
    kl = generate.kl_per_dimension(vae, data.load_dataset("mnist5k").x_test)
    expected = int((kl > generate_page.ACTIVE_KL).sum())
    assert 0 < expected <= latent
    app.query_params["model"] = model
    app.run()
    match = re.search(r"\*\*(\d+) of (\d+) units active\*\*", markdown_text(app))
    assert match and int(match.group(2)) == latent and int(match.group(1)) == expected
    assert not any("needs a VAE" in c.value for c in app.caption)


def test_kl_section_explains_that_an_ae_has_no_kl(app):
    app.query_params["model"] = "ae_32"
    app.run()
    assert any("KL per dimension needs a VAE" in c.value for c in app.caption)
    assert "units active" not in markdown_text(app)


def test_moving_a_traversal_slider_changes_the_decoded_image_and_reset_restores_it(app):
    app.run()
    key = traversal_keys(app)[0]
    original_value = app.slider(key=key).value
    before = image_url(app, "edited code")
    assert image_url(app, "edited code, decoded: no number changed") == before
    app.slider(key=key).set_value(2.5).run()
    assert not app.exception
    after = image_url(app, "edited code")
    assert after != before
    assert image_url(app, f"edited code, decoded: z{key[len('gen_z'):]} = 2.50") == after
    app.button(key="gen_reset").click().run()
    assert app.slider(key=key).value == pytest.approx(original_value)
    assert image_url(app, "edited code") == before


def test_the_first_sliders_follow_the_dimension_order_with_the_rest_in_an_expander(app):
    app.run()
    keys = traversal_keys(app)
    assert len(keys) == 32
    assert any(e.label.startswith("All dimensions (24 more") for e in app.expander)
    kls = [float(app.slider(key=k).label.split("KL ")[1]) for k in keys]
    assert kls[0] == max(kls)
    assert min(kls[:8]) >= max(kls[8:])


def test_choosing_another_digit_restarts_the_sliders_from_its_code(app):
    app.run()
    key = traversal_keys(app)[0]
    app.slider(key=key).set_value(2.5).run()
    assert image_url(app, "edited code, decoded: z")
    app.number_input(key="gen_digit").set_value(7).run()
    assert not app.exception
    assert app.slider(key=key).value != 2.5
    assert image_url(app, "edited code, decoded: no number changed")
    assert image_url(app, "digit #7")
    assert app.query_params["digit"] == "7"


def test_switching_model_after_an_edit_starts_from_the_new_models_code(app):
    app.run()
    app.slider(key=traversal_keys(app)[0]).set_value(2.5).run()
    app.selectbox(key="gen_model").set_value("vae_2").run()
    assert not app.exception
    assert sorted(traversal_keys(app)) == ["gen_z0", "gen_z1"]
    assert image_url(app, "edited code, decoded: no number changed")
    assert app.query_params["model"] == "vae_2"


@pytest.mark.parametrize("spacing", ["even", "normal"])
def test_manifold_of_a_2d_model_covers_the_plane(app, spacing):
    app.query_params["model"] = "vae_2"
    app.run()
    assert app.radio(key="gen_spacing").value == "normal"
    before = image_url(app, "15×15 grid")
    if spacing == "even":
        app.radio(key="gen_spacing").set_value("even").run()
        assert image_url(app, "15×15 grid") != before
    app.slider(key="gen_span").set_value(3.0).run()
    app.slider(key="gen_grid_n").set_value(9).run()
    assert not app.exception
    assert image_url(app, "9×9 grid, z0 → and z1 ↑ from −3.00 to +3.00")
    assert not any(r.key == "gen_axes" for r in app.radio)  # a 2-D latent needs no slice directions


def test_slice_of_a_larger_latent_along_pca_axes_or_dimensions(app):
    app.run()
    assert app.radio(key="gen_axes").value == "pca"
    pca = image_url(app, "15×15 grid, PC1 → and PC2 ↑")
    app.selectbox(key="gen_pc_b").set_value(2).run()
    assert image_url(app, "15×15 grid, PC1 → and PC3 ↑") != pca
    app.radio(key="gen_axes").set_value("dims").run()
    assert not app.exception
    a, b = app.selectbox(key="gen_dim_a").value, app.selectbox(key="gen_dim_b").value
    options = app.selectbox(key="gen_dim_a").options  # "z31 · KL 0.36", most informative first
    assert options[:2] == [f"z{a} · KL {options[0].split('KL ')[1]}", f"z{b} · KL {options[1].split('KL ')[1]}"]
    kls = [float(o.split("KL ")[1]) for o in options]
    assert kls == sorted(kls, reverse=True)
    image_url(app, f"15×15 grid, z{a} → and z{b} ↑")


def test_the_same_direction_twice_is_an_error_not_a_crash(app):
    app.run()
    app.selectbox(key="gen_pc_b").set_value(0).run()
    assert not app.exception
    assert any("parallel" in e.value for e in app.error)
    assert app.subheader[-1].value == "Which dimensions carry information?"


def test_url_parameters_round_trip(app):
    app.query_params.update({"model": "ae_32", "seed": "7", "temp": "0.5", "digit": "12"})
    app.run()
    assert not app.exception
    assert not app.warning
    assert app.selectbox(key="gen_model").value == "ae_32"
    assert app.number_input(key="gen_seed").value == 7
    assert app.slider(key="gen_temp").value == pytest.approx(0.5)
    assert app.number_input(key="gen_digit").value == 12
    assert image_url(app, "32 samples · seed 7 · T = 0.5")
    assert dict(app.query_params) == {"model": "ae_32", "seed": "7", "temp": "0.5", "digit": "12"}
