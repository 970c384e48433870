"""Value kinds of unit-file settings: how one assignment is interpreted into the typed `Unit`.

Each kind is a function `(Interpretation, Directive, Assignment) -> None` that parses the value
with `values`, stores it in the field the `Directive` names, and reports problems in systemd's
words. The table that maps directive spellings to kinds is `schema.DIRECTIVES`.

Kinds and what an empty value does (spec: unit-files.md §2):
  string       specifiers expanded; empty resets to the default
  bool, unsigned, sec, sec_fix0, timeout, enum, signal, emergency
               scalar: empty is an error ("Failed to parse …, ignoring: ") and the old value stays
  sec_reset    like sec but empty resets (TimeoutAbortSec=)
  deps         dependency list: names appended, empty silently ignored (never resettable)
  exec         Exec*= command list: appended, empty resets
  env, env_file, pass_env, unset_env, strlist, docs, exit_set, condition
               lists: appended, empty resets
# spec: unit-files.md §2, §7.1; systemd: src/core/load-fragment.c
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

from sysvisor.core.types import EmergencyAction, KillMode, USEC_INFINITY
from sysvisor.core.units import Unit
from sysvisor.unitfile import name as unit_name
from sysvisor.unitfile import values as v
from sysvisor.unitfile.errors import Diagnostic, error, notice, warning
from sysvisor.unitfile.specifier import INSTALL_SPECIFIERS, SpecifierError, expand
from sysvisor.unitfile.syntax import Assignment

_PATH_CONDITIONS = frozenset({
    "NeedsUpdate", "PathExists", "PathExistsGlob", "PathIsDirectory", "PathIsSymbolicLink", "PathIsMountPoint",
    "PathIsReadWrite", "PathIsEncrypted", "DirectoryNotEmpty", "FileNotEmpty", "FileIsExecutable",
})


@dataclass
class Interpretation:
    """State while interpreting the files of one unit (fragment, then drop-ins)."""

    unit: Unit
    specifiers: Mapping[str, str]
    user_manager: bool = False
    release: int = 257  # which systemd's directive set and checks to follow
    wording: int = 252  # which systemd's message texts to print (252: systemd-analyze here)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    fatal: bool = False

    def warn(self, a: Assignment, message: str) -> None:
        self.diagnostics.append(warning(a.path, a.line, message))

    def notice(self, a: Assignment, message: str) -> None:
        """A sysvisor-only remark (not printed by systemd, filtered out by verify)."""
        self.diagnostics.append(notice(a.path, a.line, message))

    def parse_error(self, a: Assignment, legacy: str, errno: str = "Invalid argument") -> None:
        """"Failed to parse …" in the wording of `self.wording`.

        v257 prints the generic `Failed to parse KEY=VALUE, ignoring: ERRNO` for booleans,
        numbers, time spans, signals and most enums, where v252 named the value type.
        """
        if self.wording >= 257:
            self.warn(a, f"Failed to parse {a.key}={a.value}, ignoring: {errno}")
        else:
            self.warn(a, f"{legacy}, ignoring: {a.value}")

    def fail(self, a: Assignment, message: str) -> None:
        self.diagnostics.append(error(a.path, a.line, message))
        self.fatal = True

    def expand(self, text: str, allowed: frozenset[str] | None = None) -> str:
        return expand(text, self.specifiers, allowed)


@dataclass(frozen=True)
class Directive:
    """One row of the table."""

    target: str  # "unit", "service", "install": which section object gets the value
    field: str  # attribute of that object ("" for rows with a custom setter)
    kind: str
    extra: Any = None  # enum class, error wording, default …
    since: int = 0  # systemd version that introduced it (>252: unknown to v252 verify)


def _obj(ctx: Interpretation, d: Directive) -> Any:
    if d.target == "unit":
        return ctx.unit.unit
    if d.target == "install":
        return ctx.unit.install
    if d.target == "timer":
        return ctx.unit.timer
    return ctx.unit.service


def _set(ctx: Interpretation, d: Directive, value: Any) -> None:
    setattr(_obj(ctx, d), d.field, value)


def _get(ctx: Interpretation, d: Directive) -> Any:
    return getattr(_obj(ctx, d), d.field)


# --- kinds -------------------------------------------------------------------------------------


def _string(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    try:
        value = ctx.expand(a.value)
    except SpecifierError as exc:
        ctx.warn(a, f"Failed to resolve unit specifiers in '{a.value}', ignoring: {exc}")
        return
    default = d.extra if d.extra is not None else ("" if isinstance(_get(ctx, d), str) else None)
    _set(ctx, d, value if value else default)


def _bool(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    try:
        _set(ctx, d, v.parse_boolean(a.value))
    except ValueError:
        ctx.parse_error(a, "Failed to parse boolean value")


def _unsigned(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    try:
        _set(ctx, d, v.parse_unsigned(a.value))
    except ValueError as exc:
        errno = "Numerical result out of range" if str(exc) == "ERANGE" else "Invalid argument"
        ctx.parse_error(a, "Failed to parse unsigned value", errno)


def _sec(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    try:
        usec = v.parse_timespan(a.value)
    except ValueError:
        if d.kind == "sec_reset" and not a.value:
            _set(ctx, d, None)
            return
        wording = d.extra or "Failed to parse sec value"
        if "{key}" in wording:
            ctx.warn(a, f"{wording.format(key=a.key)}, ignoring: {a.value}")
        else:
            ctx.parse_error(a, wording)
        return
    if d.kind in ("sec_fix0", "timeout") and usec == 0:
        usec = USEC_INFINITY
    _set(ctx, d, usec)
    if a.key == "TimeoutSec":  # systemd: config_parse_service_timeout() sets both
        ctx.unit.service.timeout_stop_usec = usec


def _enum(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    enum_cls, wording = d.extra
    try:
        _set(ctx, d, enum_cls(a.value))
    except ValueError:
        if d.kind == "kill_mode":  # unchanged wording in v257
            ctx.warn(a, f"{wording}, ignoring: {a.value}")
        else:
            ctx.parse_error(a, wording)


def _kill_mode(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    if not a.value:  # documented reset
        _set(ctx, d, KillMode.CONTROL_GROUP)
        return
    if a.value == "none":  # systemd: config_parse_kill_mode()
        ctx.warn(a, "Unit uses KillMode=none. This is unsafe, as it disables systemd's process "
                    "lifecycle management for the service. Please update the service to use a safer "
                    "KillMode=, such as 'mixed' or 'control-group'. Support for KillMode=none is "
                    "deprecated and will eventually be removed.")
    _enum(ctx, Directive(d.target, d.field, "kill_mode", (KillMode, "Failed to parse kill mode specification")), a)


def _signal(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    try:
        _set(ctx, d, v.signal_from_string(a.value))
    except ValueError:
        out_of_range = v._safe_int(a.value) is not None
        ctx.parse_error(a, "Failed to parse signal name",
                        "Numerical result out of range" if out_of_range else "Invalid argument")


_USER_ACTIONS = frozenset({EmergencyAction.NONE, EmergencyAction.EXIT, EmergencyAction.EXIT_FORCE})


def _emergency(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    try:
        action = EmergencyAction(a.value)
    except ValueError:
        action = None
    if action is None or (ctx.user_manager and action not in _USER_ACTIONS):
        ctx.warn(a, f"Failed to parse {a.key}=, ignoring: {a.value}")
        return
    _set(ctx, d, action)


def _exit_status(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    if not a.value:
        _set(ctx, d, -1)
        return
    t = a.value
    try:
        status = v.parse_unsigned(t)  # systemd: safe_atou8(), base 0
    except ValueError as exc:
        errno = "Numerical result out of range" if str(exc) == "ERANGE" else "Invalid argument"
        ctx.warn(a, f"Failed to parse exit status '{t}', ignoring: {errno}")
        return
    if status > 255:
        ctx.warn(a, f"Failed to parse exit status '{t}', ignoring: Numerical result out of range")
    else:
        _set(ctx, d, status)


def _exit_set(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    result, bad = v.parse_exit_status_set(a.value, _get(ctx, d))
    for word in bad:
        ctx.warn(a, f"Failed to parse value, ignoring: {word}")
    _set(ctx, d, result)


# systemd: unit_should_warn_about_dependency()
_SELF_DEP_WARN = {"Conflicts": "Conflicts", "Before": "Before", "After": "After",
                  "OnSuccess": "OnSuccess", "OnFailure": "OnFailure"}


def _resolve_dependency(ctx: Interpretation, name: str) -> str:
    # systemd: resolve_template(): a template gets our instance, or our prefix if we have none
    if unit_name.is_valid(name, unit_name.TEMPLATE):
        own = ctx.unit.name
        inst = unit_name.instance(own) or unit_name.prefix(own)
        return unit_name.replace_instance(name, inst)
    return name


def _deps(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    lst = _get(ctx, d)
    for word in a.value.split():
        try:
            resolved = ctx.expand(word)
        except SpecifierError as exc:
            ctx.warn(a, f"Failed to resolve unit specifiers in '{word}', ignoring: {exc}")
            continue
        full = _resolve_dependency(ctx, resolved)
        if not unit_name.is_valid(full, unit_name.PLAIN | unit_name.INSTANCE):
            ctx.warn(a, f"Failed to add dependency on {resolved}, ignoring: Invalid argument")
            continue
        if full == ctx.unit.name:
            # systemd: unit_add_dependency() drops dependencies on itself, warning for some types
            kind = _SELF_DEP_WARN.get(a.key)
            if kind:
                ctx.diagnostics.append(warning(ctx.unit.name, 0, f"Dependency {kind}={full} is dropped."))
            continue
        if full not in lst:
            lst.append(full)


def _exec(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    if not a.value:
        _set(ctx, d, [])
        return
    parsed = v.parse_exec(a.value, expand=ctx.expand, origin=(a.path, a.line))
    for text, fatal in parsed.messages:
        (ctx.fail if fatal else ctx.warn)(a, text)
    _get(ctx, d).extend(parsed.commands)


def _env(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    env = _get(ctx, d)
    if not a.value:
        env.clear()
        return
    try:
        words = v.split_words(a.value)
    except ValueError:
        ctx.warn(a, f"Invalid syntax, ignoring: {a.value}")
        return
    for word in words:
        try:
            item = ctx.expand(word)
        except SpecifierError as exc:
            ctx.warn(a, f"Failed to resolve specifiers in {word}, ignoring: {exc}")
            continue
        if not v.env_assignment_is_valid(item):
            ctx.warn(a, f"Invalid environment assignment, ignoring: {item}")
            continue
        v.env_replace(env, item)


def _env_file(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    files = _get(ctx, d)
    if not a.value:
        files.clear()
        return
    try:
        path = ctx.expand(a.value)
    except SpecifierError as exc:
        ctx.warn(a, f"Failed to resolve unit specifiers in '{a.value}', ignoring: {exc}")
        return
    optional = path.startswith("-")
    bare = path[1:] if optional else path
    if not bare.startswith("/"):
        ctx.warn(a, f"{a.key}= path is not absolute, ignoring: {bare}")
        return
    files.append((bare, optional))


def _name_list(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    lst = _get(ctx, d)
    if not a.value:
        lst.clear()
        return
    try:
        # PassEnvironment= only unquotes (a backslash escapes one character)
        words = v.split_words(a.value, cunescape=d.kind != "pass_env")
    except ValueError:
        # systemd: config_parse_pass_environ(), config_parse_unset_environ()
        ctx.warn(a, f"Trailing garbage in {a.key}, ignoring: {a.value}")
        return
    for word in words:
        try:
            item = ctx.expand(word)
        except SpecifierError as exc:
            what = "specifiers" if d.kind == "pass_env" else "unit specifiers"  # observed v252
            ctx.warn(a, f"Failed to resolve {what} in {word}, ignoring: {exc}")
            continue
        if d.kind == "pass_env" and not v.env_name_is_valid(item):
            ctx.warn(a, f"Invalid environment name for {a.key}, ignoring: {item}")
            continue
        if d.kind == "unset_env" and not (v.env_name_is_valid(item) or v.env_assignment_is_valid(item)):
            ctx.warn(a, f"Invalid environment name or assignment {a.key}, ignoring: {item}")
            continue
        if item not in lst:
            lst.append(item)


def _documentation_url_is_valid(url: str) -> bool:
    """# systemd: documentation_url_is_valid()"""
    for prefix in ("http://", "https://", "file:/", "info:", "man:"):
        if url.startswith(prefix):
            rest = url[len(prefix):]
            return bool(rest) and rest.isascii()
    return False


def _docs(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    lst = _get(ctx, d)
    if not a.value:
        lst.clear()
        return
    try:  # systemd: config_parse_documentation(): unquote, backslashes kept
        words = v.split_words(a.value, cunescape=False, retain_escape=True)
    except ValueError:
        ctx.warn(a, f"Invalid syntax, ignoring: {a.value}")
        return
    for word in words:
        try:
            url = ctx.expand(word)
        except SpecifierError as exc:
            ctx.warn(a, f"Failed to resolve unit specifiers in '{word}', ignoring: {exc}")
            continue
        if not _documentation_url_is_valid(url):
            ctx.warn(a, f"Invalid URL, ignoring: {url}")
            continue
        if url not in lst:
            lst.append(url)


def _condition(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    lst = _get(ctx, d)
    if not a.value:
        lst.clear()  # an empty value of any Condition resets all of them
        return
    rest = a.value
    trigger = rest.startswith("|")
    if trigger:
        rest = rest[1:].lstrip(v.WHITESPACE)
    negate = rest.startswith("!")
    if negate:
        rest = rest[1:].lstrip(v.WHITESPACE)
    kind = a.key[len("Condition"):] if a.key.startswith("Condition") else a.key[len("Assert"):]
    try:
        value = ctx.expand(rest)
    except SpecifierError as exc:
        # systemd: config_parse_unit_condition_path() vs _string() quote differently
        shown = rest if kind in _PATH_CONDITIONS else f"'{rest}'"
        ctx.warn(a, f"Failed to resolve unit specifiers in {shown}, ignoring: {exc}")
        return
    if kind in _PATH_CONDITIONS and not value.startswith("/"):
        ctx.warn(a, f"{a.key}= path is not absolute, ignoring: {value}")
        return
    lst.append((a.key, trigger, negate, value))


def _path(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    """WorkingDirectory=/RootDirectory=/PIDFile=: empty resets."""
    if not a.value:
        _set(ctx, d, None)
        return
    try:
        value = ctx.expand(a.value)
    except SpecifierError as exc:
        if a.key == "WorkingDirectory":  # systemd: config_parse_working_directory()
            bare = a.value[1:] if a.value.startswith("-") else a.value
            if a.value.startswith("-"):
                ctx.warn(a, f"Failed to resolve unit specifiers in working directory path '{bare}', ignoring: {exc}")
            else:
                ctx.fail(a, f"Failed to resolve unit specifiers in working directory path '{bare}': {exc}")
            return
        if a.key == "PIDFile":  # not fatal for PIDFile= (observed v252)
            ctx.warn(a, f"Failed to resolve unit specifiers in '{a.value}', ignoring: {exc}")
        else:
            ctx.fail(a, f"Failed to resolve unit specifiers in '{a.value}': {exc}")
        return
    if a.key == "PIDFile":
        if not value.startswith("/"):
            value = "/run/" + value  # systemd: config_parse_pid_file()
        _set(ctx, d, value)
        return
    if a.key == "WorkingDirectory":
        # systemd: config_parse_working_directory(): "-" makes a bad path only a warning
        missing_ok = value.startswith("-")
        bare = value[1:] if missing_ok else value
        if bare == "~" or bare.startswith("/"):
            _set(ctx, d, value)
        elif missing_ok:
            ctx.warn(a, f"{a.key}= path is not absolute, ignoring: {bare}")
        else:
            ctx.fail(a, f"{a.key}= path is not absolute: {value}")
        return
    if not value.startswith("/"):
        ctx.fail(a, f"{a.key}= path is not absolute: {value}")
        return
    _set(ctx, d, value)


_STRICT_USER = re.compile(r"[a-zA-Z_][a-zA-Z0-9_-]{0,30}\$?")


def user_name_validity(name: str) -> str:
    """`strict`, `relaxed` (accepted with a warning) or `invalid`.

    # systemd: valid_user_group_name(VALID_USER_RELAX|VALID_USER_ALLOW_NUMERIC|VALID_USER_WARN)
    """
    if name.isascii() and name.isdigit():  # parse_uid() refuses leading zeros
        uid = int(name)
        ok = uid < 2**32 - 1 and uid != 65535 and (name == "0" or name[0] != "0")
        return "strict" if ok else "invalid"
    if not name or name[0] == " " or name[-1] == " " or ":" in name or "/" in name:
        return "invalid"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name) or v.has_surrogates(name):
        return "invalid"
    if name[0] == "-" and name[1:].isdigit():
        return "invalid"
    return "strict" if _STRICT_USER.fullmatch(name) else "relaxed"


def _check_user_name(ctx: Interpretation, a: Assignment, name: str) -> bool:
    validity = user_name_validity(name)
    if validity == "invalid":
        ctx.fail(a, f"Invalid user/group name or numeric ID: {name}")
        return False
    if validity == "relaxed":  # logged without file:line by systemd
        ctx.diagnostics.append(warning("", 0, f"Accepting user/group name '{name}', which does not match "
                                              "strict user/group name rules."))
    return True


def _user(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    """User=/Group=: empty resets; an invalid name is fatal. # systemd: config_parse_user_group_compat()"""
    if not a.value:
        _set(ctx, d, None)
        return
    try:
        value = ctx.expand(a.value)
    except SpecifierError as exc:
        ctx.fail(a, f"Failed to resolve unit specifiers in {a.value}: {exc}")
        return
    if not _check_user_name(ctx, a, value):
        return
    if a.key == "User" and value == "nobody":
        ctx.warn(a, "Special user nobody configured, this is not safe!")
    _set(ctx, d, value)


def _groups(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    """SupplementaryGroups=: appended, empty resets. # systemd: config_parse_user_group_strv_compat()"""
    lst = _get(ctx, d)
    if not a.value:
        lst.clear()
        return
    try:  # systemd: extract_first_word() without flags: a backslash escapes one character
        words = v.split_words(a.value, unquote=False, cunescape=False)
    except ValueError:
        words = a.value.split()
    for word in words:
        try:
            value = ctx.expand(word)
        except SpecifierError as exc:
            ctx.fail(a, f"Failed to resolve unit specifiers in {word}: {exc}")
            return
        if not _check_user_name(ctx, a, value):
            return
        if value not in lst:
            lst.append(value)


def _mode(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    try:
        _set(ctx, d, v.parse_mode(a.value))
    except ValueError:
        ctx.parse_error(a, "Failed to parse mode value")


def _nice(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    if not a.value:
        _set(ctx, d, None)
        return
    n = v._safe_int(a.value)  # systemd: parse_nice() -> safe_atoi(), base 0
    if n is None:
        ctx.warn(a, f"Failed to parse nice priority '{a.value}', ignoring: Invalid argument")
        return
    if not -20 <= n <= 19:
        ctx.warn(a, f"Nice priority out of range, ignoring: {a.value}")
        return
    _set(ctx, d, n)


def _limit(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    kind = a.key[len("Limit"):]
    try:
        ctx.unit.service.limits[kind] = v.parse_limit(kind, a.value)
    except v.LimitOrderError:
        ctx.warn(a, f"Soft resource limit chosen higher than hard limit, ignoring: {a.value}")
    except ValueError:
        ctx.parse_error(a, "Failed to parse resource value")


_OUTPUTS = frozenset({"inherit", "null", "tty", "journal", "kmsg", "journal+console", "kmsg+console",
                      "socket"})
_INPUTS = frozenset({"null", "tty", "tty-force", "tty-fail", "socket", "data"})


def _std_stream(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    value = a.value
    is_input = a.key == "StandardInput"
    if not is_input and value in ("syslog", "syslog+console"):
        ctx.warn(a, f"Standard output type {value} is obsolete, automatically updating to "
                    f"{value.replace('syslog', 'journal')}. Please update your unit file, and "
                    "consider removing the setting altogether.")
        value = value.replace("syslog", "journal")
    prefixes = ("fd:", "file:") if is_input else ("fd:", "file:", "append:", "truncate:")
    for pfx in prefixes:
        if value.startswith(pfx):
            arg = value[len(pfx):]
            try:
                arg = ctx.expand(arg)
            except SpecifierError as exc:
                ctx.warn(a, f"Failed to resolve unit specifiers in {arg}, ignoring: {exc}")
                return
            if pfx != "fd:" and not arg.startswith("/"):
                ctx.warn(a, f"{a.key}= path is not absolute: {arg}")
                return
            _set(ctx, d, pfx + arg)
            return
    if value in (_INPUTS if is_input else _OUTPUTS):
        _set(ctx, d, value)
        return
    ctx.warn(a, f"Failed to parse {'input' if is_input else 'output'} specifier, ignoring: {a.value}")


def _install_names(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    # [Install] is only read by enable/disable; at load only specifiers are expanded
    lst = _get(ctx, d)
    for word in a.value.split():
        try:
            lst.append(ctx.expand(word, INSTALL_SPECIFIERS))
        except SpecifierError:
            lst.append(word)


def _install_string(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    if ctx.release >= 257 and not unit_name.is_template(ctx.unit.name):
        ctx.warn(a, "DefaultInstance= only makes sense for template units, ignoring.")
        return
    try:
        value = ctx.expand(a.value, INSTALL_SPECIFIERS)
    except SpecifierError:
        value = a.value
    _set(ctx, d, value or None)


def _bus_name(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    try:
        value = ctx.expand(a.value)
    except SpecifierError as exc:
        ctx.warn(a, f"Failed to resolve unit specifiers in {a.value}, ignoring: {exc}")
        return
    if not _bus_name_is_valid(value):
        ctx.warn(a, f"Invalid bus name, ignoring: {value}")
        return
    _set(ctx, d, value)


def _bus_name_is_valid(text: str) -> bool:
    # systemd: sd_bus_service_name_is_valid() for a well-known name
    if len(text) > 255 or text.startswith(":"):
        return False
    parts = text.split(".")
    ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
    return len(parts) >= 2 and all(p and not p[0].isdigit() and all(c in ok for c in p) for p in parts)


def _obsolete_dep(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    ctx.warn(a, f"Unit dependency type {a.key}= is obsolete, replacing by {d.extra}=, please update your unit file")
    _deps(ctx, d, a)


def _removed(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    # systemd: config_parse_warn_compat(DISABLED_LEGACY)
    ctx.warn(a, f"Support for option {a.key}= has been removed and it is ignored")


def _deprecated_cgroup(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    ctx.warn(a, f"Unit uses {a.key}=; please use {d.extra} instead. Support for {a.key}= will be removed soon.")
    ctx.notice(a, not_supported(a.key))


_TIMER_TRIGGER_FIELDS = ("on_active_usec", "on_boot_usec", "on_startup_usec", "on_unit_active_usec",
                         "on_unit_inactive_usec", "on_calendar")


def _reset_timer_triggers(ctx: Interpretation) -> None:
    for name in _TIMER_TRIGGER_FIELDS:
        getattr(ctx.unit.timer, name).clear()


def _timer_span(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    if not a.value:  # empty resets all triggers, monotonic and calendar
        _reset_timer_triggers(ctx)
        return
    try:
        usec = v.parse_timespan(ctx.expand(a.value))
    except ValueError:
        ctx.warn(a, f"Failed to parse timer value, ignoring: {a.value}")
        return
    _get(ctx, d).append(usec)


def _calendar(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    if not a.value:
        _reset_timer_triggers(ctx)
        return
    try:
        text = ctx.expand(a.value)
    except SpecifierError as exc:
        ctx.warn(a, f"Failed to resolve unit specifiers in {a.value}, ignoring: {exc}")
        return
    try:  # the calendar grammar lives in core.calendar (its own branch); check when present
        from sysvisor.core import calendar
    except ImportError:
        calendar = None
    if calendar is not None:
        try:
            calendar.parse_calendar(text)
        except ValueError:
            ctx.warn(a, f"Failed to parse calendar specification, ignoring: {a.value}")
            return
    _get(ctx, d).append(text)


def _trigger_unit(ctx: Interpretation, d: Directive, a: Assignment) -> None:
    # systemd: config_parse_trigger_unit()
    if ctx.unit.timer.unit is not None:
        ctx.warn(a, f"Multiple units to trigger specified, ignoring: {a.value}")
        return
    try:
        value = ctx.expand(a.value)
    except SpecifierError as exc:
        ctx.warn(a, f"Failed to resolve unit specifiers in {a.value}, ignoring: {exc}")
        return
    if value.rsplit(".", 1)[-1] not in unit_name.UNIT_TYPES or "." not in value:
        ctx.warn(a, f"Unit type not valid, ignoring: {value}")
        return
    if value == ctx.unit.name:
        ctx.warn(a, f"Units cannot trigger themselves, ignoring: {value}")
        return
    if not unit_name.is_valid(value, unit_name.PLAIN | unit_name.INSTANCE):
        ctx.warn(a, f"Failed to set unit name, ignoring: {value}")
        return
    ctx.unit.timer.unit = value


def not_supported(key: str) -> str:
    """The notice for a directive systemd knows and sysvisor does not implement."""
    return f"{key}= is not supported by sysvisor, ignoring."


KINDS: dict[str, Callable[[Interpretation, Directive, Assignment], None]] = {
    "string": _string, "bool": _bool, "unsigned": _unsigned,
    "sec": _sec, "sec_fix0": _sec, "sec_reset": _sec, "timeout": _sec,
    "enum": _enum, "kill_mode": _kill_mode, "signal": _signal, "emergency": _emergency,
    "exit_status": _exit_status, "exit_set": _exit_set, "deps": _deps, "exec": _exec,
    "env": _env, "env_file": _env_file, "pass_env": _name_list, "unset_env": _name_list,
    "strlist": _name_list, "docs": _docs, "condition": _condition, "path": _path, "user": _user,
    "groups": _groups, "mode": _mode, "nice": _nice, "limit": _limit, "std": _std_stream,
    "install_names": _install_names, "install_string": _install_string, "bus_name": _bus_name,
    "timer_span": _timer_span, "calendar": _calendar, "trigger_unit": _trigger_unit,
    "obsolete_dep": _obsolete_dep, "removed": _removed, "deprecated_cgroup": _deprecated_cgroup,
}
