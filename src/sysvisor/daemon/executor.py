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

import errno as errno_mod
import grp
import os
import pwd
import signal

import _signal
from collections.abc import Mapping
from dataclasses import dataclass, field

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sysvisor.core.units import ExecCommand, ServiceSection

from sysvisor.daemon.execsetup import (
    EXEC_SEARCH_PATH,
    EXIT_CGROUP,
    EXIT_CHDIR,
    EXIT_CHROOT,
    EXIT_EXCEPTION,
    EXIT_EXEC,
    EXIT_FDS,
    EXIT_GROUP,
    EXIT_LIMITS,
    EXIT_NAMESPACE,
    EXIT_NICE,
    EXIT_SETSID,
    EXIT_SIGNAL_MASK,
    EXIT_STDERR,
    EXIT_STDIN,
    EXIT_STDOUT,
    EXIT_STEP,
    EXIT_USER,
    IDLE_TIMEOUT_SEC,
    RLIMITS,
    Stdio,
    _child,
    child_process_name,
)

__all__ = [  # the executor's API; the exit statuses and the child's setup live in execsetup.py
    "EXEC_SEARCH_PATH", "EXIT_CGROUP", "EXIT_CHDIR", "EXIT_CHROOT", "EXIT_EXCEPTION", "EXIT_EXEC",
    "EXIT_FDS", "EXIT_GROUP", "EXIT_LIMITS", "EXIT_NAMESPACE", "EXIT_NICE", "EXIT_SETSID",
    "EXIT_SIGNAL_MASK", "EXIT_STDERR", "EXIT_STDIN", "EXIT_STDOUT", "EXIT_STEP", "EXIT_USER",
    "IDLE_TIMEOUT_SEC", "RLIMITS", "SYSTEMD_DEFAULT_LIMITS", "ExecFailure", "ExecOutcome", "ExecRequest",
    "SpawnedProcess", "Stdio", "UserCredentials", "child_process_name", "exec_request", "read_exec_outcome",
    "resolve_group", "resolve_user", "spawn", "wait_exec_outcome",
]

# The limits systemd 257 itself gives every service unless the unit sets Limit*= (Debian's
# DefaultLimitCORE=0:infinity included); the rest is inherited from the manager.
# Observed: tests/data/executor/oracle4-257-limits.json. -1 means infinity.
SYSTEMD_DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    "NOFILE": (1024, 524288),
    "MEMLOCK": (8 * 1024 * 1024, 8 * 1024 * 1024),
    "CORE": (0, -1),
}



# ---------------------------------------------------------------------------------------
# credentials (resolved in the parent)


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
