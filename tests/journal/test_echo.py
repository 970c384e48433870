"""The relay's console echo (`sysvisor up` in the foreground): the whole-chunk way prints
exactly what one formatted entry per line would. # issue 6 (the console must not slow a service)"""

import os
import sys
import tempfile

from hypothesis import given
from hypothesis import strategies as st

from sysvisor.journal import relay
from sysvisor.journal.format import format_entry
from sysvisor.journal.pipe import Stream
from sysvisor.journal.stream import StreamLines, split_raw

FIELDS = {"SYSLOG_IDENTIFIER": "web", "_PID": "12", "_HOSTNAME": "host"}


def _stream():
    r, w = os.pipe()
    os.close(w)
    s = Stream(r, FIELDS)
    s.close()
    return s


STREAM = _stream()


def _echo(raw: bytes) -> str:
    """What the echo writes to fd 2."""
    with tempfile.TemporaryFile() as f:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(f.fileno(), 2)
        try:
            relay._echo_to_stderr(STREAM, raw, StreamLines())
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        return f.read().decode()


def _per_line(raw: bytes, out: str) -> str:
    stamp = out[:15]  # the echo's own time, "Nov 26 09:51:13"
    lines = split_raw(raw)
    text = "".join(
        format_entry(dict(FIELDS, MESSAGE=m.decode("utf-8", "replace"), PRIORITY=str(p), __REALTIME_TIMESTAMP="0"), "short")
        for m, p in zip(lines.messages, lines.priorities)
    )
    return "".join(stamp + line[15:] for line in text.splitlines(keepends=True))


def _visible(out: str) -> list[str]:
    """What a reader sees: trailing whitespace and lines with nothing after the prefix aside
    (the fast way lets empty lines through, journald drops them)."""
    return [line.rstrip() for line in out.splitlines() if not line.rstrip().endswith("web[12]:")]


def test_plain_chunk_takes_the_fast_way_and_others_do_not():
    assert relay._plain_lines(b"a\nb c\n\n", True)
    for raw in (b"<3>x\n", b"a\n<3>x\n", b"\ta\n", b"a\x1b[1m\n", b"a\0b\n", b"x\r\n", "é\n".encode()):
        assert not relay._plain_lines(raw, True), raw
    assert relay._plain_lines(b"<3>x\n", False)


@given(st.lists(st.binary(max_size=30) | st.text(max_size=30).map(str.encode), min_size=1, max_size=20))
def test_echo_of_a_chunk_shows_what_one_formatted_entry_per_line_shows(parts):
    raw = b"\n".join(p.replace(b"\n", b" ") for p in parts) + b"\n"
    out = _echo(raw)
    assert _visible(out) == _visible(_per_line(raw, out))


def test_echo_of_plain_lines():
    out = _echo(b"one\ntwo\n")
    assert out == out[:15] + " host web[12]: one\n" + out[:15] + " host web[12]: two\n"
