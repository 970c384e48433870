"""The control-socket codec shared by the manager and the CLI. No I/O here.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON holding one
object. Requests are `{"verb": str, ...arguments}`; replies are `{"ok": true, ...}` or
`{"ok": false, "error": str, "exit": int}`. Length-prefixing (rather than newline-delimited
JSON) lets the server reject an oversized frame from its header alone, before buffering it.
"""

from __future__ import annotations

import json
import os
import struct

MAX_FRAME = 4 * 1024 * 1024  # a status of thousands of units fits; anything bigger is abuse
_HEADER = struct.Struct(">I")
HEADER_SIZE = _HEADER.size


class ProtocolError(Exception):
    """A frame that cannot be decoded; the message is fit for the peer."""


def encode(message: dict) -> bytes:
    """Serialise one message as a frame."""
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
    if len(body) > MAX_FRAME:
        raise ProtocolError(f"message too large ({len(body)} bytes, limit {MAX_FRAME})")
    return _HEADER.pack(len(body)) + body


class FrameDecoder:
    """Incremental decoder: feed bytes as they arrive, collect complete messages."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._buffer = bytearray()
        self._max_frame = max_frame

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a complete frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[dict]:
        """Append `data`; return every message now complete. Raises ProtocolError."""
        self._buffer += data
        messages = []
        while len(self._buffer) >= HEADER_SIZE:
            (length,) = _HEADER.unpack_from(self._buffer)
            if length > self._max_frame:
                raise ProtocolError(f"frame of {length} bytes exceeds the limit of {self._max_frame}")
            if len(self._buffer) < HEADER_SIZE + length:
                break
            body = bytes(self._buffer[HEADER_SIZE : HEADER_SIZE + length])
            del self._buffer[: HEADER_SIZE + length]
            messages.append(decode_body(body))
        return messages


def decode_body(body: bytes) -> dict:
    """Decode one frame body into a message object."""
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProtocolError(f"malformed message: {e}") from None
    if not isinstance(message, dict):
        raise ProtocolError("malformed message: expected a JSON object")
    return message


def error_reply(message: str, exit_status: int = 1) -> dict:
    """A failure reply; `exit` is the status the CLI should exit with."""
    return {"ok": False, "error": message, "exit": exit_status}


def runtime_dir(uid: int | None = None, *, user: bool | None = None) -> str:
    """Where the manager's sockets live: /run/sysvisor for the system manager (root's
    default), else $XDG_RUNTIME_DIR/sysvisor. `user` forces the scope (--user/--system).

    # spec: issue 2 contract; notify-and-watchdog.md §1
    """
    uid = os.getuid() if uid is None else uid
    if (uid == 0) if user is None else not user:
        return "/run/sysvisor"
    base = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/sysvisor-{uid}"
    return os.path.join(base, "sysvisor")


def state_dir(uid: int | None = None) -> str:
    """Persistent state: /var/lib/sysvisor for root, else $XDG_STATE_HOME/sysvisor."""
    uid = os.getuid() if uid is None else uid
    if uid == 0:
        return "/var/lib/sysvisor"
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "sysvisor")


def default_socket_path(user: bool | None = None) -> str:
    """`$SYSVISOR_SOCKET`, else the control socket in the runtime dir of the scope."""
    if user is None and os.environ.get("SYSVISOR_SOCKET"):
        return os.environ["SYSVISOR_SOCKET"]
    return os.path.join(runtime_dir(user=user), "control")
