"""The environment block of a spawned process, in systemd's order of precedence.

Layers, later wins (systemd: exec_invoke() `strv_env_merge(params->environment, our_env,
joined_exec_search_path, pass_env, context->environment, files_env)`, then
`strv_env_delete(accum_env, unset_environment)`):

1. the manager environment: system manager `PATH` + locale (`LANG`, from /etc/locale.conf,
   default `C.UTF-8`); user manager: its own environment with `PATH` replaced and the
   manager-private variables removed; then `DefaultEnvironment=`/`set-environment`;
2. variables the manager defines for this process (`INVOCATION_ID`, `MAINPID`, `NOTIFY_SOCKET`,
   `WATCHDOG_USEC`, `SERVICE_RESULT`, `MONITOR_*` …, handed in as `manager_vars`) and the user
   variables `USER` (always, v257), `LOGNAME`/`HOME`/`SHELL` (with User= or in a user manager);
3. `PassEnvironment=` names, taken from the manager's own environment;
4. `Environment=` assignments in order;
5. `EnvironmentFile=` files in order (read right before each spawn; `-` = missing is fine);
6. `UnsetEnvironment=` removes `NAME` or exactly `NAME=VALUE`.

A mandatory environment file that cannot be read fails the spawn before any process exists:
systemd logs `Failed to load environment files: <strerror>` then
`Failed to spawn 'start' task: <strerror>` (v257; v252: `Failed to run 'start' task:`) and the
unit's Result is `resources` (observed with the oracle, tests/data/executor/oracle-257.json,
unit `noenvfile.service`). `build_environment` raises `EnvironmentFileError` for that.

Variables whose value is the spawned process's own PID (`SYSTEMD_EXEC_PID`, `WATCHDOG_PID`)
cannot be known before fork(): see `pid_variables()`, which the executor fills in the child.
# spec: service-lifecycle.md §5.4; notify-and-watchdog.md §2, §4
"""

from __future__ import annotations

import errno as errno_mod
import glob
import os
from collections.abc import Callable, Iterable, Mapping

from sysvisor.core.expand import env_name_is_valid
from sysvisor.core.types import NotifyAccess
from sysvisor.core.units import ServiceSection
from sysvisor.daemon.executor import UserCredentials, resolve_user

# systemd's compiled-in DEFAULT_PATH (merged /usr, v257)
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
DEFAULT_LOCALE = "C.UTF-8"  # systemd: SYSTEMD_DEFAULT_LOCALE

# Never inherited from the manager's own environment. # systemd: sanitize_environment()
SANITIZED_VARIABLES = frozenset(
    {
        "CACHE_DIRECTORY", "CONFIGURATION_DIRECTORY", "CREDENTIALS_DIRECTORY", "EXIT_CODE",
        "EXIT_STATUS", "INVOCATION_ID", "JOURNAL_STREAM", "LISTEN_FDNAMES", "LISTEN_FDS",
        "LISTEN_PID", "LOGS_DIRECTORY", "LOG_NAMESPACE", "MAINPID", "MANAGERPID",
        "MEMORY_PRESSURE_WATCH", "MEMORY_PRESSURE_WRITE", "MONITOR_EXIT_CODE",
        "MONITOR_EXIT_STATUS", "MONITOR_INVOCATION_ID", "MONITOR_SERVICE_RESULT",
        "MONITOR_UNIT", "NOTIFY_SOCKET", "PIDFILE", "REMOTE_ADDR", "REMOTE_PORT",
        "RUNTIME_DIRECTORY", "SERVICE_RESULT", "STATE_DIRECTORY", "SYSTEMD_EXEC_PID",
        "TRIGGER_PATH", "TRIGGER_TIMER_MONOTONIC_USEC", "TRIGGER_TIMER_REALTIME_USEC",
        "TRIGGER_UNIT", "WATCHDOG_PID", "WATCHDOG_USEC",
    }
)
# private to the user manager's own login session # systemd: manager_default_environment()
_USER_SESSION_VARIABLES = ("XDG_SESSION_ID", "XDG_SESSION_CLASS", "XDG_SESSION_TYPE",
                           "XDG_SESSION_DESKTOP", "XDG_SEAT", "XDG_VTNR")
_LOCALE_VARIABLES = ("LANG", "LANGUAGE", "LC_CTYPE", "LC_NUMERIC", "LC_TIME", "LC_COLLATE",
                     "LC_MONETARY", "LC_MESSAGES", "LC_PAPER", "LC_NAME", "LC_ADDRESS",
                     "LC_TELEPHONE", "LC_MEASUREMENT", "LC_IDENTIFICATION")
# login shells that mean "no shell" # systemd: shell_is_placeholder()/is_nologin_shell()
_PLACEHOLDER_SHELLS = frozenset({"/bin/nologin", "/sbin/nologin", "/usr/bin/nologin",
                                 "/usr/sbin/nologin", "/bin/false", "/usr/bin/false",
                                 "/bin/true", "/usr/bin/true"})

Warn = Callable[[str], None]


class EnvironmentFileError(Exception):
    """A mandatory EnvironmentFile= could not be loaded: the spawn fails (Result resources).

    `errno` and `strerror` describe the cause; str() is systemd's log line.
    """

    def __init__(self, err: int, path: str):
        self.errno = err
        self.strerror = os.strerror(err)
        self.path = path
        super().__init__(f"Failed to load environment files: {self.strerror}")


# ---------------------------------------------------------------------------------------
# environment files


def parse_environment_file(text: str) -> list[tuple[int, str, str]]:
    """Parse systemd's env-file syntax into (line, key, value) in file order.

    Comments start with `#` or `;` where a key may start; `KEY=value` with whitespace around
    the key and trailing whitespace of unquoted values dropped; `'…'` literal; `"…"` with
    `\\` escaping `"\\`$` (other backslashes kept) and embedded newlines allowed; an unquoted
    `\\` makes the next character literal and a trailing `\\` continues the line; a line
    without `=` is ignored. Keys are not validated here (see `load_environment_file`).
    # systemd: src/basic/env-file.c parse_env_file_internal()
    """
    out: list[tuple[int, str, str]] = []
    state = "pre_key"
    key: list[str] = []
    value: list[str] = []
    line = 1
    last_key_ws: int | None = None
    last_value_ws: int | None = None

    def push() -> None:
        k = "".join(key[:last_key_ws] if last_key_ws is not None else key)
        out.append((line, k, "".join(value)))

    for c in text:
        if state == "pre_key":
            if c in "#;":
                state = "comment"
            elif c not in " \t\n\r":
                state = "key"
                last_key_ws = None
                key = [c]
        elif state == "key":
            if c in "\n\r":
                state = "pre_key"
                line += 1
                key = []
            elif c == "=":
                state = "pre_value"
                value = []
                last_value_ws = None
            else:
                if c not in " \t\n\r":
                    last_key_ws = None
                elif last_key_ws is None:
                    last_key_ws = len(key)
                key.append(c)
        elif state == "pre_value":
            if c in "\n\r":
                line += 1
                push()
                state, key, value = "pre_key", [], []
            elif c == "'":
                state = "single"
            elif c == '"':
                state = "double"
            elif c == "\\":
                state = "value_escape"
            elif c not in " \t\n\r":
                state = "value"
                value.append(c)
        elif state == "value":
            if c in "\n\r":
                line += 1
                if last_value_ws is not None:
                    del value[last_value_ws:]
                push()
                state, key, value = "pre_key", [], []
            elif c == "\\":
                state = "value_escape"
                last_value_ws = None
            else:
                if c not in " \t\n\r":
                    last_value_ws = None
                elif last_value_ws is None:
                    last_value_ws = len(value)
                value.append(c)
        elif state == "value_escape":
            state = "value"
            if c not in "\n\r":  # an escaped newline is a continuation line
                value.append(c)
        elif state == "single":
            if c == "'":
                state = "pre_value"
            else:
                value.append(c)
        elif state == "double":
            if c == '"':
                state = "pre_value"
            elif c == "\\":
                state = "double_escape"
            else:
                value.append(c)
        elif state == "double_escape":
            state = "double"
            if c in '"\\`$':  # SHELL_NEED_ESCAPE
                value.append(c)
            elif c != "\n":
                value.append("\\")
                value.append(c)
        elif state == "comment":
            if c == "\\":
                state = "comment_escape"
            elif c in "\n\r":
                state = "pre_key"
                line += 1
        elif state == "comment_escape":
            # since v254 the line after a comment ending in "\" is not part of the comment
            if c in "\n\r":
                state = "pre_key"
                line += 1
            else:
                state = "comment"
    if state in ("pre_value", "value", "value_escape", "single", "double", "double_escape"):
        if state == "value" and last_value_ws is not None:
            del value[last_value_ws:]
        push()
    return out


def load_environment_file(path: str, warn: Warn | None = None) -> dict[str, str]:
    """Read one environment file; invalid assignments are dropped with systemd's warning.

    Raises OSError when the file cannot be read and EnvironmentFileError (EINVAL) for
    invalid UTF-8, as systemd fails the whole load then.
    # systemd: exec_context_load_environment(), load_env_file(), strv_env_clean_with_callback()
    """
    with open(path, "rb") as f:
        data = f.read()
    text = data.decode("utf-8", errors="surrogateescape")
    result: dict[str, str] = {}
    for _line, key, value in parse_environment_file(text):
        if _has_surrogates(key) or _has_surrogates(value):
            raise EnvironmentFileError(errno_mod.EINVAL, path)
        if not env_name_is_valid(key):
            if warn:
                warn(f"Ignoring invalid environment assignment '{key}={value}': {path}")
            continue
        result[key] = value
    return result


def load_environment_files(files: Iterable[tuple[str, bool]], warn: Warn | None = None) -> dict[str, str]:
    """EnvironmentFile= entries (path, optional) in order; globs expand to sorted matches.

    A relative path, an unmatched glob or an unreadable file raises EnvironmentFileError
    unless the entry is optional (`-`).
    # spec: service-lifecycle.md §5.4; systemd: exec_context_load_environment()
    """
    merged: dict[str, str] = {}
    for path, optional in files:
        if not path.startswith("/"):
            if optional:
                continue
            raise EnvironmentFileError(errno_mod.EINVAL, path)
        matches = sorted(glob.glob(path)) if glob.has_magic(path) else [path]
        if not matches:
            if optional:
                continue
            raise EnvironmentFileError(errno_mod.ENOENT, path)
        for match in matches:
            try:
                loaded = load_environment_file(match, warn)
            except OSError as e:
                if optional:
                    continue
                raise EnvironmentFileError(e.errno or errno_mod.EIO, match) from e
            except EnvironmentFileError:
                if optional:
                    continue
                raise
            _merge(merged, loaded)
    return merged


def _has_surrogates(s: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in s)


# ---------------------------------------------------------------------------------------
# the layers


# Debian's systemd falls back to /etc/default/locale when /etc/locale.conf is missing
LOCALE_CONF = ("/etc/locale.conf", "/etc/default/locale")


def system_locale(path: str | tuple[str, ...] = LOCALE_CONF) -> dict[str, str]:
    """Locale variables for the system manager's children, read now (the manager reads them
    at start-up and daemon-reload: SpawnEnvironments). # systemd: locale_setup()"""
    return _read_system_locale(path)


def _read_system_locale(path: str | tuple[str, ...]) -> dict[str, str]:
    """The first existing file of `path`, LANG=C.UTF-8 when it sets none."""
    loaded: dict[str, str] = {}
    for candidate in (path,) if isinstance(path, str) else path:
        try:
            loaded = load_environment_file(candidate)
            break
        except (OSError, EnvironmentFileError):
            continue
    result = {k: v for k, v in loaded.items() if k in _LOCALE_VARIABLES and v}
    if "LANG" not in result:
        result = {"LANG": DEFAULT_LOCALE, **result}
    return result


def manager_environment(
    manager_env: Mapping[str, str],
    *,
    user_manager: bool,
    default_environment: Mapping[str, str] | None = None,
    locale_conf: str | tuple[str, ...] = LOCALE_CONF,
    locale: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Layer 1: what every process of this manager starts from. `locale`: the system
    locale as read earlier (`system_locale()`), else it is read from `locale_conf`.

    # systemd: manager_default_environment(), sanitize_environment(),
    # manager_get_effective_environment()
    """
    if user_manager:
        env = {k: v for k, v in manager_env.items() if k not in _USER_SESSION_VARIABLES}
        env["PATH"] = DEFAULT_PATH
    else:
        env = {"PATH": DEFAULT_PATH, **(system_locale(locale_conf) if locale is None else locale)}
    for name in SANITIZED_VARIABLES:
        env.pop(name, None)
    _merge(env, default_environment or {})
    return env


def user_variables(creds: UserCredentials | None, *, login_environment: bool) -> dict[str, str]:
    """USER always; LOGNAME, HOME, SHELL only with User= or in a user manager (v257).

    `/` and empty homes and nologin shells are left out. Observed with systemd 257:
    no User= gives USER=root only; User=nobody gives USER and LOGNAME only.
    # systemd: exec-invoke.c build_environment(); get_user_creds(USER_CREDS_CLEAN)
    """
    if creds is None:
        return {}
    env = {"USER": creds.name}
    if login_environment:
        if creds.home and creds.home != "/" and creds.home.startswith("/"):
            env["HOME"] = creds.home
        env["LOGNAME"] = creds.name
        if creds.shell and creds.shell not in _PLACEHOLDER_SHELLS:
            env["SHELL"] = creds.shell
    return env


def notify_variables(
    service: ServiceSection, *, is_main: bool, notify_socket: str | None
) -> tuple[dict[str, str], tuple[str, ...]]:
    """NOTIFY_SOCKET/WATCHDOG_USEC for one process, and the PID variables it needs.

    Returns (variables, pid_variable_names): NOTIFY_SOCKET for the main process when
    NotifyAccess≠none, for control processes only with NotifyAccess=exec|all;
    WATCHDOG_USEC (and WATCHDOG_PID, filled in the child) for the main process when
    WatchdogSec>0.
    # spec: notify-and-watchdog.md §2, §4; systemd: service_exec_needs_notify_socket()
    """
    env: dict[str, str] = {}
    pid_names: list[str] = []
    access = service.effective_notify_access
    if notify_socket and (
        (is_main and access is not NotifyAccess.NONE)
        or access in (NotifyAccess.EXEC, NotifyAccess.ALL)
    ):
        env["NOTIFY_SOCKET"] = notify_socket
    if is_main and service.watchdog_usec > 0:
        env["WATCHDOG_USEC"] = str(service.watchdog_usec)
        pid_names.append("WATCHDOG_PID")
    return env, tuple(pid_names)


def pid_variables(env: Mapping[str, str], service: ServiceSection, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """Names the child sets to its own PID before exec: SYSTEMD_EXEC_PID plus `extra`
    (e.g. WATCHDOG_PID), minus those the unit set itself or unset.

    # systemd: build_environment() (SYSTEMD_EXEC_PID=, WATCHDOG_PID= use getpid_cached())
    """
    names = ["SYSTEMD_EXEC_PID", *extra]
    return tuple(n for n in names if n not in env and not _is_unset(n, "", service.unset_environment, name_only=True))


def build_environment(
    service: ServiceSection,
    manager_env: Mapping[str, str],
    manager_vars: Mapping[str, str],
    *,
    user_manager: bool,
    default_environment: Mapping[str, str] | None = None,
    credentials: UserCredentials | None = None,
    locale_conf: str | tuple[str, ...] = LOCALE_CONF,
    locale: Mapping[str, str] | None = None,
    warn: Warn | None = None,
) -> dict[str, str]:
    """The full environment of one spawned process of `service`.

    `manager_env`: the manager's own process environment (os.environ);
    `manager_vars`: variables the manager defines for this process (the engine's
    `Spawn.environment` — INVOCATION_ID must be among them — plus `notify_variables()`,
    JOURNAL_STREAM …); MANAGERPID is added for a user manager;
    `credentials`: the target user (default: resolved from User=, else the manager's user;
    None when User= cannot be resolved: the spawn then fails in the child with 217/USER).
    Raises EnvironmentFileError for an unreadable mandatory EnvironmentFile=.
    # spec: service-lifecycle.md §5.4
    """
    env = manager_environment(manager_env, user_manager=user_manager,
                              default_environment=default_environment, locale_conf=locale_conf, locale=locale)
    if user_manager:
        env["MANAGERPID"] = str(os.getpid())  # systemd: service_spawn(), user managers only
    _merge(env, manager_vars)
    if credentials is None:
        credentials = _target_user(service)
    _merge(env, user_variables(credentials, login_environment=bool(service.user) or user_manager))
    _merge(env, {n: manager_env[n] for n in service.pass_environment if n in manager_env})
    for assignment in service.environment:
        name, sep, value = assignment.partition("=")
        if sep and env_name_is_valid(name):
            env[name] = value
    _merge(env, load_environment_files(service.environment_files, warn))
    env = {k: v for k, v in env.items() if env_name_is_valid(k) and "\0" not in v}
    return {k: v for k, v in env.items() if not _is_unset(k, v, service.unset_environment)}


class SpawnEnvironments:
    """The environments of one manager's spawns: `build_environment()` with the system
    locale read once, at start-up and at each daemon-reload (a new instance), as systemd
    reads it (# systemd: manager_default_environment() → locale_setup(), from
    manager_new() and set_manager_defaults()); and, for a service spawned again with the
    same inputs (a restart), the block of its previous spawn with this spawn's
    INVOCATION_ID. A crash loop's restart rebuilt the same variables each time (~0.1 ms
    of its path with cold caches). Built afresh whenever an input may differ: other
    manager variables (MONITOR_*, SERVICE_RESULT …), EnvironmentFile= (read right before
    each spawn), User= (resolved at each spawn), an UnsetEnvironment= of INVOCATION_ID.
    # spec: service-lifecycle.md §5.4"""

    def __init__(self, manager_env: Mapping[str, str], *, user_manager: bool,
                 locale_conf: str | tuple[str, ...] = LOCALE_CONF) -> None:
        self.manager_env = manager_env
        self.user_manager = user_manager
        self.locale = {} if user_manager else system_locale(locale_conf)
        # id(service) → (service, inputs, block or None: seen once, kept from the second)
        self._previous: dict[int, tuple[ServiceSection, tuple, dict[str, str] | None]] = {}
        self._placeholder = "\x01invocation " + os.urandom(8).hex()  # no unit file can hold it

    def build(self, service: ServiceSection, manager_vars: Mapping[str, str], warn: Warn | None = None) -> dict[str, str]:
        """`build_environment(service, manager_env, manager_vars)`; raises as it does."""
        invocation = manager_vars.get("INVOCATION_ID")
        if (service.environment_files or service.user
                or any(p.partition("=")[0] == "INVOCATION_ID" for p in service.unset_environment)):
            return self._build(service, manager_vars, warn)
        inputs = (invocation is not None, tuple(sorted((k, v) for k, v in manager_vars.items() if k != "INVOCATION_ID")))
        previous = self._previous.get(id(service))
        if previous is None or previous[0] is not service or previous[1] != inputs:
            self._previous[id(service)] = (service, inputs, None)  # a unit started once keeps no block
            return self._build(service, manager_vars, warn)
        block = previous[2]
        if block is None:
            template = {**manager_vars, "INVOCATION_ID": self._placeholder} if invocation is not None else manager_vars
            block = self._build(service, template, warn)
            self._previous[id(service)] = (service, inputs, block)
        env = dict(block)
        if invocation is not None and env.get("INVOCATION_ID") == self._placeholder:
            env["INVOCATION_ID"] = invocation  # else Environment= set its own
        return env

    def _build(self, service: ServiceSection, manager_vars: Mapping[str, str], warn: Warn | None) -> dict[str, str]:
        return build_environment(service, self.manager_env, manager_vars, user_manager=self.user_manager,
                                 locale=self.locale, warn=warn)


def _target_user(service: ServiceSection) -> UserCredentials | None:
    try:
        return resolve_user(service.user if service.user else os.geteuid())
    except LookupError:
        return None


def _is_unset(name: str, value: str, patterns: Iterable[str], *, name_only: bool = False) -> bool:
    """UnsetEnvironment= matching: `NAME` removes any value, `NAME=V` only that value.
    # systemd: env_match()"""
    for p in patterns:
        if p == name:
            return True
        if not name_only and p == f"{name}={value}":
            return True
    return False


def _merge(into: dict[str, str], layer: Mapping[str, str]) -> None:
    # a later layer overrides in place, like strv_env_merge(); dict order is cosmetic
    for k, v in layer.items():
        into[k] = v
