"""What the manager does when it is told to end: its objective, from a signal or an action.

systemd's PID 1 knows these objectives: exit, halt, poweroff, reboot, kexec, soft-reboot
(# systemd: ManagerObjective). sysvisor runs where the machine is not its to switch off, so:
- exit, halt, poweroff: stop every unit, then exit (the container ends);
- reboot, kexec, soft-reboot: stop every unit, then start again as at boot, in place: the
  manager re-executes itself without its saved state (the PID stays, so a container lives on);
- the host is rebooted (reboot(2)) only when sysvisor is PID 1 of a real machine (not inside
  any container or PID namespace) and `--allow-host-reboot` was given; soft-reboot never
  touches the kernel.
The `-force` (and `-immediate`) variants kill every unit's processes instead of stopping
them in order.

Signals (# systemd: manager_dispatch_signal_fd(), systemd(1) "Signals"): SIGTERM/SIGINT as
exit (docker stop; systemd's user manager does the same, its system manager would re-execute
or reboot), SIGHUP reload, SIGRTMIN+3/+4/+5/+6/+7 halt/poweroff/reboot/kexec/soft-reboot,
+13…+17 their immediate variants, +24 immediate exit, +25 re-execute, +22/+23 log level
debug/back, SIGUSR2 logs the manager's state, SIGWINCH/SIGPWR start kbrequest.target/
sigpwr.target if such a unit exists. Nothing is forwarded to services: a signal means to
sysvisor what it means to systemd, so an image built for systemd behaves the same (and
`docker run -it` sends SIGWINCH on every terminal resize, which nginx and Apache take as
"gracefully stop workers"). `sysvisor kill --signal=… UNIT` signals a service.
# spec: issue 5 ("container PID 1"); restart-and-failure.md §9
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

from sysvisor.core.types import EmergencyAction, StrEnum


class Objective(StrEnum):
    EXIT = "exit"
    HALT = "halt"
    POWEROFF = "poweroff"
    REBOOT = "reboot"
    KEXEC = "kexec"
    SOFT_REBOOT = "soft-reboot"


IN_PLACE = frozenset({Objective.REBOOT, Objective.KEXEC, Objective.SOFT_REBOOT})

# EmergencyAction → (objective, kill instead of stopping in order)
_ACTIONS = {
    EmergencyAction.EXIT: (Objective.EXIT, False),
    EmergencyAction.EXIT_FORCE: (Objective.EXIT, True),
    EmergencyAction.HALT: (Objective.HALT, False),
    EmergencyAction.HALT_FORCE: (Objective.HALT, True),
    EmergencyAction.HALT_IMMEDIATE: (Objective.HALT, True),
    EmergencyAction.POWEROFF: (Objective.POWEROFF, False),
    EmergencyAction.POWEROFF_FORCE: (Objective.POWEROFF, True),
    EmergencyAction.POWEROFF_IMMEDIATE: (Objective.POWEROFF, True),
    EmergencyAction.REBOOT: (Objective.REBOOT, False),
    EmergencyAction.REBOOT_FORCE: (Objective.REBOOT, True),
    EmergencyAction.REBOOT_IMMEDIATE: (Objective.REBOOT, True),
    EmergencyAction.KEXEC: (Objective.KEXEC, False),
    EmergencyAction.KEXEC_FORCE: (Objective.KEXEC, True),
    EmergencyAction.SOFT_REBOOT: (Objective.SOFT_REBOOT, False),
    EmergencyAction.SOFT_REBOOT_FORCE: (Objective.SOFT_REBOOT, True),
}


def objective_of(action: EmergencyAction) -> tuple[Objective, bool] | None:
    """(objective, force) of FailureAction=/SuccessAction=/StartLimitAction=; None for none."""
    return _ACTIONS.get(action)


@dataclass(frozen=True)
class SignalMeaning:
    """What a signal asks of the manager."""

    kind: str  # "end" | "reload" | "reexec" | "start" | "dump" | "log-level" | "ignore"
    objective: Objective | None = None  # kind "end"
    force: bool = False  # kind "end": kill instead of stopping in order
    target: str | None = None  # kind "start"
    debug: bool = False  # kind "log-level": True = debug, False = back to the configured level
    why: str = ""  # kind "ignore": the log line's reason


RT = signal.SIGRTMIN
_RT_TARGETS = {0: "default.target", 1: "rescue.target", 2: "emergency.target"}
_RT_END = {3: Objective.HALT, 4: Objective.POWEROFF, 5: Objective.REBOOT, 6: Objective.KEXEC, 7: Objective.SOFT_REBOOT}
_RT_IMMEDIATE = {13: Objective.HALT, 14: Objective.POWEROFF, 15: Objective.REBOOT, 16: Objective.KEXEC, 17: Objective.SOFT_REBOOT}
_RT_HANDLED = (*_RT_TARGETS, *_RT_END, *_RT_IMMEDIATE, 20, 21, 22, 23, 24, 25)

# Every signal the manager installs a handler for (the keeper forwards all but SIGCHLD;
# daemon/keeper.py FORWARDED must list the same, a test checks it).
MANAGER_SIGNALS = (
    signal.SIGCHLD, signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2,
    signal.SIGWINCH, signal.SIGPWR, *(RT + n for n in _RT_HANDLED),
)


def signal_name(signum: int) -> str:
    """systemd's spelling: SIGTERM, SIGRTMIN+3."""
    if RT <= signum <= signal.SIGRTMAX:
        return "SIGRTMIN" if signum == RT else f"SIGRTMIN+{signum - RT}"
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)


def meaning(signum: int) -> SignalMeaning:
    """# systemd: manager_dispatch_signal_fd(), with the container choices in the docstring."""
    if signum in (signal.SIGTERM, signal.SIGINT):
        return SignalMeaning("end", Objective.EXIT)
    if signum == signal.SIGHUP:
        return SignalMeaning("reload")
    if signum == signal.SIGUSR2:
        return SignalMeaning("dump")
    if signum == signal.SIGUSR1:
        return SignalMeaning("ignore", why="there is no D-Bus connection to re-establish")
    if signum == signal.SIGWINCH:
        return SignalMeaning("start", target="kbrequest.target")
    if signum == signal.SIGPWR:
        return SignalMeaning("start", target="sigpwr.target")
    n = signum - RT
    if n in _RT_END:
        return SignalMeaning("end", _RT_END[n])
    if n in _RT_IMMEDIATE:
        return SignalMeaning("end", _RT_IMMEDIATE[n], force=True)
    if n == 24:
        return SignalMeaning("end", Objective.EXIT, force=True)
    if n == 25:
        return SignalMeaning("reexec")
    if n in (22, 23):
        return SignalMeaning("log-level", debug=n == 22)
    if n in _RT_TARGETS:
        return SignalMeaning("ignore", why=f"isolating {_RT_TARGETS[n]} is not supported")
    if n in (20, 21):
        return SignalMeaning("ignore", why="sysvisor shows no boot status on a console")
    return SignalMeaning("ignore", why="it has no meaning to the manager")


# --- the host ---

# the inode numbers of the initial namespaces (include/linux/proc_ns.h PROC_PID_INIT_INO …)
_INIT_NS = {"pid": 0xEFFFFFFC, "user": 0xEFFFFFFD}


def in_container(*, environ=os.environ, exists=os.path.exists, ns_inode=None) -> bool:
    """Inside a container or any non-initial PID/user namespace.
    # systemd: detect_container() (the container= variable, /run/.containerenv, /.dockerenv)"""
    if environ.get("container"):
        return True
    if exists("/run/.containerenv") or exists("/.dockerenv") or exists("/run/systemd/container"):
        return True
    if ns_inode is None:
        def ns_inode(name: str) -> int | None:
            try:
                return os.stat(f"/proc/self/ns/{name}").st_ino
            except OSError:
                return None
    for name, init in _INIT_NS.items():
        inode = ns_inode(name)
        if inode is None or inode != init:
            return True  # unknown counts as a container: never reboot on a guess
    return False


# reboot(2) commands (linux/reboot.h)
_REBOOT_CMD = {
    Objective.REBOOT: 0x01234567,  # LINUX_REBOOT_CMD_RESTART
    Objective.POWEROFF: 0x4321FEDC,  # LINUX_REBOOT_CMD_POWER_OFF
    Objective.HALT: 0xCDEF0123,  # LINUX_REBOOT_CMD_HALT
    Objective.KEXEC: 0x45584543,  # LINUX_REBOOT_CMD_KEXEC (falls back to a reboot if none is loaded)
}


def host_reboot_command(objective: Objective, *, pid1: bool, container: bool, allowed: bool) -> int | None:
    """The reboot(2) command to run after every unit stopped, or None: then `exit` or
    `restart in place`. Only as PID 1 of a real machine, and only when allowed."""
    if not (allowed and pid1 and not container):
        return None
    return _REBOOT_CMD.get(objective)  # soft-reboot and exit: never the kernel


def reboot_host(command: int) -> OSError:
    """sync(2), then reboot(2). Returns only on failure (the error)."""
    import ctypes

    os.sync()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.reboot(ctypes.c_int(command - (1 << 32) if command >= 0x80000000 else command))
    err = ctypes.get_errno()
    return OSError(err, os.strerror(err))
