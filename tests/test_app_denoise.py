"""The denoise page under AppTest: renders, reacts to the noise settings, keeps them in the URL."""

import re

import numpy as np
import pytest

from chart_json import array, chart, keyed_specs
from explorer import checkpoints, data, denoise
from ui import denoise_page


PAGE = "denoise_page"  # the conftest fixture `app` runs this page


def psnr_summary(app) -> str:
    return next(m.value for m in app.markdown if m.value.startswith("Mean PSNR"))


def verdict_text(app) -> str:
    return next(m.value for m in app.markdown if m.value.startswith("Here **"))


def summary_numbers(app) -> dict[str, float]:
    """{"noisy": dB, model: dB, ...} read from the page's "Mean PSNR" sentence."""
    text = psnr_summary(app)
    numbers = {"noisy": float(re.search(r"noisy input scores \*\*([\d.]+) dB", text).group(1))}
    numbers.update((name, float(value)) for name, value in re.findall(r"\*\*(\w+)\*\* ([\d.]+) dB", text))
    return numbers


def chart_keys(app) -> list[str]:
    return [key for key, _ in keyed_specs(app)]


def trace(spec: dict, name: str) -> dict:
    [found] = [t for t in spec["data"] if t.get("name") == name]
    return found


def xy(t: dict) -> np.ndarray:
    return np.column_stack([array(t["x"]).astype(float), array(t["y"]).astype(float)])


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


def test_shown_ids_are_seeded_and_distinct():
    assert denoise_page.shown_ids(500, 3) == denoise_page.shown_ids(500, 3)
    assert denoise_page.shown_ids(500, 3) != denoise_page.shown_ids(500, 4)
    ids = denoise_page.shown_ids(5, 0)
    assert sorted(set(ids)) == ids and len(ids) == 5


def test_verdict_compares_the_dae_with_noise_and_the_plain_ae():
    summaries = {"dae_32": {"psnr": 20.0}, "ae_32": {"psnr": 17.5}, "vae_32": {"psnr": 15.0}}
    kinds = {"dae_32": "dae", "ae_32": "ae", "vae_32": "vae"}
    text = denoise.verdict(summaries, kinds, noisy_psnr=12.0)
    assert "+8.0 dB against the noisy input" in text and "+2.5 dB against **ae_32**" in text
    assert denoise.verdict({"ae_32": {"psnr": 1.0}}, {"ae_32": "ae"}, 0.0) is None


# --- models of different datasets ------------------------------------------------------------------

def test_models_of_another_dataset_are_left_out_with_a_warning(app, digits_model):
    app.query_params["models"] = f"dae_32,{digits_model},ae_32"
    app.run()
    assert not app.exception and not app.error
    [warning] = [w.value for w in app.warning]
    assert f"**{digits_model}** (trained on digits)" in warning and "**mnist5k**" in warning
    assert "**dae_32**, the first model chosen" in warning
    assert set(summary_numbers(app)) == {"noisy", "dae_32", "ae_32"}
    assert chart_keys(app) == ["dn_psnr", "dn_map_dae_32", "dn_map_ae_32"]
    assert app.multiselect(key="dn_models").value == ["dae_32", digits_model, "ae_32"]  # the choice is kept


def test_the_first_model_decides_the_dataset(app, digits_model):
    app.run()
    app.multiselect(key="dn_models").set_value([digits_model, "ae_32", "vae_32"]).run()
    assert not app.exception and not app.error
    [warning] = [w.value for w in app.warning]
    assert "**ae_32** (trained on mnist5k), **vae_32** (trained on mnist5k)" in warning and "**digits**" in warning
    n_test = len(data.load_dataset("digits").x_test)
    assert [s.value for s in app.subheader][:2] == ["8 test digits, gaussian noise at 0.4", f"All {n_test} test digits"]
    assert set(summary_numbers(app)) == {"noisy", digits_model}
    assert chart_keys(app) == ["dn_psnr", f"dn_map_{digits_model}"]


def test_same_dataset_keeps_the_first_models_dataset():
    kept, left_out = denoise.same_dataset({"a": "mnist5k", "b": "digits", "c": "mnist5k", "d": "digits"})
    assert kept == ["a", "c"] and left_out == {"b": "digits", "d": "digits"}
    assert denoise.same_dataset({"b": "digits"}) == (["b"], {})
    assert denoise.same_dataset({}) == ([], {})


# --- what the page claims about the DAE ------------------------------------------------------------

def test_the_shipped_dae_beats_noise_and_the_plain_ae_at_the_page_defaults():
    """The issue's requirement, on the real checkpoints and the whole test split, as the page computes it:
    the DAE beats the noisy input by a wide margin and beats the plain AE (measured: noisy 11.0 dB,
    dae_32 17.2, ae_32 10.9, vae_32 11.8)."""
    root = checkpoints.DEFAULT_DIR
    models = {name: checkpoints.load(root / name).model for name in denoise_page.DEFAULT_MODELS}
    x, _ = data.load_dataset("mnist5k").split("test")
    kind, level = denoise_page.DEFAULT_NOISE
    report = denoise.denoise_report(models, x, kind, level, denoise_page.SUMMARY_SEED)
    psnr = report.mean_psnr
    assert psnr["dae_32"] >= report.mean_psnr_noisy + denoise.CLEAR_GAIN_DB
    assert psnr["dae_32"] > psnr["ae_32"] and psnr["dae_32"] > psnr["vae_32"]


def test_the_intro_names_the_noise_the_dae_was_trained_on(app):
    app.run()
    intro = app.markdown[0].value
    assert "**dae_32** was trained on Gaussian noise σ = 0.4" in intro and "what it did not learn" in intro
    assert "should beat the noisy input" not in intro.split("Near that noise")[0]  # the claim is conditional


@pytest.mark.parametrize("kind, level, words", [
    # measured means: noisy 11.0, dae 17.2, ae 10.9
    ("gaussian", 0.4, "it beats the noisy input by a wide margin and beats **ae_32** by a wide margin."),
    # noisy 29.7, dae 15.6, ae 16.6: the box is not what it learned
    ("mask", 0.3, "it does worse than the noisy input and "),
    # noisy 16.8, dae 17.5: weak noise leaves little to remove
    ("gaussian", 0.2, "it is about level with the noisy input and beats **ae_32** by a wide margin. It was trained "
                      "to remove Gaussian noise σ = 0.4, not this"),
])
def test_the_verdict_is_worded_from_the_numbers_shown(app, kind, level, words):
    app.query_params.update({"noise": kind, "level": str(level)})
    app.run()
    assert not app.exception and not app.error
    shown = summary_numbers(app)
    text = verdict_text(app)
    assert words in text
    # the DAE wins clearly only at its training noise; elsewhere the sentence says what it was trained on
    unseen = (kind, level) != denoise_page.DEFAULT_NOISE
    assert ("It was trained to remove Gaussian noise σ = 0.4, not this" in text) == unseen
    reached, vs_noisy, vs_ae = (float(v) for v in re.search(
        r"reaches ([\d.]+) dB, ([+-][\d.]+) dB against the noisy input and ([+-][\d.]+) dB against", text).groups())
    assert reached == shown["dae_32"]
    assert vs_noisy == pytest.approx(shown["dae_32"] - shown["noisy"], abs=0.11)
    assert vs_ae == pytest.approx(shown["dae_32"] - shown["ae_32"], abs=0.11)


@pytest.mark.parametrize("dae, ae, noisy, expected, won", [
    (17.2, 10.9, 11.0, "beats the noisy input by a wide margin and beats **ae_32** by a wide margin.", True),
    (14.0, 12.9, 11.0, "beats the noisy input by a wide margin and beats **ae_32**.", True),
    (14.0, 13.1, 11.0, "beats the noisy input by a wide margin and is about level with **ae_32**.", False),
    (13.0, 12.5, 11.0, "beats the noisy input and is about level with **ae_32**.", False),
    (15.6, 16.2, 29.7, "does worse than the noisy input and is about level with **ae_32**.", False),
    (15.56, 16.55, 29.7, "does worse than the noisy input and does worse than **ae_32**.", False),  # shown as −1.0
    (17.5, 12.8, 16.55, "is about level with the noisy input and beats **ae_32** by a wide margin.", False),
])
def test_verdict_words_follow_the_rounded_differences(dae, ae, noisy, expected, won):
    summaries = {"dae_32": {"psnr": dae}, "ae_32": {"psnr": ae}}
    text = denoise.verdict(summaries, {"dae_32": "dae", "ae_32": "ae"}, noisy,
                                trained_on="Gaussian noise σ = 0.4")
    assert expected in text
    assert ("It was trained to remove Gaussian noise σ = 0.4, not this" in text) == (not won)


def test_verdict_says_when_the_noise_was_the_training_noise():
    text = denoise.verdict({"dae_32": {"psnr": 12.0}}, {"dae_32": "dae"}, 11.5,
                                trained_on="Gaussian noise σ = 0.4", seen=True)
    assert text.endswith("It was trained on exactly this noise (Gaussian noise σ = 0.4).")
    assert denoise.seen_in_training("gaussian", 0.4, "gaussian", 0.4)
    assert not denoise.seen_in_training("gaussian", 0.4, "gaussian", 0.2)
    assert not denoise.seen_in_training("mask", 0.3, "mask", 0.3)  # pixel masking in training, a box here


# --- the latent map ----------------------------------------------------------------------------------

def test_each_map_joins_the_clean_and_noisy_code_of_every_shown_digit(app):
    app.run()
    for name in denoise_page.DEFAULT_MODELS:
        spec = chart(app, f"dn_map_{name}")
        clean, noisy, lines = xy(trace(spec, "highlighted")), xy(trace(spec, "noisy")), xy(trace(spec, "shift"))
        assert len(clean) == len(noisy) == denoise_page.N_SHOWN
        assert trace(spec, "shift")["mode"] == "lines"
        # one segment per digit: clean code, noisy code, a gap
        assert lines.shape == (3 * denoise_page.N_SHOWN, 2) and np.isnan(lines[2::3]).all()
        np.testing.assert_allclose(lines[0::3], clean, atol=1e-4)
        np.testing.assert_allclose(lines[1::3], noisy, atol=1e-12)
        assert (np.linalg.norm(noisy - clean, axis=1) > 0).all()  # noise moves every code
        # the same digit at both ends of each line
        noisy_ids = array(trace(spec, "noisy")["customdata"]).reshape(-1).tolist()
        assert noisy_ids == array(trace(spec, "highlighted")["customdata"])[:, 0].tolist()
