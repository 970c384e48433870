"""Condition*=/Assert*=: evaluated from facts the shell supplies, exactly as systemd orders them.

Rules (systemd's condition_test_list()):
* The parser keeps conditions in file order; systemd prepends each to a list, so they are
  **evaluated in reverse file order**.
* A non-triggering condition that fails (or cannot be determined) ends the evaluation: false.
  Triggering ones (`|`) are all evaluated; if any exist, at least one must hold.
  An empty list is true. `!` negates the test's outcome (not an error).
* Checked when a start job runs and the unit is not already activating: a failed condition
  finishes the start job `done` with ConditionResult=no (the unit neither starts nor fails,
  and the start limiter does not count it); a failed assert finishes it `assert`.

No I/O: everything about the host comes in as a `Facts` object; path tests go through one
injected callable `fs(test, path) -> bool` (tests: see `PATH_TESTS`).
# spec: dependencies-and-jobs.md §5
# systemd: src/shared/condition.c condition_test(), condition_test_list(); unit.c unit_start(),
#          unit_test_condition(); job.c job_emit_done_message(); systemctl-show.c print_status_info()
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sysvisor.core.types import JobResult, Priority

# Condition name (without the Condition/Assert prefix) -> fs() test for path conditions
PATH_TESTS: dict[str, str] = {
    "PathExists": "exists",
    "PathExistsGlob": "exists-glob",
    "PathIsDirectory": "is-directory",
    "PathIsSymbolicLink": "is-symbolic-link",  # not following the link
    "PathIsMountPoint": "is-mount-point",
    "PathIsReadWrite": "is-read-write",
    "PathIsEncrypted": "is-encrypted",
    "DirectoryNotEmpty": "directory-not-empty",
    "FileNotEmpty": "file-not-empty",
    "FileIsExecutable": "file-is-executable",
    "NeedsUpdate": "needs-update",
}

# systemd: virt.c virtualization_table[], split as detect_container()/detect_vm() report them
CONTAINERS = frozenset({"openvz", "lxc", "lxc-libvirt", "systemd-nspawn", "docker", "podman",
                        "rkt", "wsl", "proot", "pouch"})
SYSTEM_UID_MAX = 999  # systemd: SYSTEM_UID_MAX (Debian's build)


class ConditionError(Exception):
    """The test could not be evaluated (systemd: a negative errno) — counts as failed."""


@dataclass
class Facts:
    """What the conditions may ask about the host and the manager. The shell fills it in
    (`/proc/cmdline` or `/proc/1/cmdline` in a container, uname, os-release, …)."""

    fs: Callable[[str, str], bool] = lambda test, path: False
    architecture: str = "x86-64"  # systemd's names: x86-64, arm64, …
    native_architecture: str = "x86-64"
    virtualization: str = "none"  # "none" or systemd's technology id (kvm, docker, …)
    private_users: bool = False
    hostname: str = "localhost"
    machine_id: str = ""
    kernel_command_line: str = ""
    kernel_release: str = ""  # uname -r
    os_release: Mapping[str, str] = field(default_factory=dict)
    environment: Mapping[str, str] = field(default_factory=dict)  # the manager's own
    uid: int = 0
    euid: int = 0
    user_name: str = "root"
    gids: frozenset[int] = frozenset({0})  # real, effective and supplementary
    lookup_user: Callable[[str], int | None] = lambda name: None
    lookup_group: Callable[[str], int | None] = lambda name: None
    first_boot: bool = False
    ac_power: bool = True
    memory_bytes: int = 0
    cpus: int = 1
    cpu_features: frozenset[str] = frozenset()
    capabilities: frozenset[str] = frozenset()  # bounding set, lower case ("cap_net_admin")
    security: frozenset[str] = frozenset()  # selinux apparmor … tpm2
    firmware: frozenset[str] = frozenset()  # uefi, device-tree, …
    cgroup_version: int = 2
    cgroup_controllers: frozenset[str] = frozenset()
    credentials: frozenset[str] = frozenset()
    kernel_modules: frozenset[str] = frozenset()
    # PSI average (percent) of a resource ("memory"/"cpu"/"io") for (slice or "", window):
    pressure: Callable[[str, str, str], float | None] = lambda res, slice_, window: None


@dataclass(frozen=True)
class Condition:
    """One Condition*=/Assert*= line. `kind` is "Condition" or "Assert"; `name` without it."""

    kind: str
    name: str
    trigger: bool
    negate: bool
    parameter: str

    def __str__(self) -> str:
        return f"{self.kind}{self.name}={'|' if self.trigger else ''}{'!' if self.negate else ''}{self.parameter}"

    @classmethod
    def from_config(cls, entry: tuple[str, bool, bool, str], kind: str = "Condition") -> Condition:
        """From `UnitSection.conditions`/`.asserts` tuples (name with or without prefix)."""
        name, trigger, negate, value = entry
        for prefix in ("Condition", "Assert"):
            if name.startswith(prefix):
                kind, name = prefix, name[len(prefix):]
        return cls(kind, name, trigger, negate, value)


@dataclass(frozen=True)
class Tested:
    condition: Condition
    result: str  # succeeded | failed | error | untested


@dataclass(frozen=True)
class Evaluation:
    """The outcome of one list: `ok`, every condition's result in *file* order (as
    `systemctl show` lists them), and the log lines systemd writes while testing."""

    ok: bool
    tested: tuple[Tested, ...]
    logs: tuple[tuple[Priority, str], ...]

    @property
    def failed(self) -> Condition | None:
        """The condition the skip message names: the first failed non-triggering one in
        evaluation order, or None (then no trigger condition held)."""
        for t in reversed(self.tested):
            if t.result in ("failed", "error") and not t.condition.trigger:
                return t.condition
        return None


def unit_conditions(section) -> tuple[list[Condition], list[Condition]]:
    """(conditions, asserts) of a `UnitSection`, in file order, as `check_start()` takes them."""
    return ([Condition.from_config(c, "Condition") for c in section.conditions],
            [Condition.from_config(c, "Assert") for c in section.asserts])


# ---------------------------------------------------------------- single tests

# systemd: condition.c parse_order() prefix[] (first match in this order wins)
_ORDERS = ("$=", "!$=", "<=", ">=", "<", ">", "=", "!=")


def _parse_order(s: str, allow_bang: bool = True) -> tuple[str | None, str]:
    """# systemd: condition.c parse_order()"""
    for op in _ORDERS:
        if not allow_bang and op.startswith("!"):
            continue
        if op == "$=" and not allow_bang:
            continue
        if s.startswith(op):
            return op, s[len(op):]
    return None, s


def _test_order(cmp: int, op: str) -> bool:
    return {"<": cmp < 0, "<=": cmp <= 0, "=": cmp == 0, "!=": cmp != 0, ">=": cmp >= 0, ">": cmp > 0}[op]


def _cmp(a, b) -> int:
    return (a > b) - (a < b)


def strverscmp_improved(a: str, b: str) -> int:
    """Version comparison: `~` sorts before everything, then `-`, `^`, `.` separate segments,
    numeric segments compare numerically and beat alphabetic ones.
    # systemd: string-util.c strverscmp_improved()"""
    if not a or not b:
        return _cmp(a, b)
    valid = lambda c: c.isascii() and (c.isalnum() or c in "~-^.")  # noqa: E731
    at = lambda s, k: s[k] if k < len(s) else ""  # noqa: E731
    i = j = 0
    while True:
        while i < len(a) and not valid(a[i]):
            i += 1
        while j < len(b) and not valid(b[j]):
            j += 1
        if at(a, i) == "~" or at(b, j) == "~":
            r = _cmp(at(a, i) != "~", at(b, j) != "~")
            if r:
                return r
            i, j = i + 1, j + 1
        if i >= len(a) or j >= len(b):
            return _cmp(a[i:], b[j:])
        for sep in "-^.":
            if at(a, i) == sep or at(b, j) == sep:
                r = _cmp(at(a, i) != sep, at(b, j) != sep)
                if r:
                    return r
                i, j = i + 1, j + 1
        ca, cb = at(a, i), at(b, j)
        if ca.isdigit() or cb.isdigit():
            r = _cmp(ca.isdigit(), cb.isdigit())
            if r:
                return r
            while at(a, i) == "0":
                i += 1
            while at(b, j) == "0":
                j += 1
            ii, jj = i, j
            while at(a, ii).isdigit():
                ii += 1
            while at(b, jj).isdigit():
                jj += 1
            r = _cmp(ii != i, jj != j) or _cmp(ii - i, jj - j) or _cmp(a[i:ii], b[j:jj])
        else:
            ii, jj = i, j
            while at(a, ii).isascii() and at(a, ii).isalpha():
                ii += 1
            while at(b, jj).isascii() and at(b, jj).isalpha():
                jj += 1
            k = min(ii - i, jj - j)
            r = _cmp(a[i:i + k], b[j:j + k]) or _cmp(ii - i, jj - j)
        if r:
            return r
        i, j = ii, jj


_SIZE = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50, "E": 1 << 60}


def _parse_size(s: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGTPE]?)B?\s*", s)
    if not m:
        raise ConditionError(f"Failed to parse size '{s}'")
    return int(float(m.group(1)) * _SIZE[m.group(2)])


def _parse_bool(s: str) -> bool:
    v = s.strip().lower()
    if v in ("1", "yes", "y", "true", "t", "on"):
        return True
    if v in ("0", "no", "n", "false", "f", "off"):
        return False
    raise ConditionError(f"Failed to parse boolean '{s}'")


def _compare(op: str | None, have: str, value: str, *, string_equality: bool = False) -> bool:
    if op is None or op in ("$=", "!$="):
        return fnmatch.fnmatchcase(have, value) == (op != "!$=")
    if string_equality and op in ("=", "!="):
        return _test_order(_cmp(have, value), op)
    return _test_order(strverscmp_improved(have, value), op)


def _kernel_version(param: str, release: str) -> bool:
    """Space-separated `[op]version` (or glob) words, all must hold; whitespace after the first
    operator is tolerated. # systemd: condition_test_kernel_version()"""
    words = param.split()
    if not words:
        raise ConditionError("empty expression")
    k = 0
    while k < len(words):
        op, value = _parse_order(words[k])
        if op is not None and not value:
            if k != 0 or k + 1 >= len(words):
                raise ConditionError(f"Unexpected end of expression: {param}")
            k += 1
            value = words[k]
        if not _compare(op, release, value):
            return False
        k += 1
    return True


def _os_release(param: str, os_release: Mapping[str, str]) -> bool:
    """Space-separated `KEY op value` words, all must hold; = and != compare strings, the other
    operators versions. # systemd: condition_test_osrelease()"""
    words = param.split()
    if not words:
        raise ConditionError("empty expression")
    for word in words:
        n = len(re.match(r"[^!<=>$]*", word).group(0))  # type: ignore[union-attr]
        key = word[:n]
        op, value = _parse_order(word[n:])
        if op is None or not value or not key:
            raise ConditionError("Failed to parse parameter, key/value format expected")
        if not _compare(op, os_release.get(key, ""), value, string_equality=True):
            return False
    return True


def _test(c: Condition, f: Facts) -> bool:
    """The raw test (before `!`). Raises ConditionError. # systemd: condition_tests[]"""
    n, p = c.name, c.parameter
    if n in PATH_TESTS:
        if not p.startswith("/"):
            raise ConditionError(f"Path '{p}' is not absolute")
        return bool(f.fs(PATH_TESTS[n], p))
    if n == "Virtualization":
        v = f.virtualization
        if p == "private-users":
            return f.private_users
        if p in ("vm", "container"):
            return v != "none" and ((v in CONTAINERS) == (p == "container"))
        try:
            return (v != "none") == _parse_bool(p)
        except ConditionError:
            return v == p
    if n == "Architecture":
        want = f.native_architecture if p == "native" else p
        return want == f.architecture
    if n == "Host":
        if re.fullmatch(r"[0-9a-fA-F]{32}|[0-9a-fA-F-]{36}", p):
            return p.replace("-", "").lower() == f.machine_id.lower()
        return fnmatch.fnmatchcase(f.hostname.lower(), p.lower())
    if n == "KernelCommandLine":
        for word in f.kernel_command_line.split():
            if word == p if "=" in p else (word == p or word.startswith(p + "=")):
                return True
        return False
    if n == "KernelVersion":
        return _kernel_version(p, f.kernel_release)
    if n == "OSRelease":
        return _os_release(p, f.os_release)
    if n == "Environment":
        if "=" in p:
            k, _, v = p.partition("=")
            return f.environment.get(k) == v
        return p in f.environment
    if n == "User":
        if p.isdigit():
            return int(p) in (f.uid, f.euid)
        if p == "@system":
            return f.uid <= SYSTEM_UID_MAX or f.euid <= SYSTEM_UID_MAX
        if p == f.user_name:
            return True
        uid = f.lookup_user(p)
        return uid is not None and uid in (f.uid, f.euid)
    if n == "Group":
        gid = int(p) if p.isdigit() else f.lookup_group(p)
        return gid is not None and gid in f.gids
    if n == "FirstBoot":
        return f.first_boot == _parse_bool(p)
    if n == "ACPower":
        return f.ac_power == _parse_bool(p)
    if n in ("Memory", "CPUs"):
        op, rest = _parse_order(p, allow_bang=False)
        have = f.memory_bytes if n == "Memory" else f.cpus
        want = _parse_size(rest) if n == "Memory" else int(rest.strip()) if rest.strip().isdigit() else None
        if want is None:
            raise ConditionError(f"Failed to parse '{p}'")
        return _test_order(_cmp(have, want), op or ">=")
    if n == "CPUFeature":
        return p.lower() in {x.lower() for x in f.cpu_features}
    if n == "Capability":
        if not p.lower().startswith("cap_"):
            raise ConditionError(f"Unknown capability '{p}'")
        return p.lower() in f.capabilities
    if n == "Security":
        return p in f.security
    if n == "Firmware":
        return p in f.firmware
    if n == "ControlGroupController":
        if p in ("v1", "v2"):
            return f.cgroup_version == int(p[1])
        return all(word in f.cgroup_controllers for word in p.split())
    if n == "Credential":
        return p in f.credentials
    if n == "KernelModuleLoaded":
        return p.replace("-", "_") in {m.replace("-", "_") for m in f.kernel_modules}
    if n in ("MemoryPressure", "CPUPressure", "IOPressure"):
        m = re.fullmatch(r"(?:([^:]+):)?(\d+(?:\.\d+)?)%(?:/(10sec|1min|5min))?", p)
        if not m:
            raise ConditionError(f"Failed to parse '{p}'")
        have = f.pressure(n[: -len("Pressure")].lower(), m.group(1) or "", m.group(3) or "5min")
        return True if have is None else have <= float(m.group(2))  # no PSI: condition holds
    raise ConditionError(f"Unknown condition {c.kind}{n}")


def evaluate_one(c: Condition, facts: Facts) -> str:
    """succeeded/failed/error for one condition. # systemd: condition_test()"""
    try:
        r = _test(c, facts)
    except ConditionError:
        return "error"
    return "succeeded" if r != c.negate else "failed"


def evaluate(conditions: Sequence[Condition], facts: Facts) -> Evaluation:
    """Evaluate a Condition or Assert list given in *file* order.
    # spec: dependencies-and-jobs.md §5   # systemd: condition_test_list()"""
    results = {id(c): "untested" for c in conditions}
    logs: list[tuple[Priority, str]] = []
    triggered: int = -1
    ok: bool | None = None
    for c in reversed(conditions):  # systemd prepends while parsing
        r = evaluate_one(c, facts)
        results[id(c)] = r
        if r == "error":
            logs.append((Priority.WARNING, f"Couldn't determine result for {c}, assuming failed: Invalid argument"))
        else:
            logs.append((Priority.DEBUG, f"{c} {r}."))
        if not c.trigger and r != "succeeded":
            ok = False
            break
        if c.trigger and triggered <= 0:
            triggered = int(r == "succeeded")
    if ok is None:
        ok = triggered != 0
    tested = tuple(Tested(c, results[id(c)]) for c in conditions)
    return Evaluation(ok, tested, tuple(logs))


@dataclass(frozen=True)
class StartCheck:
    """Outcome of the condition/assert step of `unit_start()`.

    `job_result` None: go on starting (then the start limiter). DONE with `condition_result`
    False: skipped by a condition (unit state and Result untouched, not counted by the start
    limiter, no OnFailure=). ASSERT: the job fails, the unit does not.
    """

    condition_result: bool
    assert_result: bool
    job_result: JobResult | None
    conditions: Evaluation | None
    asserts: Evaluation | None
    logs: tuple[tuple[Priority, str], ...]


def check_start(conditions: Sequence[Condition], asserts: Sequence[Condition], facts: Facts,
                *, activating: bool = False) -> StartCheck:
    """Conditions first, then asserts; neither is re-tested while the unit is activating.
    # systemd: unit_start() → unit_test_condition(), unit_test_assert()"""
    if activating:
        return StartCheck(True, True, None, None, None, ())
    ce = evaluate(conditions, facts)
    if not ce.ok:
        logs = ce.logs + ((Priority.DEBUG, "Starting requested but condition not met. Not starting unit."),)
        return StartCheck(False, True, JobResult.DONE, ce, None, logs)
    ae = evaluate(asserts, facts)
    if not ae.ok:
        logs = ce.logs + ae.logs + ((Priority.NOTICE, "Starting requested but asserts failed."),)
        return StartCheck(True, False, JobResult.ASSERT, ce, ae, logs)
    return StartCheck(True, True, None, ce, ae, ce.logs + ae.logs)


def skip_message(status_string: str, evaluation: Evaluation) -> str:
    """The journal line for a start skipped by a condition (v257 wording, observed: only the
    trigger variant ends with a period). # systemd: job_emit_done_message()"""
    c = evaluation.failed
    if c is None:
        return f"{status_string} skipped, no trigger condition checks were met."
    return f"{status_string} skipped, unmet condition check {c}"


def status_lines(evaluation: Evaluation, when: str) -> list[str]:
    """`systemctl status` lines for a failed condition or assert list; `when` is the rendered
    "Thu 2026-11-26 07:34:57 UTC; 156ms ago".
    # spec: dependencies-and-jobs.md §5   # systemd: systemctl-show.c print_status_info()"""
    if evaluation.ok or not evaluation.tested:
        return []
    failed = [t.condition for t in evaluation.tested if t.result in ("failed", "error")]
    if evaluation.tested[0].condition.kind == "Condition":
        lines = [f"  Condition: start condition unmet at {when}"]
        for i, c in enumerate(failed):
            glyph = "└─" if i == len(failed) - 1 else "├─"
            lines.append(f"             {glyph} {c} was not met")
        return lines
    lines = [f"     Assert: start assertion failed at {when}"]
    c = evaluation.failed
    if c is None:
        lines.append("             none of the trigger assertions were met")
    else:
        lines.append(f"             {c.kind}{c.name}={'!' if c.negate else ''}{c.parameter} was not met")
    return lines
