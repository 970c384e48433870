"""Manager messages are written after the spawn they precede (shell.write_pending), with the
time they were logged, and every request sees what was logged before it.
# issue 5 (the restart path); spec: systemctl-and-journal.md §6"""

from __future__ import annotations

import os

from sysvisor.daemon.requests import RequestHandler
from sysvisor.journal.reader import JournalReader


class _Conn:
    uid = os.getuid()


def _messages(directory: str) -> list[str]:
    return [e["MESSAGE"] for e in JournalReader(directory).entries() if e.get("SYSLOG_IDENTIFIER") == "sysvisor"]


def test_messages_wait_for_the_turn_keep_their_time_and_requests_see_them(empty_shell):
    shell, journal = empty_shell, empty_shell.journal
    shell.write_pending()
    before = len(_messages(journal.directory))
    shell.log("first")
    logged_at = shell._pending_entries[-1]["__REALTIME_TIMESTAMP"]
    shell.log("second")
    assert len(_messages(journal.directory)) == before  # not written yet: after the spawn
    handler = RequestHandler(shell, lambda: None, {"journal_dir": journal.directory})
    assert handler(_Conn(), {"verb": "ping"})["ok"]
    assert _messages(journal.directory)[before:] == ["first", "second"]  # the request saw them
    first = next(e for e in JournalReader(journal.directory).entries() if e.get("MESSAGE") == "first")
    assert first["__REALTIME_TIMESTAMP"] == str(logged_at)  # the time it was logged
