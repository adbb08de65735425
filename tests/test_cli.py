import json
import subprocess
import sys

import pytest

from explorer.cli import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpt") / "tiny_vae"
    code = main(["train", "--model", "vae", "--dataset", "digits", "--latent-dim", "2", "--hidden", "32",
                 "--epochs", "2", "--batch-size", "64", "--out", str(out)])
    assert code == 0
    return out


def test_train_saves_a_checkpoint_with_history_and_metrics(trained):
    info = json.loads((trained / "config.json").read_text())
    assert info["model"]["kind"] == "vae" and info["model"]["latent_dim"] == 2
    assert info["model"]["image_shape"] == [1, 8, 8] and info["dataset"] == "digits"
    assert len(info["history"]) == 2 and info["training"]["epochs"] == 2
    assert {"mse", "bce", "psnr", "neg_elbo", "linear_probe"} <= set(info["metrics"])


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_train_prints_each_epoch_like_the_train_page(tmp_path, capsys, kind):
    out = tmp_path / f"tiny_{kind}"
    assert main(["train", "--model", kind, "--dataset", "digits", "--latent-dim", "2", "--hidden", "16",
                 "--epochs", "2", "--batch-size", "64", "--out", str(out)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Epoch ")]
    history = json.loads((out / "config.json").read_text())["history"]
    assert len(lines) == 2
    for k, (line, record) in enumerate(zip(lines, history), start=1):
        # "Epoch 1 of 2 · about 1 s left · train recon 44.01 · test recon 43.3" (+ total and KL for a VAE)
        head, left, train_part, test_part = line.split(" · ")
        assert head == f"Epoch {k} of 2" and left.endswith(" s left")
        assert left.startswith("about ") if k < 2 else left == "0 s left"
        assert train_part.startswith("train ") and test_part.startswith("test ")
        for part, losses in ((train_part, record["train"]), (test_part, record["test"])):
            assert f"recon {losses['recon']:.4g}" in part
            if kind == "vae":
                assert f"KL {losses['kl']:.4g}" in part and f"total {losses['total']:.4g}" in part
            else:  # a plain AE's total is its recon: shown once
                assert "KL" not in part and "total" not in part


def test_evaluate_prints_the_metrics(trained, capsys):
    assert main(["evaluate", str(trained)]) == 0
    out = capsys.readouterr().out
    assert "neg. ELBO/image (nats)" in out and "linear probe acc." in out


def test_list_shows_the_checkpoint(trained, capsys):
    assert main(["list", "--dir", str(trained.parent)]) == 0
    assert "tiny_vae" in capsys.readouterr().out


def test_train_a_conv_vae_with_extra_convs_per_scale_and_load_it(tmp_path):
    from explorer import checkpoints

    out = tmp_path / "tiny_conv"
    assert main(["train", "--model", "conv_vae", "--dataset", "digits", "--latent-dim", "4", "--channels", "8,16",
                 "--convs-per-scale", "2", "--epochs", "1", "--out", str(out)]) == 0
    loaded = checkpoints.load(out)
    assert loaded.config.convs_per_scale == 2 and loaded.config.channels == (8, 16)


def test_errors_are_one_line_not_a_traceback(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: No checkpoint") and "Traceback" not in err
    assert main(["train", "--epochs", "0", "--dataset", "digits", "--out", str(tmp_path / "x")]) == 2
    assert "Epochs" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "explorer", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "train" in result.stdout


def test_importing_explorer_does_not_import_streamlit():
    code = ("import sys, explorer, explorer.data, explorer.models, explorer.train, explorer.checkpoints, "
            "explorer.metrics, explorer.cli; print('streamlit' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_train_through_the_job_backend_watches_the_epochs_and_saves(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LATENT_LAB_JOB_BACKEND", "process")
    out = tmp_path / "by_job"
    assert main(["train", "--model", "vae", "--dataset", "digits", "--latent-dim", "2", "--hidden", "16",
                 "--epochs", "3", "--batch-size", "64", "--out", str(out), "--job"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("job ") and printed[0].endswith("submitted (process backend)")
    history = json.loads((out / "config.json").read_text())["history"]
    epochs = [line for line in printed if line.startswith("Epoch ")]
    assert [line.split(" · ")[0] for line in epochs] == ["Epoch 1 of 3", "Epoch 2 of 3", "Epoch 3 of 3"]
    assert f"recon {history[-1]['train']['recon']:.4g}" in epochs[-1]
    assert any(line.startswith("done in ") and line.endswith(f"saved {out}") for line in printed)


def test_detach_needs_a_job_on_ray(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LATENT_LAB_JOB_BACKEND", "process")
    tiny = ["train", "--model", "ae", "--dataset", "digits", "--latent-dim", "2", "--hidden", "16", "--epochs", "1",
            "--out", str(tmp_path / "x")]
    assert main([*tiny, "--detach"]) == 2
    assert "--detach goes with --job" in capsys.readouterr().err
    assert main([*tiny, "--job", "--detach"]) == 2
    assert "needs LATENT_LAB_JOB_BACKEND=ray" in capsys.readouterr().err
