"""The Lessons page in AppTest: in every lesson a prediction, the reveal, and the revealed numbers checked
against the explorer/ functions that compute them, recomputed here from the checkpoints."""

import numpy as np
import pytest

from explorer import anomaly, checkpoints, data, denoise, generate, latents, lessons, maps, projection

PAGE = "lessons_page"


@pytest.fixture(scope="module")
def digits():
    return data.load_dataset("mnist5k")


def model(name: str):
    return checkpoints.load(checkpoints.DEFAULT_DIR / name).model


def open_lesson(page_app, number: int, **params):
    app = page_app(PAGE)
    app.query_params.update({"lesson": str(number), **params})
    return app.run()


def predict_and_reveal(app, number: int, value):
    app.radio(key=f"lesson{number}_answer").set_value(value).run()
    app.button(key=f"lesson{number}_go").click().run()
    assert not app.exception
    return " ".join(e.value for e in (*app.success, *app.warning))


def test_lesson_1_compares_the_2_and_32_number_codes_by_their_real_errors(page_app, digits):
    app = open_lesson(page_app, 1)
    assert app.button(key="lesson1_go").disabled  # predict first
    text = predict_and_reveal(app, 1, "better")
    small, large = (float(latents.reconstruction_errors(model(n), digits.x_test).mean()) for n in ("vae_2", "vae_32"))
    assert f"{small:.4f} with 2 numbers against {large:.4f} with 32" in text
    right = lessons.bottleneck_answer(small, large)
    assert ("You predicted it." in text) == (right == "better")
    assert app.query_params["answer"] == "better" and app.query_params["reveal"] == "1"
    assert any("compare?left=vae_2&right=vae_32" in m.value for m in app.markdown)


def test_lesson_2_judges_a_click_on_the_map_by_the_digits_around_it(page_app, digits):
    app = open_lesson(page_app, 2)
    assert app.button(key="lesson2_go").disabled  # no click yet
    app.selectbox(key="lesson2_answer").set_value(3).run()
    app.session_state["lesson2_map"] = {"selection": {"points": [], "point_indices": [1234], "box": [], "lasso": []}}
    app.run()
    app.button(key="lesson2_go").click().run()
    assert not app.exception
    text = " ".join(e.value for e in (*app.success, *app.warning))
    path = checkpoints.DEFAULT_DIR / "vae_32"
    xy = projection.load_projection(maps.umap_path(path, "mnist5k"), maps.weights_fingerprint(path, "mnist5k"))
    labels = digits.split("all")[1].numpy()
    nearest = np.argsort(np.hypot(*(xy - xy[1234]).T), kind="stable")[:50]
    assert f"{(labels[nearest] == 3).mean():.0%} of the 50 digits nearest to your dot are 3s" in text
    assert app.query_params["answer"] == "3@1234"
    assert any("?model=vae_32&proj=umap&ids=1234" in m.value for m in app.markdown)


def likeness(digits):
    return lessons.digit_likeness_threshold(digits.x_test, digits.x_train)


@pytest.mark.parametrize("prediction", ["ae", "same"])
def test_lesson_3_finds_the_holes_in_both_2_d_planes_with_the_judge(page_app, digits, prediction):
    from explorer import compare

    text = predict_and_reveal(open_lesson(page_app, 3), 3, prediction)
    judge = model("digit_judge")
    x = digits.split("all")[0]
    scans = [compare.scan_plane(model(n), latents.encode_dataset(model(n), x), judge) for n in ("ae_2", "vae_2")]
    holes = [1 - scan.confident_share() for scan in scans]
    assert f"{holes[0]:.0%} of the AE's plane, {holes[1]:.0%} of the VAE's" in text
    right = lessons.closer_choice(holes[0], holes[1], "ae", "vae", "same", compare.PLANE_GAP)
    assert ("You predicted it." in text) == (right == prediction)


def test_lesson_4_counts_digit_like_prior_samples_of_both_models(page_app, digits):
    text = predict_and_reveal(open_lesson(page_app, 4), 4, "vae")
    shares = [lessons.share_like_digits(lessons.prior_images(model(n), 64), digits.x_train, likeness(digits))
              for n in ("ae_32", "vae_32")]
    assert f"{shares[0]:.0%} for the AE, {shares[1]:.0%} for the VAE" in text
    assert ("You predicted it." in text) == (lessons.prior_answer(*shares) == "vae")


def test_lesson_6_reveals_the_active_unit_count_of_the_beta_4_vae(page_app, digits):
    app = open_lesson(page_app, 6)
    app.slider(key="lesson6_answer").set_value(3).run()
    app.button(key="lesson6_go").click().run()
    text = " ".join(e.value for e in (*app.success, *app.warning))
    active = generate.active_units(generate.kl_per_dimension(model("vae_beta_4"), digits.x_test))
    assert text.startswith(f"{active} of 16 units carry information") and "you said 3" in text
    assert app.query_params["answer"] == "3"


def test_lesson_7_names_the_reconstruction_that_came_from_the_dae(page_app, digits):
    app = open_lesson(page_app, 7)
    assert len(app.get("image")) == 3  # noisy inputs, A and B, before any answer
    text = predict_and_reveal(app, 7, "A")
    from ui import lesson_results

    rows = np.sort(np.random.default_rng(0).choice(len(digits.x_test), size=8, replace=False))
    clean = digits.x_test[rows]
    noisy = denoise.add_noise(clean, "gaussian", lesson_results.NOISE_LEVEL, 0)
    psnr = {n: denoise.psnr(clean, latents.reconstruct(model(n), noisy)).mean() for n in ("dae_32", "ae_32")}
    letter = text.split(" came from the denoising AE")[0][-1]
    assert f"{letter} (dae_32) {psnr['dae_32']:.1f} dB" in text
    assert ("You spotted it." in text) == (letter == "A")


def test_lesson_8_gives_precision_and_recall_at_the_chosen_threshold(page_app):
    app = open_lesson(page_app, 8)
    slider = app.select_slider(key="lesson8_answer")
    threshold = slider.options[len(slider.options) * 2 // 3]
    slider.set_value(float(threshold)).run()
    app.button(key="lesson8_go").click().run()
    text = " ".join(e.value for e in (*app.success, *app.warning))
    ds = data.load_dataset("mnist5k")
    ae = model("ae_32")
    normal = anomaly.reconstruction_scores(ae, ds.x_test)
    odd = np.concatenate([anomaly.reconstruction_scores(ae, x) for x in anomaly.ood_sets(ds.x_test, 100, 0).values()])
    value = app.session_state["lesson8_answer"]
    precision, recall = anomaly.precision_recall_at(normal, odd, value)
    assert f"precision {precision:.0%}" in text and f"recall {recall:.0%}" in text
    assert any(f"anomaly?model=ae_32&thr={value}" in m.value for m in app.markdown)


def test_a_link_opens_a_lesson_with_its_answer_revealed(page_app):
    app = open_lesson(page_app, 4, answer="ae", reveal="1")
    assert app.session_state["lesson_menu"] == 4 and app.session_state["lesson4_answer"] == "ae"
    assert any("for the VAE" in e.value for e in (*app.success, *app.warning))


def test_a_new_prediction_hides_the_reveal(page_app):
    app = open_lesson(page_app, 1, answer="same", reveal="1")
    assert app.success or app.warning
    app.radio(key="lesson1_answer").set_value("worse").run()
    assert not app.success and not app.warning and "reveal" not in app.query_params


def test_lesson_5_reveals_where_the_real_samples_of_z_fall(page_app, digits):
    from explorer import reparam

    app = open_lesson(page_app, 5)
    assert app.button(key="lesson5_go").disabled
    text = predict_and_reveal(app, 5, "anywhere")
    vae = model("vae_2")
    post = reparam.posterior(vae, digits.x_test[0])
    samples = reparam.reparameterize(post, reparam.draw_epsilon(2, 64, 0))
    codes = latents.encode_dataset(vae, digits.split("all")[0])
    spread = lessons.sample_spread(post.mu, post.sigma, samples, codes)
    assert f"{spread['within_1']:.0%} of the samples lie within 1σ of μ and {spread['within_2']:.0%} within 2σ" in text
    assert ("You predicted it." in text) == (spread["answer"] == "anywhere")
    assert any("reparam?model=vae_2&digit=0&seed=0" in m.value for m in app.markdown)


def test_lesson_9_reveals_the_probe_on_the_conditional_vaes_codes(page_app):
    from ui import style_page

    app = open_lesson(page_app, 9)
    app.slider(key="lesson9_answer").set_value(0.9).run()
    app.button(key="lesson9_go").click().run()
    assert not app.exception
    text = " ".join(e.value for e in (*app.success, *app.warning))
    measured = {name: style_page._probe(name, 0) for name in ("cvae_16", "vae_32")}  # recomputed, uncached
    assert f"from {measured['cvae_16']:.0%} of the conditional VAE's codes, against {measured['vae_32']:.0%}" in text
    assert ("Close enough." in text) == lessons.probe_prediction_right(0.9, measured["cvae_16"])
    assert any("style?model=cvae_16" in m.value for m in app.markdown)
    measures = style_page._measures_probe("mnist5k")
    assert any(m.value.startswith("The style code tells the class") and f"{measures:.0%}" in m.value
               for m in app.markdown)  # the Style page's verdict, measures included


def test_lesson_10_judges_both_routes_through_the_ae_decoder(page_app, digits):
    from explorer import diffusion, judge

    app = open_lesson(page_app, 10)
    text = predict_and_reveal(app, 10, "prior")
    ae, prior, reader = model("ae_32"), model("diffusion_ae_32"), model("digit_judge")
    reference = judge.read(reader, digits.x_test).features
    shares = []
    for source, steps in ((None, 0), (prior, diffusion.DEFAULT_SAMPLE_STEPS)):
        codes = diffusion.route_codes(32, 500, 0, source, steps)
        shares.append(judge.verdict(reader, latents.decode_codes(ae, codes), reference))
    assert f"{shares[0].confident_share:.0%} of the N(0, I) route's images" in text
    assert f"and {shares[1].confident_share:.0%} of the prior's ({shares[1].frechet:.1f}" in text
    right = lessons.which_mostly(shares[0].confident_share, shares[1].confident_share, ("gaussian", "prior"))
    assert ("You predicted it." in text) == (right == "prior")
    assert any("diffusion?ae=ae_32&seed=0" in m.value for m in app.markdown)


def test_lessons_lead_the_navigation_and_the_map_stays_the_start_page_on_its_stored_umap(whole_app):
    from ui import pages

    whole_app.run()
    assert list(pages.sections())[0] == "Learn" and pages.sections()["Learn"][0].module == PAGE
    assert whole_app.title[0].value == "Latent map"
    assert whole_app.session_state["map_projection"] == "umap"  # vae_32 ships its UMAP map


def test_a_model_without_a_stored_umap_opens_on_pca(page_app, app_env):
    import shutil

    shutil.copytree(app_env / "vae_2", app_env / "vae_2_no_umap")
    (app_env / "vae_2_no_umap" / "umap_mnist5k.npz").unlink()
    try:
        app = page_app("map_page")
        app.query_params["model"] = "vae_2_no_umap"
        app.run()
        assert app.session_state["map_projection"] == "pca"
    finally:
        shutil.rmtree(app_env / "vae_2_no_umap")


def test_presentation_mode_is_a_toggle_remembered_in_the_link(whole_app):
    from ui import presentation

    whole_app.query_params["present"] = "1"
    whole_app.run()
    assert whole_app.toggle(key=presentation.KEY).value
    assert any(presentation.STYLESHEET in h.proto.body for h in whole_app.get("html"))
    whole_app.toggle(key=presentation.KEY).set_value(False).run()
    assert "present" not in whole_app.query_params
    assert not any("font-size: 1.45rem" in h.proto.body for h in whole_app.get("html"))
