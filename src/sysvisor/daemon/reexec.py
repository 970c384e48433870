"""`daemon-reexec` without a gap in supervision.

The manager writes its engine snapshot and the numbers of the fds it keeps to a file, clears
FD_CLOEXEC on those fds, and `execv`s itself with `--deserialize FILE`. The PID stays the
same, so the units' processes stay its children: an exit during the exec becomes a zombie
whose status the new image's reaper still collects. The listening control socket, the
notify socket (datagrams queue in its buffer meanwhile) and the units' output pipes are the
same open files in the new image. The subreaper flag survives execve(2) (prctl(2)).

The coordinator's daemon/main.py uses it as:

    # old image, on the daemon-reexec request (after answering the client):
    argv = prepare_reexec(shell.manager, path, {"control": server.fileno(), ...},
                          current_command(), extra={...})
    reexec(argv)                      # returns only if execv failed: keep running
    # new image, `sysvisor up ... --deserialize PATH`:
    path, argv = take_reexec_option(sys.argv[1:])
    restored = restore_after_reexec(manager, path, monotonic_usec(), log, carry_out=...)
    # ... install the signal handlers (SignalPipe), then:
    release_signals()
    # adopt restored.fds, route restored.pids, carry out restored.actions,
    # feed ExecSucceeded for snapshot.awaiting_exec(), then reap() as usual.

# systemd: manager_reload()/manager_serialize() with MANAGER_REEXECUTE, main.c do_reexecute()
# spec: issue 5 (daemon-reexec)
"""

from __future__ import annotations

import json
import os
import signal
import sys
from dataclasses import dataclass, field
from typing import Callable, NoReturn

from sysvisor.core.actions import Action
from sysvisor.core.snapshot import SnapshotError, export_all, import_all, tracked_pids
from sysvisor.daemon.persist import Logger, alive_checker, encode, kernel_boot_id, write_atomically

REEXEC_OPTION = "--deserialize"
# the manager's handled signals (daemon/signals.py HANDLED), held across the exec
HELD_SIGNALS = (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)
FORMAT = "sysvisor-reexec"
VERSION = 1


@dataclass
class Restored:
    """What the new image gets back."""

    actions: list[Action]  # carry these out (logs; the engine's answer to vanished processes)
    fds: dict[str, int]  # the kept fds by the names prepare_reexec() was given (now CLOEXEC again)
    extra: dict = field(default_factory=dict)  # the shell's own JSON-safe state
    pids: dict[int, str] = field(default_factory=dict)  # tracked pid → unit, for exit routing


def current_command() -> list[str]:
    """The interpreter command line this process was started with (`python -m sysvisor up …`)."""
    return [sys.executable, *sys.orig_argv[1:]]


def take_reexec_option(argv: list[str]) -> tuple[str | None, list[str]]:
    """Split `--deserialize FILE` off a command line: (FILE or None, the rest)."""
    rest: list[str] = []
    path: str | None = None
    i = 0
    while i < len(argv):
        if argv[i] == REEXEC_OPTION and i + 1 < len(argv):
            path = argv[i + 1]
            i += 2
            continue
        if argv[i].startswith(REEXEC_OPTION + "="):
            path = argv[i].split("=", 1)[1]
        else:
            rest.append(argv[i])
        i += 1
    return path, rest


def prepare_reexec(manager, path: str, fds: dict[str, int], command: list[str], *,
                   extra: dict | None = None) -> list[str]:
    """Serialise the engine to `path`, make `fds` survive execve, and return the argv to
    exec (`command` with any old `--deserialize` replaced). Raises SnapshotError/OSError
    before touching any fd if the state cannot be written.
    # systemd: manager_serialize(), fdset_cloexec(fds, false)"""
    for name, fd in fds.items():
        os.fstat(fd)  # a closed fd fails here, before anything changed
    record = json.loads(encode(export_all(manager), kernel_boot_id()))
    record.update(format=FORMAT, version=VERSION, pid=os.getpid(), fds=dict(fds), extra=extra or {})
    write_atomically(path, (json.dumps(record, sort_keys=True) + "\n").encode())
    for fd in fds.values():
        os.set_inheritable(fd, True)
    _, rest = take_reexec_option(command[1:])
    return [command[0], *rest, REEXEC_OPTION, path]


def reexec(argv: list[str], fds: dict[str, int] | None = None,
           block: tuple[int, ...] = HELD_SIGNALS) -> NoReturn:
    """execv into `argv`. Only returns (by raising OSError) if execv failed; the fds are
    then made close-on-exec again and the signals unblocked, so the old image carries on.

    `block` stay blocked across execve (the mask is inherited, pending signals stay
    pending): a SIGTERM/SIGCHLD arriving while the new image has no handler yet is
    delivered once it calls `release_signals()` after installing its handlers, instead of
    killing it (SIGTERM's default action) or being lost. # systemd: do_reexecute() blocks
    signals the same way."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, block)
    try:
        os.execv(argv[0], argv)
    except OSError:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        for fd in (fds or {}).values():
            try:
                os.set_inheritable(fd, False)
            except OSError:
                pass
        raise


def release_signals(block: tuple[int, ...] = HELD_SIGNALS) -> None:
    """In the new image, once its signal handlers are installed: deliver what was held."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, block)


def restore_after_reexec(manager, path: str, now: int, log: Logger, *,
                         carry_out: Callable[[list[Action]], None] | None = None,
                         keeper_pid: int | None = None, kept: dict[int, int | None] | None = None) -> Restored | None:
    """In the new image: restore the engine from `path` into the fresh `manager`, take the
    kept fds back (close-on-exec again, so units do not inherit them), and delete the file.
    None (with a log line) if the file is unusable; the manager then starts from scratch.
    Children that exited during the exec are still zombies: reap as usual afterwards and
    route their pids with `Restored.pids`. `carry_out`: as for `core.snapshot.import_all()`;
    `keeper_pid`, `kept`: as for `persist.alive_checker()`."""
    try:
        with open(path, "rb") as f:
            record = json.loads(f.read())
    except (OSError, ValueError, UnicodeDecodeError) as e:
        log(f"Ignoring reexec state {path}: {e}.")
        return None
    finally:
        _unlink(path)
    problem = _check(record)
    if problem:
        log(f"Ignoring reexec state {path}: {problem}.")
        return None
    fds: dict[str, int] = {}
    for name, fd in record["fds"].items():
        try:
            os.set_inheritable(fd, False)
        except OSError as e:
            log(f"Reexec: kept fd {name}={fd} is gone ({e.strerror}).")
            continue
        fds[name] = fd
    try:
        start_times = {int(pid): (None if t is None else int(t)) for pid, t in record["processes"].items()}
    except (TypeError, ValueError):
        log(f"Ignoring reexec state {path}: malformed process table.")
        return Restored([], fds, record["extra"], {})
    try:
        actions = import_all(manager, record["snapshot"], now, alive_checker(start_times, own_pid=os.getpid(), keeper_pid=keeper_pid, kept=kept),
                             carry_out=carry_out)
    except SnapshotError as e:
        log(f"Ignoring reexec state {path}: {e}.")
        return Restored([], fds, record["extra"], {})
    return Restored(actions, fds, record["extra"], tracked_pids(manager))


def _check(record) -> str | None:
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        return "not a sysvisor reexec file"
    if record.get("version") != VERSION:
        return f"unsupported version {record.get('version')!r}"
    if record.get("pid") != os.getpid():
        return f"written by PID {record.get('pid')}, this is PID {os.getpid()}"
    if record.get("boot_id") != kernel_boot_id():
        return "written during another boot"
    fds, processes = record.get("fds"), record.get("processes")
    if not isinstance(fds, dict) or not all(isinstance(v, int) and v >= 0 for v in fds.values()):
        return "malformed fd table"
    if not isinstance(processes, dict) or not isinstance(record.get("snapshot"), dict):
        return "snapshot or process table missing"
    if not isinstance(record.get("extra"), dict):
        return "malformed extra state"
    return None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
