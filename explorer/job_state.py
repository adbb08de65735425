"""What a training job is and what a page sees of it: the spec, the snapshot, and the job's state
built by applying the messages its worker sends (explorer.job_worker), in whatever process the
worker runs: a thread, a child process, or a Ray actor.

Messages are small dicts with a "kind":
- "first": the fixed test digits (`originals`, their classes `shown_labels`) and the latent subset's
  `latent_labels`/`latent_ids` (None for a kind without codes of its own)
- "epoch": `record` (None for epoch 0, the untrained model), then what the kind's live view shows
  (explorer.job_worker.epoch_message): `reconstruction` (SHOWN, C, H, W) and `frame` (P, 2), the
  subset's own 2-D map, for an autoencoder (None otherwise); `reading` for a classifier (the class it
  reads in each shown digit, how sure, and its test accuracy); `samples` (n, C, H, W) for a prior (its
  seeded samples drawn by its base autoencoder's decoder)
- "progress": `epoch` (complete epochs), `fraction`, `seconds_left`, `elapsed`
- "measuring", then "finished" with `status` ("done" or "stopped"), `metrics` and `staged` (the folder
  the trained model was written to), or "failed" with a student-readable `error`.

`snapshot(since)` returns only what is new from epoch `since` on, so a page polling a remote job
every second moves a few kilobytes, not every epoch again; `merge` adds such a delta to what the
page already holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import numpy as np

from .models import ModelConfig
from .projection import procrustes_align
from .train import TrainConfig

STATUSES = ("queued", "running", "done", "stopped", "failed")
FINISHED = ("done", "stopped", "failed")
STATUS_ONLY = 2**31  # snapshot(job_id, since=STATUS_ONLY): the status and progress, no epochs
DIED_MESSAGE = ("The training process stopped unexpectedly (killed, perhaps out of memory). Nothing else was "
                "affected; start it again or pick a smaller model.")


@dataclass(frozen=True)
class JobSpec:
    """What to train: dataset name, model and training configs, and the checkpoint name to save as.

    `autosave` saves the model under `checkpoint_name` as soon as training finishes
    (completed runs only, never overwriting), for jobs nobody may be watching.
    """

    dataset: str
    model: ModelConfig
    training: TrainConfig
    checkpoint_name: str
    autosave: bool = False


def sharing_key(spec: JobSpec) -> str:
    """Runs with equal keys train the same model (the seed is part of the training config): they can
    share one job. The checkpoint name and autosave are not part of it: each student saves their own."""
    return json.dumps([spec.dataset, spec.model.to_dict(), spec.training.to_dict()], sort_keys=True)


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job's state, or of what is new in it from epoch `since` on.

    With since = s > 0: `reconstructions` and `raw_frames` start at epoch s, `history` at the record
    of epoch s, and the fixed arrays (`originals`, `latent_labels`, `latent_ids`) are None: the
    reader already has them (see `merge`)."""

    job_id: str
    spec: JobSpec
    status: str  # one of STATUSES
    phase: str  # "waiting", "training", "measuring", "finished"
    epoch: int  # epochs completed (a partial epoch after a Stop is not counted)
    epochs: int
    fraction: float  # of all training steps, 0..1
    seconds_left: float | None
    elapsed: float
    # per-epoch records {"epoch", "train", "test", "seconds"}; after a Stop mid-epoch the last one is
    # {"epoch": 2.4, ..., "partial": True}: where the epoch was cut, not a completed epoch
    history: list[dict]
    originals: np.ndarray | None  # (SHOWN_DIGITS, C, H, W) the fixed test digits
    # [e] = (SHOWN_DIGITS, C, H, W) after epoch e (0: untrained); None for a kind that does not reconstruct.
    # One entry per epoch whatever the kind: its length is the epochs a reader holds (see merge).
    reconstructions: list[np.ndarray | None]
    latent_labels: np.ndarray | None  # (P,) class of each snapshot point
    latent_ids: np.ndarray | None  # (P,) test-split row of each snapshot point
    raw_frames: list[np.ndarray]  # [e] = (P, 2) each epoch's own map
    metrics: dict | None
    error: str | None
    queue_position: int | None = None  # 1 = next to start; None when not queued
    saved_as: tuple[str, ...] = ()
    since: int = 0
    sharers: int = 1  # how many students (sessions) this run trains for
    wait_seconds: float | None = None  # estimated time until a queued job starts
    latent_frames: list[np.ndarray] = field(default_factory=list)  # raw_frames aligned to the latest
    shown_labels: np.ndarray | None = None  # (SHOWN_DIGITS,) the classes of `originals`
    # A classifier's, [e] after epoch e: {"classes": (SHOWN,), "confidence": (SHOWN,), "accuracy": float}
    readings: list[dict] = field(default_factory=list)
    samples: list[np.ndarray] = field(default_factory=list)  # a prior's, [e] = (n, C, H, W) after epoch e

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def savable(self) -> bool:
        return self.status in ("done", "stopped") and self.phase == "finished" and bool(self.history)


def aligned(raw_frames: list[np.ndarray]) -> list[np.ndarray]:
    """Each epoch's map turned to line up with the latest one, for the replay (see procrustes_align)."""
    return [procrustes_align(raw, raw_frames[-1]) for raw in raw_frames] if raw_frames else []


def merge(held: JobSnapshot | None, new: JobSnapshot) -> JobSnapshot:
    """What the reader holds plus a delta from `snapshot(since=len(held.reconstructions))`.
    A full snapshot (since 0), or a delta that does not follow on, replaces what is held."""
    if held is None or new.since == 0 or held.job_id != new.job_id or new.since != len(held.reconstructions):
        return new
    raw = held.raw_frames + new.raw_frames
    return replace(new, since=0, history=held.history + new.history, originals=held.originals,
                   reconstructions=held.reconstructions + new.reconstructions, latent_labels=held.latent_labels,
                   latent_ids=held.latent_ids, raw_frames=raw,
                   latent_frames=aligned(raw) if new.raw_frames else held.latent_frames,
                   shown_labels=held.shown_labels, readings=held.readings + new.readings,
                   samples=held.samples + new.samples)


class JobState:
    """One job's state, changed only by `apply(message)` and the backend's status moves. Not locked:
    the backend that owns it serializes access (a lock, or a Ray actor's single thread)."""

    def __init__(self, job_id: str, spec: JobSpec):
        self.id = job_id
        self.spec = spec
        self.status = "queued"
        self.phase = "waiting"
        self.epoch = 0
        self.fraction = 0.0
        self.seconds_left: float | None = None
        self.elapsed = 0.0
        self.history: list[dict] = []
        self.originals: np.ndarray | None = None
        self.reconstructions: list[np.ndarray] = []
        self.latent_labels: np.ndarray | None = None
        self.latent_ids: np.ndarray | None = None
        self.shown_labels: np.ndarray | None = None
        self.raw_frames: list[np.ndarray] = []
        self.readings: list[dict] = []
        self.samples: list[np.ndarray] = []
        self.metrics: dict | None = None
        self.error: str | None = None
        self.staged: str | None = None  # folder holding the trained model, once finished
        self.saved_as: list[str] = []
        self.autosave_names: list[str] = [spec.checkpoint_name] if spec.autosave else []
        self.owners: set[str] = set()
        self.watchers = 1  # sessions that started or joined it (owners, plus anonymous ones)
        self.finished_at: float | None = None
        self.started_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED and self.phase == "finished"

    def join(self, spec: JobSpec, owner: str | None) -> None:
        """Another session starts an identical run and joins this one. The same student pressing Start
        again is not a second watcher: else their own Stop would only make them leave a run nobody watches."""
        if owner is not None and owner in self.owners:
            return
        self.watchers += 1
        if owner is not None:
            self.owners.add(owner)
        if spec.autosave and spec.checkpoint_name not in self.autosave_names + self.saved_as:
            self.autosave_names.append(spec.checkpoint_name)

    def leave(self, owner: str | None) -> bool:
        """`owner` stops a run: when others share it, only they leave (True) and it goes on; else False
        (the caller stops the job)."""
        if owner is None or self.watchers <= 1 or self.finished:
            return False
        self.watchers -= 1
        self.owners.discard(owner)
        return True

    @property
    def has_unsaved_model(self) -> bool:
        return self.finished and self.status != "failed" and self.staged is not None and not self.saved_as

    def apply(self, message: dict) -> None:
        kind = message["kind"]
        if kind == "first":
            self.originals, self.latent_labels = message["originals"], message["latent_labels"]
            self.latent_ids, self.shown_labels = message["latent_ids"], message.get("shown_labels")
        elif kind == "epoch":
            if message["record"] is not None:
                self.history.append(message["record"])
            self.reconstructions.append(message.get("reconstruction"))
            # A kind has a map, a reading or samples every epoch, or never: their lists line up with the epochs.
            for name, held in (("frame", self.raw_frames), ("reading", self.readings), ("samples", self.samples)):
                if message.get(name) is not None:
                    held.append(message[name])
        elif kind == "progress":
            self.epoch, self.fraction = message["epoch"], message["fraction"]
            self.seconds_left, self.elapsed = message["seconds_left"], message["elapsed"]
        elif kind == "measuring":
            self.phase, self.seconds_left = "measuring", None
        elif kind == "finished":
            self.status, self.metrics, self.staged = message["status"], message["metrics"], message["staged"]
        elif kind == "failed":
            self.status, self.error, self.seconds_left = "failed", message["error"], None
        else:
            raise ValueError(f"unknown job message {kind!r}")

    def snapshot(self, since: int = 0, **extra) -> JobSnapshot:
        """Copies (lists are new; arrays are never modified once recorded) of what is new from epoch `since`."""
        since = max(0, min(since, len(self.reconstructions)))
        first = since == 0
        raw = list(self.raw_frames[since:])
        return JobSnapshot(
            job_id=self.id, spec=self.spec, status=self.status, phase=self.phase, epoch=self.epoch,
            epochs=self.spec.training.epochs, fraction=self.fraction, seconds_left=self.seconds_left,
            elapsed=self.elapsed, history=[dict(r) for r in self.history[max(0, since - 1) if since else 0:]],
            originals=self.originals if first else None, reconstructions=list(self.reconstructions[since:]),
            latent_labels=self.latent_labels if first else None, latent_ids=self.latent_ids if first else None,
            raw_frames=raw, metrics=dict(self.metrics) if self.metrics else None, error=self.error,
            saved_as=tuple(self.saved_as), since=since, sharers=max(1, self.watchers),
            latent_frames=aligned(raw) if first else [], shown_labels=self.shown_labels if first else None,
            readings=[dict(r) for r in self.readings[since:]], samples=list(self.samples[since:]), **extra)
