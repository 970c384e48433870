"""The manager's end of the link to its keeper (daemon/keeper.py, which has the protocol).

The manager says `hello` when an image starts and gets back the exit records the keeper
kept (processes that were re-parented to the keeper when an earlier manager died, and were
reaped there), restores its state with them, says `ready`, and from then on receives every
further exit the keeper reaps. It acknowledges a record once the state file no longer
depends on it (after the next state flush), and says `bye STATUS` before a deliberate exit.
# spec: issue 5 ("surviving its own crash")
"""

from __future__ import annotations

import os
import signal
import socket
import time
from dataclasses import dataclass

from sysvisor.core.types import ExitCode
from sysvisor.daemon.libc import call

PR_SET_PDEATHSIG = 1
_CODES = {os.CLD_EXITED: ExitCode.EXITED, os.CLD_KILLED: ExitCode.KILLED, os.CLD_DUMPED: ExitCode.DUMPED}


@dataclass(frozen=True)
class KeptExit:
    """A process the keeper reaped: its wait status and when it died."""

    pid: int
    code: ExitCode
    status: int
    start_time: int | None  # /proc/PID/stat field 22, read from the zombie
    realtime_usec: int
    monotonic_usec: int


@dataclass(frozen=True)
class ManagerDeath:
    """How the previous manager ended (the keeper restarted us after it)."""

    pid: int
    code: ExitCode
    status: int


class KeeperError(Exception):
    pass


def parse(packet: bytes) -> KeptExit | ManagerDeath | str | None:
    """One packet from the keeper: a record, a note, `backlog-end`, or None if malformed."""
    words = packet.split()
    try:
        if words[:1] == [b"exit"] and len(words) == 7:
            pid, code, status = int(words[1]), int(words[2]), int(words[3])
            start = None if words[4] == b"-" else int(words[4])
            return KeptExit(pid, _CODES[code], status, start, int(words[5]), int(words[6]))
        if words[:1] == [b"manager"] and len(words) == 4:
            return ManagerDeath(int(words[1]), _CODES[int(words[2])], int(words[3]))
    except (ValueError, KeyError):
        return None
    if words == [b"backlog-end"]:
        return "backlog-end"
    return None


class KeeperLink:
    """The socket to the keeper (our parent), given as `--keeper-fd N`."""

    def __init__(self, fd: int) -> None:
        try:
            self.sock = socket.socket(fileno=fd)
        except OSError as e:
            raise KeeperError(f"fd {fd} is not the keeper's socket: {e.strerror}") from None
        self.sock.set_inheritable(False)  # units must not inherit it (daemon-reexec re-opens it)
        self.keeper_pid = os.getppid()
        self._acks: list[KeptExit] = []
        self.closed = False

    def fileno(self) -> int:
        return self.sock.fileno()

    def bind_lifetime(self) -> bool:
        """Die with the keeper (the pair is the one process the user started); False if
        the keeper is already gone."""
        try:
            call("prctl", PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except OSError:
            pass  # then only the ppid check below tells
        return os.getppid() == self.keeper_pid

    def hello(self, timeout: float = 10.0) -> tuple[list[KeptExit], list[ManagerDeath]]:
        """Ask for the kept records; blocks until the keeper's `backlog-end` (bounded)."""
        exits: list[KeptExit] = []
        deaths: list[ManagerDeath] = []
        self._send(b"hello")
        deadline = time.monotonic() + timeout
        self.sock.setblocking(True)
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise KeeperError(f"the keeper did not answer within {timeout:g}s")
                self.sock.settimeout(left)
                try:
                    packet = self.sock.recv(256)
                except TimeoutError:
                    continue
                if not packet:
                    raise KeeperError("the keeper closed the link")
                item = parse(packet)
                if item == "backlog-end":
                    return exits, deaths
                if isinstance(item, KeptExit):
                    exits.append(item)
                elif isinstance(item, ManagerDeath):
                    deaths.append(item)
        finally:
            self.sock.setblocking(False)

    def receive(self) -> list[KeptExit]:
        """Records that arrived since the last call (the socket is readable)."""
        exits = []
        while True:
            try:
                packet = self.sock.recv(256)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                packet = b""
            if not packet:
                self.closed = True  # the keeper is gone; PR_SET_PDEATHSIG ends us too
                break
            item = parse(packet)
            if isinstance(item, KeptExit):
                exits.append(item)
        return exits

    def ready(self) -> None:
        self._send(b"ready")

    def ack_later(self, exits: list[KeptExit]) -> None:
        """Acknowledge `exits` with the next `flush_acks()` (after the state is saved)."""
        self._acks.extend(exits)

    def flush_acks(self) -> None:
        acks, self._acks = self._acks, []
        for e in acks:
            self._send(f"ack {e.pid} {'-' if e.start_time is None else e.start_time}".encode())

    def goodbye(self, status: int) -> None:
        """A deliberate exit: the keeper ends with `status` instead of restarting us."""
        self.sock.setblocking(True)
        self.sock.settimeout(2.0)
        self._send(f"bye {status}".encode())

    def _send(self, packet: bytes) -> None:
        try:
            self.sock.send(packet, socket.MSG_NOSIGNAL)
        except OSError:
            pass  # a busy or gone keeper: records are re-sent to the next manager anyway
