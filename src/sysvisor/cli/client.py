"""The CLI's side of the control socket: one request, one reply. Imports stay tiny."""

from __future__ import annotations

import socket

from sysvisor.protocol.control import FrameDecoder, ProtocolError, encode


class NoManager(Exception):
    """No manager answers on the socket; str() is the one-line message for the user."""


def find_socket(explicit: str | None, user: bool | None = None) -> str:
    """`--socket` if given; with --user/--system that scope's socket; else
    `$SYSVISOR_SOCKET`, else the default runtime dir's socket."""
    if explicit:
        return explicit
    from sysvisor.protocol.control import default_socket_path

    return default_socket_path(user)


def request(socket_path: str, message: dict, timeout: float | None = None) -> dict:
    """Send `message`, wait for the reply. Raises NoManager when nobody listens."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.settimeout(timeout)
        try:
            sock.connect(socket_path)
        except (FileNotFoundError, ConnectionRefusedError) as e:
            raise NoManager(f"No sysvisor manager is running (cannot connect to {socket_path}: {e.strerror}). Start one with 'sysvisor up'.") from None
        except PermissionError:
            raise NoManager(f"Access denied to the manager's control socket {socket_path} (run as its user or root).") from None
        sock.sendall(encode(message))
        decoder = FrameDecoder()
        while True:
            data = sock.recv(65536)
            if not data:
                raise NoManager(f"The manager closed the connection on {socket_path} without replying.")
            replies = decoder.feed(data)
            if replies:
                return replies[0]
    except ProtocolError as e:
        raise NoManager(f"Unreadable reply from the manager: {e}") from None
    except socket.timeout:
        raise NoManager(f"The manager on {socket_path} did not answer in time.") from None
    finally:
        sock.close()

