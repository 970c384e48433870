"""Transactions: which jobs one request pulls in, how they merge, and when each may run.

Rules (systemd's, kept):
1. A request for one job (the *anchor*) pulls in further jobs along dependency atoms:
   start/restart → start for PULL_IN_START (Requires/BindsTo: matters) and PULL_IN_START_IGNORED
   (Wants/Upholds: does not matter), verify-active for Requisite=, stop for Conflicts= (matters)
   and ConflictedBy (does not); stop/restart → stop for PROPAGATE_STOP (RequiredBy, BoundBy,
   ConsistsOf, PropagatesStopTo …), restart → try-restart for PROPAGATE_RESTART.
2. Activation then, in order: mark jobs that matter to the anchor; (mode fail) drop jobs that
   would stop running units or reverse queued jobs; drop redundant jobs; garbage-collect jobs
   nobody pulls in; find ordering cycles and delete a job that does not matter to break each
   (or fail); merge jobs per unit (job_type_lookup_merge) or delete an unmergeable one; drop
   redundant jobs again; refuse if destructive; install.
3. A job runs when no unit it is ordered against has a job that must go first (job_compare:
   a stop always goes first; two starts follow After=; two stops go in reverse).
4. When a job finishes without success, start/verify-active jobs of units that require it fail
   with `dependency` (recursively); Wants= never propagates failure.

Everything is pure: the Manager passes a `World` snapshot (graph, unit states, installed jobs)
and gets back a `Plan` plus log lines to emit. The Manager's wiring (request → install → run
order → finish → propagation) is core/job_runner.py; the `Driver` in
tests/core/test_transaction_flow.py is the same flow in miniature.
# spec: dependencies-and-jobs.md §1.1, §3
# systemd: transaction.c, job.c job_type_lookup_merge(), job_is_runnable(), job_compare(),
#          job_install(), job_finish_and_invalidate(), job_fail_dependencies()
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from sysvisor.core.deps import Atom, DependencyGraph
from sysvisor.core.types import ACTIVE_OR_ACTIVATING, ACTIVE_OR_RELOADING, INACTIVE_OR_FAILED, ActiveState, JobMode, JobResult, LoadState, Priority

A = ActiveState

# job types beyond JobType that only live inside a transaction (systemd's spelling)
NOP = "nop"
RELOAD_OR_START = "reload-or-start"
TRY_RELOAD = "try-reload"

# ---------------------------------------------------------------- job type algebra

_MERGING = ("start", "verify-active", "stop", "reload", "restart")  # systemd JobType order
# systemd: job.c job_merging_table[] (lower triangle, None = conflicting)
_MERGE_TABLE: tuple[str | None, ...] = (
    "start",                                   # verify-active × start
    None, None,                                # stop × start, verify-active
    RELOAD_OR_START, "reload", None,           # reload × start, verify-active, stop
    "restart", "restart", None, "restart",     # restart × start, verify-active, stop, reload
)


def lookup_merge(a: str, b: str) -> str | None:
    """The merged job type, None if `a` and `b` conflict. # systemd: job_type_lookup_merge()"""
    if a == b:
        return str(a)
    ia, ib = _MERGING.index(a), _MERGING.index(b)
    if ia < ib:
        ia, ib = ib, ia
    return _MERGE_TABLE[(ia - 1) * ia // 2 + ib]


def is_mergeable(a: str, b: str) -> bool:
    return lookup_merge(a, b) is not None


def is_conflicting(a: str, b: str) -> bool:
    """# systemd: job_type_is_conflicting() (a nop conflicts with nothing)"""
    return a != NOP and b != NOP and lookup_merge(a, b) is None


def is_superset(a: str, b: str) -> bool:
    """Does `a` already do everything `b` would? # systemd: job_type_is_superset()"""
    return lookup_merge(a, b) == a


def collapse(t: str, state: ActiveState) -> str:
    """Resolve the state-dependent types. # systemd: job_type_collapse()"""
    if t == "try-restart":
        return "restart" if state in ACTIVE_OR_RELOADING else NOP
    if t == TRY_RELOAD:
        return "reload" if state in ACTIVE_OR_RELOADING else NOP
    if t == RELOAD_OR_START:
        return "reload" if state in ACTIVE_OR_RELOADING else "start"
    return str(t)


def merge_and_collapse(a: str, b: str, state: ActiveState) -> str | None:
    """# systemd: job_type_merge_and_collapse()"""
    t = lookup_merge(a, b)
    return None if t is None else collapse(t, state)


def is_redundant(t: str, state: ActiveState) -> bool:
    """Would the job change nothing? # systemd: job_type_is_redundant()"""
    if t in ("start", "verify-active"):
        return state in ACTIVE_OR_RELOADING
    if t == "stop":
        return state in INACTIVE_OR_FAILED
    if t == "reload":
        return state is A.RELOADING
    if t == "restart":
        return state is A.ACTIVATING
    return t == NOP


def verb_job_type(verb: str, can_reload: bool) -> str:
    """The job type a systemctl verb asks for (isolate = start with JobMode.ISOLATE).
    # spec: dependencies-and-jobs.md §3.1   # systemd: dbus-unit.c bus_unit_method_start_generic()"""
    if verb == "reload-or-restart":
        return RELOAD_OR_START if can_reload else "restart"
    if verb == "try-reload-or-restart":
        return TRY_RELOAD if can_reload else "try-restart"
    if verb == "isolate":
        return "start"
    if verb not in ("start", "stop", "restart", "try-restart", "reload"):
        raise ValueError(f"Unknown verb {verb}")
    return verb


# ---------------------------------------------------------------- inputs and outputs

@dataclass
class InstalledJob:
    """A job the Manager has installed (one per unit)."""

    type: str
    state: str = "waiting"  # waiting | running
    irreversible: bool = False
    ignore_order: bool = False


@dataclass
class World:
    """What a transaction may look at. Missing units are inactive and have no job."""

    graph: DependencyGraph
    state_of: Mapping[str, ActiveState] = field(default_factory=dict)
    jobs: Mapping[str, InstalledJob] = field(default_factory=dict)
    can_reload: Collection[str] = ()
    ignore_on_isolate: Collection[str] = ()
    # which loaded units have a runtime the manager can run jobs for (None: all); a job for
    # another loaded unit (a .socket, .mount … here) is "not applicable"
    runnable: Callable[[str], bool] | None = None

    def state(self, unit: str) -> ActiveState:
        return self.state_of.get(self.graph.canonical(unit), A.INACTIVE)

    def job(self, unit: str) -> InstalledJob | None:
        return self.jobs.get(self.graph.canonical(unit))


@dataclass(frozen=True)
class LogLine:
    unit: str | None
    priority: Priority
    message: str


class TransactionError(Exception):
    """A refused request: `errno` is systemd's (ENOENT, EBADR …), `message` its bus error text."""

    def __init__(self, errno: str, message: str) -> None:
        super().__init__(message)
        self.errno = errno
        self.message = message


@dataclass(frozen=True)
class PlannedJob:
    unit: str
    type: str
    irreversible: bool = False
    ignore_order: bool = False


@dataclass
class Plan:
    """An activated transaction: install `jobs` (anchor first) with `install_decision()`, after
    finishing the installed jobs of `cancel` as `canceled` (isolate/flush)."""

    anchor: PlannedJob
    jobs: list[PlannedJob]
    cancel: list[str]
    logs: list[LogLine]


# ---------------------------------------------------------------- the transaction

@dataclass(eq=False)
class _Job:
    unit: str
    type: str
    irreversible: bool = False
    ignore_order: bool = False
    matters_to_anchor: bool = False
    installed: bool = False
    generation: int = 0
    marker: _Job | None = None
    subject_links: list[_Link] = field(default_factory=list)  # links where this job pulls in
    object_links: list[_Link] = field(default_factory=list)  # links where this job is pulled in


@dataclass(eq=False)
class _Link:
    subject: _Job
    object: _Job
    matters: bool
    conflicts: bool


def _label(j: _Job) -> str:
    return f"{j.unit}/{j.type}"


def job_compare(a_type: str, a_ignore_order: bool, b_type: str, b_ignore_order: bool, assume: Atom) -> int:
    """>0: a runs after b; <0: a runs before b; 0: independent, given `a.unit assume b.unit`
    (Atom.AFTER or Atom.BEFORE). A stop (or restart, a stop in disguise) always goes first.
    # spec: dependencies-and-jobs.md §1.1   # systemd: job_compare()"""
    if NOP in (a_type, b_type) or a_ignore_order or b_ignore_order:
        return 0
    if assume is Atom.AFTER:
        return -job_compare(b_type, b_ignore_order, a_type, a_ignore_order, Atom.BEFORE)
    return 1 if b_type in ("stop", "restart") else -1


class Transaction:
    """One transaction being built. Use `build()` unless you need the steps."""

    def __init__(self, world: World, *, irreversible: bool = False,
                 search_order: Sequence[str] = ()) -> None:
        self.world = world
        self.search_order = list(search_order)
        self.g = world.graph
        self.irreversible = irreversible
        self.jobs: dict[str, list[_Job]] = {}  # unit -> jobs (head first, as systemd prepends)
        self.anchor: _Job | None = None
        self.logs: list[LogLine] = []
        self._installed: dict[str, _Job] = {}

    def _log(self, unit: str | None, prio: Priority, msg: str) -> None:
        self.logs.append(LogLine(unit, prio, msg))

    # -- adding jobs

    def _add_one(self, t: str, unit: str) -> tuple[_Job, bool]:
        """# systemd: transaction_add_one_job()"""
        for j in self.jobs.get(unit, []):
            if j.type == t:
                return j, False
        j = _Job(unit, t, irreversible=self.irreversible)
        self.jobs.setdefault(unit, []).insert(0, j)
        return j, True

    def _validate(self, unit: str, t: str) -> None:
        """# systemd: bus_unit_validate_load_state(), unit_job_is_applicable()"""
        u = self.g.unit(unit)
        ls = self.g.load_state(unit)
        if t != "stop" and ls is not LoadState.LOADED:
            if ls is LoadState.NOT_FOUND:
                raise TransactionError("ENOENT", f"Unit {unit} not found.")
            if ls is LoadState.MASKED:
                raise TransactionError("ERFKILL", f"Unit {unit} is masked.")
            if ls is LoadState.BAD_SETTING:
                raise TransactionError("ENOEXEC", f"Unit {unit} has a bad unit file setting.")
            raise TransactionError("EINVAL", f"Unit {unit} failed to load properly, please adjust/correct "
                                             f"and reload service manager.")
        applicable = True
        if ls is LoadState.LOADED and self.world.runnable is not None and not self.world.runnable(unit):
            applicable = False
        elif t in ("reload", TRY_RELOAD):
            applicable = unit in self.world.can_reload
        elif t == RELOAD_OR_START:
            applicable = unit in self.world.can_reload and u is not None
        elif t in ("restart", "try-restart"):
            applicable = u is not None
        if not applicable:
            raise TransactionError("EBADR", f"Job type {t} is not applicable for unit {unit}.")

    def add_job_and_dependencies(self, t: str, unit: str, by: _Job | None, *, matters: bool = True,
                                 conflicts: bool = False, ignore_requirements: bool = False,
                                 ignore_order: bool = False, start_as_restart: bool = False) -> _Job:
        """Add a job and, recursively, what it pulls in. Raises TransactionError.
        # systemd: transaction_add_job_and_dependencies()"""
        unit = self.g.canonical(unit)
        self._validate(unit, t)
        job, is_new = self._add_one(t, unit)
        job.ignore_order = job.ignore_order or ignore_order
        if by is not None:
            link = _Link(by, job, matters, conflicts)
            by.subject_links.insert(0, link)
            job.object_links.insert(0, link)
        else:
            self.anchor = job
        if not is_new or ignore_requirements or t == NOP:
            return job
        io = ignore_order
        if t in ("start", "restart"):
            if t == "start" and start_as_restart:
                # systemd: TRANSACTION_PROPAGATE_START_AS_RESTART (JobMode restart-dependencies)
                for dep in self.g.with_atom(unit, Atom.PROPAGATE_RESTART):
                    nt = collapse("try-restart", self.world.state(dep))
                    if nt != NOP:
                        self._add_required(nt, dep, job, io)
            for dep in self.g.with_atom(unit, Atom.PULL_IN_START):
                self._add_required("start", dep, job, io)
            for dep in self.g.with_atom(unit, Atom.PULL_IN_START_IGNORED):
                # masked, not applicable and not found are no errors here (debug only)
                self._add_ignored("start", dep, job, io, quiet=("ERFKILL", "EBADR", "ENOENT"))
            for dep in self.g.with_atom(unit, Atom.PULL_IN_VERIFY):
                self._add_required("verify-active", dep, job, io)
            for dep in self.g.with_atom(unit, Atom.PULL_IN_STOP):
                self._add_required("stop", dep, job, io, conflicts=True)
            for dep in self.g.with_atom(unit, Atom.PULL_IN_STOP_IGNORED):
                self._add_ignored("stop", dep, job, io)
        if t in ("stop", "restart"):
            propagated: set[str] = set()
            if t == "restart":
                # restart propagates as try-restart, so absent units are not started
                for dep in self.g.with_atom(unit, Atom.PROPAGATE_RESTART):
                    propagated.add(dep)
                    nt = collapse("try-restart", self.world.state(dep))
                    if nt != NOP:
                        self._add_required(nt, dep, job, io)
            for dep in self.g.with_atom(unit, Atom.PROPAGATE_STOP):
                if dep not in propagated:
                    self._add_required("stop", dep, job, io)
        if t == "reload":
            for dep in self.g.with_atom(unit, Atom.PROPAGATES_RELOAD_TO):
                nt = collapse(TRY_RELOAD, self.world.state(dep))
                if nt != NOP:
                    self._add_ignored(nt, dep, job, io, what="dependency reload job")
        return job

    def _add_ignored(self, t: str, dep: str, by: _Job, io: bool, *, what: str = "dependency job",
                     quiet: tuple[str, ...] = ()) -> None:
        try:
            self.add_job_and_dependencies(t, dep, by, matters=False, ignore_order=io)
        except TransactionError as e:
            prio = Priority.DEBUG if e.errno in quiet else Priority.WARNING
            self._log(dep, prio, f"Cannot add {what}, ignoring: {e.message}")

    def _add_required(self, t: str, dep: str, by: _Job, io: bool, conflicts: bool = False) -> None:
        try:
            self.add_job_and_dependencies(t, dep, by, matters=True, conflicts=conflicts, ignore_order=io)
        except TransactionError as e:
            if e.errno != "EBADR":  # not applicable: ignored
                raise

    def add_isolate_jobs(self) -> None:
        """Stop every unit not in the transaction. # systemd: transaction_add_isolate_jobs()"""
        names = dict.fromkeys([*self.g.units, *self.world.state_of, *self.world.jobs])
        for unit in names:
            if unit in self.world.ignore_on_isolate or unit in self.jobs:
                continue
            if self.world.state(unit) in INACTIVE_OR_FAILED and self.world.job(unit) is None:
                continue
            try:
                self.add_job_and_dependencies("stop", unit, self.anchor, matters=True)
            except TransactionError as e:
                self._log(unit, Priority.WARNING, f"Cannot add isolate job, ignoring: {e.message}")

    def add_triggering_jobs(self, unit: str) -> None:
        """Stop the active units that trigger `unit`. # systemd: transaction_add_triggering_jobs()"""
        for trigger in self.g.with_atom(unit, Atom.TRIGGERED_BY):
            if self.world.state(trigger) in INACTIVE_OR_FAILED and self.world.job(trigger) is None:
                continue
            if trigger in self.jobs:
                continue
            try:
                self.add_job_and_dependencies("stop", trigger, self.anchor, matters=True)
            except TransactionError as e:
                self._log(unit, Priority.WARNING, f"Cannot add triggered by job, ignoring: {e.message}")

    # -- deleting jobs

    def _delete_job(self, j: _Job, delete_dependencies: bool) -> None:
        """# systemd: transaction_delete_job(), transaction_unlink_job()"""
        lst = self.jobs.get(j.unit)
        if lst is None or j not in lst:
            return
        lst.remove(j)
        if not lst:
            del self.jobs[j.unit]
        for link in list(j.subject_links):
            link.object.object_links.remove(link)
        j.subject_links.clear()
        while j.object_links:
            link = j.object_links.pop(0)
            link.subject.subject_links.remove(link)
            other = link.subject if link.matters else None
            if other is not None and delete_dependencies:
                self._log(other.unit, Priority.DEBUG, f"Deleting job {_label(other)} as dependency of job {_label(j)}")
                self._delete_job(other, True)

    def _delete_unit(self, unit: str) -> None:
        while self.jobs.get(unit):
            self._delete_job(self.jobs[unit][0], True)

    # -- activation steps

    def _mark_matters(self, j: _Job, generation: int) -> None:
        """# systemd: transaction_find_jobs_that_matter_to_anchor()"""
        j.matters_to_anchor = True
        j.generation = generation
        for link in j.subject_links:
            if link.matters and link.object.generation != generation:
                self._mark_matters(link.object, generation)

    def _conflicts_installed(self, j: _Job) -> bool:
        installed = self.world.job(j.unit)
        return installed is not None and is_conflicting(j.type, installed.type)

    def _minimize_impact(self) -> None:
        """Drop jobs that do not matter and would stop a running unit or reverse a queued job.
        # systemd: transaction_minimize_impact()"""
        def harmful(j: _Job) -> bool:
            return not j.matters_to_anchor and (
                (j.type == "stop" and self.world.state(j.unit) in ACTIVE_OR_ACTIVATING) or self._conflicts_installed(j))
        while (j := next((j for lst in self.jobs.values() for j in lst if harmful(j)), None)) is not None:
            if j.type == "stop" and self.world.state(j.unit) in ACTIVE_OR_ACTIVATING:
                self._log(j.unit, Priority.DEBUG, f"{_label(j)} would stop a running service.")
            if self._conflicts_installed(j):
                self._log(j.unit, Priority.DEBUG, f"{_label(j)} would change existing job.")
            self._log(j.unit, Priority.DEBUG, f"Deleting {_label(j)} to minimize impact.")
            self._delete_job(j, True)

    def _drop_redundant(self) -> None:
        """Drop the jobs of units whose jobs are all no-ops. # systemd: transaction_drop_redundant()"""
        def keep(k: _Job) -> bool:
            return k is self.anchor or not is_redundant(k.type, self.world.state(k.unit)) or self._conflicts_installed(k)
        while (lst := next((lst for lst in self.jobs.values() if not any(map(keep, lst))), None)) is not None:
            self._delete_job(lst[0], False)

    def _collect_garbage(self) -> None:
        """Drop jobs nobody pulls in. # systemd: transaction_collect_garbage()"""
        while (j := next((lst[0] for lst in self.jobs.values()
                          if lst[0] is not self.anchor and not lst[0].object_links), None)) is not None:
            self._delete_job(j, True)

    def _job_of(self, unit: str) -> _Job | None:
        lst = self.jobs.get(unit)
        if lst:
            return lst[0]
        inst = self.world.job(unit)
        if inst is None:
            return None
        w = self._installed.get(unit)
        if w is None or w.type != inst.type:
            w = self._installed[unit] = _Job(unit, inst.type, ignore_order=inst.ignore_order, installed=True)
        return w

    def _unit_matters(self, unit: str) -> bool:
        return any(j.matters_to_anchor for j in self.jobs.get(unit, []))

    def _verify_order_one(self, j: _Job, frm: _Job | None, generation: int) -> bool:
        """Depth-first search along 'runs before' edges; False = a job was deleted, rerun.
        # systemd: transaction_verify_order_one()"""
        if j.generation == generation:
            if j.marker is None:
                return True
            path: list[_Job] = []
            delete: _Job | None = None
            k: _Job | None = frm
            while k is not None:
                path.append(k)
                if delete is None and not k.installed and k.unit in self.jobs and not self._unit_matters(k.unit):
                    delete = k
                if k is j:
                    break
                k = k.marker if (k.generation == generation and k.marker is not k) else None
            for i, k in enumerate(path):
                what = "ordering cycle" if i == 0 else "dependency"
                self._log(j.unit, Priority.WARNING, f"Found {what} on {_label(k)}")
            if delete is not None:
                self._log(j.unit, Priority.ERR,
                          f"Job {_label(delete)} deleted to break ordering cycle starting with {_label(j)}")
                self._delete_unit(delete.unit)
                return False
            self._log(j.unit, Priority.ERR, f"Unable to break cycle starting with {_label(j)}")
            raise TransactionError("ELOOP", "Transaction order is cyclic. See system logs for details.")
        j.marker = frm if frm is not None else j
        j.generation = generation
        for atom in (Atom.BEFORE, Atom.AFTER):
            for other in self.g.with_atom(j.unit, atom):
                o = self._job_of(other)
                if o is None:
                    continue
                if job_compare(j.type, j.ignore_order, o.type, o.ignore_order, atom) >= 0:
                    continue
                if not self._verify_order_one(o, j, generation):
                    return False
        j.marker = None
        return True

    def _verify_order(self, generation: int) -> bool:
        units = list(self.jobs)
        if self.search_order:
            first = [u for u in self.search_order if u in self.jobs]
            units = first + [u for u in units if u not in first]
        for unit in units:
            lst = self.jobs.get(unit)
            if lst and not self._verify_order_one(lst[0], None, generation):
                return False
        return True

    def _merge_jobs(self) -> bool:
        """False = one job was deleted, rerun. # systemd: transaction_merge_jobs()"""
        for unit, lst in list(self.jobs.items()):
            t = lst[0].type
            for k in lst[1:]:
                merged = merge_and_collapse(t, k.type, self.world.state(unit))
                if merged is not None:
                    t = merged
                    continue
                if self._delete_one_unmergeable(lst):
                    return False
                raise TransactionError(
                    "EEXIST", f"Transaction contains conflicting jobs '{t}' and '{k.type}' for {unit}. "
                              f"Probably contradicting requirement dependencies configured.")
        for unit, lst in list(self.jobs.items()):
            t = lst[0].type
            for k in lst[1:]:
                t = merge_and_collapse(t, k.type, self.world.state(unit))  # type: ignore[assignment]
            survivor = self.anchor if self.anchor in lst else lst[0]
            assert t is not None
            survivor.type = t
            for other in lst:
                if other is survivor:
                    continue
                survivor.irreversible = survivor.irreversible or other.irreversible
                survivor.matters_to_anchor = survivor.matters_to_anchor or other.matters_to_anchor
                survivor.ignore_order = survivor.ignore_order or other.ignore_order
                for link in other.subject_links:
                    link.subject = survivor
                    survivor.subject_links.append(link)
                for link in other.object_links:
                    link.object = survivor
                    survivor.object_links.append(link)
                other.subject_links, other.object_links = [], []
            self.jobs[unit] = [survivor]
        return True

    def _delete_one_unmergeable(self, lst: list[_Job]) -> bool:
        """# systemd: delete_one_unmergeable_job()"""
        for i, j in enumerate(lst):
            for k in lst[i + 1:]:
                if is_mergeable(j.type, k.type):
                    continue
                if not j.matters_to_anchor and not k.matters_to_anchor:
                    if j.type == "stop":
                        d = k if self._conflicted_by(j) else j
                    elif k.type == "stop":
                        d = j if self._conflicted_by(k) else k
                    else:
                        d = j
                elif not j.matters_to_anchor:
                    d = j
                elif not k.matters_to_anchor:
                    d = k
                else:
                    return False
                self._log(d.unit, Priority.DEBUG, f"Fixing conflicting jobs {_label(j)},{_label(k)} by deleting job {_label(d)}")
                self._delete_job(d, True)
                return True
        return False

    @staticmethod
    def _conflicted_by(j: _Job) -> bool:
        return any(link.conflicts for link in j.object_links)

    def _check_destructive(self, mode: JobMode) -> None:
        """# systemd: transaction_is_destructive()"""
        assert self.anchor is not None
        for unit, lst in self.jobs.items():
            j = lst[0]
            inst = self.world.job(unit)
            if inst is not None and (mode is JobMode.FAIL or inst.irreversible) and is_conflicting(inst.type, j.type):
                raise TransactionError(
                    "EBUSY", f"Transaction for {_label(self.anchor)} is destructive ({unit} has '{inst.type}' "
                             f"job queued, but '{j.type}' is included in transaction).")

    def activate(self, mode: JobMode) -> Plan:
        """Steps 1–9 of systemd's activation; the Manager does step 10 (install).
        # systemd: transaction_activate()"""
        assert self.anchor is not None
        generation = 1
        self._mark_matters(self.anchor, generation)
        generation += 1
        if mode is JobMode.FAIL:
            self._minimize_impact()
        self._drop_redundant()
        while True:
            if mode is not JobMode.ISOLATE:
                self._collect_garbage()
            try:
                ok = self._verify_order(generation)
            except TransactionError as e:
                self._log(None, Priority.WARNING,
                          f"Requested transaction contains an unfixable cyclic ordering dependency: {e.message}")
                raise
            generation += 1
            if ok:
                break
        while True:
            try:
                ok = self._merge_jobs()
            except TransactionError as e:
                self._log(None, Priority.WARNING, f"Requested transaction contains unmergeable jobs: {e.message}")
                raise
            if ok:
                break
            if mode is not JobMode.ISOLATE:
                self._collect_garbage()
        self._drop_redundant()
        try:
            self._check_destructive(mode)
        except TransactionError as e:
            self._log(None, Priority.NOTICE, f"Requested transaction contradicts existing jobs: {e.message}")
            raise
        cancel: list[str] = []
        if mode in (JobMode.ISOLATE, JobMode.FLUSH):
            cancel = [u for u in self.world.jobs if u not in self.world.ignore_on_isolate and u not in self.jobs]
        jobs = [PlannedJob(lst[0].unit, lst[0].type, lst[0].irreversible, lst[0].ignore_order)
                for lst in self.jobs.values()]
        anchor = next(p for p in jobs if p.unit == self.anchor.unit)
        jobs.remove(anchor)
        return Plan(anchor, [anchor, *jobs], cancel, self.logs)


def build(world: World, unit: str, job_type: str, mode: JobMode = JobMode.REPLACE, *,
          search_order: Sequence[str] = ()) -> Plan:
    """Plan the jobs for one request (`systemctl start`, a dependency-triggered start …).

    `job_type`: start, stop, restart, try-restart, reload, reload-or-start, try-reload,
    verify-active. `search_order`: units whose jobs the ordering-cycle search starts from first
    (systemd walks a hash map, so which job of a cycle it deletes varies from boot to boot; we
    start from the jobs in the order they were added — the anchor first — unless told).
    Raises TransactionError with systemd's message; `Plan.logs` carries the
    manager log lines (cycle breaking, ignored dependencies) in systemd's words either way —
    on error they are on the exception's `logs` attribute.
    # spec: dependencies-and-jobs.md §3.1, §3.2   # systemd: manager_add_job_full()
    """
    unit = world.graph.canonical(unit)
    if mode is JobMode.ISOLATE and job_type != "start":
        raise TransactionError("EINVAL", "Isolate is only valid for start.")
    u = world.graph.unit(unit)
    if mode is JobMode.ISOLATE and (u is None or not u.unit.allow_isolate):
        raise TransactionError("EPERM", "Operation refused, unit may not be isolated.")
    if mode is JobMode.TRIGGERING and job_type != "stop":
        raise TransactionError("EINVAL", "--job-mode=triggering is only valid for stop.")
    if mode is JobMode.RESTART_DEPENDENCIES and job_type != "start":
        raise TransactionError("EINVAL", "--job-mode=restart-dependencies is only valid for start.")
    tr = Transaction(world, irreversible=mode is JobMode.REPLACE_IRREVERSIBLY, search_order=search_order)
    t = collapse(job_type, world.state(unit))
    tr._log(unit, Priority.DEBUG, f"Trying to enqueue job {unit}/{t}/{mode}")
    try:
        tr.add_job_and_dependencies(
            t, unit, None,
            ignore_requirements=mode in (JobMode.IGNORE_DEPENDENCIES, JobMode.IGNORE_REQUIREMENTS),
            ignore_order=mode is JobMode.IGNORE_DEPENDENCIES,
            start_as_restart=mode is JobMode.RESTART_DEPENDENCIES)
        if mode is JobMode.ISOLATE:
            tr.add_isolate_jobs()
        if mode is JobMode.TRIGGERING:
            tr.add_triggering_jobs(unit)
        return tr.activate(mode)
    except TransactionError as e:
        e.logs = tr.logs  # type: ignore[attr-defined]
        raise


class _ReadsOf:
    """A `World` for `build()` that notes the run-time state it reads: each unit state and
    installed job. The rest of a world (the graph, `can_reload`, `runnable`,
    `ignore_on_isolate`) is fixed while its graph is: a daemon-reload builds a new graph."""

    def __init__(self, world: World) -> None:
        self.graph = world.graph
        self.can_reload = world.can_reload
        self.ignore_on_isolate = world.ignore_on_isolate
        self.runnable = world.runnable
        self._world: World | None = world
        self.states: dict[str, ActiveState] = {}
        self.jobs_read: dict[str, tuple | None] = {}

    def state(self, unit: str) -> ActiveState:
        state = self.states[unit] = self._world.state(unit)
        return state

    def job(self, unit: str) -> InstalledJob | None:
        job = self._world.job(unit)
        self.jobs_read[unit] = _job_key(job)
        return job

    def seal(self) -> None:
        """Done reading: the world it read from is not kept."""
        self._world = None

    def unchanged_in(self, world: World) -> bool:
        """Whether `world` gives every unit state and installed job read here the same."""
        return (all(world.state(u) == s for u, s in self.states.items())
                and all(_job_key(world.job(u)) == k for u, k in self.jobs_read.items()))


def _job_key(job: InstalledJob | None) -> tuple | None:
    # every field of an installed job the transaction reads (and `state`, which it does not)
    return None if job is None else (str(job.type), job.state, job.irreversible, job.ignore_order)


class PlanCache:
    """`build()` for a manager that asks for the same jobs again and again: a crash-looping
    unit's restart plans the same nine jobs (its dependencies, all but the anchor dropped
    as redundant) on every crash.

    `build()` is a pure function of the graph, the request and the unit states and
    installed jobs it reads. A request made before gets the kept plan when the graph is the
    same object and each of those reads gives what it gave then (`_ReadsOf`); else it is
    built and kept. Refused requests, isolate, flush and triggering (which read every
    unit) are always built. The plan is shared: callers only read it.
    # spec: dependencies-and-jobs.md §3.1   # systemd: manager_add_job_full() (no cache)"""

    _ALWAYS_BUILT = (JobMode.ISOLATE, JobMode.FLUSH, JobMode.TRIGGERING)

    def __init__(self) -> None:
        self._graph: DependencyGraph | None = None
        self._kept: dict[tuple[str, str, JobMode], tuple[_ReadsOf, Plan]] = {}
        self.hits = 0

    def build(self, world: World, unit: str, job_type: str, mode: JobMode = JobMode.REPLACE) -> Plan:
        """What `build(world, unit, job_type, mode)` returns (or raises)."""
        if mode in self._ALWAYS_BUILT:
            return build(world, unit, job_type, mode)
        if world.graph is not self._graph:
            self._kept.clear()
            self._graph = world.graph
        key = (unit, job_type, mode)
        kept = self._kept.get(key)
        if kept is not None and kept[0].unchanged_in(world):
            self.hits += 1
            return kept[1]
        reads = _ReadsOf(world)
        plan = build(reads, unit, job_type, mode)  # type: ignore[arg-type]  # a World as far as build() looks
        reads.seal()
        self._kept[key] = (reads, plan)
        return plan


@dataclass(frozen=True)
class InstallDecision:
    """How one planned job lands on its unit. `action`: install (new job; `cancel_installed`
    says the old conflicting job finishes `canceled` first), merge (into the waiting or
    superset installed job) or merge-rerun (into a running job that must run again)."""

    action: str
    type: str
    cancel_installed: bool = False
    message: str = ""


def install_decision(installed: InstalledJob | None, new: PlannedJob, state: ActiveState) -> InstallDecision:
    """# systemd: job_install(), job_merge_into_installed(), job_type_allows_late_merge()"""
    if installed is None:
        return InstallDecision("install", new.type, message=f"Installed new job {new.unit}/{new.type}")
    if is_conflicting(installed.type, new.type):
        return InstallDecision("install", new.type, cancel_installed=True,
                               message=f"Installed new job {new.unit}/{new.type}")
    merged = merge_and_collapse(installed.type, new.type, state)
    assert merged is not None
    if installed.state == "waiting" or (new.type != "reload" and is_superset(installed.type, new.type)):
        return InstallDecision("merge", merged, message=f"Merged {new.unit}/{new.type} into installed job {new.unit}/{merged}")
    return InstallDecision("merge-rerun", merged, message=f"Merged into running job, re-running: {new.unit}/{merged}")


# ---------------------------------------------------------------- running and finishing

def blocking_unit(g: DependencyGraph, unit: str, job_type: str, ignore_order: bool,
                  jobs: Mapping[str, InstalledJob]) -> tuple[str, str] | None:
    """None if the job may run now, else (other unit, "starting"/"stopping") it waits for
    (systemd logs `<unit>: starting held back, waiting for: <other>`).
    # spec: dependencies-and-jobs.md §1.1   # systemd: job_is_runnable()"""
    if ignore_order or job_type == NOP:
        return None
    for atom, what in ((Atom.AFTER, "starting"), (Atom.BEFORE, "stopping")):
        for other in g.with_atom(unit, atom):
            o = jobs.get(other)
            if o is not None and job_compare(job_type, ignore_order, o.type, o.ignore_order, atom) > 0:
                return other, what
    return None


def units_to_requeue(g: DependencyGraph, unit: str, jobs: Mapping[str, InstalledJob]) -> list[str]:
    """After a job of `unit` finished: units whose jobs may have become runnable.
    # systemd: job_finish_and_invalidate() 'finish:' label"""
    return [o for o in g.with_atom(unit, Atom.AFTER | Atom.BEFORE) if o in jobs]


@dataclass(frozen=True)
class FinishedJob:
    unit: str
    type: str
    result: JobResult


def propagate_result(g: DependencyGraph, unit: str, job_type: str, result: JobResult, *,
                     state_after: ActiveState, jobs: Mapping[str, InstalledJob]) -> list[FinishedJob]:
    """Jobs of other units that finish because this one did (all with result `dependency`), in
    systemd's order, recursively. `jobs` are the installed jobs *before* this one finished;
    `state_after` is `unit`'s state now. A restart that finished `done` only turns into a
    start and propagates nothing.
    # spec: dependencies-and-jobs.md §1 (Requires/Requisite/BindsTo), §3.3
    # systemd: job_finish_and_invalidate(), job_fail_dependencies()"""
    remaining = {u: j for u, j in jobs.items() if u != unit}
    out: list[FinishedJob] = []

    def fail_dependencies(u: str, atom: Atom) -> None:
        for other in g.with_atom(u, atom):
            j = remaining.get(other)
            if j is None or j.type not in ("start", "verify-active"):
                continue
            del remaining[other]
            out.append(FinishedJob(other, j.type, JobResult.DEPENDENCY))
            fail_dependencies(other, Atom.PROPAGATE_START_FAILURE)

    if result is JobResult.DONE and job_type == "restart":
        return out
    if result is not JobResult.DONE:
        if job_type in ("start", "verify-active"):
            fail_dependencies(unit, Atom.PROPAGATE_START_FAILURE)
        elif job_type == "stop":
            fail_dependencies(unit, Atom.PROPAGATE_STOP_FAILURE)
    elif job_type in ("start", "reload") and state_after not in ACTIVE_OR_RELOADING:
        fail_dependencies(unit, Atom.PROPAGATE_INACTIVE_START_AS_FAILURE)
    return out


def verify_active_result(state: ActiveState) -> JobResult | None:
    """Running a verify-active job (Requisite=): done if active, None = wait (activating),
    skipped otherwise. # systemd: job_run_and_invalidate() JOB_VERIFY_ACTIVE"""
    if state in ACTIVE_OR_RELOADING:
        return JobResult.DONE
    if state is A.ACTIVATING:
        return None
    return JobResult.SKIPPED


# systemd: job.c job_done_message_format() generic tables, job_done_messages[] levels
_START_DONE = {
    JobResult.DONE: "Started {}.", JobResult.TIMEOUT: "Timed out starting {}.",
    JobResult.FAILED: "Failed to start {}.", JobResult.DEPENDENCY: "Dependency failed for {}.",
    JobResult.ASSERT: "Assertion failed for {}.", JobResult.UNSUPPORTED: "Starting of {} unsupported.",
    JobResult.COLLECTED: "Unnecessary job was removed for {}.",
    JobResult.ONCE: "Unit {} has been started before and cannot be started again.",
}
_STOP_DONE = {JobResult.DONE: "Stopped {}.", JobResult.FAILED: "Stopped {} with error.",
              JobResult.TIMEOUT: "Timed out stopping {}."}
_RELOAD_DONE = {JobResult.DONE: "Reloaded {}.", JobResult.FAILED: "Reload failed for {}.",
                JobResult.TIMEOUT: "Timed out reloading {}."}
_R, _P = JobResult, Priority
_LEVEL = {_R.DONE: _P.INFO, _R.CANCELED: _P.INFO, _R.TIMEOUT: _P.ERR, _R.FAILED: _P.ERR, _R.DEPENDENCY: _P.WARNING,
          _R.SKIPPED: _P.NOTICE, _R.INVALID: _P.INFO, _R.ASSERT: _P.WARNING, _R.UNSUPPORTED: _P.WARNING,
          _R.COLLECTED: _P.INFO, _R.ONCE: _P.ERR}


def done_message(kind: str, job_type: str, result: JobResult, status_string: str) -> LogLine | None:
    """The journal line for a finished job, or None. `kind`: unit type (target says
    "Reached target …"/"Stopped target …"); `status_string`: "x.service - Description".
    Condition-skipped starts are worded by `condition.skip_message()` instead.
    # spec: dependencies-and-jobs.md §3.4   # systemd: job_emit_done_message()"""
    fmt: str | None = None
    if kind == "target" and job_type == "start" and result is JobResult.DONE:
        fmt = "Reached target {}."  # systemd: target_vtable finished_start_job
    elif kind == "target" and job_type in ("stop", "restart") and result is JobResult.DONE:
        fmt = "Stopped target {}."
    elif job_type == "start":
        fmt = _START_DONE.get(result)
    elif job_type in ("stop", "restart"):
        fmt = _STOP_DONE.get(result)
    elif job_type == "reload":
        fmt = _RELOAD_DONE.get(result)
    elif job_type == "verify-active" and result is JobResult.SKIPPED:
        fmt = "{} is inactive."
    if fmt is None:
        return None
    return LogLine(None, _LEVEL[result], fmt.format(status_string))


def failed_job_notice(unit: str, job_type: str, result: JobResult) -> LogLine | None:
    """The extra notice (and the OnFailure= trigger point) for timeout/dependency results.
    # systemd: job_finish_and_invalidate()"""
    if result in (JobResult.TIMEOUT, JobResult.DEPENDENCY):
        return LogLine(unit, Priority.NOTICE, f"Job {unit}/{job_type} failed with result '{result}'.")
    return None
