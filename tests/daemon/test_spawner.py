"""The fast spawn path (daemon/spawner.py) against the fork path (executor.spawn), with real
processes. # spec: service-lifecycle.md §5, §8.3

The helper's children are this test process's children (CLONE_PARENT), so each test reaps
exactly its own child with os.waitid(P_PID), as tests/daemon/test_executor.py does.
Waits are bounded and end on a condition.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import select
import signal
import time

import pytest

from sysvisor.daemon.containment import CgroupContainment
from sysvisor.daemon.executor import (
    EXIT_CGROUP,
    EXIT_CHDIR,
    EXIT_EXCEPTION,
    EXIT_EXEC,
    EXIT_USER,
    SYSTEMD_DEFAULT_LIMITS,
    ExecRequest,
    _plan,
    spawn,
    wait_exec_outcome,
)
from sysvisor.daemon import exec_helper
from sysvisor.daemon.spawner import Spawner, SpawnerUnavailable

_counter = itertools.count()


@pytest.fixture(scope="module", params=[False, True], ids=["python-helper", "native-helper"])
def helper(request):
    """The Python spawn helper alone, and with the native helper (exec_helper.c) for plain spawns."""
    if request.param:
        exec_helper.find_or_build()  # ./test.sh built it (and installed gcc if missing)
    s = Spawner.start(native=request.param)
    try:
        child = s.spawn(ExecRequest(path="/bin/true", argv=["true"]))
    except SpawnerUnavailable as e:
        pytest.skip(f"no fast spawn path here: {e}")
    wait_exec_outcome(child.error_fd, "/bin/true")
    os.waitid(os.P_PID, child.pid, os.WEXITED)
    assert s.native_spawns == request.param  # /bin/true is a plain spawn
    yield s
    s.close()


def plain_spawns(helper):
    """(prepared, native) counts, to see which way the next spawns went."""
    return helper.prepared_spawns, helper.native_spawns


def went(helper, before, plain: bool) -> bool:
    """Whether exactly one spawn since `before` was plain (prepared, native when it runs)."""
    native = helper.native_sock is not None
    return plain_spawns(helper) == (before[0] + plain, before[1] + (plain and native))


def run(start, req: ExecRequest):
    """(si_code, si_status, outcome) of one spawn by `start` (spawn or helper.spawn)."""
    child = start(req)
    outcome = wait_exec_outcome(child.error_fd, req.path)
    info = os.waitid(os.P_PID, child.pid, os.WEXITED)
    return info.si_code, info.si_status, outcome


# What a process sees of its execution environment, printed by the shell about itself
# ($$), with its own PID replaced by "PID" so that two spawns compare equal.
DESCRIBE = r"""
p=$$
echo "exec pid matches: $([ "$SYSTEMD_EXEC_PID" = "$p" ] && echo yes || echo no)"
echo "parent is the manager: $([ "$(cut -d' ' -f4 /proc/$p/stat)" = "$MANAGER" ] && echo yes || echo no)"
set -- $(cut -d')' -f2 /proc/$p/stat)
echo "pgrp=$( [ "$3" = "$p" ] && echo own || echo "$3") session=$( [ "$4" = "$p" ] && echo own || echo "$4") nice=${17}"
while read -r key value; do  # builtins only: the shell is not inside a wait for a child
  case $key in Umask:|SigBlk:|SigIgn:|SigCgt:|Cap*:|NoNewPrivs:|Seccomp:) echo "$key $value";; esac
done </proc/$p/status
cat /proc/$p/limits
echo "cwd=$(pwd -P) umask=$(umask) id=$(id)"
echo "fds: $(ls /proc/$p/fd | sort -n | tr '\n' ' ')"
for fd in 0 1 2 3; do echo "fd$fd -> $(readlink /proc/$p/fd/$fd | sed 's/:\[[0-9]*\]//')"; done
grep -v '^[0-9]*:name=' /proc/$p/cgroup
env | grep -v '^SYSTEMD_EXEC_PID=' | sort
"""


def describe(start, tmp_path, pass_fd: bool = True, **kw) -> str:
    out = tmp_path / f"describe-{next(_counter)}.txt"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        req = ExecRequest(path=kw.pop("path", "/bin/sh"), argv=["sh", "-c", DESCRIBE], stdout=fd, stderr=kw.pop("stderr", fd),
                          pass_fds=(r,) if pass_fd else (),
                          env={"MANAGER": str(os.getpid()), "LANG": "C", "PATH": "/usr/bin:/bin", "X": "a b\tc"},
                          **kw)
        code, status, outcome = run(start, req)
    finally:
        os.close(fd)
        os.close(r)
        os.close(w)
    assert outcome.exec_succeeded and (code, status) == (os.CLD_EXITED, 0), out.read_text()
    return out.read_text().replace(str(out), "OUT")


def test_the_environment_is_the_one_of_the_fork_path(helper, tmp_path):
    settings = dict(working_directory=str(tmp_path), umask=0o027, nice=3, limits={**SYSTEMD_DEFAULT_LIMITS, "NPROC": (4000, 5000)})
    fork_path = describe(spawn, tmp_path, **settings)
    fast_path = describe(helper.spawn, tmp_path, **settings)
    assert fast_path == fork_path
    # and it is the environment asked for, not merely the same one twice
    assert "exec pid matches: yes" in fast_path
    assert "parent is the manager: yes" in fast_path
    assert "pgrp=own session=own nice=3" in fast_path
    assert f"cwd={os.path.realpath(tmp_path)} umask=0027" in fast_path
    assert "SigBlk: 0000000000000000" in fast_path and "SigIgn: 0000000000000000" in fast_path
    assert "fds: 0 1 2 3 " in fast_path and "fd0 -> /dev/null" in fast_path and "fd3 -> pipe" in fast_path
    assert "Max processes             4000                 5000" in fast_path
    assert "X=a b\tc" in fast_path


@pytest.mark.parametrize("settings", [
    dict(working_directory="-/nonexistent-dir", umask=0o077, nice=2, limits=dict(SYSTEMD_DEFAULT_LIMITS), new_session=False),
    dict(working_directory="~", umask=0o002, limits={"LimitNOFILE": (-1, -1), "CORE": (0, 0)}, stdin="inherit", stderr="null"),
    dict(path="sh", limits={}, stdin="null", stderr="inherit"),  # looked up in the search path
])
def test_a_plain_spawn_is_the_fork_paths_spawn(helper, tmp_path, settings):
    # no passed fds, no user switch: the native helper's child, or a child that only execs
    # (execsetup.exec_prepared) after the Python helper prepared it in itself
    before = plain_spawns(helper)
    fork_path = describe(spawn, tmp_path, pass_fd=False, **settings)
    fast_path = describe(helper.spawn, tmp_path, pass_fd=False, **settings)
    assert went(helper, before, plain=True)
    assert fast_path == fork_path
    assert "exec pid matches: yes" in fast_path and "\nfds: 0 1 2 3 \n" in fast_path  # 3: the shell's $(…) pipe
    # the helper is itself again: its own streams, umask, directory and name
    assert os.readlink(f"/proc/{helper.pid}/cwd") == os.getcwd()
    with open(f"/proc/{helper.pid}/status") as f:
        status = f.read()
    assert "Name:\tsysvisor-spawn" in status and "Umask:\t0022" in status
    assert [os.readlink(f"/proc/{helper.pid}/fd/{n}") for n in (0, 1, 2)] == [os.readlink(f"/proc/self/fd/{n}") for n in (0, 1, 2)]


@pytest.mark.parametrize("native", [False, True], ids=["python-helper", "native-helper"])
def test_fds_the_manager_leaked_into_the_helper_never_reach_a_plain_child(tmp_path, native):
    # a prepared child closes nothing itself: the helper must own no inheritable fd but 0-2
    if native:
        exec_helper.find_or_build()
    leaked_r, leaked_w = os.pipe()
    os.set_inheritable(leaked_r, True)
    os.set_inheritable(leaked_w, True)
    s = Spawner.start(native=native)
    os.close(leaked_r)
    os.close(leaked_w)
    try:
        before = plain_spawns(s)
        out = describe(s.spawn, tmp_path, pass_fd=False)
        assert went(s, before, plain=True)
        assert out == describe(spawn, tmp_path, pass_fd=False)  # the fork path closes every other fd
    finally:
        s.close()


def test_passed_fds_take_the_full_setup_in_the_child(helper, tmp_path):
    before = plain_spawns(helper)
    describe(helper.spawn, tmp_path)
    assert went(helper, before, plain=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_user_group_and_groups_are_those_of_the_fork_path(helper, tmp_path):
    settings = dict(user="nobody", group="nogroup", supplementary_groups=["daemon"], working_directory="/")
    fork_path = describe(spawn, tmp_path, **settings)
    fast_path = describe(helper.spawn, tmp_path, **settings)
    assert fast_path == fork_path
    assert "CapEff: 0000000000000000" in fast_path  # no longer root


@pytest.mark.parametrize("native", [False, True], ids=["python-helper", "native-helper"])
def test_the_helpers_survive_terminal_signals_and_their_children_inherit_none_of_their_signal_state(tmp_path, native):
    # a Ctrl-C to the manager's process group must not end a helper before the manager
    # stopped its units; the helpers keep every signal blocked, and a child must see neither
    # that mask nor an ignore the manager inherited (SIGHUP under nohup, Python's SIGPIPE)
    if native:
        exec_helper.find_or_build()
    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        s = Spawner.start(native=native)
    finally:
        signal.signal(signal.SIGHUP, old)
    helpers = [s.pid, s.native_pid] if native else [s.pid]
    try:
        describe(s.spawn, tmp_path, pass_fd=False)  # up and answering
        for pid in helpers:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGPIPE):
                os.kill(pid, sig)
        for plain in (False, True):  # the full setup in the child, and a plain spawn
            before = plain_spawns(s)
            out = describe(s.spawn, tmp_path, pass_fd=not plain)
            assert went(s, before, plain)
            assert "SigBlk: 0000000000000000" in out and "SigIgn: 0000000000000000" in out
        for pid in helpers:
            with open(f"/proc/{pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f)
            blocked, ignored = int(fields["SigBlk"], 16), int(fields["SigIgn"], 16)
            assert blocked & (1 << (signal.SIGINT - 1)) and blocked & (1 << (signal.SIGTERM - 1))
            assert ignored == 0
    finally:
        s.close()


@pytest.mark.parametrize("req, status, step", [
    (ExecRequest(path="/nope", argv=["/nope", "x"]), EXIT_EXEC, "EXEC"),
    (ExecRequest(path="/bin/true", argv=["true"], working_directory="/nonexistent-dir"), EXIT_CHDIR, "CHDIR"),
    (ExecRequest(path="/bin/true", argv=["true"], user="no-such-user-here"), EXIT_USER, "USER"),
    (ExecRequest(path="/bin/true", argv=["true"], cgroup="/nonexistent-cgroup"), EXIT_CGROUP, "CGROUP"),
])
def test_setup_failures_are_the_exit_statuses_of_the_fork_path(helper, req, status, step):
    before = plain_spawns(helper)
    fast = run(helper.spawn, req)
    # a setup the Python helper sees fail is left to the full setup in the child; the
    # native helper's child fails itself, as the fork path's
    assert went(helper, before, plain=helper.native_sock is not None and req.user is None)
    assert fast == run(spawn, req)
    code, got, outcome = fast
    assert (code, got) == (os.CLD_EXITED, status)
    assert outcome.failure.step == step
    assert outcome.failure.messages()[1].startswith(f"Failed at step {step} spawning {req.path}: ")


def test_an_exec_failure_of_a_prepared_spawn_is_the_fork_paths(helper, tmp_path):
    garbage = tmp_path / "not-a-program"
    garbage.write_bytes(b"\x00\x01 neither ELF nor #!")
    garbage.chmod(0o755)
    req = ExecRequest(path=str(garbage), argv=[str(garbage)], nice=1)
    before = plain_spawns(helper)
    fast = run(helper.spawn, req)
    assert went(helper, before, plain=True)
    assert fast == run(spawn, req)
    code, status, outcome = fast
    assert (code, status, outcome.failure.step) == (os.CLD_EXITED, EXIT_EXEC, "EXEC")
    assert "Exec format error" in outcome.failure.messages()[0]


def test_exec_success_is_seen_on_the_error_pipe(helper):
    r, w = os.pipe2(os.O_CLOEXEC)
    child = helper.spawn(ExecRequest(path="/bin/sh", argv=["sh", "-c", "read x <&3"], pass_fds=(r,)))
    os.close(r)
    assert select.select([child.error_fd], [], [], 10)[0]
    assert wait_exec_outcome(child.error_fd, "/bin/sh").exec_succeeded
    os.close(w)  # EOF: the shell ends
    assert os.waitid(os.P_PID, child.pid, os.WEXITED).si_status == 1


def test_a_closed_helper_is_reported_for_the_fork_path():
    s = Spawner.start()
    s.close()
    with pytest.raises(SpawnerUnavailable):
        s.spawn(ExecRequest(path="/bin/true", argv=["true"]))


@pytest.mark.parametrize("native", [False, True], ids=["python-helper", "native-helper"])
def test_a_helper_that_died_is_reported_for_the_fork_path(native):
    if native:
        exec_helper.find_or_build()
    s = Spawner.start(native=native)
    dead = s.native_pid if native else s.pid  # the one a plain spawn goes to
    os.kill(dead, signal.SIGKILL)
    os.waitid(os.P_PID, dead, os.WEXITED)
    with pytest.raises(SpawnerUnavailable):
        s.spawn(ExecRequest(path="/bin/true", argv=["true"]))
    s.close()


def test_a_native_helper_that_cannot_run_is_reported_at_once_and_the_python_helper_goes_on(tmp_path):
    foreign = tmp_path / "sysvisor-exec-foreign"
    foreign.write_bytes(b"\x7fELF built for another machine")
    foreign.chmod(0o755)
    with pytest.raises(SpawnerUnavailable) as refused:
        Spawner.start(native=str(foreign))  # required: the caller hears why
    assert refused.value.native and "Exec format error" in str(refused.value)
    s = Spawner.start(native=False)
    try:
        with pytest.raises(SpawnerUnavailable) as refused:
            s.start_native(str(foreign))
        assert refused.value.native and s.native_sock is None
        before = plain_spawns(s)
        assert run(s.spawn, ExecRequest(path="/bin/true", argv=["true"]))[:2] == (os.CLD_EXITED, 0)
        assert went(s, before, plain=True) and s.native_spawns == 0
    finally:
        s.close()


def test_the_last_spawn_of_a_row_hands_the_cpu_to_the_helper(helper, monkeypatch):
    # the helper's wake-up queues it on the manager's CPU (a socket's sync wake-up); the
    # manager yields it the CPU after the request it will wait for, not after every one
    # (the earlier requests of a row are prepared while the helper clones)
    from sysvisor.daemon import spawner as spawner_mod

    yields = []
    monkeypatch.setattr(spawner_mod.os, "sched_yield", lambda: yields.append(1))
    for await_exec in (False, True):
        child = helper.collect(helper.submit(ExecRequest(path="/bin/true", argv=["true"]), await_exec=await_exec))
        wait_exec_outcome(child.error_fd, "/bin/true")
        os.waitid(os.P_PID, child.pid, os.WEXITED)
        assert len(yields) == int(await_exec)


def test_a_native_helper_that_died_with_spawns_in_flight_is_reported_once_and_replaced():
    exec_helper.find_or_build()
    s = Spawner.start(native=True)
    try:
        dead = s.native_pid
        os.kill(dead, signal.SIGSTOP)  # both requests wait in its socket
        pending = [s.submit(ExecRequest(path="/bin/true", argv=["true"])) for _ in range(2)]
        os.kill(dead, signal.SIGKILL)
        os.waitid(os.P_PID, dead, os.WEXITED)
        reports = []
        for ticket in pending:
            with pytest.raises(SpawnerUnavailable) as lost:
                s.collect(ticket)
            reports.append((lost.value.native, lost.value.told))
        assert reports == [(True, False), (True, True)]  # the Python helper is not affected
        assert s.native_sock is None and s.native_unavailable.startswith("the native exec helper ")
        assert run(s.spawn, ExecRequest(path="/bin/true", argv=["true"]))[:2] == (os.CLD_EXITED, 0)  # Python helper
        s.start_native()
        before = s.native_spawns
        assert run(s.spawn, ExecRequest(path="/bin/true", argv=["true"]))[:2] == (os.CLD_EXITED, 0)
        assert s.native_spawns == before + 1 and s.native_pid != dead
    finally:
        s.close()


def test_requests_the_native_helper_cannot_take_go_to_the_python_helper(helper, tmp_path):
    # what the native child does not do (passed fds, users, RootDirectory=, Type=idle) and what
    # os.execve() would refuse (a NUL, a '=' in a name: reported as the full setup reports it)
    plain = ExecRequest(path="/bin/true", argv=["true"])
    assert exec_helper.encode_request(plain, _plan(plain), 99) is not None
    for changes in (dict(pass_fds=(0,)), dict(user="root"), dict(root_directory="/"), dict(idle_fd=0),
                    dict(env={"A=B": "x"}), dict(argv=["tr\0ue"]), dict(argv=[""]), dict(stdin="tty"),
                    dict(limits={"NOSUCHLIMIT": (1, 1)})):
        req = ExecRequest(**{**vars(plain), **changes})
        assert exec_helper.encode_request(req, _plan(req), 99) is None, changes
    req = ExecRequest(path="/bin/sh", argv=["sh", "-c", "exit 0"], env={"A=B": "x"})
    before = helper.native_spawns
    fast = run(helper.spawn, req)
    assert helper.native_spawns == before
    assert fast == run(spawn, req) and fast[:2] == (os.CLD_EXITED, EXIT_EXCEPTION)


# ---------------------------------------------------------------------------------------
# cgroup placement


@pytest.fixture
def cgroup():
    try:
        c = CgroupContainment.open(f"sysvisor-test-spawner-{os.getpid()}-{next(_counter)}")
    except OSError as e:
        pytest.skip(f"no writable cgroup2 here: {e}")
    yield c
    for unit in os.listdir(c.base):
        if os.path.isdir(os.path.join(c.base, unit)):
            c.kill_all(unit, signal.SIGKILL)
            wait_until(lambda u=unit: c.is_empty(u))
            c.remove(unit)
    c.close()


def wait_until(cond, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def start_in(helper, c: CgroupContainment, unit: str, script: str) -> tuple[int, list[int]]:
    """`sh -c script` in the unit's cgroup through the helper; the script prints PIDs."""
    path = c.create(unit)
    r, w = os.pipe2(os.O_CLOEXEC)
    child = helper.spawn(ExecRequest(path="/bin/sh", argv=["sh", "-c", script], stdout=w, cgroup=path,
                                     clone_into_cgroup=c.born_inside_ok(unit), extra_cgroups=c.accounting_paths(unit)))
    os.close(w)
    assert wait_exec_outcome(child.error_fd, "/bin/sh").exec_succeeded
    data = b""
    while chunk := (os.read(r, 4096) if select.select([r], [], [], 10)[0] else b""):
        data += chunk
    os.close(r)
    return child.pid, [int(x) for x in data.split()]


def cgroup_of(pid: int) -> str:
    with open(f"/proc/{pid}/cgroup") as f:
        return next(line for line in f if line.startswith("0::"))[3:].strip()


def test_the_child_is_born_in_the_units_cgroup(helper, cgroup):
    main, (pid,) = start_in(helper, cgroup, "born.service", "echo $$; exec sleep 1000 >&-")
    assert main == pid
    assert cgroup.born_inside_ok("born.service")
    assert cgroup_of(pid) == cgroup.display_path("born.service")
    assert cgroup.pids("born.service") == [pid]
    # the v1 accounting cgroups (hybrid hosts) are joined by the helper after its answer
    for path in cgroup.accounting_paths("born.service"):
        assert wait_until(lambda p=path: str(pid) in open(os.path.join(p, "cgroup.procs")).read().split())
    cgroup.kill_all("born.service", signal.SIGKILL)
    assert os.waitid(os.P_PID, pid, os.WEXITED).si_status == signal.SIGKILL


def test_control_group_kill_reaches_the_grandchild_left_behind(helper, cgroup):
    # KillMode=control-group: the main process exits, its background child stays in the cgroup
    main, (grandchild,) = start_in(helper, cgroup, "leave.service", "sleep 1000 >/dev/null & echo $!")
    assert os.waitid(os.P_PID, main, os.WEXITED).si_status == 0
    assert cgroup.pids("leave.service") == [grandchild]
    killed = cgroup.kill_all("leave.service", signal.SIGKILL)
    assert [k.pid for k in killed] == [grandchild]
    assert wait_until(lambda: cgroup.is_empty("leave.service"))


def test_a_killed_cgroup_is_made_anew_before_a_process_is_cloned_into_it(helper, cgroup):
    # after cgroup.kill this kernel SIGKILLs whatever is cloned into that cgroup: the
    # containment stops offering it for CLONE_INTO_CGROUP until it has made it anew
    first, _ = start_in(helper, cgroup, "again.service", "echo $$; exec sleep 1000 >&-")
    cgroup.kill_all("again.service", signal.SIGKILL)
    assert not cgroup.born_inside_ok("again.service")
    assert os.waitid(os.P_PID, first, os.WEXITED).si_status == signal.SIGKILL
    assert wait_until(lambda: cgroup.is_empty("again.service"))
    second, _ = start_in(helper, cgroup, "again.service", "echo $$; exec sleep 1000 >&-")
    assert cgroup.born_inside_ok("again.service")
    assert cgroup.pids("again.service") == [second]
    cgroup.kill_all("again.service", signal.SIGTERM)
    assert os.waitid(os.P_PID, second, os.WEXITED).si_status == signal.SIGTERM


def test_a_killed_cgroup_still_populated_is_joined_by_a_write(helper, cgroup):
    first, (left,) = start_in(helper, cgroup, "busy.service", "sleep 1000 >/dev/null & echo $!")
    os.waitid(os.P_PID, first, os.WEXITED)
    os.kill(left, signal.SIGSTOP)  # still there when the next process starts
    cgroup._fresh.discard("busy.service")  # as after cgroup.kill by an earlier manager
    main, (pid,) = start_in(helper, cgroup, "busy.service", "echo $$; exec sleep 1000 >&-")
    assert not cgroup.born_inside_ok("busy.service")
    assert sorted(cgroup.pids("busy.service")) == sorted([left, pid])
    cgroup.kill_all("busy.service", signal.SIGKILL)
    assert os.waitid(os.P_PID, main, os.WEXITED).si_status == signal.SIGKILL


# the native helper answers once its child exec'd (exec_helper.c EXEC_WAIT_MSEC)


def _ended(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])


def _comm(pid: int) -> str:
    """The process's name: the helper's until its exec, the program's from the exec on. It is
    set inside execve(), whose close-on-exec files are released one after the other as it
    returns: the helper's pipe may wake it while the error pipe's end is still open."""
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


@contextlib.contextmanager
def _native_helper_and_frozen_cgroup(cgroup, exec_wait_msec: int | None = None):
    """A native helper, and a frozen cgroup (path) its children are born into: they cannot
    run, so cannot exec, until `_freeze(path, False)`. Skips without a cgroup2 freezer."""
    exec_helper.find_or_build()
    s = Spawner.start(native=False)
    s.start_native(exec_wait_msec=exec_wait_msec)
    path = cgroup.create("frozen.service")
    try:
        if not cgroup.born_inside_ok("frozen.service") or not os.path.exists(os.path.join(path, "cgroup.freeze")):
            pytest.skip("no cgroup2 freezer to be born into here")
        _freeze(path, True)
        yield s, path
    finally:
        s.close()


def _freeze(path: str, frozen: bool) -> None:
    with open(os.path.join(path, "cgroup.freeze"), "w") as f:
        f.write("1" if frozen else "0")


def test_the_native_helper_answers_once_its_child_has_execd(cgroup):
    # asked to (the last spawn of a row: the manager collects the answers right after it),
    # the helper answers once the child exec'd, so the child has the CPU the manager would
    # take; otherwise at once. Children born into a frozen cgroup cannot exec until thawed,
    # which shows both without timing anything: the bounded wait (2 ms in the manager,
    # exec_helper.c EXEC_WAIT_MSEC) is a minute here
    with _native_helper_and_frozen_cgroup(cgroup, exec_wait_msec=60_000) as (s, path):
        request = ExecRequest(path="/bin/true", argv=["true"], cgroup=path, clone_into_cgroup=True)
        at_once = s.collect(s.submit(request, await_exec=False))
        assert not _ended(at_once.error_fd)  # answered while its child cannot have exec'd
        pending = s.submit(request, await_exec=True)
        assert not select.select([s.native_sock], [], [], 0.2)[0]  # no answer while it cannot exec
        _freeze(path, False)
        waited = s.collect(pending)
        assert _comm(waited.pid) == "true"  # its exec came before the answer
        for child in (at_once, waited):
            assert wait_exec_outcome(child.error_fd, "/bin/true").exec_succeeded
            assert os.waitid(os.P_PID, child.pid, os.WEXITED).si_status == 0
        assert s.native_spawns == 2


def test_children_that_have_not_execd_keep_their_own_request_while_the_helper_serves_others(cgroup):
    # on x86-64 a child shares the helper's memory until its exec (exec_helper.c struct
    # spawn): children held before their exec (born into a frozen cgroup) must still exec
    # their own program, arguments and environment after the helper served other requests
    with _native_helper_and_frozen_cgroup(cgroup) as (s, path):
        held, free = [], []
        for i in range(6):
            held.append(s.spawn(ExecRequest(path="/bin/sh", argv=["sh", "-c", f'exit $((CODE + {i}))'], env={"CODE": str(10 * i)},
                                            cgroup=path, clone_into_cgroup=True, pid_variables=("SYSTEMD_EXEC_PID",))))
            # served meanwhile, with other strings of other lengths
            free.append(s.spawn(ExecRequest(path="/bin/sh", argv=["sh", "-c", 'exit $((X + ${#Y}))'], env={"X": str(i), "Y": "y" * (100 + i)})))
        for i, c in enumerate(free):
            assert os.waitid(os.P_PID, c.pid, os.WEXITED).si_status == i + 100 + i
        assert not any(_ended(c.error_fd) for c in held)  # still before their exec
        _freeze(path, False)
        for i, c in enumerate(held):
            assert wait_exec_outcome(c.error_fd, "/bin/sh").exec_succeeded
            assert os.waitid(os.P_PID, c.pid, os.WEXITED).si_status == 11 * i


def _vm_size_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmSize:"))


def test_the_native_helper_frees_what_each_spawn_needed_once_its_child_is_done():
    # each spawn's block (request, environment, a 132 KiB stack under CLONE_VM) is the child's
    # until its exec: 400 spawns must not leave 400 of them behind (~53 MiB of address space)
    exec_helper.find_or_build()
    s = Spawner.start(native=True)
    try:
        def spawn_and_reap(n: int) -> None:
            for i in range(n):
                child = s.collect(s.submit(ExecRequest(path="/bin/true", argv=["true"], env={"N": str(i)}),
                                           await_exec=i % 2 == 0))
                assert wait_exec_outcome(child.error_fd, "/bin/true").exec_succeeded
                os.waitid(os.P_PID, child.pid, os.WEXITED)

        spawn_and_reap(20)  # the stack pool and the allocator's arenas are made
        before = _vm_size_kib(s.native_pid)
        spawn_and_reap(400)
        assert s.native_spawns == 420
        assert _vm_size_kib(s.native_pid) - before < 8 * 1024
    finally:
        s.close()


def test_a_child_that_cannot_exec_yet_does_not_hold_the_native_helpers_answer(cgroup):
    # born into a frozen cgroup, the child cannot run until thawed: the helper answers
    # after its bounded wait all the same, and the next spawn is served
    with _native_helper_and_frozen_cgroup(cgroup) as (s, path):
        children = [s.spawn(ExecRequest(path="/bin/true", argv=["true"], cgroup=path, clone_into_cgroup=True))
                    for _ in range(2)]
        assert s.native_spawns == 2
        assert not any(_ended(c.error_fd) for c in children)  # frozen before their exec
        _freeze(path, False)
        for c in children:
            assert wait_exec_outcome(c.error_fd, "/bin/true").exec_succeeded
            assert os.waitid(os.P_PID, c.pid, os.WEXITED).si_status == 0
