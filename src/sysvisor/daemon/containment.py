"""Which processes belong to a unit: a cgroup v2 per unit, or process sessions as fallback.

Two implementations with one API (`Containment`):

* `CgroupContainment`: a writable cgroup2 hierarchy (found in /proc/self/mountinfo, never
  hard-coded). Each unit gets `<mount><own cgroup>/<name>/<unit>`; the spawned child moves
  itself in (ExecRequest.cgroup) before anything else, so nothing escapes, double-forked
  daemons included. Killing uses `cgroup.kill` for SIGKILL and `cgroup.procs` otherwise;
  emptiness is `populated 0` in `cgroup.events`, and changes of that file arrive as inotify
  IN_MODIFY events on one fd the daemon registers in its selector (epoll on the file itself
  would not do: kernfs always reports it readable).
* `ProcessGroupContainment` (no writable cgroup2; decision D7): every spawn of the unit is
  a new session (ExecRequest.new_session), recorded with `adopt(unit, pid)`. A unit's
  processes are those in one of its sessions plus the descendants of those (followed by
  parent PID from /proc and remembered with their start time against PID reuse). With the
  daemon as child subreaper (`set_child_subreaper()`) orphans are re-parented to the daemon,
  so the daemon learns of every exit by SIGCHLD and checks `is_empty()` after each reap.
  Limit (documented in the spec): a process that both leaves the session (setsid) and loses
  its parent before a scan has seen it is not found.

Readings for `status` (Tasks:, Memory:, CPU:) come from pids.current (or the thread count),
memory.current and cpu.stat where the kernel offers them (the thread count and cpu.stat
always). On a hybrid host (controllers in v1 hierarchies, as on this machine) the unit also
gets a directory in the writable v1 `memory` hierarchy (ExecRequest.extra_cgroups, from
`accounting_paths()`), joined by the child on the fork path and by the spawn helper right
after it has answered (each join is a migration that may wait for an RCU grace period, so it
stays off the restart path), and read for the same figures. What a process used before the
join is not counted: a `sleep` started moments ago reads `Memory: 0B`. They play no part in
killing or emptiness, which stay with cgroup2.
# spec: service-lifecycle.md §7 (sysvisor note), ARCHITECTURE.md pitfalls; README D7
"""

from __future__ import annotations

import errno
import os
import resource
import signal
from collections.abc import Iterable
from dataclasses import dataclass, field

from sysvisor.daemon.libc import IN_MODIFY, Inotify, call

PR_SET_CHILD_SUBREAPER = 36

def set_child_subreaper() -> bool:
    """Make orphaned descendants re-parent to this process (the daemon calls it once).

    # systemd: PID 1 is init; a non-PID-1 manager uses prctl(PR_SET_CHILD_SUBREAPER)
    """
    try:
        return call("prctl", PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except OSError:
        return False


@dataclass(frozen=True)
class KilledProcess:
    """One process a kill reached, for systemd's `Killing process %i (%s) with signal SIG%s.`"""

    pid: int
    comm: str


def process_comm(pid: int) -> str:
    """The process's name as systemd prints it in kill messages."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().rstrip("\n")
    except OSError:
        return "n/a"


# ---------------------------------------------------------------------------------------
# cgroup v2


def find_cgroup2_mount(mountinfo: str = "/proc/self/mountinfo") -> str | None:
    """The mount point of the cgroup2 hierarchy, or None. # ARCHITECTURE.md pitfalls"""
    try:
        with open(mountinfo) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split(" ")
        if "-" not in fields:
            continue
        sep = fields.index("-")
        if len(fields) > sep + 1 and fields[sep + 1] == "cgroup2":
            return _unescape_mountinfo(fields[4])
    return None


def own_cgroup(proc_cgroup: str = "/proc/self/cgroup") -> str | None:
    """This process's path in the cgroup2 hierarchy (the `0::` line)."""
    try:
        with open(proc_cgroup) as f:
            for line in f:
                if line.startswith("0::"):
                    return line[3:].rstrip("\n")
    except OSError:
        pass
    return None


# v1 controllers used for the status readings on hybrid hosts: only memory. cgroup2 itself
# counts a unit's threads (cgroup.threads) and CPU time (cpu.stat's usage_usec exists with no
# controller enabled), from each process's birth inside it; a v1 pids/cpuacct group was joined
# later and cost a migration (and a mkdir) per spawn.
ACCOUNTING_CONTROLLERS = ("memory",)


def find_cgroup1_mounts(mountinfo: str = "/proc/self/mountinfo") -> dict[str, str]:
    """controller → mount point of the legacy (v1) hierarchies, e.g. on a hybrid host."""
    try:
        with open(mountinfo) as f:
            lines = f.read().splitlines()
    except OSError:
        return {}
    result: dict[str, str] = {}
    for line in lines:
        fields = line.split(" ")
        if "-" not in fields:
            continue
        sep = fields.index("-")
        if len(fields) > sep + 3 and fields[sep + 1] == "cgroup":
            for option in fields[sep + 3].split(","):
                result.setdefault(option, _unescape_mountinfo(fields[4]))
    return result


def own_cgroup1(controller: str, proc_cgroup: str = "/proc/self/cgroup") -> str | None:
    """This process's path in the v1 hierarchy of `controller`."""
    try:
        with open(proc_cgroup) as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if controller in controllers.split(","):
                    return path
    except (OSError, ValueError):
        pass
    return None


def _unescape_mountinfo(s: str) -> str:
    return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def _v1_bases(name: str) -> dict[str, str]:
    """Our base directories in the v1 accounting hierarchies that we can write (hybrid)."""
    mounts = find_cgroup1_mounts()
    bases: dict[str, str] = {}
    for ctrl in ACCOUNTING_CONTROLLERS:
        mount, own = mounts.get(ctrl), own_cgroup1(ctrl)
        if mount is None or own is None:
            continue
        base = os.path.join(mount + own.rstrip("/"), name)
        try:
            os.mkdir(base)
        except FileExistsError:
            pass
        except OSError:
            continue
        bases[ctrl] = base
    return bases


EVENTS_FDS_KEPT = 256  # units beyond it open the file each time


def _events_fds_allowed() -> int:
    # an eighth of the soft RLIMIT_NOFILE at most: the manager's fds for its units' output
    # (without the relay) and for re-adopted processes (pidfds) come first
    try:
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (OSError, ValueError):
        return 0
    return EVENTS_FDS_KEPT if soft == resource.RLIM_INFINITY else min(EVENTS_FDS_KEPT, soft // 8)


class CgroupContainment:
    """One cgroup2 directory per unit under `<mount><own cgroup>/<name>`.

    `create(unit)` returns the directory to pass as ExecRequest.cgroup.
    """

    kind = "cgroup"

    def __init__(self, base: str, mount: str = "", v1_bases: dict[str, str] | None = None):
        self.base = base
        self.mount = mount
        # hybrid hosts: controller → our base directory in its v1 hierarchy (accounting only)
        self.v1_bases = dict(v1_bases or {})
        self._inotify: Inotify | None = None
        self._watches: dict[int, str] = {}
        self._watch_of: dict[str, int] = {}
        # an open cgroup.events per watched unit (see _events_fds_allowed): `is_empty` runs
        # after every exit, and open+read+close of a cgroupfs file cost ~65 µs there
        self._events_fd: dict[str, int] = {}
        # units whose cgroup this containment made and never wrote cgroup.kill of: only
        # those may be spawned into with clone3(CLONE_INTO_CGROUP) (see `born_inside_ok`)
        self._fresh: set[str] = set()

    @classmethod
    def open(cls, name: str = "sysvisor") -> CgroupContainment:
        """Set up the base cgroup; raises OSError when no writable cgroup2 exists."""
        mount = find_cgroup2_mount()
        own = own_cgroup()
        if mount is None or own is None:
            raise OSError(errno.ENOENT, "no cgroup2 hierarchy")
        base = os.path.join(mount + own.rstrip("/"), name)
        try:
            os.mkdir(base)
        except FileExistsError:
            pass
        self = cls(base, mount, _v1_bases(name))
        self._enable_controllers()
        return self

    def _enable_controllers(self) -> None:
        # best effort: the readings need pids/memory/cpu delegated to us
        try:
            with open(os.path.join(self.base, "cgroup.controllers")) as f:
                available = f.read().split()
        except OSError:
            return
        for ctrl in ("cpu", "memory", "pids"):
            if ctrl in available:
                try:
                    with open(os.path.join(self.base, "cgroup.subtree_control"), "w") as f:
                        f.write(f"+{ctrl}")
                except OSError:
                    pass

    def path(self, unit: str) -> str:
        return os.path.join(self.base, unit)

    def display_path(self, unit: str) -> str:
        """The unit's cgroup relative to the hierarchy, for status' `CGroup:` line."""
        path = self.path(unit)
        if self.mount and path.startswith(self.mount + "/"):
            return path[len(self.mount):]
        return path

    def create(self, unit: str) -> str:
        """Make (or reuse) the unit's cgroup and watch its cgroup.events. Returns its path.

        A cgroup that was killed through cgroup.kill (by us, or by an earlier manager whose
        directory we find) is made anew once it is empty, see `born_inside_ok`."""
        path = self.path(unit)
        if unit in self._fresh and unit in self._watch_of:
            return path  # made and watched by us, never killed: a restart needs no system call
        if unit not in self._fresh:
            try:
                os.mkdir(path)
                self._fresh.add(unit)
            except FileExistsError:
                if self.is_empty(unit) and self.remove(unit):
                    try:
                        os.mkdir(path)
                        self._fresh.add(unit)
                    except FileExistsError:
                        pass
        for v1 in self.accounting_paths(unit):
            try:
                os.mkdir(v1)
            except OSError:
                pass  # accounting only
        if unit not in self._watch_of:
            if self._inotify is None:
                self._inotify = Inotify()
            wd = self._inotify.add_watch(os.path.join(path, "cgroup.events"), IN_MODIFY)
            self._watches[wd] = unit
            self._watch_of[unit] = wd
            self._keep_events_fd(unit)
        return path

    def born_inside_ok(self, unit: str) -> bool:
        """May a process be created directly inside the unit's cgroup (CLONE_INTO_CGROUP)?

        Not once cgroup.kill was written: the kernel here (6.18) then SIGKILLs every process
        cloned into that cgroup, for good (the kill sequence number it compares at fork is
        the forking process's cgroup's, not the target's; tests/daemon/test_spawner.py
        shows it). A cgroup this containment made itself and never killed is safe; a killed
        one is made anew by `create` once it is empty, and until then the child joins by a
        cgroup.procs write, as on the fork path."""
        return unit in self._fresh

    def accounting_paths(self, unit: str) -> tuple[str, ...]:
        """v1 cgroups of the unit on a hybrid host, for ExecRequest.extra_cgroups."""
        return tuple(os.path.join(base, unit) for base in self.v1_bases.values())

    def adopt(self, unit: str, pid: int) -> None:
        """The child joined the unit's cgroups itself before exec; this repeats the v1
        accounting attach from the parent for callers that did not pass extra_cgroups
        (best effort: a child that forks before this runs leaves its children out)."""
        for path in self.accounting_paths(unit):
            try:
                with open(os.path.join(path, "cgroup.procs"), "w") as f:
                    f.write(str(pid))
            except OSError:
                pass

    def pids(self, unit: str) -> list[int]:
        """Processes in the unit's cgroup (subgroups included)."""
        result: list[int] = []
        for dirpath, _dirs, _files in os.walk(self.path(unit)):
            try:
                with open(os.path.join(dirpath, "cgroup.procs")) as f:
                    result.extend(int(x) for x in f.read().split())
            except OSError:
                continue
        return result

    def is_empty(self, unit: str) -> bool:
        """`populated 0` in cgroup.events (a missing cgroup is empty)."""
        events = None
        fd = self._events_fd.get(unit)
        if fd is not None:
            try:
                events = os.pread(fd, 4096, 0)  # cgroupfs regenerates the file at offset 0
            except OSError:  # the directory was removed under us (ENODEV)
                self._drop_events_fd(unit)
        if events is None:
            try:
                fd = os.open(f"{self.path(unit)}/cgroup.events", os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                return True
            except OSError:
                return not self.pids(unit)
            try:
                events = os.read(fd, 4096)
            except OSError:
                return not self.pids(unit)
            finally:
                os.close(fd)
        for line in events.split(b"\n"):
            key, _, value = line.partition(b" ")
            if key == b"populated":
                return value.strip() == b"0"
        return not self.pids(unit)

    def _keep_events_fd(self, unit: str) -> None:
        if unit in self._events_fd or len(self._events_fd) >= _events_fds_allowed():
            return
        try:
            self._events_fd[unit] = os.open(os.path.join(self.path(unit), "cgroup.events"), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            pass  # is_empty() opens it each time

    def _drop_events_fd(self, unit: str) -> None:
        fd = self._events_fd.pop(unit, None)
        if fd is not None:
            os.close(fd)

    def kill_all(self, unit: str, sig: int, *, sigcont: bool = False) -> list[KilledProcess]:
        """Signal every process of the unit; SIGKILL via cgroup.kill when available.

        Other signals go to each PID of cgroup.procs, re-reading until no new PID shows up
        (processes forked meanwhile). `sigcont` sends SIGCONT right after, as systemd does
        after KillSignal=. # systemd: cg_kill_recursive(); spec: service-lifecycle.md §7
        """
        path = self.path(unit)
        own = os.getpid()
        killed: dict[int, KilledProcess] = {}
        if sig == signal.SIGKILL and os.path.exists(os.path.join(path, "cgroup.kill")):
            for pid in self.pids(unit):
                if pid != own:
                    killed[pid] = KilledProcess(pid, process_comm(pid))
            self._fresh.discard(unit)
            try:
                with open(os.path.join(path, "cgroup.kill"), "w") as f:
                    f.write("1")
                return list(killed.values())
            except OSError:
                pass  # fall back to signalling one by one
        while True:
            new = [p for p in self.pids(unit) if p not in killed and p != own]
            if not new:
                break
            for pid in new:
                comm = process_comm(pid)
                try:
                    os.kill(pid, sig)
                    if sigcont and sig != signal.SIGCONT:
                        os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
                killed[pid] = KilledProcess(pid, comm)
        return list(killed.values())

    def events_fd(self) -> int | None:
        """One fd for the daemon's selector: readable when some unit's cgroup.events changed."""
        if self._inotify is None:
            self._inotify = Inotify()
        return self._inotify.fd

    def read_events(self) -> set[str]:
        """Units whose cgroup.events changed since the last call; check `is_empty` for each."""
        if self._inotify is None:
            return set()
        return {self._watches[wd] for wd in self._inotify.read() if wd in self._watches}

    def remove(self, unit: str) -> bool:
        """Remove the unit's (empty) cgroups; False while processes remain (then the unit
        stays watched)."""
        for path in (self.path(unit), *self.accounting_paths(unit)):
            for dirpath, _dirs, _files in sorted(os.walk(path), key=lambda t: -len(t[0])):
                try:
                    os.rmdir(dirpath)
                except FileNotFoundError:
                    continue
                except OSError:
                    return False
        wd = self._watch_of.pop(unit, None)
        if wd is not None:
            self._watches.pop(wd, None)  # the kernel dropped the watch with the directory
        self._drop_events_fd(unit)
        self._fresh.discard(unit)
        return True

    def close(self) -> None:
        """Forget watches; remove the base cgroup if nothing is left in it."""
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None
        self._watches.clear()
        self._watch_of.clear()
        for unit in list(self._events_fd):
            self._drop_events_fd(unit)
        for base in (self.base, *self.v1_bases.values()):
            try:
                os.rmdir(base)
            except OSError:
                pass

    # readings for status: the v2 file where the controller is delegated, else v1 (hybrid)
    def tasks(self, unit: str) -> int | None:
        """Tasks: pids.current, else the number of threads in the cgroup."""
        value = self._read_int(self.path(unit), "pids.current")
        if value is not None:
            return value
        try:
            with open(os.path.join(self.path(unit), "cgroup.threads")) as f:
                return len(f.read().split())
        except OSError:
            return None

    def memory(self, unit: str) -> int | None:
        """Memory: memory.current (v2) or memory.usage_in_bytes (v1) in bytes, else None.
        # systemd: unit_get_memory_current()"""
        value = self._read_int(self.path(unit), "memory.current")
        if value is None and "memory" in self.v1_bases:
            value = self._read_int(os.path.join(self.v1_bases["memory"], unit), "memory.usage_in_bytes")
        return value

    def cpu_usage_nsec(self, unit: str) -> int | None:
        """CPU: usage_usec of cpu.stat as nanoseconds (systemd's CPUUsageNSec); cgroup2 keeps
        it without the cpu controller, so also on hybrid hosts, where systemd would read the
        v1 cpuacct.usage. # systemd: unit_get_cpu_usage_raw()"""
        try:
            with open(os.path.join(self.path(unit), "cpu.stat")) as f:
                for line in f:
                    key, _, value_text = line.partition(" ")
                    if key == "usage_usec":
                        return int(value_text) * 1000
        except (OSError, ValueError):
            pass
        return None

    @staticmethod
    def _read_int(directory: str, name: str) -> int | None:
        try:
            with open(os.path.join(directory, name)) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None


# ---------------------------------------------------------------------------------------
# process-group fallback


@dataclass(frozen=True)
class _ProcInfo:
    pid: int
    ppid: int
    session: int
    state: str
    start_time: int
    threads: int


def _read_proc(pid: int) -> _ProcInfo | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    # comm may contain spaces and parentheses: split after the last ')'
    rest = data[data.rfind(")") + 2 :].split()
    try:
        return _ProcInfo(pid, int(rest[1]), int(rest[3]), rest[0], int(rest[19]), int(rest[17]))
    except (IndexError, ValueError):
        return None


def _all_processes() -> Iterable[_ProcInfo]:
    for name in os.listdir("/proc"):
        if name.isdigit():
            info = _read_proc(int(name))
            if info is not None:
                yield info


@dataclass
class _UnitProcesses:
    sessions: set[int] = field(default_factory=set)
    known: dict[int, int] = field(default_factory=dict)  # pid -> start time


class ProcessGroupContainment:
    """Units as sets of sessions (each spawn calls setsid) plus their descendants."""

    kind = "process-group"

    def __init__(self) -> None:
        self._units: dict[str, _UnitProcesses] = {}

    def create(self, unit: str) -> None:
        """Register the unit; there is no cgroup path (ExecRequest.cgroup stays None)."""
        self._units.setdefault(unit, _UnitProcesses())
        return None

    def adopt(self, unit: str, pid: int) -> None:
        """Record a process spawned for the unit (its PID is its session ID)."""
        u = self._units.setdefault(unit, _UnitProcesses())
        u.sessions.add(pid)
        info = _read_proc(pid)
        if info is not None:
            u.known[pid] = info.start_time

    def _members(self, unit: str) -> list[_ProcInfo]:
        u = self._units.get(unit)
        if u is None:
            return []
        own = os.getpid()
        procs = {p.pid: p for p in _all_processes() if p.pid != own}
        members: dict[int, _ProcInfo] = {}
        for p in procs.values():
            if p.session in u.sessions or u.known.get(p.pid) == p.start_time:
                members[p.pid] = p
        # descendants that left the session: follow parent links until nothing is added
        grew = True
        while grew:
            grew = False
            for p in procs.values():
                if p.pid not in members and p.ppid in members:
                    members[p.pid] = p
                    grew = True
        # remember them, so they stay ours after their parent is gone
        u.known = {pid: p.start_time for pid, p in members.items()}
        return [p for p in members.values() if p.state not in ("Z", "X")]

    def pids(self, unit: str) -> list[int]:
        return sorted(p.pid for p in self._members(unit))

    def is_empty(self, unit: str) -> bool:
        """No live process left (zombies do not count, as in a cgroup)."""
        return not self._members(unit)

    def kill_all(self, unit: str, sig: int, *, sigcont: bool = False) -> list[KilledProcess]:
        """Signal every process of the unit, re-scanning until no new one appears."""
        killed: dict[int, KilledProcess] = {}
        while True:
            new = [p for p in self._members(unit) if p.pid not in killed]
            if not new:
                break
            for p in new:
                comm = process_comm(p.pid)
                try:
                    os.kill(p.pid, sig)
                    if sigcont and sig != signal.SIGCONT:
                        os.kill(p.pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
                killed[p.pid] = KilledProcess(p.pid, comm)
            if sig in (signal.SIGCONT, 0):
                break
        return list(killed.values())

    def display_path(self, unit: str) -> str | None:
        """No cgroup: status shows no `CGroup:` path."""
        return None

    def events_fd(self) -> int | None:
        """None: without cgroups the daemon checks `is_empty` after each reap."""
        return None

    def read_events(self) -> set[str]:
        return set()

    def remove(self, unit: str) -> bool:
        """Forget the unit; False while processes remain (they stay tracked)."""
        if not self.is_empty(unit):
            return False
        self._units.pop(unit, None)
        return True

    def close(self) -> None:
        self._units.clear()

    def tasks(self, unit: str) -> int | None:
        return sum(p.threads for p in self._members(unit))

    def memory(self, unit: str) -> int | None:
        return None

    def cpu_usage_nsec(self, unit: str) -> int | None:
        return None


Containment = CgroupContainment | ProcessGroupContainment


def open_containment(name: str = "sysvisor", *, prefer_cgroup: bool = True) -> Containment:
    """A cgroup2 containment where a writable hierarchy exists, else the process-group one.

    # spec: service-lifecycle.md §7 (sysvisor note); README decision D7
    """
    if prefer_cgroup:
        try:
            return CgroupContainment.open(name)
        except OSError:
            pass
    return ProcessGroupContainment()
