"""Differential test: the entries journald 257 stored (recorded as `journalctl -o json`) are
put into our store, and `sysvisor logs` must print what `journalctl` printed for them.
Data: tests/journal/data/journalctl-257-observed.json (unit data/jtest.service)."""

import io
import json
from pathlib import Path

import pytest

from sysvisor.cli.logs import main
from sysvisor.journal.store import JournalWriter

DATA = Path(__file__).parent / "data"
REC = json.loads((DATA / "journalctl-257-observed.json").read_text())
OUT = REC["stdout"][0]


def _section(name: str) -> str:
    start = OUT.index(f"=== {name}\n") + len(name) + 5
    end = OUT.find("===", start)
    return OUT[start : end if end >= 0 else None]


def _value(key: str, value):
    if isinstance(value, list):
        return bytes(value)
    if value is None:  # journalctl printed a field > 4096 bytes as null: the LineMax cut
        assert key == "MESSAGE"
        return "A" * 48 * 1024
    return value


@pytest.fixture
def journal(tmp_path, utc_tz):
    d = str(tmp_path / "journal")
    w = JournalWriter(d, hostname="", boot_id=None)
    for line in _section("json").splitlines():
        obj = json.loads(line)
        entry = {k: _value(k, v) for k, v in obj.items()
                 if not k.startswith("__") or k in ("__REALTIME_TIMESTAMP", "__MONOTONIC_TIMESTAMP")}
        w.append(entry)
    w.close()
    return d


def _run(d, *argv):
    out = io.StringIO()
    rc = main(list(argv), d, out=out, err=io.StringIO())
    return rc, out.getvalue()


@pytest.mark.parametrize(
    "section,argv",
    [
        ("short", ["-u", "jtest.service", "--no-pager", "-o", "short"]),
        ("all", ["-u", "jtest.service", "--no-pager", "-a"]),
    ],
)
def test_same_output_as_journalctl(journal, section, argv):
    expected = _section(section)
    rc, got = _run(journal, *argv)
    assert rc == 0
    assert got.splitlines() == expected.splitlines()


def test_multiline_identifier_and_monotonic(journal):
    expected = _section("multi").splitlines()
    assert _run(journal, "-t", "multi", "--no-pager")[1].splitlines() == expected[:4]
    assert _run(journal, "-t", "multi", "--no-pager", "-o", "short-monotonic")[1].splitlines() == expected[4:8]


def test_filters_as_journalctl(journal):
    prio = _section("prio").splitlines()
    assert _run(journal, "-u", "jtest.service", "-p", "err", "--no-pager", "-o", "cat")[1].splitlines() == prio[:3]
    grep = _section("grep").splitlines()
    assert _run(journal, "-u", "jtest.service", "-g", "err", "--no-pager", "-o", "cat")[1].splitlines() == grep[:1]
    assert _run(journal, "-u", "jtest*", "-n", "2", "--no-pager", "-o", "cat")[1].splitlines() == grep[1:3]
    lines = _section("lines").splitlines()
    assert _run(journal, "-u", "jtest.service", "-n", "2", "-r", "--no-pager", "-o", "cat")[1].splitlines() == lines
    nohost = _section("nohost").splitlines()
    assert _run(journal, "-u", "jtest.service", "-n", "1", "--no-hostname", "--no-pager")[1].splitlines() == nohost[:1]
    assert _run(journal, "-u", "jtest.service", "-n", "1", "-o", "short-full", "--no-hostname",
                "--no-pager")[1].splitlines() == nohost[1:2]
