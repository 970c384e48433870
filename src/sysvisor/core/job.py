"""A simple job layer: at most one job per unit, merged with systemd's rules.

Enough for start/stop/restart/try-restart/reload requests, automatic restarts and
OnFailure=/OnSuccess= starts without dependencies. A dependency/transaction engine
(issue 7) replaces `JobTable.install()` and keeps `Job`, the run queue and the
completion rules (`finish_for_state`).
# spec: dependencies-and-jobs.md (job types/results); restart-and-failure.md §2.4
# systemd: job.c job_install(), job_type_lookup_merge(), job_run_and_invalidate(),
#          unit.c unit_process_job()
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from sysvisor.core.types import ActiveState, JobMode, JobResult, JobType

A = ActiveState
_INACTIVE_OR_FAILED = (A.INACTIVE, A.FAILED)
_ACTIVE_OR_RELOADING = (A.ACTIVE, A.RELOADING)


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

    def add_request(self, request_id: int | None, job_type: JobType) -> None:
        if request_id is not None:
            self.requests.append(request_id)
            self.request_types.append(job_type)


# systemd: job_type_lookup_merge() (restricted to the types this layer creates)
_MERGE: dict[frozenset[JobType], JobType] = {
    frozenset({JobType.START, JobType.RESTART}): JobType.RESTART,
    frozenset({JobType.START, JobType.RELOAD}): JobType.START,  # reload-or-start ≈ start
    frozenset({JobType.RELOAD, JobType.RESTART}): JobType.RESTART,
}


def merge_types(a: JobType, b: JobType) -> JobType | None:
    """The merged type, or None if the two conflict (one of them is stop)."""
    if a is b:
        return a
    if JobType.STOP in (a, b):
        return None
    return _MERGE.get(frozenset({a, b}))


def collapse(job_type: JobType, state: ActiveState) -> JobType | None:
    """Resolve try-restart against the unit state; None = nothing to do.
    # systemd: job_type_collapse()"""
    if job_type is JobType.TRY_RESTART:
        return None if state in _INACTIVE_OR_FAILED else JobType.RESTART
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

    def install(
        self, unit: str, job_type: JobType, mode: JobMode, request_id: int | None
    ) -> tuple[Job | None, list[Job]]:
        """Install (or merge into) the unit's job.

        Returns (job, replaced): `job` None means refused (mode=fail and a conflicting
        job exists); `replaced` are jobs that must finish as `canceled`.
        # systemd: job_install()
        """
        old = self.by_unit.get(unit)
        if old is not None:
            merged = merge_types(old.type, job_type)
            if merged is not None:
                if merged is not old.type and old.state == "running":
                    old.state = "waiting"  # systemd: re-run a merged running job
                old.type = merged
                old.add_request(request_id, job_type)
                self.enqueue(old)
                return old, []
            if mode is JobMode.FAIL:
                return None, []
            self.remove(old)
            replaced = [old]
        else:
            replaced = []
        job = Job(self._next_id, unit, job_type, mode)
        self._next_id += 1
        job.add_request(request_id, job_type)
        self.by_unit[unit] = job
        self.enqueue(job)
        return job, replaced

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


def finish_for_state(job: Job, new: ActiveState, *, reload_success: bool = True) -> JobResult | None:
    """Does this state change complete the job? # systemd: unit_process_job()"""
    t = job.type
    if t is JobType.START:
        if new in _ACTIVE_OR_RELOADING:
            return JobResult.DONE
        if job.state == "running" and new is not A.ACTIVATING and new in _INACTIVE_OR_FAILED:
            return JobResult.FAILED if new is A.FAILED else JobResult.DONE
        return None
    if t in (JobType.STOP, JobType.RESTART):
        if new in _INACTIVE_OR_FAILED:
            return JobResult.DONE
        if job.state == "running" and new is not A.DEACTIVATING:
            return JobResult.FAILED
        return None
    if t is JobType.RELOAD:
        if job.state == "running" and new in (A.ACTIVE, *_INACTIVE_OR_FAILED):
            if new is A.ACTIVE:
                return JobResult.DONE if reload_success else JobResult.FAILED
            return JobResult.FAILED
        return None
    return None
