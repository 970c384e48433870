"""Unit containment with real processes: cgroup v2 and the process-group fallback.

# spec: service-lifecycle.md §7 (KillMode=control-group, sysvisor note); README D7
Waits are bounded and end on a condition (inotify event or the process being gone).
"""

from __future__ import annotations

import itertools
import os
import resource
import select
import selectors
import signal
import sys
import time

import pytest

from sysvisor.daemon.containment import (
    CgroupContainment,
    ProcessGroupContainment,
    find_cgroup1_mounts,
    find_cgroup2_mount,
    open_containment,
    own_cgroup,
    own_cgroup1,
    set_child_subreaper,
)
from sysvisor.daemon.executor import ExecRequest, spawn, wait_exec_outcome

_counter = itertools.count()


def _cgroup_or_skip() -> CgroupContainment:
    try:
        return CgroupContainment.open(f"sysvisor-test-{os.getpid()}-{next(_counter)}")
    except OSError as e:
        pytest.skip(f"no writable cgroup2 here: {e}")


@pytest.fixture
def cgroup():
    c = _cgroup_or_skip()
    yield c
    for unit in os.listdir(c.base):
        if os.path.isdir(os.path.join(c.base, unit)):
            c.kill_all(unit, signal.SIGKILL)
            wait_until(lambda u=unit: c.is_empty(u))
            c.remove(unit)
    c.close()
    assert not os.path.exists(c.base)
    assert not any(os.path.exists(b) for b in c.v1_bases.values())


@pytest.fixture
def pgroup():
    c = ProcessGroupContainment()
    yield c
    for unit in list(c._units):
        c.kill_all(unit, signal.SIGKILL)


def wait_until(cond, timeout: float = 10.0) -> bool:
    """Bounded wait for a condition (no fixed sleep: it returns as soon as cond holds)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def start(script: str, *, cgroup: str | None = None, extra_cgroups: tuple[str, ...] = ()) -> tuple[int, list[int]]:
    """Spawn `sh -c script`; the script prints PIDs, one per line, then closes stdout."""
    r, w = os.pipe()
    child = spawn(ExecRequest(path="/bin/sh", argv=["sh", "-c", script], stdout=w, cgroup=cgroup,
                              extra_cgroups=extra_cgroups))
    os.close(w)
    assert wait_exec_outcome(child.error_fd, "/bin/sh").exec_succeeded
    data = b""
    while True:
        ready, _, _ = select.select([r], [], [], 10)
        assert ready, "script did not report its PIDs"
        chunk = os.read(r, 4096)
        if not chunk:
            break
        data += chunk
    os.close(r)
    return child.pid, [int(x) for x in data.split()]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def reap(pid: int) -> os.waitid_result:
    return os.waitid(os.P_PID, pid, os.WEXITED)


# grandchild left behind: the main process exits, its background child keeps running
LEAVE_GRANDCHILD = "sleep 1000 >/dev/null & echo $!"
# one child in the session, one that left it with setsid; the parent stays
ESCAPE_SESSION = "sleep 1000 >/dev/null & echo $!; setsid sleep 1000 >/dev/null & echo $!; exec >&-; wait"


def test_find_cgroup2_mount_reads_mountinfo(tmp_path):
    f = tmp_path / "mountinfo"
    f.write_text(
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
        "41 31 0:38 / /sys/fs/cgroup/uni\\040fied rw,relatime shared:9 - cgroup2 cgroup2 rw\n"
    )
    assert find_cgroup2_mount(str(f)) == "/sys/fs/cgroup/uni fied"
    f.write_text("31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n")
    assert find_cgroup2_mount(str(f)) is None
    g = tmp_path / "cgroup"
    g.write_text("4:memory:/x\n0::/user.slice/a.scope\n")
    assert own_cgroup(str(g)) == "/user.slice/a.scope"


def test_open_containment_falls_back_to_process_groups():
    assert isinstance(open_containment(prefer_cgroup=False), ProcessGroupContainment)


# ---------------------------------------------------------------------------------------
# cgroup v2


def test_cgroup_kill_reaches_grandchild_left_behind(cgroup):
    path = cgroup.create("leave.service")
    main, (grandchild,) = start(LEAVE_GRANDCHILD, cgroup=path)
    assert reap(main).si_status == 0
    assert alive(grandchild)
    assert not cgroup.is_empty("leave.service")
    assert cgroup.pids("leave.service") == [grandchild]
    killed = cgroup.kill_all("leave.service", signal.SIGTERM, sigcont=True)
    assert [(k.pid, k.comm) for k in killed] == [(grandchild, "sleep")]
    assert wait_until(lambda: cgroup.is_empty("leave.service"))
    assert not alive(grandchild)


def test_cgroup_sigkill_uses_cgroup_kill_and_catches_session_escapers(cgroup):
    path = cgroup.create("escape.service")
    main, (a, b) = start(ESCAPE_SESSION, cgroup=path)
    assert sorted(cgroup.pids("escape.service")) == sorted([main, a, b])
    killed = cgroup.kill_all("escape.service", signal.SIGKILL)
    assert sorted(k.pid for k in killed) == sorted([main, a, b])
    assert reap(main).si_code == os.CLD_KILLED
    assert wait_until(lambda: cgroup.is_empty("escape.service"))


def test_cgroup_emptiness_arrives_on_the_events_fd(cgroup):
    path = cgroup.create("events.service")
    sel = selectors.DefaultSelector()
    sel.register(cgroup.events_fd(), selectors.EVENT_READ)
    try:
        main, (grandchild,) = start(LEAVE_GRANDCHILD, cgroup=path)
        reap(main)
        cgroup.read_events()  # drain the events of the start
        assert not cgroup.is_empty("events.service")
        os.kill(grandchild, signal.SIGKILL)
        # bounded wait on the selector: no polling of the cgroup
        deadline = time.monotonic() + 10
        changed: set[str] = set()
        while not (changed and cgroup.is_empty("events.service")):
            assert sel.select(timeout=max(0.0, deadline - time.monotonic())), "no cgroup.events change"
            changed |= cgroup.read_events()
        assert changed == {"events.service"}
    finally:
        sel.close()


def test_emptiness_through_the_kept_events_file_follows_the_cgroup(cgroup, monkeypatch):
    # is_empty() rereads a kept cgroup.events (the restart path's read); a cgroup removed
    # behind its back and made again (another manager, an admin) is read afresh
    path = cgroup.create("kept.service")
    assert "kept.service" in cgroup._events_fd
    main, (grandchild,) = start(LEAVE_GRANDCHILD, cgroup=path)
    reap(main)
    assert not cgroup.is_empty("kept.service")
    os.kill(grandchild, signal.SIGKILL)
    assert wait_until(lambda: cgroup.is_empty("kept.service"))
    os.rmdir(path)
    assert cgroup.is_empty("kept.service") and "kept.service" not in cgroup._events_fd
    os.mkdir(path)
    main, (grandchild,) = start(LEAVE_GRANDCHILD, cgroup=path)
    reap(main)
    assert not cgroup.is_empty("kept.service")  # the new directory's file, opened again
    os.kill(grandchild, signal.SIGKILL)
    assert wait_until(lambda: cgroup.is_empty("kept.service"))
    # beyond the cap a unit's file is opened for each read
    monkeypatch.setattr("sysvisor.daemon.containment.EVENTS_FDS_KEPT", len(cgroup._events_fd))
    other = cgroup.create("unkept.service")
    assert "unkept.service" not in cgroup._events_fd
    main, (grandchild,) = start(LEAVE_GRANDCHILD, cgroup=other)
    reap(main)
    assert not cgroup.is_empty("unkept.service")
    os.kill(grandchild, signal.SIGKILL)
    assert wait_until(lambda: cgroup.is_empty("unkept.service"))
    assert cgroup.remove("unkept.service") and cgroup.remove("kept.service") and not cgroup._events_fd


def test_kept_events_files_leave_room_under_a_low_open_files_limit(monkeypatch):
    # the manager's other fds per unit (output pipes without the relay, pidfds of re-adopted
    # processes) come first: an eighth of the soft RLIMIT_NOFILE at most
    from sysvisor.daemon import containment

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    monkeypatch.setattr(containment.resource, "getrlimit", lambda which: (80, hard))
    assert containment._events_fds_allowed() == 10
    monkeypatch.setattr(containment.resource, "getrlimit", lambda which: (1 << 20, hard))
    assert containment._events_fds_allowed() == containment.EVENTS_FDS_KEPT
    monkeypatch.setattr(containment.resource, "getrlimit", lambda which: (resource.RLIM_INFINITY, hard))
    assert containment._events_fds_allowed() == containment.EVENTS_FDS_KEPT


def test_cgroup_readings_and_remove(cgroup):
    path = cgroup.create("read.service")
    own = own_cgroup().rstrip("/")
    assert cgroup.display_path("read.service") == f"{own}/{os.path.basename(cgroup.base)}/read.service"
    # the grandchild touches 4 MB so that memory accounting has something to show
    script = f"{sys.executable} -c 'import os,time; b=bytearray(4<<20); os.close(1); time.sleep(1000)' & echo $!"
    main, (grandchild,) = start(script, cgroup=path, extra_cgroups=cgroup.accounting_paths("read.service"))
    reap(main)
    assert wait_until(lambda: (cgroup.memory("read.service") or 0) >= 4 << 20 or "memory" not in cgroup.v1_bases)
    assert cgroup.tasks("read.service") >= 1
    assert isinstance(cgroup.cpu_usage_nsec("read.service"), int)
    mem = cgroup.memory("read.service")
    assert mem is None or mem > 0
    assert cgroup.remove("read.service") is False  # still populated, and still watched
    assert cgroup.events_fd() is not None and "read.service" in cgroup._watch_of
    cgroup.kill_all("read.service", signal.SIGKILL)
    assert wait_until(lambda: cgroup.is_empty("read.service"))
    assert cgroup.remove("read.service") is True
    assert cgroup.is_empty("read.service")  # a missing cgroup is empty
    assert not any(os.path.exists(p) for p in cgroup.accounting_paths("read.service"))


def test_tasks_and_cpu_count_from_birth_without_any_v1_group(cgroup):
    # cgroup2 counts threads and CPU time with no controller enabled: a process that burns
    # CPU at once and joins nothing else is fully counted (a v1 cpuacct join came later)
    path = cgroup.create("burn.service")
    script = (f"{sys.executable} -c 'import os,threading,time; os.close(1); t=time.process_time()\n"
              "while time.process_time() - t < 0.2: pass\n"
              "threading.Thread(target=time.sleep, args=(1000,), daemon=True).start(); time.sleep(1000)' & echo $!")
    main, (burner,) = start(script, cgroup=path)  # no extra_cgroups
    reap(main)
    try:
        assert wait_until(lambda: cgroup.tasks("burn.service") == 2)  # the burner's two threads
        assert cgroup.cpu_usage_nsec("burn.service") >= 150_000_000
    finally:
        cgroup.kill_all("burn.service", signal.SIGKILL)
        assert wait_until(lambda: cgroup.is_empty("burn.service"))
        cgroup.remove("burn.service")
    assert cgroup.accounting_paths("burn.service") == tuple(os.path.join(b, "burn.service") for b in cgroup.v1_bases.values())
    assert set(cgroup.v1_bases) <= {"memory"}


def test_cgroup_adopt_joins_accounting_cgroups(cgroup):
    if not cgroup.v1_bases:
        pytest.skip("no v1 accounting hierarchies (pure cgroup2 host)")
    path = cgroup.create("adopt.service")
    main, (grandchild,) = start(LEAVE_GRANDCHILD, cgroup=path)  # no extra_cgroups
    reap(main)
    cgroup.adopt("adopt.service", grandchild)
    for acct in cgroup.accounting_paths("adopt.service"):
        with open(os.path.join(acct, "cgroup.procs")) as f:
            assert [int(x) for x in f.read().split()] == [grandchild]


def test_v1_discovery(tmp_path):
    f = tmp_path / "mountinfo"
    f.write_text(
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    )
    mounts = find_cgroup1_mounts(str(f))
    assert mounts["memory"] == "/sys/fs/cgroup/memory"
    assert mounts["cpuacct"] == mounts["cpu"] == "/sys/fs/cgroup/cpu,cpuacct"
    g = tmp_path / "cgroup"
    g.write_text("4:memory:/x/y\n2:cpu,cpuacct:/z\n0::/\n")
    assert own_cgroup1("memory", str(g)) == "/x/y"
    assert own_cgroup1("cpuacct", str(g)) == "/z"
    assert own_cgroup1("pids", str(g)) is None


# ---------------------------------------------------------------------------------------
# process groups / sessions


def test_pgroup_kill_reaches_grandchild_left_behind(pgroup):
    pgroup.create("leave.service")
    main, (grandchild,) = start(LEAVE_GRANDCHILD)
    pgroup.adopt("leave.service", main)
    assert reap(main).si_status == 0
    assert pgroup.pids("leave.service") == [grandchild]
    assert not pgroup.is_empty("leave.service")
    killed = pgroup.kill_all("leave.service", signal.SIGTERM, sigcont=True)
    assert [(k.pid, k.comm) for k in killed] == [(grandchild, "sleep")]
    assert wait_until(lambda: pgroup.is_empty("leave.service"))
    assert pgroup.remove("leave.service")


def test_pgroup_follows_descendants_that_left_the_session(pgroup):
    pgroup.create("escape.service")
    main, (a, b) = start(ESCAPE_SESSION)
    pgroup.adopt("escape.service", main)
    assert wait_until(lambda: os.getsid(b) != main)  # b really left the unit's session
    assert pgroup.pids("escape.service") == sorted([main, a, b])
    assert pgroup.tasks("escape.service") == 3
    killed = pgroup.kill_all("escape.service", signal.SIGKILL)
    assert sorted(k.pid for k in killed) == sorted([main, a, b])
    assert reap(main).si_code == os.CLD_KILLED
    assert wait_until(lambda: pgroup.is_empty("escape.service"))


def test_pgroup_remembers_escaped_orphans_once_seen(pgroup):
    """After a scan saw it, a session escaper stays the unit's even when its parent dies."""
    pgroup.create("orphan.service")
    main, (a, b) = start(ESCAPE_SESSION)
    pgroup.adopt("orphan.service", main)
    assert b in pgroup.pids("orphan.service")
    os.kill(main, signal.SIGKILL)
    reap(main)
    assert wait_until(lambda: _ppid(b) != main)  # re-parented
    assert sorted(pgroup.pids("orphan.service")) == sorted([a, b])
    pgroup.kill_all("orphan.service", signal.SIGKILL)
    assert wait_until(lambda: pgroup.is_empty("orphan.service"))


def _ppid(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0


def test_child_subreaper_adopts_orphans():
    """In a forked helper (so this test process stays as it was): orphans come back to us."""
    r, w = os.pipe()
    helper = os.fork()
    if helper == 0:  # pragma: no cover - child
        code = 1
        try:
            os.close(r)
            assert set_child_subreaper()
            main, (grandchild,) = start(LEAVE_GRANDCHILD)
            reap(main)
            ok = wait_until(lambda: _ppid(grandchild) == os.getpid())
            os.kill(grandchild, signal.SIGKILL)
            status = os.waitid(os.P_PID, grandchild, os.WEXITED)  # we are its reaper now
            os.write(w, b"ok" if ok and status.si_code == os.CLD_KILLED else b"bad")
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    result = os.read(r, 10)
    os.close(r)
    assert reap(helper).si_status == 0
    assert result == b"ok"
