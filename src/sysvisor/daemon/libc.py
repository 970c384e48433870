"""The few libc calls Python 3.11 lacks (timerfd, inotify, prctl), through ctypes.

Python 3.13 has os.timerfd_*; callers use those when present. # spec: ARCHITECTURE.md "daemon/"
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct

CLOCK_REALTIME = 0
CLOCK_MONOTONIC = 1
TFD_TIMER_ABSTIME = 1
TFD_TIMER_CANCEL_ON_SET = 2


class LibcError(OSError):
    """The kernel facility is missing or refused (the message says which call)."""


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", Timespec), ("it_value", Timespec)]


_libc_handle: ctypes.CDLL | None = None


def _libc() -> ctypes.CDLL:
    global _libc_handle
    if _libc_handle is None:
        try:
            _libc_handle = ctypes.CDLL(None, use_errno=True)
        except OSError as e:  # pragma: no cover - a Python without a dynamic libc
            raise LibcError(errno.ENOSYS, f"libc not reachable through ctypes: {e}") from None
    return _libc_handle


def call(name: str, *args) -> int:
    """libc's `name(*args)`; a negative result raises LibcError with errno."""
    try:
        fn = getattr(_libc(), name)
    except AttributeError:
        raise LibcError(errno.ENOSYS, f"{name}() is not in this libc") from None
    r = fn(*args)
    if r < 0:
        err = ctypes.get_errno()
        raise LibcError(err, f"{name}() failed: {os.strerror(err)}")
    return r


def timerfd_create(clock: int) -> int:
    """A non-blocking, close-on-exec timerfd on `clock`."""
    if hasattr(os, "timerfd_create"):  # Python 3.13+
        return os.timerfd_create(clock, flags=os.TFD_NONBLOCK | os.TFD_CLOEXEC)
    return call("timerfd_create", clock, os.O_NONBLOCK | os.O_CLOEXEC)


def timerfd_settime_ns(fd: int, flags: int, ns: int) -> None:
    """Arm `fd` to expire once at `ns` (absolute with TFD_TIMER_ABSTIME); 0 disarms."""
    if hasattr(os, "timerfd_settime_ns"):
        # it stops at 2**63 ns (year 2262): the largest time it takes
        os.timerfd_settime_ns(fd, flags=flags, initial=min(ns, (1 << 63) - 1))
        return
    spec = Itimerspec(Timespec(0, 0), Timespec(ns // 1_000_000_000, ns % 1_000_000_000))
    call("timerfd_settime", fd, flags, ctypes.byref(spec), None)


def timerfd_gettime_ns(fd: int) -> int:
    """ns until `fd` expires (0: disarmed)."""
    if hasattr(os, "timerfd_gettime_ns"):
        return os.timerfd_gettime_ns(fd)[0]
    spec = Itimerspec()
    call("timerfd_gettime", fd, ctypes.byref(spec))
    return spec.it_value.tv_sec * 1_000_000_000 + spec.it_value.tv_nsec


IN_MODIFY = 0x00000002
IN_CREATE = 0x00000100


class Inotify:
    """A minimal inotify wrapper (stdlib has none)."""

    _EVENT = struct.Struct("iIII")

    def __init__(self) -> None:
        self.fd = call("inotify_init1", os.O_NONBLOCK | os.O_CLOEXEC)

    def add_watch(self, path: str, mask: int) -> int:
        try:
            return call("inotify_add_watch", self.fd, os.fsencode(path), mask)
        except OSError as e:
            raise OSError(e.errno, os.strerror(e.errno), path) from None

    def rm_watch(self, wd: int) -> None:
        try:
            call("inotify_rm_watch", self.fd, wd)
        except OSError:
            pass  # ignored, as before: the kernel drops a watch with its cgroup

    def read(self) -> list[int]:
        """Watch descriptors that fired since the last read (non-blocking)."""
        wds: list[int] = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return wds
            i = 0
            while i + self._EVENT.size <= len(data):
                wd, _mask, _cookie, length = self._EVENT.unpack_from(data, i)
                wds.append(wd)
                i += self._EVENT.size + length

    def close(self) -> None:
        os.close(self.fd)
