"""Names of exit statuses and signals, as systemd prints them.

Pure tables (no `signal` module: core/ must not import OS modules). Linux numbering.
# spec: service-lifecycle.md §8.2, §8.3
"""

from __future__ import annotations

from sysvisor.core.types import ExitCode

# systemd: exit-status.c exit_status_mappings[] (all classes, as in the manager's journal)
EXIT_STATUS_NAMES: dict[int, str] = {
    0: "SUCCESS", 1: "FAILURE",
    2: "INVALIDARGUMENT", 3: "NOTIMPLEMENTED", 4: "NOPERMISSION", 5: "NOTINSTALLED",
    6: "NOTCONFIGURED", 7: "NOTRUNNING",
    64: "USAGE", 65: "DATAERR", 66: "NOINPUT", 67: "NOUSER", 68: "NOHOST", 69: "UNAVAILABLE",
    70: "SOFTWARE", 71: "OSERR", 72: "OSFILE", 73: "CANTCREAT", 74: "IOERR", 75: "TEMPFAIL",
    76: "PROTOCOL", 77: "NOPERM", 78: "CONFIG",
    200: "CHDIR", 201: "NICE", 202: "FDS", 203: "EXEC", 204: "MEMORY", 205: "LIMITS",
    206: "OOM_ADJUST", 207: "SIGNAL_MASK", 208: "STDIN", 209: "STDOUT", 210: "CHROOT",
    211: "IOPRIO", 212: "TIMERSLACK", 213: "SECUREBITS", 214: "SETSCHEDULER",
    215: "CPUAFFINITY", 216: "GROUP", 217: "USER", 218: "CAPABILITIES", 219: "CGROUP",
    220: "SETSID", 221: "CONFIRM", 222: "STDERR", 224: "PAM", 225: "NETWORK",
    226: "NAMESPACE", 227: "NO_NEW_PRIVILEGES", 228: "SECCOMP", 229: "SELINUX_CONTEXT",
    230: "PERSONALITY", 231: "APPARMOR", 232: "ADDRESS_FAMILIES", 233: "RUNTIME_DIRECTORY",
    235: "CHOWN", 236: "SMACK_PROCESS_LABEL", 237: "KEYRING", 238: "STATE_DIRECTORY",
    239: "CACHE_DIRECTORY", 240: "LOGS_DIRECTORY", 241: "CONFIGURATION_DIRECTORY",
    242: "NUMA_POLICY", 243: "CREDENTIALS", 244: "BPF", 255: "EXCEPTION",
}

# Linux signal numbers (x86-64/arm64 generic), names without "SIG" as signal_to_string()
SIGNAL_NAMES: dict[int, str] = {
    1: "HUP", 2: "INT", 3: "QUIT", 4: "ILL", 5: "TRAP", 6: "ABRT", 7: "BUS", 8: "FPE",
    9: "KILL", 10: "USR1", 11: "SEGV", 12: "USR2", 13: "PIPE", 14: "ALRM", 15: "TERM",
    16: "STKFLT", 17: "CHLD", 18: "CONT", 19: "STOP", 20: "TSTP", 21: "TTIN", 22: "TTOU",
    23: "URG", 24: "XCPU", 25: "XFSZ", 26: "VTALRM", 27: "PROF", 28: "WINCH", 29: "IO",
    30: "PWR", 31: "SYS",
}
SIGRTMIN = 34
SIGRTMAX = 64

SIGHUP, SIGINT, SIGKILL, SIGPIPE, SIGTERM, SIGCONT, SIGABRT = 1, 2, 9, 13, 15, 18, 6


def signal_name(signo: int) -> str:
    """`TERM`, `RTMIN+3`, or the number as text. # systemd: signal_to_string()"""
    if signo in SIGNAL_NAMES:
        return SIGNAL_NAMES[signo]
    if signo == SIGRTMIN:
        return "RTMIN"
    if SIGRTMIN < signo <= SIGRTMAX:
        return f"RTMIN+{signo - SIGRTMIN}"
    return str(signo)


def exit_status_name(status: int) -> str | None:
    """The full-table name of an exit status, None if unnamed. # systemd: exit_status_to_string()"""
    return EXIT_STATUS_NAMES.get(status)


def status_text(code: ExitCode | int, status: int) -> str:
    """`1/FAILURE`, `15/TERM`, `42/n/a` as in `Main process exited, code=…, status=…`.

    # systemd: unit_log_process_exit() uses strna(), hence `n/a` for unnamed codes
    """
    if int(code) == ExitCode.EXITED:
        name = exit_status_name(status)
    else:
        name = signal_name(status) if status in SIGNAL_NAMES or status >= SIGRTMIN else None
    return f"{status}/{name or 'n/a'}"
