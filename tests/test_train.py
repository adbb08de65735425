import threading

import pytest
from standins import autoencoder_kinds
import torch

from explorer import ExplorerError, TrainingDiverged
from explorer.kinds import KINDS
from explorer.models import ModelConfig, build_model
from explorer.train import (TrainConfig, duration_words, random_shift, resolve_device, time_left_words,
                           train)


def tiny(kind="vae", seed=0):
    torch.manual_seed(seed)
    return build_model(ModelConfig(kind=kind, image_shape=(1, 8, 8), latent_dim=3, hidden=(16,), channels=(4,)))


@pytest.fixture
def images():
    return torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0)).round()


@pytest.mark.parametrize("kind", autoencoder_kinds())
def test_training_lowers_the_test_loss(kind, images):
    model = tiny(kind)
    history = train(model, images, TrainConfig(epochs=15, batch_size=16, lr=1e-2), x_test=images[:16])
    first, last = history.epochs[0], history.epochs[-1]
    assert len(history.epochs) == 15 and not history.stopped_early
    assert last["test"]["total"] < first["test"]["total"]
    assert set(last["train"]) == ({"total", "recon", "kl"} if KINDS[kind].variational else {"total", "recon"})
    assert not model.training  # left ready for inference


def test_same_seed_same_weights_different_seed_different(images):
    def weights(seed):
        model = tiny("dae")  # noise and shuffling both draw from the seed
        train(model, images, TrainConfig(epochs=2, batch_size=16, seed=seed, shift=1))
        return torch.cat([p.flatten() for p in model.parameters()])

    assert torch.equal(weights(0), weights(0))
    assert not torch.equal(weights(0), weights(1))


def test_progress_every_epoch_and_every_k_steps(images):
    events = []
    train(tiny(), images, TrainConfig(epochs=2, batch_size=16, report_every=2), x_test=images, on_progress=events.append)
    # 4 steps per epoch: a step report at step 2 (not 4, the epoch report covers it), then the epoch report
    assert [(e.epoch, e.step, e.epoch_done) for e in events] == [(1, 2, False), (1, 4, True), (2, 2, False), (2, 4, True)]
    assert events[-1].test is not None and events[0].test is None
    assert events[-1].fraction == 1.0 and {"recon", "kl"} <= set(events[-1].train)


def test_stop_event_ends_training_early(images):
    stop = threading.Event()

    def stop_after_first_epoch(progress):
        if progress.epoch_done:
            stop.set()

    history = train(tiny(), images, TrainConfig(epochs=50, batch_size=16), on_progress=stop_after_first_epoch, stop=stop)
    assert len(history.epochs) == 1 and history.stopped_early


def test_divergence_raises_a_clear_error(images):
    model = tiny("ae")
    with torch.no_grad():
        model.to_mu.weight.fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="Lower the learning rate"):
        train(model, images, TrainConfig(epochs=1, batch_size=16))


@pytest.mark.parametrize("bad, message", [
    (dict(epochs=0), "Epochs"),
    (dict(batch_size=1000), "Batch size"),
    (dict(lr=1e3), "Learning rate"),
    (dict(lr=float("nan")), "Learning rate"),
    (dict(shift=9), "Shift"),
])
def test_bad_settings_are_refused_before_training(bad, message, images):
    model = tiny()
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(ExplorerError, match=message):
        train(model, images, TrainConfig(**{"batch_size": 16, **bad}))
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_random_shift_moves_each_image_within_bounds():
    x = torch.zeros(200, 1, 9, 9)
    x[:, 0, 4, 4] = 1  # one lit pixel in the centre
    shifted = random_shift(x, 2, torch.Generator().manual_seed(0))
    assert shifted.shape == x.shape and torch.equal(shifted.sum((1, 2, 3)), torch.ones(200))
    where = shifted[:, 0].flatten(1).argmax(1)
    rows, cols = where // 9, where % 9
    assert rows.min() == 2 and rows.max() == 6 and cols.min() == 2 and cols.max() == 6
    assert len(set(zip(rows.tolist(), cols.tolist()))) == 25  # all 5x5 offsets occur


def test_auto_device_falls_back_to_cpu_here():
    assert resolve_device("auto").type in {"cuda", "mps", "cpu"}
    assert resolve_device("cpu").type == "cpu"


def test_cosine_schedule_decays_the_learning_rate_to_zero(images, monkeypatch):
    seen = []
    real_step = torch.optim.Adam.step

    def record(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", record)
    train(tiny("ae"), images, TrainConfig(epochs=2, batch_size=16, lr=1e-2, cosine=True))
    assert seen[0] == pytest.approx(1e-2) and seen[-1] < 1e-3 and seen == sorted(seen, reverse=True)


@pytest.mark.parametrize("seconds, words", [(4.25, "4.2 s"), (42.4, "42 s"), (89.4, "89 s"), (90, "1.5 min"),
                                            (600, "10.0 min")])
def test_a_measured_duration_is_worded_in_seconds_then_minutes(seconds, words):
    assert duration_words(seconds) == words


@pytest.mark.parametrize("seconds, words", [(None, ""), (float("nan"), ""), (float("inf"), ""), (0, "0 s"),
                                            (-3, "0 s"), (0.2, "about 1 s"), (12.4, "about 12 s"),
                                            (89, "about 89 s"), (90, "about 2 min"), (185, "about 3 min")])
def test_time_left_is_a_rough_estimate_or_nothing_when_unknown(seconds, words):
    assert time_left_words(seconds) == words
