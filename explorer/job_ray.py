"""The Ray job backend ($LATENT_LAB_JOB_BACKEND=ray): jobs for a class larger than one machine.

Two kinds of detached, named Ray actors in one namespace (default "latent_lab"), so every web server
finds them by name and they outlive the server that created them:
- the coordinator ("coordinator"): the queue, shared runs, owners and running slots
  (explorer.job_queue.Scheduler, the same rules as on one machine), and each job's status;
- one actor per job ("job-<id>"): trains with explorer.job_worker in its own worker process and holds
  the epochs a page draws. A job actor that dies (killed, out of memory) fails that job only.

Every server and every Ray worker must see the same checkpoints folder (LATENT_LAB_CHECKPOINTS on
shared storage, see the README): a job stages its model in `<checkpoints>/.jobs/<id>`, and a save on
any server copies it from there. Ray is imported only here, when this backend is chosen.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from pathlib import Path

import ray

from . import checkpoints, job_worker
from .errors import ExplorerError
from .job_queue import Scheduler
from .job_state import DIED_MESSAGE, STATUS_ONLY, JobSnapshot, JobSpec, JobState, sharing_key
from .runs import check_settings
from .data import load_dataset

NAMESPACE = "latent_lab"
COORDINATOR = "coordinator"
PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)
POLL_SECONDS = 0.2


def actor_name(job_id: str) -> str:
    return f"job-{job_id}"


def _unwrap(ref):
    """ray.get, re-raising an ExplorerError raised inside an actor as itself (with its plain message)."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as error:
        if isinstance(error.cause, ExplorerError):
            raise error.cause from None
        raise


@ray.remote
class JobActor:
    """One job: trains in a thread of this actor's process; snapshot/stop are served meanwhile."""

    def __init__(self, job_id: str, spec: JobSpec, staging: str, hook: str | None, threads: int):
        self.state = JobState(job_id, spec)
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.staging, self.hook, self.threads = staging, hook, threads

    def run(self) -> dict:
        import torch

        torch.set_num_threads(self.threads)
        torch.manual_seed(self.state.spec.training.seed)
        with self.lock:
            self.state.status, self.state.phase = "running", "training"
        job_worker.run_job(self.state.id, self.state.spec, self.staging, self._apply, self.stop_event, self.hook)
        with self.lock:
            return {"status": self.state.status, "error": self.state.error, "staged": self.state.staged,
                    "metrics": self.state.metrics}

    def _apply(self, message: dict) -> None:
        with self.lock:
            self.state.apply(message)

    def snapshot(self, since: int) -> JobSnapshot:
        with self.lock:
            return self.state.snapshot(since)

    def stop(self) -> None:
        self.stop_event.set()


@ray.remote
class Coordinator:
    """The class-wide queue. Ray runs its methods one at a time, so the Scheduler needs no lock."""

    def __init__(self, max_running: int, max_queued: int | None, namespace: str):
        self.scheduler = Scheduler(max_running, max_queued)
        self.states: dict[str, JobState] = {}  # status, owners, names; the epochs live in the job actors
        self.launch: dict[str, tuple] = {}
        self.runs: dict[str, ray.ObjectRef] = {}
        self.actors: dict[str, ray.actor.ActorHandle] = {}
        self.namespace = namespace

    def submit(self, job_id: str, spec: JobSpec, owner: str | None, staging: str, hook: str | None,
               threads: int) -> str:
        self._reap()
        job_id, new = self.scheduler.admit(job_id, sharing_key(spec), spec.training.epochs, owner)
        if new:
            self.states[job_id] = JobState(job_id, spec)
            self.launch[job_id] = (staging, hook, threads)
            if owner is not None:
                self.states[job_id].owners.add(owner)
        else:
            self.states[job_id].join(spec, owner)
        self._start_waiting()
        return job_id

    def status(self, job_id: str) -> JobSnapshot | None:
        """The job's status-only snapshot with its queue place and wait, or None if unknown."""
        self._reap()
        state = self.states.get(job_id)
        if state is None:
            return None
        return state.snapshot(STATUS_ONLY, queue_position=self.scheduler.position(job_id),
                              wait_seconds=self.scheduler.estimated_wait(job_id, time.monotonic()))

    def job_ids(self) -> list[str]:
        return list(self.states)

    def names(self) -> list[tuple[str, list[str], bool, bool, bool]]:
        """(spec name, autosave names, finished, saved, unsaved model) of every job."""
        self._reap()
        return [(s.spec.checkpoint_name, list(s.autosave_names), s.finished, bool(s.saved_as), s.has_unsaved_model)
                for s in self.states.values()]

    def stop(self, job_id: str, owner: str | None) -> bool:
        self._reap()
        state = self._get(job_id)
        if state.leave(owner):
            self.scheduler.leave(job_id, owner)
            return False
        if self.scheduler.withdraw(job_id):
            state.status, state.phase, state.finished_at = "stopped", "finished", time.monotonic()
        elif job_id in self.actors:
            self.actors[job_id].stop.remote()
        return True

    def staged(self, job_id: str) -> str:
        """The staged folder of a finished job's model, or an ExplorerError saying why there is none."""
        self._reap()
        state = self._get(job_id)
        if state.status == "failed":
            raise ExplorerError(f"This training failed, so there is nothing to save ({state.error}).")
        if not state.finished:
            raise ExplorerError("This model is still training. Wait until it is done, or stop it first.")
        if state.staged is None:
            raise ExplorerError("This job was stopped before it trained anything; there is nothing to save.")
        return state.staged

    def saved(self, job_id: str, name: str) -> None:
        self.states[job_id].saved_as.append(name)
        self.scheduler.unshare(job_id)

    def _get(self, job_id: str) -> JobState:
        state = self.states.get(job_id)
        if state is None:
            raise ExplorerError(f"No training job {job_id!r}: it finished long ago or the cluster restarted.")
        return state

    def _start_waiting(self) -> None:
        for job_id in self.scheduler.start_next(time.monotonic()):
            state = self.states[job_id]
            state.status, state.phase = "running", "training"
            staging, hook, threads = self.launch.pop(job_id)
            actor = JobActor.options(name=actor_name(job_id), namespace=self.namespace, lifetime="detached",
                                     max_concurrency=4, num_cpus=0).remote(job_id, state.spec, staging, hook, threads)
            self.actors[job_id] = actor
            self.runs[job_id] = actor.run.remote()

    def _reap(self) -> None:
        """Take in the jobs that ended (or whose actor died) since the last look, and start the next ones."""
        if not self.runs:
            return
        ready, _ = ray.wait(list(self.runs.values()), num_returns=len(self.runs), timeout=0)
        for job_id in [j for j, ref in self.runs.items() if ref in ready]:
            state = self.states[job_id]
            try:
                result = ray.get(self.runs.pop(job_id))
            except ray.exceptions.RayError:
                result = {"status": "failed", "error": DIED_MESSAGE, "staged": None, "metrics": None}
            state.status, state.error, state.staged = result["status"], result["error"], result["staged"]
            state.metrics = result["metrics"]
            for name in state.autosave_names if state.status == "done" else []:
                self._autosave(state, name)
            state.phase, state.finished_at = "finished", time.monotonic()
            self.scheduler.finished(job_id, time.monotonic(), shareable=state.status == "done" and bool(state.staged),
                                    measured=state.status == "done")
        self._start_waiting()

    def _autosave(self, state: JobState, name: str) -> None:
        from .jobs import copy_staged

        try:
            copy_staged(state.staged, Path(state.staged).parent.parent / name)
            state.saved_as.append(name)
        except ExplorerError as error:
            state.error = f"Not saved automatically: {error}"


class RayJobs:
    """The job interface (see explorer.jobs) over a Ray cluster: $RAY_ADDRESS, else a local Ray."""

    def __init__(self, max_running: int | None = None, max_queued: int | None = None,
                 checkpoints_root: str | Path | None = None, namespace: str = NAMESPACE):
        from .jobs import configured_max_running

        if not ray.is_initialized():
            address = os.environ.get("RAY_ADDRESS") or None
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False,
                         runtime_env={"env_vars": {"PYTHONPATH": PROJECT_ROOT}})
            except (ConnectionError, RuntimeError, ray.exceptions.RayError) as error:
                where = f"the Ray cluster at {address}" if address else "a local Ray"
                reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]  # Ray's are long
                raise ExplorerError(
                    f"Training is unavailable: this server could not start or join {where} ({reason}). Check "
                    "RAY_ADDRESS, and, if the cluster uses token authentication, RAY_AUTH_MODE=token and "
                    "RAY_AUTH_TOKEN_PATH (see the README).") from None
        self.namespace = namespace
        self.max_running = max_running or configured_max_running()
        self.checkpoints_root = checkpoints_root
        # get_if_exists: the first server creates it, the others (and restarts) find the same one
        self.coordinator = Coordinator.options(name=COORDINATOR, namespace=namespace, lifetime="detached",
                                               get_if_exists=True, num_cpus=0).remote(self.max_running, max_queued,
                                                                                      namespace)

    def _root(self) -> Path:
        return Path(self.checkpoints_root or checkpoints.DEFAULT_DIR)

    def submit(self, spec: JobSpec, owner: str | None = None) -> str:
        from .jobs import threads_per_job

        checkpoints.check_name(spec.checkpoint_name)
        check_settings(spec.model, spec.training, load_dataset(spec.dataset))
        import uuid

        job_id = uuid.uuid4().hex[:12]
        staging = str(job_worker.staging_dir(self._root(), job_id))
        return _unwrap(self.coordinator.submit.remote(job_id, spec, owner, staging, job_worker.test_hook(),
                                                      threads_per_job(self.max_running)))

    def __contains__(self, job_id: object) -> bool:
        return isinstance(job_id, str) and ray.get(self.coordinator.status.remote(job_id)) is not None

    def job_ids(self) -> list[str]:
        return ray.get(self.coordinator.job_ids.remote())

    def queue_position(self, job_id: str) -> int | None:
        return self.snapshot(job_id, since=STATUS_ONLY).queue_position

    def snapshot(self, job_id: str, since: int = 0) -> JobSnapshot:
        """The coordinator's status, with the job actor's epochs from `since` on while it has them."""
        status = ray.get(self.coordinator.status.remote(job_id))
        if status is None:
            raise ExplorerError(f"No training job {job_id!r}: it finished long ago or the cluster restarted.")
        if status.status == "queued" or since >= STATUS_ONLY:
            return status
        try:
            data = ray.get(ray.get_actor(actor_name(job_id), namespace=self.namespace).snapshot.remote(since))
        except (ValueError, ray.exceptions.RayError):  # the actor died: only the coordinator's word is left
            return status
        finished = status.phase == "finished"  # only once the coordinator has taken the end in (autosaves done)
        return replace(data, status=status.status if finished else data.status,
                       phase="finished" if finished else ("measuring" if data.phase == "finished" else data.phase),
                       error=status.error or data.error, saved_as=status.saved_as, sharers=status.sharers)

    def wait(self, job_id: str, timeout: float | None = None) -> JobSnapshot:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.snapshot(job_id, since=STATUS_ONLY).phase != "finished":
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(POLL_SECONDS)
        return self.snapshot(job_id)

    def stop(self, job_id: str, owner: str | None = None) -> bool:
        return _unwrap(self.coordinator.stop.remote(job_id, owner))

    def save(self, job_id: str, name: str | None = None, *, overwrite: bool = False,
             root: str | Path | None = None) -> Path:
        from .jobs import copy_staged

        status = self.snapshot(job_id, since=STATUS_ONLY)
        name = checkpoints.check_name(status.spec.checkpoint_name if name is None else name)
        staged = _unwrap(self.coordinator.staged.remote(job_id))
        path = copy_staged(staged, Path(root or self._root()) / name, overwrite)
        ray.get(self.coordinator.saved.remote(job_id, name))
        return path

    def active_job_for(self, checkpoint_name: str) -> str | None:
        for job_id in self.job_ids():
            snap = self.snapshot(job_id, since=STATUS_ONLY)
            if snap.phase != "finished" and snap.spec.checkpoint_name == checkpoint_name:
                return job_id
        return None

    def reserved_names(self) -> set[str]:
        return {name for name, _, finished, saved, unsaved in ray.get(self.coordinator.names.remote())
                if not saved and (not finished or unsaved)}

    def shutdown(self) -> None:
        """Remove this namespace's actors (tests; a deployment keeps them)."""
        for job_id in self.job_ids():
            try:
                ray.kill(ray.get_actor(actor_name(job_id), namespace=self.namespace))
            except ValueError:
                pass
        ray.kill(self.coordinator)


def start_local_cluster(temp_dir: str | Path | None = None):
    """A Ray for tests, in this process, on 127.0.0.1 with 2 CPUs and no dashboard."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": PROJECT_ROOT}})
    return ray


def stop_local_cluster(cluster) -> None:
    ray.shutdown()
