import json
import os

import pytest
from standins import autoencoder_kinds
import torch

from explorer import CheckpointError, ExplorerError
from explorer import checkpoints
from explorer.models import ModelConfig, build_model


def tiny(kind="vae"):
    torch.manual_seed(0)
    return build_model(ModelConfig(kind=kind, image_shape=(1, 8, 8), latent_dim=3, hidden=(16,), channels=(4,)))


@pytest.fixture
def saved(tmp_path):
    model = tiny()
    path = checkpoints.save(model, tmp_path / "vae_small", {"dataset": "digits", "metrics": {"mse": 0.1}})
    return model, path


@pytest.mark.parametrize("kind", autoencoder_kinds())
def test_round_trip_is_bit_exact(tmp_path, kind):
    model = tiny(kind)
    checkpoint = checkpoints.load(checkpoints.save(model, tmp_path / kind))
    assert checkpoint.config == model.config
    for (name, a), (_, b) in zip(model.state_dict().items(), checkpoint.model.state_dict().items()):
        assert torch.equal(a, b), name
    x = torch.rand(2, 1, 8, 8)
    assert torch.equal(model.eval()(x), checkpoint.model(x))


def test_config_json_is_readable_and_complete(saved):
    _, path = saved
    info = json.loads((path / "config.json").read_text())
    assert info["format_version"] == checkpoints.FORMAT_VERSION
    assert info["model"]["kind"] == "vae" and info["model"]["latent_dim"] == 3
    assert info["dataset"] == "digits" and info["metrics"] == {"mse": 0.1}
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors"]


def test_saving_again_replaces_atomically_and_leaves_no_temporary_files(saved):
    model, path = saved
    checkpoints.save(model, path, {"dataset": "digits", "note": "second"})
    assert json.loads((path / "config.json").read_text())["note"] == "second"
    assert [p.name for p in path.parent.iterdir()] == ["vae_small"]


def test_a_failed_save_keeps_the_old_checkpoint(saved, monkeypatch):
    model, path = saved
    before = (path / "model.safetensors").read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoints, "save_file", disk_full)
    with pytest.raises(ExplorerError, match="No space left"):
        checkpoints.save(tiny(), path)
    assert (path / "model.safetensors").read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["vae_small"]


def test_unwritable_folder_gives_a_clear_error(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(checkpoints.tempfile, "mkdtemp", refuse)
    with pytest.raises(ExplorerError, match="Cannot write"):
        checkpoints.save(tiny(), tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


def test_a_save_killed_between_renames_is_recovered_by_listing(saved):
    _, path = saved
    os.replace(path, path.parent / ".vae_small.old")  # the state a kill mid-swap leaves
    assert [item.name for item in checkpoints.list_checkpoints(path.parent)] == ["vae_small"]
    checkpoints.load(path)


def corrupt(path, how):
    weights, config = path / "model.safetensors", path / "config.json"
    if how == "missing weights":
        weights.unlink()
    elif how == "missing config":
        config.unlink()
    elif how == "truncated weights":
        weights.write_bytes(weights.read_bytes()[:100])
    elif how == "garbage weights":
        weights.write_bytes(b"\x80\x04not a safetensors file at all" * 10)
    elif how == "garbage config":
        config.write_text("{not json")
    elif how == "wrong format version":
        config.write_text(json.dumps({**json.loads(config.read_text()), "format_version": 99}))
    elif how == "unknown kind":
        info = json.loads(config.read_text())
        info["model"]["kind"] = "transformer"
        config.write_text(json.dumps(info))
    elif how == "absurd size":
        info = json.loads(config.read_text())
        info["model"]["latent_dim"] = 10**9
        config.write_text(json.dumps(info))
    elif how == "shape mismatch":
        info = json.loads(config.read_text())
        info["model"]["latent_dim"] = 5
        config.write_text(json.dumps(info))
    elif how == "other architecture":
        info = json.loads(config.read_text())
        info["model"]["kind"] = "ae"
        config.write_text(json.dumps(info))


@pytest.mark.parametrize("how, message", [
    ("missing weights", "missing"),
    ("missing config", "missing"),
    ("truncated weights", "truncated or corrupt"),
    ("garbage weights", "truncated or corrupt"),
    ("garbage config", "not valid JSON"),
    ("wrong format version", "unsupported checkpoint format"),
    ("unknown kind", "Unknown model kind"),
    ("absurd size", "Latent size"),
    ("shape mismatch", "has shape"),
    ("other architecture", "do not match"),
])
def test_bad_checkpoints_raise_one_clear_error(saved, how, message):
    _, path = saved
    corrupt(path, how)
    with pytest.raises(CheckpointError, match=message):
        checkpoints.load(path)


def test_listing_shows_good_bad_and_refuses_pickles(saved):
    _, path = saved
    root = path.parent
    checkpoints.save(tiny("ae"), root / "broken")
    corrupt(root / "broken", "garbage config")
    (root / "evil.pt").write_bytes(b"\x80\x04pickle")
    (root / ".half.saving").mkdir()
    listing = {item.name: item for item in checkpoints.list_checkpoints(root)}
    assert set(listing) == {"vae_small", "broken", "evil.pt"}
    assert listing["vae_small"].info["model"]["kind"] == "vae"
    assert listing["broken"].info is None and "JSON" in listing["broken"].problem
    assert "pickle" in listing["evil.pt"].problem


@pytest.mark.parametrize("name", ["../escape", "/etc/passwd", "a b", "", ".hidden", "x" * 65, "bad/name",
                                  "abc\n", "abc\r\n", "\nabc", "x" * 64 + "\n", None, 42])
def test_names_with_paths_or_odd_characters_are_refused(tmp_path, name):
    with pytest.raises(ExplorerError, match="not a valid checkpoint name"):
        checkpoints.check_name(name)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("stem", ["con", "prn", "aux", "nul", "com1", "com9", "lpt1", "lpt9"])
@pytest.mark.parametrize("case", [str.lower, str.upper, str.capitalize])
@pytest.mark.parametrize("extension", ["", ".txt"])
def test_windows_device_names_are_refused_with_what_to_do(stem, case, extension):
    name = case(stem) + extension
    with pytest.raises(ExplorerError, match="not a valid checkpoint name") as error:
        checkpoints.check_name(name)
    if not extension:  # with a dot the plain-characters rule already refuses it
        assert "Windows" in str(error.value) and f"my_{name}" in str(error.value)


@pytest.mark.parametrize("name", ["a", "x" * 64, "vae_32", "my-model", "console", "com10", "com0", "lpt", "nul_ae",
                                  "aux2", "CON_1"])
def test_good_names_pass_unchanged(name):
    assert checkpoints.check_name(name) == name


def test_save_and_listing_refuse_a_device_name_and_a_trailing_newline(tmp_path):
    for name in ("aux", "com3"):
        with pytest.raises(ExplorerError, match="Windows"):
            checkpoints.save(tiny(), tmp_path / name)
    assert list(tmp_path.iterdir()) == []
    good = checkpoints.save(tiny(), tmp_path / "good", {"dataset": "digits"})
    for name in ("NUL", "abc\n"):
        (tmp_path / name).mkdir()
        for file in good.iterdir():
            (tmp_path / name / file.name).write_bytes(file.read_bytes())
    listing = {item.name: item for item in checkpoints.list_checkpoints(tmp_path)}
    assert listing["good"].problem is None
    assert listing["NUL"].info is None and "Rename it" in listing["NUL"].problem
    assert listing["abc\n"].info is None and "Rename it" in listing["abc\n"].problem


def test_resolve_keeps_bare_names_inside_the_checkpoints_folder(tmp_path):
    assert checkpoints.resolve("vae_32", tmp_path) == tmp_path / "vae_32"
    with pytest.raises(ExplorerError):
        checkpoints.resolve("..", tmp_path)
