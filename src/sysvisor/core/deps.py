"""The dependency graph: what every unit wants, requires, conflicts with and is ordered against.

Theory of operation (systemd's, kept): a unit names other units with high-level dependency
types (`Requires=`, `WantedBy` …); every type has an inverse that is recorded on the other unit;
and every type is a bundle of low-level *atoms* (`PULL_IN_START`, `PROPAGATE_STOP` …). Code that
acts on dependencies asks by atom, never by type, so one table (`ATOMS`) decides what each
directive does. The graph is built once from the loaded units (plus `.wants/`/`.requires/`
directory entries, plus default and implicit dependencies, plus built-in targets) and is then
read-only; `retroactive_jobs()` and friends answer the questions `unit_notify()` asks.

# spec: dependencies-and-jobs.md §1, §1.2, §2
# systemd: unit-dependency-atom.c atom_map[], unit.c unit_add_dependency(),
#          service.c service_add_default_dependencies(), target.c target_add_default_dependencies(),
#          timer.c timer_add_default_dependencies(), unit.c retroactively_start_dependencies()
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sysvisor.core.types import ACTIVE_OR_ACTIVATING, INACTIVE_OR_FAILED, ActiveState, EmergencyAction, JobMode, JobType, LoadState, StrEnum
from sysvisor.core.units import Unit, UnitSection

A = ActiveState
_INACTIVE_OR_DEACTIVATING = (A.INACTIVE, A.FAILED, A.DEACTIVATING)


class Dep(StrEnum):
    """Dependency types, spelled as the `systemctl show` property."""

    REQUIRES = "Requires"
    REQUISITE = "Requisite"
    WANTS = "Wants"
    BINDS_TO = "BindsTo"
    PART_OF = "PartOf"
    UPHOLDS = "Upholds"
    REQUIRED_BY = "RequiredBy"
    REQUISITE_OF = "RequisiteOf"
    WANTED_BY = "WantedBy"
    BOUND_BY = "BoundBy"
    UPHELD_BY = "UpheldBy"
    CONSISTS_OF = "ConsistsOf"
    CONFLICTS = "Conflicts"
    CONFLICTED_BY = "ConflictedBy"
    BEFORE = "Before"
    AFTER = "After"
    ON_SUCCESS = "OnSuccess"
    ON_SUCCESS_OF = "OnSuccessOf"
    ON_FAILURE = "OnFailure"
    ON_FAILURE_OF = "OnFailureOf"
    TRIGGERS = "Triggers"
    TRIGGERED_BY = "TriggeredBy"
    PROPAGATES_RELOAD_TO = "PropagatesReloadTo"
    RELOAD_PROPAGATED_FROM = "ReloadPropagatedFrom"
    PROPAGATES_STOP_TO = "PropagatesStopTo"
    STOP_PROPAGATED_FROM = "StopPropagatedFrom"
    JOINS_NAMESPACE_OF = "JoinsNamespaceOf"


D = Dep
# systemd: unit.c unit_add_dependency() inverse_table[]
INVERSE: dict[Dep, Dep] = {
    D.REQUIRES: D.REQUIRED_BY, D.REQUISITE: D.REQUISITE_OF, D.WANTS: D.WANTED_BY,
    D.BINDS_TO: D.BOUND_BY, D.PART_OF: D.CONSISTS_OF, D.UPHOLDS: D.UPHELD_BY,
    D.CONFLICTS: D.CONFLICTED_BY, D.BEFORE: D.AFTER, D.ON_SUCCESS: D.ON_SUCCESS_OF,
    D.ON_FAILURE: D.ON_FAILURE_OF, D.TRIGGERS: D.TRIGGERED_BY,
    D.PROPAGATES_RELOAD_TO: D.RELOAD_PROPAGATED_FROM, D.PROPAGATES_STOP_TO: D.STOP_PROPAGATED_FROM,
    D.JOINS_NAMESPACE_OF: D.JOINS_NAMESPACE_OF,
}
INVERSE.update({v: k for k, v in list(INVERSE.items())})


class Atom(enum.IntFlag):
    """Facets of dependency behaviour. # systemd: unit-dependency-atom.h"""

    PULL_IN_START = enum.auto()  # start pulls in a start job that matters
    PULL_IN_START_IGNORED = enum.auto()  # … one whose failure is ignored (Wants=)
    PULL_IN_VERIFY = enum.auto()  # start pulls in verify-active (Requisite=)
    PULL_IN_STOP = enum.auto()  # start pulls in a stop job that matters (Conflicts=)
    PULL_IN_STOP_IGNORED = enum.auto()  # … one that does not (ConflictedBy)
    RETROACTIVE_START_REPLACE = enum.auto()
    RETROACTIVE_START_FAIL = enum.auto()
    RETROACTIVE_STOP_ON_START = enum.auto()
    RETROACTIVE_STOP_ON_STOP = enum.auto()
    PROPAGATE_START_FAILURE = enum.auto()
    PROPAGATE_STOP = enum.auto()
    PROPAGATE_STOP_FAILURE = enum.auto()
    PROPAGATE_RESTART = enum.auto()
    PROPAGATE_INACTIVE_START_AS_FAILURE = enum.auto()
    CANNOT_BE_ACTIVE_WITHOUT = enum.auto()
    START_STEADILY = enum.auto()
    ADD_STOP_WHEN_UNNEEDED_QUEUE = enum.auto()
    PINS_STOP_WHEN_UNNEEDED = enum.auto()
    ADD_START_WHEN_UPHELD_QUEUE = enum.auto()
    ADD_CANNOT_BE_ACTIVE_WITHOUT_QUEUE = enum.auto()
    ADD_DEFAULT_TARGET_DEPENDENCY_QUEUE = enum.auto()
    DEFAULT_TARGET_DEPENDENCIES = enum.auto()
    BEFORE = enum.auto()
    AFTER = enum.auto()
    ON_SUCCESS = enum.auto()
    ON_SUCCESS_OF = enum.auto()
    ON_FAILURE = enum.auto()
    ON_FAILURE_OF = enum.auto()
    TRIGGERS = enum.auto()
    TRIGGERED_BY = enum.auto()
    PROPAGATES_RELOAD_TO = enum.auto()
    JOINS_NAMESPACE_OF = enum.auto()


T = Atom
# systemd: unit-dependency-atom.c atom_map[] (v257)
ATOMS: dict[Dep, Atom] = {
    D.REQUIRES: T.PULL_IN_START | T.RETROACTIVE_START_REPLACE | T.ADD_STOP_WHEN_UNNEEDED_QUEUE
    | T.ADD_DEFAULT_TARGET_DEPENDENCY_QUEUE,
    D.REQUISITE: T.PULL_IN_VERIFY | T.ADD_STOP_WHEN_UNNEEDED_QUEUE | T.ADD_DEFAULT_TARGET_DEPENDENCY_QUEUE,
    D.WANTS: T.PULL_IN_START_IGNORED | T.RETROACTIVE_START_FAIL | T.ADD_STOP_WHEN_UNNEEDED_QUEUE
    | T.ADD_DEFAULT_TARGET_DEPENDENCY_QUEUE,
    D.BINDS_TO: T.PULL_IN_START | T.RETROACTIVE_START_REPLACE | T.CANNOT_BE_ACTIVE_WITHOUT
    | T.ADD_STOP_WHEN_UNNEEDED_QUEUE | T.ADD_DEFAULT_TARGET_DEPENDENCY_QUEUE,
    D.PART_OF: T.ADD_DEFAULT_TARGET_DEPENDENCY_QUEUE,
    D.UPHOLDS: T.PULL_IN_START_IGNORED | T.RETROACTIVE_START_REPLACE | T.ADD_START_WHEN_UPHELD_QUEUE
    | T.ADD_STOP_WHEN_UNNEEDED_QUEUE | T.ADD_DEFAULT_TARGET_DEPENDENCY_QUEUE,
    D.REQUIRED_BY: T.PROPAGATE_STOP | T.PROPAGATE_RESTART | T.PROPAGATE_START_FAILURE
    | T.PINS_STOP_WHEN_UNNEEDED | T.DEFAULT_TARGET_DEPENDENCIES,
    D.REQUISITE_OF: T.PROPAGATE_STOP | T.PROPAGATE_RESTART | T.PROPAGATE_START_FAILURE
    | T.PROPAGATE_INACTIVE_START_AS_FAILURE | T.PINS_STOP_WHEN_UNNEEDED | T.DEFAULT_TARGET_DEPENDENCIES,
    D.WANTED_BY: T.DEFAULT_TARGET_DEPENDENCIES | T.PINS_STOP_WHEN_UNNEEDED,
    D.BOUND_BY: T.RETROACTIVE_STOP_ON_STOP | T.PROPAGATE_STOP | T.PROPAGATE_RESTART
    | T.PROPAGATE_START_FAILURE | T.PINS_STOP_WHEN_UNNEEDED | T.ADD_CANNOT_BE_ACTIVE_WITHOUT_QUEUE
    | T.DEFAULT_TARGET_DEPENDENCIES,
    D.UPHELD_BY: T.START_STEADILY | T.DEFAULT_TARGET_DEPENDENCIES | T.PINS_STOP_WHEN_UNNEEDED,
    D.CONSISTS_OF: T.PROPAGATE_STOP | T.PROPAGATE_RESTART,
    D.CONFLICTS: T.PULL_IN_STOP | T.RETROACTIVE_STOP_ON_START,
    D.CONFLICTED_BY: T.PULL_IN_STOP_IGNORED | T.RETROACTIVE_STOP_ON_START | T.PROPAGATE_STOP_FAILURE,
    D.PROPAGATES_STOP_TO: T.RETROACTIVE_STOP_ON_STOP | T.PROPAGATE_STOP,
    D.STOP_PROPAGATED_FROM: Atom(0),
    D.BEFORE: T.BEFORE,
    D.AFTER: T.AFTER,
    D.ON_SUCCESS: T.ON_SUCCESS,
    D.ON_SUCCESS_OF: T.ON_SUCCESS_OF,
    D.ON_FAILURE: T.ON_FAILURE,
    D.ON_FAILURE_OF: T.ON_FAILURE_OF,
    D.TRIGGERS: T.TRIGGERS,
    D.TRIGGERED_BY: T.TRIGGERED_BY,
    D.PROPAGATES_RELOAD_TO: T.PROPAGATES_RELOAD_TO,
    D.RELOAD_PROPAGATED_FROM: Atom(0),
    D.JOINS_NAMESPACE_OF: T.JOINS_NAMESPACE_OF,
}

_ATOM_BITS: dict[Dep, int] = {dep: int(atom) for dep, atom in ATOMS.items()}  # IntFlag & is slow

# [Unit] field -> dependency type
_FIELDS: tuple[tuple[str, Dep], ...] = (
    ("requires", D.REQUIRES), ("requisite", D.REQUISITE), ("wants", D.WANTS),
    ("binds_to", D.BINDS_TO), ("part_of", D.PART_OF), ("upholds", D.UPHOLDS),
    ("conflicts", D.CONFLICTS), ("before", D.BEFORE), ("after", D.AFTER),
    ("on_success", D.ON_SUCCESS), ("on_failure", D.ON_FAILURE),
    ("propagates_reload_to", D.PROPAGATES_RELOAD_TO),
    ("reload_propagated_from", D.RELOAD_PROPAGATED_FROM),
    ("propagates_stop_to", D.PROPAGATES_STOP_TO), ("stop_propagated_from", D.STOP_PROPAGATED_FROM),
    ("joins_namespace_of", D.JOINS_NAMESPACE_OF),
)

SYSINIT_TARGET = "sysinit.target"
BASIC_TARGET = "basic.target"
SHUTDOWN_TARGET = "shutdown.target"
TIMERS_TARGET = "timers.target"
DEFAULT_TARGET = "default.target"


def _target(description: str, **unit) -> Unit:
    return Unit(name="", unit=UnitSection(description=description, **unit))


_30MIN = 30 * 60 * 1_000_000
# Built-in targets: systemd 257's own unit files' [Unit] sections (as Debian 13 ships them in
# /usr/lib/systemd/system, read with the oracle), minus references to units sysvisor does not
# have (emergency.service, rescue.service, systemd-*.service, tmp.mount, slices), which would
# only produce not-found units — and a not-found Requires= would fail every start of the target.
# spec: dependencies-and-jobs.md §2
_BUILTIN: dict[str, dict] = {
    "multi-user.target": dict(description="Multi-User System", requires=[BASIC_TARGET],
                              conflicts=["rescue.target"], after=[BASIC_TARGET, "rescue.target"],
                              allow_isolate=True),
    "graphical.target": dict(description="Graphical Interface", requires=["multi-user.target"],
                             conflicts=["rescue.target"], after=["multi-user.target", "rescue.target"],
                             allow_isolate=True),
    "basic.target": dict(description="Basic System", requires=[SYSINIT_TARGET],
                         wants=["sockets.target", TIMERS_TARGET, "paths.target", "slices.target"],
                         after=[SYSINIT_TARGET, "sockets.target", "paths.target", "slices.target"]),
    "sysinit.target": dict(description="System Initialization", wants=["local-fs.target", "swap.target"],
                           after=["local-fs.target", "swap.target"], conflicts=["emergency.target"],
                           before=["emergency.target"]),
    "sockets.target": dict(description="Socket Units"),
    "timers.target": dict(description="Timer Units", default_dependencies=False, conflicts=[SHUTDOWN_TARGET]),
    "paths.target": dict(description="Path Units"),
    "slices.target": dict(description="Slice Units"),
    "swap.target": dict(description="Swaps"),
    "local-fs-pre.target": dict(description="Preparation for Local File Systems", refuse_manual_start=True),
    "local-fs.target": dict(description="Local File Systems", default_dependencies=False,
                            after=["local-fs-pre.target"], conflicts=[SHUTDOWN_TARGET]),
    "remote-fs-pre.target": dict(description="Preparation for Remote File Systems", refuse_manual_start=True),
    "remote-fs.target": dict(description="Remote File Systems", after=["remote-fs-pre.target"],
                             default_dependencies=False, conflicts=[SHUTDOWN_TARGET]),
    "network-pre.target": dict(description="Preparation for Network", refuse_manual_start=True),
    "network.target": dict(description="Network", after=["network-pre.target"], refuse_manual_start=True),
    # reached as soon as it is pulled in when no *-wait-online.service orders itself before it
    # (spec §2.1): nothing but network.target is ordered before it
    "network-online.target": dict(description="Network is Online", after=["network.target"]),
    "nss-lookup.target": dict(description="Host and Network Name Lookups", refuse_manual_start=True),
    "nss-user-lookup.target": dict(description="User and Group Name Lookups", refuse_manual_start=True),
    "time-set.target": dict(description="System Time Set", refuse_manual_start=True),
    "time-sync.target": dict(description="System Time Synchronized", refuse_manual_start=True,
                             after=["time-set.target"], wants=["time-set.target"]),
    "shutdown.target": dict(description="System Shutdown", default_dependencies=False,
                            refuse_manual_start=True),
    "exit.target": dict(description="Exit the Container", default_dependencies=False, allow_isolate=True,
                        job_timeout_usec=_30MIN, job_timeout_action=EmergencyAction.EXIT_FORCE),
    "poweroff.target": dict(description="System Power Off", default_dependencies=False, allow_isolate=True,
                            job_timeout_usec=_30MIN, job_timeout_action=EmergencyAction.POWEROFF_FORCE),
    "reboot.target": dict(description="System Reboot", default_dependencies=False, allow_isolate=True,
                          job_timeout_usec=_30MIN, job_timeout_action=EmergencyAction.REBOOT_FORCE),
    "halt.target": dict(description="System Halt", default_dependencies=False, allow_isolate=True,
                        job_timeout_usec=_30MIN, job_timeout_action=EmergencyAction.HALT_FORCE),
    "kexec.target": dict(description="Reboot via kexec", default_dependencies=False, allow_isolate=True,
                         job_timeout_usec=_30MIN, job_timeout_action=EmergencyAction.KEXEC_FORCE),
    "soft-reboot.target": dict(description="Reboot System Userspace", default_dependencies=False,
                               allow_isolate=True, job_timeout_usec=_30MIN,
                               job_timeout_action=EmergencyAction.SOFT_REBOOT_FORCE),
    "emergency.target": dict(description="Emergency Mode", allow_isolate=True),
    "rescue.target": dict(description="Rescue Mode", requires=[SYSINIT_TARGET], after=[SYSINIT_TARGET],
                          allow_isolate=True),
}


def builtin_targets(*, user: bool = False) -> dict[str, Unit]:
    """The standard targets as units (default.target is made an alias by `build_graph`).

    Only used where no unit file provides the name (`build_graph` does that merge).
    # spec: dependencies-and-jobs.md §2, §4; systemd.special(7)
    """
    out: dict[str, Unit] = {}
    for name, spec in _BUILTIN.items():
        spec = dict(spec)
        if user and name == BASIC_TARGET:  # units/user/basic.target
            spec.update(requires=[], wants=["sockets.target", TIMERS_TARGET, "paths.target"],
                        after=["sockets.target", "paths.target", TIMERS_TARGET], refuse_manual_start=True)
        u = _target(**spec)
        u.name = name
        out[name] = u
    return out


@dataclass
class DependencyGraph:
    """Loaded units by name and their dependencies (both directions), in insertion order.

    `units` holds every loaded unit (files and built-ins); a name that only appears as a
    dependency is not in `units` and counts as not-found (systemd loads a stub for it).
    """

    units: dict[str, Unit] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> canonical name
    deps: dict[str, dict[Dep, dict[str, None]]] = field(default_factory=dict)
    diagnostics: list[str] = field(default_factory=list)
    _atom_cache: dict[tuple[str, int], tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)

    def canonical(self, name: str) -> str:
        return self.aliases.get(name, name)

    def unit(self, name: str) -> Unit | None:
        return self.units.get(self.canonical(name))

    def load_state(self, name: str) -> LoadState:
        u = self.unit(name)
        return LoadState.NOT_FOUND if u is None else u.load_state

    def add(self, a: str, dep: Dep, b: str) -> None:
        """Record `a dep b` and its inverse. # systemd: unit_add_dependency()"""
        self._atom_cache.clear()
        a, b = self.canonical(a), self.canonical(b)
        if a == b:
            # systemd drops self-references (unit_add_dependency: "Dependency … dropped")
            if dep not in (D.JOINS_NAMESPACE_OF,):
                self.diagnostics.append(f"{a}: Dependency {dep}={b} is dropped, as it would make the unit depend on itself.")
            return
        self.deps.setdefault(a, {}).setdefault(dep, {})[b] = None
        self.deps.setdefault(b, {}).setdefault(INVERSE[dep], {})[a] = None

    def get(self, name: str, dep: Dep) -> list[str]:
        """Units `name` has `dep` on (e.g. get(x, WANTED_BY) = who wants x)."""
        return list(self.deps.get(self.canonical(name), {}).get(dep, {}))

    def has(self, a: str, dep: Dep, b: str) -> bool:
        return self.canonical(b) in self.deps.get(self.canonical(a), {}).get(dep, {})

    def with_atom(self, name: str, atom: Atom) -> list[str]:
        """Every unit linked to `name` by a dependency type that has `atom`, once each, in
        order of dependency type then insertion. # systemd: UNIT_FOREACH_DEPENDENCY()"""
        key = (name, int(atom))
        cached = self._atom_cache.get(key)
        if cached is None:  # the graph is read-only once built: answers are kept
            out: dict[str, None] = {}
            bits = key[1]
            for dep, others in self.deps.get(self.canonical(name), {}).items():
                if _ATOM_BITS[dep] & bits:
                    out.update(others)
            cached = self._atom_cache[key] = tuple(out)
        return list(cached)

    def has_atom(self, a: str, atom: Atom, b: str) -> bool:
        """# systemd: unit_has_dependency()"""
        return self.canonical(b) in self.with_atom(a, atom)

    def properties(self, name: str) -> dict[str, list[str]]:
        """Dependency properties as `systemctl show` lists them (all types, empty ones too)."""
        deps = self.deps.get(self.canonical(name), {})
        return {str(d): list(deps.get(d, {})) for d in Dep}


def build_graph(
    units: Mapping[str, Unit],
    *,
    wants_dirs: Mapping[str, Iterable[str]] | None = None,
    requires_dirs: Mapping[str, Iterable[str]] | None = None,
    upholds_dirs: Mapping[str, Iterable[str]] | None = None,
    default_target: str = "multi-user.target",
    user: bool = False,
    builtins: bool = True,
) -> DependencyGraph:
    """The complete graph: explicit, `.wants/`/`.requires/`/`.upholds/`, implicit, default deps.

    `units`: loaded units by name (aliases are read from `Unit.aliases`). `wants_dirs`:
    target → units named by its `.wants/` directory entries (the loader reads the filesystem).
    `user`: a user manager (services get Requires=basic.target instead of sysinit.target).
    # spec: dependencies-and-jobs.md §1, §2
    # systemd: unit_load() → unit_add_default_dependencies(), manager_dispatch_target_deps_queue()
    """
    g = DependencyGraph()
    all_units: dict[str, Unit] = {}
    if builtins:
        provided = set(units)
        for u in units.values():
            provided.update(u.aliases)
        for name, u in builtin_targets(user=user).items():
            if name not in provided:
                all_units[name] = u
    all_units.update(units)
    for name, u in all_units.items():
        g.units[name] = u
        for alias in u.aliases:
            if alias != name:
                g.aliases[alias] = name
    if builtins and DEFAULT_TARGET not in g.units and DEFAULT_TARGET not in g.aliases:
        g.aliases[DEFAULT_TARGET] = default_target  # systemd: default.target symlink

    for name, u in all_units.items():
        if u.load_state is not LoadState.LOADED:
            continue
        for attr, dep in _FIELDS:
            for other in getattr(u.unit, attr):
                g.add(name, dep, other)
        for dirs, dep in ((wants_dirs, D.WANTS), (requires_dirs, D.REQUIRES), (upholds_dirs, D.UPHOLDS)):
            for other in (dirs or {}).get(name, ()):
                g.add(name, dep, other)
        if u.timer is not None:
            # systemd: timer_add_trigger_dependencies(), Before= the triggered unit (implicit)
            target = u.timer.unit or name.rsplit(".", 1)[0] + ".service"
            g.add(name, D.TRIGGERS, target)
            g.add(name, D.BEFORE, target)
    # dirs may name targets that have no loaded unit here (e.g. user-provided dirs only)
    for dirs, dep in ((wants_dirs, D.WANTS), (requires_dirs, D.REQUIRES), (upholds_dirs, D.UPHOLDS)):
        for owner, others in (dirs or {}).items():
            if g.canonical(owner) not in g.units:
                for other in others:
                    g.add(owner, dep, other)

    for name, u in all_units.items():
        if u.load_state is LoadState.LOADED and u.unit.default_dependencies:
            _add_type_default_dependencies(g, name, u, user)
    # after all explicit deps exist: targets get After= what they pull in
    for name, u in all_units.items():
        if u.load_state is LoadState.LOADED:
            _add_default_target_dependencies(g, name, u)
    return g


def _add_type_default_dependencies(g: DependencyGraph, name: str, u: Unit, user: bool) -> None:
    """# systemd: service_add_default_dependencies(), timer_add_default_dependencies(),
    target_add_default_dependencies() (the shutdown.target part)"""
    kind = u.kind
    if kind == "service":
        if user:
            g.add(name, D.REQUIRES, BASIC_TARGET)
            g.add(name, D.AFTER, BASIC_TARGET)
        else:
            g.add(name, D.AFTER, SYSINIT_TARGET)
            g.add(name, D.REQUIRES, SYSINIT_TARGET)
            g.add(name, D.AFTER, BASIC_TARGET)
        g.add(name, D.BEFORE, SHUTDOWN_TARGET)
        g.add(name, D.CONFLICTS, SHUTDOWN_TARGET)
    elif kind == "timer":
        if not user:
            g.add(name, D.AFTER, SYSINIT_TARGET)
            g.add(name, D.REQUIRES, SYSINIT_TARGET)
        g.add(name, D.BEFORE, TIMERS_TARGET)
        if not user and u.timer is not None and u.timer.on_calendar:
            g.add(name, D.AFTER, "time-set.target")
            g.add(name, D.AFTER, "time-sync.target")
        g.add(name, D.BEFORE, SHUTDOWN_TARGET)
        g.add(name, D.CONFLICTS, SHUTDOWN_TARGET)
    elif kind == "target" and name != SHUTDOWN_TARGET:
        g.add(name, D.BEFORE, SHUTDOWN_TARGET)
        g.add(name, D.CONFLICTS, SHUTDOWN_TARGET)


def _add_default_target_dependencies(g: DependencyGraph, name: str, u: Unit) -> None:
    """A target is ordered After= the units it pulls in, unless either side has
    DefaultDependencies=no or that would make a loop.
    # systemd: target_add_default_dependencies(), unit_add_default_target_dependency()"""
    if u.kind != "target" or not u.unit.default_dependencies:
        return
    for other in g.with_atom(name, Atom.ADD_DEFAULT_TARGET_DEPENDENCY_QUEUE):
        o = g.unit(other)
        if o is None or o.load_state is not LoadState.LOADED or not o.unit.default_dependencies:
            continue
        if g.has_atom(name, Atom.BEFORE, other):
            continue  # don't create loops
        g.add(name, D.AFTER, other)


# ---------------------------------------------------------------- unit_notify() consequences

@dataclass(frozen=True)
class JobRequest:
    """A job the Manager should enqueue (through a transaction) as a consequence of a
    state change; `message` is the unit's debug log line systemd prints, if any. systemd
    rate-limits the three automatic checks below per unit (16 per 10 s,
    manager_ratelimit_check_and_queue()); that limiter belongs to the Manager."""

    unit: str
    type: JobType
    mode: JobMode
    message: str | None = None


def retroactive_jobs(g: DependencyGraph, name: str, old: ActiveState, new: ActiveState,
                     state_of: Mapping[str, ActiveState]) -> list[JobRequest]:
    """Jobs to enqueue when `name` changed state *unexpectedly* (no job of its own caused it).

    # spec: dependencies-and-jobs.md §1.2
    # systemd: unit_notify() → retroactively_start_dependencies() / retroactively_stop_dependencies()
    """
    st = lambda u: state_of.get(g.canonical(u), A.INACTIVE)  # noqa: E731
    out: list[JobRequest] = []
    if old in INACTIVE_OR_FAILED and new in ACTIVE_OR_ACTIVATING:
        for other in g.with_atom(name, Atom.RETROACTIVE_START_REPLACE):
            if not g.has_atom(name, Atom.AFTER, other) and st(other) not in ACTIVE_OR_ACTIVATING:
                out.append(JobRequest(other, JobType.START, JobMode.REPLACE))
        for other in g.with_atom(name, Atom.RETROACTIVE_START_FAIL):
            if not g.has_atom(name, Atom.AFTER, other) and st(other) not in ACTIVE_OR_ACTIVATING:
                out.append(JobRequest(other, JobType.START, JobMode.FAIL))
        for other in g.with_atom(name, Atom.RETROACTIVE_STOP_ON_START):
            if st(other) not in _INACTIVE_OR_DEACTIVATING:
                out.append(JobRequest(other, JobType.STOP, JobMode.REPLACE))
    elif old in ACTIVE_OR_ACTIVATING and new in _INACTIVE_OR_DEACTIVATING:
        for other in g.with_atom(name, Atom.RETROACTIVE_STOP_ON_STOP):
            if st(other) not in _INACTIVE_OR_DEACTIVATING:
                out.append(JobRequest(other, JobType.STOP, JobMode.REPLACE))
    return out


def units_to_recheck(g: DependencyGraph, name: str, new: ActiveState) -> dict[str, list[str]]:
    """Which units' StopWhenUnneeded=/BindsTo=/Upholds= must be re-checked after `name` changed
    state; the Manager calls the three `*_check` functions below on them.
    # systemd: unit_notify() → check_unneeded_dependencies(), check_bound_by_dependencies(),
    #          check_uphold_dependencies() and the unit's own queues"""
    out = {"stop-when-unneeded": [], "bound-by-inactive": [], "upheld": []}
    if new in INACTIVE_OR_FAILED:
        out["stop-when-unneeded"] = g.with_atom(name, Atom.ADD_STOP_WHEN_UNNEEDED_QUEUE)
        out["bound-by-inactive"] = g.with_atom(name, Atom.ADD_CANNOT_BE_ACTIVE_WITHOUT_QUEUE)
        out["upheld"] = [name]
    elif new in (A.ACTIVE, A.RELOADING):
        out["upheld"] = g.with_atom(name, Atom.ADD_START_WHEN_UPHELD_QUEUE)
        out["bound-by-inactive"] = [name]
    return out


def stop_when_unneeded_check(g: DependencyGraph, name: str, state_of: Mapping[str, ActiveState],
                             has_job: Mapping[str, bool], will_restart: Mapping[str, bool] | None = None
                             ) -> JobRequest | None:
    """StopWhenUnneeded=yes, active, and nothing pins it (no active, transitioning, queued or
    about-to-restart unit that Wants/Requires/BindsTo/Requisite/Upholds it): stop it.
    `will_restart`: units in auto-restart. # systemd: unit_is_unneeded()"""
    u = g.unit(name)
    if u is None or not u.unit.stop_when_unneeded or has_job.get(name):
        return None
    if state_of.get(name, A.INACTIVE) is not A.ACTIVE:
        return None  # not while transitioning
    for other in g.with_atom(name, Atom.PINS_STOP_WHEN_UNNEEDED):
        if has_job.get(other) or state_of.get(other, A.INACTIVE) not in INACTIVE_OR_FAILED:
            return None
        if (will_restart or {}).get(other):
            return None
    return JobRequest(name, JobType.STOP, JobMode.FAIL, "Unit is not needed anymore.")


def bound_by_inactive_check(g: DependencyGraph, name: str, state_of: Mapping[str, ActiveState],
                            has_job: Mapping[str, bool]) -> JobRequest | None:
    """An active unit BindsTo= a unit that is inactive without a job: stop it.
    # systemd: unit_is_bound_by_inactive(), manager_dispatch_stop_when_bound_queue()"""
    if has_job.get(name) or state_of.get(name, A.INACTIVE) not in (A.ACTIVE, A.RELOADING):
        return None
    for other in g.with_atom(name, Atom.CANNOT_BE_ACTIVE_WITHOUT):
        if has_job.get(other):
            continue
        if state_of.get(other, A.INACTIVE) in INACTIVE_OR_FAILED:
            return JobRequest(name, JobType.STOP, JobMode.REPLACE,
                              f"Unit is stopped because bound to inactive unit {other}.")
    return None


def verify_bound_dependencies(g: DependencyGraph, name: str, state_of: Mapping[str, ActiveState]) -> str | None:
    """Right before starting: a BindsTo= unit this one is also After= must be active, else the
    start job fails with result `dependency` (this is how a condition-skipped BindsTo+After
    unit takes its dependent down). Returns systemd's notice, or None if all is well.
    # spec: dependencies-and-jobs.md §1 (BindsTo=)   # systemd: unit_start() → unit_verify_deps()"""
    for other in g.with_atom(name, Atom.CANNOT_BE_ACTIVE_WITHOUT):
        if not g.has_atom(name, Atom.AFTER, other):
            continue
        if state_of.get(g.canonical(other), A.INACTIVE) not in (A.ACTIVE, A.RELOADING):
            return f"Bound to unit {other}, but unit isn't active."
    return None


def upheld_check(g: DependencyGraph, name: str, state_of: Mapping[str, ActiveState],
                 has_job: Mapping[str, bool], will_restart: Mapping[str, bool] | None = None
                 ) -> JobRequest | None:
    """An inactive unit without a job (and not about to restart) that an active unit Upholds=:
    start it. # systemd: unit_is_upheld_by_active(), manager_dispatch_start_when_upheld_queue()"""
    if has_job.get(name) or state_of.get(name, A.INACTIVE) not in INACTIVE_OR_FAILED:
        return None
    if (will_restart or {}).get(name):
        return None
    for other in g.with_atom(name, Atom.START_STEADILY):
        if state_of.get(other, A.INACTIVE) in (A.ACTIVE, A.RELOADING):
            return JobRequest(name, JobType.START, JobMode.FAIL,
                              f"Unit is started because upheld by active unit {other}.")
    return None
