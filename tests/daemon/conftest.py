"""Fixtures shared by the daemon's tests."""

import os

import pytest

from sysvisor.daemon.loop import EventLoop
from sysvisor.daemon.shell import Shell
from sysvisor.journal.store import JournalWriter


@pytest.fixture
def empty_shell(tmp_path):
    """A Shell with no units, its own journal, no console and no spawn helper."""
    journal = JournalWriter(str(tmp_path / "journal"))
    s = Shell({}, EventLoop(), journal, on_exit=lambda status: None, user_manager=os.geteuid() != 0,
              containment_name=f"sysvisor-test-shell-{os.getpid()}", console=False, use_spawner=False)
    yield s
    s.close()
    journal.close()
