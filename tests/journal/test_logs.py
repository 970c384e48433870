"""`sysvisor logs`: journalctl's options on a temp journal. # spec: systemctl-and-journal.md §6"""

import io
import json
import subprocess
import sys

import pytest

from sysvisor.cli.logs import main, mangle_unit, parse_args
from sysvisor.journal.store import JournalWriter
from sysvisor.journal.stream import LineSplitter

T0 = 1795676583_000000  # Thu 2026-11-26 07:03:03 UTC
OLD_BOOT = "a" * 32
BOOT = "b" * 32


@pytest.fixture
def journal(tmp_path, utc_tz):
    d = str(tmp_path / "journal")
    w = JournalWriter(d, hostname="host", boot_id=None)

    def stream(unit, pid, data, t, boot=BOOT, ident=None):
        sp = LineSplitter()
        fields = {"_SYSTEMD_UNIT": unit, "_PID": pid, "_COMM": unit.split(".")[0],
                  "SYSLOG_IDENTIFIER": ident or unit.split(".")[0], "_TRANSPORT": "stdout",
                  "_BOOT_ID": boot, "_SYSTEMD_INVOCATION_ID": "1" * 32}
        w.append_lines(fields, sp.feed(data), realtime_usec=t, monotonic_usec=t - T0 + 1000)

    def manager(unit, msg, t, prio=6, boot=BOOT):
        w.append({"MESSAGE": msg, "UNIT": unit, "INVOCATION_ID": "1" * 32, "PRIORITY": prio,
                  "SYSLOG_IDENTIFIER": "sysvisor", "_PID": 1, "_COMM": "sysvisor",
                  "_TRANSPORT": "journal", "_BOOT_ID": boot,
                  "__REALTIME_TIMESTAMP": t, "__MONOTONIC_TIMESTAMP": t - T0 + 1000})

    manager("old.service", "Started old.service.", T0 - 7200 * 10**6, boot=OLD_BOOT)
    manager("web.service", "Starting web.service - Web...", T0)
    stream("web.service", 42, b"listening\n<3>cannot bind\n<4>slow\n", T0 + 1_000_000)
    stream("db.service", 43, b"ready\nDEBUG x\n", T0 + 2_000_000, ident="postgres")
    manager("web.service", "web.service: Main process exited, code=exited, status=1/FAILURE", T0 + 3_000_000, prio=5)
    w.close()
    return d


def run(d, *argv, boot_id=BOOT):
    out, err = io.StringIO(), io.StringIO()
    rc = main(list(argv), d, boot_id=boot_id, out=out, err=err, now_usec=T0 + 10_000_000)
    return rc, out.getvalue(), err.getvalue()


def messages(text):
    return [line.split(": ", 1)[1] for line in text.splitlines() if not line.startswith("--")]


def test_default_is_everything_short(journal):
    rc, out, _ = run(journal)
    assert rc == 0
    lines = out.splitlines()
    assert lines[0] == "Nov 26 05:03:03 host sysvisor[1]: Started old.service."
    assert lines[1] == f"-- Boot {BOOT} --"
    assert lines[3] == "Nov 26 07:03:04 host web[42]: listening"
    assert len(lines) == 9


def test_unit_matches_service_output_and_manager_messages(journal):
    _, out, _ = run(journal, "-u", "web")
    assert messages(out) == ["Starting web.service - Web...", "listening", "cannot bind", "slow",
                             "web.service: Main process exited, code=exited, status=1/FAILURE"]
    _, out, _ = run(journal, "-u", "db.service", "--unit=web.service", "-o", "cat")
    assert out.count("\n") == 7


def test_unit_globs(journal):
    _, out, _ = run(journal, "-u", "d*", "-o", "cat")
    assert out == "ready\nDEBUG x\n"


def test_no_entries(journal):
    rc, out, _ = run(journal, "-u", "nope")
    assert (rc, out) == (0, "-- No entries --\n")
    assert run(journal, "-u", "nope", "-q")[1] == ""


def test_lines_reverse_no_tail(journal):
    assert messages(run(journal, "-n", "2")[1]) == ["DEBUG x", "web.service: Main process exited, code=exited, status=1/FAILURE"]
    assert messages(run(journal, "-n2", "-r")[1]) == ["web.service: Main process exited, code=exited, status=1/FAILURE", "DEBUG x"]
    assert len(messages(run(journal, "-n", "all")[1])) == 8
    assert len(messages(run(journal, "-n", "1", "--no-tail")[1])) == 8
    assert messages(run(journal, "-n", "+1", "-b")[1]) == ["Starting web.service - Web..."]
    assert len(messages(run(journal, "-n")[1])) == 8  # -n alone means 10


def test_priority_single_and_range(journal):
    assert run(journal, "-p", "err", "-o", "cat")[1] == "cannot bind\n"
    assert run(journal, "-p", "3", "-o", "cat")[1] == "cannot bind\n"
    assert run(journal, "-p", "warning..err", "-o", "cat")[1] == "cannot bind\nslow\n"
    assert run(journal, "-p", "5..4", "-o", "cat")[1] == "slow\nweb.service: Main process exited, code=exited, status=1/FAILURE\n"
    assert run(journal, "-p", "bogus") == (1, "", "Unknown log level bogus\n")
    assert run(journal, "-p", "5..") == (1, "", "Failed to parse log level range 5..\n")  # as 257


def test_grep_case_rule(journal):
    assert run(journal, "-g", "CANNOT", "-o", "cat") == (1, "", "")  # journalctl 257: silent, exit 1
    assert run(journal, "-g", "cannot", "-o", "cat")[1] == "cannot bind\n"
    assert run(journal, "-g", "debug", "--case-sensitive", "-o", "cat") == (1, "", "")
    rc, _, err = run(journal, "-g", "[")
    assert rc == 1 and err.startswith('Bad pattern "["')


def test_since_until(journal):
    assert run(journal, "-S", "2026-11-26 07:03:05", "-o", "cat")[1] == "ready\nDEBUG x\nweb.service: Main process exited, code=exited, status=1/FAILURE\n"
    assert run(journal, "-U", "2026-11-26 07:00", "-o", "cat")[1] == "Started old.service.\n"
    assert run(journal, "--since=-8s", "--until", "-7500ms", "-o", "cat")[1] == "ready\nDEBUG x\n"
    assert run(journal, "-S", "yesterday", "-U", "today", "-o", "cat")[1] == "-- No entries --\n"
    assert run(journal, "-S", "bogus") == (1, "", "Failed to parse timestamp: bogus\n")


def test_boot_selection(journal):
    assert messages(run(journal, "-b", "-o", "short")[1])[0] == "Starting web.service - Web..."
    assert run(journal, "-b", "-1", "-o", "cat")[1] == "Started old.service.\n"
    assert run(journal, "-b", OLD_BOOT, "-o", "cat")[1] == "Started old.service.\n"
    assert run(journal, "-b", "1", "-o", "cat")[1] == "Started old.service.\n"
    assert run(journal, "-b", "-2") == (1, "", "No journal boot entry found for the specified boot (-2).\n")
    rc, out, _ = run(journal, "--list-boots")
    assert rc == 0 and out.splitlines()[1].split()[:2] == ["-1", OLD_BOOT]


def test_identifier_and_field_matches(journal):
    assert run(journal, "-t", "postgres", "-o", "cat")[1] == "ready\nDEBUG x\n"
    assert run(journal, "_PID=42", "PRIORITY=3", "-o", "cat")[1] == "cannot bind\n"
    assert run(journal, "_PID=42", "_PID=43", "PRIORITY=6", "-o", "cat")[1] == "listening\nready\nDEBUG x\n"
    assert run(journal, "_PID=43", "+", "PRIORITY=3", "-o", "cat")[1] == "cannot bind\nready\nDEBUG x\n"
    assert run(journal, "PRIORITY=3", "-o", "cat")[1] == "cannot bind\n"  # a per-line field of a stored chunk
    assert run(journal, "MESSAGE=ready", "-o", "cat")[1] == "ready\n"
    assert run(journal, "bogus") == (1, "", "Failed to add match 'bogus': Invalid argument\n")


def test_output_modes_and_flags(journal):
    out = run(journal, "-u", "db", "-o", "json", "--output-fields=MESSAGE")[1]
    objs = [json.loads(line) for line in out.splitlines()]
    assert [o["MESSAGE"] for o in objs] == ["ready", "DEBUG x"]
    assert "_PID" not in objs[0] and "__CURSOR" in objs[0]
    assert run(journal, "-u", "db", "-n1", "--no-hostname")[1] == "Nov 26 07:03:05 postgres[43]: DEBUG x\n"
    assert run(journal, "-u", "db", "-n1", "-o", "with-unit")[1] == "Thu 2026-11-26 07:03:05 UTC host db.service[43]: DEBUG x\n"
    assert run(journal, "-o", "bogus") == (1, "", "Unknown output format 'bogus'.\n")
    assert run(journal, "--bogus")[0] == 1
    assert run(journal, "-r", "-f") == (1, "", "Please specify either --reverse or --follow, not both.\n")
    assert run(journal, "-n", "0") == (0, "-- No entries --\n", "")  # as journalctl 257


def test_follow_prints_new_entries(journal):
    w = JournalWriter(journal, name="late", hostname="host", boot_id=BOOT)
    out = io.StringIO()
    polls = []

    def stop():
        polls.append(1)
        if len(polls) == 1:  # after the initial tail: a new line arrives
            w.append({"MESSAGE": "fresh", "SYSLOG_IDENTIFIER": "x", "__REALTIME_TIMESTAMP": T0 + 5_000_000})
            w.flush()
        return "fresh" in out.getvalue()

    rc = main(["-f", "-n", "1", "-o", "cat"], journal, boot_id=BOOT, out=out, follow_stop=stop)
    w.close()
    assert rc == 0
    assert out.getvalue() == "web.service: Main process exited, code=exited, status=1/FAILURE\nfresh\n"


def test_empty_journal_directory(tmp_path):
    assert run(str(tmp_path / "none")) == (0, "-- No entries --\n", "No journal files were found.\n")
    assert run(str(tmp_path / "none"), "-q") == (0, "", "")


def test_directory_option(journal, tmp_path):
    assert run(str(tmp_path / "elsewhere"), "-D", journal, "-u", "db", "-o", "cat")[1] == "ready\nDEBUG x\n"
    rc, out, _ = run(journal, "--disk-usage")
    assert rc == 0 and out.startswith("Archived and active journals take up ") and out.endswith(" in the file system.\n")


def test_parse_args_optional_values():
    assert parse_args(["-b", "-1"]).boot == "-1"
    assert parse_args(["-b", "-u", "x"]).boot == "0"
    o = parse_args(["-n", "5", "-fu", "web"])
    assert (o.lines, o.follow, o.units) == (5, True, ["web.service"])
    assert parse_args(["--lines=all"]).lines is None


def test_mangle_unit():
    assert mangle_unit("web") == "web.service"
    assert mangle_unit("web.timer") == "web.timer"
    assert mangle_unit("web*") == "web*"


def test_import_path_is_small():
    """`sysvisor logs` must not pull in the engine or the unit-file parser."""
    code = (
        "import sys, sysvisor.cli.logs; "
        "bad = [m for m in sys.modules if m.startswith(('sysvisor.core', 'sysvisor.unitfile', 'sysvisor.daemon'))]; "
        "print(bad)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": "src"}, cwd=__file__.rsplit("/tests/", 1)[0])
    assert res.stdout.strip() == "[]"


def test_cursors(journal, tmp_path):
    rc, out, _ = run(journal, "-u", "db", "-n", "1", "--show-cursor", "-o", "cat")
    assert rc == 0
    text, cursor_line = out.splitlines()
    assert text == "DEBUG x" and cursor_line.startswith("-- cursor: s=")
    cursor = cursor_line[len("-- cursor: "):]
    assert run(journal, "--after-cursor", cursor, "-o", "cat")[1] == (
        "web.service: Main process exited, code=exited, status=1/FAILURE\n"
    )
    assert run(journal, "-c", cursor, "-o", "cat")[1].splitlines()[0] == "DEBUG x"
    assert run(journal, "--cursor=bogus") == (1, "", "Failed to seek to cursor: Invalid argument\n")
    state = str(tmp_path / "cursor")
    assert len(messages(run(journal, "--cursor-file", state)[1])) == 8
    assert run(journal, "--cursor-file", state, "-o", "cat")[1] == "-- No entries --\n"


def test_vacuum_options(tmp_path):
    d = str(tmp_path / "j")
    w = JournalWriter(d, hostname="h")
    for i in range(4):
        w.append({"MESSAGE": f"old {i}" + "x" * 2000})
        w.rotate()  # four closed segments and an open one
    w.append({"MESSAGE": "current"})
    w.flush()
    rc, out, err = run(d, "--vacuum-files=2")
    assert rc == 0 and out == ""
    assert err.count("Deleted archived journal ") == 2
    assert err.splitlines()[-1].startswith("Vacuuming done, freed ") and err.endswith(f" of archived journals from {d}.\n")
    assert run(d, "-o", "cat")[1] == "old 2" + "x" * 2000 + "\nold 3" + "x" * 2000 + "\ncurrent\n"
    run(d, "--vacuum-size=1K")
    assert run(d, "-o", "cat")[1] == "current\n"  # the open segment is never deleted
    assert run(d, "--vacuum-size=lots")[0] == 1
    assert run(d, "--vacuum-time=2weeks")[0] == 0
    w.close()
