"""The stdout line splitter against journald 257's observed behaviour. # spec: systemctl-and-journal.md §6"""

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sysvisor.journal.stream import (
    LINE_MAX_DEFAULT,
    LineSplitter,
    StreamLines,
    count_newlines,
    max_lines,
    parse_level_prefix,
    split_raw,
)

DATA = Path(__file__).parent / "data"

# The bytes data/gen.py writes to stdout (the journal-socket messages are not stdout).
GEN_STDOUT = (
    b"hello world\n<3>an error\n  lead and trail   \n   \n\n<5>\nx\x1b[31mred\x1b[0m\n"
    + b"nul\x00after\ninv\xffutf\n" + b"A" * 50000 + b"\n<8>eight\n<07>seven\n<007>x\n<0007>y\ncr\r\n\ttab-lead\n"
    + b"tail-no-newline"
)


def _observed_stdout_entries():
    rec = json.loads((DATA / "journalctl-257-observed.json").read_text())
    text = rec["stdout"][0]
    section = text[text.index("=== json\n") + 9 : text.index("=== multi")]
    out = []
    for line in section.splitlines():
        obj = json.loads(line)
        if obj.get("_TRANSPORT") == "stdout":
            out.append(obj)
    return out


def _collect(chunks, **kw):
    sp = LineSplitter(**kw)
    lines = StreamLines()
    for c in chunks:
        lines.extend(sp.feed(c))
    lines.extend(sp.finish())
    return lines


def _as_json_message(raw: bytes):
    """journalctl -o json: printable UTF-8 as a string, anything else as a byte array."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return list(raw)
    if any((ord(c) < 32 and c not in "\t\n") or 0x7F <= ord(c) <= 0x9F for c in text):
        return list(raw)
    return text


def test_matches_journald_257_observed():
    observed = _observed_stdout_entries()
    lines = _collect([GEN_STDOUT])
    assert len(lines) == len(observed)
    for i, obj in enumerate(observed):
        raw = lines.messages[i]
        if obj["MESSAGE"] is None:  # journalctl prints fields > 4096 bytes as null
            assert len(raw) == LINE_MAX_DEFAULT
        else:
            assert _as_json_message(raw) == obj["MESSAGE"]
        assert str(lines.priorities[i]) == obj["PRIORITY"]
        assert lines.line_breaks.get(i) == obj.get("_LINE_BREAK")


def test_line_max_splits_and_keeps_rest():
    lines = _collect([b"B" * 100 + b"\n"], line_max=79)
    assert lines.messages == [b"B" * 79, b"B" * 21]
    assert lines.line_breaks == {0: "line-max"}


def test_partial_line_is_buffered_until_newline():
    sp = LineSplitter()
    assert sp.feed(b"hel").messages == []
    assert sp.pending == 3
    assert sp.feed(b"lo\nwor").messages == [b"hello"]
    assert sp.finish().messages == [b"wor"]


def test_no_level_prefix_keeps_text():
    lines = _collect([b"<3>x\n"], level_prefix=False, priority=4)
    assert lines.messages == [b"<3>x"]
    assert lines.priorities == [4]


def test_parse_level_prefix():
    assert parse_level_prefix(b"<0>a") == (0, b"a")
    assert parse_level_prefix(b"<007>a") == (7, b"a")
    assert parse_level_prefix(b"<8>a") == (None, b"<8>a")
    assert parse_level_prefix(b"<0007>a") == (None, b"<0007>a")
    assert parse_level_prefix(b"<>a") == (None, b"<>a")
    assert parse_level_prefix(b"<a>a") == (None, b"<a>a")


@settings(deadline=None)  # no timing in unit tests: the machine may be busy
@given(
    data=st.binary(max_size=600).map(lambda b: b.replace(b"x", b"\n").replace(b"y", b"\0").replace(b"z", b"<3>")),
    cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=8),
)
def test_chunking_does_not_change_lines(data, cuts):
    """However the pipe splits the bytes, the same lines come out."""
    whole = _collect([data], line_max=80)
    points = sorted({c for c in cuts if c <= len(data)})
    chunks, prev = [], 0
    for p in points + [len(data)]:
        chunks.append(data[prev:p])
        prev = p
    parts = _collect(chunks, line_max=80)
    assert parts.messages == whole.messages
    assert parts.priorities == whole.priorities
    assert parts.line_breaks == whole.line_breaks


def _collect_raw(chunks, **kw):
    """feed_raw + split_raw (what the store does) must give what feed gives."""
    sp = LineSplitter(**kw)
    lines = StreamLines()
    for c in chunks:
        raw, tail = sp.feed_raw(c)
        if raw:
            assert raw.endswith(b"\n")
            part = split_raw(raw, **kw)
            assert len(part) <= max_lines(raw, sp.line_max)
            lines.extend(part)
        lines.extend(tail)
    lines.extend(sp.finish())
    return lines


def test_raw_matches_journald_257_observed():
    assert _collect_raw([GEN_STDOUT]).messages == _collect([GEN_STDOUT]).messages


@settings(deadline=None)  # no timing in unit tests: the machine may be busy
@given(
    data=st.binary(max_size=600).map(lambda b: b.replace(b"x", b"\n").replace(b"y", b"\0").replace(b"z", b"<3>")),
    cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=8),
)
def test_raw_chunks_split_later_give_the_same_lines(data, cuts):
    points = sorted({c for c in cuts if c <= len(data)})
    chunks, prev = [], 0
    for p in points + [len(data)]:
        chunks.append(data[prev:p])
        prev = p
    whole = _collect([data], line_max=80)
    raw = _collect_raw(chunks, line_max=80)
    assert raw.messages == whole.messages
    assert raw.priorities == whole.priorities
    assert raw.line_breaks == whole.line_breaks


@settings(deadline=None)
@given(
    line_lengths=st.lists(st.integers(min_value=1, max_value=300), max_size=400),
    trailing=st.binary(max_size=50),
    cut=st.integers(min_value=0, max_value=200_000),
)
def test_count_newlines_is_bytes_count(line_lengths, trailing, cut):
    """Both ways of counting (short lines by count(), long ones by deleting in 64 KiB pieces)
    give bytes.count() for any end, also inside a buffer with stale bytes after `end`."""
    data = bytearray(b"".join(b"x" * (n - 1) + b"\n" for n in line_lengths) + trailing) * 3
    end = min(cut, len(data))
    assert count_newlines(data, end) == data.count(b"\n", 0, end)
    assert count_newlines(bytes(data), len(data)) == data.count(b"\n")


def test_count_newlines_takes_each_way():
    long_lines = (b"y" * 99 + b"\n") * 5000  # 500 KB: deleted in pieces, across their boundaries
    assert count_newlines(long_lines, len(long_lines)) == 5000
    short_lines = b"ab\n" * 100_000  # counted
    assert count_newlines(short_lines, len(short_lines) - 1) == 99_999
    assert count_newlines(b"no newline" * 1000, 10_000) == 0
