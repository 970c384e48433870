"""Which entries a journal query selects: journalctl's matches as predicates.

`Query` holds `-u`, `--user-unit`, `-t`, `-p`, `-g`, `-k`, the boot and `FIELD=VALUE`
groups; `entry_predicate()` tests an entry, `record_predicate()` tests the fields a stored
record shares so the reader can skip whole records. Errors are `QueryError`s worded like
journalctl's.

spec: systemctl-and-journal.md §6 (-u, -p, -g, -t, -b, matches)
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sysvisor.journal.segment import Entry

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sysvisor.journal.segment import Match, RecordMatch

LEVELS = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
_UNIT_SUFFIXES = (
    ".service", ".socket", ".target", ".device", ".mount", ".automount", ".swap", ".timer",
    ".path", ".slice", ".scope",
)  # fmt: skip
_GLOB_CHARS = set("*?[")
_PER_ENTRY_FIELDS = frozenset({"MESSAGE", "PRIORITY", "_LINE_BREAK"})
_UNIT_KEYS = ("_SYSTEMD_UNIT", "UNIT", "COREDUMP_UNIT", "OBJECT_SYSTEMD_UNIT", "_SYSTEMD_SLICE")


class QueryError(ValueError):
    """A bad query argument; the message is journalctl's."""


def parse_priority(value: str) -> set[str]:
    """`err`, `3`, `warning..err`, `5..6` → the set of PRIORITY values shown.
    A single level means that level and all more important ones."""

    def level(text: str) -> int:
        if text.isdigit() and int(text) <= 7:
            return int(text)
        if text in LEVELS:
            return LEVELS.index(text)
        raise QueryError(f"Unknown log level {text}")

    if ".." in value:
        a, _, b = value.partition("..")
        try:
            lo, hi = level(a), level(b)
        except QueryError:
            raise QueryError(f"Failed to parse log level range {value}") from None
        if lo > hi:
            lo, hi = hi, lo
        return {str(i) for i in range(lo, hi + 1)}
    return {str(i) for i in range(0, level(value) + 1)}


def mangle_unit(name: str) -> str:
    """`foo` → `foo.service`, globs and names with a unit suffix unchanged.
    # systemd: unit_name_mangle_with_suffix(UNIT_NAME_MANGLE_GLOB)"""
    if _GLOB_CHARS & set(name) or name.endswith(_UNIT_SUFFIXES):
        return name
    return name + ".service"


def unit_matches(fields: Mapping[str, str], pats: list[str]) -> bool:
    """`-u`: `_SYSTEMD_UNIT=` or the manager's `UNIT=` (and coredump/object units;
    `_SYSTEMD_SLICE=` for slice patterns)."""
    for key in _UNIT_KEYS:
        v = fields.get(key)
        if v is not None and any(fnmatch.fnmatchcase(v, p) for p in pats):
            if key == "_SYSTEMD_SLICE" and not any(p.endswith(".slice") for p in pats):
                continue
            return True
    return False


def field_group_predicate(group: list[tuple[str, str]]) -> Callable[[Entry], bool]:
    by_field: dict[str, set[str]] = {}
    for name, value in group:
        by_field.setdefault(name, set()).add(value)
    items = list(by_field.items())
    return lambda e: all(e.get(k) in vs for k, vs in items)


def compile_grep(pattern: str, case_sensitive: bool | None = None) -> re.Pattern[str]:
    """`-g PATTERN`; an all-lowercase pattern matches case-insensitively unless
    `--case-sensitive`. # journalctl --grep"""
    sensitive = case_sensitive if case_sensitive is not None else pattern != pattern.lower()
    try:
        return re.compile(pattern, 0 if sensitive else re.IGNORECASE)
    except re.error as e:
        raise QueryError(f'Bad pattern "{pattern}": {_PCRE2_WORDS.get(e.msg, e.msg)}') from None


# Python's words for the common mistakes in a pattern → PCRE2's, which journalctl prints
_PCRE2_WORDS = {
    "missing ), unterminated subpattern": "missing closing parenthesis",
    "unbalanced parenthesis": "unmatched closing parenthesis",
    "unterminated character set": "missing terminating ] for character class",
    "nothing to repeat": "quantifier does not follow a repeatable item",
    "multiple repeat": "quantifier does not follow a repeatable item",
    "bad escape (end of pattern)": "\\ at end of pattern",
}


def cursor_key(cursor: str) -> tuple[int, str, int]:
    """Our cursor `s=WRITER;i=SEQ;b=BOOT;m=MONO;t=REALTIME;x=0` → the reader's sort key
    (realtime, writer, seqnum). Raises QueryError like journalctl."""
    parts = dict(p.partition("=")[::2] for p in cursor.strip().split(";") if "=" in p)
    try:
        return int(parts["t"], 16), parts["s"], int(parts["i"], 16)
    except (KeyError, ValueError):
        raise QueryError("Failed to seek to cursor: Invalid argument") from None


def entry_key(entry: Entry) -> tuple[int, str, int]:
    return int(entry["__REALTIME_TIMESTAMP"]), entry.get("__SEQNUM_ID", ""), int(entry.get("__SEQNUM", "0"))


@dataclass
class Query:
    """The selection of `sysvisor logs` (all AND-ed; within `matches`, groups are OR-ed)."""

    units: list[str] = field(default_factory=list)  # mangled names or globs
    user_units: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    priorities: set[str] | None = None
    matches: list[list[tuple[str, str]]] = field(default_factory=list)
    grep: re.Pattern[str] | None = None
    kernel: bool = False
    boot: str | None = None  # a _BOOT_ID

    def record_predicate(self) -> RecordMatch | None:
        """The tests that only look at fields a whole stored record shares."""
        tests: list[Callable[[Mapping[str, str]], bool]] = []
        if self.units:
            pats = self.units
            tests.append(lambda f: unit_matches(f, pats))
        if self.identifiers:
            idents = set(self.identifiers)
            tests.append(lambda f: f.get("SYSLOG_IDENTIFIER") in idents)
        if self.boot is not None:
            boot = self.boot
            tests.append(lambda f: f.get("_BOOT_ID") == boot)
        groups = [
            [(k, v) for k, v in g if k not in _PER_ENTRY_FIELDS and not k.startswith("__")]
            for g in self.matches
            if g
        ]
        if groups and all(groups):  # a group of per-entry fields only could match any record
            preds = [field_group_predicate(g) for g in groups]
            tests.append(lambda f: any(p(f) for p in preds))
        if not tests:
            return None
        return lambda f: all(t(f) for t in tests)

    def entry_predicate(self) -> Match:
        """Every test, on a whole entry."""
        tests: list[Callable[[Entry], bool]] = []
        groups = [g for g in self.matches if g]
        if groups:
            preds = [field_group_predicate(g) for g in groups]
            tests.append(lambda e: any(p(e) for p in preds))
        if self.units:
            pats = self.units
            tests.append(lambda e: unit_matches(e, pats))
        if self.user_units:
            upats = self.user_units
            tests.append(
                lambda e: any(
                    (v := e.get(k)) is not None and any(fnmatch.fnmatchcase(v, p) for p in upats)
                    for k in ("_SYSTEMD_USER_UNIT", "USER_UNIT")
                )
            )
        if self.identifiers:
            idents = set(self.identifiers)
            tests.append(lambda e: e.get("SYSLOG_IDENTIFIER") in idents)
        if self.priorities is not None:
            prios = self.priorities
            tests.append(lambda e: e.get("PRIORITY") in prios)
        if self.kernel:
            tests.append(lambda e: e.get("_TRANSPORT") == "kernel")
        if self.boot is not None:
            boot = self.boot
            tests.append(lambda e: e.get("_BOOT_ID") == boot)
        rx = self.grep
        if rx is not None:
            tests.append(lambda e: rx.search(e.get("MESSAGE", "")) is not None)
        if not tests:
            return lambda e: True
        if len(tests) == 1:
            return tests[0]
        return lambda e: all(t(e) for t in tests)


def resolve_boot(boots: list[str], spec: str, current: str | None) -> str | None:
    """`-b` argument → a _BOOT_ID, or None if there is no such boot. `boots`: the
    recorded manager instances, oldest first; `current`: the running one. # journalctl -b"""
    if spec == "all":
        return "all"
    m = re.fullmatch(r"([0-9a-fA-F]{32})?([+-]?\d+)?", spec)
    if not m:
        return None
    ident, offset = m.group(1), m.group(2)
    if ident:
        ident = ident.lower()
        if ident not in boots:
            return None
        if not offset:
            return ident
        idx = boots.index(ident) + int(offset)
        return boots[idx] if 0 <= idx < len(boots) else None
    n = int(offset or "0")
    if n <= 0:
        if current is not None and current in boots:
            idx = boots.index(current) + n
        elif current is not None and n == 0:
            return current
        else:
            idx = len(boots) - 1 + n
        return boots[idx] if 0 <= idx < len(boots) else None
    return boots[n - 1] if n - 1 < len(boots) else None
