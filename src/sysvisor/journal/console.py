"""The console of `sysvisor up` in the foreground: every line a service stores, printed in
`journalctl -o short` layout by a *follower* process that reads the journal behind the relay.

Why a follower and not the relay itself (measured with `bench/bench_journal.py unit`, 8 KiB
writes, 200 MB, quiet machine): printing each chunk in the relay's loop made every service
wait for the console — the relay stores ~600 MB/s but stores *and prints* ~130 MB/s, so a
writer took 4.6x its /dev/null time, against 1.3x with nothing printed. journald has the same
problem and solves it by not forwarding to the console (ForwardToConsole=no); a container's
`docker logs` needs the lines, though. So the relay only stores, and wakes this process after
each flush; it reads the new records of the relay's own segments (a file read, no pipe the
services could wait on) and prints them at idle CPU priority and at most RATE bytes per
second after a BURST (at once when the relay stops). A slow console (a terminal, a `docker
logs` consumer) then only makes the console lag; it never slows a service and never costs a
stored line. Even at idle priority, printing a writer's burst as it happens cost the writer
(page cache and memory traffic on 2 cores): 8 KiB writes took 2.43x their /dev/null time
through `up` unlimited, 1.51x at 32 MiB/s, 1.46x at 8 MiB/s (medians of 5, same run).

The follower is forked by the relay before it opens its journal segment (so it knows which
segments are its relay's: those that did not exist before), ignores the terminal's signals
like the relay, and ends when the relay closes the wake pipe, after printing the rest.

spec: systemctl-and-journal.md §6; issue 6 (the console must not slow a service)
"""

from __future__ import annotations

import os
import select
import signal
import socket
import time
from collections.abc import Iterable, Mapping

from sysvisor.journal.segment import list_segments, parse_records
from sysvisor.journal.stream import split_raw

READ_CHUNK = 8 << 20  # records of a chunk read from a pipe are ~1 MiB at most
NICE = 10  # the console gives way to the services whose output it prints
WAIT_AT_EXIT = 10.0  # seconds the relay waits for the console to print the rest
RATE = 32 << 20  # bytes/s the console prints at most while the relay runs (see module doc)
BURST = 4 << 20  # printed at once before the rate applies
_HOSTNAME = socket.gethostname()

# What journalctl's short output shows unchanged; anything else takes the per-line way (it
# drops colour sequences, expands TABs and shows control characters as blob data).
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F)) + b"\n"


def plain_lines(raw: bytes, level_prefix: bool) -> bool:
    """True if journald stores every line of `raw` (complete lines) as it is, up to trailing
    whitespace and empty lines (no NUL, no `<N>` prefix), and short output shows them
    unchanged (printable ASCII). Only C-speed scans: memchr for single bytes; a two-byte
    search such as b"\\n\\n" costs ~1.4 ms per MiB, ten times more, so empty lines are let through."""
    if b"\0" in raw or b"\r" in raw or b"\t" in raw or not raw.isascii() or raw.translate(None, _PRINTABLE_ASCII):
        return False
    return not (level_prefix and b"<" in raw and (raw.startswith(b"<") or b"\n<" in raw))


def format_record(fields: Mapping[str, str], header: Mapping, payload: bytes) -> list:
    """One stored record (`segment.parse_records`) in `journalctl -o short` layout, as the
    buffers to write one after the other (no copy of a big chunk to join them).

    A record's lines share their fields and time, so plain lines of a raw chunk get the prefix
    joined in at C speed rather than one formatted entry per line (so the console may show
    trailing whitespace and empty lines that the journal drops, and a line longer than
    LineMax= in one piece). # spec: systemctl-and-journal.md §7 (short output)"""
    from sysvisor.journal.format import format_entry

    realtime = str(header["t"])

    def one(message: str, priority: object) -> str:
        entry = dict(fields, MESSAGE=message, __REALTIME_TIMESTAMP=realtime)
        if priority is not None:
            entry["PRIORITY"] = str(priority)
        entry.setdefault("_HOSTNAME", _HOSTNAME)
        return format_entry(entry, "short")

    if header.get("raw"):
        priority, level_prefix = header["p"], bool(header["lp"])
        if plain_lines(payload, level_prefix):
            prefix = one("x", priority)[:-2].encode()  # "Nov 26 09:50:37 host ident[pid]: "
            body = payload.replace(b"\n", b"\n" + prefix)  # one copy; the last prefix is not written
            return [prefix, memoryview(body)[: len(body) - len(prefix)]]
        cut = split_raw(payload, priority=priority, level_prefix=level_prefix, line_max=header["lm"])
        messages: Iterable = cut.messages
        priorities: Iterable = cut.priorities
    else:
        if header.get("nomsg"):
            return []
        n = header["n"]
        messages = payload.split(b"\n") if n > 1 else [payload]
        p = header.get("p")
        priorities = p if isinstance(p, list) else [p] * n
    return ["".join(one(m.decode("utf-8", "replace"), p) for m, p in zip(messages, priorities)).encode()]


class Follower:
    """Reads the records a journal writer (`name`) appends to segments not in `existing`, in
    order, and prints those of service streams (`_TRANSPORT=stdout`) to `out`."""

    def __init__(self, directory: str, name: str, existing: set[str], out: int = 2) -> None:
        self.directory, self.name, self.existing, self.out = directory, name, existing, out
        self.done: set[str] = set()  # segments read to their end (the writer moved on)
        self.path = ""
        self.fd = -1
        self.offset = 0
        self.contexts: dict[int, dict] = {}
        self._due = 0.0  # monotonic time before which the rate allows no more output
        self.rate: float | None = RATE  # None: as fast as the console takes it

    def catch_up(self) -> None:
        """Print every complete record written so far."""
        while True:
            if self.fd < 0 and not self._next_segment():
                return
            if self._read_on():
                continue
            # nothing more in this segment: finished only if the writer has moved on
            if not self._next_segment():
                return

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _segments(self) -> list[str]:
        return [p for name, _seq, _rt, p in list_segments(self.directory)
                if name == self.name and p not in self.existing and p not in self.done]  # fmt: skip

    def _next_segment(self) -> bool:
        """Move to the oldest segment not yet read; False if the current one is the newest."""
        later = [p for p in self._segments() if p != self.path]
        if not later:
            return False
        if self.fd >= 0:
            self._read_on()  # written before the writer moved on: the rest of it
            self.done.add(self.path)
            self.close()
        self.path = later[0]
        try:
            self.fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:  # vacuumed before we got to it: nothing to print from it
            self.done.add(self.path)
            self.path = ""
            return True
        self.offset = 0
        self.contexts = {}
        return True

    def _read_on(self) -> bool:
        """Print the complete records after `offset`; True if any."""
        size = READ_CHUNK
        printed = False
        while True:
            data = os.pread(self.fd, size, self.offset)
            records, end = parse_records(data, 0, self.contexts)
            if not records:
                if len(data) < size:
                    return printed  # nothing, or a torn record still being written
                size *= 2  # one record larger than the chunk
                continue
            self.offset += end
            printed = True
            self._print([part for h, payload in records if h["f"].get("_TRANSPORT") == "stdout"
                         for part in format_record(h["f"], h, payload)])  # fmt: skip
            size = READ_CHUNK

    def _print(self, parts: list) -> None:
        parts = [p for p in parts if len(p)]
        if self.rate:
            now = time.monotonic()
            self._due = max(self._due, now - BURST / self.rate) + sum(len(p) for p in parts) / self.rate
            if self._due > now:
                time.sleep(self._due - now)
        while parts:
            try:
                written = os.writev(self.out, parts[:1024])  # IOV_MAX
            except InterruptedError:
                continue
            except OSError:  # the console is gone: keep up with the journal, print nothing
                return
            while parts and written >= len(parts[0]):
                written -= len(parts.pop(0))
            if written:
                parts[0] = memoryview(parts[0])[written:]


def start(directory: str, name: str) -> tuple[int, int]:
    """Fork the follower of writer `name`'s segments to come in `directory` (call it before
    the writer opens its segment, while the process has no other threads). Returns (its
    PID, the write end of its wake pipe): write a byte after each flush (`wake`), close it to
    let the follower print the rest and exit."""
    existing = {p for name_, _s, _r, p in list_segments(directory) if name_ == name} if os.path.isdir(directory) else set()
    wake_r, wake_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid:
        os.close(wake_r)
        os.set_blocking(wake_w, False)
        return pid, wake_w
    status = 0
    try:
        os.close(wake_w)
        os.closerange(3, wake_r)
        os.closerange(wake_r + 1, 1 << 16)  # the relay's other descriptors are not ours
        for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)  # the relay closing the pipe ends us
        try:  # run only when no service (nor the relay) wants the CPU
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except (OSError, AttributeError):
            try:
                os.nice(NICE)
            except OSError:
                pass
        follow(Follower(directory, name, existing), wake_r)
    except BaseException:  # noqa: BLE001 - a forked child must never return into the relay
        status = 1
    finally:
        os._exit(status)


def follow(follower: Follower, wake_fd: int) -> None:
    """Print what arrives until the wake pipe reaches end of file, then the rest."""
    while True:
        try:
            data = os.read(wake_fd, 4096)
        except InterruptedError:
            continue
        if not data:
            follower.rate = None  # the relay is done: the rest as fast as possible
            follower.catch_up()
            follower.close()
            return
        follower.catch_up()


def wake(fd: int) -> None:
    """Tell the follower there is more (never blocks: a full pipe already says so)."""
    try:
        os.write(fd, b"\0")
    except (BlockingIOError, BrokenPipeError):
        pass


def finish(pid: int, fd: int, timeout: float = WAIT_AT_EXIT) -> None:
    """Close the wake pipe and give the follower `timeout` seconds to print the rest (then
    it goes on alone; the relay's parent, a subreaper, reaps it)."""
    os.close(fd)
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:  # already reaped
        return
    try:
        select.select([pidfd], [], [], timeout)
        os.waitpid(pid, os.WNOHANG)
    except (OSError, ChildProcessError):
        pass
    finally:
        os.close(pidfd)
