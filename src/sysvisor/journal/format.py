"""journalctl's output formats (`-o`), as pure functions of an entry.

An entry is a dict of journald field names to text (see `store.JournalReader`). Layouts are
ported from systemd's `src/shared/logs-show.c` (`output_short()`, `output_verbose()`,
`output_json()`, `output_export()`, `output_cat()`) and checked against journalctl 257 output
recorded in `tests/data/journal/`.

spec: systemctl-and-journal.md §6 (`short` line format, multi-line rule, `-o` modes)
"""

from __future__ import annotations

import time
TYPE_CHECKING = False  # annotations only: `status` imports this module, and collections costs it ~2 ms
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

OUTPUT_MODES = (
    "short", "short-full", "short-iso", "short-iso-precise", "short-precise",
    "short-monotonic", "short-unix", "verbose", "export", "json", "json-pretty",
    "json-sse", "json-seq", "cat", "with-unit",
)  # fmt: skip

JSON_THRESHOLD = 4096  # logs-show.c: longer fields become null in JSON unless --all
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# journalctl 257's colours (observed with SYSTEMD_COLORS=1)
ANSI_RED = "\x1b[0;1;31m"
ANSI_YELLOW = "\x1b[0;1;38:5:185m"
ANSI_HIGHLIGHT = "\x1b[0;1;39m"
ANSI_GREY = "\x1b[0;38:5:245m"
ANSI_NORMAL = "\x1b[0m"

# Fields every JSON record starts with (journalctl always includes them, even with
# --output-fields=).
_JSON_ALWAYS = ("__CURSOR", "__REALTIME_TIMESTAMP", "__MONOTONIC_TIMESTAMP", "__SEQNUM",
                "__SEQNUM_ID", "_BOOT_ID")  # fmt: skip


def format_bytes(n: int) -> str:
    """systemd's format_bytes(): `37B`, `48.8K`, `1.5M`. # systemd: format_bytes_full()"""
    table = (("E", 1024**6), ("P", 1024**5), ("T", 1024**4), ("G", 1024**3), ("M", 1024**2), ("K", 1024))
    for i, (suffix, factor) in enumerate(table):
        if n >= factor:
            if i != len(table) - 1:
                decimal = (n // table[i + 1][1] * 10 // 1024) % 10
            else:
                decimal = (n * 10 // factor) % 10
            return f"{n // factor}.{decimal}{suffix}"
    return f"{n}B"


def is_printable(text: str) -> bool:
    """UTF-8 without C0/C1 control characters other than TAB and LF.
    # systemd: utf8_is_printable_newline(), unichar_is_control()"""
    if text.isascii():  # nearly every message: str methods in C (for ASCII, isprintable() is 0x20-0x7E)
        return text.isprintable() or text.replace("\t", "").replace("\n", "").isprintable()
    for ch in text:
        o = ord(ch)
        if (o < 32 and o not in (9, 10)) or 0x7F <= o <= 0x9F or 0xD800 <= o <= 0xDFFF:
            return False
    return True


def _raw_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def _tm(usec: int, utc: bool) -> time.struct_time:
    return time.gmtime(usec // 1_000_000) if utc else time.localtime(usec // 1_000_000)


def _zone(tm: time.struct_time, utc: bool) -> str:
    return "UTC" if utc else (tm.tm_zone or "UTC")


def _offset(tm: time.struct_time, utc: bool) -> str:
    off = 0 if utc else (tm.tm_gmtoff or 0)
    sign = "+" if off >= 0 else "-"
    off = abs(off) // 60
    return f"{sign}{off // 60:02d}:{off % 60:02d}"


def format_timestamp(usec: int, *, utc: bool = False, precise: bool = False) -> str:
    """`Thu 2026-11-26 07:00:57[.551985] UTC` (systemd's format_timestamp())."""
    tm = _tm(usec, utc)
    frac = f".{usec % 1_000_000:06d}" if precise else ""
    return (
        f"{_DAYS[tm.tm_wday]} {tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d} "
        f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}{frac} {_zone(tm, utc)}"
    )


def display_realtime(entry: Mapping[str, str]) -> int:
    """The time journalctl shows: the sender's `_SOURCE_REALTIME_TIMESTAMP` when present."""
    for key in ("_SOURCE_REALTIME_TIMESTAMP", "__REALTIME_TIMESTAMP"):
        value = entry.get(key)
        if value and value.isdigit():
            return int(value)
    return 0


def display_monotonic(entry: Mapping[str, str]) -> int:
    """The monotonic time journalctl shows: the sender's `_SOURCE_MONOTONIC_TIMESTAMP`, or
    the receive time moved back by the sender's head start on the realtime clock
    (observed journalctl 257)."""
    mono = int(entry.get("__MONOTONIC_TIMESTAMP") or 0)
    source = entry.get("_SOURCE_MONOTONIC_TIMESTAMP")
    if source and source.isdigit():
        return int(source)
    src_rt = entry.get("_SOURCE_REALTIME_TIMESTAMP")
    rt = entry.get("__REALTIME_TIMESTAMP")
    if src_rt and rt and src_rt.isdigit() and rt.isdigit() and 0 <= int(rt) - int(src_rt) <= mono:
        return mono - (int(rt) - int(src_rt))
    return mono


def _short_timestamp(entry: Mapping[str, str], mode: str, utc: bool) -> str:
    if mode == "short-monotonic":
        mono = display_monotonic(entry)
        return f"[{mono // 1_000_000:5d}.{mono % 1_000_000:06d}]"
    usec = display_realtime(entry)
    if mode == "short-unix":
        return f"{usec // 1_000_000}.{usec % 1_000_000:06d}"
    if mode in ("short-full", "with-unit"):
        return format_timestamp(usec, utc=utc)
    tm = _tm(usec, utc)
    if mode in ("short-iso", "short-iso-precise"):
        frac = f".{usec % 1_000_000:06d}" if mode == "short-iso-precise" else ""
        return (
            f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}T"
            f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}{frac}{_offset(tm, utc)}"
        )
    frac = f".{usec % 1_000_000:06d}" if mode == "short-precise" else ""
    return f"{_MONTHS[tm.tm_mon - 1]} {tm.tm_mday:02d} {tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}{frac}"


def priority_color(entry: Mapping[str, str]) -> tuple[str, str, str]:
    """(on, off, highlight) for the message: err and worse red, warning yellow, notice bold,
    debug grey, info plain. # systemd: get_log_colors()"""
    p = entry.get("PRIORITY", "")
    if p in ("0", "1", "2", "3"):
        return ANSI_RED, ANSI_NORMAL, ANSI_HIGHLIGHT
    if p == "4":
        return ANSI_YELLOW, ANSI_NORMAL, ANSI_HIGHLIGHT
    if p == "5":
        return ANSI_HIGHLIGHT, ANSI_NORMAL, ANSI_RED
    if p == "7":
        return ANSI_GREY, ANSI_NORMAL, ANSI_RED
    return "", "", ""


def _colored_line(line: str, on: str, off: str, highlight: str, span: tuple[int, int] | None) -> str:
    """One message line in colour, the `--grep` match (span) highlighted.
    # systemd: print_multiline() (a message without a match gets an empty highlight at 0)"""
    if not on:
        return line
    start, end = span if span is not None else (0, 0)
    if start >= len(line):
        return on + line + off
    out = on + line[:start] + highlight + line[start:min(len(line), end)]
    if len(line) > end:
        out += on + line[end:]
    return out + off


def _multiline(
    text: str,
    prefix: int,
    colors: tuple[str, str, str] = ("", "", ""),
    span: tuple[int, int] | None = None,
) -> str:
    """Lines after the first are indented to the message column; a trailing newline adds
    no empty line. # systemd: print_multiline() with OUTPUT_FULL_WIDTH"""
    lines = text.split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    if not lines:
        lines = [""]
    pad = " " * prefix
    on, off, highlight = colors
    out = []
    pos = 0
    for i, line in enumerate(lines):
        shown = line
        if on:
            local = None
            if span is not None and pos <= span[0] <= pos + len(line):
                local = (span[0] - pos, span[1] - pos)
            elif span is None and i == 0:
                local = (0, 0)
            shown = _colored_line(line, on, off, highlight, local) if local is not None else on + line + off
        out.append((pad if i else "") + shown)
        pos += len(line) + 1
    return "\n".join(out) + "\n"


# SGR colour sequences and OSC strings (hyperlinks, titles), as strip_tab_ansi() removes them;
# compiled on the first line that has one (`re` and its enum are a third of `status`'s imports)
_ANSI_STRIP = None


def strip_tab_ansi(text: str) -> str:
    """Colour sequences removed, TABs as 8 spaces. # systemd: strip_tab_ansi()"""
    if "\x1b" in text:
        global _ANSI_STRIP
        if _ANSI_STRIP is None:
            import re

            _ANSI_STRIP = re.compile("\x1b\\[[0-9;:]*m|\x1b\\][^\x07\x1b]*(?:\x07|\x1b\\\\)")
        text = _ANSI_STRIP.sub("", text)
    return text.replace("\t", "        ") if "\t" in text else text


def _short_message(message: str, show_all: bool) -> str:
    """What short modes print: without `-a`, colour sequences are dropped and TABs become
    8 spaces; what is still not printable (control bytes, invalid UTF-8) becomes
    `[N blob data]`. # systemd: output_short() (observed journalctl 257)"""
    if show_all:
        return message
    shown = strip_tab_ansi(message)
    if is_printable(shown):
        return shown
    return f"[{format_bytes(_raw_len(message))} blob data]"


def format_short(
    entry: Mapping[str, str],
    mode: str = "short",
    *,
    utc: bool = False,
    hostname: bool = True,
    show_all: bool = False,
    color: bool = False,
    highlight: tuple[int, int] | None = None,
) -> str:
    """`Nov 26 07:00:01 HOST IDENT[PID]: MESSAGE` and the other short-* layouts;
    `highlight` is the character span of the `--grep` match in MESSAGE.
    # systemd: output_short()"""
    parts = [_short_timestamp(entry, mode, utc)]
    host = entry.get("_HOSTNAME")
    if hostname and host:
        parts.append(" " + host)
    unit = entry.get("_SYSTEMD_UNIT")
    user_unit = entry.get("_SYSTEMD_USER_UNIT")
    if mode == "with-unit" and (unit or user_unit):
        parts.append(" " + (f"{unit}/{user_unit}" if unit and user_unit else (unit or user_unit or "")))
    else:
        ident = entry.get("SYSLOG_IDENTIFIER") or entry.get("_COMM") or "unknown"
        parts.append(" " + ident)
    pid = entry.get("_PID") or entry.get("SYSLOG_PID")
    if pid:
        parts.append(f"[{pid}]")
    parts.append(": ")
    head = "".join(parts)
    message = _short_message(entry.get("MESSAGE", ""), show_all)
    colors = priority_color(entry) if color else ("", "", "")
    return head + _multiline(message, len(head), colors, highlight)


def format_verbose(
    entry: Mapping[str, str],
    *,
    utc: bool = False,
    show_all: bool = False,
    output_fields: Iterable[str] | None = None,
) -> str:
    """Cursor header, then `    FIELD=value` per stored field. # systemd: output_verbose()"""
    wanted = set(output_fields) if output_fields else None
    usec = display_realtime(entry)
    out = [f"{format_timestamp(usec, utc=utc, precise=True)} [{entry.get('__CURSOR', '')}]\n"]
    for key, value in entry.items():
        if key.startswith("__") or (wanted is not None and key not in wanted):
            continue
        if show_all or is_printable(value):
            out.append(f"    {key}=" + _multiline(value, 4 + len(key) + 1))
        else:
            out.append(f"    {key}=[{format_bytes(_raw_len(value))} blob data]\n")
    return "".join(out)


def _json_value(value: str, show_all: bool) -> object:
    raw = value.encode("utf-8", "surrogateescape")
    if not show_all and len(raw) > JSON_THRESHOLD:
        return None
    if not is_printable(value):
        return list(raw)  # control bytes or non-UTF-8: an array of byte values, like journalctl
    return value


def json_object(
    entry: Mapping[str, str], *, show_all: bool = False, output_fields: Iterable[str] | None = None
) -> dict[str, object]:
    """The JSON object journalctl prints for `entry`. # systemd: output_json()"""
    wanted = set(output_fields) if output_fields else None
    obj: dict[str, object] = {}
    for key in _JSON_ALWAYS:
        if key in entry:
            obj[key] = entry[key]
    for key, value in entry.items():
        if key in obj or (wanted is not None and key not in wanted):
            continue
        obj[key] = _json_value(value, show_all)
    return obj


_EXPORT_ADDRESS_FIELDS = ("__CURSOR", "__REALTIME_TIMESTAMP", "__MONOTONIC_TIMESTAMP", "__SEQNUM", "__SEQNUM_ID")


def format_export(entry: Mapping[str, str], output_fields: Iterable[str] | None = None) -> bytes:
    """Journal export format: `FIELD=value` lines, binary-safe form for values with
    newlines or control bytes, a blank line after each entry. # systemd: output_export()"""
    wanted = set(output_fields) if output_fields else None
    out = bytearray()
    for key, value in entry.items():
        if key.startswith("__") and key not in _EXPORT_ADDRESS_FIELDS:
            continue
        if wanted is not None and key not in wanted and not key.startswith("__") and key != "_BOOT_ID":
            continue
        raw = value.encode("utf-8", "surrogateescape")
        if is_printable(value) and "\n" not in value:
            out += key.encode() + b"=" + raw + b"\n"
        else:
            out += key.encode() + b"\n" + len(raw).to_bytes(8, "little") + raw + b"\n"
    out += b"\n"
    return bytes(out)


def format_entry(
    entry: Mapping[str, str],
    mode: str = "short",
    *,
    utc: bool = False,
    hostname: bool = True,
    show_all: bool = False,
    color: bool = False,
    output_fields: Iterable[str] | None = None,
    highlight: tuple[int, int] | None = None,
) -> str:
    """One entry in output mode `mode`, newline-terminated (text modes; `export` is
    decoded with surrogateescape). # spec: systemctl-and-journal.md §6 -o"""
    if mode.startswith("short") or mode == "with-unit":
        return format_short(
            entry, mode, utc=utc, hostname=hostname, show_all=show_all, color=color, highlight=highlight
        )
    if mode == "cat":
        if output_fields:
            wanted = list(output_fields)
            values = [entry[k] for k in wanted if k in entry]
            return "".join(v + "\n" for v in values)
        message = entry.get("MESSAGE", "")
        if not color:
            return message + "\n"
        return _multiline(message, 0, priority_color(entry), highlight)
    if mode == "verbose":
        return format_verbose(entry, utc=utc, show_all=show_all, output_fields=output_fields)
    if mode == "export":
        return format_export(entry, output_fields).decode("utf-8", "surrogateescape")
    obj = json_object(entry, show_all=show_all, output_fields=output_fields)
    import json  # only for -o json*: `re` and the rest cost every short output ~7 ms

    if mode == "json-pretty":
        return json.dumps(obj, indent="\t", separators=(",", " : "), ensure_ascii=False) + "\n"
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    if mode == "json-sse":
        return f"data: {text}\n\n"
    if mode == "json-seq":
        return f"\x1e{text}\n"
    if mode == "json":
        return text + "\n"
    raise ValueError(f"Unknown output format '{mode}'.")
