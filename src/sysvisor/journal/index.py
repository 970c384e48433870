"""The per-unit tail index of a segment: where each unit's last records are, so `status X`
finds the last lines of a quiet unit without walking every record of a crash loop.

A writer keeps, per segment, the offsets of each unit's last KEEP records (by `_SYSTEMD_UNIT`
and `UNIT`), each with the offset of a record that stores its field set, and writes them
beside the segment (`<segment>.idx`, JSON, replaced atomically) at most once per INTERVAL
and when the segment is closed. The file says up to where it is complete ("end"): a reader
walks the records after that backwards as usual (at most INTERVAL of records), then jumps
to the unit's listed records. It also lists where recently used field sets are stored
("defs"), so the records after "end" resolve theirs without walking further back: only
copies within the writer's redefine distance before "end", because a record after "end"
whose field set's copy is further back stores it again itself (store.py REDEFINE_DISTANCE).
A crash loop makes a field set per process: listing all of the last minute's made the
index ~800 KB, parsed by every `status` (~5 ms) and written by the manager every second.

Only a hint: a missing, stale or damaged index (or records that are not where it says)
makes the reader walk the segment as before. # spec: systemctl-and-journal.md §3 (status)
"""

from __future__ import annotations

from sysvisor.protocol import jsoncodec
import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections import deque

SUFFIX = ".idx"
KEEP = 10  # records listed per unit (status shows 10 lines)
INTERVAL = 0.1  # seconds between rewrites of an open segment's index (~20 KB, ~0.3 ms, in a crash loop)
RECENT = 60.0  # seconds a field set counts as recently used


class TailIndex:
    """The writer's side: fed each record's offset, written with `write()`."""

    def __init__(self, reach: int | None = None) -> None:
        """`reach`: the writer's redefine distance (None: every recently used field set)."""
        self.reach = reach
        self.units: dict[str, deque[tuple[int, int]]] = {}
        self.used: dict[int, tuple[float, int]] = {}  # field set → (last use, offset of a copy)
        self.dirty = False
        self.written = 0.0

    def note(self, offset: int, fieldset: int, ctx: int, fields: dict) -> None:
        """A record at `offset` whose field set `ctx` is stored at `fieldset`."""
        for key in ("_SYSTEMD_UNIT", "UNIT"):
            unit = fields.get(key)
            if unit:
                d = self.units.get(unit)
                if d is None:
                    from collections import deque  # the writer's only: readers (`status`) import no collections

                    d = self.units[unit] = deque(maxlen=KEEP)
                if not d or d[-1][0] != offset:  # (both keys naming one unit: once)
                    d.append((offset, fieldset))
        self.used[ctx] = (time.monotonic(), fieldset)
        self.dirty = True

    def due(self) -> bool:
        return self.dirty and time.monotonic() - self.written >= INTERVAL

    def due_at(self) -> float | None:
        """When (time.monotonic()) a rewrite is due, None while the index is complete."""
        return self.written + INTERVAL if self.dirty else None

    def write(self, segment: str, end: int) -> None:
        """Replace `<segment>.idx`, complete up to offset `end` (every record before it)."""
        now = time.monotonic()
        nearest = 0 if self.reach is None else end - self.reach  # a copy before it is stored again when used
        self.used = {c: v for c, v in self.used.items() if now - v[0] < RECENT and v[1] >= nearest}
        data = {"end": end, "keep": KEEP, "units": {u: list(d) for u, d in self.units.items()},
                "defs": {str(c): off for c, (_t, off) in self.used.items()}}
        tmp = segment + SUFFIX + ".tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(jsoncodec.dumps_ascii(data))
            os.replace(tmp, segment + SUFFIX)
        except OSError:
            return  # only a hint: readers walk the segment instead
        self.dirty = False
        self.written = now


def load(segment: str, size: int) -> dict | None:
    """The index of `segment` if it is usable for a segment of `size` bytes, else None."""
    try:
        with open(segment + SUFFIX, encoding="utf-8") as f:
            data = jsoncodec.loads(f.read())
    except (OSError, ValueError):
        return None
    if type(data) is not dict or not isinstance(data.get("end"), int) or not 0 <= data["end"] <= size:
        return None
    if not isinstance(data.get("units"), dict) or not isinstance(data.get("defs"), dict):
        return None
    return data


def remove(segment: str) -> None:
    """Delete a segment's index (vacuum)."""
    for path in (segment + SUFFIX, segment + SUFFIX + ".tmp"):
        try:
            os.unlink(path)
        except OSError:
            pass
