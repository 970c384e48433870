"""The segment store: round trips, merging writers, torn tails, rotation, vacuum, follow."""

import os

import pytest

from sysvisor.journal.segment import list_segments, parse_records
from sysvisor.journal.store import (
    JournalError,
    JournalReader,
    JournalWriter,
)
from sysvisor.journal.stream import LineSplitter

BOOT = "0123456789abcdef0123456789abcdef"
STREAM_FIELDS = {
    "_SYSTEMD_UNIT": "web.service",
    "_SYSTEMD_INVOCATION_ID": "f" * 32,
    "_PID": 42,
    "_COMM": "web",
    "SYSLOG_IDENTIFIER": "web",
    "_TRANSPORT": "stdout",
}


def _writer(d, **kw):
    kw.setdefault("boot_id", BOOT)
    kw.setdefault("hostname", "host")
    return JournalWriter(str(d), **kw)


def test_round_trip_of_stream_lines_and_manager_messages(tmp_path):
    w = _writer(tmp_path)
    sp = LineSplitter()
    w.append_lines(STREAM_FIELDS, sp.feed(b"one\n<3>two\n"), realtime_usec=10, monotonic_usec=5)
    w.append({"MESSAGE": "web.service: Deactivated successfully.", "UNIT": "web.service",
              "INVOCATION_ID": "f" * 32, "PRIORITY": 6, "SYSLOG_IDENTIFIER": "sysvisor",
              "__REALTIME_TIMESTAMP": 20, "__MONOTONIC_TIMESTAMP": 15})
    w.close()
    got = list(JournalReader(str(tmp_path)).entries())
    assert [e["MESSAGE"] for e in got] == ["one", "two", "web.service: Deactivated successfully."]
    assert [e["PRIORITY"] for e in got] == ["6", "3", "6"]
    assert got[0]["_SYSTEMD_UNIT"] == "web.service" and got[0]["_PID"] == "42"
    assert got[0]["_BOOT_ID"] == BOOT and got[0]["_HOSTNAME"] == "host"
    assert got[0]["__REALTIME_TIMESTAMP"] == "10" and got[0]["__MONOTONIC_TIMESTAMP"] == "5"
    assert got[2]["UNIT"] == "web.service" and "_SYSTEMD_UNIT" not in got[2]
    assert [e["__SEQNUM"] for e in got] == ["1", "2", "3"]
    assert len({e["__CURSOR"] for e in got}) == 3


def test_non_utf8_and_multiline_messages_survive(tmp_path):
    w = _writer(tmp_path)
    w.append({"MESSAGE": b"bad\xff", "PRIORITY": "6"})
    w.append({"MESSAGE": "a\nb\n", "PRIORITY": "6"})
    w.append({"PRIORITY": "6", "CODE": "no message"})
    w.append({"MESSAGE": 5, "PRIORITY": 6})
    w.close()
    got = list(JournalReader(str(tmp_path)).entries())
    assert got[0]["MESSAGE"].encode("utf-8", "surrogateescape") == b"bad\xff"
    assert got[1]["MESSAGE"] == "a\nb\n"
    assert "MESSAGE" not in got[2]
    assert (got[3]["MESSAGE"], got[3]["PRIORITY"]) == ("5", "6")


def test_nothing_is_written_before_flush(tmp_path):
    w = _writer(tmp_path)
    w.append({"MESSAGE": "x"})
    assert list(JournalReader(str(tmp_path)).entries()) == []
    w.flush()
    assert [e["MESSAGE"] for e in JournalReader(str(tmp_path)).entries()] == ["x"]
    w.close()


def test_reverse_and_tail(tmp_path):
    w = _writer(tmp_path)
    for i in range(20):
        w.append({"MESSAGE": str(i), "__REALTIME_TIMESTAMP": 100 + i})
    w.close()
    r = JournalReader(str(tmp_path))
    assert [e["MESSAGE"] for e in r.entries(reverse=True)][:3] == ["19", "18", "17"]
    assert [e["MESSAGE"] for e in r.tail(3)] == ["17", "18", "19"]
    assert [e["MESSAGE"] for e in r.tail(2, lambda e: int(e["MESSAGE"]) % 2 == 0)] == ["16", "18"]
    assert [e["MESSAGE"] for e in r.entries(since_usec=105, until_usec=107)] == ["5", "6", "7"]
    assert [e["MESSAGE"] for e in r.entries(since_usec=105, until_usec=107, reverse=True)] == ["7", "6", "5"]


def test_two_writers_are_merged_by_time(tmp_path):
    a = _writer(tmp_path, name="manager")
    b = _writer(tmp_path, name="relay")
    a.append({"MESSAGE": "a1", "__REALTIME_TIMESTAMP": 1})
    b.append({"MESSAGE": "b2", "__REALTIME_TIMESTAMP": 2})
    a.append({"MESSAGE": "a3", "__REALTIME_TIMESTAMP": 3})
    a.close()
    b.close()
    r = JournalReader(str(tmp_path))
    assert [e["MESSAGE"] for e in r.entries()] == ["a1", "b2", "a3"]
    assert [e["MESSAGE"] for e in r.tail(2)] == ["b2", "a3"]


def test_one_writer_per_name(tmp_path):
    w = _writer(tmp_path)
    with pytest.raises(JournalError, match="already being written"):
        _writer(tmp_path)
    w.close()
    _writer(tmp_path).close()


def test_reopened_writer_continues_numbering_in_a_new_segment(tmp_path):
    w = _writer(tmp_path)
    w.append({"MESSAGE": "a"})
    w.append({"MESSAGE": "b"})
    w.close()
    w = _writer(tmp_path)
    w.append({"MESSAGE": "c"})
    w.close()
    assert len(list_segments(str(tmp_path))) == 2
    assert [e["__SEQNUM"] for e in JournalReader(str(tmp_path)).entries()] == ["1", "2", "3"]


def test_torn_tail_is_ignored_and_never_appended_to(tmp_path):
    w = _writer(tmp_path)
    w.append({"MESSAGE": "whole"})
    w.close()
    path = list_segments(str(tmp_path))[0][3]
    with open(path, "ab") as f:
        f.write(b"SVJ1\x50\x00\x00\x00\x10\x00")  # a record cut short by a SIGKILL
    w = _writer(tmp_path)
    w.append({"MESSAGE": "after restart"})
    w.close()
    assert [e["MESSAGE"] for e in JournalReader(str(tmp_path)).entries()] == ["whole", "after restart"]


def test_parse_records_stops_at_garbage():
    records, end = parse_records(b"garbage")
    assert records == [] and end == 0
    for header in (b"[1]", b'{"i": 1}', b"{not json"):
        records, end = parse_records(b"SVJ1" + len(header).to_bytes(4, "little") + b"\0\0\0\0" + header)
        assert records == [] and end == 0


def test_rotation_and_size_vacuum(tmp_path):
    w = _writer(tmp_path, max_use_bytes=64 * 1024 * 4, max_file_bytes=64 * 1024)
    payload = "x" * 1000
    for i in range(1000):
        w.append({"MESSAGE": f"{i} {payload}"})
        if i % 10 == 0:
            w.flush()
    w.close()
    segments = list_segments(str(tmp_path))
    total = sum(os.path.getsize(s[3]) for s in segments)
    assert total <= 64 * 1024 * 4 + 64 * 1024  # the active segment may exceed by one file
    got = [int(e["MESSAGE"].split()[0]) for e in JournalReader(str(tmp_path)).entries()]
    assert got == list(range(got[0], 1000))  # the oldest went first, nothing in between
    assert got[0] > 0


def test_size_vacuum_counts_the_tail_indexes_too(tmp_path):
    w = _writer(tmp_path)
    for i in range(3):
        w.append({"MESSAGE": f"segment {i}", "_SYSTEMD_UNIT": "a.service"})
        w.rotate()  # closes the segment and writes its tail index
    w.close()
    segments = [s[3] for s in list_segments(str(tmp_path))]
    indexes = [os.path.getsize(p + ".idx") for p in segments if os.path.exists(p + ".idx")]
    assert indexes, "the writer keeps a tail index beside each segment"
    data = sum(os.path.getsize(p) for p in segments)
    from sysvisor.journal.store import vacuum_directory

    deleted = vacuum_directory(str(tmp_path), max_use=data)  # the segments fit, not with their indexes
    assert deleted and deleted[0][0] == segments[0]
    assert not os.path.exists(segments[0] + ".idx")
    left = [s[3] for s in list_segments(str(tmp_path))]
    assert sum(os.path.getsize(p) + (os.path.getsize(p + ".idx") if os.path.exists(p + ".idx") else 0) for p in left) <= data


def test_age_vacuum_deletes_old_closed_segments(tmp_path):
    w = _writer(tmp_path, max_age_usec=3600 * 10**6)
    w.append({"MESSAGE": "old"})
    w.rotate()
    old = list_segments(str(tmp_path))[0][3]
    os.utime(old, (1, 1))  # last written in 1970
    w.append({"MESSAGE": "new"})
    w.rotate()
    assert old not in [s[3] for s in list_segments(str(tmp_path))]
    w.close()
    assert [e["MESSAGE"] for e in JournalReader(str(tmp_path)).entries()] == ["new"]


def test_vacuum_never_deletes_another_writers_open_segment(tmp_path):
    other = _writer(tmp_path, name="relay")
    other.append({"MESSAGE": "keep me", "__REALTIME_TIMESTAMP": 1})
    other.flush()
    w = _writer(tmp_path, max_use_bytes=1)
    w.append({"MESSAGE": "x"})
    w.rotate()
    assert "keep me" in [e["MESSAGE"] for e in JournalReader(str(tmp_path)).entries()]
    other.close()
    w.close()


def test_poll_returns_only_new_entries(tmp_path):
    w = _writer(tmp_path)
    w.append({"MESSAGE": "before"})
    w.flush()
    r = JournalReader(str(tmp_path))
    assert [e["MESSAGE"] for e in r.tail(10)] == ["before"]
    assert r.poll() == []
    w.append({"MESSAGE": "after"})
    w.flush()
    assert [e["MESSAGE"] for e in r.poll()] == ["after"]
    w.rotate()
    w.append({"MESSAGE": "next segment"})
    w.flush()
    assert [e["MESSAGE"] for e in r.poll()] == ["next segment"]
    w.close()


def test_follow_stops_when_told(tmp_path):
    w = _writer(tmp_path)
    r = JournalReader(str(tmp_path))
    r.tail(10)
    w.append({"MESSAGE": "live"})
    w.flush()
    seen = []
    for e in r.follow(poll_interval=0.01, stop=lambda: len(seen) >= 1):
        seen.append(e["MESSAGE"])
    assert seen == ["live"]
    w.close()


def test_boots_in_order(tmp_path):
    w = _writer(tmp_path, boot_id=None)
    w.append({"MESSAGE": "1", "_BOOT_ID": "a" * 32, "__REALTIME_TIMESTAMP": 1})
    w.append({"MESSAGE": "2", "_BOOT_ID": "b" * 32, "__REALTIME_TIMESTAMP": 5})
    w.append({"MESSAGE": "3", "_BOOT_ID": "b" * 32, "__REALTIME_TIMESTAMP": 7})
    w.close()
    assert JournalReader(str(tmp_path)).boots() == [("a" * 32, 1, 1), ("b" * 32, 5, 7)]


def test_bad_writer_name(tmp_path):
    with pytest.raises(JournalError, match="Invalid journal writer name"):
        JournalWriter(str(tmp_path), name="a@b")


def test_raw_stream_chunks_are_split_when_read(tmp_path):
    w = _writer(tmp_path)
    sp = LineSplitter()
    raw, tail = sp.feed_raw(b"a\n<3>b\n\nc\0d\npart")
    w.append_raw(STREAM_FIELDS, raw, realtime_usec=1, monotonic_usec=1)
    w.append_lines(STREAM_FIELDS, tail, realtime_usec=1, monotonic_usec=1)
    w.append_lines(STREAM_FIELDS, sp.finish(), realtime_usec=2, monotonic_usec=2)
    w.append({"MESSAGE": "after", "__REALTIME_TIMESTAMP": 3})
    w.append_raw(STREAM_FIELDS, b"x" * 100000 + b"\n", line_max=60000, realtime_usec=4)
    w.close()
    got = list(JournalReader(str(tmp_path)).entries())
    assert [e["MESSAGE"][:5] for e in got] == ["a", "b", "c", "d", "part", "after", "xxxxx", "xxxxx"]
    assert [e["PRIORITY"] for e in got[:4]] == ["6", "3", "6", "6"]
    assert got[2]["_LINE_BREAK"] == "nul" and got[4]["_LINE_BREAK"] == "eof"
    assert got[6]["_LINE_BREAK"] == "line-max" and len(got[6]["MESSAGE"]) == 60000
    seqs = [int(e["__SEQNUM"]) for e in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    rev = [e["MESSAGE"][:5] for e in JournalReader(str(tmp_path)).entries(reverse=True)]
    assert rev == ["xxxxx", "xxxxx", "after", "part", "d", "c", "b", "a"]


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_names = st.from_regex(r"[A-Z][A-Z0-9_]{0,12}", fullmatch=True).filter(lambda n: n not in ("MESSAGE",))
_values = st.text(max_size=40)  # any text, newlines and lone surrogates included


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=30)
@given(entries=st.lists(st.tuples(st.dictionaries(_names, _values, max_size=6), st.binary(max_size=60)), max_size=8))
def test_any_entries_round_trip(tmp_path_factory, entries):
    d = str(tmp_path_factory.mktemp("j"))
    w = JournalWriter(d, hostname="", boot_id=None)
    for fields, message in entries:
        w.append({**fields, "MESSAGE": message})
    w.close()
    got = list(JournalReader(d).entries())
    assert len(got) == len(entries)
    for (fields, message), e in zip(entries, got):
        assert e["MESSAGE"].encode("utf-8", "surrogateescape") == message
        assert {k: v for k, v in e.items() if not k.startswith("__") and k != "MESSAGE"} == fields


WRITE_FAILURE = r"""
import resource, signal, sys, json
from sysvisor.journal.store import JournalWriter
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
w = JournalWriter(sys.argv[1], hostname="h")
for batch in range(40):
    for i in range(10):
        w.append({"MESSAGE": f"{batch}.{i} " + "x" * 1000})
    w.flush()
w.close()
print(json.dumps({"dropped": w.dropped_writes, "error": str(w.last_error)}))
"""


def test_a_failed_write_loses_its_batch_but_hides_nothing_after_it(tmp_path):
    """A real write failure (file size limit → EFBIG) in the middle of a record."""
    import json
    import subprocess
    import sys

    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src")
    res = subprocess.run([sys.executable, "-c", WRITE_FAILURE, str(tmp_path)], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": src}, check=True, timeout=60)
    report = json.loads(res.stdout)
    assert report["dropped"] > 0 and "File too large" in report["error"]
    got = [tuple(map(int, e["MESSAGE"].split()[0].split("."))) for e in JournalReader(str(tmp_path)).entries()]
    assert got == sorted(got)
    by_batch: dict[int, list[int]] = {}
    for batch, i in got:
        by_batch.setdefault(batch, []).append(i)
    for items in by_batch.values():  # a failed write keeps the records before the cut
        assert items == list(range(len(items)))
    lost = 400 - len(got)
    assert 0 < lost <= 10 * report["dropped"]
    assert by_batch[39] == list(range(10))  # what came after a failure is readable


def test_urgent_entries_are_synced_at_once(tmp_path):
    w = _writer(tmp_path)
    w.append({"MESSAGE": "err", "PRIORITY": 3})
    w.append_raw(STREAM_FIELDS, b"<3>x\n")
    w.flush()
    assert w.syncs == 0
    w.append({"MESSAGE": "crit", "PRIORITY": 2})
    w.flush()
    assert w.syncs == 1
    w.append_raw(STREAM_FIELDS, b"ok\n<1>alert\n")
    w.flush()
    assert w.syncs == 2
    w.append_lines(STREAM_FIELDS, LineSplitter().feed(b"<0>emerg\n"))
    w.flush()
    assert w.syncs == 3
    w.close()
