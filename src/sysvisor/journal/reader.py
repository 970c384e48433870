"""Reading the journal store: entries merged across writers, tails, follow.

Entries are dicts of journald field names to text. A stored stream chunk is split into its
lines here, at read time, with journald's rules (`stream.split_raw`).

spec: systemctl-and-journal.md §6
"""

from __future__ import annotations

import heapq
from sysvisor.protocol import jsoncodec
import os
import time

from sysvisor.journal import index as tail_index
from sysvisor.journal.segment import (
    _HEAD,
    _HEADER_KEYS,
    _TAIL,
    MAGIC,
    Entry,
    list_segments,
    parse_records,
)
from sysvisor.journal.stream import split_raw

TYPE_CHECKING = False  # not typing's, nor collections.abc at run time: `status` imports this module
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from sysvisor.journal.segment import Match, RecordMatch

_WINDOW = 64 * 1024  # bytes read at a time when walking a segment backwards


class _Torn(Exception):
    """The segment cannot be walked backwards from here (torn tail, or older format)."""


class _Window:
    """pread() through a window of the file that slides towards its start."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.start = self.end = 0
        self.data = b""

    def get(self, lo: int, hi: int) -> bytes:
        if not (self.start <= lo and hi <= self.end):
            if hi - lo > _WINDOW:
                return os.pread(self.fd, hi - lo, lo)
            self.start = max(0, hi - _WINDOW)
            self.data = os.pread(self.fd, hi - self.start, self.start)
            self.end = self.start + len(self.data)
            if hi > self.end:
                raise _Torn
        return self.data[lo - self.start : hi - self.start]


def records_backward(
    path: str, want: RecordMatch | None = None, on_end: Callable[[int, bool], None] | None = None, *,
    floor: int | None = None, needle: bytes | None = None, unit: str | None = None, retries: int = 3,
) -> Iterator[tuple[dict, bytes]]:
    """The records of the segment at `path`, newest first, for `status` and `logs -n`: read
    from the end through the records' trailers, so the cost is the records visited, not the
    segment's size. `want(fields)` false skips a record without reading its payload.
    `on_end(end, whole)` learns where the last complete record ends (and whether every field
    set was seen, i.e. the segment was parsed whole). The walk ends at the first record
    written before realtime `floor` (µs). `needle` (with `want`): bytes that every wanted
    record's field set contains as JSON (e.g. b'"web.service"'); records storing a field
    set without them are skipped undecoded. `unit` (with `want` accepting only records that
    name it): the segment's tail index (index.py) lets the walk jump to that unit's last
    records. A segment whose end is torn (being
    written, or its writer was killed) or of the older trailer-less format is parsed forwards
    instead. # spec: systemctl-and-journal.md §3"""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        window = _Window(fd)
        for _ in range(retries):  # a record being appended right now: look again
            size = os.fstat(fd).st_size
            try:
                first = _record_before(window, size) if size else None
            except _Torn:
                window = _Window(fd)
                continue
            if on_end is not None:
                on_end(size, False)
            needle = needle if want is not None else None
            idx = tail_index.load(path, size) if unit is not None and want is not None else None
            if idx is None:
                yield from _walk_back(window, first, want, floor, needle)
            else:
                yield from _walk_indexed(window, first, want, floor, needle, idx, unit)  # type: ignore[arg-type]
            return
        records, end = parse_records(os.pread(fd, os.fstat(fd).st_size, 0))
    except OSError:
        return
    finally:
        os.close(fd)
    if on_end is not None:
        on_end(end, True)
    for header, payload in reversed(records):
        if floor is not None and header["t"] < floor:
            return
        if want is None or want(header["f"]):
            yield header, payload


def first_record_fields(path: str) -> dict | None:
    """The fields of a segment's first record (which always carries them), or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD.size)
            if len(head) < _HEAD.size:
                return None
            _magic, hlen, _plen = _HEAD.unpack(head)
            header = jsoncodec.loads_bytes(f.read(hlen))
    except (OSError, ValueError):
        return None
    return header.get("f") if type(header) is dict else None


def boot_start(directory: str, boot_id: str) -> int | None:
    """A realtime (µs) before which no entry of manager instance `boot_id` was written, from
    segment names and first records alone: each writer opens a new segment when it starts, so
    walking a writer's segments back until one starts with another instance finds where this
    one began. None if no segment starts with it. # spec: systemctl-and-journal.md §3"""
    by_writer: dict[str, list[tuple[int, str]]] = {}
    for name, _seq, realtime, path in list_segments(directory):
        by_writer.setdefault(name, []).append((realtime, path))
    found = None
    for segments in by_writer.values():
        start = None
        for realtime, path in reversed(segments):
            fields = first_record_fields(path)
            if fields is None:
                continue
            if fields.get("_BOOT_ID") != boot_id:
                break
            start = realtime
        if start is not None:
            found = start if found is None else min(found, start)
    return found


# "t" and "c" of a header read without decoding its JSON: in a header without a field set
# they are the only such keys; with one, "c" is the last key (store: JournalWriter._context).
# By hand, as the regular expressions rb'"t":(\d+),.*"c":(\d+)[,}]' and (`defining`)
# rb'"t":(\d+),.*,"c":(\d+)}$' with re.S find them (tests compare the two): `re` and the
# enum it imports were a third of `status`'s start-up.


def _peek(raw: bytes, defining: bool = False) -> tuple[int, int] | None:
    """(t, c) of a header, or None where the expression finds no match. A run of digits is
    checked with `bytes.isdigit()` (ASCII only, as `\\d` on bytes) up to the next delimiter:
    a walk back through a crash loop peeks at every record."""
    i = raw.find(b'"t":')
    while i >= 0:  # the leftmost "t":DIGITS,
        j = raw.find(b",", i + 4)
        if j < 0:
            return None  # (no later "t" has a comma after it either)
        if j > i + 4 and raw[i + 4:j].isdigit():
            break
        i = raw.find(b'"t":', i + 1)
    else:
        return None
    floor = j + 1  # `.*` may be empty: a "c" may start right after the comma
    if defining:  # ,"c":DIGITS} at the very end (`$`: or before one final newline)
        end = len(raw) - 1 if raw.endswith(b"\n") else len(raw)
        if raw[end - 1:end] != b"}":
            return None
        q = raw.rfind(b":", 0, end - 1)  # the colon before the digits, if only digits follow it
        if q + 1 == end - 1 or q - 4 < floor or raw[q - 4:q + 1] != b',"c":' or not raw[q + 1:end - 1].isdigit():
            return None
        return int(raw[i + 4:j]), int(raw[q + 1:end - 1])
    k = raw.rfind(b'"c":', floor)
    while k >= 0:  # the rightmost "c":DIGITS followed by , or }
        m = raw.find(b"}", k + 4)
        comma = raw.find(b",", k + 4, m if m >= 0 else len(raw))
        if comma >= 0:
            m = comma
        if m > k + 4 and raw[k + 4:m].isdigit():
            return int(raw[i + 4:j]), int(raw[k + 4:m])
        k = raw.rfind(b'"c":', floor, k + 3) if k > floor else -1
    return None


def _record_before(
    window: _Window, end: int, unwanted: set[int] | None = None, needle: bytes | None = None
) -> tuple[dict, int, int, int]:
    """(header, payload offset, payload length, start) of the record ending at `end`.

    Records that cannot be wanted are not decoded and get only {"t", "c", "skip"}: those of a
    field set in `unwanted`, and those that store a field set without `needle` in it (whose
    field set is then added to `unwanted`). With `unwanted`, a record that refers to a field
    set not yet known is not decoded either: it gets {"t", "c", _UNDECODED: raw header} until
    its field set turns out wanted (`_decoded`): walking back, a crash loop's records come
    before the field sets they refer to, and most of those are other units'."""
    if end < _HEAD.size + _TAIL.size:
        raise _Torn
    length, magic = _TAIL.unpack(window.get(end - _TAIL.size, end))
    start = end - length
    if magic != MAGIC or start < 0:
        raise _Torn
    magic, hlen, plen = _HEAD.unpack(window.get(start, start + _HEAD.size))
    if magic != MAGIC or _HEAD.size + hlen + plen + _TAIL.size != length:
        raise _Torn
    raw = window.get(start + _HEAD.size, start + _HEAD.size + hlen)
    if unwanted is not None:
        if b'"f":' not in raw:
            peek = _peek(raw)
            if peek is not None:
                if peek[1] in unwanted:
                    return {"t": peek[0], "c": peek[1], "skip": True}, 0, 0, start
                return {"t": peek[0], "c": peek[1], _UNDECODED: raw}, start + _HEAD.size + hlen, plen, start
        elif needle is not None and needle not in raw:
            peek = _peek(raw, defining=True)
            if peek is not None:
                unwanted.add(peek[1])
                return {"t": peek[0], "c": peek[1], "skip": True}, 0, 0, start
    try:
        header = jsoncodec.loads_bytes(raw)
    except ValueError:
        raise _Torn from None
    if type(header) is not dict or not _HEADER_KEYS <= header.keys():
        raise _Torn
    return header, start + _HEAD.size + hlen, plen, start


_UNDECODED = "undecoded"  # not a header key (segment.py): the raw header of a record read lazily


def _decoded(header: dict) -> dict | None:
    """The whole header of a record `_record_before` left undecoded (with the field set "f"
    found meanwhile); None if it is not a header after all (the record is then left out)."""
    raw = header.get(_UNDECODED)
    if raw is None:
        return header
    try:
        full = jsoncodec.loads_bytes(raw)
    except ValueError:
        return None
    if type(full) is not dict or not _HEADER_KEYS <= full.keys() or full.get("c") != header["c"]:
        return None
    full["f"] = header["f"]
    return full


def _walk_indexed(
    window: _Window, first: tuple[dict, int, int, int] | None, want: RecordMatch, floor: int | None,
    needle: bytes | None, idx: dict, unit: str,
) -> Iterator[tuple[dict, bytes]]:
    """`_walk_back` with the segment's tail index: the records after its "end" as usual, then
    straight to the unit's listed records; on anything unexpected, the plain walk from there."""
    defs = idx["defs"]
    contexts: dict[int, dict] = {}

    def resolve(ctx: int, unwanted: set[int]) -> None:
        """Field set `ctx` from the copy the index lists: into `contexts`, or (its copy
        without `needle`) into `unwanted`, undecoded."""
        off = defs.get(str(ctx))
        if not isinstance(off, int):
            return
        try:
            header = _record_before(window, _end_of(window, off), unwanted, needle)[0]
        except (_Torn, OSError):
            return
        fields = header.get("f")
        if header.get("c") == ctx and isinstance(fields, dict):
            contexts[ctx] = fields

    end = idx["end"]
    yield from _walk_back(window, first, want, floor, needle, stop=end, resolve=resolve, contexts=contexts)
    if floor is not None and first is not None and first[0]["t"] < floor:
        return
    listed = [e for e in idx["units"].get(unit, []) if isinstance(e, list) and len(e) == 2 and e[0] < end]
    oldest = end
    for offset, fieldset in reversed(listed):
        try:
            header, poff, plen, start = _record_before(window, _end_of(window, offset))
            if start != offset or "skip" in header:
                raise _Torn
            if "f" not in header:
                fields = contexts.get(header.get("c"))
                if fields is None:
                    fields = _record_before(window, _end_of(window, fieldset))[0]["f"]
                header["f"] = fields
        except (_Torn, OSError, KeyError, TypeError, ValueError):
            break  # not what the index said: walk from here on
        oldest = offset
        if floor is not None and header["t"] < floor:
            return
        if want(header["f"]):
            yield header, window.get(poff, poff + plen)
    else:
        if len(listed) < int(idx.get("keep") or 0):
            return  # the index lists every record of the unit before "end"
    if oldest > 0:  # more than the index lists: the plain walk from the oldest listed on
        try:
            before = _record_before(window, oldest)
        except (_Torn, OSError):
            return
        yield from _walk_back(window, before, want, floor, needle)


def _end_of(window: _Window, start: int) -> int:
    """The end of the record that starts at `start` (from its head)."""
    magic, hlen, plen = _HEAD.unpack(window.get(start, start + _HEAD.size))
    if magic != MAGIC:
        raise _Torn
    return start + _HEAD.size + hlen + plen + _TAIL.size


def _walk_back(
    window: _Window, first: tuple[dict, int, int, int] | None, want: RecordMatch | None, floor: int | None,
    needle: bytes | None = None, *, stop: int = 0, resolve: Callable[[int, set[int]], None] | None = None,
    contexts: dict[int, dict] | None = None,
) -> Iterator[tuple[dict, bytes]]:
    """Records before `end`, newest first, those starting before `stop` or written before
    `floor` left out. A record whose field set ("c") is stored further back waits until the
    walk reaches that copy (at most REDEFINE_DISTANCE away), unless `resolve(c, unwanted)`
    finds it (into `contexts`, or into `unwanted`)."""
    if contexts is None:
        contexts = {}
    unwanted: set[int] = set()  # field sets `want` refused: their records are not decoded
    # records waiting for their field set, oldest first: pending[head:] (a list and an index
    # rather than a deque: `status` would import collections for it, ~2 ms)
    pending: list[tuple[dict, int, int, int]] = []
    head = 0
    current = first
    while current is not None:
        header = current[0]
        below = (floor is not None and header["t"] < floor) or current[3] < stop
        if below and head == len(pending):
            break  # (below the floor only to find field sets still missing)
        if "skip" in header:
            current = _next_back(window, current[3], unwanted, needle)
            continue
        ctx = header.get("c")
        if "f" in header:
            if ctx is not None:
                contexts.setdefault(ctx, header["f"])
        elif ctx is None:
            header["f"] = {}
        if not below:
            pending.append(current)
        while head < len(pending):
            h, o, n, _start = pending[head]
            if "f" not in h:
                c = h["c"]
                if c not in contexts and c not in unwanted and resolve is not None:
                    resolve(c, unwanted)
                if c in unwanted:
                    head += 1
                    continue
                if c not in contexts:
                    break
                h["f"] = contexts[c]
            head += 1
            if want is None or want(h["f"]):
                whole = _decoded(h)
                if whole is not None:
                    yield whole, window.get(o, o + n)
            elif "c" in h:
                unwanted.add(h["c"])
        if head == len(pending):
            pending.clear()
            head = 0
        current = _next_back(window, current[3], unwanted, needle)
    for h, o, n, _start in pending[head:]:  # field sets never found: the segment's start is damaged
        if h.get("c") in unwanted:
            continue
        h.setdefault("f", contexts.get(h.get("c"), {}))
        if want is None or want(h["f"]):
            whole = _decoded(h)
            if whole is not None:
                yield whole, window.get(o, o + n)


def _next_back(window: _Window, end: int, unwanted: set[int], needle: bytes | None) -> tuple[dict, int, int, int] | None:
    try:
        return _record_before(window, end, unwanted, needle) if end > 0 else None
    except _Torn:
        return None  # damaged inside: what is before it is lost to a backward walk


def _record_entries(writer: str, header: dict, payload: bytes, reverse: bool) -> Iterator[tuple[int, str, int, Entry]]:
    """The entries of one record as journald-style field dicts (all values text); a raw
    stream chunk is split here, at read time."""
    first = header["i"]
    breaks: dict
    if header.get("raw"):
        lines = split_raw(payload, priority=header["p"], level_prefix=bool(header["lp"]), line_max=header["lm"])
        messages: list = lines.messages
        prios: list = lines.priorities
        breaks = lines.line_breaks
    else:
        n = header["n"]
        if header.get("nomsg"):
            messages = [None] * n
        else:
            messages = payload.split(b"\n") if n > 1 else [payload]
        p = header.get("p")
        prios = [p] * n if not isinstance(p, list) else p
        breaks = {int(k): v for k, v in header["b"].items()} if header.get("b") else {}
    realtime = header["t"]
    monotonic = header["m"]
    fields = header["f"]
    base = {
        "__CURSOR": "",
        "__REALTIME_TIMESTAMP": str(realtime),
        "__MONOTONIC_TIMESTAMP": str(monotonic),
        "__SEQNUM": "",
        "__SEQNUM_ID": writer,
    }
    base.update(fields)
    cursor_head = f"s={writer};i="
    cursor_tail = f";b={fields.get('_BOOT_ID', '')};m={monotonic:x};t={realtime:x};x=0"
    count = len(messages)
    indices: Iterable[int] = range(count - 1, -1, -1) if reverse else range(count)
    for k in indices:
        seq = first + k
        entry = base.copy()
        entry["__CURSOR"] = f"{cursor_head}{seq:x}{cursor_tail}"
        entry["__SEQNUM"] = str(seq)
        prio = prios[k]
        if prio is not None:
            entry["PRIORITY"] = str(prio)
        if breaks:
            reason = breaks.get(k)
            if reason:
                entry["_LINE_BREAK"] = reason
        message = messages[k]
        if message is not None:
            entry["MESSAGE"] = message.decode("utf-8", "surrogateescape")
        yield realtime, writer, seq, entry


class JournalReader:
    """Reads the store; entries are dicts of journald field names to text.

    `entries()` walks all writers merged by realtime (newest first with `reverse=True`);
    `follow()` then continues where the last walk stopped, polling the directory at a
    bounded interval (the *client* polls; the writer never does). # spec: systemctl-and-journal.md §6
    """

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._position: dict[str, int] = {}
        self._contexts: dict[str, dict[int, dict]] = {}  # per segment, for poll()

    def entries(
        self,
        match: Match | None = None,
        *,
        since_usec: int | None = None,
        until_usec: int | None = None,
        reverse: bool = False,
        record_match: RecordMatch | None = None,
        record_needle: bytes | None = None,
        record_unit: str | None = None,
    ) -> Iterator[Entry]:
        """Entries in time order (or reverse) that pass `match` and lie in [since, until];
        `record_match` (optional) rules out whole records cheaply; `record_needle`, bytes every
        field set it accepts contains as JSON, lets a reverse walk skip records undecoded;
        `record_unit`, the one unit whose records (by _SYSTEMD_UNIT or UNIT) `record_match`
        accepts, lets it use the segments' tail indexes."""
        by_writer: dict[str, list[str]] = {}
        opened: dict[str, int] = {}  # segment → realtime its writer opened it
        for name, _seq, rt, path in list_segments(self.directory):
            by_writer.setdefault(name, []).append(path)
            opened[path] = rt
        for paths in by_writer.values():
            for path in paths:  # unvisited segments count as read (they no longer grow)
                self._position[path] = self._size(path)
        floor = since_usec if reverse else None
        streams = [self._writer_stream(name, paths, reverse, record_match, floor, opened, record_needle, record_unit)
                   for name, paths in by_writer.items()]
        merged: Iterator[tuple[int, str, int, Entry]]
        if len(streams) == 1:
            merged = streams[0]
        else:
            key = (lambda t: (t[0], t[1], t[2]))
            merged = heapq.merge(*streams, key=key, reverse=reverse)
        for realtime, _w, _s, entry in merged:
            if since_usec is not None and realtime < since_usec:
                if reverse:
                    return
                continue
            if until_usec is not None and realtime > until_usec:
                if reverse:
                    continue
                return
            if match is None or match(entry):
                yield entry

    def tail(self, n: int, match: Match | None = None, **kw: object) -> list[Entry]:
        """The last `n` matching entries, oldest first (keywords as for `entries`)."""
        out: list[Entry] = []
        if n <= 0:
            self.mark_end()  # still establish positions for follow()
            return out
        for entry in self.entries(match, reverse=True, **kw):  # type: ignore[arg-type]
            out.append(entry)
            if len(out) >= n:
                break
        out.reverse()
        return out

    def mark_end(self) -> None:
        """Position follow() at the current end of the journal. Only each writer's newest
        segment can still grow; it is parsed to find the end of its last whole record."""
        newest: dict[str, str] = {}
        for name, _seq, _rt, path in list_segments(self.directory):
            self._position[path] = self._size(path)
            newest[name] = path
        for path in newest.values():
            try:
                with open(path, "rb") as f:
                    contexts: dict[int, dict] = {}
                    _records, end = parse_records(f.read(), 0, contexts)
            except OSError:
                continue
            self._position[path] = end
            self._contexts[path] = contexts

    def poll(self, match: Match | None = None, record_match: RecordMatch | None = None) -> list[Entry]:
        """Entries appended since the last walk or poll, in time order."""
        found: list[tuple[int, str, int, Entry]] = []
        live = set()
        for name, _seq, _rt, path in list_segments(self.directory):
            live.add(path)
            start = self._position.get(path, 0)
            size = self._size(path)
            if size <= start:
                continue
            contexts = self._contexts.get(path)
            try:
                with open(path, "rb") as f:
                    if contexts is None and start:  # the field sets defined before `start`
                        contexts = {}
                        parse_records(f.read(start), 0, contexts)
                    f.seek(start)
                    data = f.read()
            except OSError:
                continue
            if contexts is None:
                contexts = {}
            self._contexts[path] = contexts
            records, end = parse_records(data, 0, contexts)
            self._position[path] = start + end
            for header, payload in records:
                if record_match is None or record_match(header["f"]):
                    found.extend(_record_entries(name, header, payload, False))
        for path in list(self._position):
            if path not in live:
                del self._position[path]
                self._contexts.pop(path, None)
        found.sort(key=lambda t: (t[0], t[1], t[2]))
        return [e for _rt, _w, _s, e in found if match is None or match(e)]

    def follow(
        self,
        match: Match | None = None,
        *,
        poll_interval: float = 0.25,
        stop: Callable[[], bool] | None = None,
        record_match: RecordMatch | None = None,
    ) -> Iterator[Entry]:
        """New entries as they arrive (after the last walk), until `stop()` is true.

        A bounded poll in the reader: stdlib has no inotify, and the writer must not
        notify readers."""
        while stop is None or not stop():
            got = self.poll(match, record_match)
            yield from got
            if not got:
                time.sleep(poll_interval)

    def boots(self) -> list[tuple[str, int, int]]:
        """(_BOOT_ID, first realtime, last realtime) per manager instance, oldest first."""
        seen: dict[str, list[int]] = {}
        for name, _seq, _rt, path in list_segments(self.directory):
            for header, _payload in self._read_records(path):
                boot = header["f"].get("_BOOT_ID")
                if not boot:
                    continue
                span = seen.setdefault(boot, [header["t"], header["t"]])
                span[0] = min(span[0], header["t"])
                span[1] = max(span[1], header["t"])
        return sorted(((b, s[0], s[1]) for b, s in seen.items()), key=lambda t: (t[1], t[2]))

    # -- internals -------------------------------------------------------------------

    @staticmethod
    def _size(path: str) -> int:
        try:
            return os.stat(path).st_size
        except OSError:
            return 0

    def _walked(self, path: str, end: int, whole: bool) -> None:
        """A backward walk found the segment's end. It saw only some field sets: poll()
        rebuilds them from the segment's start when it reads on from `end`."""
        self._position[path] = end
        self._contexts.pop(path, None)

    def _read_records(self, path: str) -> list[tuple[dict, bytes]]:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return []
        contexts: dict[int, dict] = {}
        records, end = parse_records(data, 0, contexts)
        self._position[path] = end
        self._contexts[path] = contexts
        return records

    def _writer_stream(
        self, name: str, paths: list[str], reverse: bool, record_match: RecordMatch | None,
        floor: int | None = None, opened: dict[str, int] | None = None, needle: bytes | None = None,
        unit: str | None = None,
    ) -> Iterator[tuple[int, str, int, Entry]]:
        if reverse:  # newest first: walk each segment back from its end, down to `floor`
            for path in reversed(paths):
                walk = records_backward(path, record_match, lambda end, whole, p=path: self._walked(p, end, whole),
                                        floor=floor, needle=needle, unit=unit)
                for header, payload in walk:
                    yield from _record_entries(name, header, payload, True)
                if floor is not None and opened is not None and opened.get(path, 0) < floor:
                    return  # older segments hold only older records
            return
        for path in paths:
            records = self._read_records(path)
            for header, payload in reversed(records) if reverse else records:
                if record_match is None or record_match(header["f"]):
                    yield from _record_entries(name, header, payload, reverse)
