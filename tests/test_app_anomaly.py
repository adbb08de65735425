"""The anomaly page under AppTest: scores, threshold, uploads and one-class training."""


import numpy as np
import pytest
import torch

from chart_json import array, chart
from standins import png_bytes
from explorer import anomaly, checkpoints, data, drawing
from ui import anomaly_page


PAGE = "anomaly_page"  # the conftest fixture `app` runs this page


def pr_sentence(app) -> str:
    return next(m.value for m in app.markdown if m.value.startswith("At threshold"))




def trace(spec: dict, name: str) -> dict:
    [found] = [t for t in spec["data"] if t.get("name") == name]
    return found


def mosaic_captions(spec: dict) -> list[str]:
    """The per-input captions of an error mosaic: the tick labels under its error-map row."""
    return spec["layout"]["xaxis3"]["ticktext"]


@pytest.fixture(scope="module")
def ae_32_scores():
    """Scores of ae_32 computed here, not by the page: (model, test split scores, odd-input scores by set)."""
    model = checkpoints.load(checkpoints.DEFAULT_DIR / "ae_32").model
    x_test = data.load_dataset("mnist5k").x_test
    odd = {kind: anomaly.reconstruction_scores(model, x) for kind, x in anomaly.ood_sets(x_test, n=100, seed=0).items()}
    return model, anomaly.reconstruction_scores(model, x_test), odd


def one_class_table(app):
    """The held-out digits' AUROC table (the only dataframe with a "digit" column), or None."""
    tables = [d.value for d in app.dataframe if "digit" in d.value.columns]
    assert len(tables) <= 1
    return tables[0] if tables else None


def train_one_class(app, normal: list[int], epochs: int) -> None:
    app.multiselect(key="an_normal").set_value(normal)
    app.slider(key="an_epochs").set_value(epochs)
    app.button(key="an_train").click().run()


def test_anomaly_page_renders_without_exception(app):
    app.run()
    assert not app.exception and not app.error
    assert app.title[0].value == "Anomalies"
    assert app.selectbox(key="an_model").value == "ae_32"
    assert [m.label for m in app.metric][:4] == ["Precision", "Recall", "False alarms", "ROC AUC"]
    assert len(app.dataframe[0].value) == 1 + len(app.multiselect(key="an_ood").value)
    assert float(app.query_params["thr"]) == app.select_slider(key="an_threshold").value


def test_histogram_roc_worst_inputs_and_score_map_are_drawn(app, ae_32_scores):
    app.run()
    _, test_scores, odd = ae_32_scores
    chosen = app.multiselect(key="an_ood").value
    n_odd = sum(len(odd[k]) for k in chosen)

    hist = chart(app, "an_hist")
    np.testing.assert_allclose(array(trace(hist, "test digits")["x"]).astype(float), np.log10(test_scores), rtol=1e-4)
    assert len(array(trace(hist, "odd inputs")["x"])) == n_odd

    roc = chart(app, "an_roc")
    auc = float(next(m.value for m in app.metric if m.label == "ROC AUC"))
    curve = trace(roc, f"ROC (AUC = {auc:.3f})")
    fpr, tpr = array(curve["x"]).astype(float), array(curve["y"]).astype(float)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1) and len(fpr) > 100
    assert np.trapezoid(tpr, fpr) == pytest.approx(auc, abs=1e-3)
    assert auc == pytest.approx(anomaly.auroc(test_scores, np.concatenate([odd[k] for k in chosen])), abs=1e-3)
    assert [t["name"] for t in roc["data"]][0] == "chance"

    worst = chart(app, "an_worst")
    assert [t["type"] for t in worst["data"]] == ["heatmap"] * 3  # input, reconstruction, error map
    top = np.argsort(-test_scores, kind="stable")[:anomaly_page.N_WORST]
    assert [c.split("<br>")[0].split("#")[1] for c in mosaic_captions(worst)] == [str(i) for i in top]

    scores_map = chart(app, "an_map")
    digits = trace(scores_map, "digits")
    np.testing.assert_allclose(array(digits["marker"]["color"]).astype(float), np.log10(test_scores), rtol=1e-4)
    assert digits["marker"]["colorbar"]["title"]["text"] == "log10 score"
    ringed = array(trace(scores_map, "highlighted")["customdata"])[:, 0]
    assert sorted(ringed.tolist()) == sorted(top.tolist())
    assert len(trace(scores_map, "odd inputs")["text"]) == n_odd


def test_threshold_changes_precision_and_recall(app):
    app.run()
    before = pr_sentence(app)
    slider = app.select_slider(key="an_threshold")
    lowest = float(slider.options[0])
    slider.set_value(lowest).run()
    assert not app.exception
    after = pr_sentence(app)
    assert after != before
    assert "(recall 1.00)" in after  # everything scores above the lowest stop
    assert app.metric[1].value == "1.00"
    assert float(app.query_params["thr"]) == lowest


def test_choosing_a_pool_of_odd_inputs_shows_them(app, ae_32_scores):
    app.run()
    assert all(c.startswith("digit ") for c in mosaic_captions(chart(app, "an_worst")))
    app.radio(key="an_pool").set_value("inverted").run()
    assert not app.exception and not app.error
    spec = chart(app, "an_worst")
    captions = mosaic_captions(spec)
    assert len(captions) == anomaly_page.N_WORST
    assert all(c.startswith("Inverted #") for c in captions)
    # the highest-scoring inverted digits, highest first, with their scores
    _, _, odd = ae_32_scores
    top = np.argsort(-odd["inverted"], kind="stable")[:anomaly_page.N_WORST]
    assert captions == [f"Inverted #{i}<br>score {odd['inverted'][i]:.3g}" for i in top]
    inputs = array(spec["data"][0]["z"]).astype(float)  # the input row: inverted digits are bright all over
    assert np.nanmean(inputs) > 0.5


def test_no_odd_inputs_asks_for_some(app):
    app.run()
    app.multiselect(key="an_ood").set_value([]).run()
    assert not app.exception
    assert any("Pick at least one kind of odd input" in i.value for i in app.info)
    assert app.radio(key="an_pool").value == "test"


def test_model_switch_resets_the_threshold_into_range(app):
    app.run()
    app.select_slider(key="an_threshold").set_value(float(app.select_slider(key="an_threshold").options[-1])).run()
    app.selectbox(key="an_model").set_value("conv_ae_32").run()
    assert not app.exception
    slider = app.select_slider(key="an_threshold")
    assert float(slider.options[0]) <= slider.value <= float(slider.options[-1])


def test_upload_of_a_text_file_named_png_shows_an_error(app):
    app.run()
    app.file_uploader(key="an_upload").set_value(("digit.png", b"this is not a picture", "image/png")).run()
    assert not app.exception
    assert any("digit.png" in e.value and "not an image" in e.value for e in app.error)


def test_upload_of_a_digit_is_scored(app, ae_32_scores):
    one = np.zeros((40, 40))
    one[8:32, 18:23] = 1.0  # a "1"
    noise = np.zeros((40, 40))
    noise[6:34, 6:34] = np.random.default_rng(0).random((28, 28))  # a square of noise: no digit at all
    uploads = {"one.png": png_bytes(one), "noise.png": png_bytes(noise)}
    app.run()
    app.file_uploader(key="an_upload").set_value([(name, png, "image/png") for name, png in uploads.items()]
                                                 + [("bad.png", b"", "image/png")]).run()
    assert not app.exception
    assert len(app.error) == 1 and "bad.png" in app.error[0].value
    captions = mosaic_captions(chart(app, "an_upload_mosaic"))
    assert [c.split("<br>")[0] for c in captions] == ["one.png", "noise.png"]
    model, test_scores, _ = ae_32_scores
    expected = {}
    for name, png in uploads.items():  # the page's preprocessing, then ae_32's score, computed here
        image = torch.from_numpy(drawing.to_mnist(drawing.load_image(png)))[None, None]  # (1, 1, 28, 28)
        expected[name] = float(anomaly.reconstruction_scores(model, image)[0])
    shown = {}
    for caption, name in zip(captions, uploads):
        score = caption.split("<br>")[1].split(":")[0]
        assert score == f"{expected[name]:.3g}"
        shown[name] = float(score)
        rank = float((test_scores < expected[name]).mean())
        assert caption.endswith(f"above {rank:.0%} of digits")
    assert shown["noise.png"] > 5 * shown["one.png"]  # measured: 0.034 vs 0.0022
    threshold = app.select_slider(key="an_threshold").value
    assert (": flagged" in captions[1]) == (shown["noise.png"] > threshold) and ": flagged" in captions[1]
    assert ": looks normal" in captions[0]


def test_one_class_training_shows_the_auroc_table(app):
    app.run()
    train_one_class(app, [0], epochs=2)
    assert not app.exception and not app.error
    table = one_class_table(app)
    assert list(table["digit"]) == [str(d) for d in range(1, 10)]
    # a learned detector, not chance (0.5): measured 0.948-0.965 over 5 training seeds at 2 epochs
    assert table["auroc"].mean() > 0.85 and table["auroc"].min() > 0.75
    [label] = [m.label for m in app.metric if m.label.startswith("ROC AUC, normal digits")]
    assert label == "ROC AUC, normal digits 0 vs all others"
    assert float(app.metric[-1].value) > 0.85
    hist = chart(app, "an_one_class_hist")
    assert [t["name"] for t in hist["data"]] == ["normal digits (0)", "other digits"]
    assert not app.warning
    # a changed choice marks the results as out of date
    app.multiselect(key="an_normal").set_value([3]).run()
    [warning] = [w.value for w in app.warning]
    assert "**Out of date**" in warning and "normal digits 0 after 2 epochs" in warning and "Press **Train**" in warning
    assert any(m.label.endswith("(out of date)") for m in app.metric)


def test_one_class_results_go_stale_when_the_epochs_change(app):
    app.run()
    train_one_class(app, [1], epochs=1)
    assert not app.warning
    app.slider(key="an_epochs").set_value(3).run()
    [warning] = [w.value for w in app.warning]
    assert "after 1 epoch," in warning and "you now chose 3 epochs" in warning
    app.button(key="an_train").click().run()  # retrained for the new choice: up to date again
    assert not app.warning and not any(m.label.endswith("(out of date)") for m in app.metric)


def test_one_class_results_survive_a_model_of_the_same_dataset(app):
    app.run()
    train_one_class(app, [1], epochs=1)
    before = one_class_table(app)
    app.selectbox(key="an_model").set_value("conv_ae_32").run()  # also mnist5k: the detector still applies
    assert not app.exception and not app.warning
    assert one_class_table(app).equals(before)


def test_one_class_results_are_cleared_when_the_dataset_changes(app, digits_model):
    app.run()
    train_one_class(app, [1], epochs=1)
    app.selectbox(key="an_model").set_value(digits_model).run()
    assert not app.exception
    assert any("for **mnist5k**" in i.value and "**digits**" in i.value and "cleared" in i.value for i in app.info)
    assert one_class_table(app) is None
    assert "an_one_class" not in app.session_state
    # the one-class tab still works on the new dataset (its odd-input sets need 28×28 digits, it does not)
    app.button(key="an_train").click().run()
    assert not app.exception
    assert list(one_class_table(app)["digit"]) == [str(d) for d in range(10) if d != 1]


def test_url_threshold_is_snapped_to_a_slider_stop(app, page_app):
    app.run()
    stop = float(app.select_slider(key="an_threshold").options[40])
    fresh = page_app("anomaly_page")
    fresh.query_params.update({"model": "ae_32", "thr": repr(stop * 1.001)})
    fresh.run()
    assert not fresh.exception and not fresh.warning
    assert fresh.select_slider(key="an_threshold").value == stop
