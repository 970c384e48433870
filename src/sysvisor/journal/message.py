"""Journal entries for what the manager itself says, and the unit log `status` shows.

`manager_entry()` builds the fields of a manager message (a `core.actions.Log`) the way
systemd's PID 1 logs about a unit: `UNIT=`/`INVOCATION_ID=` name the unit, the sender is
the manager (`_PID`, `_COMM`, `SYSLOG_IDENTIFIER`), `_TRANSPORT=journal`.
`unit_log()` is the journal part of `systemctl status`: the last lines of a unit in this
manager instance since the unit last left the inactive state.

spec: systemctl-and-journal.md §3 line 23, §6; decision D5 (identifier `sysvisor`,
`systemd` with the compatibility flag)
"""

from __future__ import annotations

from sysvisor.protocol import jsoncodec
import os
TYPE_CHECKING = False  # annotations only: `status` imports this module, and collections costs it ~2 ms
if TYPE_CHECKING:
    from collections.abc import Mapping

from sysvisor.journal.reader import JournalReader, boot_start
from sysvisor.journal.segment import Entry

MANAGER_IDENTIFIER = "sysvisor"  # D5; pass identifier="systemd" for log-parser compatibility


def manager_entry(
    message: str,
    *,
    unit: str | None = None,
    invocation_id: str | None = None,
    priority: int = 6,
    identifier: str = MANAGER_IDENTIFIER,
    pid: int | None = None,
    comm: str = "sysvisor",
    message_id: str | None = None,
    extra: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """Fields of one manager message, ready for `JournalWriter.append`. Timestamps, the
    host name and `_BOOT_ID` are added by the writer. # spec: systemctl-and-journal.md §6"""
    entry: dict[str, object] = {
        "MESSAGE": message,
        "PRIORITY": int(priority),
        "SYSLOG_IDENTIFIER": identifier,
        "_PID": pid if pid is not None else os.getpid(),
        "_COMM": comm,
        "_TRANSPORT": "journal",
    }
    if unit:
        entry["UNIT"] = unit
    if invocation_id:
        entry["INVOCATION_ID"] = invocation_id
    if message_id:
        entry["MESSAGE_ID"] = message_id
    if extra:
        entry.update(extra)
    return entry


def unit_log(
    directory: str,
    unit: str,
    *,
    lines: int = 10,
    boot_id: str | None = None,
    since_monotonic_usec: int | None = None,
) -> list[Entry]:
    """The last `lines` entries of `unit` (its output and the manager's messages about it),
    oldest first, of manager instance `boot_id`, not older than `since_monotonic_usec`
    (InactiveExitTimestampMonotonic). # spec: systemctl-and-journal.md §3 line 23"""
    if lines <= 0:
        return []

    def match(e: Entry) -> bool:
        if e.get("_SYSTEMD_UNIT") != unit and e.get("UNIT") != unit:
            return False
        if boot_id is not None and e.get("_BOOT_ID") != boot_id:
            return False
        if since_monotonic_usec is not None and int(e.get("__MONOTONIC_TIMESTAMP", "0")) < since_monotonic_usec:
            return False
        return True

    def record_match(fields: Mapping[str, str]) -> bool:
        if fields.get("_SYSTEMD_UNIT") != unit and fields.get("UNIT") != unit:
            return False
        return boot_id is None or fields.get("_BOOT_ID") == boot_id

    since = boot_start(directory, boot_id) if boot_id is not None else None
    needle = jsoncodec.dumps_ascii(unit).encode()  # every record of the unit stores this in its fields
    return JournalReader(directory).tail(lines, match, record_match=record_match, since_usec=since,
                                         record_needle=needle, record_unit=unit)
