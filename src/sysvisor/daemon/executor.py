"""Start one process exactly as the unit says: fork, set up in the child, execve.

Theory of operation
-------------------
* `spawn(req)` forks and returns at once with the child's PID and the read end of an
  *error pipe*; it never waits. The daemon's single reaper (`os.waitid(P_ALL)`) collects the
  exit status later, as for any other child. No `subprocess.Popen` (it reaps behind the
  daemon's back, see ARCHITECTURE.md "Pitfalls").
* Everything that may fail before exec runs in the child, in systemd's order, and each
  failure ends the child with systemd's exit status (200 CHDIR, 203 EXEC, 205 LIMITS,
  216 GROUP, 217 USER …). Before exiting, the child writes one record to the error pipe
  (the reason line and the step), so the parent can log systemd's two lines, e.g.
  `Unable to locate executable '/nope': No such file or directory` and
  `Failed at step EXEC spawning /nope: No such file or directory` (v257 wording, observed
  with the oracle: tests/data/executor/oracle-257.json).
* The error pipe is O_CLOEXEC: a successful execve() closes it, so the parent sees EOF with
  no data. That is how `Type=exec` learns that the exec succeeded: register
  `SpawnedProcess.error_fd` in the selector and call `read_exec_outcome()` when it is
  readable (EOF always comes: at exec, or when the child exits). Other types may simply
  read it for the log lines and close it.
* NSS look-ups (User=, Group=) happen in the parent before fork (no NSS in a forked child
  of a Python process); an unknown user is still reported by the child as 217/USER so the
  unit sees the same exit status as under systemd.
# spec: service-lifecycle.md §5, §8.3; notify-and-watchdog.md §2
"""

from __future__ import annotations

import ctypes
import errno as errno_mod
import fcntl
import grp
import os
import pwd
import resource
import select
import signal

import _signal
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the spawn helper imports this module: it stays free of the unit model
    from sysvisor.core.units import ExecCommand, ServiceSection

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

# The limits systemd 257 itself gives every service unless the unit sets Limit*= (Debian's
# DefaultLimitCORE=0:infinity included); the rest is inherited from the manager.
# Observed: tests/data/executor/oracle4-257-limits.json. -1 means infinity.
SYSTEMD_DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    "NOFILE": (1024, 524288),
    "MEMLOCK": (8 * 1024 * 1024, 8 * 1024 * 1024),
    "CORE": (0, -1),
}

Stdio = int | str  # an fd to dup2, or "null" / "inherit" (keep the daemon's own fd)


# ---------------------------------------------------------------------------------------
# credentials (resolved in the parent)


def child_process_name(path: str) -> str:
    """`(name)` as systemd renames the child before exec: the last 8 characters of the
    program's file name, so it fits in 10 (`(nope)`, `(suchprog)` for `nosuchprog`).
    It is the journal identifier of the child's own failure lines.
    # systemd: rename_process_from_path(); observed in oracle-257.json
    """
    name = os.path.basename(path.rstrip("/")) or "..."
    return f"({name[-8:]})"


@dataclass(frozen=True)
class UserCredentials:
    """A resolved User=: what the child switches to and what $USER/$HOME say."""

    name: str
    uid: int
    gid: int
    home: str
    shell: str


def resolve_user(user: str | int) -> UserCredentials:
    """User= (name or numeric UID) → credentials; raises LookupError if unknown.

    root/0 and nobody/65534 are synthesized as systemd does (home `/root` resp. `/`,
    shell `/bin/bash` (DEFAULT_USER_SHELL) resp. nologin), whatever /etc/passwd says
    (observed with systemd 257: tests/data/executor/oracle2-257.json, rootuser.service).
    # systemd: get_user_creds() with synthesize_nobody()
    """
    text = str(user)
    if text in ("root", "0"):
        return UserCredentials("root", 0, 0, "/root", "/bin/bash")
    if text in ("nobody", "65534"):
        return UserCredentials("nobody", 65534, 65534, "/", "/usr/sbin/nologin")
    try:
        entry = pwd.getpwuid(int(text)) if text.isdigit() else pwd.getpwnam(text)
    except (KeyError, ValueError, OverflowError):
        if text.isdigit() and int(text) < 2**32 - 1:
            # a numeric UID without passwd entry is fine: no name, no home
            uid = int(text)
            return UserCredentials(text, uid, uid, "", "")
        raise LookupError(text) from None
    return UserCredentials(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir, entry.pw_shell)


def resolve_group(group: str) -> int:
    """Group=/SupplementaryGroups= entry (name or GID) → GID; raises LookupError."""
    if group in ("root", "0"):
        return 0
    if group in ("nobody", "nogroup", "65534"):
        return 65534
    if group.isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise LookupError(group) from None


# ---------------------------------------------------------------------------------------
# the request


@dataclass
class ExecRequest:
    """Everything the child needs, fully resolved except what must happen in the child.

    `working_directory`: as written in WorkingDirectory= (`-` prefix: missing is fine,
    `~`: the user's home); None = `/` (the caller passes `-~` for a user manager).
    `user`/`group`/`supplementary_groups`: applied only when set (the caller leaves them
    None for `+`/`!` commands); switching to another user needs root.
    `stdin`/`stdout`/`stderr`: an fd to dup2, `"null"` (/dev/null) or `"inherit"` (keep
    the daemon's fd of that number). `pass_fds` are moved to 3, 4, … (LISTEN_FDS order);
    every other fd is closed.
    `cgroup`: a cgroup directory the child moves itself into before anything else;
    `extra_cgroups`: v1 accounting cgroups joined too, failures ignored (hybrid hosts).
    `clone_into_cgroup`: the spawn helper (spawner.py) may create the child in `cgroup`.
    `pid_variables`: environment names the child sets to its own PID
    (SYSTEMD_EXEC_PID, WATCHDOG_PID; see environment.pid_variables()).
    `home`: the home for `~` when it is not the one of `user` (a `+` command of a unit
    with User= still starts in that user's home).
    `warnings`: `Referenced but unset environment variable …` lines from the expansion,
    for the caller to log at warning level; the child does nothing with them.
    """

    path: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    working_directory: str | None = None
    root_directory: str | None = None
    user: str | None = None
    group: str | None = None
    supplementary_groups: list[str] = field(default_factory=list)
    umask: int = 0o022
    nice: int | None = None
    limits: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    stdin: Stdio = "null"
    stdout: Stdio = "inherit"
    stderr: Stdio = "inherit"
    pass_fds: tuple[int, ...] = ()
    # Type=idle: the child waits (at most IDLE_TIMEOUT_SEC) for EOF on this fd before exec
    idle_fd: int | None = None
    new_session: bool = True
    cgroup: str | None = None
    # the spawn helper may create the process inside `cgroup` (clone3 CLONE_INTO_CGROUP)
    # instead of letting it join; see CgroupContainment.born_inside_ok()
    clone_into_cgroup: bool = False
    extra_cgroups: tuple[str, ...] = ()
    pid_variables: tuple[str, ...] = ("SYSTEMD_EXEC_PID",)
    home: str | None = None
    # systemd 257 logs these (warning, under the unit) right before exec
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SpawnedProcess:
    """A forked child: its PID and the read end of its error pipe (O_NONBLOCK, CLOEXEC).

    The caller owns `error_fd` and must close it (see `read_exec_outcome`)."""

    pid: int
    error_fd: int


@dataclass(frozen=True)
class ExecFailure:
    """Why the child gave up before exec, as it reported on the error pipe."""

    exit_status: int
    errno: int
    reason: str  # systemd's first line, e.g. "Unable to locate executable '/nope': …"
    path: str  # the command's path as written (for the second line)

    @property
    def ident(self) -> str:
        """The identifier systemd logs these lines under, e.g. `(nope)`."""
        return child_process_name(self.path)

    @property
    def step(self) -> str:
        return EXIT_STEP.get(self.exit_status, str(self.exit_status))

    def messages(self) -> list[str]:
        """The two lines systemd logs for the unit. # systemd: exec_spawn()/exec_invoke()"""
        return [
            self.reason,
            f"Failed at step {self.step} spawning {self.path}: {os.strerror(self.errno)}",
        ]


@dataclass(frozen=True)
class ExecOutcome:
    """What the error pipe said: `failure` None means execve() succeeded."""

    failure: ExecFailure | None = None

    @property
    def exec_succeeded(self) -> bool:
        return self.failure is None


class _ChildError(Exception):
    def __init__(self, exit_status: int, err: int, reason: str):
        super().__init__(reason)
        self.exit_status = exit_status
        self.errno = err
        self.reason = reason


# ---------------------------------------------------------------------------------------
# parent side


@dataclass(frozen=True)
class _Plan:
    """What the parent resolved before fork: credentials, or the failure to report."""

    uid: int | None = None
    gid: int | None = None
    groups: tuple[int, ...] | None = None
    home: str = ""
    failure: tuple[int, int, str] | None = None  # exit status, errno, reason


def _plan(req: ExecRequest) -> _Plan:
    uid = gid = None
    groups: tuple[int, ...] | None = None
    home = ""
    euid = os.geteuid()
    try:
        creds = resolve_user(req.user if req.user is not None else euid)
        home = req.home if req.home is not None else creds.home
    except LookupError:
        creds = None
        if req.user is not None:
            return _Plan(failure=(EXIT_USER, errno_mod.ESRCH,
                                  f"Failed to determine user credentials: {os.strerror(errno_mod.ESRCH)}"))
    if req.user is not None and creds is not None:
        uid, gid = creds.uid, creds.gid
    if req.group is not None:
        try:
            gid = resolve_group(req.group)
        except LookupError:
            return _Plan(failure=(EXIT_GROUP, errno_mod.ESRCH,
                                  f"Failed to determine group credentials: {os.strerror(errno_mod.ESRCH)}"))
    extra: list[int] = []
    for g in req.supplementary_groups:
        try:
            extra.append(resolve_group(g))
        except LookupError:
            return _Plan(failure=(EXIT_GROUP, errno_mod.ESRCH,
                                  f"Failed to determine supplementary groups: {os.strerror(errno_mod.ESRCH)}"))
    if euid != 0:
        # unprivileged: only "switching" to what we already are is possible
        eperm = os.strerror(errno_mod.EPERM)
        if uid is not None and uid != euid:
            return _Plan(failure=(EXIT_USER, errno_mod.EPERM,
                                  f"Failed to change UID to {uid} (User= needs a manager running as root): {eperm}"))
        if gid is not None and gid != os.getegid():
            return _Plan(failure=(EXIT_GROUP, errno_mod.EPERM,
                                  f"Failed to change GID to {gid} (Group= needs a manager running as root): {eperm}"))
        if any(g not in os.getgroups() and g != os.getegid() for g in extra):
            return _Plan(failure=(EXIT_GROUP, errno_mod.EPERM,
                                  "Failed to set up supplementary groups (SupplementaryGroups= needs a "
                                  f"manager running as root): {eperm}"))
        return _Plan(home=home)
    if req.user is not None or req.group is not None or req.supplementary_groups:
        base: list[int] = []
        if req.user is not None and creds is not None and creds.name:
            try:
                base = os.getgrouplist(creds.name, gid if gid is not None else creds.gid)
            except OSError:
                base = []
        groups = tuple(dict.fromkeys([*base, *extra]))
    return _Plan(uid=uid, gid=gid, groups=groups, home=home)


_ALL_SIGNALS = _signal.valid_signals()
IDLE_TIMEOUT_SEC = 5.0  # systemd: IDLE_TIMEOUT_USEC

def spawn(req: ExecRequest) -> SpawnedProcess:
    """Fork a child that sets itself up per `req` and execs; return at once.

    Raises OSError only for failures in the manager itself (pipe, fork): the unit's Result
    is then `resources`. Everything else is reported by the child (exit status 2xx plus a
    record on the error pipe).
    # spec: service-lifecycle.md §3 ("A spawn error …"), §8.3
    """
    plan = _plan(req)
    rfd, wfd = os.pipe2(os.O_CLOEXEC)
    # no daemon signal handler may run in the child before it resets them
    # _signal's version works on ints: the enum conversion of signal's wrapper showed up as
    # 11 % of a crash loop's profile (bench/bench_spawn.py)
    old_mask = _signal.pthread_sigmask(signal.SIG_BLOCK, _ALL_SIGNALS)
    try:
        pid = os.fork()
    except BaseException:
        _signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        os.close(rfd)
        os.close(wfd)
        raise
    if pid == 0:  # pragma: no cover - runs in the child, observed through its exit status
        os.close(rfd)
        _child(req, plan, wfd)
    _signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    os.close(wfd)
    os.set_blocking(rfd, False)
    return SpawnedProcess(pid, rfd)


def read_exec_outcome(error_fd: int, path: str) -> ExecOutcome | None:
    """Read the error pipe of one spawn without blocking.

    Returns None while the child has neither exec'd nor failed (call again when the fd is
    readable), else the outcome; the fd is then closed. `path` is the command's path as
    written, for the "Failed at step" line.
    """
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(error_fd, 4096)
        except BlockingIOError:
            if not chunks:
                return None
            # a record is being written; the child writes it in one go, so this is brief
            continue
        if not data:
            break
        chunks.append(data)
        if data.endswith(b"\n"):
            break  # one record per child, newline-terminated
    os.close(error_fd)
    record = b"".join(chunks)
    if not record:
        return ExecOutcome()
    status_text, err_text, reason = record.decode("utf-8", "replace").split("\t", 2)
    return ExecOutcome(ExecFailure(int(status_text), int(err_text), reason.rstrip("\n"), path))


def wait_exec_outcome(error_fd: int, path: str) -> ExecOutcome:
    """Blocking variant of `read_exec_outcome` (tests, tools; never in the daemon loop)."""
    os.set_blocking(error_fd, True)
    return read_exec_outcome(error_fd, path) or ExecOutcome()


# ---------------------------------------------------------------------------------------
# child side (runs between fork and exec; must only os._exit)


def _child(req: ExecRequest, plan: _Plan, wfd: int, reset_signals: Iterable[int] | None = None) -> None:  # pragma: no cover
    """Set up and exec `req` in a freshly forked child; never returns.

    `reset_signals`: the signals whose disposition is not SIG_DFL in the forking process
    (None: all of them, for a fork of the manager, whose handlers are unknown here)."""
    status = EXIT_EXCEPTION
    pipe = [wfd]  # the setup moves the error pipe; it updates this cell
    try:
        _setup_and_exec(req, plan, pipe, reset_signals)
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
    _set_comm(child_process_name(req.path))

    # 1. signals: the daemon's handlers, ignores (SIGPIPE!) and mask must not leak
    try:
        signal.set_wakeup_fd(-1)
    except (ValueError, OSError):
        pass
    for sig in range(1, signal.NSIG) if reset_signals is None else reset_signals:
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError, RuntimeError):
            pass
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
    except OSError as e:
        raise _fail(EXIT_SIGNAL_MASK, e, "Failed to reset signal mask") from None

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
        try:
            os.setsid()
        except OSError as e:
            raise _fail(EXIT_SETSID, e, "Failed to create new process session") from None

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

    if req.nice is not None:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, req.nice)
        except OSError as e:
            raise _fail(EXIT_NICE, e, "Failed to set up process scheduling priority (nice level)") from None

    for name, (soft, hard) in req.limits.items():
        key = name.removeprefix("Limit").upper()
        if key not in RLIMITS:
            raise _fail(EXIT_LIMITS, errno_mod.EINVAL, f"Failed to adjust resource limit RLIMIT_{key}")
        try:
            _setrlimit_closest(RLIMITS[key], soft, hard)
        except OSError as e:
            raise _fail(EXIT_LIMITS, e, f"Failed to adjust resource limit RLIMIT_{key}") from None

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
    env = dict(req.env)
    mypid = str(os.getpid())
    for name in req.pid_variables:
        env.setdefault(name, mypid)
    executable = _find_executable(req.path)
    try:
        os.execve(executable, req.argv, env)
    except OSError as e:
        raise _ChildError(EXIT_EXEC, e.errno or errno_mod.EIO,
                          f"Failed to execute {executable}: {os.strerror(e.errno or errno_mod.EIO)}") from None


_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded in the parent: no imports after fork
_PR_SET_NAME = 15


def _set_comm(name: str) -> None:  # pragma: no cover
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
    soft = inf if soft < 0 or soft >= 2**63 - 1 else soft
    hard = inf if hard < 0 or hard >= 2**63 - 1 else hard
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


def _chdir(spec: str | None, home: str) -> None:  # pragma: no cover
    missing_ok = False
    wd = spec or "/"
    if wd.startswith("-"):
        missing_ok, wd = True, wd[1:]
    if wd == "~":
        wd = home if home.startswith("/") else "/"
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


# ---------------------------------------------------------------------------------------
# wiring: unit config + command → request


def exec_request(
    service: ServiceSection,
    command: ExecCommand,
    env: dict[str, str],
    *,
    user_manager: bool = False,
    stdin: Stdio = "null",
    stdout: Stdio = "inherit",
    stderr: Stdio = "inherit",
    pass_fds: tuple[int, ...] = (),
    cgroup: str | None = None,
    extra_cgroups: tuple[str, ...] = (),
    pid_variables: tuple[str, ...] = ("SYSTEMD_EXEC_PID",),
    default_limits: Mapping[str, tuple[int, int]] | None = None,
) -> ExecRequest:
    """Build the ExecRequest for one command of `service` under the already-built `env`.

    Expands `$VAR`s (core.expand), applies the prefixes (`+` and `!`: no User=/Group=/
    SupplementaryGroups=; `!!` has no effect where ambient capabilities exist, i.e. on
    every Linux sysvisor supports; RootDirectory= stays, as in systemd 257), the user
    manager's default working directory (`-~`), and the manager's DefaultLimit*= under the
    unit's Limit*=. Stdio is the caller's job (journal streams live in the daemon).
    # spec: service-lifecycle.md §5.2, §5.3
    """
    from sysvisor.core.expand import expand_argv_full, expansion_warnings

    expansion = expand_argv_full(command, env)
    path, argv = expansion.path, expansion.argv
    if not argv:  # `@` with an argv[0] that expanded to nothing: exec needs one
        argv = [path]
    privileged = command.full_privileges or command.no_setuid
    working_directory = service.working_directory
    if working_directory is None and user_manager:
        working_directory = "-~"
    limits = dict(default_limits or {})
    limits.update(service.limits)
    home = None
    if privileged and service.user:
        try:
            home = resolve_user(service.user).home
        except LookupError:
            home = None
    return ExecRequest(
        path=path,
        argv=argv,
        env=env,
        working_directory=working_directory,
        root_directory=service.root_directory,
        user=None if privileged else service.user,
        group=None if privileged else service.group,
        supplementary_groups=[] if privileged else list(service.supplementary_groups),
        umask=service.umask,
        nice=service.nice,
        limits=limits,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        pass_fds=pass_fds,
        cgroup=cgroup,
        extra_cgroups=extra_cgroups,
        pid_variables=pid_variables,
        home=home,
        warnings=expansion_warnings(expansion),
    )
