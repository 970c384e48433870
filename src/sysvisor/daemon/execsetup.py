"""What a new process does between fork and exec, in systemd's order, until execve().

Shared by both spawn paths: `executor.spawn()` (a fork of the manager) and the spawn helper
(`spawner.py`, a clone3() from a small process). The helper imports only this module, so it
stays small (its clone3() copies its memory map); hence `_signal` rather than `signal`, and
no dataclasses: `req` and `plan` only need the attributes read here (an `ExecRequest` and a
`_Plan` in the manager, plain namespaces in the helper).

Every failure ends the child with systemd's exit status (200 CHDIR, 203 EXEC, 205 LIMITS,
216 GROUP, 217 USER …) after one record on the error pipe: `status<TAB>errno<TAB>reason`.
# spec: service-lifecycle.md §5, §8.3
"""

from __future__ import annotations

import ctypes
import errno as errno_mod
import fcntl
import os
import resource
import select
import stat
from collections.abc import Iterable

import _signal

TYPE_CHECKING = False  # not typing's: importing typing would grow the helper
if TYPE_CHECKING:
    from sysvisor.daemon.executor import ExecRequest, _Plan

# Plain program names are looked up here, never in the unit's $PATH. # spec: §5.1
EXEC_SEARCH_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin")

# systemd's exit statuses for failures before exec. # spec: service-lifecycle.md §8.3
EXIT_EXCEPTION = 255
EXIT_CHDIR = 200
EXIT_NICE = 201
EXIT_FDS = 202
EXIT_EXEC = 203
EXIT_LIMITS = 205
EXIT_SIGNAL_MASK = 207
EXIT_STDIN = 208
EXIT_STDOUT = 209
EXIT_CHROOT = 210
EXIT_GROUP = 216
EXIT_USER = 217
EXIT_CGROUP = 219
EXIT_SETSID = 220
EXIT_STDERR = 222
EXIT_NAMESPACE = 226

# the step names of "Failed at step %s spawning …" # systemd: exit_status_to_string()
EXIT_STEP = {
    EXIT_CHDIR: "CHDIR", EXIT_NICE: "NICE", EXIT_FDS: "FDS", EXIT_EXEC: "EXEC",
    EXIT_LIMITS: "LIMITS", EXIT_SIGNAL_MASK: "SIGNAL_MASK", EXIT_STDIN: "STDIN",
    EXIT_STDOUT: "STDOUT", EXIT_CHROOT: "CHROOT", EXIT_GROUP: "GROUP", EXIT_USER: "USER",
    EXIT_CGROUP: "CGROUP", EXIT_SETSID: "SETSID", EXIT_STDERR: "STDERR",
    EXIT_NAMESPACE: "NAMESPACE",
    EXIT_EXCEPTION: "EXCEPTION",
}

# Limit*= names → RLIMIT_* (systemd: rlimit_table[]); values beyond are infinity.
RLIMITS = {
    "CPU": resource.RLIMIT_CPU, "FSIZE": resource.RLIMIT_FSIZE, "DATA": resource.RLIMIT_DATA,
    "STACK": resource.RLIMIT_STACK, "CORE": resource.RLIMIT_CORE, "RSS": resource.RLIMIT_RSS,
    "NOFILE": resource.RLIMIT_NOFILE, "AS": resource.RLIMIT_AS, "NPROC": resource.RLIMIT_NPROC,
    "MEMLOCK": resource.RLIMIT_MEMLOCK, "LOCKS": getattr(resource, "RLIMIT_LOCKS", 10),
    "SIGPENDING": resource.RLIMIT_SIGPENDING, "MSGQUEUE": resource.RLIMIT_MSGQUEUE,
    "NICE": resource.RLIMIT_NICE, "RTPRIO": resource.RLIMIT_RTPRIO,
    "RTTIME": resource.RLIMIT_RTTIME,
}

Stdio = int | str  # an fd to dup2, or "null" / "inherit" (keep the daemon's own fd)

IDLE_TIMEOUT_SEC = 5.0  # systemd: IDLE_TIMEOUT_USEC


def child_process_name(path: str) -> str:
    """`(name)` as systemd renames the child before exec: the last 8 characters of the
    program's file name, so it fits in 10 (`(nope)`, `(suchprog)` for `nosuchprog`).
    It is the journal identifier of the child's own failure lines.
    # systemd: rename_process_from_path(); observed in oracle-257.json
    """
    name = os.path.basename(path.rstrip("/")) or "..."
    return f"({name[-8:]})"


class _ChildError(Exception):
    def __init__(self, exit_status: int, err: int, reason: str):
        super().__init__(reason)
        self.exit_status = exit_status
        self.errno = err
        self.reason = reason


# ---------------------------------------------------------------------------------------
# child side (runs between fork and exec; must only os._exit)


def _child(req: ExecRequest, plan: _Plan, wfd: int, reset_signals: Iterable[int] | None = None) -> None:  # pragma: no cover
    """Set up and exec `req` in a freshly forked child; never returns.

    `reset_signals`: the signals whose disposition is not SIG_DFL in the forking process
    (None: all of them, for a fork of the manager, whose handlers are unknown here)."""
    pipe = [wfd]  # the setup moves the error pipe; it updates this cell
    _until_exec(lambda: _setup_and_exec(req, plan, pipe, reset_signals), pipe)


def _until_exec(setup, pipe: list[int]) -> None:  # pragma: no cover
    """Run `setup`, which ends in execve(); if it fails, one record on the error pipe
    `pipe[0]` and _exit() with its systemd exit status. Never returns."""
    status = EXIT_EXCEPTION
    try:
        setup()
    except _ChildError as e:
        status = e.exit_status
        _report(pipe[0], e.exit_status, e.errno, e.reason)
    except BaseException as e:  # noqa: BLE001 - nothing may escape a forked child
        _report(pipe[0], EXIT_EXCEPTION, errno_mod.EINVAL, f"Internal error before exec: {e!r}")
    os._exit(status)


def _report(wfd: int, status: int, err: int, reason: str) -> None:  # pragma: no cover
    try:
        os.write(wfd, f"{status}\t{err}\t{reason}\n".encode("utf-8", "replace"))
    except OSError:
        pass


def _fail(status: int, e: OSError | int, reason: str) -> _ChildError:
    err = e if isinstance(e, int) else (e.errno or errno_mod.EIO)
    return _ChildError(status, err, f"{reason}: {os.strerror(err)}")


def _setup_and_exec(req: ExecRequest, plan: _Plan, pipe: list[int],
                    reset_signals: Iterable[int] | None = None) -> None:  # pragma: no cover
    wfd = original = pipe[0]
    set_comm(child_process_name(req.path))

    # 1. signals: the daemon's handlers, ignores (SIGPIPE!) and mask must not leak
    try:
        _signal.set_wakeup_fd(-1)
    except (ValueError, OSError):
        pass
    for sig in range(1, _signal.NSIG) if reset_signals is None else reset_signals:
        if sig in (_signal.SIGKILL, _signal.SIGSTOP):
            continue
        try:
            _signal.signal(sig, _signal.SIG_DFL)
        except (OSError, ValueError, RuntimeError):
            pass
    _reset_signal_mask()

    # 2. park the error pipe and every fd we were given above all targets (0..2, 3..n),
    #    so no dup2 below can clobber a source that is still needed
    given = [f for f in (req.stdin, req.stdout, req.stderr, *req.pass_fds, req.idle_fd) if isinstance(f, int)]
    top = max([3 + len(req.pass_fds), wfd, *given]) + 1
    wfd = pipe[0] = fcntl.fcntl(wfd, fcntl.F_DUPFD_CLOEXEC, top)
    os.close(original)
    parked_stdio: list[Stdio] = []
    for spec, status, what in ((req.stdin, EXIT_STDIN, "standard input"),
                               (req.stdout, EXIT_STDOUT, "standard output"),
                               (req.stderr, EXIT_STDERR, "standard error")):
        if isinstance(spec, int):
            try:
                spec = fcntl.fcntl(spec, fcntl.F_DUPFD_CLOEXEC, top)
            except OSError as e:
                raise _fail(status, e, f"Failed to set up {what}") from None
        parked_stdio.append(spec)
    try:
        parked_pass = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, top) for fd in req.pass_fds]
        parked_idle = fcntl.fcntl(req.idle_fd, fcntl.F_DUPFD_CLOEXEC, top) if req.idle_fd is not None else None
    except OSError as e:
        raise _fail(EXIT_FDS, e, "Failed to duplicate passed file descriptors") from None

    # 3. own cgroup first, so everything below is accounted to the unit
    if req.cgroup:
        try:
            with open(os.path.join(req.cgroup, "cgroup.procs"), "w") as f:
                f.write("0\n")
        except OSError as e:
            raise _fail(EXIT_CGROUP, e, f"Failed to attach to cgroup {req.cgroup}") from None
    for extra in req.extra_cgroups:
        try:
            with open(os.path.join(extra, "cgroup.procs"), "w") as f:
                f.write("0\n")
        except OSError:
            pass  # accounting only

    # 4. own session and process group (the unit's kill target without cgroups)
    if req.new_session:
        _new_session()

    if plan.failure:
        status, err, reason = plan.failure
        raise _ChildError(status, err, reason)

    # 5. standard input/output/error  # systemd: setup_input(), setup_output()
    _setup_stdio(parked_stdio[0], 0, os.O_RDONLY, EXIT_STDIN, "standard input")
    _setup_stdio(parked_stdio[1], 1, os.O_WRONLY, EXIT_STDOUT, "standard output")
    _setup_stdio(parked_stdio[2], 2, os.O_WRONLY, EXIT_STDERR, "standard error")

    # 6. passed fds to 3.., everything else closed  # systemd: close_remaining_fds()
    try:
        _arrange_fds(parked_pass, wfd, parked_idle)
    except OSError as e:
        raise _fail(EXIT_FDS, e, "Failed to close unwanted file descriptors") from None

    os.umask(req.umask)

    _set_nice(req.nice)
    _set_limits(req.limits.items())

    if req.root_directory:
        # systemd 257 sets up a mount namespace for RootDirectory= and reports a failure as
        # 226/NAMESPACE, also for `+` commands (oracle3-257.json); sysvisor only chroots
        # (no API file systems are mounted inside).
        try:
            os.chroot(req.root_directory)
        except OSError as e:
            raise _fail(EXIT_NAMESPACE, e,
                        f"Failed to set up mount namespacing: {req.root_directory}") from None

    # 7. credentials: groups first, while we may still change them  # systemd: enforce_*()
    if plan.groups is not None:
        try:
            os.setgroups(list(plan.groups))
        except OSError as e:
            raise _fail(EXIT_GROUP, e, "Failed to set up supplementary groups") from None
    if plan.gid is not None:
        try:
            os.setresgid(plan.gid, plan.gid, plan.gid)
        except OSError as e:
            raise _fail(EXIT_GROUP, e, f"Failed to change GID to {plan.gid}") from None
    if plan.uid is not None:
        try:
            os.setresuid(plan.uid, plan.uid, plan.uid)
        except OSError as e:
            raise _fail(EXIT_USER, e, f"Failed to change UID to {plan.uid}") from None

    # 8. working directory, as the target user  # systemd: apply_working_directory()
    _chdir(req.working_directory, plan.home)

    # 9. Type=idle: wait until the manager has no more jobs, 5 s at most  # systemd: idle_pipe
    if parked_idle is not None:
        try:
            select.select([parked_idle], [], [], IDLE_TIMEOUT_SEC)
        except OSError:
            pass
        os.close(parked_idle)

    # 10. find and exec  # systemd: find_executable_full(), execve()
    _exec(_find_executable(req.path), req.argv, dict(req.env), req.pid_variables)


def is_plain_spawn(plan, root_directory, pass_fds, idle_fd) -> bool:
    """A spawn whose process-wide setup a parent can make for its child (spawner.py's
    `_OwnState`, the native helper): no user or group to switch to, no failure found before
    the fork to report, no RootDirectory=, no passed fds, no Type=idle wait.
    # spec: service-lifecycle.md §5"""
    return (plan.uid is None and plan.gid is None and plan.groups is None and not plan.failure
            and not root_directory and not pass_fds and idle_fd is None)


def exec_prepared(prepared: Prepared, wfd: int) -> None:  # pragma: no cover
    """The child of a spawn whose process-wide settings its parent made in itself before
    cloning (spawner.py: standard streams, umask, working directory, process name, signal
    dispositions; the executable found): only what the new process must do itself remains,
    in `_setup_and_exec()`'s order and with its exit statuses. Never returns."""
    _until_exec(lambda: _exec_prepared_steps(prepared), [wfd])


def _exec_prepared_steps(prepared: Prepared) -> None:  # pragma: no cover
    _reset_signal_mask()
    if prepared.new_session:
        _new_session()
    _set_nice(prepared.nice)
    _set_limits(prepared.limits)
    _exec(prepared.executable, prepared.argv, prepared.env, prepared.pid_variables)


class Prepared:
    """What `exec_prepared()` still does: the rest was done by the parent in itself."""

    __slots__ = ("new_session", "nice", "limits", "executable", "argv", "env", "pid_variables")

    def __init__(self, new_session: bool, nice: int | None, limits: list, executable: str, argv, env: dict,
                 pid_variables) -> None:
        self.new_session, self.nice, self.limits = new_session, nice, limits
        self.executable, self.argv, self.env, self.pid_variables = executable, argv, env, pid_variables


def _reset_signal_mask() -> None:  # pragma: no cover
    try:
        _signal.pthread_sigmask(_signal.SIG_SETMASK, ())
    except OSError as e:
        raise _fail(EXIT_SIGNAL_MASK, e, "Failed to reset signal mask") from None


def _new_session() -> None:  # pragma: no cover
    try:
        os.setsid()
    except OSError as e:
        raise _fail(EXIT_SETSID, e, "Failed to create new process session") from None


def _set_nice(nice: int | None) -> None:  # pragma: no cover
    if nice is not None:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, nice)
        except OSError as e:
            raise _fail(EXIT_NICE, e, "Failed to set up process scheduling priority (nice level)") from None


def rlimit_resource(name: str) -> int | None:
    """The RLIMIT_* number of a Limit*= name (`NOFILE`, `LimitNOFILE`), or None."""
    return RLIMITS.get(name.removeprefix("Limit").upper())


def rlimit_value(v: int) -> int:
    """A Limit*= value as setrlimit() takes it: negative or beyond 2^63-2 is infinity."""
    return resource.RLIM_INFINITY if v < 0 or v >= 2**63 - 1 else v


def _set_limits(limits: Iterable[tuple[str, tuple[int, int]]]) -> None:  # pragma: no cover
    for name, (soft, hard) in limits:
        res = rlimit_resource(name)
        try:
            if res is None:
                raise OSError(errno_mod.EINVAL, "")
            _setrlimit_closest(res, soft, hard)
        except OSError as e:
            raise _fail(EXIT_LIMITS, e, f"Failed to adjust resource limit RLIMIT_{name.removeprefix('Limit').upper()}") from None


def _exec(executable: str, argv, env: dict, pid_variables) -> None:  # pragma: no cover
    """execve() with $SYSTEMD_EXEC_PID and the like set to this process's PID."""
    mypid = str(os.getpid())
    for name in pid_variables:
        env.setdefault(name, mypid)
    try:
        os.execve(executable, argv, env)
    except OSError as e:
        raise _ChildError(EXIT_EXEC, e.errno or errno_mod.EIO,
                          f"Failed to execute {executable}: {os.strerror(e.errno or errno_mod.EIO)}") from None


_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded in the parent: no imports after fork
_PR_SET_NAME = 15


def set_comm(name: str) -> None:  # pragma: no cover
    """This process's name as ps and top show it (15 bytes at most). # PR_SET_NAME"""
    _LIBC.prctl(_PR_SET_NAME, name.encode()[:15], 0, 0, 0)


def _setup_stdio(spec: Stdio, target: int, flags: int, status: int, what: str) -> None:  # pragma: no cover
    try:
        if spec == "inherit":
            try:
                os.set_inheritable(target, True)
                return
            except OSError as e:
                if e.errno != errno_mod.EBADF:
                    raise
                spec = "null"  # the daemon has nothing there: do not leave a hole
        if spec == "null":
            fd = os.open("/dev/null", flags | os.O_NOCTTY)
            if fd != target:
                os.dup2(fd, target)
                os.close(fd)
            os.set_inheritable(target, True)
            return
        if not isinstance(spec, int):
            raise OSError(errno_mod.EINVAL, f"bad {what} {spec!r}")
        os.dup2(spec, target)  # the copy is inheritable
    except OSError as e:
        raise _fail(status, e, f"Failed to set up {what}") from None


def _arrange_fds(parked: list[int], wfd: int, idle: int | None = None) -> None:  # pragma: no cover
    """Move the (parked, above-all-targets) passed fds down to 3, 4, … and close the rest."""
    for i, fd in enumerate(parked):
        os.dup2(fd, 3 + i)  # inheritable
    low = 3 + len(parked)
    # everything else goes, except the error pipe (CLOEXEC: it closes at exec) and the
    # Type=idle pipe (closed before exec)
    for keep in sorted(k for k in (wfd, idle) if k is not None):
        os.closerange(low, keep)
        low = keep + 1
    os.closerange(low, 1 << 20)


def _setrlimit_closest(res: int, soft: int, hard: int) -> None:  # pragma: no cover
    """setrlimit(), or as close as the current hard limit allows. # systemd: setrlimit_closest()"""
    inf = resource.RLIM_INFINITY
    soft, hard = rlimit_value(soft), rlimit_value(hard)
    try:
        resource.setrlimit(res, (soft, hard))
        return
    except (OSError, ValueError) as e:
        if isinstance(e, OSError) and e.errno != errno_mod.EPERM:
            raise
    _, highest = resource.getrlimit(res)

    def clamp(v: int) -> int:
        if highest == inf:
            return v
        return highest if v == inf else min(v, highest)

    resource.setrlimit(res, (clamp(soft), clamp(hard)))


def working_directory_target(spec: str | None, home: str) -> tuple[str, bool]:
    """(directory, missing is fine) of a WorkingDirectory= value: `-` prefix, `~` the home
    (`/` when it is not absolute), None `/`. # spec: service-lifecycle.md §5"""
    missing_ok = False
    wd = spec or "/"
    if wd.startswith("-"):
        missing_ok, wd = True, wd[1:]
    if wd == "~":
        wd = home if home.startswith("/") else "/"
    return wd, missing_ok


def _chdir(spec: str | None, home: str) -> None:  # pragma: no cover
    wd, missing_ok = working_directory_target(spec, home)
    try:
        os.chdir(wd)
    except OSError as e:
        if not missing_ok:
            raise _fail(EXIT_CHDIR, e, "Changing to the requested working directory failed") from None
        try:
            os.chdir("/")
        except OSError:
            pass


def _check_executable(path: str) -> None:  # pragma: no cover
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        raise OSError(errno_mod.EISDIR, os.strerror(errno_mod.EISDIR))
    if not stat.S_ISREG(st.st_mode) or not os.access(path, os.X_OK):
        raise OSError(errno_mod.EACCES, os.strerror(errno_mod.EACCES))


def _find_executable(path: str) -> str:  # pragma: no cover
    """Absolute path as is; a plain name in EXEC_SEARCH_PATH. # systemd: find_executable_full()"""
    candidates = [path] if "/" in path else [os.path.join(d, path) for d in EXEC_SEARCH_PATH]
    last: OSError = OSError(errno_mod.ENOENT, os.strerror(errno_mod.ENOENT))
    for candidate in candidates:
        try:
            _check_executable(candidate)
            return candidate
        except OSError as e:
            # like systemd, a later directory may still have it; keep the most telling error
            if last.errno == errno_mod.ENOENT or e.errno != errno_mod.ENOENT:
                last = e
    err = last.errno or errno_mod.ENOENT
    raise _ChildError(EXIT_EXEC, err, f"Unable to locate executable '{path}': {os.strerror(err)}")
