"""Walking a segment backwards through the records' trailers (`status`, `logs -n`): the same
records as a forward parse, newest first, whatever the mix of records and field sets; torn
and older segments fall back to the forward parse. # spec: systemctl-and-journal.md §3"""

import itertools
import json
import os

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sysvisor.journal import reader as reader_mod
from sysvisor.journal import store
from sysvisor.journal.reader import JournalReader, records_backward
from sysvisor.journal.segment import list_segments, parse_records
from sysvisor.journal.store import JournalWriter
from sysvisor.journal.stream import split_raw

UNITS = ["a.service", "b.service", "c.service"]

op = st.one_of(
    st.tuples(st.just("entry"), st.sampled_from(UNITS), st.text(max_size=40)),
    st.tuples(st.just("raw"), st.sampled_from(UNITS), st.lists(st.text(alphabet="xyz <>3", max_size=30), min_size=1, max_size=30)),
    st.tuples(st.just("big"), st.sampled_from(UNITS), st.integers(1, 3)),
    st.tuples(st.just("flush"), st.just(""), st.just("")),
)


def _write(directory, ops):
    w = JournalWriter(directory, name="relay", hostname="h", boot_id="b" * 32)
    for kind, unit, arg in ops:
        if kind == "entry":
            w.append({"MESSAGE": arg, "UNIT": unit, "PRIORITY": "6"})
        elif kind == "raw":
            w.append_raw({"_SYSTEMD_UNIT": unit, "_PID": "7"}, "".join(line + "\n" for line in arg).encode())
        elif kind == "big":  # ≥ 64 KiB: written with writev, not through the buffer
            w.append_raw({"_SYSTEMD_UNIT": unit, "_PID": "8"}, (b"y" * 99 + b"\n") * (700 * arg))
        else:
            w.flush()
    w.close()
    return list_segments(directory)[-1][3]


def _forward(path):
    with open(path, "rb") as f:
        records, _ = parse_records(f.read())
    return records


@settings(max_examples=60, deadline=None)
@given(st.lists(op, max_size=60), st.integers(0, 4096))
def test_backward_walk_equals_the_forward_parse_reversed(tmp_path_factory, ops, redefine):
    old = store.REDEFINE_DISTANCE
    store.REDEFINE_DISTANCE = redefine  # field sets far back: the walk waits for their copy
    try:
        path = _write(str(tmp_path_factory.mktemp("j")), ops)
    finally:
        store.REDEFINE_DISTANCE = old
    forward = _forward(path)
    ends = []
    assert list(records_backward(path, on_end=lambda end, whole: ends.append((end, whole)))) == forward[::-1]
    assert ends == [(os.path.getsize(path), False)]
    want = lambda f: f.get("_SYSTEMD_UNIT") == "a.service"  # noqa: E731
    assert list(records_backward(path, want)) == [r for r in forward[::-1] if want(r[0]["f"])]
    assert list(records_backward(path, want, needle=b'"a.service"')) == [r for r in forward[::-1] if want(r[0]["f"])]
    if forward:  # down to a floor: the newer records, each with its field set
        floor = forward[len(forward) // 2][0]["t"]
        newer = list(itertools.takewhile(lambda r: r[0]["t"] >= floor, forward[::-1]))
        assert list(records_backward(path, floor=floor)) == newer


def test_torn_tail_and_older_segments_are_parsed_forwards(tmp_path):
    path = _write(str(tmp_path / "j"), [("entry", "a.service", "one"), ("entry", "a.service", "two")])
    with open(path, "ab") as f:
        f.write(b"SVJ2\x50\x00\x00\x00\x10\x00")  # cut short by a SIGKILL
    ends = []
    got = list(records_backward(path, on_end=lambda end, whole: ends.append((end, whole))))
    assert [r[1] for r in got] == [b"two", b"one"]
    assert ends == [(os.path.getsize(path) - 10, True)]
    # a segment of the format before trailers (b"SVJ1" records)
    old = str(tmp_path / "old@0000000000000001-0000000000000001.jseg")
    with open(old, "wb") as f:
        for i, msg in enumerate((b"first", b"second")):
            header = json.dumps({"i": i + 1, "n": 1, "t": 5 + i, "m": 5 + i, "f": {"UNIT": "a.service"}}).encode()
            f.write(b"SVJ1" + len(header).to_bytes(4, "little") + len(msg).to_bytes(4, "little") + header + msg)
    assert [r[1] for r in records_backward(old)] == [b"second", b"first"]


def test_tail_reads_only_the_end_of_a_big_segment(tmp_path, monkeypatch):
    directory = str(tmp_path / "j")
    w = JournalWriter(directory, name="manager", hostname="h", boot_id="b" * 32)
    for i in range(20000):
        w.append({"MESSAGE": f"web restart {i}", "UNIT": "web.service" if i % 2 else "db.service", "PRIORITY": "6"})
        if i % 50 == 0:
            w.flush()
    w.close()
    parsed = []
    real = reader_mod.parse_records
    monkeypatch.setattr(reader_mod, "parse_records", lambda *a, **k: parsed.append(1) or real(*a, **k))
    loads = []
    real_loads = reader_mod.jsoncodec.loads_bytes
    monkeypatch.setattr(reader_mod.jsoncodec, "loads_bytes", lambda b: loads.append(1) or real_loads(b))
    got = JournalReader(directory).tail(10, lambda e: e.get("UNIT") == "web.service")
    assert [e["MESSAGE"] for e in got] == [f"web restart {i}" for i in range(19981, 20000, 2)]
    # the walk goes back at most to the last copy of the field set (REDEFINE_DISTANCE):
    # ~1 700 records of these here, not 20 000
    assert not parsed and len(loads) < store.REDEFINE_DISTANCE // 140


def test_follow_after_a_backward_tail_still_knows_the_field_sets(tmp_path):
    directory = str(tmp_path / "j")
    w = JournalWriter(directory, name="relay", hostname="h", boot_id="b" * 32)
    fields = {"_SYSTEMD_UNIT": "a.service", "_PID": "9"}
    w.append_raw(fields, b"early\n")
    w.flush()
    r = JournalReader(directory)
    assert [e["MESSAGE"] for e in r.tail(1)] == ["early"]
    w.append_raw(fields, b"later\n")  # refers to the field set stored with "early"
    w.flush()
    got = r.poll()
    assert [(e["MESSAGE"], e["_SYSTEMD_UNIT"], e["_PID"]) for e in got] == [("later", "a.service", "9")]
    w.close()


def test_split_of_raw_records_read_backwards(tmp_path):
    directory = str(tmp_path / "j")
    w = JournalWriter(directory, name="relay")
    w.append_raw({"_SYSTEMD_UNIT": "a.service"}, b"<3>one\ntwo\n")
    w.close()
    got = JournalReader(directory).tail(2)
    assert [(e["MESSAGE"], e["PRIORITY"]) for e in got] == [("one", "3"), ("two", "6")]
    assert split_raw(b"<3>one\ntwo\n").messages == [b"one", b"two"]


def test_boot_start_bounds_the_walk_of_a_unit_with_few_lines(tmp_path, monkeypatch):
    from sysvisor.journal.message import unit_log
    from sysvisor.journal.reader import boot_start

    directory = str(tmp_path / "j")
    old = JournalWriter(directory, name="system", boot_id="1" * 32)
    for i in range(3000):
        old.append({"MESSAGE": f"old {i}", "UNIT": "web.service" if i % 2 else "db.service"})
    old.close()
    relay = JournalWriter(directory, name="relay", boot_id="1" * 32)  # survives the manager
    relay.append_raw({"_SYSTEMD_UNIT": "db.service"}, b"old output\n")
    relay.flush()
    new = JournalWriter(directory, name="system", boot_id="2" * 32)
    new.append({"MESSAGE": "Started web.service.", "UNIT": "web.service"})
    new.flush()
    relay.append_raw({"_SYSTEMD_UNIT": "web.service", "_BOOT_ID": "2" * 32}, b"listening\n")
    relay.close()
    new.close()
    start = boot_start(directory, "2" * 32)
    assert start == [s[2] for s in list_segments(directory) if s[0] == "system"][-1]
    assert boot_start(directory, "3" * 32) is None
    visited = []
    real = reader_mod._record_before
    monkeypatch.setattr(reader_mod, "_record_before", lambda *a: visited.append(1) or real(*a))
    got = unit_log(directory, "web.service", lines=10, boot_id="2" * 32)
    assert [e["MESSAGE"] for e in got] == ["Started web.service.", "listening"]
    assert len(visited) < 20  # the 3 000 records of the old instance are not walked


@settings(max_examples=60, deadline=None)
@given(st.lists(op, max_size=60), st.integers(0, 4096), st.integers(1, 4), st.sampled_from(["ok", "damaged", "none"]))
def test_walk_with_the_tail_index_equals_the_forward_parse(tmp_path_factory, ops, redefine, keep, index_state):
    """The index lists each unit's last `keep` records (written at every flush here, so it
    is stale by whatever came after the last one); damaged or missing, it is not used."""
    from sysvisor.journal import index

    old = store.REDEFINE_DISTANCE, index.INTERVAL, index.KEEP
    store.REDEFINE_DISTANCE, index.INTERVAL, index.KEEP = redefine, 0.0, keep
    try:
        path = _write(str(tmp_path_factory.mktemp("j")), ops + [("entry", "a.service", "last")])
    finally:
        store.REDEFINE_DISTANCE, index.INTERVAL, index.KEEP = old
    assert os.path.exists(path + index.SUFFIX)
    if index_state == "damaged":
        with open(path + index.SUFFIX, "w") as f:
            f.write('{"end": 0, "units": {"a.service": [[5, 5]]}, "defs": {"0": 1}}')
    elif index_state == "none":
        os.unlink(path + index.SUFFIX)
    forward = _forward(path)
    for unit in UNITS:
        want = lambda f, u=unit: u in (f.get("_SYSTEMD_UNIT"), f.get("UNIT"))  # noqa: E731
        expected = [r for r in forward[::-1] if want(r[0]["f"])]
        needle = json.dumps(unit).encode()
        assert list(records_backward(path, want, unit=unit, needle=needle)) == expected
        floor = forward[len(forward) // 2][0]["t"]
        newer = [r for r in itertools.takewhile(lambda r: r[0]["t"] >= floor, forward[::-1]) if want(r[0]["f"])]
        assert list(records_backward(path, want, unit=unit, needle=needle, floor=floor)) == newer


def test_status_of_a_quiet_unit_jumps_through_the_index(tmp_path, monkeypatch):
    """A quiet unit among 20 000 records of others: its lines come from the index, not a walk."""
    from sysvisor.journal.message import unit_log

    directory = str(tmp_path / "j")
    w = JournalWriter(directory, name="system", boot_id="b" * 32)
    w.append({"MESSAGE": "Started web.service.", "UNIT": "web.service"})
    for i in range(20000):
        w.append({"MESSAGE": f"crash{i % 50}.service: Scheduled restart job.", "UNIT": f"crash{i % 50}.service",
                  "INVOCATION_ID": f"{i:032x}"})  # a new field set per restart, as in a crash loop
        if i % 100 == 0:
            w.flush()
    w.close()  # (the index is written when the segment is closed)
    visited = []
    real = reader_mod._record_before
    monkeypatch.setattr(reader_mod, "_record_before", lambda *a, **k: visited.append(1) or real(*a, **k))
    got = unit_log(directory, "web.service", lines=10, boot_id="b" * 32)
    assert [e["MESSAGE"] for e in got] == ["Started web.service."]
    assert len(visited) < 20


@pytest.mark.parametrize("indexed", [False, True], ids=["no-index", "index-half-way"])
def test_a_walk_through_a_crash_loop_decodes_only_the_units_own_headers(tmp_path, monkeypatch, indexed):
    """Walking back, each restart's later records (which refer to its field set) come before
    the record that stores that field set: they are peeked at, not decoded, until their field
    set is known to be the unit's; nor is a field set the index points to decoded without the
    unit's name in it."""
    from sysvisor.journal import index
    from sysvisor.journal.message import unit_log
    from sysvisor.protocol import jsoncodec

    directory = str(tmp_path / "j")
    monkeypatch.setattr(index, "INTERVAL", float("inf"))  # no index written while open …
    w = JournalWriter(directory, name="system", boot_id="b" * 32)
    for i in range(400):  # 50 units, each restart a field set of its own and 4 records
        unit = f"crash{i % 50}.service"
        fields = {"UNIT": unit, "INVOCATION_ID": f"{i:032x}"}
        for message in ("Started.", "Main process exited.", "Failed.", "Scheduled restart job."):
            w.append({"MESSAGE": f"{unit}: {message}", **fields})
        if i == 200 and indexed:  # … or one complete up to half-way
            monkeypatch.setattr(index, "INTERVAL", 0.0)
            w.flush()
            monkeypatch.setattr(index, "INTERVAL", float("inf"))
    for i in range(150, 200):  # a last word per unit in a field set stored before the index's end
        w.append({"MESSAGE": f"crash{i % 50}.service: Stopped.", "UNIT": f"crash{i % 50}.service", "INVOCATION_ID": f"{i:032x}"})
    w.flush()
    path = list_segments(directory)[-1][3]
    assert os.path.exists(path + index.SUFFIX) == indexed
    own = {h["c"] for h, _ in _forward(path) if h["f"].get("UNIT") == "crash7.service"}  # its field sets
    decoded = []
    real = jsoncodec.loads_bytes
    monkeypatch.setattr(jsoncodec, "loads_bytes", lambda data: decoded.append(bytes(data)) or real(data))
    got = unit_log(directory, "crash7.service", lines=10, boot_id="b" * 32)
    w.close()
    assert [e["MESSAGE"] for e in got][-5:] == [f"crash7.service: {m}" for m in
                                              ("Started.", "Main process exited.", "Failed.", "Scheduled restart job.", "Stopped.")]
    assert len(got) == 10
    others = [d for d in decoded if b'"crash7.service"' not in d and json.loads(d).get("c") not in own]
    assert len(others) <= 2, others  # (the segment's first record, for the boot; its last)


def test_the_index_lists_only_field_sets_a_later_record_can_still_refer_to(tmp_path):
    # a crash loop makes a field set per restart; a record after the index's "end" whose
    # field set is stored more than REDEFINE_DISTANCE back stores it again, so only the
    # copies within that distance before "end" are worth listing (they were all of the
    # last minute's: ~800 KB read by every `status` during a crash loop)
    from sysvisor.journal import index

    directory = str(tmp_path / "j")
    w = JournalWriter(directory, name="system", boot_id="b" * 32)
    for i in range(20000):
        w.append({"MESSAGE": f"crash{i % 50}.service: Scheduled restart job.", "UNIT": f"crash{i % 50}.service",
                  "INVOCATION_ID": f"{i:032x}"})
    w.close()
    path = list_segments(directory)[-1][3]
    idx = index.load(path, os.path.getsize(path))
    assert idx is not None and idx["end"] == os.path.getsize(path)
    defs = idx["defs"]
    assert defs and all(off >= idx["end"] - store.REDEFINE_DISTANCE for off in defs.values())
    assert len(defs) < 20000 // 4  # the records of the last 256 KiB, not all 20 000
    assert os.path.getsize(path + index.SUFFIX) < 200_000


# _peek: "t" and "c" of a header without decoding it, by hand where the regular expressions
# below were (the first `status` imported `re` and enum for them)
_PEEK_RE = (rb'"t":(\d+),.*"c":(\d+)[,}]', rb'"t":(\d+),.*,"c":(\d+)}$')
_header_piece = st.sampled_from([b'"t":', b'"c":', b',"c":', b",", b"}", b"{", b"\n", b'"f":', b'"x":', b":", b'"'])
_digits = st.integers(0, 10**12).map(lambda n: str(n).encode())


@given(st.lists(st.one_of(_header_piece, _header_piece, _header_piece, _digits, _digits, st.binary(max_size=3)), max_size=16),
       st.booleans())
@example([b'"t":', b"1", b",", b'"c":', b"2", b",", b'"c":', b"x"], False)  # an earlier "c" when the last has no number
@example([b'"c":', b"2", b",", b'"t":', b"1", b","], False)  # a "c" before the "t" does not count
@example([b'"t":1,"f":{}', b',"c":', b"2", b"}", b"\n"], True)  # `$` before one final newline
@example([b'"t":1,"f":{}', b',"c":', b"2", b"}", b"\n", b"\n"], True)  # … but only one
@example([b'"t":', b"1", b",", b'"c":', b"2", b"}"], True)  # the "t"'s own comma is not the one before "c"
@example([b'"t":', b"1", b",", b',"c":', b"2", b"}"], True)  # .* empty: the "c" right after the comma
@settings(max_examples=3000, deadline=None)
def test_the_header_peek_finds_what_the_regular_expressions_find(pieces, defining):
    import re

    raw = b"".join(pieces)
    found = re.search(_PEEK_RE[defining], raw, re.S)
    assert reader_mod._peek(raw, defining) == ((int(found[1]), int(found[2])) if found else None)


@given(st.integers(0, 2**63), st.integers(0, 10**6), st.dictionaries(st.sampled_from("PMuif"), st.text(max_size=8), max_size=3))
def test_the_header_peek_reads_real_headers(t, c, extra):
    for defining, header in ((False, {"t": t, **extra, "c": c}), (True, {"t": t, "f": extra, "c": c})):
        raw = json.dumps(header, separators=(",", ":")).encode()
        assert reader_mod._peek(raw, defining) == (t, c)
