"""Split a service's stdout/stderr byte stream into journal lines, the way journald does.

A pure object: the daemon (or the journal relay) feeds it the raw chunks it read from a
pipe and gets back the complete lines; the unfinished tail is kept for the next chunk.

Rules, ported from systemd's `src/journal/journald-stream.c`:

* A line ends at `\\n` (no `_LINE_BREAK=` field), at a NUL byte (`_LINE_BREAK=nul`), after
  `LineMax=` bytes (`_LINE_BREAK=line-max`, default 48K) or at end of stream (`eof`).
  # systemd: stdout_stream_scan()
* Trailing whitespace (space, tab, CR, LF) is stripped, leading whitespace kept; a line that
  is all whitespace is kept as it is. # systemd: stdout_stream_line() strstrip() on the buffer
* With `SyslogLevelPrefix=yes` a prefix `<N>` (N = 0…7, also written `<0N>`/`<00N>`)
  sets PRIORITY for that line and is removed; anything else (`<8>`, `<0007>`) stays text.
  # systemd: syslog_parse_priority(with_facility=false); sd-daemon(3)
* A line that is empty after the prefix is dropped. # systemd: stdout_stream_log() isempty()

spec: systemctl-and-journal.md §6 (PRIORITY, SyslogLevelPrefix=)
"""

from __future__ import annotations

LINE_MAX_DEFAULT = 48 * 1024  # journald.conf LineMax= default
_WHITESPACE = b" \t\n\r"  # systemd's WHITESPACE

# Reasons for an uncommon line break, as journald writes them into _LINE_BREAK=.
BREAK_NUL = "nul"
BREAK_LINE_MAX = "line-max"
BREAK_EOF = "eof"


class StreamLines:
    """Lines cut from a stream. Parallel lists so the common case costs no object per line.

    `priorities[i]` is the PRIORITY of `messages[i]`; `line_breaks` maps an index to its
    `_LINE_BREAK=` value for lines that did not end with a newline. A plain class, not a
    dataclass: `dataclasses` imports `inspect` (~10 ms), which `sysvisor status` paid for
    its journal lines."""

    __slots__ = ("messages", "priorities", "line_breaks")

    def __init__(self, messages: list[bytes] | None = None, priorities: list[int] | None = None,
                 line_breaks: dict[int, str] | None = None) -> None:
        self.messages: list[bytes] = [] if messages is None else messages
        self.priorities: list[int] = [] if priorities is None else priorities
        self.line_breaks: dict[int, str] = {} if line_breaks is None else line_breaks

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StreamLines):
            return NotImplemented
        return (self.messages, self.priorities, self.line_breaks) == (other.messages, other.priorities, other.line_breaks)

    def __repr__(self) -> str:
        return f"StreamLines(messages={self.messages!r}, priorities={self.priorities!r}, line_breaks={self.line_breaks!r})"

    def __len__(self) -> int:
        return len(self.messages)

    def extend(self, other: StreamLines) -> None:
        base = len(self.messages)
        self.messages.extend(other.messages)
        self.priorities.extend(other.priorities)
        for i, reason in other.line_breaks.items():
            self.line_breaks[base + i] = reason


_SAMPLE = 4096  # bytes whose newlines tell how long a chunk's lines are
_SHORT_LINE = 20  # mean line length below which counting beats deleting
_PIECE = 1 << 16  # below malloc's mmap threshold: a bigger copy page-faults every time


def count_newlines(data: bytes | bytearray, end: int) -> int:
    """The newlines in `data[:end]`, at memchr speed for ordinary lines.

    `bytes.count()` of one byte is a plain byte loop (~1.1 ms per MiB here, most of the
    relay's CPU for a fast writer); `replace(b"\n", b"")` deletes with memchr, ~0.2 ms per
    MiB of 100-byte lines, but pays per line: lines shorter than ~20 bytes on average (seen in
    the first 4 KiB) are counted with count() instead. Copies are 64 KiB at a time.
    # spec: systemctl-and-journal.md §6; issue 6 (throughput): a raw record's entry count"""
    if end <= _SAMPLE:
        return data.count(b"\n", 0, end)
    n = data.count(b"\n", 0, _SAMPLE)
    if n * _SHORT_LINE > _SAMPLE:
        return n + data.count(b"\n", _SAMPLE, end)
    for start in range(_SAMPLE, end, _PIECE):
        piece = data[start : min(end, start + _PIECE)]
        n += len(piece) - len(piece.replace(b"\n", b""))
    return n


def max_lines(raw: bytes | bytearray, line_max: int = LINE_MAX_DEFAULT, end: int | None = None) -> int:
    """An upper bound of the lines in `raw[:end]` (each ends at a newline, a NUL or a LineMax
    cut)."""
    end = len(raw) if end is None else end
    nul = raw.count(b"\0", 0, end) if raw.find(b"\0", 0, end) >= 0 else 0  # find: a memchr
    return count_newlines(raw, end) + nul + end // line_max


def split_raw(
    raw: bytes, *, priority: int = 6, level_prefix: bool = True, line_max: int = LINE_MAX_DEFAULT
) -> StreamLines:
    """The lines of a `LineSplitter.feed_raw()` chunk."""
    return LineSplitter(priority=priority, level_prefix=level_prefix, line_max=line_max).feed(raw)


def parse_level_prefix(line: bytes) -> tuple[int | None, bytes]:
    """`<N>` at the start of `line` → (N, rest); otherwise (None, line).

    # systemd: syslog_parse_priority(p, priority, with_facility=false)"""
    if not line.startswith(b"<"):
        return None, line
    end = line.find(b">", 1, 5)
    if end < 0:
        return None, line
    digits = line[1:end]
    if not digits or not digits.isdigit():
        return None, line
    value = int(digits)
    if value > 7:
        return None, line
    return value, line[end + 1 :]


class LineSplitter:
    """Bytes chunks in, complete journal lines out. # spec: systemctl-and-journal.md §6

    `feed(chunk)` returns the lines completed by `chunk`; `finish()` returns the unfinished
    tail at end of stream (with `_LINE_BREAK=eof`)."""

    __slots__ = ("_buffer", "line_max", "level_prefix", "priority")

    def __init__(
        self, *, priority: int = 6, level_prefix: bool = True, line_max: int = LINE_MAX_DEFAULT
    ) -> None:
        if line_max < 79:  # journald refuses smaller values and raises them to 79
            line_max = 79
        self.priority = priority
        self.level_prefix = level_prefix
        self.line_max = line_max
        self._buffer = b""

    @property
    def pending(self) -> int:
        """Bytes of an unfinished line held back."""
        return len(self._buffer)

    def feed(self, chunk: bytes) -> StreamLines:
        data = self._buffer + chunk if self._buffer else bytes(chunk)
        out = StreamLines()
        if b"\0" not in data:
            parts = data.split(b"\n")
            rest = parts.pop()
            if len(data) < self.line_max or max(map(len, parts), default=0) < self.line_max:
                if len(rest) < self.line_max:
                    self._buffer = rest
                    prefixed = self.level_prefix and (data.startswith(b"<") or b"\n<" in data)
                    self._emit_many(parts, prefixed, out)
                    return out
        self._buffer = self._scan(data, out)
        return out

    def feed_raw(self, chunk: bytes) -> tuple[bytes, StreamLines]:
        """Like `feed`, without cutting the complete lines: returns (`raw`, `tail_lines`).

        `raw` starts at a line start and ends with `\n`; splitting it later with a fresh
        splitter of the same settings (`split_raw`) yields exactly the lines `feed` would
        have returned for it, so a store can keep it as it is and split it when read.
        `tail_lines` are lines after the last newline that were cut by NUL or LineMax=;
        they come after `raw`."""
        data = self._buffer + chunk if self._buffer else bytes(chunk)
        cut = data.rfind(b"\n") + 1
        tail = data[cut:]
        out = StreamLines()
        if len(tail) >= self.line_max or b"\0" in tail:
            tail = self._scan(tail, out)
        self._buffer = tail
        return (data[:cut] if cut < len(data) else data) if cut else b"", out

    def finish(self) -> StreamLines:
        """End of stream: the unfinished tail becomes a line. # systemd: LINE_BREAK_EOF"""
        out = StreamLines()
        if self._buffer:
            self._emit(self._buffer, BREAK_EOF, out)
            self._buffer = b""
        return out

    # -- internals -------------------------------------------------------------------

    def _scan(self, data: bytes, out: StreamLines) -> bytes:
        """The general case, literally journald's loop. # systemd: stdout_stream_scan()"""
        line_max = self.line_max
        pos = 0
        n = len(data)
        while True:
            window = min(n, pos + line_max)
            nl = data.find(b"\n", pos, window)
            nul = data.find(b"\0", pos, nl if nl >= 0 else window)
            if nul >= 0:
                self._emit(data[pos:nul], BREAK_NUL, out)
                pos = nul + 1
            elif nl >= 0:
                self._emit(data[pos:nl], None, out)
                pos = nl + 1
            elif n - pos >= line_max:
                self._emit(data[pos : pos + line_max], BREAK_LINE_MAX, out)
                pos += line_max
            else:
                return data[pos:]

    def _emit(self, line: bytes, line_break: str | None, out: StreamLines) -> None:
        text = line.rstrip(_WHITESPACE)
        if not text:
            text = line  # all whitespace: strstrip() leaves the buffer untouched
        priority = self.priority
        if self.level_prefix and text.startswith(b"<"):
            level, text = parse_level_prefix(text)
            if level is not None:
                priority = level
        if not text:
            return
        if line_break is not None:
            out.line_breaks[len(out.messages)] = line_break
        out.messages.append(text)
        out.priorities.append(priority)

    def _emit_many(self, lines: list[bytes], prefixed: bool, out: StreamLines) -> None:
        """Newline-terminated lines without NUL, all shorter than LineMax (the hot path)."""
        stripped = [line.rstrip(_WHITESPACE) for line in lines]
        if prefixed or b"" in stripped:
            for line in lines:
                self._emit(line, None, out)
            return
        out.messages.extend(stripped)
        out.priorities.extend([self.priority] * len(stripped))
