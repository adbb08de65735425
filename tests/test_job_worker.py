"""What a training job sends after each epoch, by the role of its kind (explorer/job_worker.py), how the job's
state keeps it (explorer/job_state.py), and a prior's base checked before any training (explorer/runs.py)."""

import numpy as np
import pytest
import torch
from standins import tiny_config

from explorer import checkpoints, diffusion, judge
from explorer.errors import ExplorerError
from explorer.job_state import JobSpec, JobState, merge
from explorer.job_worker import SHOWN_DIGITS, epoch_message, first_message, live_view, run_job
from explorer.latents import decode_codes, reconstruct
from explorer.models import build_model
from explorer.runs import check_settings
from explorer.train import TrainConfig

ONE_EPOCH = TrainConfig(epochs=1, batch_size=64, lr=1e-2, seed=0)
BASE = "tiny_base"


@pytest.fixture(autouse=True)
def checkpoints_dir(tmp_path, monkeypatch):
    """A checkpoints folder holding a tiny AE of the 8×8 digits, called tiny_base: the base of a tiny prior."""
    root = tmp_path / "checkpoints"
    monkeypatch.setattr(checkpoints, "DEFAULT_DIR", root)
    checkpoints.save(build_model(tiny_config("ae"), seed=0), root / BASE, {"dataset": "digits"})
    return root


def view_and_model(kind: str, digits):
    spec = JobSpec("digits", tiny_config(kind), ONE_EPOCH, "job")
    return live_view(spec, digits), build_model(spec.model, seed=0)


def test_an_autoencoder_sends_reconstructions_and_its_map(digits):
    view, model = view_and_model("vae", digits)
    message = epoch_message(model, view, None)
    assert message["reconstruction"].shape == (SHOWN_DIGITS, 1, 8, 8)
    np.testing.assert_array_equal(message["reconstruction"], reconstruct(model, view.shown))
    assert message["frame"].shape == (len(view.points), 2)
    assert "reading" not in message and "samples" not in message


def test_a_conditional_vae_is_told_each_digit_s_class(digits):
    view, model = view_and_model("cvae", digits)
    message = epoch_message(model, view, None)
    with torch.no_grad():
        own = model.decode(model.encode(view.shown, view.shown_labels), view.shown_labels).numpy()
        other = model.decode(model.encode(view.shown, view.shown_labels), (view.shown_labels + 1) % 10).numpy()
    np.testing.assert_array_equal(message["reconstruction"], own)
    assert not np.allclose(message["reconstruction"], other)  # so the class given to the decoder matters
    assert message["frame"].shape == (len(view.points), 2)


def test_a_classifier_sends_what_it_reads_and_its_test_accuracy_and_no_pictures(digits):
    view, model = view_and_model("classifier", digits)
    message = epoch_message(model, view, {"epoch": 1})
    reading = message["reading"]
    expected = judge.read(model, view.shown)
    np.testing.assert_array_equal(reading["classes"], expected.classes)
    np.testing.assert_allclose(reading["confidence"], expected.confidence)
    assert reading["accuracy"] == judge.accuracy(model, digits.x_test, digits.y_test.numpy())
    assert message["reconstruction"] is None and message["frame"] is None and "samples" not in message
    first = first_message(view)
    assert first["latent_ids"] is None and first["latent_labels"] is None  # no codes, no map
    np.testing.assert_array_equal(first["shown_labels"], view.shown_labels.numpy())


def test_a_prior_sends_the_same_noise_s_samples_through_its_base_every_epoch(digits):
    view, prior = view_and_model("latent_diffusion", digits)
    prior.fit_scale(torch.randn(50, 3))
    before = epoch_message(prior, view, None)["samples"]
    base = diffusion.base_autoencoder(prior.config).model
    np.testing.assert_array_equal(before, decode_codes(base, prior.sample(8, seed=0)[-1]))
    assert before.shape == (8, 1, 8, 8)
    np.testing.assert_array_equal(epoch_message(prior, view, None)["samples"], before)  # seeded: the same
    with torch.no_grad():
        prior.out[-1].bias.add_(1.0)  # the model changes, the noise does not: the samples change
    assert not np.allclose(epoch_message(prior, view, None)["samples"], before)
    assert epoch_message(prior, view, None)["frame"] is None


@pytest.mark.parametrize("kind, field", [("classifier", "readings"), ("latent_diffusion", "samples")])
def test_a_job_keeps_one_reading_or_sample_set_per_epoch_and_deltas_add_up(kind, field, digits, tmp_path):
    spec = JobSpec("digits", tiny_config(kind), TrainConfig(epochs=3, batch_size=64, lr=1e-2), "job")
    state = JobState("j", spec)
    run_job("j", spec, tmp_path / "staging", state.apply, stop=None)
    assert state.status == "done" and state.error is None
    assert len(getattr(state, field)) == len(state.reconstructions) == 4  # untrained + 3 epochs
    assert state.raw_frames == [] and state.latent_ids is None
    held = state.snapshot(2)  # what a page polling from epoch 2 receives
    assert len(getattr(held, field)) == 2
    whole = merge(merge(None, _cut(state.snapshot(0), 2)), held)
    assert len(getattr(whole, field)) == 4 and len(whole.reconstructions) == 4
    if field == "readings":
        assert [r["accuracy"] for r in whole.readings] == [r["accuracy"] for r in state.readings]
        assert state.metrics["accuracy"] == pytest.approx(state.readings[-1]["accuracy"])


def _cut(snap, epochs: int):
    """A snapshot as it was after `epochs` recorded epochs (a page that polled then)."""
    from dataclasses import replace

    return replace(snap, reconstructions=snap.reconstructions[:epochs], readings=snap.readings[:epochs],
                   samples=snap.samples[:epochs], history=snap.history[:epochs - 1])


def test_a_prior_without_its_base_fails_with_a_clear_message(digits, checkpoints_dir, tmp_path):
    import shutil

    spec = JobSpec("digits", tiny_config("latent_diffusion"), ONE_EPOCH, "job")
    shutil.rmtree(checkpoints_dir / BASE)  # deleted after the job was queued
    messages = []
    run_job("j", spec, tmp_path / "staging", messages.append, stop=None)
    assert messages == [{"kind": "failed", "error": f"The base autoencoder {BASE} is not among the saved models: "
                                                    "train and save it first, or pick another base."}]


def test_a_prior_s_base_must_be_an_autoencoder_of_these_digits_with_codes_of_its_size(digits, checkpoints_dir):
    checkpoints.save(build_model(tiny_config("ae", image_shape=(1, 28, 28)), seed=0), checkpoints_dir / "mnist_ae",
                     {"dataset": "mnist5k"})
    checkpoints.save(build_model(tiny_config("classifier"), seed=0), checkpoints_dir / "judge", {"dataset": "digits"})
    cases = {"mnist_ae": "mnist_ae was trained on mnist5k, not on digits",
             "judge": "judge is a digit classifier (CNN), not an autoencoder"}
    for base, words in cases.items():
        with pytest.raises(ExplorerError, match=words.replace("(", r"\(").replace(")", r"\)")):
            check_settings(tiny_config("latent_diffusion", base=base), ONE_EPOCH, digits)
    with pytest.raises(ExplorerError, match="makes 3-number codes, so its prior needs latent size 3, not 5"):
        check_settings(tiny_config("latent_diffusion", latent_dim=5), ONE_EPOCH, digits)
    check_settings(tiny_config("latent_diffusion"), ONE_EPOCH, digits)  # the right base passes
