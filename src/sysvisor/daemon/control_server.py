"""The control socket: framed JSON requests from the CLI, served inside the selectors loop.

Never blocks and never trusts the peer: frames have a size limit, a connection that sends half
a request is dropped after a deadline, a malformed frame gets an error reply and the
connection closed, and changing anything needs root or the manager's own uid (SO_PEERCRED).
# spec: issue 5 "The control socket"
"""

from __future__ import annotations

import errno
import os
import select
import selectors
import socket
import struct
from collections.abc import Callable

from sysvisor.daemon.clock import monotonic_usec
from sysvisor.protocol.control import FrameDecoder, ProtocolError, encode, error_reply

HALF_REQUEST_TIMEOUT_USEC = 5_000_000
MAX_CONNECTIONS = 256
_UCRED = struct.Struct("3i")


class Connection:
    """One client connection; `request_pending` while the manager works on its request."""

    def __init__(self, sock: socket.socket, uid: int, pid: int, accepted_at: int) -> None:
        self.sock = sock
        self.uid = uid
        self.pid = pid
        self.decoder = FrameDecoder()
        self.outgoing = bytearray()
        self.accepted_at = accepted_at
        self.last_input = accepted_at
        self.request_pending = False
        self.close_after_write = False
        self.closed = False

    def fileno(self) -> int:
        return self.sock.fileno()


Handler = Callable[[Connection, dict], "dict | None"]


class ControlServer:
    """Accepts connections on `path` (mode 0600) and hands each complete request to `handler`.

    The handler returns a reply dict, or None to answer later with `reply()` (a job the
    client waits for).
    """

    def __init__(
        self,
        path: str,
        selector: selectors.BaseSelector,
        handler: Handler,
        priority: int = 2,
        half_request_timeout_usec: int = HALF_REQUEST_TIMEOUT_USEC,
        listener_fd: int | None = None,
    ) -> None:
        self.path = path
        self._half_request_timeout = half_request_timeout_usec
        self._selector = selector
        self._handler = handler
        self._priority = priority
        self._connections: set[Connection] = set()
        self.dispatched = 0  # requests handed to the handler so far
        self._by_fd: dict[int, Connection] = {}
        # a second, private readiness set of the listener and the connections, polled without
        # waiting by serve_ready() between two exits of a batch: requests go first
        self._ready = select.epoll()
        self._serving = False
        self.served_between = 0  # requests answered by serve_ready() (tests, diagnosis)
        self._only: Callable[[dict], bool] | None = None
        self._deferred: dict[Connection, dict] = {}  # held back by serve_ready(only=…)
        if listener_fd is not None:  # kept across daemon-reexec
            self._listener = socket.socket(fileno=listener_fd)
            self._listener.setblocking(False)
        else:
            self._listener = _listen(path)
        selector.register(self._listener, selectors.EVENT_READ, (priority, self._on_accept))
        self._ready.register(self._listener.fileno(), select.EPOLLIN)

    def serve_ready(self, only: Callable[[dict], bool] | None = None) -> int:
        """Accept and answer what is already waiting on the socket, without blocking: the
        shell calls this before each exit of a batch and before each spawn of a long list
        of actions, so a request waits for at most the restart being carried out, never
        for a whole batch. `only`: requests it rejects (those that change something, asked
        for while the engine's actions are half carried out) wait for `serve_deferred()`.
        Returns the requests answered. # spec: issue 5 "status p99 ≤ 100 ms" (crash loop)"""
        if self._serving:  # a handler's work led back here: finish that request first
            return 0
        self._serving = True
        self._only = only
        before = self.dispatched
        try:
            if only is None:
                self._dispatch_deferred()
            for fd, _events in self._ready.poll(0):
                if fd == self._listener.fileno():
                    self._on_accept(selectors.EVENT_READ, monotonic_usec())
                    continue
                conn = self._by_fd.get(fd)
                if conn is not None and not conn.closed and conn not in self._deferred:
                    self._on_io(conn, selectors.EVENT_READ, monotonic_usec())
        finally:
            self._serving = False
            self._only = None
        served = self.dispatched - before
        self.served_between += served
        return served

    def serve_deferred(self) -> None:
        """Dispatch the requests serve_ready() held back (the engine is at rest again)."""
        if self._deferred and not self._serving:
            self._dispatch_deferred()

    def _dispatch_deferred(self) -> None:
        while self._deferred:
            conn, request = next(iter(self._deferred.items()))
            del self._deferred[conn]
            if not conn.closed:
                self._dispatch(conn, request)

    # --- selector callbacks ---

    def _on_accept(self, mask: int, now: int) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # EMFILE and friends: keep serving the others
                if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    return
                raise
            if len(self._connections) >= MAX_CONNECTIONS:
                sock.close()
                continue
            sock.setblocking(False)
            pid, uid, _gid = _UCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size))
            conn = Connection(sock, uid, pid, now)
            self._connections.add(conn)
            self._by_fd[sock.fileno()] = conn
            self._selector.register(sock, selectors.EVENT_READ, (self._priority, lambda m, t, c=conn: self._on_io(c, m, t)))
            self._ready.register(sock.fileno(), select.EPOLLIN)
            # the client writes its request right after connect(): usually it is here already,
            # and answering it in this turn saves a whole loop turn (a burst of restarts, in a
            # crash loop) per request
            self._on_io(conn, selectors.EVENT_READ, now)

    def _on_io(self, conn: Connection, mask: int, now: int) -> None:
        if mask & selectors.EVENT_WRITE:
            self._flush(conn)
        if self._deferred and not self._serving:
            self._dispatch_deferred()  # held back earlier: before anything newer
        if conn.closed or conn in self._deferred or not mask & selectors.EVENT_READ:
            return
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close(conn)
            return
        if not data:
            # Peer closed its side. A pending request still gets its work done, unanswered.
            self.close(conn)
            return
        conn.last_input = now
        try:
            requests = conn.decoder.feed(data)
        except ProtocolError as e:
            self._send(conn, error_reply(str(e)), close=True)
            return
        for request in requests:
            if conn.request_pending or conn in self._deferred:
                self._send(conn, error_reply("one request at a time per connection"), close=True)
                return
            if self._only is not None and not self._only(request):
                self._deferred[conn] = request
                continue
            self._dispatch(conn, request)

    def _dispatch(self, conn: Connection, request: dict) -> None:
        self.dispatched += 1
        conn.request_pending = True  # the handler may already answer through reply()
        try:
            reply = self._handler(conn, request)
        except Exception as e:  # a bad request must never take the manager down
            reply = error_reply(f"internal error while handling the request: {type(e).__name__}: {e}")
        if reply is not None:
            conn.request_pending = False
            self._send(conn, reply)

    # --- replies ---

    def reply(self, conn: Connection, message: dict) -> None:
        """Answer a request the handler deferred."""
        conn.request_pending = False
        if not conn.closed:
            self._send(conn, message)

    def _send(self, conn: Connection, message: dict, close: bool = False) -> None:
        try:
            conn.outgoing += encode(message)
        except ProtocolError as e:
            conn.outgoing += encode(error_reply(str(e)))
        conn.close_after_write = conn.close_after_write or close
        self._flush(conn)

    def _flush(self, conn: Connection) -> None:
        while conn.outgoing:
            try:
                sent = conn.sock.send(conn.outgoing)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.close(conn)
                return
            del conn.outgoing[:sent]
        if conn.outgoing:
            self._selector.modify(conn.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, self._selector.get_key(conn.sock).data)
        else:
            if conn.close_after_write:
                self.close(conn)
                return
            key = self._selector.get_key(conn.sock)
            if key.events != selectors.EVENT_READ:
                self._selector.modify(conn.sock, selectors.EVENT_READ, key.data)

    def close(self, conn: Connection) -> None:
        if conn.closed:
            return
        conn.closed = True
        self._connections.discard(conn)
        self._deferred.pop(conn, None)
        self._by_fd.pop(conn.sock.fileno(), None)
        try:
            self._selector.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        try:
            self._ready.unregister(conn.sock.fileno())
        except (OSError, ValueError):
            pass
        conn.sock.close()

    # --- half-sent requests ---

    def next_deadline(self) -> int | None:
        """When the oldest connection stuck in the middle of a frame must be dropped."""
        stuck = [c.last_input for c in self._connections if c.decoder.pending and not c.request_pending]
        return min(stuck) + self._half_request_timeout if stuck else None

    def expire(self, now: int) -> None:
        for conn in list(self._connections):
            if conn.decoder.pending and now - conn.last_input >= self._half_request_timeout:
                self._send(conn, error_reply("incomplete request, timed out"), close=True)

    def listener_fileno(self) -> int:
        return self._listener.fileno()

    def shutdown(self) -> None:
        for conn in list(self._connections):
            self.close(conn)
        self._selector.unregister(self._listener)
        self._ready.close()
        self._listener.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def _listen(path: str) -> socket.socket:
    """Bind `path` 0600; refuse if a live manager already listens there, reuse if stale."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except FileNotFoundError:
        pass
    except ConnectionRefusedError:
        os.unlink(path)  # stale socket of a manager that died
    except OSError:
        pass
    else:
        raise RuntimeError(f"another sysvisor manager is already listening on {path}")
    finally:
        probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
    old_umask = os.umask(0o177)
    try:
        sock.bind(path)
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    sock.listen(64)
    return sock
