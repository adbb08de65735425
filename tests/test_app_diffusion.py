"""The Diffusion page under AppTest: four routes from one seed, each judged; the reverse paths on the map."""

import pytest

from explorer import checkpoints

pytestmark = pytest.mark.skipif(not (checkpoints.DEFAULT_DIR / "diffusion_ae_32").exists(), reason="no shipped prior")


@pytest.fixture
def app(page_app):
    return page_app("diffusion_page")


def frechet(app) -> list[float]:
    return [float(m.value) for m in app.metric if m.label.startswith("Fréchet")]


def test_four_routes_each_with_its_frechet_distance_and_histogram(app):
    app.run()
    assert not app.exception and not app.error
    distances = frechet(app)
    assert len(distances) == 4
    gauss_ae, gauss_vae, prior_ae, prior_vae = distances
    assert prior_ae < gauss_ae  # the learned prior gives the plain AE digits that N(0, I) cannot
    charts = app.get("plotly_chart")
    assert len(charts) == 5  # four histograms and the map with the reverse paths


def test_steps_and_seed_come_from_the_link_and_change_the_samples(page_app):
    app = page_app("diffusion_page")
    app.query_params["steps"] = "20"
    app.query_params["seed"] = "3"
    app.run()
    assert app.slider(key="dif_steps").value == 20 and app.number_input(key="dif_seed").value == 3
    first = frechet(app)
    app.number_input(key="dif_seed").set_value(4).run()
    assert frechet(app)[2] != first[2]


def test_a_bad_link_leaves_a_notice(page_app):
    app = page_app("diffusion_page")
    app.query_params["steps"] = "5000"
    app.run()
    assert any("steps=5000" in w.value for w in app.warning)
    assert app.slider(key="dif_steps").value == 50
