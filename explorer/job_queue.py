"""Who trains when: the queue, the running slots, shared runs, one active job per student, and the
estimated wait. Pure bookkeeping with no threads or processes, used under a lock by the local
backend (explorer.jobs) and inside the Ray coordinator actor (explorer.job_ray), so both apply the
same rules.

Rules, in the order `admit` applies them:
1. Identical runs share a job (job_state.sharing_key: dataset, model config, training config with
   its seed). A submit whose key matches a queued, running, or finished-and-unsaved-by-nobody-yet
   job joins it: the same model, each student saves it under their own name.
2. One active (queued or running) job per owner (the page's session id). Another submit by the same
   owner raises ActiveJobExists carrying that job's id, so the page can offer to stop it. Jobs with
   no owner (the CLI, the β ladder: a class-wide request whose three fixed names train at most once
   at a time) are not capped per owner.
3. At most `max_queued` jobs wait; one more raises QueueFull.
"""

from __future__ import annotations

import collections
import math
import os
import statistics

from .errors import ExplorerError

MAX_QUEUED_ENV = "LATENT_LAB_MAX_QUEUED"
DEFAULT_MAX_QUEUED = 60
MEASURED_RUNS = 20  # the wait estimate uses the slot times of this many latest finished runs


REFRESH_SECONDS = 1.0  # how often a page looks at a job that trains, watched by a few
QUEUED_REFRESH_SECONDS = 3.0  # ... that waits in line: only its place changes, every few seconds at most
WATCHERS_PER_SECOND = 10  # a run shared by more refreshes less often: its watchers' pages cost the server's core


def refresh_seconds(status: str, sharers: int = 1) -> float:
    """How often a student's page should look at their job.

    Each look reruns the page's live view on the web server, which has one core to itself on 2 cores.
    A class of 30 sharing one run looked 30 times a second; the server then answered the students
    browsing meanwhile in 4.3 s (p95, bench/class_burst.py). A shared run is looked at about
    WATCHERS_PER_SECOND times a second in all, so the server's load stays flat as a class joins."""
    if status == "queued":
        return QUEUED_REFRESH_SECONDS
    # Whole seconds, so the page changes its pace twice as a class of 30 joins, not at every student.
    return REFRESH_SECONDS * max(1, math.ceil(sharers / WATCHERS_PER_SECOND))


class ActiveJobExists(ExplorerError):
    """This owner already has a queued or running job (`job_id`): one at a time per student."""

    def __init__(self, job_id: str):
        super().__init__("You already have a training run going. Stop it first, or wait until it is done.")
        self.job_id = job_id


class QueueFull(ExplorerError):
    pass


def configured_max_queued() -> int:
    raw = os.environ.get(MAX_QUEUED_ENV, "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_MAX_QUEUED


class Scheduler:
    """The queue and slots of one backend. Not locked: callers serialize access."""

    def __init__(self, max_running: int, max_queued: int | None = None):
        self.max_running = max_running
        self.max_queued = configured_max_queued() if max_queued is None else max_queued
        self.queue: collections.deque[str] = collections.deque()
        self.running: dict[str, float] = {}  # job id -> when its slot was taken
        self.epochs: dict[str, int] = {}  # job id -> epochs it trains (for the wait estimate)
        self.shared: dict[str, str] = {}  # sharing key -> the job runs with that key join
        self.owners: dict[str, str] = {}  # owner -> their active job
        self.seconds_per_epoch: collections.deque[float] = collections.deque(maxlen=MEASURED_RUNS)

    def admit(self, job_id: str, key: str, epochs: int, owner: str | None) -> tuple[str, bool]:
        """(the id to use, whether it is a new job). A new job is queued; call `start_next` after."""
        mine = self.owners.get(owner) if owner is not None else None
        joined = self.shared.get(key)
        if mine is not None and mine != joined:
            raise ActiveJobExists(mine)
        if joined is not None:
            if owner is not None and (joined in self.queue or joined in self.running):
                self.owners[owner] = joined
            return joined, False
        if len(self.queue) >= self.max_queued:
            raise QueueFull(f"The training queue is full ({self.max_queued} runs waiting). Try again in a few "
                            "minutes, or pick settings someone is already training.")
        self.queue.append(job_id)
        self.shared[key] = job_id
        self.epochs[job_id] = epochs
        if owner is not None:
            self.owners[owner] = job_id
        return job_id, True

    def start_next(self, now: float) -> list[str]:
        """Jobs to start now, taken from the head of the queue while slots are free."""
        started = []
        while self.queue and len(self.running) < self.max_running:
            job_id = self.queue.popleft()
            self.running[job_id] = now
            started.append(job_id)
        return started

    def withdraw(self, job_id: str) -> bool:
        """Take a queued job out of the queue (it never starts); False if it was not queued."""
        if job_id not in self.queue:
            return False
        self.queue.remove(job_id)
        self._release(job_id, shareable=False)
        return True

    def leave(self, job_id: str, owner: str) -> None:
        if self.owners.get(owner) == job_id:
            del self.owners[owner]

    def finished(self, job_id: str, now: float, shareable: bool, measured: bool) -> None:
        """A running job ended. `measured`: it trained all its epochs, so its slot time counts for estimates;
        `shareable`: its model can still be joined (done and staged)."""
        started = self.running.pop(job_id, None)
        if measured and started is not None:
            self.seconds_per_epoch.append((now - started) / max(1, self.epochs.get(job_id, 1)))
        self._release(job_id, shareable)

    def unshare(self, job_id: str) -> None:
        """Someone saved the job's model: later runs with its settings train anew, as a fresh start should."""
        for key in [k for k, j in self.shared.items() if j == job_id]:
            del self.shared[key]

    def forget(self, job_id: str) -> None:
        """The job's model is gone (pruned or saved by everyone): nobody can join it any more."""
        self._release(job_id, shareable=False)
        self.epochs.pop(job_id, None)

    def _release(self, job_id: str, shareable: bool) -> None:
        for owner in [o for o, j in self.owners.items() if j == job_id]:
            del self.owners[owner]
        if not shareable:
            for key in [k for k, j in self.shared.items() if j == job_id]:
                del self.shared[key]

    def position(self, job_id: str) -> int | None:
        """1 for the next job to start, 2 for the one after, ...; None when the job is not waiting."""
        return self.queue.index(job_id) + 1 if job_id in self.queue else None

    def expected_seconds(self, job_id: str) -> float | None:
        """A job's slot time: its epochs times the median slot time per epoch of recent finished runs."""
        if not self.seconds_per_epoch:
            return None
        return statistics.median(self.seconds_per_epoch) * self.epochs.get(job_id, 1)

    def estimated_wait(self, job_id: str, now: float) -> float | None:
        """Seconds until a queued job starts: the work ahead of it (the rest of the running jobs, the
        queued jobs before it) shared out over the slots. None until some run has been measured."""
        position = self.position(job_id)
        if position is None or not self.seconds_per_epoch:
            return None
        ahead = [self.expected_seconds(j) for j in list(self.queue)[: position - 1]]
        running = [max(0.0, self.expected_seconds(j) - (now - started)) for j, started in self.running.items()]
        return (sum(ahead) + sum(running)) / self.max_running
