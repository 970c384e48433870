"""The manager's link to the journal relay (journal/relay.py): each spawned process's output
stream is handed to the relay without the loop ever waiting for it, and read by the manager
itself while the relay cannot take it.

The connection holds what fits in its send buffer (~170 hand-overs with the default
net.core.wmem_default). A hand-over that finds it full (a relay stopped, or starved far
behind a crash loop) waits here, in order, until the relay makes room (the output waits in
the pipe meanwhile); one that waited RELAY_WAIT_USEC makes the manager read every waiting
stream itself, as it does when the relay is gone. Before, the send blocked the whole loop
for up to the client's 5 s timeout: no restarts, no requests answered.
# spec: issue 6 (the journal survives the manager; a service is never blocked by logging)
"""

from __future__ import annotations

import os
import selectors
from collections.abc import Callable
from dataclasses import dataclass

from sysvisor.core.types import Priority
from sysvisor.daemon.clock import monotonic_usec
from sysvisor.daemon.output import OutputCapture
from sysvisor.journal.relay import RelayClient, RelayError, StreamHandle

RELAY_WAIT_USEC = 5_000_000  # how long a hand-over may wait for room in the relay's queue
_PRIORITY = 1  # with the signal pipe: before requests and timers


@dataclass
class _Stream:
    """A spawned process's output stream, for the relay or (failing that) for us."""

    handle: StreamHandle
    pid: int
    unit: str
    invocation_id: str
    identifier: str
    level_prefix: bool
    since: int = 0  # when its hand-over found the relay's queue full (monotonic µs)
    exited: bool = False


class RelayLink:
    """`client` is the connected relay, or None while the manager reads output itself."""

    def __init__(self, loop, output: OutputCapture, log: Callable[..., None]) -> None:
        self.client: RelayClient | None = None
        self._selector: selectors.BaseSelector = loop.selector
        self._output = output
        self._log = log
        # pid → stream the relay reads; our copy of its read end only keeps the pipe alive
        # (no SIGPIPE, no output lost) should the relay die, for its successor
        self.kept: dict[int, StreamHandle] = {}
        self._waiting: dict[int, _Stream] = {}  # hand-overs the relay had no room for, in order
        self._watched: RelayClient | None = None  # whose socket the selector watches for room
        loop.add_deadline(self._wait_ends_at, self._waited_too_long)

    def open_stream(self, unit: str, invocation_id: str, identifier: str, level_prefix: bool) -> StreamHandle | None:
        """A pipe whose read end goes to the relay at `hand_over()`; None without a relay."""
        if self.client is None:
            return None
        try:
            return self.client.open_stream(unit, invocation_id, identifier, level_prefix=level_prefix, keep_read_end=True, defer=True)
        except RelayError as e:
            self.unreachable(e)
            return None

    def hand_over(self, handle: StreamHandle, pid: int, unit: str, invocation_id: str, identifier: str,
                  level_prefix: bool, now: int) -> None:
        """`pid` writes to `handle`: the relay reads it from now on, or once it has room in
        its queue, or we do when it is gone or hung. Never waits."""
        stream = _Stream(handle, pid, unit, invocation_id, identifier, level_prefix, now)
        if self.client is None:
            self._read_ourselves(stream)
        elif self._waiting or not self._send(stream):
            if self.client is not None:
                self._waiting[pid] = stream
                self._watch(self.client, self._make_room)
            else:
                self._read_ourselves(stream)

    def process_exited(self, pid: int) -> None:
        """`pid`'s exit is being handled: our copy of a read end the relay has is not needed."""
        handle = self.kept.pop(pid, None)
        if handle is not None:
            handle.close_read_end()
        elif pid in self._waiting:
            self._waiting[pid].exited = True  # its output is still to be read, by someone

    def connect(self, client: RelayClient) -> None:
        """A (new) relay: it gets every stream the old one read (reattached from our copies
        of their read ends) and the hand-overs that were waiting."""
        stale = {id(c): c for c in (self.client, self._watched) if c is not None and c is not client}
        if self._watched is not None and id(self._watched) in stale:
            self._unwatch()
        for old in stale.values():
            old.close()
        self.client = client
        for handle in self.kept.values():
            try:
                client.reattach(handle)
            except RelayError as e:
                self._log(f"Failed to hand a stream to the new journal relay: {e}", priority=Priority.WARNING)
        if self._waiting:
            now = monotonic_usec()
            for stream in self._waiting.values():
                stream.since = now  # the new relay gets its own RELAY_WAIT_USEC
            self._make_room()

    def disconnect(self) -> None:
        """Close the connection (a clean shutdown): the relay reads its pipes empty and exits."""
        self.take_waiting()
        if self._watched is not None:
            self._unwatch()
        if self.client is not None:
            self.client.close()
            self.client = None

    def take_waiting(self) -> None:
        """Read the waiting hand-overs ourselves (before a re-exec, which passes on only the
        pipes this manager reads, or at shutdown)."""
        waiting, self._waiting = list(self._waiting.values()), {}
        for stream in waiting:
            self._read_ourselves(stream)

    def close(self) -> None:
        self.take_waiting()
        for handle in self.kept.values():
            handle.close_read_end()
        self.kept.clear()

    def unreachable(self, error: RelayError) -> None:
        """A request to the relay failed (it is gone, or took nothing for RELAY_WAIT_USEC):
        read new output ourselves. A relay that only hung takes requests again once it has
        read the queued ones: its socket turns writable, and new output goes through it
        again. (One that died is restarted when it is reaped: `connect()`.)"""
        self._log(f"Journal relay unreachable, reading output in the manager: {error}", priority=Priority.WARNING)
        client, self.client = self.client, None
        self.take_waiting()
        if client is not None:
            self._watch(client, lambda: self._answers_again(client))

    # --- internals ---

    def _send(self, stream: _Stream) -> bool:
        """Hand `stream` over now if the relay has room; False if it has none (or is gone:
        then `client` is None and the caller reads it)."""
        try:
            if not self.client.hand_over(stream.handle, stream.pid, stream.identifier[:15], wait=False):
                return False
        except RelayError as e:
            self.unreachable(e)
            return False
        if stream.exited:
            stream.handle.close_read_end()
        else:
            self.kept[stream.pid] = stream.handle
        return True

    def _make_room(self) -> None:
        """The relay's socket has room: send what waits, in order, while it lasts."""
        while self._waiting and self.client is not None:
            pid, stream = next(iter(self._waiting.items()))
            if not self._send(stream):
                if self.client is not None:
                    self._watch(self.client, self._make_room)
                return
            del self._waiting[pid]
        if not self._waiting and self._watched is self.client and self.client is not None:
            self._unwatch()

    def _answers_again(self, client: RelayClient) -> None:
        self._unwatch()
        if self.client is not None:  # a new relay was started meanwhile
            client.close()
            return
        try:
            client.ping()
        except RelayError:  # gone after all: its death is handled when it is reaped
            client.close()
            return
        self.client = client
        self._log("Journal relay answers again; new output goes through it.")

    def _read_ourselves(self, stream: _Stream) -> None:
        fd, stream.handle.read_fd = stream.handle.read_fd, -1
        if fd < 0:
            return
        os.set_blocking(fd, False)  # the relay's pump left it blocking; our loop must never wait
        self._output.attach(fd, stream.unit, stream.pid, stream.invocation_id, stream.identifier, stream.level_prefix)

    def _watch(self, client: RelayClient, callback: Callable[[], None]) -> None:
        if self._watched is not None and self._watched is not client:
            self._unwatch()
        data = (_PRIORITY, lambda mask, now: callback())
        if self._watched is client:
            self._selector.modify(client.sock, selectors.EVENT_WRITE, data)
            return
        try:
            self._selector.register(client.sock, selectors.EVENT_WRITE, data)
        except (OSError, ValueError, KeyError):
            return
        self._watched = client

    def _unwatch(self) -> None:
        try:
            self._selector.unregister(self._watched.sock)
        except (OSError, ValueError, KeyError):
            pass
        self._watched = None

    def _wait_ends_at(self) -> int | None:
        return next(iter(self._waiting.values())).since + RELAY_WAIT_USEC if self._waiting else None

    def _waited_too_long(self, now: int) -> None:
        self.unreachable(RelayError(f"it took no new stream for {RELAY_WAIT_USEC / 1e6:g} s"))
