"""Robust in a classroom: nothing a user does crashes the app, corrupts a checkpoint or reaches
files outside the project.

Every test feeds one bad input or fault and asserts two things: what the user is told, and that
the checkpoints folder is byte-for-byte what it was (`snapshot`). Broken checkpoints live in a
private folder per test (`folder`): the good ones are symlinks to the session's private copy, the
broken ones real copies with names no other test uses (model caches are keyed by name).
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import pickle
import random
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from chart_json import specs
from safetensors.torch import load_file, save_file

from explorer import checkpoints, data
from explorer.errors import CheckpointError, ExplorerError
from ui import pages
from test_app_draw import assert_models_read_the_digit, draw, four, png, upload
from test_drawing import png_header_only

ROOT = Path(__file__).resolve().parent.parent
PAGES = [info.module for info in pages.PAGES]
TITLES = {info.module: info.title for info in pages.PAGES}
MODEL_KEYS = {"map_page": "map_model", "compare_page": "cmp_right", "generate_page": "gen_model",
              "anomaly_page": "an_model"}


# ---------------------------------------------------------------- helpers


def snapshot(root: Path) -> dict[str, tuple]:
    """Every file and folder under root (through symlinks): size, mtime and a hash of the bytes."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root) + "/"] = ()
        for f in filenames:
            path = Path(dirpath) / f
            stat = path.stat()
            out[os.path.relpath(path, root)] = (stat.st_size, stat.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


@pytest.fixture
def folder(app_env, tmp_path, monkeypatch):
    """A private checkpoints folder: symlinks to the good checkpoints; add broken ones with `add_copy`."""
    root = tmp_path / "checkpoints"
    root.mkdir()
    for item in sorted(app_env.iterdir()):
        if item.is_dir():
            (root / item.name).symlink_to(item, target_is_directory=True)
    monkeypatch.setenv("LATENT_LAB_CHECKPOINTS", str(root))
    monkeypatch.setattr(checkpoints, "DEFAULT_DIR", root)
    return root


def add_copy(root: Path, source: str, name: str) -> Path:
    """A real copy of a good checkpoint under a new name (no symlink, so it can be damaged)."""
    target = root / name
    shutil.copytree((root / source).resolve(), target)
    return target


def edit_config(path: Path, **model) -> None:
    info = json.loads((path / "config.json").read_text())
    info["model"].update(model)
    (path / "config.json").write_text(json.dumps(info))


def texts(app, kind: str) -> list[str]:
    return [element.value for element in getattr(app, kind)]


def sidebar_texts(app) -> list[str]:
    return [element.value for element in app.sidebar.get("text")]


UNPICKLED: list[str] = []


def _unpickled(tag: str) -> dict:
    UNPICKLED.append(tag)
    return {}


class Trap:
    """Unpickling this calls _unpickled: the benign stand-in for a pickle that runs code when loaded."""

    def __reduce__(self):
        return _unpickled, ("trap",)


TRAP = pickle.dumps({"state_dict": Trap()})


@pytest.fixture
def never_unpickle(monkeypatch):
    """Fails the test if a checkpoint file is unpickled: the trap records it, torch.load refuses."""
    calls = UNPICKLED
    calls.clear()

    def refuse(*args, **kwargs):
        calls.append("torch.load")
        raise AssertionError("torch.load was called")

    monkeypatch.setattr(torch, "load", refuse)
    yield calls
    calls.clear()


# ---------------------------------------------------------------- uploads on the Draw page
# Text files named .png, empty files, 1×1 images and a 6000×6000 image are in test_app_draw.py.


@pytest.fixture
def draw_app(page_app, app_env):
    return page_app("draw_page")


def truncated_png() -> bytes:
    data_ = png(four())
    return data_[: len(data_) // 2]


def sixteen_bit_png() -> bytes:
    gray = np.asarray(four().convert("L"), np.uint16) * 257  # 0..65535
    return png(Image.fromarray(gray))


def transparent_png() -> bytes:
    """Dark ink on a fully transparent background, as drawing apps export."""
    return png(four(ink=(20, 20, 20, 255), paper=(0, 0, 0, 0)))


def animated_gif() -> bytes:
    first, second = four().convert("L"), Image.new("L", (280, 280), 128)
    buffer = io.BytesIO()
    first.save(buffer, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    return buffer.getvalue()


@pytest.mark.parametrize("name, make, message", [
    ("half.png", truncated_png, "damaged or incomplete"),
    ("bomb.png", lambda: png_header_only(20000, 20000), "too large to open safely"),
], ids=["truncated-png", "20000x20000-bomb"])
def test_a_bad_upload_is_explained_and_the_next_upload_works(draw_app, app_env, name, make, message):
    before = snapshot(app_env)
    upload(draw_app, name, make())
    assert not draw_app.exception
    assert len(draw_app.error) == 1 and message in draw_app.error[0].value
    assert not specs(draw_app)
    draw_app.file_uploader(key="draw_upload").set_value(("digit.png", png(four()), "image/png"))
    draw_app.run()
    assert_models_read_the_digit(draw_app)
    assert snapshot(app_env) == before


@pytest.mark.parametrize("name, make, mime", [
    ("deep.png", sixteen_bit_png, "image/png"),
    ("clear.png", transparent_png, "image/png"),
    ("wave.gif", animated_gif, "image/gif"),
], ids=["16-bit-png", "rgba-transparent-png", "animated-gif"])
def test_unusual_but_valid_images_are_read(draw_app, app_env, name, make, mime):
    before = snapshot(app_env)
    upload(draw_app, name, make(), mime)
    assert not draw_app.error
    assert_models_read_the_digit(draw_app)
    assert snapshot(app_env) == before


# ---------------------------------------------------------------- broken checkpoints in the folder


def truncate_weights(path: Path) -> None:
    weights = path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])


def foreign_weights(path: Path) -> None:
    """Weights of another model (latent 2) under this config (latent 32)."""
    shutil.copy(path.parent / "vae_2" / "model.safetensors", path / "model.safetensors")


def pickled_weights(path: Path) -> None:
    """A pickle (what torch.save writes) under the safetensors name."""
    (path / "model.safetensors").write_bytes(TRAP)


BROKEN = {
    "truncated_weights": (truncate_weights, "truncated or corrupt"),
    "foreign_weights": (foreign_weights, "has shape"),
    "unknown_kind": (lambda p: edit_config(p, kind="transformer"), "Unknown model kind"),
    "absurd_latent": (lambda p: edit_config(p, latent_dim=10**9), "Latent size"),
    "absurd_widths": (lambda p: edit_config(p, hidden=[8192] * 4), "parameters"),
    "absurd_depth": (lambda p: edit_config(p, hidden=[8] * 1000), "layers"),
    "wrong_image_size": (lambda p: edit_config(p, image_shape=[1, 8, 8]), "weight"),
    "pickled_weights": (pickled_weights, "truncated or corrupt"),
}


@pytest.mark.parametrize("how", list(BROKEN))
def test_a_broken_checkpoint_is_not_offered_and_the_sidebar_says_why(folder, whole_app, never_unpickle, how):
    damage, reason = BROKEN[how]
    damage(add_copy(folder, "vae_32", f"bad_{how}"))
    before = snapshot(folder)
    whole_app.query_params["model"] = f"bad_{how}"
    whole_app.run()
    assert not whole_app.exception
    assert whole_app.title[0].value == "Latent map"
    assert f"bad_{how}" not in whole_app.selectbox(key="map_model").options
    assert whole_app.selectbox(key="map_model").value == "vae_32"
    assert any(f"model=bad_{how}" in w for w in texts(whole_app, "warning"))  # the link's model was ignored
    assert [e.label for e in whole_app.sidebar.expander] == [":material/warning: 1 checkpoint could not be loaded"]
    [line] = sidebar_texts(whole_app)
    assert line.startswith(f"bad_{how}: ") and reason in line
    assert len(specs(whole_app)) == 1  # the map of the default model
    assert snapshot(folder) == before and not never_unpickle


def test_pickle_files_are_listed_as_refused_and_never_opened(folder, whole_app, never_unpickle):
    for name in ("evil.pt", "model.pth", "pytorch_model.bin"):
        (folder / name).write_bytes(TRAP)
    before = snapshot(folder)
    whole_app.run()
    assert not whole_app.exception and len(specs(whole_app)) == 1
    assert [e.label for e in whole_app.sidebar.expander] == [":material/warning: 3 checkpoints could not be loaded"]
    lines = sidebar_texts(whole_app)
    assert [line.split(":")[0] for line in lines] == ["evil.pt", "model.pth", "pytorch_model.bin"]
    assert all("pickle files are refused" in line for line in lines)
    assert not any(".pt" in o or ".bin" in o for o in whole_app.selectbox(key="map_model").options)
    assert snapshot(folder) == before and not never_unpickle


def test_nan_weights_pass_the_listing_but_give_an_error_not_a_traceback(folder, page_app):
    """The listing only reads headers; a damage it cannot see surfaces when the model loads."""
    path = add_copy(folder, "vae_32", "nan_vae")
    state = load_file(path / "model.safetensors")
    first = sorted(state)[0]
    state[first][0] = float("nan")
    save_file(state, path / "model.safetensors", metadata={"format_version": "1"})
    before = snapshot(folder)
    app = page_app("map_page")
    app.query_params["model"] = "nan_vae"
    app.run()
    assert not app.exception
    assert [e.value for e in app.error] == [f"nan_vae: weight {first} holds NaN or infinite numbers (training "
                                             "diverged, or the file is damaged). Retrain or restore it."]
    app.selectbox(key="map_model").set_value("vae_32").run()  # another model still works
    assert not app.exception and not app.error and len(specs(app)) == 1
    assert snapshot(folder) == before


def test_weights_damaged_after_listing_give_an_error_on_the_page(folder, page_app, monkeypatch):
    """The file goes bad between the listing (which saw a good header) and the load."""
    add_copy(folder, "ae_32", "late_ae")
    real_load_file = checkpoints.load_file

    def damaged(path, *args, **kwargs):
        if Path(path).parent.name == "late_ae":
            from safetensors import SafetensorError
            raise SafetensorError("Error while deserializing header: invalid header length")
        return real_load_file(path, *args, **kwargs)

    monkeypatch.setattr(checkpoints, "load_file", damaged)
    before = snapshot(folder)
    app = page_app("generate_page")
    app.query_params["model"] = "late_ae"
    app.run()
    assert not app.exception
    assert app.error and "late_ae: model.safetensors is truncated or corrupt" in app.error[0].value
    assert app.selectbox(key="gen_model").value == "late_ae"
    app.selectbox(key="gen_model").set_value("vae_32").run()
    assert not app.exception and not app.error
    assert snapshot(folder) == before


@pytest.mark.parametrize("value", ["../../etc", "/etc/passwd", "..", "vae_32/../../../etc", "~root", "vae_32\x00"])
def test_model_names_with_paths_never_leave_the_checkpoints_folder(folder, page_app, monkeypatch, value):
    opened = []
    for function in ("load", "verify", "read_info"):
        real = getattr(checkpoints, function)
        monkeypatch.setattr(checkpoints, function, lambda path, *a, _real=real, **k: (opened.append(Path(path)), _real(path, *a, **k))[1])
    before = snapshot(folder)
    for page, params in (("map_page", {"model": value}), ("generate_page", {"model": value}),
                         ("compare_page", {"left": value, "right": value}), ("draw_page", {"models": value})):
        app = page_app(page)
        app.query_params.update(params)
        app.run()
        assert not app.exception, page
        assert any("Ignored" in w for w in texts(app, "warning")), page
    assert opened and all(path.parent == folder for path in opened)
    assert snapshot(folder) == before


@pytest.mark.parametrize("name", ["../../etc", "/etc/passwd", "..", "a/b", ""])
def test_resources_refuse_paths_as_model_names(app_env, name):
    from ui import resources

    with pytest.raises(ExplorerError, match="not a valid checkpoint name"):
        resources.version(name)


# ---------------------------------------------------------------- a checkpoint deleted while the app runs

DOOMED_PARAMS = {
    "map_page": {"model": "doomed"},
    "compare_page": {"right": "doomed"},
    "generate_page": {"model": "doomed"},
    "denoise_page": {"models": "doomed"},
    "anomaly_page": {"model": "doomed"},
    "draw_page": {"models": "doomed"},
}


def run_with_a_drawing(app, page: str):
    if page == "draw_page":
        return draw(app, four())
    return app.run()


@pytest.mark.parametrize("page", list(DOOMED_PARAMS))
def test_a_checkpoint_deleted_between_runs_leaves_the_page_working(folder, page_app, page):
    add_copy(folder, "ae_32", "doomed")
    app = page_app(page)
    app.query_params.update(DOOMED_PARAMS[page])
    run_with_a_drawing(app, page)
    assert not app.exception and not app.error
    shutil.rmtree(folder / "doomed")
    before = snapshot(folder)
    app.run()
    assert not app.exception
    assert app.title[0].value == TITLES[page]
    if page in ("map_page", "compare_page", "generate_page", "anomaly_page"):  # these say what happened
        assert any("Checkpoint 'doomed' can no longer be used (it was deleted or renamed)" in w
                   for w in texts(app, "warning"))
    if page in ("draw_page", "denoise_page"):
        assert "No longer usable, so left out: 'doomed': deleted or renamed." in texts(app, "warning")
    key = MODEL_KEYS.get(page)
    if key:
        assert app.selectbox(key=key).value != "doomed"
    assert snapshot(folder) == before


@pytest.mark.parametrize("page", list(DOOMED_PARAMS))
def test_a_checkpoint_deleted_after_listing_gives_an_error_on_the_page(folder, page_app, monkeypatch, page):
    """The folder vanishes between the listing (still naming it) and the load: st.error, no traceback."""
    add_copy(folder, "ae_32", "doomed")
    stale = checkpoints.list_checkpoints(folder)
    shutil.rmtree(folder / "doomed")
    monkeypatch.setattr(checkpoints, "list_checkpoints", lambda root=None: stale)
    before = snapshot(folder)
    app = page_app(page)
    app.query_params.update(DOOMED_PARAMS[page])
    run_with_a_drawing(app, page)
    assert not app.exception
    assert any("'doomed' is gone" in e for e in texts(app, "error")), texts(app, "error")
    assert snapshot(folder) == before


def test_other_pages_keep_working_after_a_checkpoint_is_deleted(folder, page_app):
    add_copy(folder, "ae_32", "doomed")
    shutil.rmtree(folder / "doomed")
    for page in PAGES:
        app = page_app(page)
        app.run()
        assert not app.exception and not app.error, page


# ---------------------------------------------------------------- datasets that need a download, offline


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """No network and no local dataset copies; records every attempt to connect or download."""
    import torchvision.datasets.utils as tv_utils
    import urllib.request

    attempts = []

    def refuse(what):
        def called(*args, **kwargs):
            attempts.append(what)
            raise OSError(errno.ENETUNREACH, "Network is unreachable")
        return called

    monkeypatch.setattr(socket, "create_connection", refuse("connect"))
    monkeypatch.setattr(urllib.request, "urlopen", refuse("download"))
    for name in ("download_url", "download_and_extract_archive", "download_file_from_google_drive"):
        if hasattr(tv_utils, name):
            monkeypatch.setattr(tv_utils, name, refuse("download"))
    monkeypatch.setattr(data, "DEFAULT_DATA_DIR", str(tmp_path / "data"))
    data.load_dataset.cache_clear()
    yield attempts
    data.load_dataset.cache_clear()


def test_a_model_of_a_dataset_that_needs_a_download_names_the_offline_ones(folder, page_app, no_network):
    path = add_copy(folder, "vae_32", "kmnist_vae")
    info = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**info, "dataset": "kmnist"}))
    before = snapshot(folder)
    app = page_app("map_page")
    app.query_params["model"] = "kmnist_vae"
    app.run()
    assert not app.exception
    [message] = texts(app, "error")
    assert "'kmnist'" in message and "no network" in message and "mnist5k, digits" in message
    assert "download" not in no_network  # refused before any download was tried
    raw = Path(data.DEFAULT_DATA_DIR) / "KMNIST" / "raw"
    assert not raw.exists() or not any(raw.iterdir())
    assert snapshot(folder) == before


def test_a_model_of_fashion_mnist_without_its_files_says_how_to_install_them(folder, page_app, no_network,
                                                                             monkeypatch, tmp_path):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian-package")
    monkeypatch.delenv("LATENT_LAB_DATA", raising=False)
    path = add_copy(folder, "vae_32", "fashion_vae")
    info = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**info, "dataset": "fashion-mnist"}))
    before = snapshot(folder)
    app = page_app("map_page")
    app.query_params["model"] = "fashion_vae"
    app.run()
    assert not app.exception
    [message] = texts(app, "error")
    assert "'fashion-mnist' is not on this machine" in message and "apt-get install dataset-fashion-mnist" in message
    assert not no_network  # never a download, nor a probe for one
    assert snapshot(folder) == before


def test_the_network_probe_gives_up_on_a_hanging_name_lookup(monkeypatch):
    """A lookup that never answers (no network, DNS server configured) must not hold the page."""
    entered, release = threading.Event(), threading.Event()

    def hangs(*args, **kwargs):
        entered.set()
        release.wait(60)
        raise OSError("late")

    monkeypatch.setattr(socket, "create_connection", hangs)
    try:
        assert data._network_reachable("https://ossci-datasets.s3.amazonaws.com/mnist/", timeout=0.2) is False
        assert entered.is_set() and not release.is_set()  # answered while the lookup still hung
    finally:
        release.set()


# ---------------------------------------------------------------- URL parameters: garbage everywhere

GARBAGE = {
    "parent-path": "../../etc",
    "absolute-path": "/etc/passwd",
    "negative": "-1",
    "not-a-number": "nan",
    "huge-number": "9" * 5000,
    "markup-and-junk": "<script>alert(1)</script>,🙂,1e999,,\x00,%00",
}


@pytest.mark.parametrize("garbage", list(GARBAGE))
@pytest.mark.parametrize("page", PAGES)
def test_garbage_in_every_url_parameter_gives_defaults_not_a_crash(page_app, app_env, page, garbage):
    before = snapshot(app_env)
    app = page_app(page)
    app.query_params.update({param: GARBAGE[garbage] for param in pages.page(page).params})
    app.run()
    assert not app.exception
    assert app.title[0].value == TITLES[page]
    app.run()  # and the next run, with the URL the page wrote back
    assert not app.exception
    assert snapshot(app_env) == before


def test_garbage_url_parameters_through_the_whole_app(whole_app, app_env):
    whole_app.query_params.update({name: "../../etc" for name in ("model", "ids", "steps", "split", "proj", "thumbs")})
    whole_app.run()
    assert not whole_app.exception and whole_app.title[0].value == "Latent map"
    assert any("Ignored" in w for w in texts(whole_app, "warning"))


# ---------------------------------------------------------------- faults while saving

SAVER = textwrap.dedent("""
    import sys, torch
    from pathlib import Path
    from explorer import checkpoints
    from explorer.models import ModelConfig, build_model

    root = Path(sys.argv[1])
    config = ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=3, hidden=(64, 32))
    for i in range(100_000):  # killed long before the end
        torch.manual_seed(i)
        checkpoints.save(build_model(config), root / ("victim", "other")[i % 2], {"dataset": "digits", "i": i})
        if i == 1:
            print("saving", flush=True)
""")


def tiny_checkpoint(path: Path) -> Path:
    from explorer.models import ModelConfig, build_model

    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="ae", image_shape=(1, 8, 8), latent_dim=2, hidden=(16,)))
    return checkpoints.save(model, path, {"dataset": "digits"})


def test_a_save_killed_at_random_moments_never_leaves_a_broken_listed_checkpoint(tmp_path):
    keeper = tiny_checkpoint(tmp_path / "keeper")
    kept = snapshot(keeper)
    rng = random.Random(0)
    for attempt in range(4):
        saver = subprocess.Popen([sys.executable, "-c", SAVER, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        try:
            assert saver.stdout.readline().strip() == "saving", saver.stderr.read()
            time.sleep(rng.uniform(0.0, 0.3))
        finally:
            saver.send_signal(signal.SIGKILL)
            saver.wait(30)
        listing = checkpoints.list_checkpoints(tmp_path)  # also puts back a checkpoint killed mid-swap
        names = [item.name for item in listing]
        assert names == ["keeper", "other", "victim"], attempt
        for item in listing:
            assert item.problem is None, (attempt, item.name, item.problem)
            checkpoints.load(item.path)  # every listed checkpoint loads
        assert snapshot(keeper) == kept  # a checkpoint nobody saved to is untouched
        visible = [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")]
        assert sorted(visible) == sorted(names)  # nothing half-written in view


def test_listing_during_a_save_leaves_its_swap_alone(tmp_path):
    """Between a save's two renames only `.NAME.old` exists; a listing then must not put it back
    (the save would fail), and a listing after a save killed there must."""
    path = tiny_checkpoint(tmp_path / "mine")
    os.replace(path, tmp_path / ".mine.old")  # the moment between the renames
    with checkpoints._swap_lock(tmp_path):  # the saver holds the lock
        assert checkpoints.list_checkpoints(tmp_path) == []
        assert (tmp_path / ".mine.old").exists()
    assert [item.name for item in checkpoints.list_checkpoints(tmp_path)] == ["mine"]  # the saver died: recovered


def test_a_listing_sees_every_change_of_the_folder_and_reads_a_still_one_once(tmp_path, monkeypatch):
    def names():
        return [item.name for item in checkpoints.list_checkpoints(tmp_path)]

    tiny_checkpoint(tmp_path / "a")
    before = tmp_path.stat()
    assert names() == ["a"]
    (tmp_path / "b").mkdir()  # a copy into the folder has begun: no config yet
    os.utime(tmp_path, ns=(before.st_atime_ns, before.st_mtime_ns))  # within the same tick of the folder's clock
    assert names() == ["a"]
    for file in (tmp_path / "a").iterdir():  # ... and ends, without changing the folder itself
        shutil.copy(file, tmp_path / "b" / file.name)
    assert names() == ["a", "b"]
    shutil.rmtree(tmp_path / "a")
    assert names() == ["b"]

    long_ago = time.time() - 60
    os.utime(tmp_path, (long_ago, long_ago))  # the folder has been still for a minute
    assert names() == ["b"]
    real_scandir = os.scandir
    monkeypatch.setattr(os, "scandir", lambda path: pytest.fail("a still folder was read again"))
    assert names() == ["b"]  # from what was read
    monkeypatch.setattr(os, "scandir", real_scandir)
    tiny_checkpoint(tmp_path / "c")  # a save changes the folder's time stamp
    assert names() == ["b", "c"]


def test_abandoned_hidden_saves_are_cleaned_up_only_when_old(tmp_path):
    tiny_checkpoint(tmp_path / "keeper")
    old, fresh = tmp_path / ".keeper.abc.saving", tmp_path / ".keeper.def.saving"
    for staging in (old, fresh):
        staging.mkdir()
        (staging / "model.safetensors").write_bytes(b"half")
    long_ago = time.time() - 2 * checkpoints.STALE_SAVE_SECONDS
    os.utime(old, (long_ago, long_ago))
    assert [item.name for item in checkpoints.list_checkpoints(tmp_path)] == ["keeper"]
    assert not old.exists() and fresh.exists()  # a fresh one may be a save in progress


def cli_train(out: Path) -> list[str]:
    return ["train", "--model", "ae", "--dataset", "digits", "--latent-dim", "2", "--hidden", "16", "--epochs", "1",
            "--batch-size", "256", "--out", str(out)]


@pytest.mark.parametrize("fault, message", [
    ("disk full", "No space left on device"),
    ("unwritable folder", "Cannot write"),
])
def test_the_cli_reports_a_failed_save_and_keeps_the_old_checkpoint(tmp_path, monkeypatch, capsys, fault, message):
    from explorer.cli import main

    existing = tiny_checkpoint(tmp_path / "mine")
    before = snapshot(tmp_path)

    def fail(*args, **kwargs):
        if fault == "disk full":
            raise OSError(errno.ENOSPC, "No space left on device")
        raise PermissionError(errno.EACCES, "Permission denied")

    if fault == "disk full":
        monkeypatch.setattr(checkpoints, "save_file", fail)
    else:
        monkeypatch.setattr(checkpoints.tempfile, "mkdtemp", fail)
    assert main(cli_train(existing)) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last and "Traceback" not in err
    assert snapshot(tmp_path) == before
    assert [item.name for item in checkpoints.list_checkpoints(tmp_path)] == ["mine"]


def test_an_unwritable_folder_can_be_detected_before_training(tmp_path, monkeypatch):
    checkpoints.check_writable(tmp_path / "new")  # fine: created, and nothing left in it
    assert list((tmp_path / "new").iterdir()) == []

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(checkpoints.tempfile, "mkdtemp", refuse)
    with pytest.raises(ExplorerError, match="Cannot write to .*Permission denied"):
        checkpoints.check_writable(tmp_path / "new")


# ---------------------------------------------------------------- explorer-level checks behind the pages


def test_an_oversized_config_is_refused_before_any_weight_is_allocated(tmp_path, monkeypatch):
    path = tiny_checkpoint(tmp_path / "huge")
    edit_config(path, image_shape=[4, 256, 256], hidden=[8192, 8192, 8192])  # ~4.5 billion parameters
    real_build = checkpoints.build_model
    built = []
    monkeypatch.setattr(checkpoints, "build_model",
                        lambda config: built.append(torch.get_default_device()) or real_build(config))
    with pytest.raises(CheckpointError, match="parameters"):
        checkpoints.load(path)
    assert all(device.type == "meta" for device in built)  # only ever built without storage


@pytest.mark.parametrize("how, message", [
    ("dataset as a list", "'dataset' is not a str"),
    ("metrics as text", "'metrics' is not a dict"),
    ("a metric as text", "metrics must all be numbers"),
    ("deeply nested json", "not valid JSON"),
    ("oversized config", "far more than a checkpoint's config needs"),
])
def test_odd_config_files_are_refused_with_a_reason(tmp_path, how, message):
    path = tiny_checkpoint(tmp_path / "odd")
    config = path / "config.json"
    info = json.loads(config.read_text())
    if how == "dataset as a list":
        info["dataset"] = ["digits"]
    elif how == "metrics as text":
        info["metrics"] = "great"
    elif how == "a metric as text":
        info["metrics"] = {"mse": "0.01"}
    config.write_text(json.dumps(info))
    if how == "deeply nested json":
        config.write_text("[" * 100_000 + "]" * 100_000)
    elif how == "oversized config":
        config.write_text(json.dumps({**info, "history": [0] * (checkpoints.MAX_CONFIG_BYTES // 2)}))
    [item] = checkpoints.list_checkpoints(tmp_path)
    assert item.info is None and message in item.problem


def test_a_model_that_does_not_fit_its_dataset_is_not_listed(tmp_path):
    path = tiny_checkpoint(tmp_path / "misfit")  # 8×8 images
    info = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**info, "dataset": "mnist5k"}))
    [item] = checkpoints.list_checkpoints(tmp_path)
    assert item.info is None and "reads 1×8×8 images but its dataset 'mnist5k' has 1×28×28" in item.problem


def test_folders_with_odd_names_are_listed_as_problems(tmp_path):
    tiny_checkpoint(tmp_path / "fine")
    shutil.copytree(tmp_path / "fine", tmp_path / "my model")
    listing = {item.name: item for item in checkpoints.list_checkpoints(tmp_path)}
    assert listing["fine"].problem is None
    assert listing["my model"].info is None and "Rename it" in listing["my model"].problem
