"""Every registered model kind, through everything a kind must support: build, train one epoch, save and
load back bit-exactly, evaluate, a training job, and the CLI. A new kind is tested here by being registered
(plus its small field values in standins.TINY_FIELDS)."""

import json

import pytest
import torch
from standins import TINY_FIELDS, tiny_config

from explorer import checkpoints, kinds
from explorer.cli import main
from explorer.jobs import JobRegistry, JobSpec
from explorer.metrics import evaluate
from explorer.models import BASE_FIELDS, ModelConfig, build_model
from explorer.runs import fit
from explorer.train import TrainConfig

KIND_NAMES = list(kinds.KINDS)
ONE_EPOCH = TrainConfig(epochs=1, batch_size=64, lr=1e-2, seed=0)


@pytest.fixture(autouse=True)
def tiny_base(tmp_path, monkeypatch):
    """The checkpoints folder holds a tiny AE called `tiny_base`: the autoencoder a tiny prior models."""
    monkeypatch.setattr(checkpoints, "DEFAULT_DIR", tmp_path / "checkpoints")
    checkpoints.save(build_model(tiny_config("ae"), seed=0), tmp_path / "checkpoints" / TINY_FIELDS["base"])


def expected_terms(kind: kinds.ModelKind) -> set[str]:
    if kind.role != "autoencoder":
        return {"total", "ce"} if kind.role == "classifier" else {"total"}
    return {"total", "recon", "kl"} if kind.variational else {"total", "recon"}


EXPECTED_METRICS = {"classifier": {"accuracy", "ce"}, "prior": {"noise_error"}}


def outputs(model, kind: kinds.ModelKind, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """What a model of this kind gives for some digits: codes, class scores, or (a prior) seeded samples."""
    with torch.no_grad():
        if kind.role == "prior":
            return model.sample(4, steps=5, seed=0)
        if kind.role == "classifier":
            return model(x)
        return model.encode(x, y) if kind.conditional else model.encode(x)


@pytest.mark.parametrize("name", KIND_NAMES)
def test_every_kind_builds_trains_saves_loads_and_evaluates(name, digits, tmp_path):
    kind = kinds.get_kind(name)
    config = tiny_config(name)
    assert config.spec is kind and set(config.to_dict()) == {*BASE_FIELDS, *kind.fields}
    trained = fit(config, ONE_EPOCH, digits.x_train, digits.x_test, y_train=digits.y_train, y_test=digits.y_test)
    assert isinstance(trained.model, kind.build) and trained.model.is_variational == kind.variational
    record = trained.history.last
    assert record["epoch"] == 1 and set(record["train"]) == expected_terms(kind)

    path = checkpoints.save(trained.model, tmp_path / name, {"dataset": "digits"})
    assert set(json.loads((path / "config.json").read_text())["model"]) == {*BASE_FIELDS, *kind.fields}
    loaded = checkpoints.load(path)
    assert loaded.config == config
    for (key, a), b in zip(trained.model.state_dict().items(), loaded.model.state_dict().values()):
        assert torch.equal(a, b), key
    x, y = digits.x_test[:5], digits.y_test[:5]
    assert torch.equal(outputs(loaded.model.eval(), kind, x, y), outputs(trained.model.eval(), kind, x, y))

    metrics = evaluate(loaded.model, digits)
    if kind.role in EXPECTED_METRICS:
        assert set(metrics) == EXPECTED_METRICS[kind.role]
        return
    assert {"mse", "bce", "psnr", "linear_probe"} <= set(metrics)
    assert ("neg_elbo" in metrics) == kind.variational


# The Train page's jobs show reconstructions and codes as they train: they run the plain autoencoders.
@pytest.mark.parametrize("name", [kind.name for kind in kinds.kinds() if kind.is_plain_autoencoder])
def test_every_autoencoder_kind_trains_as_a_job_and_saves(name, tmp_path):
    registry = JobRegistry(max_running=1, checkpoints_root=tmp_path / "staging")  # not the shipped folder
    job_id = registry.submit(JobSpec("digits", tiny_config(name), ONE_EPOCH, f"job_{name}"))
    result = registry.wait(job_id, timeout=120)
    assert result.status == "done" and result.error is None
    assert set(result.history[-1]["test"]) == expected_terms(kinds.get_kind(name))
    assert len(result.reconstructions) == 2 and len(result.latent_frames) == 2  # untrained + one epoch
    loaded = checkpoints.load(registry.save(job_id, root=tmp_path))
    assert loaded.config == tiny_config(name) and loaded.info["metrics"] == result.metrics


@pytest.mark.parametrize("name", KIND_NAMES)
def test_every_kind_trains_from_the_command_line_with_its_own_flags(name, tmp_path, capsys):
    kind = kinds.get_kind(name)
    flags = []
    for field in kind.fields:  # each of the kind's fields set through its own flag, to a non-default value
        value = TINY_FIELDS[field]
        flags += ["--" + field.replace("_", "-"), ",".join(map(str, value)) if isinstance(value, tuple) else str(value)]
    out = tmp_path / f"cli_{name}"
    assert main(["train", "--model", name, "--dataset", "digits", "--latent-dim", "3", "--epochs", "1",
                 "--batch-size", "64", *flags, "--out", str(out)]) == 0
    assert checkpoints.load(out).config == tiny_config(name)
    assert main(["evaluate", str(out)]) == 0
    assert f"{out.name}: {name}" in capsys.readouterr().out


def test_fields_a_kind_does_not_use_are_neither_validated_nor_saved():
    # A conv AE has no MLP widths and no β: nonsense there is not its problem, and it is not saved.
    config = ModelConfig(kind="conv_ae", image_shape=(1, 8, 8), hidden=(), beta=-1.0, channels=(4,))
    assert "hidden" not in config.to_dict() and "beta" not in config.to_dict()
    with pytest.raises(Exception, match="β must be between"):
        ModelConfig(kind="conv_vae", image_shape=(1, 8, 8), beta=-1.0, channels=(4,))


def test_an_unknown_kind_names_the_registered_ones():
    with pytest.raises(Exception) as error:
        ModelConfig(kind="gan")
    assert all(name in str(error.value) for name in KIND_NAMES)


def test_configs_saved_before_the_registry_still_load():
    # Checkpoints saved by earlier versions hold every field, used or not.
    old = {"kind": "ae", "image_shape": [1, 8, 8], "latent_dim": 3, "hidden": [16], "channels": [32, 64],
           "convs_per_scale": 1, "beta": 1.0, "noise": "gaussian", "noise_level": 0.3}
    assert ModelConfig.from_dict(old) == tiny_config("ae")


def test_the_cli_offers_exactly_the_registered_kinds(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "{" + ",".join(KIND_NAMES) + "}" in capsys.readouterr().out


def test_no_page_compares_model_kind_strings():
    """Pages ask the registry (kind.variational, kind.denoising, ...), never `kind == "dae"`."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    offenders = []
    for path in [root / "app.py", *sorted((root / "ui").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                constants = [c for c in ast.walk(node) if isinstance(c, ast.Constant) and c.value in kinds.KINDS]
                if constants:
                    offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
