"""The exit-status table against `systemd-analyze exit-status` of systemd 257."""

from __future__ import annotations

from render_snapshot import load_oracle

from sysvisor.core.exit_status import (
    EXIT_STATUS_TABLE,
    STATUS_DISPLAY_CLASSES,
    exit_status_from_name,
    exit_status_name,
    is_clean_exit,
    signal_name,
)


def test_table_is_systemds() -> None:
    rows = load_oracle()["exit-status"]["stdout"].splitlines()[1:]
    table = {}
    for row in rows:
        name, code, cls = row.split()
        table[int(code)] = (name, cls)
    assert table == EXIT_STATUS_TABLE


def test_display_rules_trap_30() -> None:
    assert exit_status_name(2) == "INVALIDARGUMENT"  # journal: all classes
    assert exit_status_name(2, STATUS_DISPLAY_CLASSES) is None  # status: LSB bare
    assert exit_status_name(64, STATUS_DISPLAY_CLASSES) is None  # BSD bare
    assert exit_status_name(1, STATUS_DISPLAY_CLASSES) == "FAILURE"
    assert exit_status_name(203, STATUS_DISPLAY_CLASSES) == "EXEC"
    assert exit_status_name(244) == "BPF"
    assert exit_status_name(100) is None
    assert exit_status_from_name("NOTINSTALLED") == 5


def test_signals_and_clean_exits() -> None:
    assert signal_name(9) == "KILL"
    assert signal_name(11) == "SEGV"
    assert signal_name(34) == "RTMIN"
    assert signal_name(37) == "RTMIN+3"
    assert signal_name(0) == "0"
    assert is_clean_exit(1, 0) and not is_clean_exit(1, 1)
    assert all(is_clean_exit(2, s) for s in (1, 2, 13, 15))
    assert not is_clean_exit(2, 9) and not is_clean_exit(3, 15)
