"""The Models page: every checkpoint listed with its metrics and a download, uploads checked and
added, and the settings that turn uploads off or make the whole app read-only."""

import io
import json
import shutil
import zipfile

import pytest
import torch

from explorer import archive, checkpoints, kinds
from ui.plain_text import WORD_JOINER

pytestmark = pytest.mark.slow


PAGE = "models_page"  # the conftest fixture `app` runs this page


@pytest.fixture
def cleanup(app_env):
    """Names of checkpoints a test adds to the shared copy of the checkpoints folder: removed afterwards."""
    added = []
    yield added
    for name in added:
        shutil.rmtree(app_env / name, ignore_errors=True)


def markdown_texts(app) -> list[str]:
    return [m.value for m in app.markdown]


def test_every_checkpoint_is_listed_with_its_metrics_and_a_download(app, app_env):
    app.run()
    assert not app.exception
    readable = [item for item in checkpoints.list_checkpoints(app_env) if item.info]
    buttons = app.get("download_button")
    # grouped by role (autoencoders first), by name within a role
    by_role = sorted(readable, key=lambda item: kinds.ROLES.index(kinds.get_kind(item.info["model"]["kind"]).role))
    assert [b.proto.id.split("models_download_")[-1] for b in buttons] == [item.name for item in by_role]
    texts = markdown_texts(app)
    for item in readable:
        metrics = item.info["metrics"]
        assert f"**{item.name}**" in texts
        for metric in kinds.ROLE_METRICS[kinds.get_kind(item.info["model"]["kind"]).role]:
            if metric.key in metrics:
                assert metric.format.format(metrics[metric.key]) in texts, (item.name, metric.key)
    assert texts.count("—") == sum("neg_elbo" not in item.info["metrics"] for item in readable
                                   if kinds.get_kind(item.info["model"]["kind"]).role == "autoencoder")


def test_each_role_has_its_own_table_headed_by_its_metrics(app, app_env):
    app.run()
    texts = markdown_texts(app)
    roles = {kinds.get_kind(item.info["model"]["kind"]).role
             for item in checkpoints.list_checkpoints(app_env) if item.info}
    for role in kinds.ROLES:
        shown = f"**{kinds.ROLE_METRICS[role][0].header}**" in texts
        assert shown == (role in roles), role


def upload(app, name: str, data: bytes):
    app.file_uploader(key="models_upload").set_value((name, data, "application/zip")).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_an_uploaded_download_is_added_and_gives_the_same_outputs(app, app_env, cleanup):
    app.run()
    upload(app, "vae_2.zip", archive.export_archive(app_env / "vae_2"))
    assert app.text_input[0].value == "vae_2_2"  # the zip's folder name, made unique
    cleanup.append("vae_2_2")
    app.button(key="models_add").click().run()
    assert not app.exception and not app.error
    assert any("Added as **vae_2_2**" in s.value for s in app.success)
    original, added = checkpoints.load(app_env / "vae_2").model, checkpoints.load(app_env / "vae_2_2").model
    z = torch.randn(5, 2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(original.decode(z), added.decode(z))
    assert "vae_2_2" in [item.name for item in checkpoints.list_checkpoints(app_env) if item.info]


def test_a_bad_upload_gets_one_message_and_nothing_is_written(app, app_env):
    before = sorted(p.name for p in app_env.iterdir())
    app.run()
    upload(app, "model.zip", b"\x80\x04K\x01.")  # pickle.dumps(1), named as a zip (the uploader takes only .zip)
    assert len(app.error) == 1 and "pickle" in app.error[0].value and "Nothing was added" in app.error[0].value
    assert "models_add" not in [b.key for b in app.button]
    assert sorted(p.name for p in app_env.iterdir()) == before


def test_a_taken_name_is_refused(app, app_env):
    app.run()
    upload(app, "vae_2.zip", archive.export_archive(app_env / "vae_2"))
    app.text_input[0].set_value("vae_32")
    app.button(key="models_add").click().run()
    assert len(app.error) == 1 and "exists already" in app.error[0].value
    assert not (app_env / "vae_32_2").exists()


def markdown_archive(app_env) -> bytes:
    """vae_2 whose config holds Markdown in its training settings (a key and a value)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive.export_archive(app_env / "vae_2"))) as source, \
            zipfile.ZipFile(buffer, "w") as out:
        for name in source.namelist():
            data = source.read(name)
            if name.endswith("config.json"):
                config = json.loads(data)
                config["training"] = {"[click](https://evil.example)": "![img](https://evil.example/i.png)",
                                      **config["training"]}
                data = json.dumps(config).encode()
            out.writestr(name, data)
    return buffer.getvalue()


def test_an_upload_whose_config_and_name_hold_markdown_shows_them_as_text(app, app_env, cleanup):
    app.run()
    upload(app, "**big** [x](https://evil.example).zip", markdown_archive(app_env))
    shown = " ".join(markdown_texts(app) + [c.value for c in app.caption])
    assert "https://" not in shown and "evil.example" in shown
    assert "\\[click\\](https:" + WORD_JOINER + "//evil.example) !\\[img\\]" in shown
    assert "\\*\\*big\\*\\* \\[x\\](https:" + WORD_JOINER + "//evil.example).zip" in shown
    cleanup.append("vae_2_2")  # the zip's folder names it
    app.button(key="models_add").click().run()
    assert (app_env / "vae_2_2").is_dir()


@pytest.mark.parametrize("variable, value, words", [("LATENT_LAB_UPLOADS", "0", "turned off"),
                                                    ("LATENT_LAB_READ_ONLY", "1", "read-only")])
def test_settings_turn_uploads_off(app, monkeypatch, variable, value, words):
    monkeypatch.setenv(variable, value)
    app.run()
    assert not app.exception
    assert not app.get("file_uploader")
    assert any(words in i.value for i in app.info)
    assert app.get("download_button")  # downloading stays possible


def test_read_only_turns_training_and_saving_off(page_app, monkeypatch):
    monkeypatch.setenv("LATENT_LAB_READ_ONLY", "1")
    app = page_app("train_page").run()
    assert not app.exception
    assert any("read-only" in i.value for i in app.info)
    assert app.button(key="train_start").disabled
    anomaly = page_app("anomaly_page").run()
    assert anomaly.button(key="an_train").disabled
