"""Training jobs that outlive a browser tab, out of the web server's way: one interface, three backends.

Every backend offers the same calls, used by the Train page and the tests:
`submit(spec, owner=None) -> job id`, `snapshot(job_id, since=0)` (what is new from epoch `since`
on; see explorer.job_state.merge), `wait`, `stop(job_id, owner=None)`, `save(job_id, name)`,
`queue_position`, `active_job_for(name)`, `reserved_names()`, and `job_id in backend`.

- "process" (the default, `LocalJobs(launch="process")`): each job trains in its own child process
  (forkserver, with torch already imported there, so a job starts in a fraction of a second;
  a threaded web server must not fork itself). Epoch messages come back through a pipe, a Stop is an
  event, and a child that dies (killed, out of memory, a native crash) fails only its own job.
- "threads" (`JobRegistry`, what the app did before): jobs train in threads of the web process.
  Kept for comparison in bench/class_burst.py and for tests that patch the trainer in-process.
- "ray" (explorer.job_ray): jobs are detached named Ray actors, so every server sees every job.

`open_jobs()` picks one from $LATENT_LAB_JOB_BACKEND. The queue, the shared runs and the one-job-per-
student rule are explorer.job_queue's. At most `max_running` jobs train at once
(`configured_max_running()`: $LATENT_LAB_MAX_JOBS, else half the cores), each with cores // max_running
torch threads; the rest wait in FIFO order. The trained model is written by the worker to
`<checkpoints>/.jobs/<job_id>` (hidden from listings) and copied under a student's name on save.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.forkserver
import os
import shutil
import tempfile
import threading
import time
import uuid
from multiprocessing import connection
from pathlib import Path

import torch

from . import checkpoints, job_worker
from .data import load_dataset
from .errors import ExplorerError
from .job_queue import ActiveJobExists, QueueFull, Scheduler  # noqa: F401  (raised through this interface)
from .job_state import DIED_MESSAGE, FINISHED, STATUSES, JobSnapshot, JobSpec, JobState, merge, sharing_key  # noqa: F401
from .job_worker import SHOWN_DIGITS, latent_subset_rows, shown_digit_rows  # noqa: F401
from .runs import check_settings

log = logging.getLogger(__name__)

MAX_JOBS_ENV = "LATENT_LAB_MAX_JOBS"
BACKEND_ENV = "LATENT_LAB_JOB_BACKEND"
BACKENDS = ("process", "threads", "ray")
_THREADS_LOCK = threading.Lock()  # one job at a time changes torch's inherited thread count
FORKSERVER_PRELOAD = ("sklearn.datasets", "sklearn.decomposition", "sklearn.linear_model", "sklearn.pipeline",
                      "sklearn.preprocessing")
POLL_SECONDS = 0.2  # how often the monitor looks for new jobs' pipes when none has spoken


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
    """Torch intra-op threads for each of max_running parallel jobs: the cores but one shared out, at least 1.

    One core stays with the web server, which renders every student's page while the jobs train: an
    OpenMP thread that shares its core with busy page threads spins and waits, and a 2-thread job on a
    busy 2-core machine trained 6x slower than a 1-thread one (measured; see bench/class_burst.py)."""
    return max(1, (available_cores() - 1) // max_running)


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


def backend_name(backend: str | None = None) -> str:
    """The job backend asked for: `backend`, else $LATENT_LAB_JOB_BACKEND, else "process"."""
    return (backend or os.environ.get(BACKEND_ENV, "") or "process").strip().lower()


def open_jobs(backend: str | None = None):
    """The job backend this server uses: $LATENT_LAB_JOB_BACKEND ("process", the default; "threads";
    "ray", which needs the ray package and joins $RAY_ADDRESS, else starts a local Ray)."""
    backend = backend_name(backend)
    if backend not in BACKENDS:
        raise ExplorerError(f"{BACKEND_ENV}={backend!r} is not a job backend; use one of {', '.join(BACKENDS)}.")
    if backend == "ray":
        from .job_ray import RayJobs  # Ray is imported only when chosen

        return RayJobs()
    return LocalJobs(launch=backend)


def copy_staged(staged: str | Path, target: Path, overwrite: bool = False) -> Path:
    """Copy a job's staged model folder to `target` atomically: into a hidden temporary folder beside
    it, then one rename, so no half-written checkpoint is ever listed (an abandoned `.NAME.*.saving`
    folder is cleaned up by checkpoints.list_checkpoints)."""
    if checkpoints.read_only():
        raise ExplorerError(checkpoints.READ_ONLY_MESSAGE)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".saving", dir=target.parent))
    except OSError as error:
        raise ExplorerError(f"Cannot write to {target.parent}: {error.strerror}. Pick a writable folder.") from None
    try:
        shutil.copytree(staged, temporary, dirs_exist_ok=True)
        with checkpoints.folder_lock(target.parent):
            if target.exists() and not overwrite:
                raise ExplorerError(f"A model named {target.name!r} already exists. Pick another name.")
            retired = target.parent / f".{target.name}.old"
            if target.exists():
                shutil.rmtree(retired, ignore_errors=True)
                os.replace(target, retired)
            os.rename(temporary, target)  # fails, rather than clobbers, if another server just saved this name
        shutil.rmtree(retired, ignore_errors=True)
    except OSError as error:
        raise ExplorerError(f"Saving {target.name} failed: {error.strerror or error}. Nothing was changed.") from None
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return target


def _forkserver_context():
    context = multiprocessing.get_context("forkserver")
    # Imported once, in the fork server, instead of in every job: torch, and the sklearn parts that
    # loading a dataset and measuring a model use (about 2 s a job otherwise, on 2 cores).
    context.set_forkserver_preload(["explorer.job_worker", *FORKSERVER_PRELOAD])
    return context


def _start_forkserver() -> None:
    try:
        multiprocessing.forkserver.ensure_running()
    except Exception as error:  # e.g. a process still bootstrapping; the first job starts it instead
        log.debug("Fork server not started early: %s", error)


def app_settings() -> dict[str, str]:
    """This process's LATENT_LAB_* settings, for a job's child to run under."""
    return {name: value for name, value in os.environ.items() if name.startswith("LATENT_LAB_")}


def child_main(job_id, spec, staging, conn, stop, hook, threads, settings: dict[str, str]) -> None:
    """A job's child process: its own torch threads and seeded random state, messages down the pipe.

    A forkserver child inherits the environment of the fork server, which is that of the moment it
    started, not the server's now: `settings` (app_settings() at launch) replaces its LATENT_LAB_* ones."""
    for name in [name for name in os.environ if name.startswith("LATENT_LAB_")]:
        del os.environ[name]
    os.environ.update(settings)
    if "LATENT_LAB_CHECKPOINTS" in settings:  # read at import, in the fork server: a prior's base is found there
        checkpoints.DEFAULT_DIR = Path(settings["LATENT_LAB_CHECKPOINTS"])
    torch.set_num_threads(threads)
    torch.manual_seed(spec.training.seed)
    try:
        job_worker.run_job(job_id, spec, staging, conn.send, stop, hook)
    finally:
        conn.close()


class LocalJobs:
    """Jobs on this machine, each in a child process (launch="process") or a thread ("threads").
    Safe to use from any thread: one lock guards the states and the scheduler."""

    def __init__(self, max_running: int | None = None, keep_finished: int = 24, launch: str = "process",
                 max_queued: int | None = None, checkpoints_root: str | Path | None = None):
        """max_running: jobs training at once (None: `configured_max_running()`); keep_finished: finished
        jobs remembered (their staged models use disk); checkpoints_root: where staged models go (None:
        the checkpoints folder at submit time)."""
        if max_running is None:
            max_running = configured_max_running()
        if not isinstance(max_running, int) or isinstance(max_running, bool) or max_running < 1:
            raise ExplorerError(f"max_running must be a whole number of at least 1, got {max_running!r}.")
        if launch not in ("process", "threads"):
            raise ExplorerError(f"launch must be 'process' or 'threads', got {launch!r}.")
        self.max_running, self.keep_finished, self.launch = max_running, keep_finished, launch
        self.checkpoints_root = checkpoints_root
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._save_lock = threading.Lock()  # one save at a time: the exists-check and the write go together
        self._scheduler = Scheduler(max_running, max_queued)
        self._states: dict[str, JobState] = {}
        self._launch: dict[str, tuple] = {}  # job id -> (staging folder, test hook), until it starts
        self._stops: dict[str, object] = {}  # job id -> its stop event
        self._pipes: dict[connection.Connection, str] = {}  # receiving end -> job id, while it trains
        self._workers: dict[str, object] = {}  # job id -> its Process or Thread
        self._context = _forkserver_context() if launch == "process" else None
        self._monitor: threading.Thread | None = None
        if self._context:  # start the fork server (and its imports) now, not when the first student waits
            threading.Thread(target=_start_forkserver, name="forkserver", daemon=True).start()

    # ------------------------------------------------------------------ submitting and reading

    def submit(self, spec: JobSpec, owner: str | None = None) -> str:
        """Validate the spec and queue it, or join an identical run; returns the job id. `owner` (the
        page's session id) may have one active job at a time.
        Raises ExplorerError on bad settings, ActiveJobExists, QueueFull."""
        checkpoints.check_name(spec.checkpoint_name)
        check_settings(spec.model, spec.training, load_dataset(spec.dataset))
        root = Path(self.checkpoints_root or checkpoints.DEFAULT_DIR)
        with self._lock:
            job_id, new = self._scheduler.admit(uuid.uuid4().hex[:12], sharing_key(spec), spec.training.epochs, owner)
            if new:
                self._states[job_id] = JobState(job_id, spec)
                self._launch[job_id] = (job_worker.staging_dir(root, job_id), job_worker.test_hook())
                self._stops[job_id] = self._context.Event() if self._context else threading.Event()
                if owner is not None:
                    self._states[job_id].owners.add(owner)
            else:
                self._states[job_id].join(spec, owner)
            self._prune()
            self._start_waiting()
        return job_id

    def __contains__(self, job_id: object) -> bool:
        with self._lock:
            return job_id in self._states

    def job_ids(self) -> list[str]:
        with self._lock:
            return list(self._states)

    def queue_position(self, job_id: str) -> int | None:
        """1 for the next job to start, 2 for the one after, ...; None when the job is not waiting."""
        with self._lock:
            return self._scheduler.position(job_id)

    def active_job_for(self, checkpoint_name: str) -> str | None:
        """The id of a queued or running job that will be saved as `checkpoint_name`, if any."""
        with self._lock:
            for state in self._states.values():
                if not state.finished and checkpoint_name in (state.spec.checkpoint_name, *state.autosave_names):
                    return state.id
        return None

    def reserved_names(self) -> set[str]:
        """Checkpoint names that jobs will or may still save under: those of queued and running jobs,
        and of finished jobs with an unsaved model. A page proposing a new name should avoid them."""
        with self._lock:
            return {state.spec.checkpoint_name for state in self._states.values()
                    if not state.saved_as and (not state.finished or state.has_unsaved_model)}

    def snapshot(self, job_id: str, since: int = 0) -> JobSnapshot:
        with self._lock:
            state = self._get(job_id)
            now = time.monotonic()
            return state.snapshot(since, queue_position=self._scheduler.position(job_id),
                                  wait_seconds=self._scheduler.estimated_wait(job_id, now))

    def wait(self, job_id: str, timeout: float | None = None) -> JobSnapshot:
        """Block until the job has finished (done, stopped or failed) or `timeout` seconds pass."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while not self._get(job_id).finished:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._changed.wait(remaining)
        return self.snapshot(job_id)

    def stop(self, job_id: str, owner: str | None = None) -> bool:
        """Stop a job: a running job ends after its current step (and keeps what it learned); a queued
        job never starts. When `owner` shares the run with other students, only they leave it and it
        goes on for the others: returns False then, True when the job was asked to stop."""
        with self._lock:
            state = self._get(job_id)
            if state.leave(owner):
                self._scheduler.leave(job_id, owner)
                return False
            self._stops[job_id].set()
            if self._scheduler.withdraw(job_id):
                state.status, state.phase, state.finished_at = "stopped", "finished", time.monotonic()
                self._changed.notify_all()
        return True

    # ------------------------------------------------------------------ saving

    def save(self, job_id: str, name: str | None = None, *, overwrite: bool = False,
             root: str | Path | None = None) -> Path:
        """Save a finished job's model as checkpoint `name` (default: the spec's name) in `root`
        (default: this backend's checkpoints folder), with the same config.json layout as `python -m explorer train`.

        Refuses failed, unfinished and empty jobs, bad names, and existing checkpoints unless `overwrite`.
        """
        with self._lock:
            state = self._get(job_id)
        name = checkpoints.check_name(state.spec.checkpoint_name if name is None else name)
        if state.status == "failed":
            raise ExplorerError(f"This training failed, so there is nothing to save ({state.error}).")
        if not state.finished:
            raise ExplorerError("This model is still training. Wait until it is done, or stop it first.")
        return self._write(state, name, overwrite, root)

    def _write(self, state: JobState, name: str, overwrite: bool, root: str | Path | None) -> Path:
        if state.staged is None:
            raise ExplorerError("This job was stopped before it trained anything; there is nothing to save.")
        with self._save_lock:
            path = copy_staged(state.staged, Path(root or self.checkpoints_root or checkpoints.DEFAULT_DIR) / name,
                               overwrite)
        with self._lock:
            state.saved_as.append(name)
            if state.finished:  # not an autosave on the way out: that job is released when it ends
                self._scheduler.unshare(state.id)
        return path

    # ------------------------------------------------------------------ internals

    def _get(self, job_id: str) -> JobState:
        """Caller holds the lock."""
        state = self._states.get(job_id)
        if state is None:
            raise ExplorerError(f"No training job {job_id!r}: it finished long ago or the server restarted.")
        return state

    def _start_waiting(self) -> None:
        """Start queued jobs while there are free slots. Caller holds the lock."""
        for job_id in self._scheduler.start_next(time.monotonic()):
            state = self._states[job_id]
            state.status, state.phase, state.started_at = "running", "training", time.monotonic()
            staging, hook = self._launch.pop(job_id)
            receiver, sender = (self._context or multiprocessing).Pipe(duplex=False)
            args = (job_id, state.spec, staging, sender, self._stops[job_id], hook, threads_per_job(self.max_running))
            if self._context:
                worker = self._context.Process(target=child_main, args=(*args, app_settings()), name=f"train-{job_id}",
                                               daemon=True)
            else:
                worker = threading.Thread(target=_thread_main, args=args, name=f"train-{job_id}", daemon=True)
            worker.start()
            if self._context:
                sender.close()  # the child holds the only sending end now: its death closes the pipe
            self._workers[job_id] = worker
            self._pipes[receiver] = job_id
        if self._pipes and (self._monitor is None or not self._monitor.is_alive()):
            self._monitor = threading.Thread(target=self._watch, name="job-monitor", daemon=True)
            self._monitor.start()
        self._changed.notify_all()

    def _watch(self) -> None:
        """Apply every job's messages as they come; a pipe that closes before "finished" or "failed"
        means its worker died."""
        while True:
            with self._lock:
                pipes = list(self._pipes)
                if not pipes:
                    self._monitor = None
                    return
            for receiver in connection.wait(pipes, timeout=POLL_SECONDS):
                job_id = self._pipes[receiver]
                try:
                    message = receiver.recv()
                except Exception:  # EOF, or a message cut off by the child's death
                    self._ended(job_id, receiver)
                    continue
                with self._lock:
                    self._states[job_id].apply(message)
                    self._changed.notify_all()

    def _ended(self, job_id: str, receiver) -> None:
        receiver.close()
        worker = self._workers.pop(job_id)
        worker.join(timeout=10)
        with self._lock:
            state = self._states[job_id]
            del self._pipes[receiver]
            if state.status == "running":  # neither "finished" nor "failed" arrived: the worker died
                log.warning("Training job %s: its worker died (exit code %s)", job_id, getattr(worker, "exitcode", None))
                state.apply({"kind": "failed", "error": DIED_MESSAGE})
            names = list(state.autosave_names) if state.status == "done" else []
        # Saved before the job stops counting as active: a page that sees it end finds the checkpoint.
        for name in names:
            self._autosave(state, name)
        with self._lock:
            state.phase, state.finished_at = "finished", time.monotonic()
            self._scheduler.finished(job_id, time.monotonic(), shareable=state.status == "done" and bool(state.staged),
                                     measured=state.status == "done")
            self._start_waiting()

    def _autosave(self, state: JobState, name: str) -> None:
        try:
            self._write(state, name, overwrite=False, root=None)
        except ExplorerError as error:
            log.warning("Autosave of training job %s failed: %s", state.id, error)
            with self._lock:
                state.error = f"Not saved automatically: {error}"

    def _prune(self) -> None:
        """Forget finished jobs beyond keep_finished (their staged models use disk): first those with
        nothing to lose (saved, failed, stopped before training), oldest first; unsaved models only after
        those, oldest first, so a student who has not saved yet keeps their model longest. Caller holds the lock."""
        finished = sorted((state.has_unsaved_model, state.finished_at or 0.0, state.id)
                          for state in self._states.values() if state.finished)
        for *_, job_id in finished[: max(0, len(finished) - self.keep_finished)]:
            state = self._states.pop(job_id)
            self._stops.pop(job_id, None)
            self._scheduler.forget(job_id)
            if state.staged:
                shutil.rmtree(state.staged, ignore_errors=True)


def _thread_main(job_id, spec, staging, conn, stop, hook, threads) -> None:
    """A job's thread in the web process (the "threads" backend): torch's RNG is shared with every thread."""
    try:
        limit_torch_threads(threads)
        job_worker.run_job(job_id, spec, staging, conn.send, stop, hook)
    finally:
        conn.close()


class JobRegistry(LocalJobs):
    """Jobs in threads of this process (the "threads" backend), as before child processes."""

    def __init__(self, max_running: int | None = None, keep_finished: int = 24, **options):
        super().__init__(max_running, keep_finished, launch="threads", **options)
