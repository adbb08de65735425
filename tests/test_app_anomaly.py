"""The anomaly page under AppTest: scores, threshold, uploads and one-class training."""

import io

import numpy as np
import pytest
from PIL import Image

from ui import anomaly_page


@pytest.fixture
def app(page_app):
    return page_app("anomaly_page")


def pr_sentence(app) -> str:
    return next(m.value for m in app.markdown if m.value.startswith("At threshold"))


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((image * 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def test_anomaly_page_renders_without_exception(app):
    app.run()
    assert not app.exception and not app.error
    assert app.title[0].value == "Anomalies"
    assert app.selectbox(key="an_model").value == "ae_32"
    assert [m.label for m in app.metric][:4] == ["Precision", "Recall", "False alarms", "ROC AUC"]
    assert len(app.dataframe[0].value) == 1 + len(app.multiselect(key="an_ood").value)
    assert float(app.query_params["thr"]) == app.select_slider(key="an_threshold").value


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


def test_choosing_a_pool_of_odd_inputs_shows_them(app):
    app.run()
    app.radio(key="an_pool").set_value("inverted").run()
    assert not app.exception and not app.error


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


def test_upload_of_a_digit_is_scored(app):
    image = np.zeros((40, 40))
    image[8:32, 18:23] = 1.0  # a "1"
    app.run()
    app.file_uploader(key="an_upload").set_value([("one.png", png_bytes(image), "image/png"),
                                                  ("bad.png", b"", "image/png")]).run()
    assert not app.exception
    assert len(app.error) == 1 and "bad.png" in app.error[0].value


def test_read_uploads_never_raises():
    class Upload:
        def __init__(self, name, data):
            self.name, self.data = name, data

        def getvalue(self):
            return self.data

    image = np.zeros((30, 30))
    image[5:25, 12:17] = 1.0
    images, names, problems = anomaly_page.read_uploads([Upload("a.png", png_bytes(image)), Upload("b.png", b"junk")])
    assert names == ["a.png"] and images[0].shape == (28, 28)
    assert len(problems) == 1 and "b.png" in problems[0]
    assert anomaly_page.read_uploads(None) == ([], [], [])


def test_one_class_training_shows_the_auroc_table(app):
    app.run()
    app.multiselect(key="an_normal").set_value([0, 1])
    app.slider(key="an_epochs").set_value(1)
    app.button(key="an_train").click().run()
    assert not app.exception and not app.error
    table = app.dataframe[-1].value
    assert list(table["digit"]) == [str(d) for d in range(2, 10)]
    assert table["auroc"].between(0, 1).all()
    assert any(m.label.startswith("ROC AUC, normal digits 0, 1") for m in app.metric)
    # a changed choice says the results are for the old one
    app.multiselect(key="an_normal").set_value([3]).run()
    assert any("press **Train**" in i.value for i in app.info)


@pytest.mark.parametrize("params", [{"model": "no_such_model"}, {"thr": "-1"}, {"thr": "abc"}, {"thr": "1e9"},
                                    {"odd": "cats"}])
def test_bad_url_parameters_fall_back_with_a_notice(app, params):
    app.query_params.update(params)
    app.run()
    assert not app.exception
    assert any("Ignored" in w.value for w in app.warning)


def test_url_threshold_is_snapped_to_a_slider_stop(app, page_app):
    app.run()
    stop = float(app.select_slider(key="an_threshold").options[40])
    fresh = page_app("anomaly_page")
    fresh.query_params.update({"model": "ae_32", "thr": repr(stop * 1.001)})
    fresh.run()
    assert not fresh.exception and not fresh.warning
    assert fresh.select_slider(key="an_threshold").value == stop


def test_threshold_options_are_log_spaced_and_cover_the_scores():
    scores = np.array([0.01, 0.02, 0.5])
    options = anomaly_page.threshold_options(scores)
    assert options == sorted(options) and options[0] < 0.01 and options[-1] > 0.5
    assert anomaly_page.nearest(options, 0.02) == pytest.approx(0.02, rel=0.05)
