"""`sysvisor VERB …`: systemctl's verbs, options, output and exit codes.

Hot verbs (is-active, is-failed, start, stop …) import only the socket client; rendering,
the journal reader, the parser and the engine are imported by the verbs that need them.
# spec: systemctl-and-journal.md §1, §2
"""

from __future__ import annotations

import sys

from sysvisor.unitfile import name as unit_name
from sysvisor.unitfile.name import UNIT_TYPES

# Verbs that parse their own command line.
DELEGATED = {"up", "logs", "journal", "simulate", "calendar", "verify", "install-shims", "completion"}
_OPTIONS_WITH_VALUE = {"--socket", "-p", "--property", "-P", "-n", "--lines", "-o", "--output", "-s", "--signal", "--kill-whom", "--job-mode", "--state", "-t", "--type",
                       "--check-inhibitors", "--legend"}

UNIT_SUFFIXES = tuple("." + t for t in UNIT_TYPES)

LOG_LEVELS = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
EXIT_NOT_RUNNING = 3
EXIT_UNKNOWN = 4
EXIT_NOT_INSTALLED = 5


class BadUnitName(ValueError):
    """A name that cannot be made a unit name (the empty one)."""


_MANGLE_KEEP = unit_name.VALID_CHARS | {"@"}
_GLOB_KEEP = _MANGLE_KEEP | frozenset("[]!-*?")


def mangle(name: str, *, warn: bool = False, suffix: str = ".service") -> str:
    """`web` → `web.service`; unit names and globs stay as they are; a path names its
    .mount (or .device) unit; other characters are escaped (`a b` → `a\\x20b.service`), with
    systemctl's notice when `warn`. Raises BadUnitName for "".

    # systemd: unit_name_mangle_with_suffix(UNIT_NAME_MANGLE_GLOB)
    """
    if not name:
        raise BadUnitName(name)
    if unit_name.is_valid(name) or (any(c in name for c in "*?[") and all(c in _GLOB_KEEP for c in name)):
        return name
    if name.startswith("/"):
        path = "/" + "/".join(p for p in name.split("/") if p and p != ".")
        kind = ".device" if path.startswith(("/dev/", "/sys/")) else ".mount"
        return ("-" if path == "/" else unit_name.escape(path.strip("/"))) + kind
    escaped = "".join("-" if c == "/" else c if c in _MANGLE_KEEP else "".join(f"\\x{b:02x}" for b in c.encode("utf-8", "surrogateescape"))
                      for c in name)
    if escaped != name and warn:
        print(f'Invalid unit name "{name}" escaped as "{escaped}" (maybe you should use systemd-escape?).', file=sys.stderr)
    # (systemd appends the suffix to any invalid result: `@.service` → `@.service.service`; a
    # name that already ends in a unit type keeps it here, so that mangling twice changes nothing)
    return escaped if escaped.rpartition(".")[2] in UNIT_TYPES and "." in escaped else escaped + suffix


# verbs whose arguments are unit names (or globs); isolate appends .target itself
_UNIT_NAME_VERBS = {"start", "stop", "restart", "try-restart", "reload", "reload-or-restart", "try-reload-or-restart",
                    "status", "show", "is-active", "is-failed", "kill", "reset-failed", "list-dependencies"}


def _mangle_args(verb: str, args) -> int | None:
    """Mangle the unit names of `verb` once, with systemctl's notices and errors (exit 1
    for an empty name); None when all could be."""
    if verb in UNIT_FILE_VERBS:
        if "" in args.args:  # (enable and friends also take paths)
            print("Failed to mangle unit name or path '': Invalid argument", file=sys.stderr)
            return 1
        return None
    if verb not in _UNIT_NAME_VERBS:
        return None
    try:
        args.args = [mangle(n, warn=not getattr(args, "quiet", False)) for n in args.args]
    except BadUnitName:
        print("Failed to mangle name: Invalid argument\nFailed to expand names: Invalid argument", file=sys.stderr)
        return 1
    return None


def _find_verb(argv: list[str]) -> int | None:
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            return i + 1 if i + 1 < len(argv) else None
        if token.startswith("-"):
            if token in _OPTIONS_WITH_VALUE:
                i += 1
            i += 1
            continue
        return i
    return None


# Arguments after the verb, (at least, at most: None = any), as systemctl's verb table has
# them; a verb outside the range fails with "Too few/many arguments." and exit 1.
# systemd 257: systemctl.c verbs[] (checked with the oracle: `poweroff now` powers nothing off)
VERB_ARGS = {
    "reload": (1, None), "restart": (1, None), "try-restart": (1, None), "try-reload-or-restart": (1, None),
    "isolate": (1, 1), "kill": (1, None), "is-active": (1, None), "cat": (1, None), "edit": (1, None),
    "enable": (1, None), "disable": (1, None), "is-enabled": (1, None), "mask": (1, None), "unmask": (1, None),
    "daemon-reload": (0, 0), "daemon-reexec": (0, 0), "is-system-running": (0, 0),
    "poweroff": (0, 0), "reboot": (0, 0), "halt": (0, 0), "kexec": (0, 0), "soft-reboot": (0, 0), "exit": (0, 1),
}
LOAD_STATES = ("stub", "loaded", "not-found", "bad-setting", "error", "merged", "masked")


def _verb_args_error(verb: str, args: list[str]) -> str | None:
    low, high = VERB_ARGS.get(verb, (0, None))
    if len(args) < low:
        return "Too few arguments."
    if high is not None and len(args) > high:
        return "Too many arguments."
    return None


def _types_and_states(args) -> int | None:
    """systemctl -t/--type: unit types, or load states (kept for old callers); `help` lists
    them; anything else is an error. # systemd 257: systemctl.c parse_argv() 't'"""
    types = []
    for t in (t for spec in args.type for t in spec.split(",") if t):
        if t == "help":
            print("Available unit types:\n" + "\n".join(UNIT_TYPES))
            return 0
        if t in UNIT_TYPES:
            types.append(t)
        elif t in LOAD_STATES:
            args.state.append(t)
        else:
            print(f"Unknown unit type or load state '{t}'.\nUse -t help to see a list of allowed values.", file=sys.stderr)
            return 1
    args.type = types
    return None


def _option_error(message: str) -> str:
    """argparse's complaint in getopt's words, as systemctl prints it."""
    import re

    if m := re.fullmatch(r"argument (\S+): expected one argument", message):
        names = m.group(1).split("/")
        short = next((n for n in names if not n.startswith("--")), None)
        return f"option requires an argument -- '{short[1:]}'" if short else f"option '{names[0]}' requires an argument"
    if m := re.fullmatch(r"argument -n/--lines: invalid int value: '(.*)'", message, re.S):
        return f"Failed to parse lines '{m.group(1)}'"
    if m := re.fullmatch(r"argument (\S+): ignored explicit argument '(.*)'", message, re.S):
        return f"option '{m.group(1).split('/')[-1]}' doesn't allow an argument"
    if m := re.fullmatch(r"unrecognized arguments: (\S+).*", message, re.S):
        option = m.group(1)
        return f"unrecognized option '{option}'" if option.startswith("--") else f"invalid option -- '{option[1:2]}'"
    return message


def _parser():
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str):  # systemctl's words and exit status (1), not argparse's usage and 2
            text = _option_error(message)
            print(text if text.startswith("Failed") else f"{self.prog}: {text}", file=sys.stderr)
            raise SystemExit(1)

    p = Parser(prog="sysvisor", description="Run systemd units anywhere; speaks systemctl.", add_help=True)
    p.add_argument("verb", nargs="?", default="list-units")
    p.add_argument("args", nargs="*")
    p.add_argument("--socket", help="control socket of the manager")
    p.add_argument("--user", action="store_true", help="talk to the user manager (default for non-root)")
    p.add_argument("--system", action="store_true", help="talk to the system manager (default for root)")
    p.add_argument("--no-block", action="store_true")
    p.add_argument("--no-pager", action="store_true")
    p.add_argument("--no-legend", action="store_true")
    p.add_argument("--plain", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("-l", "--full", action="store_true")
    p.add_argument("-p", "--property", action="append", default=[])
    p.add_argument("-P", dest="property_value", action="append", default=[])
    p.add_argument("--value", action="store_true")
    p.add_argument("-n", "--lines", type=int, default=10)
    p.add_argument("-o", "--output", default="short")
    p.add_argument("-s", "--signal", default="SIGTERM")
    p.add_argument("--kill-whom", default="all")  # (checked by the kill verb, as systemctl's manager does)
    p.add_argument("--job-mode", default="replace")
    p.add_argument("--state", action="append", default=[])
    p.add_argument("-t", "--type", action="append", default=[])
    p.add_argument("--failed", action="store_true")
    p.add_argument("--color", action="store_true")
    p.add_argument("--root", help="operate on unit files below this directory (offline verbs)")
    p.add_argument("--runtime", action="store_true", help="enable/mask in /run only")
    p.add_argument("--now", action="store_true", help="with enable/disable: also start/stop")
    p.add_argument("--wait", action="store_true", help="with start/restart: return once the units have stopped again")
    p.add_argument("-f", "--force", action="store_true")
    # systemctl options scripts pass that mean nothing here: taken and ignored (sysvisor asks
    # for no password, writes to no terminal but its own, has no inhibitors)
    for flag in ("--no-ask-password", "--no-wall", "--no-warn"):
        p.add_argument(flag, action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--check-inhibitors", metavar="MODE", help=argparse.SUPPRESS)
    p.add_argument("--legend", metavar="BOOL", help="--legend=no: as --no-legend")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    fast = _fast_check(argv)
    if fast is not None:
        return fast
    at = _find_verb(argv)
    if at is not None and argv[at] in DELEGATED:
        return _delegate(argv[at], argv[:at] + argv[at + 1 :])
    args = _parser().parse_intermixed_args(argv)
    verb = args.verb
    if args.legend is not None:  # systemd 257's words
        legend = args.legend.lower()
        if legend not in ("1", "yes", "y", "true", "t", "on", "0", "no", "n", "false", "f", "off"):
            print(f"Failed to parse boolean argument to --legend: {args.legend}.", file=sys.stderr)
            return 1
        args.no_legend = args.no_legend or legend in ("0", "no", "n", "false", "f", "off")
    if args.check_inhibitors not in (None, "auto", "yes", "no"):
        print(f"Failed to parse --check-inhibitors= argument: {args.check_inhibitors}", file=sys.stderr)
        return 1
    complaint = _verb_args_error(verb, args.args)
    if complaint:
        print(complaint, file=sys.stderr)
        return 1
    rc = _types_and_states(args)
    if rc is None:
        rc = _mangle_args(verb, args)
    if rc is not None:
        return rc
    if verb in UNIT_FILE_VERBS:
        from sysvisor.cli.client import find_socket

        return _unit_file_verb(verb, args, find_socket(args.socket, _scope(args)))
    handler = VERBS.get(verb)
    if handler is None:
        print(f"Unknown command verb '{verb}'.", file=sys.stderr)
        return 1
    from sysvisor.cli.client import NoManager, find_socket

    try:
        return handler(args, find_socket(args.socket, _scope(args)))
    except NoManager as e:
        print(str(e), file=sys.stderr)
        return 1
    except BadUnitName:  # a pattern of list-units and the like
        print("Failed to mangle name: Invalid argument", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130


def _scope(args) -> bool | None:
    """--user → True, --system → False, neither → None (the caller's default)."""
    return True if args.user else False if args.system else None


class _FastArgs:
    """The few options is-active/is-failed/status take, without argparse (9-12 ms of imports)."""

    def __init__(self, verb: str, units: list[str], quiet: bool, lines: int = 10, full: bool = False,
                 color: bool = False) -> None:
        self.verb, self.args, self.quiet = verb, units, quiet
        self.lines, self.full, self.color = lines, full, color


def _fast_check(argv: list[str]) -> int | None:
    """is-active/is-failed are called in loops by scripts (`systemctl -q is-active x`, options
    before the verb as often as after) and status by people and monitors: parse them by hand.
    Anything unusual falls back to the full parser (None)."""
    verb, quiet, user, socket_path, units = None, False, None, None, []
    lines, full, color, status_only = 10, False, False, False
    rest = iter(argv)
    for token in rest:
        if token in ("-q", "--quiet"):
            quiet = True
        elif token in ("-n", "--lines") or token.startswith("--lines="):
            value = token[len("--lines="):] if "=" in token else next(rest, None)
            if value is None or not value.isdigit():
                return None
            lines, status_only = int(value), True
        elif token in ("-l", "--full"):
            full = status_only = True
        elif token == "--color":
            color = status_only = True
        elif token == "--no-pager":
            continue  # any verb takes it; none of these pages
        elif token in ("--user", "--system"):
            user = token == "--user"
        elif token == "--socket":
            socket_path = next(rest, None)
            if socket_path is None:
                return None
        elif token.startswith("--socket="):
            socket_path = token[len("--socket="):]
        elif token.startswith("-"):
            return None
        elif verb is None:
            if token not in ("is-active", "is-failed", "status"):
                return None
            verb = token
        else:
            units.append(token)
    if verb is None or (status_only and verb != "status"):
        return None
    if any(not u or not _GLOB_KEEP.issuperset(u) for u in units):
        return None  # a name to escape (with a notice) or refuse: the full path does it
    from sysvisor.cli.client import NoManager, find_socket

    args = _FastArgs(verb, units, quiet, lines, full, color)
    try:
        return VERBS[verb](args, find_socket(socket_path, user))
    except NoManager as e:
        print(str(e), file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0


def _delegate(verb: str, rest: list[str]) -> int:
    import argparse

    if verb == "up":
        p = argparse.ArgumentParser(prog="sysvisor up", description="Run the manager in the foreground.")
        p.add_argument("--units", action="append", metavar="DIR", help="unit search path (repeatable); default: systemd's paths")
        p.add_argument("--runtime-dir", help="control/notify sockets (default /run/sysvisor or $XDG_RUNTIME_DIR/sysvisor)")
        p.add_argument("--state-dir", help="persistent state and journal (default /var/lib/sysvisor or $XDG_STATE_HOME/sysvisor)")
        p.add_argument("--log-level", default="info", choices=LOG_LEVELS, help="most verbose manager message kept (default info)")
        p.add_argument("--deserialize", metavar="FILE", help=argparse.SUPPRESS)  # daemon-reexec
        p.add_argument("--journal-max-use", metavar="SIZE", help="journal size limit, e.g. 500M (default: 10%% of the file system, at most 4G, as journald)")
        p.add_argument("--no-keeper", action="store_true", help="run the manager without its keeper process (exit statuses of services that end while the manager is down are then unknown, and nobody restarts a crashed manager)")
        p.add_argument("--allow-host-reboot", action="store_true", help="as PID 1 of a real machine (never in a container), let reboot/poweroff/halt/kexec actions reboot or power off the machine instead of restarting all units in place or exiting")
        p.add_argument("--keeper-fd", type=int, help=argparse.SUPPRESS)  # the keeper's child
        a = p.parse_args(rest)
        max_use = None
        if a.journal_max_use:
            from sysvisor.unitfile.values import parse_size

            try:
                max_use = parse_size(a.journal_max_use)
            except ValueError:
                p.error(f"invalid size '{a.journal_max_use}' for --journal-max-use (examples: 500M, 2G)")
        from sysvisor.daemon.main import keeper_command, run

        if a.keeper_fd is None and a.deserialize is None:  # asked by a person (not a restart of ours)
            import os

            for directory in a.units or ():  # a typo would start a manager with no units at all
                if not os.path.isdir(directory):
                    p.error(f"--units {directory}: " + ("not a directory" if os.path.exists(directory) else "no such directory"))
        if not a.no_keeper and a.keeper_fd is None and a.deserialize is None:
            # become the keeper (same PID: PID 1 in a container); it runs the manager as its child
            argv, env = keeper_command(rest, a.runtime_dir)
            sys.stdout.flush()
            import os

            os.execve(argv[0], argv, env)
        if a.no_keeper:  # also after daemon-reexec: the old image's lock closed with the exec
            from sysvisor.daemon.main import hold_runtime_lock

            refusal = hold_runtime_lock(a.runtime_dir)
            if refusal:
                print(refusal, file=sys.stderr)
                return 1
        return run(a.units, a.runtime_dir, a.state_dir, log_level=LOG_LEVELS.index(a.log_level), deserialize=a.deserialize, journal_max_use=max_use,
                   keeper_fd=a.keeper_fd, allow_host_reboot=a.allow_host_reboot)
    if verb in ("logs", "journal"):
        return _logs(rest)
    if verb == "simulate":
        from sysvisor.cli.simulate import main as simulate_main

        return simulate_main(rest)
    if verb == "calendar":
        from sysvisor.cli.calendar import main as calendar_main

        return calendar_main(rest)
    if verb == "verify":
        from sysvisor.unitfile.verify import main as verify_main

        return verify_main(rest)
    if verb == "install-shims":
        from sysvisor.cli.shims import main as shims_main

        return shims_main(rest)
    if verb == "completion":
        from sysvisor.cli.completion import main as completion_main

        return completion_main(rest)
    raise AssertionError(verb)


def _logs(rest: list[str]) -> int:
    """Read the journal directly (like journalctl); ask the manager where it is, if one runs."""
    from sysvisor.cli.client import NoManager, find_socket, request
    from sysvisor.cli.logs import main as logs_main
    from sysvisor.protocol.control import state_dir

    socket_arg = None
    if "--socket" in rest:
        i = rest.index("--socket")
        socket_arg = rest[i + 1] if i + 1 < len(rest) else None
        rest = rest[:i] + rest[i + 2 :]
    boot_id = None
    try:
        info = request(find_socket(socket_arg), {"verb": "manager-info"}, timeout=5)
        journal_dir = info["journal_dir"]
        boot_id = info.get("boot_id")
    except NoManager:
        import os

        journal_dir = os.path.join(state_dir(), "journal")
    return logs_main(rest, journal_dir, boot_id=boot_id)


# --- verbs on unit files (work without a manager) ---

UNIT_FILE_VERBS = ("enable", "disable", "is-enabled", "mask", "unmask", "cat", "list-unit-files", "edit")


def _unit_file_verb(verb: str, args, socket_path: str) -> int:
    import os

    from sysvisor.cli import unitfiles
    from sysvisor.cli.client import NoManager, request

    info = None
    if not args.root:
        try:
            info = request(socket_path, {"verb": "manager-info"}, timeout=5)
        except NoManager:
            info = None
    ctx = unitfiles.Context(args, info)
    if verb == "list-unit-files":
        names = list(args.args)
    else:
        names = []
        for n in args.args:
            if "/" in n and verb in ("enable", "disable", "mask", "unmask") and not n.endswith(UNIT_SUFFIXES):
                # a path (systemctl's is_path()): only a unit file's can be named so
                print(f"Failed to {verb} unit: File {os.path.abspath(n)}: Invalid argument", file=sys.stderr)
                return 1
            names.append(n if "/" in n else mangle(n))
    if verb == "enable":
        rc = unitfiles.verb_enable(ctx, names)
    elif verb == "disable":
        rc = unitfiles.verb_disable(ctx, names)
    elif verb == "is-enabled":
        return unitfiles.verb_is_enabled(ctx, names, args.quiet)
    elif verb == "mask":
        rc = unitfiles.verb_mask(ctx, names)
    elif verb == "unmask":
        rc = unitfiles.verb_unmask(ctx, names)
    elif verb == "cat":
        return unitfiles.verb_cat(ctx, names)
    elif verb == "edit":
        rc = unitfiles.verb_edit(ctx, names, full=args.full, force=args.force)
    else:
        states = [s for spec in args.state for s in spec.split(",")]
        return unitfiles.verb_list_unit_files(ctx, args.args, not args.no_legend, states)
    if info is not None:  # like systemctl: the manager re-reads what we changed
        request(socket_path, {"verb": "daemon-reload"})
        if args.now and rc == 0 and verb in ("enable", "disable"):
            job = "start" if verb == "enable" else "stop"
            reply = request(socket_path, {"verb": job, "units": names, "no_block": args.no_block})
            for failure in reply.get("failures", []):
                print(job_failure_text(failure), file=sys.stderr)
            rc = 0 if reply.get("ok") else 1
    elif args.now:
        print(f"No manager is running; '{verb} --now' changed the unit files only.", file=sys.stderr)
    return rc


# --- verbs talking to the manager ---


def _units(args, socket_path: str, names: list[str], journal: dict | None = None) -> list[dict]:
    """Properties of `names`; with `journal` (a dict) also the journal's directory and
    boot id stored into it, from the same reply (one round trip for `status`)."""
    from sysvisor.cli.client import request

    message = {"verb": "units", "units": [mangle(n) for n in names]}
    if journal is not None:
        message["journal"] = True
    reply = request(socket_path, message)
    if not reply.get("ok"):
        raise SystemExit(_fail(reply))
    if journal is not None and "journal_dir" in reply:
        journal.update(journal_dir=reply["journal_dir"], boot_id=reply.get("boot_id"))
    return reply["units"]


def _fail(reply: dict) -> int:
    print(reply.get("error", "request failed"), file=sys.stderr)
    return int(reply.get("exit", 1))


def verb_is_active(args, socket_path: str) -> int:
    return _check_state(args, socket_path, ("active", "reloading"), EXIT_NOT_RUNNING)


def verb_is_failed(args, socket_path: str) -> int:
    """Without units: whether the system is degraded (its state printed). # systemd 257: verb_is_failed()"""
    if not args.args:
        from sysvisor.cli.client import request

        state = request(socket_path, {"verb": "manager"})["properties"]["SystemState"]
        if not args.quiet:
            print(state)
        return 0 if state == "degraded" else 1
    return _check_state(args, socket_path, ("failed",), 1)


def _check_state(args, socket_path: str, good: tuple[str, ...], code: int) -> int:
    """# systemd: check_unit_generic() — any good state wins, else 4 if one was not found."""
    if not args.args:
        print("Too few arguments.", file=sys.stderr)
        return 1
    ok = not_found = False
    for props in _units(args, socket_path, args.args):
        state = props.get("ActiveState", "inactive")
        if not args.quiet:
            print(state)
        ok = ok or state in good
        not_found = not_found or props.get("LoadState") == "not-found"
    return 0 if ok else EXIT_UNKNOWN if not_found else code


def verb_status(args, socket_path: str) -> int:
    """# spec: systemctl-and-journal.md §3; exit codes §2"""
    import os
    import time

    from sysvisor.cli.format import colors_enabled
    from sysvisor.cli.render import render_manager_status, render_status, status_exit_code, status_unit_missing

    color = colors_enabled(os.environ, sys.stdout.isatty(), sys.stderr.isatty(), True if args.color else None)
    now = time.time_ns() // 1000
    if not args.args:
        import socket

        from sysvisor.cli.client import request

        reply = request(socket_path, {"verb": "manager"})
        sys.stdout.write(render_manager_status(reply["properties"], now, hostname=socket.gethostname(), color=color))
        return 0
    result = 0
    texts = []
    journal: dict = {}
    for props in _units(args, socket_path, args.args, journal if args.lines > 0 else None):
        if status_unit_missing(props):
            print(f"Unit {props['Id']} could not be found.", file=sys.stderr)
            result = result or EXIT_UNKNOWN
            continue
        lines = _journal_lines(socket_path, props["Id"], args.lines, journal) if args.lines > 0 else []
        texts.append(render_status(props, lines, now, color=color, full=args.full, now_monotonic_usec=time.monotonic_ns() // 1000))
        result = result or status_exit_code(props)
    sys.stdout.write("\n".join(texts))
    return result


def verb_list_dependencies(args, socket_path: str) -> int:
    """The Requires=/Requisite=/Wants=/BindsTo=/Upholds= tree; only targets are expanded
    unless --all. # systemd: systemctl-list-dependencies.c"""
    import os

    from sysvisor.cli.format import Style, active_state_color, active_state_glyph, colors_enabled

    st = Style(color=colors_enabled(os.environ, sys.stdout.isatty(), sys.stderr.isatty(), True if args.color else None))
    root = mangle(args.args[0]) if args.args else "default.target"
    kinds = ("Requires", "Requisite", "Wants", "BindsTo", "Upholds", "ConsistsOf")
    cache: dict[str, dict] = {}

    def props(name: str) -> dict:
        if name not in cache:
            cache[name] = _units(args, socket_path, [name])[0]
        return cache[name]

    print(root)

    def walk(name: str, prefix: str, seen: frozenset[str]) -> None:
        deps = sorted({d for k in kinds for d in props(name).get(k) or ()})
        for i, dep in enumerate(deps):
            last = i == len(deps) - 1
            state = props(dep).get("ActiveState")
            glyph = st.paint(st.glyph(active_state_glyph(state)), active_state_color(state))
            print(f"{glyph} {prefix}{st.glyph('tree-right' if last else 'tree-branch')}{dep}")
            if dep not in seen and (args.all or dep.endswith(".target")):
                walk(dep, prefix + ("  " if last else st.glyph("tree-vertical")), seen | {dep})

    walk(root, "", frozenset({root}))
    return 0


def verb_is_system_running(args, socket_path: str) -> int:
    from sysvisor.cli.client import request

    state = request(socket_path, {"verb": "manager"})["properties"]["SystemState"]
    if not args.quiet:
        print(state)
    return 0 if state == "running" else 1


def verb_list_jobs(args, socket_path: str) -> int:
    from sysvisor.cli.client import request

    jobs = request(socket_path, {"verb": "list-jobs"})["jobs"]
    if not jobs:
        print("No jobs running.")
        return 0
    width = max(len(j["unit"]) for j in jobs)
    if not args.no_legend:
        print(f"{'JOB':<4} {'UNIT':<{width}} {'TYPE':<7} STATE")
    for j in jobs:
        print(f"{j['id']:<4} {j['unit']:<{width}} {j['type']:<7} {j['state']}")
    if not args.no_legend:
        print(f"\n{len(jobs)} jobs listed.")
    return 0


def _journal_lines(socket_path: str, unit: str, n: int, info: dict | None = None) -> list[str]:
    """The unit's last `n` journal lines of this manager instance (newest segments walked
    backwards, other units' records skipped unread); `info`: the journal's directory and
    boot id if the caller has them already. # spec: systemctl-and-journal.md §3"""
    from sysvisor.cli.client import request
    from sysvisor.journal.format import format_entry
    from sysvisor.journal.message import unit_log

    if not info or "journal_dir" not in info:
        info = request(socket_path, {"verb": "manager-info"})
    entries = unit_log(info["journal_dir"], unit, lines=n, boot_id=info.get("boot_id"))
    return [format_entry(e, "short").rstrip("\n") for e in entries]


def verb_show(args, socket_path: str) -> int:
    from sysvisor.protocol.properties import format_show

    names = [p for spec in args.property + args.property_value for p in spec.split(",") if p]
    value_only = args.value or bool(args.property_value)
    if not args.args:  # the manager's own properties
        from sysvisor.cli.client import request

        props = request(socket_path, {"verb": "manager"})["properties"]
        props = {k: v for k, v in props.items() if k != "CGroupTree"}
        sys.stdout.write(format_show(props, names or None, value_only=value_only, all_=args.all))
        return 0
    blocks = []
    for props in _units(args, socket_path, args.args):
        blocks.append(format_show(props, names or None, value_only=value_only, all_=args.all))
    sys.stdout.write("\n".join(blocks))
    return 0


def verb_list_units(args, socket_path: str) -> int:
    import os

    from sysvisor.cli.client import request
    from sysvisor.cli.format import colors_enabled
    from sysvisor.cli.listing import render_list_units, select_units

    reply = request(socket_path, {"verb": "list-units"})
    if not reply.get("ok"):
        return _fail(reply)
    states = [s for spec in args.state for s in spec.split(",")] + (["failed"] if args.failed else [])
    types = args.type  # checked and split by _types_and_states()
    rows = select_units(reply["units"], [mangle(n) for n in args.args], all_=args.all, states=states, types=types)
    color = colors_enabled(os.environ, sys.stdout.isatty(), sys.stderr.isatty(), True if args.color else None)
    sys.stdout.write(render_list_units(rows, all_=args.all, plain=args.plain, legend=not args.no_legend, color=color, states_filter=states or None))
    return 0


def verb_list_timers(args, socket_path: str) -> int:
    """`list-timers [PATTERN...] [--all]`: the loaded timers, next elapse first.
    # spec: timers.md §6"""
    import os
    import time

    from sysvisor.cli.format import colors_enabled
    from sysvisor.cli.listing import render_list_timers

    patterns = [mangle(n) for n in args.args] or ["*.timer"]
    rows = [r for r in _units(args, socket_path, patterns)
            if str(r.get("Id", "")).endswith(".timer") and "NextElapseUSecRealtime" in r
            and (args.all or r.get("ActiveState") not in ("inactive", "failed"))]
    color = colors_enabled(os.environ, sys.stdout.isatty(), sys.stderr.isatty(), True if args.color else None)
    sys.stdout.write(render_list_timers(rows, time.time_ns() // 1000, time.monotonic_ns() // 1000,
                                        all_=args.all, legend=not args.no_legend, color=color))
    return 0


def _job_verb(verb: str):
    def run(args, socket_path: str) -> int:
        if not args.args:  # (the counts of VERB_ARGS are checked before)
            print("List of units to restart/reload is required." if verb == "reload-or-restart" else "Too few arguments.", file=sys.stderr)
            return 1
        # systemctl isolate NAME: a name without suffix is a target
        names = [mangle(n if verb != "isolate" or n.endswith(UNIT_SUFFIXES) else n + ".target") for n in args.args]
        if args.wait:
            if verb not in ("start", "restart"):
                print("--wait may only be used with the 'start' or 'restart' commands.", file=sys.stderr)
                return 1
            if args.no_block:
                print("--wait may not be combined with --no-block.", file=sys.stderr)
                return 1
        rc = _job_request(socket_path, {"verb": verb, "units": names, "no_block": args.no_block, "mode": args.job_mode})
        return _wait_until_stopped(args, socket_path, names) if args.wait and rc == 0 else rc

    return run


WAIT_POLL = 0.05  # seconds between looks at the units `start --wait` waits for


def _wait_until_stopped(args, socket_path: str, names: list[str]) -> int:
    """`start --wait`: return once every unit is inactive or failed again; 1 if one failed.
    # systemd 257: systemctl start --wait (seen with the oracle: a unit that ends failed
    # exits 1 without a message)"""
    import time

    while True:
        states = {p["Id"]: p.get("ActiveState") for p in _units(args, socket_path, names)}
        if all(state in ("inactive", "failed") for state in states.values()):
            return 1 if "failed" in states.values() else 0
        time.sleep(WAIT_POLL)  # (systemctl waits for D-Bus signals; we have no subscription yet)


def _job_request(socket_path: str, message: dict) -> int:
    """Send a job request; print systemctl's message for each failed job."""
    from sysvisor.cli.client import request

    reply = request(socket_path, message)
    if reply.get("error"):
        return _fail(reply)
    status = 0
    for failure in reply.get("failures", []):
        print(job_failure_text(failure), file=sys.stderr)
        status = _BUS_ERROR_EXIT.get(failure.get("bus_error") or "", 1)
    return 0 if reply.get("ok") else status or 1


# systemctl's exit status for a refused job, by bus error (LSB: 3 unimplemented, 4 no
# permission, 5 not installed, 6 not configured). # systemd: translate_bus_error_to_exit_status()
_BUS_ERROR_EXIT = {"OnlyByDependency": 4, "NoIsolation": 4, "TransactionIsDestructive": 4, "NoSuchUnit": 5,
                   "JobTypeNotApplicable": 3, "LoadFailed": 6}


def job_failure_text(failure: dict) -> str:
    """systemctl's message for a failed job. # spec: restart-and-failure.md §5.4"""
    unit, result = failure["unit"], failure["result"]
    if failure.get("error"):  # refused before it was enqueued: the bus call failed ("verb": the manager's word for it)
        text = f"Failed to {failure.get('verb', 'start')} {unit}: {failure['error']}"
        if failure.get("bus_error") not in ("NoSuchUnit", "UnitMasked", "JobTypeNotApplicable"):
            text += f"\nSee system logs and 'sysvisor status {unit}' for details."
        return text
    hint = f'See "sysvisor status {unit}" and "sysvisor logs -u {unit}" for details.'
    if result == "failed":
        reason = _FAILURE_REASONS.get(failure.get("unit_result", ""), "the control process exited with error code")
        text = f"Job for {unit} failed because {reason}.\n{hint}"
        if failure.get("unit_result") == "start-limit-hit":
            text += f'\nTo force a start use "sysvisor reset-failed {unit}" followed by "sysvisor start {unit}" again.'
        return text
    if result == "canceled":
        return f"Job for {unit} canceled."
    if result == "timeout":
        return f"Job for {unit} timed out."
    if result == "dependency":
        return f"A dependency job for {unit} failed. See 'sysvisor logs' for details."
    if result == "invalid":
        return f"Job for {unit} is invalid."
    if result == "assert":
        return f"Assertion failed on job for {unit}."
    if result == "unsupported":
        return f"Operation on or unit type of {unit} not supported on this system."
    return f"Job for {unit} finished with result '{result}'."


_FAILURE_REASONS = {
    "start-limit-hit": "start of the service was attempted too often",
    "exit-code": "the control process exited with error code",
    "signal": "a fatal signal was delivered to the control process",
    "core-dump": "a fatal signal was delivered causing the control process to dump core",
    "timeout": "a timeout was exceeded",
    "watchdog": "the service failed to send watchdog ping",
    "resources": "of unavailable resources or another system error",
    "protocol": "the service did not take the steps required by its unit configuration",
    "oom-kill": "of an out-of-memory (OOM) siutation",  # sic, systemd's spelling
}


def verb_reset_failed(args, socket_path: str) -> int:
    from sysvisor.cli.client import request

    reply = request(socket_path, {"verb": "reset-failed", "units": [mangle(n) for n in args.args]})
    return 0 if reply.get("ok") else _fail(reply)


def verb_kill(args, socket_path: str) -> int:
    from sysvisor.cli.client import request
    from sysvisor.unitfile.values import signal_from_string

    try:
        signum = signal_from_string(args.signal)  # case matters, as for systemctl: "term" is no signal
    except ValueError:
        print(f'Failed to parse signal string "{args.signal}".', file=sys.stderr)
        return 1
    if args.kill_whom not in ("main", "control", "all"):
        print(f"Failed to kill unit {args.args[0]}: Invalid whom argument: {args.kill_whom}", file=sys.stderr)
        return 1
    reply = request(socket_path, {"verb": "kill", "units": [mangle(n) for n in args.args], "signal": signum, "whom": args.kill_whom})
    return 0 if reply.get("ok") else _fail(reply)


def _manager_verb(verb: str):
    def run(args, socket_path: str) -> int:
        from sysvisor.cli.client import request

        reply = request(socket_path, {"verb": verb}, timeout=120)
        return 0 if reply.get("ok") else _fail(reply)

    return run


def _target_verb(target: str):
    """systemctl reboot/halt/kexec/soft-reboot: start the target irreversibly; reaching it
    runs the matching action (a container's manager restarts its units in place or exits)."""
    def run(args, socket_path: str) -> int:
        return _job_request(socket_path, {"verb": "start", "units": [target], "no_block": True, "mode": "replace-irreversibly"})

    return run


def verb_exit(args, socket_path: str) -> int:
    from sysvisor.cli.client import request

    status = 0
    if args.args:
        text = args.args[0]
        if not (text.isascii() and text.isdigit() and int(text) <= 255):  # systemctl: safe_atou8()
            print("Invalid exit code.", file=sys.stderr)
            return 1
        status = int(text)
    reply = request(socket_path, {"verb": "exit", "exit_status": status})
    return 0 if reply.get("ok") else _fail(reply)


VERBS = {
    "is-active": verb_is_active,
    "is-failed": verb_is_failed,
    "status": verb_status,
    "show": verb_show,
    "list-units": verb_list_units,
    "list-timers": verb_list_timers,
    "start": _job_verb("start"),
    "stop": _job_verb("stop"),
    "restart": _job_verb("restart"),
    "try-restart": _job_verb("try-restart"),
    "reload": _job_verb("reload"),
    "reload-or-restart": _job_verb("reload-or-restart"),
    "try-reload-or-restart": _job_verb("try-reload-or-restart"),
    "isolate": _job_verb("isolate"),
    "is-system-running": verb_is_system_running,
    "list-jobs": verb_list_jobs,
    "list-dependencies": verb_list_dependencies,
    "daemon-reload": _manager_verb("daemon-reload"),
    "daemon-reexec": _manager_verb("daemon-reexec"),
    "reset-failed": verb_reset_failed,
    "kill": verb_kill,
    "exit": verb_exit,
    "poweroff": verb_exit,
    "reboot": _target_verb("reboot.target"),
    "halt": _target_verb("halt.target"),
    "kexec": _target_verb("kexec.target"),
    "soft-reboot": _target_verb("soft-reboot.target"),
}


if __name__ == "__main__":
    raise SystemExit(main())
