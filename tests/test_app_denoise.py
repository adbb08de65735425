"""The denoise page under AppTest: renders, reacts to the noise settings, keeps them in the URL."""

import pytest

from ui import denoise_page


@pytest.fixture
def app(page_app):
    return page_app("denoise_page")


def psnr_summary(app) -> str:
    return next(m.value for m in app.markdown if m.value.startswith("Mean PSNR"))


def test_denoise_renders_without_exception(app):
    app.run()
    assert not app.exception and not app.error
    assert app.title[0].value == "Denoise"
    assert app.multiselect(key="dn_models").value == ["dae_32", "ae_32", "vae_32"]
    assert [s.value for s in app.subheader] == ["8 test digits, gaussian noise at 0.4", "All 500 test digits",
                                                "On the latent map"]
    # the DAE is compared with the noisy input and the plain AE in one sentence
    assert any(m.value.startswith("Here **dae_32** reaches") and "**ae_32**" in m.value for m in app.markdown)
    assert app.query_params["noise"] == "gaussian" and app.query_params["models"] == "dae_32,ae_32,vae_32"


def test_changing_the_noise_level_changes_the_psnr_summary(app):
    app.run()
    before = psnr_summary(app)
    app.slider(key="dn_level").set_value(0.8).run()
    assert not app.exception
    after = psnr_summary(app)
    assert after != before
    noisy = [float(s.split("**")[1].split()[0]) for s in (before, after)]
    assert noisy[1] < noisy[0]  # more noise, lower PSNR of the noisy input
    assert app.query_params["level"] == "0.8"


@pytest.mark.parametrize("kind", ["salt_pepper", "mask"])
def test_every_noise_kind_renders(app, kind):
    app.run()
    app.selectbox(key="dn_kind").set_value(kind).run()
    assert not app.exception and not app.error
    assert app.slider(key="dn_level").label == denoise_page.LEVEL_LABELS[kind]


def test_no_model_asks_for_one(app):
    app.run()
    app.multiselect(key="dn_models").set_value([]).run()
    assert not app.exception
    assert any("Pick at least one model" in i.value for i in app.info)


def test_url_parameters_round_trip(app):
    app.query_params.update({"noise": "mask", "level": "0.5", "seed": "7", "models": "ae_32,dae_32"})
    app.run()
    assert not app.exception and not app.warning
    assert app.selectbox(key="dn_kind").value == "mask"
    assert app.slider(key="dn_level").value == 0.5
    assert app.number_input(key="dn_seed").value == 7
    assert app.multiselect(key="dn_models").value == ["ae_32", "dae_32"]
    assert app.query_params["seed"] == "7"


@pytest.mark.parametrize("params", [{"noise": "blur"}, {"level": "2"}, {"level": "loud"}, {"seed": "-1"},
                                    {"models": "no_such_model"}, {"models": ","}])
def test_bad_url_parameters_fall_back_with_a_notice(app, params):
    app.query_params.update(params)
    app.run()
    assert not app.exception
    assert any("Ignored" in w.value for w in app.warning)
    assert app.selectbox(key="dn_kind").value in denoise_page.KINDS


def test_shown_ids_are_seeded_and_distinct():
    assert denoise_page.shown_ids(500, 3) == denoise_page.shown_ids(500, 3)
    assert denoise_page.shown_ids(500, 3) != denoise_page.shown_ids(500, 4)
    ids = denoise_page.shown_ids(5, 0)
    assert sorted(set(ids)) == ids and len(ids) == 5


def test_verdict_compares_the_dae_with_noise_and_the_plain_ae():
    summaries = {"dae_32": {"psnr": 20.0}, "ae_32": {"psnr": 17.5}, "vae_32": {"psnr": 15.0}}
    kinds = {"dae_32": "dae", "ae_32": "ae", "vae_32": "vae"}
    text = denoise_page.verdict(summaries, kinds, noisy_psnr=12.0)
    assert "+8.0 dB against the noisy input" in text and "+2.5 dB against **ae_32**" in text
    assert denoise_page.verdict({"ae_32": {"psnr": 1.0}}, {"ae_32": "ae"}, 0.0) is None
