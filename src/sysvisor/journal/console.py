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

The follower also prints the manager's own messages (read from the manager's segments from
the point the manager names when it starts the relay, woken by inotify), merged in time
order with the services' lines. The manager then never writes the console itself: a console
nobody reads (a stalled `docker logs`, `| less`, a paused terminal) used to block the
manager's loop once its ~64 KiB pipe was full — no more restarts, no more answers — and two
writers on a pipe interleaved mid-line whenever the follower's large write() was split.

The follower is forked by the relay before it opens its journal segment (so it knows which
segments are its relay's: those that did not exist before), ignores the terminal's signals
like the relay, and ends when the relay closes the wake pipe, after printing the rest (for
WAIT_AT_EXIT at most; `sysvisor up` waits as long, so its console is complete when it returns).

spec: systemctl-and-journal.md §6; issue 6 (the console must not slow a service, nor the manager)
"""

from __future__ import annotations

import heapq
import os
import select
import signal
import socket
import time
from collections.abc import Iterable, Mapping

from sysvisor.journal.segment import list_segments, parse_records, parse_segment_name
from sysvisor.journal.stream import split_raw

READ_CHUNK = 8 << 20  # records of a chunk read from a pipe are ~1 MiB at most
NICE = 10  # the console gives way to the services whose output it prints
WAIT_AT_EXIT = 10.0  # seconds the relay waits for the console to print the rest
RATE = 32 << 20  # bytes/s the console prints at most while the relay runs (see module doc)
BURST = 4 << 20  # printed at once before the rate applies
PR_SET_PDEATHSIG = 1
HELD_MAX = 10_000  # manager messages held back for time order; more are printed out of order
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


class _Segments:
    """One journal writer's records, read in order from its segments as they grow: the
    segments not in `existing`, or those from `start` (a segment's path and an offset in it)
    on. The writer moves to a new segment when it rotates; a new writer of the same name
    (a restarted manager) begins one too."""

    def __init__(self, directory: str, name: str, existing: set[str] | None = None,
                 start: tuple[str, int] | None = None) -> None:
        self.directory, self.name = directory, name
        self.existing = set(existing or ())
        self.start = start
        if start is not None:  # everything before the start segment was printed by others
            ours = self._listed()
            self.existing.update(ours[: ours.index(start[0])] if start[0] in ours else ours)
        self.done: set[str] = set()  # segments read to their end (the writer moved on)
        self.path = ""
        self.fd = -1
        self.offset = 0
        self.contexts: dict[int, dict] = {}

    def read(self) -> list:
        """The complete records written since the last call, (header, payload) each (at most
        about READ_CHUNK bytes of them); [] once caught up."""
        while True:
            if self.fd < 0 and not self._open(self._later()):
                return []
            records = self._read_on()
            if records:
                return records
            later = self._later()
            if not later:
                return []
            records = self._read_on()  # written before the writer moved on: the rest first
            if records:
                return records
            self.done.add(self.path)
            self.close()
            self._open(later)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _listed(self) -> list[str]:
        return [p for name, _seq, _rt, p in list_segments(self.directory) if name == self.name]

    def _later(self) -> list[str]:
        """Segments not read yet, oldest first, but the open one."""
        return [p for p in self._listed() if p not in self.existing and p not in self.done and p != self.path]

    def _open(self, later: list[str]) -> bool:
        if not later:
            return False
        self.path, self.offset, self.contexts = later[0], 0, {}
        try:
            self.fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:  # vacuumed before we got to it: nothing to print from it
            self.done.add(self.path)
            self.path = ""
            return True
        if self.start is not None and self.start[0] == self.path:
            # the field sets of the records before the start point, for the records after it
            parse_records(os.pread(self.fd, self.start[1], 0), 0, self.contexts)
            self.offset = self.start[1]
        return True

    def _read_on(self) -> list:
        size = READ_CHUNK
        while True:
            data = os.pread(self.fd, size, self.offset)
            records, end = parse_records(data, 0, self.contexts)
            if records or len(data) < size:  # or nothing, or a torn record still being written
                self.offset += end
                return records
            size *= 2  # one record larger than the chunk


def _writer_of(position: tuple[str, int] | None) -> str | None:
    """The name of the journal writer whose segment `position` is in, None if it is none."""
    parsed = parse_segment_name(os.path.basename(position[0])) if position is not None else None
    return parsed[0] if parsed is not None else None


def _record_time(record: tuple) -> int:
    return record[0]["t"]


class Follower:
    """Prints to `out` what service streams (`_TRANSPORT=stdout`) store through the journal
    writer `name` in segments not in `existing`, and, with `manager` (the manager's
    segment and the offset to start from), every message the manager writes from there on,
    merged in time order. One process writes the whole console, so its lines never
    interleave mid-line on a pipe, and the manager never waits for a console."""

    def __init__(self, directory: str, name: str, existing: set[str], out: int = 2,
                 manager: tuple[str, int] | None = None) -> None:
        self.out = out
        self.services = _Segments(directory, name, existing)
        writer = _writer_of(manager)
        self.manager = _Segments(directory, writer, start=manager) if manager is not None and writer else None
        self._held: list = []  # manager messages later than the service output printed yet
        self._due = 0.0  # monotonic time before which the rate allows no more output
        self.rate: float | None = RATE  # None: as fast as the console takes it

    def catch_up(self) -> None:
        """Print every complete record written so far."""
        while True:
            if self.manager is not None:
                while more := self.manager.read():
                    self._held.extend(more)
            batch = self.services.read()
            if not batch:  # the services' output is printed up to now: the manager's may follow
                ready, self._held = self._held, []
                self._print([part for h, payload in ready for part in format_record(h["f"], h, payload)])
                return
            cutoff = _record_time(batch[-1])
            if len(self._held) > HELD_MAX:  # a console far behind a flood: memory before order
                ready, self._held = self._held, []
            else:
                ready = [r for r in self._held if _record_time(r) <= cutoff]
                if ready:
                    self._held = [r for r in self._held if _record_time(r) > cutoff]
            output = [r for r in batch if r[0]["f"].get("_TRANSPORT") == "stdout"]
            merged = heapq.merge(output, ready, key=_record_time) if ready else output
            self._print([part for h, payload in merged for part in format_record(h["f"], h, payload)])

    def close(self) -> None:
        self.services.close()
        if self.manager is not None:
            self.manager.close()

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


def start(directory: str, name: str, manager: tuple[str, int] | None = None) -> tuple[int, int, bool]:
    """Fork the follower of writer `name`'s segments to come in `directory` (call it before
    the writer opens its segment, while the process has no other threads), and of the
    manager's messages from `manager` (its segment and offset) on. Returns (its PID, the
    write end of its wake pipe, whether it prints the manager's messages): write a byte
    after each flush (`wake`), close it to let the follower print the rest and exit. The
    manager's writes wake it through inotify; without inotify it leaves them to the manager."""
    existing = {p for name_, _s, _r, p in list_segments(directory) if name_ == name} if os.path.isdir(directory) else set()
    watch = None
    if _writer_of(manager) is None:
        manager = None  # (a manager whose journal has no open segment prints its own)
    if manager is not None:
        from sysvisor.daemon.libc import IN_CREATE, IN_MODIFY, Inotify  # noqa: PLC0415

        try:
            watch = Inotify()
            watch.add_watch(directory, IN_MODIFY | IN_CREATE)
        except OSError:  # no inotify (or no watch left): the manager prints its own
            if watch is not None:
                watch.close()
            watch = manager = None
    wake_r, wake_w = os.pipe2(os.O_CLOEXEC)
    relay = os.getpid()
    pid = os.fork()
    if pid:
        os.close(wake_r)
        if watch is not None:
            watch.close()
        os.set_blocking(wake_w, False)
        return pid, wake_w, manager is not None
    status = 0
    try:
        os.close(wake_w)
        keep = sorted({wake_r, watch.fd} if watch is not None else {wake_r})
        for low, high in zip([3] + [fd + 1 for fd in keep], keep + [1 << 16]):
            os.closerange(low, high)  # the relay's other descriptors are not ours
        for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)  # the relay closing the pipe ends us
        _bound_after_relay(relay)
        try:  # run only when no service (nor the relay) wants the CPU
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except (OSError, AttributeError):
            try:
                os.nice(NICE)
            except OSError:
                pass
        follow(Follower(directory, name, existing, manager=manager), wake_r, watch)
    except BaseException:  # noqa: BLE001 - a forked child must never return into the relay
        status = 1
    finally:
        os._exit(status)


def _bound_after_relay(relay: int) -> None:
    """Once the relay is gone, whatever its way, print the rest for WAIT_AT_EXIT at most:
    SIGALRM then ends us. A dead relay's finish() cannot, and a follower blocked on a
    console nobody reads would not even see the wake pipe close, so the kernel tells us
    (PR_SET_PDEATHSIG; the signal interrupts a blocked write and the handler arms the alarm)."""
    signal.signal(signal.SIGUSR1, lambda _sig, _frame: signal.alarm(int(WAIT_AT_EXIT)))
    try:
        from sysvisor.daemon.libc import call  # noqa: PLC0415

        call("prctl", PR_SET_PDEATHSIG, signal.SIGUSR1, 0, 0, 0)
    except OSError:
        return
    if os.getppid() != relay:  # it died before we asked
        signal.alarm(int(WAIT_AT_EXIT))


def follow(follower: Follower, wake_fd: int, watch=None) -> None:
    """Print what arrives until the wake pipe reaches end of file, then the rest. `watch`:
    an Inotify on the journal directory (the manager's writes)."""
    fds = [wake_fd] if watch is None else [wake_fd, watch.fd]
    while True:
        try:
            ready = select.select(fds, [], [])[0]
            relay_done = wake_fd in ready and not os.read(wake_fd, 4096)
        except InterruptedError:
            continue
        if watch is not None and watch.fd in ready:
            watch.read()
        if relay_done:
            follower.rate = None  # the relay is done: the rest as fast as possible
            # for WAIT_AT_EXIT at most, even if the relay died and cannot end us (finish()):
            # a console nobody reads must not keep an orphan blocked on it for ever
            signal.alarm(int(WAIT_AT_EXIT))
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
    """Close the wake pipe and give the follower `timeout` seconds to print the rest, then
    end it: a console still behind (nobody reading it, a slow terminal) must neither print
    after `sysvisor up` has returned nor outlive it blocked on a write. The journal has
    every line; the console only shows them. # issue 6"""
    from sysvisor.daemon.children import wait_for_exit  # noqa: PLC0415 - at the relay's end only

    os.close(fd)
    if not wait_for_exit(pid, timeout):
        os.kill(pid, signal.SIGKILL)  # it ignores SIGTERM by design; unreaped, so still ours
        wait_for_exit(pid, WAIT_AT_EXIT)
