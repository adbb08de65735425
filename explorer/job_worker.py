"""The training side of a job, the same in a thread, a child process or a Ray actor.

`run_job` loads the dataset, trains, sends what a page draws (explorer.job_state's messages) through
`emit` after every epoch, measures the model, and writes it atomically (runs.save_trained) to the
job's staging folder, `<checkpoints>/.jobs/<job_id>`: hidden from the model lists until a student
saves it under a name. `stop` (anything with is_set(), e.g. a multiprocessing.Event) ends training
after the current step and keeps what was learned.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from . import cvae, diffusion, judge
from .data import load_dataset
from .errors import ExplorerError, TrainingDiverged
from .job_state import JobSpec
from .kinds import ModelKind
from .latents import decode_codes, encode_dataset, model_device, reconstruct
from .metrics import evaluate
from .projection import project_2d
from .runs import check_settings, checkpoint_info, fit, save_trained
from .train import Progress

SHOWN_DIGITS = 8  # test digits whose reconstructions are recorded every epoch
LATENT_POINTS = 1000  # at most this many test digits in the latent snapshots
SUBSET_SEED = 0  # the same digits for every job, so runs can be compared (and a prior's samples, the same noise)
PRIOR_SAMPLES = 8  # a prior's samples drawn every epoch
STAGING_FOLDER = ".jobs"  # hidden (dot) folder inside the checkpoints folder: never listed as a model
# Tests only: "kill", "raise" or "slow", read by the backend when a job is submitted and handed to the worker
# with the job (never part of a spec, so no page setting can reach it).
TEST_HOOK_ENV = "LATENT_LAB_TEST_JOB_HOOK"
SLOW_HOOK_SECONDS = 2.0  # "slow": each epoch waits this long (a Stop ends the wait at once)


def test_hook() -> str | None:
    return os.environ.get(TEST_HOOK_ENV) or None


def staging_dir(checkpoints_root: str | Path, job_id: str) -> Path:
    return Path(checkpoints_root) / STAGING_FOLDER / job_id


def shown_digit_rows(labels: np.ndarray, n: int = SHOWN_DIGITS) -> np.ndarray:
    """Rows of n test digits, one per class in class order (then cycling), first of each class."""
    labels = np.asarray(labels)
    by_class = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    rows: list[int] = []
    depth = 0
    while len(rows) < min(n, len(labels)):
        for members in by_class:
            if depth < len(members) and len(rows) < n:
                rows.append(int(members[depth]))
        depth += 1
    return np.array(rows, dtype=int)


def latent_subset_rows(n_test: int, k: int = LATENT_POINTS, seed: int = SUBSET_SEED) -> np.ndarray:
    """At most k test rows in a seeded random order (so no class is always drawn on top)."""
    return np.random.default_rng(seed).permutation(n_test)[:k]


@dataclass
class LiveView:
    """What a job shows of its model after each epoch, chosen by what the registry says of its kind:
    an autoencoder (conditional or not) reconstructs the shown digits and maps the subset's codes; a
    classifier reads the shown digits and is scored on the test split; a prior's seeded samples are drawn
    by its base autoencoder's decoder (the same noise every epoch, so the pictures show it learn)."""

    kind: ModelKind
    shown: torch.Tensor  # (SHOWN, C, H, W) fixed test digits
    shown_labels: torch.Tensor  # (SHOWN,)
    point_ids: np.ndarray  # (P,) the latent subset's test rows
    points: torch.Tensor  # (P, C, H, W) their digits
    point_labels: torch.Tensor  # (P,)
    x_test: torch.Tensor  # (N, C, H, W): a classifier's accuracy is measured on all of them
    y_test: torch.Tensor  # (N,)
    base: torch.nn.Module | None = None  # a prior's base autoencoder, whose decoder draws its samples


def live_view(spec: JobSpec, dataset) -> LiveView:
    shown_rows = shown_digit_rows(dataset.y_test.numpy())
    subset = latent_subset_rows(len(dataset.x_test))
    kind = spec.model.spec
    base = diffusion.base_autoencoder(spec.model).model if kind.role == "prior" else None
    return LiveView(kind, dataset.x_test[shown_rows], dataset.y_test[shown_rows], subset, dataset.x_test[subset],
                    dataset.y_test[subset], dataset.x_test, dataset.y_test, base)


def first_message(view: LiveView) -> dict:
    """The fixed arrays of the live view; a kind without codes of its own has no latent subset."""
    mapped = view.kind.role == "autoencoder"
    return {"kind": "first", "originals": view.shown.numpy(), "shown_labels": view.shown_labels.numpy(),
            "latent_labels": view.point_labels.numpy() if mapped else None,
            "latent_ids": view.point_ids if mapped else None}


@torch.inference_mode()
def _autoencoder_view(model, view: LiveView) -> dict:
    """Reconstructions of the shown digits and the subset's 2-D map; a conditional model is told each digit's class."""
    if view.kind.conditional:
        shown, labels = view.shown.to(model_device(model)), view.shown_labels.to(model_device(model))
        recon = model.decode(model.encode(shown, labels), labels).cpu().numpy()
        codes = cvae.style_codes(model, view.points, view.point_labels.numpy())
    else:
        recon = reconstruct(model, view.shown)  # (SHOWN, C, H, W)
        codes = encode_dataset(model, view.points)  # (P, latent), μ for VAEs
    codes = codes.astype(np.float64)
    if not np.isfinite(codes).all():
        raise TrainingDiverged("The codes became NaN or infinite: training diverged. Lower the learning rate.")
    return {"reconstruction": recon, "frame": project_2d(codes)}


def _classifier_view(model, view: LiveView) -> dict:
    reading = judge.read(model, view.shown)
    test_classes = judge.read(model, view.x_test).classes
    return {"reading": {"classes": reading.classes, "confidence": reading.confidence,
                        "accuracy": float((test_classes == view.y_test.numpy()).mean())}}


def _prior_view(model, view: LiveView) -> dict:
    codes = model.sample(PRIOR_SAMPLES, seed=SUBSET_SEED)[-1]  # (n, latent), the same noise
    if not torch.isfinite(codes).all():
        raise TrainingDiverged("The prior's samples became NaN or infinite: training diverged. Lower the learning rate.")
    return {"samples": decode_codes(view.base, codes)}


ROLE_VIEWS = {"autoencoder": _autoencoder_view, "classifier": _classifier_view, "prior": _prior_view}


def epoch_message(model, view: LiveView, record: dict | None) -> dict:
    """What the page draws after one epoch (record None: the untrained model), by the kind's role."""
    was_training = model.training
    model.eval()
    try:
        pictures = ROLE_VIEWS[view.kind.role](model, view)
    finally:
        model.train(was_training)
    return {"kind": "epoch", "record": record, "reconstruction": None, "frame": None, **pictures}


def epoch_record(progress: Progress) -> dict:
    """The loss record of an epoch. A Stop mid-epoch still ends with epoch_done (the trainer reports what
    it saw), but that epoch is not complete: it is recorded where it ended, e.g. epoch 2.4, marked partial."""
    record = {"epoch": progress.epoch, "train": dict(progress.train),
              "test": dict(progress.test) if progress.test else None, "seconds": round(progress.elapsed, 3)}
    if progress.step != progress.steps_per_epoch:
        cut = max(1, 1000 * progress.step // progress.steps_per_epoch) / 1000  # floored: 2.9999 never shows as 3
        record["epoch"] = progress.epoch - 1 + cut
        record["partial"] = True
    return record


def run_job(job_id: str, spec: JobSpec, staging: str | Path, emit: Callable[[dict], None], stop,
            hook: str | None = None) -> None:
    """Train `spec`, reporting through `emit`; ends with a "finished" or "failed" message.
    An ExplorerError's message is shown as it is; any other error is named, for the teacher."""
    try:
        _train_measure_stage(job_id, spec, Path(staging), emit, stop, hook)
    except Exception as error:  # this job fails, nothing else: the backend frees its slot
        message = str(error) if isinstance(error, ExplorerError) else f"{type(error).__name__}: {error}"
        emit({"kind": "failed", "error": message})


def _train_measure_stage(job_id: str, spec: JobSpec, staging: Path, emit, stop, hook: str | None) -> None:
    dataset = load_dataset(spec.dataset)
    check_settings(spec.model, spec.training, dataset)  # again here: e.g. a prior's base may be gone since
    view = live_view(spec, dataset)
    built, history = [], []

    def on_built(model) -> None:  # epoch 0, the untrained model
        built.append(model)
        emit(first_message(view))
        emit(epoch_message(model, view, None))

    def on_progress(progress: Progress) -> None:
        complete = progress.epoch_done and progress.step == progress.steps_per_epoch
        if progress.epoch_done:
            history.append(epoch_record(progress))
            emit(epoch_message(built[0], view, history[-1]))
            if hook == "kill":  # tests: the process dies as in an out-of-memory kill, after one epoch
                os.kill(os.getpid(), signal.SIGKILL)
            if hook == "raise":
                raise RuntimeError("out of memory (pretend)")
            if hook == "slow" and stop is not None:  # tests: a run that lasts until the test is done with it
                stop.wait(SLOW_HOOK_SECONDS)
        emit({"kind": "progress", "epoch": progress.epoch if complete else progress.epoch - 1,
              "fraction": progress.fraction, "seconds_left": progress.seconds_left, "elapsed": progress.elapsed})

    trained = fit(spec.model, spec.training, dataset.x_train, dataset.x_test, y_train=dataset.y_train,
                  y_test=dataset.y_test, on_built=on_built, on_progress=on_progress, stop=stop)
    emit({"kind": "measuring"})
    metrics = evaluate(trained.model.cpu(), dataset)
    staged = None
    if history:  # stopped before the first report: nothing learned, nothing to keep
        # The job's own history, not the trainer's: it marks an epoch cut short by a Stop as partial.
        info = {**checkpoint_info(spec.dataset, spec.training, trained, metrics), "history": history}
        staged = str(save_trained(trained.model, staging, info))
    emit({"kind": "finished", "status": "stopped" if trained.history.stopped_early else "done",
          "metrics": metrics, "staged": staged})
