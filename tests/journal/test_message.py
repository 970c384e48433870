"""Manager messages and the unit log of `status`."""

from sysvisor.journal.message import manager_entry, unit_log
from sysvisor.journal.store import JournalReader, JournalWriter
from sysvisor.journal.stream import LineSplitter


def test_manager_entry_fields():
    e = manager_entry("foo.service: Failed with result 'exit-code'.", unit="foo.service",
                      invocation_id="1" * 32, priority=4, pid=77)
    assert e == {
        "MESSAGE": "foo.service: Failed with result 'exit-code'.", "PRIORITY": 4,
        "SYSLOG_IDENTIFIER": "sysvisor", "_PID": 77, "_COMM": "sysvisor", "_TRANSPORT": "journal",
        "UNIT": "foo.service", "INVOCATION_ID": "1" * 32,
    }
    assert "UNIT" not in manager_entry("Reached target x.", pid=1)


def test_unit_log_is_this_instance_since_the_last_start(tmp_path):
    d = str(tmp_path)
    w = JournalWriter(d, boot_id="b" * 32)
    w.append({**manager_entry("old", unit="foo.service"), "_BOOT_ID": "a" * 32, "__MONOTONIC_TIMESTAMP": 900})
    w.append({**manager_entry("Starting foo.service...", unit="foo.service"), "__MONOTONIC_TIMESTAMP": 1000})
    w.append({**manager_entry("before start", unit="foo.service"), "__MONOTONIC_TIMESTAMP": 999})
    w.append_lines({"_SYSTEMD_UNIT": "foo.service"}, LineSplitter().feed(b"out 1\nout 2\n"), monotonic_usec=1001)
    w.append_lines({"_SYSTEMD_UNIT": "bar.service"}, LineSplitter().feed(b"other\n"), monotonic_usec=1002)
    w.close()
    got = unit_log(d, "foo.service", boot_id="b" * 32, since_monotonic_usec=1000)
    assert [e["MESSAGE"] for e in got] == ["Starting foo.service...", "out 1", "out 2"]
    assert [e["MESSAGE"] for e in unit_log(d, "foo.service", lines=1)] == ["out 2"]
    assert unit_log(d, "foo.service", lines=0) == []
    assert len(list(JournalReader(d).entries())) == 6
