"""Training jobs that outlive a browser tab: a server-wide registry of background threads.

`JobRegistry.submit(spec)` queues a training run and returns its id; at most `max_running`
jobs train at once (`configured_max_running()`: $LATENT_LAB_MAX_JOBS, else half the cores),
the rest wait in FIFO order. Each job runs `explorer.train.train` in a
daemon thread and records, under a lock, what a page needs to draw it live: progress, the
loss history, reconstructions of a fixed set of test digits after every epoch, and a 2-D
latent snapshot per epoch. Readers get copies (`snapshot`), so they never see a half-written
epoch. Finished jobs keep their model until saved (`save`) or pruned beyond `keep_finished`
(saved and failed jobs first, unsaved models last).

The torch RNG is process-global: runs are reproducible (seeded through TrainConfig.seed)
when one job trains at a time, the default on a 2-core machine. Each job thread uses
cpu_count // max_running intra-op threads, so parallel jobs share the cores instead of
each starting one thread per core.

Each epoch's latent snapshot is aligned to the latest one for the replay: see
`explorer.projection.procrustes_align`.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import checkpoints
from .data import load_dataset
from .errors import ExplorerError, TrainingDiverged
from .latents import encode_dataset, reconstruct
from .metrics import evaluate
from .models import ModelConfig
from .projection import procrustes_align, project_2d
from .runs import check_settings, checkpoint_info, fit, save_trained
from .train import Progress, TrainConfig

log = logging.getLogger(__name__)

STATUSES = ("queued", "running", "done", "stopped", "failed")
FINISHED = ("done", "stopped", "failed")
SHOWN_DIGITS = 8  # test digits whose reconstructions are recorded every epoch
LATENT_POINTS = 1000  # at most this many test digits in the latent snapshots
SUBSET_SEED = 0  # the same digits for every job, so runs can be compared
MAX_JOBS_ENV = "LATENT_LAB_MAX_JOBS"
_THREADS_LOCK = threading.Lock()  # one job at a time changes torch's inherited thread count


def available_cores() -> int:
    """CPU cores this process may use: a container's or taskset's limit, not the host's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity masks
        return os.cpu_count() or 2


def configured_max_running() -> int:
    """How many jobs may train at once: $LATENT_LAB_MAX_JOBS if it is a positive whole number,
    else half the available cores (at least 1). A bad value is logged and ignored, never fatal."""
    default = max(1, available_cores() // 2)
    raw = os.environ.get(MAX_JOBS_ENV, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        log.warning("%s=%r is not a positive whole number; running %d job(s) at once instead.",
                    MAX_JOBS_ENV, raw, default)
        return default
    return value


def threads_per_job(max_running: int) -> int:
    """Torch intra-op threads for each of max_running parallel jobs: the cores shared out, at least 1."""
    return max(1, available_cores() // max_running)


def limit_torch_threads(n: int) -> None:
    """Make the calling thread use n intra-op threads, leaving threads started later as they were.

    With OpenMP, torch.set_num_threads sets the calling thread's count, and also the count every
    thread that first uses torch afterwards starts with. A throwaway thread puts that second value
    back, so page threads started while a job trains still get all the cores.
    """
    with _THREADS_LOCK:
        inherited = torch.get_num_threads()  # in a fresh thread: the value new threads start with
        if inherited == n:
            return
        torch.set_num_threads(n)
        restore = threading.Thread(target=torch.set_num_threads, args=(inherited,), name="restore-threads")
        restore.start()
        restore.join()


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


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job's state. Arrays are never modified after they are recorded."""

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
    reconstructions: list[np.ndarray]  # [e] = (SHOWN_DIGITS, C, H, W) after epoch e (0: untrained)
    latent_labels: np.ndarray | None  # (P,) class of each snapshot point
    latent_ids: np.ndarray | None  # (P,) test-split row of each snapshot point
    latent_frames: list[np.ndarray]  # [e] = (P, 2) after epoch e, aligned to the latest epoch
    metrics: dict | None
    error: str | None
    queue_position: int | None  # 1 = next to start; None when not queued
    saved_as: tuple[str, ...]

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def savable(self) -> bool:
        return self.status in ("done", "stopped") and self.phase == "finished" and bool(self.history)


class _Job:
    """Mutable job state; every field is read and written under `lock`."""

    def __init__(self, job_id: str, spec: JobSpec):
        self.id = job_id
        self.spec = spec
        self.lock = threading.Lock()
        self.stop = threading.Event()
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
        self.raw_frames: list[np.ndarray] = []  # each epoch's own PCA map (P, 2)
        self.latent_frames: list[np.ndarray] = []  # the same, aligned to the latest
        self.metrics: dict | None = None
        self.error: str | None = None
        self.model = None
        self.trained = None  # runs.TrainedModel once training has ended
        self.saved_as: list[str] = []
        self.finished_at: float | None = None


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


class JobRegistry:
    """Server-wide training jobs: submit, watch, stop, save. Safe to use from any thread."""

    def __init__(self, max_running: int | None = None, keep_finished: int = 24):
        """max_running: jobs training at once (None: `configured_max_running()`); keep_finished:
        finished jobs remembered (their models use memory)."""
        if max_running is None:
            max_running = configured_max_running()
        if not isinstance(max_running, int) or max_running < 1:
            raise ExplorerError(f"max_running must be a whole number of at least 1, got {max_running!r}.")
        self.max_running = max_running
        self.keep_finished = keep_finished
        self._lock = threading.Lock()  # guards _jobs, _queue, _running
        self._save_lock = threading.Lock()  # one save at a time: the exists-check and the write go together
        self._changed = threading.Condition(self._lock)
        self._jobs: dict[str, _Job] = {}
        self._queue: collections.deque[str] = collections.deque()
        self._running: set[str] = set()
        self._threads: dict[str, threading.Thread] = {}

    # ------------------------------------------------------------------ submitting and reading

    def submit(self, spec: JobSpec) -> str:
        """Validate the spec and queue it; returns the job id. Raises ExplorerError on bad settings."""
        checkpoints.check_name(spec.checkpoint_name)
        check_settings(spec.model, spec.training, load_dataset(spec.dataset))
        job = _Job(uuid.uuid4().hex[:12], spec)
        with self._lock:
            self._jobs[job.id] = job
            self._queue.append(job.id)
            self._prune()
            self._start_waiting()
        return job.id

    def __contains__(self, job_id: object) -> bool:
        with self._lock:
            return job_id in self._jobs

    def job_ids(self) -> list[str]:
        with self._lock:
            return list(self._jobs)

    def queue_position(self, job_id: str) -> int | None:
        """1 for the next job to start, 2 for the one after, ...; None when the job is not waiting."""
        with self._lock:
            return self._queue.index(job_id) + 1 if job_id in self._queue else None

    def active_job_for(self, checkpoint_name: str) -> str | None:
        """The id of a queued or running job that will be saved as `checkpoint_name`, if any."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            with job.lock:
                if job.spec.checkpoint_name == checkpoint_name and job.status in ("queued", "running"):
                    return job.id
        return None

    def reserved_names(self) -> set[str]:
        """Checkpoint names that jobs will or may still save under: those of queued and running jobs,
        and of finished jobs with an unsaved model. A page proposing a new name should avoid them."""
        with self._lock:
            jobs = list(self._jobs.values())
        names = set()
        for job in jobs:
            with job.lock:
                if not job.saved_as and (job.status in ("queued", "running")
                                         or job.status in ("done", "stopped") and job.history):
                    names.add(job.spec.checkpoint_name)
        return names

    def snapshot(self, job_id: str) -> JobSnapshot:
        job = self._get(job_id)
        position = self.queue_position(job_id)
        with job.lock:
            return JobSnapshot(
                job_id=job.id, spec=job.spec, status=job.status, phase=job.phase, epoch=job.epoch,
                epochs=job.spec.training.epochs, fraction=job.fraction, seconds_left=job.seconds_left,
                elapsed=job.elapsed, history=[dict(record) for record in job.history], originals=job.originals,
                reconstructions=list(job.reconstructions), latent_labels=job.latent_labels,
                latent_ids=job.latent_ids, latent_frames=list(job.latent_frames), metrics=dict(job.metrics or {}) or None,
                error=job.error, queue_position=position, saved_as=tuple(job.saved_as),
            )

    def wait(self, job_id: str, timeout: float | None = None) -> JobSnapshot:
        """Block until the job has finished (done, stopped or failed) or `timeout` seconds pass."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while True:
                job = self._jobs.get(job_id)
                if job is None:
                    raise ExplorerError(f"No training job {job_id!r}.")
                with job.lock:
                    done = job.status in FINISHED and job.phase == "finished"
                if done:
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._changed.wait(remaining)
        return self.snapshot(job_id)

    def stop(self, job_id: str) -> None:
        """Ask a job to stop: a running job ends after its current step (and keeps what it learned);
        a queued job never starts."""
        job = self._get(job_id)
        job.stop.set()
        with self._lock:
            if job_id in self._queue:
                self._queue.remove(job_id)
                with job.lock:
                    job.status, job.phase, job.finished_at = "stopped", "finished", time.monotonic()
                self._changed.notify_all()

    # ------------------------------------------------------------------ saving

    def save(self, job_id: str, name: str | None = None, *, overwrite: bool = False, root: str | Path | None = None) -> Path:
        """Save a finished job's model as checkpoint `name` (default: the spec's name) in `root`
        (default: the checkpoints folder), with the same config.json layout as `python -m explorer train`.

        Refuses failed, unfinished and empty jobs, bad names, and existing checkpoints unless `overwrite`.
        """
        job = self._get(job_id)
        name = checkpoints.check_name(job.spec.checkpoint_name if name is None else name)
        with job.lock:
            status, phase, error = job.status, job.phase, job.error
        if status == "failed":
            raise ExplorerError(f"This training failed, so there is nothing to save ({error}).")
        if status in ("queued", "running") or phase != "finished":
            raise ExplorerError("This model is still training. Wait until it is done, or stop it first.")
        return self._write(job, name, overwrite, root)

    def _write(self, job: _Job, name: str, overwrite: bool, root: str | Path | None) -> Path:
        with job.lock:
            model, trained = job.model, job.trained
            # The job's own history, not the trainer's: it marks an epoch cut short by a Stop as partial.
            info = None if trained is None else {**checkpoint_info(job.spec.dataset, job.spec.training, trained,
                                                                   job.metrics or {}),
                                                 "history": [dict(record) for record in job.history]}
        if model is None or info is None or not info["history"]:
            raise ExplorerError("This job was stopped before it trained anything; there is nothing to save.")
        path = Path(root or checkpoints.DEFAULT_DIR) / name
        with self._save_lock:
            if path.exists() and not overwrite:
                raise ExplorerError(f"A model named {name!r} already exists. Pick another name.")
            save_trained(model, path, info)
        with job.lock:
            job.saved_as.append(name)
        return path

    # ------------------------------------------------------------------ internals

    def _get(self, job_id: str) -> _Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise ExplorerError(f"No training job {job_id!r}: it finished long ago or the server restarted.")
        return job

    def _start_waiting(self) -> None:
        """Start queued jobs while there are free slots. Caller holds self._lock."""
        while self._queue and len(self._running) < self.max_running:
            job = self._jobs[self._queue.popleft()]
            with job.lock:
                job.status, job.phase = "running", "training"
            self._running.add(job.id)
            thread = threading.Thread(target=self._run, args=(job,), name=f"train-{job.id}", daemon=True)
            self._threads[job.id] = thread
            thread.start()
        self._changed.notify_all()

    @staticmethod
    def _unsaved_model(job: _Job) -> bool:
        """A finished job whose trained model would be lost if forgotten. Caller holds job.lock."""
        return (job.status in ("done", "stopped") and job.phase == "finished" and job.model is not None
                and bool(job.history) and not job.saved_as)

    def _prune(self) -> None:
        """Forget finished jobs beyond keep_finished (their models use memory): first those with nothing
        to lose (saved, failed, stopped before training), oldest first; unsaved models only after those,
        oldest first, so a student who has not saved yet keeps their model longest. Caller holds self._lock."""
        finished = []
        for job in self._jobs.values():
            with job.lock:
                if job.status in FINISHED and job.phase == "finished":
                    finished.append((self._unsaved_model(job), job.finished_at or 0.0, job.id))
        for *_, job_id in sorted(finished)[: max(0, len(finished) - self.keep_finished)]:
            del self._jobs[job_id]
            self._threads.pop(job_id, None)

    def _run(self, job: _Job) -> None:
        spec = job.spec
        try:
            limit_torch_threads(threads_per_job(self.max_running))
            dataset = load_dataset(spec.dataset)
            shown = dataset.x_test[shown_digit_rows(dataset.y_test.numpy())]
            subset = latent_subset_rows(len(dataset.x_test))
            built = []

            def on_built(model) -> None:  # epoch 0, the untrained model, published with what the frames show
                built.append(model)
                self._record_epoch(job, model, shown, dataset.x_test[subset],
                                   first=dict(originals=shown.numpy(), latent_labels=dataset.y_test.numpy()[subset],
                                              latent_ids=subset))

            def on_progress(progress: Progress) -> None:
                # A Stop mid-epoch still ends with epoch_done (the trainer reports what it saw), but
                # that epoch is not complete: it is recorded where it ended, e.g. epoch 2.4, marked
                # partial, and not counted in `epoch`.
                complete = progress.epoch_done and progress.step == progress.steps_per_epoch
                if progress.epoch_done:
                    record = {"epoch": progress.epoch, "train": dict(progress.train),
                              "test": dict(progress.test) if progress.test else None,
                              "seconds": round(progress.elapsed, 3)}
                    if not complete:
                        # floored, so 2.9999 never shows as a whole 3
                        cut = max(1, 1000 * progress.step // progress.steps_per_epoch) / 1000
                        record["epoch"] = progress.epoch - 1 + cut
                        record["partial"] = True
                    self._record_epoch(job, built[0], shown, dataset.x_test[subset], record)
                with job.lock:
                    job.epoch = progress.epoch if complete else progress.epoch - 1
                    job.fraction = progress.fraction
                    job.seconds_left = progress.seconds_left
                    job.elapsed = progress.elapsed

            trained = fit(spec.model, spec.training, dataset.x_train, dataset.x_test, y_train=dataset.y_train,
                          y_test=dataset.y_test, on_built=on_built, on_progress=on_progress, stop=job.stop)
            with job.lock:
                job.phase, job.seconds_left = "measuring", None
            metrics = evaluate(trained.model.cpu(), dataset)
            with job.lock:
                job.model, job.trained, job.metrics = trained.model, trained, metrics
            # Saved before the status leaves "running": a page that sees the job end finds the checkpoint.
            if spec.autosave and not trained.history.stopped_early:
                self._autosave(job)
            with job.lock:
                job.status = "stopped" if trained.history.stopped_early else "done"
        except Exception as error:  # any crash fails this job only; the slot is freed below
            if not isinstance(error, ExplorerError):
                log.exception("Training job %s crashed", job.id)
            message = str(error) if isinstance(error, ExplorerError) else f"{type(error).__name__}: {error}"
            with job.lock:
                job.status, job.error, job.model = "failed", message, None
                job.seconds_left = None
        finally:
            with self._lock:
                with job.lock:
                    job.phase, job.finished_at = "finished", time.monotonic()
                self._running.discard(job.id)
                self._start_waiting()

    def _autosave(self, job: _Job) -> None:
        try:
            self._write(job, job.spec.checkpoint_name, overwrite=False, root=None)
        except ExplorerError as error:
            log.warning("Autosave of training job %s failed: %s", job.id, error)
            with job.lock:
                job.error = f"Not saved automatically: {error}"

    def _record_epoch(self, job: _Job, model, shown: torch.Tensor, subset: torch.Tensor, record: dict | None = None,
                      first: dict | None = None) -> None:
        """Reconstructions of the shown digits and the latent map of the subset, after one epoch."""
        was_training = model.training
        model.eval()
        recon = reconstruct(model, shown)  # (SHOWN, C, H, W)
        codes = encode_dataset(model, subset).astype(np.float64)  # (P, latent), μ for VAEs
        model.train(was_training)
        if not np.isfinite(codes).all():
            raise TrainingDiverged("The codes became NaN or infinite: training diverged. Lower the learning rate.")
        frame = project_2d(codes)
        with job.lock:
            for name, value in (first or {}).items():
                setattr(job, name, value)
            if record is not None:
                job.history.append(record)
            job.reconstructions.append(recon)
            job.raw_frames.append(frame)
            job.latent_frames = [procrustes_align(raw, frame) for raw in job.raw_frames]
