"""The sd_notify socket: datagrams with sender credentials, split into assignments.

Authorisation (NotifyAccess=) is the engine's decision; this module only receives, checks
the transport rules and reports (pid, fields). Attached fds are closed after the message is
handled, which also answers `BARRIER=1`.
# spec: notify-and-watchdog.md §1, §3
"""

from __future__ import annotations

import array
import os
import socket
import struct

NOTIFY_BUFFER_MAX = 4096  # systemd: NOTIFY_BUFFER_MAX (PIPE_BUF)
_UCRED = struct.Struct("3i")
_MAX_FDS = 768  # systemd accepts up to this many fds per message


class NotifyMessage:
    """One received datagram: sender credentials and its assignments (last one wins)."""

    __slots__ = ("pid", "uid", "gid", "fields", "fds")

    def __init__(self, pid: int, uid: int, gid: int, fields: dict[str, str], fds: list[int]) -> None:
        self.pid, self.uid, self.gid, self.fields, self.fds = pid, uid, gid, fields, fds

    def close_fds(self) -> None:
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = []


def parse_assignments(payload: bytes) -> dict[str, str]:
    """Split a datagram into KEY=VALUE assignments; lines without '=' are ignored.

    # systemd: manager_dispatch_notify_fd() → strv_split_newlines()
    """
    fields: dict[str, str] = {}
    for line in payload.decode("utf-8", errors="replace").split("\n"):
        key, sep, value = line.partition("=")
        if sep and key:
            fields[key] = value
    return fields


class NotifySocket:
    """A bound, non-blocking datagram socket with SO_PASSCRED."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
        if not path.startswith("@"):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        self.sock.bind("\0" + path[1:] if path.startswith("@") else path)
        if not path.startswith("@"):
            os.chmod(path, 0o777)  # any unit's process, whatever its user, may notify
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)

    def fileno(self) -> int:
        return self.sock.fileno()

    def receive(self) -> tuple[list[NotifyMessage], list[str]]:
        """Every datagram waiting now, plus warnings about the ones dropped."""
        messages: list[NotifyMessage] = []
        warnings: list[str] = []
        fd_space = socket.CMSG_SPACE(_MAX_FDS * 4)
        cred_space = socket.CMSG_SPACE(_UCRED.size)
        while True:
            try:
                data, ancillary, flags, _ = self.sock.recvmsg(NOTIFY_BUFFER_MAX + 1, cred_space + fd_space, socket.MSG_CMSG_CLOEXEC)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as e:
                warnings.append(f"Failed to receive notification message: {e.strerror}")
                break
            cred = None
            fds: list[int] = []
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(payload) >= _UCRED.size:
                    cred = _UCRED.unpack_from(payload)
                elif level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    arr = array.array("i")
                    arr.frombytes(payload[: len(payload) - len(payload) % arr.itemsize])
                    fds.extend(arr)
            message = NotifyMessage(cred[0] if cred else 0, cred[1] if cred else -1, cred[2] if cred else -1, {}, fds)
            if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC) or len(data) > NOTIFY_BUFFER_MAX:
                warnings.append("Got notification message with truncated data or control data, ignoring.")
                message.close_fds()
                continue
            if cred is None or cred[0] <= 0:
                warnings.append("Received notify message without credentials. Ignoring.")
                message.close_fds()
                continue
            message.fields = parse_assignments(data)
            messages.append(message)
        return messages, warnings

    def close(self) -> None:
        self.sock.close()
        if not self.path.startswith("@"):
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
