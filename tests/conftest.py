import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

torch.set_num_threads(2)


@pytest.fixture
def tiny_images():
    """16 random 8x8 images in [0, 1], seeded."""
    return torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8×8 digits (they ship with it): a real dataset that trains in seconds."""
    from explorer.data import load_dataset

    return load_dataset("digits")


@pytest.fixture(params=["ae", "vae"])
def model(request):
    """A stand-in AE and VAE (tests/standins.py) whose every number the test controls, in eval mode."""
    from standins import TinyAE, TinyVAE

    return {"ae": TinyAE, "vae": TinyVAE}[request.param]().eval()


@pytest.fixture(scope="session")
def checkpoint_copy(tmp_path_factory):
    """A private copy of the shipped checkpoints, so app tests that save models leave the repo alone."""
    import os
    import shutil

    source = Path(os.environ.get("LATENT_LAB_CHECKPOINTS", ROOT / "checkpoints"))
    target = tmp_path_factory.mktemp("checkpoints") / "checkpoints"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*"))
    return target


@pytest.fixture
def app_env(checkpoint_copy, monkeypatch):
    """Point explorer at the private checkpoint copy for AppTest runs in this process."""
    from explorer import checkpoints

    monkeypatch.setenv("LATENT_LAB_CHECKPOINTS", str(checkpoint_copy))
    monkeypatch.setattr(checkpoints, "DEFAULT_DIR", checkpoint_copy)
    return checkpoint_copy


@pytest.fixture(scope="session")
def app_url(checkpoint_copy):
    """Base URL of a real `streamlit run app.py` serving the private checkpoint copy."""
    from browser import streamlit_server

    with streamlit_server(checkpoint_copy) as server:
        yield server.url


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    from browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()


@pytest.fixture
def page_app(app_env):
    """AppTest of one page: `page_app("compare_page")` runs ui.compare_page.render() as a script."""
    from streamlit.testing.v1 import AppTest

    def make(module: str) -> "AppTest":
        script = f"from ui import {module}\n{module}.render()\n"
        return AppTest.from_string(script, default_timeout=180)

    return make


@pytest.fixture
def app(page_app, request):
    """AppTest of the page a test module names in its PAGE, e.g. PAGE = "train_page"."""
    return page_app(request.module.PAGE)


@pytest.fixture
def whole_app(app_env):
    """AppTest of app.py itself (navigation included); opens on the default page."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)


@pytest.fixture
def digits_model(app_env):
    """An untrained 8×8 AE for sklearn's `digits`, saved beside the shipped mnist5k models (removed after):
    a model of another dataset, for pages that must not mix datasets."""
    import shutil

    from explorer import checkpoints
    from explorer.models import ModelConfig, build_model

    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="ae", image_shape=(1, 8, 8), latent_dim=2, hidden=(16,)))
    path = checkpoints.save(model, app_env / "digits_ae", {"dataset": "digits"})
    yield path.name
    shutil.rmtree(path)


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`--dist loadgroup`), each test file runs whole, in its own order, on one worker, as it
    does in a serial run: several files' tests share state within the file (a job's staging folder, the
    β ladder's checkpoints). Files that start a Ray head share one group instead (`xdist_group("ray")`)."""
    for item in items:
        if not any(mark.name == "xdist_group" for mark in item.iter_markers()):
            item.add_marker(pytest.mark.xdist_group(Path(item.fspath).stem))
