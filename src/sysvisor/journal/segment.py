"""The on-disk format of a journal segment, shared by the writer (store.py) and every
reader: record framing, segment names, listing a directory's segments, parsing records
forward. Readers (`status`, `logs`) import this and not the writer's module.

A record is a head `<4sII>` (magic, header length, payload length), a JSON header (at
least "i" first seqnum, "n" entries, "t" realtime, "m" monotonic; "f" the fields or "c"
the number of a field set stored earlier), the payload, and a tail `<I4s>` (the record's
length and the magic again) so that it can be walked backwards. store.py's docstring says
why the format is what it is. # spec: systemctl-and-journal.md §6
"""

from __future__ import annotations

import os
import struct

from sysvisor.protocol import jsoncodec

MAGIC = b"SVJ2"  # records with a trailer
MAGIC_V1 = b"SVJ1"  # records without (read forward only)
_HEADER_KEYS = frozenset({"i", "n", "t", "m"})
_HEAD = struct.Struct("<4sII")
_TAIL = struct.Struct("<I4s")
SUFFIX = ".jseg"

Entry = dict[str, str]
TYPE_CHECKING = False  # annotations only: `status` imports this module, and collections costs it ~2 ms
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    Match = Callable[[Entry], bool]
    # A test on the fields a whole record shares (everything but MESSAGE, PRIORITY,
    # _LINE_BREAK and the __ fields): False skips the record without reading its entries.
    RecordMatch = Callable[[Mapping[str, str]], bool]


def _segment_name(name: str, first_seq: int, realtime: int) -> str:
    return f"{name}@{first_seq:016x}-{realtime:016x}{SUFFIX}"


def parse_segment_name(filename: str) -> tuple[str, int, int] | None:
    """`name@SEQ-REALTIME.jseg` → (name, first seqnum, first realtime), else None."""
    if not filename.endswith(SUFFIX) or "@" not in filename:
        return None
    name, _, rest = filename[: -len(SUFFIX)].rpartition("@")
    seq, _, realtime = rest.partition("-")
    try:
        return name, int(seq, 16), int(realtime, 16)
    except ValueError:
        return None


def list_segments(directory: str) -> list[tuple[str, int, int, str]]:
    """All segments as (writer name, first seqnum, first realtime, path), oldest first per writer."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    out = []
    for filename in names:
        parsed = parse_segment_name(filename)
        if parsed is not None:
            out.append((*parsed, os.path.join(directory, filename)))
    out.sort()
    return out


def parse_records(
    data: bytes, offset: int = 0, contexts: dict[int, dict] | None = None
) -> tuple[list[tuple[dict, bytes]], int]:
    """Complete records in `data` from `offset` → ([(header, payload)], end of the last one).

    Every returned header has its fields in "f" (resolved through `contexts`, the segment's
    field sets seen so far, which is updated). Stops at a torn or foreign tail, which a
    later call (or nobody) completes."""
    if contexts is None:
        contexts = {}
    records = []
    n = len(data)
    head = _HEAD.size
    while offset + head <= n:
        magic, hlen, plen = _HEAD.unpack_from(data, offset)
        end = offset + head + hlen + plen
        if magic == MAGIC:
            end += _TAIL.size
            if end > n or _TAIL.unpack_from(data, end - _TAIL.size) != (end - offset, MAGIC):
                break
        elif magic != MAGIC_V1 or end > n:
            break
        try:
            header = jsoncodec.loads_bytes(data[offset + head : offset + head + hlen])
        except ValueError:
            break
        if type(header) is not dict or not _HEADER_KEYS <= header.keys():
            break  # not a record of ours: stop like at a torn tail
        ctx = header.get("c")
        if ctx is not None:
            if "f" in header:
                contexts[ctx] = header["f"]
            else:
                header["f"] = contexts.get(ctx, {})
        elif "f" not in header:
            header["f"] = {}
        records.append((header, data[offset + head + hlen : offset + head + hlen + plen]))
        offset = end
    return records, offset
