"""The journal relay: a small process that owns the read ends of the units' stdout/stderr
pipes and writes what arrives into the journal, so the manager can die (SIGKILL, crash,
upgrade) without services getting SIGPIPE or losing output. Like journald for systemd.

Theory of operation

* The manager (client) makes a pipe per started process (`RelayClient.open_stream()`), gives
  the write end to the process as stdout (and stderr with StandardError=inherit), and hands
  the read end to the relay over a unix SOCK_SEQPACKET socket with SCM_RIGHTS, together with
  the fields of the stream (`_SYSTEMD_UNIT`, `_SYSTEMD_INVOCATION_ID`, `SYSLOG_IDENTIFIER`,
  `_PID` …) and journald's stream settings (SyslogLevel=, SyslogLevelPrefix=, LineMax=).
  The manager then closes its copy of the read end: from that moment only the relay reads.
* A stream's `_PID` is often known only after the fork; `set_pid()` supplies it. Until then
  the relay does not read that pipe (the pipe buffers), so no line goes out without `_PID`;
  if the client disconnects first the relay reads on without it.
* The relay is one `selectors` loop: it wakes for a readable stream, a client message or a
  signal, and never polls (when idle it sleeps without a timeout, once the segment's tail
  index covers the last records: at most index.INTERVAL after them). After each wake-up it
  flushes its journal writer once (one write per iteration, no fsync). Each read takes up
  to 1 MiB (a pipe that a fast writer fills is enlarged to 1 MiB) and is stored unsplit
  (`JournalWriter.append_raw`), so its cost is per chunk, not per line.
* The loop never waits on a service's pipe itself: a pump thread per stream blocks in
  splice(2) on it and moves what arrives into a private pipe, which the loop reads, pausing
  after short moves so that the next move takes what accumulated (pipe.py says why: a pipe
  that was ever polled costs its writer a wake-up call per write()). A lone line reaches the
  journal at most 2 ms later.
* When the manager dies the relay notices only a closed client connection; streams belong
  to the relay, not to the connection. A new manager connects to the same socket.
* SIGTERM: read every pipe until it is empty, flush, exit 0. SIGINT/SIGHUP are ignored so a
  terminal's signals for the manager do not reach it (it also runs in its own session).
* If the relay itself dies, services keep writing as long as the manager holds a copy of
  each read end (`open_stream(keep_read_end=True)`); the manager restarts the relay and
  hands the streams over again (`reattach()`). Only what the dead relay had taken out of
  the pipe but not yet written (at most one private pipe's worth, 1 MiB) is lost.
* `--echo` (`sysvisor up` in the foreground): the relay only stores; a console follower
  process it forks (console.py) reads what was stored and prints it, so a slow console never
  makes a service wait. The relay wakes it after each flush that stored something.
* Manager messages: the manager may write them with its own `JournalWriter(name="manager")`
  (recommended: no round trip) or send them through `RelayClient.log()`.

Protocol (one JSON object per SEQPACKET message, utf-8):
  {"op": "open", "id": HEX, "fields": {...}, "priority": 6, "level_prefix": true,
   "line_max": 49152, "wait_pid": bool}                       + 1 fd (read end)
                                                              (again after a relay restart)
  {"op": "pid", "id": HEX, "pid": N, "comm": "name" | null}
  (the manager sends `open` after the spawn, `_PID` in its fields and "wait_pid": false:
   one message per spawn; `pid` is for a stream opened before its process existed)
  {"op": "log", "entry": {FIELD: value, ...}}
  {"op": "sync"}  → {"op": "synced"}   every byte written to any pipe before is stored
  {"op": "ping"}  → {"op": "pong", "pid": N, "prints_manager": bool}
  (prints_manager: its console follower prints the manager's messages, so the manager
   must not print them itself)

spec: systemctl-and-journal.md §6; issue 6 (journal survives the manager)
"""

from __future__ import annotations

import argparse
import array
import json
import os
import selectors
import signal
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass

from sysvisor.fdlimit import raise_open_files_limit
from sysvisor.id128 import random_id128
from sysvisor.journal import console
from sysvisor.journal.pipe import Stream
from sysvisor.journal.store import JournalError, JournalWriter
from sysvisor.journal.stream import LINE_MAX_DEFAULT

RELAY_IDENTIFIER = "sysvisor-journal"
_MSG_MAX = 1 << 18  # largest request (a `log` entry with a long MESSAGE)



class RelayError(Exception):
    """The relay cannot be started or reached (message says why)."""


# --------------------------------------------------------------------------------------
# The relay process


class Relay:
    """The relay's loop. Run with `python -m sysvisor.journal.relay` (see `start_relay`)."""

    def __init__(self, writer: JournalWriter, listener: socket.socket, console_follower: tuple[int, int] | None = None,
                 prints_manager: bool = False) -> None:
        self.writer = writer
        self.console = console_follower  # (pid, wake fd) of the `--echo` follower (console.py)
        self.prints_manager = prints_manager  # the follower also prints the manager's messages
        self.listener = listener
        self.sel = selectors.DefaultSelector()
        self.streams: dict[str, Stream] = {}
        self.waiting: dict[str, Stream] = {}  # no _PID yet: not read
        self.owner: dict[str, socket.socket] = {}
        self.clients: set[socket.socket] = set()
        self.stopping = False
        listener.setblocking(False)
        self.sel.register(listener, selectors.EVENT_READ, ("listen", None))
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.sel.register(self._wake_r, selectors.EVENT_READ, ("signal", None))

    def install_signals(self) -> None:
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, lambda *_: None)  # handled through the wakeup fd
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    def log(self, message: str, priority: int = 6) -> None:
        self.writer.append(
            {"MESSAGE": message, "PRIORITY": priority, "SYSLOG_IDENTIFIER": RELAY_IDENTIFIER,
             "_PID": os.getpid(), "_COMM": "sysvisor-journa", "_TRANSPORT": "driver"}
        )  # fmt: skip

    def run(self) -> int:
        appended = -1  # the writer's next seqnum when the console was last woken
        while True:
            # no timeout when idle, but once after the last records: their tail index
            due = self.writer.index_due_at()
            events = self.sel.select(None if due is None else max(0.0, due - time.monotonic()))
            for key, _mask in events:
                try:
                    self._dispatch(*key.data)
                except Exception as e:  # noqa: BLE001 - one bad event must not end every stream
                    self.log(f"Journal relay error, continuing: {e!r}", 3)
            seq = self.writer.next_seqnum
            self.writer.flush()
            if self.console is not None and seq != appended:
                console.wake(self.console[1])
            appended = seq
            if self.stopping:
                break
        self._stop()
        return 0

    def _dispatch(self, kind: str, obj: object) -> None:
        if kind == "stream":
            stream = obj
            assert isinstance(stream, Stream)
            if stream.read_fd < 0:
                return  # dropped earlier in this batch
            if not stream.read_into(self.writer):
                self._drop(stream)
        elif kind == "client":
            assert isinstance(obj, socket.socket)
            self._client_message(obj)
        elif kind == "listen":
            self._accept()
        elif kind == "signal":
            self._signals()

    def _stop(self) -> None:
        """Take the requests already sent, read every pipe empty, keep unfinished lines."""
        self._accept()
        for conn in list(self.clients):
            while conn in self.clients and self._client_message(conn):
                pass
        for stream in list(self.streams.values()) + list(self.waiting.values()):
            if stream.drain_into(self.writer):
                stream.store_tail(self.writer)
            stream.close()
        self.log("Journal relay stopped.")
        self.writer.close()
        if self.console is not None:
            console.finish(*self.console)
            self.console = None

    # -- events ----------------------------------------------------------------------

    def _signals(self) -> None:
        try:
            data = os.read(self._wake_r, 512)
        except BlockingIOError:
            return
        if signal.SIGTERM in data:
            self.stopping = True

    def _accept(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        conn.setblocking(False)
        self.clients.add(conn)
        self.sel.register(conn, selectors.EVENT_READ, ("client", conn))

    def _client_message(self, conn: socket.socket) -> bool:
        """Handle one request; False if there was none (or the client went away)."""
        try:
            msg, fds, _flags, _addr = socket.recv_fds(conn, _MSG_MAX, 4)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            msg, fds = b"", []
        if not msg:
            self._disconnect(conn)
            for fd in fds:
                os.close(fd)
            return False
        try:
            req = json.loads(msg)
            op = req["op"]
        except (ValueError, KeyError, TypeError):
            for fd in fds:
                os.close(fd)
            self.log(f"Ignoring malformed relay request: {msg[:80]!r}", 4)
            return True
        if op == "open" and len(fds) == 1:
            self._open(conn, req, fds[0])
            return True
        for fd in fds:
            os.close(fd)
        if op == "pid":
            self._set_pid(req)
        elif op == "log":
            entry = req.get("entry")
            if isinstance(entry, dict):
                self.writer.append(entry)
        elif op == "sync":
            self._sync()
            self._reply(conn, {"op": "synced"})
        elif op == "ping":
            self._reply(conn, {"op": "pong", "pid": os.getpid(), "prints_manager": self.prints_manager and self.console is not None})
        else:
            self.log(f"Ignoring unknown relay request '{op}'.", 4)
        return True

    def _open(self, conn: socket.socket, req: dict, fd: int) -> None:
        sid = str(req.get("id") or random_id128())
        if sid in self.streams or sid in self.waiting:  # handed again: we have it already
            os.close(fd)
            return
        try:
            stream = Stream(
                fd,
                req.get("fields") or {},
                priority=int(req.get("priority", 6)),
                level_prefix=bool(req.get("level_prefix", True)),
                line_max=int(req.get("line_max", LINE_MAX_DEFAULT)),
            )
        except (OSError, ValueError, TypeError) as e:
            os.close(fd)
            self.log(f"Failed to open stream: {e}", 3)
            return
        stream.fields.setdefault("_STREAM_ID", sid)
        if req.get("wait_pid"):
            self.waiting[sid] = stream
            self.owner[sid] = conn
        else:
            self._activate(sid, stream)

    def _activate(self, sid: str, stream: Stream) -> None:
        self.streams[sid] = stream
        stream.start_pump()
        self.sel.register(stream.read_fd, selectors.EVENT_READ, ("stream", stream))

    def _set_pid(self, req: dict) -> None:
        sid = str(req.get("id"))
        stream = self.waiting.pop(sid, None) or self.streams.get(sid)
        self.owner.pop(sid, None)
        if stream is None:
            return
        pid = req.get("pid")
        stream._prepared = None  # the fields change
        if pid:
            stream.fields["_PID"] = str(int(pid))
            comm = req.get("comm") or _read_comm(int(pid))
            if comm:
                stream.fields.setdefault("_COMM", comm)
                stream.fields.setdefault("SYSLOG_IDENTIFIER", comm)
        if sid not in self.streams:
            self._activate(sid, stream)

    def _drop(self, stream: Stream) -> None:
        for sid, s in list(self.streams.items()):
            if s is stream:
                del self.streams[sid]
        if stream.read_fd >= 0:
            self.sel.unregister(stream.read_fd)
        stream.close()

    def _disconnect(self, conn: socket.socket) -> None:
        self.sel.unregister(conn)
        self.clients.discard(conn)
        conn.close()
        for sid, owner in list(self.owner.items()):
            if owner is conn:  # the manager went away before telling us the PID
                del self.owner[sid]
                stream = self.waiting.pop(sid, None)
                if stream is not None:
                    self._activate(sid, stream)

    def _sync(self) -> None:
        for stream in list(self.streams.values()):
            if not stream.drain_into(self.writer):
                self._drop(stream)
        self.writer.flush()

    @staticmethod
    def _reply(conn: socket.socket, obj: dict) -> None:
        try:
            conn.send(json.dumps(obj).encode())
        except OSError:
            pass


def _read_comm(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:
            return f.read().rstrip("\n") or None
    except OSError:
        return None


def _listen(socket_path: str) -> socket.socket:
    """Bind the control socket; refuse if a live relay already listens there."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    try:
        probe.connect(socket_path)
    except (FileNotFoundError, ConnectionRefusedError):
        try:
            os.unlink(socket_path)
        except FileNotFoundError:
            pass
    except OSError:
        pass
    else:
        probe.close()
        raise RelayError(f"A journal relay is already listening on {socket_path}.")
    finally:
        probe.close()
    os.makedirs(os.path.dirname(os.path.abspath(socket_path)), exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    sock.bind(socket_path)
    os.chmod(socket_path, 0o600)
    sock.listen(64)
    return sock


def _batch_scheduling() -> None:
    """SCHED_BATCH for the relay and its pump threads: the same share of the CPU, but a
    wake-up never preempts the task running. A service's exit wakes the relay (end of its
    stream) just as it wakes the manager, which then had to wait while the relay ran on
    its CPU before it could spawn the restart (docs/benchmarks.md, "Sixth session")."""
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except (OSError, AttributeError):
        pass


def relay_main(argv: list[str] | None = None) -> int:
    """Entry point of the relay process. fd 3, if open, gets b"1" once it listens."""
    ap = argparse.ArgumentParser(prog="sysvisor-journal-relay")
    ap.add_argument("--directory", required=True)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--max-use", type=int, default=None)
    ap.add_argument("--max-age-usec", type=int, default=None)
    ap.add_argument("--hostname", default=None)
    ap.add_argument("--boot-id", default=None)
    ap.add_argument("--ready-fd", type=int, default=None)
    ap.add_argument("--echo", action="store_true", help="also print each line on stderr")
    ap.add_argument("--echo-manager", default=None, metavar="SEGMENT:OFFSET",
                    help="with --echo, also print the manager's messages from this point of its journal on")
    args = ap.parse_args(argv)
    raise_open_files_limit()
    _batch_scheduling()
    manager = None
    path, _, offset = (args.echo_manager or "").rpartition(":")
    if path and offset.isdigit():
        manager = (path, int(offset))
    follower, prints_manager = None, False
    if args.echo:
        pid, wake_fd, prints_manager = console.start(args.directory, "relay", manager)
        follower = (pid, wake_fd)
    try:
        writer = JournalWriter(
            args.directory, args.max_use, args.max_age_usec, name="relay",
            hostname=args.hostname, boot_id=args.boot_id, write_behind=True,
        )  # fmt: skip
        listener = _listen(args.socket)
    except (JournalError, RelayError, OSError) as e:
        print(f"sysvisor journal relay: {e}", file=sys.stderr)
        if follower is not None:
            console.finish(*follower)
        return 1
    relay = Relay(writer, listener, follower, prints_manager)
    relay.install_signals()
    relay.log("Journal relay started.")
    writer.flush()
    if args.ready_fd is not None:
        try:
            os.write(args.ready_fd, b"1")
            os.close(args.ready_fd)
        except OSError:
            pass
    try:
        return relay.run()
    finally:
        try:
            os.unlink(args.socket)
        except OSError:
            pass


# --------------------------------------------------------------------------------------
# Starting the relay and talking to it (manager side)


def _package_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ping(socket_path: str, timeout: float = 2.0) -> int | None:
    """PID of the relay listening on `socket_path`, or None."""
    try:
        client = RelayClient(socket_path, timeout=timeout)
    except RelayError:
        return None
    try:
        return client.ping()
    except RelayError:
        return None
    finally:
        client.close()


def start_relay(
    journal_dir: str,
    socket_path: str,
    *,
    max_use_bytes: int | None = None,
    max_age_usec: int | None = None,
    hostname: str | None = None,
    boot_id: str | None = None,
    timeout: float = 10.0,
    echo: bool = False,
    echo_manager: tuple[str, int] | None = None,
    console_fd: int | None = None,
) -> int:
    """Start the relay process (own session, stdin/stdout on /dev/null, stderr inherited)
    and wait until it listens; returns its PID. If a relay already listens on
    `socket_path`, returns that one's PID instead. The caller reaps the process (it is
    our child); it keeps running when the caller dies. `console_fd`: the relay's stderr (its
    console with `echo`) instead of ours. `echo_manager`: with `echo`, the console also
    prints the manager's messages from this point of its journal on (`JournalWriter.
    position()`; ask `RelayClient.prints_manager()`). Raises RelayError."""
    existing = ping(socket_path)
    if existing is not None:
        return existing
    ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
    argv = [sys.executable, "-m", "sysvisor.journal.relay", "--directory", journal_dir,
            "--socket", socket_path, "--ready-fd", "3"]  # fmt: skip
    if max_use_bytes is not None:
        argv += ["--max-use", str(max_use_bytes)]
    if max_age_usec is not None:
        argv += ["--max-age-usec", str(max_age_usec)]
    if hostname is not None:
        argv += ["--hostname", hostname]
    if boot_id is not None:
        argv += ["--boot-id", boot_id]
    if echo:
        argv += ["--echo"]
        if echo_manager is not None:
            argv += ["--echo-manager", f"{echo_manager[0]}:{echo_manager[1]}"]
    env = dict(os.environ)
    root = _package_root()
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_DUP2, ready_w, 3),
    ]
    if ready_w == 3:  # dup2(3, 3) would keep O_CLOEXEC
        moved = os.dup(ready_w)
        os.close(ready_w)
        ready_w = moved
        actions[2] = (os.POSIX_SPAWN_DUP2, ready_w, 3)
    if console_fd is not None and console_fd != 2:
        actions.insert(2, (os.POSIX_SPAWN_DUP2, console_fd, 2))  # before fd 3 is taken over
    try:
        pid = os.posix_spawn(sys.executable, argv, env, file_actions=actions, setsid=True)
    except OSError as e:
        os.close(ready_r)
        os.close(ready_w)
        raise RelayError(f"Failed to start the journal relay: {e.strerror}") from None
    os.close(ready_w)
    try:
        sel = selectors.DefaultSelector()
        sel.register(ready_r, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise RelayError(f"The journal relay did not start within {timeout:g}s.")
        if os.read(ready_r, 1) != b"1":
            raise RelayError("The journal relay exited during start-up (see its error above).")
    finally:
        os.close(ready_r)
    return pid


@dataclass
class StreamHandle:
    """A stream opened through the relay: give `write_fd` to the process as stdout (and
    stderr), then close it in the manager.

    With `keep_read_end=True` the manager also keeps `read_fd`, a copy of the relay's read
    end (never read from): should the relay die, the service still gets no SIGPIPE, its
    output waits in the pipe, and `RelayClient.reattach()` hands the stream to a new relay
    (journald does the same through PID 1's fd store). Close it with `close_read_end()`
    once the unit's processes are gone."""

    write_fd: int
    stream_id: str
    read_fd: int = -1
    request: dict | None = None

    def close_read_end(self) -> None:
        if self.read_fd >= 0:
            os.close(self.read_fd)
            self.read_fd = -1


class RelayClient:
    """The manager's connection to the relay. Every call is one message, without waiting
    for an answer except `sync()` and `ping()`. # issue 6"""

    def __init__(self, socket_path: str, *, timeout: float = 5.0, boot_id: str | None = None) -> None:
        self.socket_path = socket_path
        self.boot_id = boot_id
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(socket_path)
        except OSError as e:
            self.sock.close()
            raise RelayError(f"Failed to connect to the journal relay at {socket_path}: {e.strerror}") from None

    def open_stream(
        self,
        unit: str,
        invocation_id: str | None,
        identifier: str | None,
        priority_default: int = 6,
        level_prefix: bool = True,
        *,
        pid: int | None = None,
        comm: str | None = None,
        line_max: int = LINE_MAX_DEFAULT,
        fields: Mapping[str, object] | None = None,
        wait_pid: bool | None = None,
        keep_read_end: bool = False,
        defer: bool = False,
    ) -> StreamHandle:
        """Make a pipe, hand its read end to the relay, return the write end.

        Without `pid`, the relay holds the stream's data back until `set_pid()` (or until
        this client disconnects); pass `wait_pid=False` for a stream that never gets one.
        `keep_read_end`: see `StreamHandle`. `defer`: send nothing yet; `hand_over()` sends
        the stream together with its process's pid, one message per spawn instead of two
        (the output waits in the pipe meanwhile). Implies `keep_read_end`."""
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
        all_fields: dict[str, object] = {"_TRANSPORT": "stdout", "_SYSTEMD_UNIT": unit}
        if invocation_id:
            all_fields["_SYSTEMD_INVOCATION_ID"] = invocation_id
        if identifier:
            all_fields["SYSLOG_IDENTIFIER"] = identifier
        if self.boot_id:
            all_fields["_BOOT_ID"] = self.boot_id
        if pid is not None:
            all_fields["_PID"] = pid
        if comm:
            all_fields["_COMM"] = comm
        if fields:
            all_fields.update(fields)
        sid = random_id128()
        req = {
            "op": "open", "id": sid, "fields": {k: str(v) for k, v in all_fields.items()},
            "priority": priority_default, "level_prefix": level_prefix, "line_max": line_max,
            "wait_pid": pid is None if wait_pid is None else wait_pid,
        }  # fmt: skip
        if defer:
            return StreamHandle(write_fd, sid, read_fd, req)
        try:
            socket.send_fds(self.sock, [json.dumps(req).encode()], [read_fd])
        except OSError as e:
            os.close(write_fd)
            os.close(read_fd)
            raise RelayError(f"Failed to hand a stream to the journal relay: {e.strerror or e}") from None
        if not keep_read_end:
            os.close(read_fd)
            read_fd = -1
        return StreamHandle(write_fd, sid, read_fd, req)

    def reattach(self, stream: StreamHandle, *, wait: bool = True) -> bool:
        """Hand a kept read end to this (new) relay, after the old one died.

        `wait=False`: never wait for room on the connection (what fits in its send buffer):
        False, and nothing sent, when it is full. With `wait`, up to the client's timeout,
        then RelayError."""
        if stream.read_fd < 0 or stream.request is None:
            raise RelayError("This stream's read end was not kept (open_stream(keep_read_end=True)).")
        # (sendmsg, not socket.send_fds(): that drops its flags argument before Python 3.12)
        sock, flags = (self.sock, 0) if wait else (self._nowait, socket.MSG_DONTWAIT)
        try:
            sock.sendmsg([json.dumps(stream.request).encode()],
                         [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [stream.read_fd]))], flags)
        except BlockingIOError:  # (only without `wait`: the timeout socket raises TimeoutError)
            return False
        except OSError as e:
            raise RelayError(f"Failed to hand a stream to the journal relay: {e.strerror or e}") from None
        return True

    def hand_over(self, stream: StreamHandle, pid: int, comm: str | None = None, *, wait: bool = True) -> bool:
        """Give the relay a stream made with `open_stream(defer=True)`, whose writer is
        `pid`: one message (the `open` with `_PID`/`_COMM` in its fields and the read end
        attached); the relay starts reading at once. `wait`: as for `reattach()` (a stream
        not sent yet keeps its pid for a later `reattach()`). # issue 5: one relay message per spawn"""
        if stream.request is None:
            raise RelayError("This stream was not made with open_stream(defer=True).")
        stream.request["fields"]["_PID"] = str(pid)
        if comm:
            stream.request["fields"]["_COMM"] = comm
        stream.request["wait_pid"] = False
        return self.reattach(stream, wait=wait)

    @property
    def _nowait(self) -> socket.socket:
        """The same connection without Python's timeout (a socket with one polls for room
        before each send, whatever the flags); sends on it pass MSG_DONTWAIT. The file's
        own O_NONBLOCK flag, shared with `sock`, is left as it is."""
        if getattr(self, "_nowait_sock", None) is None:  # (made on first use: most clients never need it)
            self._nowait_sock = socket.socket(fileno=os.dup(self.sock.fileno()))
        return self._nowait_sock

    def set_pid(self, stream: StreamHandle | str, pid: int, comm: str | None = None) -> None:
        """The process writing to `stream` is `pid`; the relay starts reading it."""
        sid = stream.stream_id if isinstance(stream, StreamHandle) else stream
        if isinstance(stream, StreamHandle) and stream.request is not None:
            stream.request["fields"]["_PID"] = str(pid)  # for reattach()
            if comm:
                stream.request["fields"]["_COMM"] = comm
            stream.request["wait_pid"] = False
        self._send({"op": "pid", "id": sid, "pid": pid, "comm": comm})

    def log(self, entry: Mapping[str, object]) -> None:
        """Store a manager message through the relay."""
        self._send({"op": "log", "entry": {k: str(v) for k, v in entry.items()}})

    def sync(self) -> None:
        """Return once everything written to the relay's pipes so far is in the journal."""
        self._send({"op": "sync"})
        self._expect("synced")

    def ping(self) -> int:
        return int(self._pong()["pid"])

    def prints_manager(self) -> bool:
        """Whether the relay's console prints the manager's messages (`start_relay(echo_manager=)`):
        then the manager must not print them too. # issue 6 (the console never blocks the manager)"""
        return bool(self._pong().get("prints_manager"))

    def _pong(self) -> dict:
        self._send({"op": "ping"})
        return self._expect("pong")

    def close(self) -> None:
        self.sock.close()
        if getattr(self, "_nowait_sock", None) is not None:
            self._nowait_sock.close()
            self._nowait_sock = None

    def __enter__(self) -> RelayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, obj: dict) -> None:
        data = json.dumps(obj).encode()
        if len(data) > _MSG_MAX:
            raise RelayError(f"Relay request too large ({len(data)} bytes, at most {_MSG_MAX}).")
        try:
            self.sock.send(data)
        except OSError as e:
            raise RelayError(f"Failed to talk to the journal relay: {e.strerror or e}") from None

    def _expect(self, op: str) -> dict:
        deadline = time.monotonic() + (self.sock.gettimeout() or 5.0)
        while True:
            try:
                data = self.sock.recv(_MSG_MAX)
            except OSError as e:
                raise RelayError(f"No answer from the journal relay: {e.strerror or e}") from None
            if not data:
                raise RelayError("The journal relay closed the connection.")
            reply = json.loads(data)
            if reply.get("op") == op:
                return reply
            if time.monotonic() > deadline:
                raise RelayError(f"The journal relay did not answer '{op}'.")


if __name__ == "__main__":
    raise SystemExit(relay_main())
