"""Every chart says what it shows in words: the summaries (explorer's figure modules) that become an
st.plotly_chart's `alt` or a latent map's aria-label, built from the figure's own arrays; then, under AppTest,
every chart of every page carries one, specific to what it draws."""

import json
import re

import numpy as np
import pytest
import torch

from explorer import anatomy, bottleneck_figures, figure_text, figures, lesson_figures
from explorer.compression import RatePoint
from explorer.reparam import Posterior

CLASSES = [str(d) for d in range(10)]


def blobs(per_blob=40, seed=0):
    """Four tight clusters of classes 0-3 at the corners of a square: (xy (N, 2), labels (N,))."""
    rng = np.random.default_rng(seed)
    centres = np.array([[-5, -5], [-5, 5], [5, -5], [5, 5]], dtype=float)
    xy = np.concatenate([c + rng.normal(scale=0.5, size=(per_blob, 2)) for c in centres])
    return xy, np.repeat(np.arange(4), per_blob)


# --- numbers as a screen reader reads them ---------------------------------------------------------


@pytest.mark.parametrize("value, text", [(0, "0"), (0.5, "0.5"), (12.345, "12.3"), (0.0123, "0.0123"),
                                         (1.23e-5, "0.0000123"), (-2.1, "-2.1"), (999.6, "1,000"),
                                         (245_310, "245,310"), (float("nan"), "none")])
def test_numbers_have_three_significant_digits_and_never_an_exponent(value, text):
    assert figure_text.number_text(value) == text


# --- latent maps --------------------------------------------------------------------------------------


def test_a_map_summary_counts_the_digits_and_names_the_axes_and_classes():
    xy, labels = blobs()
    base = figures.digit_points(xy, labels, np.arange(len(xy)), CLASSES)
    text = figure_text.map_summary([base], figures.map_layout(["UMAP-1", "UMAP-2"]))
    assert text == ("Latent map: 160 digits plotted by UMAP-1 against UMAP-2, one colour per class "
                    "(10 classes, 0 to 9).")


def test_a_map_summary_says_which_digits_are_ringed_and_where_a_new_point_lands():
    xy, labels = blobs()
    ids = np.arange(len(xy))
    ringed = figures.highlight_points(xy, labels, ids, CLASSES, [3, 45])
    star = figures.overlay(np.array([[5.1, 4.9]]), "your digit", marker=dict(symbol="star"))
    path = figures.path_line(np.linspace(xy[3], xy[45], 10))
    text = figure_text.map_summary([figures.digit_points(xy, labels, ids, CLASSES), ringed, None, path, star],
                               figures.map_layout(["PC1", "PC2"]), subject="Map of ae_2")
    assert text.startswith("Map of ae_2: 160 digits plotted by PC1 against PC2")
    assert "highlighted (2): #3 (class 0), #45 (class 1)" in text
    assert "path: a line through 10 points from start to end" in text
    assert "your digit: 1 point where 10 of its 10 nearest digits are class 3" in text  # the (5, 5) cluster


def test_a_map_summary_lists_a_few_ringed_digits_and_counts_the_rest():
    xy, labels = blobs()
    ids = np.arange(len(xy))
    ringed = figures.highlight_points(xy, labels, ids, CLASSES, list(range(10)))
    text = figure_text.map_summary([figures.digit_points(xy, labels, ids, CLASSES), ringed], figures.map_layout("ab"))
    assert "highlighted (10): #0 (class 0), #1 (class 0)" in text and "and 4 more" in text


def test_a_map_summary_counts_line_segments_and_names_the_title_and_a_value_colouring():
    xy, labels = blobs()
    base = figures.digit_points(xy, labels, np.arange(len(xy)), CLASSES, color_values=np.linspace(-3, -1, len(xy)),
                                color_title="log10 score")
    shifts = figures.overlay(np.array([[0, 0], [1, 1], [np.nan, np.nan], [2, 2], [3, 3]]), "shift", mode="lines")
    text = figure_text.map_summary([base, shifts], figures.map_layout(["PC1", "PC2"], title="ae_32 · codes move"))
    assert text.startswith("Latent map, ae_32 · codes move: 160 digits")
    assert "coloured by log10 score, from -3 to -1" in text
    assert "shift: 2 line segments" in text


def test_a_map_summary_names_class_names_thumbnails_and_three_axes():
    xy, labels = blobs()
    names = ["shirt", "trouser", "bag", "boot"]
    flat = figures.digit_points(xy, labels, np.arange(len(xy)), names)
    layout = {**figures.thumbnails(xy, np.zeros((len(xy), 8, 8))), **figures.map_layout(["PC1", "PC2"])}
    text = figure_text.map_summary([flat], layout)
    assert "(4 classes: shirt, trouser, bag, boot)" in text
    assert re.search(r" \d+ of them are drawn as small pictures where they lie\.$", text)
    xyz = np.column_stack([xy, xy[:, 0]])
    deep = figure_text.map_summary([figures.digit_points(xyz, labels, np.arange(len(xy)), names)],
                               figures.map_layout(["PC1", "PC2", "PC3"]))
    assert "plotted by PC1, PC2 and PC3 (a 3-D view)" in deep


def test_a_plotly_figure_reads_as_the_dicts_it_was_built_from():
    xy, labels = blobs()
    traces = [figures.digit_points(xy, labels, np.arange(len(xy)), CLASSES),
              figures.highlight_points(xy, labels, np.arange(len(xy)), CLASSES, [7])]
    layout = figures.map_layout(["PC1", "PC2"])
    fig = figures.map_figure(traces, layout)
    assert figure_text.map_summary(fig.data, fig.layout) == figure_text.map_summary(traces, layout)


# --- bar charts, histograms, curves ------------------------------------------------------------------


def test_kl_summary_counts_the_active_units_and_lists_them_largest_first():
    kl = np.array([0.001, 4.2, 0.5, 0.0, 1.25])
    assert figure_text.kl_summary(kl, 0.01, name="vae_beta_4") == (
        "Bar chart of the mean KL per latent unit of vae_beta_4, sorted from largest to smallest: 3 of 5 units above "
        "0.01 nats (active), 5.95 nats in all; the active ones, in nats: z1 4.2, z4 1.25, z2 0.5.")
    assert "0 of 2 units" in figure_text.kl_summary(np.zeros(2))


def test_code_bars_summary_gives_the_extremes_and_their_units():
    text = figure_text.code_bars_summary(np.array([0.5, -2.0, 3.0, 0.1]), subject="The code")
    assert text == ("The code: 4 bars, one per latent unit, from -2 (unit 1) to 3 (unit 2), median 0.3; "
                    "1 of them negative.")


def test_plane_summary_gives_the_share_read_as_a_digit_and_the_cells_that_come_back_elsewhere():
    confidence = np.array([[0.95, 0.2], [0.99, 0.5]])
    drift = np.array([[0.2, 3.0], [0.5, 1.5]])
    text = figure_text.plane_heat_map_summary(np.array([-1.0, 1.0]), np.array([-2.0, 2.0]), confidence, drift,
                                          confident=0.9, name="vae_2")
    assert "vae_2's 2-D code plane, z0 from -1 to 1 and z1 from -2 to 2, on a 2 by 2 grid" in text
    assert "50% of the plane is read as a digit with at least 90% confidence, 50% is not" in text
    assert "the 2 of 4 points" in text


def test_score_histogram_summary_gives_what_the_threshold_flags_as_the_anomaly_page_counts_it():
    from explorer import anomaly

    rng = np.random.default_rng(0)
    normal, odd = rng.lognormal(-4, 0.3, 200), rng.lognormal(-3, 0.5, 100)
    threshold = float(np.quantile(normal, 0.9))
    text = figure_text.score_histogram_summary(normal, odd, threshold, subject="ae_32's scores")
    precision, recall = anomaly.precision_recall_at(normal, odd, threshold)
    assert text.startswith("ae_32's scores: histograms on a log scale of 200 test digits (median ")
    assert f"flags {int((odd > threshold).sum())} of the 100 odd inputs and 20 of the 200 test digits" in text
    assert text.endswith(f"recall {recall:.0%}, precision {precision:.0%}.")


def test_roc_summary_gives_the_area_and_the_share_caught_at_five_percent_false_alarms():
    fpr, tpr = np.array([0, 0.02, 0.05, 0.3, 1.0]), np.array([0, 0.4, 0.7, 0.9, 1.0])
    text = figure_text.roc_summary(fpr, tpr, 0.8567, subject="ROC curve of ae_32")
    assert "area under the curve 0.857" in text and "false positive rate of 5% it catches 70%" in text


def test_error_mosaic_summary_gives_each_inputs_mean_error():
    maps = np.stack([np.full((4, 4), 0.01), np.full((4, 4), 0.2)])
    maps[1, 0, 0] = 0.9
    text = figure_text.error_mosaic_summary(maps, ["digit 7 #4", "digit 1 #9"], subject="The worst")
    assert text.startswith("The worst: 2 columns")
    assert "digit 7 #4 0.01, digit 1 #9 0.244" in text and text.endswith("is 0.9.")


def test_psnr_summary_names_each_model_and_the_best_gain_over_the_noisy_input():
    text = figure_text.psnr_summary({"dae_32": 19.24, "ae_32": 15.3}, 12.1, digits=500)
    assert "over the 500 test digits" in text and "dae_32 19.2, ae_32 15.3" in text
    assert text.endswith("Best: dae_32, 7.1 dB above the noisy input.")
    assert "1.1 dB below" in figure_text.psnr_summary({"ae_32": 11.0}, 12.1)


def test_loss_summary_gives_each_curve_from_its_first_to_its_last_epoch():
    history = [{"epoch": e, "train": {"total": 3.0 / e, "recon": 2.0 / e, "kl": 1.0},
                "test": {"total": 3.5 / e, "recon": 2.5 / e, "kl": 1.0} if e > 1 else None} for e in (1, 2, 3)]
    text = figure_text.loss_summary(history)
    assert text.startswith("Line chart of the loss per epoch over 3 epochs (solid: train, dashed: test; KL in nats")
    assert "train reconstruction from 2 at epoch 1 to 0.667 at epoch 3" in text
    assert figure_text.loss_summary([{"epoch": 1, "train": {"ce": 2.3}, "test": None}]) == (
        "Line chart of the loss per epoch over 1 epoch (solid: train, dashed: test): train cross-entropy 2.3 at "
        "epoch 1.")
    assert "test reconstruction from 1.25 at epoch 2 to 0.833 at epoch 3" in text


def test_accuracy_replay_tradeoff_and_class_summaries_give_their_numbers():
    assert figure_text.accuracy_summary([0.1, 0.8, 0.93, 0.92]) == (
        "Line chart of the test accuracy after each epoch: 10.0% untrained (epoch 0), 92.0% after epoch 3; "
        "the best 93.0% after epoch 2.")
    frames = [np.zeros((6, 2)), np.ones((6, 2))]
    replay = figure_text.replay_summary(frames, np.array([0, 1, 2, 0, 1, 2]), CLASSES, animate=True)
    assert replay.startswith("Latent map of 6 test digits after epoch 1") and "(3 classes, 0 to 2)" in replay
    assert "Play replays all 2 epochs" in replay
    points = [{"beta": 4.0, "kl": 6.7, "recon": 128.0, "name": "vae_beta_4"},
              {"beta": 0.5, "kl": 22.2, "recon": 93.7, "name": "vae_beta_0p5"}]
    tradeoff = figure_text.tradeoff_summary(points)
    assert "β 0.5 (vae_beta_0p5): KL 22.2 nats, reconstruction loss 93.7; β 4 (vae_beta_4)" in tradeoff
    assert tradeoff.endswith("the KL goes from 22.2 to 6.7 nats and the reconstruction loss from 93.7 to 128.")
    read = figure_text.class_histogram_summary([5, 0, 12], ["0", "1", "2"], subject="Read as")
    assert read == ("Read as: bars of how many of the 17 images are read as each class: 0 5, 1 0, 2 12. "
                    "Most often 2 (12).")


# --- the inside-the-model figures ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_anatomy():
    from explorer.models import ModelConfig, build_model

    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=2, hidden=(16,))).eval()
    return anatomy.anatomy(model, torch.rand(1, 8, 8, generator=torch.Generator().manual_seed(0)).numpy())


def test_network_summary_walks_the_layers_in_order_with_the_code_and_parameters(small_anatomy):
    text = bottleneck_figures.network_summary(small_anatomy, name="tiny_vae")
    assert text.startswith("Bar chart of tiny_vae's layers in running order")
    assert "input 1×8×8, then linear 16, then μ 2, then log σ² 2, then linear 16, then linear 64" in text
    assert f"holds 2 numbers, 32.0 times fewer than the 64 of the input. {small_anatomy.total_parameters:,} " in text


def test_activation_summary_has_one_part_per_layer(small_anatomy):
    text = bottleneck_figures.activation_summary(small_anatomy)
    assert text.startswith(f"Heat maps of what each of the {len(small_anatomy.stages)} layers outputs")
    assert text.count(";") == len(small_anatomy.stages) - 1


def test_dimension_and_posterior_summaries_give_mu_sigma_kl_and_the_samples_spread():
    post = Posterior(mu=np.array([1.0, -0.5]), sigma=np.array([0.1, 0.2]), kl=np.array([2.0, 0.005]))
    dims = bottleneck_figures.dimension_summary(post, name="vae_2")
    assert "2 nats in total, 1 of 2 dimensions above 0.01 nats" in dims
    assert "dimension 1: μ -0.5, σ 0.2, KL 0.005 nats" in dims
    wide = Posterior(mu=np.zeros(8), sigma=np.ones(8), kl=np.arange(8.0))
    assert "The largest KL: dimension 7: μ 0, σ 1, KL 7 nats." in bottleneck_figures.dimension_summary(wide, name="v")
    samples = post.mu + post.sigma * np.array([[0.5, 0.5], [1.5, 0.0], [3.0, 0.0], [0.0, 0.1]])
    text = bottleneck_figures.posterior_summary(post, samples, 5000, name="vae_2", zoom=True)
    assert "μ of 5,000 digits" in text and "μ = (1, -0.5)" in text and "σ = (0.1, 0.2)" in text
    assert text.endswith("4 samples z = μ + σ·ε as crosses: 50% within 1σ, 75% within 2σ.")


def test_rate_distortion_summary_gives_each_line_the_references_and_the_winners():
    curves = {"ae_32": [RatePoint("ae_32", "latent", 4.0, 12.0, bits=1),
                        RatePoint("ae_32", "latent", 30.0, 19.0, bits=8)],
              "PCA": [RatePoint("PCA", "pca", 10.0, 15.0, components=4),
                      RatePoint("PCA", "pca", 100.0, 25.0, components=32)]}
    text = bottleneck_figures.rate_distortion_summary(curves, {"PNG": 274.0}, budgets=(16, 64))
    assert "ae_32 from 4 bytes at 12.0 dB to 30 bytes at 19.0 dB; PCA from 10 bytes" in text
    assert "Dashed lines: lossless PNG 274 bytes." in text
    assert text.endswith("Sharpest: within 16 bytes PCA (15.0 dB); within 64 bytes ae_32 (19.0 dB).")


def test_the_lesson_maps_say_what_the_verdict_says():
    xy, labels = blobs()
    blank = lesson_figures.blank_map_summary(xy, ["UMAP-1", "UMAP-2"], name="vae_32")
    assert blank.startswith("Map of all 160 digits placed by vae_32's codes (UMAP-1 against UMAP-2)")
    result = dict(share=0.62, k=50, majority=3, neighbour=1)
    text = lesson_figures.landing_summary(labels, CLASSES, 45, 3, result, ["UMAP-1", "UMAP-2"])
    assert "digit #45 (class 1), is ringed" in text and "62% of the 50 digits nearest your dot are 3s" in text
    assert "closest neighbours on this map are the 1s" in text


# --- the latent map component carries its summary ---------------------------------------------------


def test_the_map_message_carries_its_text_alternative():
    from ui import latent_map

    sent = latent_map.message("/m/a.json", [], figures.map_layout(("a", "b")), plotly_url="/p.js", alt="A map")
    assert sent["alt"] == "A map"
    assert latent_map.message("/m/a.json", [], figures.map_layout(("a", "b")), plotly_url="/p.js")["key"] != sent["key"]


# --- every chart on every page (AppTest) --------------------------------------------------------------


def chart_alts(app) -> dict[str, str]:
    """{widget key: alt} of each st.plotly_chart (its proto's alt) and latent map (its message's) on the page."""
    from ui import latent_map

    found = {}

    def walk(node):
        for child in getattr(node, "children", {}).values():
            if child.type == "plotly_chart":
                found[child.proto.id.split("-", 2)[-1]] = child.proto.alt
            elif child.type == "bidi_component" and child.proto.component_name == latent_map.COMPONENT:
                found[child.proto.id.split("-", 2)[-1]] = json.loads(child.proto.json)["alt"]
            else:
                walk(child)

    walk(app._tree)
    return found


def opened(page_app, module: str, params: dict | None = None):
    app = page_app(module)
    app.query_params.update(params or {})
    app.run()
    assert not app.exception, app.exception
    return app


# (page, link parameters) -> the keys of the charts it must show, each with its own alt text
VIEWS = [
    ("generate_page", {}, {"gen_kl_chart"}),
    ("generate_page", {"model": "ae_32"}, {"gen_variance_chart"}),
    ("anomaly_page", {}, {"an_hist", "an_roc", "an_worst", "an_map"}),
    ("network_page", {}, {"net_layers", "net_activations", "net_code"}),
    ("reparam_page", {"model": "vae_2"}, {"rp_plane", "rp_dims"}),
    ("reparam_page", {"model": "vae_32"}, {"rp_dims"}),
    ("denoise_page", {}, {"dn_psnr", "dn_map_dae_32"}),
    ("diffusion_page", {}, {"dif_path_map", "dif_hist_N(0, I) → ae_32"}),
    ("compression_page", {}, {"lab_chart"}),
    ("train_page", {}, {"train_tradeoff", "train_ladder_vae_beta_4"}),
    ("map_page", {}, {"map_chart"}),
    ("map_page", {"ids": "3,400"}, {"map_chart"}),
    ("lessons_page", {"lesson": "2", "answer": "7@123", "reveal": "1"}, {"lesson2_map", "lesson2_reveal"}),
    ("lessons_page", {"lesson": "3", "answer": "same", "reveal": "1"}, {"lesson3_plane_ae_2", "lesson3_plane_vae_2"}),
    ("lessons_page", {"lesson": "5", "answer": "near_mu", "reveal": "1"}, {"lesson5_plane"}),
    ("lessons_page", {"lesson": "6", "answer": "8", "reveal": "1"}, {"lesson6_kl"}),
    ("lessons_page", {"lesson": "8", "answer": "0.02", "reveal": "1"}, {"lesson8_hist"}),
]


@pytest.mark.parametrize("module, params, keys", VIEWS, ids=[f"{m}-{'&'.join(p)}" for m, p, _ in VIEWS])
def test_every_chart_on_the_page_says_what_it_shows_with_numbers(page_app, module, params, keys):
    alts = chart_alts(opened(page_app, module, params))
    assert keys <= set(alts), f"missing charts: {keys - set(alts)}"
    for key, alt in alts.items():
        assert alt and len(alt) > 40, f"{key}: {alt!r}"
        assert re.search(r"\d", alt), f"{key} gives no number: {alt!r}"


def metric(app, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def test_the_anomaly_charts_give_the_pages_own_numbers(page_app):
    app = opened(page_app, "anomaly_page")
    alts = chart_alts(app)
    assert f"area under the curve {metric(app, 'ROC AUC')}" in alts["an_roc"]
    flagged = metric(app, "False alarms")  # "28 of 500"
    assert f"and {flagged.replace(' of ', ' of the ')} test digits:" in alts["an_hist"]
    assert f"recall {float(metric(app, 'Recall')):.0%}" in alts["an_hist"]
    assert all("ae_32" in alts[k] for k in ("an_hist", "an_roc", "an_worst", "an_map"))
    app.multiselect(key="an_normal").set_value([1])
    app.slider(key="an_epochs").set_value(1)
    app.button(key="an_train").click().run()
    alt = chart_alts(app)["an_one_class_hist"]
    assert alt.startswith("The one-class detector's anomaly scores of the test digits")
    assert re.search(r"histograms on a log scale of \d+ normal digits \(1\) \(median [\d.]+\) and \d+ other "
                     r"digits", alt)


def test_an_uploaded_pictures_file_name_stays_out_of_the_alt_text(page_app):
    from standins import png_bytes

    app = opened(page_app, "anomaly_page")
    seven = np.zeros((28, 28))
    seven[5:8, 6:22], seven[8:24, 17:20] = 1.0, 1.0
    app.file_uploader(key="an_upload").set_value(("[click me](http://x.example) seven.png", png_bytes(seven),
                                                  "image/png"))
    app.run()
    alt = chart_alts(app)["an_upload_mosaic"]
    assert alt.startswith("Your 1 picture as ae_32 rebuilds them") and ": 1 column, each an input" in alt
    assert "picture 1 (" in alt
    assert "click" not in alt and "seven" not in alt and "example" not in alt


def test_the_lessons_charts_give_the_verdicts_numbers(page_app):
    app = opened(page_app, "lessons_page", {"lesson": "6", "answer": "8", "reveal": "1"})
    verdict = next(s.value for s in [*app.success, *app.warning] if "units carry information" in s.value)
    active = re.search(r"(\d+ of \d+) units", verdict).group(1)
    kl_alt = chart_alts(app)["lesson6_kl"]
    assert f"vae_beta_4, sorted from largest to smallest: {active} units above 0.01 nats" in kl_alt
    app = opened(page_app, "lessons_page", {"lesson": "3", "answer": "same", "reveal": "1"})
    verdict = next(s.value for s in [*app.success, *app.warning] if "Points the judge" in s.value)
    ae_holes, vae_holes = re.findall(r"(\d+%) of the", verdict)
    alts = chart_alts(app)
    assert f"{ae_holes} is not" in alts["lesson3_plane_ae_2"] and f"{vae_holes} is not" in alts["lesson3_plane_vae_2"]


def test_a_selection_on_the_map_is_in_its_default_summary(page_app):
    app = opened(page_app, "map_page")
    assert chart_alts(app)["map_chart"].startswith("Latent map: 5,000 digits plotted by UMAP-1 against UMAP-2")
    app.session_state["map_chart"] = {"selection": {"point_indices": [3, 400]}}
    app.run()
    alt = chart_alts(app)["map_chart"]
    assert re.search(r"highlighted \(2\): #3 \(class \d\), #400 \(class \d\)", alt)
    assert "path: a line through 10 points from start to end" in alt


def test_the_compare_maps_default_summaries_name_their_models(page_app):
    alts = chart_alts(opened(page_app, "compare_page"))
    assert alts["cmp_left_chart"].startswith("Latent map, ae_2 · ") and "5,000 digits" in alts["cmp_left_chart"]
    assert alts["cmp_right_chart"].startswith("Latent map, vae_2 · ")


def drawn_four() -> dict:
    """What streamlit-drawable-canvas stores under its key for a drawn "4" (two strokes, white on black)."""
    import base64
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    pen = ImageDraw.Draw(image)
    pen.line([(100, 40), (70, 160), (200, 160)], fill=(255, 255, 255, 255), width=18, joint="curve")
    pen.line([(170, 60), (170, 250)], fill=(255, 255, 255, 255), width=18)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return {"drawing": {"raw": {"objects": [{"type": "path"}] * 2, "background": "#000"}, "data": url},
            "backgroundFit": None}


def test_a_drawn_digit_lands_on_each_map_in_words(page_app):
    app = opened(page_app, "draw_page")
    app.session_state["draw_canvas"] = drawn_four()
    app.run()
    alts = {k: v for k, v in chart_alts(app).items() if k.startswith("draw_map_")}
    assert alts
    for key, alt in alts.items():
        assert alt.startswith(f"Map of {key.removeprefix('draw_map_')}'s codes, your digit starred")
        assert re.search(r"your digit: 1 point where \d+ of its 10 nearest digits are class \d", alt)


def train(app, kind: str | None = None, **sliders) -> None:
    """A one-epoch run of `kind` on the 8×8 digits, waited for, then the page rerun as its fragment would."""
    from ui import train_page

    app.selectbox(key="train_dataset").set_value("digits")
    if kind:
        app.selectbox(key="train_kind").set_value(kind).run()
    for name, value in sliders.items():
        (app.select_slider if name == "latent" else app.slider)(key=f"train_{name}").set_value(value)
    app.button(key="train_start").click().run()
    assert train_page.registry().wait(app.query_params["job"], timeout=180).phase == "finished"
    app.run()
    assert not app.exception, app.exception


def test_a_training_runs_charts_say_what_they_show(page_app):
    app = opened(page_app, "train_page")
    train(app, latent=4, epochs=2)
    alts = chart_alts(app)
    assert alts["train_loss"].startswith("Line chart of the loss per epoch over 2 epochs")
    assert "at epoch 1 to" in alts["train_loss"]
    assert alts["train_latent_map"].startswith("Latent map of ") and "after epoch 2" in alts["train_latent_map"]
    app = opened(page_app, "train_page")
    train(app, "classifier", epochs=1)
    assert re.match(r"Line chart of the test accuracy after each epoch: [\d.]+% untrained \(epoch 0\), [\d.]+% after "
                    r"epoch 1", chart_alts(app)["train_accuracy"])
