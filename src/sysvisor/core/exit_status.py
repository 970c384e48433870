"""Names of process exit statuses and signals, as systemd prints them: the one home of
these tables, for the engine's journal lines, `status`/`show` rendering and the parser of
SuccessExitStatus= & co. Pure and import-free (core/ must not import OS modules; the CLI
must start fast). Linux numbering.
# spec: service-lifecycle.md §8.2, §8.3; README trap 30
"""

from __future__ import annotations

# class of an exit status: which table it comes from (systemd: ExitStatusClass)
LIBC = "libc"
SYSTEMD = "systemd"
LSB = "LSB"
BSD = "BSD"

# systemd: exit_status_mappings[] (src/basic/exit-status.c), as `systemd-analyze exit-status`
# of systemd 257 prints it (tests/data/golden/oracle/render-257.json "exit-status").
EXIT_STATUS_TABLE: dict[int, tuple[str, str]] = {
    0: ("SUCCESS", LIBC),
    1: ("FAILURE", LIBC),
    2: ("INVALIDARGUMENT", LSB),
    3: ("NOTIMPLEMENTED", LSB),
    4: ("NOPERMISSION", LSB),
    5: ("NOTINSTALLED", LSB),
    6: ("NOTCONFIGURED", LSB),
    7: ("NOTRUNNING", LSB),
    64: ("USAGE", BSD),
    65: ("DATAERR", BSD),
    66: ("NOINPUT", BSD),
    67: ("NOUSER", BSD),
    68: ("NOHOST", BSD),
    69: ("UNAVAILABLE", BSD),
    70: ("SOFTWARE", BSD),
    71: ("OSERR", BSD),
    72: ("OSFILE", BSD),
    73: ("CANTCREAT", BSD),
    74: ("IOERR", BSD),
    75: ("TEMPFAIL", BSD),
    76: ("PROTOCOL", BSD),
    77: ("NOPERM", BSD),
    78: ("CONFIG", BSD),
    200: ("CHDIR", SYSTEMD),
    201: ("NICE", SYSTEMD),
    202: ("FDS", SYSTEMD),
    203: ("EXEC", SYSTEMD),
    204: ("MEMORY", SYSTEMD),
    205: ("LIMITS", SYSTEMD),
    206: ("OOM_ADJUST", SYSTEMD),
    207: ("SIGNAL_MASK", SYSTEMD),
    208: ("STDIN", SYSTEMD),
    209: ("STDOUT", SYSTEMD),
    210: ("CHROOT", SYSTEMD),
    211: ("IOPRIO", SYSTEMD),
    212: ("TIMERSLACK", SYSTEMD),
    213: ("SECUREBITS", SYSTEMD),
    214: ("SETSCHEDULER", SYSTEMD),
    215: ("CPUAFFINITY", SYSTEMD),
    216: ("GROUP", SYSTEMD),
    217: ("USER", SYSTEMD),
    218: ("CAPABILITIES", SYSTEMD),
    219: ("CGROUP", SYSTEMD),
    220: ("SETSID", SYSTEMD),
    221: ("CONFIRM", SYSTEMD),
    222: ("STDERR", SYSTEMD),
    224: ("PAM", SYSTEMD),
    225: ("NETWORK", SYSTEMD),
    226: ("NAMESPACE", SYSTEMD),
    227: ("NO_NEW_PRIVILEGES", SYSTEMD),
    228: ("SECCOMP", SYSTEMD),
    229: ("SELINUX_CONTEXT", SYSTEMD),
    230: ("PERSONALITY", SYSTEMD),
    231: ("APPARMOR", SYSTEMD),
    232: ("ADDRESS_FAMILIES", SYSTEMD),
    233: ("RUNTIME_DIRECTORY", SYSTEMD),
    235: ("CHOWN", SYSTEMD),
    236: ("SMACK_PROCESS_LABEL", SYSTEMD),
    237: ("KEYRING", SYSTEMD),
    238: ("STATE_DIRECTORY", SYSTEMD),
    239: ("CACHE_DIRECTORY", SYSTEMD),
    240: ("LOGS_DIRECTORY", SYSTEMD),
    241: ("CONFIGURATION_DIRECTORY", SYSTEMD),
    242: ("NUMA_POLICY", SYSTEMD),
    243: ("CREDENTIALS", SYSTEMD),
    244: ("BPF", SYSTEMD),
    245: ("KSM", SYSTEMD),  # v254+
    255: ("EXCEPTION", SYSTEMD),
}

ALL_CLASSES = frozenset({LIBC, SYSTEMD, LSB, BSD})
# systemctl-show.c prints names only for these (trap 30): LSB/BSD codes print bare.
STATUS_DISPLAY_CLASSES = frozenset({LIBC, SYSTEMD})

_BY_NAME = {name: code for code, (name, _cls) in EXIT_STATUS_TABLE.items()}


def exit_status_name(code: int, classes: frozenset[str] = ALL_CLASSES) -> str | None:
    """`FAILURE` for 1, `INVALIDARGUMENT` for 2 ... or None; only names of `classes`.

    The manager's journal lines use all classes (`status=2/INVALIDARGUMENT`);
    `systemctl status` uses `STATUS_DISPLAY_CLASSES` (`status=2`).
    # systemd: exit_status_to_string()
    """
    entry = EXIT_STATUS_TABLE.get(code)
    if entry is None or entry[1] not in classes:
        return None
    return entry[0]


def exit_status_class(code: int) -> str | None:
    """`libc`, `systemd`, `LSB`, `BSD` or None for an unnamed code."""
    entry = EXIT_STATUS_TABLE.get(code)
    return entry[1] if entry else None


def exit_status_from_name(name: str) -> int | None:
    """Inverse lookup for SuccessExitStatus=NAME (without `EXIT_`/`EX_`). # systemd: exit_status_from_string()"""
    return _BY_NAME.get(name)


# Linux signal numbers (x86/arm generic ABI), systemd: static_signal_table[]
SIGNAL_NAMES: dict[int, str] = {
    1: "HUP", 2: "INT", 3: "QUIT", 4: "ILL", 5: "TRAP", 6: "ABRT", 7: "BUS", 8: "FPE",
    9: "KILL", 10: "USR1", 11: "SEGV", 12: "USR2", 13: "PIPE", 14: "ALRM", 15: "TERM",
    16: "STKFLT", 17: "CHLD", 18: "CONT", 19: "STOP", 20: "TSTP", 21: "TTIN", 22: "TTOU",
    23: "URG", 24: "XCPU", 25: "XFSZ", 26: "VTALRM", 27: "PROF", 28: "WINCH", 29: "IO",
    30: "PWR", 31: "SYS",
}
SIGRTMIN = 34
SIGRTMAX = 64


def signal_name(signo: int) -> str:
    """`KILL` for 9, `RTMIN+3` for 37, the number for anything else. # systemd: signal_to_string()"""
    name = SIGNAL_NAMES.get(signo)
    if name is not None:
        return name
    if SIGRTMIN <= signo <= SIGRTMAX:
        return "RTMIN" if signo == SIGRTMIN else f"RTMIN+{signo - SIGRTMIN}"
    return str(signo)


# systemd: sigchld_code_to_string() for CLD_EXITED/KILLED/DUMPED (si_code 1..3)
_CODE_WORDS = {1: "exited", 2: "killed", 3: "dumped", 4: "trapped", 5: "stopped", 6: "continued"}
_WORD_CODES = {w: c for c, w in _CODE_WORDS.items()}


def code_word(code: int | str | None) -> str | None:
    """`exited`/`killed`/`dumped` for an ExecMainCode, None for 0 (not exited)."""
    if isinstance(code, str):
        return code if code in _WORD_CODES else None
    return _CODE_WORDS.get(code or 0)


def code_number(code: int | str | None) -> int:
    """ExecMainCode as an int, accepting the word too."""
    if isinstance(code, str):
        return _WORD_CODES.get(code, 0)
    return int(code or 0)


def is_clean_exit(code: int | str | None, status: int) -> bool:
    """systemd: is_clean_exit(code, status, EXIT_CLEAN_DAEMON, NULL) as systemctl status uses it.

    Exit 0 and SIGHUP/INT/TERM/PIPE are clean; everything else is drawn in red.
    """
    c = code_number(code)
    if c == 1:
        return status == 0
    if c == 2:
        return status in (1, 2, 15, 13)
    return False


# systemd: exit_status_mappings[] over all classes, as the manager's journal lines use them
EXIT_STATUS_NAMES: dict[int, str] = {code: name for code, (name, _cls) in EXIT_STATUS_TABLE.items()}

SIGHUP, SIGINT, SIGKILL, SIGPIPE, SIGTERM, SIGCONT, SIGABRT = 1, 2, 9, 13, 15, 18, 6



def status_text(code: int, status: int) -> str:
    """`1/FAILURE`, `15/TERM`, `42/n/a` as in `Main process exited, code=…, status=…`.

    # systemd: unit_log_process_exit() uses strna(), hence `n/a` for unnamed codes
    """
    if int(code) == 1:  # CLD_EXITED
        name = exit_status_name(status)
    else:
        name = signal_name(status) if status in SIGNAL_NAMES or status >= SIGRTMIN else None
    return f"{status}/{name or 'n/a'}"
