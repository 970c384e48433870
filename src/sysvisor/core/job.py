"""Installed jobs: at most one per unit, the run queue, and when a state change ends a job.

Which jobs a request installs, and how they merge with installed ones, is decided by
core/transaction.py; core/job_runner.py installs and runs them.
# spec: dependencies-and-jobs.md §3 (job types/results); restart-and-failure.md §2.4
# systemd: job.c job_install(), job_run_and_invalidate(), unit.c unit_process_job()
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from sysvisor.core.types import ACTIVE_OR_RELOADING, INACTIVE_OR_FAILED, ActiveState, JobMode, JobResult, JobType

A = ActiveState


@dataclass(eq=False)  # jobs compare by identity
class Job:
    """One installed job. `requests` are the client request ids waiting for it."""

    id: int
    unit: str
    type: JobType
    mode: JobMode = JobMode.REPLACE
    state: str = "waiting"  # waiting | running
    requests: list[int | None] = field(default_factory=list)
    # the type each request asked for (a restart request merged into a start job still
    # reports as "restart" to its client)
    request_types: list[JobType] = field(default_factory=list)
    message: str = ""  # "Starting"/"Stopping"/"Reloading", shown once the spawn is confirmed
    queued: bool = False  # in the run queue
    deadline: int | None = None  # JobTimeoutSec=/JobRunningTimeoutSec= (µs monotonic)
    irreversible: bool = False  # replace-irreversibly: later transactions may not replace it
    ignore_order: bool = False  # ignore-dependencies: runs whatever it is ordered against

    def add_request(self, request_id: int | None, job_type: JobType) -> None:
        if request_id is not None:
            self.requests.append(request_id)
            self.request_types.append(job_type)


def collapse(job_type: JobType, state: ActiveState) -> JobType | None:
    """Resolve try-restart against the unit state; None = nothing to do.
    # systemd: job_type_collapse()"""
    if job_type is JobType.TRY_RESTART:
        return None if state in INACTIVE_OR_FAILED else JobType.RESTART
    return job_type


class JobTable:
    """Installed jobs by unit, plus the run queue."""

    def __init__(self) -> None:
        self.by_unit: dict[str, Job] = {}
        self._run_queue: deque[Job] = deque()
        self._next_id = 1

    @property
    def run_queue(self) -> deque[Job]:
        return self._run_queue

    @run_queue.setter
    def run_queue(self, jobs) -> None:
        """Replace the queue (snapshot restore); keeps each job's `queued` flag right."""
        for job in self._run_queue:
            job.queued = False
        self._run_queue = deque()
        for job in jobs:
            job.queued = False
            self.enqueue(job)

    def get(self, unit: str) -> Job | None:
        return self.by_unit.get(unit)

    def add(self, unit: str, job_type: JobType, mode: JobMode) -> Job:
        """Install a new job for `unit` (the caller removed any old one) and queue it.
        # systemd: job_install()"""
        job = Job(self._next_id, unit, job_type, mode)
        self._next_id += 1
        self.by_unit[unit] = job
        self.enqueue(job)
        return job

    def enqueue(self, job: Job) -> None:
        if not job.queued:
            job.queued = True
            self.run_queue.append(job)

    def remove(self, job: Job) -> None:
        if self.by_unit.get(job.unit) is job:
            del self.by_unit[job.unit]

    def pop_runnable(self) -> Job | None:
        while self.run_queue:
            job = self.run_queue.popleft()
            job.queued = False
            if self.by_unit.get(job.unit) is job and job.state == "waiting":
                return job
        return None


def process_job(job: Job, new: ActiveState, *, reload_success: bool = True) -> tuple[JobResult | None, bool]:
    """Does this state change complete the unit's job, and was the change unexpected (not
    what the job was doing)? Returns (result or None, unexpected).
    # spec: dependencies-and-jobs.md §3.3   # systemd: unit_process_job()"""
    t = job.type
    running = job.state == "running"
    if t in (JobType.START, JobType.VERIFY_ACTIVE):
        if new in ACTIVE_OR_RELOADING:
            return JobResult.DONE, False
        if running and new is not A.ACTIVATING:
            if new in INACTIVE_OR_FAILED:
                return (JobResult.FAILED if new is A.FAILED else JobResult.DONE), True
            return None, True
        return None, False
    if t in (JobType.STOP, JobType.RESTART, JobType.TRY_RESTART):
        if new in INACTIVE_OR_FAILED:
            return JobResult.DONE, False
        if running and new is not A.DEACTIVATING:
            return JobResult.FAILED, True
        return None, False
    if t is JobType.RELOAD and running:
        if new is A.ACTIVE:
            return (JobResult.DONE if reload_success else JobResult.FAILED), False
        if new not in (A.ACTIVATING, A.RELOADING):
            return JobResult.FAILED, True
    return None, False
