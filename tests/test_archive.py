"""Checkpoint archives: the download holds what it should, an upload is checked completely, and
every bad upload is refused with its own message and nothing written."""

import io
import json
import pickle
import stat
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save as safetensors_bytes

import explorer
from explorer import CheckpointError, ExplorerError, archive, checkpoints
from explorer.kinds import kinds
from explorer.models import ModelConfig, build_model

AUTOENCODER_KINDS = [k.name for k in kinds(role="autoencoder", conditional=False)]

SHIPPED = checkpoints.DEFAULT_DIR


def tiny(kind="vae", seed=0):
    return build_model(ModelConfig(kind=kind, image_shape=(1, 8, 8), latent_dim=3, hidden=(16,), channels=(4,)), seed)


@pytest.fixture
def root(tmp_path):
    """An empty checkpoints folder to upload into."""
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    return folder


@pytest.fixture
def tiny_zip(tmp_path):
    """(model, archive bytes) of a tiny digits VAE."""
    model = tiny()
    path = checkpoints.save(model, tmp_path / "saved" / "tiny_vae", {"dataset": "digits", "metrics": {"mse": 0.1}})
    return model, archive.export_archive(path)


def everything_in(folder: Path) -> list[str]:
    """Every path under folder, hidden ones included: "nothing written" means this does not change."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def make_zip(members: dict[str, bytes] | list[tuple[str, bytes]], links=()) -> bytes:
    """A zip holding `members` as they are (any names, repeats too), and symbolic links named in `links`."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as out:
        warnings.simplefilter("ignore")  # zipfile warns about a repeated name: that is the point
        for name, data in (members.items() if isinstance(members, dict) else members):
            out.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            out.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def members_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


# ---------------------------------------------------------------- download


def test_download_holds_weights_config_and_map_in_one_folder():
    data = archive.export_archive(SHIPPED / "vae_32")
    members = members_of(data)
    assert sorted(members) == ["vae_32/config.json", "vae_32/model.safetensors", "vae_32/umap_mnist5k.npz"]
    for name, content in members.items():
        assert content == (SHIPPED / name).read_bytes(), name
    assert archive.export_archive(SHIPPED / "vae_32") == data  # the same files give the same bytes


def test_download_without_a_stored_map_holds_two_files(tiny_zip):
    _, data = tiny_zip
    assert sorted(members_of(data)) == ["tiny_vae/config.json", "tiny_vae/model.safetensors"]


def test_a_broken_checkpoint_is_not_handed_out(tmp_path):
    path = checkpoints.save(tiny(), tmp_path / "broken")
    (path / checkpoints.WEIGHTS_FILE).write_bytes(b"\x00" * 10)
    with pytest.raises(CheckpointError):
        archive.export_archive(path)


# ---------------------------------------------------------------- round trip


@pytest.mark.parametrize("kind", AUTOENCODER_KINDS)
def test_download_then_upload_gives_the_same_outputs(tmp_path, root, kind):
    model = tiny(kind).eval()
    saved = checkpoints.save(model, tmp_path / kind, {"dataset": "digits"})
    added = archive.import_archive(archive.export_archive(saved), f"{kind}.zip", root=root)
    assert added == root / kind
    loaded = checkpoints.load(added).model
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    assert torch.equal(loaded.encode(x), model.encode(x))
    assert torch.equal(loaded.decode(model.encode(x)), model.decode(model.encode(x)))


def test_a_shipped_checkpoint_round_trips_with_its_map(root):
    added = archive.import_archive(archive.export_archive(SHIPPED / "vae_2"), "vae_2.zip", root=root)
    for file in ("model.safetensors", "config.json", "umap_mnist5k.npz"):
        assert (added / file).read_bytes() == (SHIPPED / "vae_2" / file).read_bytes()
    assert [item.name for item in checkpoints.list_checkpoints(root) if item.info] == ["vae_2"]


def test_the_notebook_api_reads_a_downloaded_zip(tmp_path, tiny_zip):
    model, data = tiny_zip
    file = tmp_path / "tiny_vae.zip"
    file.write_bytes(data)
    checkpoint = explorer.load_checkpoint(file)
    x = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    np.testing.assert_array_equal(explorer.encode(checkpoint.model, x), model.eval().encode(x).detach().numpy())
    assert checkpoint.name == "tiny_vae" and checkpoint.info["dataset"] == "digits"


# ---------------------------------------------------------------- names


@pytest.mark.parametrize("given, cleaned", [
    ("vae_32.zip", "vae_32"),
    ("My model (final).ZIP", "My_model_final"),
    ("../../etc/passwd", "etc_passwd"),
    ("[x](https://evil.example).zip", "x_https_evil_example"),
    ("con.zip", "my_con"),
    ("...", "uploaded"),
    ("ü" * 10, "uploaded"),
])
def test_names_are_cleaned(given, cleaned):
    assert archive.clean_name(given) == cleaned
    assert checkpoints.name_problem(cleaned) is None


def test_a_colliding_name_is_made_unique_and_nothing_is_replaced(root, tiny_zip):
    _, data = tiny_zip
    first = archive.import_archive(data, "tiny_vae.zip", root=root)
    before = {p.name: p.read_bytes() for p in first.iterdir()}
    second = archive.import_archive(data, "TINY_VAE.zip", root=root)  # the folder inside names it tiny_vae
    assert (first.name, second.name) == ("tiny_vae", "tiny_vae_2")
    assert {p.name: p.read_bytes() for p in first.iterdir()} == before


def test_a_chosen_name_that_is_taken_is_refused_and_nothing_written(root, tiny_zip):
    _, data = tiny_zip
    archive.import_archive(data, "tiny_vae.zip", root=root)
    before = everything_in(root)
    with pytest.raises(ExplorerError, match="named 'Tiny_Vae' exists already"):
        archive.import_archive(data, "tiny_vae.zip", name="Tiny_Vae", root=root)
    assert everything_in(root) == before


# ---------------------------------------------------------------- bad uploads


class Exploit:
    """Unpickling this would create the file: proof that a refused pickle was never unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def with_config(data: bytes, change) -> bytes:
    members = members_of(data)
    config = json.loads(members["tiny_vae/config.json"])
    change(config)
    members["tiny_vae/config.json"] = json.dumps(config).encode()
    return make_zip(members)


def bad_uploads(data: bytes, marker: Path) -> dict[str, tuple[bytes, str]]:
    """name -> (file bytes, the words its refusal must contain)."""
    members = members_of(data)
    weights, config = members["tiny_vae/model.safetensors"], members["tiny_vae/config.json"]
    state = tiny().state_dict()
    torch_file = io.BytesIO()
    torch.save(state, torch_file)
    other_latent = build_model(ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=4, hidden=(16,)), 0)
    nan_state = {k: torch.full_like(v, float("nan")) for k, v in state.items()}
    object_map = io.BytesIO()
    np.savez(object_map, embedding=np.array([{"a": 1}], dtype=object), fingerprint=np.array("x"))
    return {
        "zip slip": (make_zip({**members, "tiny_vae/../../evil.json": b"{}"}), "points outside its folder"),
        "absolute path": (make_zip({**members, "/etc/cron.d/evil": b"x"}), "absolute"),
        "windows path": (make_zip({**members, "C:\\evil.json": b"x"}), "absolute or Windows path"),
        "symlink member": (make_zip(members, links=["tiny_vae/umap_digits.npz"]), "link"),
        "pickle": (pickle.dumps(Exploit(marker)), "pickle"),
        "torch.save file": (torch_file.getvalue(), "pickle"),
        "pickled weights": (make_zip({"model.safetensors": pickle.dumps(Exploit(marker)), "config.json": config}),
                            "pickle"),
        "pickle member": (make_zip({**members, "tiny_vae/model.pt": pickle.dumps(Exploit(marker))}), "pickle"),
        "truncated": (data[: len(data) // 2], "truncated"),
        "truncated weights": (make_zip({"model.safetensors": weights[:-100], "config.json": config}),
                              "truncated or corrupt"),
        "not a zip": (b"just some text", "not a zip"),
        "shapes that disagree": (make_zip({"model.safetensors": safetensors_bytes(other_latent.state_dict()),
                                           "config.json": config}), "has shape"),
        "unknown kind": (with_config(data, lambda c: c["model"].update(kind="gan")), "Unknown model kind 'gan'"),
        "unknown dataset": (with_config(data, lambda c: c.update(dataset="imagenet")), "unknown dataset"),
        "oversized model": (with_config(data, lambda c: c["model"].update(hidden=[8192] * 8)), "parameters"),
        "NaN weights": (make_zip({"model.safetensors": safetensors_bytes(nan_state), "config.json": config}), "NaN"),
        "missing weights": (make_zip({"tiny_vae/config.json": config}), "no model.safetensors"),
        "unexpected member": (make_zip({**members, "tiny_vae/run.sh": b"rm -rf /"}), "unexpected member 'run.sh'"),
        "two folders": (make_zip({"a/model.safetensors": weights, "b/config.json": config}), "several folders"),
        "nested folder": (make_zip({"a/b/model.safetensors": weights, "a/config.json": config}), "one folder at most"),
        "colliding members": (make_zip([*members.items(), ("tiny_vae/config.json", b"{}")]),
                              "two members of the archive are named 'tiny_vae/config.json'"),
        "same file twice": (make_zip({"config.json": config, "x/config.json": config, "model.safetensors": weights}),
                            "holds 'config.json' twice"),
        "pickled map": (make_zip({**members, "tiny_vae/umap_digits.npz": object_map.getvalue()}),
                        "not a map this app wrote"),
        "map of another dataset": (make_zip({**members, "tiny_vae/umap_mnist5k.npz": b"x"}), "another dataset"),
        "zip bomb config": (make_zip({**members, "tiny_vae/config.json": b" " * (checkpoints.MAX_CONFIG_BYTES + 1)}),
                            "unpacks to"),
    }


BAD_UPLOADS = ["zip slip", "absolute path", "windows path", "symlink member", "pickle", "torch.save file",
               "pickled weights", "pickle member", "truncated", "truncated weights", "not a zip",
               "shapes that disagree", "unknown kind", "unknown dataset", "oversized model", "NaN weights",
               "missing weights", "unexpected member", "two folders", "nested folder", "colliding members",
               "same file twice", "pickled map", "map of another dataset", "zip bomb config"]


@pytest.mark.parametrize("case", BAD_UPLOADS)
def test_a_bad_upload_is_refused_with_its_message_and_nothing_written(case, root, tiny_zip, tmp_path):
    _, good = tiny_zip
    marker = tmp_path / "unpickled"
    data, words = bad_uploads(good, marker)[case]
    before = everything_in(root)
    with pytest.raises(ExplorerError) as refused:
        archive.import_archive(data, "upload.zip", root=root)
    message = str(refused.value)
    assert message.startswith("upload.zip: ") and words in message, message
    assert "Traceback" not in message and len(message.splitlines()) == 1
    assert everything_in(root) == before
    assert not marker.exists()


def test_an_oversized_file_is_refused_before_it_is_opened(root, tiny_zip, monkeypatch):
    _, data = tiny_zip
    monkeypatch.setenv("LATENT_LAB_MAX_UPLOAD_MB", str(len(data) / 2e6))
    with pytest.raises(CheckpointError, match=r"this server accepts checkpoint files up to 0\.\d+ MB"):
        archive.import_archive(data, "upload.zip", root=root)
    assert everything_in(root) == []


def test_weights_that_unpack_beyond_the_limit_are_refused(root, monkeypatch):
    monkeypatch.setenv("LATENT_LAB_MAX_UPLOAD_MB", "0.01")  # weights may unpack to 20 kB
    data = make_zip({"model.safetensors": b"\0" * 30_000, "config.json": b"{}"})  # compresses to ~100 bytes
    with pytest.raises(CheckpointError, match="unpacks to 0.0 MB, more than"):
        archive.import_archive(data, "bomb.zip", root=root)
    assert everything_in(root) == []


# ---------------------------------------------------------------- settings


@pytest.mark.parametrize("variable, value", [("LATENT_LAB_UPLOADS", "0"), ("LATENT_LAB_UPLOADS", "off"),
                                             ("LATENT_LAB_READ_ONLY", "1")])
def test_uploads_can_be_turned_off(root, tiny_zip, monkeypatch, variable, value):
    _, data = tiny_zip
    monkeypatch.setenv(variable, value)
    assert not archive.uploads_allowed()
    with pytest.raises(ExplorerError, match="turned off"):
        archive.import_archive(data, "tiny_vae.zip", root=root)
    assert everything_in(root) == []


def test_read_only_saves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_LAB_READ_ONLY", "yes")
    with pytest.raises(ExplorerError, match="read-only"):
        checkpoints.save(tiny(), tmp_path / "nope")
    with pytest.raises(ExplorerError, match="read-only"):
        checkpoints.check_writable(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_uploads_are_on_by_default(monkeypatch):
    monkeypatch.delenv("LATENT_LAB_UPLOADS", raising=False)
    monkeypatch.delenv("LATENT_LAB_READ_ONLY", raising=False)
    assert archive.uploads_allowed() and not checkpoints.read_only()
