"""The fast spawn path: a small helper process forks the units' processes for the manager.

Why not fork the manager
------------------------
`os.fork()` of the manager copies the page tables of a 30-60 MiB Python heap, and the child
then runs the executor's setup in Python, copying every page it touches; exec tears the copy
down again. That took 4-6 ms per spawn on a quiet machine and 20+ ms under load
(bench/bench_spawn.py, docs/benchmarks.md). A vfork-style `posix_spawn()` would be 0.5 ms,
but it can express neither of two things every unit needs:

* the unit's cgroup. Joining it by writing `cgroup.procs` (from the child, or by moving the
  manager in and out around the spawn) migrates a process, which takes the kernel's
  `cgroup_threadgroup_rwsem` for writing and, when no migration happened for a while, waits
  for an RCU grace period: 8-17 ms each on this machine. `clone3(CLONE_INTO_CGROUP)` creates
  the process inside the cgroup instead and costs nothing extra (glibc < 2.39 offers no
  posix_spawn attribute for it);
* `$SYSTEMD_EXEC_PID` (and `$WATCHDOG_PID`): the child's own PID in its environment, which
  only code running in the child can know.

So the fork happens in a helper: a fresh interpreter (~10 MiB: it imports only
`execsetup.py` and C modules; no dataclasses, no pickle, no enum-based `signal`/`socket`,
since clone3() copies its memory map and every page the child touches) started once with the
manager. For each spawn the manager sends it the resolved
`ExecRequest` and the file descriptors it names (SCM_RIGHTS), and the helper calls
`clone3(CLONE_PARENT | CLONE_INTO_CGROUP)`:

* `CLONE_PARENT` makes the new process the *manager's* child, exactly as after a fork of the
  manager: the manager's one reaper sees its exit, `getppid()` is the manager, and its
  exit signal is SIGCHLD (the helper's own);
* the child then runs the executor's own setup (`execsetup._child`: the same code, order and
  2xx exit statuses as the fork path; user and group look-ups were done by the manager), so
  the fast path is not a second implementation of the execution environment. For a plain
  spawn (`_OwnState`) the helper makes the process-wide part of that setup in itself around
  the clone and the child only runs its last steps (`execsetup.exec_prepared`). Everything
  the child inherits instead of setting (rlimits not named by Limit*=, nice without Nice=,
  session and process group before setsid(), capabilities, OOM score, v1 cgroups of other
  controllers) is the manager's, because the helper inherited it from the manager.

A plain spawn (no User=/Group=, RootDirectory=, passed fds, Type=idle: almost every
restart) goes to the native helper instead when it was built (exec_helper.c, started next
to this one): the same clone3() from a process of a few hundred KiB, whose child runs the
same steps in C (exec_helper.py says why and how it is kept the same).

The manager blocks only until the helper answers the PID (~0.3 ms). The v1 accounting
cgroups of a hybrid host (`ExecRequest.extra_cgroups`) are then joined by the helper, after
the answer: they are a migration with its grace period, and accounting only
(containment.py), so they are kept out of both the manager's and the service's way.

When the helper cannot be used (no clone3, e.g. a seccomp filter; no interpreter path; the
helper died; a request too large for one datagram) `SpawnerUnavailable` tells the caller to
fall back to `executor.spawn()`, the fork of the manager.
# spec: service-lifecycle.md §5, §8.3; ARCHITECTURE.md "a pidfd per tracked process"
"""

from __future__ import annotations

import array
import errno as errno_mod
import marshal
import os
import struct

import _signal
import _socket

from sysvisor.daemon.execsetup import (
    EXIT_EXCEPTION, RLIMITS, Prepared, _chdir, _child, _ChildError, _find_executable, child_process_name, exec_prepared,
    is_plain_spawn, rlimit_resource, rlimit_value, set_comm,
)

_SYS_CLONE3 = 435  # the same number on every architecture (asm-generic numbering)
_CLONE_PARENT = 0x00008000
_CLONE_INTO_CGROUP = 0x200000000
_CLONE_ARGS = struct.Struct("=11Q")  # struct clone_args, CLONE_ARGS_SIZE_VER2 (88 bytes)

_MAX_REQUEST = 200_000  # bytes: a datagram must fit the socket buffer
_MAX_FDS = 250  # SCM_MAX_FD is 253
_REPLY = struct.Struct("=iii")  # pid (> 0) or 0, errno, how: 0 full setup in the child, 1 prepared (_OwnState), 2 native
_NATIVE = 2
_HELPER_FD = 3
_TIMEOUT_SEC = 10.0  # a helper that does not answer is treated as dead

# what the child's setup reads of ExecRequest and of the manager's _Plan, sent with marshal
_REQUEST_FIELDS = ("path", "argv", "env", "working_directory", "root_directory", "umask", "nice", "limits",
                   "stdin", "stdout", "stderr", "pass_fds", "idle_fd", "new_session", "cgroup",
                   "clone_into_cgroup", "extra_cgroups", "pid_variables")
_PLAN_FIELDS = ("uid", "gid", "groups", "home", "failure")


_HELPER_NAME = "sysvisor-spawn"  # what ps and top show; each child renames itself

_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from sysvisor.daemon.spawner import serve; serve()"


class SpawnerUnavailable(Exception):
    """The helper cannot take this spawn; use `executor.spawn()` (the fork path).

    `permanent`: no helper will do here (no clone3); else a new helper may be started.
    `native`: only the native helper is gone (`Spawner.start_native()` may start another);
    the Python helper still takes every spawn. `told`: an earlier request reported it."""

    def __init__(self, message: str, permanent: bool = False, native: bool = False, told: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.native = native
        self.told = told


class Spawner:
    """The manager's end of the helper. `spawn(req)` is a drop-in for `executor.spawn(req)`."""

    def __init__(self, sock: _socket.socket, pid: int) -> None:
        self.sock = sock
        self.pid = pid  # the helper; it exits by itself when this socket closes
        # the native helper (exec_helper.c) for plain spawns, if it runs: its socket and PID
        self.native_sock: _socket.socket | None = None
        self.native_pid: int | None = None
        self.native_unavailable: str | None = None  # why no native helper runs, if one was wanted
        self.prepared_spawns = 0  # answered spawns whose child only had to exec (_OwnState or native)
        self.native_spawns = 0  # … of which the native helper made

    @classmethod
    def start(cls, python: str | None = None, native: bool | str | None = None) -> Spawner:
        """Start the helper (returns at once; it answers its first request once imported),
        and the native helper when it was built (exec_helper.py; `native`: None = if built
        and $SYSVISOR_EXEC_HELPER is not 0, False = never, True or a binary's path =
        required).

        Raises SpawnerUnavailable when no interpreter can be started."""
        import sys

        python = python or sys.executable
        if not python:
            raise SpawnerUnavailable("no interpreter path (sys.executable is empty)", permanent=True)
        import sysvisor

        source = os.path.dirname(os.path.dirname(os.path.abspath(sysvisor.__file__)))
        sock, pid = _start_helper(python, [python, "-I", "-S", "-c", _BOOT, source])
        spawner = cls(sock, pid)
        if native is None:
            native = os.environ.get("SYSVISOR_EXEC_HELPER", "1") != "0"
            required = False
        else:
            required = native
        if native:
            try:
                spawner.start_native(native if isinstance(native, str) else None)
            except SpawnerUnavailable as e:
                if required:
                    spawner.close()
                    raise
                spawner.native_unavailable = str(e)
        return spawner

    def start_native(self, binary: str | None = None, exec_wait_msec: int | None = None) -> None:
        """Start the native helper (`binary`, or the one built from the current source) for
        the plain spawns from now on; `exec_wait_msec`: how long it waits for a child's exec
        when asked to (default 2 ms, exec_helper.c). Raises SpawnerUnavailable(native=True)
        if it cannot run (not built, not executable here)."""
        from sysvisor.daemon.exec_helper import find

        binary = binary or find()
        if binary is None:
            raise SpawnerUnavailable("the native exec helper is not built", native=True)
        try:
            argv = [binary] if exec_wait_msec is None else [binary, str(int(exec_wait_msec))]
            self.native_sock, self.native_pid = _start_helper(binary, argv)
        except SpawnerUnavailable as e:
            raise SpawnerUnavailable(str(e), native=True) from None
        self.native_unavailable = None

    def spawn(self, req):
        """Start `req` (an ExecRequest) through the helper; `executor.spawn()`'s contract:
        returns a SpawnedProcess.

        Raises OSError for a failure of the clone itself (the unit's Result is then
        `resources`, as for a failed fork) and SpawnerUnavailable when the fork path must
        be used instead. # spec: service-lifecycle.md §3 ("A spawn error …")
        """
        return self.collect(self.submit(req, await_exec=True))

    def submit(self, req, await_exec: bool = False) -> tuple[_socket.socket, int]:
        """Send `req` to the helper without waiting for its answer; returns what `collect()`
        takes. Requests are answered in the order sent, so several can be in flight: the
        helper clones one while the manager prepares the next (one engine turn's spawns).
        The fds of `req` travel with the message: the caller may close its own copies once
        `collect()` has answered. `await_exec`: the native helper answers once the child
        exec'd (for the last spawn before the caller waits: the child then has the CPU the
        caller would take). Raises as `spawn()`."""
        from sysvisor.daemon.executor import _plan

        if self.sock.fileno() < 0:
            raise SpawnerUnavailable("the spawn helper is gone")
        plan = _plan(req)
        rfd, wfd = os.pipe2(os.O_CLOEXEC)
        try:
            native = None
            if self.native_sock is not None:
                from sysvisor.daemon.exec_helper import encode_request

                native = encode_request(req, plan, wfd, await_exec)
            if native is not None:
                sock, (payload, fds) = self.native_sock, native
            else:
                sock = self.sock
                given = [f for f in (req.stdin, req.stdout, req.stderr, *req.pass_fds, req.idle_fd) if isinstance(f, int)]
                fds = list(dict.fromkeys([wfd, *given]))
                fields = {name: getattr(req, name) for name in _REQUEST_FIELDS}
                fields["limits"] = dict(fields["limits"])
                try:
                    payload = marshal.dumps((fields, tuple(getattr(plan, name) for name in _PLAN_FIELDS), fds))
                except ValueError:  # something marshal cannot carry: the fork path can
                    raise SpawnerUnavailable("request not transferable to the spawn helper") from None
            if len(payload) > _MAX_REQUEST or len(fds) > _MAX_FDS:
                raise SpawnerUnavailable("request too large for the spawn helper")
            try:
                sock.sendmsg([payload], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, array.array("i", fds))])
            except (OSError, TimeoutError) as e:
                raise self._lost(sock, f"stopped answering: {e}") from None
            if await_exec:
                # A socket's wake-up is a "sync" one: the kernel queues the helper on this
                # CPU, expecting the sender to sleep, and it waited ~0.2 ms for the journal
                # writes that come before collect() while the other CPU idled (perf sched:
                # 30 of 31 restarts). Hand it the CPU now; its child lands on the idle one.
                os.sched_yield()
        except BaseException:
            os.close(rfd)
            raise
        finally:
            os.close(wfd)  # in flight with the message; the child holds the only write end: EOF at exec
        return sock, rfd

    def collect(self, pending):
        """The answer to the oldest request `submit()` sent (`pending`: what it returned,
        answered in order by each helper): a SpawnedProcess."""
        from sysvisor.daemon.executor import SpawnedProcess

        sock, rfd = pending
        try:
            try:
                reply = sock.recv(_REPLY.size)
            except (OSError, TimeoutError) as e:
                raise self._lost(sock, f"stopped answering: {e}") from None
            if len(reply) != _REPLY.size:
                raise self._lost(sock, "exited")
            pid, err, how = _REPLY.unpack(reply)
            if pid <= 0 and err == errno_mod.EPROTO and sock is self.native_sock:
                raise self._lost(sock, "did not understand a request")  # cannot be: its name is its source's checksum
        except BaseException:
            os.close(rfd)
            raise
        if pid > 0:
            self.prepared_spawns += how > 0
            self.native_spawns += how == _NATIVE
        if pid <= 0:
            os.close(rfd)
            if err in (errno_mod.ENOSYS, errno_mod.EPERM, errno_mod.EINVAL):
                self.close()  # no clone3 here (old kernel, seccomp): never again
                raise SpawnerUnavailable(f"clone3() is not available: {os.strerror(err)}", permanent=True)
            raise OSError(err, os.strerror(err))
        os.set_blocking(rfd, False)
        return SpawnedProcess(pid, rfd)

    def _lost(self, sock: _socket.socket, what: str) -> SpawnerUnavailable:
        """A helper failed: close it; the SpawnerUnavailable to raise (native=True if only
        the native one is gone: the Python helper goes on)."""
        if sock is not self.sock:  # a native helper's
            if sock is self.native_sock:
                self.native_sock.close()
                self.native_sock = self.native_pid = None
                self.native_unavailable = f"the native exec helper {what}"
                return SpawnerUnavailable(self.native_unavailable, native=True)
            # one that was already lost, with more requests in flight: told once is enough
            return SpawnerUnavailable(f"the native exec helper {what}", native=True, told=True)
        self.close()
        return SpawnerUnavailable(f"the spawn helper {what}")

    def close(self) -> None:
        """Close our ends: the helpers see EOF and exit (the manager's reaper reaps them)."""
        self.sock.close()
        if self.native_sock is not None:
            self.native_sock.close()


def _start_helper(path: str, argv: list[str]) -> tuple[_socket.socket, int]:
    """Fork and exec a helper with its end of a new socket pair as fd 3: (our end, PID).

    The helper inherits the manager's environment (same locale, so the same encoding of
    argv and environment), stdio ("inherit" means these fds), limits, nice, session.
    A fork + exec, once, rather than posix_spawn(): glibc's posix_spawn sets its two
    internal signals (32, 33) to SIG_IGN in the new process, and no later sigaction() can
    reset them, so every unit would inherit them ignored. After exec they are at SIG_DFL
    like every caught signal; all signals stay blocked, in the helper for good."""
    ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
    # a failed exec (a binary built for another machine, no permission) is reported on this
    # close-on-exec pipe: the caller learns it now, not at the first spawn
    failed_r, failed_w = os.pipe2(os.O_CLOEXEC)
    old_mask = _signal.pthread_sigmask(_signal.SIG_BLOCK, _signal.valid_signals())
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - execs at once
            try:
                os.dup2(theirs.fileno(), _HELPER_FD)
                os.set_inheritable(_HELPER_FD, True)
                os.execv(path, argv)
            except OSError as e:
                os.write(failed_w, str(e.errno or errno_mod.EIO).encode())
            finally:
                os._exit(127)
    except OSError as e:
        ours.close()
        raise SpawnerUnavailable(f"cannot start the spawn helper {path}: {e.strerror or e}", permanent=True) from None
    finally:
        _signal.pthread_sigmask(_signal.SIG_SETMASK, old_mask)
        theirs.close()
        os.close(failed_w)
    try:
        failed = os.read(failed_r, 16)  # EOF at exec
    finally:
        os.close(failed_r)
    if failed:
        ours.close()
        err = int(failed) if failed.isdigit() else errno_mod.EIO
        raise SpawnerUnavailable(f"cannot start the spawn helper {path}: {os.strerror(err)}", permanent=True)
    ours.settimeout(_TIMEOUT_SEC)
    return ours, pid


# ---------------------------------------------------------------------------------------
# the helper process


class _Fields:
    """A request or plan in the helper: attribute access to what marshal carried."""

    def __init__(self, names, values) -> None:
        self.__dict__.update(zip(names, values))


def serve(fd: int = _HELPER_FD) -> None:  # pragma: no cover - runs in the helper process
    """The helper's loop: one request, one clone3(), one answer, until the manager is gone."""
    # Nothing of the manager's but this socket and the standard streams: every fd of the
    # helper's own is close-on-exec, so a prepared child needs no fd clean-up (_OwnState).
    os.closerange(fd + 1, 1 << 20)
    os.set_inheritable(fd, False)
    sock = _socket.socket(fileno=fd)
    # Every signal stays blocked here, as the manager blocked them across fork + exec: a
    # Ctrl-C or a signal to the manager's process group cannot take the helper down before
    # the manager has stopped its units (it stays pending, never delivered). So every
    # disposition can be SIG_DFL (Python's SIG_IGN of SIGPIPE/SIGXFSZ, its SIGINT handler,
    # ignores inherited from whoever started the manager): a child is born with exactly the
    # dispositions exec should leave it, and with every signal blocked until it resets its
    # mask itself; nothing is switched around each clone3().
    for sig in _signal.valid_signals():
        if sig not in (_signal.SIGKILL, _signal.SIGSTOP) and _signal.getsignal(sig) != _signal.SIG_DFL:
            _signal.signal(sig, _signal.SIG_DFL)
    clone = _Clone3()
    set_comm(_HELPER_NAME)
    try:
        own = _OwnState()
    except OSError:
        own = None  # e.g. no /dev/null, an unreadable working directory: every child sets itself up
    buffer = bytearray(_MAX_REQUEST + 4096)  # one allocation, not one per request
    ancillary = _socket.CMSG_SPACE((_MAX_FDS + 3) * 4)
    while True:
        try:
            size, anc, _flags, _addr = sock.recvmsg_into([buffer], ancillary, _socket.MSG_CMSG_CLOEXEC)
        except OSError:
            break
        fds = array.array("i")
        for level, kind, data in anc:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
        if not size and not fds:
            break  # the manager closed its end (exit, crash, re-exec)
        pid, err, extra, prepared = _spawn_one(memoryview(buffer)[:size], list(fds), clone, own)
        try:
            sock.send(_REPLY.pack(pid, err, prepared))
        except OSError:
            break
        if extra:  # v1 accounting cgroups (hybrid hosts): best effort, after the answer
            number = str(pid).encode()
            for path in extra:
                try:
                    procs = os.open(path + "/cgroup.procs", os.O_WRONLY | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    os.write(procs, number)
                except OSError:
                    pass
                finally:
                    os.close(procs)
    os._exit(0)


def _spawn_one(payload, fds: list[int], clone: _Clone3,
               own: _OwnState | None) -> tuple[int, int, tuple[str, ...], int]:  # pragma: no cover
    cgroup_fd = None
    prepared = None
    try:
        fields, plan_values, numbers = marshal.loads(payload)
        if len(numbers) != len(fds):
            return 0, errno_mod.EBADF, (), 0
        ours = dict(zip(numbers, fds))  # the manager's fd numbers → ours
        wfd = ours[numbers[0]]
        for name in ("stdin", "stdout", "stderr", "idle_fd"):
            if isinstance(fields[name], int):
                fields[name] = ours[fields[name]]
        fields["pass_fds"] = tuple(ours[f] for f in fields["pass_fds"])
        extra = tuple(fields["extra_cgroups"])
        fields["extra_cgroups"] = ()  # joined by the helper after its answer
        plan = _Fields(_PLAN_FIELDS, plan_values)
        if fields["cgroup"] and fields["clone_into_cgroup"]:
            try:
                cgroup_fd = os.open(fields["cgroup"], os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError:
                cgroup_fd = None  # the child tries cgroup.procs and reports 219/CGROUP
        inside = cgroup_fd is not None
        try:
            if own is not None and (inside or not fields["cgroup"]):
                prepared = own.prepare(fields, plan)
            pid, err = clone.call(_CLONE_PARENT | (_CLONE_INTO_CGROUP if inside else 0), cgroup_fd or 0)
            if pid < 0 and inside:
                # CLONE_INTO_CGROUP refused (kernel < 5.7, no permission on the common
                # ancestor, a domain-invalid cgroup): the child joins by cgroup.procs instead
                inside = False
                if prepared is not None:
                    own.restore()
                    prepared = None
                pid, err = clone.call(_CLONE_PARENT, 0)
            if pid == 0:
                try:
                    if prepared is not None:
                        exec_prepared(prepared, wfd)
                    if inside:
                        fields["cgroup"] = None  # born there
                    _child(_Fields(fields.keys(), fields.values()), plan, wfd, ())
                finally:
                    os._exit(EXIT_EXCEPTION)
        finally:
            if prepared is not None:
                own.restore()
        return (pid, 0, extra, prepared is not None) if pid > 0 else (0, err, (), 0)
    except Exception as e:  # noqa: BLE001 - a bad request must not end the helper
        return 0, getattr(e, "errno", None) or errno_mod.EINVAL, (), 0
    finally:
        for f in fds:
            os.close(f)
        if cgroup_fd is not None:
            os.close(cgroup_fd)


class _OwnState:
    """A spawn prepared in the helper itself: what a child inherits instead of setting.

    A child of clone3() without CLONE_VM copies the helper's memory map; every page its
    Python setup writes is then copied, and exec tears the copy down: the setup of
    `execsetup._child()` cost ~0.6 ms per spawn (bench/bench_daemon.py). Standard streams,
    umask, working directory and process name are per process and inherited, and finding the
    executable has no effect on the process, so the helper sets them in itself around the
    clone3() and restores its own afterwards; the child only resets its signal mask, starts
    its session, sets Nice=/Limit*= and execs (`execsetup.exec_prepared()`).

    Only for the common case: no User=/Group=/SupplementaryGroups=, RootDirectory=, passed
    fds, Type=idle wait, cgroup.procs join, or a setup the helper sees fail (chdir, lookup of
    the executable) — the full setup in the child reports those with systemd's order and exit
    statuses. Every fd of the helper's own is close-on-exec, and 0-2 are always open, so no
    received fd is ever a standard stream's number."""

    def __init__(self) -> None:
        import fcntl
        import resource

        for target in (0, 1, 2):  # closed in the manager: /dev/null, as "inherit" would give
            try:
                os.fstat(target)
            except OSError:
                null = os.open("/dev/null", os.O_RDWR)
                if null != target:
                    os.dup2(null, target)
                    os.close(null)
                os.set_inheritable(target, True)
        self.stdio = [fcntl.fcntl(target, fcntl.F_DUPFD_CLOEXEC, 3) for target in (0, 1, 2)]
        self.null = {os.O_RDONLY: os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC),
                     os.O_WRONLY: os.open("/dev/null", os.O_WRONLY | os.O_CLOEXEC)}
        self.cwd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self.umask = os.umask(0o022)
        os.umask(self.umask)
        self.limits = {res: resource.getrlimit(res) for res in set(RLIMITS.values())}
        self._changed: list[int] = []
        self.broken = False  # a restore failed: the helper's own state is no longer known

    def prepare(self, fields: dict, plan: _Fields):  # pragma: no cover - runs in the helper
        """Set the helper up as the child of `fields` would set itself up; an
        `execsetup.Prepared` for the rest, or None (nothing changed) for the full setup."""
        if self.broken or not is_plain_spawn(plan, fields["root_directory"], fields["pass_fds"], fields["idle_fd"]):
            return None
        streams = []
        for target, spec, flags in ((0, fields["stdin"], os.O_RDONLY), (1, fields["stdout"], os.O_WRONLY),
                                    (2, fields["stderr"], os.O_WRONLY)):
            if isinstance(spec, int):
                streams.append((spec, target))
            elif spec == "null":
                streams.append((self.null[flags], target))
            elif spec != "inherit":
                return None
        limits = []
        for name, (soft, hard) in fields["limits"].items():
            res = rlimit_resource(name)
            if res is None:
                return None
            if (rlimit_value(soft), rlimit_value(hard)) != self.limits[res]:
                limits.append((name, (soft, hard)))
        try:
            _chdir(fields["working_directory"], plan.home)
        except _ChildError:
            return None  # cwd unchanged
        self._changed = []
        try:
            executable = _find_executable(fields["path"])
            for source, target in streams:
                self._changed.append(target)
                os.dup2(source, target)  # inheritable
            os.umask(fields["umask"])
            set_comm(child_process_name(fields["path"]))
        except (_ChildError, OSError):
            self.restore()
            return None
        return Prepared(fields["new_session"], fields["nice"], limits, executable, fields["argv"], dict(fields["env"]),
                        fields["pid_variables"])

    def restore(self) -> None:  # pragma: no cover - runs in the helper
        """The helper's own streams, umask, working directory and name again. Never raises:
        it runs after the clone, whose child must still be answered; a step that fails
        (it cannot, short of the kernel refusing dup2/fchdir of fds we hold) ends the
        prepared spawns, and a unit's stream still open here is closed."""
        changed, self._changed = self._changed, []
        os.umask(self.umask)
        set_comm(_HELPER_NAME)
        for target in changed:
            try:
                os.dup2(self.stdio[target], target)
            except OSError:
                self.broken = True
                try:
                    os.dup2(self.null[os.O_WRONLY if target else os.O_RDONLY], target)
                except OSError:
                    pass
        try:
            os.fchdir(self.cwd)
        except OSError:
            self.broken = True


class _Clone3:
    """clone3(2) without CLONE_VM: a fork that returns twice, into Python, like os.fork().

    Called through a PyDLL (the GIL stays held across the call), in a single-threaded
    process, with every signal blocked: the child has nothing of CPython's or glibc's to
    repair that os.fork() would have repaired (no other thread, no lock held), and it only
    runs the executor's setup and exec()s or _exit()s."""

    def __init__(self) -> None:
        import ctypes

        self._ctypes = ctypes
        libc = ctypes.PyDLL(None, use_errno=True)
        self._syscall = libc.syscall
        self._syscall.restype = ctypes.c_long

    def call(self, flags: int, cgroup_fd: int) -> tuple[int, int]:  # pragma: no cover
        """(pid, 0) in the parent, (0, 0) in the child, (-1, errno) on failure."""
        ctypes = self._ctypes
        # with CLONE_PARENT the kernel takes the exit signal from the caller (SIGCHLD, the
        # helper was forked) and refuses any other value with EINVAL
        exit_signal = 0 if flags & _CLONE_PARENT else _signal.SIGCHLD
        args = ctypes.create_string_buffer(
            _CLONE_ARGS.pack(flags, 0, 0, 0, exit_signal, 0, 0, 0, 0, 0, cgroup_fd), _CLONE_ARGS.size)
        pid = self._syscall(ctypes.c_long(_SYS_CLONE3), args, ctypes.c_size_t(_CLONE_ARGS.size))
        if pid < 0:
            return -1, ctypes.get_errno()
        return pid, 0
