"""`sysvisor logs` (alias `journal`): a journalctl-compatible reader of sysvisor's journal.

Only the standard library and `sysvisor.journal` are imported, so the command starts fast
and works while the manager is down. No pager is ever started (`--no-pager` is accepted).

spec: systemctl-and-journal.md §6 (options, matches, output formats, `-- No entries --`)
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from sysvisor.journal.format import OUTPUT_MODES, format_bytes, format_entry, format_timestamp
from sysvisor.journal.query import (
    Query,
    QueryError,
    compile_grep,
    cursor_key,
    entry_key,
    mangle_unit,
    parse_priority,
    resolve_boot,
)
from sysvisor.journal.reader import JournalReader
from sysvisor.journal.segment import Entry, list_segments
from sysvisor.journal.store import vacuum_directory
from sysvisor.journal.timestamp import TimeParseError, parse_timespan, parse_timestamp

PROG = "sysvisor logs"
_FIELD_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
FOLLOW_POLL_INTERVAL = 0.25  # seconds; a bounded poll in the client (no inotify in stdlib)

USAGE = f"""\
{PROG} [OPTIONS...] [MATCHES...]

Query the sysvisor journal.

  -u --unit=UNIT            Show logs from the specified unit (glob allowed)
  -t --identifier=STRING    Show entries with the specified syslog identifier
  -p --priority=RANGE       Show entries with the specified priority
  -g --grep=PATTERN         Show entries with MESSAGE matching PATTERN
     --case-sensitive[=BOOL] Force case sensitive or insensitive matching
  -S --since=DATE           Show entries not older than the specified date
  -U --until=DATE           Show entries not newer than the specified date
  -b --boot[=ID]            Show current manager instance or the specified one
     --list-boots           Show terse information about recorded manager instances
  -n --lines[=INTEGER]      Number of journal entries to show
     --no-tail              Show all lines, even in follow mode
  -r --reverse              Show the newest entries first
  -f --follow               Follow the journal
  -e --pager-end            Jump to the end (implies -n1000)
  -o --output=STRING        Change journal output mode ({", ".join(OUTPUT_MODES)})
     --output-fields=LIST   Select fields to print in verbose/export/json modes
     --utc                  Express time in Coordinated Universal Time (UTC)
     --no-hostname          Suppress output of hostname field
  -a --all                  Show all fields, including long and unprintable
  -q --quiet                Do not show info messages
     --no-pager             Do not pipe output into a pager (never done anyway)
     --disk-usage           Show total disk usage of all journal files
     --vacuum-size=BYTES    Reduce disk usage below specified size
     --vacuum-files=INT     Leave only the specified number of journal files
     --vacuum-time=TIME     Remove journal files older than specified time
  -c --cursor=CURSOR        Show entries starting at the specified cursor
     --after-cursor=CURSOR  Show entries after the specified cursor
     --show-cursor          Print the cursor after all the entries
     --cursor-file=FILE     Show entries after cursor in FILE and update FILE
  -D --directory=PATH       Show journal files from directory
  -h --help                 Show this help text
"""


UsageError = QueryError  # every bad argument: journalctl's words, exit status 1


@dataclass
class Options:
    units: list[str] = field(default_factory=list)
    user_units: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    priorities: set[str] | None = None
    grep: str | None = None
    case_sensitive: bool | None = None
    since: str | None = None
    until: str | None = None
    boot: str | None = None  # None: all; "0"/ID/±N
    lines: int | None = None  # None: all
    lines_set: bool = False
    lines_head: bool = False  # -n +N
    no_tail: bool = False
    reverse: bool = False
    follow: bool = False
    pager_end: bool = False
    output: str = "short"
    output_fields: list[str] | None = None
    utc: bool = False
    hostname: bool = True
    show_all: bool = False
    quiet: bool = False
    list_boots: bool = False
    disk_usage: bool = False
    kernel: bool = False
    help: bool = False
    directory: str | None = None
    cursor: str | None = None
    after_cursor: str | None = None
    show_cursor: bool = False
    cursor_file: str | None = None
    vacuum_size: int | None = None
    vacuum_time_usec: int | None = None
    vacuum_files: int | None = None
    matches: list[list[tuple[str, str]]] = field(default_factory=lambda: [[]])


# option name → (takes argument: "no" | "yes" | "opt", attribute handler key)
_LONG = {
    "unit": "yes", "user-unit": "yes", "identifier": "yes", "priority": "yes", "grep": "yes",
    "case-sensitive": "opt", "since": "yes", "until": "yes", "boot": "opt", "lines": "opt",
    "no-tail": "no", "reverse": "no", "follow": "no", "pager-end": "no", "output": "yes",
    "output-fields": "yes", "utc": "no", "no-hostname": "no", "all": "no", "quiet": "no",
    "no-pager": "no", "list-boots": "no", "disk-usage": "no", "help": "no", "catalog": "no",
    "merge": "no", "full": "no", "no-full": "no", "system": "no", "user": "no", "dmesg": "no",
    "this-boot": "no", "directory": "yes", "cursor": "yes", "after-cursor": "yes",
    "show-cursor": "no", "cursor-file": "yes", "vacuum-size": "yes", "vacuum-time": "yes",
    "vacuum-files": "yes",
}  # fmt: skip
_SHORT = {
    "u": "unit", "t": "identifier", "p": "priority", "g": "grep", "S": "since", "U": "until",
    "b": "boot", "n": "lines", "r": "reverse", "f": "follow", "e": "pager-end", "o": "output",
    "a": "all", "q": "quiet", "h": "help", "x": "catalog", "m": "merge", "l": "full", "k": "dmesg",
    "D": "directory", "c": "cursor",
}  # fmt: skip


def _parse_lines(value: str | None) -> tuple[int | None, bool] | None:
    """`-n` argument → (count or None for all, head?) or None if not a lines value.
    # systemd: journalctl parse_lines()"""
    if value is None:
        return 10, False
    if value == "all":
        return None, False
    head = value.startswith("+")
    digits = value[1:] if head else value
    if digits.isdigit():
        return int(digits), head
    return None


def _is_boot_descriptor(value: str) -> bool:
    return value == "all" or re.fullmatch(r"[+-]?\d+|[0-9a-fA-F]{32}([+-]\d+)?", value) is not None


def _boot_text(descriptor: str) -> str:
    """journalctl's "%s%+i" of a boot descriptor: `5` → `+5`, an id → `ID+0`."""
    m = re.fullmatch(r"([0-9a-fA-F]{32})?([+-]?\d+)?", descriptor)
    if m is None:
        return descriptor
    return f"{(m.group(1) or '').lower()}{int(m.group(2) or 0):+d}"


def _parse_bool(value: str) -> bool:
    v = value.lower()
    if v in ("1", "yes", "y", "true", "t", "on"):
        return True
    if v in ("0", "no", "n", "false", "f", "off"):
        return False
    raise UsageError(f"Failed to parse boolean: {value}")


_SIZE_SUFFIXES = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5, "E": 1024**6}


def _parse_size(value: str) -> int:
    """`100M`, `1G`, `512K`, `4096` (base 1024, like systemd's parse_size())."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGTPE]?B?|B)\s*", value)
    if not m:
        raise UsageError(f"Failed to parse vacuum size: {value}")
    unit = m.group(2).rstrip("B") if m.group(2) not in ("", "B") else m.group(2)
    return int(float(m.group(1)) * _SIZE_SUFFIXES[unit])


def parse_args(argv: list[str]) -> Options:
    """journalctl's command line → Options. Raises UsageError with journalctl's wording."""
    o = Options()
    args = list(argv)
    i = 0

    def apply(name: str, value: str | None, next_arg: str | None) -> bool:
        """Returns True if `next_arg` was consumed."""
        consumed = False
        if name == "unit":
            o.units.append(mangle_unit(value or ""))
        elif name == "user-unit":
            o.user_units.append(mangle_unit(value or ""))
        elif name == "identifier":
            o.identifiers.append(value or "")
        elif name == "priority":
            o.priorities = parse_priority(value or "")
        elif name == "grep":
            o.grep = value
        elif name == "case-sensitive":
            o.case_sensitive = True if value is None else _parse_bool(value)
        elif name == "since":
            o.since = value
        elif name == "until":
            o.until = value
        elif name == "boot":
            if value is None and next_arg is not None and _is_boot_descriptor(next_arg):
                value, consumed = next_arg, True
            if value is not None and not _is_boot_descriptor(value):
                raise UsageError(f"Failed to parse boot descriptor '{value}'")
            o.boot = value if value is not None else "0"
        elif name == "lines":
            parsed = _parse_lines(value)
            if value is None and next_arg is not None:
                nxt = _parse_lines(next_arg)
                if nxt is not None:
                    parsed, consumed = nxt, True
            if parsed is None:
                raise UsageError(f"Failed to parse --lines='{value}'.")
            o.lines, o.lines_head = parsed
            o.lines_set = True
        elif name == "no-tail":
            o.no_tail = True
        elif name == "reverse":
            o.reverse = True
        elif name == "follow":
            o.follow = True
        elif name == "pager-end":
            o.pager_end = True
        elif name == "output":
            if value not in OUTPUT_MODES:
                raise UsageError(f"Unknown output format '{value}'.")
            o.output = value
        elif name == "output-fields":
            o.output_fields = [f for f in (value or "").split(",") if f]
        elif name == "utc":
            o.utc = True
        elif name == "no-hostname":
            o.hostname = False
        elif name == "all":
            o.show_all = True
        elif name == "quiet":
            o.quiet = True
        elif name == "list-boots":
            o.list_boots = True
        elif name == "disk-usage":
            o.disk_usage = True
        elif name == "help":
            o.help = True
        elif name in ("dmesg",):
            o.kernel = True
            o.boot = o.boot or "0"
        elif name == "this-boot":
            o.boot = "0"
        elif name == "directory":
            o.directory = value
        elif name == "cursor":
            o.cursor = value
        elif name == "after-cursor":
            o.after_cursor = value
        elif name == "show-cursor":
            o.show_cursor = True
        elif name == "cursor-file":
            o.cursor_file = value
        elif name == "vacuum-size":
            o.vacuum_size = _parse_size(value or "")
        elif name == "vacuum-time":
            try:
                o.vacuum_time_usec = parse_timespan(value or "")
            except TimeParseError:
                raise UsageError(f"Failed to parse vacuum time: {value}") from None
        elif name == "vacuum-files":
            if not (value or "").isdigit():
                raise UsageError(f"Failed to parse vacuum files: {value}")
            o.vacuum_files = int(value or "0")
        # catalog, merge, full, no-full, no-pager, system, user: accepted, nothing to do
        return consumed

    positional_only = False
    while i < len(args):
        arg = args[i]
        nxt = args[i + 1] if i + 1 < len(args) else None
        i += 1
        if positional_only or not arg.startswith("-") or arg == "-":
            _add_match(o, arg)
            continue
        if arg == "--":
            positional_only = True
            continue
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            kind = _LONG.get(name)
            if kind is None:
                raise UsageError(f"{PROG}: unrecognized option '{arg}'")
            if kind == "no" and eq:
                raise UsageError(f"{PROG}: option '--{name}' doesn't allow an argument")
            if kind == "yes" and not eq:
                if nxt is None:
                    raise UsageError(f"{PROG}: option '--{name}' requires an argument")
                value, eq = nxt, "="
                i += 1
                nxt = None
            if apply(name, value if eq else None, nxt if kind == "opt" and not eq else None):
                i += 1
            continue
        # a cluster of short options: -fu foo, -n10, -b-1
        j = 1
        while j < len(arg):
            letter = arg[j]
            name = _SHORT.get(letter)
            if name is None:
                raise UsageError(f"{PROG}: invalid option -- '{letter}'")
            kind = _LONG[name]
            rest = arg[j + 1 :]
            if kind == "no":
                apply(name, None, None)
                j += 1
                continue
            if rest:
                apply(name, rest, None)
            elif kind == "yes":
                if nxt is None:
                    raise UsageError(f"{PROG}: option requires an argument -- '{letter}'")
                apply(name, nxt, None)
                i += 1
            elif apply(name, None, nxt):
                i += 1
            break
    return o


def _add_match(o: Options, arg: str) -> None:
    """`FIELD=VALUE` (AND across fields, OR within a field) or `+` (OR between groups)."""
    if arg == "+":
        if not o.matches[-1]:
            raise UsageError("Failed to add disjunction: Invalid argument")
        o.matches.append([])
        return
    if arg.startswith("/"):
        o.matches[-1].append(("_EXE", os.path.realpath(arg)))
        return
    name, eq, value = arg.partition("=")
    if not eq or not _FIELD_NAME.match(name):
        raise UsageError(f"Failed to add match '{arg}': Invalid argument")
    o.matches[-1].append((name, value))


# --------------------------------------------------------------------------------------


def _use_color(out: TextIO) -> bool:
    """Colour on a terminal; $SYSTEMD_COLORS forces it on or off, $NO_COLOR off."""
    forced = os.environ.get("SYSTEMD_COLORS", "").lower()
    if os.environ.get("NO_COLOR") or forced in ("0", "no", "false", "off"):
        return False
    if forced in ("1", "yes", "true", "on", "16", "256", "24bit"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def main(
    argv: list[str],
    journal_dir: str,
    *,
    boot_id: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    follow_stop: Callable[[], bool] | None = None,
    now_usec: int | None = None,
) -> int:
    """`sysvisor logs [OPTIONS] [MATCHES]` → exit status. `boot_id`: the running manager
    instance's _BOOT_ID (for `-b`); `follow_stop` ends `-f` (tests).
    # spec: systemctl-and-journal.md §6"""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    try:
        return _run(argv, journal_dir, boot_id, out, err, follow_stop, now_usec)
    except UsageError as e:
        print(str(e), file=err)
        return 1
    except BrokenPipeError:
        # `sysvisor logs | head`: stop quietly; point stdout at /dev/null so the
        # interpreter's final flush does not complain either
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass
        return 0
    except KeyboardInterrupt:
        return 0


def _run(
    argv: list[str],
    journal_dir: str,
    boot_id: str | None,
    out: TextIO,
    err: TextIO,
    follow_stop: Callable[[], bool] | None,
    now_usec: int | None,
) -> int:
    o = parse_args(argv)
    if o.reverse and o.follow:
        raise UsageError("Please specify either --reverse or --follow, not both.")
    if o.help:
        out.write(USAGE)
        return 0
    if o.directory:
        journal_dir = o.directory
    reader = JournalReader(journal_dir)
    if not o.quiet and not list_segments(journal_dir):
        print("No journal files were found.", file=err)  # as journalctl (252 observed)
    if o.disk_usage:
        total = 0
        for *_rest, path in list_segments(journal_dir):
            try:
                total += os.stat(path).st_blocks * 512
            except OSError:
                pass
        out.write(f"Archived and active journals take up {format_bytes(total)} in the file system.\n")
        return 0
    if o.list_boots:
        return _list_boots(reader, boot_id, o, out, err)
    if o.vacuum_size is not None or o.vacuum_time_usec is not None or o.vacuum_files is not None:
        return _vacuum(journal_dir, o, err)

    now = now_usec if now_usec is not None else time.time_ns() // 1000
    since = until = None
    try:
        if o.since is not None:
            since = parse_timestamp(o.since, now)
    except TimeParseError:
        raise UsageError(f"Failed to parse timestamp: {o.since}") from None
    try:
        if o.until is not None:
            until = parse_timestamp(o.until, now)
    except TimeParseError:
        raise UsageError(f"Failed to parse timestamp: {o.until}") from None
    if since is not None and until is not None and since > until:
        raise UsageError("--since= must be before --until=.")

    grep = compile_grep(o.grep, o.case_sensitive) if o.grep is not None else None
    query = Query(
        units=o.units, user_units=o.user_units, identifiers=o.identifiers, priorities=o.priorities,
        matches=o.matches, grep=grep, kernel=o.kernel,
    )  # fmt: skip
    if o.boot is not None and o.boot != "all":
        boots = [b for b, _first, _last in reader.boots()]
        query.boot = resolve_boot(boots, o.boot, boot_id)
        if query.boot is None:
            if o.boot in ("0", "-0", "+0") and boot_id is None:
                query.boot = ""  # nothing logged yet: no entries
            else:
                print(f"No journal boot entry found for the specified boot ({_boot_text(o.boot)}).", file=err)
                return 1
    predicate = query.entry_predicate()
    record_match = query.record_predicate()
    start = _cursor_start(o)
    if start is not None:
        key, inclusive = start
        since = key[0] if since is None else max(since, key[0])
        before = predicate
        if inclusive:
            predicate = lambda e: entry_key(e) >= key and before(e)  # noqa: E731
        else:
            predicate = lambda e: entry_key(e) > key and before(e)  # noqa: E731
    window = {"since_usec": since, "until_usec": until, "record_match": record_match}

    lines = o.lines
    if o.follow and not o.lines_set:
        lines = 10  # journalctl: -f implies -n10
    if o.pager_end and o.lines is None:
        lines = 1000
    if o.no_tail:
        lines = None

    if o.lines_head and lines is not None:
        selected = []
        for entry in reader.entries(predicate, **window):  # type: ignore[arg-type]
            if len(selected) >= lines:
                break
            selected.append(entry)
        if o.reverse:
            selected.reverse()
    elif lines is not None:
        selected = reader.tail(lines, predicate, **window)
        if o.reverse:
            selected.reverse()
    else:
        selected = list(reader.entries(predicate, reverse=o.reverse, **window))  # type: ignore[arg-type]

    color = _use_color(out)
    printer = _Printer(o, out, color, grep)
    for entry in selected:
        printer.print(entry)
    if not selected and not o.follow and o.grep is None and not o.quiet:
        out.write("-- No entries --\n")
    if selected:
        last = selected[0] if o.reverse else selected[-1]
        if o.show_cursor:
            out.write(f"-- cursor: {last['__CURSOR']}\n")
        if o.cursor_file:
            _write_cursor_file(o.cursor_file, last["__CURSOR"])
    out.flush()
    if o.follow:
        if o.lines_head:
            reader.mark_end()  # the head walk stopped early; start following at the end
        for entry in reader.follow(
            predicate, poll_interval=FOLLOW_POLL_INTERVAL, stop=follow_stop, record_match=record_match
        ):
            if until is not None and int(entry["__REALTIME_TIMESTAMP"]) > until:
                continue
            printer.print(entry)
            out.flush()
    if o.grep is not None and not selected and not o.follow:
        return 1  # like grep(1) when nothing matched (journalctl 257: no "-- No entries --")
    return 0


def _cursor_start(o: Options) -> tuple[tuple[int, str, int], bool] | None:
    """Where --cursor/--after-cursor/--cursor-file start: (key, inclusive)."""
    if o.cursor is not None:
        return cursor_key(o.cursor), True
    if o.after_cursor is not None:
        return cursor_key(o.after_cursor), False
    if o.cursor_file:
        try:
            with open(o.cursor_file, encoding="utf-8") as f:
                text = f.read().strip()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise UsageError(f"Failed to read cursor file {o.cursor_file}: {e.strerror}") from None
        if text:
            return cursor_key(text), False
    return None


def _write_cursor_file(path: str, cursor: str) -> None:
    tmp = f"{path}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(cursor)
        os.replace(tmp, path)
    except OSError as e:
        raise UsageError(f"Failed to write new cursor to {path}: {e.strerror}") from None


class _Printer:  # noqa: D101 (see __init__)
    """Writes entries in the chosen mode, with `-- Boot ID --` separators in text modes."""

    def __init__(self, o: Options, out: TextIO, color: bool, grep: re.Pattern[str] | None) -> None:
        self.o = o
        self.out = out
        self.color = color
        self.previous_boot: str | None = None
        self.separators = not o.quiet and not o.output.startswith("json") and o.output not in ("export", "cat")
        self.grep = grep if color else None

    def _match_span(self, entry: Entry) -> tuple[int, int] | None:
        if self.grep is None:
            return None
        m = self.grep.search(entry.get("MESSAGE", ""))
        return m.span() if m else None

    def print(self, entry: Entry) -> None:
        o = self.o
        boot = entry.get("_BOOT_ID")
        if self.separators and boot and self.previous_boot is not None and boot != self.previous_boot:
            self.out.write(f"-- Boot {boot} --\n")
        if boot:
            self.previous_boot = boot
        text = format_entry(
            entry,
            o.output,
            utc=o.utc,
            hostname=o.hostname,
            show_all=o.show_all,
            color=self.color,
            output_fields=o.output_fields,
            highlight=self._match_span(entry),
        )
        if o.output == "export" and hasattr(self.out, "buffer"):
            self.out.flush()
            self.out.buffer.write(text.encode("utf-8", "surrogateescape"))
        else:
            self.out.write(text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


def _vacuum(journal_dir: str, o: Options, err: TextIO) -> int:
    """--vacuum-size/--vacuum-time/--vacuum-files: delete old closed segments (the ones a
    writer holds open stay). Messages as journalctl's, on stderr."""
    deleted = vacuum_directory(
        journal_dir, max_use=o.vacuum_size, max_age_usec=o.vacuum_time_usec, max_files=o.vacuum_files
    )
    for path, size in deleted:
        print(f"Deleted archived journal {path} ({format_bytes(size)}).", file=err)
    freed = sum(size for _path, size in deleted)
    print(f"Vacuuming done, freed {format_bytes(freed)} of archived journals from {journal_dir}.", file=err)
    return 0


def _list_boots(reader: JournalReader, current: str | None, o: Options, out: TextIO, err: TextIO) -> int:
    """`--list-boots`: IDX BOOT ID FIRST ENTRY LAST ENTRY. # journalctl --list-boots"""
    boots = reader.boots()
    if not boots:
        print("No boots found.", file=err) if not o.quiet else None
        return 1
    rows = []
    last = len(boots) - 1
    if current is not None and current in [b for b, _f, _l in boots]:
        last = [b for b, _f, _l in boots].index(current)
    for i, (b, first, lst) in enumerate(boots):
        rows.append((str(i - last), b, format_timestamp(first, utc=o.utc), format_timestamp(lst, utc=o.utc)))
    w0 = max(3, *(len(r[0]) for r in rows))
    w2 = max(len("FIRST ENTRY"), *(len(r[2]) for r in rows))
    out.write(f"{'IDX':>{w0}} {'BOOT ID':<32} {'FIRST ENTRY':<{w2}} LAST ENTRY\n")
    for idx, b, first_s, last_s in rows:
        out.write(f"{idx:>{w0}} {b} {first_s:<{w2}} {last_s}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover - manual use: python -m sysvisor.cli.logs DIR ...
    raise SystemExit(main(sys.argv[2:], sys.argv[1]))
